/**
 * Round trips through the real PC/SC stack (issue: real readers): a PC/SC client (chipwright's
 * PcscTransport over pcsclite) → pcscd → vpcd → a virtual card, per APDU.
 *
 * - chipwright's card server (`chipwright sim --vpcd`, its own process, image saved on change)
 *   against the floor: a minimal echo card on the same stack (its own process; it parses the vpcd
 *   frames and answers every APDU with a fixed response of the same length as ours). Rounds
 *   alternate, the two cards sit in the two slots of one vpcd reader; the ratio is ours / echo in
 *   µs per APDU, so lower is better and the target is at most 1.15.
 * - The same with and without the TCP_NODELAY preload (`test/pcsc/nodelay/`) — only when this run
 *   started pcscd itself and so can restart it; a pcscd that was already running is measured as
 *   it is, and the other variant is left out with a note.
 * - The per-APDU cost of the PC/SC path against the in-process transport.
 *
 * Needs pcscd + vsmartcard-vpcd + the pcsclite package (and root to start pcscd). Without them
 * the figures are left out with a message; under CI (`CI=true`) that is an error instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bytesToHex, hexToBytes } from '../src/bytes/index.js';
import { InProcessTransport } from '../src/transport/in-process.js';
import { listReaders, PcscTransport } from '../src/transport/pcsc.js';
import type { Transport } from '../src/transport/types.js';
import { testCard, writeTestCard } from '../test/pcsc/cards.js';
import { ensurePcscStack, isCi, startPcscd, type StartedPcscd } from '../test/pcsc/stack.js';
import { median, summarize, type Figure } from './lib.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** bin/chipwright.js, seen from dist/bench/ (compiled) or from bench/ (run from source). */
const BIN = [join(HERE, '..', '..', 'bin', 'chipwright.js'), join(HERE, '..', 'bin', 'chipwright.js')].find((p) => existsSync(p)) ?? 'bin/chipwright.js';

const SELECT_EF = '00A4000C020101';
const READ_BINARY_256 = '00B0000000';

/**
 * The floor: a vpcd card that does nothing but frame. Reconnects like ours, so a pcscd restart
 * (for the without-TCP_NODELAY variant) finds it again.
 */
const ECHO_CARD = `
import { connect } from 'node:net';
const [port, atrHex, ...answers] = process.argv.slice(1);
const atr = Buffer.from(atrHex, 'hex');
const frame = (b) => { const o = Buffer.allocUnsafe(2 + b.length); o.writeUInt16BE(b.length, 0); b.copy(o, 2); return o; };
const atrFrame = frame(atr);
// Answer by command length: the bench sends SELECT EF (7 bytes) and READ BINARY 256 (5 bytes).
const byLength = new Map(answers.map((a) => a.split(':')).map(([n, hex]) => [Number(n), frame(Buffer.from(hex, 'hex'))]));
function dial() {
  const s = connect({ host: '127.0.0.1', port: Number(port) });
  s.setNoDelay(true);
  let pending = null;
  s.on('data', (chunk) => {
    let buf = pending === null ? chunk : Buffer.concat([pending, chunk]);
    pending = null;
    let off = 0;
    while (buf.length - off >= 2) {
      const n = buf.readUInt16BE(off);
      if (buf.length - off - 2 < n) break;
      if (n === 1) { if (buf[off + 2] === 4) s.write(atrFrame); }
      else if (n > 1) s.write(byLength.get(n) ?? frame(Buffer.from([0x90, 0])));
      off += 2 + n;
    }
    if (off < buf.length) pending = Buffer.from(buf.subarray(off));
  });
  s.on('error', () => undefined);
  s.on('close', () => setTimeout(dial, 100));
}
dial();
`;

interface Served {
  readonly transport: PcscTransport;
  readonly process: ChildProcess;
}

async function waitForCard(readerIndex: number, timeoutMs: number): Promise<string> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = (await listReaders()).filter((x) => x.name.startsWith('Virtual PCD')).sort((a, b) => a.name.localeCompare(b.name))[readerIndex];
    if (r?.card === true && r.atr !== undefined) return r.name;
    if (Date.now() > end) throw new Error(`bench/pcsc: no card in vpcd slot ${readerIndex} after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** Microseconds per APDU over `count` sequential exchanges. */
async function usPerApdu(t: Transport, apdu: Uint8Array, count: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await t.transmit(apdu);
  return Number(process.hrtime.bigint() - start) / 1e3 / count;
}

/** How many APDUs fit in about `ms` at `us` each (at least `min`). */
function countFor(ms: number, us: number, min = 5): number {
  return Math.max(min, Math.round((ms * 1000) / Math.max(us, 1)));
}

async function check(t: Transport, hex: string, expected: string, who: string): Promise<void> {
  const got = bytesToHex(await t.transmit(hexToBytes(hex)));
  if (got !== expected) throw new Error(`bench/pcsc: ${who} answered ${hex} with ${got.slice(0, 40)}…, expected ${expected.slice(0, 40)}…`);
}

/**
 * Both cards served, both connected (exclusively) through pcscd: ours in slot 0, the echo card
 * in slot 1, answering the bench's two commands with the bytes ours gives.
 */
async function serve(dir: string, ports: readonly number[]): Promise<{ ours: Served; echo: Served; close: () => Promise<void> }> {
  const image = join(dir, 'card.json');
  const card = writeTestCard(image);
  card.powerOn();
  const answers = [SELECT_EF, READ_BINARY_256].map((a) => `${hexToBytes(a).length}:${bytesToHex(card.transmit(hexToBytes(a)))}`);
  const sim = spawn(process.execPath, [BIN, 'sim', '--card', image, '--vpcd', `127.0.0.1:${ports[0]}`], { stdio: 'ignore' });
  const echo = spawn(process.execPath, ['--input-type=module', '-e', ECHO_CARD, String(ports[1]), bytesToHex(card.atr), ...answers], { stdio: 'ignore' });
  const procs = [sim, echo];
  const close = async (): Promise<void> => {
    await Promise.all(
      procs.map((p) =>
        p.exitCode !== null || p.signalCode !== null ? undefined : new Promise<void>((r) => {
          p.once('exit', () => r());
          p.kill('SIGTERM');
        }),
      ),
    );
  };
  try {
    const names = [await waitForCard(0, 10_000), await waitForCard(1, 10_000)];
    const ours = await PcscTransport.open(names[0]!, { cardTimeoutMs: 5000 });
    const peer = await PcscTransport.open(names[1]!, { cardTimeoutMs: 5000 });
    await ours.connect();
    await peer.connect();
    return {
      ours: { transport: ours, process: sim },
      echo: { transport: peer, process: echo },
      close: async () => {
        await ours.close();
        await peer.close();
        await close();
      },
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/**
 * Rounds of about `opts.ms` per side; within a round the two cards take turns in short blocks
 * (ours, echo, ours, …), so load that drifts on the machine hits both alike. Returns the figure
 * with the echo card as peer.
 */
async function roundTrips(name: string, apduHex: string, s: { ours: Served; echo: Served }, opts: { ms: number; rounds: number }, note: string): Promise<Figure> {
  const apdu = hexToBytes(apduHex);
  // A first estimate for the counts, then a warm-up (JIT, pcscd's threads, TCP windows) that
  // stays short when every APDU waits on Nagle.
  const estimate = await usPerApdu(s.ours.transport, apdu, 5);
  const warm = estimate > 1000 ? 2 : 50;
  await usPerApdu(s.ours.transport, apdu, warm);
  await usPerApdu(s.echo.transport, apdu, warm);
  const blocks = 10;
  const perBlock = Math.max(1, Math.round(countFor(opts.ms, estimate, blocks) / blocks));
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < opts.rounds; i++) {
    let ours = 0;
    let echo = 0;
    for (let j = 0; j < blocks; j++) {
      ours += await usPerApdu(s.ours.transport, apdu, perBlock);
      echo += await usPerApdu(s.echo.transport, apdu, perBlock);
    }
    a.push(ours / blocks);
    b.push(echo / blocks);
  }
  const f = summarize(name, 'µs/APDU', a, note);
  const peer = { name: 'echo card on the same stack (floor)', median: median(b), min: Math.min(...b), max: Math.max(...b) };
  return { ...f, peer, ratio: f.median / peer.median };
}

/**
 * The PC/SC figures (see the module comment). Resolves to no figures, with a message on
 * standard error, when the stack is missing outside CI.
 */
export async function pcscFigures(opts: { ms: number; rounds: number; smoke?: boolean }): Promise<Figure[]> {
  const { info, stop } = await ensurePcscStack({ start: true, nodelay: true });
  if (!info.ready) {
    const msg = `bench/pcsc: PC/SC figures left out: ${info.reason}`;
    if (isCi()) throw new Error(msg);
    process.stderr.write(`${msg}\n`);
    return [];
  }
  const dir = mkdtempSync(join(tmpdir(), 'chipwright-bench-pcsc-'));
  const figures: Figure[] = [];
  let restarted: StartedPcscd | undefined;
  try {
    const nodelayNote = info.nodelay === true ? 'pcscd with the TCP_NODELAY preload' : info.nodelay === false ? 'pcscd WITHOUT TCP_NODELAY' : 'pcscd as found (TCP_NODELAY unknown)';
    const ratioNote = 'ratio = chipwright / echo card in time per APDU: lower is better, target ≤ 1.15';
    let s = await serve(dir, info.ports);
    try {
      await check(s.ours.transport, SELECT_EF, '9000', 'chipwright');
      await check(s.echo.transport, SELECT_EF, '9000', 'echo card');
      const select = await roundTrips('PC/SC round trip (pcscd+vpcd), SELECT EF by FID', SELECT_EF, s, opts, `${nodelayNote}; ${ratioNote}`);
      const readBinary = await roundTrips('PC/SC round trip (pcscd+vpcd), READ BINARY 256', READ_BINARY_256, s, opts, `${nodelayNote}; ${ratioNote}`);
      figures.push(select, readBinary);

      // Per-APDU cost against the in-process transport, same card, same command.
      const local = new InProcessTransport(testCard());
      await local.connect();
      const apdu = hexToBytes(SELECT_EF);
      await usPerApdu(local, apdu, 20_000);
      const inProc: number[] = [];
      for (let i = 0; i < opts.rounds; i++) inProc.push(await usPerApdu(local, apdu, countFor(opts.ms, 2, 1000)));
      const ip = summarize('in-process transport, SELECT EF by FID', 'µs/APDU', inProc);
      figures.push({
        ...select,
        name: 'per-APDU cost, PC/SC vs in-process (SELECT EF by FID)',
        peer: { name: 'in-process transport', median: ip.median, min: ip.min, max: ip.max },
        ratio: select.median / ip.median,
        note: `PC/SC adds ${(select.median - ip.median).toFixed(1)} µs per APDU (${nodelayNote}); ratio = PC/SC / in-process`,
      });
    } finally {
      await s.close();
    }

    // The other side of the workaround: only a pcscd this run owns can be restarted without it.
    if (info.started) {
      await stop();
      restarted = await startPcscd({ nodelay: false, ports: info.ports });
      s = await serve(dir, info.ports);
      try {
        const slow = { ms: Math.min(opts.ms, 400), rounds: Math.min(opts.rounds, 3) };
        figures.push(
          await roundTrips('PC/SC round trip WITHOUT TCP_NODELAY, SELECT EF by FID', SELECT_EF, s, slow, `pcscd without the preload: vpcd's two writes wait on Nagle and delayed ACK; ratio = chipwright / echo card`),
        );
      } finally {
        await s.close();
      }
    } else {
      process.stderr.write('bench/pcsc: the without-TCP_NODELAY figure is left out: pcscd was already running, and only a pcscd this run started can be restarted without the preload\n');
    }
  } finally {
    if (restarted !== undefined) await restarted.stop();
    else await stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}
