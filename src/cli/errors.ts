/**
 * The CLI's one error handler: every error that leaves a command is mapped here to one line on
 * standard error and an exit code from `exit-codes.ts`. Stack traces only with
 * `CHIPWRIGHT_DEBUG=1`. Commands throw; nothing below `main` prints errors or exits.
 */
import { CommanderError } from 'commander';
import { ByteInputError } from '../bytes/index.js';
import { AtrError } from '../atr/index.js';
import { CardImageError } from '../card/image.js';
import { AppletModuleError } from '../apps/modules.js';
import { CardMuteError } from '../transport/types.js';
import { PcscError } from '../transport/pcsc.js';
import { ScriptParseError } from '../script/format.js';
import { ScriptSetupError } from '../script/runner.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { debugEnabled, type CliIo } from './io.js';

/** The command line is wrong (bad value, missing input the user must give). Exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** An input file is missing, unreadable or not what it should be. Exit 3. */
export class InputFileError extends Error {
  override readonly name = 'InputFileError';
}

/** An output file cannot be written (exists without --force, no directory, no permission). Exit 5. */
export class OutputFileError extends Error {
  override readonly name = 'OutputFileError';
}

/** The exit code for an error (commander's own errors included). */
export function exitCodeFor(e: unknown): ExitCode {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return EXIT.OK;
    if (e.code === 'commander.help') return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    return EXIT.USAGE;
  }
  if (e instanceof UsageError || e instanceof ByteInputError || e instanceof AtrError || e instanceof ScriptSetupError) {
    return EXIT.USAGE;
  }
  if (e instanceof InputFileError || e instanceof CardImageError || e instanceof ScriptParseError || e instanceof AppletModuleError) {
    return EXIT.INPUT;
  }
  if (e instanceof CardMuteError) return EXIT.CARD;
  if (e instanceof PcscError) return EXIT.CARD;
  if (e instanceof OutputFileError) return EXIT.OUTPUT;
  return EXIT.INTERNAL;
}

/** The one line shown for an error (without the `chipwright: ` prefix). */
export function messageFor(e: unknown): string {
  if (e instanceof CommanderError) {
    // "error: unknown option '--x'\n(Did you mean --trace?)" → one line.
    return `${e.message.replace(/^error:\s*/, '').replace(/\s*\n\s*/g, ' ')} (see --help)`;
  }
  if (e instanceof CardImageError) return `card image ${e.message}`;
  if (e instanceof AppletModuleError) return `applet module ${e.message.replace(/\s*\n\s*/g, ' ')}`;
  if (e instanceof CardMuteError) return `card did not answer: ${e.message}`;
  const text = e instanceof Error ? e.message : String(e);
  if (exitCodeFor(e) === EXIT.INTERNAL) {
    return `internal error: ${e instanceof Error ? `${e.name}: ` : ''}${text} (rerun with CHIPWRIGHT_DEBUG=1 for details)`;
  }
  return text.replace(/\s*\n\s*/g, ' ');
}

/**
 * Reports an error on standard error and returns its exit code. Help and version requests
 * (commander's "errors" with exit code 0) print nothing more.
 */
export function handleError(e: unknown, io: CliIo): ExitCode {
  const code = exitCodeFor(e);
  if (e instanceof CommanderError && (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help')) {
    return code;
  }
  io.stderr(`chipwright: ${messageFor(e)}\n`);
  if (debugEnabled(io) && e instanceof Error && e.stack !== undefined) {
    io.stderr(`${e.stack}\n`);
    // The stack that matters for a failing applet module is the module's own.
    if (e.cause instanceof Error && e.cause.stack !== undefined) io.stderr(`Caused by: ${e.cause.stack}\n`);
  }
  return code;
}
