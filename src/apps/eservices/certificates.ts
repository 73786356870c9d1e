/**
 * X.509 certificates of the e-services keys (RFC 5280): issuing them for public keys generated on
 * the card, a test issuing CA, and the checks a relying party makes — the issuer is one of the
 * trust anchors given and its signature verifies, the certificate is within its validity, and
 * its public key is the one the card answers for the key (GENERATE ASYMMETRIC KEY PAIR P1 80).
 *
 * Profile: subject C, O, CN (the holder's name and the key's use), serialNumber (the national ID
 * number); keyUsage digitalSignature (authentication), nonRepudiation (signature),
 * keyEncipherment or keyAgreement (encryption); extKeyUsage clientAuth for authentication keys;
 * authority and subject key identifiers. Written by `lds/x509.ts`, signatures with Node's crypto.
 *
 * @example
 * const ca = createEServicesCa();
 * const der = issueEServiceCertificate(ca, spki, { commonName: 'SPECIMEN AMINA (authentication)', serialNumber: '29963400001' }, 'authentication', { notBefore, notAfter });
 */
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { equalBytes } from '../../bytes/index.js';
import { decodeSubjectPublicKeyInfo, type PublicKeyInfo } from '../../crypto/asymmetric.js';
import type { EServiceKeyPair } from '../../holder/types.js';
import { privateKeyObject } from '../../lds/algorithms.js';
import { testName, writeCertificate } from '../../lds/x509.js';
import type { CertifiedKey } from '../../lds/pki.js';
import { AppDataError } from '../health/common.js';

/** id-kp-clientAuth (RFC 5280 §4.2.1.12): what an authentication key's certificate is for. */
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/**
 * A self-signed test CA for e-services certificates ("chipwright TEST e-Services CA", ECDSA P-256,
 * basicConstraints CA pathLen 0, keyCertSign + cRLSign), valid from a day before `now` for 15 years.
 */
export function createEServicesCa(opts: { readonly now?: Date; readonly country?: string } = {}): CertifiedKey {
  const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const start = new Date((opts.now ?? new Date()).getTime() - 86_400_000);
  const end = new Date(start.getTime());
  end.setUTCFullYear(end.getUTCFullYear() + 15);
  const certificate = writeCertificate({
    subject: testName({ country: opts.country ?? 'QA', commonName: 'chipwright TEST e-Services CA' }),
    publicKey: new Uint8Array(pair.publicKey.export({ type: 'spki', format: 'der' })),
    signer: pair.privateKey,
    notBefore: start,
    notAfter: end,
    keyUsage: 0x06,
    ca: true,
  });
  return { certificate, privateKey: new Uint8Array(pair.privateKey.export({ type: 'pkcs8', format: 'der' })) };
}

export interface EServiceSubject {
  /** CN: the holder's name and what the key is for. */
  readonly commonName: string;
  /** serialNumber attribute: the national ID number. */
  readonly serialNumber: string;
  /** ISO 3166-1 alpha-2 (default: the CA's country, else QA). */
  readonly country?: string;
}

/** The keyUsage bits (RFC 5280 §4.2.1.3) for a key's use. */
function usageBits(usage: EServiceKeyPair['usage'], spki: PublicKeyInfo): number {
  if (usage === 'authentication') return 0x80; // digitalSignature
  if (usage === 'signature') return 0x40; // nonRepudiation (contentCommitment)
  return spki.type === 'rsa' ? 0x20 : 0x08; // keyEncipherment / keyAgreement
}

/** The CA's country (its subject's C), when it has a valid one. */
function countryOf(caCertificate: Uint8Array): string | undefined {
  const c = /^C=([A-Z]{2})$/m.exec(new X509Certificate(caCertificate).subject);
  return c?.[1];
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
  const info = decodeSubjectPublicKeyInfo(publicKey);
  const country = subject.country ?? countryOf(ca.certificate) ?? 'QA';
  return writeCertificate({
    subject: testName({ country, commonName: subject.commonName, serialNumber: subject.serialNumber }),
    issuer: ca.certificate,
    publicKey,
    signer: privateKeyObject(ca.privateKey),
    notBefore: validity.notBefore,
    notAfter: validity.notAfter,
    keyUsage: usageBits(usage, info),
    ...(usage === 'authentication' ? { extendedKeyUsage: [CLIENT_AUTH] } : {}),
  });
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
