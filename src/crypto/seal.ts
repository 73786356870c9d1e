/**
 * Sealing data at rest: AES-256-GCM under a storage key, bound to a context (additional
 * authenticated data) so a sealed blob cannot be moved to another place undetected.
 *
 * The IV is derived, not drawn: IV = HMAC-SHA-256(key, "iv" ‖ context ‖ plaintext)[0..12]
 * (the SIV construction of RFC 5297 §2.4 in spirit). The same plaintext in the same place seals to
 * the same bytes — card images stay reproducible — and an IV repeats only for an identical
 * (context, plaintext) pair, where GCM then produces an identical ciphertext and reveals nothing
 * beyond "unchanged". Format: IV (12) ‖ ciphertext ‖ tag (16).
 */
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { ByteInputError, abytes, concatBytes } from '../bytes/index.js';

/** A sealed blob failed to open: wrong key, wrong context, or altered bytes. */
export class SealError extends Error {
  override readonly name = 'SealError';
}

const IV = new TextEncoder().encode('iv');

/** Seals `plaintext` under a 32-byte `key`, bound to `context`. */
export function seal(key: Uint8Array, context: Uint8Array, plaintext: Uint8Array): Uint8Array {
  abytes(key, 32, 'key');
  const iv = createHmac('sha256', key).update(IV).update(lengthPrefixed(context)).update(plaintext).digest().subarray(0, 12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(context);
  const body = concatBytes(c.update(plaintext), c.final());
  return concatBytes(iv, body, c.getAuthTag());
}

/** Opens a blob made by {@link seal}; throws {@link SealError} when anything does not match. */
export function unseal(key: Uint8Array, context: Uint8Array, sealed: Uint8Array): Uint8Array {
  abytes(key, 32, 'key');
  if (sealed.length < 28) throw new SealError(`sealed data of ${sealed.length} bytes is shorter than IV and tag`);
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  d.setAAD(context);
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  try {
    return new Uint8Array(concatBytes(d.update(sealed.subarray(12, sealed.length - 16)), d.final()));
  } catch {
    throw new SealError('authentication failed (wrong storage key, wrong place, or altered bytes)');
  }
}

function lengthPrefixed(b: Uint8Array): Uint8Array {
  if (b.length > 0xffff) throw new ByteInputError('context: at most 65535 bytes');
  return concatBytes(new Uint8Array([b.length >>> 8, b.length & 0xff]), b);
}
