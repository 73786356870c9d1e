/**
 * DG11, additional personal details (ICAO 9303-10 §4.7.11). Every element is optional; the tag
 * list 5C names those present. Text is UTF-8, so the full name may be in Arabic script.
 *
 *     6B { 5C tag list ‖ 5F0E full name ‖ A0 { 02 n ‖ 5F0F other name … } ‖ 5F10 personal number ‖
 *          5F2B full date of birth YYYYMMDD ‖ 5F11 place of birth ‖ 5F42 address ‖ 5F12 telephone ‖
 *          5F13 profession ‖ 5F14 title ‖ 5F15 personal summary ‖ 5F16 proof of citizenship (image) ‖
 *          5F17 other valid TD numbers ‖ 5F18 custody information }
 *
 * Multi-part fields (place of birth, address, other TD numbers) separate their parts with '<'
 * (9303-10 §4.7.11, e.g. "ZONE 12<DOHA<QATAR"); {@link splitParts} and {@link joinParts} convert.
 *
 * @example encodeDg11({ fullName: 'سبيسيمن<<أمينة', personalNumber: '28463400001', address: 'ZONE 99<DOHA' })
 */
import { LdsError } from './errors.js';
import { dataGroup } from './tags.js';
import { decodeElements, encodeElements, type ElementSpec } from './_template.js';

export interface Dg11 {
  readonly fullName?: string;
  readonly otherNames?: readonly string[];
  readonly personalNumber?: string;
  /** YYYYMMDD. */
  readonly fullDateOfBirth?: string;
  readonly placeOfBirth?: string;
  readonly address?: string;
  readonly telephone?: string;
  readonly profession?: string;
  readonly title?: string;
  readonly personalSummary?: string;
  /** An image (JPEG) of the proof of citizenship. */
  readonly proofOfCitizenship?: Uint8Array;
  readonly otherTdNumbers?: string;
  readonly custodyInformation?: string;
}

const TEXT = { kind: 'text' } as const;

const SPECS: readonly ElementSpec<keyof Dg11>[] = [
  { key: 'fullName', tag: 0x5f0e, type: TEXT },
  { key: 'otherNames', tag: 0x5f0f, type: { kind: 'list' } },
  { key: 'personalNumber', tag: 0x5f10, type: TEXT },
  { key: 'fullDateOfBirth', tag: 0x5f2b, type: { kind: 'digits', length: 8 } },
  { key: 'placeOfBirth', tag: 0x5f11, type: TEXT },
  { key: 'address', tag: 0x5f42, type: TEXT },
  { key: 'telephone', tag: 0x5f12, type: TEXT },
  { key: 'profession', tag: 0x5f13, type: TEXT },
  { key: 'title', tag: 0x5f14, type: TEXT },
  { key: 'personalSummary', tag: 0x5f15, type: TEXT },
  { key: 'proofOfCitizenship', tag: 0x5f16, type: { kind: 'bytes' } },
  { key: 'otherTdNumbers', tag: 0x5f17, type: TEXT },
  { key: 'custodyInformation', tag: 0x5f18, type: TEXT },
];

export function encodeDg11(dg11: Dg11): Uint8Array {
  return encodeElements(dataGroup(11).tag, SPECS, dg11, 'DG11');
}

export function decodeDg11(bytes: Uint8Array): Dg11 {
  return decodeElements(bytes, dataGroup(11).tag, SPECS, 'DG11') as Dg11;
}

/** "ZONE 12<DOHA" → ["ZONE 12", "DOHA"]. */
export function splitParts(field: string): string[] {
  return field.split('<').filter((p) => p !== '');
}

/** ["ZONE 12", "DOHA"] → "ZONE 12<DOHA"; a part containing '<' cannot be represented. */
export function joinParts(parts: readonly string[], what: string): string {
  for (const p of parts) if (p.includes('<')) throw new LdsError(`${what}: "<" separates parts in DG11 and cannot appear inside one`);
  return parts.join('<');
}
