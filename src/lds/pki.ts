/**
 * A test PKI for signed storage: a country signing CA (CSCA) and a document signer (DS) it
 * certifies, profiled after ICAO 9303-12 §7.1 (CSCA: basicConstraints CA with path length 0,
 * keyUsage keyCertSign + cRLSign, subject key identifier; DS: keyUsage digitalSignature,
 * authority key identifier). Both carry "TEST" in their names so nobody mistakes them for real
 * trust anchors. Certificates are written by `x509.ts`; keys and signatures come from Node's
 * crypto, so everything here is synchronous.
 *
 * Keys cross the module boundary as bytes: certificates as DER, private keys as PKCS#8 DER.
 *
 * @example
 * const pki = createTestPki();                         // ECDSA P-256
 * const sod = buildSod(files, pki.documentSigner);     // EF.SOD signed by the DS
 * verifySod(sod, files, [pki.csca.certificate]).verdict // 'valid'
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { LdsError } from './errors.js';
import { testName, writeCertificate } from './x509.js';

/** A certificate and its private key: DER and PKCS#8 DER. */
export interface CertifiedKey {
  readonly certificate: Uint8Array;
  readonly privateKey: Uint8Array;
}

export interface TestPki {
  readonly csca: CertifiedKey;
  readonly documentSigner: CertifiedKey;
}

export const SIGNING_KEY_TYPES = ['ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-3072'] as const;
export type SigningKeyType = (typeof SIGNING_KEY_TYPES)[number];

export interface TestPkiOptions {
  /** Default 'ecdsa-p256' (fast); 'rsa-2048' for readers that only know RSA. */
  readonly keyType?: SigningKeyType;
  /** ISO 3166-1 alpha-2 country in both names (default 'QA'). */
  readonly country?: string;
  /** Start of validity (default: now, minus one day for clock skew). */
  readonly now?: Date;
  /** CSCA validity in years (default 15) and DS validity in years (default 10). */
  readonly cscaYears?: number;
  readonly documentSignerYears?: number;
}

function generate(type: SigningKeyType): { publicKey: KeyObject; privateKey: KeyObject } {
  switch (type) {
    case 'ecdsa-p256':
      return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    case 'ecdsa-p384':
      return generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    case 'rsa-2048':
      return generateKeyPairSync('rsa', { modulusLength: 2048 });
    case 'rsa-3072':
      return generateKeyPairSync('rsa', { modulusLength: 3072 });
  }
}

function spkiOf(publicKey: KeyObject): Uint8Array {
  return new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
}

function pkcs8(key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ type: 'pkcs8', format: 'der' }));
}

function addYears(d: Date, years: number): Date {
  const out = new Date(d.getTime());
  out.setUTCFullYear(out.getUTCFullYear() + years);
  return out;
}

/**
 * Issues a document signer certificate under `csca` with a new key of `keyType`.
 *
 * @example issueDocumentSigner(pki.csca, { commonName: 'chipwright TEST Document Signer 2' })
 */
export function issueDocumentSigner(
  csca: CertifiedKey,
  opts: TestPkiOptions & { readonly commonName?: string } = {},
): CertifiedKey {
  const keyType = opts.keyType ?? 'ecdsa-p256';
  const cscaKey = createPrivateKey({ key: Buffer.from(csca.privateKey), format: 'der', type: 'pkcs8' });
  const start = opts.now ?? new Date(Date.now() - 86_400_000);
  const pair = generate(keyType);
  const der = writeCertificate({
    subject: testName({ country: opts.country ?? 'QA', commonName: opts.commonName ?? 'chipwright TEST Document Signer', serialNumber: '1' }),
    issuer: csca.certificate,
    publicKey: spkiOf(pair.publicKey),
    signer: cscaKey,
    notBefore: start,
    notAfter: addYears(start, opts.documentSignerYears ?? 10),
    keyUsage: 0x80, // digitalSignature (ICAO 9303-12 §7.1.1.2)
  });
  return { certificate: der, privateKey: pkcs8(pair.privateKey) };
}

/**
 * A CSCA and a document signer it certifies, both named "chipwright TEST …". Validity starts a
 * day before `now` (default: the current time) and runs 15 and 10 years.
 *
 * @example const { csca, documentSigner } = createTestPki({ keyType: 'rsa-2048' });
 */
export function createTestPki(opts: TestPkiOptions = {}): TestPki {
  const keyType = opts.keyType ?? 'ecdsa-p256';
  if (!(SIGNING_KEY_TYPES as readonly string[]).includes(keyType)) {
    throw new LdsError(`keyType: expected one of ${SIGNING_KEY_TYPES.join(', ')}, got "${String(keyType)}"`);
  }
  const start = opts.now !== undefined ? new Date(opts.now.getTime() - 86_400_000) : new Date(Date.now() - 86_400_000);
  const pair = generate(keyType);
  const der = writeCertificate({
    subject: testName({ country: opts.country ?? 'QA', commonName: 'chipwright TEST CSCA' }),
    publicKey: spkiOf(pair.publicKey),
    signer: pair.privateKey,
    notBefore: start,
    notAfter: addYears(start, opts.cscaYears ?? 15),
    keyUsage: 0x06, // keyCertSign, cRLSign (ICAO 9303-12 §7.1.1.1)
    ca: true,
  });
  const csca = { certificate: der, privateKey: pkcs8(pair.privateKey) };
  return { csca, documentSigner: issueDocumentSigner(csca, { ...opts, now: start }) };
}
