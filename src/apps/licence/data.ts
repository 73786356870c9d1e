/**
 * The licence application from the holder model and back (pure: no card involved).
 *
 * Holder → files: DG1 from `drivingLicence` plus the identity it belongs to (names, date and
 * place of birth, nationality, sex; the ID number as administrative number); DG6 a reference to
 * the eMRTD DG2 holding the portrait (a licence needs one: ISO/IEC 18013-2 makes the portrait
 * mandatory); EF.COM listing DG1 and DG6; EF.SOD over both.
 *
 * Files → holder: the `drivingLicence` section (entries of one category grouped back, their codes
 * as its restrictions), and the demographic fields as read, for a reader to compare with the
 * identity application.
 *
 * @example
 * const files = prepareLicenceFiles(holder, { signer: pki.documentSigner, portraitFile: dg2 });
 */
import type { DrivingLicence, Holder, LicenceCategory } from '../../holder/types.js';
import type { HashAlgorithm } from '../../lds/algorithms.js';
import { encodeEfCom } from '../../lds/ef-com.js';
import type { CertifiedKey } from '../../lds/pki.js';
import { buildSod } from '../../lds/sod.js';
import { LDS1_AID, dataGroup } from '../../lds/tags.js';
import { AppDataError } from '../health/common.js';
import { decodeLicenceDg1, encodeLicenceDg1, type LicenceCategoryEntry, type LicenceDg1 } from './dg1.js';
import { encodePortraitReference, portraitReference } from './dg6.js';
import { LICENCE_LDS_VERSION } from './layout.js';

/** The licence application's files as stored. */
export interface LicenceFiles {
  readonly com: Uint8Array;
  /** 1 → DG1, 6 → DG6. */
  readonly dataGroups: ReadonlyMap<number, Uint8Array>;
  readonly sod: Uint8Array;
}

export interface LicenceDataOptions {
  readonly signer: CertifiedKey;
  /** The eMRTD DG2 as stored on the chip: the portrait DG6 refers to. */
  readonly portraitFile: Uint8Array;
  /** DG1 5F01 (the EU type-approval number), when the issuer has one. */
  readonly typeApprovalNumber?: string;
  readonly hashAlgorithm?: HashAlgorithm;
  readonly signingTime?: Date | null;
}

/** The category entries of a licence: one per restriction code, one without a code when there is none. */
export function categoryEntries(categories: readonly LicenceCategory[]): LicenceCategoryEntry[] {
  return categories.flatMap((c) => {
    const base = { category: c.category, dateOfIssue: c.dateOfIssue, dateOfExpiry: c.dateOfExpiry };
    return c.restrictions.length === 0 ? [base] : c.restrictions.map((code) => ({ ...base, code }));
  });
}

/** The categories back from entries: grouped by category and dates, in order of first appearance. */
export function categoriesOf(entries: readonly LicenceCategoryEntry[]): LicenceCategory[] {
  const out: { category: string; dateOfIssue: string; dateOfExpiry: string; restrictions: string[] }[] = [];
  for (const e of entries) {
    let c = out.find((x) => x.category === e.category && x.dateOfIssue === e.dateOfIssue && x.dateOfExpiry === e.dateOfExpiry);
    if (c === undefined) {
      c = { category: e.category, dateOfIssue: e.dateOfIssue, dateOfExpiry: e.dateOfExpiry, restrictions: [] };
      out.push(c);
    }
    if (e.code !== undefined) c.restrictions.push(e.code);
  }
  return out;
}

/** DG1 of a holder's licence. */
export function holderLicenceDg1(h: Holder, typeApprovalNumber?: string): LicenceDg1 {
  const dl = h.drivingLicence;
  if (dl === undefined) throw new AppDataError('drivingLicence: the holder has no driving licence');
  const i = h.identity;
  return {
    ...(typeApprovalNumber !== undefined ? { typeApprovalNumber } : {}),
    issuingState: dl.issuingCountry ?? h.document.issuingState,
    surname: i.primaryIdentifier,
    ...(i.secondaryIdentifier !== undefined ? { otherNames: i.secondaryIdentifier } : {}),
    dateOfBirth: i.dateOfBirth,
    ...(i.placeOfBirth !== undefined ? { placeOfBirth: i.placeOfBirth } : {}),
    nationality: i.nationality,
    gender: i.sex === 'X' ? 'U' : i.sex,
    dateOfIssue: dl.dateOfIssue,
    dateOfExpiry: dl.dateOfExpiry,
    issuingAuthority: dl.authority,
    administrativeNumber: i.idNumber,
    documentNumber: dl.number,
    entries: categoryEntries(dl.categories),
  };
}

/**
 * The `drivingLicence` section of a decoded DG1. `issuingCountry` is always there: DG1 5F03 is
 * mandatory, so a holder document without it gets the document's issuing state back.
 */
export function licenceOf(dg1: LicenceDg1): DrivingLicence {
  return {
    number: dg1.documentNumber,
    authority: dg1.issuingAuthority,
    issuingCountry: dg1.issuingState,
    dateOfIssue: dg1.dateOfIssue,
    dateOfExpiry: dg1.dateOfExpiry,
    categories: categoriesOf(dg1.entries),
  };
}

/** Every file of the licence application, EF.SOD signed. */
export function prepareLicenceFiles(holder: Holder, opts: LicenceDataOptions): LicenceFiles {
  if (holder.face === undefined) throw new AppDataError('drivingLicence: a licence needs the holder\'s face (DG6 refers to the portrait in the eMRTD DG2)');
  const dg1 = encodeLicenceDg1(holderLicenceDg1(holder, opts.typeApprovalNumber));
  const dg6 = encodePortraitReference(portraitReference(LDS1_AID, dataGroup(2).fid, opts.portraitFile, opts.hashAlgorithm ?? 'SHA-256'));
  const dataGroups = new Map([
    [1, dg1],
    [6, dg6],
  ]);
  const com = encodeEfCom({ ldsVersion: LICENCE_LDS_VERSION, unicodeVersion: '4.0.0', dataGroups: [1, 6] });
  const sod = buildSod(dataGroups, opts.signer, {
    ...(opts.hashAlgorithm !== undefined ? { hashAlgorithm: opts.hashAlgorithm } : {}),
    ...(opts.signingTime !== undefined ? { signingTime: opts.signingTime } : {}),
  });
  return { com, dataGroups, sod };
}

/** DG1 decoded, or an {@link AppDataError}. */
export function decodeLicence(dg1: Uint8Array): { readonly dg1: LicenceDg1; readonly section: DrivingLicence } {
  const d = decodeLicenceDg1(dg1);
  return { dg1: d, section: licenceOf(d) };
}
