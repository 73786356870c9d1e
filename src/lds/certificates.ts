/**
 * X.509 certificates as passive authentication needs them (RFC 5280 §4.1): PEM ↔ DER, bundles,
 * and the few TBSCertificate fields that match a CMS signer identifier (issuer and serial number,
 * or subject key identifier) — taken from the certificate's own bytes.
 *
 * @example readCertificates(readFileSync('csca.pem')) // [DER, …]
 */
import { X509Certificate } from 'node:crypto';
import { LdsError } from './errors.js';
import { explicit, intBytes, isContext, octets, oid, parseDer, rawOf, sequence, type Block } from './_asn1.js';

/** DER → PEM with 64-character lines (RFC 7468 §2). */
export function derToPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** Every PEM block with `label` in `text`, as DER. */
export function pemToDer(text: string, label = 'CERTIFICATE'): Uint8Array[] {
  const re = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`, 'g');
  const out: Uint8Array[] = [];
  for (const m of text.matchAll(re)) out.push(new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')));
  return out;
}

/**
 * Certificates from a file's bytes: a PEM bundle (one or many) or one DER certificate. Each is
 * checked to parse, so a bad CSCA file fails here with its position in the bundle.
 */
export function readCertificates(data: Uint8Array, what = 'certificate file'): Uint8Array[] {
  const text = Buffer.from(data.subarray(0, Math.min(data.length, 64 * 1024 * 1024))).toString('latin1');
  const list = text.includes('-----BEGIN CERTIFICATE-----') ? pemToDer(text) : [data.slice()];
  list.forEach((der, i) => {
    try {
      new X509Certificate(der);
    } catch (e) {
      throw new LdsError(`${what}: certificate ${i + 1} does not parse (${e instanceof Error ? e.message : String(e)})`);
    }
  });
  return list;
}

export interface CertificateFields {
  /** The issuer Name, DER as in the certificate. */
  readonly issuer: Uint8Array;
  readonly subject: Uint8Array;
  /** INTEGER content octets. */
  readonly serialNumber: Uint8Array;
  readonly subjectKeyIdentifier?: Uint8Array;
}

const SKI = '2.5.29.14';

function extension(exts: Block[], id: string): Uint8Array | undefined {
  for (const e of exts) {
    const f = sequence(e, 'extension');
    if (oid(f[0], 'extension id') === id) return octets(f[f.length - 1], 'extension value');
  }
  return undefined;
}

/** Issuer, subject, serial number and subject key identifier of a DER certificate. */
export function certificateFields(der: Uint8Array): CertificateFields {
  const cert = sequence(parseDer(der, 'certificate'), 'certificate');
  const tbs = sequence(cert[0], 'TBSCertificate');
  let i = 0;
  if (isContext(tbs[0], 0)) i++; // version
  const serialNumber = intBytes(tbs[i], 'serialNumber');
  const issuer = rawOf(tbs[i + 2]!);
  const subject = rawOf(tbs[i + 4]!);
  let subjectKeyIdentifier: Uint8Array | undefined;
  const extsField = tbs.find((f) => isContext(f, 3));
  if (extsField !== undefined) {
    const exts = sequence(explicit(extsField, 3, 'extensions'), 'extensions');
    const ski = extension(exts, SKI);
    if (ski !== undefined) subjectKeyIdentifier = octets(parseDer(ski, 'subjectKeyIdentifier'), 'subjectKeyIdentifier');
  }
  return {
    issuer,
    subject,
    serialNumber,
    ...(subjectKeyIdentifier !== undefined ? { subjectKeyIdentifier } : {}),
  };
}
