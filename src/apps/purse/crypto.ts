/**
 * The purse session's security, shared by card and terminal. chipwright's own scheme, shaped like
 * a Calypso secure session (mutual challenge at OPEN, one MAC each way at CLOSE over everything
 * exchanged in between), built only from standard parts:
 *
 * 1. **Session key.** `Ks = KDF(K, card challenge ‖ terminal challenge)` where K is the static key
 *    P2 of OPEN SESSION chose (load or purchase) and the card challenge is `TC(4) ‖ random(8)`.
 *    The KDF is NIST SP 800-108 in counter mode with AES-CMAC (NIST SP 800-38B) as the PRF, laid
 *    out as GlobalPlatform SCP03 does (GPC Amendment D §4.1.5): `00×11 ‖ 50 ‖ 00 ‖ L(2) ‖ i(1) ‖
 *    context`, with chipwright's own derivation constant `50`; Ks is as long as K. The never
 *    repeating TC makes the card's contribution unique even if its generator were weak; the
 *    terminal's challenge makes the card's MAC fresh for the terminal.
 * 2. **Transcript.** Card and terminal each hash (SHA-256) every purse command of the session and
 *    its response, starting with OPEN SESSION itself and ending before CLOSE: per exchange
 *    `CLA INS P1 P2 ‖ Nc(2) ‖ data ‖ Nr(2) ‖ response data ‖ SW1 SW2`. Refused commands are in it
 *    too (with their status word), so both sides agree on exactly what happened.
 * 3. **Terminal MAC** (CLOSE SESSION data): `MT = AES-CMAC(Ks, 01 ‖ H)[0..8]`, H the transcript
 *    hash. The card recomputes it and compares in constant time; a mismatch (wrong key, a command
 *    altered or injected on the way, a response the terminal did not see) answers 6988 and
 *    discards the session. Only a terminal holding K can make a session's changes permanent.
 * 4. **Card MAC** (CLOSE SESSION response), computed *after* the session's changes are committed:
 *    `MC = AES-CMAC(Ks, 02 ‖ H ‖ MT ‖ balance(4))[0..8]`. It proves to the terminal that the card
 *    holding K committed exactly this transcript and now holds `balance`. The leading 01/02
 *    separate the two directions, so neither MAC can be replayed as the other.
 *
 * All MAC comparisons use `constantTimeEqual`.
 *
 * @example
 * const s = new PurseSessionCrypto(purchaseKey, cardChallenge, terminalChallenge);
 * s.record(openCmd, openResponseData, 0x9000);
 * const mt = s.terminalMac();
 */
import { createHash, type Hash } from 'node:crypto';
import { abytes, constantTimeEqual, u16, zeroize } from '../../bytes/index.js';
import { AesCmac } from '../../crypto/mac.js';
import { PURSE_LENGTHS } from './protocol.js';
import { u32 } from './_int.js';

/** chipwright's derivation constant for the purse session key (the SCP03 layout's byte 12). */
export const PURSE_KDF_CONSTANT = 0x50;

/** Domain bytes that start the two MAC inputs. */
export const PURSE_MAC_DOMAIN = { TERMINAL_CLOSE: 0x01, CARD_CLOSE: 0x02 } as const;

/**
 * A static key (load or purchase) ready for derivations: its AES-CMAC engine is built once, so a
 * card or a terminal running many sessions with one key pays the key schedule once.
 *
 * @example const k = new PurseStaticKey(purchaseKey); const ks = k.deriveSessionKey(cc, tc);
 */
export class PurseStaticKey {
  readonly #prf: AesCmac;
  readonly length: number;

  constructor(key: Uint8Array) {
    abytes(key, [16, 24, 32], 'key');
    this.#prf = new AesCmac(key);
    this.length = key.length;
  }

  /**
   * Ks = KDF(K, cardChallenge ‖ terminalChallenge): NIST SP 800-108 counter mode, PRF AES-CMAC,
   * the SCP03 fixed-input layout (see the module comment). As long as K; the caller zeroizes it.
   */
  deriveSessionKey(cardChallenge: Uint8Array, terminalChallenge: Uint8Array): Uint8Array {
    abytes(cardChallenge, PURSE_LENGTHS.CARD_CHALLENGE, 'cardChallenge');
    abytes(terminalChallenge, PURSE_LENGTHS.TERMINAL_CHALLENGE, 'terminalChallenge');
    const input = new Uint8Array(16 + cardChallenge.length + terminalChallenge.length);
    input[11] = PURSE_KDF_CONSTANT;
    // input[12] = 00: the separation indicator.
    input.set(u16(this.length * 8), 13);
    input.set(cardChallenge, 16);
    input.set(terminalChallenge, 16 + cardChallenge.length);
    const out = new Uint8Array(this.length);
    for (let i = 1, o = 0; o < out.length; i++, o += 16) {
      input[15] = i;
      const block = this.#prf.mac(input);
      out.set(block.subarray(0, Math.min(16, out.length - o)), o);
      zeroize(block);
    }
    return out;
  }

  /** Wipes the key material held in JavaScript memory. */
  destroy(): void {
    this.#prf.destroy();
  }
}

/**
 * Ks = KDF(K, cardChallenge ‖ terminalChallenge) for a one-off key (see {@link PurseStaticKey}).
 *
 * @example purseSessionKey(key16, cardChallenge12, terminalChallenge8) // 16 bytes
 */
export function purseSessionKey(key: Uint8Array, cardChallenge: Uint8Array, terminalChallenge: Uint8Array): Uint8Array {
  const k = new PurseStaticKey(key);
  try {
    return k.deriveSessionKey(cardChallenge, terminalChallenge);
  } finally {
    k.destroy();
  }
}

/** The parts of a command the transcript covers (a `CommandApdu` has them all). */
export interface TranscriptCommand {
  readonly cla: number | { readonly raw: number };
  readonly ins: number;
  readonly p1: number;
  readonly p2: number;
  readonly data: Uint8Array;
}

/**
 * The running SHA-256 of a session's exchanges, framed so that no two different sequences hash
 * the same input: `CLA INS P1 P2 ‖ Nc(2) ‖ data ‖ Nr(2) ‖ response data ‖ SW1 SW2` per exchange.
 */
export class PurseTranscript {
  readonly #hash: Hash = createHash('sha256');
  #final: Uint8Array | undefined;

  add(cmd: TranscriptCommand, response: Uint8Array, sw: number): void {
    if (this.#final !== undefined) throw new Error('PurseTranscript: already finished');
    const cla = typeof cmd.cla === 'number' ? cmd.cla : cmd.cla.raw;
    const head = new Uint8Array(6);
    head[0] = cla;
    head[1] = cmd.ins;
    head[2] = cmd.p1;
    head[3] = cmd.p2;
    head.set(u16(cmd.data.length), 4);
    const tail = new Uint8Array(2 + response.length + 2);
    tail.set(u16(response.length), 0);
    tail.set(response, 2);
    tail.set(u16(sw), 2 + response.length);
    this.#hash.update(head).update(cmd.data).update(tail);
  }

  /** The hash so far (the transcript may go on). */
  digest(): Uint8Array {
    return this.#final ?? new Uint8Array(this.#hash.copy().digest());
  }

  /** The final hash: the transcript takes no more exchanges (CLOSE SESSION is under way). */
  finish(): Uint8Array {
    this.#final ??= new Uint8Array(this.#hash.digest());
    return this.#final;
  }
}

/**
 * One session's keys and transcript, the same object on both sides. Call {@link destroy} when
 * the session ends.
 */
export class PurseSessionCrypto {
  readonly #mac: AesCmac;
  readonly #transcript = new PurseTranscript();

  /** `key`: the static key, raw or prepared ({@link PurseStaticKey}, kept by the caller). */
  constructor(key: Uint8Array | PurseStaticKey, cardChallenge: Uint8Array, terminalChallenge: Uint8Array) {
    const ks = key instanceof PurseStaticKey ? key.deriveSessionKey(cardChallenge, terminalChallenge) : purseSessionKey(key, cardChallenge, terminalChallenge);
    try {
      this.#mac = new AesCmac(ks);
    } finally {
      zeroize(ks);
    }
  }

  /** Adds one exchange to the transcript. */
  record(cmd: TranscriptCommand, response: Uint8Array, sw: number): void {
    this.#transcript.add(cmd, response, sw);
  }

  /** MT = AES-CMAC(Ks, 01 ‖ H)[0..8]; finishes the transcript (CLOSE takes no more exchanges). */
  terminalMac(): Uint8Array {
    const h = this.#transcript.finish();
    const m = new Uint8Array(1 + h.length);
    m[0] = PURSE_MAC_DOMAIN.TERMINAL_CLOSE;
    m.set(h, 1);
    return this.#mac.mac(m, PURSE_LENGTHS.MAC);
  }

  /** MC = AES-CMAC(Ks, 02 ‖ H ‖ MT ‖ balance(4))[0..8]. */
  cardMac(terminalMac: Uint8Array, balance: number): Uint8Array {
    const h = this.#transcript.finish();
    const m = new Uint8Array(1 + h.length + terminalMac.length + 4);
    m[0] = PURSE_MAC_DOMAIN.CARD_CLOSE;
    m.set(h, 1);
    m.set(terminalMac, 1 + h.length);
    m.set(u32(balance), 1 + h.length + terminalMac.length);
    return this.#mac.mac(m, PURSE_LENGTHS.MAC);
  }

  /** Constant-time check of a terminal MAC received by the card. */
  verifyTerminalMac(received: Uint8Array): boolean {
    return constantTimeEqual(this.terminalMac(), received);
  }

  /** Constant-time check of a card MAC received by the terminal. */
  verifyCardMac(received: Uint8Array, terminalMac: Uint8Array, balance: number): boolean {
    return constantTimeEqual(this.cardMac(terminalMac, balance), received);
  }

  /** Wipes the session key material held in JavaScript memory. */
  destroy(): void {
    this.#mac.destroy();
  }
}
