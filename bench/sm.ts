/**
 * Secure messaging throughput (issue: secure messaging, BAC, PACE…), one core, card and terminal
 * in one process:
 *
 * - AES-128 SM READ BINARY of 256 bytes: the terminal protects the command and verifies and
 *   decrypts the response; the card unwraps, runs READ BINARY under the SM access rule, wraps.
 *   Target ≥ 100,000 APDU/s. The AES session is installed directly (PACE establishes it later).
 * - The same with 3DES (a BAC session).
 * - A full BAC handshake (GET CHALLENGE + EXTERNAL AUTHENTICATE, key derivation both sides).
 *
 * The figures call the card directly (`card.transmit`) and the terminal codec, not the async
 * Transport, so they measure the SM work rather than promise scheduling. The AES figure carries a
 * peer — the same READ BINARY in plain, card only — measured in the same rounds, so the ratio
 * stays meaningful on a busy machine where absolute rates swing by 2×. Its note adds the same
 * rounds per CPU-second of this process (`process.cpuUsage`, all threads, GC included) and the
 * load average when they started. On the shared 2-core machine at a load of 8–10 the wall-clock
 * rate fell to about a third of the CPU-time rate, and even that one varied twofold between runs:
 * compare two builds in one process with their rounds alternated, not figures from different runs.
 *
 * Wiring (bench/run.ts): `import { smFigures } from './sm.js'` and `...smFigures(opts)`.
 */
import { hexToBytes } from '../src/bytes/index.js';
import { parseCommandApdu } from '../src/apdu/command.js';
import { createCard, type Card } from '../src/card/os.js';
import type { AppletFactory } from '../src/card/applet.js';
import { defineInsTable, mergeInsTables } from '../src/card/dispatch.js';
import { newTransparentEf } from '../src/card/fs/file.js';
import { attach } from '../src/card/fs/tree.js';
import { SM_REQUIRED } from '../src/card/security/access.js';
import { bacCommands } from '../src/card/protocols/bac.js';
import { CardSmSession } from '../src/card/protocols/secure-messaging.js';
import { bacKeys, bacSessionKeys, bacTerminalRequest, bacTerminalVerify } from '../src/crypto/bac.js';
import { SmCodec, type SmKeys } from '../src/crypto/sm.js';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadavg, cpus } from 'node:os';
import { median, rate, summarize, type Figure } from './lib.js';

const AID = hexToBytes('A0000002471001');
const MRZ = 'L898902C<369080619406236';

/** Test-only INS 80 5A: start an SM session with the keys in the data (cipher ‖ kEnc ‖ kMac ‖ ssc). */
function benchApplet(): AppletFactory {
  const keys = bacKeys(MRZ);
  return {
    type: 'bench-mrtd',
    create: () => ({
      install: (ctx) => {
        const data = new Uint8Array(1024).map((_, i) => i & 0xff);
        attach(ctx.nv, ctx.df, newTransparentEf(0x0101, 1024, { sfi: 1, data, rules: { read: SM_REQUIRED } }));
        // The same content without security attributes, for the plain peer figure.
        attach(ctx.nv, ctx.df, newTransparentEf(0x0102, 1024, { sfi: 2, data }));
      },
      commands: mergeInsTables(
        bacCommands(() => keys),
        defineInsTable([
          0x5a,
          {
            name: 'BENCH START SM',
            run: (cmd, ctx) => {
              const aes = cmd.data[0] === 1;
              const kl = 16;
              const sl = aes ? 16 : 8;
              ctx.channel.sm = new CardSmSession({
                cipher: aes ? 'aes' : '3des',
                kEnc: cmd.data.slice(1, 1 + kl),
                kMac: cmd.data.slice(1 + kl, 1 + 2 * kl),
                ssc: cmd.data.slice(1 + 2 * kl, 1 + 2 * kl + sl),
              });
            },
          },
        ]),
      ),
    }),
  };
}

function benchCard(): Card {
  const card = createCard({ applets: [benchApplet()] });
  card.install(AID, 'bench-mrtd');
  card.powerOn();
  const r = card.transmit(hexToBytes('00A4040C07A0000002471001'));
  if (r[0] !== 0x90) throw new Error('bench setup: SELECT failed');
  return card;
}

/** A card and a terminal codec sharing an SM session of `cipher`, with EF 0101 selected. */
export function smPair(cipher: '3des' | 'aes'): { card: Card; terminal: SmCodec } {
  const card = benchCard();
  const keys: SmKeys = {
    cipher,
    kEnc: hexToBytes('000102030405060708090A0B0C0D0E0F'),
    kMac: hexToBytes('F0E1D2C3B4A5968778695A4B3C2D1E0F'),
    ssc: new Uint8Array(cipher === 'aes' ? 16 : 8),
  };
  const start = new Uint8Array([0x80, 0x5a, 0x00, 0x00, 0, cipher === 'aes' ? 1 : 0, ...keys.kEnc, ...keys.kMac, ...keys.ssc]);
  start[4] = start.length - 5;
  if (card.transmit(start)[0] !== 0x90) throw new Error('bench setup: session start failed');
  const terminal = new SmCodec(keys);
  const sel = terminal.unprotectResponse(card.transmit(terminal.protectCommand(parseCommandApdu(hexToBytes('00A4020C020101')))));
  if (sel.sw !== 0x9000) throw new Error('bench setup: SELECT under SM failed');
  return { card, terminal };
}

/** One READ BINARY of 256 bytes under SM, card and terminal; returns the plain data length. */
export function readOnce(card: Card, terminal: SmCodec, cmd: ReturnType<typeof parseCommandApdu>): number {
  const r = terminal.unprotectResponse(card.transmit(terminal.protectCommand(cmd)));
  if (r.sw !== 0x9000) throw new Error(`bench: READ BINARY under SM answered ${r.sw.toString(16)}`);
  return r.data.length;
}

/** One complete BAC handshake, card and terminal (fresh randomness each time). */
function bacOnce(card: Card, keys: { kEnc: Uint8Array; kMac: Uint8Array }, rnd: Uint8Array): void {
  const ch = card.transmit(hexToBytes('0084000008'));
  const rndIc = ch.subarray(0, 8);
  const rndIfd = rnd.subarray(0, 8);
  const kIfd = rnd.subarray(8, 24);
  const cmd = new Uint8Array(46);
  cmd.set([0x00, 0x82, 0x00, 0x00, 0x28]);
  cmd.set(bacTerminalRequest(keys, rndIc, rndIfd, kIfd), 5);
  cmd[45] = 0x28;
  const r = card.transmit(cmd);
  const kIc = bacTerminalVerify(keys, rndIc, rndIfd, r.subarray(0, 40));
  if (kIc === undefined) throw new Error('bench: BAC failed');
  new SmCodec(bacSessionKeys(kIfd, kIc, rndIc, rndIfd));
}

/**
 * Like `rate` in lib.ts but with a warm-up sized for slower bodies (a BAC handshake takes a few
 * hundred microseconds; 20,000 warm-up calls would take seconds per round).
 */
function slowRate(body: () => void, ms: number, warmUp: number): number {
  for (let i = 0; i < warmUp; i++) body();
  let calls = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(ms * 1e6));
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 10; i++) body();
    calls += 10;
    now = process.hrtime.bigint();
  }
  return calls / (Number(now - start) / 1e9);
}

/**
 * `rate` (wall clock, lib.ts) that also records the same round's calls per CPU-second of this
 * process into `cpu`: the wall-clock rate of a busy shared machine measures the other tenants.
 */
function rateWithCpu(body: () => void, ms: number, cpu: number[]): number {
  let calls = 0;
  const wrapped = (): void => {
    body();
    calls++;
  };
  const c0 = process.cpuUsage();
  const wall = rate(wrapped, 1, ms);
  const c = process.cpuUsage(c0);
  cpu.push(calls / ((c.user + c.system) / 1e6));
  return wall;
}

/** Figures: export name `smFigures`, same options as `cardOsFigures`. */
export function smFigures(opts: { ms: number; rounds: number }): Figure[] {
  const read = parseCommandApdu(hexToBytes('00B0000000')); // Le 00: 256 bytes
  const aes = smPair('aes');
  const tdes = smPair('3des');
  if (readOnce(aes.card, aes.terminal, read) !== 256 || readOnce(tdes.card, tdes.terminal, read) !== 256) {
    throw new Error('bench setup: READ BINARY under SM did not return 256 bytes');
  }
  // Peer: the same READ BINARY of 256 bytes in plain on the same OS (no SM at all).
  const plainCard = benchCard();
  const plainRead = hexToBytes('00B0820000');
  if (plainCard.transmit(plainRead).length !== 258) throw new Error('bench setup: plain READ BINARY failed');
  const bacCard = benchCard();
  const keys = bacKeys(MRZ);
  const rnd = hexToBytes('781723860C06C2260B795240CB7049B01C19B33E32804F0B');
  const a: number[] = [];
  const p: number[] = [];
  const t: number[] = [];
  const b: number[] = [];
  const aCpu: number[] = [];
  const load = loadavg()[0]!;
  for (let i = 0; i < opts.rounds; i++) {
    a.push(rateWithCpu(() => readOnce(aes.card, aes.terminal, read), opts.ms, aCpu));
    p.push(rate(() => plainCard.transmit(plainRead), 1, opts.ms));
    t.push(slowRate(() => readOnce(tdes.card, tdes.terminal, read), opts.ms, 2000));
    b.push(slowRate(() => bacOnce(bacCard, keys, rnd), opts.ms, 200));
  }
  const aesFigure = summarize(
    'AES-128 SM READ BINARY 256, card + terminal in-process',
    'APDU/s',
    a,
    `target ≥ 100 k APDU/s; peer: the same READ BINARY in plain (card only); per CPU-second of this process ` +
      `(warm-up included): median ${Math.round(median(aCpu))}, min ${Math.round(Math.min(...aCpu))}, max ${Math.round(Math.max(...aCpu))}; ` +
      `load average ${load.toFixed(1)} on ${cpus().length} cores at the start`,
  );
  const peer = summarize('plain READ BINARY 256 (card only)', 'APDU/s', p);
  return [
    { ...aesFigure, peer: { name: peer.name, median: peer.median, min: peer.min, max: peer.max }, ratio: aesFigure.median / peer.median },
    summarize('3DES SM READ BINARY 256, card + terminal in-process', 'APDU/s', t),
    summarize('BAC handshake (GET CHALLENGE + mutual authentication), card + terminal', 'handshakes/s', b),
    sweepingFigure(opts),
  ];
}

/** V8's flag that frees dead ArrayBuffers' memory on the main thread instead of a helper thread. */
const MAIN_THREAD_SWEEPING = '--no-concurrent-array-buffer-sweeping';

function childRate(flags: readonly string[], ms: number, warm: number): number {
  const script = fileURLToPath(new URL('./sm-child.js', import.meta.url));
  const r = spawnSync(process.execPath, [...flags, script, String(ms), String(warm)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench/sm-child ${flags.join(' ')}: exit ${String(r.status)}: ${r.stderr.trim().split('\n')[0] ?? ''}`);
  return (JSON.parse(r.stdout) as { rate: number }).rate;
}

/**
 * The AES SM figure again, in child processes alternated round by round: Node's defaults against
 * {@link MAIN_THREAD_SWEEPING}. Every `Cipher.update` allocates its output as a new ArrayBuffer
 * (four per APDU), and on a 2-core machine the helper thread that frees them contends with the
 * main thread: this says how much of an APDU's time that costs here, same run, same code. Each
 * child first runs for 3 s (the young generation grows to its working size; before that both
 * settings measure alike), then measures for `ms`.
 */
function sweepingFigure(opts: { ms: number; rounds: number }): Figure {
  const warm = opts.ms >= 500 ? 3000 : 50;
  const base: number[] = [];
  const main: number[] = [];
  for (let i = 0; i < opts.rounds; i++) {
    base.push(childRate([], opts.ms, warm));
    main.push(childRate([MAIN_THREAD_SWEEPING], opts.ms, warm));
  }
  const f = summarize(`AES-128 SM READ BINARY 256, node ${MAIN_THREAD_SWEEPING} (child processes)`, 'APDU/s', main, `the same code and measurement after ${warm} ms of warm-up; only V8's ArrayBuffer sweeping differs`);
  const peer = summarize('Node defaults, same run (child processes, alternated)', 'APDU/s', base);
  return { ...f, peer: { name: peer.name, median: peer.median, min: peer.min, max: peer.max }, ratio: f.median / peer.median };
}
