/**
 * Basic Access Control, card side (ICAO Doc 9303-11 §4.3): the GET CHALLENGE and EXTERNAL
 * AUTHENTICATE (mutual authentication) an eMRTD applet offers while selected. They override the
 * OS's commands of the same INS — chipwright's symmetric-key EXTERNAL AUTHENTICATE is a different
 * scheme — so an applet merges this table into its own:
 *
 *     commands: bacCommands((ctx) => keysOf(ctx.appletRecord))
 *
 * - GET CHALLENGE `00 84 00 00 08`: 8 bytes RND.IC from the card RNG, kept on the channel for the
 *   next EXTERNAL AUTHENTICATE. P1-P2 ≠ 0000 → 6A86; data or Le ≠ 8 → 6700 (§4.3.4.1: Le = 08).
 * - EXTERNAL AUTHENTICATE `00 82 00 00 28 <E_IFD ‖ M_IFD> 28`: the pending challenge is consumed
 *   first, whatever the outcome. P1-P2 ≠ 0000 → 6A86; data not 40 bytes, or Le absent or below
 *   40 → 6700; no challenge → 6985; no BAC keys for this document (`source` returns undefined)
 *   → 6985; M_IFD wrong, or RND.IC inside E_IFD not the challenge → 6300 (ICAO 9303-11: the
 *   authentication failed; nothing says which check). Success: K.IC (16 bytes) is drawn from the
 *   RNG — so a replay feeds RND.IC ‖ K.IC — the answer is E_IC ‖ M_IC with 9000, in plain, and a
 *   3DES {@link CardSmSession} with KSenc, KSmac and SSC = RND.IC[4..8) ‖ RND.IFD[4..8) starts on
 *   the channel. The security status from before (PINs, keys) is cleared: a new session starts
 *   from nothing.
 *
 * Throttling: ICAO defines no retry counter for BAC and chipwright adds none — a card that
 * blocked after failures would let anyone lock a passport. Each attempt needs its own GET
 * CHALLENGE (the challenge is single-use), so a guess costs two command round trips; the
 * simulator adds no artificial delay (real chips often slow down after failures), so
 * conformance runs stay fast. The MRZ's limited entropy is BAC's known weakness; PACE replaces it.
 */
import { SW, StatusWordError } from '../../apdu/status.js';
import type { CommandApdu } from '../../apdu/command.js';
import type { ResponseApdu } from '../../apdu/response.js';
import { INS } from '../../apdu/ins.js';
import { zeroize } from '../../bytes/index.js';
import { bacCardResponse, bacCardVerify, bacSessionKeys, type BacKeys } from '../../crypto/bac.js';
import type { CommandContext } from '../context.js';
import { defineInsTable, type CommandHandler, type InsTable } from '../dispatch.js';
import { CardSmSession } from './secure-messaging.js';

/** ICAO 9303-11 §4.3.4.1: RND.IC is 8 bytes. */
export const BAC_CHALLENGE_LENGTH = 8;
/** E_IFD ‖ M_IFD and E_IC ‖ M_IC: 32 + 8 bytes. */
export const BAC_CRYPTOGRAM_LENGTH = 40;

/** Where the document basic access keys of the selected applet come from; undefined = none. */
export type BacKeySource = (ctx: CommandContext) => BacKeys | undefined;

const GET_CHALLENGE: CommandHandler = {
  name: 'GET CHALLENGE',
  run(cmd: CommandApdu, ctx: CommandContext): Uint8Array {
    if (cmd.p1 !== 0 || cmd.p2 !== 0) throw new StatusWordError(SW.INCORRECT_P1P2, 'GET CHALLENGE P1-P2 must be 0000');
    if (cmd.data.length !== 0) throw new StatusWordError(SW.WRONG_LENGTH, 'GET CHALLENGE takes no data');
    if (cmd.ne !== BAC_CHALLENGE_LENGTH) {
      throw new StatusWordError(SW.WRONG_LENGTH, `BAC GET CHALLENGE needs Le = 08, got Ne = ${cmd.ne}`);
    }
    const challenge = ctx.rng.bytes(BAC_CHALLENGE_LENGTH);
    ctx.channel.challenge = challenge.slice();
    return challenge;
  },
};

function externalAuthenticate(source: BacKeySource): CommandHandler {
  return {
    name: 'EXTERNAL AUTHENTICATE',
    run(cmd: CommandApdu, ctx: CommandContext): ResponseApdu {
      const ch = ctx.channel;
      const rndIc = ch.challenge;
      ch.challenge = null;
      if (cmd.p1 !== 0 || cmd.p2 !== 0) throw new StatusWordError(SW.INCORRECT_P1P2, 'BAC EXTERNAL AUTHENTICATE P1-P2 must be 0000');
      if (cmd.data.length !== BAC_CRYPTOGRAM_LENGTH) {
        throw new StatusWordError(SW.WRONG_LENGTH, `E_IFD ‖ M_IFD must be 40 bytes, got ${cmd.data.length}`);
      }
      if (cmd.ne < BAC_CRYPTOGRAM_LENGTH) {
        throw new StatusWordError(SW.WRONG_LENGTH, 'Le must be 28 (the 40 bytes of E_IC ‖ M_IC)');
      }
      if (rndIc === null || rndIc.length !== BAC_CHALLENGE_LENGTH) {
        throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, 'no BAC challenge pending on this channel (GET CHALLENGE first)');
      }
      const keys = source(ctx);
      if (keys === undefined) throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, 'this document has no BAC keys');
      const opened = bacCardVerify(keys, rndIc, cmd.data);
      if (opened === undefined) throw new StatusWordError(SW.WARN_NV_CHANGED, 'BAC mutual authentication failed');
      const kIc = ctx.rng.bytes(16);
      try {
        const response = bacCardResponse(keys, rndIc, opened.rndIfd, kIc);
        const session = bacSessionKeys(opened.kIfd, kIc, rndIc, opened.rndIfd);
        const sm = new CardSmSession(session);
        zeroize(session.kEnc);
        zeroize(session.kMac);
        ch.clearSecurity();
        ch.sm = sm;
        return { data: response, sw: SW.OK };
      } finally {
        zeroize(kIc);
        zeroize(opened.kIfd);
      }
    },
  };
}

/**
 * GET CHALLENGE and BAC's EXTERNAL AUTHENTICATE, for an applet's INS table.
 *
 * @example
 * const mrtd: AppletFactory = {
 *   type: 'mrtd',
 *   create: () => ({ commands: bacCommands(() => bacKeys('L898902C<369080619406236')) }),
 * };
 */
export function bacCommands(source: BacKeySource): InsTable {
  return defineInsTable([INS.GET_CHALLENGE, GET_CHALLENGE], [INS.EXTERNAL_AUTHENTICATE, externalAuthenticate(source)]);
}
