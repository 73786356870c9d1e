/**
 * Chip Authentication version 1 (ICAO 9303-11 §6.2; BSI TR-03110-1 v2 §3.4 / EAC 1.11 §4.2): an
 * ephemeral–static key agreement between the terminal's ephemeral key and the chip's static key
 * from EF.DG14. It authenticates the chip (only the holder of the static private key derives the
 * same keys) and replaces the BAC/PACE session keys.
 *
 *     terminal: PK_IFD = SK_IFD · G           chip: SK_IC, PK_IC (DG14)
 *     K = x(SK_IFD · PK_IC) = x(SK_IC · PK_IFD)                     (ECKA-DH, TR-03111 §4.3.1)
 *     KSenc = KDF(K, 1), KSmac = KDF(K, 2)                           (ICAO 9303-11 §9.7.1)
 *     secure messaging restarts with SSC = 0 (3DES or AES, by the CA protocol OID)
 *
 * EF.DG14 (ICAO 9303-10 §4.7.14) is `6E L SecurityInfos` with ChipAuthenticationInfo and
 * ChipAuthenticationPublicKeyInfo entries (`security-infos.ts`). Implemented: ECDH (id-CA-ECDH-*);
 * the DH variants are named in {@link CA_SUITES} with `supported: false`.
 *
 * @example
 * const suite = caSuite(CA_OID.ECDH_AES_128)!;
 * const k = ecdhSharedSecret('brainpoolP256r1', skIfd, pkIc);
 * const keys = caSessionKeys(suite, k); // { cipher: 'aes', kEnc, kMac, ssc: 16 × 00 }
 */
import { zeroize } from '../bytes/index.js';
import { encodeTlv, parseTlv, TlvError } from '../tlv/ber.js';
import { kdf, type KdfAlgorithm } from './kdf.js';
import { SSC_LENGTH, type SmKeys } from './sm.js';
import { CA_OID, SecurityInfoError, decodeSecurityInfos, encodeSecurityInfos, oidToBytes, type SecurityInfo } from './security-infos.js';

/** One Chip Authentication protocol OID and what it means. */
export interface CaSuite {
  readonly oid: string;
  /** Content octets of the OID (MSE:Set AT DO 80). */
  readonly oidBytes: Uint8Array;
  /** 'id-CA-ECDH-AES-CBC-CMAC-128'. */
  readonly name: string;
  readonly agreement: 'DH' | 'ECDH';
  readonly cipher: '3des' | 'aes';
  readonly kdf: KdfAlgorithm;
  readonly supported: boolean;
}

const KEYS = [
  ['3DES-CBC-CBC', '3des', '3des', '3DES'],
  ['AES-CBC-CMAC-128', 'aes', 'aes-128', 'AES_128'],
  ['AES-CBC-CMAC-192', 'aes', 'aes-192', 'AES_192'],
  ['AES-CBC-CMAC-256', 'aes', 'aes-256', 'AES_256'],
] as const;

/** Every Chip Authentication protocol of ICAO 9303-11 §9.2.5. */
export const CA_SUITES: readonly CaSuite[] = Object.freeze(
  (['DH', 'ECDH'] as const).flatMap((agreement) =>
    KEYS.map(([keyName, cipher, kdfAlg, key]) => {
      const oid = CA_OID[`${agreement}_${key}`];
      return Object.freeze({
        oid,
        oidBytes: oidToBytes(oid),
        name: `id-CA-${agreement}-${keyName}`,
        agreement,
        cipher,
        kdf: kdfAlg,
        supported: agreement === 'ECDH',
      } satisfies CaSuite);
    }),
  ),
);

/**
 * The suite of a CA protocol OID (dotted or content octets), or `undefined`.
 *
 * @example caSuite('0.4.0.127.0.7.2.2.3.2.2')?.name // 'id-CA-ECDH-AES-CBC-CMAC-128'
 */
export function caSuite(oid: string | Uint8Array): CaSuite | undefined {
  if (typeof oid === 'string') return CA_SUITES.find((s) => s.oid === oid);
  return CA_SUITES.find((s) => s.oidBytes.length === oid.length && s.oidBytes.every((b, i) => b === oid[i]));
}

/**
 * Session keys after Chip Authentication: KDF(K, 1) and KDF(K, 2) with the suite's key size,
 * SSC zero (ICAO 9303-11 §6.2, §9.7.1, §9.8.2). Zeroizes nothing: the caller owns `k` and the keys.
 *
 * @example caSessionKeys(caSuite(CA_OID.ECDH_3DES)!, k).ssc.length // 8
 */
export function caSessionKeys(suite: CaSuite, k: Uint8Array): SmKeys {
  return { cipher: suite.cipher, kEnc: kdf(k, 1, suite.kdf), kMac: kdf(k, 2, suite.kdf), ssc: new Uint8Array(SSC_LENGTH[suite.cipher]) };
}

/**
 * Wipes the keys of an {@link SmKeys} the caller no longer needs.
 *
 * @example const keys = caSessionKeys(suite, k); try { … } finally { wipeSmKeys(keys); }
 */
export function wipeSmKeys(keys: SmKeys): void {
  zeroize(keys.kEnc);
  zeroize(keys.kMac);
}

/**
 * EF.DG14 content for SecurityInfos (ICAO 9303-10 §4.7.14: tag 6E). `sort: false` keeps the
 * caller's order (what some issued DG14s have; DER sorts a SET OF).
 *
 * @example dg14Content([chipAuthenticationInfo(…), chipAuthenticationPublicKeyInfo(…)])
 */
export function dg14Content(infos: readonly SecurityInfo[], opts: { sort?: boolean } = {}): Uint8Array {
  return encodeTlv(0x6e, encodeSecurityInfos(infos, opts));
}

/**
 * The SecurityInfos of EF.DG14 (bytes after the 6E object are ignored). Throws {@link SecurityInfoError}.
 *
 * @example chipAuthenticationInfos(dg14SecurityInfos(dg14))
 */
export function dg14SecurityInfos(dg14: Uint8Array): SecurityInfo[] {
  let value: Uint8Array;
  try {
    const t = parseTlv(dg14.subarray(0, firstObjectLength(dg14)));
    if (t.tag !== 0x6e) throw new SecurityInfoError('EF.DG14: expected tag 6E');
    value = t.value;
  } catch (e) {
    if (e instanceof TlvError) throw new SecurityInfoError(`EF.DG14: ${e.message}`);
    throw e;
  }
  return decodeSecurityInfos(value);
}

function firstObjectLength(b: Uint8Array): number {
  if (b.length < 2) return b.length;
  const l = b[1]!;
  if (l < 0x80) return Math.min(b.length, 2 + l);
  const n = l & 0x7f;
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + (b[2 + i] ?? 0);
  return Math.min(b.length, 2 + n + v);
}
