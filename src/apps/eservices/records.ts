/**
 * EF.KEYS: one record per key pair of the e-services application, telling a terminal what the
 * card holds without trying references — a BER-TLV template per record (`health/records.ts`
 * conventions):
 *
 *     E4 { 80 label ‖ 81 usage ‖ 82 algorithm ‖ 83 key reference ‖ [84 certificate FID] ‖ 85 PIN reference }
 *     usage: 01 authentication, 02 signature, 03 encryption
 *     algorithm: 01 ecdsa-p256, 02 ecdsa-p384, 03 rsa-2048, 04 rsa-3072
 *
 * @example decodeKeyRecord(encodeKeyRecord(d)).keyRef // 0x01
 */
import { KEY_ALGORITHMS, KEY_USAGES, type EServiceKeyPair } from '../../holder/types.js';
import { decodeTemplate, encodeTemplate, type FieldSpec } from '../health/common.js';

export const KEY_RECORD_TAG = 0xe4;

/** One key pair as EF.KEYS describes it. */
export interface KeyDescriptor {
  readonly label: string;
  readonly usage: EServiceKeyPair['usage'];
  readonly algorithm: EServiceKeyPair['algorithm'];
  /** MSE DO 84 / GENERATE ASYMMETRIC KEY PAIR key reference. */
  readonly keyRef: number;
  /** The EF holding its X.509 certificate, when there is one. */
  readonly certificateFid?: number;
  /** The PIN its use needs (VERIFY P2). */
  readonly pinRef: number;
}

const KEY: readonly FieldSpec<keyof KeyDescriptor>[] = [
  { key: 'label', tag: 0x80, type: { kind: 'text' } },
  { key: 'usage', tag: 0x81, type: { kind: 'enum', values: KEY_USAGES } },
  { key: 'algorithm', tag: 0x82, type: { kind: 'enum', values: KEY_ALGORITHMS } },
  { key: 'keyRef', tag: 0x83, type: { kind: 'uint', length: 1 } },
  { key: 'certificateFid', tag: 0x84, type: { kind: 'uint', length: 2 }, optional: true },
  { key: 'pinRef', tag: 0x85, type: { kind: 'uint', length: 1 } },
];

/** One EF.KEYS record. */
export function encodeKeyRecord(d: KeyDescriptor): Uint8Array {
  return encodeTemplate(KEY_RECORD_TAG, KEY, d, 'key record');
}

/** One EF.KEYS record back, strictly. */
export function decodeKeyRecord(bytes: Uint8Array): KeyDescriptor {
  return decodeTemplate(bytes, KEY_RECORD_TAG, KEY, 'key record') as unknown as KeyDescriptor;
}
