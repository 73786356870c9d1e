/**
 * Asymmetric cryptography for the card's key store and its terminal-side counterparts: RSA
 * (PKCS#1 v1.5 and PSS signatures, OAEP decryption, the raw operation ISO/IEC 9796-2 needs), ECDSA
 * with plain r ‖ s signatures (BSI TR-03111 §5.2.1) and ECDH (TR-03111 §4.3.1), key generation,
 * and the public-key encodings the card speaks: SubjectPublicKeyInfo (RFC 5280 §4.1.2.7, as in
 * DG14/DG15) and the ISO/IEC 7816-8 public key data object `7F49` (TR-03110-3 §D.3).
 *
 * Who computes what:
 * - RSA private operations run in OpenSSL (`node:crypto`) from a PKCS#8 key; the raw operation
 *   (`RSA_NO_PADDING`) serves ISO/IEC 9796-2 and PSS, whose encodings are built here because the
 *   card is handed a hash, not the message (`crypto.sign` would hash again).
 * - ECDSA over a hash and EC key generation use @noble/curves (deterministic k per RFC 6979, so a
 *   published example replays byte for byte; `crypto.sign` cannot sign a bare hash); ECDH uses
 *   the groups of `curves.ts` (OpenSSL-backed multiplication).
 *
 * Secrets: private keys are PKCS#8 DER (RSA) or the scalar d (EC), owned by the caller; copies
 * made here are zeroized. Errors name the operation and the problem, never key bytes.
 *
 * @example
 * const k = generateEcKeyPair('P-256', (n) => randomBytes(n));
 * const sig = ecdsaSignHash('P-256', k.d, digest('sha256', message)); // r ‖ s, 64 bytes
 */
import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  privateDecrypt,
  privateEncrypt,
  publicEncrypt,
  type KeyObject,
} from 'node:crypto';
import * as asn1js from 'asn1js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { brainpoolP256r1, brainpoolP384r1, brainpoolP512r1 } from '@noble/curves/misc.js';
import type { ECDSA } from '@noble/curves/abstract/weierstrass.js';
import { ByteInputError, concatBytes, equalBytes, hexToBytes, zeroize } from '../bytes/index.js';
import { encodeTlv, parseTlv, tlvConstructed, TlvError, type Tlv } from '../tlv/ber.js';
import { derAlgorithm, derBitString, derInteger, derNull, derOid, derSequence } from '../tlv/der.js';
import { EcPointError, bytesToBigint, encodeEcParameters, randomScalar, scalarBytes, standardizedGroup, type CurveParameters, type EcGroup } from './curves.js';
import { SecurityInfoError, decodeEcParametersDer } from './security-infos.js';

/** A failure of an asymmetric operation caused by its input (bad padding, wrong length, not a point). */
export class AsymmetricCryptoError extends Error {
  override readonly name = 'AsymmetricCryptoError';
}

// --- hashes and DigestInfo --------------------------------------------------------------------------

/** Hash functions the key store signs with (FIPS 180-4). */
export const HASHES = ['sha1', 'sha224', 'sha256', 'sha384', 'sha512'] as const;
export type HashName = (typeof HASHES)[number];

/** Output length in bytes of each hash. */
export const HASH_LENGTH: Readonly<Record<HashName, number>> = Object.freeze({ sha1: 20, sha224: 28, sha256: 32, sha384: 48, sha512: 64 });

/**
 * The hash of a given output length (20 SHA-1, 28 SHA-224, 32 SHA-256, 48 SHA-384, 64 SHA-512) —
 * how the card reads a bare hash handed to PSO COMPUTE DIGITAL SIGNATURE.
 *
 * @example hashOfLength(32) // 'sha256'
 */
export function hashOfLength(n: number): HashName | undefined {
  return HASHES.find((h) => HASH_LENGTH[h] === n);
}

/**
 * H(data).
 *
 * @example digest('sha256', new TextEncoder().encode('sample'))
 */
export function digest(hash: HashName, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(hash).update(data).digest());
}

/** DER prefixes of DigestInfo per hash (RFC 8017 §9.2, note 1): prefix ‖ H is the DigestInfo. */
const DIGEST_INFO_PREFIX: Readonly<Record<HashName, Uint8Array>> = Object.freeze({
  sha1: hexToBytes('3021300906052B0E03021A05000414'),
  sha224: hexToBytes('302D300D06096086480165030402040500041C'),
  sha256: hexToBytes('3031300D060960864801650304020105000420'),
  sha384: hexToBytes('3041300D060960864801650304020205000430'),
  sha512: hexToBytes('3051300D060960864801650304020305000440'),
});

/**
 * DigestInfo ::= SEQUENCE { digestAlgorithm AlgorithmIdentifier, digest OCTET STRING } for a
 * hash value (RFC 8017 §9.2 step 2).
 *
 * @example digestInfo('sha256', h) // 30 31 30 0D 06 09 608648016503040201 05 00 04 20 ‖ h
 */
export function digestInfo(hash: HashName, value: Uint8Array): Uint8Array {
  if (value.length !== HASH_LENGTH[hash]) throw new ByteInputError(`digestInfo: a ${hash} hash is ${HASH_LENGTH[hash]} bytes, got ${value.length}`);
  return concatBytes(DIGEST_INFO_PREFIX[hash], value);
}

/**
 * Reads a DigestInfo (exactly one of the RFC 8017 encodings), or `undefined`.
 *
 * @example parseDigestInfo(digestInfo('sha1', h))?.hash // 'sha1'
 */
export function parseDigestInfo(der: Uint8Array): { hash: HashName; value: Uint8Array } | undefined {
  for (const hash of HASHES) {
    const p = DIGEST_INFO_PREFIX[hash];
    if (der.length === p.length + HASH_LENGTH[hash] && equalBytes(der.subarray(0, p.length), p)) {
      return { hash, value: der.slice(p.length) };
    }
  }
  return undefined;
}

// --- curves ------------------------------------------------------------------------------------------

/** Named curves for on-card EC keys: those `curves.ts` implements (ICAO 9303-11 §9.5.1 IDs). */
export const EC_CURVES = ['P-256', 'P-384', 'P-521', 'brainpoolP256r1', 'brainpoolP384r1', 'brainpoolP512r1'] as const;
export type EcCurveName = (typeof EC_CURVES)[number];

interface CurveInfo {
  /** Standardized domain parameter ID (ICAO 9303-11 §9.5.1 Table 7). */
  readonly id: number;
  /** namedCurve OID (RFC 5480 §2.1.1.1, RFC 5639 §4.1). */
  readonly oid: string;
  readonly ecdsa: ECDSA;
}

const CURVES: Readonly<Record<EcCurveName, CurveInfo>> = Object.freeze({
  'P-256': { id: 12, oid: '1.2.840.10045.3.1.7', ecdsa: p256 },
  'P-384': { id: 15, oid: '1.3.132.0.34', ecdsa: p384 },
  'P-521': { id: 18, oid: '1.3.132.0.35', ecdsa: p521 },
  brainpoolP256r1: { id: 13, oid: '1.3.36.3.3.2.8.1.1.7', ecdsa: brainpoolP256r1 },
  brainpoolP384r1: { id: 16, oid: '1.3.36.3.3.2.8.1.1.11', ecdsa: brainpoolP384r1 },
  brainpoolP512r1: { id: 17, oid: '1.3.36.3.3.2.8.1.1.13', ecdsa: brainpoolP512r1 },
});

/**
 * True for a curve name the key store supports.
 *
 * @example isEcCurve('P-256') // true
 */
export function isEcCurve(name: unknown): name is EcCurveName {
  return typeof name === 'string' && (EC_CURVES as readonly string[]).includes(name);
}

/**
 * The group of a named curve (for ECDH and point checks).
 *
 * @example ecGroup('brainpoolP256r1').fieldLength // 32
 */
export function ecGroup(curve: EcCurveName): EcGroup {
  return standardizedGroup(CURVES[curve].id)!;
}

/**
 * The standardized domain parameter ID of a named curve (12 = P-256, 13 = brainpoolP256r1, …).
 *
 * @example curveParameterId('P-384') // 15
 */
export function curveParameterId(curve: EcCurveName): number {
  return CURVES[curve].id;
}

/**
 * The named curve with these parameters, or `undefined` (an explicit curve chipwright does not name).
 *
 * @example curveByParameters(decodeEcParametersDer(der).curve) // 'brainpoolP256r1'
 */
export function curveByParameters(p: CurveParameters): EcCurveName | undefined {
  return EC_CURVES.find((name) => {
    const c = ecGroup(name).curve;
    return c.p === p.p && c.a === p.a && c.b === p.b && c.n === p.n && c.Gx === p.Gx && c.Gy === p.Gy && c.h === p.h;
  });
}

function curveByOid(oid: string): EcCurveName | undefined {
  return EC_CURVES.find((name) => CURVES[name].oid === oid);
}

// --- public keys ---------------------------------------------------------------------------------------

/** A decoded public key. EC keys keep their domain parameters (named or explicit). */
export type PublicKeyInfo =
  | { readonly type: 'rsa'; readonly modulus: Uint8Array; readonly exponent: Uint8Array; readonly bits: number }
  | {
      readonly type: 'ec';
      /** The named curve, when the parameters are those of one chipwright implements. */
      readonly curve: EcCurveName | undefined;
      readonly parameters: CurveParameters;
      readonly fieldLength: number;
      /** Uncompressed point 04 ‖ x ‖ y (BSI TR-03111 §3.2.1). */
      readonly point: Uint8Array;
    };

const RSA_ENCRYPTION_OID = '1.2.840.113549.1.1.1';
const EC_PUBLIC_KEY_OID = '1.2.840.10045.2.1';

function stripZeros(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

function bitLength(b: Uint8Array): number {
  const v = stripZeros(b);
  if (v.length === 1 && v[0] === 0) return 0;
  return (v.length - 1) * 8 + (32 - Math.clz32(v[0]!));
}

function parseDer(der: Uint8Array, title: string): asn1js.AsnType {
  const r = asn1js.fromBER(der);
  if (r.offset !== der.length || r.result.error) throw new AsymmetricCryptoError(`${title}: malformed DER`);
  return r.result;
}

function seq(b: asn1js.AsnType | undefined, title: string): asn1js.AsnType[] {
  if (!(b instanceof asn1js.Sequence)) throw new AsymmetricCryptoError(`${title}: expected SEQUENCE`);
  return b.valueBlock.value;
}

function positiveInteger(b: asn1js.AsnType | undefined, title: string): Uint8Array {
  if (!(b instanceof asn1js.Integer)) throw new AsymmetricCryptoError(`${title}: expected INTEGER`);
  const v = b.valueBlock.valueHexView;
  if (v.length === 0 || (v[0]! & 0x80) !== 0) throw new AsymmetricCryptoError(`${title}: expected a positive INTEGER`);
  return stripZeros(new Uint8Array(v)).slice();
}

/**
 * Decodes a SubjectPublicKeyInfo (RFC 5280 §4.1.2.7): rsaEncryption (RFC 8017 Appendix A.1.1) or
 * id-ecPublicKey with a namedCurve or explicit ECParameters (RFC 5480, RFC 3279 §2.3.5) — the
 * forms DG15 and DG14 use. Throws {@link AsymmetricCryptoError}.
 *
 * @example decodeSubjectPublicKeyInfo(decodeDg15(dg15)).type // 'rsa'
 */
export function decodeSubjectPublicKeyInfo(der: Uint8Array): PublicKeyInfo {
  const [alg, key, ...rest] = seq(parseDer(der, 'SubjectPublicKeyInfo'), 'SubjectPublicKeyInfo');
  if (rest.length > 0) throw new AsymmetricCryptoError('SubjectPublicKeyInfo: unexpected elements');
  const [oid, params] = seq(alg, 'SubjectPublicKeyInfo.algorithm');
  if (!(oid instanceof asn1js.ObjectIdentifier)) throw new AsymmetricCryptoError('SubjectPublicKeyInfo.algorithm: expected OBJECT IDENTIFIER');
  if (!(key instanceof asn1js.BitString) || key.valueBlock.unusedBits !== 0) {
    throw new AsymmetricCryptoError('SubjectPublicKeyInfo.subjectPublicKey: expected a BIT STRING of whole bytes');
  }
  const bits = new Uint8Array(key.valueBlock.valueHexView);
  const algorithm = oid.valueBlock.toString();
  if (algorithm === RSA_ENCRYPTION_OID) {
    const [n, e, ...more] = seq(parseDer(bits, 'RSAPublicKey'), 'RSAPublicKey');
    if (more.length > 0) throw new AsymmetricCryptoError('RSAPublicKey: unexpected elements');
    const modulus = positiveInteger(n, 'RSAPublicKey.modulus');
    return { type: 'rsa', modulus, exponent: positiveInteger(e, 'RSAPublicKey.publicExponent'), bits: bitLength(modulus) };
  }
  if (algorithm === EC_PUBLIC_KEY_OID) {
    let parameters: CurveParameters;
    let fieldLength: number;
    let curve: EcCurveName | undefined;
    if (params instanceof asn1js.ObjectIdentifier) {
      curve = curveByOid(params.valueBlock.toString());
      if (curve === undefined) throw new AsymmetricCryptoError(`SubjectPublicKeyInfo: named curve ${params.valueBlock.toString()} is not supported`);
      parameters = ecGroup(curve).curve;
      fieldLength = ecGroup(curve).fieldLength;
    } else if (params instanceof asn1js.Sequence) {
      try {
        ({ curve: parameters, fieldLength } = decodeEcParametersDer(new Uint8Array(params.valueBeforeDecodeView), 'SubjectPublicKeyInfo ECParameters'));
      } catch (e) {
        if (e instanceof SecurityInfoError) throw new AsymmetricCryptoError(e.message);
        throw e;
      }
      curve = curveByParameters(parameters);
    } else {
      throw new AsymmetricCryptoError('SubjectPublicKeyInfo: id-ecPublicKey needs a namedCurve or ECParameters');
    }
    if (bits.length !== 1 + 2 * fieldLength || bits[0] !== 0x04) {
      throw new AsymmetricCryptoError('SubjectPublicKeyInfo: expected an uncompressed EC point');
    }
    return { type: 'ec', curve, parameters, fieldLength, point: bits };
  }
  throw new AsymmetricCryptoError(`SubjectPublicKeyInfo: algorithm ${algorithm} is not RSA or EC`);
}

/**
 * DER SubjectPublicKeyInfo. EC keys get a namedCurve OID, or explicit ECParameters with
 * `explicit: true` (what DG14s commonly carry; needed for a curve without a name here).
 *
 * @example encodeSubjectPublicKeyInfo({ type: 'ec', curve: 'P-256', … }, { explicit: true })
 */
export function encodeSubjectPublicKeyInfo(info: PublicKeyInfo, opts: { explicit?: boolean } = {}): Uint8Array {
  if (info.type === 'rsa') {
    // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } (RFC 8017 Appendix A.1.1)
    const key = derSequence(derInteger(info.modulus), derInteger(info.exponent));
    return derSequence(derAlgorithm(RSA_ENCRYPTION_OID, derNull()), derBitString(key));
  }
  const params = opts.explicit === true || info.curve === undefined ? encodeEcParameters(info.parameters, info.fieldLength) : derOid(CURVES[info.curve].oid);
  return derSequence(derAlgorithm(EC_PUBLIC_KEY_OID, params), derBitString(info.point));
}

/**
 * The public key info of a named-curve point.
 *
 * @example ecPublicKeyInfo('P-256', point)
 */
export function ecPublicKeyInfo(curve: EcCurveName, point: Uint8Array): PublicKeyInfo {
  const g = ecGroup(curve);
  return { type: 'ec', curve, parameters: g.curve, fieldLength: g.fieldLength, point: point.slice() };
}

/**
 * A Node public KeyObject for a decoded key (RSA; EC on a named curve), for `crypto.verify`.
 *
 * @example crypto.verify('sha256', msg, { key: publicKeyObject(info), dsaEncoding: 'ieee-p1363' }, sig)
 */
export function publicKeyObject(info: PublicKeyInfo): KeyObject {
  if (info.type === 'rsa') {
    return createPublicKey({ key: { kty: 'RSA', n: b64url(info.modulus), e: b64url(info.exponent) }, format: 'jwk' });
  }
  if (info.curve === undefined) throw new AsymmetricCryptoError('public key: an explicit curve without a name cannot be used with OpenSSL here');
  return createPublicKey({ key: Buffer.from(encodeSubjectPublicKeyInfo(info)), format: 'der', type: 'spki' });
}

function b64url(b: Uint8Array): string {
  return Buffer.from(b).toString('base64url');
}

// --- 7F49 public key data object (ISO/IEC 7816-8 §5.1, BSI TR-03110-3 §D.3) ---------------------------

/**
 * The public key data object `7F49` GENERATE ASYMMETRIC KEY PAIR answers with: RSA `81` modulus,
 * `82` public exponent; EC `86` public point — with `domainParameters`, preceded by `81` p, `82` a,
 * `83` b, `84` G, `85` order n and followed by `87` cofactor h (TR-03110-3 §D.3.3).
 *
 * @example encodePublicKeyTemplate(info) // 7F49 43 86 41 04 …
 */
export function encodePublicKeyTemplate(info: PublicKeyInfo, opts: { domainParameters?: boolean } = {}): Uint8Array {
  if (info.type === 'rsa') return tlvConstructed(0x7f49, encodeTlv(0x81, stripZeros(info.modulus)), encodeTlv(0x82, stripZeros(info.exponent)));
  if (opts.domainParameters !== true) return tlvConstructed(0x7f49, encodeTlv(0x86, info.point));
  const c = info.parameters;
  const f = info.fieldLength;
  const g = concatBytes(new Uint8Array([0x04]), scalarBytes(c.Gx, f), scalarBytes(c.Gy, f));
  return tlvConstructed(
    0x7f49,
    encodeTlv(0x81, scalarBytes(c.p, f)),
    encodeTlv(0x82, scalarBytes(c.a, f)),
    encodeTlv(0x83, scalarBytes(c.b, f)),
    encodeTlv(0x84, g),
    encodeTlv(0x85, minimal(c.n)),
    encodeTlv(0x86, info.point),
    encodeTlv(0x87, minimal(c.h)),
  );
}

function minimal(v: bigint): Uint8Array {
  let hex = v.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  return hexToBytes(hex);
}

/**
 * Reads a `7F49` template. RSA when it holds 81 and 82 only; otherwise EC: with domain parameters
 * the curve comes from them, else from `curve`.
 *
 * @example decodePublicKeyTemplate(response, { curve: 'P-256' }).type // 'ec'
 */
export function decodePublicKeyTemplate(bytes: Uint8Array, opts: { curve?: EcCurveName } = {}): PublicKeyInfo {
  let t: Tlv;
  try {
    t = parseTlv(bytes);
  } catch (e) {
    if (e instanceof TlvError) throw new AsymmetricCryptoError(`7F49: ${e.message}`);
    throw e;
  }
  if (t.tag !== 0x7f49) throw new AsymmetricCryptoError('expected a public key data object 7F49');
  const get = (tag: number): Uint8Array | undefined => t.children?.find((c) => c.tag === tag)?.value;
  const point = get(0x86);
  if (point === undefined) {
    const n = get(0x81);
    const e = get(0x82);
    if (n === undefined || e === undefined) throw new AsymmetricCryptoError('7F49: neither 86 (EC point) nor 81/82 (RSA modulus and exponent)');
    return { type: 'rsa', modulus: stripZeros(n).slice(), exponent: stripZeros(e).slice(), bits: bitLength(n) };
  }
  const p = get(0x81);
  if (p !== undefined) {
    const [a, b, g, n, h] = [get(0x82), get(0x83), get(0x84), get(0x85), get(0x87)];
    if (a === undefined || b === undefined || g === undefined || n === undefined) throw new AsymmetricCryptoError('7F49: incomplete domain parameters');
    const f = p.length;
    if (g.length !== 1 + 2 * f || g[0] !== 0x04) throw new AsymmetricCryptoError('7F49: 84 (G) is not an uncompressed point');
    const parameters: CurveParameters = {
      p: bytesToBigint(p),
      a: bytesToBigint(a),
      b: bytesToBigint(b),
      Gx: bytesToBigint(g.subarray(1, 1 + f)),
      Gy: bytesToBigint(g.subarray(1 + f)),
      n: bytesToBigint(n),
      h: h === undefined ? 1n : bytesToBigint(h),
    };
    return { type: 'ec', curve: curveByParameters(parameters), parameters, fieldLength: f, point: point.slice() };
  }
  if (opts.curve === undefined) throw new AsymmetricCryptoError('7F49: an EC point without domain parameters needs the curve');
  return ecPublicKeyInfo(opts.curve, point);
}

// --- key generation ------------------------------------------------------------------------------------

/** A new RSA key pair: PKCS#8 private key (the caller owns and zeroizes it) and the public key. */
export interface RsaKeyPair {
  readonly pkcs8: Uint8Array;
  readonly publicKey: PublicKeyInfo & { readonly type: 'rsa' };
}

/**
 * Generates an RSA key in OpenSSL (FIPS 186-4 §B.3 primes; not reproducible from the card RNG).
 *
 * @example generateRsaKeyPair(2048).publicKey.bits // 2048
 */
export function generateRsaKeyPair(bits: number, publicExponent = 65537): RsaKeyPair {
  if (!Number.isInteger(bits) || bits < 1024 || bits > 4096 || bits % 8 !== 0) {
    throw new ByteInputError(`RSA key size: expected 1024..4096 bits in whole bytes, got ${bits}`);
  }
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits, publicExponent });
  return { pkcs8: new Uint8Array(privateKey.export({ type: 'pkcs8', format: 'der' })), publicKey: rsaInfo(publicKey) };
}

function rsaInfo(k: KeyObject): PublicKeyInfo & { readonly type: 'rsa' } {
  const jwk = k.export({ format: 'jwk' });
  const modulus = new Uint8Array(Buffer.from(jwk.n!, 'base64url'));
  return { type: 'rsa', modulus, exponent: new Uint8Array(Buffer.from(jwk.e!, 'base64url')), bits: bitLength(modulus) };
}

/**
 * The public key of an RSA PKCS#8 private key; throws for anything else.
 *
 * @example rsaPublicKey(pkcs8).bits
 */
export function rsaPublicKey(pkcs8: Uint8Array): PublicKeyInfo & { readonly type: 'rsa' } {
  return rsaInfo(createPublicKey(rsaPrivateKey(pkcs8)));
}

/** A new EC key pair: the scalar d (orderLength bytes; the caller zeroizes it) and the point. */
export interface EcKeyPair {
  readonly d: Uint8Array;
  readonly publicKey: PublicKeyInfo & { readonly type: 'ec' };
}

/**
 * Generates an EC key pair from `draw` (the card RNG, so a replay reproduces it).
 *
 * @example generateEcKeyPair('P-256', (n) => card.rng.bytes(n))
 */
export function generateEcKeyPair(curve: EcCurveName, draw: (n: number) => Uint8Array): EcKeyPair {
  const g = ecGroup(curve);
  const k = randomScalar(g, draw);
  return { d: scalarBytes(k, g.orderLength), publicKey: ecPublicKeyInfo(curve, g.encodePoint(g.baseMultiply(k))) as EcKeyPair['publicKey'] };
}

/**
 * The point d·G of a private scalar; throws when d is not in [1, n−1].
 *
 * @example ecPublicPoint('P-256', d)
 */
export function ecPublicPoint(curve: EcCurveName, d: Uint8Array): Uint8Array {
  const g = ecGroup(curve);
  const k = bytesToBigint(d);
  if (d.length !== g.orderLength || k <= 0n || k >= g.curve.n) throw new AsymmetricCryptoError(`EC private key: not a scalar of ${curve}`);
  return g.encodePoint(g.baseMultiply(k));
}

// --- RSA operations -------------------------------------------------------------------------------------

const rsaKeys = new WeakMap<Uint8Array, KeyObject>();

/** The OpenSSL key of a PKCS#8 buffer, parsed once per buffer (the key store never mutates it). */
function rsaPrivateKey(pkcs8: Uint8Array): KeyObject {
  let k = rsaKeys.get(pkcs8);
  if (k === undefined) {
    try {
      k = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
    } catch {
      throw new AsymmetricCryptoError('RSA private key: not a PKCS#8 key');
    }
    if (k.asymmetricKeyType !== 'rsa') throw new AsymmetricCryptoError('RSA private key: PKCS#8 holds another key type');
    rsaKeys.set(pkcs8, k);
  }
  return k;
}

/**
 * Modulus length in bits of an RSA PKCS#8 key.
 *
 * @example rsaModulusBits(pkcs8) // 2048
 */
export function rsaModulusBits(pkcs8: Uint8Array): number {
  return rsaPrivateKey(pkcs8).asymmetricKeyDetails!.modulusLength!;
}

/**
 * The RSA private operation x^d mod n on a k-byte input below n (RFC 8017 §5.2.1 RSASP1) — what
 * ISO/IEC 9796-2 and PSS signatures apply to their encoded message.
 *
 * @example rsaPrivateRaw(pkcs8, representative)
 */
export function rsaPrivateRaw(pkcs8: Uint8Array, input: Uint8Array): Uint8Array {
  const k = rsaPrivateKey(pkcs8);
  const len = k.asymmetricKeyDetails!.modulusLength! / 8;
  if (input.length !== len) throw new AsymmetricCryptoError(`RSA: input must be ${len} bytes, got ${input.length}`);
  try {
    return new Uint8Array(privateDecrypt({ key: k, padding: constants.RSA_NO_PADDING }, input));
  } catch {
    throw new AsymmetricCryptoError('RSA: input is not below the modulus');
  }
}

/**
 * The RSA public operation s^e mod n (RFC 8017 §5.2.2 RSAVP1) on a signature of modulus length.
 *
 * @example rsaPublicRaw(info, signature) // the message representative F of ISO/IEC 9796-2
 */
export function rsaPublicRaw(info: PublicKeyInfo, input: Uint8Array): Uint8Array {
  if (info.type !== 'rsa') throw new AsymmetricCryptoError('RSA public operation needs an RSA key');
  const len = Math.ceil(info.bits / 8);
  if (input.length !== len) throw new AsymmetricCryptoError(`RSA: signature must be ${len} bytes, got ${input.length}`);
  try {
    return new Uint8Array(publicEncrypt({ key: publicKeyObject(info), padding: constants.RSA_NO_PADDING }, input));
  } catch {
    throw new AsymmetricCryptoError('RSA: signature is not below the modulus');
  }
}

/**
 * RSASSA-PKCS1-v1_5 signature of an encoded DigestInfo (RFC 8017 §8.2.1 with EMSA-PKCS1-v1_5
 * step 3 onwards): the padding is applied here, the DigestInfo is the caller's. Also serves client
 * authentication, where any data up to k − 11 bytes is signed this way.
 *
 * @example rsaPkcs1Sign(pkcs8, digestInfo('sha256', h))
 */
export function rsaPkcs1Sign(pkcs8: Uint8Array, encoded: Uint8Array): Uint8Array {
  const k = rsaPrivateKey(pkcs8);
  const len = k.asymmetricKeyDetails!.modulusLength! / 8;
  if (encoded.length > len - 11) throw new AsymmetricCryptoError(`RSA PKCS#1 v1.5: at most ${len - 11} bytes can be signed, got ${encoded.length}`);
  return new Uint8Array(privateEncrypt({ key: k, padding: constants.RSA_PKCS1_PADDING }, encoded));
}

/** MGF1 (RFC 8017 Appendix B.2.1). */
function mgf1(hash: HashName, seed: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const c = new Uint8Array(4);
  for (let counter = 0, o = 0; o < length; counter++) {
    c[0] = counter >>> 24;
    c[1] = (counter >>> 16) & 0xff;
    c[2] = (counter >>> 8) & 0xff;
    c[3] = counter & 0xff;
    const block = createHash(hash).update(seed).update(c).digest();
    out.set(block.subarray(0, Math.min(block.length, length - o)), o);
    o += block.length;
  }
  return out;
}

/**
 * EMSA-PSS-ENCODE (RFC 8017 §9.1.1) of a message hash with the given salt; MGF1 with the same hash.
 *
 * @example emsaPssEncode('sha256', mHash, salt, 2047)
 */
export function emsaPssEncode(hash: HashName, mHash: Uint8Array, salt: Uint8Array, emBits: number): Uint8Array {
  const hLen = HASH_LENGTH[hash];
  if (mHash.length !== hLen) throw new AsymmetricCryptoError(`PSS: a ${hash} hash is ${hLen} bytes, got ${mHash.length}`);
  const emLen = Math.ceil(emBits / 8);
  if (emLen < hLen + salt.length + 2) throw new AsymmetricCryptoError('PSS: the key is too short for this hash and salt');
  const h = createHash(hash).update(new Uint8Array(8)).update(mHash).update(salt).digest();
  const db = new Uint8Array(emLen - hLen - 1);
  db[db.length - salt.length - 1] = 0x01;
  db.set(salt, db.length - salt.length);
  const mask = mgf1(hash, h, db.length);
  for (let i = 0; i < db.length; i++) db[i]! ^= mask[i]!;
  db[0]! &= 0xff >>> (8 * emLen - emBits);
  return concatBytes(db, h, new Uint8Array([0xbc]));
}

/**
 * RSASSA-PSS signature of a message hash (RFC 8017 §8.1.1); salt length = hash length unless a
 * salt is given.
 *
 * @example rsaPssSign(pkcs8, 'sha256', mHash, rng.bytes(32))
 */
export function rsaPssSign(pkcs8: Uint8Array, hash: HashName, mHash: Uint8Array, salt: Uint8Array): Uint8Array {
  const modBits = rsaModulusBits(pkcs8);
  const em = emsaPssEncode(hash, mHash, salt, modBits - 1);
  const k = modBits / 8;
  const input = em.length === k ? em : concatBytes(new Uint8Array(k - em.length), em);
  return rsaPrivateRaw(pkcs8, input);
}

/**
 * RSAES-OAEP decryption (RFC 8017 §7.1.2), MGF1 with the same hash, empty label. Every failure is
 * the same {@link AsymmetricCryptoError}, so nothing tells a padding error from another (Manger).
 *
 * @example rsaOaepDecrypt(pkcs8, 'sha256', cryptogram)
 */
export function rsaOaepDecrypt(pkcs8: Uint8Array, hash: HashName, cryptogram: Uint8Array): Uint8Array {
  const k = rsaPrivateKey(pkcs8);
  try {
    return new Uint8Array(privateDecrypt({ key: k, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, cryptogram));
  } catch {
    throw new AsymmetricCryptoError('RSA-OAEP: decryption error');
  }
}

// --- EC operations ----------------------------------------------------------------------------------------

/**
 * ECDSA signature of a hash value (FIPS 186-5 §6.4.1; the hash is truncated to the order's bit
 * length), plain format r ‖ s (BSI TR-03111 §5.2.1). k is derived deterministically (RFC 6979).
 *
 * @example ecdsaSignHash('P-256', d, digest('sha256', msg)).length // 64
 */
export function ecdsaSignHash(curve: EcCurveName, d: Uint8Array, hash: Uint8Array): Uint8Array {
  if (hash.length === 0) throw new AsymmetricCryptoError('ECDSA: empty hash');
  try {
    return CURVES[curve].ecdsa.sign(hash, d, { prehash: false, lowS: false, format: 'compact' });
  } catch {
    throw new AsymmetricCryptoError(`ECDSA: not a private key of ${curve}`);
  }
}

/**
 * Verifies a plain ECDSA signature r ‖ s over a hash value.
 *
 * @example ecdsaVerifyHash('P-256', point, h, sig) // true
 */
export function ecdsaVerifyHash(curve: EcCurveName, point: Uint8Array, hash: Uint8Array, signature: Uint8Array): boolean {
  const n = ecGroup(curve).orderLength;
  if (signature.length !== 2 * n) return false;
  try {
    return CURVES[curve].ecdsa.verify(signature, hash, point, { prehash: false, lowS: false, format: 'compact' });
  } catch {
    return false;
  }
}

const ecKeys = new WeakMap<Uint8Array, KeyObject>();

/**
 * The OpenSSL key of a stored scalar and its public point (SEC 1 §C.4 ECPrivateKey), built once
 * per buffer: with the point given, OpenSSL does not recompute it, so a key agreement costs one
 * scalar multiplication instead of two.
 */
function ecPrivateKey(curve: EcCurveName, d: Uint8Array, own: Uint8Array): KeyObject {
  let k = ecKeys.get(d);
  if (k === undefined) {
    const der = new asn1js.Sequence({
      value: [
        new asn1js.Integer({ value: 1 }),
        new asn1js.OctetString({ valueHex: d }),
        new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [new asn1js.ObjectIdentifier({ value: CURVES[curve].oid })] }),
        new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 1 }, value: [new asn1js.BitString({ valueHex: own, unusedBits: 0 })] }),
      ],
    }).toBER();
    const bytes = new Uint8Array(der);
    try {
      k = createPrivateKey({ key: Buffer.from(bytes), format: 'der', type: 'sec1' });
    } finally {
      zeroize(bytes);
    }
    ecKeys.set(d, k);
  }
  return k;
}

/**
 * ECKA-DH (BSI TR-03111 §4.3.1): x(d · Q) for a peer point Q, checked to be on the curve and not
 * the point at infinity. `own` (d·G, which a key store keeps) lets OpenSSL skip recomputing it.
 * The caller zeroizes the result.
 *
 * @example ecdhSharedSecret('brainpoolP256r1', d, peerPoint) // 32 bytes
 */
export function ecdhSharedSecret(curve: EcCurveName, d: Uint8Array, peer: Uint8Array, own?: Uint8Array): Uint8Array {
  const g = ecGroup(curve);
  let q;
  try {
    q = g.decodePoint(peer);
  } catch (e) {
    if (e instanceof EcPointError) throw new AsymmetricCryptoError(`ECDH: ${e.message}`);
    throw e;
  }
  if (own !== undefined) {
    const publicKey = createPublicKey({ key: Buffer.from(encodeSubjectPublicKeyInfo(ecPublicKeyInfo(curve, peer))), format: 'der', type: 'spki' });
    return new Uint8Array(diffieHellman({ privateKey: ecPrivateKey(curve, d, own), publicKey }));
  }
  const copy = d.slice();
  try {
    return g.sharedX(bytesToBigint(copy), q);
  } finally {
    zeroize(copy);
  }
}
