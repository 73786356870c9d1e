/**
 * Active Authentication, terminal side (ICAO 9303-11 §6.1): sends INTERNAL AUTHENTICATE with a
 * fresh 8-byte RND.IFD and verifies the signature with the EF.DG15 public key — RSA with ISO/IEC
 * 9796-2 scheme 1 (the hash read from the trailer), or ECDSA with the hash DG14's
 * ActiveAuthenticationInfo announces (`dg14`, or `hash`). Verification runs in OpenSSL.
 *
 * Run it under secure messaging (a {@link SecureMessagingTransport} from BAC or PACE) as an
 * inspection system does; it also works in plain, which a chip may refuse (its key's `use` rule).
 *
 * Failures throw {@link ActiveAuthError}: `parameters` (DG15/DG14 unusable), `refused` (the chip
 * answered an error), `card-not-authenticated` (the signature does not verify: a clone, or a
 * tampered answer). Messages never contain key bytes.
 *
 * @example
 * const sm = await performPace(t, { kind: 'can', password: '123456', cardAccess });
 * const dg15 = await readFile(sm, 0x0f); // EF.DG15
 * const r = await performActiveAuthentication(sm, { dg15 });
 * r.algorithm // 'rsa-iso9796-2'
 */
import { randomBytes } from 'node:crypto';
import { ByteInputError, concatBytes } from '../bytes/index.js';
import { parseResponseApdu } from '../apdu/response.js';
import { AA_CHALLENGE_LENGTH, dg15PublicKeyInfo, verifyActiveAuthentication } from '../crypto/aa.js';
import { AsymmetricCryptoError, decodeSubjectPublicKeyInfo, type HashName, type PublicKeyInfo } from '../crypto/asymmetric.js';
import { dg14SecurityInfos } from '../crypto/ca.js';
import type { Iso9796Hash } from '../crypto/iso9796-2.js';
import { SecurityInfoError, activeAuthenticationInfos, type ActiveAuthenticationInfo } from '../crypto/security-infos.js';
import type { Transport } from '../transport/types.js';

export type ActiveAuthFailure = 'parameters' | 'refused' | 'card-not-authenticated';

export class ActiveAuthError extends Error {
  override readonly name = 'ActiveAuthError';
  constructor(
    readonly reason: ActiveAuthFailure,
    message: string,
    /** The chip's status word, when it refused. */
    readonly sw?: number,
  ) {
    super(message);
  }
}

export interface ActiveAuthOptions {
  /** EF.DG15 as read from the chip (6F ‖ SubjectPublicKeyInfo). */
  readonly dg15: Uint8Array;
  /** EF.DG14 as read, for ECDSA (its ActiveAuthenticationInfo names the hash). */
  readonly dg14?: Uint8Array;
  /** The ECDSA hash when there is no DG14 to read it from. */
  readonly hash?: HashName;
  /** RND.IFD (8 bytes); default: secure random. For conformance replay. */
  readonly challenge?: Uint8Array;
}

export interface ActiveAuthResult {
  readonly algorithm: 'rsa-iso9796-2' | 'ecdsa';
  readonly hash: Iso9796Hash | undefined;
  readonly challenge: Uint8Array;
  readonly signature: Uint8Array;
}

function swHex(sw: number): string {
  return sw.toString(16).toUpperCase().padStart(4, '0');
}

/** Bytes of the signature the key makes (RSA: k/8; ECDSA: r ‖ s). */
function signatureLength(key: PublicKeyInfo): number {
  if (key.type === 'rsa') return Math.ceil(key.bits / 8);
  return 2 * Math.ceil(key.parameters.n.toString(2).length / 8);
}

/**
 * Runs Active Authentication and verifies the answer; resolves with what was verified.
 *
 * @example await performActiveAuthentication(sm, { dg15, dg14 })
 */
export async function performActiveAuthentication(transport: Transport, opts: ActiveAuthOptions): Promise<ActiveAuthResult> {
  let key: PublicKeyInfo;
  try {
    key = decodeSubjectPublicKeyInfo(dg15PublicKeyInfo(opts.dg15));
  } catch (e) {
    if (e instanceof AsymmetricCryptoError) throw new ActiveAuthError('parameters', `EF.DG15: ${e.message}`);
    throw e;
  }
  let info: ActiveAuthenticationInfo | undefined;
  if (opts.dg14 !== undefined) {
    try {
      info = activeAuthenticationInfos(dg14SecurityInfos(opts.dg14))[0];
    } catch (e) {
      if (e instanceof SecurityInfoError) throw new ActiveAuthError('parameters', `EF.DG14: ${e.message}`);
      throw e;
    }
  }
  if (key.type === 'ec' && opts.hash === undefined && info === undefined) {
    throw new ActiveAuthError('parameters', 'ECDSA Active Authentication needs the hash: pass EF.DG14 (ActiveAuthenticationInfo) or opts.hash');
  }
  const challenge = opts.challenge?.slice() ?? new Uint8Array(randomBytes(AA_CHALLENGE_LENGTH));
  if (challenge.length !== AA_CHALLENGE_LENGTH) throw new ByteInputError(`opts.challenge: RND.IFD is ${AA_CHALLENGE_LENGTH} bytes, got ${challenge.length}`);
  // An answer above 256 bytes (RSA beyond 2048 bits) needs an extended Le.
  const apdu = signatureLength(key) > 256
    ? concatBytes(new Uint8Array([0x00, 0x88, 0x00, 0x00, 0x00, 0x00, AA_CHALLENGE_LENGTH]), challenge, new Uint8Array([0x00, 0x00]))
    : concatBytes(new Uint8Array([0x00, 0x88, 0x00, 0x00, AA_CHALLENGE_LENGTH]), challenge, new Uint8Array([0x00]));
  const r = parseResponseApdu(await transport.transmit(apdu));
  if (r.sw !== 0x9000) throw new ActiveAuthError('refused', `INTERNAL AUTHENTICATE answered ${swHex(r.sw)}`, r.sw);
  const signature = r.data.slice();
  const v = verifyActiveAuthentication(key, challenge, signature, { ...(info ? { info } : {}), ...(opts.hash ? { hash: opts.hash } : {}) });
  if (!v.valid) throw new ActiveAuthError('card-not-authenticated', `Active Authentication failed: ${v.reason ?? 'signature does not verify'}`);
  return { algorithm: v.algorithm, hash: v.hash, challenge, signature };
}
