/**
 * Validation of option values into typed values. Every message names the option (or argument)
 * and the value's problem, and says what is expected: `--serial: expected 1..32 bytes, got 40`.
 */
import { Option } from 'commander';
import { hexToBytes } from '../bytes/index.js';
import { DEFAULT_TRANSPORT_KEY } from '../card/os.js';
import type { TransportKey } from '../script/transport-auth.js';
import { UsageError } from './errors.js';

/** Hex bytes of an option (`hexToBytes` names the option on bad hex), with a length range. */
export function hexOption(value: string, name: string, min = 0, max = Infinity): Uint8Array {
  const b = hexToBytes(value, name);
  if (b.length < min || b.length > max) {
    const range = max === Infinity ? `at least ${min}` : min === max ? `${min}` : `${min}..${max}`;
    throw new UsageError(`${name}: expected ${range} bytes, got ${b.length}`);
  }
  return b;
}

/** A decimal integer option within a range. */
export function intOption(value: string, name: string, min: number, max: number): number {
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`${name}: expected a whole number ${min}..${max}, got "${value}"`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`${name}: expected ${min}..${max}, got ${n}`);
  return n;
}

/**
 * The APDU arguments of `send`: each is hex (spaces allowed when quoted) of at least a header.
 * A one-byte argument is almost always an APDU typed with spaces but not quoted, so it is refused
 * with that hint rather than sent as a malformed APDU.
 */
export function apduArguments(args: readonly string[]): Uint8Array[] {
  return args.map((a, i) => {
    // Named by its header only: the data field may hold a PIN (VERIFY) or a key.
    const head = a.replace(/[\s:-]/g, '').slice(0, 8);
    const name = `APDU ${i + 1} (${/^[0-9A-Fa-f]+$/.test(head) ? head.toUpperCase() : 'not hex'}…)`;
    const b = hexToBytes(a, name);
    if (b.length < 4) {
      throw new UsageError(`${name}: ${b.length} bytes, an APDU has at least 4 (CLA INS P1 P2); quote an APDU written with spaces`);
    }
    return b;
  });
}

export const KEY_ALGORITHMS = ['3des', 'aes'] as const;
export type KeyAlgorithmOption = (typeof KEY_ALGORITHMS)[number];

/** The transport key from `--transport-key` / `--transport-key-algorithm` (default: the test key). */
export function transportKeyOption(hex: string | undefined, algorithm: KeyAlgorithmOption | undefined): TransportKey {
  const alg = algorithm ?? '3des';
  if (hex === undefined) return { algorithm: alg, value: DEFAULT_TRANSPORT_KEY };
  const value = hexToBytes(hex, '--transport-key');
  const lengths = alg === '3des' ? [16, 24] : [16, 24, 32];
  if (!lengths.includes(value.length)) {
    throw new UsageError(`--transport-key: ${alg === '3des' ? '3DES' : 'AES'} needs ${lengths.join(' or ')} bytes, got ${value.length}`);
  }
  return { algorithm: alg, value };
}

/**
 * `--applet <module>`, repeatable: applet modules (`src/apps/modules.ts`) whose applet types the
 * card image uses or the command installs. Values are collected in the order given.
 */
export function appletOption(description = 'applet module (file path or package name) defining applet types the card uses; repeatable'): Option {
  return new Option('--applet <module>', description).argParser((value: string, previous: string[] | undefined) => {
    if (value.trim() === '') throw new UsageError('--applet: expected a module file path or package name, got an empty string');
    return [...(previous ?? []), value];
  });
}
