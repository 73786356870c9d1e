/**
 * Batch personalization through real PC/SC readers: `chipwright feed` puts blank icao-td1 cards
 * into both vpcd slots one after another, `chipwright batch --reader … --reader …` writes a
 * holder on each as it comes, and the run ends when the holders do (the blank card left in a
 * reader stays there). Every card comes out operational, no holder is written twice, and the
 * journal matches.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { holderToDocument } from '../../src/holder/document.js';
import { loadHolder } from '../../src/holder/validate.js';
import { BIN, cli, describeWithStack, pcscStack, sleep, vpcdReaders } from './helpers.js';

describeWithStack('feed + batch over two virtual readers', () => {
  let dir = '';
  const feeders: { child: ChildProcess; out: () => string }[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cw-feed-'));
    const pki = await cli(['pki', 'init', '--out', join(dir, 'pki')]);
    expect(pki.code, pki.stderr).toBe(0);
    const sample = loadHolder('profiles/samples/specimen-minimal.json');
    const lines = Array.from({ length: 5 }, (_, k) =>
      JSON.stringify(holderToDocument({ ...sample, identity: { ...sample.identity, idNumber: String(29_963_600_000 + k) }, document: { ...sample.document, number: `F${String(k).padStart(8, '0')}` } })),
    );
    writeFileSync(join(dir, 'holders.jsonl'), lines.join('\n') + '\n');
    for (const [i, port] of pcscStack().ports.slice(0, 2).entries()) {
      const child = spawn(process.execPath, [BIN, 'feed', '--profile', 'profiles/icao-td1.yaml', '--vpcd', `127.0.0.1:${port}`, '--out', join(dir, `cards-${i}`), '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      feeders.push({ child, out: () => out });
    }
    const deadline = Date.now() + 10_000;
    while (!(await vpcdReaders()).slice(0, 2).every((r) => r.card)) {
      if (Date.now() > deadline) throw new Error('chipwright feed: no blank cards in the vpcd slots');
      await sleep(50);
    }
  });

  afterAll(async () => {
    await Promise.all(feeders.map((f) => (f.child.exitCode !== null ? undefined : new Promise<void>((r) => { f.child.once('exit', () => r()); f.child.kill('SIGTERM'); }))));
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes each holder on its own card, both readers working, and ends with the holders', async () => {
    const [r0, r1] = (await vpcdReaders()).map((r) => r.name);
    const journal = join(dir, 'run.journal');
    const r = await cli(
      ['batch', '--profile', 'profiles/icao-td1.yaml', '--data', join(dir, 'holders.jsonl'), '--reader', r0!, '--reader', r1!, '--journal', journal, '--journal-format', 'jsonl', '--signer', join(dir, 'pki', 'document-signer.pem')],
      { timeoutMs: 60_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    const verified = r.stdout.trim().split('\n').filter((l) => / 2996360000\d /.test(l));
    expect(verified).toHaveLength(5);
    // Both readers wrote cards, each card once, each holder once.
    expect(new Set(verified.map((l) => l.slice(l.indexOf(' ms ') + 4)))).toEqual(new Set([r0, r1]));
    expect(new Set(verified.map((l) => l.split(' ')[0])).size).toBe(5);
    expect(new Set(verified.map((l) => l.split(' ')[1])).size).toBe(5);
    const events = readFileSync(journal, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { ev: string; serial?: string });
    expect(events.filter((e) => e.ev === 'verified').map((e) => e.serial).sort()).toEqual(verified.map((l) => l.split(' ')[0]).sort());
    // The feeders took every personalized card out and saved it operational.
    await sleep(500);
    const fed = feeders.flatMap((f) => f.out().trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { serial: string; lifeCycle: string; image: string }));
    expect(fed.map((c) => c.serial).sort()).toEqual(verified.map((l) => l.split(' ')[0]).sort());
    for (const c of fed) {
      expect(c.lifeCycle).toBe('operational');
      expect((JSON.parse(readFileSync(c.image, 'utf8')) as { lifeCycle: string }).lifeCycle).toBe('operational');
    }
    expect(readdirSync(join(dir, 'cards-0')).length + readdirSync(join(dir, 'cards-1')).length).toBe(5);
  }, 90_000);
});
