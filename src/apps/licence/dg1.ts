/**
 * DG1 of the driving licence: demographic and licence data with the categories of vehicles,
 * ISO/IEC 18013-2:2008 Annex C as the EU profile (Commission Regulation (EU) No 383/2012, Annex I,
 * table "DG1 data elements") spells it out:
 *
 *     61 {
 *       [5F01 type approval number]
 *       5F02 {                                  demographic data elements (the tag is primitive in
 *         5F03 issuing state (a3)               BER — b6 of 5F is 0 — but its value is a list of
 *         5F04 surname(s)                       data objects, as the profile defines it)
 *         [5F05 other name(s)]
 *         5F06 date of birth       ddmmyyyy, 4 bytes BCD
 *         [5F07 place of birth] [5F08 nationality (a3)] [5F09 gender M/F/U]
 *         5F0A date of issue       ddmmyyyy, 4 bytes BCD
 *         5F0B date of expiry      ddmmyyyy, 4 bytes BCD
 *         5F0C issuing authority
 *         [5F0D administrative number]          here: the national ID number
 *         5F0E document number (the licence number)
 *         [5F0F place of residence] }
 *       7F63 { 02 number of entries ‖ 87 entry … }
 *     }
 *
 * A category entry (87) is text: `category;date of issue;date of expiry;code;sign;value`, dates
 * ddmmyyyy. A category with several restriction codes takes one entry per code (category and
 * dates repeated); one without takes one entry with the code empty — how the profile lists
 * "category/restriction/condition" lines.
 *
 * Text is UTF-8. Dates cross this module as YYYY-MM-DD.
 *
 * @example decodeLicenceDg1(encodeLicenceDg1(dg1)).entries[0].category // 'B'
 */
import { concatBytes } from '../../bytes/index.js';
import { encodeTlv, parseTlv, parseTlvList, tlvConstructed, TlvError, type Tlv } from '../../tlv/ber.js';
import { dataGroup } from '../../lds/tags.js';
import { AppDataError } from '../health/common.js';

export interface LicenceCategoryEntry {
  /** ISO/IEC 18013-1 category code (AM, A1, A2, A, B1, B, BE, C1, …) or a national one. */
  readonly category: string;
  readonly dateOfIssue: string;
  readonly dateOfExpiry: string;
  /** Restriction / condition code ("01.06", "78"); absent when the entry has none. */
  readonly code?: string;
  readonly sign?: string;
  readonly value?: string;
}

export interface LicenceDg1 {
  readonly typeApprovalNumber?: string;
  /** ICAO 9303-3 three-letter code. */
  readonly issuingState: string;
  readonly surname: string;
  readonly otherNames?: string;
  readonly dateOfBirth: string;
  readonly placeOfBirth?: string;
  readonly nationality?: string;
  readonly gender?: 'M' | 'F' | 'U';
  readonly dateOfIssue: string;
  readonly dateOfExpiry: string;
  readonly issuingAuthority: string;
  readonly administrativeNumber?: string;
  readonly documentNumber: string;
  readonly residence?: string;
  readonly entries: readonly LicenceCategoryEntry[];
}

type TextKey = 'issuingState' | 'surname' | 'otherNames' | 'placeOfBirth' | 'nationality' | 'gender' | 'issuingAuthority' | 'administrativeNumber' | 'documentNumber' | 'residence';
type DateKey = 'dateOfBirth' | 'dateOfIssue' | 'dateOfExpiry';

/** The demographic elements of 5F02, in the order they are written. */
const DEMOGRAPHIC: readonly { readonly tag: number; readonly key: TextKey | DateKey; readonly kind: 'text' | 'date' | 'code3' | 'gender'; readonly optional: boolean }[] = [
  { tag: 0x5f03, key: 'issuingState', kind: 'code3', optional: false },
  { tag: 0x5f04, key: 'surname', kind: 'text', optional: false },
  { tag: 0x5f05, key: 'otherNames', kind: 'text', optional: true },
  { tag: 0x5f06, key: 'dateOfBirth', kind: 'date', optional: false },
  { tag: 0x5f07, key: 'placeOfBirth', kind: 'text', optional: true },
  { tag: 0x5f08, key: 'nationality', kind: 'code3', optional: true },
  { tag: 0x5f09, key: 'gender', kind: 'gender', optional: true },
  { tag: 0x5f0a, key: 'dateOfIssue', kind: 'date', optional: false },
  { tag: 0x5f0b, key: 'dateOfExpiry', kind: 'date', optional: false },
  { tag: 0x5f0c, key: 'issuingAuthority', kind: 'text', optional: false },
  { tag: 0x5f0d, key: 'administrativeNumber', kind: 'text', optional: true },
  { tag: 0x5f0e, key: 'documentNumber', kind: 'text', optional: false },
  { tag: 0x5f0f, key: 'residence', kind: 'text', optional: true },
];

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function validDate(iso: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (m === null) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  return y >= 1900 && t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}

/** YYYY-MM-DD → ddmmyyyy. */
function ddmmyyyy(iso: string, what: string): string {
  if (!validDate(iso)) throw new AppDataError(`licence DG1 ${what}: expected a date YYYY-MM-DD, got ${JSON.stringify(iso)}`);
  return `${iso.slice(8, 10)}${iso.slice(5, 7)}${iso.slice(0, 4)}`;
}

/** ddmmyyyy → YYYY-MM-DD, checked. */
function fromDdmmyyyy(s: string, what: string): string {
  const iso = `${s.slice(4, 8)}-${s.slice(2, 4)}-${s.slice(0, 2)}`;
  if (!/^\d{8}$/.test(s) || !validDate(iso)) throw new AppDataError(`licence DG1 ${what}: "${s}" is not a date ddmmyyyy`);
  return iso;
}

/** ddmmyyyy as 4 bytes of packed BCD (n8). */
function bcd(digits: string): Uint8Array {
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) out[i] = (Number(digits[2 * i]) << 4) | Number(digits[2 * i + 1]);
  return out;
}

function unbcd(b: Uint8Array, what: string): string {
  if (b.length !== 4) throw new AppDataError(`licence DG1 ${what}: expected 4 bytes of BCD, got ${b.length}`);
  let s = '';
  for (const x of b) {
    if (x >>> 4 > 9 || (x & 0x0f) > 9) throw new AppDataError(`licence DG1 ${what}: not BCD`);
    s += `${x >>> 4}${x & 0x0f}`;
  }
  return s;
}

function text(value: string, what: string, kind: 'text' | 'code3' | 'gender'): Uint8Array {
  if (value.length === 0) throw new AppDataError(`licence DG1 ${what}: empty`);
  if (kind === 'code3' && !/^[A-Z<]{3}$/.test(value)) throw new AppDataError(`licence DG1 ${what}: expected a three-letter code, got ${JSON.stringify(value)}`);
  if (kind === 'gender' && !/^[MFU]$/.test(value)) throw new AppDataError(`licence DG1 ${what}: expected M, F or U, got ${JSON.stringify(value)}`);
  return encoder.encode(value);
}

function untext(b: Uint8Array, what: string, kind: 'text' | 'code3' | 'gender'): string {
  let s: string;
  try {
    s = decoder.decode(b);
  } catch {
    throw new AppDataError(`licence DG1 ${what}: not valid UTF-8`);
  }
  if (s.length === 0) throw new AppDataError(`licence DG1 ${what}: empty`);
  if (kind === 'code3' && !/^[A-Z<]{3}$/.test(s)) throw new AppDataError(`licence DG1 ${what}: "${s}" is not a three-letter code`);
  if (kind === 'gender' && !/^[MFU]$/.test(s)) throw new AppDataError(`licence DG1 ${what}: "${s}" is not M, F or U`);
  return s;
}

const FIELD = /^[^;]*$/;

/** One category entry as its 87 text. */
export function encodeCategoryEntry(e: LicenceCategoryEntry): string {
  const fields = [e.category, ddmmyyyy(e.dateOfIssue, `category ${e.category} date of issue`), ddmmyyyy(e.dateOfExpiry, `category ${e.category} date of expiry`), e.code ?? '', e.sign ?? '', e.value ?? ''];
  if (e.category.length === 0) throw new AppDataError('licence DG1 category: empty');
  fields.forEach((f, i) => {
    if (!FIELD.test(f)) throw new AppDataError(`licence DG1 category ${e.category}: field ${i + 1} contains ";"`);
  });
  return fields.join(';');
}

/** One 87 entry back. @example decodeCategoryEntry('B;01062012;31052032;01.06;;').code // '01.06' */
export function decodeCategoryEntry(s: string): LicenceCategoryEntry {
  const f = s.split(';');
  if (f.length !== 6) throw new AppDataError(`licence DG1 category entry "${s}": expected 6 fields separated by ";", got ${f.length}`);
  const [category, issue, expiry, code, sign, value] = f as [string, string, string, string, string, string];
  if (category.length === 0) throw new AppDataError(`licence DG1 category entry "${s}": no category`);
  return {
    category,
    dateOfIssue: fromDdmmyyyy(issue, `category ${category} date of issue`),
    dateOfExpiry: fromDdmmyyyy(expiry, `category ${category} date of expiry`),
    ...(code !== '' ? { code } : {}),
    ...(sign !== '' ? { sign } : {}),
    ...(value !== '' ? { value } : {}),
  };
}

/** DG1 as stored (module comment for the layout). */
export function encodeLicenceDg1(d: LicenceDg1): Uint8Array {
  const demo: Uint8Array[] = [];
  for (const e of DEMOGRAPHIC) {
    const v = d[e.key];
    if (v === undefined) {
      if (e.optional) continue;
      throw new AppDataError(`licence DG1 ${e.key}: required`);
    }
    demo.push(encodeTlv(e.tag, e.kind === 'date' ? bcd(ddmmyyyy(v, e.key)) : text(v, e.key, e.kind)));
  }
  if (d.entries.length === 0 || d.entries.length > 255) throw new AppDataError(`licence DG1 categories: expected 1..255 entries, got ${d.entries.length}`);
  const cats = tlvConstructed(0x7f63, encodeTlv(0x02, new Uint8Array([d.entries.length])), ...d.entries.map((e) => encodeTlv(0x87, encoder.encode(encodeCategoryEntry(e)))));
  return tlvConstructed(
    dataGroup(1).tag,
    ...(d.typeApprovalNumber !== undefined ? [encodeTlv(0x5f01, text(d.typeApprovalNumber, 'typeApprovalNumber', 'text'))] : []),
    encodeTlv(0x5f02, concatBytes(...demo)),
    cats,
  );
}

function parse(bytes: Uint8Array, what: string, list: true): Tlv[];
function parse(bytes: Uint8Array, what: string, list: false): Tlv;
function parse(bytes: Uint8Array, what: string, list: boolean): Tlv | Tlv[] {
  try {
    return list ? parseTlvList(bytes) : parseTlv(bytes);
  } catch (e) {
    if (e instanceof TlvError) throw new AppDataError(`licence DG1 ${what}: not BER-TLV (${e.message})`);
    throw e;
  }
}

function once(list: readonly Tlv[], tag: number, what: string, optional: boolean): Tlv | undefined {
  const found = list.filter((t) => t.tag === tag);
  if (found.length > 1) throw new AppDataError(`licence DG1 ${what} (${tag.toString(16).toUpperCase()}) appears twice`);
  if (found.length === 0 && !optional) throw new AppDataError(`licence DG1 ${what} (${tag.toString(16).toUpperCase()}) is missing`);
  return found[0];
}

/** DG1 back, strictly: unknown or repeated elements, bad dates and a wrong entry count are errors. */
export function decodeLicenceDg1(bytes: Uint8Array): LicenceDg1 {
  const outer = parse(bytes, 'file', false);
  if (outer.tag !== dataGroup(1).tag || outer.children === undefined) throw new AppDataError('licence DG1: outer template is not 61');
  const top = outer.children;
  for (const t of top) if (t.tag !== 0x5f01 && t.tag !== 0x5f02 && t.tag !== 0x7f63) throw new AppDataError(`licence DG1: unexpected data object ${t.tag.toString(16).toUpperCase()}`);
  const approval = once(top, 0x5f01, 'type approval number', true);
  const demo = parse(once(top, 0x5f02, 'demographic data', false)!.value, 'demographic data (5F02)', true);
  for (const t of demo) if (!DEMOGRAPHIC.some((e) => e.tag === t.tag)) throw new AppDataError(`licence DG1 5F02: unexpected data object ${t.tag.toString(16).toUpperCase()}`);
  const out: Record<string, string> = {};
  for (const e of DEMOGRAPHIC) {
    const t = once(demo, e.tag, e.key, e.optional);
    if (t === undefined) continue;
    out[e.key] = e.kind === 'date' ? fromDdmmyyyy(unbcd(t.value, e.key), e.key) : untext(t.value, e.key, e.kind);
  }
  const cats = once(top, 0x7f63, 'categories', false)!;
  const kids = cats.children ?? [];
  const count = once(kids, 0x02, 'number of categories', false)!;
  const entries = kids.filter((k) => k.tag === 0x87).map((k) => decodeCategoryEntry(untext(k.value, 'category entry', 'text')));
  for (const k of kids) if (k.tag !== 0x02 && k.tag !== 0x87) throw new AppDataError(`licence DG1 7F63: unexpected data object ${k.tag.toString(16).toUpperCase()}`);
  if (count.value.length !== 1 || count.value[0] !== entries.length) {
    throw new AppDataError(`licence DG1 7F63: announces ${count.value.length === 1 ? count.value[0] : '?'} entries, holds ${entries.length}`);
  }
  return {
    ...(approval !== undefined ? { typeApprovalNumber: untext(approval.value, 'type approval number', 'text') } : {}),
    ...(out as unknown as Omit<LicenceDg1, 'entries' | 'typeApprovalNumber'>),
    entries,
  };
}
