/**
 * Writing a whole file so that a crash or a kill mid-write leaves the old file or the new one,
 * never half of one: a temporary file in the same directory (so the rename stays on one file
 * system), flushed to disk, then renamed over the target (POSIX rename(2) is atomic). Card
 * images, recordings, secrets files and reports all go through here.
 */
import { renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `data` to `path` atomically; `mode` sets the permissions of a file it creates (0o600 for
 * anything holding secrets; default: the process's usual). Errors are Node's own (`code` ENOENT,
 * EACCES, …), after the temporary file is removed.
 *
 * @example writeFileAtomic('card.json', text)
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode?: number): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, data, { flush: true, ...(mode !== undefined ? { mode } : {}) });
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // never created, or already renamed
    }
    throw e;
  }
}
