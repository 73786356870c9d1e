/**
 * DER/BER navigation over asn1js for the security object and certificates: strict parsing (no
 * trailing bytes), children by position with the expected universal or context tag, and the raw
 * bytes of any element as received — what signatures and hashes cover is taken from there, never
 * re-encoded (ICAO 9303-11 §5.1; RFC 5652 §5.4).
 */
import * as asn1js from 'asn1js';
import { parseTlv, TlvError } from '../tlv/ber.js';
import { LdsError } from './errors.js';

export type Block = asn1js.AsnType;

/**
 * Parses exactly one element; trailing bytes or a malformed encoding are an {@link LdsError}.
 *
 * The lengths are checked first with chipwright's strict BER-TLV parser: asn1js tolerates a
 * child running past its parent's length (it records a warning and goes on), which would let a
 * changed length byte in unsigned parts of EF.SOD go unnoticed. Indefinite lengths are refused
 * with it — ICAO 9303-10 §4.6.2 signed structures are DER.
 */
export function parseDer(bytes: Uint8Array, what: string): Block {
  try {
    parseTlv(bytes);
  } catch (e) {
    if (e instanceof TlvError) throw new LdsError(`${what}: malformed encoding (${e.message})`);
    throw e;
  }
  const r = asn1js.fromBER(bytes);
  if (r.offset === -1 || r.result.error !== '') {
    throw new LdsError(`${what}: not valid BER/DER (${r.result.error || 'parse error'})`);
  }
  if (r.offset !== bytes.length) throw new LdsError(`${what}: ${bytes.length - r.offset} byte(s) after the element`);
  return r.result;
}

/** The element's bytes (tag, length, value) as they were in the input. */
export function rawOf(b: Block): Uint8Array {
  return (b as asn1js.BaseBlock).valueBeforeDecodeView;
}

/** Universal class tag number, or `[n]` context tag as 'ctx:n'. */
function tagOf(b: Block): string {
  const id = (b as asn1js.BaseBlock).idBlock;
  return id.tagClass === 1 ? `u:${id.tagNumber}` : id.tagClass === 3 ? `ctx:${id.tagNumber}` : `c${id.tagClass}:${id.tagNumber}`;
}

export function isContext(b: Block | undefined, n: number): boolean {
  return b !== undefined && tagOf(b) === `ctx:${n}`;
}

/** Children of a constructed element (SEQUENCE, SET, [n] constructed). */
export function children(b: Block, what: string): Block[] {
  const vb = (b as asn1js.BaseBlock).valueBlock as { value?: unknown };
  if (!(b as asn1js.BaseBlock).idBlock.isConstructed || !Array.isArray(vb.value)) throw new LdsError(`${what}: expected a constructed element`);
  return vb.value as Block[];
}

export function sequence(b: Block | undefined, what: string): Block[] {
  if (!(b instanceof asn1js.Sequence)) throw new LdsError(`${what}: expected a SEQUENCE`);
  return b.valueBlock.value;
}

export function set(b: Block | undefined, what: string): Block[] {
  if (!(b instanceof asn1js.Set)) throw new LdsError(`${what}: expected a SET`);
  return b.valueBlock.value;
}

export function oid(b: Block | undefined, what: string): string {
  if (!(b instanceof asn1js.ObjectIdentifier)) throw new LdsError(`${what}: expected an OBJECT IDENTIFIER`);
  return b.valueBlock.toString();
}

/** A small INTEGER as a number. */
export function smallInt(b: Block | undefined, what: string): number {
  if (!(b instanceof asn1js.Integer)) throw new LdsError(`${what}: expected an INTEGER`);
  const v = b.valueBlock.valueDec;
  if (!Number.isSafeInteger(v)) throw new LdsError(`${what}: INTEGER out of range`);
  return v;
}

/** An INTEGER's content octets (serial numbers). */
export function intBytes(b: Block | undefined, what: string): Uint8Array {
  if (!(b instanceof asn1js.Integer)) throw new LdsError(`${what}: expected an INTEGER`);
  return b.valueBlock.valueHexView;
}

/** An OCTET STRING's value, segments of a constructed (BER) one concatenated. */
export function octets(b: Block | undefined, what: string): Uint8Array {
  if (!(b instanceof asn1js.OctetString)) throw new LdsError(`${what}: expected an OCTET STRING`);
  return new Uint8Array(b.getValue());
}

/** The content of `[n] EXPLICIT` (its single child). */
export function explicit(b: Block | undefined, n: number, what: string): Block {
  if (b === undefined || !isContext(b, n)) throw new LdsError(`${what}: expected [${n}]`);
  const kids = children(b, what);
  if (kids.length !== 1) throw new LdsError(`${what}: [${n}] must hold exactly one element`);
  return kids[0]!;
}

/** An AlgorithmIdentifier: its OID and the raw parameters (absent → undefined). */
export function algorithm(b: Block | undefined, what: string): { oid: string; parameters: Block | undefined } {
  const kids = sequence(b, what);
  if (kids.length < 1 || kids.length > 2) throw new LdsError(`${what}: AlgorithmIdentifier must have 1 or 2 elements`);
  return { oid: oid(kids[0], `${what} algorithm`), parameters: kids[1] };
}

/** UTCTime or GeneralizedTime as a Date. */
export function time(b: Block | undefined, what: string): Date {
  if (b instanceof asn1js.UTCTime || b instanceof asn1js.GeneralizedTime) {
    const d = b.toDate();
    if (Number.isNaN(d.getTime())) throw new LdsError(`${what}: not a valid time`);
    return d;
  }
  throw new LdsError(`${what}: expected UTCTime or GeneralizedTime`);
}
