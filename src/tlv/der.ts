/**
 * A DER writer (ITU-T X.690 §10 and §11, over the basic encoding of §8): the few universal types
 * the security object (RFC 5652, ICAO 9303-10 §4.6.2), X.509 certificates (RFC 5280) and
 * SubjectPublicKeyInfo need, written straight into bytes.
 *
 * Why not asn1js's object model for writing: building one EF.SOD or certificate through pkijs
 * costs 1–2 ms of object construction and re-encoding, which was most of the time a card takes to
 * personalize. Parsing and verifying go through asn1js and OpenSSL; this module only writes, and
 * every function produces the one DER form (minimal lengths, minimal INTEGERs, SET OF sorted).
 *
 * @example
 * derSequence(derOid('2.5.4.3'), derUtf8String('SPECIMEN')) // 30 0D 06 03 55 04 03 0C 08 …
 */
import { ByteInputError } from '../bytes/index.js';
import { encodeTlv, tlvConstructed } from './ber.js';

/** SEQUENCE / SEQUENCE OF of already-encoded elements (X.690 §8.9, §8.10). */
export function derSequence(...elements: Uint8Array[]): Uint8Array {
  return tlvConstructed(0x30, ...elements);
}

/** Lexicographic order of encodings (X.690 §11.6), shorter first when one is a prefix. */
export function compareDer(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * SET OF: the elements in ascending order of their encodings (X.690 §11.6). A DER SET (not OF) with
 * distinct tags orders by tag (§10.3), which for single-byte universal tags is the same order.
 */
export function derSet(...elements: Uint8Array[]): Uint8Array {
  return tlvConstructed(0x31, ...[...elements].sort(compareDer));
}

/**
 * INTEGER (X.690 §8.3), minimal two's complement. A number or bigint is signed; a byte array is
 * an unsigned magnitude (serial numbers, RSA moduli): leading zeros are dropped and one 00 is put
 * back when the top bit is set.
 *
 * @example derInteger(128) // 02 02 00 80
 */
export function derInteger(v: number | bigint | Uint8Array): Uint8Array {
  if (v instanceof Uint8Array) {
    let i = 0;
    while (i < v.length - 1 && v[i] === 0) i++;
    const m = v.length === 0 ? new Uint8Array(1) : v.subarray(i);
    if ((m[0]! & 0x80) === 0) return encodeTlv(0x02, m);
    const out = new Uint8Array(m.length + 1);
    out.set(m, 1);
    return encodeTlv(0x02, out);
  }
  if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new ByteInputError(`INTEGER: expected a safe integer, got ${v}`);
  let x = BigInt(v);
  const bytes: number[] = [];
  // Emit bytes from the least significant until the remaining value is the sign extension of
  // the last byte's top bit.
  for (;;) {
    const b = Number(x & 0xffn);
    bytes.push(b);
    x >>= 8n;
    if ((x === 0n && (b & 0x80) === 0) || (x === -1n && (b & 0x80) !== 0)) break;
  }
  return encodeTlv(0x02, Uint8Array.from(bytes.reverse()));
}

const oids = new Map<string, Uint8Array>();

/**
 * OBJECT IDENTIFIER from dotted decimal (X.690 §8.19): first two arcs in one subidentifier,
 * base-128 with continuation bits. Encodings are cached (a card uses the same few dozen OIDs).
 *
 * @example derOid('2.23.136.1.1.1') // 06 06 67 81 08 01 01 01
 */
export function derOid(dotted: string): Uint8Array {
  const hit = oids.get(dotted);
  if (hit !== undefined) return hit.slice(); // a copy: the caller may change what it gets
  const arcs = dotted.split('.');
  if (arcs.length < 2 || arcs.some((a) => !/^(0|[1-9][0-9]*)$/.test(a))) throw new ByteInputError(`OBJECT IDENTIFIER: "${dotted}" is not dotted decimal`);
  const n = arcs.map((a) => BigInt(a));
  const first = n[0]!;
  if (first > 2n || (first < 2n && n[1]! > 39n)) throw new ByteInputError(`OBJECT IDENTIFIER: "${dotted}" has an invalid first or second arc (X.660 §A.2)`);
  const subs = [first * 40n + n[1]!, ...n.slice(2)];
  const out: number[] = [];
  for (const s of subs) {
    const group: number[] = [Number(s & 0x7fn)];
    let r = s >> 7n;
    while (r > 0n) {
      group.push(Number(r & 0x7fn) | 0x80);
      r >>= 7n;
    }
    out.push(...group.reverse());
  }
  const enc = encodeTlv(0x06, Uint8Array.from(out));
  oids.set(dotted, enc);
  return enc.slice();
}

/** OCTET STRING, primitive (X.690 §10.2: DER never splits it). */
export function derOctetString(value: Uint8Array): Uint8Array {
  return encodeTlv(0x04, value);
}

/** BIT STRING of whole bytes or with `unusedBits` (0–7) in the last one (X.690 §8.6, §11.2). */
export function derBitString(value: Uint8Array, unusedBits = 0): Uint8Array {
  if (!Number.isInteger(unusedBits) || unusedBits < 0 || unusedBits > 7 || (value.length === 0 && unusedBits !== 0)) {
    throw new ByteInputError(`BIT STRING: unused bits ${unusedBits} is not 0..7 (0 when empty)`);
  }
  if (unusedBits > 0 && (value[value.length - 1]! & ((1 << unusedBits) - 1)) !== 0) {
    throw new ByteInputError('BIT STRING: unused bits must be zero in DER (X.690 §11.2.1)');
  }
  const out = new Uint8Array(value.length + 1);
  out[0] = unusedBits;
  out.set(value, 1);
  return encodeTlv(0x03, out);
}

const NULL = Uint8Array.of(0x05, 0x00);

/** NULL (X.690 §8.8). */
export function derNull(): Uint8Array {
  return NULL.slice();
}

/** BOOLEAN; DER writes TRUE as FF (X.690 §11.1). */
export function derBoolean(v: boolean): Uint8Array {
  return Uint8Array.of(0x01, 0x01, v ? 0xff : 0x00);
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/** PrintableString (X.680 §41.4): refuses characters outside its set instead of mis-tagging them. */
export function derPrintableString(s: string): Uint8Array {
  if (!PRINTABLE.test(s)) throw new ByteInputError(`PrintableString: "${s}" has characters outside A–Z a–z 0–9 space '()+,-./:=?`);
  return encodeTlv(0x13, new TextEncoder().encode(s));
}

/** UTF8String (X.680 §41.2). */
export function derUtf8String(s: string): Uint8Array {
  return encodeTlv(0x0c, new TextEncoder().encode(s));
}

function two(n: number): string {
  return String(n).padStart(2, '0');
}

function checkDate(d: Date, what: string): void {
  if (Number.isNaN(d.getTime())) throw new ByteInputError(`${what}: not a valid date`);
}

/**
 * UTCTime YYMMDDHHMMSSZ (X.690 §11.8; RFC 5280 §4.1.2.5.1: years 1950–2049), seconds always
 * present, fractions dropped.
 */
export function derUtcTime(d: Date): Uint8Array {
  checkDate(d, 'UTCTime');
  const y = d.getUTCFullYear();
  if (y < 1950 || y > 2049) throw new ByteInputError(`UTCTime: year ${y} is outside 1950–2049; use GeneralizedTime`);
  const s = `${two(y % 100)}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}Z`;
  return encodeTlv(0x17, new TextEncoder().encode(s));
}

/** GeneralizedTime YYYYMMDDHHMMSSZ (X.690 §11.7; RFC 5280 §4.1.2.5.2: no fractions). */
export function derGeneralizedTime(d: Date): Uint8Array {
  checkDate(d, 'GeneralizedTime');
  const y = d.getUTCFullYear();
  if (y < 0 || y > 9999) throw new ByteInputError(`GeneralizedTime: year ${y} is outside 0000–9999`);
  const s = `${String(y).padStart(4, '0')}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}Z`;
  return encodeTlv(0x18, new TextEncoder().encode(s));
}

/** X.509 Time (RFC 5280 §4.1.2.5): UTCTime through 2049, GeneralizedTime from 2050. */
export function derTime(d: Date): Uint8Array {
  checkDate(d, 'Time');
  return d.getUTCFullYear() < 2050 ? derUtcTime(d) : derGeneralizedTime(d);
}

/** `[n] EXPLICIT`: a constructed context-specific wrapper around one element (X.690 §8.14). */
export function derExplicit(n: number, element: Uint8Array): Uint8Array {
  return encodeTlv(contextTag(n, true), element);
}

/**
 * `[n] IMPLICIT`: the element's content under a context-specific tag, constructed when the
 * underlying type is (SET OF, SEQUENCE), primitive otherwise (X.690 §8.14.4).
 */
export function derImplicit(n: number, content: Uint8Array, constructed: boolean): Uint8Array {
  return encodeTlv(contextTag(n, constructed), content);
}

function contextTag(n: number, constructed: boolean): number {
  if (!Number.isInteger(n) || n < 0 || n > 30) throw new ByteInputError(`context tag [${n}]: expected 0..30`);
  return 0x80 | (constructed ? 0x20 : 0) | n;
}

/** An AlgorithmIdentifier (RFC 5280 §4.1.1.2): the OID and, when given, its encoded parameters. */
export function derAlgorithm(oid: string, parameters?: Uint8Array): Uint8Array {
  return parameters === undefined ? derSequence(derOid(oid)) : derSequence(derOid(oid), parameters);
}
