/**
 * The holder's TD1 MRZ (ICAO 9303-5 §4.2): the document and identity fields mapped onto
 * {@link td1Mrz} — dates to YYMMDD, sex X to '<', names transliterated.
 *
 * @example holderMrz(holder) // 90 characters, the three lines concatenated
 */
import { mrzDate, td1Mrz, type Td1Fields } from '../lds/mrz.js';
import type { DocumentDetails, Identity } from './types.js';

/** The TD1 fields of a holder. */
export function holderTd1Fields(h: { readonly identity: Identity; readonly document: DocumentDetails }): Td1Fields {
  const { identity: i, document: d } = h;
  return {
    documentCode: d.type,
    issuingState: d.issuingState,
    documentNumber: d.number,
    dateOfBirth: mrzDate(i.dateOfBirth),
    sex: i.sex === 'X' ? '<' : i.sex,
    dateOfExpiry: mrzDate(d.dateOfExpiry),
    nationality: i.nationality,
    primaryIdentifier: i.primaryIdentifier,
    ...(i.secondaryIdentifier !== undefined ? { secondaryIdentifier: i.secondaryIdentifier } : {}),
    ...(d.mrzOptionalData?.line1 !== undefined ? { optionalData1: d.mrzOptionalData.line1 } : {}),
    ...(d.mrzOptionalData?.line2 !== undefined ? { optionalData2: d.mrzOptionalData.line2 } : {}),
  };
}

/** The three TD1 lines concatenated (90 characters), as DG1 stores them. */
export function holderMrz(h: { readonly identity: Identity; readonly document: DocumentDetails }): string {
  return td1Mrz(holderTd1Fields(h)).join('');
}
