/**
 * The identity application's file layout (ICAO 9303-10 §3.6, §4.6; 9303-11 for the access
 * conditions): the eMRTD application A0000002471001 with EF.COM, EF.SOD and the data groups this
 * card carries, their FIDs and short EF identifiers, and who may read them.
 *
 * | file    | FID  | SFI | read                                   | encrypted |
 * |---------|------|-----|----------------------------------------|-----------|
 * | EF.COM  | 011E | 1E  | SM (after BAC or PACE)                 | no        |
 * | DG1     | 0101 | 01  | SM                                     | no        |
 * | DG2     | 0102 | 02  | SM                                     | yes       |
 * | DG3     | 0103 | 03  | PACE AND PIN(03) AND SM                | yes       |
 * | DG11    | 010B | 0B  | SM                                     | no        |
 * | DG12    | 010C | 0C  | SM                                     | no        |
 * | DG14    | 010E | 0E  | SM                                     | no        |
 * | DG15    | 010F | 0F  | SM                                     | no        |
 * | EF.SOD  | 011D | 1D  | SM                                     | no        |
 *
 * Encrypted: the biometrics (DG2 face, DG3 fingerprints) are kept sealed at rest in the card image
 * (AES-256-GCM under the card's storage key, `card/image.ts`) and released only under secure
 * messaging (issue 4: "biometrics, finances at least"). EF.SOD still hashes their plaintext.
 *
 * Nothing is ever written after personalization (every other operation is NEVER: the rules name
 * `read` only, and an operation a rule set does not mention is refused).
 *
 * DG3 stands in for what ICAO reserves to Extended Access Control: without Terminal
 * Authentication, the holder's own PIN — proven by PACE with the PIN, which makes PIN(03)
 * verified on the channel, or verified under a PACE session — is what opens the fingerprints; a
 * PIN verified after BAC is not enough (issue 4: "readable only after PACE and the holder PIN").
 */
import { and, pin, PACE_REQUIRED, SM_REQUIRED, type AccessRules } from '../../card/security/access.js';
import { decodeEfCom } from '../../lds/ef-com.js';
import { decodeSod } from '../../lds/sod.js';
import { EF_COM, EF_SOD, LDS1_AID, dataGroup } from '../../lds/tags.js';
import { CARD_PASSWORDS } from '../card-level.js';

/** The eMRTD application identifier. */
export const IDENTITY_AID: Uint8Array = LDS1_AID;

/** The applet type name the card image records. */
export const IDENTITY_TYPE = 'icao-lds';

export interface IdentityFileSpec {
  /** 'EF.COM', 'DG1' … 'EF.SOD'. */
  readonly name: string;
  /** Data group number (EF.COM and EF.SOD have none). */
  readonly dataGroup?: number;
  readonly fid: number;
  readonly sfi: number;
  readonly rules: AccessRules;
  /** Kept encrypted at rest (module comment). */
  readonly encrypted: boolean;
}

const SM_READ: AccessRules = Object.freeze({ read: SM_REQUIRED });
const PIN_AND_SM_READ: AccessRules = Object.freeze({ read: and(PACE_REQUIRED, pin(CARD_PASSWORDS.PIN), SM_REQUIRED) });

const dg = (n: number, rules: AccessRules = SM_READ, encrypted = false): IdentityFileSpec => {
  const d = dataGroup(n);
  return Object.freeze({ name: d.name, dataGroup: n, fid: d.fid, sfi: d.sfi, rules, encrypted });
};

/** The layout, in the order files are created and read. */
export const IDENTITY_FILES: readonly IdentityFileSpec[] = Object.freeze([
  Object.freeze({ name: EF_COM.name, fid: EF_COM.fid, sfi: EF_COM.sfi, rules: SM_READ, encrypted: false }),
  dg(1),
  dg(2, SM_READ, true),
  dg(3, PIN_AND_SM_READ, true),
  dg(11),
  dg(12),
  dg(14),
  dg(15),
  Object.freeze({ name: EF_SOD.name, fid: EF_SOD.fid, sfi: EF_SOD.sfi, rules: SM_READ, encrypted: false }),
]);

/** The data groups this application may carry. */
export const IDENTITY_DATA_GROUPS: readonly number[] = Object.freeze(IDENTITY_FILES.flatMap((f) => (f.dataGroup !== undefined ? [f.dataGroup] : [])));

/**
 * The data groups a reader should try, in ascending order: those EF.COM lists (ICAO 9303-10 §4.6.1;
 * every group of this layout when EF.COM is missing or does not decode) and those EF.SOD hashes
 * (§4.6.2), so a group one of them forgets is still read and checked. A malformed EF.COM or EF.SOD
 * is reported by its own decoding or by passive authentication, not here.
 */
export function dataGroupsToRead(com: Uint8Array | undefined, sod: Uint8Array | undefined): number[] {
  const wanted = new Set<number>();
  let listed: readonly number[] | undefined;
  if (com !== undefined) {
    try {
      listed = decodeEfCom(com).dataGroups;
    } catch {
      // Reported with the other decoding problems.
    }
  }
  for (const n of listed ?? IDENTITY_DATA_GROUPS) wanted.add(n);
  if (sod !== undefined) {
    try {
      for (const n of decodeSod(sod).securityObject.dataGroupHashes.keys()) wanted.add(n);
    } catch {
      // Reported by passive authentication.
    }
  }
  return [...wanted].sort((a, b) => a - b);
}
