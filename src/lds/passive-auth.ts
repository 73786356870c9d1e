/**
 * Passive authentication (ICAO 9303-11 §5.1; 9303-12 §7): is what was read from the chip what
 * the issuer signed?
 *
 * 1. EF.SOD decodes, and its content is an LDSSecurityObject (eContentType).
 * 2. Signature: the document signer certificate is found (in EF.SOD, or among those given), the
 *    signed attributes' contentType matches and messageDigest is the hash of the eContent as
 *    carried, and the signature over the signed attributes — their bytes as received — verifies.
 * 3. Chain: the document signer certificate is issued by one of the CSCA certificates given
 *    (names and key identifiers match, its signature verifies with the CSCA key, the CSCA is a CA).
 * 4. Validity: the document signer and that CSCA are within their validity at `now`.
 * 5. Files: each data group read is hashed as read and compared with its entry in EF.SOD.
 *
 * Every check reports `valid`, `invalid` or `not-checked` with a detail saying why; one failing
 * check never hides another (a bad signature still gets its files compared, so the report says
 * which data were changed). A data group read but absent from EF.SOD is `invalid`: nothing
 * vouches for it. The overall verdict is `invalid` as soon as anything is invalid, `valid` only
 * when signature, chain and validity are valid and every data group read matches, and
 * `incomplete` otherwise (no CSCA given, an algorithm chipwright does not know, nothing read).
 *
 * @example
 * const report = verifySod(sod, new Map([[1, dg1], [2, dg2]]), [cscaDer]);
 * report.verdict            // 'valid'
 * report.files[0]           // { dataGroup: 1, name: 'DG1', verdict: 'valid', detail: 'SHA-256 matches' }
 */
import { X509Certificate } from 'node:crypto';
import { bytesToHex, equalBytes } from '../bytes/index.js';
import { digestBytes, hashByOid, signatureName, verifySignature } from './algorithms.js';
import { certificateFields } from './certificates.js';
import { LdsError } from './errors.js';
import { OID_LDS_SECURITY_OBJECT, decodeSod, type DecodedSod } from './sod.js';
import { dataGroup } from './tags.js';
import { parseDer } from './_asn1.js';

export type CheckVerdict = 'valid' | 'invalid' | 'not-checked';

export interface Check {
  readonly verdict: CheckVerdict;
  /** Why, in words: what matched, what did not, or what was missing. */
  readonly detail: string;
}

export interface FileCheck extends Check {
  readonly dataGroup: number;
  readonly name: string;
  /** Hash in EF.SOD (hex), when listed. */
  readonly expected?: string;
  /** Hash of the bytes read (hex), when read. */
  readonly actual?: string;
}

export interface CertificateSummary {
  readonly subject: string;
  readonly issuer: string;
  readonly serialNumber: string;
  readonly notBefore: string;
  readonly notAfter: string;
}

export interface PassiveAuthReport {
  readonly verdict: 'valid' | 'invalid' | 'incomplete';
  /** EF.SOD decodes and holds an LDSSecurityObject. */
  readonly structure: Check;
  readonly signature: Check;
  readonly chain: Check;
  readonly validity: Check;
  /** One entry per data group listed in EF.SOD or read, in data group order. */
  readonly files: readonly FileCheck[];
  /** The data group hash algorithm ('SHA-256'), or its OID when unknown. */
  readonly hashAlgorithm?: string;
  readonly documentSigner?: CertificateSummary;
  readonly csca?: CertificateSummary;
  readonly signingTime?: string;
}

export interface VerifySodOptions {
  /** Document signer certificates (DER) to use when EF.SOD does not carry the signer's. */
  readonly documentSigners?: readonly Uint8Array[];
}

const ok = (detail: string): Check => ({ verdict: 'valid', detail });
const bad = (detail: string): Check => ({ verdict: 'invalid', detail });
const skipped = (detail: string): Check => ({ verdict: 'not-checked', detail });

/** ISO form of a certificate date, or the text OpenSSL gave when it is not a date. */
function isoDate(s: string): string {
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? s : d.toISOString();
}

function summary(c: X509Certificate): CertificateSummary {
  return {
    subject: c.subject.replace(/\n/g, ', '),
    issuer: c.issuer.replace(/\n/g, ', '),
    serialNumber: c.serialNumber,
    notBefore: isoDate(c.validFrom),
    notAfter: isoDate(c.validTo),
  };
}

function parseCertificate(der: Uint8Array): X509Certificate | undefined {
  try {
    return new X509Certificate(der);
  } catch {
    return undefined;
  }
}

/** The certificate matching the SignerInfo's sid, from EF.SOD first, then the extra ones. */
function findSigner(sod: DecodedSod, extra: readonly Uint8Array[]): Uint8Array | undefined {
  const sid = sod.signerIdentifier;
  for (const der of [...sod.certificates, ...extra]) {
    let f;
    try {
      f = certificateFields(der);
    } catch {
      continue;
    }
    if (sid.kind === 'issuerAndSerialNumber') {
      if (equalBytes(f.issuer, sid.issuer) && equalBytes(stripZeros(f.serialNumber), stripZeros(sid.serialNumber))) return der;
    } else if (f.subjectKeyIdentifier !== undefined && equalBytes(f.subjectKeyIdentifier, sid.keyIdentifier)) return der;
  }
  return undefined;
}

function stripZeros(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

function checkSignature(sod: DecodedSod, signer: X509Certificate): Check {
  const digestAlg = hashByOid(sod.digestAlgorithm);
  const attrs = sod.signedAttributes;
  let signed: Uint8Array;
  const notes: string[] = [];
  if (attrs !== undefined) {
    if (attrs.contentType !== OID_LDS_SECURITY_OBJECT) return bad(`the contentType signed attribute is ${attrs.contentType ?? 'missing'}, not id-icao-mrtd-security-ldsSecurityObject`);
    if (attrs.messageDigest === undefined) return bad('the messageDigest signed attribute is missing');
    if (digestAlg === undefined) return skipped(`digest algorithm ${sod.digestAlgorithm} is not supported`);
    if (!equalBytes(digestBytes(digestAlg, sod.eContent), attrs.messageDigest)) return bad(`messageDigest does not match the ${digestAlg} of the LDSSecurityObject`);
    signed = attrs.der;
    notes.push(`messageDigest matches (${digestAlg})`);
  } else {
    signed = sod.eContent;
  }
  let params;
  if (sod.signatureAlgorithm.parameters !== undefined) {
    try {
      params = parseDer(sod.signatureAlgorithm.parameters, 'signature parameters');
    } catch (e) {
      return bad(`signature algorithm parameters do not parse (${(e as Error).message})`);
    }
  }
  let valid: boolean;
  try {
    valid = verifySignature({ oid: sod.signatureAlgorithm.oid, parameters: params }, digestAlg, signed, sod.signature, signer.publicKey);
  } catch (e) {
    if (e instanceof LdsError) return skipped(e.message);
    // OpenSSL refusing the key or the signature's encoding: it cannot be a valid signature.
    return bad(`the signature cannot be verified (${e instanceof Error ? e.message : String(e)})`);
  }
  const alg = signatureName(sod.signatureAlgorithm.oid);
  return valid ? ok(`${alg} signature by the document signer verifies; ${notes.join('; ') || 'no signed attributes'}`) : bad(`${alg} signature does not verify with the document signer's key`);
}

function checkChain(signer: X509Certificate, cscas: readonly Uint8Array[]): { check: Check; csca?: X509Certificate } {
  if (cscas.length === 0) return { check: skipped('no CSCA certificates given: the document signer is not anchored') };
  const parsed = cscas.map(parseCertificate);
  for (const c of parsed) {
    if (c === undefined) continue;
    if (!signer.checkIssued(c)) continue;
    if (!verifiesWith(signer, c)) {
      return { check: bad(`the document signer names ${c.subject.replace(/\n/g, ', ')} as issuer but its signature does not verify with that CSCA's key`), csca: c };
    }
    if (!c.ca) return { check: bad(`${c.subject.replace(/\n/g, ', ')} signed the document signer but is not a CA certificate`), csca: c };
    return { check: ok(`issued by ${c.subject.replace(/\n/g, ', ')}`), csca: c };
  }
  const unparsable = parsed.filter((c) => c === undefined).length;
  return {
    check: bad(
      `the document signer (issuer ${signer.issuer.replace(/\n/g, ', ')}) was not issued by any of the ${cscas.length} CSCA certificate(s) given` +
        (unparsable > 0 ? ` (${unparsable} did not parse)` : ''),
    ),
  };
}

function verifiesWith(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/** False also when a date does not parse: an unreadable validity is no validity. */
function within(c: X509Certificate, now: Date): boolean {
  return now.getTime() >= new Date(c.validFrom).getTime() && now.getTime() <= new Date(c.validTo).getTime();
}

function checkValidity(signer: X509Certificate, csca: X509Certificate | undefined, now: Date): Check {
  const problems: string[] = [];
  if (!within(signer, now)) problems.push(`the document signer is valid ${signer.validFrom} – ${signer.validTo}`);
  if (csca !== undefined && !within(csca, now)) problems.push(`the CSCA is valid ${csca.validFrom} – ${csca.validTo}`);
  if (problems.length > 0) return bad(`at ${now.toISOString()}: ${problems.join('; ')}`);
  return ok(`document signer${csca !== undefined ? ' and CSCA' : ''} valid at ${now.toISOString()}`);
}

function checkFiles(sod: DecodedSod | undefined, files: ReadonlyMap<number, Uint8Array>): FileCheck[] {
  const lso = sod?.securityObject;
  const numbers = new Set<number>([...files.keys(), ...(lso?.dataGroupHashes.keys() ?? [])]);
  const out: FileCheck[] = [];
  for (const n of [...numbers].sort((a, b) => a - b)) {
    const name = n >= 1 && n <= 16 ? dataGroup(n).name : `DG${n}`;
    const bytes = files.get(n);
    const expected = lso?.dataGroupHashes.get(n);
    const base = { dataGroup: n, name, ...(expected !== undefined ? { expected: bytesToHex(expected) } : {}) };
    if (lso === undefined) {
      out.push({ ...base, ...skipped('EF.SOD could not be decoded') });
      continue;
    }
    if (bytes === undefined) {
      out.push({ ...base, ...skipped('listed in EF.SOD, not read') });
      continue;
    }
    if (expected === undefined) {
      out.push({ ...base, ...bad('read from the chip but not listed in EF.SOD: nothing vouches for it') });
      continue;
    }
    const alg = lso.hashAlgorithm;
    if (alg === undefined) {
      out.push({ ...base, ...skipped(`hash algorithm ${lso.hashAlgorithmOid} is not supported`) });
      continue;
    }
    const actual = digestBytes(alg, bytes);
    out.push({
      ...base,
      actual: bytesToHex(actual),
      ...(equalBytes(actual, expected) ? ok(`${alg} matches`) : bad(`${alg} of the ${bytes.length} bytes read differs from EF.SOD`)),
    });
  }
  return out;
}

/**
 * Passive authentication of `files` (data group number → bytes as read) against EF.SOD `sod`,
 * with `cscas` (DER certificates) as trust anchors, at time `now`.
 */
export function verifySod(
  sod: Uint8Array,
  files: ReadonlyMap<number, Uint8Array>,
  cscas: readonly Uint8Array[],
  now: Date = new Date(),
  opts: VerifySodOptions = {},
): PassiveAuthReport {
  let decoded: DecodedSod | undefined;
  let structure: Check;
  try {
    if (sod.length === 0) throw new LdsError('EF.SOD was not read: nothing vouches for the data groups');
    decoded = decodeSod(sod);
    structure =
      decoded.eContentType === OID_LDS_SECURITY_OBJECT
        ? ok(`LDSSecurityObject v${decoded.securityObject.version} with ${decoded.securityObject.dataGroupHashes.size} data group hashes`)
        : bad(`eContentType is ${decoded.eContentType}, not id-icao-mrtd-security-ldsSecurityObject`);
  } catch (e) {
    // Whatever the bytes, the answer is a report: a parser's own exception is a structure failure too.
    structure = bad(e instanceof LdsError ? e.message : `EF.SOD does not decode (${e instanceof Error ? e.message : String(e)})`);
  }
  const files2 = checkFiles(decoded, files);
  let signature = skipped('EF.SOD could not be decoded');
  let chain = skipped('no document signer certificate');
  let validity = skipped('no document signer certificate');
  let documentSigner: CertificateSummary | undefined;
  let csca: CertificateSummary | undefined;
  if (decoded !== undefined) {
    const signerDer = findSigner(decoded, opts.documentSigners ?? []);
    const signer = signerDer === undefined ? undefined : parseCertificate(signerDer);
    if (signer === undefined) {
      signature = skipped(
        signerDer === undefined ? 'the document signer certificate is neither in EF.SOD nor among those given' : 'the document signer certificate does not parse',
      );
    } else {
      documentSigner = summary(signer);
      signature = checkSignature(decoded, signer);
      const c = checkChain(signer, cscas);
      chain = c.check;
      if (c.csca !== undefined) csca = summary(c.csca);
      validity = checkValidity(signer, c.check.verdict === 'valid' ? c.csca : undefined, now);
    }
  }
  const all: Check[] = [structure, signature, chain, validity, ...files2];
  // Data groups listed but not read (access refused) do not make the report incomplete: what was
  // read is authentic. A data group read but not checked does.
  const complete =
    [signature, chain, validity].every((c) => c.verdict === 'valid') &&
    files2.some((f) => f.verdict === 'valid') &&
    files2.every((f) => f.verdict === 'valid' || !files.has(f.dataGroup));
  const verdict = all.some((c) => c.verdict === 'invalid') ? 'invalid' : complete ? 'valid' : 'incomplete';
  const lso = decoded?.securityObject;
  return {
    verdict,
    structure,
    signature,
    chain,
    validity,
    files: files2,
    ...(lso !== undefined ? { hashAlgorithm: lso.hashAlgorithm ?? lso.hashAlgorithmOid } : {}),
    ...(documentSigner !== undefined ? { documentSigner } : {}),
    ...(csca !== undefined ? { csca } : {}),
    ...(decoded?.signedAttributes?.signingTime !== undefined ? { signingTime: decoded.signedAttributes.signingTime.toISOString() } : {}),
  };
}

/** A readable multi-line summary of a report (the CLI prints it; `--json` prints the report). */
export function formatPassiveAuth(r: PassiveAuthReport): string {
  const mark = (v: CheckVerdict): string => (v === 'valid' ? 'valid      ' : v === 'invalid' ? 'INVALID    ' : 'not checked');
  const lines = [
    `passive authentication: ${r.verdict.toUpperCase()}`,
    `  ${mark(r.structure.verdict)}  EF.SOD        ${r.structure.detail}`,
    `  ${mark(r.signature.verdict)}  signature     ${r.signature.detail}`,
    `  ${mark(r.chain.verdict)}  chain         ${r.chain.detail}`,
    `  ${mark(r.validity.verdict)}  validity      ${r.validity.detail}`,
  ];
  for (const f of r.files) lines.push(`  ${mark(f.verdict)}  ${f.name.padEnd(13)} ${f.detail}`);
  return lines.join('\n');
}
