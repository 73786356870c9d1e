/**
 * What the CLI touches of the process, passed in so `main` runs the same in tests and never
 * reaches for `process` below this file.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

export interface CliIo {
  /** Writes text to standard output as is (callers add the newline). */
  readonly stdout: (text: string) => void;
  /** Writes text to standard error as is. */
  readonly stderr: (text: string) => void;
  readonly stdin: Readable;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Standard error is a terminal (progress lines may redraw in place). */
  readonly stderrIsTTY: boolean;
  /** Standard output is a terminal too (lines must then go above a progress bar, not through it). */
  readonly stdoutIsTTY?: boolean;
}

/** The real process. A closed pipe on stdout (`| head`) ends output quietly instead of crashing. */
export function processIo(): CliIo {
  let stdoutClosed = false;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') stdoutClosed = true;
    else throw e;
  });
  return {
    stdout: (t) => {
      if (!stdoutClosed) process.stdout.write(t);
    },
    stderr: (t) => {
      process.stderr.write(t);
    },
    stdin: process.stdin,
    env: process.env,
    stderrIsTTY: process.stderr.isTTY === true,
    stdoutIsTTY: process.stdout.isTTY === true,
  };
}

/** True when CHIPWRIGHT_DEBUG asks for stack traces and card events. */
export function debugEnabled(io: CliIo): boolean {
  const v = io.env.CHIPWRIGHT_DEBUG;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/** Lines of a stream, without their line ends, as they arrive. */
export function readLines(input: Readable): AsyncIterable<string> {
  return createInterface({ input, crlfDelay: Infinity, terminal: false });
}

/**
 * Batches output lines: lines written while input is being processed go out in one write once
 * the current burst is done (`setImmediate`), so a piped file of 100 000 APDUs costs a few hundred
 * writes, while an interactive client still gets each answer at once.
 */
export class LineWriter {
  private buf: string[] = [];
  private scheduled = false;

  constructor(private readonly write: (text: string) => void) {}

  line(text: string): void {
    this.buf.push(text);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.buf.length === 0) return;
    const text = this.buf.join('\n') + '\n';
    this.buf = [];
    this.write(text);
  }
}

/**
 * Runs `fn` with a signal aborted on SIGINT or SIGTERM (a served card or a feeder runs until told
 * to stop); the handlers are removed afterwards. CliIo has no signal seam of its own.
 *
 * @example cli.exit(await untilStopped((stop) => runFeed(opts, cli.io, stop)))
 */
export async function untilStopped<T>(fn: (stop: AbortSignal) => Promise<T>): Promise<T> {
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await fn(stop.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
