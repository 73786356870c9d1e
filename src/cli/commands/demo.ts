/**
 * `chipwright demo`: the README quick-start, the main job — a full multi-application `qatar-id`
 * card personalized for a synthetic holder with a fresh test PKI, read back over PACE and
 * verified (library: `runMainDemo` in `src/script/demo.ts`). `chipwright demo --filesystem` is
 * the earlier demo: the shipped script `apdu/filesystem-demo.apdu` on a blank card. Progress on
 * standard error, a short report on standard output. Exit 0 when everything verified, 1 when not.
 */
import { accessSync, constants, mkdirSync } from 'node:fs';
import type { Command } from 'commander';
import { OutputFileError } from '../errors.js';
import { formatDemoReport, formatMainDemoReport, runFilesystemDemo, runMainDemo, type DemoReport } from '../../script/demo.js';
import { PersoProgressLine } from './perso.js';
import { readReportJson } from './read.js';
import { EXIT } from '../exit-codes.js';
import { StepProgress } from '../progress.js';
import type { CliContext } from '../context.js';
import type { CliIo } from '../io.js';
import { scriptRunJson } from './script-run.js';
import { imageKeyOption } from '../card-file.js';

interface RawOptions {
  filesystem?: boolean;
  keep?: string;
  trace?: boolean;
  json?: boolean;
}

export interface DemoContext {
  /** The earlier demo: the filesystem script on a blank card. */
  readonly filesystem: boolean;
  /** Directory for the card image (`<dir>/card.json`), or none: the card lives in memory. */
  readonly keep: string | undefined;
  readonly trace: boolean;
  readonly json: boolean;
}

export function demoContext(o: RawOptions): DemoContext {
  return { filesystem: o.filesystem === true, keep: o.keep, trace: o.trace === true, json: o.json === true };
}

/** Creates the --keep directory and checks it is writable, so the run ends in a saved card. */
function prepareDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e));
    throw new OutputFileError(`--keep ${dir}: cannot use as a directory for the card image (${code})`);
  }
}

function reportJson(r: DemoReport): object {
  return { ...r, run: scriptRunJson(r.run) };
}

export async function runDemo(ctx: DemoContext, io: CliIo): Promise<number> {
  if (ctx.keep !== undefined) prepareDir(ctx.keep);
  if (!ctx.filesystem) return runMain(ctx, io);
  const progress = ctx.json ? undefined : new StepProgress(io);
  if (progress) io.stderr('Running apdu/filesystem-demo.apdu on a new simulated card:\n');
  const report = await runFilesystemDemo({
    ...(ctx.keep !== undefined ? { dir: ctx.keep, ...imageKeyOption(io) } : {}),
    ...(progress ? { onStep: (r, i, n) => progress.step(r, i, n) } : {}),
    ...(ctx.trace ? { trace: (line: string) => io.stderr(`${line}\n`) } : {}),
  });
  progress?.end();
  if (ctx.json) io.stdout(JSON.stringify(reportJson(report), null, 2) + '\n');
  else io.stdout(`\n${formatDemoReport(report).join('\n')}\n`);
  if (report.run.aborted !== undefined) throw report.run.aborted;
  return report.ok ? EXIT.OK : EXIT.CHECK_FAILED;
}

async function runMain(ctx: DemoContext, io: CliIo): Promise<number> {
  const bar = ctx.json ? undefined : new PersoProgressLine(io, 'qatar-id');
  if (bar) io.stderr('Personalizing a qatar-id card for the specimen holder on a simulated card:\n');
  const report = await runMainDemo({
    ...(ctx.keep !== undefined ? { dir: ctx.keep, ...imageKeyOption(io) } : {}),
    ...(bar ? { onStep: (p) => bar.update(p) } : {}),
    ...(ctx.trace ? { trace: (line: string) => io.stderr(`${line}\n`) } : {}),
  });
  bar?.end();
  // The read as `chipwright read --json` gives it (hex bytes, verdicts), not raw Uint8Arrays.
  if (ctx.json) io.stdout(JSON.stringify({ ...report, read: readReportJson(report.read, undefined, []) }, null, 2) + '\n');
  else io.stdout(`\n${formatMainDemoReport(report).join('\n')}\n`);
  return report.ok ? EXIT.OK : EXIT.CHECK_FAILED;
}

export function registerDemo(program: Command, cli: CliContext): Command {
  return program
    .command('demo')
    .description('personalize a full qatar-id card on a simulated card, read it back over PACE and verify it')
    .option('--filesystem', 'the earlier demo instead: apdu/filesystem-demo.apdu (files, reads, PIN life cycle, activation)')
    .option('--keep <dir>', 'save the card image as <dir>/card.json (default: in memory only)')
    .option('--trace', 'decoded exchanges on standard error, secrets redacted')
    .option('--json', 'print the report as JSON')
    .action(async (opts: RawOptions) => {
      cli.exit(await runDemo(demoContext(opts), cli.io));
    });
}
