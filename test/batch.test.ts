/**
 * Batch personalization: a journal that is exact after cards pulled mid-write and after the
 * process is killed, resumes that continue with the remaining holders, no holder on two cards.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hexToBytes } from '../src/bytes/index.js';
import { createTestPki } from '../src/lds/pki.js';
import { CardMuteError, type Transport } from '../src/transport/types.js';
import { loadProfile } from '../src/perso/profile.js';
import { profileTransportKey } from '../src/perso/applications.js';
import { runBatch, simReader } from '../src/perso/batch.js';
import { FileJournal, readJournal, type TimedEvent } from '../src/perso/journal.js';
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

describe('batch', () => {
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
    const j1 = new FileJournal(jpath);
    const s1 = await runBatch({ profile, data, journal: j1, readers: [simReader('sim-0', profile, { wrap }), simReader('sim-1', profile, { wrap })], prepare: opts, transportKey: profileTransportKey(profile), apdu: 'auto', limit: 16 });
    j1.close();
    expect(s1.verified + s1.failed).toBe(16);
    expect(s1.failed).toBeGreaterThan(0);
    const ev1 = readJournal(jpath);
    const c1 = check(ev1, 24);
    for (const e of ev1) if (e.ev === 'failed') expect(e).toMatchObject({ spoiled: true, reason: expect.stringMatching(/card-removed/) });
    for (const e of ev1) if (e.ev === 'failed') expect(typeof e.step).toBe('string');

    const j2 = new FileJournal(jpath);
    const s2 = await runBatch({ profile, data, journal: j2, readers: [simReader('sim-0', profile)], prepare: opts, transportKey: profileTransportKey(profile), apdu: 'auto' });
    j2.close();
    expect(s2.skipped).toBe(16);
    expect(s2.verified).toBe(8);
    const c2 = check(readJournal(jpath), 24);
    expect(c2.verified.size + c2.failed.size).toBe(24);
    for (const i of c1.failed) expect(c2.verified.has(i)).toBe(false); // never silently rewritten

    const j3 = new FileJournal(jpath);
    const s3 = await runBatch({ profile, data, journal: j3, readers: [simReader('sim-0', profile)], prepare: opts, transportKey: profileTransportKey(profile), apdu: 'auto', retryFailed: true });
    j3.close();
    expect(s3.verified).toBe(c1.failed.size);
    expect(check(readJournal(jpath), 24).verified.size).toBe(24);
  });

  it('the process killed at random moments: every restart reports the spoiled card and the journal stays exact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cw-kill-'));
    const data = holders(dir, 40);
    writeFileSync(join(dir, 'ds.pem'), signerPem(pki.documentSigner));
    const jpath = join(dir, 'run.journal');
    const args = ['bin/chipwright.js', 'batch', '--profile', 'profiles/icao-td1.yaml', '--data', data, '--journal', jpath, '--sim', '2', '--out', join(dir, 'cards'), '--signer', join(dir, 'ds.pem')];
    const run = (killAfterMs: number | undefined): Promise<number | null> =>
      new Promise((resolve) => {
        const p = spawn(process.execPath, args, { stdio: 'ignore' });
        if (killAfterMs !== undefined) setTimeout(() => p.kill('SIGKILL'), killAfterMs);
        p.on('exit', (code) => resolve(code));
      });
    for (const ms of [900, 1300, 1700]) {
      await run(ms);
      const events = readJournal(jpath);
      check(events, 40);
      // Every holder left writing by the kill is reported by the next run as interrupted.
    }
    const code = await run(undefined);
    expect(code).toBe(0);
    const events = readJournal(jpath);
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
