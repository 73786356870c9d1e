/**
 * The finances application's file layout (AID `F0 43 57 49 44 46`: chipwright's proprietary,
 * unregistered "CWID" prefix + 'F' — see `health/layout.ts` for the AID scheme).
 *
 * | file        | FID  | SFI | structure                     | read                     | encrypted |
 * |-------------|------|-----|-------------------------------|--------------------------|-----------|
 * | EF.ACCOUNTS | 0101 | 01  | linear variable, 10 × ≤ 255 B | PACE AND PIN(03) AND SM  | yes       |
 * | EF.CARDS    | 0102 | 02  | linear variable, 10 × ≤ 255 B | PACE AND PIN(03) AND SM  | yes       |
 * | EF.SOD      | 011D | 1D  | transparent                   | PACE AND PIN(03) AND SM  | no        |
 *
 * Readable only after PACE and the holder PIN — PACE with the PIN (which verifies PIN(03) on the
 * channel) or PACE with the CAN followed by VERIFY of PIN 03 under it — and never in plain or
 * after BAC (`PACE`: `SM` and a PIN verified after BAC are not enough). EF.SOD is behind the same rule: its hashes of
 * low-entropy account data could be searched. Nothing is written after personalization.
 *
 * Two EFs because an EF.SOD lists at least two files (ICAO 9303-10 §4.6.2.2): bank accounts
 * (current, savings) in EF.ACCOUNTS, payment cards (credit, debit, prepaid; masked PAN only) in
 * EF.CARDS; either may hold no records. EF.SOD: DG1 = EF.ACCOUNTS, DG2 = EF.CARDS.
 */
import { and, pin, PACE_REQUIRED, SM_REQUIRED, type AccessRules } from '../../card/security/access.js';
import { CARD_PASSWORDS } from '../card-level.js';
import type { AppFileSpec } from '../health/common.js';

/** `F0 43 57 49 44 46`: chipwright's proprietary "CWID" prefix + 'F'. */
export const FINANCE_AID: Uint8Array = new Uint8Array([0xf0, 0x43, 0x57, 0x49, 0x44, 0x46]);

/** The applet type name the card image records. */
export const FINANCE_TYPE = 'finance';

/** Records per EF (the holder schema allows 10 accounts in all). */
export const FINANCE_MAX_RECORDS = 10;
export const FINANCE_RECORD_SIZE = 255;

const READ: AccessRules = Object.freeze({ read: and(PACE_REQUIRED, pin(CARD_PASSWORDS.PIN), SM_REQUIRED) });

const records = (name: string, fid: number, sfi: number, dataGroup: number): AppFileSpec =>
  Object.freeze({ name, fid, sfi, structure: 'linear-variable', recordSize: FINANCE_RECORD_SIZE, maxRecords: FINANCE_MAX_RECORDS, rules: READ, encrypted: true, dataGroup });

export const EF_ACCOUNTS: AppFileSpec = records('EF.ACCOUNTS', 0x0101, 0x01, 1);
export const EF_CARDS: AppFileSpec = records('EF.CARDS', 0x0102, 0x02, 2);
export const EF_FINANCE_SOD: AppFileSpec = Object.freeze({ name: 'EF.SOD', fid: 0x011d, sfi: 0x1d, structure: 'transparent', rules: READ, encrypted: false });

/** The layout, in the order files are created and read. */
export const FINANCE_FILES: readonly AppFileSpec[] = Object.freeze([EF_ACCOUNTS, EF_CARDS, EF_FINANCE_SOD]);

/** Account types kept in EF.ACCOUNTS; the others are cards (EF.CARDS). */
export const BANK_ACCOUNT_TYPES: readonly string[] = Object.freeze(['current', 'savings']);
