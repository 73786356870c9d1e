/**
 * DG1 (ICAO 9303-10 §4.7.1): the MRZ, as printed, in one data element.
 *
 *     61 { 5F1F MRZ data (90 characters for TD1, 72 for TD2, 88 for TD3; no line breaks) }
 *
 * @example encodeDg1({ mrz: td1Mrz(fields).join('') })
 */
import { encodeTlv, tlvConstructed } from '../tlv/ber.js';
import { LdsError } from './errors.js';
import { dataGroup } from './tags.js';
import { openTemplate } from './_template.js';

export interface Dg1 {
  /** The MRZ lines concatenated (ASCII 0-9 A-Z <). */
  readonly mrz: string;
}

const MRZ_LENGTHS: ReadonlySet<number> = new Set([90, 72, 88]);

function checkMrz(mrz: string): void {
  if (!MRZ_LENGTHS.has(mrz.length) || !/^[0-9A-Z<]+$/.test(mrz)) {
    throw new LdsError(`DG1: the MRZ must be 90 (TD1), 72 (TD2) or 88 (TD3) characters 0-9 A-Z <, got ${mrz.length} characters`);
  }
}

export function encodeDg1(dg1: Dg1): Uint8Array {
  checkMrz(dg1.mrz);
  const bytes = new Uint8Array(dg1.mrz.length);
  for (let i = 0; i < bytes.length; i++) bytes[i] = dg1.mrz.charCodeAt(i);
  return tlvConstructed(dataGroup(1).tag, encodeTlv(0x5f1f, bytes));
}

export function decodeDg1(bytes: Uint8Array): Dg1 {
  const kids = openTemplate(bytes, dataGroup(1).tag, 'DG1').children!;
  if (kids.length !== 1 || kids[0]!.tag !== 0x5f1f) throw new LdsError('DG1: expected exactly one MRZ data element 5F1F');
  const mrz = String.fromCharCode(...kids[0]!.value);
  checkMrz(mrz);
  return { mrz };
}
