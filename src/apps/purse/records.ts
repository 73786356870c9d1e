/**
 * Codecs for what the purse stores and returns: EN 1545-1 date and time stamps, log records,
 * contract records, currency codes and the READ BALANCE / OPEN SESSION responses. Pure functions,
 * used by the card applet, the terminal and the tests alike.
 */
import { ByteInputError, bytesToHex, readUintBE, u16 } from '../../bytes/index.js';
import { u32 } from './_int.js';
import {
  CONTRACT_RECORD,
  LOG_RECORD,
  LOG_TYPE,
  PURSE_LENGTHS,
  type LogTypeName,
} from './protocol.js';

// --- EN 1545-1 date and time ----------------------------------------------------------------------

const DAY_MS = 86_400_000;
/** The EN 1545-1 epoch of DateStamp: 1 January 1997. */
const EPOCH_1997 = Date.UTC(1997, 0, 1);

/**
 * EN 1545-1 DateStamp (days since 1997-01-01) of an ISO 8601 calendar date `YYYY-MM-DD`.
 *
 * @example dateStamp('1997-01-02') // 1
 */
export function dateStamp(iso: string, title = 'date'): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  // Date.UTC rolls 2025-02-30 over into March; a date that does not round-trip is not a date.
  if (!m || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== iso) {
    throw new ByteInputError(`${title}: expected a date YYYY-MM-DD, got "${iso}"`);
  }
  const days = Math.round((ms - EPOCH_1997) / DAY_MS);
  if (days < 0 || days > 0xffff) throw new ByteInputError(`${title}: ${iso} is outside 1997-01-01..2176-06-05`);
  return days;
}

/** The ISO 8601 date of an EN 1545-1 DateStamp. */
export function isoDate(stamp: number): string {
  return new Date(EPOCH_1997 + stamp * DAY_MS).toISOString().slice(0, 10);
}

/** EN 1545-1 TimeStamp (minutes since midnight) as `HH:MM`. */
export function isoTime(stamp: number): string {
  return `${String(Math.floor(stamp / 60)).padStart(2, '0')}:${String(stamp % 60).padStart(2, '0')}`;
}

/** DateStamp and TimeStamp of a moment, in UTC (the card has no clock; the terminal says when). */
export function stampsOf(when: Date): { date: number; time: number } {
  const ms = when.getTime();
  if (Number.isNaN(ms) || ms < EPOCH_1997) throw new ByteInputError('when: expected a date on or after 1997-01-01');
  const date = Math.floor((ms - EPOCH_1997) / DAY_MS);
  if (date > 0xffff) throw new ByteInputError('when: after 2176-06-05');
  return { date, time: when.getUTCHours() * 60 + when.getUTCMinutes() };
}

// --- currency -------------------------------------------------------------------------------------

/**
 * An ISO 4217 numeric currency code (1..999) as BCD n3 in two bytes, the way EMV encodes its
 * currency codes (`978` → `09 78`).
 */
export function encodeCurrency(code: number, title = 'currency'): Uint8Array {
  if (!Number.isInteger(code) || code < 1 || code > 999) {
    throw new ByteInputError(`${title}: expected an ISO 4217 numeric code 1..999, got ${String(code)}`);
  }
  const d = String(code).padStart(4, '0');
  return new Uint8Array([((d.charCodeAt(0) - 48) << 4) | (d.charCodeAt(1) - 48), ((d.charCodeAt(2) - 48) << 4) | (d.charCodeAt(3) - 48)]);
}

/** The inverse of {@link encodeCurrency}; non-BCD nibbles are an error. */
export function decodeCurrency(b: Uint8Array, title = 'currency'): number {
  let v = 0;
  for (const x of [b[0]! >>> 4, b[0]! & 15, b[1]! >>> 4, b[1]! & 15]) {
    if (x > 9) throw new ByteInputError(`${title}: ${bytesToHex(b.subarray(0, 2))} is not BCD`);
    v = v * 10 + x;
  }
  return v;
}

/** An amount in minor units as text with the currency's decimals: `formatAmount(1234, 2)` → `12.34`. */
export function formatAmount(minor: number, exponent: number): string {
  const neg = minor < 0;
  const s = String(Math.abs(minor)).padStart(exponent + 1, '0');
  const text = exponent === 0 ? s : `${s.slice(0, s.length - exponent)}.${s.slice(s.length - exponent)}`;
  return neg ? `-${text}` : text;
}

// --- log records ----------------------------------------------------------------------------------

/** One log record, decoded. */
export interface PurseLogEntry {
  readonly type: LogTypeName;
  /** Contract record number of a trip; 0 for credit and debit. */
  readonly contract: number;
  readonly sequence: number;
  /** Transaction counter of the session that wrote the record. */
  readonly transactionCounter: number;
  /** Minor units credited or debited, or trips used. */
  readonly amount: number;
  /** Balance after the operation, or trips left in the contract. */
  readonly after: number;
  readonly terminalId: Uint8Array;
  /** EN 1545-1 DateStamp and TimeStamp as the terminal gave them. */
  readonly dateStamp: number;
  readonly timeStamp: number;
}

const TYPE_NAMES: Readonly<Record<number, LogTypeName>> = { [LOG_TYPE.CREDIT]: 'credit', [LOG_TYPE.DEBIT]: 'debit', [LOG_TYPE.TRIP]: 'trip' };
const TYPE_CODES: Readonly<Record<LogTypeName, number>> = { credit: LOG_TYPE.CREDIT, debit: LOG_TYPE.DEBIT, trip: LOG_TYPE.TRIP };

/** A log record's 26 bytes (layout {@link LOG_RECORD}). */
export function encodeLogRecord(e: PurseLogEntry): Uint8Array {
  const r = new Uint8Array(LOG_RECORD.SIZE);
  r[LOG_RECORD.TYPE] = TYPE_CODES[e.type];
  r[LOG_RECORD.CONTRACT] = e.contract;
  r.set(u32(e.sequence), LOG_RECORD.SEQUENCE);
  r.set(u32(e.transactionCounter), LOG_RECORD.TC);
  r.set(u32(e.amount), LOG_RECORD.AMOUNT);
  r.set(u32(e.after), LOG_RECORD.AFTER);
  r.set(e.terminalId.subarray(0, 4), LOG_RECORD.TERMINAL);
  r.set(u16(e.dateStamp), LOG_RECORD.DATE);
  r.set(u16(e.timeStamp), LOG_RECORD.TIME);
  return r;
}

/** Decodes a log record; a wrong length or an unknown type is an error naming it. */
export function decodeLogRecord(r: Uint8Array): PurseLogEntry {
  if (r.length !== LOG_RECORD.SIZE) throw new ByteInputError(`log record: expected ${LOG_RECORD.SIZE} bytes, got ${r.length}`);
  const type = TYPE_NAMES[r[LOG_RECORD.TYPE]!];
  if (type === undefined) throw new ByteInputError(`log record: unknown type ${r[LOG_RECORD.TYPE]}`);
  return {
    type,
    contract: r[LOG_RECORD.CONTRACT]!,
    sequence: readUintBE(r, LOG_RECORD.SEQUENCE, 4),
    transactionCounter: readUintBE(r, LOG_RECORD.TC, 4),
    amount: readUintBE(r, LOG_RECORD.AMOUNT, 4),
    after: readUintBE(r, LOG_RECORD.AFTER, 4),
    terminalId: r.slice(LOG_RECORD.TERMINAL, LOG_RECORD.TERMINAL + 4),
    dateStamp: readUintBE(r, LOG_RECORD.DATE, 2),
    timeStamp: readUintBE(r, LOG_RECORD.TIME, 2),
  };
}

/** What a log entry did to the balance: +amount, −amount, or 0 for a trip. */
export function balanceDelta(e: Pick<PurseLogEntry, 'type' | 'amount'>): number {
  return e.type === 'credit' ? e.amount : e.type === 'debit' ? -e.amount : 0;
}

// --- contract records -----------------------------------------------------------------------------

/** A transit contract (ticket), decoded. */
export interface PurseContract {
  readonly product: number;
  /** Zones it is valid in, 1..16, ascending. */
  readonly zones: readonly number[];
  /** First and last valid day, `YYYY-MM-DD`, inclusive. */
  readonly validFrom: string;
  readonly validUntil: string;
  readonly trips: number;
}

/** Zones 1..16 as the contract record's bitmap. */
export function zonesBitmap(zones: readonly number[], title = 'zones'): number {
  let bits = 0;
  for (const z of zones) {
    if (!Number.isInteger(z) || z < 1 || z > 16) throw new ByteInputError(`${title}: expected zone numbers 1..16, got ${String(z)}`);
    bits |= 1 << (z - 1);
  }
  return bits;
}

export function zonesOf(bits: number): number[] {
  const out: number[] = [];
  for (let z = 1; z <= 16; z++) if ((bits & (1 << (z - 1))) !== 0) out.push(z);
  return out;
}

/** A contract record's 10 bytes (layout {@link CONTRACT_RECORD}). */
export function encodeContractRecord(c: PurseContract, title = 'contract'): Uint8Array {
  const r = new Uint8Array(CONTRACT_RECORD.SIZE);
  const from = dateStamp(c.validFrom, `${title}.validFrom`);
  const until = dateStamp(c.validUntil, `${title}.validUntil`);
  if (until < from) throw new ByteInputError(`${title}: validUntil ${c.validUntil} is before validFrom ${c.validFrom}`);
  for (const [name, v] of [['product', c.product], ['trips', c.trips]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new ByteInputError(`${title}.${name}: expected 0..65535, got ${String(v)}`);
  }
  r.set(u16(c.product), CONTRACT_RECORD.PRODUCT);
  r.set(u16(zonesBitmap(c.zones, `${title}.zones`)), CONTRACT_RECORD.ZONES);
  r.set(u16(from), CONTRACT_RECORD.VALID_FROM);
  r.set(u16(until), CONTRACT_RECORD.VALID_UNTIL);
  r.set(u16(c.trips), CONTRACT_RECORD.TRIPS);
  return r;
}

export function decodeContractRecord(r: Uint8Array): PurseContract {
  if (r.length !== CONTRACT_RECORD.SIZE) throw new ByteInputError(`contract record: expected ${CONTRACT_RECORD.SIZE} bytes, got ${r.length}`);
  return {
    product: readUintBE(r, CONTRACT_RECORD.PRODUCT, 2),
    zones: zonesOf(readUintBE(r, CONTRACT_RECORD.ZONES, 2)),
    validFrom: isoDate(readUintBE(r, CONTRACT_RECORD.VALID_FROM, 2)),
    validUntil: isoDate(readUintBE(r, CONTRACT_RECORD.VALID_UNTIL, 2)),
    trips: readUintBE(r, CONTRACT_RECORD.TRIPS, 2),
  };
}

// --- responses ------------------------------------------------------------------------------------

/** READ BALANCE, decoded. */
export interface PurseBalance {
  /** Minor units (cents for EUR). */
  readonly balance: number;
  readonly maximum: number;
  /** ISO 4217 numeric code. */
  readonly currency: number;
  /** ISO 4217 minor unit (decimal places). */
  readonly exponent: number;
  readonly transactionCounter: number;
}

export function encodeBalanceResponse(b: PurseBalance): Uint8Array {
  const r = new Uint8Array(PURSE_LENGTHS.READ_BALANCE_RESPONSE);
  r.set(u32(b.balance), 0);
  r.set(u32(b.maximum), 4);
  r.set(encodeCurrency(b.currency), 8);
  r[10] = b.exponent;
  r.set(u32(b.transactionCounter), 11);
  return r;
}

export function decodeBalanceResponse(r: Uint8Array): PurseBalance {
  if (r.length !== PURSE_LENGTHS.READ_BALANCE_RESPONSE) {
    throw new ByteInputError(`READ BALANCE response: expected ${PURSE_LENGTHS.READ_BALANCE_RESPONSE} bytes, got ${r.length}`);
  }
  return {
    balance: readUintBE(r, 0, 4),
    maximum: readUintBE(r, 4, 4),
    currency: decodeCurrency(r.subarray(8, 10)),
    exponent: r[10]!,
    transactionCounter: readUintBE(r, 11, 4),
  };
}

/** OPEN SESSION's response, decoded. */
export interface PurseOpenResponse {
  /** TC(4) ‖ random(8): the card's half of the mutual challenge. */
  readonly cardChallenge: Uint8Array;
  readonly transactionCounter: number;
  readonly balance: number;
  readonly keyVersion: number;
}

export function decodeOpenResponse(r: Uint8Array): PurseOpenResponse {
  if (r.length !== PURSE_LENGTHS.OPEN_RESPONSE) {
    throw new ByteInputError(`OPEN SESSION response: expected ${PURSE_LENGTHS.OPEN_RESPONSE} bytes, got ${r.length}`);
  }
  const cc = PURSE_LENGTHS.CARD_CHALLENGE;
  return {
    cardChallenge: r.slice(0, cc),
    transactionCounter: readUintBE(r, 0, 4),
    balance: readUintBE(r, cc, 4),
    keyVersion: r[cc + 4]!,
  };
}
