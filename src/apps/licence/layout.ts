/**
 * The driving licence application (ISO/IEC 18013-2 style; AID A0 00 00 02 48 02 00, the ISO/IEC
 * 18013-2 application identifier): an LDS of its own with EF.COM, DG1 (holder and licence data,
 * categories), DG6 (portrait reference) and EF.SOD, read after BAC or PACE like the eMRTD data.
 *
 * | file   | FID  | SFI | structure   | read | encrypted |
 * |--------|------|-----|-------------|------|-----------|
 * | EF.COM | 011E | 1E  | transparent | SM   | no        |
 * | DG1    | 0101 | 01  | transparent | SM   | no        |
 * | DG6    | 0106 | 06  | transparent | SM   | no        |
 * | EF.SOD | 011D | 1D  | transparent | SM   | no        |
 *
 * Nothing is written after personalization (every other operation NEVER). DG6 holds no image: it
 * names the eMRTD application's DG2 and pins its hash (`dg6.ts`), so the licence's EF.SOD vouches
 * for the very portrait DG2 holds without a second 15–30 KB copy on the chip — and no biometric
 * data sits in this application to be encrypted.
 */
import { SM_REQUIRED, type AccessRules } from '../../card/security/access.js';
import { EF_COM, EF_SOD, dataGroup } from '../../lds/tags.js';
import type { AppFileSpec } from '../health/common.js';

/** ISO/IEC 18013-2 driving licence application: RID A000000248 (ISO/IEC JTC 1/SC 17), PIX 0200. */
export const LICENCE_AID: Uint8Array = new Uint8Array([0xa0, 0x00, 0x00, 0x02, 0x48, 0x02, 0x00]);

/** The applet type name the card image records. */
export const LICENCE_TYPE = 'driving-licence';

/** LDS version EF.COM announces for the licence (ISO/IEC 18013-2 Annex C, version 1.0). */
export const LICENCE_LDS_VERSION = '1.0';

const READ: AccessRules = Object.freeze({ read: SM_REQUIRED });

const dg = (n: number): AppFileSpec => {
  const d = dataGroup(n);
  return Object.freeze({ name: d.name, fid: d.fid, sfi: d.sfi, structure: 'transparent', rules: READ, encrypted: false, dataGroup: n });
};

export const LICENCE_COM: AppFileSpec = Object.freeze({ name: EF_COM.name, fid: EF_COM.fid, sfi: EF_COM.sfi, structure: 'transparent', rules: READ, encrypted: false });
export const LICENCE_DG1: AppFileSpec = dg(1);
export const LICENCE_DG6: AppFileSpec = dg(6);
export const LICENCE_SOD: AppFileSpec = Object.freeze({ name: EF_SOD.name, fid: EF_SOD.fid, sfi: EF_SOD.sfi, structure: 'transparent', rules: READ, encrypted: false });

/** The layout, in the order files are created and read. */
export const LICENCE_FILES: readonly AppFileSpec[] = Object.freeze([LICENCE_COM, LICENCE_DG1, LICENCE_DG6, LICENCE_SOD]);
