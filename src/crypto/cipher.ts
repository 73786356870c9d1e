/**
 * Block ciphers the card and its protocols need: two- and three-key Triple DES (TDEA, NIST SP
 * 800-67) and AES-128/192/256 (FIPS 197), in CBC mode without padding (NIST SP 800-38A §6.2) and
 * as single-block ECB, plus ISO/IEC 9797-1 padding method 2.
 *
 * Padding is never applied implicitly: smart-card protocols (EXTERNAL AUTHENTICATE, secure
 * messaging per ISO/IEC 7816-4 §10, ICAO 9303-11 BAC/PACE) say exactly when they pad, so a cipher
 * that pads on its own (OpenSSL's default PKCS#7) would produce cryptograms no card accepts.
 *
 * Both Triple DES key sizes run on OpenSSL's `des-ede3-*` ciphers: a 16-byte key K1‖K2 is used as
 * the 24-byte K1‖K2‖K1 (keying option 2 of SP 800-67 §3.1). Node 20 with OpenSSL 3.0 also offers
 * `des-ede-cbc` for two-key 3DES, but the expansion keeps one code path and does not depend on
 * which two-key names a given OpenSSL build still registers.
 *
 * Secrets: expanded key copies made here are zeroized after use; callers own (and zeroize) their
 * keys. No error message contains key or data bytes.
 *
 * @example
 * const ct = cbcEncrypt('aes', key16, pad2(message, 16)); // zero IV
 * const pt = unpad2(cbcDecrypt('aes', key16, ct), 16);
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { ByteInputError, abytes, concatBytes, zeroize } from '../bytes/index.js';

/** The two block-cipher families chipwright's keys use (same names as the card's KeyObject). */
export type CipherAlgorithm = '3des' | 'aes';

/** Block size in bytes: 8 for Triple DES, 16 for AES. */
export const BLOCK_SIZE: Readonly<Record<CipherAlgorithm, 8 | 16>> = Object.freeze({ '3des': 8, aes: 16 });

/** Accepted key lengths in bytes (2-key/3-key TDEA; AES-128/192/256). */
export const KEY_LENGTHS: Readonly<Record<CipherAlgorithm, readonly number[]>> = Object.freeze({
  '3des': Object.freeze([16, 24]),
  aes: Object.freeze([16, 24, 32]),
});

/** A block cipher input that is not a whole number of blocks, or bad padding on removal. */
export class PaddingError extends Error {
  override readonly name = 'PaddingError';
}

/**
 * Asserts a known algorithm and returns its block size.
 *
 * @example blockSizeOf('3des') // 8
 */
export function blockSizeOf(algorithm: CipherAlgorithm): 8 | 16 {
  const bs = (BLOCK_SIZE as Readonly<Record<string, 8 | 16>>)[algorithm];
  if (bs === undefined) throw new ByteInputError(`algorithm: expected '3des' or 'aes', got ${String(algorithm)}`);
  return bs;
}

/**
 * Asserts a key of a length valid for `algorithm`, naming the argument (never its bytes).
 *
 * @example akey('aes', key) // throws `key: expected 16 or 24 or 32 bytes, got 15`
 */
export function akey(algorithm: CipherAlgorithm, key: unknown, title = 'key'): Uint8Array {
  blockSizeOf(algorithm);
  return abytes(key, KEY_LENGTHS[algorithm], title);
}

/**
 * Asserts data that is a whole, possibly empty, number of blocks, naming the argument.
 *
 * @example ablocks(data, 8, 'cryptogram')
 */
export function ablocks(data: unknown, blockSize: number, title = 'data'): Uint8Array {
  const d = abytes(data, undefined, title);
  if (d.length % blockSize !== 0) {
    throw new ByteInputError(`${title}: expected a multiple of ${blockSize} bytes (no padding is added), got ${d.length}`);
  }
  return d;
}

/** OpenSSL cipher name and the key to hand it (a fresh copy, to be zeroized by the caller). */
function openssl(algorithm: CipherAlgorithm, key: Uint8Array, mode: 'cbc' | 'ecb'): { name: string; key: Uint8Array } {
  if (algorithm === '3des') {
    // SP 800-67 §3.1 keying option 2: K3 = K1.
    // new Uint8Array(...) copies: Buffer.prototype.slice is a view, and the copy is zeroized later.
    const k = key.length === 16 ? concatBytes(key, key.subarray(0, 8)) : new Uint8Array(key);
    return { name: mode === 'cbc' ? 'des-ede3-cbc' : 'des-ede3-ecb', key: k };
  }
  return { name: `aes-${key.length * 8}-${mode}`, key: new Uint8Array(key) };
}

function run(
  encrypt: boolean,
  algorithm: CipherAlgorithm,
  key: Uint8Array,
  data: Uint8Array,
  iv: Uint8Array | null,
  mode: 'cbc' | 'ecb',
): Uint8Array {
  const o = openssl(algorithm, key, mode);
  try {
    const c = encrypt ? createCipheriv(o.name, o.key, iv) : createDecipheriv(o.name, o.key, iv);
    c.setAutoPadding(false);
    const a = c.update(data);
    const b = c.final();
    const out = new Uint8Array(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    zeroize(a);
    return out;
  } finally {
    zeroize(o.key);
  }
}

function checkCbc(algorithm: CipherAlgorithm, key: Uint8Array, data: Uint8Array, iv: Uint8Array | undefined): Uint8Array {
  const bs = blockSizeOf(algorithm);
  akey(algorithm, key);
  ablocks(data, bs, 'data');
  return iv === undefined ? new Uint8Array(bs) : abytes(iv, bs, 'iv');
}

/**
 * CBC encryption without padding (NIST SP 800-38A §6.2). The IV defaults to zero, which is what
 * ISO/IEC 7816-4 challenge-response and ICAO 9303-11 BAC use (the challenge supplies freshness).
 *
 * @example cbcEncrypt('3des', kEnc, s) // ICAO 9303-11 Appendix D: E_IFD
 */
export function cbcEncrypt(algorithm: CipherAlgorithm, key: Uint8Array, data: Uint8Array, iv?: Uint8Array): Uint8Array {
  const v = checkCbc(algorithm, key, data, iv);
  return run(true, algorithm, key, data, v, 'cbc');
}

/**
 * CBC decryption without padding removal (NIST SP 800-38A §6.2); pair with {@link unpad2} when
 * the protocol padded.
 *
 * @example unpad2(cbcDecrypt('aes', key, ct), 16)
 */
export function cbcDecrypt(algorithm: CipherAlgorithm, key: Uint8Array, data: Uint8Array, iv?: Uint8Array): Uint8Array {
  const v = checkCbc(algorithm, key, data, iv);
  return run(false, algorithm, key, data, v, 'cbc');
}

/**
 * Encrypts exactly one block (ECB of one block = the raw block cipher), as retail MACs and
 * PACE/SM send-sequence-counter IVs (ICAO 9303-11 §9.8.6.1) need.
 *
 * @example ecbEncryptBlock('aes', kEnc, ssc) // the SM IV for AES
 */
export function ecbEncryptBlock(algorithm: CipherAlgorithm, key: Uint8Array, block: Uint8Array): Uint8Array {
  akey(algorithm, key);
  abytes(block, blockSizeOf(algorithm), 'block');
  return run(true, algorithm, key, block, null, 'ecb');
}

/**
 * Decrypts exactly one block.
 *
 * @example ecbDecryptBlock('3des', key, ecbEncryptBlock('3des', key, block)) // block
 */
export function ecbDecryptBlock(algorithm: CipherAlgorithm, key: Uint8Array, block: Uint8Array): Uint8Array {
  akey(algorithm, key);
  abytes(block, blockSizeOf(algorithm), 'block');
  return run(false, algorithm, key, block, null, 'ecb');
}

function ablockSize(blockSize: unknown): number {
  if (typeof blockSize !== 'number' || !Number.isInteger(blockSize) || blockSize < 1 || blockSize > 255) {
    throw new ByteInputError(`blockSize: expected an integer 1..255, got ${String(blockSize)}`);
  }
  return blockSize;
}

/**
 * ISO/IEC 9797-1 padding method 2 (the one ISO/IEC 7816-4 §10 and ICAO 9303-11 use): append 80,
 * then the fewest 00 bytes that make a multiple of `blockSize`. Always adds at least one byte, so
 * it is unambiguous to remove.
 *
 * @example pad2(hexToBytes('0102'), 8) // 01 02 80 00 00 00 00 00
 */
export function pad2(data: Uint8Array, blockSize: number): Uint8Array {
  abytes(data, undefined, 'data');
  const bs = ablockSize(blockSize);
  const out = new Uint8Array((Math.floor(data.length / bs) + 1) * bs);
  out.set(data);
  out[data.length] = 0x80;
  return out;
}

/**
 * Removes ISO/IEC 9797-1 padding method 2, strictly: the input must be a non-empty multiple of
 * `blockSize`, end in 80 followed by fewer than `blockSize` 00 bytes. Anything else raises
 * {@link PaddingError} (whose message never shows the data), because accepting sloppy padding
 * after decryption turns a card into a padding oracle.
 *
 * @example unpad2(hexToBytes('01 02 80 00 00 00 00 00'), 8) // 01 02
 */
export function unpad2(data: Uint8Array, blockSize: number): Uint8Array {
  abytes(data, undefined, 'data');
  const bs = ablockSize(blockSize);
  if (data.length === 0 || data.length % bs !== 0) {
    throw new PaddingError(`data: padded length must be a non-zero multiple of ${bs}, got ${data.length}`);
  }
  let i = data.length - 1;
  const stop = data.length - bs;
  while (i >= stop && data[i] === 0x00) i--;
  if (i < stop || data[i] !== 0x80) {
    throw new PaddingError('data: no ISO/IEC 9797-1 method 2 padding (80 00..00) in the last block');
  }
  return data.slice(0, i);
}
