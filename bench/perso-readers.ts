/**
 * Personalization through virtual readers (issue 6, issue 8): `chipwright batch` with one worker
 * per PC/SC reader, against blank `qatar-id` cards fed into pcscd's vpcd slots by
 * `chipwright feed` (its own process per slot, as a card encoder's hopper would be). The same
 * batch runs with one reader and with two, rounds alternating; the figure is cards/s with two
 * readers and the ratio against one reader (target ≥ 1.7).
 *
 * A card's time in a reader includes what PC/SC costs per APDU (about 100 µs with TCP_NODELAY),
 * the card server's work, and the hand-over: the feeder takes a finished card out after 150 ms
 * of quiet, leaves the slot empty 700 ms, and `batch` polls for removal and insertion every
 * 100 ms — what a person or a card hopper costs at a real reader. With two readers one card is
 * written while the other slot changes cards.
 *
 * Needs pcscd + vsmartcard-vpcd + pcsclite, like `bench/pcsc.ts`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bytesToHex } from '../src/bytes/index.js';
import { holderToDocument } from '../src/holder/document.js';
import { loadHolder } from '../src/holder/validate.js';
import { createTestPki } from '../src/lds/pki.js';
import { profileTransportKey } from '../src/perso/applications.js';
import { pcscReader, runBatch } from '../src/perso/batch.js';
import { FileJournal } from '../src/perso/journal.js';
import { loadProfile } from '../src/perso/profile.js';
import { createTestCardIssuer } from '../src/perso/signers.js';
import { demoOperatorKeys } from '../src/script/demo.js';
import { listReaders } from '../src/transport/pcsc.js';
import { ensurePcscStack, isCi } from '../test/pcsc/stack.js';
import { median, summarize, type Figure } from './lib.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const BIN = [join(HERE, '..', '..', 'bin', 'chipwright.js'), join(HERE, '..', 'bin', 'chipwright.js')].find((p) => existsSync(p)) ?? 'bin/chipwright.js';
/** The repository (BIN is <root>/bin/chipwright.js). */
const ROOT = join(dirname(BIN), '..');

async function waitForCards(names: readonly string[], timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const rs = await listReaders();
    if (names.every((n) => rs.some((r) => r.name === n && r.card && r.atr !== undefined))) return;
    if (Date.now() > end) throw new Error(`bench/perso-readers: no blank card in ${names.join(', ')} after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

function stopAll(procs: readonly ChildProcess[]): Promise<void> {
  return Promise.all(
    procs.map((p) =>
      p.exitCode !== null || p.signalCode !== null
        ? undefined
        : new Promise<void>((r) => {
            p.once('exit', () => r());
            p.kill('SIGTERM');
          }),
    ),
  ).then(() => undefined);
}

/** Personalization through 1 and 2 virtual readers (module comment). */
export async function persoReaderFigures(opts: { rounds: number; smoke: boolean }): Promise<Figure[]> {
  const { info, stop } = await ensurePcscStack({ start: true, nodelay: true });
  if (!info.ready || info.ports.length < 2) {
    const msg = `bench/perso-readers: personalization through virtual readers left out: ${info.ready ? 'vpcd offers fewer than two slots' : info.reason}`;
    if (isCi()) throw new Error(msg);
    process.stderr.write(`${msg}\n`);
    await stop();
    return [];
  }
  const dir = mkdtempSync(join(tmpdir(), 'chipwright-bench-readers-'));
  const profilePath = join(ROOT, 'profiles', 'qatar-id.yaml');
  const profile = loadProfile(profilePath);
  const keys = demoOperatorKeys();
  const keysFile = join(dir, 'keys.json');
  writeFileSync(keysFile, JSON.stringify(Object.fromEntries([...keys].map(([k, v]) => [k, bytesToHex(v)]))));
  const pki = createTestPki();
  const issuer = createTestCardIssuer();
  const sample = loadHolder(join(ROOT, 'profiles', 'samples', 'specimen-full.yaml'));
  const perRun = opts.smoke ? 2 : 8;
  let serial = 0;
  /** A fresh holders file: no holder is written twice across runs (the journal is per run, too). */
  const holders = (n: number): string => {
    const lines: string[] = [];
    for (let i = 0; i < n; i++) {
      const k = serial++;
      const h = { ...sample, identity: { ...sample.identity, idNumber: String(29_963_500_000 + k) }, document: { ...sample.document, number: `B${String(k).padStart(8, '0')}` } };
      lines.push(JSON.stringify(holderToDocument(h)));
    }
    const path = join(dir, `holders-${serial}.jsonl`);
    writeFileSync(path, lines.join('\n') + '\n');
    return path;
  };
  const readerNames = ['Virtual PCD 00 00', 'Virtual PCD 00 01'];
  const feeders = info.ports.slice(0, 2).map((port) => spawn(process.execPath, [BIN, 'feed', '--profile', profilePath, '--vpcd', `127.0.0.1:${port}`, '--keys', keysFile], { stdio: 'ignore' }));
  /** Cards per second for one batch of `n` holders per reader over the first `readers` slots. */
  const run = async (readers: number): Promise<{ rate: number; apdus: number }> => {
    const names = readerNames.slice(0, readers);
    await waitForCards(names, 15_000);
    const journal = new FileJournal(join(dir, `journal-${serial}.jsonl`));
    let last = 0;
    let apdus = 0;
    let failed = '';
    const t0 = performance.now();
    const batch = runBatch({
      profile,
      data: holders(perRun * readers),
      journal,
      readers: names.map((n) => pcscReader(n)),
      prepare: { signers: { 'document-signer': pki.documentSigner, 'card-issuer': issuer }, operatorKeys: keys },
      transportKey: profileTransportKey(profile, keys),
      apdu: 'auto',
      onResult: (r) => {
        if (r.outcome !== 'verified') failed ||= `${r.outcome}: ${r.reason ?? ''}`;
        if (process.env.CHIPWRIGHT_BENCH_VERBOSE === '1') process.stderr.write(`bench/perso-readers: ${readers} reader(s): ${r.outcome} ${r.holderId} on ${r.reader}\n`);
        last = performance.now();
        apdus = r.apdus ?? apdus;
      },
    });
    // A batch that stops moving (a card that never comes, a feeder that died) is an error with
    // what the readers show, not a bench that waits for ever.
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        void listReaders().then((rs) => reject(new Error(`bench/perso-readers: the ${readers}-reader batch did not finish in 120 s; readers: ${JSON.stringify(rs.map((x) => [x.name, x.card]))}; feeders alive: ${feeders.map((f) => f.exitCode === null).join(', ')}`)));
      }, 120_000);
    });
    try {
      await Promise.race([batch, stuck]);
    } finally {
      clearTimeout(timer);
    }
    journal.close?.();
    if (failed !== '') throw new Error(`bench/perso-readers: a card failed (${failed})`);
    return { rate: (perRun * readers) / ((last - t0) / 1000), apdus };
  };
  try {
    const one: number[] = [];
    const two: number[] = [];
    let apdus = 0;
    for (let i = 0; i < opts.rounds; i++) {
      one.push((await run(1)).rate);
      const r = await run(2);
      two.push(r.rate);
      apdus = r.apdus;
    }
    const single = summarize('perso qatar-id via 1 virtual reader (batch, pcscd+vpcd, chipwright feed)', 'cards/s', one, `${perRun} cards per round, ${apdus} APDUs per card`);
    const f = summarize('perso qatar-id via 2 virtual readers (batch, pcscd+vpcd, chipwright feed)', 'cards/s', two, `${2 * perRun} cards per round; ratio = 2 readers / 1 reader, target ≥ 1.7`);
    return [single, { ...f, peer: { name: '1 virtual reader, same run', median: median(one), min: Math.min(...one), max: Math.max(...one) }, ratio: f.median / median(one) }];
  } finally {
    await stopAll(feeders);
    await stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
