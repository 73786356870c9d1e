/**
 * `chipwright perso --profile P --data D (--card OUT.json | --reader NAME...) [--signer ...]`:
 * prepares the holder's card (pure), opens the personalization channel, runs the plan with a
 * progress line (step, bytes, APDUs), reads every file back, generates and certifies on-card keys,
 * ends operational, and prints one result line per card: `SERIAL HOLDER-ID MS ms`. An operational
 * card is refused before anything is written (exit 1).
 *
 * `--card OUT.json`: a simulated card — loaded when the image exists (it must still be blank),
 * else made for the profile (applets installed at the "factory"). `--reader NAME` (repeatable):
 * the card in each reader, one holder each, in the order of the data file.
 *
 * Also the shared option handling of `prepare` and `batch` ({@link persoInputs}).
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { HolderError } from '../../holder/validate.js';
import { InProcessTransport } from '../../transport/in-process.js';
import type { Transport } from '../../transport/types.js';
import type { CertifiedKey } from '../../lds/pki.js';
import { allApplets, createBlankCard, profileTransportKey } from '../../perso/applications.js';
import { PrepareError } from '../../perso/encoders.js';
import { readHolders } from '../../perso/holders.js';
import { ProfileError } from '../../perso/issues.js';
import { OperatorKeyError, loadOperatorKeys, operatorKeyNames, type OperatorKeys } from '../../perso/operator-keys.js';
import { buildPlan, type Plan } from '../../perso/plan.js';
import { pinMailerEntry, prepareCard } from '../../perso/prepare.js';
import { loadProfile, type Profile } from '../../perso/profile.js';
import { personalize, PersoError, type PersoResult } from '../../perso/runner.js';
import { SignerError, loadSigner } from '../../perso/signers.js';
import { parseAtr } from '../../atr/index.js';
import { CardFile, imageKeyOf, writeCardImage } from '../card-file.js';
import { pathExists } from '../output-file.js';
import { InputFileError, UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { PersoProgressLine } from '../progress.js';
import type { CliContext } from '../context.js';
import type { CliIo } from '../io.js';
import { withReader } from './readers.js';
import { appendFileSync, chmodSync, existsSync, writeFileSync } from 'node:fs';

export interface PersoInputOptions {
  profile: string;
  signer?: string;
  signerPassEnv?: string;
  signerPassFile?: string;
  issuer?: string;
  issuerPassEnv?: string;
  issuerPassFile?: string;
  keys?: string;
}

export interface PersoInputs {
  readonly profile: Profile;
  readonly signers: { 'document-signer'?: CertifiedKey; 'card-issuer'?: CertifiedKey };
  readonly operatorKeys: OperatorKeys;
}

/** Maps the library's input errors to the CLI's (exit 3), messages unchanged. */
export function asInputError(e: unknown): unknown {
  if (e instanceof ProfileError || e instanceof HolderError || e instanceof SignerError || e instanceof OperatorKeyError || e instanceof PrepareError) {
    return new InputFileError(e.message);
  }
  return e;
}

/** Profile, signers and operator keys from the options (every input problem is exit 3). */
export function persoInputs(o: PersoInputOptions, io: CliIo): PersoInputs {
  try {
    const profile = loadProfile(o.profile);
    const signers: { 'document-signer'?: CertifiedKey; 'card-issuer'?: CertifiedKey } = {};
    if (o.signer !== undefined) {
      signers['document-signer'] = loadSigner({ path: o.signer, ...(o.signerPassEnv !== undefined ? { passphraseEnv: o.signerPassEnv } : {}), ...(o.signerPassFile !== undefined ? { passphraseFile: o.signerPassFile } : {}) }, io.env);
    }
    if (o.issuer !== undefined) {
      signers['card-issuer'] = loadSigner({ path: o.issuer, ...(o.issuerPassEnv !== undefined ? { passphraseEnv: o.issuerPassEnv } : {}), ...(o.issuerPassFile !== undefined ? { passphraseFile: o.issuerPassFile } : {}) }, io.env);
    }
    const operatorKeys = loadOperatorKeys(o.keys, io.env, operatorKeyNames(profile));
    return { profile, signers, operatorKeys };
  } catch (e) {
    throw asInputError(e);
  }
}

/** The signer and key options, added to a command. */
export function addInputOptions(c: Command): Command {
  return c
    .requiredOption('--profile <file>', 'personalization profile (profiles/*.yaml)')
    .option('--signer <file>', 'document signer: PEM (certificate + key) or PKCS#12')
    .option('--signer-pass-env <var>', 'environment variable holding the signer passphrase')
    .option('--signer-pass-file <file>', 'file whose first line is the signer passphrase')
    .option('--issuer <file>', 'card issuer CA certifying on-card keys: PEM or PKCS#12')
    .option('--issuer-pass-env <var>', 'environment variable holding the issuer passphrase')
    .option('--issuer-pass-file <file>', 'file whose first line is the issuer passphrase')
    .option('--keys <file>', 'operator key material: YAML/JSON { NAME: hex } (or CHIPWRIGHT_KEY_<NAME>)');
}

/** `SERIAL HOLDER TIME`: the one line per card. */
export function resultLine(r: PersoResult): string {
  return `${r.serial} ${r.holderId} ${Math.round(r.ms)} ms (${r.apdus} APDUs, ${r.filesVerified} files verified, ${r.lifeCycle})`;
}

/** The progress bar (cli-progress, `../progress.ts`); here for the commands that import it from perso. */
export { PersoProgressLine };

function resolveApdu(profile: Profile, atr: Uint8Array): 'extended' | 'short' {
  if (profile.channel.apdu !== 'auto') return profile.channel.apdu;
  try {
    return parseAtr(atr).capabilities?.extendedLength === true ? 'extended' : 'short';
  } catch {
    return 'short';
  }
}

function appendMailer(path: string, line: object): void {
  if (!existsSync(path)) writeFileSync(path, '', { mode: 0o600 });
  chmodSync(path, 0o600);
  appendFileSync(path, `${JSON.stringify(line)}\n`);
}

interface RawOptions extends PersoInputOptions {
  data: string;
  card?: string;
  reader?: string[];
  mailer?: string;
  trace?: boolean;
  json?: boolean;
}

async function persoOne(t: Transport, atr: Uint8Array, plan: Plan, inputs: PersoInputs, io: CliIo, label: string): Promise<PersoResult> {
  const bar = new PersoProgressLine(io, label);
  try {
    return await personalize(t, plan, { transportKey: profileTransportKey(inputs.profile, inputs.operatorKeys), atr, onStep: (p) => bar.update(p) });
  } finally {
    bar.end();
  }
}

export async function runPerso(o: RawOptions, io: CliIo): Promise<number> {
  if ((o.card === undefined) === ((o.reader ?? []).length === 0)) throw new UsageError('give --card OUT.json (a simulated card) or --reader NAME (one or more), not both');
  const inputs = persoInputs(o, io);
  const targets = o.card !== undefined ? [o.card] : o.reader!;
  const results: object[] = [];
  let code: number = EXIT.OK;
  let n = 0;
  try {
    for await (const h of readHolders(o.data)) {
      if (n >= targets.length) break;
      const target = targets[n++]!;
      if (h.holder === undefined) throw new InputFileError(h.error ?? `${h.where}: unusable holder`);
      const prepared = prepareCard(inputs.profile, h.holder, { signers: inputs.signers, operatorKeys: inputs.operatorKeys, holderId: h.id });
      let r: PersoResult;
      try {
        if (o.card !== undefined) {
          const file = pathExists(target) ? CardFile.open(target, io, { applets: allApplets() }) : undefined;
          const card = file?.card ?? createBlankCard(inputs.profile, { operatorKeys: inputs.operatorKeys, holderId: h.id });
          const t = new InProcessTransport(card);
          const atr = await t.connect();
          try {
            r = await persoOne(t, atr, buildPlan(prepared, { apdu: resolveApdu(inputs.profile, atr) }), inputs, io, h.id);
          } finally {
            await t.disconnect();
            // The card is saved whatever happened: a spoiled card is a card too.
            writeCardImage(card, target, imageKeyOf(io.env));
          }
        } else {
          r = await withReader(target, io, o.trace === true, async (t) => {
            const atr = await t.reset();
            return persoOne(t, atr, buildPlan(prepared, { apdu: resolveApdu(inputs.profile, atr) }), inputs, io, h.id);
          });
        }
      } catch (e) {
        if (!(e instanceof PersoError)) throw e;
        io.stderr(`chipwright: ${target}: ${e.message}${e.written ? ' — the card is spoiled' : ''}\n`);
        results.push({ target, holderId: h.id, ok: false, reason: e.reason, step: e.step ?? null, serial: e.serial ?? null, spoiled: e.written });
        code = e.reason === 'card-removed' ? EXIT.CARD : EXIT.CHECK_FAILED;
        continue;
      }
      if (o.mailer !== undefined) {
        const m = pinMailerEntry(prepared, r.serial);
        if (m !== undefined) appendMailer(o.mailer, m);
      }
      results.push({ target, ok: true, serial: r.serial, holderId: r.holderId, ms: Math.round(r.ms), apdus: r.apdus, filesVerified: r.filesVerified, certificates: r.certificates.map((c) => c.file), lifeCycle: r.lifeCycle });
      if (o.json !== true) io.stdout(`${resultLine(r)}\n`);
    }
  } catch (e) {
    throw asInputError(e);
  }
  if (n === 0) throw new InputFileError(`${o.data}: no holder in the file`);
  if (o.json === true) io.stdout(JSON.stringify(results, null, 2) + '\n');
  return code;
}

export function registerPerso(program: Command, cli: CliContext): Command {
  const c = program.command('perso').description('personalize a card (simulated or in a reader) for a holder: channel, plan, read-back, keys, activation');
  addInputOptions(c)
    .requiredOption('--data <file>', 'holder data: YAML, JSON, JSON Lines or CSV (one holder per card, in order)')
    .option('--card <file>', 'a simulated card image: personalized in place, or made for the profile when absent')
    .addOption(new Option('--reader <name>', 'PC/SC reader (full name, index or part of a name); repeat for several cards').argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]))
    .option('--mailer <file>', 'PIN mailer output: generated PINs, JSON Lines, mode 0600 (the only place they are written)')
    .option('--trace', 'decoded exchanges on standard error, secrets redacted (readers)')
    .option('--json', 'print the results as JSON')
    .action(async (opts: RawOptions) => {
      cli.exit(await runPerso(opts, cli.io));
    });
  return c;
}
