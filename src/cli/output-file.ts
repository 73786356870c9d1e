/**
 * Files the CLI writes for the user (recordings, secrets files, card snapshots, reports): written
 * atomically — a temporary file in the same directory, flushed, then renamed over the target — so
 * a command killed mid-write leaves the old file or the new one, never half of one. Failures are
 * {@link OutputFileError} (exit 5) naming the file and what to fix.
 */
import { lstatSync } from 'node:fs';
import { writeFileAtomic } from '../fs/atomic.js';
import { basename, dirname, join } from 'node:path';
import { OutputFileError } from './errors.js';

/**
 * Writes `text` to `path` atomically with permissions `mode` (0o600 for anything holding secrets).
 * `what` names the file in messages ("recording", "secrets file").
 *
 * @example writeOutputFile('session.json', text, 'recording') // throws "recording x/session.json: directory x does not exist"
 */
export function writeOutputFile(path: string, text: string, what: string, mode = 0o644): void {
  try {
    writeFileAtomic(path, text, mode);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new OutputFileError(`${what} ${path}: directory ${dirname(path)} does not exist`);
    if (code === 'EACCES' || code === 'EPERM') throw new OutputFileError(`${what} ${path}: permission denied`);
    if (code === 'EISDIR') throw new OutputFileError(`${what} ${path}: is a directory`);
    throw new OutputFileError(`${what} ${path}: cannot write (${code ?? (e instanceof Error ? e.message : String(e))})`);
  }
}

/** True when `path` exists (any kind of file, a dangling symbolic link included). */
export function pathExists(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
}

/**
 * Checks before any work starts that `path` can be written: it must not exist unless `force`
 * (the user said to overwrite), and its directory must. `opt` names the option in messages.
 */
export function checkOutputPath(opt: string, path: string, force: boolean): void {
  if (!force && pathExists(path)) throw new OutputFileError(`${opt} ${path}: exists (use --force to overwrite)`);
  if (!pathExists(dirname(path))) throw new OutputFileError(`${opt} ${path}: directory ${dirname(path)} does not exist`);
}

/**
 * Where a recording's starting card goes: `FILE.vec` → `FILE.card.json`, beside it (the name the
 * recording's `card:` header gives, for `record` and `sim --record` alike).
 */
export function snapshotPathOf(recording: string): string {
  return join(dirname(recording), `${basename(recording).replace(/\.[^.]+$/, '')}.card.json`);
}
