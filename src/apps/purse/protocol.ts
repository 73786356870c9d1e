/**
 * The purse application's wire protocol: AID, instruction codes, key indexes, files and the
 * layouts of what the card returns. Shared by the card applet (`applet.ts`) and the terminal
 * (`src/terminal/purse.ts`), so both sides read one definition.
 *
 * The command set follows the shape of Calypso's secure session and stored-value commands (OPEN
 * SECURE SESSION 8A, CLOSE SECURE SESSION 8E, SV GET 7C, SV RELOAD B8, SV DEBIT BA, DECREASE 30)
 * under the proprietary class 80 (ISO/IEC 7816-4 §5.4.1: b8 = 1); the data fields, the session
 * key derivation and the MACs are chipwright's own (see `crypto.ts`), not Calypso's. Reads of the
 * log and the contracts are plain ISO/IEC 7816-4 READ RECORD(S) (§11.3.3) on their short EF
 * identifiers, and the holder PIN is ISO VERIFY (§11.5.6) with reference 81.
 *
 * | command         | APDU                                            | response                                  |
 * |-----------------|-------------------------------------------------|-------------------------------------------|
 * | OPEN SESSION    | `80 8A 00 kk 10` challenge(8) terminal(4) date(2) time(2) `00` | card challenge(12) = TC(4) ‖ random(8), balance(4), key version(1) |
 * | READ BALANCE    | `80 7C 00 00 00`                                | balance(4) max(4) currency(2) exponent(1) TC(4) |
 * | CREDIT          | `80 B8 00 00 04` amount(4) `00`                 | balance after(4) (tentative until CLOSE)  |
 * | DEBIT           | `80 BA 00 00 04` amount(4) `00`                 | balance after(4) (tentative until CLOSE)  |
 * | USE TRIP        | `80 30 rr 00 02` trips(1) zone(1) `00`          | trips left in contract rr(2) (tentative)  |
 * | CLOSE SESSION   | `80 8E 00 00 08` terminal MAC(8) `00`           | balance(4) card MAC(8)                    |
 * | ABORT SESSION   | `80 8E 00 00` (no data, as Calypso aborts)      | —                                         |
 * | READ LOG        | `00 B2 nn 44 00` (SFI 08, record nn, 1 = newest)| log record (26 bytes)                     |
 * | READ CONTRACT   | `00 B2 nn 4C 00` (SFI 09)                       | contract record (10 bytes)                |
 * | VERIFY (PIN)    | `00 20 00 81 Lc PIN`                            | —                                         |
 *
 * All integers are big-endian and unsigned except amounts, which are two's-complement so that a
 * negative amount can be sent and refused (6A80).
 */
import { hexToBytes } from '../../bytes/index.js';

/**
 * The purse's AID: a proprietary, unregistered RID (ISO/IEC 7816-5: an AID whose first nibble is F is not registered) `F0 43 57
 * 50 55` followed by the PIX `52 53 45` — together "F0" ‖ "CWPURSE" in ASCII.
 */
export const PURSE_AID: Uint8Array = hexToBytes('F043575055525345');

/** The applet type name a card image records (`card.install(aid, PURSE_APPLET_TYPE, params)`). */
export const PURSE_APPLET_TYPE = 'purse';

/** Proprietary class of every purse command on the basic channel (ISO/IEC 7816-4 §5.4.1). */
export const PURSE_CLA = 0x80;

/** Instruction codes, numbered like Calypso's session and stored-value commands. */
export const PURSE_INS = {
  OPEN_SESSION: 0x8a,
  CLOSE_SESSION: 0x8e,
  READ_BALANCE: 0x7c,
  CREDIT: 0xb8,
  DEBIT: 0xba,
  USE_TRIP: 0x30,
} as const;

/**
 * Key indexes (P2 of OPEN SESSION), numbered like Calypso's key indexes (2 = load, 3 = debit).
 * A session opened with the load key may CREDIT; one opened with the purchase key may DEBIT and
 * USE TRIP. Reading is allowed in both and outside sessions.
 */
export const PURSE_KEY = {
  LOAD: 0x02,
  PURCHASE: 0x03,
} as const;
export type PurseKeyIndex = (typeof PURSE_KEY)[keyof typeof PURSE_KEY];
export type PurseKeyName = 'load' | 'purchase';

export function purseKeyIndex(name: PurseKeyName): PurseKeyIndex {
  return name === 'load' ? PURSE_KEY.LOAD : PURSE_KEY.PURCHASE;
}

/** PIN reference of the holder PIN: specific to the purse DF (ISO/IEC 7816-4 §7.5.2, b8 = 1). */
export const PURSE_PIN_REF = 0x81;

/** File identifiers and short EF identifiers of the purse's files, under its DF. */
export const PURSE_FILES = {
  /** EF.Purse, transparent: the value file (layout {@link PURSE_EF}). */
  PURSE: { fid: 0x2001, sfi: 0x01 },
  /** EF.Log, cyclic: one record per committed operation, record 1 the newest (ISO/IEC 7816-4 §11.3). */
  LOG: { fid: 0x2008, sfi: 0x08 },
  /** EF.Contracts, linear fixed: transit contracts (layout {@link CONTRACT_RECORD}). */
  CONTRACTS: { fid: 0x2009, sfi: 0x09 },
} as const;

/** Offsets in EF.Purse (transparent, {@link PURSE_EF.SIZE} bytes). */
export const PURSE_EF = {
  BALANCE: 0,
  MAXIMUM: 4,
  /** ISO 4217 numeric code as BCD n3 in two bytes (`09 78` for EUR), as EMV encodes currency codes. */
  CURRENCY: 8,
  /** ISO 4217 minor unit: decimal places of the amounts (2 for EUR). */
  EXPONENT: 10,
  /** Most a session may debit without the holder PIN; FFFFFFFF = never needs it. */
  PIN_THRESHOLD: 11,
  /** Transaction counter: incremented and committed by every OPEN SESSION, never repeats. */
  TC: 15,
  /** Sequence number of the newest log record (0 = none yet). */
  LOG_SEQUENCE: 19,
  MAX_SESSION_OPS: 23,
  KEY_VERSION: 24,
  SIZE: 25,
} as const;

/** {@link PURSE_EF.PIN_THRESHOLD} value meaning "the PIN is never required". */
export const NO_PIN_THRESHOLD = 0xffffffff;

/** Largest balance, maximum or amount: amounts travel as signed 32-bit integers. */
export const MAX_AMOUNT = 0x7fffffff;

/** Log record types (byte 0 of a log record). */
export const LOG_TYPE = { CREDIT: 0x01, DEBIT: 0x02, TRIP: 0x03 } as const;
export type LogTypeName = 'credit' | 'debit' | 'trip';

/** Offsets in a log record (cyclic EF, {@link LOG_RECORD.SIZE} bytes). */
export const LOG_RECORD = {
  TYPE: 0,
  /** Contract record number for a trip, 0 for value entries. */
  CONTRACT: 1,
  /** Sequence number of this record: 1, 2, 3… over the purse's life, without gaps. */
  SEQUENCE: 2,
  /** Transaction counter of the session that wrote it. */
  TC: 6,
  /** Amount (credit, debit) or trips used (trip). */
  AMOUNT: 10,
  /** Balance after (credit, debit) or trips left in the contract (trip). */
  AFTER: 14,
  TERMINAL: 18,
  /** EN 1545-1 DateStamp: days since 1997-01-01. */
  DATE: 22,
  /** EN 1545-1 TimeStamp: minutes since midnight. */
  TIME: 24,
  SIZE: 26,
} as const;

/** Offsets in a contract record (linear fixed EF, {@link CONTRACT_RECORD.SIZE} bytes). */
export const CONTRACT_RECORD = {
  /** Product (tariff) code, the issuer's own numbering (EN 1545 ContractTariff). */
  PRODUCT: 0,
  /** Zones 1..16 as a bitmap, bit 0 = zone 1 (EN 1545 ContractZones as a bitmap). */
  ZONES: 2,
  /** First and last valid day, EN 1545-1 DateStamps, inclusive. */
  VALID_FROM: 4,
  VALID_UNTIL: 6,
  /** Trips left. */
  TRIPS: 8,
  SIZE: 10,
} as const;

/** Lengths of the fixed fields of the session protocol. */
export const PURSE_LENGTHS = {
  TERMINAL_CHALLENGE: 8,
  /** TC(4) ‖ random(8). */
  CARD_CHALLENGE: 12,
  TERMINAL_ID: 4,
  /** OPEN SESSION data: terminal challenge, terminal id, date, time. */
  OPEN_DATA: 16,
  /** OPEN SESSION response: card challenge, balance, key version. */
  OPEN_RESPONSE: 17,
  READ_BALANCE_RESPONSE: 15,
  MAC: 8,
  CLOSE_RESPONSE: 12,
} as const;
