/**
 * `chipwright sim --card card.json --stdio`: the card as a line service on standard input and
 * output (protocol: `src/script/line-session.ts`). One response line per command line; a line
 * that is not hex gets an error on standard error and an empty response line, and the session
 * goes on (exit 2 at the end says input was rejected). The image is saved after every command
 * that changed non-volatile state — so killing the process loses nothing the card committed —
 * and at the end of input.
 */
import type { Command } from 'commander';
import { InProcessTransport } from '../../transport/in-process.js';
import { TracingTransport } from '../../transport/trace.js';
import type { Transport } from '../../transport/types.js';
import { serveLines } from '../../script/line-session.js';
import { CardFile } from '../card-file.js';
import { EXIT } from '../exit-codes.js';
import { hexOption } from '../options.js';
import { LineWriter, readLines, type CliIo } from '../io.js';
import type { CliContext } from '../context.js';

interface RawOptions {
  card: string;
  stdio: boolean;
  rng?: string;
  trace?: boolean;
}

export interface SimContext {
  readonly cardPath: string;
  readonly rng: Uint8Array | undefined;
  readonly trace: boolean;
}

export function simContext(o: RawOptions): SimContext {
  return { cardPath: o.card, rng: o.rng === undefined ? undefined : hexOption(o.rng, '--rng', 1), trace: o.trace === true };
}

export async function runSim(ctx: SimContext, io: CliIo): Promise<number> {
  const file = CardFile.open(ctx.cardPath, io, ctx.rng ? { rng: ctx.rng } : {});
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

export function registerSim(program: Command, cli: CliContext): Command {
  return program
    .command('sim')
    .description('serve a card image: one APDU (hex) per stdin line, one response per stdout line')
    .requiredOption('--card <file>', 'card image (saved whenever its state changes, and at the end)')
    .requiredOption('--stdio', 'serve over standard input and output (the one interface so far)')
    .option('--rng <hex>', 'bytes the card\'s random generator hands out first (replay)')
    .option('--trace', 'decoded exchanges on standard error, secrets redacted')
    .addHelpText(
      'after',
      '\nInput: blank lines and lines starting with # are ignored. A line that is not hex is not\n' +
        'sent: it gets an error on stderr and an empty line on stdout, and the session goes on;\n' +
        'at the end of input the exit code is then 2 (usage) instead of 0.',
    )
    .action(async (opts: RawOptions) => {
      cli.exit(await runSim(simContext(opts), cli.io));
    });
}
