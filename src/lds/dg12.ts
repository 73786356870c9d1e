/**
 * DG12, additional document details (ICAO 9303-10 §4.7.12). Every element is optional; the tag
 * list 5C names those present.
 *
 *     6C { 5C tag list ‖ 5F19 issuing authority ‖ 5F26 date of issue YYYYMMDD ‖ A0 { 02 n ‖ 5F1A name of other person … } ‖
 *          5F1B endorsements and observations ‖ 5F1C tax or exit requirements ‖ 5F1D image of front ‖
 *          5F1E image of rear ‖ 5F55 personalization date and time YYYYMMDDhhmmss ‖ 5F56 personalization system serial }
 *
 * @example encodeDg12({ issuingAuthority: 'MINISTRY OF INTERIOR', dateOfIssue: '20240301' })
 */
import { dataGroup } from './tags.js';
import { decodeElements, encodeElements, type ElementSpec } from './_template.js';

export interface Dg12 {
  readonly issuingAuthority?: string;
  /** YYYYMMDD. */
  readonly dateOfIssue?: string;
  readonly otherPersons?: readonly string[];
  readonly endorsements?: string;
  readonly taxOrExitRequirements?: string;
  readonly imageFront?: Uint8Array;
  readonly imageRear?: Uint8Array;
  /** YYYYMMDDhhmmss. */
  readonly personalizationTime?: string;
  readonly personalizationDeviceSerial?: string;
}

const TEXT = { kind: 'text' } as const;

const SPECS: readonly ElementSpec<keyof Dg12>[] = [
  { key: 'issuingAuthority', tag: 0x5f19, type: TEXT },
  { key: 'dateOfIssue', tag: 0x5f26, type: { kind: 'digits', length: 8 } },
  { key: 'otherPersons', tag: 0x5f1a, type: { kind: 'list' } },
  { key: 'endorsements', tag: 0x5f1b, type: TEXT },
  { key: 'taxOrExitRequirements', tag: 0x5f1c, type: TEXT },
  { key: 'imageFront', tag: 0x5f1d, type: { kind: 'bytes' } },
  { key: 'imageRear', tag: 0x5f1e, type: { kind: 'bytes' } },
  { key: 'personalizationTime', tag: 0x5f55, type: { kind: 'digits', length: 14 } },
  { key: 'personalizationDeviceSerial', tag: 0x5f56, type: TEXT },
];

export function encodeDg12(dg12: Dg12): Uint8Array {
  return encodeElements(dataGroup(12).tag, SPECS, dg12, 'DG12');
}

export function decodeDg12(bytes: Uint8Array): Dg12 {
  return decodeElements(bytes, dataGroup(12).tag, SPECS, 'DG12') as Dg12;
}
