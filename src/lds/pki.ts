/**
 * A test PKI for signed storage: a country signing CA (CSCA) and a document signer (DS) it
 * certifies, profiled after ICAO 9303-12 §7.1 (CSCA: basicConstraints CA with path length 0,
 * keyUsage keyCertSign + cRLSign, subject key identifier; DS: keyUsage digitalSignature,
 * authority key identifier). Both carry "TEST" in their names so nobody mistakes them for real
 * trust anchors. Structures are built with pkijs; keys and signatures come from Node's crypto,
 * so everything here is synchronous.
 *
 * Keys cross the module boundary as bytes: certificates as DER, private keys as PKCS#8 DER.
 *
 * @example
 * const pki = createTestPki();                         // ECDSA P-256
 * const sod = buildSod(files, pki.documentSigner);     // EF.SOD signed by the DS
 * verifySod(sod, files, [pki.csca.certificate]).verdict // 'valid'
 */
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { signWith, signatureAlgorithmFor, type HashAlgorithm } from './algorithms.js';
import { LdsError } from './errors.js';

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

const OID_COUNTRY = '2.5.4.6';
const OID_ORGANIZATION = '2.5.4.10';
const OID_COMMON_NAME = '2.5.4.3';
const OID_SERIAL_NUMBER = '2.5.4.5';

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

/**
 * A distinguished name with one attribute per RDN (RFC 5280 §4.1.2.4, as CSCA and DS names are
 * written). pkijs would put every attribute into a single multi-valued RDN, so the Name is
 * encoded here and handed to pkijs as bytes.
 */
function name(country: string, cn: string, serial?: string): pkijs.RelativeDistinguishedNames {
  if (!/^[A-Z]{2}$/.test(country)) throw new LdsError(`country: expected an ISO 3166-1 alpha-2 code, got "${country}"`);
  const tv = [
    new pkijs.AttributeTypeAndValue({ type: OID_COUNTRY, value: new asn1js.PrintableString({ value: country }) }),
    new pkijs.AttributeTypeAndValue({ type: OID_ORGANIZATION, value: new asn1js.Utf8String({ value: 'chipwright TEST' }) }),
    new pkijs.AttributeTypeAndValue({ type: OID_COMMON_NAME, value: new asn1js.Utf8String({ value: cn }) }),
  ];
  if (serial !== undefined) tv.push(new pkijs.AttributeTypeAndValue({ type: OID_SERIAL_NUMBER, value: new asn1js.PrintableString({ value: serial }) }));
  const der = new asn1js.Sequence({ value: tv.map((a) => new asn1js.Set({ value: [a.toSchema()] })) }).toBER(false);
  return pkijs.RelativeDistinguishedNames.fromBER(der);
}

/** A positive serial number of 16 random bytes (RFC 5280 §4.1.2.2: at most 20 octets). */
function serialNumber(): asn1js.Integer {
  const s = new Uint8Array(randomBytes(16));
  s[0] = (s[0]! & 0x7f) | 0x01;
  return new asn1js.Integer({ valueHex: s });
}

/** Subject key identifier: SHA-1 of the subjectPublicKey bits (RFC 5280 §4.2.1.2, method 1). */
function keyIdentifier(spki: pkijs.PublicKeyInfo): Uint8Array {
  return new Uint8Array(createHash('sha1').update(spki.subjectPublicKey.valueBlock.valueHexView).digest());
}

function keyUsage(bits: number, unused: number): pkijs.Extension {
  const value = new asn1js.BitString({ valueHex: new Uint8Array([bits]), unusedBits: unused });
  return new pkijs.Extension({ extnID: '2.5.29.15', critical: true, extnValue: value.toBER(false) });
}

function hashFor(type: SigningKeyType): HashAlgorithm {
  return type === 'ecdsa-p384' ? 'SHA-384' : 'SHA-256';
}

interface CertificateSpec {
  readonly subject: pkijs.RelativeDistinguishedNames;
  readonly issuer: pkijs.RelativeDistinguishedNames;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly extensions: readonly pkijs.Extension[];
  readonly signer: KeyObject;
  readonly hash: HashAlgorithm;
}

/** Builds and signs a v3 certificate (RFC 5280 §4.1); returns its DER. */
function certificate(spec: CertificateSpec, spki: pkijs.PublicKeyInfo): Uint8Array {
  const cert = new pkijs.Certificate();
  cert.version = 2;
  cert.serialNumber = serialNumber();
  cert.issuer = spec.issuer;
  cert.subject = spec.subject;
  cert.notBefore = new pkijs.Time({ type: spec.notBefore.getUTCFullYear() < 2050 ? 0 : 1, value: spec.notBefore });
  cert.notAfter = new pkijs.Time({ type: spec.notAfter.getUTCFullYear() < 2050 ? 0 : 1, value: spec.notAfter });
  cert.subjectPublicKeyInfo = spki;
  cert.extensions = [...spec.extensions];
  const sig = signatureAlgorithmFor(spec.signer, spec.hash);
  const alg = new pkijs.AlgorithmIdentifier({ algorithmId: sig.oid, ...(sig.nullParameters ? { algorithmParams: new asn1js.Null() } : {}) });
  cert.signature = alg;
  cert.signatureAlgorithm = alg;
  const tbs = new Uint8Array(cert.encodeTBS().toBER(false));
  cert.tbsView = tbs;
  cert.signatureValue = new asn1js.BitString({ valueHex: signWith(spec.signer, spec.hash, tbs) });
  return new Uint8Array(cert.toSchema(false).toBER(false));
}

function spkiOf(publicKey: KeyObject): pkijs.PublicKeyInfo {
  const der = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
  return pkijs.PublicKeyInfo.fromBER(der);
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
  const cscaCert = pkijs.Certificate.fromBER(csca.certificate);
  const cscaKey = createPrivateKey({ key: Buffer.from(csca.privateKey), format: 'der', type: 'pkcs8' });
  const country = opts.country ?? 'QA';
  const start = opts.now ?? new Date(Date.now() - 86_400_000);
  const pair = generate(keyType);
  const spki = spkiOf(pair.publicKey);
  const cscaSpki = cscaCert.subjectPublicKeyInfo;
  const aki = new pkijs.AuthorityKeyIdentifier({ keyIdentifier: new asn1js.OctetString({ valueHex: keyIdentifier(cscaSpki) }) });
  const der = certificate(
    {
      subject: name(country, opts.commonName ?? 'chipwright TEST Document Signer', '1'),
      issuer: cscaCert.subject,
      notBefore: start,
      notAfter: addYears(start, opts.documentSignerYears ?? 10),
      extensions: [
        new pkijs.Extension({ extnID: '2.5.29.35', critical: false, extnValue: aki.toSchema().toBER(false) }),
        keyUsage(0x80, 7), // digitalSignature
      ],
      signer: cscaKey,
      hash: cscaKey.asymmetricKeyType === 'ec' && cscaKey.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'SHA-384' : 'SHA-256',
    },
    spki,
  );
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
  const country = opts.country ?? 'QA';
  const start = opts.now !== undefined ? new Date(opts.now.getTime() - 86_400_000) : new Date(Date.now() - 86_400_000);
  const pair = generate(keyType);
  const spki = spkiOf(pair.publicKey);
  const subject = name(country, 'chipwright TEST CSCA');
  const der = certificate(
    {
      subject,
      issuer: subject,
      notBefore: start,
      notAfter: addYears(start, opts.cscaYears ?? 15),
      extensions: [
        new pkijs.Extension({
          extnID: '2.5.29.19',
          critical: true,
          extnValue: new pkijs.BasicConstraints({ cA: true, pathLenConstraint: 0 }).toSchema().toBER(false),
        }),
        keyUsage(0x06, 1), // keyCertSign, cRLSign
        new pkijs.Extension({ extnID: '2.5.29.14', critical: false, extnValue: new asn1js.OctetString({ valueHex: keyIdentifier(spki) }).toBER(false) }),
      ],
      signer: pair.privateKey,
      hash: hashFor(keyType),
    },
    spki,
  );
  const csca = { certificate: der, privateKey: pkcs8(pair.privateKey) };
  return { csca, documentSigner: issueDocumentSigner(csca, { ...opts, now: start }) };
}
