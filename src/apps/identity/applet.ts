/**
 * The identity applet (eMRTD application, AID A0000002471001): the OS's SELECT and READ BINARY
 * over the LDS files, plus Basic Access Control (ICAO 9303-11 §4.3) — GET CHALLENGE and the BAC
 * EXTERNAL AUTHENTICATE — with the document basic access keys derived from the MRZ in its own DG1.
 * The keys are never stored: what personalization wrote to DG1 is what BAC checks against, so a
 * card written over APDUs (CREATE FILE, UPDATE BINARY) needs no extra key loading.
 *
 * PACE runs in the card-level applet (`apps/card-level.ts`) before this application is selected.
 *
 * @example
 * const card = createCard({ applets: [IDENTITY_APPLET] });
 * card.install(IDENTITY_AID, IDENTITY_TYPE);
 */
import type { AppletFactory } from '../../card/applet.js';
import { mergeInsTables, type InsTable } from '../../card/dispatch.js';
import type { CommandContext } from '../../card/context.js';
import { childByFid } from '../../card/fs/tree.js';
import { bacCommands } from '../../card/protocols/bac.js';
import { bacKeys, type BacKeys } from '../../crypto/bac.js';
import { decodeDg1 } from '../../lds/dg1.js';
import { parseTd1 } from '../../lds/mrz.js';
import { dataGroup } from '../../lds/tags.js';
import { IDENTITY_TYPE } from './layout.js';

/** BAC keys from the selected application's DG1; undefined (6985) without a readable TD1 MRZ. */
function keysFromDg1(ctx: CommandContext): BacKeys | undefined {
  const df = ctx.channel.applet?.df;
  const ef = df === undefined ? undefined : childByFid(df, dataGroup(1).fid);
  if (ef === undefined || ef.kind !== 'EF' || ef.structure !== 'transparent') return undefined;
  try {
    return bacKeys(parseTd1(decodeDg1(ef.data).mrz).mrzInformation);
  } catch {
    return undefined;
  }
}

/**
 * The identity applet factory, with `extra` commands merged into its INS table — the hook for
 * Active Authentication (INTERNAL AUTHENTICATE) and Chip Authentication (MSE:Set KAT / GENERAL
 * AUTHENTICATE), which act on keys of this application. `extra` may not redefine GET CHALLENGE
 * or EXTERNAL AUTHENTICATE (BAC).
 *
 * @example identityApplet(activeAuthenticationCommands(...)) // registered instead of IDENTITY_APPLET
 */
export function identityApplet(extra?: InsTable): AppletFactory {
  const commands = extra === undefined ? bacCommands(keysFromDg1) : mergeInsTables(bacCommands(keysFromDg1), extra);
  return Object.freeze({ type: IDENTITY_TYPE, create: () => ({ commands }) });
}

/** The identity applet with BAC only. */
export const IDENTITY_APPLET: AppletFactory = identityApplet();
