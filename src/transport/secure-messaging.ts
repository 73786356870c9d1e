/**
 * Secure messaging as a transport wrapper (the apdu4j model): callers send plain APDUs, the
 * wrapper protects every command and verifies and decrypts every response with the session keys
 * (ISO/IEC 7816-4 §10, ICAO 9303-11 §9.8), using the codec the card uses too (`crypto/sm.ts`).
 *
 * - Every response MAC is verified (constant time) before anything is decrypted or returned.
 *   A response that fails — missing or malformed DOs, wrong MAC, a status word outside that
 *   differs from the MACed DO'99' — or a card that answers without SM (it ended the session:
 *   6987/6988 after an error of ours, 6882 with no session) raises {@link SecureMessagingError}
 *   and closes the wrapper for good: the SSCs of card and terminal can no longer agree.
 * - GET RESPONSE under SM: a protected 61XX (the card has more data for this command) is
 *   followed by protected GET RESPONSE commands until the data is complete, and the caller gets
 *   the concatenated data with the final status word. An unprotected 61XX without data (a T=0
 *   reader that could not fit the protected response into its Le) is completed with plain GET
 *   RESPONSE first, then unprotected.
 * - Extended length: see `SmCodec.protectCommand` (the protected APDU goes extended when the
 *   plain one does or when its data or the expected protected response would not fit).
 * - connect/reset/disconnect end the session (the card forgets it on reset) and close the wrapper.
 *
 * Put tracing or recording *below* this wrapper to log protected APDUs (ciphertext), above it
 * to log plain ones; keys never reach either.
 *
 * @example
 * const sm = await performBac(new InProcessTransport(card), mrz); // a SecureMessagingTransport
 * const r = await sm.transmit(hexToBytes('00B0000004'));         // plain in, plain out
 */
import { ByteInputError, concatBytes } from '../bytes/index.js';
import { StatusWordError } from '../apdu/status.js';
import { encodeCla, encodeCommandApdu, parseCommandApdu, type CommandApdu } from '../apdu/command.js';
import { INS } from '../apdu/ins.js';
import { encodeResponseApdu } from '../apdu/response.js';
import { SmCodec, SmError, type SmKeys } from '../crypto/sm.js';
import type { Transport } from './types.js';

/** Why secure messaging stopped. */
export type SecureMessagingFailure =
  /** The response did not verify (MAC, DOs, status word): tampered with, or keys out of step. */
  | 'response-rejected'
  /** The card answered without SM: it ended the session (see `cardSw`). */
  | 'card-ended-session'
  /** The wrapper was closed (by an earlier failure, close(), reset, connect or disconnect). */
  | 'closed';

/** A secure messaging failure on the terminal side. The message never contains key or data bytes. */
export class SecureMessagingError extends Error {
  override readonly name = 'SecureMessagingError';
  constructor(
    readonly reason: SecureMessagingFailure,
    message: string,
    /** The plain status word the card sent when it ended the session. */
    readonly cardSw?: number,
  ) {
    super(message);
  }
}

/** How many GET RESPONSE rounds one command may take before the card is considered broken. */
const MAX_GET_RESPONSE = 512;

export class SecureMessagingTransport implements Transport {
  readonly #inner: Transport;
  #codec: SmCodec | null;

  /** Starts a session with `keys` (copied; the caller may zeroize them). */
  constructor(inner: Transport, keys: SmKeys) {
    this.#inner = inner;
    this.#codec = new SmCodec(keys);
  }

  /** The transport below (plain commands sent there end the card's session). */
  get inner(): Transport {
    return this.#inner;
  }

  /** True until a failure, {@link close}, reset or disconnect. */
  get active(): boolean {
    return this.#codec !== null;
  }

  /** '3des' or 'aes'; undefined once closed. */
  get cipher(): SmKeys['cipher'] | undefined {
    return this.#codec?.cipher;
  }

  /** The send sequence counter after the last message (conformance checks); undefined once closed. */
  get ssc(): Uint8Array | undefined {
    return this.#codec?.ssc;
  }

  /** Forgets the session keys. The card keeps its session until it gets a plain command. */
  close(): void {
    this.#codec?.destroy();
    this.#codec = null;
  }

  connect(): Promise<Uint8Array> {
    this.close();
    return this.#inner.connect();
  }

  reset(): Promise<Uint8Array> {
    this.close();
    return this.#inner.reset();
  }

  disconnect(): Promise<void> {
    this.close();
    return this.#inner.disconnect();
  }

  /** Protects `apdu` (a plain command), sends it, and returns the verified plain response. */
  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    const codec = this.#live();
    let cmd: CommandApdu;
    try {
      cmd = parseCommandApdu(apdu);
    } catch (e) {
      if (e instanceof StatusWordError) throw new ByteInputError(`apdu: not a valid command APDU (${e.detail ?? e.message})`);
      throw e;
    }
    let r = await this.#exchange(codec, cmd);
    let data = r.data;
    let rounds = 0;
    // Protected 61XX: more data for this command, fetched with protected GET RESPONSE.
    while (r.sw >>> 8 === 0x61) {
      if (++rounds > MAX_GET_RESPONSE) throw this.#fail('response-rejected', 'the card keeps answering 61XX');
      const le = r.sw & 0xff || 256;
      const getResponse = parseCommandApdu(encodeCommandApdu({ cla: encodeCla(cmd.cla.channel), ins: INS.GET_RESPONSE, ne: le }));
      r = await this.#exchange(codec, getResponse);
      data = data.length === 0 ? r.data : concatBytes(data, r.data);
    }
    return encodeResponseApdu(data, r.sw);
  }

  #live(): SmCodec {
    if (this.#codec === null) throw new SecureMessagingError('closed', 'secure messaging session is closed; authenticate again');
    return this.#codec;
  }

  #fail(reason: SecureMessagingFailure, message: string, cardSw?: number): SecureMessagingError {
    this.close();
    return new SecureMessagingError(reason, message, cardSw);
  }

  /** One protected command and its verified response. */
  async #exchange(codec: SmCodec, cmd: CommandApdu): Promise<{ data: Uint8Array; sw: number }> {
    const wire = codec.protectCommand(cmd);
    let resp: Uint8Array;
    try {
      resp = await this.#inner.transmit(wire);
      resp = await this.#completeOuter(resp);
    } catch (e) {
      // The command may or may not have reached the card: the counters can no longer be trusted.
      this.close();
      throw e;
    }
    if (this.#codec !== codec) throw new SecureMessagingError('closed', 'secure messaging session was closed during the exchange');
    try {
      return codec.unprotectResponse(resp);
    } catch (e) {
      if (!(e instanceof SmError)) throw e;
      if (e.cardSw !== undefined) {
        const sw = e.cardSw.toString(16).toUpperCase().padStart(4, '0');
        throw this.#fail('card-ended-session', `the card answered ${sw} without secure messaging: it ended the session`, e.cardSw);
      }
      throw this.#fail('response-rejected', `response rejected: ${e.detail}`);
    }
  }

  /** An unprotected 61XX with no data: the protected response is fetched with plain GET RESPONSE. */
  async #completeOuter(resp: Uint8Array): Promise<Uint8Array> {
    if (resp.length !== 2 || resp[0] !== 0x61) return resp;
    const parts: Uint8Array[] = [];
    let le = resp[1]!;
    for (let round = 0; round < MAX_GET_RESPONSE; round++) {
      const next = await this.#inner.transmit(new Uint8Array([0x00, INS.GET_RESPONSE, 0x00, 0x00, le]));
      if (next.length < 2) break;
      parts.push(next.subarray(0, next.length - 2));
      if (next[next.length - 2] !== 0x61) {
        parts.push(next.subarray(next.length - 2));
        return concatBytes(...parts);
      }
      le = next[next.length - 1]!;
    }
    throw new SecureMessagingError('response-rejected', 'GET RESPONSE did not complete the protected response');
  }
}
