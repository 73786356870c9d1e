/**
 * The batch journal: what happened to each holder and each card, exact after a crash or a card
 * pulled mid-write. An append-only JSON Lines file, one event a line, each written and fsync'd
 * before the card sees the step it announces — so the last event of a holder always says how far
 * its card got. It is also the audit log: events name holders, cards (chip serials), readers,
 * steps and status words, never a PIN, key or holder datum.
 *
 *     {"t":"2025-01-01T10:00:00.000Z","ev":"writing","i":17,"id":"29963400017","serial":"…","reader":"sim-0","step":"identity/DG2","n":4,"of":21}
 *
 * | ev | meaning |
 * |---|---|
 * | `run` | a run started: profile, data file, readers, how many holders were already settled |
 * | `writing` | step `n` of `of` (`step`) is about to be sent to card `serial` for holder `i` |
 * | `verified` | every step passed and was read back; the card is `serial`, personalized in `ms` |
 * | `failed` | the holder was stopped at `step` for `reason` (`sw`); `spoiled`: card `serial` may hold part of it |
 * | `interrupted` | at the start of a run: holder `i` was `writing` when the last run died; its card `serial` is spoiled (or complete when `step` was the activation: `uncertain`) |
 * | `requeued` | the operator asked to retry a failed holder (`--retry-failed`) on a new card |
 *
 * A holder's state is its last event (none: queued). States are kept as one byte per holder (plus
 * a 32-bit hash of the id to notice a changed input), so 100,000 holders cost some 500 KB.
 *
 * `chipwright batch` journals in SQLite by default (`journal-sqlite.ts`, same {@link Journal}
 * interface, with this event format as its JSON Lines audit log); this file journal is kept for
 * `--journal-format jsonl`.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';

export const HOLDER_STATES = ['queued', 'writing', 'verified', 'failed'] as const;
export type HolderState = (typeof HOLDER_STATES)[number];

export type JournalEvent =
  | { readonly ev: 'run'; readonly profile: string; readonly data: string; readonly readers: readonly string[]; readonly settled: number }
  | { readonly ev: 'writing'; readonly i: number; readonly id: string; readonly serial: string; readonly reader: string; readonly step: string; readonly n: number; readonly of: number }
  | { readonly ev: 'verified'; readonly i: number; readonly id: string; readonly serial: string; readonly reader: string; readonly ms: number; readonly apdus: number }
  | {
      readonly ev: 'failed';
      readonly i: number;
      readonly id: string;
      readonly reason: string;
      readonly step?: string;
      readonly sw?: string;
      readonly serial?: string;
      readonly reader?: string;
      readonly spoiled: boolean;
    }
  | { readonly ev: 'interrupted'; readonly i: number; readonly id: string; readonly serial: string; readonly step: string; readonly uncertain: boolean }
  | { readonly ev: 'requeued'; readonly i: number; readonly id: string };

export type TimedEvent = JournalEvent & { readonly t: string };

/** A holder the last run left mid-write. */
export interface Interrupted {
  readonly i: number;
  readonly id: string;
  readonly serial: string;
  readonly step: string;
}

export interface Journal {
  state(i: number): HolderState;
  /** Appends and syncs one event. */
  record(e: JournalEvent): void;
  /** Holders in `writing` when the journal was opened (the last run died). */
  readonly interrupted: readonly Interrupted[];
  /** Holder ids by index as journaled: a different id at an index means the input changed. */
  idMatches(i: number, id: string): boolean;
  counts(): Record<HolderState, number>;
  close(): void;
}

function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h || 1;
}

const CODE: Readonly<Record<HolderState, number>> = { queued: 0, writing: 1, verified: 2, failed: 3 };

/** The journal file at `path` (created if absent), replayed. */
export class FileJournal implements Journal {
  #fd: number;
  #states = new Uint8Array(1024);
  #ids = new Uint32Array(1024);
  #last = new Map<number, Interrupted>();
  readonly interrupted: Interrupted[];

  constructor(readonly path: string) {
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8');
      let line = 0;
      for (const raw of text.split('\n')) {
        line++;
        if (raw.trim() === '') continue;
        let e: TimedEvent;
        try {
          e = JSON.parse(raw) as TimedEvent;
        } catch {
          // A line torn by a crash can only be the last one: the write before it was synced.
          if (line >= text.split('\n').length - 1) continue;
          throw new Error(`journal ${path}:${line}: not JSON; the journal is damaged`);
        }
        this.#apply(e);
      }
    }
    this.interrupted = [...this.#last.values()];
    this.#fd = openSync(path, 'a');
  }

  #grow(i: number): void {
    if (i < this.#states.length) return;
    let n = this.#states.length;
    while (n <= i) n *= 2;
    const s = new Uint8Array(n);
    s.set(this.#states);
    this.#states = s;
    const d = new Uint32Array(n);
    d.set(this.#ids);
    this.#ids = d;
  }

  #apply(e: JournalEvent): void {
    if (e.ev === 'run') return;
    this.#grow(e.i);
    this.#ids[e.i] = hash32(e.id);
    switch (e.ev) {
      case 'writing':
        this.#states[e.i] = CODE.writing;
        this.#last.set(e.i, { i: e.i, id: e.id, serial: e.serial, step: e.step });
        return;
      case 'verified':
        this.#states[e.i] = CODE.verified;
        this.#last.delete(e.i);
        return;
      case 'failed':
      case 'interrupted':
        this.#states[e.i] = CODE.failed;
        this.#last.delete(e.i);
        return;
      case 'requeued':
        this.#states[e.i] = CODE.queued;
        return;
    }
  }

  state(i: number): HolderState {
    return i < this.#states.length ? HOLDER_STATES[this.#states[i]!]! : 'queued';
  }

  idMatches(i: number, id: string): boolean {
    return i >= this.#ids.length || this.#ids[i] === 0 || this.#ids[i] === hash32(id);
  }

  record(e: JournalEvent): void {
    writeSync(this.#fd, `${JSON.stringify({ t: new Date().toISOString(), ...e })}\n`);
    fsyncSync(this.#fd);
    this.#apply(e);
  }

  counts(): Record<HolderState, number> {
    const out: Record<HolderState, number> = { queued: 0, writing: 0, verified: 0, failed: 0 };
    for (let i = 0; i < this.#states.length; i++) if (this.#ids[i] !== 0) out[HOLDER_STATES[this.#states[i]!]!]++;
    return out;
  }

  close(): void {
    closeSync(this.#fd);
  }
}

/** Every event of a journal file (for reports and tests). */
export function readJournal(path: string): TimedEvent[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as TimedEvent];
      } catch {
        return [];
      }
    });
}
