/**
 * The applet types chipwright ships, registered by every command that loads a card image (`send`,
 * `sim`, `script run`, `replay`, `read`, `perso`), so cards made of chipwright's own applications
 * load without `--applet`. A module given with `--applet` that defines one of these types wins.
 */
import type { AppletFactory } from '../card/applet.js';
import { IDENTITY_APPLET } from './identity/applet.js';
import { CARD_LEVEL_APPLET } from './card-level.js';
import { PURSE_APPLET } from './purse/applet.js';
import { KEYSTORE_APPLET } from './keystore.js';
import { ID_CARD_APPLETS } from './id-card.js';

export const BUILTIN_APPLETS: readonly AppletFactory[] = Object.freeze(
  [IDENTITY_APPLET, CARD_LEVEL_APPLET, PURSE_APPLET, KEYSTORE_APPLET, ...ID_CARD_APPLETS].filter(
    (f, i, all) => all.findIndex((g) => g.type === f.type) === i,
  ),
);

/** `given` plus the built-in types it does not redefine. */
export function withBuiltinApplets(given: readonly AppletFactory[] = []): AppletFactory[] {
  const types = new Set(given.map((f) => f.type));
  return [...given, ...BUILTIN_APPLETS.filter((f) => !types.has(f.type))];
}
