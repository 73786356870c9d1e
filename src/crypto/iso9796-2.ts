/**
 * ISO/IEC 9796-2 digital signature scheme 1 (deterministic, message recovery) — the message
 * representative F that RSA Active Authentication signs (ICAO 9303-11 §6.1.2, Appendix F).
 *
 * For a modulus of k bits (k a multiple of 8 here), F has k/8 bytes:
 *
 *     partial recovery:  6A ‖ M1 ‖ H(M1 ‖ M2) ‖ T          M1 = the first c bytes of M
 *     full recovery:     4A ‖ M ‖ H(M) ‖ T                  M fills the capacity exactly
 *                        4B ‖ BB…BB BA ‖ M ‖ H(M) ‖ T       M shorter: padding nibbles, border BA
 *
 * The header nibble is `01` then the more-data bit (1 = partial recovery: M2 is not in F), then the
 * padding; c = k/8 − |H| − |T| − 1 bytes. The trailer T is `BC` (option 1, implicit: the hash is
 * SHA-1, ICAO 9303-11 §6.1.2) or `hh CC` (option 2) with hh the ISO/IEC 10118-3 hash identifier.
 *
 * @example ICAO 9303-11 Appendix F: M1 (106 bytes) ‖ RND.IFD with SHA-1, a 1024-bit key
 * const { representative } = encodeScheme1(concatBytes(m1, rndIfd), 1024, { hash: 'sha1', trailer: 'implicit' });
 * // 6A 9D2784A6 … 7DA8 C063AA1E … D88127 BC
 */
import { createHash } from 'node:crypto';
import { ByteInputError, concatBytes, constantTimeEqual } from '../bytes/index.js';

/** A representative that does not decode (header, padding, trailer) or whose hash does not match. */
export class Iso9796Error extends Error {
  override readonly name = 'Iso9796Error';
}

/** Hash functions with an ISO/IEC 10118-3 identifier that OpenSSL provides. */
export type Iso9796Hash = 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512' | 'sha512-224' | 'sha512-256' | 'ripemd160';

/** ISO/IEC 10118-3 hash identifiers (the hh of trailer option 2, `hh CC`). */
export const HASH_IDENTIFIER: Readonly<Record<Iso9796Hash, number>> = Object.freeze({
  ripemd160: 0x31,
  sha1: 0x33,
  sha256: 0x34,
  sha512: 0x35,
  sha384: 0x36,
  sha224: 0x38,
  'sha512-224': 0x39,
  'sha512-256': 0x3a,
});

const HASH_SIZE: Readonly<Record<Iso9796Hash, number>> = Object.freeze({
  ripemd160: 20,
  sha1: 20,
  sha256: 32,
  sha512: 64,
  sha384: 48,
  sha224: 28,
  'sha512-224': 28,
  'sha512-256': 32,
});

export interface Scheme1Options {
  readonly hash: Iso9796Hash;
  /**
   * `implicit`: trailer `BC` (only with SHA-1, as ICAO 9303-11 §6.1.2 requires); `explicit`:
   * `hh CC`. Default: implicit for SHA-1, explicit otherwise.
   */
  readonly trailer?: 'implicit' | 'explicit';
}

function trailerOf(opts: Scheme1Options): Uint8Array {
  const implicit = opts.trailer === undefined ? opts.hash === 'sha1' : opts.trailer === 'implicit';
  if (implicit && opts.hash !== 'sha1') throw new ByteInputError(`trailer: the implicit trailer BC means SHA-1, not ${opts.hash}`);
  return implicit ? new Uint8Array([0xbc]) : new Uint8Array([HASH_IDENTIFIER[opts.hash], 0xcc]);
}

function checkBits(modulusBits: number): number {
  if (!Number.isInteger(modulusBits) || modulusBits < 512 || modulusBits % 8 !== 0) {
    throw new ByteInputError(`modulusBits: expected a multiple of 8 from 512, got ${modulusBits}`);
  }
  return modulusBits / 8;
}

/**
 * Bytes of the message F can hold (the length of M1 under partial recovery): k/8 − |H| − |T| − 1.
 * ICAO 9303-11 Appendix F: 1024 bits with SHA-1 and trailer BC → 106.
 *
 * @example scheme1Capacity(1024, { hash: 'sha1' }) // 106
 */
export function scheme1Capacity(modulusBits: number, opts: Scheme1Options): number {
  return checkBits(modulusBits) - HASH_SIZE[opts.hash] - trailerOf(opts).length - 1;
}

/** The representative and how the message was split. */
export interface Scheme1Encoding {
  /** F, k/8 bytes: what the signer raises to d. */
  readonly representative: Uint8Array;
  /** M1: the part of the message inside F. */
  readonly recovered: Uint8Array;
  /** M2: the part the verifier must already know (empty under full recovery). */
  readonly nonRecovered: Uint8Array;
  readonly partial: boolean;
}

/**
 * Builds F for message M (ISO/IEC 9796-2:2010 §8 scheme 1). A message longer than the capacity is
 * split: M1 = its first {@link scheme1Capacity} bytes go into F, M2 = the rest stays outside.
 *
 * @example encodeScheme1(concatBytes(nonce, rndIfd), 2048, { hash: 'sha256' }).partial // true
 */
export function encodeScheme1(message: Uint8Array, modulusBits: number, opts: Scheme1Options): Scheme1Encoding {
  const size = checkBits(modulusBits);
  const t = trailerOf(opts);
  const hLen = HASH_SIZE[opts.hash];
  const capacity = size - hLen - t.length - 1;
  if (capacity < 1) throw new ByteInputError(`modulusBits: ${modulusBits} bits leave no room for the message with ${opts.hash}`);
  const h = new Uint8Array(createHash(opts.hash).update(message).digest());
  const f = new Uint8Array(size);
  f.set(h, size - t.length - hLen);
  f.set(t, size - t.length);
  const partial = message.length > capacity;
  const recovered = partial ? message.slice(0, capacity) : message.slice();
  const start = size - t.length - hLen - recovered.length;
  f.set(recovered, start);
  if (start === 1) {
    f[0] = partial ? 0x6a : 0x4a;
  } else {
    // Full recovery of a short message: padding nibbles B, the border nibble A just before M.
    f[0] = 0x4b;
    f.fill(0xbb, 1, start - 1);
    f[start - 1] = 0xba;
  }
  return { representative: f, recovered, nonRecovered: message.slice(recovered.length), partial };
}

/** What a representative holds. */
export interface Scheme1Decoding {
  readonly hash: Iso9796Hash;
  readonly trailer: 'implicit' | 'explicit';
  readonly partial: boolean;
  /** M1 (partial) or M (full). */
  readonly recovered: Uint8Array;
  /** H(M) as found in F. */
  readonly hashValue: Uint8Array;
}

/**
 * Splits a representative F (the result of the public operation s^e mod n) into its fields;
 * throws {@link Iso9796Error} when the header, padding or trailer is not scheme 1's.
 *
 * @example decodeScheme1(rsaPublicRaw(pub, signature)).recovered // M1
 */
export function decodeScheme1(f: Uint8Array): Scheme1Decoding {
  if (f.length < 4) throw new Iso9796Error('representative too short');
  if ((f[0]! & 0xc0) !== 0x40) throw new Iso9796Error('representative header is not 01 (wrong key or not a signature)');
  const last = f[f.length - 1]!;
  let hash: Iso9796Hash | undefined;
  let tLen: number;
  if (last === 0xbc) {
    hash = 'sha1';
    tLen = 1;
  } else if (last === 0xcc) {
    const id = f[f.length - 2]!;
    hash = (Object.keys(HASH_IDENTIFIER) as Iso9796Hash[]).find((k) => HASH_IDENTIFIER[k] === id);
    if (hash === undefined) throw new Iso9796Error(`trailer ${id.toString(16).toUpperCase()}CC names no supported hash`);
    tLen = 2;
  } else {
    throw new Iso9796Error('trailer is neither BC nor hh CC');
  }
  let start: number;
  const nibble = f[0]! & 0x0f;
  if (nibble === 0x0a) start = 1;
  else if (nibble === 0x0b) {
    let i = 1;
    while (i < f.length && f[i] === 0xbb) i++;
    if (f[i] !== 0xba) throw new Iso9796Error('padding does not end with the border nibble A');
    start = i + 1;
  } else throw new Iso9796Error('padding field is malformed');
  const hLen = HASH_SIZE[hash];
  const end = f.length - tLen - hLen;
  if (end < start) throw new Iso9796Error('representative too short for its hash');
  return {
    hash,
    trailer: tLen === 1 ? 'implicit' : 'explicit',
    partial: (f[0]! & 0x20) !== 0,
    recovered: f.slice(start, end),
    hashValue: f.slice(end, end + hLen),
  };
}

/**
 * Verifies a decoded representative against the non-recoverable part M2 (empty under full
 * recovery): H(recovered ‖ M2) must equal the hash in F, compared in constant time.
 *
 * @example verifyScheme1(decodeScheme1(f), rndIfd) // the AA challenge is M2
 */
export function verifyScheme1(d: Scheme1Decoding, nonRecovered: Uint8Array): boolean {
  if (!d.partial && nonRecovered.length > 0) return false;
  const h = new Uint8Array(createHash(d.hash).update(concatBytes(d.recovered, nonRecovered)).digest());
  return constantTimeEqual(h, d.hashValue);
}
