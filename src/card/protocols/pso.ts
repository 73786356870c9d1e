/**
 * PERFORM SECURITY OPERATION with the key store (ISO/IEC 7816-8 §5.2, §5.3, §5.7):
 *
 * - COMPUTE DIGITAL SIGNATURE `00 2A 9E 9A Lc <input> Le`: signs with the key and algorithm of
 *   the DST (MSE:SET 41B6). The input is what the algorithm takes (`mse.ts`): a DER DigestInfo
 *   (02), or a bare hash whose length names the hash function (12, 05, 04). The card never hashes
 *   the message itself: the terminal does (ISO/IEC 7816-8 §5.2 "digital signature input"). Answer:
 *   the signature (RSA: k bytes; ECDSA: r ‖ s, twice the order length).
 * - DECIPHER `00 2A 80 86 Lc 00 ‖ cryptogram Le` (padding indicator 00, ISO/IEC 7816-4 table 53):
 *   with the key and algorithm of the CT (MSE:SET 41B8). RSA-OAEP (0A, 1A) answers the plaintext;
 *   ECDH (0B) takes the peer's public point as the "cryptogram" and answers the shared secret x
 *   (ECKA-DH, TR-03111 §4.3.1) — the key agreement e-services use for a session key. A 2048-bit
 *   cryptogram is 257 bytes with its indicator: send it extended or with command chaining.
 *
 * Errors: no DST/CT set → 6985; the key's checks (`key-store.ts`: 6A88, 6984, 6985, 6982) before
 * anything else; an input that does not fit the algorithm → 6A80 (for OAEP, every decryption
 * failure is the same 6A80); P1-P2 other than 9E9A / 8086 → 6A86. Every refused command leaves the
 * "PIN always" verification in place; a signature consumes it (see `key-store.ts`).
 *
 * @example
 * // VERIFY the signature PIN, set the DST, sign a SHA-256 hash with ECDSA
 * card.transmit(hexToBytes('0020008106313233343536'));
 * card.transmit(hexToBytes('002241B606840101800104'));
 * card.transmit(hexToBytes(`002A9E9A20${hashHex}00`)); // r ‖ s, 9000
 */
import { SW, StatusWordError } from '../../apdu/status.js';
import type { CommandApdu } from '../../apdu/command.js';
import { INS } from '../../apdu/ins.js';
import {
  AsymmetricCryptoError,
  HASH_LENGTH,
  digestInfo,
  ecdhSharedSecret,
  ecdsaSignHash,
  hashOfLength,
  parseDigestInfo,
  rsaOaepDecrypt,
  rsaPkcs1Sign,
  rsaPssSign,
} from '../../crypto/asymmetric.js';
import type { CommandContext } from '../context.js';
import { defineInsTable, type InsTable } from '../dispatch.js';
import type { RoutedHandler } from '../route.js';
import { hexRef } from '../security/objects.js';
import { authorizeKey, consumeKeyUse, privateMaterial, type PrivateKeyMaterial } from './key-store.js';
import { ALGORITHM, currentTemplate, templateUsage } from './mse.js';

/** P1-P2 of PSO COMPUTE DIGITAL SIGNATURE (ISO/IEC 7816-8 §5.2: 9E = the signature, 9A = its input). */
export const PSO_CDS = 0x9e9a;
/** P1-P2 of PSO DECIPHER (ISO/IEC 7816-8 §5.7: 80 = plain value out, 86 = padding indicator ‖ cryptogram in). */
export const PSO_DECIPHER = 0x8086;

function bad(detail: string): StatusWordError {
  return new StatusWordError(SW.INCORRECT_DATA, detail);
}

/**
 * Checks a signature input against the algorithm (before the private key is touched) and
 * returns what to sign. `client`: INTERNAL AUTHENTICATE with algorithm 02 signs raw data.
 *
 * @example signatureInput(ALGORITHM.RSA_PKCS1_HASH, sha256) // the DigestInfo of the hash
 */
export function signatureInput(algorithm: number, data: Uint8Array, client = false): Uint8Array {
  switch (algorithm) {
    case ALGORITHM.RSA_PKCS1_DIGEST_INFO:
      if (!client && parseDigestInfo(data) === undefined) throw bad('input must be a DER DigestInfo (SHA-1/224/256/384/512)');
      if (data.length === 0) throw bad('empty input');
      return data;
    case ALGORITHM.RSA_PKCS1_HASH: {
      const hash = hashOfLength(data.length);
      if (hash === undefined) throw bad(`input must be a hash (20, 28, 32, 48 or 64 bytes), got ${data.length}`);
      return digestInfo(hash, data);
    }
    case ALGORITHM.RSA_PSS:
    case ALGORITHM.ECDSA:
      if (hashOfLength(data.length) === undefined) throw bad(`input must be a hash (20, 28, 32, 48 or 64 bytes), got ${data.length}`);
      return data;
    default:
      throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, `algorithm ${hexRef(algorithm)} does not sign`);
  }
}

/**
 * The private operation of a signing algorithm on a checked input; PSS draws its salt from the card RNG.
 *
 * @example computeSignature(ctx, ALGORITHM.ECDSA, material, hash) // r ‖ s
 */
export function computeSignature(ctx: CommandContext, algorithm: number, m: PrivateKeyMaterial, input: Uint8Array): Uint8Array {
  try {
    if (m.type === 'ec') return ecdsaSignHash(m.curve, m.d, input);
    if (algorithm === ALGORITHM.RSA_PSS) {
      const hash = hashOfLength(input.length)!;
      return rsaPssSign(m.pkcs8, hash, input, ctx.rng.bytes(HASH_LENGTH[hash]));
    }
    return rsaPkcs1Sign(m.pkcs8, input);
  } catch (e) {
    if (e instanceof AsymmetricCryptoError) throw bad(e.message);
    throw e;
  }
}

function computeDigitalSignature(cmd: CommandApdu, ctx: CommandContext): Uint8Array {
  const dst = currentTemplate(ctx, 'dst');
  if (dst === undefined) throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, 'PSO COMPUTE DIGITAL SIGNATURE: no DST set (MSE:SET 41B6 first)');
  const loc = authorizeKey(ctx, ctx.channel.df, dst.ref, 'sign');
  const input = signatureInput(dst.algorithm, cmd.data);
  const material = privateMaterial(loc.key);
  consumeKeyUse(ctx, loc);
  return computeSignature(ctx, dst.algorithm, material, input);
}

function decipher(cmd: CommandApdu, ctx: CommandContext): Uint8Array {
  const ct = currentTemplate(ctx, 'ct');
  if (ct === undefined) throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, 'PSO DECIPHER: no CT set (MSE:SET 41B8 first)');
  const ecdh = ct.algorithm === ALGORITHM.ECDH;
  const loc = authorizeKey(ctx, ctx.channel.df, ct.ref, templateUsage('ct', ecdh ? 'ec' : 'rsa'));
  if (cmd.data.length < 2 || cmd.data[0] !== 0x00) throw bad('PSO DECIPHER: data must be padding indicator 00 followed by the cryptogram');
  const cryptogram = cmd.data.subarray(1);
  const material = privateMaterial(loc.key);
  // RSAES-OAEP (RFC 8017 §7.1.2): the ciphertext is exactly k octets; a shorter one is malformed
  // even when it denotes the same integer. Checked before the key's use is consumed.
  if (material.type !== 'ec' && loc.key.bits !== undefined && cryptogram.length !== Math.ceil(loc.key.bits / 8)) {
    throw bad(`PSO DECIPHER: RSA cryptogram of ${cryptogram.length} bytes, the key needs ${Math.ceil(loc.key.bits / 8)}`);
  }
  consumeKeyUse(ctx, loc);
  try {
    if (material.type === 'ec') return ecdhSharedSecret(material.curve, material.d, cryptogram, material.point);
    return rsaOaepDecrypt(material.pkcs8, ct.algorithm === ALGORITHM.RSA_OAEP_SHA1 ? 'sha1' : 'sha256', cryptogram);
  } catch (e) {
    if (e instanceof AsymmetricCryptoError) throw bad(e.message);
    throw e;
  }
}

function isKeyStorePso(cmd: CommandApdu): boolean {
  const p1p2 = (cmd.p1 << 8) | cmd.p2;
  return p1p2 === PSO_CDS || p1p2 === PSO_DECIPHER;
}

/** PSO COMPUTE DIGITAL SIGNATURE and DECIPHER; routed by P1-P2 so PSO:VERIFY CERTIFICATE etc. can share INS 2A. */
export const KEY_STORE_PSO: RoutedHandler = Object.freeze({
  name: 'PERFORM SECURITY OPERATION',
  chaining: true,
  when: isKeyStorePso,
  run(cmd: CommandApdu, ctx: CommandContext): Uint8Array {
    const p1p2 = (cmd.p1 << 8) | cmd.p2;
    if (p1p2 === PSO_CDS) return computeDigitalSignature(cmd, ctx);
    if (p1p2 === PSO_DECIPHER) return decipher(cmd, ctx);
    throw new StatusWordError(SW.INCORRECT_P1P2, 'PSO: only COMPUTE DIGITAL SIGNATURE (9E9A) and DECIPHER (8086)');
  },
});

/**
 * PSO COMPUTE DIGITAL SIGNATURE and DECIPHER for an applet's INS table.
 *
 * @example composeTables(mseCommands(), psoCommands())
 */
export function psoCommands(): InsTable {
  return defineInsTable([INS.PERFORM_SECURITY_OPERATION, KEY_STORE_PSO]);
}
