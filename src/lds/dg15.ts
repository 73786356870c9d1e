/**
 * DG15 (ICAO 9303-10 §4.7.15): the Active Authentication public key.
 *
 *     6F { SubjectPublicKeyInfo (DER, RFC 5280 §4.1) }
 *
 * Pass-through for now: the key comes from the on-card key work (issue 3), which fills
 * {@link encodeDg15}'s argument; this module only wraps and unwraps it, bytes as given.
 *
 * @example encodeDg15({ publicKeyInfo: publicKey.export({ type: 'spki', format: 'der' }) })
 */
import { LdsError } from './errors.js';
import { dataGroup } from './tags.js';
import { openTemplate } from './_template.js';
import { encodeTlv } from '../tlv/ber.js';

export interface Dg15 {
  /** The DER SubjectPublicKeyInfo, as stored. */
  readonly publicKeyInfo: Uint8Array;
}

export function encodeDg15(dg15: Dg15): Uint8Array {
  if (dg15.publicKeyInfo.length === 0 || dg15.publicKeyInfo[0] !== 0x30) {
    throw new LdsError('DG15: publicKeyInfo must be a DER SubjectPublicKeyInfo (a SEQUENCE, starting with 30)');
  }
  return encodeTlv(dataGroup(15).tag, dg15.publicKeyInfo);
}

export function decodeDg15(bytes: Uint8Array): Dg15 {
  const t = openTemplate(bytes, dataGroup(15).tag, 'DG15');
  if (t.children!.length !== 1 || t.children![0]!.tag !== 0x30) throw new LdsError('DG15: expected exactly one SubjectPublicKeyInfo SEQUENCE (30)');
  return { publicKeyInfo: t.value.slice() };
}
