/**
 * The e-services (PKI) application's layout (AID `F0 43 57 49 44 45`: chipwright's proprietary,
 * unregistered "CWID" prefix + 'E' — see `health/layout.ts`): key pairs generated on the card,
 * their certificates in EFs, a directory of the keys, an EF.SOD, and two PINs of its own.
 *
 * | file             | FID       | SFI     | structure                    | read | encrypted |
 * |------------------|-----------|---------|------------------------------|------|-----------|
 * | EF.KEYS          | 0101      | 01      | linear variable, 8 × ≤ 128 B | SM   | no        |
 * | EF.CERT.<label>  | C001–C008 | 02–09   | transparent (X.509 DER)      | SM   | no        |
 * | EF.SOD           | 011D      | 1D      | transparent                  | SM   | no        |
 *
 * Nothing is written after personalization. EF.SOD: DG1 = EF.KEYS, DG(2+i) = the certificate of
 * key i. Certificates are public (and verify on their own), but name the holder: SM keeps them
 * from a passer-by's reader.
 *
 * | object                | reference | kind                                     | condition of use                  |
 * |-----------------------|-----------|------------------------------------------|-----------------------------------|
 * | authentication PIN    | 81        | PIN of this DF, 3 tries, PUK 04 unblocks |                                   |
 * | signature PIN         | 82        | PIN of this DF, 3 tries, PUK 04 unblocks |                                   |
 * | key i (authentication)| 01 + i    | key pair, usage authenticate             | PIN(81) AND SM, once per session  |
 * | key i (signature)     | 01 + i    | key pair, usage sign                     | PIN(82) AND SM, "PIN always": each signature needs a new VERIFY |
 * | key i (encryption)    | 01 + i    | key pair, usage decipher (RSA) / key-agreement (EC) | PIN(81) AND SM          |
 *
 * Key pairs are generated on the card at personalization (GENERATE ASYMMETRIC KEY PAIR under the
 * transport key; the slots' `generate` condition is NEVER afterwards); the private keys never
 * leave it.
 */
import { and, pin, SM_REQUIRED, type AccessRules, type Condition } from '../../card/security/access.js';
import type { AsymmetricKeyUsage } from '../../card/security/objects.js';
import type { EServiceKeyPair } from '../../holder/types.js';
import type { AppFileSpec } from '../health/common.js';

/** `F0 43 57 49 44 45`: chipwright's proprietary "CWID" prefix + 'E'. */
export const ESERVICES_AID: Uint8Array = new Uint8Array([0xf0, 0x43, 0x57, 0x49, 0x44, 0x45]);

/** The applet type name the card image records. */
export const ESERVICES_TYPE = 'e-services';

/** PIN references of the e-services DF (b8 = 1: specific to it, ISO/IEC 7816-4 §7.5.2). */
export const ESERVICES_PINS = Object.freeze({ AUTHENTICATION: 0x81, SIGNATURE: 0x82 } as const);

/** The holder schema's limit on key pairs. */
export const ESERVICES_MAX_KEYS = 8;
export const KEYS_RECORD_SIZE = 128;

/** Key reference of the i-th key pair of the holder's list. */
export const keyRefOf = (i: number): number => 0x01 + i;
/** File identifier of the i-th key's certificate EF. */
export const certificateFidOf = (i: number): number => 0xc001 + i;
/** SFI of the i-th key's certificate EF. */
export const certificateSfiOf = (i: number): number => 0x02 + i;

const READ: AccessRules = Object.freeze({ read: SM_REQUIRED });

export const EF_KEYS: AppFileSpec = Object.freeze({
  name: 'EF.KEYS',
  fid: 0x0101,
  sfi: 0x01,
  structure: 'linear-variable',
  recordSize: KEYS_RECORD_SIZE,
  maxRecords: ESERVICES_MAX_KEYS,
  rules: READ,
  encrypted: false,
  dataGroup: 1,
});

export const EF_ESERVICES_SOD: AppFileSpec = Object.freeze({ name: 'EF.SOD', fid: 0x011d, sfi: 0x1d, structure: 'transparent', rules: READ, encrypted: false });

/** The certificate EF of the i-th key pair. */
export function certificateFile(i: number, label: string): AppFileSpec {
  return Object.freeze({ name: `EF.CERT.${label}`, fid: certificateFidOf(i), sfi: certificateSfiOf(i), structure: 'transparent', rules: READ, encrypted: false, dataGroup: 2 + i });
}

/** The layout for a list of key pairs: EF.KEYS, one certificate EF per key, EF.SOD. */
export function eServicesFiles(keys: readonly Pick<EServiceKeyPair, 'label'>[]): AppFileSpec[] {
  return [EF_KEYS, ...keys.map((k, i) => certificateFile(i, k.label)), EF_ESERVICES_SOD];
}

/** What a key pair's usage in the holder model means for its key slot. */
export function slotFor(k: Pick<EServiceKeyPair, 'usage' | 'algorithm'>): {
  readonly type: 'ec' | 'rsa';
  readonly curve?: 'P-256' | 'P-384';
  readonly bits?: number;
  readonly usage: AsymmetricKeyUsage;
  readonly pin: number;
  readonly use: Condition;
  readonly pinAlways: boolean;
} {
  const ec = k.algorithm.startsWith('ecdsa');
  const kind = ec ? { type: 'ec' as const, curve: k.algorithm === 'ecdsa-p384' ? ('P-384' as const) : ('P-256' as const) } : { type: 'rsa' as const, bits: k.algorithm === 'rsa-3072' ? 3072 : 2048 };
  switch (k.usage) {
    case 'authentication':
      return { ...kind, usage: 'authenticate', pin: ESERVICES_PINS.AUTHENTICATION, use: and(pin(ESERVICES_PINS.AUTHENTICATION), SM_REQUIRED), pinAlways: false };
    case 'signature':
      return { ...kind, usage: 'sign', pin: ESERVICES_PINS.SIGNATURE, use: and(pin(ESERVICES_PINS.SIGNATURE), SM_REQUIRED), pinAlways: true };
    case 'encryption':
      return { ...kind, usage: ec ? 'key-agreement' : 'decipher', pin: ESERVICES_PINS.AUTHENTICATION, use: and(pin(ESERVICES_PINS.AUTHENTICATION), SM_REQUIRED), pinAlways: false };
  }
}
