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
 */
import type { Command } from 'commander';
import { InProcessTransport } from '../../transport/in-process.js';
import { TracingTransport, traceCommand, traceResponse, commandHasSecretData } from '../../transport/trace.js';
import { formatVpcdAddress, parseVpcdAddress, VpcdAddressError, VpcdCardServer, type VpcdAddress, type VpcdEvent } from '../../transport/vpcd.js';
import { parseCommandApdu } from '../../apdu/command.js';
import { INS } from '../../apdu/ins.js';
import type { Transport } from '../../transport/types.js';
import { serveLines } from '../../script/line-session.js';
import { loadAppletModules } from '../../apps/modules.js';
import { CardFile } from '../card-file.js';
import { EXIT } from '../exit-codes.js';
import { UsageError } from '../errors.js';
import { appletOption, hexOption } from '../options.js';
import { LineWriter, readLines, type CliIo } from '../io.js';
import type { CliContext } from '../context.js';

interface RawOptions {
  card: string[];
  applet?: string[];
  stdio?: boolean;
  vpcd?: string[];
  rng?: string;
  trace?: boolean;
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
  };
}

/**
 * Serves the card(s); `stop` ends a `--vpcd` session (the CLI aborts it on SIGINT/SIGTERM),
 * `--stdio` ends with its input.
 */
export async function runSim(ctx: SimContext, io: CliIo, stop?: AbortSignal): Promise<number> {
  if (ctx.vpcd.length > 0) return runSimVpcd(ctx, io, stop);
  const applets = await loadAppletModules(ctx.appletModules);
  const file = CardFile.open(ctx.cardPath, io, { applets, ...(ctx.rng ? { rng: ctx.rng } : {}) });
  let transport: Transport = new InProcessTransport(file.card);
  if (ctx.trace) transport = new TracingTransport(transport, (line) => io.stderr(`${line}\n`));
  const out = new LineWriter(io.stdout);
  // The ATR is not printed on stdout, where every line answers a command (--trace shows it).
  await transport.connect();
  let rejected = 0;
  try {
    const r = await serveLines(transport, readLines(io.stdin), {
      respond: (line) => out.line(line),
      onReject: (lineNo, reason) => io.stderr(`chipwright sim: stdin line ${lineNo}: ${reason}; not sent to the card\n`),
      afterCommand: () => file.saveIfChanged(),
    });
    rejected = r.rejected;
  } finally {
    out.flush();
    if (file.card.isPowered) await transport.disconnect();
    file.saveIfChanged();
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
  const servers = files.map((file, i) => {
    const address = ctx.vpcd[i]!;
    const where = `chipwright sim: ${file.path} on ${formatVpcdAddress(address)}`;
    const prefix = files.length > 1 ? `[${formatVpcdAddress(address)}] ` : '';
    return new VpcdCardServer(file.card, {
      ...address,
      // Saved before the response leaves: a host that saw the answer finds the state on disk.
      afterCommand: () => file.saveIfChanged(),
      onEvent: (e) => {
        const line = vpcdEventLine(e, where, ctx.trace);
        if (line !== undefined) io.stderr(`${line}\n`);
      },
      ...(ctx.trace
        ? {
            onExchange: (command: Uint8Array, response: Uint8Array): void => {
              let secret = false;
              try {
                secret = command[1] === INS.GENERAL_AUTHENTICATE && commandHasSecretData(parseCommandApdu(command));
              } catch {
                // Not parsable: traceCommand shows the header only.
              }
              io.stderr(`${prefix}${traceCommand(command)}\n${prefix}${traceResponse(response, secret)}\n`);
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
    .addHelpText(
      'after',
      '\n--stdio input: blank lines and lines starting with # are ignored. A line that is not hex is\n' +
        'not sent: it gets an error on stderr and an empty line on stdout, and the session goes on;\n' +
        'at the end of input the exit code is then 2 (usage) instead of 0.\n' +
        '\n--vpcd: needs pcscd with the vsmartcard-vpcd driver (Debian: apt install pcscd vsmartcard-vpcd),\n' +
        'whose reader "Virtual PCD 00 00" listens on 35963 and "Virtual PCD 00 01" on 35964. Runs until\n' +
        'SIGINT/SIGTERM and reconnects when pcscd restarts. Example, two cards in one process:\n' +
        '  chipwright sim --card a.json --vpcd 35963 --card b.json --vpcd 35964',
    )
    .action(async (opts: RawOptions) => {
      const ctx = simContext(opts);
      if (ctx.vpcd.length === 0) {
        cli.exit(await runSim(ctx, cli.io));
        return;
      }
      // CliIo has no signal seam yet; a served card runs until the process is told to stop.
      const stop = new AbortController();
      const onSignal = (): void => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        cli.exit(await runSim(ctx, cli.io, stop.signal));
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
