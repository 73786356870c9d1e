/**
 * COMPACT-TLV data objects, ISO/IEC 7816-4:2013 §8.1.1.2 / §12.1.1 (historical bytes; §8.1.1.2
 * in the 2005 edition): one byte holds the tag in the high nibble and the length (0–15) in the
 * low nibble. Historical bytes are at most 15 bytes long, so nothing longer is needed.
 *
 * @example parseCompactTlvList(hexToBytes('31 F8 73 F7 41 E0')) // tags 3 and 7
 */
import { ByteInputError, byteHex } from '../bytes/index.js';
import { TlvError } from './ber.js';

/** One COMPACT-TLV data object: tag 0–15, value of 0–15 bytes (a subarray when parsed). */
export interface CompactTlv {
  readonly tag: number;
  readonly value: Uint8Array;
}

/** Parses a sequence of COMPACT-TLV objects; a value running past the end is an error. */
export function parseCompactTlvList(bytes: Uint8Array): CompactTlv[] {
  const out: CompactTlv[] = [];
  const end = bytes.length;
  let pos = 0;
  while (pos < end) {
    const b = bytes[pos]!;
    const length = b & 0x0f;
    if (pos + 1 + length > end) {
      throw new TlvError(
        `COMPACT-TLV ${byteHex(b)} (tag ${b >>> 4}, length ${length}): only ${end - pos - 1} value byte(s) present`,
        pos,
      );
    }
    out.push({ tag: b >>> 4, value: bytes.subarray(pos + 1, pos + 1 + length) });
    pos += 1 + length;
  }
  return out;
}

/**
 * One COMPACT-TLV object.
 *
 * @example encodeCompactTlv(7, hexToBytes('F7 41 E0')) // 73 F7 41 E0
 */
export function encodeCompactTlv(tag: number, value: Uint8Array): Uint8Array {
  if (!Number.isInteger(tag) || tag < 0 || tag > 15) {
    throw new ByteInputError(`COMPACT-TLV tag: expected 0 to 15, got ${tag}`);
  }
  if (value.length > 15) {
    throw new ByteInputError(`COMPACT-TLV value for tag ${tag}: at most 15 bytes, got ${value.length}`);
  }
  const out = new Uint8Array(1 + value.length);
  out[0] = (tag << 4) | value.length;
  out.set(value, 1);
  return out;
}
