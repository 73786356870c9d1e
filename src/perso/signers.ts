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
import { X509Certificate, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Forge from 'node-forge';
import { derToPem, pemToDer } from '../lds/certificates.js';
import { privateKeyObject, signWith, signatureAlgorithmFor, type HashAlgorithm } from '../lds/algorithms.js';
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

const OID = { C: '2.5.4.6', O: '2.5.4.10', CN: '2.5.4.3', SERIAL: '2.5.4.5' } as const;

/**
 * `Name ::= SEQUENCE OF RelativeDistinguishedName`, one AttributeTypeAndValue per RDN (RFC 5280
 * §4.1.2.4), each value already encoded (PrintableString or UTF8String).
 */
function distinguishedName(attrs: readonly (readonly [string, Uint8Array])[]): Uint8Array {
  return derSequence(...attrs.map(([type, value]) => derSet(derSequence(derOid(type), value))));
}

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
 * The subjectPublicKey BIT STRING's bytes of a SubjectPublicKeyInfo (RFC 5280 §4.1.2.7), whole
 * bytes only, as key identifiers hash them.
 */
function subjectPublicKeyBits(spki: Uint8Array): Uint8Array {
  let bits: Uint8Array | undefined;
  try {
    const t = parseTlv(spki);
    const b = t.children?.[1];
    if (t.tag === 0x30 && b?.tag === 0x03 && b.value[0] === 0) bits = b.value.subarray(1);
  } catch (e) {
    throw new SignerError(`SubjectPublicKeyInfo does not parse (${e instanceof Error ? e.message : String(e)})`);
  }
  if (bits === undefined) throw new SignerError('SubjectPublicKeyInfo: expected SEQUENCE { AlgorithmIdentifier, BIT STRING of whole bytes }');
  return bits;
}

/** Key identifier method 1 of RFC 5280 §4.2.1.2: SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(spki: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha1').update(subjectPublicKeyBits(spki)).digest());
}

/** `Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }` (RFC 5280 §4.1.2.9; DER leaves out FALSE). */
function extension(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? derSequence(derOid(oid), derBoolean(true), derOctetString(value)) : derSequence(derOid(oid), derOctetString(value));
}

/** keyUsage as a DER named-bit BIT STRING: trailing zero bits dropped (X.690 §11.2.2). */
function keyUsageBits(first: number): Uint8Array {
  if (!Number.isInteger(first) || first < 1 || first > 0xff) throw new SignerError(`keyUsage: expected bits 01..FF of the first byte, got ${first}`);
  let unused = 0;
  while (((first >> unused) & 1) === 0) unused++;
  return derBitString(Uint8Array.of(first), unused);
}

/** What certifying needs from the issuer's certificate: its subject Name and key identifier, as encoded there. */
interface IssuerIdentity {
  readonly name: Uint8Array;
  readonly keyIdentifier: Uint8Array;
}

const issuers = new WeakMap<Uint8Array, IssuerIdentity>();

/** The issuer's subject Name (bytes as in its certificate) and key identifier, once per certificate byte array (a batch certifies with one issuer). */
function issuerOf(der: Uint8Array): IssuerIdentity {
  let i = issuers.get(der);
  if (i === undefined) {
    let f: readonly Tlv[] = [];
    try {
      f = parseTlv(der).children?.[0]?.children ?? [];
    } catch (e) {
      throw new SignerError(`issuer certificate does not parse (${e instanceof Error ? e.message : String(e)})`);
    }
    const at = f[0]?.tag === 0xa0 ? 1 : 0;
    const subject = f[at + 4];
    const spki = f[at + 5];
    if (subject?.tag !== 0x30 || spki?.tag !== 0x30) throw new SignerError('issuer certificate: expected TBSCertificate with subject and subjectPublicKeyInfo (RFC 5280 §4.1)');
    i = { name: subject.raw!, keyIdentifier: keyIdentifier(spki.raw!) };
    issuers.set(der, i);
  }
  return i;
}

/**
 * An X.509 v3 certificate (RFC 5280 §4.1), written as DER, names marked with "chipwright TEST" as
 * the organisation so a test certificate is never mistaken for a real one:
 *
 *     TBSCertificate ::= SEQUENCE { version [0] EXPLICIT v3, serialNumber, signature, issuer,
 *                                   validity, subject, subjectPublicKeyInfo, extensions [3] EXPLICIT }
 *
 * Extensions: keyUsage (critical), subjectKeyIdentifier, basicConstraints for a CA (critical,
 * pathLen 0), authorityKeyIdentifier when an issuer signs.
 */
export function issueCertificate(req: CertificateRequest): Uint8Array {
  const signerKeyDer = req.issuer?.privateKey ?? req.selfKey;
  if (signerKeyDer === undefined) throw new SignerError('issueCertificate: give issuer or selfKey');
  const signerKey = privateKeyObject(signerKeyDer);
  const subjectAttrs: [string, Uint8Array][] = [
    [OID.C, derPrintableString(req.subject.country ?? 'QA')],
    [OID.O, derUtf8String('chipwright TEST')],
    [OID.CN, derUtf8String(req.subject.commonName)],
  ];
  if (req.subject.serialNumber !== undefined) subjectAttrs.push([OID.SERIAL, derPrintableString(req.subject.serialNumber)]);
  const subject = distinguishedName(subjectAttrs);
  const issuer = req.issuer !== undefined ? issuerOf(req.issuer.certificate) : undefined;
  // A positive 16-byte serial (RFC 5280 §4.1.2.2: at most 20 octets, non-negative).
  const serial = new Uint8Array(randomBytes(16));
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  const start = req.now ?? new Date(Date.now() - 86_400_000);
  const end = new Date(start.getTime());
  end.setUTCFullYear(end.getUTCFullYear() + (req.years ?? 5));
  subjectPublicKeyBits(req.publicKey); // refuses a malformed key before anything is signed
  const extensions = [extension('2.5.29.15', true, keyUsageBits(req.keyUsage)), extension('2.5.29.14', false, derOctetString(keyIdentifier(req.publicKey)))];
  if (req.ca === true) extensions.push(extension('2.5.29.19', true, derSequence(derBoolean(true), derInteger(0))));
  if (issuer !== undefined) extensions.push(extension('2.5.29.35', false, derSequence(derImplicit(0, issuer.keyIdentifier, false))));
  const hash: HashAlgorithm = signerKey.asymmetricKeyType === 'ec' && signerKey.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'SHA-384' : 'SHA-256';
  const sig = signatureAlgorithmFor(signerKey, hash);
  const alg = derAlgorithm(sig.oid, sig.nullParameters ? derNull() : undefined);
  const tbs = derSequence(
    derExplicit(0, derInteger(2)),
    derInteger(serial),
    alg,
    issuer?.name ?? subject,
    derSequence(derTime(start), derTime(end)),
    subject,
    req.publicKey,
    derExplicit(3, derSequence(...extensions)),
  );
  // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }.
  return derSequence(tbs, alg, derBitString(signWith(signerKey, hash, tbs)));
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
