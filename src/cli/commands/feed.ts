/**
 * `chipwright feed --profile P --vpcd PORT [--keys F] [--out DIR] [--count N]`: blank simulated
 * cards of a profile fed one after another into a slot of pcscd's vpcd reader, for
 * `chipwright batch --reader` and any PC/SC personalization system to write (library:
 * `src/perso/feeder.ts`). A card is taken out once personalized (operational) and idle, saved as
 * `DIR/<serial>.json` with `--out`, and the next blank card goes in. One line per card on standard
 * output (`--json`: one JSON object per line). Runs until `--count` cards are done, or SIGINT/SIGTERM.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { bytesToHex } from '../../bytes/index.js';
import { saveCardImage } from '../../card/image.js';
import { VpcdCardFeeder } from '../../perso/feeder.js';
import { loadOperatorKeys, operatorKeyNames } from '../../perso/operator-keys.js';
import { loadProfile } from '../../perso/profile.js';
import { parseVpcdAddress } from '../../transport/vpcd.js';
import { imageKeyOf } from '../card-file.js';
import type { CliContext } from '../context.js';
import { untilStopped, type CliIo } from '../io.js';
import { EXIT } from '../exit-codes.js';
import { intOption } from '../options.js';
import { asInputError } from './perso.js';

interface RawOptions {
  profile: string;
  vpcd?: string;
  keys?: string;
  out?: string;
  count?: string;
  json?: boolean;
}

export async function runFeed(o: RawOptions, io: CliIo, stop: AbortSignal): Promise<number> {
  const address = parseVpcdAddress(o.vpcd ?? '35963');
  const count = o.count === undefined ? undefined : intOption(o.count, '--count', 1, 1_000_000);
  let profile;
  let operatorKeys;
  try {
    profile = loadProfile(o.profile);
    operatorKeys = loadOperatorKeys(o.keys, io.env, operatorKeyNames(profile));
  } catch (e) {
    throw asInputError(e);
  }
  if (o.out !== undefined) mkdirSync(o.out, { recursive: true });
  const imageKey = imageKeyOf(io.env);
  const feeder = new VpcdCardFeeder({
    profile,
    operatorKeys,
    host: address.host,
    port: address.port,
    ...(count !== undefined ? { count } : {}),
    onDone: (card, index) => {
      const serial = bytesToHex(card.state.serial);
      const path = o.out !== undefined ? join(o.out, `${serial}.json`) : undefined;
      if (path !== undefined) saveCardImage(card, path, imageKey !== undefined ? { imageKey } : {});
      if (o.json === true) io.stdout(`${JSON.stringify({ card: index + 1, serial, lifeCycle: card.state.lifeCycle, ...(path !== undefined ? { image: path } : {}) })}\n`);
      else io.stdout(`card ${index + 1} ${serial} ${card.state.lifeCycle}${path !== undefined ? ` → ${path}` : ''}\n`);
    },
  });
  if (o.json !== true) io.stderr(`feeding blank ${profile.name} cards into vpcd ${address.host}:${address.port}${count !== undefined ? ` (${count})` : ''}; Ctrl-C to stop\n`);
  stop.addEventListener('abort', () => void feeder.close(), { once: true });
  feeder.start();
  await feeder.finished;
  return EXIT.OK;
}

export function registerFeed(program: Command, cli: CliContext): Command {
  return program
    .command('feed')
    .description('feed blank simulated cards of a profile, one after another, into a vpcd reader slot (for batch --reader)')
    .requiredOption('--profile <file>', 'the card profile (its applets are installed on each blank card)')
    .option('--vpcd <[host:]port>', 'the vpcd slot (35963: "Virtual PCD 00 00", 35964: "Virtual PCD 00 01")', '35963')
    .option('--keys <file>', 'operator key material for install parameters (YAML/JSON { NAME: hex }, or CHIPWRIGHT_KEY_<NAME>)')
    .option('--out <dir>', 'save each personalized card as DIR/<serial>.json')
    .option('--count <n>', 'stop after N personalized cards')
    .option('--json', 'one JSON object per card')
    .addHelpText(
      'after',
      '\nA card leaves the slot once it is operational and the host has been quiet for 150 ms; the\n' +
        'slot then stays empty for 700 ms (pcscd notices) before the next blank card goes in.\n' +
        'Exit codes: 0 done or stopped, 2 usage, 3 a bad profile or key file.\n' +
        'Example, two readers for a batch:\n' +
        '  chipwright feed --profile profiles/icao-td1.yaml --vpcd 35963 &\n' +
        '  chipwright feed --profile profiles/icao-td1.yaml --vpcd 35964 &\n' +
        '  chipwright batch --profile profiles/icao-td1.yaml --data holders.csv --reader "Virtual PCD 00 00" --reader "Virtual PCD 00 01" --journal run.db --signer ds.pem',
    )
    .action(async (opts: RawOptions) => {
      cli.exit(await untilStopped((stop) => runFeed(opts, cli.io, stop)));
    });
}
