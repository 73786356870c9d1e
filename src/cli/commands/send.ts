/**
 * `chipwright send --card card.json APDU...`: powers the card on, sends each APDU, prints one
 * response per line (upper-case hex, SW included), powers off and saves the image if its
 * non-volatile state changed.
 */
import type { Command } from 'commander';
import { InProcessTransport } from '../../transport/in-process.js';
import { TracingTransport } from '../../transport/trace.js';
import type { Transport } from '../../transport/types.js';
import { sendApdus, type DescribedExchange } from '../../script/exchange.js';
import { CardFile } from '../card-file.js';
import { EXIT } from '../exit-codes.js';
import { apduArguments, hexOption } from '../options.js';
import type { CliContext } from '../context.js';
import type { CliIo } from '../io.js';

interface RawOptions {
  card: string;
  rng?: string;
  trace?: boolean;
  json?: boolean;
}

export interface SendContext {
  readonly cardPath: string;
  readonly apdus: readonly Uint8Array[];
  readonly rng: Uint8Array | undefined;
  readonly trace: boolean;
  readonly json: boolean;
}

/** Validates arguments and options before the card is touched (exit 2 on bad hex). */
export function sendContext(apdus: readonly string[], o: RawOptions): SendContext {
  return {
    cardPath: o.card,
    apdus: apduArguments(apdus),
    rng: o.rng === undefined ? undefined : hexOption(o.rng, '--rng', 1),
    trace: o.trace === true,
    json: o.json === true,
  };
}

export async function runSend(ctx: SendContext, io: CliIo): Promise<number> {
  const file = CardFile.open(ctx.cardPath, io, ctx.rng ? { rng: ctx.rng } : {});
  let transport: Transport = new InProcessTransport(file.card);
  if (ctx.trace) transport = new TracingTransport(transport, (line) => io.stderr(`${line}\n`));
  let exchanges: DescribedExchange[] = [];
  await transport.connect();
  try {
    exchanges = await sendApdus(transport, ctx.apdus, (x) => {
      if (!ctx.json) io.stdout(`${x.response}\n`);
    });
  } finally {
    // Whatever the card committed before a failure is kept, as on a real card.
    if (file.card.isPowered) await transport.disconnect();
    file.saveIfChanged();
  }
  if (ctx.json) io.stdout(JSON.stringify(exchanges, null, 2) + '\n');
  return EXIT.OK;
}

export function registerSend(program: Command, cli: CliContext): Command {
  return program
    .command('send')
    .description('send APDUs to a card image and print the responses (hex, SW included)')
    .argument('<apdu...>', 'command APDUs in hex; quote one written with spaces ("00 A4 00 0C 02 3F 00")')
    .requiredOption('--card <file>', 'card image (saved back when its state changes)')
    .option('--rng <hex>', 'bytes the card\'s random generator hands out first (replay)')
    .option('--trace', 'decoded exchanges on standard error, secrets redacted')
    .option('--json', 'print [{command, response, sw, meaning}] (commands redacted)')
    .action(async (apdus: string[], opts: RawOptions) => {
      cli.exit(await runSend(sendContext(apdus, opts), cli.io));
    });
}
