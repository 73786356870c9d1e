/**
 * The keystore application: a DF carrying the card's on-card key commands (GENERATE ASYMMETRIC KEY
 * PAIR, MSE, PSO, INTERNAL AUTHENTICATE) whose install creates empty key slots from its parameters;
 * generation needs the transport key during personalization and is refused after (the slot's
 * `generate` condition).
 */
import type { Applet, AppletFactory } from '../card/applet.js';
import type { InstallContext } from '../card/context.js';
import { parseCondition } from '../card/security/access.js';
import { newAsymmetricKey, type AsymmetricKeyUsage } from '../card/security/objects.js';
import { addKeySlot } from '../card/protocols/key-store.js';
import { keyStoreCommands } from '../card/protocols/on-card-keys.js';

/** The applet type of {@link KEYSTORE_APPLET}. */
export const KEYSTORE_TYPE = 'keystore';

/** One key slot in a keystore application's install parameters (UTF-8 JSON, chipwright's own format). */
export interface KeystoreSlot {
  ref: number;
  label: string;
  type: 'ec' | 'rsa';
  curve?: string;
  bits?: number;
  usage: AsymmetricKeyUsage[];
  use: string;
  pinAlways: boolean;
}

/**
 * A DF with the key store's commands; its install creates empty key slots from the parameters
 * (generation needs the transport key during personalization, NEVER after).
 */
export const KEYSTORE_APPLET: AppletFactory = Object.freeze({
  type: KEYSTORE_TYPE,
  create(params: Uint8Array): Applet {
    const commands = keyStoreCommands();
    const slots = params.length === 0 ? [] : (JSON.parse(new TextDecoder().decode(params)) as { slots: KeystoreSlot[] }).slots;
    return { install: (ctx: InstallContext): void => installKeySlots(ctx, slots), commands };
  },
});

/** Creates empty key slots in the application's DF (what a keystore's install parameters describe). */
export function installKeySlots(ctx: InstallContext, slots: readonly KeystoreSlot[]): void {
  for (const s of slots) {
    addKeySlot(
      ctx.nv,
      ctx.df,
      newAsymmetricKey({
        ref: s.ref,
        type: s.type,
        ...(s.curve !== undefined ? { curve: s.curve } : {}),
        ...(s.bits !== undefined ? { bits: s.bits } : {}),
        usage: s.usage,
        label: s.label,
        use: parseCondition(s.use),
        pinAlways: s.pinAlways,
      }),
    );
  }
}
