/**
 * The machine readable zone of a TD1 card (ICAO Doc 9303-5, 8th ed. 2021, §4.2): three lines of
 * 30 characters, computed with their check digits (ICAO 9303-3 §4.9) and parsed back.
 *
 *     line 1: doc code (2) ‖ issuing state (3) ‖ document number (9) ‖ CD ‖ optional data (15)
 *     line 2: birth YYMMDD ‖ CD ‖ sex ‖ expiry YYMMDD ‖ CD ‖ nationality (3) ‖ optional data (11) ‖ composite CD
 *     line 3: primary identifier << secondary identifier (30)
 *
 * A document number longer than 9 characters continues in the optional data of line 1: its first
 * 9 characters stand in positions 6–14, '<' in position 15, then the rest, its check digit and a
 * '<' (9303-5 §4.2.2, note j). The composite check digit covers line 1 positions 6–30 and line 2
 * positions 1–7, 9–15 and 19–29.
 *
 * @example The ICAO 9303-5 specimen (Appendix A)
 * td1Mrz({ documentCode: 'I', issuingState: 'UTO', documentNumber: 'D23145890', dateOfBirth: '740812',
 *          sex: 'F', dateOfExpiry: '120415', nationality: 'UTO', primaryIdentifier: 'ERIKSSON',
 *          secondaryIdentifier: 'ANNA MARIA' }).join('\n')
 * // I<UTOD231458907<<<<<<<<<<<<<<<
 * // 7408122F1204159UTO<<<<<<<<<<<6
 * // ERIKSSON<<ANNA<MARIA<<<<<<<<<<
 */
import { ByteInputError } from '../bytes/index.js';
import { checkDigit } from '../crypto/bac.js';

/** A TD1 line is 30 characters (ICAO 9303-5 §4.2). */
export const TD1_LINE_LENGTH = 30;

/** The fields a TD1 MRZ is made of, in MRZ characters (0-9 A-Z <) except the names. */
export interface Td1Fields {
  /** 1 or 2 characters: I, A or C, then an optional letter ('I', 'ID', 'IR', 'AC' …). */
  readonly documentCode: string;
  /** ICAO 9303-3 three-letter code (QAT, UTO, D<<). */
  readonly issuingState: string;
  /** 1–22 characters 0-9 A-Z (no filler). Longer than 9 uses the optional data of line 1. */
  readonly documentNumber: string;
  /** YYMMDD; '<' for unknown parts. */
  readonly dateOfBirth: string;
  /** 'F', 'M' or '<' (unspecified; X in the visual zone). */
  readonly sex: 'F' | 'M' | '<';
  /** YYMMDD. */
  readonly dateOfExpiry: string;
  readonly nationality: string;
  /** Names as written by people; transliterated with {@link mrzName}. */
  readonly primaryIdentifier: string;
  readonly secondaryIdentifier?: string;
  /** Line 1 optional data (up to 15 characters, fewer when the document number is long). */
  readonly optionalData1?: string;
  /** Line 2 optional data (up to 11 characters). */
  readonly optionalData2?: string;
}

/** A malformed or inconsistent MRZ (the message names the field and, for check digits, which one). */
export class MrzError extends Error {
  override readonly name = 'MrzError';
}

const MRZ_CHARS = /^[0-9A-Z<]*$/;

/**
 * Transliteration of Latin characters outside A–Z (ICAO 9303-3 §6, Table "Transliteration of
 * multinational Latin-based characters", recommended column). Characters not listed lose their
 * diacritics (NFD), which is what the table does for them.
 */
const TRANSLITERATION: Readonly<Record<string, string>> = {
  Ä: 'AE', Å: 'AA', Æ: 'AE', Ĳ: 'IJ', Ñ: 'N', Ö: 'OE', Ø: 'OE', Œ: 'OE', ß: 'SS', Þ: 'TH', Ü: 'UE', Ð: 'D', Đ: 'D', Ħ: 'H', Ł: 'L', Ŧ: 'T', ı: 'I',
};

/**
 * A name in MRZ characters (ICAO 9303-3 §4.6, §6): upper case, spaces, hyphens and commas as
 * '<', apostrophes and full stops dropped, multinational Latin characters transliterated.
 * Throws for characters that have no transliteration (another script) — the holder's Latin name
 * must be given for the MRZ.
 *
 * @example mrzName("Anne-Marie O'Neill") // 'ANNE<MARIE<ONEILL'
 */
export function mrzName(name: string): string {
  let out = '';
  for (const ch of name.normalize('NFC').toUpperCase()) {
    if (ch >= 'A' && ch <= 'Z') out += ch;
    else if (ch === ' ' || ch === '-' || ch === ',' || ch === '<') out += '<';
    else if (ch === "'" || ch === '’' || ch === '.' || ch === '`') continue;
    else if (TRANSLITERATION[ch] !== undefined) out += TRANSLITERATION[ch];
    else {
      const base = ch.normalize('NFD').replace(/\p{M}/gu, '');
      if (/^[A-Z]+$/.test(base)) out += base;
      else throw new MrzError(`name: character "${ch}" cannot be written in the MRZ (ICAO 9303-3 §6 covers Latin letters only)`);
    }
  }
  return out.replace(/<+/g, '<').replace(/^<|<$/g, '');
}

/**
 * The TD1 name field (line 3): primary identifier, '<<', secondary identifier, filled with '<'
 * to 30 characters. Too long a name is truncated as ICAO 9303-3 §4.6 describes — secondary
 * identifier characters first, then the primary identifier — and the last character is then a
 * letter, which is how a reader sees the truncation.
 */
export function td1NameField(primary: string, secondary?: string): string {
  const p = mrzName(primary);
  const s = secondary === undefined ? '' : mrzName(secondary);
  if (p === '') throw new MrzError('primaryIdentifier: no MRZ characters left after transliteration');
  let field = s === '' ? p : `${p}<<${s}`;
  if (field.length > TD1_LINE_LENGTH) {
    field = field.slice(0, TD1_LINE_LENGTH);
    // A cut that ends on a filler would look like a complete name: drop fillers at the end, a
    // reader then sees that the field ends in a letter (truncated).
    field = field.replace(/<+$/, '');
  }
  return field.padEnd(TD1_LINE_LENGTH, '<');
}

function field(value: string, length: number, name: string): string {
  if (!MRZ_CHARS.test(value)) throw new MrzError(`${name}: expected MRZ characters 0-9 A-Z <, got "${value}"`);
  if (value.length > length) throw new MrzError(`${name}: at most ${length} characters, got ${value.length}`);
  return value.padEnd(length, '<');
}

/**
 * The three TD1 lines with their check digits (ICAO 9303-5 §4.2.2).
 *
 * @example td1Mrz(fields)[1] // '7408122F1204159UTO<<<<<<<<<<<6'
 */
export function td1Mrz(f: Td1Fields): [string, string, string] {
  const code = field(f.documentCode, 2, 'documentCode');
  if (!/^[IAC]/.test(code)) throw new MrzError(`documentCode: a TD1 document code starts with I, A or C, got "${f.documentCode}"`);
  const state = field(f.issuingState, 3, 'issuingState');
  const number = f.documentNumber;
  if (!/^[0-9A-Z]{1,22}$/.test(number)) {
    throw new MrzError(`documentNumber: expected 1 to 22 characters 0-9 A-Z, got "${number}"`);
  }
  let numberField: string;
  let optional1: string;
  const opt1 = f.optionalData1 ?? '';
  if (number.length <= 9) {
    numberField = number.padEnd(9, '<') + String(checkDigit(number.padEnd(9, '<')));
    optional1 = field(opt1, 15, 'optionalData1');
  } else {
    // 9303-5 §4.2.2 note j: overflow, its check digit and a filler go into the optional data.
    const rest = `${number.slice(9)}${checkDigit(number)}<`;
    numberField = `${number.slice(0, 9)}<`;
    optional1 = field(rest + opt1, 15, 'optionalData1 (after the long document number)');
  }
  const line1 = code + state + numberField + optional1;
  if (!/^[0-9<]{6}$/.test(f.dateOfBirth)) throw new MrzError(`dateOfBirth: expected YYMMDD, got "${f.dateOfBirth}"`);
  if (!/^[0-9]{6}$/.test(f.dateOfExpiry)) throw new MrzError(`dateOfExpiry: expected YYMMDD, got "${f.dateOfExpiry}"`);
  if (f.sex !== 'F' && f.sex !== 'M' && f.sex !== '<') throw new MrzError(`sex: expected F, M or <, got "${String(f.sex)}"`);
  const nationality = field(f.nationality, 3, 'nationality');
  const birth = f.dateOfBirth + String(checkDigit(f.dateOfBirth));
  const expiry = f.dateOfExpiry + String(checkDigit(f.dateOfExpiry));
  const optional2 = field(f.optionalData2 ?? '', 11, 'optionalData2');
  const composite = line1.slice(5, 30) + birth + expiry + optional2;
  const line2 = birth + f.sex + expiry + nationality + optional2 + String(checkDigit(composite));
  return [line1, line2, td1NameField(f.primaryIdentifier, f.secondaryIdentifier)];
}

/** A TD1 MRZ read back: the fields as MRZ characters, names split at '<<'. */
export interface ParsedTd1 {
  readonly documentCode: string;
  readonly issuingState: string;
  readonly documentNumber: string;
  readonly optionalData1: string;
  readonly dateOfBirth: string;
  readonly sex: 'F' | 'M' | '<';
  readonly dateOfExpiry: string;
  readonly nationality: string;
  readonly optionalData2: string;
  /** Name parts with '<' turned into spaces. */
  readonly primaryIdentifier: string;
  readonly secondaryIdentifier: string;
  /** The name field ends with a letter: it may have been truncated (ICAO 9303-3 §4.6). */
  readonly nameTruncated: boolean;
  /** MRZ information for BAC and PACE (ICAO 9303-11 §4.3.2). */
  readonly mrzInformation: string;
}

const stripFiller = (s: string): string => s.replace(/<+$/, '');

/**
 * Parses a TD1 MRZ (90 characters, with or without line breaks) and verifies its four check
 * digits; a wrong one is an {@link MrzError} naming it.
 *
 * @example parseTd1('I<UTOD231458907<<<<<<<<<<<<<<<7408122F1204159UTO<<<<<<<<<<<6ERIKSSON<<ANNA<MARIA<<<<<<<<<<').documentNumber // 'D23145890'
 */
export function parseTd1(mrz: string): ParsedTd1 {
  const text = mrz.replace(/\r?\n/g, '');
  if (text.length !== 3 * TD1_LINE_LENGTH || !MRZ_CHARS.test(text)) {
    throw new MrzError(`TD1 MRZ: expected 3 lines of 30 characters 0-9 A-Z <, got ${text.length} characters`);
  }
  const l1 = text.slice(0, 30);
  const l2 = text.slice(30, 60);
  const l3 = text.slice(60, 90);
  let documentNumber: string;
  let optionalData1: string;
  if (l1[14] === '<') {
    // Long document number: the rest ends at the first filler, its last character is the CD.
    const opt = l1.slice(15);
    const end = opt.indexOf('<');
    const part = end < 0 ? opt : opt.slice(0, end);
    if (part.length < 2) throw new MrzError('TD1 MRZ: document number check digit missing (position 15 is < but no overflow follows)');
    documentNumber = l1.slice(5, 14) + part.slice(0, -1);
    if (checkDigit(documentNumber) !== Number(part.slice(-1))) throw new MrzError('TD1 MRZ: document number check digit does not match');
    optionalData1 = stripFiller(opt.slice(part.length + 1));
  } else {
    documentNumber = stripFiller(l1.slice(5, 14));
    if (!/[0-9]/.test(l1[14]!) || checkDigit(l1.slice(5, 14)) !== Number(l1[14])) {
      throw new MrzError('TD1 MRZ: document number check digit does not match');
    }
    optionalData1 = stripFiller(l1.slice(15));
  }
  const dateOfBirth = l2.slice(0, 6);
  if (checkDigit(dateOfBirth) !== Number(l2[6])) throw new MrzError('TD1 MRZ: date of birth check digit does not match');
  const sex = l2[7]!;
  if (sex !== 'F' && sex !== 'M' && sex !== '<') throw new MrzError(`TD1 MRZ: sex must be F, M or <, got "${sex}"`);
  const dateOfExpiry = l2.slice(8, 14);
  if (checkDigit(dateOfExpiry) !== Number(l2[14])) throw new MrzError('TD1 MRZ: date of expiry check digit does not match');
  const composite = l1.slice(5, 30) + l2.slice(0, 7) + l2.slice(8, 15) + l2.slice(18, 29);
  if (checkDigit(composite) !== Number(l2[29])) throw new MrzError('TD1 MRZ: composite check digit does not match');
  const [primary = '', secondary = ''] = stripFiller(l3).split('<<', 2);
  const numberField = documentNumber.length < 9 ? documentNumber.padEnd(9, '<') : documentNumber;
  return {
    documentCode: stripFiller(l1.slice(0, 2)),
    issuingState: l1.slice(2, 5),
    documentNumber,
    optionalData1,
    dateOfBirth,
    sex,
    dateOfExpiry,
    nationality: l2.slice(15, 18),
    optionalData2: stripFiller(l2.slice(18, 29)),
    primaryIdentifier: primary.replace(/</g, ' ').trim(),
    secondaryIdentifier: secondary.replace(/</g, ' ').trim(),
    nameTruncated: l3[29] !== '<',
    mrzInformation: `${numberField}${checkDigit(numberField)}${dateOfBirth}${checkDigit(dateOfBirth)}${dateOfExpiry}${checkDigit(dateOfExpiry)}`,
  };
}

/** YYYY-MM-DD → YYMMDD. */
export function mrzDate(isoDate: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate);
  if (m === null) throw new ByteInputError(`date: expected YYYY-MM-DD, got "${isoDate}"`);
  return m[1]!.slice(2) + m[2]! + m[3]!;
}

/**
 * YYMMDD → YYYY-MM-DD. The MRZ has no century: `pivot` decides (a year above the pivot's two
 * digits is in the previous century). For birth dates pass the current year (nobody is born in
 * the future); for expiry dates a year far ahead.
 */
export function isoDateFromMrz(yymmdd: string, pivotYear: number): string | undefined {
  if (!/^\d{6}$/.test(yymmdd)) return undefined;
  const yy = Number(yymmdd.slice(0, 2));
  const century = Math.floor(pivotYear / 100) * 100;
  const year = yy > pivotYear % 100 ? century - 100 + yy : century + yy;
  return `${year}-${yymmdd.slice(2, 4)}-${yymmdd.slice(4, 6)}`;
}
