/**
 * The health application's records: BER-TLV templates inside records of linear variable EFs
 * (ISO/IEC 7816-4 §7.3: record content is the application's; here one constructed private-class
 * data object per record, primitive context-specific elements inside, text in UTF-8, dates as the
 * 8 digits YYYYMMDD).
 *
 *     EF.INSURANCE record   E1 { 80 insurer ‖ 81 member number ‖ 82 class ‖ 83 valid from ‖ 84 valid until }
 *     EF.DEPENDANTS record  E2 { 80 name (Latin) ‖ [81 name (Arabic)] ‖ 82 relationship ‖ 83 member number ‖ 84 date of birth }
 *                           relationship: 01 spouse, 02 child, 03 parent, 04 other
 *     empty slot            00
 *
 * Decoding is strict (unknown or repeated elements, bad dates, invalid UTF-8 are errors naming
 * the element); encoding is canonical, so `encode(decode(b))` gives `b` back.
 *
 * @example decodeInsuranceRecord(encodeInsuranceRecord(section)).insurer
 */
import { DEPENDANT_RELATIONSHIPS, type Dependant, type HealthInsurance } from '../../holder/types.js';
import { AppDataError, emptyRecord, decodeTemplate, encodeTemplate, fitRecord, isEmptyRecord, type FieldSpec } from './common.js';
import { EF_DEPENDANTS, EF_INSURANCE } from './layout.js';

/** Template tags of the two record kinds. */
export const HEALTH_RECORD_TAGS = Object.freeze({ INSURANCE: 0xe1, DEPENDANT: 0xe2 } as const);

/** The insurance record: the holder's membership without the dependants. */
export type InsuranceRecord = Omit<HealthInsurance, 'dependants'>;

const INSURANCE: readonly FieldSpec<keyof InsuranceRecord>[] = [
  { key: 'insurer', tag: 0x80, type: { kind: 'text' } },
  { key: 'memberNumber', tag: 0x81, type: { kind: 'text' } },
  { key: 'class', tag: 0x82, type: { kind: 'text' } },
  { key: 'validFrom', tag: 0x83, type: { kind: 'date' } },
  { key: 'validUntil', tag: 0x84, type: { kind: 'date' } },
];

const DEPENDANT: readonly FieldSpec<keyof Dependant>[] = [
  { key: 'name', tag: 0x80, type: { kind: 'text' } },
  { key: 'nameArabic', tag: 0x81, type: { kind: 'text' }, optional: true },
  { key: 'relationship', tag: 0x82, type: { kind: 'enum', values: DEPENDANT_RELATIONSHIPS } },
  { key: 'memberNumber', tag: 0x83, type: { kind: 'text' } },
  { key: 'dateOfBirth', tag: 0x84, type: { kind: 'date' } },
];

/** The EF.INSURANCE record of a membership. @example encodeInsuranceRecord(section) // E1 … */
export function encodeInsuranceRecord(r: InsuranceRecord): Uint8Array {
  return encodeTemplate(HEALTH_RECORD_TAGS.INSURANCE, INSURANCE, r, 'insurance record');
}

/** An EF.INSURANCE record back; an {@link AppDataError} naming the element when it does not decode. */
export function decodeInsuranceRecord(bytes: Uint8Array): InsuranceRecord {
  return decodeTemplate(bytes, HEALTH_RECORD_TAGS.INSURANCE, INSURANCE, 'insurance record') as unknown as InsuranceRecord;
}

/** One EF.DEPENDANTS record. @example encodeDependantRecord(d) // E2 … */
export function encodeDependantRecord(d: Dependant): Uint8Array {
  return encodeTemplate(HEALTH_RECORD_TAGS.DEPENDANT, DEPENDANT, d, 'dependant record');
}

/** One EF.DEPENDANTS record back (not an empty slot: see {@link healthFromRecords}). */
export function decodeDependantRecord(bytes: Uint8Array): Dependant {
  return decodeTemplate(bytes, HEALTH_RECORD_TAGS.DEPENDANT, DEPENDANT, 'dependant record') as unknown as Dependant;
}

/** The records of both EFs for a health section: dependants fill the first slots, the rest stay empty. */
export function healthRecords(h: HealthInsurance, slots: number): { insurance: Uint8Array[]; dependants: Uint8Array[] } {
  if (h.dependants.length > slots) throw new AppDataError(`healthInsurance.dependants: ${h.dependants.length}, the card holds ${slots}`);
  const { dependants, ...record } = h;
  const out = dependants.map((d, i) => fitRecord(encodeDependantRecord(d), EF_DEPENDANTS, `healthInsurance.dependants[${i}]`, DEPENDANT, d));
  while (out.length < slots) out.push(emptyRecord());
  return { insurance: [fitRecord(encodeInsuranceRecord(record), EF_INSURANCE, 'healthInsurance', INSURANCE, record)], dependants: out };
}

/** The health section back from the records as read (empty slots skipped). */
export function healthFromRecords(insurance: readonly Uint8Array[], dependants: readonly Uint8Array[]): HealthInsurance {
  const first = insurance.find((r) => !isEmptyRecord(r));
  if (first === undefined) throw new AppDataError('EF.INSURANCE: no insurance record');
  return { ...decodeInsuranceRecord(first), dependants: dependants.filter((r) => !isEmptyRecord(r)).map(decodeDependantRecord) };
}
