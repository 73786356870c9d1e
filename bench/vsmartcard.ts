/**
 * In-process APDU throughput beside vsmartcard's Python card emulator (issue: benchmarks with
 * peers): SELECT MF by FID, GET CHALLENGE, READ BINARY 256 bytes, and SELECT MF + GET CHALLENGE.
 *
 * The peer is `bench/peers/vsmartcard_bench.py`, a long-lived `/usr/bin/python3` child that builds
 * the card `vicc -t iso7816` emulates (`Iso7816OS(MF, SAM)`) with the same EF as ours and calls
 * `Iso7816OS.execute(apdu)` in its own timed loop: no vpcd, no sockets, no IPC inside the clock.
 * Both sides get the same APDUs and must give the same answers before anything is timed; rounds
 * alternate (ours, peer, …) and only one side runs at a time.
 *
 * The peer needs Debian's python3-virtualsmartcard and python3-pycryptodome. Without them the
 * figures carry chipwright alone and say why; under CI (`CI=true`) that is an error instead, so
 * the comparison cannot silently disappear.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { bytesToHex, hexToBytes } from '../src/bytes/index.js';
import type { Card } from '../src/card/os.js';
import { benchCard } from './card-os.js';
import { compare, rate, summarize, type Figure } from './lib.js';

/** Debian's interpreter, where its python3-* packages live; overridable for other systems. */
const PYTHON = process.env['CHIPWRIGHT_BENCH_PYTHON'] || '/usr/bin/python3';
/** Where Debian's python3-virtualsmartcard puts the `virtualsmartcard` package (not on sys.path). */
const VSMARTCARD_PYTHONPATH = '/usr/lib/python3/site-packages/virtualsmartcard';
const PEER_STARTUP_MS = 30_000;

interface Case {
  readonly name: string;
  /** Sent once before each round, untimed (e.g. make the EF current). */
  readonly setup: readonly string[];
  /** One loop iteration sends each of these once; the rate counts APDUs. */
  readonly loop: readonly string[];
}

// P2 = 0C (no response data) on SELECT: vsmartcard's FCI encoder crashes, and a SELECT that
// answers nothing measures the OS rather than the FCI builder.
const SELECT_MF = '00A4000C023F00';
const SELECT_EF = '00A4000C020101';
const GET_CHALLENGE = '0084000008';
const READ_BINARY_256 = '00B0000000';

const CASES: readonly Case[] = [
  { name: 'in-process SELECT MF by FID', setup: [], loop: [SELECT_MF] },
  { name: 'in-process GET CHALLENGE (8 bytes)', setup: [], loop: [GET_CHALLENGE] },
  { name: 'in-process READ BINARY 256', setup: [SELECT_EF], loop: [READ_BINARY_256] },
  { name: 'in-process SELECT MF + GET CHALLENGE', setup: [], loop: [SELECT_MF, GET_CHALLENGE] },
];

/** The Python peer process, one JSON request and one JSON answer line at a time. */
class VsmartcardPeer {
  private readonly waiting: Array<{ resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }> = [];
  private readonly lines: string[] = [];
  private stderr = '';
  private ended: Error | null = null;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-2000);
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const w = this.waiting.shift();
      if (w) this.settle(w, line);
      else this.lines.push(line);
    });
    const end = (why: string): void => {
      this.ended ??= new Error(`${why}${this.stderr.trim() ? `: ${this.stderr.trim()}` : ''}`);
      for (const w of this.waiting.splice(0)) w.reject(this.ended);
    };
    child.on('error', (e) => end(`cannot run ${PYTHON} (${e.message})`));
    child.on('exit', (code, signal) => end(`peer exited (${signal ?? `code ${code}`})`));
  }

  /** Starts the peer and waits for its `ready` line; rejects with the reason it cannot run. */
  static async start(script: string): Promise<{ peer: VsmartcardPeer; name: string }> {
    const child = spawn(PYTHON, ['-s', script, '--serve'], {
      env: { ...process.env, PYTHONPATH: VSMARTCARD_PYTHONPATH, PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const peer = new VsmartcardPeer(child);
    try {
      const hello = await peer.next(PEER_STARTUP_MS);
      if (hello['ready'] !== true) throw new Error(String(hello['error'] ?? JSON.stringify(hello)));
      return { peer, name: String(hello['peer']) };
    } catch (e) {
      peer.close();
      throw e;
    }
  }

  /** The peer's response APDU (hex) to one command APDU (hex). */
  async check(apdu: string): Promise<string> {
    return String((await this.request({ op: 'check', apdu }, PEER_STARTUP_MS))['response']);
  }

  /** One timed round on the peer side: APDUs per second. */
  async rate(c: Case, ms: number): Promise<number> {
    const r = await this.request({ op: 'rate', setup: c.setup, loop: c.loop, ms }, ms + PEER_STARTUP_MS);
    return Number(r['rate']);
  }

  close(): void {
    this.child.stdin.end();
  }

  private async request(req: object, timeoutMs: number): Promise<Record<string, unknown>> {
    if (this.ended) throw this.ended;
    this.child.stdin.write(JSON.stringify(req) + '\n');
    const r = await this.next(timeoutMs);
    if ('error' in r) throw new Error(`vsmartcard peer: ${String(r['error'])} (request ${JSON.stringify(req)})`);
    return r;
  }

  private next(timeoutMs: number): Promise<Record<string, unknown>> {
    const line = this.lines.shift();
    return new Promise((resolve, reject) => {
      const w = { resolve, reject };
      if (line !== undefined) {
        this.settle(w, line);
        return;
      }
      if (this.ended) {
        reject(this.ended);
        return;
      }
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(w);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new Error(`vsmartcard peer: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      w.resolve = (v): void => {
        clearTimeout(timer);
        resolve(v);
      };
      w.reject = (e): void => {
        clearTimeout(timer);
        reject(e);
      };
      this.waiting.push(w);
    });
  }

  private settle(w: { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }, line: string): void {
    try {
      w.resolve(JSON.parse(line) as Record<string, unknown>);
    } catch {
      w.reject(new Error(`vsmartcard peer: not JSON: ${line.slice(0, 200)}`));
    }
  }
}

function peerScript(): string {
  // dist/bench/vsmartcard.js → bench/peers/…; bench/vsmartcard.ts (run from source) → ./peers/….
  for (const rel of ['../../bench/peers/vsmartcard_bench.py', './peers/vsmartcard_bench.py']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('bench/peers/vsmartcard_bench.py not found');
}

/** The loop body for chipwright, APDUs decoded once, outside the clock. */
function body(card: Card, loop: readonly string[]): () => void {
  const apdus = loop.map((h) => hexToBytes(h));
  const [a, b] = apdus;
  if (apdus.length === 1) return () => void card.transmit(a!);
  if (apdus.length === 2) {
    return () => {
      card.transmit(a!);
      card.transmit(b!);
    };
  }
  return () => {
    for (const x of apdus) card.transmit(x);
  };
}

function sw(r: Uint8Array): string {
  return bytesToHex(r.subarray(r.length - 2));
}

/**
 * Same APDUs, same answers: both cards must answer every setup and loop APDU with 9000 and the
 * same bytes (GET CHALLENGE: the same length), or the comparison would be between different work.
 */
async function sameAnswers(card: Card, peer: VsmartcardPeer, c: Case): Promise<void> {
  for (const h of [...c.setup, ...c.loop]) {
    const ours = card.transmit(hexToBytes(h));
    const theirs = hexToBytes(await peer.check(h));
    const random = h.startsWith('0084');
    const same = random ? ours.length === theirs.length : bytesToHex(ours) === bytesToHex(theirs);
    if (sw(ours) !== '9000' || sw(theirs) !== '9000' || !same) {
      throw new Error(
        `bench setup (${c.name}): ${h} answered ${bytesToHex(ours)} here, ` +
          `${bytesToHex(theirs)} on vsmartcard`,
      );
    }
  }
}

function underCi(): boolean {
  const ci = process.env['CI'];
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}

/**
 * The four figures, chipwright against vsmartcard, in APDU/s (a pair counts as two APDUs).
 * Throws under CI when the peer cannot run; elsewhere reports chipwright alone with a note. Smoke
 * and full runs differ only in `ms` and `rounds`: the smoke run still starts the peer and checks
 * its answers, which is what keeps this comparison from rotting.
 */
export async function vsmartcardFigures(opts: { ms: number; rounds: number; smoke: boolean }): Promise<Figure[]> {
  const card = benchCard();
  let started: { peer: VsmartcardPeer; name: string };
  try {
    started = await VsmartcardPeer.start(peerScript());
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    const fix = 'install python3-virtualsmartcard and python3-pycryptodome (apt)';
    if (underCi()) throw new Error(`vsmartcard peer unavailable: ${why}; ${fix}`);
    process.stderr.write(`bench: vsmartcard peer unavailable (${why}); ${fix}. Reporting chipwright alone.\n`);
    return CASES.map((c) => {
      for (const h of c.setup) card.transmit(hexToBytes(h));
      const run = body(card, c.loop);
      const xs = Array.from({ length: opts.rounds }, () => rate(run, c.loop.length, opts.ms));
      return summarize(c.name, 'APDU/s', xs, `peer vsmartcard unavailable: ${why}`);
    });
  }
  const { peer, name } = started;
  try {
    const figures: Figure[] = [];
    for (const c of CASES) {
      await sameAnswers(card, peer, c);
      const setup = c.setup.map((h) => hexToBytes(h));
      const run = body(card, c.loop);
      const ours = (): number => {
        for (const x of setup) card.transmit(x);
        return rate(run, c.loop.length, opts.ms);
      };
      const note = `APDUs ${c.loop.join(' + ')}${c.setup.length ? ` after ${c.setup.join(', ')}` : ''}`;
      figures.push(await compare(c.name, 'APDU/s', opts.rounds, ours, { name, measure: () => peer.rate(c, opts.ms) }, note));
    }
    return figures;
  } finally {
    peer.close();
  }
}
