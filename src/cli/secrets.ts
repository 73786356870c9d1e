/**
 * Values for the `{NAME}` placeholders of APDU scripts and conformance vectors (PINs, keys): from
 * a `--secrets` JSON file, then from `CHIPWRIGHT_SECRET_<NAME>` variables, so that no secret needs
 * to stand on a command line. Messages name the secret and where it came from, never its value.
 */
import { ByteInputError, hexToBytes } from '../bytes/index.js';
import { readInputFile } from './card-file.js';
import { InputFileError } from './errors.js';
import type { CliIo } from './io.js';

/**
 * The secrets file's values (every entry, hex), then `CHIPWRIGHT_SECRET_<NAME>` for each of
 * `names` the file did not give.
 *
 * @example loadSecrets(['PIN'], undefined, { CHIPWRIGHT_SECRET_PIN: '31323334' }) // { PIN: 31 32 33 34 }
 */
export function loadSecrets(names: Iterable<string>, file: string | undefined, env: CliIo['env']): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  if (file !== undefined) {
    const text = readInputFile(file, 'secrets file');
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new InputFileError(`secrets file ${file}: not JSON; expected {"NAME": "hex", ...}`);
    }
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new InputFileError(`secrets file ${file}: expected a JSON object {"NAME": "hex", ...}`);
    for (const [name, v] of Object.entries(doc)) {
      if (typeof v !== 'string') throw new InputFileError(`secrets file ${file}: "${name}": expected a hex string`);
      out[name] = hexOf(v, name, `secrets file ${file}: "${name}"`);
    }
  }
  for (const name of names) {
    if (out[name] !== undefined) continue;
    const v = env[`CHIPWRIGHT_SECRET_${name}`];
    if (v !== undefined) out[name] = hexOf(v, name, `environment CHIPWRIGHT_SECRET_${name}`);
  }
  return out;
}

function hexOf(v: string, name: string, where: string): Uint8Array {
  try {
    return hexToBytes(v, name);
  } catch (e) {
    // The message names the secret, never its value.
    if (e instanceof ByteInputError) throw new InputFileError(`${where}: not hex`);
    throw e;
  }
}
