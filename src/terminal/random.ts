/**
 * The terminal's randomness: secure by default, or a fed byte sequence first (conformance replay
 * of published worked examples), then secure.
 */
import { randomBytes } from 'node:crypto';
import { ByteInputError } from '../bytes/index.js';

/** Fed bytes, a custom source, or `undefined` for `crypto.randomBytes`. */
export type RandomOption = Uint8Array | ((n: number) => Uint8Array) | undefined;

/** A function handing out `n` random bytes per call, from `r` as described by {@link RandomOption}. */
export function randomSource(r: RandomOption): (n: number) => Uint8Array {
  if (typeof r === 'function') return r;
  if (r === undefined) return (n) => new Uint8Array(randomBytes(n));
  if (!(r instanceof Uint8Array)) throw new ByteInputError('opts.random: expected Uint8Array or (n) => Uint8Array');
  let pos = 0;
  const fed = new Uint8Array(r);
  return (n) => {
    const out = new Uint8Array(n);
    const take = Math.min(n, fed.length - pos);
    out.set(fed.subarray(pos, pos + take));
    pos += take;
    if (take < n) out.set(randomBytes(n - take), take);
    return out;
  };
}
