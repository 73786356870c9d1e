/**
 * `chipwright card new --out card.json`: writes the image of a blank card — MF only, in
 * personalization state, opened with the transport key.
 */
import { Option, type Command } from 'commander';
import { bytesToHex } from '../../bytes/index.js';
import { parseAtr } from '../../atr/index.js';
import { AtrError } from '../../atr/index.js';
import { createCard } from '../../card/os.js';
import type { TransportKey } from '../../script/transport-auth.js';
import { EXIT } from '../exit-codes.js';
import { OutputFileError, UsageError } from '../errors.js';
import { imageKeyOf, writeCardImage } from '../card-file.js';
import { pathExists } from '../output-file.js';
import { hexOption, intOption, KEY_ALGORITHMS, transportKeyOption, type KeyAlgorithmOption } from '../options.js';
import type { CliContext } from '../context.js';
import type { CliIo } from '../io.js';

interface RawOptions {
  out: string;
  atr?: string;
  transportKey?: string;
  transportKeyAlgorithm?: KeyAlgorithmOption;
  serial?: string;
  maxChannels?: string;
  force?: boolean;
  json?: boolean;
}

export interface CardNewContext {
  readonly out: string;
  readonly atr: Uint8Array | undefined;
  readonly transportKey: TransportKey;
  readonly serial: Uint8Array | undefined;
  readonly maxChannels: number | undefined;
  readonly force: boolean;
  readonly json: boolean;
}

/** Validates the options (exit 2 on a bad value). */
export function cardNewContext(o: RawOptions): CardNewContext {
  let atr: Uint8Array | undefined;
  if (o.atr !== undefined) {
    atr = hexOption(o.atr, '--atr', 2, 33);
    try {
      parseAtr(atr);
    } catch (e) {
      if (e instanceof AtrError) throw new UsageError(`--atr: not a valid ATR: ${e.message}`);
      throw e;
    }
  }
  return {
    out: o.out,
    atr,
    transportKey: transportKeyOption(o.transportKey, o.transportKeyAlgorithm),
    serial: o.serial === undefined ? undefined : hexOption(o.serial, '--serial', 1, 32),
    maxChannels: o.maxChannels === undefined ? undefined : intOption(o.maxChannels, '--max-channels', 1, 20),
    force: o.force === true,
    json: o.json === true,
  };
}

export function runCardNew(ctx: CardNewContext, io: CliIo): number {
  if (!ctx.force && pathExists(ctx.out)) {
    throw new OutputFileError(`${ctx.out} already exists; pass --force to overwrite it`);
  }
  const card = createCard({
    ...(ctx.atr ? { atr: ctx.atr } : {}),
    ...(ctx.serial ? { serial: ctx.serial } : {}),
    ...(ctx.maxChannels !== undefined ? { maxChannels: ctx.maxChannels } : {}),
    transportKey: ctx.transportKey.value,
    transportKeyAlgorithm: ctx.transportKey.algorithm,
  });
  writeCardImage(card, ctx.out, imageKeyOf(io.env));
  const serial = bytesToHex(card.state.serial);
  const atr = bytesToHex(card.atr);
  if (ctx.json) {
    io.stdout(
      JSON.stringify(
        {
          path: ctx.out,
          serial,
          atr,
          lifeCycle: card.state.lifeCycle,
          transportKeyAlgorithm: ctx.transportKey.algorithm,
          maxChannels: card.state.maxChannels,
        },
        null,
        2,
      ) + '\n',
    );
  } else {
    io.stdout(`${ctx.out}\n  serial  ${serial}\n  ATR     ${atr}\n  blank card: MF only, ${card.state.lifeCycle} state\n`);
  }
  return EXIT.OK;
}

export function registerCardNew(card: Command, cli: CliContext): Command {
  return card
    .command('new')
    .description('create the image of a blank card (MF only, personalization state)')
    .requiredOption('--out <file>', 'card image to write')
    .option('--atr <hex>', 'ATR to answer with (default: T=1 with chipwright\'s historical bytes)')
    .option('--transport-key <hex>', 'transport key (default: the test key 404142…4F)')
    .addOption(new Option('--transport-key-algorithm <alg>', 'transport key algorithm').choices(KEY_ALGORITHMS).default('3des'))
    .option('--serial <hex>', 'chip serial number, 1..32 bytes (default: 8 random bytes)')
    .option('--max-channels <n>', 'logical channels, 1..20 (default 4)')
    .option('--force', 'overwrite an existing file')
    .option('--json', 'print path, serial and ATR as JSON')
    .action((opts: RawOptions) => {
      cli.exit(runCardNew(cardNewContext(opts), cli.io));
    });
}
