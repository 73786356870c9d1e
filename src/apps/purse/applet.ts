/**
 * The stored-value purse and transit application, card side: a value file with currency and
 * maximum, a cyclic transaction log, transit contracts, and secure sessions in which value is
 * credited or debited and trips are used. Wire format in `protocol.ts`, session security in
 * `crypto.ts`, install parameters in `params.ts`.
 *
 * ## Files (under the purse DF; READ ALWAYS, every other operation NEVER)
 *
 * Only the purse's own commands write them, through the journal. ISO/IEC 7816-4 READ BINARY and
 * READ RECORD(S) read them (§11.2.3, §11.3.3), so generic tools see the purse without its commands.
 *
 * - EF.Purse `2001`, SFI 01, transparent (layout `PURSE_EF`): balance, maximum, currency, exponent,
 *   PIN threshold, transaction counter (TC), log sequence, limits, key version. A value file in the
 *   sense of a Calypso stored-value purse, kept in an ISO transparent EF.
 * - EF.Log `2008`, SFI 08, cyclic (record 1 the newest, as ISO/IEC 7816-4 §11.3 numbers cyclic records): one record per
 *   committed CREDIT, DEBIT or USE TRIP — type, amount, balance after, terminal id, sequence
 *   number, TC, EN 1545-1 DateStamp and TimeStamp.
 * - EF.Contracts `2009`, SFI 09, linear fixed: transit contracts — product, zones, validity (EN
 *   1545-1 DateStamps), trips left.
 * - The holder PIN is an ISO PIN object, reference 81, in the purse DF (ISO VERIFY). The load and
 *   purchase keys live in the applet's own store, out of reach of every command.
 *
 * ## Sessions and anti-tearing
 *
 * Calypso's model: a session's changes are buffered in transient memory and written in one
 * journalled step at CLOSE SESSION, so they commit together or not at all.
 *
 * - OPEN SESSION increments the TC and commits it at once (`nv.commit()`) before answering: a TC
 *   a terminal has seen is never handed out again, whatever happens next. A power cut during that
 *   write rolls it back, but then no terminal saw the new value.
 * - CREDIT, DEBIT and USE TRIP only change the session's transient copy and answer the tentative
 *   result. Nothing non-volatile changes before CLOSE; a power cut, ABORT, deselection or a
 *   refused CLOSE leaves the balance, log and contracts as they were.
 * - CLOSE SESSION checks the terminal's MAC, then writes balance, contracts, log records and log
 *   sequence in one command (the OS journals the command; a cut at any of its writes rolls all of
 *   them back at power-up), commits, and only then computes the card MAC. A terminal therefore
 *   holds a valid card MAC exactly when the session committed.
 * - A session belongs to its logical channel. Any OPEN SESSION (on any channel) supersedes every
 *   session opened before it: the superseded one notices that the TC moved on and answers 6985.
 *   Two sessions can therefore never both commit changes computed from the same balance.
 *
 * ## Status words
 *
 * Checked in this order: the command itself (6E00, 6A86, 6700, 6A80), the session (6985), the
 * session's key (6982), the session's capacity (6400), the holder PIN (6982), then the value or
 * contract (6A83, 6985, 6A84).
 *
 * | SW   | when                                                                                  |
 * |------|---------------------------------------------------------------------------------------|
 * | 9000 | done (CREDIT/DEBIT/USE TRIP: tentative until CLOSE)                                   |
 * | 6700 | wrong Lc (OPEN 16, CREDIT/DEBIT 4, USE TRIP 2, CLOSE 8 or none, READ BALANCE none)    |
 * | 6A86 | P1-P2 other than documented (OPEN P2 not 02/03; USE TRIP P1 0 or FF)                  |
 * | 6A80 | amount zero or negative; trips 0; zone not 1..16; time ≥ 24:00                        |
 * | 6A88 | OPEN with a key this purse was not personalised with                                  |
 * | 6985 | session misuse (Calypso answers 6985 when no session was opened): no session on this channel, a session already open on it, the session superseded by a later OPEN, TC exhausted; USE TRIP on a contract not valid that day or in that zone |
 * | 6982 | operation not allowed with the session's key (CREDIT needs the load key, DEBIT and USE TRIP the purchase key); DEBIT taking the session's debits above the PIN threshold without the holder PIN verified on this channel |
 * | 6400 | the session already holds its maximum number of operations (chipwright's own choice: execution error, nothing changed) |
 * | 6A84 | the value would leave 0..maximum: CREDIT above the maximum, DEBIT below zero, USE TRIP more trips than left (by analogy with ISO "not enough memory space in the file": the value file has no room for the change) |
 * | 6A83 | USE TRIP on a contract record that does not exist                                     |
 * | 6988 | CLOSE with a terminal MAC that does not verify (as Calypso answers a wrong session signature); the session is discarded |
 * | 6E00 | an interindustry class (the purse commands are proprietary, CLA 80-83)                |
 *
 * A refused command inside a session changes nothing and leaves the session open; it is part of
 * the transcript both MACs cover. A failed terminal MAC costs nothing but the session (no retry
 * counter: a counter would let any reader block the purse); every OPEN uses up a TC value.
 */
import { SW, StatusWordError } from '../../apdu/status.js';
import type { CommandApdu } from '../../apdu/command.js';
import { concatBytes, readUintBE, u16 } from '../../bytes/index.js';
import type { Applet, AppletFactory } from '../../card/applet.js';
import type { Channel } from '../../card/channel.js';
import { findPin, type CommandContext, type InstallContext } from '../../card/context.js';
import { defineInsTable, type CommandHandler, type HandlerResult } from '../../card/dispatch.js';
import { newRecordEf, newTransparentEf, type DedicatedFile, type RecordEf, type TransparentEf } from '../../card/fs/file.js';
import { attach, childByFid } from '../../card/fs/tree.js';
import { PowerLoss } from '../../card/nv.js';
import { ALWAYS, type AccessRules } from '../../card/security/access.js';
import { newPin } from '../../card/security/objects.js';
import { appendRecord } from '../../card/commands/records.js';
import { PurseSessionCrypto, PurseStaticKey } from './crypto.js';
import { decodePurseInstallParams, redactPurseInstallParams, resolvePurseSpec } from './params.js';
import {
  CONTRACT_RECORD,
  LOG_RECORD,
  NO_PIN_THRESHOLD,
  PURSE_APPLET_TYPE,
  PURSE_EF,
  PURSE_FILES,
  PURSE_INS,
  PURSE_KEY,
  PURSE_LENGTHS,
  PURSE_PIN_REF,
  type LogTypeName,
} from './protocol.js';
import { encodeContractRecord, encodeCurrency, encodeLogRecord } from './records.js';
import { readInt32, u32 } from './_int.js';

const EMPTY = new Uint8Array(0);

/** Readable by anyone, written only by the purse's own commands (unlisted operations are NEVER). */
const READ_ONLY: AccessRules = Object.freeze({ read: ALWAYS });

/** Store keys of the static keys, by key index. */
const KEY_SLOT: Readonly<Record<number, string>> = { [PURSE_KEY.LOAD]: 'key.load', [PURSE_KEY.PURCHASE]: 'key.purchase' };

/** An operation buffered by a session, written to the log at CLOSE. */
interface PendingOp {
  readonly type: LogTypeName;
  readonly contract: number;
  readonly amount: number;
  readonly after: number;
}

/** A session's transient state: nothing here is non-volatile until CLOSE writes it. */
class Session {
  debitTotal = 0;
  readonly ops: PendingOp[] = [];
  /** Contract record number → trips left, for contracts this session used. */
  readonly trips = new Map<number, number>();

  constructor(
    readonly keyIndex: number,
    readonly tc: number,
    readonly crypto: PurseSessionCrypto,
    readonly terminalId: Uint8Array,
    readonly date: number,
    readonly time: number,
    public balance: number,
  ) {}
}

interface PurseFiles {
  readonly df: DedicatedFile;
  readonly purse: TransparentEf;
  readonly log: RecordEf;
  readonly contracts: RecordEf;
}

function readU32(ef: TransparentEf, offset: number): number {
  return readUintBE(ef.data, offset, 4);
}

/** The purse's files under the selected purse DF (6A82 if personalization deleted them). */
function files(ctx: CommandContext): PurseFiles {
  const sel = ctx.channel.applet;
  if (sel === null || sel.record.type !== PURSE_APPLET_TYPE) throw new StatusWordError(SW.FILE_NOT_FOUND, 'purse not selected on this channel');
  const purse = childByFid(sel.df, PURSE_FILES.PURSE.fid);
  const log = childByFid(sel.df, PURSE_FILES.LOG.fid);
  const contracts = childByFid(sel.df, PURSE_FILES.CONTRACTS.fid);
  if (purse?.kind !== 'EF' || purse.structure !== 'transparent' || purse.data.length !== PURSE_EF.SIZE) {
    throw new StatusWordError(SW.FILE_NOT_FOUND, 'EF.Purse missing');
  }
  if (log?.kind !== 'EF' || log.structure !== 'cyclic') throw new StatusWordError(SW.FILE_NOT_FOUND, 'EF.Log missing');
  if (contracts?.kind !== 'EF' || contracts.structure !== 'linear-fixed') throw new StatusWordError(SW.FILE_NOT_FOUND, 'EF.Contracts missing');
  return { df: sel.df, purse, log, contracts };
}

/** The holder PIN (reference 81 of the purse DF) is verified on this channel (ISO VERIFY). */
function holderPinVerified(ctx: CommandContext, f: PurseFiles): boolean {
  const pin = findPin(f.df, PURSE_PIN_REF);
  return pin !== undefined && ctx.channel.pins.has(pin);
}

function requireP1P2(cmd: CommandApdu, p1: number, p2: number): void {
  if (cmd.p1 !== p1 || cmd.p2 !== p2) throw new StatusWordError(SW.INCORRECT_P1P2);
}

function requireLength(cmd: CommandApdu, n: number, what: string): void {
  if (cmd.data.length !== n) throw new StatusWordError(SW.WRONG_LENGTH, `${what}: expected ${n} data bytes, got ${cmd.data.length}`);
}

/** Builds a purse applet instance; its sessions live in a map keyed by logical channel. */
function createPurseApplet(params: Uint8Array): Applet {
  const sessions = new WeakMap<Channel, Session>();
  // CMAC engines of the static keys, keyed by the stored key bytes: no command changes a stored
  // key, and a new array (a reloaded image) simply misses.
  const staticKeys = new WeakMap<Uint8Array, PurseStaticKey>();
  const staticKey = (value: Uint8Array): PurseStaticKey => {
    let k = staticKeys.get(value);
    if (k === undefined) staticKeys.set(value, (k = new PurseStaticKey(value)));
    return k;
  };

  const end = (ch: Channel): void => {
    const s = sessions.get(ch);
    if (s !== undefined) {
      s.crypto.destroy();
      sessions.delete(ch);
    }
  };

  /** The session open on this channel, still current (6985 otherwise; a superseded one ends). */
  const requireSession = (ctx: CommandContext, f: PurseFiles): Session => {
    const s = sessions.get(ctx.channel);
    if (s === undefined) throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, 'no session open on this channel');
    if (readU32(f.purse, PURSE_EF.TC) !== s.tc) {
      end(ctx.channel);
      throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, 'session superseded by a later OPEN SESSION');
    }
    return s;
  };

  const requireRoom = (s: Session, f: PurseFiles): void => {
    if (s.ops.length >= f.purse.data[PURSE_EF.MAX_SESSION_OPS]!) {
      throw new StatusWordError(SW.EXEC_NV_UNCHANGED, 'session holds its maximum number of operations; CLOSE and open another');
    }
  };

  /**
   * Wraps a purse command: proprietary class only (6E00), and while a session is open on the
   * channel the exchange — refused or not — goes into its transcript (`crypto.ts`, step 2).
   */
  const command = (name: string, run: (cmd: CommandApdu, ctx: CommandContext) => Uint8Array | void): CommandHandler => ({
    name,
    run(cmd: CommandApdu, ctx: CommandContext): HandlerResult {
      const s = sessions.get(ctx.channel);
      let data: Uint8Array = EMPTY;
      let sw: number = SW.OK;
      let lost = false;
      try {
        if (cmd.cla.kind !== 'proprietary') throw new StatusWordError(SW.CLA_NOT_SUPPORTED, `${name} is a proprietary command (CLA 80)`);
        const r = run(cmd, ctx);
        if (r !== undefined) data = r;
        return r;
      } catch (e) {
        lost = e instanceof PowerLoss;
        // What the OS will answer: the error's status word, or 6F00 for anything unexpected.
        sw = e instanceof StatusWordError ? e.sw : SW.UNKNOWN;
        throw e;
      } finally {
        if (!lost && s !== undefined && sessions.get(ctx.channel) === s) s.crypto.record(cmd, data, sw);
      }
    },
  });

  const open = (cmd: CommandApdu, ctx: CommandContext): Uint8Array => {
    if (cmd.p1 !== 0x00 || (cmd.p2 !== PURSE_KEY.LOAD && cmd.p2 !== PURSE_KEY.PURCHASE)) {
      throw new StatusWordError(SW.INCORRECT_P1P2, 'OPEN SESSION: P1 00, P2 02 (load key) or 03 (purchase key)');
    }
    requireLength(cmd, PURSE_LENGTHS.OPEN_DATA, 'OPEN SESSION');
    const time = readUintBE(cmd.data, 14, 2);
    if (time >= 1440) throw new StatusWordError(SW.INCORRECT_DATA, 'OPEN SESSION: time of day must be under 1440 minutes');
    if (sessions.has(ctx.channel)) throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, 'a session is already open on this channel; CLOSE or ABORT it first');
    const f = files(ctx);
    const key = ctx.appletRecord?.store.find((e) => e.key === KEY_SLOT[cmd.p2])?.value;
    if (key === undefined) throw new StatusWordError(SW.REFERENCE_NOT_FOUND, `no ${cmd.p2 === PURSE_KEY.LOAD ? 'load' : 'purchase'} key personalised`);
    const tc = readU32(f.purse, PURSE_EF.TC);
    if (tc >= 0xffffffff) throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, 'transaction counter exhausted');
    const next = tc + 1;
    ctx.nv.writeBytes(f.purse.data, PURSE_EF.TC, u32(next));
    // Durable before anything depends on it: the terminal must never see this TC twice.
    ctx.nv.commit();
    const cardChallenge = concatBytes(u32(next), ctx.rng.bytes(8));
    const crypto = new PurseSessionCrypto(staticKey(key), cardChallenge, cmd.data.subarray(0, PURSE_LENGTHS.TERMINAL_CHALLENGE));
    const balance = readU32(f.purse, PURSE_EF.BALANCE);
    const response = concatBytes(cardChallenge, u32(balance), Uint8Array.of(f.purse.data[PURSE_EF.KEY_VERSION]!));
    crypto.record(cmd, response, SW.OK);
    sessions.set(ctx.channel, new Session(cmd.p2, next, crypto, cmd.data.slice(8, 12), readUintBE(cmd.data, 12, 2), time, balance));
    return response;
  };

  const readBalance = (cmd: CommandApdu, ctx: CommandContext): Uint8Array => {
    requireP1P2(cmd, 0, 0);
    requireLength(cmd, 0, 'READ BALANCE');
    const f = files(ctx);
    const p = f.purse.data;
    const s = sessions.get(ctx.channel);
    const current = s !== undefined && s.tc === readU32(f.purse, PURSE_EF.TC);
    return concatBytes(
      // Inside a session: the balance as it will be after CLOSE, as CREDIT and DEBIT answer.
      u32(current ? s.balance : readU32(f.purse, PURSE_EF.BALANCE)),
      p.subarray(PURSE_EF.MAXIMUM, PURSE_EF.MAXIMUM + 4),
      p.subarray(PURSE_EF.CURRENCY, PURSE_EF.CURRENCY + 2),
      p.subarray(PURSE_EF.EXPONENT, PURSE_EF.EXPONENT + 1),
      p.subarray(PURSE_EF.TC, PURSE_EF.TC + 4),
    );
  };

  /** CREDIT (load key) and DEBIT (purchase key), buffered in the session. */
  const value = (type: 'credit' | 'debit') => (cmd: CommandApdu, ctx: CommandContext): Uint8Array => {
    const name = type.toUpperCase();
    requireP1P2(cmd, 0, 0);
    requireLength(cmd, 4, name);
    const amount = readInt32(cmd.data);
    if (amount <= 0) throw new StatusWordError(SW.INCORRECT_DATA, `${name}: amount must be positive`);
    const f = files(ctx);
    const s = requireSession(ctx, f);
    const needed = type === 'credit' ? PURSE_KEY.LOAD : PURSE_KEY.PURCHASE;
    if (s.keyIndex !== needed) {
      throw new StatusWordError(SW.SECURITY_STATUS_NOT_SATISFIED, `${name} needs a session opened with the ${type === 'credit' ? 'load' : 'purchase'} key`);
    }
    requireRoom(s, f);
    let after: number;
    if (type === 'debit') {
      const threshold = readU32(f.purse, PURSE_EF.PIN_THRESHOLD);
      if (threshold !== NO_PIN_THRESHOLD && s.debitTotal + amount > threshold && !holderPinVerified(ctx, f)) {
        throw new StatusWordError(SW.SECURITY_STATUS_NOT_SATISFIED, 'DEBIT above the PIN threshold needs the holder PIN verified');
      }
      if (amount > s.balance) throw new StatusWordError(SW.NOT_ENOUGH_MEMORY, 'DEBIT: not enough value');
      after = s.balance - amount;
      s.debitTotal += amount;
    } else {
      if (amount > readU32(f.purse, PURSE_EF.MAXIMUM) - s.balance) throw new StatusWordError(SW.NOT_ENOUGH_MEMORY, 'CREDIT: would exceed the maximum');
      after = s.balance + amount;
    }
    s.balance = after;
    s.ops.push({ type, contract: 0, amount, after });
    return u32(after);
  };

  const useTrip = (cmd: CommandApdu, ctx: CommandContext): Uint8Array => {
    if (cmd.p1 === 0x00 || cmd.p1 === 0xff || cmd.p2 !== 0x00) throw new StatusWordError(SW.INCORRECT_P1P2, 'USE TRIP: P1 = contract record 01..FE, P2 = 00');
    requireLength(cmd, 2, 'USE TRIP');
    const trips = cmd.data[0]!;
    const zone = cmd.data[1]!;
    if (trips === 0) throw new StatusWordError(SW.INCORRECT_DATA, 'USE TRIP: trips must be 1..255');
    if (zone < 1 || zone > 16) throw new StatusWordError(SW.INCORRECT_DATA, 'USE TRIP: zone must be 1..16');
    const f = files(ctx);
    const s = requireSession(ctx, f);
    if (s.keyIndex !== PURSE_KEY.PURCHASE) throw new StatusWordError(SW.SECURITY_STATUS_NOT_SATISFIED, 'USE TRIP needs a session opened with the purchase key');
    requireRoom(s, f);
    const record = f.contracts.records[cmd.p1 - 1];
    if (record === undefined) throw new StatusWordError(SW.RECORD_NOT_FOUND, `no contract ${cmd.p1}`);
    const from = readUintBE(record, CONTRACT_RECORD.VALID_FROM, 2);
    const until = readUintBE(record, CONTRACT_RECORD.VALID_UNTIL, 2);
    if (s.date < from || s.date > until) throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, `contract ${cmd.p1} not valid on that day`);
    if ((readUintBE(record, CONTRACT_RECORD.ZONES, 2) & (1 << (zone - 1))) === 0) {
      throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, `contract ${cmd.p1} not valid in zone ${zone}`);
    }
    const left = s.trips.get(cmd.p1) ?? readUintBE(record, CONTRACT_RECORD.TRIPS, 2);
    if (trips > left) throw new StatusWordError(SW.NOT_ENOUGH_MEMORY, `contract ${cmd.p1}: ${left} trips left`);
    s.trips.set(cmd.p1, left - trips);
    s.ops.push({ type: 'trip', contract: cmd.p1, amount: trips, after: left - trips });
    return u16(left - trips);
  };

  /** CLOSE SESSION (8 bytes: the terminal MAC) or ABORT (no data). */
  const close = (cmd: CommandApdu, ctx: CommandContext): Uint8Array | void => {
    if (cmd.cla.kind !== 'proprietary') throw new StatusWordError(SW.CLA_NOT_SUPPORTED);
    requireP1P2(cmd, 0, 0);
    if (cmd.data.length === 0) {
      // ABORT (Calypso: CLOSE SECURE SESSION without data). Always allowed, even without a session.
      end(ctx.channel);
      return;
    }
    requireLength(cmd, PURSE_LENGTHS.MAC, 'CLOSE SESSION');
    const f = files(ctx);
    const s = requireSession(ctx, f);
    if (!s.crypto.verifyTerminalMac(cmd.data)) {
      end(ctx.channel);
      throw new StatusWordError(SW.SM_DO_INCORRECT, 'CLOSE SESSION: terminal MAC does not verify; session discarded');
    }
    commitSession(ctx, f, s);
    const response = concatBytes(u32(s.balance), s.crypto.cardMac(cmd.data, s.balance));
    end(ctx.channel);
    return response;
  };

  return {
    install: (ctx) => installPurse(ctx, params),
    // Selecting another application ends the session on that channel (its changes are dropped).
    deselect: (ctx) => end(ctx.channel),
    commands: defineInsTable(
      [PURSE_INS.OPEN_SESSION, command('OPEN SESSION', open)],
      [PURSE_INS.READ_BALANCE, command('READ BALANCE', readBalance)],
      [PURSE_INS.CREDIT, command('CREDIT', value('credit'))],
      [PURSE_INS.DEBIT, command('DEBIT', value('debit'))],
      [PURSE_INS.USE_TRIP, command('USE TRIP', useTrip)],
      [PURSE_INS.CLOSE_SESSION, { name: 'CLOSE SESSION', run: close }],
    ),
  };
}

/**
 * Writes a session's changes — balance, contracts, log records, log sequence — through the
 * journal and commits them as one: a power cut at any of these writes rolls all of them back.
 */
function commitSession(ctx: CommandContext, f: PurseFiles, s: Session): void {
  const nv = ctx.nv;
  if (readU32(f.purse, PURSE_EF.BALANCE) !== s.balance) nv.writeBytes(f.purse.data, PURSE_EF.BALANCE, u32(s.balance));
  for (const [n, left] of s.trips) nv.writeBytes(f.contracts.records[n - 1]!, CONTRACT_RECORD.TRIPS, u16(left));
  let seq = readU32(f.purse, PURSE_EF.LOG_SEQUENCE);
  for (const op of s.ops) {
    seq++;
    appendRecord(
      nv,
      f.log,
      encodeLogRecord({
        ...op,
        sequence: seq,
        transactionCounter: s.tc,
        terminalId: s.terminalId,
        dateStamp: s.date,
        timeStamp: s.time,
      }),
    );
  }
  if (s.ops.length > 0) nv.writeBytes(f.purse.data, PURSE_EF.LOG_SEQUENCE, u32(seq));
  nv.commit();
}

/** Creates the purse's files, PIN and keys from the install parameters (see `params.ts`). */
function installPurse(ctx: InstallContext, params: Uint8Array): void {
  const spec = resolvePurseSpec(decodePurseInstallParams(params));
  const p = new Uint8Array(PURSE_EF.SIZE);
  p.set(u32(spec.initialBalance), PURSE_EF.BALANCE);
  p.set(u32(spec.maximum), PURSE_EF.MAXIMUM);
  p.set(encodeCurrency(spec.currency), PURSE_EF.CURRENCY);
  p[PURSE_EF.EXPONENT] = spec.exponent;
  p.set(u32(spec.pinThreshold ?? NO_PIN_THRESHOLD), PURSE_EF.PIN_THRESHOLD);
  p[PURSE_EF.MAX_SESSION_OPS] = spec.maxSessionOps;
  p[PURSE_EF.KEY_VERSION] = spec.keyVersion;
  const { PURSE, LOG, CONTRACTS } = PURSE_FILES;
  attach(ctx.nv, ctx.df, newTransparentEf(PURSE.fid, PURSE_EF.SIZE, { sfi: PURSE.sfi, rules: READ_ONLY, data: p }));
  attach(ctx.nv, ctx.df, newRecordEf(LOG.fid, 'cyclic', LOG_RECORD.SIZE, spec.logSize, { sfi: LOG.sfi, rules: READ_ONLY }));
  attach(
    ctx.nv,
    ctx.df,
    newRecordEf(CONTRACTS.fid, 'linear-fixed', CONTRACT_RECORD.SIZE, Math.max(1, spec.contracts.length), {
      sfi: CONTRACTS.sfi,
      rules: READ_ONLY,
      records: spec.contracts.map((c, i) => encodeContractRecord(c, `contracts[${i}]`)),
    }),
  );
  if (spec.pin !== undefined) {
    const pin = newPin({ ref: PURSE_PIN_REF, value: spec.pin.value, label: 'purse PIN', minLength: 4, maxLength: 12, maxTries: spec.pin.maxTries });
    ctx.nv.splice(ctx.df.pins, ctx.df.pins.length, 0, pin);
  }
  const store = ctx.record.store;
  if (spec.loadKey) ctx.nv.splice(store, store.length, 0, { key: KEY_SLOT[PURSE_KEY.LOAD]!, value: spec.loadKey.slice() });
  if (spec.purchaseKey) ctx.nv.splice(store, store.length, 0, { key: KEY_SLOT[PURSE_KEY.PURCHASE]!, value: spec.purchaseKey.slice() });
  // The record keeps its parameters for ever (the image stores them); keep them without secrets.
  ctx.nv.set(ctx.record, 'params', redactPurseInstallParams(params));
}

/**
 * The purse applet type. Register it with the card and install it with parameters from
 * {@link purseInstallParams}.
 *
 * @example
 * const card = createCard({ applets: [PURSE_APPLET] });
 * card.install(PURSE_AID, 'purse', purseInstallParams({ currency: 978, maximum: 50_000, purchaseKey }));
 */
export const PURSE_APPLET: AppletFactory = Object.freeze({
  type: PURSE_APPLET_TYPE,
  create: (params: Uint8Array): Applet => createPurseApplet(params),
});
