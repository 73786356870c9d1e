/**
 * `chipwright sim --card card.json --stdio`: the card as a line service on standard input and
 * output (protocol: `src/script/line-session.ts`). One response line per command line; a line
 * that is not hex gets an error on standard error and an empty response line, and the session
 * goes on (exit 2 at the end says input was rejected). The image is saved after every command
 * that changed non-volatile state — so killing the process loses nothing the card committed —
 * and at the end of input.
 *
 * `chipwright sim --card a.json --vpcd 35963 [--card b.json --vpcd 35964 ...]`: each card as a
 * virtual card in pcscd's vpcd reader on that port (`src/transport/vpcd.ts`), so every PC/SC
 * application sees it; the n-th `--card` goes to the n-th `--vpcd`. Runs until SIGINT/SIGTERM,
 * reconnecting whenever pcscd restarts; each image is saved after every command that changed it,
 * before the response leaves.
 *
 * `--record FILE` (one per `--card`, either way of serving): what passes between the client and
 * the card is written as a vector file that `chipwright replay FILE` replays on a fresh identical
 * card — the recorder of `chipwright record` (`src/conformance/recorder.ts`): exact responses as
 * expectations, timings as comments, secrets redacted (their values go to `--secrets-out` or
 * nowhere), pcscd's power controls as `power on` / `reset` / `power off`. The card as it was at
 * start is saved beside it (`FILE.card.json`) and named in its `card:` header, `--rng` becomes its
 * `rng:`. The file is rewritten atomically once a second while exchanges arrive and at the end
 * (end of input, SIGINT, SIGTERM), so killing the process loses at most the last second.
 */
import { basename, dirname, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { serializeCard } from '../../card/image.js';
import { RecordingTransport, VectorRecorder } from '../../conformance/recorder.js';
import { InProcessTransport } from '../../transport/in-process.js';
import { TracingTransport, traceCommand, traceResponse, commandHasSecretData } from '../../transport/trace.js';
import { formatVpcdAddress, parseVpcdAddress, VpcdAddressError, VpcdCardServer, type VpcdAddress, type VpcdEvent } from '../../transport/vpcd.js';
import { parseCommandApdu } from '../../apdu/command.js';
import { INS } from '../../apdu/ins.js';
import type { Transport } from '../../transport/types.js';
import { serveLines } from '../../script/line-session.js';
import { loadAppletModules } from '../../apps/modules.js';
import { CardFile } from '../card-file.js';
import { checkOutputPath, snapshotPathOf, writeOutputFile } from '../output-file.js';
import { EXIT } from '../exit-codes.js';
import { OutputFileError, UsageError } from '../errors.js';
import { appletOption, hexOption } from '../options.js';
import { LineWriter, readLines, untilStopped, type CliIo } from '../io.js';
import type { CliContext } from '../context.js';

interface RawOptions {
  card: string[];
  applet?: string[];
  stdio?: boolean;
  vpcd?: string[];
  rng?: string;
  trace?: boolean;
  record?: string[];
  secretsOut?: string[];
  force?: boolean;
}

/** Where one card's session is recorded (`--record`). */
export interface SimRecordTarget {
  readonly out: string;
  /** The card as it was at start, named in the recording's `card:` header. */
  readonly cardOut: string;
  readonly secretsOut: string | undefined;
}

export interface SimContext {
  /** The one card of `--stdio`; the first of several with `--vpcd`. */
  readonly cardPath: string;
  /** Every `--card`, in order; with `--vpcd`, card i is served on `vpcd[i]`. */
  readonly cardPaths: readonly string[];
  /** Empty: serve over standard input/output. */
  readonly vpcd: readonly VpcdAddress[];
  /** `--applet` modules, loaded before the card image. */
  readonly appletModules: readonly string[];
  readonly rng: Uint8Array | undefined;
  readonly trace: boolean;
  /** Empty, or one per card (`--record`), in the order of `cardPaths`. */
  readonly record: readonly SimRecordTarget[];
}

function recordTargets(o: RawOptions, cards: readonly string[]): SimRecordTarget[] {
  const outs = o.record ?? [];
  const secrets = o.secretsOut ?? [];
  if (outs.length === 0) {
    if (secrets.length > 0) throw new UsageError('--secrets-out goes with --record: it holds the values the recording redacts');
    return [];
  }
  if (outs.length !== cards.length) throw new UsageError(`--record: ${cards.length} --card and ${outs.length} --record options; give one --record per --card, in the same order`);
  if (secrets.length > 0 && secrets.length !== outs.length) throw new UsageError(`--secrets-out: give one per --record (${outs.length}), in the same order, or none`);
  const targets = outs.map((out, i) => ({ out, cardOut: snapshotPathOf(out), secretsOut: secrets[i] }));
  const seen = new Map<string, string>(cards.map((c) => [resolve(c), `--card ${c}`]));
  for (const t of targets) {
    for (const [opt, path] of [['--record', t.out], ['--record snapshot', t.cardOut], ['--secrets-out', t.secretsOut]] as const) {
      if (path === undefined) continue;
      const other = seen.get(resolve(path));
      // The image is rewritten as the card changes; a snapshot or recording on it would clobber it.
      if (other !== undefined) throw new UsageError(`${opt} ${path}: also ${other}; give each output its own file`);
      seen.set(resolve(path), `${opt} ${path}`);
      checkOutputPath(opt, path, o.force === true);
    }
  }
  return targets;
}

export function simContext(o: RawOptions): SimContext {
  const cards = o.card;
  const vpcd = (o.vpcd ?? []).map((v) => {
    try {
      return parseVpcdAddress(v);
    } catch (e) {
      throw e instanceof VpcdAddressError ? new UsageError(e.message) : e;
    }
  });
  if (o.stdio === true && vpcd.length > 0) throw new UsageError('--stdio and --vpcd: choose one way to serve the card');
  if (o.stdio !== true && vpcd.length === 0) throw new UsageError('choose how to serve the card: --stdio, or --vpcd [HOST:]PORT for pcscd (see --help)');
  if (vpcd.length === 0 && cards.length !== 1) throw new UsageError(`--stdio serves one card, got ${cards.length} --card options`);
  if (vpcd.length > 0 && cards.length !== vpcd.length) {
    throw new UsageError(`--vpcd: ${cards.length} --card and ${vpcd.length} --vpcd options; give one --vpcd per --card, in the same order`);
  }
  const seen = new Set<string>();
  for (const a of vpcd) {
    const k = formatVpcdAddress(a);
    if (seen.has(k)) throw new UsageError(`--vpcd ${k} given twice: one card per reader slot`);
    seen.add(k);
  }
  // Two servers saving one image would overwrite each other's state.
  const dup = cards.find((c, i) => cards.indexOf(c) !== i);
  if (dup !== undefined) throw new UsageError(`--card ${dup} given twice: each served card needs its own image`);
  return {
    cardPath: cards[0]!,
    cardPaths: cards,
    vpcd,
    appletModules: o.applet ?? [],
    rng: o.rng === undefined ? undefined : hexOption(o.rng, '--rng', 1),
    trace: o.trace === true,
    record: recordTargets(o, cards),
  };
}

/** How often a recording with new events is rewritten: a kill loses at most this much. */
const RECORD_FLUSH_MS = 1000;

/**
 * One card's `--record`: the recorder, the starting card saved at once, and the file rewritten
 * when events arrived (every {@link RECORD_FLUSH_MS}) and at {@link close}.
 */
class SimRecording {
  readonly recorder: VectorRecorder;
  private written = -1;
  private powered = false;
  private readonly timer: NodeJS.Timeout;
  private warned = false;

  constructor(
    private readonly target: SimRecordTarget,
    file: CardFile,
    rng: Uint8Array | undefined,
    how: string,
    private readonly io: CliIo,
  ) {
    this.recorder = new VectorRecorder({
      name: `recorded: chipwright sim ${how}`,
      source: `recorded ${new Date().toISOString()} with chipwright sim ${how} --record`,
      card: { kind: 'image', path: resolve(target.cardOut), written: relative(dirname(target.out), target.cardOut) },
      ...(rng !== undefined ? { rng } : {}),
      preamble: [
        `Recorded by "chipwright sim ${how} --record" while a client used the card (the command line is not kept: it may hold secrets).`,
        `Replay: chipwright replay ${basename(target.out)}${target.secretsOut !== undefined ? ` --secrets ${basename(target.secretsOut)}` : ' [--secrets FILE]'}`,
      ],
    });
    writeOutputFile(target.cardOut, serializeCard(file.card), 'card image', 0o644);
    this.flush();
    this.timer = setInterval(() => this.tick(), RECORD_FLUSH_MS);
    // A pending flush must not keep a finished session alive.
    this.timer.unref();
  }

  /** vpcd power controls and connection ends, as the card saw them. */
  onVpcdEvent(e: VpcdEvent, atr: Uint8Array): void {
    if (e.type === 'power') {
      if (e.state === 'on') this.recorder.powerOn(atr);
      else if (e.state === 'reset') this.recorder.reset(atr);
      else if (this.powered) this.recorder.powerOff();
      this.powered = e.state !== 'off';
    } else if ((e.type === 'disconnected' || e.type === 'mute') && this.powered) {
      // The server powers the card off when pcscd drops it.
      this.recorder.powerOff();
      this.powered = false;
    }
  }

  onExchange(command: Uint8Array, response: Uint8Array, ms: number): void {
    const end = this.recorder.now();
    this.recorder.exchange(command, response, end - ms, ms);
  }

  /** Rewrites the files when there is something new; throws {@link OutputFileError}. */
  flush(): void {
    if (this.written === this.recorder.events.length) return;
    const rec = this.recorder.recording();
    writeOutputFile(this.target.out, rec.text, 'recording', 0o644);
    if (this.target.secretsOut !== undefined) writeOutputFile(this.target.secretsOut, JSON.stringify(rec.secrets, null, 2) + '\n', 'secrets file', 0o600);
    this.written = this.recorder.events.length;
  }

  private tick(): void {
    try {
      this.flush();
    } catch (e) {
      // Serving goes on; the final write reports the error as the command's (exit 5).
      if (!this.warned) this.io.stderr(`chipwright sim: ${e instanceof Error ? e.message : String(e)}; retrying every second\n`);
      this.warned = true;
    }
  }

  /** Stops the timer and writes the last state; returns the number of steps written. */
  close(): number {
    clearInterval(this.timer);
    // A served card leaves the reader at the end: powered off, as the replay should end too.
    if (this.powered) this.recorder.powerOff();
    this.powered = false;
    this.written = -1;
    this.flush();
    return this.recorder.recording().steps;
  }
}

function recordedLine(target: SimRecordTarget, steps: number): string {
  return `chipwright sim: ${steps} step${steps === 1 ? '' : 's'} recorded to ${target.out} (starting card: ${target.cardOut}${target.secretsOut !== undefined ? `, redacted values: ${target.secretsOut}` : ''})\n`;
}

/** The lines of `lines` until `stop` aborts (then the input is left unread). */
async function* linesUntil(lines: AsyncIterable<string>, stop: AbortSignal | undefined): AsyncGenerator<string> {
  if (stop === undefined) {
    yield* lines;
    return;
  }
  const it = lines[Symbol.asyncIterator]();
  const aborted = new Promise<'stop'>((r) => {
    if (stop.aborted) r('stop');
    stop.addEventListener('abort', () => r('stop'), { once: true });
  });
  try {
    for (;;) {
      const next = await Promise.race([it.next(), aborted]);
      if (next === 'stop' || next.done === true) return;
      yield next.value;
    }
  } finally {
    await it.return?.();
  }
}

/**
 * Serves the card(s); `stop` ends a `--vpcd` session (the CLI aborts it on SIGINT/SIGTERM), and a
 * `--stdio` session ends with its input or with `stop`.
 */
export async function runSim(ctx: SimContext, io: CliIo, stop?: AbortSignal): Promise<number> {
  if (ctx.vpcd.length > 0) return runSimVpcd(ctx, io, stop);
  const applets = await loadAppletModules(ctx.appletModules);
  const file = CardFile.open(ctx.cardPath, io, { applets, ...(ctx.rng ? { rng: ctx.rng } : {}) });
  const target = ctx.record[0];
  const recording = target === undefined ? undefined : new SimRecording(target, file, ctx.rng, '--stdio', io);
  let transport: Transport = new InProcessTransport(file.card);
  if (recording !== undefined) transport = new RecordingTransport(transport, recording.recorder);
  if (ctx.trace) transport = new TracingTransport(transport, (line) => io.stderr(`${line}\n`));
  const out = new LineWriter(io.stdout);
  // The ATR is not printed on stdout, where every line answers a command (--trace shows it).
  await transport.connect();
  let rejected = 0;
  try {
    const r = await serveLines(transport, linesUntil(readLines(io.stdin), stop), {
      respond: (line) => out.line(line),
      onReject: (lineNo, reason) => io.stderr(`chipwright sim: stdin line ${lineNo}: ${reason}; not sent to the card\n`),
      afterCommand: () => file.saveIfChanged(),
    });
    rejected = r.rejected;
    // Stopped by a signal: the input is left unread, and an open pipe must not keep us alive.
    if (stop?.aborted === true) io.stdin.destroy();
  } finally {
    out.flush();
    if (file.card.isPowered) await transport.disconnect();
    file.saveIfChanged();
    if (recording !== undefined) io.stderr(recordedLine(target!, recording.close()));
  }
  return rejected > 0 ? EXIT.USAGE : EXIT.OK;
}

/** What `--vpcd` reports on standard error (power changes only with `--trace`). */
function vpcdEventLine(e: VpcdEvent, where: string, trace: boolean): string | undefined {
  switch (e.type) {
    case 'connected':
      return `${where}: connected; the card is in the reader`;
    case 'unreachable':
      return `${where}: waiting for pcscd's vpcd reader (${e.reason}); is pcscd running with vsmartcard-vpcd? retrying`;
    case 'disconnected':
      return `${where}: pcscd dropped the card (${e.reason}); reconnecting`;
    case 'no-poll':
      return `${where}: connected, but pcscd has not polled the card for ${e.afterMs} ms; another card may hold this reader slot`;
    case 'mute':
      return `${where}: the card went mute; reinserting it`;
    case 'unknown-control':
      return `${where}: ignoring unknown vpcd control byte ${e.value.toString(16).padStart(2, '0')}`;
    case 'power':
      return trace ? `${where}: power ${e.state}` : undefined;
  }
}

async function runSimVpcd(ctx: SimContext, io: CliIo, stop: AbortSignal | undefined): Promise<number> {
  const applets = await loadAppletModules(ctx.appletModules);
  const files = ctx.cardPaths.map((p) => CardFile.open(p, io, { applets, ...(ctx.rng ? { rng: ctx.rng } : {}) }));
  const recordings = ctx.record.map((t, i) => new SimRecording(t, files[i]!, ctx.rng, '--vpcd', io));
  const servers = files.map((file, i) => {
    const address = ctx.vpcd[i]!;
    const where = `chipwright sim: ${file.path} on ${formatVpcdAddress(address)}`;
    const prefix = files.length > 1 ? `[${formatVpcdAddress(address)}] ` : '';
    const recording = recordings[i];
    const trace = (command: Uint8Array, response: Uint8Array): void => {
      let secret = false;
      try {
        secret = command[1] === INS.GENERAL_AUTHENTICATE && commandHasSecretData(parseCommandApdu(command));
      } catch {
        // Not parsable: traceCommand shows the header only.
      }
      io.stderr(`${prefix}${traceCommand(command)}\n${prefix}${traceResponse(response, secret)}\n`);
    };
    return new VpcdCardServer(file.card, {
      ...address,
      // Saved before the response leaves: a host that saw the answer finds the state on disk.
      afterCommand: () => file.saveIfChanged(),
      onEvent: (e) => {
        recording?.onVpcdEvent(e, file.card.atr);
        const line = vpcdEventLine(e, where, ctx.trace);
        if (line !== undefined) io.stderr(`${line}\n`);
      },
      ...(ctx.trace || recording !== undefined
        ? {
            onExchange: (command: Uint8Array, response: Uint8Array, ms: number): void => {
              recording?.onExchange(command, response, ms);
              if (ctx.trace) trace(command, response);
            },
          }
        : {}),
    }).start();
  });
  io.stderr(`chipwright sim: serving ${files.length === 1 ? 'the card' : `${files.length} cards`} to pcscd; stop with Ctrl-C\n`);
  try {
    await new Promise<void>((resolve, reject) => {
      if (stop?.aborted === true) resolve();
      stop?.addEventListener('abort', () => resolve(), { once: true });
      // A server ends on its own only when saving failed: that error is the command's.
      for (const s of servers) s.finished.catch(reject);
    });
  } finally {
    await Promise.all(servers.map((s) => s.close()));
    for (const f of files) f.saveIfChanged();
    recordings.forEach((r, i) => io.stderr(recordedLine(ctx.record[i]!, r.close())));
  }
  return EXIT.OK;
}

export function registerSim(program: Command, cli: CliContext): Command {
  return program
    .command('sim')
    .description('serve a card image: over stdin/stdout (one APDU per line), or to pcscd as a virtual card (--vpcd)')
    .requiredOption('--card <file>', 'card image (saved whenever its state changes, and at the end); repeatable with --vpcd', collect)
    .addOption(appletOption())
    .option('--stdio', 'serve one card over standard input and output')
    .option('--vpcd <[host:]port>', 'serve the card in pcscd\'s vpcd reader listening there (first slot 35963); repeatable, one per --card', collect)
    .option('--rng <hex>', 'bytes the card\'s random generator hands out first (replay)')
    .option('--trace', 'decoded exchanges on standard error, secrets redacted')
    .option('--record <file>', 'write what passes to and from the card as a vector file for chipwright replay (and the starting card as FILE.card.json); one per --card', collect)
    .option('--secrets-out <file>', 'with --record: the redacted values (PINs, keys) as JSON, mode 600; without it they are not kept', collect)
    .option('--force', 'overwrite existing --record and --secrets-out files')
    .addHelpText(
      'after',
      '\n--stdio input: blank lines and lines starting with # are ignored. A line that is not hex is\n' +
        'not sent: it gets an error on stderr and an empty line on stdout, and the session goes on;\n' +
        'at the end of input the exit code is then 2 (usage) instead of 0.\n' +
        '\n--vpcd: needs pcscd with the vsmartcard-vpcd driver (Debian: apt install pcscd vsmartcard-vpcd),\n' +
        'whose reader "Virtual PCD 00 00" listens on 35963 and "Virtual PCD 00 01" on 35964. Runs until\n' +
        'SIGINT/SIGTERM and reconnects when pcscd restarts. Example, two cards in one process:\n' +
        '  chipwright sim --card a.json --vpcd 35963 --card b.json --vpcd 35964\n' +
        '\n--record FILE: the session as a vector file, rewritten once a second while APDUs arrive and\n' +
        'at the end (end of input, SIGINT, SIGTERM), so a kill loses at most the last second. Secrets\n' +
        'are redacted as by chipwright record. Replay it on a fresh copy of the starting card:\n' +
        '  chipwright sim --card c.json --vpcd 35963 --record s.vec --secrets-out s.secrets.json\n' +
        '  chipwright replay s.vec --secrets s.secrets.json',
    )
    .action(async (opts: RawOptions) => {
      const ctx = simContext(opts);
      // Killed by a signal, --stdio writes nothing more; with --record it ends as at end of input.
      if (ctx.vpcd.length === 0 && ctx.record.length === 0) {
        cli.exit(await runSim(ctx, cli.io));
        return;
      }
      // A served card runs until the process is told to stop.
      cli.exit(await untilStopped((stop) => runSim(ctx, cli.io, stop)));
    });
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
