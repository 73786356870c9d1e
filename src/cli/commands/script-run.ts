/**
 * `chipwright script run FILE --card card.json`: runs an APDU script (format: `src/script/format.ts`)
 * against a card image, prints each step (command redacted, response, verdict), saves the image
 * if its state changed, and exits 1 when an expectation failed. `--reader NAME` runs it against
 * the card in a PC/SC reader instead.
 *
 * Secrets for `{NAME}` placeholders come from `--secrets FILE` (a JSON object of hex strings) or
 * from `CHIPWRIGHT_SECRET_<NAME>` environment variables — never from the command line, where
 * other users could read them in the process list.
 */
import { basename } from 'node:path';
import { Option, type Command } from 'commander';
import { describeSw } from '../../apdu/status.js';
import { InProcessTransport } from '../../transport/in-process.js';
import { TracingTransport } from '../../transport/trace.js';
import type { Transport } from '../../transport/types.js';
import { parseApduScript, scriptSecrets, type ApduScript } from '../../script/format.js';
import { checkScriptInputs, runApduScript, type ScriptRun, type StepResult } from '../../script/runner.js';
import type { TransportKey } from '../../script/transport-auth.js';
import { loadAppletModules } from '../../apps/modules.js';
import { CardFile, readInputFile } from '../card-file.js';
import { loadSecrets } from '../secrets.js';
import { readerOrCard, withReader, type CardTarget } from './readers.js';
import { EXIT } from '../exit-codes.js';
import { appletOption, hexOption, KEY_ALGORITHMS, transportKeyOption, type KeyAlgorithmOption } from '../options.js';
import type { CliContext } from '../context.js';
import type { CliIo } from '../io.js';

interface RawOptions {
  card?: string;
  reader?: string;
  applet?: string[];
  secrets?: string;
  transportKey?: string;
  transportKeyAlgorithm?: KeyAlgorithmOption;
  rng?: string;
  keepGoing?: boolean;
  trace?: boolean;
  json?: boolean;
}

export interface ScriptRunContext {
  readonly script: ApduScript;
  /** A card image (`--card`) or a PC/SC reader (`--reader`). */
  readonly target: CardTarget;
  /** `--applet` modules, loaded before the card image. */
  readonly appletModules: readonly string[];
  readonly secrets: Readonly<Record<string, Uint8Array>>;
  readonly transportKey: TransportKey;
  readonly rng: Uint8Array | undefined;
  readonly stopOnFailure: boolean;
  readonly trace: boolean;
  readonly json: boolean;
}

export function scriptRunContext(file: string, o: RawOptions, io: CliIo): ScriptRunContext {
  const target = readerOrCard(o);
  const script = parseApduScript(readInputFile(file, 'APDU script'), basename(file));
  const secrets = loadSecrets(scriptSecrets(script), o.secrets, io.env);
  const transportKey = transportKeyOption(o.transportKey, o.transportKeyAlgorithm);
  // Missing secrets are a usage error found before the card is opened.
  checkScriptInputs(script, { secrets, transportKey });
  return {
    script,
    target,
    appletModules: o.applet ?? [],
    secrets,
    transportKey,
    rng: o.rng === undefined ? undefined : hexOption(o.rng, '--rng', 1),
    stopOnFailure: o.keepGoing !== true,
    trace: o.trace === true,
    json: o.json === true,
  };
}

/** `✓ demo.apdu:14  00 A4 00 0C 02 3F 00 → 9000 Normal processing`. */
export function formatStep(source: string, r: StepResult): string {
  const mark = r.verdict === 'pass' ? '✓' : r.verdict === 'sent' ? '·' : '✗';
  const answer = r.kind === 'command' || r.sw !== undefined ? ` → ${r.response ?? '(no answer)'}${r.sw !== undefined ? ` ${describeSw(r.sw)}` : ''}` : '';
  const why = r.message !== undefined ? `; ${r.message}` : '';
  return `${mark} ${source}:${r.line}  ${r.command}${answer}${why}${r.note !== undefined ? `  # ${r.note}` : ''}`;
}

/** The run as JSON (the `aborted` error as its message). */
export function scriptRunJson(run: ScriptRun): object {
  return {
    source: run.source,
    ok: run.ok,
    passed: run.passed,
    failed: run.failed,
    skipped: run.skipped,
    aborted: run.aborted?.message ?? null,
    steps: run.results,
  };
}

export async function runScriptRun(ctx: ScriptRunContext, io: CliIo): Promise<number> {
  const source = ctx.script.source;
  let label: string | undefined;
  const runOn = (transport: Transport): Promise<ScriptRun> =>
    runApduScript(ctx.script, transport, {
      transportKey: ctx.transportKey,
      secrets: ctx.secrets,
      stopOnFailure: ctx.stopOnFailure,
      onStep: (r) => {
        if (ctx.json) return;
        if (r.label !== undefined && r.label !== label) io.stdout(`# ${r.label}\n`);
        label = r.label;
        io.stdout(`${formatStep(source, r)}\n`);
      },
    });
  let run: ScriptRun;
  if (ctx.target.kind === 'reader') {
    run = await withReader(ctx.target.reader, io, ctx.trace, runOn);
  } else {
    const applets = await loadAppletModules(ctx.appletModules);
    const file = CardFile.open(ctx.target.path, io, { applets, ...(ctx.rng ? { rng: ctx.rng } : {}) });
    let transport: Transport = new InProcessTransport(file.card);
    if (ctx.trace) transport = new TracingTransport(transport, (line) => io.stderr(`${line}\n`));
    await transport.connect();
    try {
      run = await runOn(transport);
    } finally {
      if (file.card.isPowered) await transport.disconnect();
      file.saveIfChanged();
    }
  }
  if (ctx.json) {
    io.stdout(JSON.stringify(scriptRunJson(run), null, 2) + '\n');
  } else {
    const total = run.results.length + run.skipped;
    io.stdout(`${source}: ${run.passed} passed, ${run.failed} failed${run.skipped > 0 ? `, ${run.skipped} not run` : ''} (${total} steps)\n`);
  }
  if (run.aborted !== undefined) throw run.aborted;
  return run.ok ? EXIT.OK : EXIT.CHECK_FAILED;
}

export function registerScriptRun(script: Command, cli: CliContext): Command {
  return script
    .command('run')
    .description('run an APDU script against a card image or a card in a reader; exit 1 if an expectation fails')
    .argument('<file>', 'APDU script (.apdu, see apdu/README.md)')
    .option('--card <file>', 'card image (saved back when its state changes)')
    .option('--reader <name>', 'instead of --card: the card in this PC/SC reader (name, part of it, or index; see chipwright readers)')
    .addOption(appletOption())
    .option('--secrets <file>', 'JSON object of placeholder values as hex ({"PIN": "31323334"}); CHIPWRIGHT_SECRET_<NAME> works too')
    .option('--transport-key <hex>', 'transport key for @auth-transport (default: the test key 404142…4F)')
    .addOption(new Option('--transport-key-algorithm <alg>', 'transport key algorithm').choices(KEY_ALGORITHMS).default('3des'))
    .option('--rng <hex>', 'bytes the card\'s random generator hands out first (replay)')
    .option('--keep-going', 'run the remaining steps after a failed expectation')
    .option('--trace', 'decoded exchanges on standard error, secrets redacted')
    .option('--json', 'print the run as JSON (steps with redacted commands, responses, verdicts)')
    .action(async (file: string, opts: RawOptions) => {
      cli.exit(await runScriptRun(scriptRunContext(file, opts, cli.io), cli.io));
    });
}
