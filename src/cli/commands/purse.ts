/**
 * `chipwright purse install|balance|log|debit|credit`: the stored-value purse (src/apps/purse/)
 * from the command line, against a card image (`--card FILE`, saved back when the card's state
 * changed) or a card in a PC/SC reader (`--reader NAME`). Every subcommand builds a typed context
 * from its options, then runs library calls (`src/terminal/purse.ts`) over a {@link Transport}, so
 * any transport works the same.
 *
 * Secrets never come from the command line and are never printed:
 * - keys: `--key-file FILE`, a JSON object `{"purchase": "hex", "load": "hex", "pin": "1234"}` or a
 *   file holding just the hex of the key the command needs; else the environment variables
 *   `CHIPWRIGHT_PURSE_PURCHASE_KEY` / `CHIPWRIGHT_PURSE_LOAD_KEY` (hex);
 * - the holder PIN (debits above the purse's PIN threshold): `"pin"` in the key file or
 *   `CHIPWRIGHT_PURSE_PIN` (the PIN's digits).
 *
 * Exit codes: 0 done; 1 the card refused (its status word and what it means on standard error) or
 * its MAC did not verify; 2 usage; 3 a missing or invalid card image, spec or key file; 4 the card
 * stopped answering; 5 the image could not be saved.
 */
import type { Command } from 'commander';
import { bytesToHex, hexToBytes, u16Hex, zeroize } from '../../bytes/index.js';
import { SW, StatusWordError } from '../../apdu/status.js';
import { dfByExactName } from '../../card/fs/tree.js';
import type { AppletFactory } from '../../card/applet.js';
import { loadAppletModules } from '../../apps/modules.js';
import {
  PURSE_AID,
  PURSE_APPLET,
  PurseParamsError,
  formatAmount,
  isoDate,
  isoTime,
  purseInstallParams,
  purseSpecFromJson,
  resolvePurseSpec,
  type PurseBalance,
  type PurseLogEntry,
} from '../../apps/purse/index.js';
import {
  PurseError,
  purseLoad,
  pursePurchase,
  readPurseBalance,
  readPurseLog,
  selectPurse,
  type PurseTransaction,
} from '../../terminal/purse.js';
import { InProcessTransport } from '../../transport/in-process.js';
import { TracingTransport } from '../../transport/trace.js';
import type { Transport } from '../../transport/types.js';
import { CardFile, readInputFile } from '../card-file.js';
import { EXIT } from '../exit-codes.js';
import { InputFileError, UsageError } from '../errors.js';
import { appletOption, hexOption, intOption } from '../options.js';
import { readerOrCard, withReader, type CardTarget } from './readers.js';
import type { CliContext } from '../context.js';
import type { CliIo } from '../io.js';

interface RawOptions {
  card?: string;
  reader?: string;
  applet?: string[];
  aid?: string;
  amount?: string;
  keyFile?: string;
  terminalId?: string;
  spec?: string;
  trace?: boolean;
  json?: boolean;
}

type Operation = 'balance' | 'log' | 'debit' | 'credit';

/** Everything a purse subcommand needs, validated before the card is touched. */
export interface PurseContext {
  readonly operation: Operation;
  readonly target: CardTarget;
  readonly appletModules: readonly string[];
  readonly aid: Uint8Array;
  /** debit / credit only. */
  readonly amount: number | undefined;
  readonly key: Uint8Array | undefined;
  readonly pin: Uint8Array | undefined;
  readonly terminalId: Uint8Array;
  readonly trace: boolean;
  readonly json: boolean;
}

const ENV = {
  purchase: 'CHIPWRIGHT_PURSE_PURCHASE_KEY',
  load: 'CHIPWRIGHT_PURSE_LOAD_KEY',
  pin: 'CHIPWRIGHT_PURSE_PIN',
} as const;

interface Secrets {
  purchase?: Uint8Array;
  load?: Uint8Array;
  pin?: Uint8Array;
}

/** Reads `--key-file`: JSON `{"purchase", "load", "pin"}` or bare hex (the key `need`s). */
function readKeyFile(path: string, need: 'purchase' | 'load' | undefined): Secrets {
  const text = readInputFile(path, 'key file').trim();
  const hexOnly = /^[0-9A-Fa-f\s]+$/.test(text);
  if (hexOnly) {
    if (need === undefined) return {};
    return { [need]: hexToBytes(text, `key file ${path}`) };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new InputFileError(`key file ${path}: neither JSON ({"purchase": "hex", "load": "hex", "pin": "1234"}) nor the hex of one key`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new InputFileError(`key file ${path}: expected a JSON object {"purchase": "hex", "load": "hex", "pin": "1234"}`);
  }
  const out: Secrets = {};
  for (const [name, v] of Object.entries(doc as Record<string, unknown>)) {
    if (name !== 'purchase' && name !== 'load' && name !== 'pin') {
      throw new InputFileError(`key file ${path}: "${name}": unknown entry (expected "purchase", "load", "pin")`);
    }
    if (typeof v !== 'string') throw new InputFileError(`key file ${path}: "${name}": expected a string`);
    if (name === 'pin') {
      if (!/^\d{4,12}$/.test(v)) throw new InputFileError(`key file ${path}: "pin": expected 4..12 digits`);
      out.pin = new TextEncoder().encode(v);
    } else {
      // The message names the entry, never the value.
      if (!/^[0-9A-Fa-f\s]+$/.test(v)) throw new InputFileError(`key file ${path}: "${name}": not hex`);
      out[name] = hexToBytes(v, name);
    }
  }
  return out;
}

function envSecret(io: CliIo, name: keyof typeof ENV): Uint8Array | undefined {
  const v = io.env[ENV[name]];
  if (v === undefined || v === '') return undefined;
  if (name === 'pin') {
    if (!/^\d{4,12}$/.test(v)) throw new UsageError(`${ENV.pin}: expected 4..12 digits`);
    return new TextEncoder().encode(v);
  }
  if (!/^[0-9A-Fa-f\s]+$/.test(v)) throw new UsageError(`${ENV[name]}: not hex`);
  return hexToBytes(v, ENV[name]);
}

/** Validates a subcommand's options (exit 2 / 3 before anything is sent). */
export function purseContext(operation: Operation, o: RawOptions, io: CliIo): PurseContext {
  const target = readerOrCard(o);
  const money = operation === 'debit' || operation === 'credit';
  if (!money && o.amount !== undefined) throw new UsageError(`--amount applies to purse debit and purse credit, not purse ${operation}`);
  let amount: number | undefined;
  let key: Uint8Array | undefined;
  let pin: Uint8Array | undefined;
  if (money) {
    if (o.amount === undefined) throw new UsageError(`purse ${operation} needs --amount N (minor units of the purse's currency, e.g. cents)`);
    amount = intOption(o.amount, '--amount', 1, 0x7fffffff);
    const need = operation === 'debit' ? 'purchase' : 'load';
    const file = o.keyFile === undefined ? {} : readKeyFile(o.keyFile, need);
    key = file[need] ?? envSecret(io, need);
    if (key === undefined) {
      throw new UsageError(`purse ${operation} needs the ${need} key: --key-file FILE ({"${need}": "hex"}) or ${ENV[need]}`);
    }
    if (![16, 24, 32].includes(key.length)) throw new UsageError(`the ${need} key: expected an AES key of 16, 24 or 32 bytes, got ${key.length}`);
    pin = file.pin ?? envSecret(io, 'pin');
  } else if (o.keyFile !== undefined) {
    throw new UsageError(`--key-file applies to purse debit and purse credit, not purse ${operation}`);
  }
  return {
    operation,
    target,
    appletModules: o.applet ?? [],
    aid: o.aid === undefined ? PURSE_AID : hexOption(o.aid, '--aid', 5, 16),
    amount,
    key,
    pin,
    terminalId: o.terminalId === undefined ? new Uint8Array(4) : hexOption(o.terminalId, '--terminal-id', 4, 4),
    trace: o.trace === true,
    json: o.json === true,
  };
}

/** The purse type plus the `--applet` modules' types (a module's own "purse" wins). */
async function appletTypes(modules: readonly string[]): Promise<AppletFactory[]> {
  const loaded = await loadAppletModules(modules);
  return loaded.some((f) => f.type === PURSE_APPLET.type) ? loaded : [PURSE_APPLET, ...loaded];
}

/**
 * Runs `body` over the target's transport: a card image (powered on, traced with `--trace`,
 * powered off and saved if its state changed — also after a failure, as a real card keeps what it
 * committed) or a reader.
 */
async function onTarget<T>(ctx: Pick<PurseContext, 'target' | 'appletModules' | 'trace'>, io: CliIo, body: (t: Transport) => Promise<T>): Promise<T> {
  if (ctx.target.kind === 'reader') return withReader(ctx.target.reader, io, ctx.trace, body);
  const file = CardFile.open(ctx.target.path, io, { applets: await appletTypes(ctx.appletModules) });
  let t: Transport = new InProcessTransport(file.card);
  if (ctx.trace) t = new TracingTransport(t, (line) => io.stderr(`${line}\n`));
  await t.connect();
  try {
    return await body(t);
  } finally {
    if (file.card.isPowered) await t.disconnect();
    file.saveIfChanged();
  }
}

function money(b: Pick<PurseBalance, 'exponent' | 'currency'>, minor: number): string {
  return `${formatAmount(minor, b.exponent)}`;
}

function logLine(e: PurseLogEntry, b: PurseBalance): string {
  const amount = e.type === 'trip' ? `${e.amount} trip${e.amount === 1 ? '' : 's'}` : money(b, e.amount);
  const after = e.type === 'trip' ? `${e.after} left (contract ${e.contract})` : money(b, e.after);
  return `${String(e.sequence).padStart(5)}  ${isoDate(e.dateStamp)} ${isoTime(e.timeStamp)}  ${e.type.padEnd(6)}  ${amount.padStart(10)}  ${after.padStart(10)}  ${bytesToHex(e.terminalId)}  ${e.transactionCounter}`;
}

function logJson(e: PurseLogEntry): object {
  return {
    sequence: e.sequence,
    type: e.type,
    amount: e.amount,
    after: e.after,
    ...(e.type === 'trip' ? { contract: e.contract } : {}),
    terminalId: bytesToHex(e.terminalId),
    date: isoDate(e.dateStamp),
    time: isoTime(e.timeStamp),
    transactionCounter: e.transactionCounter,
  };
}

/** Runs balance, log, debit or credit; returns the exit code. */
export async function runPurse(ctx: PurseContext, io: CliIo): Promise<number> {
  try {
    return await onTarget(ctx, io, async (t) => {
      await selectPurse(t, ctx.aid);
      const before = await readPurseBalance(t);
      switch (ctx.operation) {
        case 'balance': {
          if (ctx.json) io.stdout(JSON.stringify({ ...before, formatted: money(before, before.balance) }, null, 2) + '\n');
          else {
            io.stdout(
              `balance  ${money(before, before.balance)} (currency ${before.currency})\n` +
                `maximum  ${money(before, before.maximum)}\n` +
                `counter  ${before.transactionCounter}\n`,
            );
          }
          return EXIT.OK;
        }
        case 'log': {
          const log = await readPurseLog(t);
          if (ctx.json) io.stdout(JSON.stringify(log.map(logJson), null, 2) + '\n');
          else if (log.length === 0) io.stdout('no transactions\n');
          else io.stdout(`  seq  date       time   type        amount       after  terminal  TC\n${log.map((e) => logLine(e, before)).join('\n')}\n`);
          return EXIT.OK;
        }
        default: {
          const opts = { key: ctx.key!, amount: ctx.amount!, terminalId: ctx.terminalId, ...(ctx.pin ? { pin: ctx.pin } : {}) };
          const r: PurseTransaction = ctx.operation === 'debit' ? await pursePurchase(t, opts) : await purseLoad(t, opts);
          if (ctx.json) {
            io.stdout(JSON.stringify({ ...r, cardMac: bytesToHex(r.cardMac), verified: true, currency: before.currency, exponent: before.exponent }, null, 2) + '\n');
          } else {
            io.stdout(
              `${r.operation === 'debit' ? 'debited' : 'credited'} ${money(before, r.amount)}; balance ${money(before, r.balance)} (currency ${before.currency}); ` +
                `transaction ${r.transactionCounter}, card MAC verified\n`,
            );
          }
          return EXIT.OK;
        }
      }
    });
  } catch (e) {
    // A refusal or a failed MAC is the card's answer, not a bug: one line and exit 1.
    if (!(e instanceof PurseError)) throw e;
    io.stderr(`chipwright: purse ${ctx.operation}: ${e.message}\n`);
    if (ctx.json) io.stdout(JSON.stringify({ error: e.reason, message: e.message, ...(e.sw !== undefined ? { sw: u16Hex(e.sw) } : {}) }, null, 2) + '\n');
    return EXIT.CHECK_FAILED;
  } finally {
    if (ctx.key) zeroize(ctx.key);
    if (ctx.pin) zeroize(ctx.pin);
  }
}

// --- purse install -------------------------------------------------------------------------------

export interface PurseInstallContext {
  readonly cardPath: string;
  readonly specPath: string;
  readonly appletModules: readonly string[];
  readonly aid: Uint8Array;
  readonly json: boolean;
}

export function purseInstallContext(o: RawOptions & { card: string; spec: string }): PurseInstallContext {
  return { cardPath: o.card, specPath: o.spec, appletModules: o.applet ?? [], aid: o.aid === undefined ? PURSE_AID : hexOption(o.aid, '--aid', 5, 16), json: o.json === true };
}

/** Installs a purse from a JSON spec into a card image and saves it; prints no secret. */
export async function runPurseInstall(ctx: PurseInstallContext, io: CliIo): Promise<number> {
  const text = readInputFile(ctx.specPath, 'spec file');
  let params: Uint8Array;
  let summary: object;
  try {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new InputFileError(`spec file ${ctx.specPath}: not JSON`);
    }
    const spec = resolvePurseSpec(purseSpecFromJson(doc, `spec file ${ctx.specPath}`));
    params = purseInstallParams(spec);
    summary = {
      currency: spec.currency,
      exponent: spec.exponent,
      maximum: spec.maximum,
      initialBalance: spec.initialBalance,
      pinThreshold: spec.pinThreshold ?? null,
      keys: [...(spec.loadKey ? ['load'] : []), ...(spec.purchaseKey ? ['purchase'] : [])],
      pin: spec.pin !== undefined,
      logSize: spec.logSize,
      maxSessionOps: spec.maxSessionOps,
      contracts: spec.contracts.length,
    };
  } catch (e) {
    if (e instanceof PurseParamsError) throw new InputFileError(e.message);
    throw e;
  }
  const file = CardFile.open(ctx.cardPath, io, { applets: await appletTypes(ctx.appletModules) });
  const aidHex = bytesToHex(ctx.aid);
  try {
    file.card.install(ctx.aid, PURSE_APPLET.type, params);
  } catch (e) {
    if (e instanceof StatusWordError && e.sw === SW.DF_NAME_EXISTS) {
      throw new UsageError(`--aid ${aidHex}: ${ctx.cardPath} already has an applet or DF with this AID; choose another AID`);
    }
    throw e;
  } finally {
    zeroize(params);
  }
  file.saveIfChanged();
  const df = dfByExactName(file.card.state.mf, ctx.aid)!;
  const result = { path: ctx.cardPath, aid: aidHex, fid: u16Hex(df.fid), ...summary };
  if (ctx.json) io.stdout(JSON.stringify(result, null, 2) + '\n');
  else io.stdout(`${ctx.cardPath}\n  purse   ${aidHex} (DF ${result.fid})\n  ${JSON.stringify(summary)}\n`);
  return EXIT.OK;
}

// --- registration --------------------------------------------------------------------------------

function targetOptions(c: Command): Command {
  return c
    .option('--card <file>', 'card image (saved back when its state changes)')
    .option('--reader <name>', 'instead of --card: the card in this PC/SC reader (see chipwright readers)')
    .addOption(appletOption('applet module defining other applet types the card image uses; repeatable'))
    .option('--aid <hex>', `the purse's AID (default ${bytesToHex(PURSE_AID)})`)
    .option('--trace', 'decoded exchanges on standard error, secrets redacted')
    .option('--json', 'print the result as JSON');
}

const KEY_HELP =
  '\nKeys: --key-file FILE, a JSON object {"purchase": "hex", "load": "hex", "pin": "1234"} or just\n' +
  `the hex of the key, else ${ENV.purchase} / ${ENV.load}; the holder PIN (debits above the\n` +
  `purse's PIN threshold) from "pin" in the key file or ${ENV.pin}. Keys are never printed.\n` +
  'Amounts are whole minor units of the purse\'s currency (cents for EUR).\n' +
  'Exit 1: the card refused (the status word and its meaning are printed) or its MAC did not verify.';

/** Registers `purse` and its subcommands. */
export function registerPurse(program: Command, cli: CliContext): Command {
  const purse = program.command('purse').description('stored-value purse and transit application: install, balance, log, debit, credit (src/apps/purse)');
  const run = (operation: Operation) => async (opts: RawOptions): Promise<void> => {
    cli.exit(await runPurse(purseContext(operation, opts, cli.io), cli.io));
  };
  targetOptions(purse.command('balance').description('the committed balance, maximum, currency and transaction counter')).action(run('balance'));
  targetOptions(purse.command('log').description('the transaction log, newest first')).action(run('log'));
  for (const [op, what] of [
    ['debit', 'a purchase: OPEN SESSION (purchase key), DEBIT, CLOSE SESSION, card MAC verified'],
    ['credit', 'a load: OPEN SESSION (load key), CREDIT, CLOSE SESSION, card MAC verified'],
  ] as const) {
    targetOptions(purse.command(op).description(what))
      .option('--amount <n>', 'amount in minor units of the purse\'s currency')
      .option('--key-file <file>', 'JSON {"purchase", "load", "pin"} or the hex of the key')
      .option('--terminal-id <hex>', 'terminal identifier written into the log, 4 bytes (default 00000000)')
      .addHelpText('after', KEY_HELP)
      .action(run(op));
  }
  purse
    .command('install')
    .description('install a purse into a card image from a JSON spec (keys, limits, currency, contracts)')
    .requiredOption('--card <file>', 'card image (saved after the install)')
    .requiredOption('--spec <file>', 'JSON: {"currency": 978, "maximum": 50000, "initialBalance": 0, "purchaseKey": "hex", "loadKey": "hex", ...}')
    .addOption(appletOption('applet module defining other applet types the card image uses; repeatable'))
    .option('--aid <hex>', `AID to install under (default ${bytesToHex(PURSE_AID)})`)
    .option('--json', 'print the installed purse (never its keys or PIN) as JSON')
    .action(async (opts: RawOptions & { card: string; spec: string }) => {
      cli.exit(await runPurseInstall(purseInstallContext(opts), cli.io));
    });
  return purse;
}
