/** Symmetric-key external authentication cryptogram, shared by the card and host tools. */
import { zeroize } from '../bytes/index.js';
import { blockSizeOf, cbcEncrypt, pad2, type CipherAlgorithm } from './cipher.js';

/**
 * The cryptogram EXTERNAL AUTHENTICATE expects — chipwright's documented scheme for symmetric-key
 * external authentication (ISO/IEC 7816-4 leaves the computation to the application):
 *
 *     cryptogram = CBC-encrypt(key, IV = 0, challenge')
 *     challenge' = challenge                          if its length is a multiple of the block size
 *                = ISO/IEC 9797-1 padding method 2    otherwise (append 80, then 00s)
 *
 * So an 8-byte challenge gives an 8-byte cryptogram under 3DES and a 16-byte one under AES (the
 * challenge padded to one block); a 16-byte challenge gives 16 bytes under either. Padding only
 * when needed keeps the common 3DES case (8-byte challenge, 8-byte answer) identical to what
 * legacy cards and GlobalPlatform-era tools compute.
 *
 * @example externalAuthCryptogram('3des', transportKey, challenge8) // 8 bytes
 */
export function externalAuthCryptogram(algorithm: CipherAlgorithm, key: Uint8Array, challenge: Uint8Array): Uint8Array {
  const bs = blockSizeOf(algorithm);
  if (challenge.length % bs === 0 && challenge.length > 0) return cbcEncrypt(algorithm, key, challenge);
  const padded = pad2(challenge, bs);
  try {
    return cbcEncrypt(algorithm, key, padded);
  } finally {
    zeroize(padded);
  }
}

