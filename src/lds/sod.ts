/**
 * EF.SOD, the document security object (ICAO 9303-10 §4.6.2; RFC 5652): a CMS SignedData whose
 * encapsulated content is an LDSSecurityObject — the hash of every data group — signed by a
 * document signer.
 *
 *     77 { ContentInfo { id-signedData, SignedData {
 *            version 3, digestAlgorithms, encapContentInfo { id-icao-mrtd-security-ldsSecurityObject, eContent },
 *            certificates [0] { DS certificate }, signerInfos { SignerInfo v1 (issuer and serial number),
 *            signedAttrs { contentType, signingTime, messageDigest }, signature } } } }
 *
 *     LDSSecurityObject ::= SEQUENCE {
 *       version             LDSSecurityObjectVersion,          -- v0, or v1 with ldsVersionInfo
 *       hashAlgorithm       DigestAlgorithmIdentifier,
 *       dataGroupHashValues SEQUENCE SIZE (2..ub-DataGroups) OF DataGroupHash,
 *       ldsVersionInfo      LDSVersionInfo OPTIONAL }
 *     DataGroupHash ::= SEQUENCE { dataGroupNumber DataGroupNumber, dataGroupHashValue OCTET STRING }
 *
 * Building writes DER directly (src/tlv/der.ts) and uses Node's crypto for hashes and the signature; the
 * result is DER (signed attributes sorted as a DER SET OF, eContent a primitive OCTET STRING).
 * Decoding keeps what signatures and hashes cover as received: the eContent octets, the signed
 * attributes' bytes (with the SET tag the signature is computed over, RFC 5652 §5.4) and each
 * certificate's bytes. Nothing is re-encoded before it is verified.
 *
 * @example
 * const sod = buildSod(new Map([[1, dg1], [2, dg2]]), pki.documentSigner);
 * decodeSod(sod).securityObject.dataGroupHashes.get(1) // SHA-256(dg1)
 */
import * as asn1js from 'asn1js';
import { HASH_ALGORITHMS, digestBytes, hashByOid, privateKeyObject, signWith, signatureAlgorithmFor, type HashAlgorithm } from './algorithms.js';
import { LdsError } from './errors.js';
import { EF_SOD } from './tags.js';
import { encodeTlv } from '../tlv/ber.js';
import { certificateIdentity } from './x509.js';
import { derAlgorithm, derExplicit, derImplicit, derInteger, derNull, derOctetString, derOid, derPrintableString, derSequence, derSet, derUtcTime } from '../tlv/der.js';
import {
  algorithm,
  children,
  explicit,
  intBytes,
  isContext,
  octets,
  oid,
  parseDer,
  rawOf,
  sequence,
  set,
  smallInt,
  time,
  type Block,
} from './_asn1.js';
import type { CertifiedKey } from './pki.js';

/** id-icao-mrtd-security-ldsSecurityObject (ICAO 9303-10 §4.6.2.1). */
export const OID_LDS_SECURITY_OBJECT = '2.23.136.1.1.1';
/** id-signedData (RFC 5652 §5.1). */
export const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const OID_CONTENT_TYPE = '1.2.840.113549.1.9.3';
const OID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
const OID_SIGNING_TIME = '1.2.840.113549.1.9.5';

/** The LDSSecurityObject as decoded. */
export interface LdsSecurityObject {
  readonly version: 0 | 1;
  /** The digest algorithm OID, as stored. */
  readonly hashAlgorithmOid: string;
  /** The same, when chipwright knows it. */
  readonly hashAlgorithm: HashAlgorithm | undefined;
  /** Data group number → hash value. */
  readonly dataGroupHashes: ReadonlyMap<number, Uint8Array>;
  /** LDS 1.8 version information (v1 only). */
  readonly ldsVersionInfo?: { readonly ldsVersion: string; readonly unicodeVersion: string };
}

export interface LdsSecurityObjectInput {
  readonly hashAlgorithm: HashAlgorithm;
  readonly dataGroupHashes: ReadonlyMap<number, Uint8Array>;
  /** Given: version 1 with LDSVersionInfo (e.g. '0108', '040000'); absent: version 0. */
  readonly ldsVersionInfo?: { readonly ldsVersion: string; readonly unicodeVersion: string };
}

/** DER of an LDSSecurityObject; data groups in ascending order. */
export function encodeLdsSecurityObject(o: LdsSecurityObjectInput): Uint8Array {
  const dgs = [...o.dataGroupHashes.keys()].sort((a, b) => a - b);
  if (dgs.length < 2) throw new LdsError(`LDSSecurityObject: at least 2 data group hashes (ICAO 9303-10 §4.6.2.2), got ${dgs.length}`);
  const len = HASH_ALGORITHMS[o.hashAlgorithm].length;
  const hashes = dgs.map((n) => {
    if (!Number.isInteger(n) || n < 1 || n > 16) throw new LdsError(`LDSSecurityObject: data group number ${n} is not 1..16`);
    const h = o.dataGroupHashes.get(n)!;
    if (h.length !== len) throw new LdsError(`LDSSecurityObject: DG${n} hash has ${h.length} bytes, ${o.hashAlgorithm} has ${len}`);
    return derSequence(derInteger(n), derOctetString(h));
  });
  const fields = [derInteger(o.ldsVersionInfo === undefined ? 0 : 1), derAlgorithm(HASH_ALGORITHMS[o.hashAlgorithm].oid), derSequence(...hashes)];
  if (o.ldsVersionInfo !== undefined) {
    fields.push(derSequence(derPrintableString(o.ldsVersionInfo.ldsVersion), derPrintableString(o.ldsVersionInfo.unicodeVersion)));
  }
  return derSequence(...fields);
}

function printable(b: Block | undefined, what: string): string {
  if (!(b instanceof asn1js.PrintableString)) throw new LdsError(`${what}: expected a PrintableString`);
  return b.valueBlock.value;
}

export function decodeLdsSecurityObject(der: Uint8Array): LdsSecurityObject {
  const w = 'LDSSecurityObject';
  const f = sequence(parseDer(der, w), w);
  const version = smallInt(f[0], `${w} version`);
  if (version !== 0 && version !== 1) throw new LdsError(`${w}: version ${version} is not v0 or v1`);
  const hashAlgorithmOid = algorithm(f[1], `${w} hashAlgorithm`).oid;
  const dataGroupHashes = new Map<number, Uint8Array>();
  for (const e of sequence(f[2], `${w} dataGroupHashValues`)) {
    const [n, h] = sequence(e, `${w} DataGroupHash`);
    const dg = smallInt(n, `${w} dataGroupNumber`);
    if (dg < 1 || dg > 16) throw new LdsError(`${w}: data group number ${dg} is not 1..16`);
    if (dataGroupHashes.has(dg)) throw new LdsError(`${w}: DG${dg} is listed twice`);
    dataGroupHashes.set(dg, octets(h, `${w} DG${dg} hash`).slice());
  }
  let ldsVersionInfo: LdsSecurityObject['ldsVersionInfo'];
  if (version === 1) {
    const v = sequence(f[3], `${w} ldsVersionInfo`);
    ldsVersionInfo = { ldsVersion: printable(v[0], `${w} ldsVersion`), unicodeVersion: printable(v[1], `${w} unicodeVersion`) };
  }
  if (f.length !== (version === 1 ? 4 : 3)) throw new LdsError(`${w}: v${version} has ${version === 1 ? 4 : 3} fields, found ${f.length}`);
  return { version, hashAlgorithmOid, hashAlgorithm: hashByOid(hashAlgorithmOid), dataGroupHashes, ...(ldsVersionInfo ? { ldsVersionInfo } : {}) };
}

// --- building ---------------------------------------------------------------------------------------

export interface BuildSodOptions {
  /** Data group hash and signature digest (default SHA-256). */
  readonly hashAlgorithm?: HashAlgorithm;
  /** The signingTime attribute (default: now); `null` leaves it out. */
  readonly signingTime?: Date | null;
  /** Writes an LDSSecurityObject v1 with this LDSVersionInfo (LDS 1.8); default v0. */
  readonly ldsVersionInfo?: { readonly ldsVersion: string; readonly unicodeVersion: string };
}

/** The document signer certificate's IssuerAndSerialNumber (RFC 5652 §10.2.4), as encoded in it. */
function signerIdentity(der: Uint8Array): Uint8Array {
  try {
    return certificateIdentity(der).issuerAndSerialNumber;
  } catch (e) {
    throw new LdsError(`document signer ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** `Attribute ::= SEQUENCE { attrType OBJECT IDENTIFIER, attrValues SET OF AttributeValue }` (RFC 5652 §5.3). */
function attribute(type: string, value: Uint8Array): Uint8Array {
  return derSequence(derOid(type), derSet(value));
}

/**
 * EF.SOD over `files` (data group number → the file's bytes as stored on the chip), signed by
 * `signer`, written as DER directly (RFC 5652 §5.1–§5.4):
 *
 *     ContentInfo ::= SEQUENCE { contentType id-signedData, content [0] EXPLICIT SignedData }
 *     SignedData ::= SEQUENCE { version 3, digestAlgorithms SET OF, encapContentInfo,
 *                               certificates [0] IMPLICIT SET OF Certificate, signerInfos SET OF }
 *     SignerInfo ::= SEQUENCE { version 1, sid IssuerAndSerialNumber, digestAlgorithm,
 *                               signedAttrs [0] IMPLICIT SET OF Attribute, signatureAlgorithm, signature }
 *
 * The signer's certificate is included as issued (ICAO 9303-10 §4.6.2: the DS certificate SHOULD
 * be in EF.SOD), never re-encoded: a re-encoding could differ from what its signature covers.
 */
export function buildSod(files: ReadonlyMap<number, Uint8Array>, signer: CertifiedKey, opts: BuildSodOptions = {}): Uint8Array {
  const hash = opts.hashAlgorithm ?? 'SHA-256';
  const hashes = new Map<number, Uint8Array>();
  for (const [n, bytes] of files) hashes.set(n, digestBytes(hash, bytes));
  const lso = encodeLdsSecurityObject({ hashAlgorithm: hash, dataGroupHashes: hashes, ...(opts.ldsVersionInfo ? { ldsVersionInfo: opts.ldsVersionInfo } : {}) });

  const key = privateKeyObject(signer.privateKey);
  const id = signerIdentity(signer.certificate);
  const attrs = [attribute(OID_CONTENT_TYPE, derOid(OID_LDS_SECURITY_OBJECT)), attribute(OID_MESSAGE_DIGEST, derOctetString(digestBytes(hash, lso)))];
  const when = opts.signingTime === undefined ? new Date() : opts.signingTime;
  if (when !== null) attrs.push(attribute(OID_SIGNING_TIME, derUtcTime(when)));
  // DER SET OF: elements in ascending order of their encodings (X.690 §11.6). The signature
  // covers exactly these bytes with the SET tag (RFC 5652 §5.4); in SignerInfo the same content
  // sits under [0] IMPLICIT.
  const signedAttrsDer = derSet(...attrs);
  const signedAttrsImplicit = signedAttrsDer.slice();
  signedAttrsImplicit[0] = 0xa0; // [0] IMPLICIT SET OF: same length and content, context tag
  const sigAlg = signatureAlgorithmFor(key, hash);
  const digestAlgorithm = derAlgorithm(HASH_ALGORITHMS[hash].oid);
  const signerInfo = derSequence(
    derInteger(1),
    id,
    digestAlgorithm,
    signedAttrsImplicit,
    derAlgorithm(sigAlg.oid, sigAlg.nullParameters ? derNull() : undefined),
    derOctetString(signWith(key, hash, signedAttrsDer)),
  );
  const signedData = derSequence(
    derInteger(3),
    derSet(digestAlgorithm),
    derSequence(derOid(OID_LDS_SECURITY_OBJECT), derExplicit(0, derOctetString(lso))),
    derImplicit(0, signer.certificate, true),
    derSet(signerInfo),
  );
  return encodeTlv(EF_SOD.tag, derSequence(derOid(OID_SIGNED_DATA), derExplicit(0, signedData)));
}

// --- decoding ---------------------------------------------------------------------------------------

export type SignerIdentifier =
  | { readonly kind: 'issuerAndSerialNumber'; readonly issuer: Uint8Array; readonly serialNumber: Uint8Array }
  | { readonly kind: 'subjectKeyIdentifier'; readonly keyIdentifier: Uint8Array };

export interface SignedAttributes {
  /** The attributes' bytes as received, first byte set to 31 (SET OF): what the signature covers. */
  readonly der: Uint8Array;
  readonly contentType?: string;
  readonly messageDigest?: Uint8Array;
  readonly signingTime?: Date;
}

/** EF.SOD taken apart, with what signatures and hashes cover kept as received. */
export interface DecodedSod {
  readonly securityObject: LdsSecurityObject;
  readonly eContentType: string;
  /** The encapsulated content's octets as carried (the LDSSecurityObject DER). */
  readonly eContent: Uint8Array;
  /** The SignerInfo's digest algorithm OID. */
  readonly digestAlgorithm: string;
  /** The signature AlgorithmIdentifier: OID and raw DER parameters. */
  readonly signatureAlgorithm: { readonly oid: string; readonly parameters?: Uint8Array };
  readonly signedAttributes?: SignedAttributes;
  readonly signature: Uint8Array;
  readonly signerIdentifier: SignerIdentifier;
  /** Certificates carried in SignedData, each as received. */
  readonly certificates: readonly Uint8Array[];
}

function decodeSignedAttributes(b: Block): SignedAttributes {
  const der = rawOf(b).slice();
  der[0] = 0x31;
  const out: { -readonly [K in keyof SignedAttributes]: SignedAttributes[K] } = { der };
  for (const a of children(b, 'signedAttrs')) {
    const [type, values] = sequence(a, 'signed attribute');
    const t = oid(type, 'signed attribute type');
    const vs = set(values, `signed attribute ${t}`);
    if (vs.length !== 1) throw new LdsError(`EF.SOD: signed attribute ${t} must have exactly one value`);
    if (t === OID_CONTENT_TYPE) {
      if (out.contentType !== undefined) throw new LdsError('EF.SOD: contentType attribute appears twice');
      out.contentType = oid(vs[0], 'contentType attribute');
    } else if (t === OID_MESSAGE_DIGEST) {
      if (out.messageDigest !== undefined) throw new LdsError('EF.SOD: messageDigest attribute appears twice');
      out.messageDigest = octets(vs[0], 'messageDigest attribute').slice();
    } else if (t === OID_SIGNING_TIME) out.signingTime = time(vs[0], 'signingTime attribute');
  }
  return out;
}

/**
 * Takes EF.SOD apart. Structural problems are an {@link LdsError} naming the element; nothing is
 * verified here (see `verifySod`).
 */
export function decodeSod(bytes: Uint8Array): DecodedSod {
  const outer = parseDer(bytes, 'EF.SOD');
  const id = (outer as asn1js.BaseBlock).idBlock;
  if (id.tagClass !== 2 || id.tagNumber !== 23) throw new LdsError('EF.SOD: outer tag is not 77');
  const inner = children(outer, 'EF.SOD');
  if (inner.length !== 1) throw new LdsError('EF.SOD: 77 must hold exactly one ContentInfo');
  const ci = sequence(inner[0], 'ContentInfo');
  if (oid(ci[0], 'ContentInfo contentType') !== OID_SIGNED_DATA) throw new LdsError('EF.SOD: ContentInfo is not id-signedData');
  const sd = sequence(explicit(ci[1], 0, 'ContentInfo content'), 'SignedData');
  let i = 0;
  const sdVersion = smallInt(sd[i++], 'SignedData version');
  // RFC 5652 §5.1: version 3 when eContentType is not id-data, as it is here.
  if (sdVersion !== 3) throw new LdsError(`EF.SOD: SignedData version ${sdVersion} is not 3`);
  const digestAlgorithms = set(sd[i++], 'SignedData digestAlgorithms').map((a) => algorithm(a, 'digestAlgorithms').oid);
  const encap = sequence(sd[i++], 'encapContentInfo');
  const eContentType = oid(encap[0], 'eContentType');
  if (encap[1] === undefined) throw new LdsError('EF.SOD: encapContentInfo has no eContent (detached content is not allowed)');
  const eContent = octets(explicit(encap[1], 0, 'eContent'), 'eContent');
  const certificates: Uint8Array[] = [];
  if (isContext(sd[i], 0)) {
    for (const c of children(sd[i]!, 'certificates')) {
      if (!(c instanceof asn1js.Sequence)) throw new LdsError('EF.SOD: a certificate in SignedData is not an X.509 certificate');
      certificates.push(rawOf(c).slice());
    }
    i++;
  }
  if (isContext(sd[i], 1)) i++; // CRLs: not used by ICAO 9303
  const signerInfos = set(sd[i], 'signerInfos');
  if (signerInfos.length !== 1) throw new LdsError(`EF.SOD: expected exactly one SignerInfo, found ${signerInfos.length}`);
  const si = sequence(signerInfos[0], 'SignerInfo');
  let k = 0;
  const siVersion = smallInt(si[k++], 'SignerInfo version');
  const sidBlock = si[k++];
  let signerIdentifier: SignerIdentifier;
  if (sidBlock instanceof asn1js.Sequence) {
    const [issuer, serial] = sequence(sidBlock, 'issuerAndSerialNumber');
    if (issuer === undefined) throw new LdsError('EF.SOD: issuerAndSerialNumber has no issuer');
    signerIdentifier = { kind: 'issuerAndSerialNumber', issuer: rawOf(issuer).slice(), serialNumber: intBytes(serial, 'serialNumber').slice() };
  } else if (isContext(sidBlock, 0)) {
    const raw = (sidBlock as asn1js.Primitive).valueBlock.valueHexView;
    signerIdentifier = { kind: 'subjectKeyIdentifier', keyIdentifier: raw.slice() };
  } else throw new LdsError('EF.SOD: SignerInfo sid is neither issuerAndSerialNumber nor subjectKeyIdentifier');
  // RFC 5652 §5.3: version 1 with issuerAndSerialNumber, 3 with subjectKeyIdentifier.
  const expectedVersion = signerIdentifier.kind === 'issuerAndSerialNumber' ? 1 : 3;
  if (siVersion !== expectedVersion) throw new LdsError(`EF.SOD: SignerInfo version ${siVersion} does not fit its ${signerIdentifier.kind} (${expectedVersion})`);
  const digestAlgorithm = algorithm(si[k++], 'SignerInfo digestAlgorithm').oid;
  if (!digestAlgorithms.includes(digestAlgorithm)) throw new LdsError('EF.SOD: the SignerInfo digest algorithm is not among SignedData digestAlgorithms');
  let signedAttributes: SignedAttributes | undefined;
  if (isContext(si[k], 0)) signedAttributes = decodeSignedAttributes(si[k++]!);
  const sigAlg = algorithm(si[k++], 'SignerInfo signatureAlgorithm');
  const signature = octets(si[k++], 'SignerInfo signature').slice();
  if (si.length > k + (isContext(si[k], 1) ? 1 : 0)) throw new LdsError('EF.SOD: unexpected elements after the SignerInfo signature');
  if (sd.length !== i + 1) throw new LdsError('EF.SOD: unexpected elements after signerInfos');
  if (encap.length !== 2) throw new LdsError('EF.SOD: encapContentInfo must hold eContentType and eContent only');
  return {
    securityObject: decodeLdsSecurityObject(eContent),
    eContentType,
    eContent: eContent.slice(),
    digestAlgorithm,
    signatureAlgorithm: { oid: sigAlg.oid, ...(sigAlg.parameters !== undefined ? { parameters: rawOf(sigAlg.parameters).slice() } : {}) },
    ...(signedAttributes !== undefined ? { signedAttributes } : {}),
    signature,
    signerIdentifier,
    certificates,
  };
}
