/**
 * PACE — Password Authenticated Connection Establishment (ICAO Doc 9303-11, 8th ed. 2021, §4.4;
 * BSI TR-03110-2 §3.2 and TR-03110-3 §A.3) — the pure cryptography both sides share: password
 * keys, nonce encryption, Generic Mapping over ECDH, key agreement, session keys and
 * authentication tokens. The card (`card/protocols/pace.ts`) and the terminal (`terminal/pace.ts`)
 * run the APDU exchange around these functions.
 *
 *     chip                                           terminal
 *     s random, z = E(Kπ, s)            ── z ──▶     s = D(Kπ, z)
 *     PK_Map,IC = SK_Map,IC·G           ◀─ PK ─▶     PK_Map,IFD = SK_Map,IFD·G
 *     G' = s·G + H, H = SK_Map·PK_Map,peer           (the same G' on both sides)
 *     PK_DH,IC = SK_DH,IC·G'            ◀─ PK ─▶     PK_DH,IFD = SK_DH,IFD·G'
 *     K = x(SK_DH·PK_DH,peer); KSenc = KDF(K, 1), KSmac = KDF(K, 2)
 *     T_IC = MAC(KSmac, PK_DH,IFD)      ◀─ T ──▶     T_IFD = MAC(KSmac, PK_DH,IC)
 *
 * Implemented: Generic Mapping with ECDH (`id-PACE-ECDH-GM-*`) and AES-128/192/256 session keys,
 * on the standardized curves of `curves.ts` (brainpoolP256r1/384r1/512r1, NIST P-256/384/521) and
 * on explicit curves. Not implemented: DH (MODP groups), Integrated Mapping, Chip Authentication
 * Mapping, and 3DES PACE — they are listed in {@link PACE_SUITES} with `supported: false`.
 *
 * Secrets: every byte buffer this module creates for a secret (f(π), Kπ, K, nonce copies) is
 * zeroized once used; returned secrets belong to the caller. Scalars are `bigint`, which cannot be
 * wiped — drop them when the protocol ends. Errors name the step and the problem, never a value.
 *
 * @example The terminal's half of the key agreement (see terminal/pace.ts for the APDUs)
 * const suite = paceSuite(PACE_OID.ECDH_GM_AES_128)!;
 * const kPi = passwordKey(suite, 'can', new TextEncoder().encode('123456'));
 * const s = decryptNonce(suite, kPi, z);
 */
import { createHash } from 'node:crypto';
import { ByteInputError, abytes, constantTimeEqual, zeroize } from '../bytes/index.js';
import { encodeTlv, tlvConstructed } from '../tlv/ber.js';
import { blockSizeOf, cbcDecrypt, cbcEncrypt } from './cipher.js';
import { bytesToBigint, type EcGroup, type EcPoint } from './curves.js';
import { kdf, type KdfAlgorithm } from './kdf.js';
import { aesCmac } from './mac.js';
import { mrzInformation, type MrzInfo } from './bac.js';
import { PACE_OID, oidToBytes } from './security-infos.js';

/** A cryptographic failure of PACE caused by the peer's data (the card answers 6A80 for it). */
export class PaceCryptoError extends Error {
  override readonly name = 'PaceCryptoError';
}

// --- suites ---------------------------------------------------------------------------------------

/** One PACE protocol OID (BSI TR-03110-3 §A.1.1.1) and what it means. */
export interface PaceSuite {
  /** Dotted OID, e.g. '0.4.0.127.0.7.2.2.4.2.2'. */
  readonly oid: string;
  /** Content octets of the OID (MSE:Set AT DO 80, the token's DO 06). */
  readonly oidBytes: Uint8Array;
  /** 'id-PACE-ECDH-GM-AES-CBC-CMAC-128'. */
  readonly name: string;
  readonly agreement: 'DH' | 'ECDH';
  readonly mapping: 'GM' | 'IM' | 'CAM';
  readonly cipher: '3des' | 'aes';
  /** KDF output and session key size (ICAO 9303-11 §9.7.1). */
  readonly kdf: KdfAlgorithm;
  /** True when chipwright implements this suite. */
  readonly supported: boolean;
}

const KEY_NAMES = [
  ['3DES-CBC-CBC', '3des', '3des'],
  ['AES-CBC-CMAC-128', 'aes', 'aes-128'],
  ['AES-CBC-CMAC-192', 'aes', 'aes-192'],
  ['AES-CBC-CMAC-256', 'aes', 'aes-256'],
] as const;

const FAMILIES = [
  ['DH', 'GM', PACE_OID.DH_GM],
  ['ECDH', 'GM', PACE_OID.ECDH_GM],
  ['DH', 'IM', PACE_OID.DH_IM],
  ['ECDH', 'IM', PACE_OID.ECDH_IM],
  ['ECDH', 'CAM', PACE_OID.ECDH_CAM],
] as const;

/** Every PACE protocol OID of TR-03110-3 / ICAO 9303-11 §9.2.1 (CAM has no 3DES variant). */
export const PACE_SUITES: readonly PaceSuite[] = Object.freeze(
  FAMILIES.flatMap(([agreement, mapping, family]) =>
    KEY_NAMES.map(([keyName, cipher, kdfAlg], i) => ({ keyName, cipher, kdfAlg, i }))
      .filter(({ i }) => !(mapping === 'CAM' && i === 0))
      .map(({ keyName, cipher, kdfAlg, i }) => {
        const oid = `${family}.${i + 1}`;
        return Object.freeze({
          oid,
          oidBytes: oidToBytes(oid),
          name: `id-PACE-${agreement}-${mapping}-${keyName}`,
          agreement,
          mapping,
          cipher,
          kdf: kdfAlg,
          supported: agreement === 'ECDH' && mapping === 'GM' && cipher === 'aes',
        } satisfies PaceSuite);
      }),
  ),
);

/**
 * The suite of a PACE protocol OID (dotted or content octets), supported or not; `undefined` for
 * an OID that is not a PACE protocol.
 *
 * @example paceSuite('0.4.0.127.0.7.2.2.4.2.2')?.name // 'id-PACE-ECDH-GM-AES-CBC-CMAC-128'
 */
export function paceSuite(oid: string | Uint8Array): PaceSuite | undefined {
  if (typeof oid === 'string') return PACE_SUITES.find((s) => s.oid === oid);
  return PACE_SUITES.find((s) => s.oidBytes.length === oid.length && s.oidBytes.every((b, i) => b === oid[i]));
}

/**
 * Key length in bytes of a suite's session keys.
 *
 * @example keyLength(paceSuite(PACE_OID.ECDH_GM_AES_256)!) // 32
 */
export function keyLength(suite: PaceSuite): 16 | 24 | 32 {
  return suite.kdf === 'aes-256' ? 32 : suite.kdf === 'aes-192' ? 24 : 16;
}

// --- passwords ------------------------------------------------------------------------------------

/** The PACE passwords (ICAO 9303-11 §4.4.4.1 DO 83; BSI TR-03110-3 §B.11.1). */
export type PacePasswordKind = 'mrz' | 'can' | 'pin' | 'puk';

/** MSE:Set AT DO 83 values: 01 MRZ, 02 CAN, 03 PIN, 04 PUK. */
export const PACE_PASSWORD_REFERENCE: Readonly<Record<PacePasswordKind, number>> = Object.freeze({
  mrz: 0x01,
  can: 0x02,
  pin: 0x03,
  puk: 0x04,
});

/**
 * The password kind of a DO 83 value, or undefined.
 *
 * @example passwordKindOf(0x02) // 'can'
 */
export function passwordKindOf(ref: number): PacePasswordKind | undefined {
  for (const [k, v] of Object.entries(PACE_PASSWORD_REFERENCE)) if (v === ref) return k as PacePasswordKind;
  return undefined;
}

/**
 * The MRZ password as bytes: the MRZ information (document number, date of birth, date of expiry,
 * each with its check digit; ICAO 9303-11 §4.4.3.1), from the three fields or from the string,
 * whose check digits are verified.
 *
 * @example mrzPassword('T22000129364081251010318') // ASCII bytes of the string
 */
export function mrzPassword(mrz: MrzInfo | string): Uint8Array {
  let info: string;
  if (typeof mrz === 'string') {
    const n = mrz.length;
    info = n >= 24
      ? mrzInformation({ documentNumber: mrz.slice(0, n - 15), dateOfBirth: mrz.slice(n - 14, n - 8), dateOfExpiry: mrz.slice(n - 7, n - 1) })
      : '';
    if (info !== mrz) {
      throw new ByteInputError(
        `mrz: expected MRZ information (document number, check digit, YYMMDD, check digit, YYMMDD, check digit) with matching check digits, got ${n} characters that are not`,
      );
    }
  } else {
    info = mrzInformation(mrz);
  }
  return new TextEncoder().encode(info);
}

/**
 * f(π) of ICAO 9303-11 §9.7.3: SHA-1 of the MRZ information for the MRZ password; the password
 * itself (ISO/IEC 8859-1 digits) for CAN, PIN and PUK.
 *
 * @example passwordSecret('mrz', mrzPassword('T22000129364081251010318')) // 7E2D2A41…E9032AAD
 */
export function passwordSecret(kind: PacePasswordKind, password: Uint8Array): Uint8Array {
  abytes(password, undefined, 'password');
  if (password.length === 0) throw new ByteInputError('password: must not be empty');
  if (kind === 'mrz') {
    const d = createHash('sha1').update(password).digest();
    const out = new Uint8Array(d);
    zeroize(d);
    return out;
  }
  return password.slice();
}

/**
 * Kπ = KDF(f(π), 3) (ICAO 9303-11 §4.4.3.1, §9.7.3), the key the nonce is encrypted with.
 *
 * @example passwordKey(suite128, 'mrz', mrzPassword('T22000129364081251010318')) // 89DED1B2…302849DD
 */
export function passwordKey(suite: PaceSuite, kind: PacePasswordKind, password: Uint8Array): Uint8Array {
  const secret = passwordSecret(kind, password);
  try {
    return kdf(secret, 3, suite.kdf);
  } finally {
    zeroize(secret);
  }
}

// --- nonce ----------------------------------------------------------------------------------------

/**
 * Length of the chip's nonce s: the smallest multiple of the block size that is at least the key
 * length (BSI TR-03110-3 §A.3.3), so 16 bytes for AES-128 and 3DES, 32 for AES-192/256. Terminals
 * accept any whole number of blocks.
 */
export function nonceLength(suite: PaceSuite): number {
  const bs = blockSizeOf(suite.cipher);
  const k = suite.cipher === '3des' ? 16 : keyLength(suite);
  return Math.ceil(k / bs) * bs;
}

/**
 * z = E(Kπ, s): CBC with a zero IV and no padding (ICAO 9303-11 §4.4.3.1, §9.2 "E()").
 *
 * @example encryptNonce(suite, kPi, s) // Appendix G: 95A3A016522EE98D01E76CB6B98B42C3
 */
export function encryptNonce(suite: PaceSuite, kPi: Uint8Array, s: Uint8Array): Uint8Array {
  abytes(s, nonceLength(suite), 'nonce');
  return cbcEncrypt(suite.cipher, kPi, s);
}

/**
 * s = D(Kπ, z); z must be a non-empty whole number of blocks (a PaceCryptoError otherwise).
 *
 * @example decryptNonce(suite, kPi, z) // Appendix G: 3F00C4D39D153F2B2A214A078D899B22
 */
export function decryptNonce(suite: PaceSuite, kPi: Uint8Array, z: Uint8Array): Uint8Array {
  const bs = blockSizeOf(suite.cipher);
  if (z.length === 0 || z.length % bs !== 0 || z.length > 64) {
    throw new PaceCryptoError(`encrypted nonce: expected 1 to ${64 / bs} blocks of ${bs} bytes, got ${z.length} bytes`);
  }
  return cbcDecrypt(suite.cipher, kPi, z);
}

// --- Generic Mapping and key agreement (ECDH) -----------------------------------------------------

/** The nonce as a scalar (OS2I, BSI TR-03111 §3.1.2), reduced mod n. */
function nonceScalar(group: EcGroup, s: Uint8Array): bigint {
  const k = bytesToBigint(s) % group.curve.n;
  if (k === 0n) throw new PaceCryptoError('nonce: zero modulo the group order');
  return k;
}

/**
 * The mapped generator of Generic Mapping (ICAO 9303-11 §4.4.3.3.1): G' = s·G + H with
 * H = SK_Map·PK_Map,peer. Used for the worked-example checks; the protocol itself computes
 * SK_DH·G' in one step with {@link mappedPublicKey}.
 *
 * @example mapGenerator(bp256, s, skMapIfd, pkMapIc) // Appendix G: 8CED63C9…AE76FE522
 */
export function mapGenerator(group: EcGroup, s: Uint8Array, skMap: bigint, pkMapPeer: EcPoint): EcPoint {
  const h = group.multiply(skMap, pkMapPeer);
  const g = group.baseMultiply(nonceScalar(group, s)).add(h);
  if (g.is0()) throw new PaceCryptoError('mapping: the mapped generator is the point at infinity');
  return g;
}

/**
 * The ephemeral key-agreement public key PK_DH = SK_DH·G' on the mapped generator (ICAO 9303-11
 * §4.4.3.3.1, BSI TR-03110-3 §A.3.4.1). It is computed as (SK_DH·s)·G + (SK_DH·SK_Map)·PK_Map,peer
 * — the same point, since G' = s·G + SK_Map·PK_Map,peer — which needs one base-point and one
 * variable-point multiplication instead of a variable one for H, a base-point one for s·G and a
 * variable one on G' (the handshake's cost is these multiplications; curves.ts says which OpenSSL
 * route each takes).
 *
 * G' and H are never formed, but the checks they would get still hold: every point here lies in
 * the prime-order group (decodePoint refuses anything else), so with SK_DH in [1, n−1] the result
 * is the point at infinity exactly when G' is (refused, as §4.4.3.3.1 requires), and H = SK_Map·PK
 * cannot be infinity for a valid PK. A zero product of scalars mod n (s ≡ 0 is refused earlier)
 * cannot happen for a prime n, and is refused anyway.
 *
 * @example mappedPublicKey(bp256, s, skMapIfd, pkMapIc, skDhIfd) // Appendix G: 2DB7A64C…FBB36462
 */
export function mappedPublicKey(group: EcGroup, s: Uint8Array, skMap: bigint, pkMapPeer: EcPoint, skDh: bigint): EcPoint {
  const n = group.curve.n;
  const alpha = (skDh * nonceScalar(group, s)) % n;
  const beta = (skDh * skMap) % n;
  if (alpha === 0n || beta === 0n) throw new PaceCryptoError('key agreement: degenerate ephemeral key');
  const p = group.baseMultiply(alpha).add(group.multiply(beta, pkMapPeer));
  if (p.is0()) throw new PaceCryptoError('key agreement: the ephemeral public key is the point at infinity');
  return p;
}

/**
 * K = x(SK_DH·PK_DH,peer), the ECDH shared secret (ICAO 9303-11 §9.6, BSI TR-03111 §4.3.1).
 * Refuses a peer key equal to our own (ICAO 9303-11 §4.4.1 step 3 d).
 *
 * @example sharedSecret(bp256, skDhIfd, pkDhIc, pkDhIfd) // Appendix G: 28768D20…7DB84925
 */
export function sharedSecret(group: EcGroup, skDh: bigint, pkPeer: EcPoint, pkOwn: EcPoint): Uint8Array {
  if (pkPeer.equals(pkOwn)) throw new PaceCryptoError('key agreement: the peer sent our own ephemeral public key');
  return group.sharedX(skDh, pkPeer);
}

/**
 * KSenc = KDF(K, 1), KSmac = KDF(K, 2) (ICAO 9303-11 §4.4.1 step 3 e, §9.7.1).
 *
 * @example sessionKeys(suite, k).kMac // Appendix G: FE251C7858B356B24514B3BD5F4297D1
 */
export function sessionKeys(suite: PaceSuite, k: Uint8Array): { kEnc: Uint8Array; kMac: Uint8Array } {
  return { kEnc: kdf(k, 1, suite.kdf), kMac: kdf(k, 2, suite.kdf) };
}

// --- authentication tokens ------------------------------------------------------------------------

/**
 * The public key data object the token is computed over (ICAO 9303-11 §4.4.3.4, §9.4.5): 7F49
 * with the protocol OID (06) and, for ECDH, the uncompressed point (86) — no domain parameters.
 *
 * @example bytesToHex(tokenInput(suite, pk)).slice(0, 10) // '7F494F060A'
 */
export function tokenInput(suite: PaceSuite, publicKey: Uint8Array): Uint8Array {
  return tlvConstructed(0x7f49, encodeTlv(0x06, suite.oidBytes), encodeTlv(suite.agreement === 'ECDH' ? 0x86 : 0x84, publicKey));
}

/**
 * An authentication token: AES-CMAC(KSmac, 7F49 …) truncated to 8 bytes (ICAO 9303-11 §4.4.3.4,
 * §9.2). T_IFD covers the chip's PK_DH,IC; T_IC covers the terminal's PK_DH,IFD.
 *
 * @example authenticationToken(suite, kMac, pkDhIc) // Appendix G: T_IFD = C2B0BD78D94BA866
 */
export function authenticationToken(suite: PaceSuite, kMac: Uint8Array, publicKey: Uint8Array): Uint8Array {
  if (suite.cipher !== 'aes') throw new PaceCryptoError(`${suite.name}: only AES suites are implemented`);
  return aesCmac(kMac, tokenInput(suite, publicKey), 8);
}

/**
 * Constant-time token check (STYLE principle 7): a token compared with `===` would leak, byte by
 * byte, how much of a forged token is right.
 *
 * @example if (!tokenMatches(expected, tIfd)) throw new StatusWordError(0x6300)
 */
export function tokenMatches(expected: Uint8Array, received: Uint8Array): boolean {
  return constantTimeEqual(expected, received);
}
