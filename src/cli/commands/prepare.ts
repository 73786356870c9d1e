/**
 * `chipwright prepare --profile P --data D --out DIR [--signer …] [--apdu extended|short]`: data
 * preparation only (no card): for each holder, the personalization plan as an APDU script
 * (`DIR/<holder-id>.apdu`, secrets as placeholders) and, with `--mailer`, the generated PINs.
 * `--blank-card OUT.json` instead writes a blank card of the profile (the factory state a reader's
 * card must be in). `--encoders` lists the encoders profiles can name.
 */
import { mkdirSync, writeFileSync, appendFileSync, chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { createBlankCard } from '../../perso/applications.js';
import { encoders } from '../../perso/encoders.js';
import { readHolders } from '../../perso/holders.js';
import { buildPlan, planApduCount, renderScript } from '../../perso/plan.js';
import { pinMailerEntry, prepareCard } from '../../perso/prepare.js';
import { PrepareError } from '../../perso/encoders.js';
import { imageKeyOf, writeCardImage } from '../card-file.js';
import { OutputFileError, UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import type { CliContext } from '../context.js';
import type { CliIo } from '../io.js';
import { addInputOptions, asInputError, persoInputs, type PersoInputOptions } from './perso.js';

interface RawOptions extends PersoInputOptions {
  data?: string;
  out?: string;
  apdu?: string;
  mailer?: string;
  blankCard?: string;
  json?: boolean;
}

export async function runPrepare(o: RawOptions, io: CliIo): Promise<number> {
  const inputs = persoInputs(o, io);
  if (o.blankCard !== undefined) {
    writeCardImage(createBlankCard(inputs.profile, { operatorKeys: inputs.operatorKeys }), o.blankCard, imageKeyOf(io.env));
    io.stdout(`blank ${inputs.profile.name} card: ${o.blankCard}\n`);
    return EXIT.OK;
  }
  if (o.data === undefined || o.out === undefined) throw new UsageError('give --data FILE and --out DIR (or --blank-card OUT.json)');
  const apdu = o.apdu ?? (inputs.profile.channel.apdu === 'short' ? 'short' : 'extended');
  if (apdu !== 'extended' && apdu !== 'short') throw new UsageError(`--apdu: expected extended or short, got "${apdu}"`);
  try {
    mkdirSync(o.out, { recursive: true });
  } catch (e) {
    throw new OutputFileError(`--out ${o.out}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  let ok = 0;
  let bad = 0;
  const out: object[] = [];
  for await (const h of readHolders(o.data)) {
    if (h.holder === undefined) {
      io.stderr(`chipwright: ${h.error}\n`);
      bad++;
      continue;
    }
    try {
      const prepared = prepareCard(inputs.profile, h.holder, { signers: inputs.signers, operatorKeys: inputs.operatorKeys, holderId: h.id });
      const plan = buildPlan(prepared, { apdu });
      const file = join(o.out, `${h.id.replace(/[^A-Za-z0-9._-]/g, '_')}.apdu`);
      writeFileSync(file, renderScript(plan));
      if (o.mailer !== undefined) {
        const m = pinMailerEntry(prepared);
        if (m !== undefined) {
          if (!existsSync(o.mailer)) writeFileSync(o.mailer, '', { mode: 0o600 });
          chmodSync(o.mailer, 0o600);
          appendFileSync(o.mailer, `${JSON.stringify(m)}\n`);
        }
      }
      out.push({ holderId: h.id, script: file, steps: plan.steps.length, apdus: planApduCount(plan) });
      if (o.json !== true) io.stdout(`${h.id} ${file} (${plan.steps.length} steps, ${planApduCount(plan)} APDUs)\n`);
      ok++;
    } catch (e) {
      if (!(e instanceof PrepareError)) throw asInputError(e);
      io.stderr(`chipwright: ${h.where}: ${e.message}\n`);
      bad++;
    }
  }
  if (o.json === true) io.stdout(JSON.stringify(out, null, 2) + '\n');
  if (ok === 0 && bad === 0) throw new UsageError(`${o.data}: no holders`);
  return bad > 0 ? EXIT.INPUT : EXIT.OK;
}

export function registerPrepare(program: Command, cli: CliContext): Command {
  const c = program.command('prepare').description('data preparation without a card: holder data → signed files → plan → APDU scripts');
  addInputOptions(c)
    .option('--data <file>', 'holder data: YAML, JSON, JSON Lines or CSV')
    .option('--out <dir>', 'directory for the APDU scripts (one per holder)')
    .option('--apdu <mode>', 'extended (default when the profile allows) or short')
    .option('--mailer <file>', 'PIN mailer output (generated PINs, JSON Lines, mode 0600)')
    .option('--blank-card <file>', 'write a blank card of the profile (applets installed, nothing personal) and stop')
    .option('--json', 'print the results as JSON')
    .action(async (opts: RawOptions) => {
      cli.exit(await runPrepare(opts, cli.io));
    });
  program
    .command('encoders')
    .description('the encoders a profile can name (content.encoder)')
    .action(() => {
      for (const e of encoders()) cli.io.stdout(`${e.name.padEnd(12)} ${e.description}\n`);
      cli.exit(EXIT.OK);
    });
  return c;
}
