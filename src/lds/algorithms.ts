/**
 * The hash and signature algorithms an EF.SOD may name (ICAO 9303-12 §4.4.5 and Appendix; RFC
 * 5754, RFC 3279, RFC 4055), mapped to Node's crypto. Hashing and verification use Node only.
 *
 * @example digestBytes('SHA-256', dg1) // 32 bytes
 */
import { constants, createHash, createPrivateKey, sign, verify, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import { LdsError } from './errors.js';
import { algorithm, sequence, smallInt, isContext, children, type Block } from './_asn1.js';

export const HASH_ALGORITHMS = Object.freeze({
  'SHA-1': { oid: '1.3.14.3.2.26', node: 'sha1', length: 20 },
  'SHA-224': { oid: '2.16.840.1.101.3.4.2.4', node: 'sha224', length: 28 },
  'SHA-256': { oid: '2.16.840.1.101.3.4.2.1', node: 'sha256', length: 32 },
  'SHA-384': { oid: '2.16.840.1.101.3.4.2.2', node: 'sha384', length: 48 },
  'SHA-512': { oid: '2.16.840.1.101.3.4.2.3', node: 'sha512', length: 64 },
} as const);
export type HashAlgorithm = keyof typeof HASH_ALGORITHMS;

/** The hash a digest AlgorithmIdentifier OID names, if chipwright knows it. */
export function hashByOid(oid: string): HashAlgorithm | undefined {
  for (const [name, h] of Object.entries(HASH_ALGORITHMS)) if (h.oid === oid) return name as HashAlgorithm;
  return undefined;
}

export function digestBytes(alg: HashAlgorithm, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(HASH_ALGORITHMS[alg].node).update(data).digest());
}

/** Signature algorithm OIDs: hash and key family. `undefined` hash = taken from the digest algorithm. */
const SIGNATURES: Readonly<Record<string, { readonly name: string; readonly family: 'ec' | 'rsa' | 'rsa-pss'; readonly hash?: HashAlgorithm }>> = {
  '1.2.840.10045.4.1': { name: 'ecdsa-with-SHA1', family: 'ec', hash: 'SHA-1' },
  '1.2.840.10045.4.3.1': { name: 'ecdsa-with-SHA224', family: 'ec', hash: 'SHA-224' },
  '1.2.840.10045.4.3.2': { name: 'ecdsa-with-SHA256', family: 'ec', hash: 'SHA-256' },
  '1.2.840.10045.4.3.3': { name: 'ecdsa-with-SHA384', family: 'ec', hash: 'SHA-384' },
  '1.2.840.10045.4.3.4': { name: 'ecdsa-with-SHA512', family: 'ec', hash: 'SHA-512' },
  '1.2.840.10045.2.1': { name: 'ecPublicKey (hash from the digest algorithm)', family: 'ec' },
  '1.2.840.113549.1.1.1': { name: 'rsaEncryption (hash from the digest algorithm)', family: 'rsa' },
  '1.2.840.113549.1.1.5': { name: 'sha1WithRSAEncryption', family: 'rsa', hash: 'SHA-1' },
  '1.2.840.113549.1.1.14': { name: 'sha224WithRSAEncryption', family: 'rsa', hash: 'SHA-224' },
  '1.2.840.113549.1.1.11': { name: 'sha256WithRSAEncryption', family: 'rsa', hash: 'SHA-256' },
  '1.2.840.113549.1.1.12': { name: 'sha384WithRSAEncryption', family: 'rsa', hash: 'SHA-384' },
  '1.2.840.113549.1.1.13': { name: 'sha512WithRSAEncryption', family: 'rsa', hash: 'SHA-512' },
  '1.2.840.113549.1.1.10': { name: 'RSASSA-PSS', family: 'rsa-pss' },
};

const MGF1 = '1.2.840.113549.1.1.8';

/** A readable name for a signature algorithm OID. */
export function signatureName(oid: string): string {
  return SIGNATURES[oid]?.name ?? oid;
}

/**
 * RSASSA-PSS-params (RFC 4055 §3.1): hash (default SHA-1), MGF1 with a hash (must be the same
 * here: Node uses one digest for both) and the salt length (default 20).
 */
function pssParams(p: Block | undefined): { hash: HashAlgorithm; saltLength: number } {
  let hash: HashAlgorithm = 'SHA-1';
  let mgfHash: HashAlgorithm = 'SHA-1';
  let saltLength = 20;
  if (p !== undefined && !(p instanceof asn1js.Null)) {
    for (const f of sequence(p, 'RSASSA-PSS parameters')) {
      const inner = children(f, 'RSASSA-PSS parameter')[0];
      if (isContext(f, 0)) {
        const h = hashByOid(algorithm(inner, 'PSS hash').oid);
        if (h === undefined) throw new LdsError('RSASSA-PSS: unknown hash algorithm');
        hash = h;
      } else if (isContext(f, 1)) {
        const mgf = algorithm(inner, 'PSS mask generation');
        if (mgf.oid !== MGF1) throw new LdsError('RSASSA-PSS: mask generation function is not MGF1');
        const h = hashByOid(algorithm(mgf.parameters, 'MGF1 hash').oid);
        if (h === undefined) throw new LdsError('RSASSA-PSS: unknown MGF1 hash');
        mgfHash = h;
      } else if (isContext(f, 2)) saltLength = smallInt(inner, 'PSS salt length');
    }
  }
  if (mgfHash !== hash) throw new LdsError(`RSASSA-PSS with ${hash} and MGF1-${mgfHash} is not supported`);
  return { hash, saltLength };
}

/**
 * Verifies `signature` over `data` with `key` as the signature AlgorithmIdentifier says;
 * `digestAlgorithm` supplies the hash for OIDs that do not name one. Throws an {@link LdsError}
 * for an algorithm chipwright does not know (the caller reports "not checked", not "invalid").
 */
export function verifySignature(
  alg: { oid: string; parameters: Block | undefined },
  digestAlgorithm: HashAlgorithm | undefined,
  data: Uint8Array,
  signature: Uint8Array,
  key: KeyObject,
): boolean {
  const s = SIGNATURES[alg.oid];
  if (s === undefined) throw new LdsError(`signature algorithm ${alg.oid} is not supported`);
  const family = key.asymmetricKeyType === 'ec' ? 'ec' : key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss' ? 'rsa' : 'other';
  if ((s.family === 'ec') !== (family === 'ec') || family === 'other') {
    throw new LdsError(`signature algorithm ${s.name} does not fit the signer's ${key.asymmetricKeyType ?? 'unknown'} key`);
  }
  if (s.family === 'rsa-pss') {
    const p = pssParams(alg.parameters);
    return verify(HASH_ALGORITHMS[p.hash].node, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: p.saltLength }, signature);
  }
  const hash = s.hash ?? digestAlgorithm;
  if (hash === undefined) throw new LdsError(`signature algorithm ${s.name} needs a known digest algorithm`);
  if (s.family === 'ec') return verify(HASH_ALGORITHMS[hash].node, data, { key, dsaEncoding: 'der' }, signature);
  return verify(HASH_ALGORITHMS[hash].node, data, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
}

/**
 * The signature AlgorithmIdentifier chipwright writes for a key and hash: ecdsa-with-SHAx (no
 * parameters, RFC 5758 §3.2) or shaxWithRSAEncryption (NULL parameters, RFC 4055 §5).
 */
export function signatureAlgorithmFor(key: KeyObject, hash: HashAlgorithm): { oid: string; nullParameters: boolean } {
  const family = key.asymmetricKeyType === 'ec' ? 'ec' : key.asymmetricKeyType === 'rsa' ? 'rsa' : undefined;
  if (family === undefined) throw new LdsError(`signing key type ${key.asymmetricKeyType ?? 'unknown'} is not supported (ECDSA or RSA)`);
  const entry = Object.entries(SIGNATURES).find(([, v]) => v.family === family && v.hash === hash);
  if (entry === undefined) throw new LdsError(`no ${family === 'ec' ? 'ECDSA' : 'RSA'} signature algorithm with ${hash}`);
  return { oid: entry[0], nullParameters: family === 'rsa' };
}

/** Signs `data` (ECDSA signatures DER-encoded, RSA with PKCS #1 v1.5). */
export function signWith(key: KeyObject, hash: HashAlgorithm, data: Uint8Array): Uint8Array {
  signatureAlgorithmFor(key, hash);
  const node = HASH_ALGORITHMS[hash].node;
  if (key.asymmetricKeyType === 'ec') return new Uint8Array(sign(node, data, { key, dsaEncoding: 'der' }));
  return new Uint8Array(sign(node, data, { key, padding: constants.RSA_PKCS1_PADDING }));
}

const keyObjects = new WeakMap<Uint8Array, KeyObject>();

/**
 * The OpenSSL key object of a PKCS#8 private key (DER), made once per byte array: importing an
 * RSA key re-validates it (~1 ms), which a batch signing thousands of EF.SODs with one document
 * signer should pay once. Keyed by the array's identity, so changed bytes in a new array are a new key.
 */
export function privateKeyObject(pkcs8: Uint8Array): KeyObject {
  let k = keyObjects.get(pkcs8);
  if (k === undefined) {
    k = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
    keyObjects.set(pkcs8, k);
  }
  return k;
}
