/**
 * DG14 (ICAO 9303-10 §4.7.14): the SecurityInfos for Chip Authentication (and PACE in LDS 1.7).
 *
 *     6E { SecurityInfos (DER SET OF SecurityInfo) }
 *
 * Pass-through for now: the content is built by the Chip Authentication work (issue 3), which
 * fills {@link encodeDg14}'s argument; this module only wraps and unwraps it, bytes as given.
 *
 * @example encodeDg14({ securityInfos: encodeSecurityInfos(infos) })
 */
import { LdsError } from './errors.js';
import { dataGroup } from './tags.js';
import { openTemplate } from './_template.js';
import { encodeTlv } from '../tlv/ber.js';

export interface Dg14 {
  /** The DER SecurityInfos, as stored. */
  readonly securityInfos: Uint8Array;
}

export function encodeDg14(dg14: Dg14): Uint8Array {
  if (dg14.securityInfos.length === 0 || dg14.securityInfos[0] !== 0x31) {
    throw new LdsError('DG14: securityInfos must be a DER SET OF SecurityInfo (starting with 31)');
  }
  return encodeTlv(dataGroup(14).tag, dg14.securityInfos);
}

export function decodeDg14(bytes: Uint8Array): Dg14 {
  const t = openTemplate(bytes, dataGroup(14).tag, 'DG14');
  if (t.children!.length !== 1 || t.children![0]!.tag !== 0x31) throw new LdsError('DG14: expected exactly one SET (31) of SecurityInfos');
  return { securityInfos: t.value.slice() };
}
