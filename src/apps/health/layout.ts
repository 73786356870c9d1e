/**
 * The health insurance application's file layout. Its AID is in chipwright's unregistered
 * proprietary range: ISO/IEC 7816-4 §12.2.3 (7816-5) gives AIDs whose first nibble is F to
 * proprietary use without registration — `F0 43 57 49 44` ("CWID") followed by one byte per
 * application (48 'H' health, 46 'F' finances, 45 'E' e-services). An issuer deploying this card
 * replaces the prefix with its registered RID (A0 00 00 xx xx, ISO/IEC 7816-5).
 *
 * | file          | FID  | SFI | structure                     | read        | update / append            | encrypted |
 * |---------------|------|-----|-------------------------------|-------------|----------------------------|-----------|
 * | EF.INSURANCE  | 0101 | 01  | linear variable, 1 × ≤ 255 B  | PACE AND SM | PACE AND KEY(01) AND SM    | yes       |
 * | EF.DEPENDANTS | 0102 | 02  | linear variable, 20 × ≤ 255 B | PACE AND SM | PACE AND KEY(01) AND SM    | yes       |
 * | EF.SOD        | 011D | 1D  | transparent                   | PACE AND SM | PACE AND KEY(01) AND SM (update) | no  |
 *
 * - Read: after PACE (CAN, MRZ, PIN or PUK; Chip Authentication after PACE keeps it), never after
 *   BAC alone: `SM` holds after BAC too, the `PACE` condition (`card/security/access.ts`) does not.
 * - Changes: only a terminal that proved the insurer's key (KEY(01), an AES-128 key of this DF
 *   loaded at personalization) with GET CHALLENGE + EXTERNAL AUTHENTICATE under secure messaging.
 *   Every dependant slot exists from personalization (empty slots hold the one byte 00), so the
 *   insurer rewrites slots with UPDATE RECORD; APPEND RECORD is refused once the EF is full.
 * - EF.SOD: DG1 = EF.INSURANCE, DG2 = EF.DEPENDANTS (records concatenated); the insurer re-signs
 *   it after a change, within the headroom allocated at personalization.
 *
 * @example layoutMarkdown(HEALTH_FILES) // the table above, for the README
 */
import { and, key, PACE_REQUIRED, SM_REQUIRED, type AccessRules } from '../../card/security/access.js';
import type { AppFileSpec } from './common.js';

/** `F0 43 57 49 44 48`: chipwright's proprietary "CWID" prefix + 'H'. */
export const HEALTH_AID: Uint8Array = new Uint8Array([0xf0, 0x43, 0x57, 0x49, 0x44, 0x48]);

/** The applet type name the card image records. */
export const HEALTH_TYPE = 'health-insurance';

/** Reference of the insurer's key (a symmetric key of the health DF) in access rules KEY(01). */
export const INSURER_KEY_REF = 0x01;

/** Dependant slots (the holder schema allows 20 dependants). */
export const HEALTH_MAX_DEPENDANTS = 20;

/** Record length of both record EFs: the most a record may hold (the card image's limit). */
export const HEALTH_RECORD_SIZE = 255;

/** Extra bytes EF.SOD is allocated beyond the first one, for the insurer's re-signed ones. */
export const HEALTH_SOD_HEADROOM = 1024;

const READ = and(PACE_REQUIRED, SM_REQUIRED);
const INSURER = and(PACE_REQUIRED, key(INSURER_KEY_REF), SM_REQUIRED);
const rules: AccessRules = Object.freeze({ read: READ, update: INSURER, append: INSURER });
const sodRules: AccessRules = Object.freeze({ read: READ, update: INSURER });

export const EF_INSURANCE: AppFileSpec = Object.freeze({
  name: 'EF.INSURANCE',
  fid: 0x0101,
  sfi: 0x01,
  structure: 'linear-variable',
  recordSize: HEALTH_RECORD_SIZE,
  maxRecords: 1,
  rules,
  encrypted: true,
  dataGroup: 1,
});

export const EF_DEPENDANTS: AppFileSpec = Object.freeze({
  name: 'EF.DEPENDANTS',
  fid: 0x0102,
  sfi: 0x02,
  structure: 'linear-variable',
  recordSize: HEALTH_RECORD_SIZE,
  maxRecords: HEALTH_MAX_DEPENDANTS,
  rules,
  encrypted: true,
  dataGroup: 2,
});

export const EF_HEALTH_SOD: AppFileSpec = Object.freeze({
  name: 'EF.SOD',
  fid: 0x011d,
  sfi: 0x1d,
  structure: 'transparent',
  rules: sodRules,
  encrypted: false,
});

/** The layout, in the order files are created and read. */
export const HEALTH_FILES: readonly AppFileSpec[] = Object.freeze([EF_INSURANCE, EF_DEPENDANTS, EF_HEALTH_SOD]);
