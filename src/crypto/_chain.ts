/**
 * Internal: long-lived CBC engines for the hot paths of secure messaging and MACs.
 *
 * Creating an OpenSSL cipher context costs about 3 µs in Node 20, several times the cost of the
 * work an SM APDU needs, so each session key gets one encrypting and one decrypting CBC context
 * for its whole life. A CBC context keeps the last ciphertext block as its chaining value, which
 * would link unrelated messages; we undo that ourselves (NIST SP 800-38A §6.2): to encrypt a new
 * message under IV `v` we XOR `v ⊕ C_prev` into its first plaintext block, so OpenSSL computes
 * `E(P1 ⊕ v)`; to decrypt we XOR `C_prev ⊕ v` into the first output block. Every message is then
 * exactly the CBC of the standard, with one `update()` call and no per-block JavaScript.
 *
 * The OpenSSL contexts hold the key until they are garbage-collected (Node offers no way to wipe
 * them); callers drop the engine when the session ends.
 */
import { createCipheriv, createDecipheriv, type Cipher, type Decipher } from 'node:crypto';
import { concatBytes, zeroize } from '../bytes/index.js';

/** Block cipher families of the chain engines: AES (16-byte blocks) or Triple DES (8-byte). */
export type ChainCipher = '3des' | 'aes';

/** OpenSSL name and key for a CBC context (two-key TDEA expanded to K1‖K2‖K1, SP 800-67 §3.1). */
function opensslCbc(cipher: ChainCipher, key: Uint8Array): { name: string; key: Uint8Array } {
  // `new Uint8Array(x)` copies even when `x` is a Buffer, whose `slice()` would be a view — and
  // the copy is zeroized below.
  if (cipher === 'aes') return { name: `aes-${key.length * 8}-cbc`, key: new Uint8Array(key) };
  const k = key.length === 16 ? concatBytes(key, key.subarray(0, 8)) : new Uint8Array(key);
  return { name: 'des-ede3-cbc', key: k };
}

/** XORs `a ⊕ b` into `dst` at `offset`, for `n` bytes. */
function xor2Into(dst: Uint8Array, offset: number, a: Uint8Array, b: Uint8Array, n: number): void {
  for (let i = 0; i < n; i++) dst[offset + i]! ^= a[i]! ^ b[i]!;
}

/** A CBC encryption context whose chaining is reset per message (see the module comment). */
export class CbcEncryptor {
  readonly blockSize: 8 | 16;
  readonly #ctx: Cipher;
  /** OpenSSL's current chaining value: the last ciphertext block it produced (initially its IV). */
  readonly #last: Uint8Array;
  /** One cached view for {@link encryptRange}: `#viewOf[#viewFrom, #viewFrom + #view.length)`. */
  #view: Uint8Array | null = null;
  #viewOf: Uint8Array | null = null;
  #viewFrom = 0;
  static readonly #ZERO16 = new Uint8Array(16);

  /** `key`: AES 16/24/32 bytes, or TDEA 16 (two-key) / 24 bytes (checked by the callers). */
  constructor(cipher: ChainCipher, key: Uint8Array) {
    this.blockSize = cipher === 'aes' ? 16 : 8;
    const o = opensslCbc(cipher, key);
    try {
      this.#ctx = createCipheriv(o.name, o.key, new Uint8Array(this.blockSize));
    } finally {
      zeroize(o.key);
    }
    this.#ctx.setAutoPadding(false);
    this.#last = new Uint8Array(this.blockSize);
  }

  /**
   * CBC-encrypts `buf` (a non-empty whole number of blocks) under `iv` (zero when omitted).
   * `buf` is the caller's scratch buffer: its first block is overwritten.
   */
  encryptScratch(buf: Uint8Array, iv?: Uint8Array): Buffer {
    const bs = this.blockSize;
    const last = this.#last;
    xor2Into(buf, 0, iv ?? CbcEncryptor.#ZERO16, last, bs);
    const out = this.#ctx.update(buf);
    // Index copies: a Buffer's subarray() costs more than copying 16 bytes.
    const o = out.length - bs;
    for (let i = 0; i < bs; i++) last[i] = out[o + i]!;
    return out;
  }

  /**
   * {@link encryptScratch} over `buf[from, to)` without the caller making a view: the view is
   * cached per engine, because SM encrypts and MACs the same scratch range APDU after APDU and a
   * view costs more than the bytes it spans (a fresh one per call showed up in profiles).
   */
  encryptRange(buf: Uint8Array, from: number, to: number, iv?: Uint8Array): Buffer {
    let v = this.#view;
    if (v === null || this.#viewOf !== buf || this.#viewFrom !== from || v.length !== to - from) {
      v = buf.subarray(from, to);
      this.#view = v;
      this.#viewOf = buf;
      this.#viewFrom = from;
    }
    return this.encryptScratch(v, iv);
  }

  /**
   * The chaining value after the last message: its last ciphertext block, i.e. a CBC-MAC. The
   * engine's own array, valid until its next call; read it, never keep or modify it.
   */
  get chainingValue(): Uint8Array {
    return this.#last;
  }

  /** Copies the first `n` bytes of {@link chainingValue} to `out[at, at + n)`. */
  chainingValueInto(out: Uint8Array, at: number, n: number): void {
    const last = this.#last;
    for (let i = 0; i < n; i++) out[at + i] = last[i]!;
  }

  /**
   * The first `n` bytes of the last block of {@link encryptScratch} (a CBC-MAC), same contract,
   * as a fresh array.
   */
  lastBlockScratch(buf: Uint8Array, iv?: Uint8Array, n: number = this.blockSize): Uint8Array {
    this.encryptScratch(buf, iv);
    const r = new Uint8Array(n);
    const last = this.#last;
    for (let i = 0; i < n; i++) r[i] = last[i]!;
    return r;
  }
}

/** A CBC decryption context whose chaining is reset per message. */
export class CbcDecryptor {
  readonly blockSize: 8 | 16;
  readonly #ctx: Decipher;
  readonly #last: Uint8Array;

  constructor(cipher: ChainCipher, key: Uint8Array) {
    this.blockSize = cipher === 'aes' ? 16 : 8;
    const o = opensslCbc(cipher, key);
    try {
      this.#ctx = createDecipheriv(o.name, o.key, new Uint8Array(this.blockSize));
    } finally {
      zeroize(o.key);
    }
    this.#ctx.setAutoPadding(false);
    this.#last = new Uint8Array(this.blockSize);
  }

  /** CBC-decrypts `data` (a non-empty whole number of blocks, not modified) under `iv`. */
  decrypt(data: Uint8Array, iv?: Uint8Array): Buffer {
    const bs = this.blockSize;
    const out = this.#ctx.update(data);
    // OpenSSL XORed the first block with its chaining value; replace that with `iv`.
    if (iv === undefined) {
      for (let i = 0; i < bs; i++) out[i]! ^= this.#last[i]!;
    } else {
      xor2Into(out, 0, iv, this.#last, bs);
    }
    const last = this.#last;
    const o = data.length - bs;
    for (let i = 0; i < bs; i++) last[i] = data[o + i]!;
    return out;
  }
}
