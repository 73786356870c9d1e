/**
 * BER-TLV data objects as ISO/IEC 7816-4:2013 §6.3 restricts them (§5.2.2 and Annex D in the
 * 2005/1995 editions), on top of the basic encoding rules of ISO/IEC 8825-1 (X.690 §8.1).
 *
 * Parsing is strict because it runs on every APDU data field and every file the simulator
 * serves: a malformed object fails with a {@link TlvError} naming the byte offset, instead of
 * being guessed at. Values and `raw` are subarrays of the input (no copies), so what a
 * signature or hash covers (EF.SOD, CV certificates) is kept byte for byte and never re-encoded.
 *
 * @example
 * const fcp = parseTlv(hexToBytes('62 08 80 02 00 20 82 02 01 21'));
 * findTlv(fcp.children ?? [], 0x80)?.value // Uint8Array [0x00, 0x20]
 */
import { ByteInputError, byteHex, concatBytes } from '../bytes/index.js';

/** A malformed BER-TLV (or SIMPLE-/COMPACT-TLV) encoding; `offset` is where the problem is. */
export class TlvError extends Error {
  override readonly name = 'TlvError';
  /** Byte offset, within the buffer passed to the parser, of the offending tag/length/value. */
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(`${message} (at byte offset ${offset})`);
    this.offset = offset;
  }
}

/** One parsed BER-TLV data object. */
export interface Tlv {
  /** The tag bytes read big-endian: `0x62`, `0x5F1F`, `0x7F49`, `0xBF0C01`; at most 3 bytes. */
  readonly tag: number;
  /** Bit b6 of the first tag byte (ISO/IEC 8825-1 §8.1.2.5): the value is a list of objects. */
  readonly constructed: boolean;
  /** The value field, a subarray of the parsed buffer. */
  readonly value: Uint8Array;
  /** The objects inside the value field, present exactly when `constructed`. */
  readonly children?: readonly Tlv[];
  /** The exact tag+length+value bytes as received, for hashing and signature checks. */
  readonly raw?: Uint8Array;
}

/** Options for {@link parseTlvList} and {@link parseTlv}. */
export interface TlvParseOptions {
  /**
   * Skip '00' and 'FF' bytes before, between and after objects. ISO/IEC 7816-4 (2005 §5.2.2.1,
   * 1995 Annex D.1) allows them as left-overs of erased data objects, but off by default because
   * in a command data field such a byte is far more likely a framing error.
   */
  readonly skipPadding?: boolean;
}

/**
 * Deepest nesting accepted. Real data structures (FCI, CV certificates, EF.SOD) stay below 10
 * levels; the limit turns a hostile 64 KiB run of nested headers into a TlvError instead of a
 * stack overflow inside the card.
 */
export const MAX_TLV_DEPTH = 64;

/**
 * True when the first tag byte has b6 = 1 (constructed encoding, ISO/IEC 8825-1 §8.1.2.5), e.g.
 * `0x62` (FCP template), `0x7F49` (public key), but not `0x5F1F`.
 */
export function isConstructedTag(tag: number): boolean {
  return (firstTagByte(tag) & 0x20) !== 0;
}

/**
 * Parses exactly one BER-TLV object covering the whole buffer; trailing bytes are an error
 * because a caller expecting one object (a certificate, a template) would otherwise silently
 * drop data.
 *
 * @example parseTlv(hexToBytes('5F1F 02 4142')).tag // 0x5F1F
 */
export function parseTlv(bytes: Uint8Array, options: TlvParseOptions = {}): Tlv {
  const pad = options.skipPadding === true;
  const end = bytes.length;
  let pos = pad ? skipPaddingBytes(bytes, 0, end) : 0;
  if (pos >= end) throw new TlvError('expected a BER-TLV data object, got no bytes', pos);
  const out: Tlv[] = [];
  pos = parseOne(bytes, pos, end, pad, 0, out);
  if (pad) pos = skipPaddingBytes(bytes, pos, end);
  if (pos !== end) {
    throw new TlvError(
      `${end - pos} trailing byte(s) after the data object (next byte ${byteHex(bytes[pos]!)})`,
      pos,
    );
  }
  return out[0]!;
}

/**
 * Parses a concatenation of zero or more BER-TLV objects, as found in command data fields,
 * constructed values and EF contents (ISO/IEC 7816-4 §6.3).
 *
 * @example parseTlvList(hexToBytes('80 01 01 81 00')).map((t) => t.tag) // [0x80, 0x81]
 */
export function parseTlvList(bytes: Uint8Array, options: TlvParseOptions = {}): Tlv[] {
  const out: Tlv[] = [];
  parseRange(bytes, 0, bytes.length, options.skipPadding === true, 0, out);
  return out;
}

function parseRange(
  bytes: Uint8Array,
  start: number,
  end: number,
  pad: boolean,
  depth: number,
  out: Tlv[],
): void {
  let pos = start;
  while (pos < end) {
    if (pad) {
      pos = skipPaddingBytes(bytes, pos, end);
      if (pos >= end) return;
    }
    pos = parseOne(bytes, pos, end, pad, depth, out);
  }
}

/** Parses one object at `start` (not beyond `end`), pushes it, returns the offset after it. */
function parseOne(
  bytes: Uint8Array,
  start: number,
  end: number,
  pad: boolean,
  depth: number,
  out: Tlv[],
): number {
  // Tag field (ISO/IEC 8825-1 §8.1.2; ISO/IEC 7816-4 limits it to 3 bytes in practice).
  let pos = start;
  const b0 = bytes[pos]!;
  if (b0 === 0x00 || b0 === 0xff) {
    throw new TlvError(
      `tag byte ${byteHex(b0)} is invalid: ISO/IEC 7816-4 reserves 00 and FF for padding ` +
        '(pass { skipPadding: true } if this data may contain erased objects)',
      pos,
    );
  }
  let tag = b0;
  pos++;
  if ((b0 & 0x1f) === 0x1f) {
    if (pos >= end) throw new TlvError(`truncated tag: ${byteHex(b0)} announces a subsequent tag byte`, start);
    const b1 = bytes[pos]!;
    if (b1 === 0x80) {
      // X.690 §8.1.2.4.2 c / ISO/IEC 7816-4: bits b7-b1 of the first subsequent byte not all 0.
      throw new TlvError(`tag ${byteHex(b0)}80: first subsequent tag byte 80 is not minimal`, pos);
    }
    tag = (tag << 8) | b1;
    pos++;
    if ((b1 & 0x80) !== 0) {
      if (pos >= end) {
        throw new TlvError(`truncated tag: ${byteHex(b0)}${byteHex(b1)} announces a third tag byte`, start);
      }
      const b2 = bytes[pos]!;
      tag = (tag << 8) | b2;
      pos++;
      if ((b2 & 0x80) !== 0) {
        throw new TlvError(
          `tag ${byteHex(b0)}${byteHex(b1)}${byteHex(b2)}… is longer than 3 bytes, which ISO/IEC 7816 does not use`,
          start,
        );
      }
    }
  }

  // Length field (ISO/IEC 7816-4: 1 to 5 bytes; '80' and '85'–'FF' invalid as first byte).
  if (pos >= end) throw new TlvError(`missing length field after tag ${tagHex(tag)}`, pos);
  const lenPos = pos;
  const l0 = bytes[pos]!;
  pos++;
  let length: number;
  if (l0 < 0x80) {
    length = l0;
  } else if (l0 === 0x80) {
    throw new TlvError(`indefinite length (80) for tag ${tagHex(tag)}: ISO/IEC 7816 does not use it`, lenPos);
  } else if (l0 <= 0x84) {
    const n = l0 & 0x7f;
    if (pos + n > end) {
      throw new TlvError(
        `truncated length field of tag ${tagHex(tag)}: ${byteHex(l0)} announces ${n} length byte(s), ${end - pos} present`,
        lenPos,
      );
    }
    length = 0;
    // Non-minimal long forms (e.g. 81 05) are accepted: cards emit them.
    for (let i = 0; i < n; i++) length = length * 256 + bytes[pos + i]!;
    pos += n;
  } else {
    throw new TlvError(
      `length byte ${byteHex(l0)} of tag ${tagHex(tag)} is invalid: ISO/IEC 7816 allows at most 84 (4 length bytes)`,
      lenPos,
    );
  }

  // Value field.
  if (length > end - pos) {
    throw new TlvError(
      `truncated value of tag ${tagHex(tag)}: length ${length}, only ${end - pos} byte(s) present`,
      pos,
    );
  }
  const valueEnd = pos + length;
  const value = bytes.subarray(pos, valueEnd);
  const constructed = (b0 & 0x20) !== 0;
  let children: Tlv[] | undefined;
  if (constructed) {
    if (depth >= MAX_TLV_DEPTH) {
      throw new TlvError(`tag ${tagHex(tag)} nests deeper than ${MAX_TLV_DEPTH} levels`, start);
    }
    children = [];
    parseRange(bytes, pos, valueEnd, pad, depth + 1, children);
  }
  out.push({ tag, constructed, value, children, raw: bytes.subarray(start, valueEnd) });
  return valueEnd;
}

function skipPaddingBytes(bytes: Uint8Array, pos: number, end: number): number {
  let p = pos;
  while (p < end) {
    const b = bytes[p]!;
    if (b !== 0x00 && b !== 0xff) break;
    p++;
  }
  return p;
}

function firstTagByte(tag: number): number {
  if (tag > 0xffff) return (tag >>> 16) & 0xff;
  if (tag > 0xff) return (tag >>> 8) & 0xff;
  return tag;
}

function tagHex(tag: number): string {
  let s = '';
  if (tag > 0xffff) s += byteHex(tag >>> 16);
  if (tag > 0xff) s += byteHex(tag >>> 8);
  return s + byteHex(tag);
}

/** Number of tag bytes for a valid tag, or a ByteInputError naming what is wrong with it. */
function tagSize(tag: number): number {
  if (!Number.isInteger(tag) || tag <= 0 || tag > 0xffffff) {
    throw new ByteInputError(`tag: expected 1 to 3 tag bytes as a positive integer, got ${tag}`);
  }
  const n = tag > 0xffff ? 3 : tag > 0xff ? 2 : 1;
  const b0 = firstTagByte(tag);
  if (b0 === 0xff) throw new ByteInputError(`tag ${tagHex(tag)}: first byte FF is padding in ISO/IEC 7816-4`);
  const multi = (b0 & 0x1f) === 0x1f;
  if (n === 1) {
    if (multi) throw new ByteInputError(`tag ${tagHex(tag)}: b5-b1 = 11111 announces a subsequent tag byte`);
    return 1;
  }
  if (!multi) {
    throw new ByteInputError(`tag ${tagHex(tag)}: first byte ${byteHex(b0)} has a one-byte tag number (b5-b1 != 11111)`);
  }
  const b1 = (tag >>> (n === 3 ? 8 : 0)) & 0xff;
  if (b1 === 0x80) throw new ByteInputError(`tag ${tagHex(tag)}: first subsequent byte 80 is not minimal`);
  if (n === 2 && (b1 & 0x80) !== 0) {
    throw new ByteInputError(`tag ${tagHex(tag)}: last tag byte must have b8 = 0`);
  }
  if (n === 3 && ((b1 & 0x80) === 0 || (tag & 0x80) !== 0)) {
    throw new ByteInputError(`tag ${tagHex(tag)}: middle byte needs b8 = 1 and last byte b8 = 0`);
  }
  return n;
}

/**
 * Tag bytes for a tag number written as its bytes (`0x5F1F` → `5F 1F`), validated against
 * ISO/IEC 8825-1 §8.1.2 so an encoder never emits what {@link parseTlv} would reject.
 */
export function encodeTag(tag: number): Uint8Array {
  const out = new Uint8Array(tagSize(tag));
  writeTag(out, 0, tag, out.length);
  return out;
}

function writeTag(out: Uint8Array, at: number, tag: number, n: number): void {
  for (let i = 0; i < n; i++) out[at + i] = (tag >>> (8 * (n - 1 - i))) & 0xff;
}

function lengthSize(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0 || n > 0xffffffff) {
    throw new ByteInputError(`length: expected 0 to 4294967295, got ${n}`);
  }
  if (n < 0x80) return 1;
  if (n <= 0xff) return 2;
  if (n <= 0xffff) return 3;
  if (n <= 0xffffff) return 4;
  return 5;
}

function writeLength(out: Uint8Array, at: number, n: number, size: number): void {
  if (size === 1) {
    out[at] = n;
    return;
  }
  out[at] = 0x80 | (size - 1);
  let v = n;
  for (let i = size - 1; i >= 1; i--) {
    out[at + i] = v % 256;
    v = Math.floor(v / 256);
  }
}

/**
 * Minimal (DER-style) length field: short form below 128, else 81/82/83/84 and 1–4 bytes
 * (ISO/IEC 7816-4 §6.3 Table 8 numbering of 2005). Always minimal, so encodings are canonical
 * even though the parser tolerates `81 05`.
 *
 * @example encodeLength(128) // Uint8Array [0x81, 0x80]
 */
export function encodeLength(n: number): Uint8Array {
  const size = lengthSize(n);
  const out = new Uint8Array(size);
  writeLength(out, 0, n, size);
  return out;
}

/**
 * One BER-TLV object: tag, minimal length, value.
 *
 * @example encodeTlv(0x5f1f, hexToBytes('4142')) // 5F 1F 02 41 42
 */
export function encodeTlv(tag: number, value: Uint8Array): Uint8Array {
  const t = tagSize(tag);
  const l = lengthSize(value.length);
  const out = new Uint8Array(t + l + value.length);
  writeTag(out, 0, tag, t);
  writeLength(out, t, value.length, l);
  out.set(value, t + l);
  return out;
}

/**
 * A constructed object whose value is the concatenation of already-encoded children; refuses
 * a primitive tag, since a reader would then not parse the children.
 *
 * @example tlvConstructed(0x62, encodeTlv(0x80, u16(32)), encodeTlv(0x82, hexToBytes('01')))
 */
export function tlvConstructed(tag: number, ...children: Uint8Array[]): Uint8Array {
  if (!isConstructedTag(tag)) {
    throw new ByteInputError(`tag ${tagHex(tag)}: b6 of the first byte is 0, so it is not a constructed tag`);
  }
  return encodeTlv(tag, concatBytes(...children));
}

/**
 * Re-encodes an object from its tag and value (children are already inside `value`). Use
 * `raw` instead where the original bytes matter; this is minimal-length and may differ.
 */
export function encodeTlvObject(t: Tlv): Uint8Array {
  return encodeTlv(t.tag, t.value);
}

/** First object with `tag` in `list` (one level, no recursion). */
export function findTlv(list: readonly Tlv[], tag: number): Tlv | undefined {
  for (const t of list) if (t.tag === tag) return t;
  return undefined;
}

/**
 * Follows a tag path through nested objects; the first tag matches at the top level (a single
 * root counts as a one-element list, so the path starts with the root's own tag). Returns
 * undefined for an empty path or a missing or primitive step.
 *
 * @example findTlvPath(parseTlv(fci), [0x6f, 0xa5, 0xbf0c])
 */
export function findTlvPath(root: Tlv | readonly Tlv[], path: readonly number[]): Tlv | undefined {
  let level: readonly Tlv[] | undefined = isTlvList(root) ? root : [root];
  let found: Tlv | undefined;
  for (const tag of path) {
    if (level === undefined) return undefined;
    found = findTlv(level, tag);
    if (found === undefined) return undefined;
    level = found.children;
  }
  return found;
}

function isTlvList(root: Tlv | readonly Tlv[]): root is readonly Tlv[] {
  return Array.isArray(root);
}
