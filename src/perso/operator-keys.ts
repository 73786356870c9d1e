/**
 * The operator's key material: named symmetric keys the profile refers to (`{ operator: NAME }`),
 * from a key file (YAML or JSON `{ NAME: hex }`) and/or environment variables
 * `CHIPWRIGHT_KEY_<NAME>` (upper case, `-` and `.` as `_`), the environment winning. Values are
 * never printed; messages name keys only.
 *
 * Per-card diversification (`diversify: holder`): K_card = AES-CMAC(K, 01 ‖ id) ‖ AES-CMAC(K, 02 ‖ id)
 * … truncated to K's length (NIST SP 800-108 counter mode with CMAC as the PRF; id = the holder id
 * in UTF-8). A 3DES master key is used as the AES key of the same length (16 or 24 bytes).
 *
 * @example
 * const keys = loadOperatorKeys('keys.yaml', process.env);
 * operatorKey(keys, { operator: 'door', diversify: 'holder' }, '29963400001')
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { concatBytes, hexToBytes } from '../bytes/index.js';
import { aesCmac } from '../crypto/mac.js';
import type { OperatorKeySpec } from './profile.js';

export type OperatorKeys = ReadonlyMap<string, Uint8Array>;

/** Operator key material that is missing or malformed (names the key, never a value). */
export class OperatorKeyError extends Error {
  override readonly name = 'OperatorKeyError';
}

const envName = (name: string): string => `CHIPWRIGHT_KEY_${name.toUpperCase().replace(/[-.]/g, '_')}`;

function keyBytes(value: unknown, name: string, where: string): Uint8Array {
  if (typeof value !== 'string') throw new OperatorKeyError(`${where}: key ${name}: expected hex`);
  let b: Uint8Array;
  try {
    b = hexToBytes(value, `key ${name}`);
  } catch {
    throw new OperatorKeyError(`${where}: key ${name}: not hex`);
  }
  if (![16, 24, 32].includes(b.length)) throw new OperatorKeyError(`${where}: key ${name}: expected 16, 24 or 32 bytes, got ${b.length}`);
  return b;
}

/**
 * Keys from `file` (optional) and the environment.
 *
 * @example loadOperatorKeys(undefined, { CHIPWRIGHT_KEY_DOOR: '00112233…' })
 */
export function loadOperatorKeys(file: string | undefined, env: Readonly<Record<string, string | undefined>> = {}, names: readonly string[] = []): OperatorKeys {
  const out = new Map<string, Uint8Array>();
  if (file !== undefined) {
    let doc: unknown;
    try {
      doc = parse(readFileSync(file, 'utf8'));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new OperatorKeyError(`key file ${file}: ${code !== undefined ? `cannot read (${code})` : 'not YAML or JSON'}`);
    }
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new OperatorKeyError(`key file ${file}: expected a mapping NAME: hex`);
    for (const [k, v] of Object.entries(doc as Record<string, unknown>)) out.set(k, keyBytes(v, k, `key file ${file}`));
  }
  for (const n of names) {
    const v = env[envName(n)];
    if (v !== undefined && v !== '') out.set(n, keyBytes(v, n, envName(n)));
  }
  return out;
}

/** The key a profile names, diversified when asked. */
export function operatorKey(keys: OperatorKeys, spec: OperatorKeySpec, holderId: string): Uint8Array {
  const master = keys.get(spec.operator);
  if (master === undefined) {
    throw new OperatorKeyError(`operator key "${spec.operator}" not given: put it in the key file (--keys FILE) or in ${envName(spec.operator)}`);
  }
  if (spec.diversify === 'none') return master.slice();
  const id = new TextEncoder().encode(holderId);
  const blocks: Uint8Array[] = [];
  for (let i = 1; blocks.length * 16 < master.length; i++) blocks.push(aesCmac(master, concatBytes(Uint8Array.of(i), id)));
  return concatBytes(...blocks).slice(0, master.length);
}

/** Every operator key name a profile refers to (to read them from the environment). */
export function operatorKeyNames(profile: { readonly keys: readonly { readonly value: OperatorKeySpec }[]; readonly channel: { readonly transportKey: { readonly operator: string | undefined } }; readonly applications: readonly { readonly params: Readonly<Record<string, unknown>> }[] }): string[] {
  const names = new Set<string>();
  for (const k of profile.keys) names.add(k.value.operator);
  if (profile.channel.transportKey.operator !== undefined) names.add(profile.channel.transportKey.operator);
  for (const a of profile.applications) {
    for (const v of Object.values(a.params)) {
      if (v !== null && typeof v === 'object' && typeof (v as { operator?: unknown }).operator === 'string') names.add((v as { operator: string }).operator);
    }
  }
  return [...names];
}
