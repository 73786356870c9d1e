/**
 * Locates the scripts shipped in the package's `apdu/` folder, from wherever this module runs
 * (`src/script/` under vitest, `dist/src/script/` once built, `node_modules/chipwright/...` once
 * installed): the folder is searched for upwards from this file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseApduScript, type ApduScript } from './format.js';

/** Absolute path of `apdu/<name>` in this chipwright installation. */
export function shippedScriptPath(name: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'apdu', name);
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error(`shipped script apdu/${name} not found above ${fileURLToPath(import.meta.url)}; is the package installed completely?`);
}

/** Reads and parses a shipped script (messages name it `apdu/<name>`). */
export function loadShippedScript(name: string): ApduScript {
  return parseApduScript(readFileSync(shippedScriptPath(name), 'utf8'), `apdu/${name}`);
}
