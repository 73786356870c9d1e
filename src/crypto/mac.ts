/**
 * Message authentication codes of secure messaging and BAC:
 *
 * - ISO/IEC 9797-1:2011 MAC algorithm 3 (the "retail MAC") with DES: CBC-MAC under K with
 *   initial transformation 1 and output transformation 3, G = e_K(d_K'(H_q)). ICAO 9303-11 §9.8.4
 *   (3DES SM) and §4.3.3 (BAC mutual authentication) use it with padding method 2 and a 16-byte
 *   key K ‖ K'.
 * - AES-CMAC (RFC 4493 = NIST SP 800-38B = ISO/IEC 9797-1 MAC algorithm 5), used by AES SM
 *   truncated to 8 bytes (ICAO 9303-11 §9.8.4, BSI TR-03110-3 §F.2).
 *
 * Both come as stateful objects ({@link RetailMac}, {@link AesCmac}) that keep their OpenSSL
 * contexts for the life of a session key — the SM hot path pays at most one OpenSSL call per AES
 * MAC, none up to 8 blocks — and as one-shot functions ({@link retailMac}, {@link aesCmac}) for
 * everything else.
 *
 * Verify MACs in constant time — `constantTimeEqual` (bytes/), or the in-place comparison of
 * `sm.ts` — never with `===` or `equalBytes`.
 *
 * @example
 * retailMac(kMac, eIfd)              // ICAO 9303-11 Appendix D.3: M_IFD = 5F1448EEA8AD90A7
 * aesCmac(key, message, 8)           // truncated CMAC as AES SM uses it
 */
import { ByteInputError, abytes, zeroize } from '../bytes/index.js';
import { AesBlock } from './_aes.js';
import { CbcEncryptor } from './_chain.js';

/**
 * Up to this many blocks a CMAC runs in JavaScript: one OpenSSL call through Node (about 0.9 µs
 * of CPU, most of it allocating its output) costs about as much as eight to ten JavaScript blocks
 * (about 0.09 µs each; measured on Node 20), so protected commands and short responses never
 * cross into OpenSSL.
 */
const JS_MAX_BLOCKS = 8;

/** ISO/IEC 9797-1 padding methods this module applies: 1 (zeros), 2 (80 00..), or none. */
export type MacPadding = 1 | 2 | 'none';

/**
 * A MAC with long-lived key contexts, as secure messaging uses it. `macPadded` takes a message
 * already padded with ISO/IEC 9797-1 method 2 to a whole number of blocks and returns the
 * 8-byte MAC; its argument is scratch space and is overwritten.
 */
export interface SessionMac {
  readonly blockSize: 8 | 16;
  macPadded(scratch: Uint8Array): Uint8Array;
  /**
   * `macPadded` over `scratch[0, len)` (overwritten), writing the 8-byte MAC to `out[at, at + 8)`:
   * the SM hot path, which neither slices its scratch nor allocates a result per APDU.
   */
  macInto(scratch: Uint8Array, len: number, out: Uint8Array, at: number): void;
  /** Wipes the key material this object holds in JavaScript memory. */
  destroy(): void;
}

function apadding(p: unknown): MacPadding {
  if (p === 1 || p === 2 || p === 'none') return p;
  throw new ByteInputError(`padding: expected 1, 2 or 'none', got ${String(p)}`);
}

/** Pads a copy of `data` to a whole number of `bs`-byte blocks (a fresh buffer we may scribble on). */
function padded(data: Uint8Array, bs: number, padding: MacPadding): Uint8Array {
  if (padding === 'none') {
    if (data.length === 0 || data.length % bs !== 0) {
      throw new ByteInputError(`data: expected a non-empty multiple of ${bs} bytes without padding, got ${data.length}`);
    }
    return new Uint8Array(data); // a copy even for a Buffer (whose slice() is a view)
  }
  // Method 1 pads an empty message to one block of zeros (ISO/IEC 9797-1:2011 §6.1.1).
  const n = padding === 2 ? Math.floor(data.length / bs) + 1 : Math.max(1, Math.ceil(data.length / bs));
  const out = new Uint8Array(n * bs);
  out.set(data);
  if (padding === 2) out[data.length] = 0x80;
  return out;
}

/**
 * ISO/IEC 9797-1 MAC algorithm 3 with single DES as the block cipher and a 16-byte key K ‖ K'.
 * The CBC chain runs single DES under K (Triple DES with K1 = K2 = K3, since OpenSSL 3 only
 * offers single DES in its legacy provider); the last block is Triple DES EDE under K, K', K —
 * exactly e_K(d_K'(e_K(D_q ⊕ H_q-1))).
 *
 * @example new RetailMac(kMac).mac(data) // 8 bytes, padding method 2
 */
export class RetailMac implements SessionMac {
  readonly blockSize = 8 as const;
  readonly #chain: CbcEncryptor;
  readonly #last: CbcEncryptor;

  constructor(key: Uint8Array) {
    abytes(key, 16, 'key');
    const k1k1 = new Uint8Array(16);
    k1k1.set(key.subarray(0, 8));
    k1k1.set(key.subarray(0, 8), 8);
    try {
      this.#chain = new CbcEncryptor('3des', k1k1);
    } finally {
      zeroize(k1k1);
    }
    this.#last = new CbcEncryptor('3des', key);
  }

  /** The 8-byte MAC of `data` (padding method 2 unless told otherwise), truncated to `length`. */
  mac(data: Uint8Array, opts: { padding?: MacPadding; length?: number } = {}): Uint8Array {
    abytes(data, undefined, 'data');
    const length = opts.length ?? 8;
    if (!Number.isInteger(length) || length < 1 || length > 8) {
      throw new ByteInputError(`length: expected 1..8 bytes, got ${String(length)}`);
    }
    const m = this.macPadded(padded(data, 8, apadding(opts.padding ?? 2)));
    return length === 8 ? m : m.slice(0, length);
  }

  macPadded(scratch: Uint8Array): Uint8Array {
    const out = new Uint8Array(8);
    this.macInto(scratch, scratch.length, out, 0);
    return out;
  }

  macInto(scratch: Uint8Array, len: number, out: Uint8Array, at: number): void {
    const q = len >>> 3;
    if (q === 0 || (len & 7) !== 0) throw new ByteInputError(`data: expected a non-empty multiple of 8 bytes, got ${len}`);
    if (len > scratch.length) throw new ByteInputError(`len: ${len} exceeds the scratch of ${scratch.length} bytes`);
    const tail = (q - 1) * 8;
    if (q === 1) {
      this.#last.encryptRange(scratch, 0, 8);
    } else {
      // H_q-1 of the single-DES chain is the IV of the final Triple-DES block.
      this.#chain.encryptRange(scratch, 0, tail);
      this.#last.encryptRange(scratch, tail, len, this.#chain.chainingValue);
    }
    this.#last.chainingValueInto(out, at, 8);
  }

  destroy(): void {
    // Nothing of the key lives in JavaScript memory (only in the OpenSSL contexts).
  }
}

/** Doubling in GF(2^128) with R_128 = 0x87 (RFC 4493 §2.3, "Generate_Subkey"). */
function dbl(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 0; i < 15; i++) out[i] = ((b[i]! << 1) | (b[i + 1]! >>> 7)) & 0xff;
  out[15] = (b[15]! << 1) & 0xff;
  if ((b[0]! & 0x80) !== 0) out[15]! ^= 0x87;
  return out;
}

/**
 * AES-CMAC (RFC 4493) with AES-128, -192 or -256. Subkeys K1, K2 are derived once per key.
 *
 * @example new AesCmac(key).mac(message)     // 16 bytes
 * @example new AesCmac(kMac).mac(message, 8) // truncated, as AES secure messaging uses it
 */
export class AesCmac implements SessionMac {
  readonly blockSize = 16 as const;
  readonly #enc: CbcEncryptor;
  /** The same key in JavaScript, for short messages (see `_aes.ts`). */
  readonly #js: AesBlock;
  readonly #state = new Uint8Array(16);
  readonly #k1: Uint8Array;
  readonly #k2: Uint8Array;

  constructor(key: Uint8Array) {
    abytes(key, [16, 24, 32], 'key');
    this.#enc = new CbcEncryptor('aes', key);
    this.#js = new AesBlock(key);
    const l = this.#enc.lastBlockScratch(new Uint8Array(16));
    this.#k1 = dbl(l);
    this.#k2 = dbl(this.#k1);
    zeroize(l);
  }

  /** RFC 4493 §2.4 over `data` of any length, truncated to its first `length` bytes (1..16). */
  mac(data: Uint8Array, length = 16): Uint8Array {
    abytes(data, undefined, 'data');
    if (!Number.isInteger(length) || length < 1 || length > 16) {
      throw new ByteInputError(`length: expected 1..16 bytes, got ${String(length)}`);
    }
    const complete = data.length > 0 && data.length % 16 === 0;
    const n = complete ? data.length / 16 : Math.floor(data.length / 16) + 1;
    const m = new Uint8Array(n * 16);
    m.set(data);
    if (!complete) m[data.length] = 0x80;
    const k = complete ? this.#k1 : this.#k2;
    const o = m.length - 16;
    for (let i = 0; i < 16; i++) m[o + i]! ^= k[i]!;
    return this.#enc.lastBlockScratch(m, undefined, length);
  }

  /**
   * CMAC of a message already padded with method 2: its last block is complete, so RFC 4493 uses
   * K1. Returns the 8-byte truncation ICAO 9303-11 §9.8.4 prescribes.
   */
  macPadded(scratch: Uint8Array): Uint8Array {
    const out = new Uint8Array(8);
    this.macInto(scratch, scratch.length, out, 0);
    return out;
  }

  macInto(scratch: Uint8Array, len: number, out: Uint8Array, at: number): void {
    if (len === 0 || (len & 15) !== 0) throw new ByteInputError(`data: expected a non-empty multiple of 16 bytes, got ${len}`);
    if (len > scratch.length) throw new ByteInputError(`len: ${len} exceeds the scratch of ${scratch.length} bytes`);
    const k1 = this.#k1;
    const o = len - 16;
    for (let i = 0; i < 16; i++) scratch[o + i]! ^= k1[i]!;
    const blocks = len >>> 4;
    if (blocks > JS_MAX_BLOCKS) {
      this.#enc.encryptRange(scratch, 0, len);
      this.#enc.chainingValueInto(out, at, 8);
      return;
    }
    // Index loops, not fill(): for 16 bytes a call into the fill builtin costs more than the loop.
    const st = this.#state;
    for (let i = 0; i < 16; i++) st[i] = 0;
    this.#js.chain(st, scratch, 0, blocks);
    for (let i = 0; i < 8; i++) out[at + i] = st[i]!;
    for (let i = 0; i < 16; i++) st[i] = 0;
  }

  destroy(): void {
    this.#js.destroy();
    zeroize(this.#k1);
    zeroize(this.#k2);
  }
}

/**
 * One-shot ISO/IEC 9797-1 MAC algorithm 3 (DES, key K ‖ K', 16 bytes).
 *
 * @example retailMac(hexToBytes('7962D9ECE03D1ACD4C76089DCE131543'), eIfd) // 5F1448EEA8AD90A7
 */
export function retailMac(
  key: Uint8Array,
  data: Uint8Array,
  opts: { padding?: MacPadding; length?: number } = {},
): Uint8Array {
  return new RetailMac(key).mac(data, opts);
}

/**
 * One-shot AES-CMAC (RFC 4493), optionally truncated.
 *
 * @example aesCmac(hexToBytes('2B7E151628AED2A6ABF7158809CF4F3C'), new Uint8Array(0)) // BB1D6929...
 */
export function aesCmac(key: Uint8Array, data: Uint8Array, length = 16): Uint8Array {
  const m = new AesCmac(key);
  try {
    return m.mac(data, length);
  } finally {
    m.destroy();
  }
}

/**
 * The MAC secure messaging uses for a cipher family: retail MAC for 3DES (16-byte keys), AES-CMAC
 * for AES (16/24/32-byte keys).
 *
 * @example sessionMac('aes', kMac).macPadded(n) // 8 bytes
 */
export function sessionMac(cipher: '3des' | 'aes', key: Uint8Array): SessionMac {
  if (cipher === '3des') return new RetailMac(key);
  if (cipher === 'aes') return new AesCmac(key);
  throw new ByteInputError(`cipher: expected '3des' or 'aes', got ${String(cipher)}`);
}
