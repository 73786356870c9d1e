/**
 * The batch journal in SQLite (better-sqlite3), behind the same {@link Journal} interface as the
 * JSON Lines {@link FileJournal}: one row per holder ever touched, holding its state, plus the
 * audit log as a JSON Lines file beside it (`<journal>.audit.jsonl` unless named).
 *
 * Durability matches the JSON Lines journal: {@link SqliteJournal.record} returns only once the
 * state is committed (WAL, `synchronous=FULL`: the WAL is fsync'd at each commit) and the audit
 * line is written and fsync'd, so the state is on disk before the card sees the step.
 *
 * The database is the source of truth; the audit file follows it. Each commit also stores the
 * event's audit line (with its sequence number `seq`) in `audit_tail`; the line is appended to the
 * file after the commit. A crash between the two leaves the file one line behind (or with a torn
 * last line): opening the journal cuts the torn line and appends the missing one, so the audit log
 * is exact too.
 *
 * Memory stays flat: states are read per holder through prepared statements, never loaded whole;
 * only the holders left `writing` by a dead run are read at open.
 *
 * | table | columns |
 * |---|---|
 * | `holders` | `i` (position in the data, primary key), `id_hash` (SHA-256 of the holder id, unique), `holder` (the id, as in the audit log), `state`, `step`, `reason`, `sw`, `serial` (unique when set), `reader`, `updated` |
 * | `audit_tail` | one row: `seq`, `line` — the last audit line committed |
 * | `meta` | `schema` version |
 *
 * @example
 * const journal = new SqliteJournal('run.db'); // audit log: run.db.audit.jsonl
 * await runBatch({ ...opts, journal });
 * journal.close();
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import Database from 'better-sqlite3';
import { HOLDER_STATES, type HolderState, type Interrupted, type Journal, type JournalEvent } from './journal.js';

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS holders (
  i       INTEGER PRIMARY KEY,
  id_hash TEXT    NOT NULL UNIQUE,
  holder  TEXT    NOT NULL,
  state   TEXT    NOT NULL CHECK (state IN ('queued', 'writing', 'verified', 'failed')),
  step    TEXT,
  reason  TEXT,
  sw      TEXT,
  serial  TEXT,
  reader  TEXT,
  updated TEXT    NOT NULL
) STRICT;
-- A card holds at most one holder; a holder (id_hash) has one row and so one current card.
CREATE UNIQUE INDEX IF NOT EXISTS holders_serial ON holders (serial) WHERE serial IS NOT NULL;
CREATE INDEX IF NOT EXISTS holders_state ON holders (state);
CREATE TABLE IF NOT EXISTS audit_tail (one INTEGER PRIMARY KEY CHECK (one = 1), seq INTEGER NOT NULL, line TEXT NOT NULL) STRICT;
`;

/** The hash kept per holder: the id itself decides uniqueness, the hash notices a changed input. */
function idHash(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex');
}

interface HolderRow {
  readonly i: number;
  readonly holder: string;
  readonly step: string | null;
  readonly serial: string | null;
}

/** What an event does to its holder's row (undefined: the audit log only). */
interface RowUpdate {
  readonly state: HolderState;
  readonly step: string | null;
  readonly reason: string | null;
  readonly sw: string | null;
  readonly serial: string | null;
  readonly reader: string | null;
}

function rowUpdate(e: JournalEvent, prev: RowUpdate | undefined): RowUpdate | undefined {
  switch (e.ev) {
    case 'run':
      return undefined;
    case 'writing':
      return { state: 'writing', step: e.step, reason: null, sw: null, serial: e.serial, reader: e.reader };
    case 'verified':
      return { state: 'verified', step: null, reason: null, sw: null, serial: e.serial, reader: e.reader };
    case 'failed':
      return { state: 'failed', step: e.step ?? null, reason: e.reason, sw: e.sw ?? null, serial: e.serial ?? null, reader: e.reader ?? prev?.reader ?? null };
    case 'interrupted':
      return {
        state: 'failed',
        step: e.step,
        reason: e.uncertain ? 'interrupted at the activation: the card may be complete, check it' : 'interrupted mid-write: the card is spoiled',
        sw: null,
        serial: e.serial,
        reader: prev?.reader ?? null,
      };
    case 'requeued':
      // The spoiled card stays in the audit log; the holder waits for a new card.
      return { state: 'queued', step: null, reason: null, sw: null, serial: null, reader: null };
  }
}

/** Options of {@link SqliteJournal}. */
export interface SqliteJournalOptions {
  /** The audit log (JSON Lines); default `<path>.audit.jsonl`. */
  readonly audit?: string;
}

/** Reads at most the last `max` bytes of an open file. */
function readTail(fd: number, size: number, max: number): { readonly start: number; readonly text: string } {
  const start = Math.max(0, size - max);
  const buf = Buffer.alloc(size - start);
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, start + got);
    if (n === 0) break;
    got += n;
  }
  return { start, text: buf.subarray(0, got).toString('latin1') };
}

/** The SQLite journal at `path` (created if absent) with its JSON Lines audit log. */
export class SqliteJournal implements Journal {
  readonly auditPath: string;
  readonly interrupted: readonly Interrupted[];
  readonly #db: Database.Database;
  readonly #fd: number;
  /** The audit log's length: where the next line goes. */
  #size = 0;
  #seq: number;
  readonly #get: Database.Statement<[number], { id_hash: string; state: HolderState; reader: string | null }>;
  readonly #upsert: Database.Statement<Record<string, string | number | null>>;
  readonly #tail: Database.Statement<[number, string]>;
  readonly #counts: Database.Statement<[], { state: HolderState; n: number }>;
  readonly #commit: (e: JournalEvent, line: string, seq: number) => void;

  constructor(
    readonly path: string,
    opts: SqliteJournalOptions = {},
  ) {
    this.auditPath = opts.audit ?? `${path}.audit.jsonl`;
    let db: Database.Database;
    try {
      db = new Database(path);
      db.pragma('journal_mode = WAL');
    } catch (e) {
      throw new Error(`journal ${path}: not an SQLite database (${(e as Error).message}); a JSON Lines journal needs --journal-format jsonl`);
    }
    this.#db = db;
    try {
      // FULL: each commit fsyncs the WAL, so a state is durable before the step it announces.
      db.pragma('synchronous = FULL');
      db.exec(SCHEMA);
      const v = db.prepare<[], { value: string }>(`SELECT value FROM meta WHERE key = 'schema'`).get();
      if (v === undefined) db.prepare(`INSERT INTO meta (key, value) VALUES ('schema', ?)`).run(String(SCHEMA_VERSION));
      else if (v.value !== String(SCHEMA_VERSION)) throw new Error(`journal ${path}: schema ${v.value}, this chipwright reads ${SCHEMA_VERSION}`);

      this.#get = db.prepare(`SELECT id_hash, state, reader FROM holders WHERE i = ?`);
      this.#upsert = db.prepare(
        `INSERT INTO holders (i, id_hash, holder, state, step, reason, sw, serial, reader, updated)
         VALUES (@i, @id_hash, @holder, @state, @step, @reason, @sw, @serial, @reader, @updated)
         ON CONFLICT (i) DO UPDATE SET state = excluded.state, step = excluded.step, reason = excluded.reason,
           sw = excluded.sw, serial = excluded.serial, reader = excluded.reader, updated = excluded.updated`,
      );
      this.#tail = db.prepare(`INSERT INTO audit_tail (one, seq, line) VALUES (1, ?, ?) ON CONFLICT (one) DO UPDATE SET seq = excluded.seq, line = excluded.line`);
      this.#counts = db.prepare(`SELECT state, COUNT(*) AS n FROM holders GROUP BY state`);
      this.#commit = db.transaction((e: JournalEvent, line: string, seq: number) => {
        if (e.ev !== 'run') {
          const prev = this.#get.get(e.i);
          const u = rowUpdate(e, prev !== undefined ? { state: prev.state, step: null, reason: null, sw: null, serial: null, reader: prev.reader } : undefined)!;
          this.#upsert.run({ i: e.i, id_hash: idHash(e.id), holder: e.id, ...u, updated: new Date().toISOString() });
        }
        this.#tail.run(seq, line);
      });

      this.interrupted = db
        .prepare<[], HolderRow>(`SELECT i, holder, step, serial FROM holders WHERE state = 'writing' ORDER BY i`)
        .all()
        .map((r) => ({ i: r.i, id: r.holder, serial: r.serial ?? 'unknown', step: r.step ?? 'unknown' }));
      const tail = db.prepare<[], { seq: number; line: string }>(`SELECT seq, line FROM audit_tail WHERE one = 1`).get();
      this.#seq = tail?.seq ?? 0;
      this.#fd = this.#openAudit(tail);
    } catch (e) {
      db.close();
      throw e;
    }
  }

  /**
   * Opens the audit log for appending and brings it level with the database: a torn last line
   * (the process died mid-write) is cut, and the last committed line is appended if missing.
   */
  #openAudit(tail: { seq: number; line: string } | undefined): number {
    const fd = openSync(this.auditPath, existsSync(this.auditPath) ? 'r+' : 'w+', 0o600);
    try {
      let size = fstatSync(fd).size;
      let fileSeq = 0;
      if (size > 0) {
        const { start, text } = readTail(fd, size, 64 * 1024);
        const cut = text.lastIndexOf('\n');
        if (cut !== text.length - 1) {
          // Only the last line can be torn: every line before it was fsync'd before the next.
          size = cut < 0 ? start : start + cut + 1;
          ftruncateSync(fd, size);
          fsyncSync(fd);
        }
        const body = text.slice(0, cut < 0 ? 0 : cut);
        const last = body.slice(body.lastIndexOf('\n') + 1);
        if (last !== '') {
          try {
            fileSeq = (JSON.parse(last) as { seq?: number }).seq ?? 0;
          } catch {
            throw new Error(`audit log ${this.auditPath}: last line is not JSON; the log is damaged`);
          }
        }
      }
      if (fileSeq > this.#seq) throw new Error(`audit log ${this.auditPath} is ahead of journal ${this.path} (line ${fileSeq} > ${this.#seq}): they are not of the same run`);
      if (tail !== undefined && fileSeq < tail.seq) {
        writeSync(fd, `${tail.line}\n`, size);
        fsyncSync(fd);
        size += Buffer.byteLength(`${tail.line}\n`);
      }
      this.#size = size;
      return fd;
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  state(i: number): HolderState {
    return this.#get.get(i)?.state ?? 'queued';
  }

  idMatches(i: number, id: string): boolean {
    const r = this.#get.get(i);
    return r === undefined || r.id_hash === idHash(id);
  }

  /** Commits the event's state, then appends and syncs its audit line. */
  record(e: JournalEvent): void {
    const seq = this.#seq + 1;
    const line = JSON.stringify({ seq, t: new Date().toISOString(), ...e });
    try {
      this.#commit(e, line, seq);
    } catch (err) {
      if (err instanceof Database.SqliteError && err.code === 'SQLITE_CONSTRAINT_UNIQUE' && e.ev !== 'run') {
        throw new Error(
          /serial/.test(err.message)
            ? `journal ${this.path}: card ${'serial' in e ? e.serial : '?'} already holds another holder; holder ${e.id} is not written to it`
            : `journal ${this.path}: holder ${e.id} is already journaled at another position of the data; a holder is written to one card only`,
        );
      }
      throw err;
    }
    this.#seq = seq;
    const bytes = Buffer.from(`${line}\n`, 'utf8');
    writeSync(this.#fd, bytes, 0, bytes.length, this.#size);
    fsyncSync(this.#fd);
    this.#size += bytes.length;
  }

  counts(): Record<HolderState, number> {
    const out: Record<HolderState, number> = { queued: 0, writing: 0, verified: 0, failed: 0 };
    for (const r of this.#counts.all()) if ((HOLDER_STATES as readonly string[]).includes(r.state)) out[r.state] = r.n;
    return out;
  }

  close(): void {
    closeSync(this.#fd);
    this.#db.close();
  }
}
