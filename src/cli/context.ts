/**
 * What every command registration gets from `main`: the process seam and a way to hand back
 * its exit code (commander actions cannot return one).
 */
import type { CliIo } from './io.js';

export interface CliContext {
  readonly io: CliIo;
  /** Records the command's exit code; `main` returns it. */
  readonly exit: (code: number) => void;
}
