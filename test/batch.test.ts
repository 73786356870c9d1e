/**
 * Batch personalization: a journal that is exact after cards pulled mid-write and after the
 * process is killed, resumes that continue with the remaining holders, no holder on two cards.
 */
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hexToBytes } from '../src/bytes/index.js';
import { createTestPki } from '../src/lds/pki.js';
import { CardMuteError, type Transport } from '../src/transport/types.js';
import { loadProfile } from '../src/perso/profile.js';
import { profileTransportKey } from '../src/perso/applications.js';
import { retryMute, runBatch, simReader, type BatchReader } from '../src/perso/batch.js';
import { FileJournal, readJournal, type HolderState, type Journal, type TimedEvent } from '../src/perso/journal.js';
import { SqliteJournal } from '../src/perso/journal-sqlite.js';
import { createTestCardIssuer, signerPem } from '../src/perso/signers.js';

const pki = createTestPki();
const issuer = createTestCardIssuer();
const profile = loadProfile('profiles/icao-td1.yaml');

function holders(dir: string, n: number): string {
  const base = JSON.parse(readFileSync('profiles/samples/specimen-minimal.json', 'utf8')) as { identity: { idNumber: string }; document: { number: string } };
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const h = structuredClone(base);
    delete (h as { $schema?: string }).$schema;
    h.identity.idNumber = String(10000000000 + i);
    h.document.number = `T${String(i).padStart(8, '0')}`;
    lines.push(JSON.stringify(h));
  }
  const p = join(dir, 'holders.jsonl');
  writeFileSync(p, lines.join('\n') + '\n');
  return p;
}

/** A card that is pulled out at its n-th APDU. */
function pulledAt(n: number): (t: Transport) => Transport {
  return (t) => {
    let i = 0;
    return {
      connect: () => t.connect(),
      reset: () => t.reset(),
      disconnect: () => t.disconnect(),
      transmit: (a) => (++i === n ? Promise.reject(new CardMuteError('card removed')) : t.transmit(a)),
    };
  };
}

/** The journal's invariants: per holder, the last event decides; no holder verified twice. */
function check(events: readonly TimedEvent[], total: number): { verified: Set<number>; failed: Set<number> } {
  const verified = new Set<number>();
  const failed = new Set<number>();
  const last = new Map<number, TimedEvent>();
  for (const e of events) {
    if (e.ev === 'run') continue;
    if (e.ev === 'verified') {
      expect(verified.has(e.i), `holder ${e.i} verified twice`).toBe(false);
      verified.add(e.i);
    }
    if (e.ev === 'writing') expect(verified.has(e.i), `holder ${e.i} written after it was verified`).toBe(false);
    last.set(e.i, e);
  }
  for (const [i, e] of last) if (e.ev === 'failed' || e.ev === 'interrupted') failed.add(i);
  for (const i of last.keys()) expect(i).toBeLessThan(total);
  // No secret ever reaches the journal.
  expect(JSON.stringify(events)).not.toMatch(/"(pin|value|key)"/i);
  return { verified, failed };
}

const opts = { signers: { 'document-signer': pki.documentSigner, 'card-issuer': issuer } };

/** Each holder's state as its last audit event says. */
function replay(events: readonly TimedEvent[]): Map<number, { state: HolderState; step?: string; serial?: string }> {
  const out = new Map<number, { state: HolderState; step?: string; serial?: string }>();
  for (const e of events) {
    if (e.ev === 'run') continue;
    if (e.ev === 'writing') out.set(e.i, { state: 'writing', step: e.step, serial: e.serial });
    else if (e.ev === 'verified') out.set(e.i, { state: 'verified' });
    else if (e.ev === 'requeued') out.set(e.i, { state: 'queued' });
    else out.set(e.i, { state: 'failed' });
  }
  return out;
}

/** The journal stores under test: the same runs, the same invariants. */
const STORES = [
  { name: 'sqlite', open: (p: string): Journal => new SqliteJournal(p), events: (p: string) => readJournal(`${p}.audit.jsonl`), format: 'sqlite' },
  { name: 'jsonl', open: (p: string): Journal => new FileJournal(p), events: (p: string) => readJournal(p), format: 'jsonl' },
] as const;

describe.each(STORES)('batch ($name journal)', (store) => {
  it('two readers, cards pulled at random steps: the journal names each spoiled card and step; a re-run finishes the rest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cw-batch-'));
    const data = holders(dir, 24);
    const jpath = join(dir, 'run.journal');
    const pulled = new Set<number>();
    const wrap = (t: Transport, _c: unknown, n: number): Transport => {
      if (n % 5 !== 2) return t;
      pulled.add(n);
      return pulledAt(6 + ((n * 7) % 20))(t);
    };
    const j1 = store.open(jpath);
    const s1 = await runBatch({ profile, data, journal: j1, readers: [simReader('sim-0', profile, { wrap }), simReader('sim-1', profile, { wrap })], prepare: opts, transportKey: profileTransportKey(profile), apdu: 'auto', limit: 16 });
    j1.close();
    expect(s1.verified + s1.failed).toBe(16);
    expect(s1.failed).toBeGreaterThan(0);
    const ev1 = store.events(jpath);
    const c1 = check(ev1, 24);
    for (const e of ev1) if (e.ev === 'failed') expect(e).toMatchObject({ spoiled: true, reason: expect.stringMatching(/card-removed/) });
    for (const e of ev1) if (e.ev === 'failed') expect(typeof e.step).toBe('string');

    const j2 = store.open(jpath);
    const s2 = await runBatch({ profile, data, journal: j2, readers: [simReader('sim-0', profile)], prepare: opts, transportKey: profileTransportKey(profile), apdu: 'auto' });
    j2.close();
    expect(s2.skipped).toBe(16);
    expect(s2.verified).toBe(8);
    const c2 = check(store.events(jpath), 24);
    expect(c2.verified.size + c2.failed.size).toBe(24);
    for (const i of c1.failed) expect(c2.verified.has(i)).toBe(false); // never silently rewritten

    const j3 = store.open(jpath);
    const s3 = await runBatch({ profile, data, journal: j3, readers: [simReader('sim-0', profile)], prepare: opts, transportKey: profileTransportKey(profile), apdu: 'auto', retryFailed: true });
    j3.close();
    expect(s3.verified).toBe(c1.failed.size);
    expect(check(store.events(jpath), 24).verified.size).toBe(24);
  });

  it('the process killed at random moments: every restart reports the spoiled card and the journal stays exact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cw-kill-'));
    const data = holders(dir, 40);
    writeFileSync(join(dir, 'ds.pem'), signerPem(pki.documentSigner));
    const jpath = join(dir, 'run.journal');
    const args = ['bin/chipwright.js', 'batch', '--profile', 'profiles/icao-td1.yaml', '--data', data, '--journal', jpath, '--journal-format', store.format, '--sim', '2', '--out', join(dir, 'cards'), '--signer', join(dir, 'ds.pem')];
    const run = (killAfterMs: number | undefined): Promise<number | null> =>
      new Promise((resolve) => {
        const p = spawn(process.execPath, args, { stdio: 'ignore' });
        let exited = false;
        p.on('exit', (code) => {
          exited = true;
          resolve(code);
        });
        if (killAfterMs === undefined) return;
        // The clock starts when the run has opened its journal, not at spawn: Node's start-up
        // time varies with the machine's load and would otherwise decide whether anything ran.
        const started = Date.now();
        const before = existsSync(jpath) ? statSync(jpath).mtimeMs : -1;
        const wait = (): void => {
          if (exited) return;
          const touched = existsSync(jpath) && statSync(jpath).mtimeMs !== before;
          if (touched || Date.now() - started > 20_000) setTimeout(() => p.kill('SIGKILL'), killAfterMs);
          else setTimeout(wait, 10);
        };
        wait();
      });
    for (const ms of [150, 500, 900]) {
      await run(ms);
      if (store.name === 'sqlite') {
        // Reopened after the kill (which also brings the audit log level): states match the log.
        const j = store.open(jpath);
        const want = replay(store.events(jpath));
        for (let i = 0; i < 40; i++) expect(j.state(i), `holder ${i}`).toBe(want.get(i)?.state ?? 'queued');
        expect(j.interrupted.map((x) => x.i)).toEqual([...want].filter(([, v]) => v.state === 'writing').map(([i]) => i));
        j.close();
      }
      const events = store.events(jpath);
      check(events, 40);
      // Every holder left writing by the kill is reported by the next run as interrupted.
    }
    const code = await run(undefined);
    expect(code).toBe(0);
    const events = store.events(jpath);
    const { verified, failed } = check(events, 40);
    expect(verified.size + failed.size).toBe(40);
    const interrupted = events.filter((e) => e.ev === 'interrupted');
    for (const e of interrupted) expect(failed.has(e.i)).toBe(true);
    // Each verified holder's card exists and is operational.
    const cards = readdirSync(join(dir, 'cards'));
    for (const e of events) if (e.ev === 'verified') expect(cards).toContain(`${e.serial}.json`);
    const one = events.find((e) => e.ev === 'verified') as { serial: string } | undefined;
    if (one) expect(JSON.parse(readFileSync(join(dir, 'cards', `${one.serial}.json`), 'utf8')).lifeCycle).toBe('operational');
    void hexToBytes;
  }, 60_000);
});

describe('SQLite journal', () => {
  it('a batch that dies mid-write (journal never closed): reopening gives the exact states', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cw-sqlite-'));
    const data = holders(dir, 6);
    const jpath = join(dir, 'run.db');
    const j1 = new SqliteJournal(jpath);
    // The third card hangs at its 8th APDU: the process "dies" there — nothing after it runs, no close.
    let died!: () => void;
    const dead = new Promise<void>((r) => (died = r));
    const wrap = (t: Transport, _c: unknown, n: number): Transport => {
      if (n !== 2) return t;
      let k = 0;
      return { connect: () => t.connect(), reset: () => t.reset(), disconnect: () => t.disconnect(), transmit: (a) => (++k === 8 ? (died(), new Promise(() => undefined)) : t.transmit(a)) };
    };
    void runBatch({ profile, data, journal: j1, readers: [simReader('sim-0', profile, { wrap })], prepare: opts, transportKey: profileTransportKey(profile), apdu: 'auto' });
    await dead;
    const events = readJournal(j1.auditPath);
    const want = replay(events);
    expect(want.get(0)?.state).toBe('verified');
    expect(want.get(1)?.state).toBe('verified');
    expect(want.get(2)).toMatchObject({ state: 'writing' });

    const j2 = new SqliteJournal(jpath); // a second connection, as the next process would open it
    for (let i = 0; i < 6; i++) expect(j2.state(i), `holder ${i}`).toBe(want.get(i)?.state ?? 'queued');
    expect(j2.interrupted).toEqual([{ i: 2, id: '10000000002', serial: want.get(2)!.serial, step: want.get(2)!.step }]);
    expect(j2.counts()).toEqual({ queued: 0, writing: 1, verified: 2, failed: 0 });
    expect(j2.idMatches(2, '10000000002')).toBe(true);
    expect(j2.idMatches(2, '99999999999')).toBe(false);
    expect(j2.idMatches(5, 'anyone')).toBe(true);
    j2.close();

    // The resumed run reports the spoiled card and finishes the rest; no holder on two cards.
    const j3 = new SqliteJournal(jpath);
    const s = await runBatch({ profile, data, journal: j3, readers: [simReader('sim-0', profile)], prepare: opts, transportKey: profileTransportKey(profile), apdu: 'auto' });
    expect(s.interrupted.map((x) => x.i)).toEqual([2]);
    expect(s.verified).toBe(3);
    expect(j3.counts()).toEqual({ queued: 0, writing: 0, verified: 5, failed: 1 });
    j3.close();
    check(readJournal(`${jpath}.audit.jsonl`), 6);
    j1.close();
  });

  it('a crash between the commit and the audit line: reopening repairs a torn or missing last line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cw-sqlite-'));
    const jpath = join(dir, 'run.db');
    const j = new SqliteJournal(jpath);
    j.record({ ev: 'writing', i: 0, id: 'A', serial: '01', reader: 'r', step: 'identity/DG1', n: 1, of: 3 });
    j.record({ ev: 'writing', i: 0, id: 'A', serial: '01', reader: 'r', step: 'identity/DG2', n: 2, of: 3 });
    j.close();
    const full = readFileSync(j.auditPath, 'utf8');
    const lines = full.trimEnd().split('\n');
    // Torn: half of the last line reached the disk.
    writeFileSync(j.auditPath, `${lines[0]}\n${lines[1]!.slice(0, 20)}`);
    new SqliteJournal(jpath).close();
    expect(readFileSync(j.auditPath, 'utf8')).toBe(full);
    // Missing: the line never reached the disk.
    writeFileSync(j.auditPath, `${lines[0]}\n`);
    const k = new SqliteJournal(jpath);
    expect(readFileSync(j.auditPath, 'utf8')).toBe(full);
    expect(k.interrupted).toEqual([{ i: 0, id: 'A', serial: '01', step: 'identity/DG2' }]);
    k.close();
  });

  it('refuses a holder at a second position and a card that already holds a holder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cw-sqlite-'));
    const j = new SqliteJournal(join(dir, 'run.db'));
    j.record({ ev: 'writing', i: 0, id: 'A', serial: '01', reader: 'r', step: 's', n: 1, of: 1 });
    expect(() => j.record({ ev: 'writing', i: 1, id: 'A', serial: '02', reader: 'r', step: 's', n: 1, of: 1 })).toThrow(/one card only/);
    expect(() => j.record({ ev: 'writing', i: 2, id: 'B', serial: '01', reader: 'r', step: 's', n: 1, of: 1 })).toThrow(/already holds/);
    expect(j.state(1)).toBe('queued');
    expect(j.state(2)).toBe('queued');
    j.close();
    // A refused event is neither committed nor in the audit log.
    expect(readJournal(join(dir, 'run.db.audit.jsonl'))).toHaveLength(1);
  });

  it('stays flat over 100,000 holders: states are read per holder, not loaded', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cw-sqlite-'));
    const path = join(dir, 'big.db');
    // Bulk-fill the table directly (100,000 synced commits would take minutes), then reopen.
    new SqliteJournal(path).close();
    const db = new Database(path);
    const ins = db.prepare(`INSERT INTO holders (i, id_hash, holder, state, serial, updated) VALUES (?, ?, ?, 'verified', ?, '2025-01-01T00:00:00Z')`);
    db.transaction(() => {
      for (let i = 0; i < 100_000; i++) ins.run(i, `h${i}`, `id${i}`, i.toString(16).padStart(16, '0'));
    })();
    db.close();
    const before = process.memoryUsage().heapUsed;
    const j = new SqliteJournal(path);
    expect(j.interrupted).toEqual([]);
    expect(j.counts().verified).toBe(100_000);
    let verified = 0;
    for (let i = 0; i < 100_000; i++) if (j.state(i) === 'verified') verified++;
    expect(verified).toBe(100_000);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(32 * 1024 * 1024);
    j.close();
  });
});

describe('batch workers and stopping', () => {
  it('a reader still waiting for a card stops waiting once another reader took the last holder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cw-batch-'));
    const data = holders(dir, 3);
    let asked = 0;
    let gaveUp = false;
    let closed = 0;
    // A reader into which no card is ever put: it waits (as a PC/SC reader polls) while a holder is wanted.
    const empty: BatchReader = {
      name: 'empty',
      // What a PC/SC reader releases here: the context it polls with (else the process never exits).
      close: async () => {
        closed++;
      },
      async nextCard(wanted) {
        for (;;) {
          asked++;
          if (wanted !== undefined && !(await wanted())) {
            gaveUp = true;
            return undefined;
          }
          await new Promise((r) => setTimeout(r, 5));
        }
      },
    };
    const j = new FileJournal(join(dir, 'run.journal'));
    const s = await runBatch({ profile, data, journal: j, readers: [empty, simReader('sim-0', profile)], prepare: opts, transportKey: profileTransportKey(profile), apdu: 'auto' });
    j.close();
    expect(s.verified).toBe(3);
    expect(s.stopped).toBe(false);
    expect(gaveUp).toBe(true);
    expect(asked).toBeGreaterThan(0);
    expect(closed).toBe(1);
  });

  it('a stop between cards: the card being written is finished and journaled, the rest stays queued; the next run finishes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cw-batch-'));
    const data = holders(dir, 10);
    const jpath = join(dir, 'run.journal');
    const stop = new AbortController();
    const j1 = new SqliteJournal(jpath);
    let steps = 0;
    const s1 = await runBatch({
      profile,
      data,
      journal: j1,
      readers: [simReader('sim-0', profile), simReader('sim-1', profile)],
      prepare: opts,
      transportKey: profileTransportKey(profile),
      apdu: 'auto',
      stop: stop.signal,
      // Stopped in the middle of the third card's steps.
      onStep: () => {
        if (++steps === 25) stop.abort();
      },
    });
    j1.close();
    expect(s1.stopped).toBe(true);
    expect(s1.failed).toBe(0);
    expect(s1.verified).toBeGreaterThanOrEqual(2);
    expect(s1.verified).toBeLessThan(10);
    const ev = readJournal(`${jpath}.audit.jsonl`);
    const c1 = check(ev, 10);
    expect(c1.verified.size).toBe(s1.verified);
    // Nothing left mid-write: every holder that was written is verified.
    expect([...replay(ev).values()].filter((x) => x.state === 'writing')).toEqual([]);
    const j2 = new SqliteJournal(jpath);
    expect(j2.interrupted).toEqual([]);
    const s2 = await runBatch({ profile, data, journal: j2, readers: [simReader('sim-0', profile)], prepare: opts, transportKey: profileTransportKey(profile), apdu: 'auto' });
    j2.close();
    expect(s2.skipped).toBe(s1.verified);
    expect(s2.verified).toBe(10 - s1.verified);
    expect(s2.stopped).toBe(false);
    expect(check(readJournal(`${jpath}.audit.jsonl`), 10).verified.size).toBe(10);
  });
});

describe('batch command and signals', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('%s stops the run between cards: exit 0, nothing spoiled, "run again" said, the next run finishes', async (signal) => {
    const dir = mkdtempSync(join(tmpdir(), 'cw-sig-'));
    const data = holders(dir, 400);
    writeFileSync(join(dir, 'ds.pem'), signerPem(pki.documentSigner));
    const jpath = join(dir, 'run.journal');
    const args = ['bin/chipwright.js', 'batch', '--profile', 'profiles/icao-td1.yaml', '--data', data, '--journal', jpath, '--sim', '2', '--signer', join(dir, 'ds.pem'), '--json'];
    const first = await new Promise<{ code: number | null; stderr: string; lines: number }>((resolve) => {
      const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      let lines = 0;
      let sent = false;
      p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      p.stdout.on('data', (b: Buffer) => {
        lines += b.toString().split('\n').filter((l) => l.length > 0).length;
        // After the first cards are through: the signal lands while the others are being written.
        if (!sent && lines >= 3) {
          sent = true;
          p.kill(signal);
        }
      });
      p.on('exit', (code) => resolve({ code, stderr, lines }));
    });
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(/stopped by a signal; the remaining holders stay queued/);
    const events = readJournal(`${jpath}.audit.jsonl`);
    const c1 = check(events, 400);
    expect(c1.failed.size).toBe(0);
    expect(c1.verified.size).toBeGreaterThanOrEqual(3);
    expect(c1.verified.size).toBeLessThan(400);
    expect([...replay(events).values()].filter((x) => x.state === 'writing')).toEqual([]);
    const code = await new Promise<number | null>((resolve) => spawn(process.execPath, args, { stdio: 'ignore' }).on('exit', resolve));
    expect(code).toBe(0);
    expect(check(readJournal(`${jpath}.audit.jsonl`), 400).verified.size).toBe(400);
  }, 120_000);
});

describe('opening a card in a reader', () => {
  it('retries a card that does not answer its reset yet, a few times, and gives up with the last error', async () => {
    const waits: number[] = [];
    const wait = async (ms: number): Promise<void> => {
      waits.push(ms);
    };
    let calls = 0;
    // Mute twice, then answers.
    const flaky = async (): Promise<string> => {
      if (++calls < 3) throw new CardMuteError('the card did not answer the reset');
      return 'ATR';
    };
    expect(await retryMute(flaky, 3, 250, wait)).toBe('ATR');
    expect(waits).toEqual([250, 250]);
    // Never answers: the third error is thrown.
    calls = -100;
    await expect(retryMute(flaky, 3, 250, wait)).rejects.toThrow(CardMuteError);
    // Any other error is not retried.
    let other = 0;
    await expect(
      retryMute(async () => {
        other++;
        throw new Error('reader in use');
      }, 3, 250, wait),
    ).rejects.toThrow('reader in use');
    expect(other).toBe(1);
  });
});
