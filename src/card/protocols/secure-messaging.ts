/**
 * The card's secure messaging session (ISO/IEC 7816-4 §10, ICAO 9303-11 §9.8): the
 * {@link SecureMessagingSession} the OS calls for every SM-marked command on a channel, built on
 * the shared codec in `crypto/sm.ts`.
 *
 * Failures follow ICAO 9303-11 §9.8.6 and ISO/IEC 7816-4 §10: a missing DO'8E' answers 6987; a
 * malformed, unknown, duplicated or out-of-order DO, a wrong padding indicator, a wrong MAC (also
 * what a replayed APDU gets: the SSC has moved on) or bad padding answer 6988. The OS then ends
 * the session, clears the channel's security status and sends the status word in plain — an SM
 * error is never protected, since the card can no longer trust the keys. Any other status word
 * (6A82, 6982, 63CX…) is protected like data: DO'99' ‖ DO'8E' ‖ SW.
 *
 * @example On success of a protocol (what BAC and PACE do)
 * ctx.channel.sm = new CardSmSession({ cipher: 'aes', kEnc, kMac, ssc: new Uint8Array(16) });
 */
import { StatusWordError } from '../../apdu/status.js';
import type { CommandApdu } from '../../apdu/command.js';
import { SmCodec, SmError, type SmKeys } from '../../crypto/sm.js';
import type { SecureMessagingSession } from '../channel.js';

export class CardSmSession implements SecureMessagingSession {
  readonly #codec: SmCodec;
  /** INS of the command being answered: odd INS are answered with DO'85' instead of DO'87'. */
  #oddIns = false;

  /** Copies what it needs from `keys`; the caller may zeroize them afterwards. */
  constructor(keys: SmKeys) {
    this.#codec = new SmCodec(keys);
  }

  /** '3des' (BAC) or 'aes' (PACE, Chip Authentication). */
  get cipher(): SmKeys['cipher'] {
    return this.#codec.cipher;
  }

  /** The send sequence counter after the last message (for conformance tests). */
  get ssc(): Uint8Array {
    return this.#codec.ssc;
  }

  /** Verifies and decrypts; an SM error ends this session (the OS drops it) and becomes its SW. */
  unwrapCommand(cmd: CommandApdu): CommandApdu {
    try {
      const plain = this.#codec.unprotectCommand(cmd);
      this.#oddIns = (plain.ins & 1) === 1;
      return plain;
    } catch (e) {
      this.#codec.destroy();
      if (e instanceof SmError) throw new StatusWordError(e.sw, e.detail);
      throw e;
    }
  }

  wrapResponse(data: Uint8Array, sw: number): Uint8Array {
    return this.#codec.protectResponse(data, sw, this.#oddIns);
  }

  /** The OS ended the session (plain command, reset, channel closed): wipe SSC and keys. */
  end(): void {
    this.#codec.destroy();
  }
}
