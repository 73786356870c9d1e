/**
 * `chipwright demo`: the README quick-start. Personalizes and uses a simulated card with the
 * shipped script `apdu/filesystem-demo.apdu` (library: `src/script/demo.ts`), showing progress
 * on standard error and a short report on standard output. Exit 0 when every step passed, 1 when
 * one failed.
 */
import { accessSync, constants, mkdirSync } from 'node:fs';
import type { Command } from 'commander';
import { OutputFileError } from '../errors.js';
import { formatDemoReport, runFilesystemDemo, type DemoReport } from '../../script/demo.js';
import { EXIT } from '../exit-codes.js';
import { StepProgress } from '../progress.js';
import type { CliContext } from '../context.js';
import type { CliIo } from '../io.js';
import { scriptRunJson } from './script-run.js';

interface RawOptions {
  keep?: string;
  trace?: boolean;
  json?: boolean;
}

export interface DemoContext {
  /** Directory for the card image (`<dir>/card.json`), or none: the card lives in memory. */
  readonly keep: string | undefined;
  readonly trace: boolean;
  readonly json: boolean;
}

export function demoContext(o: RawOptions): DemoContext {
  return { keep: o.keep, trace: o.trace === true, json: o.json === true };
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
  const progress = ctx.json ? undefined : new StepProgress(io);
  if (progress) io.stderr('Running apdu/filesystem-demo.apdu on a new simulated card:\n');
  const report = await runFilesystemDemo({
    ...(ctx.keep !== undefined ? { dir: ctx.keep } : {}),
    ...(progress ? { onStep: (r, i, n) => progress.step(r, i, n) } : {}),
    ...(ctx.trace ? { trace: (line: string) => io.stderr(`${line}\n`) } : {}),
  });
  progress?.end();
  if (ctx.json) io.stdout(JSON.stringify(reportJson(report), null, 2) + '\n');
  else io.stdout(`\n${formatDemoReport(report).join('\n')}\n`);
  if (report.run.aborted !== undefined) throw report.run.aborted;
  return report.ok ? EXIT.OK : EXIT.CHECK_FAILED;
}

export function registerDemo(program: Command, cli: CliContext): Command {
  return program
    .command('demo')
    .description('personalize and use a simulated card: files, reads, PIN life cycle, activation')
    .option('--keep <dir>', 'save the card image as <dir>/card.json (default: in memory only)')
    .option('--trace', 'decoded exchanges on standard error, secrets redacted')
    .option('--json', 'print the report as JSON')
    .action(async (opts: RawOptions) => {
      cli.exit(await runDemo(demoContext(opts), cli.io));
    });
}
