/**
 * Signing keys for personalization: the document signer (EF.SOD, ICAO 9303-12 §7.1) and the card
 * issuer that certifies keys generated on the card — loaded from PEM (certificate + private key,
 * PKCS#8, SEC 1 or PKCS#1) or PKCS#12 (through node-forge), the passphrase from an environment
 * variable or a file, never from the command line. Plus the test card-issuer CA of
 * `chipwright pki init` and the certificates it issues (RFC 5280 §4.1, written as DER).
 *
 * @example
 * const ds = loadSigner({ path: 'ds.p12', passphraseEnv: 'DS_PASS' }, process.env);
 * const cert = issueCertificate({ issuer, subject: { commonName: 'SPECIMEN AMINA authentication' }, publicKey: spki });
 */
import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Forge from 'node-forge';
import { derToPem, pemToDer } from '../lds/certificates.js';
import { privateKeyObject } from '../lds/algorithms.js';
import { LdsError } from '../lds/errors.js';
import { testName, writeCertificate } from '../lds/x509.js';
import type { CertifiedKey } from '../lds/pki.js';

// node-forge is CommonJS without a default export under this tsconfig (esModuleInterop off).
const forge = createRequire(import.meta.url)('node-forge') as typeof Forge;

/** A signer that cannot be loaded: names the file and what is wrong, never a passphrase. */
export class SignerError extends Error {
  override readonly name = 'SignerError';
}

export interface SignerSource {
  /** PEM (certificate + key) or PKCS#12 (.p12 / .pfx). */
  readonly path: string;
  /** Environment variable holding the passphrase. */
  readonly passphraseEnv?: string;
  /** File whose first line is the passphrase. */
  readonly passphraseFile?: string;
}

function passphrase(src: SignerSource, env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (src.passphraseEnv !== undefined) {
    const v = env[src.passphraseEnv];
    if (v === undefined) throw new SignerError(`${src.path}: the passphrase variable ${src.passphraseEnv} is not set`);
    return v;
  }
  if (src.passphraseFile !== undefined) {
    try {
      return readFileSync(src.passphraseFile, 'utf8').split(/\r?\n/)[0] ?? '';
    } catch (e) {
      throw new SignerError(`passphrase file ${src.passphraseFile}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  return undefined;
}

function pkcs8Of(key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ type: 'pkcs8', format: 'der' }));
}

/** Checks that the key belongs to the certificate (same public key). */
function checkPair(path: string, certificate: Uint8Array, privateKey: Uint8Array): CertifiedKey {
  const pub = createPublicKey(createPrivateKey({ key: Buffer.from(privateKey), format: 'der', type: 'pkcs8' })).export({ type: 'spki', format: 'der' });
  const certPub = new X509Certificate(Buffer.from(certificate)).publicKey.export({ type: 'spki', format: 'der' });
  if (!Buffer.from(pub).equals(Buffer.from(certPub))) throw new SignerError(`${path}: the private key does not belong to the certificate`);
  return { certificate, privateKey };
}

function fromPem(path: string, text: string, pass: string | undefined): CertifiedKey {
  const certs = pemToDer(text);
  if (certs.length === 0) throw new SignerError(`${path}: no CERTIFICATE in the PEM file`);
  const m = /-----BEGIN ((?:ENCRYPTED |EC |RSA )?PRIVATE KEY)-----[\s\S]*?-----END \1-----/.exec(text);
  if (m === null) throw new SignerError(`${path}: no PRIVATE KEY in the PEM file`);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: m[0], format: 'pem', ...(pass !== undefined ? { passphrase: pass } : {}) });
  } catch (e) {
    const encrypted = m[1] === 'ENCRYPTED PRIVATE KEY' || /Proc-Type: 4,ENCRYPTED/.test(m[0]);
    throw new SignerError(`${path}: cannot read the private key${encrypted ? (pass === undefined ? ' (it is encrypted: give the passphrase)' : ' (wrong passphrase?)') : ` (${e instanceof Error ? e.message : String(e)})`}`);
  }
  return checkPair(path, certs[0]!, pkcs8Of(key));
}

function fromP12(path: string, der: Uint8Array, pass: string | undefined): CertifiedKey {
  let p12: Forge.pkcs12.Pkcs12Pfx;
  try {
    const asn1 = forge.asn1.fromDer(forge.util.createBuffer(Buffer.from(der).toString('binary')));
    p12 = forge.pkcs12.pkcs12FromAsn1(asn1, false, pass ?? '');
  } catch (e) {
    throw new SignerError(`${path}: cannot open the PKCS#12 file (${e instanceof Error ? e.message.split('\n')[0] : String(e)}; wrong passphrase?)`);
  }
  const bytes = (a: Forge.asn1.Asn1): Uint8Array => new Uint8Array(Buffer.from(forge.asn1.toDer(a).getBytes(), 'binary'));
  const keyBags = [...(p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag! })[forge.pki.oids.pkcs8ShroudedKeyBag!] ?? []), ...(p12.getBags({ bagType: forge.pki.oids.keyBag! })[forge.pki.oids.keyBag!] ?? [])];
  const certBags = p12.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!] ?? [];
  const kb = keyBags[0];
  if (kb === undefined) throw new SignerError(`${path}: the PKCS#12 file holds no private key`);
  // forge parses RSA keys only; other keys stay as their PrivateKeyInfo ASN.1 (`asn1`).
  const keyDer = kb.key !== undefined ? bytes(forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(kb.key))) : bytes((kb as unknown as { asn1: Forge.asn1.Asn1 }).asn1);
  const certs = certBags.map((b: Forge.pkcs12.Bag) => (b.cert !== undefined ? bytes(forge.pki.certificateToAsn1(b.cert)) : bytes((b as unknown as { asn1: Forge.asn1.Asn1 }).asn1)));
  const privateKey = pkcs8Of(createPrivateKey({ key: Buffer.from(keyDer), format: 'der', type: 'pkcs8' }));
  // The certificate of the key: the one whose public key matches (a bundle may carry the CA too).
  for (const c of certs) {
    try {
      return checkPair(path, c, privateKey);
    } catch {
      // try the next certificate
    }
  }
  throw new SignerError(`${path}: no certificate in the PKCS#12 file matches its private key`);
}

/**
 * Loads a signer from PEM or PKCS#12 (decided by the content: PEM text, else DER PKCS#12).
 *
 * @example loadSigner({ path: 'pki/document-signer.pem' })
 */
export function loadSigner(src: SignerSource, env: Readonly<Record<string, string | undefined>> = {}): CertifiedKey {
  let data: Buffer;
  try {
    data = readFileSync(src.path);
  } catch (e) {
    throw new SignerError(`${src.path}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const pass = passphrase(src, env);
  const text = data.toString('latin1');
  if (text.includes('-----BEGIN ')) return fromPem(src.path, text, pass);
  return fromP12(src.path, new Uint8Array(data), pass);
}

/** A certificate and key as one PEM file (what `pki init` writes). */
export function signerPem(k: CertifiedKey): string {
  return derToPem(k.certificate) + derToPem(k.privateKey, 'PRIVATE KEY');
}

// --- issuing certificates ----------------------------------------------------------------------

export interface CertificateRequest {
  /** Signs the certificate; undefined = self-signed with `selfKey`. */
  readonly issuer?: CertifiedKey;
  readonly subject: { readonly commonName: string; readonly serialNumber?: string; readonly country?: string };
  /** SubjectPublicKeyInfo DER of the certified key. */
  readonly publicKey: Uint8Array;
  /** For a self-signed certificate: its own private key (PKCS#8). */
  readonly selfKey?: Uint8Array;
  readonly ca?: boolean;
  /** keyUsage bits of the first byte (RFC 5280 §4.2.1.3: 80 digitalSignature, 20 keyEncipherment, 08 keyAgreement, 04 keyCertSign, 02 cRLSign). */
  readonly keyUsage: number;
  readonly years?: number;
  readonly now?: Date;
}

/**
 * An X.509 v3 certificate (RFC 5280) for `publicKey` under `issuer` (or self-signed), written by
 * `lds/x509.ts`, names marked with "chipwright TEST" as the organisation so a test certificate is
 * never mistaken for a real one. Validity: from a day before now (or `now`) for `years` (5).
 */
export function issueCertificate(req: CertificateRequest): Uint8Array {
  const signerKeyDer = req.issuer?.privateKey ?? req.selfKey;
  if (signerKeyDer === undefined) throw new SignerError('issueCertificate: give issuer or selfKey');
  const start = req.now ?? new Date(Date.now() - 86_400_000);
  const end = new Date(start.getTime());
  end.setUTCFullYear(end.getUTCFullYear() + (req.years ?? 5));
  try {
    return writeCertificate({
      subject: testName({ country: req.subject.country ?? 'QA', commonName: req.subject.commonName, ...(req.subject.serialNumber !== undefined ? { serialNumber: req.subject.serialNumber } : {}) }),
      ...(req.issuer !== undefined ? { issuer: req.issuer.certificate } : {}),
      publicKey: req.publicKey,
      signer: privateKeyObject(signerKeyDer),
      notBefore: start,
      notAfter: end,
      keyUsage: req.keyUsage,
      ...(req.ca === true ? { ca: true } : {}),
    });
  } catch (e) {
    if (e instanceof LdsError) throw new SignerError(e.message);
    throw e;
  }
}

/**
 * A self-signed test CA that certifies keys generated on cards ("chipwright TEST Card Issuer CA",
 * ECDSA P-256, keyCertSign + cRLSign).
 *
 * @example const issuer = createTestCardIssuer();
 */
export function createTestCardIssuer(opts: { readonly now?: Date; readonly country?: string } = {}): CertifiedKey {
  const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = new Uint8Array(pair.publicKey.export({ type: 'spki', format: 'der' }));
  const privateKey = pkcs8Of(pair.privateKey);
  const certificate = issueCertificate({
    subject: { commonName: 'chipwright TEST Card Issuer CA', ...(opts.country !== undefined ? { country: opts.country } : {}) },
    publicKey: spki,
    selfKey: privateKey,
    ca: true,
    keyUsage: 0x06,
    years: 15,
    ...(opts.now !== undefined ? { now: opts.now } : {}),
  });
  return { certificate, privateKey };
}
