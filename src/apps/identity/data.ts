/**
 * Data preparation for the identity application, both ways (pure: no card involved).
 *
 * Holder → files ({@link prepareIdentityFiles}):
 * - DG1: the TD1 MRZ with its check digits.
 * - DG2: one CBEFF template with a 19794-5 face record of the portrait (when there is one).
 * - DG3: one CBEFF template per finger with its 19794-2 record (when there are fingers).
 * - DG11: full name (the Arabic-script name when given, else the Latin one), the Latin name as
 *   "other name" (so the reader gets it back untransliterated), personal number, full date of
 *   birth, place of birth, address, telephone, profession.
 * - DG12: issuing authority, date of issue, personalization time.
 * - DG14, DG15: the content given by the Chip / Active Authentication key work, when given.
 * - EF.COM: LDS and Unicode versions and the data groups present; EF.SOD: the hash of every data
 *   group, signed by the document signer.
 *
 * Files → holder sections ({@link decodeIdentityFiles}): identity, document, face and
 * fingerprints back from what was read, with the problems of each file that did not decode.
 *
 * @example
 * const files = prepareIdentityFiles(holder, { signer: pki.documentSigner });
 * decodeIdentityFiles(files).holder.identity?.fullNameArabic
 */
import { encodeDg1, decodeDg1, type Dg1 } from '../../lds/dg1.js';
import { decodeDg2, encodeDg2, faceTemplate, type Dg2 } from '../../lds/dg2.js';
import { decodeDg3, encodeDg3, fingerTemplate, type Dg3 } from '../../lds/dg3.js';
import { decodeDg11, encodeDg11, joinParts, splitParts, type Dg11 } from '../../lds/dg11.js';
import { decodeDg12, encodeDg12, type Dg12 } from '../../lds/dg12.js';
import { decodeDg14, encodeDg14, type Dg14 } from '../../lds/dg14.js';
import { decodeDg15, encodeDg15, type Dg15 } from '../../lds/dg15.js';
import { decodeEfCom, encodeEfCom, type EfCom } from '../../lds/ef-com.js';
import { LdsError } from '../../lds/errors.js';
import { FACE_GENDER, FACE_IMAGE_DATA_TYPE, faceImage } from '../../lds/iso19794-5.js';
import { FINGER_POSITIONS } from '../../lds/iso19794-2.js';
import { MrzError, isoDateFromMrz, parseTd1, type ParsedTd1 } from '../../lds/mrz.js';
import type { HashAlgorithm } from '../../lds/algorithms.js';
import type { CertifiedKey } from '../../lds/pki.js';
import { buildSod } from '../../lds/sod.js';
import { holderMrz } from '../../holder/mrz.js';
import type { DocumentDetails, Face, Fingerprint, Holder, Identity } from '../../holder/types.js';

/** The files of an identity application, as stored on the chip. */
export interface IdentityFiles {
  readonly com: Uint8Array;
  /** Data group number → file. */
  readonly dataGroups: ReadonlyMap<number, Uint8Array>;
  readonly sod: Uint8Array;
}

export interface IdentityDataOptions {
  /** Signs EF.SOD (a test PKI's `documentSigner`, or the issuer's). */
  readonly signer: CertifiedKey;
  /** LDS version written to EF.COM (default "1.7"). */
  readonly ldsVersion?: string;
  /** Unicode version written to EF.COM (default "4.0.0"). */
  readonly unicodeVersion?: string;
  /** DG14 content: the SecurityInfos DER (from the Chip Authentication key set-up). */
  readonly dg14?: Uint8Array;
  /** DG15 content: the Active Authentication SubjectPublicKeyInfo DER. */
  readonly dg15?: Uint8Array;
  /** Data group and signature hash (default SHA-256). */
  readonly hashAlgorithm?: HashAlgorithm;
  /** EF.SOD signingTime (default now; null = none). */
  readonly signingTime?: Date | null;
  /** DG12 personalization date and time (default: none). */
  readonly personalizationTime?: Date;
}

const compact = (d: string): string => d.replace(/-/g, '');

/** "SPECIMEN", "AMINA HASSAN" → "SPECIMEN<<AMINA<HASSAN" (ICAO 9303-10 §4.7.11 name format). */
function icaoName(primary: string, secondary: string | undefined): string {
  const p = primary.trim().replace(/\s+/g, '<');
  return secondary === undefined ? p : `${p}<<${secondary.trim().replace(/\s+/g, '<')}`;
}

function fromIcaoName(name: string): { primary: string; secondary?: string } {
  const [p = '', s] = name.split('<<', 2);
  const primary = p.replace(/</g, ' ');
  return s === undefined ? { primary } : { primary, secondary: s.replace(/</g, ' ') };
}

const ARABIC = /\p{Script=Arabic}/u;

/** DG11 of a holder. */
export function holderDg11(h: Holder): Dg11 {
  const i = h.identity;
  const latin = icaoName(i.primaryIdentifier, i.secondaryIdentifier);
  return {
    fullName: i.fullNameArabic ?? latin,
    ...(i.fullNameArabic !== undefined ? { otherNames: [latin] } : {}),
    personalNumber: i.idNumber,
    fullDateOfBirth: compact(i.dateOfBirth),
    ...(i.placeOfBirth !== undefined ? { placeOfBirth: i.placeOfBirth } : {}),
    ...(i.address !== undefined ? { address: joinParts(i.address, 'DG11 address') } : {}),
    ...(i.telephone !== undefined ? { telephone: i.telephone } : {}),
    ...(i.profession !== undefined ? { profession: i.profession } : {}),
  };
}

/** DG12 of a holder. */
export function holderDg12(h: Holder, personalizationTime?: Date): Dg12 {
  const t = personalizationTime?.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return {
    ...(h.document.issuingAuthority !== undefined ? { issuingAuthority: h.document.issuingAuthority } : {}),
    dateOfIssue: compact(h.document.dateOfIssue),
    ...(t !== undefined ? { personalizationTime: t } : {}),
  };
}

function gender(sex: Identity['sex']): number {
  return sex === 'F' ? FACE_GENDER.FEMALE : sex === 'M' ? FACE_GENDER.MALE : FACE_GENDER.UNSPECIFIED;
}

/** DG2 of a holder's portrait. */
export function holderDg2(face: Face, sex: Identity['sex']): Uint8Array {
  const featurePoints = (face.featurePoints ?? []).map((p) => {
    const [major, minor] = p.point.split('.').map(Number) as [number, number];
    return { type: 1, major, minor, x: p.x, y: p.y, reserved: 0 };
  });
  const facial = faceImage(face.image, {
    width: face.width,
    height: face.height,
    imageDataType: face.format === 'jpeg' ? FACE_IMAGE_DATA_TYPE.JPEG : FACE_IMAGE_DATA_TYPE.JPEG2000,
    gender: gender(sex),
    featurePoints,
  });
  return encodeDg2([faceTemplate({ faces: [facial] })]);
}

/** DG3 of a holder's fingers. */
export function holderDg3(fingers: readonly Fingerprint[]): Uint8Array {
  return encodeDg3(fingers.map((f) => fingerTemplate(FINGER_POSITIONS.indexOf(f.position), f.template)));
}

/** Every file of the identity application for `holder`, EF.SOD signed. */
export function prepareIdentityFiles(holder: Holder, opts: IdentityDataOptions): IdentityFiles {
  const dgs = new Map<number, Uint8Array>();
  dgs.set(1, encodeDg1({ mrz: holderMrz(holder) }));
  if (holder.face !== undefined) dgs.set(2, holderDg2(holder.face, holder.identity.sex));
  if (holder.fingerprints.length > 0) dgs.set(3, holderDg3(holder.fingerprints));
  dgs.set(11, encodeDg11(holderDg11(holder)));
  dgs.set(12, encodeDg12(holderDg12(holder, opts.personalizationTime)));
  if (opts.dg14 !== undefined) dgs.set(14, encodeDg14({ securityInfos: opts.dg14 }));
  if (opts.dg15 !== undefined) dgs.set(15, encodeDg15({ publicKeyInfo: opts.dg15 }));
  const com = encodeEfCom({
    ldsVersion: opts.ldsVersion ?? '1.7',
    unicodeVersion: opts.unicodeVersion ?? '4.0.0',
    dataGroups: [...dgs.keys()].sort((a, b) => a - b),
  });
  const sod = buildSod(dgs, opts.signer, {
    ...(opts.hashAlgorithm !== undefined ? { hashAlgorithm: opts.hashAlgorithm } : {}),
    ...(opts.signingTime !== undefined ? { signingTime: opts.signingTime } : {}),
  });
  return { com, dataGroups: dgs, sod };
}

// --- back ---------------------------------------------------------------------------------------

/** The identity application's files decoded. */
export interface DecodedIdentity {
  readonly com?: EfCom;
  readonly dg1?: Dg1 & { readonly td1: ParsedTd1 };
  readonly dg2?: Dg2;
  readonly dg3?: Dg3;
  readonly dg11?: Dg11;
  readonly dg12?: Dg12;
  readonly dg14?: Dg14;
  readonly dg15?: Dg15;
}

/** The holder sections the identity application holds. */
export interface IdentitySections {
  readonly identity?: Identity;
  readonly document?: DocumentDetails;
  readonly face?: Face;
  readonly fingerprints?: readonly Fingerprint[];
}

export interface IdentityDecodeResult {
  readonly decoded: DecodedIdentity;
  readonly holder: IdentitySections;
  /** Files that did not decode: name and why. A problem in one file never stops the others. */
  readonly problems: readonly { readonly file: string; readonly message: string }[];
}

const iso8 = (d: string | undefined): string | undefined => (d === undefined ? undefined : `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`);

function identityOf(td1: ParsedTd1, dg11: Dg11 | undefined, now: Date): Identity {
  let latin: { primary: string; secondary?: string } = {
    primary: td1.primaryIdentifier,
    ...(td1.secondaryIdentifier !== '' ? { secondary: td1.secondaryIdentifier } : {}),
  };
  let arabic: string | undefined;
  if (dg11?.fullName !== undefined) {
    if (ARABIC.test(dg11.fullName)) {
      arabic = dg11.fullName;
      const other = dg11.otherNames?.find((n) => !ARABIC.test(n));
      if (other !== undefined) latin = fromIcaoName(other);
    } else latin = fromIcaoName(dg11.fullName);
  }
  const dob = iso8(dg11?.fullDateOfBirth) ?? isoDateFromMrz(td1.dateOfBirth, now.getUTCFullYear()) ?? td1.dateOfBirth;
  return {
    primaryIdentifier: latin.primary,
    ...(latin.secondary !== undefined ? { secondaryIdentifier: latin.secondary } : {}),
    ...(arabic !== undefined ? { fullNameArabic: arabic } : {}),
    idNumber: dg11?.personalNumber ?? td1.optionalData1,
    nationality: td1.nationality,
    sex: td1.sex === '<' ? 'X' : td1.sex,
    dateOfBirth: dob,
    ...(dg11?.placeOfBirth !== undefined ? { placeOfBirth: dg11.placeOfBirth } : {}),
    ...(dg11?.address !== undefined ? { address: splitParts(dg11.address) } : {}),
    ...(dg11?.telephone !== undefined ? { telephone: dg11.telephone } : {}),
    ...(dg11?.profession !== undefined ? { profession: dg11.profession } : {}),
  };
}

function documentOf(td1: ParsedTd1, dg12: Dg12 | undefined, now: Date): DocumentDetails {
  // parseTd1 has already taken a long document number's overflow out of optional data 1.
  const optional = {
    ...(td1.optionalData1 !== '' ? { line1: td1.optionalData1 } : {}),
    ...(td1.optionalData2 !== '' ? { line2: td1.optionalData2 } : {}),
  };
  return {
    type: td1.documentCode,
    number: td1.documentNumber,
    issuingState: td1.issuingState,
    ...(dg12?.issuingAuthority !== undefined ? { issuingAuthority: dg12.issuingAuthority } : {}),
    dateOfIssue: iso8(dg12?.dateOfIssue) ?? '',
    // Expiry dates lie ahead: a pivot 50 years on puts "34" in 2034, not 1934.
    dateOfExpiry: isoDateFromMrz(td1.dateOfExpiry, now.getUTCFullYear() + 50) ?? td1.dateOfExpiry,
    ...(Object.keys(optional).length > 0 ? { mrzOptionalData: optional } : {}),
  };
}

function faceOf(dg2: Dg2): Face | undefined {
  const f = dg2.templates[0]?.face.faces[0];
  if (f === undefined) return undefined;
  return {
    image: f.image,
    format: f.imageDataType === FACE_IMAGE_DATA_TYPE.JPEG ? 'jpeg' : 'jpeg2000',
    width: f.width,
    height: f.height,
    ...(f.featurePoints.length > 0 ? { featurePoints: f.featurePoints.map((p) => ({ point: `${p.major}.${p.minor}`, x: p.x, y: p.y })) } : {}),
  };
}

function fingersOf(dg3: Dg3): Fingerprint[] {
  const out: Fingerprint[] = [];
  for (const t of dg3.templates) {
    const pos = t.minutiae.views[0]?.position ?? 0;
    const name = FINGER_POSITIONS[pos];
    if (name === undefined || name === 'unknown') continue;
    out.push({ position: name, template: t.data });
  }
  return out;
}

/**
 * Decodes whatever identity files are given (EF.COM and data groups by number) and assembles the
 * holder sections. `now` fixes the century of MRZ dates when DG11/DG12 do not give full dates.
 */
export function decodeIdentityFiles(files: { readonly com?: Uint8Array; readonly dataGroups: ReadonlyMap<number, Uint8Array> }, now: Date = new Date()): IdentityDecodeResult {
  const problems: { file: string; message: string }[] = [];
  const attempt = <T>(file: string, bytes: Uint8Array | undefined, decode: (b: Uint8Array) => T): T | undefined => {
    if (bytes === undefined) return undefined;
    try {
      return decode(bytes);
    } catch (e) {
      if (e instanceof LdsError || e instanceof MrzError) {
        problems.push({ file, message: e.message });
        return undefined;
      }
      throw e;
    }
  };
  const g = files.dataGroups;
  const com = attempt('EF.COM', files.com, decodeEfCom);
  const dg1 = attempt('DG1', g.get(1), (b) => {
    const d = decodeDg1(b);
    return { ...d, td1: parseTd1(d.mrz) };
  });
  const dg2 = attempt('DG2', g.get(2), decodeDg2);
  const dg3 = attempt('DG3', g.get(3), decodeDg3);
  const dg11 = attempt('DG11', g.get(11), decodeDg11);
  const dg12 = attempt('DG12', g.get(12), decodeDg12);
  const dg14 = attempt('DG14', g.get(14), decodeDg14);
  const dg15 = attempt('DG15', g.get(15), decodeDg15);
  const decoded: DecodedIdentity = {
    ...(com ? { com } : {}),
    ...(dg1 ? { dg1 } : {}),
    ...(dg2 ? { dg2 } : {}),
    ...(dg3 ? { dg3 } : {}),
    ...(dg11 ? { dg11 } : {}),
    ...(dg12 ? { dg12 } : {}),
    ...(dg14 ? { dg14 } : {}),
    ...(dg15 ? { dg15 } : {}),
  };
  const face = dg2 !== undefined ? faceOf(dg2) : undefined;
  const holder: IdentitySections = {
    ...(dg1 !== undefined ? { identity: identityOf(dg1.td1, dg11, now), document: documentOf(dg1.td1, dg12, now) } : {}),
    ...(face !== undefined ? { face } : {}),
    ...(dg3 !== undefined ? { fingerprints: fingersOf(dg3) } : {}),
  };
  return { decoded, holder, problems };
}
