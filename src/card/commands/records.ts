/**
 * Commands on record EFs (ISO/IEC 7816-4:2013 §11.3): READ RECORD(S) `B2`, UPDATE RECORD `DC`,
 * APPEND RECORD `E2` and SEARCH RECORD `A2` (simple search), even INS only.
 *
 * Every handler checks in the same order, from what the terminal got wrong to what the card
 * holds: P1-P2 (6A86, or 6A81 for a defined function chipwright does not offer) → the file
 * (6A82 unknown SFI, 6986 no current EF) → its structure (6981) → Nc against the structure (6700)
 * → [the OS: life cycle 6985, access rule 6982] → the records themselves (6A83, 6A84, 6CXX). The
 * first four depend only on the command and on what the FCP already discloses, so they are
 * answered before the access rule; anything that depends on the contents (how many records
 * exist, how long they are) is answered only to a terminal allowed to know it.
 *
 * Record numbering (ISO/IEC 7816-4 §11.3, general): `records[0]` is record 1. In a cyclic EF
 * record 1 is the newest and the last record the oldest. The record pointer lives on the channel
 * (`channel.record`, 0 = undefined); it belongs to the current EF and is reset when another EF
 * becomes current.
 *
 * All non-volatile changes go through {@link NvMemory} so a torn or failed command leaves the
 * records as they were.
 */
import { SW, StatusWordError } from '../../apdu/status.js';
import type { CommandApdu } from '../../apdu/command.js';
import { INS } from '../../apdu/ins.js';
import { concatBytes, indexOfBytes } from '../../bytes/index.js';
import type { CommandContext } from '../context.js';
import { defineInsTable, type AccessTarget, type InsTable } from '../dispatch.js';
import type { ElementaryFile, FileNode, RecordEf } from '../fs/file.js';
import { efBySfi } from '../fs/tree.js';
import type { NvMemory } from '../nv.js';

// --- addressing ---------------------------------------------------------------------------------

/** The four record-pointer moves of P2 b3–b1 = 000…011 with P1 = 00 (ISO/IEC 7816-4 §11.3.3). */
type PointerMove = 'first' | 'last' | 'next' | 'previous';

/** One record: by number (P1, 00 = the current record) or by a record-pointer move. */
type OneRecord = { readonly kind: 'number'; readonly p1: number } | { readonly kind: PointerMove };

const MOVES: readonly PointerMove[] = ['first', 'last', 'next', 'previous'];

/** 11111 in P2 b8–b4 is RFU (ISO/IEC 7816-4 §11.3, general: SFI in P2); 00000 is the current EF. */
function decodeSfi(p2: number): number {
  const sfi = p2 >>> 3;
  if (sfi === 0x1f) throw new StatusWordError(SW.INCORRECT_P1P2, 'SFI 11111 is RFU');
  return sfi;
}

/** P1 = FF is RFU for record numbers (ISO/IEC 7816-4 §11.3, general: record numbers are 01–FE). */
function checkP1(p1: number): void {
  if (p1 === 0xff) throw new StatusWordError(SW.INCORRECT_P1P2, 'record number FF is RFU');
}

/**
 * P2 b3–b1 = 000…011 and 100 shared by READ RECORD and UPDATE RECORD (ISO/IEC 7816-4 §11.3.3,
 * §11.3.5). With P1 ≠ 00, 0xx addresses records by *record identifier* — defined by ISO but not
 * offered here (our records carry no identifiers), hence 6A81 rather than 6A86.
 */
function decodeOne(p1: number, low: number): OneRecord {
  if (low === 0b100) return { kind: 'number', p1 };
  if (p1 !== 0) {
    throw new StatusWordError(SW.FUNCTION_NOT_SUPPORTED, 'addressing by record identifier is not supported');
  }
  return { kind: MOVES[low]! };
}

/**
 * The record EF a command names: the EF with short identifier `sfi` in the current DF
 * (ISO/IEC 7816-4 §7.2.2), or the current EF when `sfi` is 0. Side-effect free, so it can run in
 * `access`; the EF becomes current only in `run`, once the command has succeeded.
 */
function recordEf(ctx: CommandContext, sfi: number): RecordEf {
  let ef: ElementaryFile | undefined;
  if (sfi === 0) {
    ef = ctx.currentEf();
  } else {
    ef = efBySfi(ctx.channel.df, sfi);
    if (ef === undefined) throw new StatusWordError(SW.FILE_NOT_FOUND, `no EF with SFI ${sfi}`);
  }
  if (ef.structure === 'transparent') {
    throw new StatusWordError(SW.COMMAND_INCOMPATIBLE_WITH_FILE, 'not a record EF');
  }
  return ef;
}

/** The target resolved by `access`, narrowed again in `run` (a mismatch is an OS bug → 6F00). */
function asRecordEf(f: FileNode | undefined): RecordEf {
  if (f === undefined || f.kind !== 'EF' || f.structure === 'transparent') {
    throw new Error('record command ran without its record EF target');
  }
  return f;
}

/** The record pointer for `ef`: the channel's, when `ef` is the current EF; otherwise undefined. */
function pointerIn(ctx: CommandContext, ef: RecordEf): number {
  return ctx.channel.ef === ef ? ctx.channel.record : 0;
}

/**
 * The record number `a` names, or 6A83. Pointer moves follow ISO/IEC 7816-4 §11.3 and the record
 * pointer management of its annex: with the pointer undefined, next is the first record and
 * previous the last. At the end of a linear EF there is no next (6A83); a cyclic EF is a ring, so
 * next after the last is the first and previous before the first is the last (as ETSI TS 102 221
 * §11.1.5.1 spells out for cyclic files).
 */
function resolveOne(ef: RecordEf, a: OneRecord, cp: number): number {
  const count = ef.records.length;
  const cyclic = ef.structure === 'cyclic';
  let n: number;
  switch (a.kind) {
    case 'number':
      n = a.p1 === 0 ? cp : a.p1;
      break;
    case 'first':
      n = 1;
      break;
    case 'last':
      n = count;
      break;
    case 'next':
      n = cp === 0 ? 1 : cp < count ? cp + 1 : cyclic ? 1 : 0;
      break;
    case 'previous':
      n = cp === 0 ? count : cp > 1 ? Math.min(cp - 1, count) : cyclic ? count : 0;
      break;
  }
  if (n < 1 || n > count) throw new StatusWordError(SW.RECORD_NOT_FOUND, `record ${n} of ${count}`);
  return n;
}

/**
 * Records the successful command's effect on the channel (ISO/IEC 7816-4 §11.3, general): an EF
 * named by SFI becomes current (which resets the record pointer when it was not), then the
 * pointer moves to `record` if the command set one.
 */
function settle(ctx: CommandContext, ef: RecordEf, record?: number): void {
  if (ctx.channel.ef !== ef) ctx.setCurrentEf(ef);
  if (record !== undefined) ctx.channel.record = record;
}

/**
 * 6700 unless `nc` fits the structure (ISO/IEC 7816-4 §7.1, EF structures): exactly the record size for
 * linear fixed and cyclic EFs, 1 to the maximum for linear variable ones.
 */
function checkRecordLength(ef: RecordEf, nc: number): void {
  const ok = ef.structure === 'linear-variable' ? nc >= 1 && nc <= ef.recordSize : nc === ef.recordSize;
  if (!ok) {
    const want = ef.structure === 'linear-variable' ? `1..${ef.recordSize}` : `${ef.recordSize}`;
    throw new StatusWordError(SW.WRONG_LENGTH, `record of ${nc} bytes, ${ef.structure} EF takes ${want}`);
  }
}

/** 6CXX: SW2 is the exact length to ask for (ISO/IEC 7816-4 §5.6; 00 when above 255). */
function wrongLe(available: number): StatusWordError {
  return new StatusWordError(SW.WRONG_LE | (available > 255 ? 0 : available), `Le must be ${available}`);
}

/**
 * True when the terminal gave an explicit short Le (not 00): such an Le must match the data
 * exactly, the "wrong Le" rule of ISO/IEC 7816-4 §5.6 (6CXX). Le 00 / 0000 asks for "up to the
 * maximum"; an absent Le leaves the data to GET RESPONSE (61XX, handled by the OS); an extended Le
 * is an upper bound like any Ne.
 */
function explicitShortLe(cmd: CommandApdu): boolean {
  return !cmd.extended && cmd.ne !== 0 && cmd.ne !== 256;
}

// --- non-volatile writes (also for personalization) ---------------------------------------------

/**
 * Overwrites record `n` (1-based) of `ef` through the journal (ISO/IEC 7816-4 §11.3.5: the whole
 * record is replaced). Same-length records are rewritten in place, so a torn write leaves a
 * half-written record for power-up recovery to roll back; a linear variable record of another
 * length is replaced by a new one.
 *
 * @example updateRecord(card.nv, ef, 2, hexToBytes('0102')); card.nv.commit();
 */
export function updateRecord(nv: NvMemory, ef: RecordEf, n: number, data: Uint8Array): void {
  checkRecordLength(ef, data.length);
  const old = ef.records[n - 1];
  if (old === undefined) throw new StatusWordError(SW.RECORD_NOT_FOUND, `record ${n} of ${ef.records.length}`);
  if (old.length === data.length) nv.writeBytes(old, 0, data);
  else nv.set(ef.records, n - 1, data.slice());
}

/**
 * Appends a record through the journal and returns its record number (ISO/IEC 7816-4 §11.3.6):
 * in a linear EF it becomes the last record (6A84 when the EF holds `maxRecords`); in a cyclic EF
 * it becomes record 1 and, when the EF is full, the oldest record (the last) is dropped first.
 *
 * @example const n = appendRecord(card.nv, ef, hexToBytes('A1A2')); card.nv.commit();
 */
export function appendRecord(nv: NvMemory, ef: RecordEf, data: Uint8Array): number {
  checkRecordLength(ef, data.length);
  const records = ef.records;
  if (ef.structure === 'cyclic') {
    if (ef.maxRecords < 1) throw new StatusWordError(SW.NOT_ENOUGH_MEMORY, 'cyclic EF of 0 records');
    if (records.length >= ef.maxRecords) nv.splice(records, ef.maxRecords - 1, records.length - ef.maxRecords + 1);
    nv.splice(records, 0, 0, data.slice());
    return 1;
  }
  if (records.length >= ef.maxRecords) {
    throw new StatusWordError(SW.NOT_ENOUGH_MEMORY, `EF full (${ef.maxRecords} records)`);
  }
  nv.splice(records, records.length, 0, data.slice());
  return records.length;
}

// --- READ RECORD(S) -----------------------------------------------------------------------------

type ReadMode =
  | { readonly kind: 'one'; readonly record: OneRecord }
  /** 101: from P1 up to the last; 110: from the last down to P1 (P1 00 = the current record). */
  | { readonly kind: 'from-p1' | 'from-last'; readonly p1: number };

/** P2 b3–b1 of READ RECORD(S) (ISO/IEC 7816-4 §11.3.3): 000–100 one record, 101/110 several, 111 RFU. */
function decodeRead(cmd: CommandApdu): ReadMode {
  checkP1(cmd.p1);
  const low = cmd.p2 & 0x07;
  if (low === 0b111) throw new StatusWordError(SW.INCORRECT_P1P2, 'P2 b3-b1 111 is RFU');
  if (low === 0b101) return { kind: 'from-p1', p1: cmd.p1 };
  if (low === 0b110) return { kind: 'from-last', p1: cmd.p1 };
  return { kind: 'one', record: decodeOne(cmd.p1, low) };
}

/**
 * READ RECORD(S) `B2` (ISO/IEC 7816-4 §11.3.3). One record: returned whole; an explicit short Le
 * other than its length is answered 6CXX with the length, so the terminal can re-send (the
 * T=0-friendly "wrong Le" rule). The record read becomes the current record — a deliberate
 * simplification of the informative record-pointer annex, which leaves the pointer alone for an
 * absolute P1: here every command that addresses exactly one record makes it current, so
 * "read 3, then read next" reads 4.
 *
 * Several records (101, 110): as many *complete* records as fit in Ne, concatenated — never a cut
 * record (Le absent: all of them, fetched with GET RESPONSE). When not even the first fits an
 * explicit short Le, 6CXX gives that record's length. Which record is "current" after a range is
 * not meaningful, so the pointer is left as it was (as the annex has it).
 *
 * With an SFI, the EF becomes current once the read succeeded (§11.3, general).
 */
function runRead(cmd: CommandApdu, ctx: CommandContext, target: FileNode | undefined): Uint8Array {
  const mode = decodeRead(cmd);
  const ef = asRecordEf(target);
  const cp = pointerIn(ctx, ef);
  if (mode.kind === 'one') {
    const n = resolveOne(ef, mode.record, cp);
    const rec = ef.records[n - 1]!;
    if (explicitShortLe(cmd) && cmd.ne !== rec.length) throw wrongLe(rec.length);
    settle(ctx, ef, n);
    return rec.slice();
  }
  const count = ef.records.length;
  const start = mode.p1 === 0 ? cp : mode.p1;
  if (start < 1 || start > count) throw new StatusWordError(SW.RECORD_NOT_FOUND, `record ${start} of ${count}`);
  const order: number[] = [];
  if (mode.kind === 'from-p1') for (let n = start; n <= count; n++) order.push(n);
  else for (let n = count; n >= start; n--) order.push(n);

  const limit = cmd.ne === 0 ? Infinity : cmd.ne;
  const out: Uint8Array[] = [];
  let total = 0;
  for (const n of order) {
    const rec = ef.records[n - 1]!;
    if (total + rec.length > limit) break;
    out.push(rec);
    total += rec.length;
  }
  if (out.length === 0) {
    const first = ef.records[order[0]! - 1]!;
    // Only a very long record can miss Le 00 / an extended Le: send it and let GET RESPONSE
    // deliver the rest rather than refuse a read the terminal cannot ask for differently.
    if (explicitShortLe(cmd)) throw wrongLe(first.length);
    out.push(first);
  }
  settle(ctx, ef);
  return concatBytes(...out);
}

// --- UPDATE RECORD ------------------------------------------------------------------------------

/** P2 b3–b1 of UPDATE RECORD (ISO/IEC 7816-4 §11.3.5): 000–100; 101–111 RFU. */
function decodeUpdate(cmd: CommandApdu): OneRecord {
  checkP1(cmd.p1);
  const low = cmd.p2 & 0x07;
  if (low > 0b100) throw new StatusWordError(SW.INCORRECT_P1P2, `P2 b3-b1 ${low.toString(2)} is RFU`);
  return decodeOne(cmd.p1, low);
}

// --- APPEND RECORD ------------------------------------------------------------------------------

/** ISO/IEC 7816-4 §11.3.6: P1 = 00 (any other value is invalid), P2 b3–b1 = 000 (others RFU). */
function checkAppendP1P2(cmd: CommandApdu): void {
  if (cmd.p1 !== 0) throw new StatusWordError(SW.INCORRECT_P1P2, 'APPEND RECORD needs P1 = 00');
  if ((cmd.p2 & 0x07) !== 0) throw new StatusWordError(SW.INCORRECT_P1P2, 'APPEND RECORD needs P2 b3-b1 = 000');
}

// --- SEARCH RECORD ------------------------------------------------------------------------------

/**
 * P2 b3–b1 of SEARCH RECORD (ISO/IEC 7816-4 §11.3.7): 100 simple search from P1 towards the last
 * record, 101 from P1 towards the first. 110 (enhanced) and 111 (proprietary) are defined but not
 * offered here (6A81); 0xx is RFU for a simple search (6A86).
 */
function decodeSearch(cmd: CommandApdu): 'forward' | 'backward' {
  checkP1(cmd.p1);
  const low = cmd.p2 & 0x07;
  if (low === 0b100) return 'forward';
  if (low === 0b101) return 'backward';
  if (low === 0b110 || low === 0b111) {
    throw new StatusWordError(SW.FUNCTION_NOT_SUPPORTED, 'only the simple search is supported');
  }
  throw new StatusWordError(SW.INCORRECT_P1P2, `P2 b3-b1 ${low.toString(2).padStart(3, '0')} is RFU`);
}

/**
 * SEARCH RECORD `A2`, simple search (ISO/IEC 7816-4 §11.3.7). The search string is looked for in
 * each record, starting from its first byte (a simple search has no offset); the records are
 * visited from P1 (00: the current record) towards the last (100) or the first (101). The response
 * is the numbers of the matching records, one byte each, in the order visited; when none matches
 * the command still completes: 9000 without data, as ISO words it ("absent ... because no match
 * is found", said of SEARCH BINARY in §11.2) and as ETSI TS 102 221 §11.1.7 implements it.
 *
 * The record pointer moves to the first match and is left alone when nothing matched (the
 * ETSI TS 102 221 rule; ISO leaves it open). Access is checked as a read: a search discloses
 * record contents one bit at a time.
 */
function runSearch(cmd: CommandApdu, ctx: CommandContext, target: FileNode | undefined): Uint8Array {
  const direction = decodeSearch(cmd);
  const ef = asRecordEf(target);
  const count = ef.records.length;
  const start = cmd.p1 === 0 ? pointerIn(ctx, ef) : cmd.p1;
  if (start < 1 || start > count) throw new StatusWordError(SW.RECORD_NOT_FOUND, `record ${start} of ${count}`);
  const step = direction === 'forward' ? 1 : -1;
  const found: number[] = [];
  for (let n = start; n >= 1 && n <= count; n += step) {
    if (indexOfBytes(ef.records[n - 1]!, cmd.data) >= 0) found.push(n);
  }
  settle(ctx, ef, found[0]);
  return Uint8Array.from(found);
}

// --- the table ----------------------------------------------------------------------------------

/** Record commands of the card OS (ISO/IEC 7816-4 §11.3), merged into `OS_COMMANDS`. */
export const RECORD_COMMANDS: InsTable = defineInsTable(
  [
    INS.READ_RECORDS,
    {
      name: 'READ RECORD(S)',
      access(cmd: CommandApdu, ctx: CommandContext): AccessTarget {
        decodeRead(cmd);
        return { file: recordEf(ctx, decodeSfi(cmd.p2)), op: 'read' };
      },
      run: runRead,
    },
  ],
  [
    INS.UPDATE_RECORD,
    {
      name: 'UPDATE RECORD',
      access(cmd: CommandApdu, ctx: CommandContext): AccessTarget {
        decodeUpdate(cmd);
        const ef = recordEf(ctx, decodeSfi(cmd.p2));
        checkRecordLength(ef, cmd.data.length);
        return { file: ef, op: 'update' };
      },
      /** ISO/IEC 7816-4 §11.3.5: replaces the record; it becomes the current record. */
      run(cmd: CommandApdu, ctx: CommandContext, target: FileNode | undefined): void {
        const ef = asRecordEf(target);
        const n = resolveOne(ef, decodeUpdate(cmd), pointerIn(ctx, ef));
        updateRecord(ctx.nv, ef, n, cmd.data);
        settle(ctx, ef, n);
      },
    },
  ],
  [
    INS.APPEND_RECORD,
    {
      name: 'APPEND RECORD',
      access(cmd: CommandApdu, ctx: CommandContext): AccessTarget {
        checkAppendP1P2(cmd);
        const ef = recordEf(ctx, decodeSfi(cmd.p2));
        checkRecordLength(ef, cmd.data.length);
        return { file: ef, op: 'append' };
      },
      /** ISO/IEC 7816-4 §11.3.6: the record pointer is set on the appended record. */
      run(cmd: CommandApdu, ctx: CommandContext, target: FileNode | undefined): void {
        const ef = asRecordEf(target);
        const n = appendRecord(ctx.nv, ef, cmd.data);
        settle(ctx, ef, n);
      },
    },
  ],
  [
    INS.SEARCH_RECORD,
    {
      name: 'SEARCH RECORD',
      access(cmd: CommandApdu, ctx: CommandContext): AccessTarget {
        decodeSearch(cmd);
        const ef = recordEf(ctx, decodeSfi(cmd.p2));
        if (cmd.data.length === 0) throw new StatusWordError(SW.WRONG_LENGTH, 'empty search string');
        return { file: ef, op: 'read' };
      },
      run: runSearch,
    },
  ],
);
