/**
 * A transport wrapper that finishes what the card announces in its status word, as apdu4j's
 * `GetResponseWrapper` and GlobalPlatformPro do:
 *
 * - `61XX` (ISO/IEC 7816-4 §5.1.3, §11.7.1): response bytes are still available. GET RESPONSE
 *   (`CLA C0 00 00 XX`, XX = 00 for "up to 256") is sent until the card stops answering 61XX; the
 *   data of every answer is concatenated and the last status word is returned.
 * - `6CXX` (§5.1.3): wrong Le, XX is the exact length. The same command is sent again once with
 *   Le = XX (00 meaning 256), in the short or extended form the command had.
 *
 * Over T=0 both are how case 2 and 4 commands work (ISO/IEC 7816-3 §12.2); over T=1 a card may
 * still use them. GET RESPONSE keeps the command's class byte (its logical channel) without the
 * chaining bit.
 *
 * @example
 * const t = new GetResponseTransport(await PcscTransport.open('0'));
 * await t.connect();
 * await t.transmit(hexToBytes('00A4040007A000000247100100')); // FCI + 9000, never 61XX
 */
import { concatBytes } from '../bytes/index.js';
import { encodeCommandApdu, parseCommandApdu, type CommandApdu } from '../apdu/command.js';
import { INS } from '../apdu/ins.js';
import type { Transport } from './types.js';

export interface GetResponseOptions {
  /** Most GET RESPONSE commands for one command (default 256: 64 KiB at 256 bytes each). */
  readonly maxRounds?: number;
}

/** True when the status word is 61XX. */
function moreAvailable(r: Uint8Array): boolean {
  return r.length >= 2 && r[r.length - 2] === 0x61;
}

/** True when the status word is 6CXX. */
function wrongLe(r: Uint8Array): boolean {
  return r.length >= 2 && r[r.length - 2] === 0x6c;
}

/** The command again with Ne from a 6CXX answer, in the same (short/extended) form. */
function withNe(cmd: CommandApdu, raw: Uint8Array, sw2: number): Uint8Array {
  return encodeCommandApdu({
    cla: raw[0]!,
    ins: cmd.ins,
    p1: cmd.p1,
    p2: cmd.p2,
    data: cmd.data,
    ne: sw2 === 0 ? 256 : sw2,
    extended: cmd.extended,
  });
}

/** Wraps a transport; everything else passes through unchanged. */
export class GetResponseTransport implements Transport {
  constructor(
    private readonly inner: Transport,
    private readonly opts: GetResponseOptions = {},
  ) {}

  connect(): Promise<Uint8Array> {
    return this.inner.connect();
  }

  reset(): Promise<Uint8Array> {
    return this.inner.reset();
  }

  disconnect(): Promise<void> {
    return this.inner.disconnect();
  }

  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    let r = await this.inner.transmit(apdu);
    if (!moreAvailable(r) && !wrongLe(r)) return r;
    let cmd: CommandApdu;
    try {
      cmd = parseCommandApdu(apdu);
    } catch {
      // A command the wrapper cannot parse was answered as is; it is not ours to repeat.
      return r;
    }
    if (wrongLe(r)) {
      r = await this.inner.transmit(withNe(cmd, apdu, r[r.length - 1]!));
      if (!moreAvailable(r)) return r;
    }
    // GET RESPONSE on the command's channel, never chained (ISO/IEC 7816-4 §5.4.1 b5).
    const cla = apdu[0]! & ~0x10;
    const parts: Uint8Array[] = [];
    const maxRounds = this.opts.maxRounds ?? 256;
    for (let round = 0; moreAvailable(r); round++) {
      if (round === maxRounds) break;
      parts.push(r.subarray(0, r.length - 2));
      const le = r[r.length - 1]!;
      r = await this.inner.transmit(encodeCommandApdu({ cla, ins: INS.GET_RESPONSE, ne: le === 0 ? 256 : le }));
      // A 6CXX here is the card correcting our Le for the rest: ask again with its length.
      if (wrongLe(r)) {
        const exact = r[r.length - 1]!;
        r = await this.inner.transmit(encodeCommandApdu({ cla, ins: INS.GET_RESPONSE, ne: exact === 0 ? 256 : exact }));
      }
    }
    parts.push(r);
    return concatBytes(...parts);
  }
}
