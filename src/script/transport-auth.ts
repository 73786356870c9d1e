/**
 * Host side of the transport-key authentication that opens personalization: GET CHALLENGE
 * (ISO/IEC 7816-4:2013 §11.5.3) then EXTERNAL AUTHENTICATE with P1 = 00 (the key's own
 * algorithm) and P2 = 00 (the transport key), §11.5.4.
 *
 * The cryptogram is chipwright's documented scheme (see `src/card/commands/authenticate.ts`):
 * CBC encryption with a zero IV of the challenge under the key, padded with ISO/IEC 9797-1
 * method 2 only when the challenge is not a whole number of blocks — so an 8-byte challenge gives
 * 8 bytes under 3DES and 16 under AES.
 */
import { encodeCommandApdu } from '../apdu/command.js';
import { INS } from '../apdu/ins.js';
import type { CipherAlgorithm } from '../crypto/cipher.js';
import { externalAuthCryptogram } from '../crypto/external-auth.js';

/** The transport key as the host knows it (the card keeps its own copy). */
export interface TransportKey {
  readonly algorithm: CipherAlgorithm;
  readonly value: Uint8Array;
}

/** Challenge length the runner asks for. */
export const TRANSPORT_CHALLENGE_LENGTH = 8;

/** `00 84 00 00 08`: GET CHALLENGE for the transport-key authentication. */
export function getChallengeApdu(length = TRANSPORT_CHALLENGE_LENGTH): Uint8Array {
  return encodeCommandApdu({ ins: INS.GET_CHALLENGE, ne: length });
}

/**
 * The cryptogram for a challenge (a fresh buffer the caller zeroizes after sending).
 *
 * @example transportCryptogram({ algorithm: '3des', value: DEFAULT_TRANSPORT_KEY }, challenge8) // 8 bytes
 */
export function transportCryptogram(key: TransportKey, challenge: Uint8Array): Uint8Array {
  return externalAuthCryptogram(key.algorithm, key.value, challenge);
}

/** `00 82 00 00 Lc cryptogram`: EXTERNAL AUTHENTICATE with the transport key. */
export function externalAuthenticateApdu(cryptogram: Uint8Array): Uint8Array {
  return encodeCommandApdu({ ins: INS.EXTERNAL_AUTHENTICATE, p1: 0x00, p2: 0x00, data: cryptogram });
}
