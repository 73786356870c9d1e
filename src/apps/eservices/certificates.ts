/**
 * X.509 certificates of the e-services keys (RFC 5280): issuing them for public keys generated on
 * the card, a test issuing CA, and the checks a relying party makes — the issuer is one of the
 * trust anchors given and its signature verifies, the certificate is within its validity, and
 * its public key is the one the card answers for the key (GENERATE ASYMMETRIC KEY PAIR P1 80).
 *
 * Profile: subject C, O, CN (the holder's name and the key's use), serialNumber (the national ID
 * number); keyUsage digitalSignature (authentication), nonRepudiation (signature),
 * keyEncipherment or keyAgreement (encryption); extKeyUsage clientAuth for authentication keys;
 * authority and subject key identifiers. Structures with pkijs, signatures with Node's crypto.
 *
 * @example
 * const ca = createEServicesCa();
 * const der = issueEServiceCertificate(ca, spki, { commonName: 'SPECIMEN AMINA (authentication)', serialNumber: '29963400001' }, 'authentication', { notBefore, notAfter });
 */
import { X509Certificate, createHash, createPrivateKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { equalBytes } from '../../bytes/index.js';
import { decodeSubjectPublicKeyInfo, type PublicKeyInfo } from '../../crypto/asymmetric.js';
import type { EServiceKeyPair } from '../../holder/types.js';
import { signWith, signatureAlgorithmFor, type HashAlgorithm } from '../../lds/algorithms.js';
import type { CertifiedKey } from '../../lds/pki.js';
import { AppDataError } from '../health/common.js';

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
  CLIENT_AUTH: '1.3.6.1.5.5.7.3.2',
});

function name(country: string, cn: string, serial?: string): pkijs.RelativeDistinguishedNames {
  const tv = [
    new pkijs.AttributeTypeAndValue({ type: OID.C, value: new asn1js.PrintableString({ value: country }) }),
    new pkijs.AttributeTypeAndValue({ type: OID.O, value: new asn1js.Utf8String({ value: 'chipwright TEST' }) }),
    new pkijs.AttributeTypeAndValue({ type: OID.CN, value: new asn1js.Utf8String({ value: cn }) }),
  ];
  if (serial !== undefined) tv.push(new pkijs.AttributeTypeAndValue({ type: OID.SERIAL, value: new asn1js.PrintableString({ value: serial }) }));
  // One attribute per RDN (RFC 5280 §4.1.2.4 as names are usually written; pkijs would merge them).
  const der = new asn1js.Sequence({ value: tv.map((a) => new asn1js.Set({ value: [a.toSchema()] })) }).toBER(false);
  return pkijs.RelativeDistinguishedNames.fromBER(der);
}

function serialNumber(): asn1js.Integer {
  const s = new Uint8Array(randomBytes(16));
  s[0] = (s[0]! & 0x7f) | 0x01;
  return new asn1js.Integer({ valueHex: s });
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(spki: pkijs.PublicKeyInfo): Uint8Array {
  return new Uint8Array(createHash('sha1').update(spki.subjectPublicKey.valueBlock.valueHexView).digest());
}

function keyUsage(bits: number, unused: number): pkijs.Extension {
  return new pkijs.Extension({ extnID: OID.KEY_USAGE, critical: true, extnValue: new asn1js.BitString({ valueHex: new Uint8Array([bits]), unusedBits: unused }).toBER(false) });
}

function signerHash(key: KeyObject): HashAlgorithm {
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'SHA-384' : 'SHA-256';
}

function sign(cert: pkijs.Certificate, signer: KeyObject): Uint8Array {
  const hash = signerHash(signer);
  const sig = signatureAlgorithmFor(signer, hash);
  const alg = new pkijs.AlgorithmIdentifier({ algorithmId: sig.oid, ...(sig.nullParameters ? { algorithmParams: new asn1js.Null() } : {}) });
  cert.signature = alg;
  cert.signatureAlgorithm = alg;
  const tbs = new Uint8Array(cert.encodeTBS().toBER(false));
  cert.tbsView = tbs;
  cert.signatureValue = new asn1js.BitString({ valueHex: signWith(signer, hash, tbs) });
  return new Uint8Array(cert.toSchema(false).toBER(false));
}

function time(d: Date): pkijs.Time {
  return new pkijs.Time({ type: d.getUTCFullYear() < 2050 ? 0 : 1, value: d });
}

/**
 * A self-signed test CA for e-services certificates ("chipwright TEST e-Services CA", ECDSA P-256,
 * basicConstraints CA pathLen 0, keyCertSign + cRLSign), valid from a day before `now` for 15 years.
 */
export function createEServicesCa(opts: { readonly now?: Date; readonly country?: string } = {}): CertifiedKey {
  const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = pkijs.PublicKeyInfo.fromBER(new Uint8Array(pair.publicKey.export({ type: 'spki', format: 'der' })));
  const start = new Date((opts.now ?? new Date()).getTime() - 86_400_000);
  const end = new Date(start.getTime());
  end.setUTCFullYear(end.getUTCFullYear() + 15);
  const subject = name(opts.country ?? 'QA', 'chipwright TEST e-Services CA');
  const cert = new pkijs.Certificate();
  cert.version = 2;
  cert.serialNumber = serialNumber();
  cert.issuer = subject;
  cert.subject = subject;
  cert.notBefore = time(start);
  cert.notAfter = time(end);
  cert.subjectPublicKeyInfo = spki;
  cert.extensions = [
    new pkijs.Extension({ extnID: OID.BASIC_CONSTRAINTS, critical: true, extnValue: new pkijs.BasicConstraints({ cA: true, pathLenConstraint: 0 }).toSchema().toBER(false) }),
    keyUsage(0x06, 1),
    new pkijs.Extension({ extnID: OID.SKI, critical: false, extnValue: new asn1js.OctetString({ valueHex: keyIdentifier(spki) }).toBER(false) }),
  ];
  return { certificate: sign(cert, pair.privateKey), privateKey: new Uint8Array(pair.privateKey.export({ type: 'pkcs8', format: 'der' })) };
}

export interface EServiceSubject {
  /** CN: the holder's name and what the key is for. */
  readonly commonName: string;
  /** serialNumber attribute: the national ID number. */
  readonly serialNumber: string;
  /** ISO 3166-1 alpha-2 (default: the CA's country, else QA). */
  readonly country?: string;
}

/** The key usage bits (RFC 5280 §4.2.1.3) and unused-bit count for a key's use. */
function usageBits(usage: EServiceKeyPair['usage'], spki: PublicKeyInfo): [number, number] {
  if (usage === 'authentication') return [0x80, 7]; // digitalSignature
  if (usage === 'signature') return [0x40, 6]; // nonRepudiation (contentCommitment)
  return spki.type === 'rsa' ? [0x20, 5] : [0x08, 3]; // keyEncipherment / keyAgreement
}

/**
 * Issues a certificate for `publicKey` (SubjectPublicKeyInfo DER, as the card generated it).
 */
export function issueEServiceCertificate(
  ca: CertifiedKey,
  publicKey: Uint8Array,
  subject: EServiceSubject,
  usage: EServiceKeyPair['usage'],
  validity: { readonly notBefore: Date; readonly notAfter: Date },
): Uint8Array {
  if (validity.notAfter.getTime() <= validity.notBefore.getTime()) throw new AppDataError('e-services certificate: notAfter must be after notBefore');
  const caCert = pkijs.Certificate.fromBER(ca.certificate);
  const caKey = createPrivateKey({ key: Buffer.from(ca.privateKey), format: 'der', type: 'pkcs8' });
  const spki = pkijs.PublicKeyInfo.fromBER(publicKey);
  const info = decodeSubjectPublicKeyInfo(publicKey);
  const country = subject.country ?? countryOf(caCert) ?? 'QA';
  const cert = new pkijs.Certificate();
  cert.version = 2;
  cert.serialNumber = serialNumber();
  cert.issuer = caCert.subject;
  cert.subject = name(country, subject.commonName, subject.serialNumber);
  cert.notBefore = time(validity.notBefore);
  cert.notAfter = time(validity.notAfter);
  cert.subjectPublicKeyInfo = spki;
  const [bits, unused] = usageBits(usage, info);
  cert.extensions = [
    new pkijs.Extension({ extnID: OID.AKI, critical: false, extnValue: new pkijs.AuthorityKeyIdentifier({ keyIdentifier: new asn1js.OctetString({ valueHex: keyIdentifier(caCert.subjectPublicKeyInfo) }) }).toSchema().toBER(false) }),
    new pkijs.Extension({ extnID: OID.SKI, critical: false, extnValue: new asn1js.OctetString({ valueHex: keyIdentifier(spki) }).toBER(false) }),
    keyUsage(bits, unused),
    ...(usage === 'authentication'
      ? [new pkijs.Extension({ extnID: OID.EXT_KEY_USAGE, critical: false, extnValue: new pkijs.ExtKeyUsage({ keyPurposes: [OID.CLIENT_AUTH] }).toSchema().toBER(false) })]
      : []),
  ];
  return sign(cert, caKey);
}

function countryOf(cert: pkijs.Certificate): string | undefined {
  const c = cert.subject.typesAndValues.find((t) => t.type === OID.C);
  const v = c?.value.valueBlock.value;
  return typeof v === 'string' && /^[A-Z]{2}$/.test(v) ? v : undefined;
}

/** The verdict on one e-services certificate. */
export interface CertificateCheck {
  readonly verdict: 'valid' | 'invalid' | 'not-checked';
  readonly detail: string;
  readonly subject?: string;
  readonly issuer?: string;
  readonly notBefore?: string;
  readonly notAfter?: string;
}

/** True when both keys are the same public key (RSA modulus and exponent, or EC point and curve). */
export function samePublicKey(a: PublicKeyInfo, b: PublicKeyInfo): boolean {
  if (a.type === 'rsa' && b.type === 'rsa') return equalBytes(a.modulus, b.modulus) && equalBytes(a.exponent, b.exponent);
  if (a.type === 'ec' && b.type === 'ec') return a.curve === b.curve && equalBytes(a.point, b.point);
  return false;
}

const iso = (s: string): string => {
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? s : d.toISOString();
};

/**
 * Checks a certificate read from the card: parses; issued by one of `anchors` with a signature
 * that verifies (not checked without anchors); valid at `now`; its key is `cardKey` (the public
 * key the card answers for the slot; not checked when unknown). Every failing check is named.
 */
export function checkEServiceCertificate(der: Uint8Array, opts: { readonly anchors: readonly Uint8Array[]; readonly now: Date; readonly cardKey?: PublicKeyInfo }): CertificateCheck {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch (e) {
    return { verdict: 'invalid', detail: `does not parse as X.509 (${e instanceof Error ? e.message : String(e)})` };
  }
  const meta = { subject: cert.subject.replace(/\n/g, ', '), issuer: cert.issuer.replace(/\n/g, ', '), notBefore: iso(cert.validFrom), notAfter: iso(cert.validTo) };
  const bad: string[] = [];
  const open: string[] = [];
  const good: string[] = [];
  if (opts.anchors.length === 0) open.push('no trust anchors given: the issuer is not checked');
  else {
    let issuer: X509Certificate | undefined;
    for (const a of opts.anchors) {
      let c: X509Certificate;
      try {
        c = new X509Certificate(a);
      } catch {
        continue;
      }
      if (cert.checkIssued(c)) {
        issuer = c;
        break;
      }
    }
    if (issuer === undefined) bad.push(`issuer ${meta.issuer} is none of the ${opts.anchors.length} trust anchor(s) given`);
    else {
      let ok = false;
      try {
        ok = cert.verify(issuer.publicKey);
      } catch {
        ok = false;
      }
      if (ok) good.push(`issued by ${issuer.subject.replace(/\n/g, ', ')}`);
      else bad.push(`the signature does not verify with ${issuer.subject.replace(/\n/g, ', ')}`);
    }
  }
  const t = opts.now.getTime();
  if (t < new Date(cert.validFrom).getTime() || t > new Date(cert.validTo).getTime()) bad.push(`not valid at ${opts.now.toISOString()} (${meta.notBefore} – ${meta.notAfter})`);
  else good.push('within its validity');
  if (opts.cardKey === undefined) open.push('the card did not give the key, so it is not compared');
  else {
    let info: PublicKeyInfo | undefined;
    try {
      info = decodeSubjectPublicKeyInfo(new Uint8Array(cert.publicKey.export({ type: 'spki', format: 'der' })));
    } catch {
      info = undefined;
    }
    if (info !== undefined && samePublicKey(info, opts.cardKey)) good.push('certifies the key the card holds');
    else bad.push('certifies another key than the one the card holds');
  }
  if (bad.length > 0) return { verdict: 'invalid', detail: bad.join('; '), ...meta };
  if (open.length > 0) return { verdict: 'not-checked', detail: [...good, ...open].join('; '), ...meta };
  return { verdict: 'valid', detail: good.join('; '), ...meta };
}
