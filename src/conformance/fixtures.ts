/**
 * The applet the shipped ICAO suites run on: a minimal eMRTD-like chip that offers exactly what
 * the ICAO 9303-11 worked examples exercise — Basic Access Control (Appendix D, §4.3) and PACE
 * with generic mapping (Appendix G, §4.4) — over files its card image holds. It is a conformance
 * fixture, not the ID-card application: it has no data groups of its own, no Chip or Active
 * Authentication, and it exists so that the protocol suites can run before (and independently
 * of) the application. The replay runner registers it with every simulated card.
 *
 * Its card image entry: `{ "aid": "A0000002471001", "type": "icao-worked-example", "params": "",
 * "lifeCycle": "selectable", "store": { "mrz": "<hex of the MRZ information, ASCII>" } }`.
 * - BAC keys (ICAO 9303-11 §4.3.2) come from the stored MRZ information; without one, BAC answers
 *   6985 (this document has no BAC keys).
 * - PACE offers id-PACE-ECDH-GM-AES-CBC-CMAC-128 with brainpoolP256r1 (parameter ID 13), the
 *   protocol of the Appendix G example; the passwords are the MRZ information and the PIN objects
 *   02 (CAN), 03 (PIN) and 04 (PUK) of the applet's DF, when present. The image also carries
 *   EF.CardAccess (MF/011C, SFI 1C) announcing the same.
 */
import type { AppletFactory } from '../card/applet.js';
import type { CommandContext } from '../card/context.js';
import { mergeInsTables } from '../card/dispatch.js';
import { bacCommands } from '../card/protocols/bac.js';
import { paceCommands, pacePasswords } from '../card/protocols/pace.js';
import { bacKeys, type BacKeys } from '../crypto/bac.js';
import { mrzPassword } from '../crypto/pace.js';
import { PACE_OID } from '../crypto/security-infos.js';

/** Applet type name of {@link icaoWorkedExampleApplet}. */
export const ICAO_WORKED_EXAMPLE_APPLET = 'icao-worked-example';

function stored(ctx: CommandContext, key: string): Uint8Array | undefined {
  return ctx.appletRecord?.store.find((e) => e.key === key)?.value;
}

function mrzOf(ctx: CommandContext): string | undefined {
  const v = stored(ctx, 'mrz');
  return v === undefined ? undefined : Buffer.from(v).toString('latin1');
}

/** The applet factory (see the module comment for what it offers). */
export const icaoWorkedExampleApplet: AppletFactory = Object.freeze({
  type: ICAO_WORKED_EXAMPLE_APPLET,
  create: () => {
    // Keys are derived once per MRZ value: a SHA-1 per BAC run would cost nothing visible, but a
    // card answering the same document twice should not recompute what it already knows.
    let cache: { mrz: string; keys: BacKeys } | undefined;
    const bac = (ctx: CommandContext): BacKeys | undefined => {
      const mrz = mrzOf(ctx);
      if (mrz === undefined) return undefined;
      if (cache?.mrz !== mrz) cache = { mrz, keys: bacKeys(mrz) };
      return { kEnc: cache.keys.kEnc.slice(), kMac: cache.keys.kMac.slice() };
    };
    const pace = paceCommands(
      pacePasswords({
        protocols: [{ protocol: PACE_OID.ECDH_GM_AES_128, parameterId: 13 }],
        mrz: (ctx) => {
          const mrz = mrzOf(ctx);
          return mrz === undefined ? undefined : mrzPassword(mrz);
        },
        can: { pin: 0x02 },
        pin: 0x03,
        puk: 0x04,
      }),
    );
    return { commands: mergeInsTables(bacCommands(bac), pace) };
  },
});

/** The applet types every simulated card of a replay knows. */
export const CONFORMANCE_APPLETS: readonly AppletFactory[] = Object.freeze([icaoWorkedExampleApplet]);
