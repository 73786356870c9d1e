/**
 * Runs the `chipwright` CLI in-process through `main(argv, io)` with captured output — what the
 * CLI tests use instead of spawning a process (exit codes, stdout and stderr as a user sees them).
 */
import { Readable } from 'node:stream';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `chipwright ARGS…` with `env` as its environment, no standard input, not on a terminal. */
export async function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    stdin: Readable.from([]),
    env,
    stderrIsTTY: false,
  };
  const code = await main(['node', 'chipwright', ...args], io);
  return { code, stdout, stderr };
}
