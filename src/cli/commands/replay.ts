/**
 * `chipwright replay FILE|DIR... [--card IMAGE | --profile P --data D | --reader NAME]`: replays conformance vectors
 * (chipwright `.vec`, ETSI TS 101 955, apdutool and scriptor scripts; `src/conformance/`) and
 * gives every step a verdict. Each file runs on a fresh simulated card made from its `card:`
 * header (or `--card`, or a card personalized once from `--profile`/`--data`), unless
 * `--shared-card`; `--reader` runs them all on a real card. A personalized card's generated PINs
 * and test CSCA are the vectors' `{PIN}`, `{CAN}`, `{PUK}`, `{CSCA}` (masked in every report).
 *
 * Every file is parsed and its card, applet modules and secrets checked before the first APDU:
 * any problem is printed with file and line and the exit code is 2, with nothing run. Otherwise
 * the report shows every failure (command, expected, received, status-word meanings) and the
 * exit code is 0 when every step passed, 1 when one failed.
 */
import { Option, type Command } from 'commander';
import { loadAppletModules } from '../../apps/modules.js';
import { TracingTransport } from '../../transport/trace.js';
import type { Transport } from '../../transport/types.js';
import type { TransportKey } from '../../script/transport-auth.js';
import { expandVectorPaths, readVectorFile } from '../../conformance/read.js';
import { prepareReplay, runReplay, type ReplayOptions, type ReplayResult, type ReplayTarget } from '../../conformance/replay.js';
import { formatFileReport, formatReplaySummary, replayJson, replayJunit } from '../../conformance/report.js';
import { VectorError, CAPABILITIES, VECTOR_FORMATS, type Vector, type VectorFormat } from '../../conformance/vector.js';
import { imageKeyOption, readInputFile } from '../card-file.js';
import { loadTrustAnchors } from '../trust-anchors.js';
import { pathExists, writeOutputFile } from '../output-file.js';
import { loadSecrets } from '../secrets.js';
import { CSCA_VALUE } from '../../conformance/profile-card.js';
import { withReader } from './readers.js';
import { registerRecord } from './record.js';
import { EXIT } from '../exit-codes.js';
import { InputFileError, UsageError } from '../errors.js';
import { appletOption, hexOption, KEY_ALGORITHMS, transportKeyOption, type KeyAlgorithmOption } from '../options.js';
import type { CliContext } from '../context.js';
import type { CliIo } from '../io.js';

interface RawOptions {
  card?: string;
  reader?: string;
  profile?: string;
  data?: string;
  applet?: string[];
  rng?: string;
  format?: VectorFormat | 'auto';
  secrets?: string;
  csca?: string;
  transportKey?: string;
  transportKeyAlgorithm?: KeyAlgorithmOption;
  sharedCard?: boolean;
  failFast?: boolean;
  without?: string[];
  trace?: boolean;
  verbose?: boolean;
  junit?: string;
  json?: boolean;
}

export interface ReplayContext {
  readonly paths: readonly string[];
  readonly format: VectorFormat | undefined;
  /** `--card` image, `--reader` name, or neither (each file's own card). */
  readonly card: string | undefined;
  readonly reader: string | undefined;
  /** `--profile P --data D`: every file on a clone of a card personalized once from them. */
  readonly profile: { readonly profile: string; readonly data: string } | undefined;
  readonly appletModules: readonly string[];
  readonly rng: Uint8Array | undefined;
  readonly secretsFile: string | undefined;
  /** `--csca FILE`: the `{CSCA}` value (one certificate, PEM or DER). */
  readonly cscaFile: string | undefined;
  readonly transportKey: TransportKey | undefined;
  readonly sharedCard: boolean;
  readonly failFast: boolean;
  readonly without: readonly string[];
  readonly trace: boolean;
  readonly verbose: boolean;
  readonly junit: string | undefined;
  readonly json: boolean;
}

/** Validates the command line (exit 2 on a bad one) before any file is read. */
export function replayContext(paths: readonly string[], o: RawOptions): ReplayContext {
  if (o.card !== undefined && o.reader !== undefined) throw new UsageError('give --card IMAGE (a card image) or --reader NAME (a PC/SC reader), not both');
  if ((o.profile === undefined) !== (o.data === undefined)) {
    throw new UsageError(o.profile !== undefined ? '--profile needs --data FILE (the holder data to personalize the card with)' : '--data needs --profile FILE (the profile to personalize the card with)');
  }
  if (o.profile !== undefined && (o.card !== undefined || o.reader !== undefined)) {
    throw new UsageError(`give one card: --profile P --data D (a personalized simulated card), --card IMAGE or --reader NAME, not ${o.card !== undefined ? '--card' : '--reader'} as well`);
  }
  if (o.reader !== undefined) {
    if (o.reader.trim() === '') throw new UsageError('--reader: expected a reader name, part of one, or an index (see chipwright readers)');
    for (const [name, given] of [['--rng', o.rng !== undefined], ['--applet', (o.applet ?? []).length > 0], ['--shared-card', o.sharedCard === true]] as const) {
      if (given) throw new UsageError(`${name} applies to simulated cards, not to a card in a reader`);
    }
  }
  for (const w of o.without ?? []) {
    if (!(CAPABILITIES as readonly string[]).includes(w)) throw new UsageError(`--without: unknown capability "${w}"; known: ${CAPABILITIES.join(', ')}`);
  }
  if (o.junit !== undefined && o.junit.trim() === '') throw new UsageError('--junit: expected a file name');
  if (o.csca !== undefined && o.profile !== undefined) {
    throw new UsageError('--csca gives {CSCA} for --card, --reader or each file\'s own card; a --profile card already defines {CSCA} (the test CSCA it was signed under)');
  }
  return {
    paths,
    format: o.format === undefined || o.format === 'auto' ? undefined : o.format,
    card: o.card,
    reader: o.reader,
    profile: o.profile !== undefined && o.data !== undefined ? { profile: o.profile, data: o.data } : undefined,
    appletModules: o.applet ?? [],
    rng: o.rng === undefined ? undefined : hexOption(o.rng, '--rng', 1),
    secretsFile: o.secrets,
    cscaFile: o.csca,
    transportKey: o.transportKey === undefined && o.transportKeyAlgorithm === undefined ? undefined : transportKeyOption(o.transportKey, o.transportKeyAlgorithm),
    sharedCard: o.sharedCard === true,
    failFast: o.failFast === true,
    // vsmartcard's vpcd takes every one-byte frame as a power control, so a one-byte command APDU
    // would power the card off under pcscd: such vectors are left out on a virtual reader.
    without: [...(o.without ?? []), ...(o.reader !== undefined && /virtual pcd/i.test(o.reader) && !(o.without ?? []).includes('one-byte-command') ? ['one-byte-command'] : [])],
    trace: o.trace === true,
    verbose: o.verbose === true,
    junit: o.junit,
    json: o.json === true,
  };
}

export async function runReplayCommand(ctx: ReplayContext, io: CliIo): Promise<number> {
  // 1. Read and parse every file; all problems are reported together.
  const problems: string[] = [];
  const vectors: Vector[] = [];
  let files: string[];
  try {
    files = expandVectorPaths(ctx.paths.filter((p) => pathExists(p)));
  } catch (e) {
    throw new InputFileError(`cannot list vector files: ${e instanceof Error ? e.message : String(e)}`);
  }
  for (const p of ctx.paths) if (!pathExists(p)) problems.push(`${p}: no such file or directory`);
  if (files.length === 0 && problems.length === 0) problems.push(`no vector files (${['.vec', '.etsi', '.scr', '.scriptor'].join(', ')}) in ${ctx.paths.join(', ')}`);
  for (const f of files) {
    try {
      vectors.push(readVectorFile(f, ctx.format));
    } catch (e) {
      if (e instanceof VectorError) problems.push(e.message);
      else throw e;
    }
  }
  const secrets = loadSecrets([...new Set(vectors.flatMap((v) => v.secrets))], ctx.secretsFile, io.env);
  if (ctx.cscaFile !== undefined) {
    const certs = loadTrustAnchors([ctx.cscaFile]);
    if (certs.length !== 1) throw new InputFileError(`--csca ${ctx.cscaFile}: holds ${certs.length} certificates; {CSCA} is one (give the CSCA that signed the document signer)`);
    secrets[CSCA_VALUE] = certs[0]!;
  }
  const applets = await loadAppletModules(ctx.appletModules);
  const cardImage = ctx.card === undefined ? undefined : { path: ctx.card, text: readInputFile(ctx.card, 'card image', `create one with "chipwright card new --out ${ctx.card}"`) };
  const base: Omit<ReplayOptions, 'target'> = {
    secrets,
    applets,
    ...imageKeyOption(io),
    ...(ctx.rng !== undefined ? { rng: ctx.rng } : {}),
    ...(ctx.transportKey !== undefined ? { transportKey: ctx.transportKey } : {}),
    failFast: ctx.failFast,
    without: ctx.without,
  };
  if (ctx.profile !== undefined) {
    if (!pathExists(ctx.profile.profile)) throw new InputFileError(`--profile ${ctx.profile.profile}: no such file`);
    if (!pathExists(ctx.profile.data)) throw new InputFileError(`--data ${ctx.profile.data}: no such file`);
  }
  const sim: ReplayTarget = { kind: 'simulator', ...(cardImage ? { card: cardImage } : {}), ...(ctx.profile ? { profile: ctx.profile } : {}), shared: ctx.sharedCard };
  const { plan, errors } = await prepareReplay(vectors, { ...base, target: ctx.reader !== undefined ? { kind: 'transport' } : sim });
  problems.push(...errors.map((e) => e.message));
  if (problems.length > 0) {
    for (const p of problems) io.stderr(`chipwright replay: ${p}\n`);
    io.stderr(`chipwright replay: ${problems.length} problem${problems.length === 1 ? '' : 's'} in the vector files; nothing was run\n`);
    return EXIT.USAGE;
  }

  // 2. Run.
  const report = (opts: ReplayOptions): ReplayOptions => ({
    ...opts,
    ...(ctx.json ? {} : { onFileEnd: (f) => io.stdout(formatFileReport(f, { verbose: ctx.verbose })) }),
    onEcho: (text, line, v) => {
      if (!ctx.json) io.stdout(`  ${v.source}:${line}: ${text}\n`);
    },
  });
  let result: ReplayResult;
  if (ctx.reader !== undefined) {
    result = await withReader(ctx.reader, io, ctx.trace, (transport) => runReplay(plan, report({ ...base, target: { kind: 'transport', transport, name: ctx.reader! } })));
  } else {
    const trace = ctx.trace ? (t: Transport): Transport => new TracingTransport(t, (line) => io.stderr(`${line}\n`)) : undefined;
    result = await runReplay(plan, report({ ...base, target: sim, ...(trace ? { wrap: trace } : {}) }));
  }

  // 3. Report.
  if (ctx.json) io.stdout(JSON.stringify(replayJson(result), null, 2) + '\n');
  else io.stdout(formatReplaySummary(result));
  if (ctx.junit !== undefined) writeOutputFile(ctx.junit, replayJunit(result), 'JUnit report');
  if (result.aborted !== undefined) throw result.aborted;
  return result.ok ? EXIT.OK : EXIT.CHECK_FAILED;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function registerReplay(program: Command, cli: CliContext): Command {
  return program
    .command('replay')
    .description('replay conformance vectors on simulated cards or a card in a reader; a verdict for every step (exit 1 if one fails, 2 for a bad vector file)')
    .argument('<file...>', 'vector files (.vec; ETSI TS 101 955, apdutool, scriptor scripts) or directories of them')
    .option('--card <image>', 'run every file on (a fresh copy of) this card image instead of its "card:" header; the image is never written')
    .option('--reader <name>', 'run on the card in this PC/SC reader (name, part of it, or index; see chipwright readers)')
    .option('--profile <file>', 'run every file on a card personalized from this profile (once; each file gets a fresh copy) instead of its "card:" header')
    .option('--data <file>', 'holder data for --profile (the first holder of a YAML, JSON, JSON Lines or CSV file)')
    .addOption(appletOption())
    .option('--rng <hex>', 'bytes each simulated card\'s random generator hands out first (overrides the files\' "rng:")')
    .addOption(new Option('--format <format>', 'read the files as this format instead of by extension/content').choices(['auto', ...VECTOR_FORMATS]))
    .option('--secrets <file>', 'JSON object of values for {NAME} secrets ({"VERIFY_1": "31323334"}); CHIPWRIGHT_SECRET_<NAME> works too')
    .option('--csca <file>', 'the CSCA certificate (PEM or DER) "check passive-authentication" verifies against: the {CSCA} value, for --card, --reader or the files\' own cards')
    .option('--transport-key <hex>', 'transport key for "auth transport-key" (default: the test key 404142…4F)')
    .addOption(new Option('--transport-key-algorithm <alg>', 'transport key algorithm').choices(KEY_ALGORITHMS))
    .option('--shared-card', 'one simulated card for all files, in order (non-volatile state carries over)')
    .option('--fail-fast', 'end a file at its first failed step (the rest are skipped)')
    .option('--without <capability>', `treat the card as lacking a capability and skip files that require it (${CAPABILITIES.join(', ')}); repeatable`, collect)
    .option('--trace', 'decoded exchanges on standard error, secrets redacted (below secure messaging: protected APDUs)')
    .option('--verbose', 'show every step, not only the failures')
    .option('--junit <file>', 'also write a JUnit XML report (a test suite per file, a test case per step)')
    .option('--json', 'print the replay as JSON (files, steps with redacted commands, responses, verdicts)')
    .addHelpText(
      'after',
      '\nFormats: test-vectors/README.md and README "Conformance vectors". Exit codes: 0 every step passed\n' +
        '(files skipped for a missing capability do not fail), 1 a step failed, 2 a bad vector file\n' +
        '(file:line) or a missing secret - nothing is run then, 3 --card, --profile, --data, --secrets or --csca unreadable,\n' +
        '4 the reader\'s card stopped answering, 5 --junit cannot be written.',
    )
    .action(async (paths: string[], opts: RawOptions) => {
      cli.exit(await runReplayCommand(replayContext(paths, opts), cli.io));
    });
}

/** Registers `replay` and `record` (the conformance commands) on the program. */
export function registerConformanceCommands(program: Command, cli: CliContext): void {
  registerReplay(program, cli);
  registerRecord(program, cli);
}
