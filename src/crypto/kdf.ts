/**
 * Key derivation for BAC, PACE and Chip Authentication: ICAO Doc 9303-11 (8th ed., 2021) §9.7.1.
 *
 *     keydata = H(K ‖ c)        c = 32-bit big-endian counter: 1 = KEnc, 2 = KMac, 3 = PACE Kπ
 *
 * | alg       | H       | key                                         |
 * |-----------|---------|---------------------------------------------|
 * | `3des`    | SHA-1   | octets 1–16 (Ka ‖ Kb), DES parity adjusted  |
 * | `aes-128` | SHA-1   | octets 1–16                                 |
 * | `aes-192` | SHA-256 | octets 1–24                                 |
 * | `aes-256` | SHA-256 | octets 1–32                                 |
 *
 * The parity adjustment is what §9.7.1.1 asks for and what the Appendix D worked example prints
 * (`AB94FDECF2674FDFB9B391F85D7F76F2` for KEnc): OpenSSL ignores DES parity bits, so the result
 * encrypts identically either way, but anything that compares or stores keys sees the adjusted
 * bytes.
 *
 * The hash output and the concatenation buffer are zeroized; the caller owns (and should zeroize)
 * `secret` and the returned key.
 *
 * @example
 * const kEnc = kdf(kSeed, 1, '3des'); // ICAO 9303-11 Appendix D.2
 * const kMac = kdf(kSeed, 2, '3des');
 */
import { createHash } from 'node:crypto';
import { ByteInputError, abytes, zeroize } from '../bytes/index.js';

/** Derived key algorithms of ICAO 9303-11 §9.7.1. */
export type KdfAlgorithm = '3des' | 'aes-128' | 'aes-192' | 'aes-256';

/** Counter values of §9.7.1: 1 = encryption key, 2 = MAC key, 3 = PACE password key Kπ. */
export type KdfCounter = 1 | 2 | 3;

/** Named counters, for readable call sites. */
export const KDF_COUNTER = Object.freeze({ ENC: 1, MAC: 2, PACE: 3 } as const);

const SPEC: Readonly<Record<KdfAlgorithm, { readonly hash: 'sha1' | 'sha256'; readonly length: number }>> =
  Object.freeze({
    '3des': { hash: 'sha1', length: 16 },
    'aes-128': { hash: 'sha1', length: 16 },
    'aes-192': { hash: 'sha256', length: 24 },
    'aes-256': { hash: 'sha256', length: 32 },
  });

/**
 * KDF(K, c) of ICAO 9303-11 §9.7.1. `secret` is the shared secret K: Kseed for BAC, the shared
 * secret for PACE/CA, or f(π) for the PACE password key (counter 3).
 *
 * @example kdf(hexToBytes('239AB9CB282DAF66231DC5A4DF6BFBAE'), 1, '3des') // AB94FDEC F2674FDF B9B391F8 5D7F76F2
 */
export function kdf(secret: Uint8Array, counter: KdfCounter, alg: KdfAlgorithm): Uint8Array {
  abytes(secret, undefined, 'secret');
  if (counter !== 1 && counter !== 2 && counter !== 3) {
    throw new ByteInputError(`counter: expected 1 (KEnc), 2 (KMac) or 3 (PACE), got ${String(counter)}`);
  }
  const spec = (SPEC as Readonly<Record<string, (typeof SPEC)[KdfAlgorithm] | undefined>>)[alg];
  if (spec === undefined) {
    throw new ByteInputError(`alg: expected '3des', 'aes-128', 'aes-192' or 'aes-256', got ${String(alg)}`);
  }
  const input = new Uint8Array(secret.length + 4);
  input.set(secret);
  input[secret.length + 3] = counter;
  const digest = createHash(spec.hash).update(input).digest();
  zeroize(input);
  const key = new Uint8Array(spec.length);
  key.set(digest.subarray(0, spec.length));
  zeroize(digest);
  if (alg === '3des') adjustDesParity(key);
  return key;
}

/**
 * Sets the least significant bit of every byte so that the byte has odd parity (FIPS 46-3 §3:
 * "bits 8, 16, ..., 64 are for use in ensuring that each byte is of odd parity"). In place.
 *
 * @example adjustDesParity(new Uint8Array([0x00, 0x01])) // 01 01
 */
export function adjustDesParity(key: Uint8Array): Uint8Array {
  for (let i = 0; i < key.length; i++) {
    const b = key[i]! & 0xfe;
    let ones = 0;
    for (let x = b; x !== 0; x &= x - 1) ones++;
    key[i] = b | ((ones & 1) === 0 ? 1 : 0);
  }
  return key;
}
