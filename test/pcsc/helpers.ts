/**
 * Helpers for the end-to-end PC/SC tests: the stack the global setup found, a `describe` that
 * fails (CI) or is left out (elsewhere) without it, the built CLI as a card server process, and
 * external tools run with a timeout.
 *
 * Hooks in stack-dependent files start with `if (!stackReady()) return;`: under CI a missing
 * stack must fail every test (a failing `beforeEach` does that), while a failing `beforeAll`
 * would only mark the tests skipped.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, inject } from 'vitest';
import { listReaders, type PcscReaderInfo } from '../../src/transport/pcsc.js';
import { isCi, type PcscStackInfo } from './stack.js';

export const BIN = fileURLToPath(new URL('../../bin/chipwright.js', import.meta.url));
export const APDU_DIR = fileURLToPath(new URL('../../apdu/', import.meta.url));

export function pcscStack(): PcscStackInfo {
  return inject('pcscStack');
}

export function stackReady(): boolean {
  return pcscStack().ready;
}

/**
 * A suite that needs pcscd + vpcd + opensc + pcsc-tools: runs with the stack; without it fails
 * every test under CI and is left out elsewhere (the global setup says which files and why).
 */
export function describeWithStack(name: string, fn: () => void): void {
  const stack = pcscStack();
  if (stack.ready) {
    describe(name, fn);
  } else if (isCi()) {
    describe(name, () => {
      beforeEach(() => {
        throw new Error(`the PC/SC stack is required under CI and is not usable: ${stack.reason}`);
      });
      fn();
    });
  }
  // Elsewhere the suite is left out, not registered as skipped: vitest.config.ts leaves out the
  // files that hold nothing else, and the global setup names every left-out suite and how to run it.
}

export interface ToolResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program to completion (never rejects: the exit code and output are the result). */
export function run(cmd: string, args: readonly string[], opts: { input?: string; timeoutMs?: number; cwd?: string } = {}): Promise<ToolResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, [...args], { timeout: opts.timeoutMs ?? 15_000, maxBuffer: 16 << 20, cwd: opts.cwd }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
    child.stdin?.end(opts.input ?? '');
  });
}

/** The CLI (`dist/`, built by `npm test`'s pretest). */
export function cli(args: readonly string[], opts: { input?: string; timeoutMs?: number; cwd?: string } = {}): Promise<ToolResult> {
  return run(process.execPath, [BIN, ...args], opts);
}

/** A `chipwright sim --vpcd` process. */
export interface SimProcess {
  readonly child: ChildProcess;
  /** Its standard error so far. */
  stderr(): string;
  /** Stops it with `signal` and resolves with its exit code (or the signal's name). */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/**
 * Starts `chipwright sim --card c1 --vpcd 127.0.0.1:p1 ...` and waits until every card is
 * connected to pcscd.
 */
export async function startSim(cards: readonly string[], ports: readonly number[], extra: readonly string[] = []): Promise<SimProcess> {
  const args = [BIN, 'sim', ...cards.flatMap((c, i) => ['--card', c, '--vpcd', `127.0.0.1:${ports[i]}`]), ...extra];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  let exit: number | string | undefined;
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, sig) => resolve((exit = code ?? sig ?? -1))));
  const sim: SimProcess = {
    child,
    stderr: () => err,
    stop: async (signal = 'SIGTERM') => {
      if (exit === undefined) child.kill(signal);
      return exited;
    },
  };
  const deadline = Date.now() + 10_000;
  while ((err.match(/connected; the card is in the reader/g) ?? []).length < cards.length) {
    if (exit !== undefined || Date.now() > deadline) {
      await sim.stop('SIGKILL');
      throw new Error(`chipwright sim did not connect to pcscd: ${err}`);
    }
    await sleep(20);
  }
  return sim;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** vpcd's readers, slot 0 first ("Virtual PCD 00 00", "Virtual PCD 00 01"). */
export async function vpcdReaders(): Promise<PcscReaderInfo[]> {
  return (await listReaders()).filter((r) => r.name.startsWith('Virtual PCD')).sort((a, b) => a.name.localeCompare(b.name));
}

/** Waits until the reader of vpcd slot `slot` reports `present` (a card / none); returns it. */
export async function waitForSlot(slot: number, present: boolean, timeoutMs = 5000): Promise<PcscReaderInfo> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = (await vpcdReaders())[slot];
    if (r !== undefined && r.card === present && (!present || r.atr !== undefined)) return r;
    if (Date.now() > deadline) throw new Error(`vpcd slot ${slot}: no ${present ? 'card' : 'removal'} within ${timeoutMs} ms (${JSON.stringify(r?.name)})`);
    await sleep(50);
  }
}
