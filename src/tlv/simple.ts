/**
 * SIMPLE-TLV data objects, ISO/IEC 7816-4:2013 §6.2 (§5.2.1 in the 2005 edition): a one-byte
 * tag 01–FE and a length of one byte 00–FE, or FF followed by two bytes (0–65 535). Records of
 * record EFs and some proprietary data fields use it; tags carry no class or constructed bit.
 *
 * @example parseSimpleTlvList(hexToBytes('01 02 AA BB')) // [{ tag: 1, value: AA BB }]
 */
import { ByteInputError, byteHex } from '../bytes/index.js';
import { TlvError } from './ber.js';

/** One SIMPLE-TLV data object; `value` is a subarray of the parsed buffer. */
export interface SimpleTlv {
  readonly tag: number;
  readonly value: Uint8Array;
}

/**
 * Parses a sequence of SIMPLE-TLV objects. Tags 00 and FF are errors (§6.2: "the values '00'
 * and 'FF' are invalid for tag fields"); a three-byte length with a value below 255 is accepted
 * (parsers should be liberal about length form), while {@link encodeSimpleTlv} is minimal.
 */
export function parseSimpleTlvList(bytes: Uint8Array): SimpleTlv[] {
  const out: SimpleTlv[] = [];
  const end = bytes.length;
  let pos = 0;
  while (pos < end) {
    const tag = bytes[pos]!;
    if (tag === 0x00 || tag === 0xff) {
      throw new TlvError(`SIMPLE-TLV tag ${byteHex(tag)} is invalid (tags are 01 to FE)`, pos);
    }
    const lenPos = pos + 1;
    if (lenPos >= end) throw new TlvError(`SIMPLE-TLV tag ${byteHex(tag)}: missing length byte`, lenPos);
    let length = bytes[lenPos]!;
    let valuePos = lenPos + 1;
    if (length === 0xff) {
      if (lenPos + 3 > end) {
        throw new TlvError(
          `SIMPLE-TLV tag ${byteHex(tag)}: length FF needs two more length bytes, ${end - lenPos - 1} present`,
          lenPos,
        );
      }
      length = (bytes[lenPos + 1]! << 8) | bytes[lenPos + 2]!;
      valuePos = lenPos + 3;
    }
    if (length > end - valuePos) {
      throw new TlvError(
        `SIMPLE-TLV tag ${byteHex(tag)}: truncated value, length ${length} but ${end - valuePos} byte(s) present`,
        valuePos,
      );
    }
    out.push({ tag, value: bytes.subarray(valuePos, valuePos + length) });
    pos = valuePos + length;
  }
  return out;
}

/**
 * One SIMPLE-TLV object with the shortest length field (one byte up to 254, else FF + 2 bytes).
 *
 * @example encodeSimpleTlv(0x01, new Uint8Array(300)).subarray(0, 4) // 01 FF 01 2C
 */
export function encodeSimpleTlv(tag: number, value: Uint8Array): Uint8Array {
  if (!Number.isInteger(tag) || tag < 0x01 || tag > 0xfe) {
    throw new ByteInputError(`SIMPLE-TLV tag: expected 1 to 254 (01 to FE), got ${tag}`);
  }
  const n = value.length;
  if (n > 0xffff) {
    throw new ByteInputError(`SIMPLE-TLV value for tag ${byteHex(tag)}: at most 65535 bytes, got ${n}`);
  }
  const head = n < 0xff ? 2 : 4;
  const out = new Uint8Array(head + n);
  out[0] = tag;
  if (head === 2) {
    out[1] = n;
  } else {
    out[1] = 0xff;
    out[2] = n >>> 8;
    out[3] = n & 0xff;
  }
  out.set(value, head);
  return out;
}
