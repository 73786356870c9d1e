/**
 * Byte helpers: the only place hex, concatenation, integer packing and constant-time comparison
 * are implemented. Every module boundary in chipwright passes `Uint8Array`.
 *
 * @example
 * bytesToHex(hexToBytes('00 a4 04 00')) // '00A40400'
 */
import { timingSafeEqual } from 'node:crypto';

/** Thrown for malformed caller input (bad hex, out-of-range integers); names the argument. */
export class ByteInputError extends Error {
  override readonly name = 'ByteInputError';
}

const HEX_UPPER: readonly string[] = Array.from({ length: 256 }, (_, i) =>
  i.toString(16).toUpperCase().padStart(2, '0'),
);

/**
 * Parses hex. Whitespace, ':' and '-' between bytes are ignored, so traces and scripts can be
 * pasted as they are; anything else, or an odd number of digits, is an error naming `title` and
 * the position — never the characters: hex often holds a key, a PIN inside an APDU or an MRZ-derived
 * value, and the message may reach a log.
 *
 * @example hexToBytes('3F 00') // Uint8Array [0x3f, 0x00]
 */
export function hexToBytes(hex: string, title = 'hex'): Uint8Array {
  const clean = hex.replace(/[\s:-]/g, '');
  if (clean.length % 2 !== 0) {
    throw new ByteInputError(`${title}: expected an even number of hex digits, got ${clean.length}`);
  }
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = hexNibble(clean.charCodeAt(2 * i));
    const lo = hexNibble(clean.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) {
      throw new ByteInputError(`${title}: not hex at byte ${i + 1} of ${out.length} (the value is not shown)`);
    }
    out[i] = (hi << 4) | lo;
  }
  return out;
}

function hexNibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Upper-case hex without separators, as status words and traces are written in ISO/IEC 7816. */
export function bytesToHex(bytes: Uint8Array, separator = ''): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) {
    if (i > 0 && separator) s += separator;
    s += HEX_UPPER[bytes[i]!];
  }
  return s;
}

/** Two-digit upper-case hex of one byte. */
export function byteHex(b: number): string {
  return HEX_UPPER[b & 0xff]!;
}

/** Four-digit upper-case hex of a 16-bit value (status words, file identifiers). */
export function u16Hex(v: number): string {
  return HEX_UPPER[(v >>> 8) & 0xff]! + HEX_UPPER[v & 0xff]!;
}

/** Concatenates byte arrays into a new array. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Ordinary equality; use {@link constantTimeEqual} for anything secret (MACs, PINs, keys). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Compares secrets without an early exit, so timing does not reveal the first differing byte.
 * Lengths are not secret (PIN lengths and MAC sizes are public parameters).
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

/** Overwrites a buffer we own that held a secret. */
export function zeroize(buf: Uint8Array): void {
  buf.fill(0);
}

/** Big-endian unsigned integer from 1–6 bytes. */
export function readUintBE(bytes: Uint8Array, offset = 0, length = bytes.length - offset): number {
  if (length < 0 || length > 6 || offset + length > bytes.length) {
    throw new ByteInputError(`readUintBE: cannot read ${length} bytes at offset ${offset}`);
  }
  let v = 0;
  for (let i = 0; i < length; i++) v = v * 256 + bytes[offset + i]!;
  return v;
}

/** Minimal big-endian encoding of a non-negative integer (at least `minLength` bytes). */
export function uintToBytes(value: number, minLength = 1): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ByteInputError(`uintToBytes: expected a non-negative safe integer, got ${value}`);
  }
  let n = 1;
  while (value >= 2 ** (8 * n) && n < 7) n++;
  const len = Math.max(n, minLength);
  const out = new Uint8Array(len);
  let v = value;
  for (let i = len - 1; i >= 0; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return out;
}

/** Two bytes, big-endian. */
export function u16(value: number): Uint8Array {
  return new Uint8Array([(value >>> 8) & 0xff, value & 0xff]);
}

/**
 * Asserts a `Uint8Array` (optionally of one of the given lengths), naming the argument.
 *
 * @example abytes(key, [16, 24, 32], 'key')
 */
export function abytes(
  value: unknown,
  lengths?: number | readonly number[],
  title = 'value',
): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new ByteInputError(`${title}: expected Uint8Array, got ${typeof value}`);
  }
  if (lengths !== undefined) {
    const ok = typeof lengths === 'number' ? value.length === lengths : lengths.includes(value.length);
    if (!ok) {
      throw new ByteInputError(
        `${title}: expected ${typeof lengths === 'number' ? lengths : lengths.join(' or ')} bytes, got ${value.length}`,
      );
    }
  }
  return value;
}

/** True when `prefix` is a prefix of `bytes` (partial DF names, ISO/IEC 7816-4 §11.2.2). */
export function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.length > bytes.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** Index of `needle` inside `hay`, or -1 (SEARCH RECORD). */
export function indexOfBytes(hay: Uint8Array, needle: Uint8Array, from = 0): number {
  if (needle.length === 0) return from <= hay.length ? from : -1;
  const first = needle[0]!;
  const last = hay.length - needle.length;
  outer: for (let i = from; i <= last; i++) {
    if (hay[i] !== first) continue;
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
