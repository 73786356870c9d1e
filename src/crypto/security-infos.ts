/**
 * SecurityInfos: the DER structure of EF.CardAccess (ICAO 9303-11 §9.2, BSI TR-03110-3 §A.1.1),
 * with the PACE entries decoded — PACEInfo and PACEDomainParameterInfo — and every other entry
 * (Chip Authentication, Terminal Authentication, …) kept as its original bytes.
 *
 *     SecurityInfos ::= SET OF SecurityInfo
 *     SecurityInfo ::= SEQUENCE {
 *       protocol     OBJECT IDENTIFIER,
 *       requiredData ANY DEFINED BY protocol,
 *       optionalData ANY DEFINED BY protocol OPTIONAL }
 *
 *     PACEInfo ::= SEQUENCE {
 *       protocol    OBJECT IDENTIFIER(id-PACE-DH-GM-3DES-CBC-CBC | … | id-PACE-ECDH-CAM-AES-CBC-CMAC-256),
 *       version     INTEGER, -- SHOULD be 2
 *       parameterId INTEGER OPTIONAL }
 *
 *     PACEDomainParameterInfo ::= SEQUENCE {
 *       protocol        OBJECT IDENTIFIER(id-PACE-DH-GM | id-PACE-ECDH-GM | id-PACE-DH-IM | id-PACE-ECDH-IM | id-PACE-ECDH-CAM),
 *       domainParameter AlgorithmIdentifier,
 *       parameterId     INTEGER OPTIONAL }
 *
 * A PACEInfo's `parameterId` is either a standardized domain parameter ID (0–31, ICAO 9303-11
 * §9.5.1) or, with a PACEDomainParameterInfo of the same ID, a proprietary one (32–127). The
 * domain parameters themselves are an AlgorithmIdentifier: `standardizedDomainParameters` with the
 * ID as INTEGER (BSI TR-03110-3 §A.2.1.1), or `id-ecPublicKey` with explicit ECParameters
 * (RFC 3279 §2.3.5, field elements as fixed-length octet strings per BSI TR-03111 §3.1.3).
 *
 * Decoding is lenient where real chips are (any SET order) and strict where it matters: a PACE
 * entry whose re-encoding is not byte-identical (non-minimal integers, BER lengths) is refused, so
 * nothing is silently re-interpreted. Encoding is DER (X.690 §11.6: SET OF elements sorted by
 * their encodings) unless `{ sort: false }` keeps the caller's order.
 *
 * @example
 * const cardAccess = encodeSecurityInfos([
 *   { type: 'PACEInfo', protocol: PACE_OID.ECDH_GM_AES_128, version: 2, parameterId: 13 },
 * ]); // 31 14 30 12 06 0A 04007F00070202040202 02 01 02 02 01 0D
 */
import * as asn1js from 'asn1js';
import { ByteInputError, bytesToHex, equalBytes } from '../bytes/index.js';
import { parseTlv, tlvConstructed } from '../tlv/ber.js';
import { derInteger, derOid, derSequence, derSet } from '../tlv/der.js';
import { PRIME_FIELD_OID, bytesToBigint, encodeEcParameters, type CurveParameters } from './curves.js';

// ECParameters are written where the curves are (curves.ts); this module's readers keep the name.
export { encodeEcParameters } from './curves.js';

/** A malformed SecurityInfos structure or entry (the message names the entry and the field). */
export class SecurityInfoError extends Error {
  override readonly name = 'SecurityInfoError';
}

const BSI = '0.4.0.127.0.7';
const ID_PACE = `${BSI}.2.2.4`;

/**
 * PACE object identifiers (BSI TR-03110-3 §A.1.1.1, ICAO 9303-11 §9.2.1), dotted. The family OIDs
 * (`DH_GM`, `ECDH_GM`, …) name domain parameters in PACEDomainParameterInfo; the others name a
 * protocol in PACEInfo and MSE:Set AT.
 */
export const PACE_OID = Object.freeze({
  PACE: ID_PACE,
  DH_GM: `${ID_PACE}.1`,
  DH_GM_3DES: `${ID_PACE}.1.1`,
  DH_GM_AES_128: `${ID_PACE}.1.2`,
  DH_GM_AES_192: `${ID_PACE}.1.3`,
  DH_GM_AES_256: `${ID_PACE}.1.4`,
  ECDH_GM: `${ID_PACE}.2`,
  ECDH_GM_3DES: `${ID_PACE}.2.1`,
  ECDH_GM_AES_128: `${ID_PACE}.2.2`,
  ECDH_GM_AES_192: `${ID_PACE}.2.3`,
  ECDH_GM_AES_256: `${ID_PACE}.2.4`,
  DH_IM: `${ID_PACE}.3`,
  DH_IM_3DES: `${ID_PACE}.3.1`,
  DH_IM_AES_128: `${ID_PACE}.3.2`,
  DH_IM_AES_192: `${ID_PACE}.3.3`,
  DH_IM_AES_256: `${ID_PACE}.3.4`,
  ECDH_IM: `${ID_PACE}.4`,
  ECDH_IM_3DES: `${ID_PACE}.4.1`,
  ECDH_IM_AES_128: `${ID_PACE}.4.2`,
  ECDH_IM_AES_192: `${ID_PACE}.4.3`,
  ECDH_IM_AES_256: `${ID_PACE}.4.4`,
  ECDH_CAM: `${ID_PACE}.6`,
  ECDH_CAM_AES_128: `${ID_PACE}.6.2`,
  ECDH_CAM_AES_192: `${ID_PACE}.6.3`,
  ECDH_CAM_AES_256: `${ID_PACE}.6.4`,
} as const);

/** `standardizedDomainParameters` (BSI TR-03110-3 §A.2.1.1): parameters = INTEGER (the ID). */
export const STANDARDIZED_DOMAIN_PARAMETERS_OID = `${BSI}.1.2`;
/** id-ecPublicKey (RFC 3279 §2.3.5, ANSI X9.62): parameters = ECParameters. */
export const EC_PUBLIC_KEY_OID = '1.2.840.10045.2.1';
/** prime-field (ANSI X9.62): FieldID parameters = INTEGER p. */

export interface PaceInfo {
  readonly type: 'PACEInfo';
  /** A PACE protocol OID, e.g. {@link PACE_OID}.ECDH_GM_AES_128. */
  readonly protocol: string;
  /** 2 for ICAO 9303 / TR-03110 v2 (1 is obsolete). */
  readonly version: number;
  /** Standardized (0–31) or proprietary (32–127) domain parameter ID. */
  readonly parameterId?: number;
}

/** The `domainParameter` AlgorithmIdentifier of a PACEDomainParameterInfo. */
export type DomainParameter =
  | { readonly kind: 'standardized'; readonly id: number }
  | { readonly kind: 'ec'; readonly curve: CurveParameters; readonly fieldLength: number }
  | { readonly kind: 'other'; readonly algorithm: string; readonly parameters?: Uint8Array };

export interface PaceDomainParameterInfo {
  readonly type: 'PACEDomainParameterInfo';
  /** A family OID: {@link PACE_OID}.ECDH_GM, DH_GM, ECDH_IM, DH_IM or ECDH_CAM. */
  readonly protocol: string;
  readonly domainParameter: DomainParameter;
  readonly parameterId?: number;
}

/** Any other SecurityInfo (CA, TA, …): its protocol OID and the whole DER element, as received. */
export interface OtherSecurityInfo {
  readonly type: 'other';
  readonly protocol: string;
  readonly der: Uint8Array;
}

export type SecurityInfo = PaceInfo | PaceDomainParameterInfo | OtherSecurityInfo;

// --- OIDs -----------------------------------------------------------------------------------------

/**
 * Content octets of an OBJECT IDENTIFIER (X.690 §8.19), as MSE:Set AT DO 80 and the 7F49 public
 * key data object's DO 06 carry them.
 *
 * @example bytesToHex(oidToBytes('0.4.0.127.0.7.2.2.4.2.2')) // '04007F00070202040202'
 */
export function oidToBytes(oid: string): Uint8Array {
  if (!/^[0-2](\.(0|[1-9][0-9]*))+$/.test(oid)) throw new ByteInputError(`oid: "${oid}" is not a dotted object identifier`);
  return parseTlv(derOid(oid)).value.slice();
}

/**
 * Dotted form of OBJECT IDENTIFIER content octets; throws for a non-minimal or truncated
 * sub-identifier (X.690 §8.19.2: "the leading octet … shall not have the value 0x80").
 *
 * @example oidFromBytes(hexToBytes('04007F00070202040202')) // '0.4.0.127.0.7.2.2.4.2.2'
 */
export function oidFromBytes(content: Uint8Array): string {
  if (content.length === 0 || content.length > 127) throw new SecurityInfoError('object identifier: expected 1..127 content bytes');
  const der = new Uint8Array(2 + content.length);
  der[0] = 0x06;
  der[1] = content.length;
  der.set(content, 2);
  const r = asn1js.fromBER(der);
  if (r.offset !== der.length || !(r.result instanceof asn1js.ObjectIdentifier)) {
    throw new SecurityInfoError(`object identifier ${bytesToHex(content)}: malformed`);
  }
  const s = r.result.valueBlock.toString();
  if (!equalBytes(oidToBytes(s), content)) throw new SecurityInfoError(`object identifier ${bytesToHex(content)}: not minimally encoded`);
  return s;
}

// --- encoding ------------------------------------------------------------------------------------

function int(n: number, title: string): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new ByteInputError(`${title}: expected a non-negative integer, got ${n}`);
  return derInteger(n);
}

function algorithmIdentifier(d: DomainParameter): Uint8Array {
  switch (d.kind) {
    case 'standardized':
      return derSequence(derOid(STANDARDIZED_DOMAIN_PARAMETERS_OID), int(d.id, 'domainParameter.id'));
    case 'ec':
      return derSequence(derOid(EC_PUBLIC_KEY_OID), encodeEcParameters(d.curve, d.fieldLength));
    case 'other': {
      if (d.parameters === undefined) return derSequence(derOid(checkOid(d.algorithm, 'domainParameter.algorithm')));
      parseOne(d.parameters, 'domainParameter.parameters'); // exactly one well-formed element
      return derSequence(derOid(checkOid(d.algorithm, 'domainParameter.algorithm')), d.parameters);
    }
  }
}

/**
 * DER of one SecurityInfo; an `other` entry is returned as it was received.
 *
 * @example encodeSecurityInfo({ type: 'PACEInfo', protocol: PACE_OID.ECDH_GM_AES_128, version: 2, parameterId: 13 })
 * // 30 12 06 0A 04007F00070202040202 02 01 02 02 01 0D
 */
export function encodeSecurityInfo(info: SecurityInfo): Uint8Array {
  switch (info.type) {
    case 'PACEInfo':
      return derSequence(
        derOid(checkOid(info.protocol, 'PACEInfo.protocol')),
        int(info.version, 'PACEInfo.version'),
        ...optionalInt(info.parameterId, 'PACEInfo.parameterId'),
      );
    case 'PACEDomainParameterInfo':
      return derSequence(
        derOid(checkOid(info.protocol, 'PACEDomainParameterInfo.protocol')),
        algorithmIdentifier(info.domainParameter),
        ...optionalInt(info.parameterId, 'PACEDomainParameterInfo.parameterId'),
      );
    case 'other':
      return info.der.slice();
  }
}

/**
 * DER of SecurityInfos (the content of EF.CardAccess). Elements are sorted as X.690 §11.6 asks
 * for a SET OF, unless `sort: false`.
 *
 * @example encodeSecurityInfos([{ type: 'PACEInfo', protocol: PACE_OID.ECDH_GM_AES_128, version: 2, parameterId: 13 }])
 */
export function encodeSecurityInfos(infos: readonly SecurityInfo[], opts: { sort?: boolean } = {}): Uint8Array {
  const parts = infos.map(encodeSecurityInfo);
  return opts.sort === false ? tlvConstructed(0x31, ...parts) : derSet(...parts);
}

function checkOid(oid: string, title: string): string {
  if (!/^[0-2](\.(0|[1-9][0-9]*))+$/.test(oid)) throw new ByteInputError(`${title}: "${oid}" is not a dotted object identifier`);
  return oid;
}

// --- decoding ------------------------------------------------------------------------------------

function parseOne(bytes: Uint8Array, title: string, allowTrailing = false): asn1js.AsnType {
  const r = asn1js.fromBER(bytes);
  if (r.offset === -1 || r.result.error) throw new SecurityInfoError(`${title}: malformed DER (${r.result.error || 'bad length'})`);
  if (r.offset !== bytes.length && !allowTrailing) throw new SecurityInfoError(`${title}: ${bytes.length - r.offset} trailing byte(s)`);
  return r.result;
}

function view(block: asn1js.AsnType): Uint8Array {
  return new Uint8Array(block.valueBeforeDecodeView);
}

function smallInt(b: asn1js.AsnType | undefined, title: string): number {
  if (!(b instanceof asn1js.Integer)) throw new SecurityInfoError(`${title}: expected INTEGER`);
  const v = b.valueBlock.valueHexView;
  if (v.length > 4 || (v[0]! & 0x80) !== 0) throw new SecurityInfoError(`${title}: expected a small non-negative INTEGER`);
  return b.valueBlock.valueDec;
}

function unsignedBig(b: asn1js.AsnType | undefined, title: string): bigint {
  if (!(b instanceof asn1js.Integer)) throw new SecurityInfoError(`${title}: expected INTEGER`);
  const v = b.valueBlock.valueHexView;
  if (v.length === 0 || (v[0]! & 0x80) !== 0) throw new SecurityInfoError(`${title}: expected a positive INTEGER`);
  return bytesToBigint(v);
}

function octets(b: asn1js.AsnType | undefined, title: string): Uint8Array {
  if (!(b instanceof asn1js.OctetString) || b.idBlock.isConstructed) throw new SecurityInfoError(`${title}: expected OCTET STRING`);
  return new Uint8Array(b.valueBlock.valueHexView);
}

function oidOf(b: asn1js.AsnType | undefined, title: string): string {
  if (!(b instanceof asn1js.ObjectIdentifier)) throw new SecurityInfoError(`${title}: expected OBJECT IDENTIFIER`);
  return b.valueBlock.toString();
}

function children(b: asn1js.AsnType | undefined, title: string): asn1js.AsnType[] {
  if (!(b instanceof asn1js.Sequence)) throw new SecurityInfoError(`${title}: expected SEQUENCE`);
  return b.valueBlock.value;
}

function decodeEcParameters(
  b: asn1js.AsnType | undefined,
  t = 'PACEDomainParameterInfo.domainParameter ECParameters',
): { curve: CurveParameters; fieldLength: number } {
  const [version, fieldId, curve, base, order, cofactor, ...rest] = children(b, t);
  if (rest.length > 0) throw new SecurityInfoError(`${t}: unexpected elements after cofactor`);
  if (smallInt(version, `${t}.version`) !== 1) throw new SecurityInfoError(`${t}.version: expected 1`);
  const [fieldType, prime] = children(fieldId, `${t}.fieldID`);
  if (oidOf(fieldType, `${t}.fieldID.fieldType`) !== PRIME_FIELD_OID) {
    throw new SecurityInfoError(`${t}.fieldID: only prime fields (${PRIME_FIELD_OID}) are supported`);
  }
  const p = unsignedBig(prime, `${t}.fieldID.prime`);
  const fieldLength = Math.ceil(p.toString(2).length / 8);
  const [a, bb] = children(curve, `${t}.curve`);
  const aBytes = octets(a, `${t}.curve.a`);
  const bBytes = octets(bb, `${t}.curve.b`);
  const g = octets(base, `${t}.base`);
  if (g.length !== 1 + 2 * fieldLength || g[0] !== 0x04) throw new SecurityInfoError(`${t}.base: expected an uncompressed point`);
  return {
    fieldLength,
    curve: {
      p,
      a: bytesToBigint(aBytes),
      b: bytesToBigint(bBytes),
      Gx: bytesToBigint(g.subarray(1, 1 + fieldLength)),
      Gy: bytesToBigint(g.subarray(1 + fieldLength)),
      n: unsignedBig(order, `${t}.order`),
      h: cofactor === undefined ? 1n : unsignedBig(cofactor, `${t}.cofactor`),
    },
  };
}

function decodeDomainParameter(b: asn1js.AsnType | undefined): DomainParameter {
  const t = 'PACEDomainParameterInfo.domainParameter';
  const [alg, params, ...rest] = children(b, t);
  if (rest.length > 0) throw new SecurityInfoError(`${t}: unexpected elements`);
  const algorithm = oidOf(alg, `${t}.algorithm`);
  if (algorithm === STANDARDIZED_DOMAIN_PARAMETERS_OID) return { kind: 'standardized', id: smallInt(params, `${t}.parameters`) };
  if (algorithm === EC_PUBLIC_KEY_OID) return { kind: 'ec', ...decodeEcParameters(params) };
  return params === undefined ? { kind: 'other', algorithm } : { kind: 'other', algorithm, parameters: view(params) };
}

function isPaceProtocol(oid: string): boolean {
  return oid.startsWith(`${ID_PACE}.`);
}

/**
 * Decodes one SecurityInfo element (DER of a SEQUENCE).
 *
 * @example decodeSecurityInfo(hexToBytes('3012060A04007F00070202040202020102020110')).type // 'PACEInfo'
 */
export function decodeSecurityInfo(der: Uint8Array): SecurityInfo {
  return fromBlock(parseOne(der, 'SecurityInfo'), der);
}

function fromBlock(block: asn1js.AsnType, der: Uint8Array): SecurityInfo {
  const [first, second, third, ...rest] = children(block, 'SecurityInfo');
  const protocol = oidOf(first, 'SecurityInfo.protocol');
  if (!isPaceProtocol(protocol)) return { type: 'other', protocol, der: der.slice() };
  const family = protocol.split('.').length === ID_PACE.split('.').length + 1;
  let info: SecurityInfo;
  if (rest.length > 0) throw new SecurityInfoError(`SecurityInfo ${protocol}: more elements than PACEInfo or PACEDomainParameterInfo have`);
  if (family) {
    const parameterId = third === undefined ? undefined : smallInt(third, 'PACEDomainParameterInfo.parameterId');
    info = {
      type: 'PACEDomainParameterInfo',
      protocol,
      domainParameter: decodeDomainParameter(second),
      ...(parameterId === undefined ? {} : { parameterId }),
    };
  } else {
    const version = smallInt(second, 'PACEInfo.version');
    const parameterId = third === undefined ? undefined : smallInt(third, 'PACEInfo.parameterId');
    info = { type: 'PACEInfo', protocol, version, ...(parameterId === undefined ? {} : { parameterId }) };
  }
  if (!equalBytes(encodeSecurityInfo(info), der)) {
    throw new SecurityInfoError(`${info.type} ${protocol}: not DER (the element does not re-encode byte for byte)`);
  }
  return info;
}

/**
 * Decodes SecurityInfos (EF.CardAccess, or the SecurityInfos inside EF.CardSecurity / DG14).
 * Elements keep the order they had. Throws {@link SecurityInfoError}. `trailing: 'ignore'` accepts
 * bytes after the SET — what a READ BINARY to the end of a larger EF.CardAccess returns.
 *
 * @example decodeSecurityInfos(cardAccess).filter((i) => i.type === 'PACEInfo')
 */
export function decodeSecurityInfos(der: Uint8Array, opts: { trailing?: 'error' | 'ignore' } = {}): SecurityInfo[] {
  const set = parseOne(der, 'SecurityInfos', opts.trailing === 'ignore');
  if (!(set instanceof asn1js.Set)) throw new SecurityInfoError('SecurityInfos: expected a SET');
  return set.valueBlock.value.map((b) => fromBlock(b, view(b)));
}

/**
 * The PACEInfos of a decoded SecurityInfos.
 *
 * @example paceInfos(decodeSecurityInfos(cardAccess)).map((i) => i.parameterId) // [13]
 */
export function paceInfos(infos: readonly SecurityInfo[]): PaceInfo[] {
  return infos.filter((i): i is PaceInfo => i.type === 'PACEInfo');
}

// --- Chip Authentication, Active Authentication (DG14) ---------------------------------------------
//
// Added for Active and Chip Authentication. `decodeSecurityInfos` keeps returning these entries as
// `other` (their bytes as received); the functions below decode them from there, and the encoders
// return `other` entries, so EF.CardAccess, EF.CardSecurity and EF.DG14 are built and read with the
// same SecurityInfos codec.

const ID_CA = `${BSI}.2.2.3`;
const ID_PK = `${BSI}.2.2.1`;

/**
 * Chip Authentication protocol OIDs (ICAO 9303-11 §9.2.5, BSI TR-03110-3 §A.1.1.2): the key
 * agreement (DH, ECDH) and the secure-messaging cipher that follows.
 */
export const CA_OID = Object.freeze({
  CA: ID_CA,
  DH_3DES: `${ID_CA}.1.1`,
  DH_AES_128: `${ID_CA}.1.2`,
  DH_AES_192: `${ID_CA}.1.3`,
  DH_AES_256: `${ID_CA}.1.4`,
  ECDH_3DES: `${ID_CA}.2.1`,
  ECDH_AES_128: `${ID_CA}.2.2`,
  ECDH_AES_192: `${ID_CA}.2.3`,
  ECDH_AES_256: `${ID_CA}.2.4`,
} as const);

/** Public key OIDs of ChipAuthenticationPublicKeyInfo (ICAO 9303-11 §9.2.6): id-PK-DH, id-PK-ECDH. */
export const PK_OID = Object.freeze({ DH: `${ID_PK}.1`, ECDH: `${ID_PK}.2` } as const);

/** id-TA (BSI TR-03110-3 §A.1.1.3), announced by TerminalAuthenticationInfo. */
export const TA_OID = `${BSI}.2.2.2`;

/** id-icao-mrtd-security-aaProtocolObject (ICAO 9303-11 §9.2.9): ActiveAuthenticationInfo. */
export const AA_OID = '2.23.136.1.1.5';

/**
 * ChipAuthenticationInfo (ICAO 9303-11 §9.2.5):
 *
 *     ChipAuthenticationInfo ::= SEQUENCE {
 *       protocol OBJECT IDENTIFIER(id-CA-DH-3DES-CBC-CBC | … | id-CA-ECDH-AES-CBC-CMAC-256),
 *       version  INTEGER, -- MUST be 1 for ICAO (Chip Authentication version 1)
 *       keyId    INTEGER OPTIONAL }
 */
export interface ChipAuthenticationInfo {
  readonly type: 'ChipAuthenticationInfo';
  readonly protocol: string;
  readonly version: number;
  readonly keyId?: number;
}

/**
 * ChipAuthenticationPublicKeyInfo (ICAO 9303-11 §9.2.6). The SubjectPublicKeyInfo is kept as the
 * DER it was received in (see `crypto/asymmetric.ts` for decoding it):
 *
 *     ChipAuthenticationPublicKeyInfo ::= SEQUENCE {
 *       protocol                   OBJECT IDENTIFIER(id-PK-DH | id-PK-ECDH),
 *       chipAuthenticationPublicKey SubjectPublicKeyInfo,
 *       keyId                      INTEGER OPTIONAL }
 */
export interface ChipAuthenticationPublicKeyInfo {
  readonly type: 'ChipAuthenticationPublicKeyInfo';
  readonly protocol: string;
  readonly subjectPublicKeyInfo: Uint8Array;
  readonly keyId?: number;
}

/**
 * ActiveAuthenticationInfo (ICAO 9303-11 §9.2.9), in DG14 when Active Authentication uses ECDSA:
 *
 *     ActiveAuthenticationInfo ::= SEQUENCE {
 *       protocol           id-icao-mrtd-security-aaProtocolObject,
 *       version            INTEGER, -- MUST be 1
 *       signatureAlgorithm OBJECT IDENTIFIER }  -- ecdsa-plain-SHA*, BSI TR-03111 §5.2.1
 */
export interface ActiveAuthenticationInfo {
  readonly type: 'ActiveAuthenticationInfo';
  readonly version: number;
  readonly signatureAlgorithm: string;
}

function optionalInt(n: number | undefined, title: string): Uint8Array[] {
  return n === undefined ? [] : [int(n, title)];
}

function other(protocol: string, der: Uint8Array): OtherSecurityInfo {
  return { type: 'other', protocol, der };
}

/**
 * A ChipAuthenticationInfo as a SecurityInfos entry.
 *
 * @example encodeSecurityInfos([chipAuthenticationInfo({ protocol: CA_OID.ECDH_AES_128, version: 1, keyId: 1 })])
 */
export function chipAuthenticationInfo(info: Omit<ChipAuthenticationInfo, 'type'>): OtherSecurityInfo {
  if (!info.protocol.startsWith(`${ID_CA}.`)) throw new ByteInputError(`ChipAuthenticationInfo.protocol: "${info.protocol}" is not an id-CA protocol`);
  return other(
    info.protocol,
    derSequence(
      derOid(checkOid(info.protocol, 'ChipAuthenticationInfo.protocol')),
      int(info.version, 'ChipAuthenticationInfo.version'),
      ...optionalInt(info.keyId, 'ChipAuthenticationInfo.keyId'),
    ),
  );
}

/**
 * A ChipAuthenticationPublicKeyInfo as a SecurityInfos entry; `subjectPublicKeyInfo` is DER.
 *
 * @example chipAuthenticationPublicKeyInfo({ protocol: PK_OID.ECDH, subjectPublicKeyInfo: spki, keyId: 1 })
 */
export function chipAuthenticationPublicKeyInfo(info: Omit<ChipAuthenticationPublicKeyInfo, 'type'>): OtherSecurityInfo {
  const spki = info.subjectPublicKeyInfo;
  // The key is embedded as given (it is DER already); parsing it again would only cost time.
  if (spki[0] !== 0x30) throw new ByteInputError('ChipAuthenticationPublicKeyInfo.chipAuthenticationPublicKey: expected a DER SubjectPublicKeyInfo (SEQUENCE)');
  const der = derSequence(derOid(checkOid(info.protocol, 'ChipAuthenticationPublicKeyInfo.protocol')), spki, ...optionalInt(info.keyId, 'ChipAuthenticationPublicKeyInfo.keyId'));
  return { type: 'other', protocol: info.protocol, der };
}

/**
 * An ActiveAuthenticationInfo as a SecurityInfos entry.
 *
 * @example activeAuthenticationInfo({ version: 1, signatureAlgorithm: '0.4.0.127.0.7.1.1.4.1.3' }) // ecdsa-plain-SHA256
 */
export function activeAuthenticationInfo(info: Omit<ActiveAuthenticationInfo, 'type'>): OtherSecurityInfo {
  return other(
    AA_OID,
    derSequence(derOid(AA_OID), int(info.version, 'ActiveAuthenticationInfo.version'), derOid(checkOid(info.signatureAlgorithm, 'ActiveAuthenticationInfo.signatureAlgorithm'))),
  );
}

/** The entry must re-encode byte for byte, as for the PACE entries (nothing silently re-read). */
function requireDer(info: SecurityInfo, again: Uint8Array, what: string): void {
  if (info.type !== 'other' || !equalBytes(info.der, again)) {
    throw new SecurityInfoError(`${what} ${info.protocol}: not DER (the element does not re-encode byte for byte)`);
  }
}

/**
 * The ChipAuthenticationInfos among decoded SecurityInfos (DG14, EF.CardSecurity); throws
 * {@link SecurityInfoError} for a malformed one.
 *
 * @example chipAuthenticationInfos(decodeSecurityInfos(dg14Content)).map((i) => i.protocol)
 */
export function chipAuthenticationInfos(infos: readonly SecurityInfo[]): ChipAuthenticationInfo[] {
  const out: ChipAuthenticationInfo[] = [];
  for (const info of infos) {
    if (info.type !== 'other' || !info.protocol.startsWith(`${ID_CA}.`)) continue;
    // id-CA-DH / id-CA-ECDH themselves name ChipAuthenticationDomainParameterInfo, not this.
    if (info.protocol.split('.').length !== ID_CA.split('.').length + 2) continue;
    const [, version, keyId, ...rest] = children(parseOne(info.der, 'ChipAuthenticationInfo'), 'ChipAuthenticationInfo');
    if (rest.length > 0) throw new SecurityInfoError(`ChipAuthenticationInfo ${info.protocol}: unexpected elements after keyId`);
    const decoded: ChipAuthenticationInfo = {
      type: 'ChipAuthenticationInfo',
      protocol: info.protocol,
      version: smallInt(version, 'ChipAuthenticationInfo.version'),
      ...(keyId === undefined ? {} : { keyId: smallInt(keyId, 'ChipAuthenticationInfo.keyId') }),
    };
    requireDer(info, chipAuthenticationInfo(decoded).der, 'ChipAuthenticationInfo');
    out.push(decoded);
  }
  return out;
}

/**
 * The ChipAuthenticationPublicKeyInfos among decoded SecurityInfos.
 *
 * @example chipAuthenticationPublicKeyInfos(infos).find((k) => k.keyId === 1)?.subjectPublicKeyInfo
 */
export function chipAuthenticationPublicKeyInfos(infos: readonly SecurityInfo[]): ChipAuthenticationPublicKeyInfo[] {
  const out: ChipAuthenticationPublicKeyInfo[] = [];
  for (const info of infos) {
    if (info.type !== 'other' || (info.protocol !== PK_OID.DH && info.protocol !== PK_OID.ECDH)) continue;
    const [, spki, keyId, ...rest] = children(parseOne(info.der, 'ChipAuthenticationPublicKeyInfo'), 'ChipAuthenticationPublicKeyInfo');
    if (rest.length > 0 || !(spki instanceof asn1js.Sequence)) {
      throw new SecurityInfoError(`ChipAuthenticationPublicKeyInfo ${info.protocol}: expected protocol, SubjectPublicKeyInfo and an optional keyId`);
    }
    const decoded: ChipAuthenticationPublicKeyInfo = {
      type: 'ChipAuthenticationPublicKeyInfo',
      protocol: info.protocol,
      subjectPublicKeyInfo: view(spki).slice(),
      ...(keyId === undefined ? {} : { keyId: smallInt(keyId, 'ChipAuthenticationPublicKeyInfo.keyId') }),
    };
    requireDer(info, chipAuthenticationPublicKeyInfo(decoded).der, 'ChipAuthenticationPublicKeyInfo');
    out.push(decoded);
  }
  return out;
}

/**
 * The ActiveAuthenticationInfos among decoded SecurityInfos (at most one in a valid DG14).
 *
 * @example activeAuthenticationInfos(infos)[0]?.signatureAlgorithm
 */
export function activeAuthenticationInfos(infos: readonly SecurityInfo[]): ActiveAuthenticationInfo[] {
  const out: ActiveAuthenticationInfo[] = [];
  for (const info of infos) {
    if (info.type !== 'other' || info.protocol !== AA_OID) continue;
    const [, version, alg, ...rest] = children(parseOne(info.der, 'ActiveAuthenticationInfo'), 'ActiveAuthenticationInfo');
    if (rest.length > 0) throw new SecurityInfoError('ActiveAuthenticationInfo: unexpected elements after signatureAlgorithm');
    const decoded: ActiveAuthenticationInfo = {
      type: 'ActiveAuthenticationInfo',
      version: smallInt(version, 'ActiveAuthenticationInfo.version'),
      signatureAlgorithm: oidOf(alg, 'ActiveAuthenticationInfo.signatureAlgorithm'),
    };
    requireDer(info, activeAuthenticationInfo(decoded).der, 'ActiveAuthenticationInfo');
    out.push(decoded);
  }
  return out;
}

/**
 * Explicit ECParameters from DER (prime fields only); throws {@link SecurityInfoError}.
 *
 * @example decodeEcParameters(der).curve.p
 */
export function decodeEcParametersDer(der: Uint8Array, title = 'ECParameters'): { curve: CurveParameters; fieldLength: number } {
  return decodeEcParameters(parseOne(der, title), title);
}
