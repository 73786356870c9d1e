/**
 * Batch personalization: holders streamed from a file, one worker per reader, the next card on
 * insertion, every step journaled before it is sent (`journal.ts`), a PIN mailer line per
 * verified card. Resumable: a run skips holders the journal has settled, reports the cards the
 * last run left mid-write (spoiled) and goes on with the rest.
 *
 * Rules that keep the journal exact and every holder on at most one card:
 * - A holder is taken from the queue only once a card is in the reader; it is journaled `writing`
 *   (with the chip serial) before the first step reaches the card.
 * - A card refused before anything was written (already operational, wrong transport key) gives
 *   its holder back to the queue; the card is reported and taken out.
 * - A failure after the first write fails the holder for good (`failed`, `spoiled: true`, the step
 *   and the reason); the holder is retried only when the operator asks (`retryFailed`), and then on
 *   a new card — the spoiled one is in the journal.
 * - A holder still `writing` when a run starts is `interrupted`: its card is spoiled (or, when the
 *   activation was the step in flight, `uncertain`: check that card).
 *
 * @example
 * const summary = await runBatch({ profile, data: 'holders.csv', journal: new SqliteJournal('run.db'), readers: [simReader('sim-0', profile)], ... });
 */
import { appendFileSync, chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { saveCardImage } from '../card/image.js';
import type { Card } from '../card/os.js';
import { InProcessTransport } from '../transport/in-process.js';
import { NoCardError, NoReaderError, PcscError, PcscReaderMonitor, PcscTransport, SCARD } from '../transport/pcsc.js';
import { CardMuteError, type Transport } from '../transport/types.js';
import type { TransportKey } from '../script/transport-auth.js';
import { parseAtr } from '../atr/index.js';
import { createBlankCard } from './applications.js';
import { PrepareError } from './encoders.js';
import { readHolders, type HolderRecord } from './holders.js';
import type { Journal, Interrupted } from './journal.js';
import type { OperatorKeys } from './operator-keys.js';
import { buildPlan } from './plan.js';
import { pinMailerEntry, prepareCard, type PrepareOptions } from './prepare.js';
import type { Profile } from './profile.js';
import { personalize, PersoError, type PersoResult } from './runner.js';

/** One card from insertion to removal. */
export interface CardSlot {
  readonly transport: Transport;
  readonly atr: Uint8Array;
  /** After the card's run: save it, power it down, wait for its removal. */
  release(outcome: 'verified' | 'failed' | 'refused' | 'unused', serial: string | undefined): Promise<void>;
}

export interface BatchReader {
  readonly name: string;
  /**
   * Waits for the next card; undefined ends this worker. `wanted` says whether a holder is still
   * waiting for a card: a reader stops waiting (undefined) once it says no, so a worker does not
   * wait for a card after the last holder was taken by another reader.
   */
  nextCard(wanted?: () => Promise<boolean>): Promise<CardSlot | undefined>;
  /** Called once when this reader's worker ends: releases what waiting held (a PC/SC context). */
  close?(): Promise<void>;
}

export interface BatchCardResult {
  readonly reader: string;
  readonly index: number;
  readonly holderId: string;
  readonly outcome: 'verified' | 'failed' | 'refused-card' | 'invalid-holder';
  readonly serial?: string;
  readonly ms?: number;
  readonly apdus?: number;
  readonly step?: string;
  readonly reason?: string;
}

export interface BatchOptions {
  readonly profile: Profile;
  readonly data: string;
  readonly journal: Journal;
  readonly readers: readonly BatchReader[];
  readonly prepare: Omit<PrepareOptions, 'holderId'>;
  readonly transportKey: TransportKey;
  readonly apdu: 'auto' | 'extended' | 'short';
  /** PIN mailer output (JSON Lines, mode 0600). */
  readonly mailer?: string;
  /** Requeue holders a previous run failed (on new cards). */
  readonly retryFailed?: boolean;
  /** Stop after this many holders taken (tests, trial runs). */
  readonly limit?: number;
  readonly onResult?: (r: BatchCardResult) => void;
  /** After each step of each card (progress). */
  readonly onStep?: (reader: string, holderId: string, step: number, of: number) => void;
  /**
   * Stops the run between cards (SIGINT/SIGTERM): a card being written is finished and journaled,
   * no new holder or card is taken, the rest stays queued for the next run.
   */
  readonly stop?: AbortSignal;
}

export interface BatchSummary {
  readonly verified: number;
  readonly failed: number;
  /** Holders settled by earlier runs. */
  readonly skipped: number;
  /** Cards left mid-write by the last run (reported, holder failed). */
  readonly interrupted: readonly Interrupted[];
  /** Cards refused before any write (already personalized, wrong key). */
  readonly refusedCards: readonly string[];
  /** The run was stopped ({@link BatchOptions.stop}) with holders still queued. */
  readonly stopped: boolean;
}

/** The holders still to do, shared by the workers; holders handed back go first. */
class HolderQueue {
  readonly #it: AsyncIterator<HolderRecord>;
  readonly #back: HolderRecord[] = [];
  /** A holder read ahead by {@link hasMore}, handed out by the next {@link next}. */
  #ahead: HolderRecord | undefined;
  #taken = 0;
  skipped = 0;
  #busy: Promise<unknown> = Promise.resolve();

  constructor(
    src: AsyncIterable<HolderRecord>,
    private readonly journal: Journal,
    private readonly retryFailed: boolean,
    private readonly limit: number,
  ) {
    this.#it = src[Symbol.asyncIterator]();
  }

  giveBack(r: HolderRecord): void {
    this.#back.push(r);
    this.#taken--;
  }

  /** The next holder to write (serialized: workers ask one at a time). */
  next(): Promise<HolderRecord | undefined> {
    return this.#serial(() => this.#next());
  }

  /**
   * Whether a holder is waiting now (handed back, read ahead, or still in the data file within
   * the limit); reads one holder ahead to know. A holder another worker is writing may still be
   * handed back later: that worker takes it itself on its next card.
   */
  hasMore(): Promise<boolean> {
    return this.#serial(async () => {
      if (this.#taken >= this.limit) return false;
      if (this.#back.length > 0 || this.#ahead !== undefined) return true;
      this.#ahead = await this.#read();
      return this.#ahead !== undefined;
    });
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#busy.then(fn);
    this.#busy = p.catch(() => undefined);
    return p;
  }

  async #next(): Promise<HolderRecord | undefined> {
    if (this.#taken >= this.limit) return undefined;
    const r = this.#back.shift() ?? this.#ahead ?? (await this.#read());
    if (r === this.#ahead) this.#ahead = undefined;
    if (r !== undefined) this.#taken++;
    return r;
  }

  /** The next holder of the data file the journal still has queued (or failed, with retryFailed). */
  async #read(): Promise<HolderRecord | undefined> {
    for (;;) {
      const n = await this.#it.next();
      if (n.done === true) return undefined;
      const r = n.value;
      if (!this.journal.idMatches(r.index, r.id)) {
        throw new Error(`${r.where}: holder ${r.id} is not the holder the journal has at position ${r.index + 1}; the data file changed since the journal was started`);
      }
      const s = this.journal.state(r.index);
      if (s === 'failed' && this.retryFailed) {
        this.journal.record({ ev: 'requeued', i: r.index, id: r.id });
      } else if (s !== 'queued') {
        this.skipped++;
        continue;
      }
      return r;
    }
  }
}

function resolveApdu(mode: BatchOptions['apdu'], atr: Uint8Array): 'extended' | 'short' {
  if (mode !== 'auto') return mode;
  try {
    return parseAtr(atr).capabilities?.extendedLength === true ? 'extended' : 'short';
  } catch {
    return 'short';
  }
}

function appendMailer(path: string, line: object): void {
  if (!existsSync(path)) {
    writeFileSync(path, '', { mode: 0o600 });
    chmodSync(path, 0o600);
  }
  appendFileSync(path, `${JSON.stringify(line)}\n`);
}

/** Runs the batch until the holders or the cards run out. */
export async function runBatch(o: BatchOptions): Promise<BatchSummary> {
  const j = o.journal;
  const interrupted = j.interrupted.map((x) => x);
  for (const x of interrupted) {
    j.record({ ev: 'interrupted', i: x.i, id: x.id, serial: x.serial, step: x.step, uncertain: x.step.endsWith('/activate') });
  }
  const queue = new HolderQueue(readHolders(o.data), j, o.retryFailed === true, o.limit ?? Infinity);
  j.record({ ev: 'run', profile: o.profile.name, data: o.data, readers: o.readers.map((r) => r.name), settled: j.counts().verified + j.counts().failed });
  let verified = 0;
  let failed = 0;
  const refusedCards: string[] = [];

  const worker = async (reader: BatchReader): Promise<void> => {
    for (;;) {
      // Between cards, let the event loop run: simulated cards answer without I/O, and a run of
      // thousands would otherwise hold off signals (stop), output and progress until its end.
      await new Promise((resolve) => setImmediate(resolve));
      const wanted = async (): Promise<boolean> => o.stop?.aborted !== true && (await queue.hasMore());
      if (!(await wanted())) return;
      const slot = await reader.nextCard(wanted);
      if (slot === undefined) return;
      let outcome: 'verified' | 'failed' | 'refused' | 'unused' = 'unused';
      let serial: string | undefined;
      let released = false;
      try {
        for (;;) {
          if (o.stop?.aborted === true) return;
          const h = await queue.next();
          if (h === undefined) return;
          if (h.holder === undefined) {
            j.record({ ev: 'failed', i: h.index, id: h.id, reason: `holder data: ${h.error ?? 'invalid'}`, spoiled: false });
            failed++;
            o.onResult?.({ reader: reader.name, index: h.index, holderId: h.id, outcome: 'invalid-holder', reason: h.error ?? 'invalid' });
            continue;
          }
          let plan;
          try {
            plan = buildPlan(prepareCard(o.profile, h.holder, { ...o.prepare, holderId: h.id }), { apdu: resolveApdu(o.apdu, slot.atr) });
          } catch (e) {
            if (!(e instanceof PrepareError)) throw e;
            j.record({ ev: 'failed', i: h.index, id: h.id, reason: `data preparation: ${e.where}: ${e.problem}`, spoiled: false });
            failed++;
            o.onResult?.({ reader: reader.name, index: h.index, holderId: h.id, outcome: 'invalid-holder', reason: e.message });
            continue;
          }
          let r: PersoResult;
          try {
            r = await personalize(slot.transport, plan, {
              transportKey: o.transportKey,
              atr: slot.atr,
              onSerial: (s) => {
                serial = s;
              },
              onStepStart: (step, n, s) => {
                j.record({ ev: 'writing', i: h.index, id: h.id, serial: s, reader: reader.name, step: step.id, n: n + 1, of: plan.steps.length });
              },
              onStep: (p) => o.onStep?.(reader.name, h.id, p.index + 1, p.total),
            });
          } catch (e) {
            if (!(e instanceof PersoError)) throw e;
            if (!e.written) {
              // Nothing reached the card: the holder waits for the next one; this card is out.
              queue.giveBack(h);
              refusedCards.push(e.serial ?? 'unknown');
              outcome = 'refused';
              o.onResult?.({ reader: reader.name, index: h.index, holderId: h.id, outcome: 'refused-card', serial: e.serial ?? 'unknown', reason: e.message });
              break;
            }
            j.record({
              ev: 'failed',
              i: h.index,
              id: h.id,
              reason: `${e.reason}: ${e.message}`,
              ...(e.step !== undefined ? { step: e.step } : {}),
              ...(e.sw !== undefined ? { sw: e.sw.toString(16).toUpperCase().padStart(4, '0') } : {}),
              ...(e.serial !== undefined ? { serial: e.serial } : {}),
              reader: reader.name,
              spoiled: true,
            });
            failed++;
            outcome = 'failed';
            o.onResult?.({ reader: reader.name, index: h.index, holderId: h.id, outcome: 'failed', ...(e.serial !== undefined ? { serial: e.serial } : {}), ...(e.step !== undefined ? { step: e.step } : {}), reason: e.message });
            break;
          }
          // The card is saved / released before the journal says verified: a crash in between
          // leaves the holder `writing` at the activation — reported as uncertain, never lost.
          released = true;
          await slot.release('verified', r.serial);
          const mail = o.mailer !== undefined ? pinMailerEntry(plan.card, r.serial) : undefined;
          if (mail !== undefined) appendMailer(o.mailer!, mail);
          j.record({ ev: 'verified', i: h.index, id: h.id, serial: r.serial, reader: reader.name, ms: Math.round(r.ms), apdus: r.apdus });
          verified++;
          outcome = 'verified';
          o.onResult?.({ reader: reader.name, index: h.index, holderId: h.id, outcome: 'verified', serial: r.serial, ms: r.ms, apdus: r.apdus });
          break;
        }
      } finally {
        if (!released) await slot.release(outcome, serial);
      }
    }
  };
  await Promise.all(
    o.readers.map(async (reader) => {
      try {
        await worker(reader);
      } finally {
        await reader.close?.();
      }
    }),
  );
  return { verified, failed, skipped: queue.skipped, interrupted, refusedCards, stopped: o.stop?.aborted === true && (await queue.hasMore()) };
}

// --- readers -----------------------------------------------------------------------------------

export interface SimReaderOptions {
  readonly operatorKeys?: OperatorKeys;
  /** Save each card as `<dir>/<serial>.json` once released. */
  readonly outDir?: string;
  /** With `outDir`: wrap each saved image's storage key under this key (`CardImageOptions`). */
  readonly imageKey?: Uint8Array;
  /** Wraps each card's transport (fault injection: a card pulled mid-write). */
  readonly wrap?: (t: Transport, card: Card, n: number) => Transport;
  /** Stop after this many cards. */
  readonly cards?: number;
}

/**
 * A reader with an endless stack of blank simulated cards for `profile` (the factory state:
 * applets installed, nothing personal).
 */
export function simReader(name: string, profile: Profile, opts: SimReaderOptions = {}): BatchReader {
  let n = 0;
  if (opts.outDir !== undefined) mkdirSync(opts.outDir, { recursive: true });
  return {
    name,
    async nextCard(wanted?: () => Promise<boolean>): Promise<CardSlot | undefined> {
      if (opts.cards !== undefined && n >= opts.cards) return undefined;
      if (wanted !== undefined && !(await wanted())) return undefined;
      const card = createBlankCard(profile, { ...(opts.operatorKeys !== undefined ? { operatorKeys: opts.operatorKeys } : {}) });
      const inner = new InProcessTransport(card);
      const transport = opts.wrap?.(inner, card, n) ?? inner;
      n++;
      const atr = await inner.connect();
      return {
        transport,
        atr,
        release: async (outcome, serial) => {
          if (card.isPowered) card.powerOff();
          if (opts.outDir !== undefined && outcome !== 'unused') saveCardImage(card, join(opts.outDir, `${serial ?? 'unknown'}.json`), opts.imageKey !== undefined ? { imageKey: opts.imageKey } : {});
        },
      };
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * `open()` tried up to `attempts` times, `delayMs` apart, while it fails with a {@link CardMuteError}
 * (a card that does not answer the reset yet: just inserted, or a virtual card whose server is
 * still coming up); any other error, or the last mute one, is thrown.
 *
 * @example await retryMute(() => PcscTransport.open(name).then(connected), 3, 250)
 */
export async function retryMute<T>(open: () => Promise<T>, attempts: number, delayMs: number, wait: (ms: number) => Promise<void> = sleep): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await open();
    } catch (e) {
      if (!(e instanceof CardMuteError) || i >= attempts) throw e;
      await wait(delayMs);
    }
  }
}

/**
 * Why the card in a reader cannot be used, from the error connecting to it; `undefined` when the
 * error is not about the card. Two kinds: a card that does not answer its reset (still mute after
 * {@link retryMute}), and one whose ATR offers neither T=0 nor T=1 (SCARD_E_PROTO_MISMATCH: a card
 * of another kind, a damaged one). Either way nothing can be written to it.
 */
function unusableCard(e: unknown): string | undefined {
  if (e instanceof CardMuteError) return `the card does not answer (${e.message})`;
  if (e instanceof PcscError && e.code === SCARD.E_PROTO_MISMATCH) return `the card cannot be used (${e.message})`;
  return undefined;
}

/**
 * A PC/SC reader: waits for a card (polling every 100 ms) while a holder is still waiting for
 * one, connects exclusively, and after the run waits for the card to be taken out before it waits
 * for the next — except a card left unused because no holder remained, which stays in the reader
 * and ends the worker.
 */
export function pcscReader(
  name: string,
  opts: { readonly pollMs?: number; readonly stop?: AbortSignal; readonly onProblem?: (message: string) => void } = {},
): BatchReader {
  const poll = opts.pollMs ?? 100;
  let readerGone = false;
  // One context for all the polling of this reader (module comment of PcscReaderMonitor).
  let monitor: Promise<PcscReaderMonitor> | undefined;
  const present = async (): Promise<boolean> => {
    monitor ??= PcscReaderMonitor.open();
    return (await monitor).readers().some((r) => r.name === name && r.card && r.atr !== undefined);
  };
  const done = async (): Promise<void> => {
    const m = monitor;
    monitor = undefined;
    if (m !== undefined) await (await m).close();
  };
  /**
   * Polls until the reader holds a card (`card`) or holds none (`!card`); false, with the polling
   * context closed, when `ended` says to stop waiting first.
   */
  const waitUntil = async (card: boolean, ended: () => Promise<boolean>): Promise<boolean> => {
    while ((await present()) !== card) {
      if (await ended()) {
        await done();
        return false;
      }
      await sleep(poll);
    }
    return true;
  };
  return {
    name,
    close: done,
    async nextCard(wanted?: () => Promise<boolean>): Promise<CardSlot | undefined> {
      const ended = async (): Promise<boolean> => opts.stop?.aborted === true || (wanted !== undefined && !(await wanted()));
      let t: PcscTransport | undefined;
      let atr: Uint8Array | undefined;
      while (t === undefined) {
        if (!(await waitUntil(true, ended))) return undefined;
        try {
          const opened = await retryMute(async () => {
            const c = await PcscTransport.open(name);
            try {
              return { c, atr: await c.connect() };
            } catch (e) {
              await c.close();
              throw e;
            }
          }, 3, 250);
          t = opened.c;
          atr = opened.atr;
          readerGone = false;
        } catch (e) {
          // Gone between being seen and being connected (taken out, or the reader's list was a
          // moment behind): wait for a card again.
          if (e instanceof NoCardError) {
            await sleep(poll);
            continue;
          }
          // The reader itself went away (unplugged) between the poll and the connection: say so
          // once, and wait for it — and a card in it — as for any card.
          if (e instanceof NoReaderError) {
            if (!readerGone) opts.onProblem?.(`${name}: the reader is gone (${e.message}); waiting for it to come back`);
            readerGone = true;
            await sleep(poll);
            continue;
          }
          const why = unusableCard(e);
          if (why === undefined) throw e;
          // A card that cannot be used is not a reason to stop the line: nothing was written to
          // it; it is reported, and the reader waits for it to be taken out.
          opts.onProblem?.(`${name}: ${why}; take it out and put in another`);
          if (!(await waitUntil(false, ended))) return undefined;
        }
      }
      const transport = t;
      return {
        transport,
        atr: atr!,
        release: async (outcome) => {
          await transport.close();
          // A card nothing was written to (no holder left) stays in the reader, blank, for the
          // next run; any other waits to be taken out before the next one is taken.
          if (outcome === 'unused') {
            await done();
            return;
          }
          await waitUntil(false, async () => opts.stop?.aborted === true);
        },
      };
    },
  };
}
