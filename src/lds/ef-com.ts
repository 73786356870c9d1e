/**
 * EF.COM (ICAO 9303-10 §4.6.1): the LDS version, the Unicode version and the list of data groups
 * present.
 *
 *     60 { 5F01 LDS version 'aabb' (4 digits) ‖ 5F36 Unicode version 'aabbcc' (6 digits) ‖ 5C tag list }
 *
 * Versions are written as people write them ("1.7", "4.0.0"); the file stores them as digit
 * pairs ("0107", "040000"). LDS 1.8 (9303-10 §4.6.1) deprecates EF.COM but readers still look
 * for it, so chipwright always writes one.
 *
 * @example encodeEfCom({ ldsVersion: '1.7', unicodeVersion: '4.0.0', dataGroups: [1, 2, 11] })
 * // 60 15 5F01 04 30313037 5F36 06 303430303030 5C 03 61756B
 */
import { encodeTlv, tlvConstructed } from '../tlv/ber.js';
import { LdsError } from './errors.js';
import { EF_COM, dataGroup, dataGroupOfTag } from './tags.js';
import { encodeTagList, openTemplate, parseTagList, toUtf8, utf8 } from './_template.js';

export interface EfCom {
  /** "1.7", "1.8". */
  readonly ldsVersion: string;
  /** "4.0.0". */
  readonly unicodeVersion: string;
  /** Data group numbers present, in tag-list order. */
  readonly dataGroups: readonly number[];
}

function pairs(version: string, count: number, what: string): string {
  const parts = version.split('.');
  if (parts.length !== count || parts.some((p) => !/^\d{1,2}$/.test(p))) {
    throw new LdsError(`EF.COM ${what}: expected ${count} numbers 0..99 separated by dots, got "${version}"`);
  }
  return parts.map((p) => p.padStart(2, '0')).join('');
}

function unpair(digits: string): string {
  const out: number[] = [];
  for (let i = 0; i < digits.length; i += 2) out.push(Number(digits.slice(i, i + 2)));
  return out.join('.');
}

export function encodeEfCom(com: EfCom): Uint8Array {
  const tags = com.dataGroups.map((n) => dataGroup(n).tag);
  return tlvConstructed(
    EF_COM.tag,
    encodeTlv(0x5f01, toUtf8(pairs(com.ldsVersion, 2, 'ldsVersion'))),
    encodeTlv(0x5f36, toUtf8(pairs(com.unicodeVersion, 3, 'unicodeVersion'))),
    encodeTagList(tags),
  );
}

export function decodeEfCom(bytes: Uint8Array): EfCom {
  const kids = openTemplate(bytes, EF_COM.tag, 'EF.COM').children!;
  const get = (tag: number, name: string): Uint8Array => {
    const found = kids.filter((k) => k.tag === tag);
    if (found.length !== 1) throw new LdsError(`EF.COM: ${name} (${tag.toString(16).toUpperCase()}) must appear once, found ${found.length}`);
    return found[0]!.value;
  };
  if (kids.length !== 3) throw new LdsError(`EF.COM: expected 5F01, 5F36 and 5C, found ${kids.length} data objects`);
  const lds = utf8(get(0x5f01, 'LDS version'), 'EF.COM LDS version');
  const uni = utf8(get(0x5f36, 'Unicode version'), 'EF.COM Unicode version');
  if (!/^\d{4}$/.test(lds)) throw new LdsError(`EF.COM: LDS version "${lds}" is not 4 digits`);
  if (!/^\d{6}$/.test(uni)) throw new LdsError(`EF.COM: Unicode version "${uni}" is not 6 digits`);
  const dataGroups = parseTagList(get(0x5c, 'tag list'), 'EF.COM').map((t) => {
    const dg = dataGroupOfTag(t);
    if (dg === undefined) throw new LdsError(`EF.COM: tag ${t.toString(16).toUpperCase()} in the tag list is not a data group`);
    return dg.number;
  });
  return { ldsVersion: unpair(lds), unicodeVersion: unpair(uni), dataGroups };
}
