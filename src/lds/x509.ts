/**
 * Writing X.509 v3 certificates (RFC 5280 §4.1) as DER, for every certificate chipwright issues:
 * the test CSCA and document signers (ICAO 9303-12 §7.1), the card-issuer CA and the certificates
 * of keys generated on cards, the e-services CA and its certificates. One writer, so every
 * issued certificate has the same shape — one attribute per RDN, a positive 16-byte serial,
 * UTCTime through 2049, key identifiers by RFC 5280 §4.2.1.2 method 1 — and none goes through
 * pkijs's object model (which cost milliseconds per certificate). Parsing and verifying stay with
 * OpenSSL (`X509Certificate`) and asn1js; pkijs (a development dependency) cross-checks the encoding in tests.
 *
 *     Certificate    ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
 *     TBSCertificate ::= SEQUENCE { version [0] EXPLICIT v3, serialNumber, signature, issuer,
 *                                   validity, subject, subjectPublicKeyInfo, extensions [3] EXPLICIT }
 *
 * @example
 * const der = writeCertificate({ subject: testName({ country: 'QA', commonName: 'chipwright TEST CSCA' }),
 *   publicKey: spki, signer: key, notBefore, notAfter, keyUsage: 0x06, ca: true });
 */
import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import { parseTlv, type Tlv } from '../tlv/ber.js';
import {
  derAlgorithm,
  derBitString,
  derBoolean,
  derExplicit,
  derImplicit,
  derInteger,
  derNull,
  derOctetString,
  derOid,
  derPrintableString,
  derSequence,
  derSet,
  derTime,
  derUtf8String,
} from '../tlv/der.js';
import { signWith, signatureAlgorithmFor, type HashAlgorithm } from './algorithms.js';
import { LdsError } from './errors.js';

const OID = Object.freeze({
  C: '2.5.4.6',
  O: '2.5.4.10',
  CN: '2.5.4.3',
  SERIAL: '2.5.4.5',
  KEY_USAGE: '2.5.29.15',
  EXT_KEY_USAGE: '2.5.29.37',
  BASIC_CONSTRAINTS: '2.5.29.19',
  SKI: '2.5.29.14',
  AKI: '2.5.29.35',
});

/** The organisation every certificate chipwright issues names, so none is mistaken for a real one. */
export const TEST_ORGANIZATION = 'chipwright TEST';

/**
 * `Name ::= SEQUENCE OF RelativeDistinguishedName` with one attribute per RDN (RFC 5280 §4.1.2.4):
 * C (PrintableString), O = "chipwright TEST", CN (UTF8String) and, when given, serialNumber
 * (PrintableString).
 *
 * @example testName({ country: 'QA', commonName: 'chipwright TEST Document Signer', serialNumber: '1' })
 */
export function testName(n: { readonly country: string; readonly commonName: string; readonly serialNumber?: string }): Uint8Array {
  if (!/^[A-Z]{2}$/.test(n.country)) throw new LdsError(`country: expected an ISO 3166-1 alpha-2 code, got "${n.country}"`);
  const attrs: [string, Uint8Array][] = [
    [OID.C, derPrintableString(n.country)],
    [OID.O, derUtf8String(TEST_ORGANIZATION)],
    [OID.CN, derUtf8String(n.commonName)],
  ];
  if (n.serialNumber !== undefined) attrs.push([OID.SERIAL, derPrintableString(n.serialNumber)]);
  return derSequence(...attrs.map(([type, value]) => derSet(derSequence(derOid(type), value))));
}

/** The subjectPublicKey BIT STRING's bytes of a SubjectPublicKeyInfo (RFC 5280 §4.1.2.7), whole bytes only. */
function subjectPublicKeyBits(spki: Uint8Array): Uint8Array {
  let bits: Uint8Array | undefined;
  try {
    const t = parseTlv(spki);
    const b = t.children?.[1];
    if (t.tag === 0x30 && b?.tag === 0x03 && b.value[0] === 0) bits = b.value.subarray(1);
  } catch (e) {
    throw new LdsError(`SubjectPublicKeyInfo does not parse (${e instanceof Error ? e.message : String(e)})`);
  }
  if (bits === undefined) throw new LdsError('SubjectPublicKeyInfo: expected SEQUENCE { AlgorithmIdentifier, BIT STRING of whole bytes }');
  return bits;
}

/** Key identifier by RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
export function keyIdentifier(spki: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha1').update(subjectPublicKeyBits(spki)).digest());
}

/** What issuing or signing under a certificate needs from it, as encoded there. */
export interface CertificateIdentity {
  /** The subject Name's DER: the issuer Name of what it signs. */
  readonly name: Uint8Array;
  /** The key identifier of its public key (authorityKeyIdentifier of what it signs). */
  readonly keyIdentifier: Uint8Array;
  /** Its SubjectPublicKeyInfo DER. */
  readonly publicKey: Uint8Array;
  /**
   * `IssuerAndSerialNumber ::= SEQUENCE { issuer Name, serialNumber }` (RFC 5652 §10.2.4): how a
   * CMS SignerInfo names this certificate.
   */
  readonly issuerAndSerialNumber: Uint8Array;
}

const identities = new WeakMap<Uint8Array, CertificateIdentity>();

/** The TBSCertificate fields of a certificate's DER, `version` absent in v1. */
function tbsFields(der: Uint8Array): readonly Tlv[] {
  let f: readonly Tlv[] = [];
  try {
    f = parseTlv(der).children?.[0]?.children ?? [];
  } catch (e) {
    throw new LdsError(`certificate does not parse (${e instanceof Error ? e.message : String(e)})`);
  }
  const at = f[0]?.tag === 0xa0 ? 1 : 0;
  const fields = f.slice(at);
  if (fields[0]?.tag !== 0x02 || fields[2]?.tag !== 0x30 || fields[4]?.tag !== 0x30 || fields[5]?.tag !== 0x30) {
    throw new LdsError('certificate: expected an X.509 TBSCertificate (RFC 5280 §4.1)');
  }
  return fields;
}

/**
 * A certificate's names and key as encoded in it, read once per byte array: a batch issues
 * thousands of certificates under one CA and signs thousands of EF.SODs with one document signer.
 */
export function certificateIdentity(certificate: Uint8Array): CertificateIdentity {
  let id = identities.get(certificate);
  if (id === undefined) {
    const f = tbsFields(certificate);
    const publicKey = f[5]!.raw!;
    id = { name: f[4]!.raw!, keyIdentifier: keyIdentifier(publicKey), publicKey, issuerAndSerialNumber: derSequence(f[2]!.raw!, f[0]!.raw!) };
    identities.set(certificate, id);
  }
  return id;
}

/** `Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }` (DER leaves out FALSE). */
function extension(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? derSequence(derOid(oid), derBoolean(true), derOctetString(value)) : derSequence(derOid(oid), derOctetString(value));
}

/** keyUsage's first byte as a DER named-bit BIT STRING: trailing zero bits dropped (X.690 §11.2.2). */
function keyUsageBits(first: number): Uint8Array {
  if (!Number.isInteger(first) || first < 1 || first > 0xff) throw new LdsError(`keyUsage: expected bits 01..FF of the first byte, got ${first}`);
  let unused = 0;
  while (((first >> unused) & 1) === 0) unused++;
  return derBitString(Uint8Array.of(first), unused);
}

/** The hash a signer's certificates are signed with: SHA-384 for a P-384 key, else SHA-256. */
export function certificateHash(signer: KeyObject): HashAlgorithm {
  return signer.asymmetricKeyType === 'ec' && signer.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'SHA-384' : 'SHA-256';
}

export interface CertificateSpec {
  /** Subject Name DER ({@link testName}). */
  readonly subject: Uint8Array;
  /** The CA's certificate DER; absent: self-signed. */
  readonly issuer?: Uint8Array;
  /** SubjectPublicKeyInfo DER of the certified key. */
  readonly publicKey: Uint8Array;
  /** The issuer's private key (the subject's own for a self-signed certificate). */
  readonly signer: KeyObject;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /**
   * keyUsage's first byte (RFC 5280 §4.2.1.3): 80 digitalSignature, 40 nonRepudiation, 20
   * keyEncipherment, 08 keyAgreement, 04 keyCertSign, 02 cRLSign. Critical.
   */
  readonly keyUsage: number;
  /** A CA: basicConstraints cA with pathLenConstraint 0, critical (ICAO 9303-12 §7.1.1 for a CSCA). */
  readonly ca?: boolean;
  /** extKeyUsage purposes (RFC 5280 §4.2.1.12), e.g. id-kp-clientAuth; not critical. */
  readonly extendedKeyUsage?: readonly string[];
}

/**
 * A v3 certificate signed by `signer`: keyUsage, subjectKeyIdentifier, basicConstraints for a CA,
 * authorityKeyIdentifier when an issuer is given, extKeyUsage when asked.
 */
export function writeCertificate(spec: CertificateSpec): Uint8Array {
  if (spec.notAfter.getTime() <= spec.notBefore.getTime()) throw new LdsError('certificate: notAfter must be after notBefore');
  const issuer = spec.issuer !== undefined ? certificateIdentity(spec.issuer) : undefined;
  const extensions = [extension(OID.KEY_USAGE, true, keyUsageBits(spec.keyUsage)), extension(OID.SKI, false, derOctetString(keyIdentifier(spec.publicKey)))];
  if (spec.ca === true) extensions.push(extension(OID.BASIC_CONSTRAINTS, true, derSequence(derBoolean(true), derInteger(0))));
  if (issuer !== undefined) extensions.push(extension(OID.AKI, false, derSequence(derImplicit(0, issuer.keyIdentifier, false))));
  if (spec.extendedKeyUsage !== undefined && spec.extendedKeyUsage.length > 0) {
    extensions.push(extension(OID.EXT_KEY_USAGE, false, derSequence(...spec.extendedKeyUsage.map((o) => derOid(o)))));
  }
  // A positive 16-byte serial (RFC 5280 §4.1.2.2: at most 20 octets, non-negative).
  const serial = new Uint8Array(randomBytes(16));
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  const hash = certificateHash(spec.signer);
  const sig = signatureAlgorithmFor(spec.signer, hash);
  const alg = derAlgorithm(sig.oid, sig.nullParameters ? derNull() : undefined);
  const tbs = derSequence(
    derExplicit(0, derInteger(2)),
    derInteger(serial),
    alg,
    issuer?.name ?? spec.subject,
    derSequence(derTime(spec.notBefore), derTime(spec.notAfter)),
    spec.subject,
    spec.publicKey,
    derExplicit(3, derSequence(...extensions)),
  );
  return derSequence(tbs, alg, derBitString(signWith(spec.signer, hash, tbs)));
}
