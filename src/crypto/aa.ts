/**
 * Active Authentication (ICAO 9303-11 §6.1): the chip proves it holds the private key whose
 * public key is in EF.DG15 by signing the terminal's 8-byte challenge RND.IFD.
 *
 * - RSA: ISO/IEC 9796-2 scheme 1 with partial message recovery (`iso9796-2.ts`), M = M1 ‖ RND.IFD
 *   where M1 is a nonce the chip draws to fill F; SHA-1 with trailer `BC`, or another hash with
 *   trailer `hh CC` (§6.1.2). Signature = F^d mod n, k/8 bytes.
 * - ECDSA: a plain signature r ‖ s (BSI TR-03111 §5.2.1) over H(RND.IFD), with the hash DG14's
 *   ActiveAuthenticationInfo names (`ecdsa-plain-SHA*`, §9.2.9).
 *
 * The terminal verifies with the DG15 public key alone ({@link verifyActiveAuthentication}).
 *
 * EF.DG15 (ICAO 9303-10 §4.7.15) is `6F L SubjectPublicKeyInfo`.
 *
 * @example
 * const sig = aaSign({ type: 'rsa', pkcs8 }, rndIfd, { hash: 'sha1', nonce: rng.bytes(aaNonceLength(1024, 'sha1')) });
 * verifyActiveAuthentication(dg15PublicKeyInfo(dg15), rndIfd, sig).valid // true
 */
import { verify } from 'node:crypto';
import { ByteInputError, concatBytes } from '../bytes/index.js';
import { encodeTlv, parseTlv, TlvError } from '../tlv/ber.js';
import {
  AsymmetricCryptoError,
  decodeSubjectPublicKeyInfo,
  digest,
  ecdsaSignHash,
  publicKeyObject,
  rsaModulusBits,
  rsaPrivateRaw,
  rsaPublicRaw,
  type EcCurveName,
  type HashName,
  type PublicKeyInfo,
} from './asymmetric.js';
import { Iso9796Error, decodeScheme1, encodeScheme1, scheme1Capacity, verifyScheme1, type Iso9796Hash } from './iso9796-2.js';
import { activeAuthenticationInfo, type ActiveAuthenticationInfo, type OtherSecurityInfo } from './security-infos.js';

/** ICAO 9303-11 §6.1: RND.IFD is 8 bytes. */
export const AA_CHALLENGE_LENGTH = 8;

/** ecdsa-plain-signatures (BSI TR-03111 §5.2.1): bsi-de algorithms(1) ecc(1) signatures(4) ecdsa-plain(1). */
const ECDSA_PLAIN = '0.4.0.127.0.7.1.1.4.1';

/** The ecdsa-plain-SHA* OIDs ActiveAuthenticationInfo.signatureAlgorithm takes, per hash. */
export const ECDSA_PLAIN_OID: Readonly<Record<HashName, string>> = Object.freeze({
  sha1: `${ECDSA_PLAIN}.1`,
  sha224: `${ECDSA_PLAIN}.2`,
  sha256: `${ECDSA_PLAIN}.3`,
  sha384: `${ECDSA_PLAIN}.4`,
  sha512: `${ECDSA_PLAIN}.5`,
});

/**
 * The hash of an ecdsa-plain-SHA* OID, or `undefined`.
 *
 * @example ecdsaPlainHash('0.4.0.127.0.7.1.1.4.1.3') // 'sha256'
 */
export function ecdsaPlainHash(oid: string): HashName | undefined {
  return (Object.keys(ECDSA_PLAIN_OID) as HashName[]).find((h) => ECDSA_PLAIN_OID[h] === oid);
}

/**
 * DG14's ActiveAuthenticationInfo for ECDSA Active Authentication with `hash`.
 *
 * @example encodeSecurityInfos([aaSecurityInfo('sha256'), …])
 */
export function aaSecurityInfo(hash: HashName): OtherSecurityInfo {
  return activeAuthenticationInfo({ version: 1, signatureAlgorithm: ECDSA_PLAIN_OID[hash] });
}

/**
 * EF.DG15 content for a SubjectPublicKeyInfo (ICAO 9303-10 §4.7.15: tag 6F).
 *
 * @example dg15Content(spki) // 6F 81 A2 30 81 9F …
 */
export function dg15Content(spki: Uint8Array): Uint8Array {
  return encodeTlv(0x6f, spki);
}

/**
 * The SubjectPublicKeyInfo inside EF.DG15 (bytes after the object are ignored: a READ BINARY of a
 * larger file). Throws {@link AsymmetricCryptoError}.
 *
 * @example decodeSubjectPublicKeyInfo(dg15PublicKeyInfo(dg15))
 */
export function dg15PublicKeyInfo(dg15: Uint8Array): Uint8Array {
  try {
    const t = parseTlv(dg15.subarray(0, tlvLength(dg15)));
    if (t.tag !== 0x6f) throw new AsymmetricCryptoError('EF.DG15: expected tag 6F');
    return t.value.slice();
  } catch (e) {
    if (e instanceof TlvError) throw new AsymmetricCryptoError(`EF.DG15: ${e.message}`);
    throw e;
  }
}

/** Length of the first BER-TLV object in `b` (header + value), or b.length when unreadable. */
function tlvLength(b: Uint8Array): number {
  if (b.length < 2) return b.length;
  let o = 1;
  if ((b[0]! & 0x1f) === 0x1f) while (o < b.length && (b[o++]! & 0x80) !== 0);
  const l = b[o];
  if (l === undefined) return b.length;
  if (l < 0x80) return Math.min(b.length, o + 1 + l);
  const n = l & 0x7f;
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + (b[o + 1 + i] ?? 0);
  return Math.min(b.length, o + 1 + n + v);
}

/**
 * Length of the nonce M1 an RSA chip draws: the capacity of F (ICAO 9303-11 §6.1.2, c − 4 bits of
 * Appendix F rounded to bytes).
 *
 * @example aaNonceLength(1024, 'sha1') // 106
 */
export function aaNonceLength(modulusBits: number, hash: Iso9796Hash): number {
  return scheme1Capacity(modulusBits, { hash });
}

/** The AA private key: RSA as PKCS#8, EC as its scalar on a named curve. */
export type AaPrivateKey = { readonly type: 'rsa'; readonly pkcs8: Uint8Array } | { readonly type: 'ec'; readonly curve: EcCurveName; readonly d: Uint8Array };

/**
 * The chip's signature over RND.IFD. RSA needs `nonce` = M1 of {@link aaNonceLength} bytes (drawn
 * from the card RNG, so a replay of Appendix F feeds it).
 *
 * @example aaSign({ type: 'ec', curve: 'P-256', d }, rndIfd, { hash: 'sha256' })
 */
export function aaSign(key: AaPrivateKey, challenge: Uint8Array, opts: { hash: Iso9796Hash; nonce?: Uint8Array }): Uint8Array {
  if (key.type === 'ec') {
    if (opts.hash === 'ripemd160' || opts.hash === 'sha512-224' || opts.hash === 'sha512-256') {
      throw new ByteInputError(`hash: ECDSA Active Authentication uses SHA-1/224/256/384/512, not ${opts.hash}`);
    }
    return ecdsaSignHash(key.curve, key.d, digest(opts.hash, challenge));
  }
  const bits = rsaModulusBits(key.pkcs8);
  const capacity = scheme1Capacity(bits, { hash: opts.hash });
  if (opts.nonce === undefined || opts.nonce.length !== capacity) {
    throw new ByteInputError(`nonce: RSA Active Authentication with ${bits} bits and ${opts.hash} needs M1 of ${capacity} bytes`);
  }
  const { representative } = encodeScheme1(concatBytes(opts.nonce, challenge), bits, { hash: opts.hash });
  return rsaPrivateRaw(key.pkcs8, representative);
}

/** The outcome of verifying an Active Authentication response. */
export interface AaVerification {
  readonly valid: boolean;
  readonly algorithm: 'rsa-iso9796-2' | 'ecdsa';
  /** The hash the signature uses (from the trailer for RSA, from DG14 for ECDSA). */
  readonly hash: Iso9796Hash | undefined;
  /** Why it is not valid (never key bytes). */
  readonly reason?: string;
  /** RSA: the recovered nonce M1. */
  readonly recovered?: Uint8Array;
}

/**
 * The terminal's check (ICAO 9303-11 §6.1.2 steps 12–18 for RSA): recovers F = s^e mod n,
 * checks header and trailer, and compares H(M1 ‖ RND.IFD); for ECDSA verifies r ‖ s over
 * H(RND.IFD) with the hash from DG14's ActiveAuthenticationInfo (`info` or `hash`), in OpenSSL.
 *
 * @example verifyActiveAuthentication(dg15PublicKeyInfo(dg15), rndIfd, signature).valid
 */
export function verifyActiveAuthentication(
  publicKey: Uint8Array | PublicKeyInfo,
  challenge: Uint8Array,
  signature: Uint8Array,
  opts: { info?: ActiveAuthenticationInfo; hash?: HashName } = {},
): AaVerification {
  const key = publicKey instanceof Uint8Array ? decodeSubjectPublicKeyInfo(publicKey) : publicKey;
  if (key.type === 'rsa') {
    let f: Uint8Array;
    try {
      f = rsaPublicRaw(key, signature);
    } catch (e) {
      if (e instanceof AsymmetricCryptoError) return { valid: false, algorithm: 'rsa-iso9796-2', hash: undefined, reason: e.message };
      throw e;
    }
    // s^e mod n is returned at modulus length; F is the k/8 bytes of a whole-byte modulus.
    try {
      const d = decodeScheme1(f);
      if (!d.partial) return { valid: false, algorithm: 'rsa-iso9796-2', hash: d.hash, reason: 'F is not a partial-recovery representative' };
      const ok = verifyScheme1(d, challenge);
      return ok
        ? { valid: true, algorithm: 'rsa-iso9796-2', hash: d.hash, recovered: d.recovered }
        : { valid: false, algorithm: 'rsa-iso9796-2', hash: d.hash, reason: 'H(M1 ‖ RND.IFD) does not match' };
    } catch (e) {
      if (e instanceof Iso9796Error) return { valid: false, algorithm: 'rsa-iso9796-2', hash: undefined, reason: e.message };
      throw e;
    }
  }
  const hash = opts.hash ?? (opts.info ? ecdsaPlainHash(opts.info.signatureAlgorithm) : undefined);
  if (hash === undefined) {
    return { valid: false, algorithm: 'ecdsa', hash: undefined, reason: 'ECDSA needs the hash of DG14 ActiveAuthenticationInfo' };
  }
  if (key.curve === undefined) return { valid: false, algorithm: 'ecdsa', hash, reason: 'the DG15 key is on a curve chipwright does not implement' };
  // Verified by OpenSSL, the chip signs with @noble/curves: two implementations check each other.
  const ok = signature.length === 2 * Math.ceil(key.parameters.n.toString(2).length / 8) &&
    verify(hash, challenge, { key: publicKeyObject(key), dsaEncoding: 'ieee-p1363' }, signature);
  return ok ? { valid: true, algorithm: 'ecdsa', hash } : { valid: false, algorithm: 'ecdsa', hash, reason: 'ECDSA signature does not verify' };
}
