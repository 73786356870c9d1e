/**
 * The chipwright command line. `bin/chipwright.js` only does `process.exitCode = await
 * main(process.argv)`; everything else happens here and below, and nothing below calls
 * `process.exit`. Each command lives in its own file under `commands/` (options → typed context →
 * library call); errors from all of them go through the one handler in `errors.ts`, which prints
 * one line and picks the exit code documented in `exit-codes.ts`.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { handleError } from './errors.js';
import { exitCodesText } from './exit-codes.js';
import { processIo, type CliIo } from './io.js';
import type { CliContext } from './context.js';
import { registerCardNew } from './commands/card-new.js';
import { registerCardInstall } from './commands/card-install.js';
import { registerSend } from './commands/send.js';
import { registerSim } from './commands/sim.js';
import { registerDemo } from './commands/demo.js';
import { registerScriptRun } from './commands/script-run.js';
import { registerReaders } from './commands/readers.js';
import { registerConformanceCommands } from './commands/replay.js';
import { registerPurse } from './commands/purse.js';
import { registerPerso } from './commands/perso.js';
import { registerPrepare } from './commands/prepare.js';
import { registerPki } from './commands/pki.js';
import { registerBatch } from './commands/batch.js';
import { registerFeed } from './commands/feed.js';
import { registerRead } from './commands/read.js';

/** The package version, from the package.json above this module (src/ or dist/src/). */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'chipwright' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here; look further up
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}

/** Builds the command tree; settings given to the root before `.command()` are inherited. */
export function buildProgram(cli: CliContext): Command {
  const program = new Command('chipwright')
    .description('ISO/IEC 7816-4 smart-card chip simulator and personalization toolkit')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => cli.io.stdout(s),
      writeErr: (s) => cli.io.stderr(s),
      // Parse errors are printed by the one error handler, as one line.
      outputError: () => undefined,
    })
    .showSuggestionAfterError(true)
    .addHelpText('after', `\nExit codes:\n${exitCodesText()}`);

  const card = program.command('card').description('card images');
  registerCardNew(card, cli);
  registerCardInstall(card, cli);
  registerSend(program, cli);
  registerSim(program, cli);
  registerDemo(program, cli);
  registerReaders(program, cli);
  registerConformanceCommands(program, cli);
  registerPurse(program, cli);
  registerPki(program, cli);
  registerPrepare(program, cli);
  registerPerso(program, cli);
  registerBatch(program, cli);
  registerFeed(program, cli);
  registerRead(program, cli);
  const script = program.command('script').description('APDU scripts (apdu/README.md)');
  registerScriptRun(script, cli);
  return program;
}

/**
 * Runs the CLI with `argv` as in `process.argv` (node, script, arguments...) and returns the exit
 * code. `io` replaces the process's streams and environment (tests).
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let code = 0;
  const program = buildProgram({
    io,
    exit: (c) => {
      code = c;
    },
  });
  try {
    await program.parseAsync([...argv], { from: 'node' });
    return code;
  } catch (e) {
    return handleError(e, io);
  }
}
