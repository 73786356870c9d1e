/**
 * `chipwright send --card card.json APDU...`: powers the card on, sends each APDU, prints one
 * response per line (upper-case hex, SW included), powers off and saves the image if its
 * non-volatile state changed. `--reader NAME` sends to the card in a PC/SC reader instead.
 */
import type { Command } from 'commander';
import { InProcessTransport } from '../../transport/in-process.js';
import { TracingTransport } from '../../transport/trace.js';
import type { Transport } from '../../transport/types.js';
import { sendApdus, type DescribedExchange } from '../../script/exchange.js';
import { loadAppletModules } from '../../apps/modules.js';
import { CardFile } from '../card-file.js';
import { readerOrCard, withReader, type CardTarget } from './readers.js';
import { EXIT } from '../exit-codes.js';
import { apduArguments, appletOption, hexOption } from '../options.js';
import type { CliContext } from '../context.js';
import type { CliIo } from '../io.js';

interface RawOptions {
  card?: string;
  reader?: string;
  applet?: string[];
  rng?: string;
  trace?: boolean;
  json?: boolean;
}

export interface SendContext {
  /** A card image (`--card`) or a PC/SC reader (`--reader`). */
  readonly target: CardTarget;
  /** `--applet` modules, loaded before the card image. */
  readonly appletModules: readonly string[];
  readonly apdus: readonly Uint8Array[];
  readonly rng: Uint8Array | undefined;
  readonly trace: boolean;
  readonly json: boolean;
}

/** Validates arguments and options before the card is touched (exit 2 on bad hex). */
export function sendContext(apdus: readonly string[], o: RawOptions): SendContext {
  return {
    target: readerOrCard(o),
    appletModules: o.applet ?? [],
    apdus: apduArguments(apdus),
    rng: o.rng === undefined ? undefined : hexOption(o.rng, '--rng', 1),
    trace: o.trace === true,
    json: o.json === true,
  };
}

export async function runSend(ctx: SendContext, io: CliIo): Promise<number> {
  let exchanges: DescribedExchange[] = [];
  const send = async (transport: Transport): Promise<void> => {
    exchanges = await sendApdus(transport, ctx.apdus, (x) => {
      if (!ctx.json) io.stdout(`${x.response}\n`);
    });
  };
  if (ctx.target.kind === 'reader') {
    await withReader(ctx.target.reader, io, ctx.trace, send);
    if (ctx.json) io.stdout(JSON.stringify(exchanges, null, 2) + '\n');
    return EXIT.OK;
  }
  const applets = await loadAppletModules(ctx.appletModules);
  const file = CardFile.open(ctx.target.path, io, { applets, ...(ctx.rng ? { rng: ctx.rng } : {}) });
  let transport: Transport = new InProcessTransport(file.card);
  if (ctx.trace) transport = new TracingTransport(transport, (line) => io.stderr(`${line}\n`));
  await transport.connect();
  try {
    await send(transport);
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
    .description('send APDUs to a card image or a card in a reader and print the responses (hex, SW included)')
    .argument('<apdu...>', 'command APDUs in hex; quote one written with spaces ("00 A4 00 0C 02 3F 00")')
    .option('--card <file>', 'card image (saved back when its state changes)')
    .option('--reader <name>', 'instead of --card: the card in this PC/SC reader (name, part of it, or index; see chipwright readers)')
    .addOption(appletOption())
    .option('--rng <hex>', 'bytes the card\'s random generator hands out first (replay)')
    .option('--trace', 'decoded exchanges on standard error, secrets redacted')
    .option('--json', 'print [{command, response, sw, meaning}] (commands redacted)')
    .action(async (apdus: string[], opts: RawOptions) => {
      cli.exit(await runSend(sendContext(apdus, opts), cli.io));
    });
}
