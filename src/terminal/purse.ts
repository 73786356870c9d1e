/**
 * The purse application, terminal side: select, read balance, log and contracts, verify the
 * holder PIN, and run secure sessions (OPEN, CREDIT/DEBIT/USE TRIP, CLOSE with both MACs) over
 * any {@link Transport} — the in-process simulator, a PC/SC reader, a recording.
 *
 * Two layers: {@link PurseTerminalSession} is the synchronous protocol core (it builds the APDUs,
 * keeps the transcript and checks the card's MAC; benchmarks and conformance vectors drive it
 * directly), and {@link PurseSession} / {@link pursePurchase} / {@link purseLoad} run it over a
 * transport. The wire format is `src/apps/purse/protocol.ts`; the MAC scheme is
 * `src/apps/purse/crypto.ts`.
 *
 * Failures throw {@link PurseError}: the card refused (with its status word and a hint), or its
 * CLOSE MAC did not verify. Messages never contain keys, PINs or MACs.
 *
 * @example A purchase in four lines
 * const t = new InProcessTransport(card);
 * await t.connect();
 * await selectPurse(t);
 * const r = await pursePurchase(t, { key: purchaseKey, amount: 250 }); // r.balance, r.cardMac
 */
import { randomBytes } from 'node:crypto';
import { ByteInputError, abytes, concatBytes, u16, zeroize } from '../bytes/index.js';
import { encodeCommandApdu, parseCommandApdu } from '../apdu/command.js';
import { parseResponseApdu, type ResponseApdu } from '../apdu/response.js';
import { formatSw } from '../apdu/status.js';
import { GetResponseTransport } from '../transport/get-response.js';
import type { Transport } from '../transport/types.js';
import {
  PURSE_AID,
  PURSE_CLA,
  PURSE_FILES,
  PURSE_INS,
  PURSE_LENGTHS,
  PURSE_PIN_REF,
  purseKeyIndex,
  type PurseKeyName,
} from '../apps/purse/protocol.js';
import {
  decodeBalanceResponse,
  decodeContractRecord,
  decodeLogRecord,
  decodeOpenResponse,
  stampsOf,
  type PurseBalance,
  type PurseContract,
  type PurseLogEntry,
  type PurseOpenResponse,
} from '../apps/purse/records.js';
import { PurseSessionCrypto, PurseStaticKey } from '../apps/purse/crypto.js';
import { u32 } from '../apps/purse/_int.js';
import { readUintBE } from '../bytes/index.js';

// --- errors ---------------------------------------------------------------------------------------

/** Why a purse operation failed. */
export type PurseFailure =
  /** The card answered an error status word (`sw`). */
  | 'refused'
  /** The card's CLOSE MAC did not verify: not the card holding the key, or tampered with. */
  | 'card-not-authenticated'
  /** The card's answer had the wrong shape. */
  | 'malformed';

export class PurseError extends Error {
  override readonly name = 'PurseError';
  constructor(
    readonly reason: PurseFailure,
    message: string,
    readonly sw?: number,
  ) {
    super(message);
  }
}

/** What a refusal means for the purse, by command and status word. */
function hint(command: string, sw: number): string {
  switch (sw) {
    case 0x6a84:
      return command === 'DEBIT'
        ? ': the balance is too low'
        : command === 'CREDIT'
          ? ': the balance would exceed the purse\'s maximum'
          : command === 'USE TRIP'
            ? ': not enough trips left on the contract'
            : '';
    case 0x6982:
      return command === 'DEBIT'
        ? ': the session\'s debits exceed the PIN threshold and the holder PIN is not verified (give the PIN), or the session was not opened with the purchase key'
        : `: ${command} is not allowed with this session's key`;
    case 0x6988:
      return ': the card did not accept the terminal MAC (wrong key for this purse?); nothing was committed';
    case 0x6a88:
      return ': the purse was not personalised with this key';
    case 0x6985:
      return command === 'USE TRIP' ? ': the contract is not valid on that day or in that zone' : ': no session open, or it was superseded';
    case 0x6a82:
      return ': no purse application on this card (or not selected)';
    case 0x6a80:
      return ': the amount must be positive';
    default:
      return '';
  }
}

function refused(command: string, sw: number): PurseError {
  return new PurseError('refused', `${command} refused: ${formatSw(sw)}${hint(command, sw)}`, sw);
}

function expectOk(command: string, r: ResponseApdu): Uint8Array {
  if (r.sw !== 0x9000) throw refused(command, r.sw);
  return r.data;
}

function shape<T>(command: string, decode: () => T): T {
  try {
    return decode();
  } catch (e) {
    if (e instanceof ByteInputError) throw new PurseError('malformed', `${command}: ${e.message}`);
    throw e;
  }
}

// --- APDUs ----------------------------------------------------------------------------------------

function amountBytes(amount: number): Uint8Array {
  // Negative amounts are encodable on purpose: a test terminal must be able to send them (6A80).
  if (!Number.isInteger(amount) || amount < -0x80000000 || amount > 0x7fffffff) {
    throw new ByteInputError(`amount: expected a whole number of minor units within a signed 32-bit range, got ${amount}`);
  }
  return u32(amount >>> 0);
}

/**
 * The purse's command APDUs (`src/apps/purse/protocol.ts`), with Le = 00 wherever the card
 * answers data. `cla` picks the logical channel (80..83).
 *
 * @example purseApdu.debit(250) // 80 BA 00 00 04 000000FA 00
 */
export const purseApdu = Object.freeze({
  select: (aid: Uint8Array = PURSE_AID): Uint8Array => encodeCommandApdu({ cla: 0x00, ins: 0xa4, p1: 0x04, p2: 0x00, data: aid, ne: 256 }),
  open: (keyIndex: number, terminalChallenge: Uint8Array, terminalId: Uint8Array, date: number, time: number, cla = PURSE_CLA): Uint8Array =>
    encodeCommandApdu({
      cla,
      ins: PURSE_INS.OPEN_SESSION,
      p1: 0x00,
      p2: keyIndex,
      data: concatBytes(
        abytes(terminalChallenge, PURSE_LENGTHS.TERMINAL_CHALLENGE, 'terminalChallenge'),
        abytes(terminalId, PURSE_LENGTHS.TERMINAL_ID, 'terminalId'),
        u16(date),
        u16(time),
      ),
      ne: 256,
    }),
  readBalance: (cla = PURSE_CLA): Uint8Array => encodeCommandApdu({ cla, ins: PURSE_INS.READ_BALANCE, ne: 256 }),
  credit: (amount: number, cla = PURSE_CLA): Uint8Array => encodeCommandApdu({ cla, ins: PURSE_INS.CREDIT, data: amountBytes(amount), ne: 256 }),
  debit: (amount: number, cla = PURSE_CLA): Uint8Array => encodeCommandApdu({ cla, ins: PURSE_INS.DEBIT, data: amountBytes(amount), ne: 256 }),
  useTrip: (contract: number, trips: number, zone: number, cla = PURSE_CLA): Uint8Array =>
    encodeCommandApdu({ cla, ins: PURSE_INS.USE_TRIP, p1: contract, data: Uint8Array.of(trips, zone), ne: 256 }),
  close: (terminalMac: Uint8Array, cla = PURSE_CLA): Uint8Array => encodeCommandApdu({ cla, ins: PURSE_INS.CLOSE_SESSION, data: terminalMac, ne: 256 }),
  abort: (cla = PURSE_CLA): Uint8Array => encodeCommandApdu({ cla, ins: PURSE_INS.CLOSE_SESSION }),
  /** READ RECORD `n` of EF.Log (SFI 08; 1 = newest), ISO/IEC 7816-4 §11.3.3. */
  readLog: (n: number): Uint8Array => encodeCommandApdu({ cla: 0x00, ins: 0xb2, p1: n, p2: (PURSE_FILES.LOG.sfi << 3) | 4, ne: 256 }),
  /** READ RECORD `n` of EF.Contracts (SFI 09). */
  readContract: (n: number): Uint8Array => encodeCommandApdu({ cla: 0x00, ins: 0xb2, p1: n, p2: (PURSE_FILES.CONTRACTS.sfi << 3) | 4, ne: 256 }),
  /** VERIFY of the holder PIN (reference 81), ISO/IEC 7816-4 §11.5.6. */
  verifyPin: (pin: Uint8Array): Uint8Array => encodeCommandApdu({ cla: 0x00, ins: 0x20, p1: 0x00, p2: PURSE_PIN_REF, data: pin }),
});

// --- the synchronous protocol core ---------------------------------------------------------------

export interface PurseSessionOptions {
  /**
   * The static key of `keyName`: AES, 16/24/32 bytes (copied, used once, wiped), or a
   * {@link PurseStaticKey} prepared once for many sessions (kept by the caller).
   */
  readonly key: Uint8Array | PurseStaticKey;
  /** `purchase` for DEBIT and USE TRIP, `load` for CREDIT. */
  readonly keyName: PurseKeyName;
  /** 4 bytes written into the log records (default 00000000). */
  readonly terminalId?: Uint8Array;
  /** When the session happens, for the log and contract validity (default now; UTC). */
  readonly when?: Date;
  /** The terminal's challenge, 8 bytes (default random); fixed only for conformance replay. */
  readonly challenge?: Uint8Array;
  /** Class byte (default 80: basic channel). */
  readonly cla?: number;
}

/** CLOSE SESSION's result, after the card MAC verified. */
export interface PurseCloseResult {
  readonly balance: number;
  readonly transactionCounter: number;
  readonly cardMac: Uint8Array;
}

/**
 * One session's protocol state on the terminal: build a command, send it however you like, and
 * hand the command and the raw response back to {@link exchange} (or {@link acceptOpen} /
 * {@link acceptClose}). Every purse command of the session must pass through here, refused ones
 * included, or the transcripts differ and the card refuses CLOSE (6988).
 *
 * @example
 * const s = new PurseTerminalSession({ key, keyName: 'purchase' });
 * const open = s.openCommand();
 * s.acceptOpen(card.transmit(open));
 * const debit = s.command.debit(250);
 * s.exchange(debit, card.transmit(debit));
 * const close = s.closeCommand();
 * s.acceptClose(card.transmit(close)); // throws unless the card MAC verifies
 */
export class PurseTerminalSession {
  readonly #key: Uint8Array | PurseStaticKey;
  readonly #challenge: Uint8Array;
  readonly #open: Uint8Array;
  readonly #cla: number;
  #crypto: PurseSessionCrypto | undefined;
  #opened: PurseOpenResponse | undefined;
  #terminalMac: Uint8Array | undefined;

  /** Purse commands on this session's channel (same as {@link purseApdu}, with its class byte). */
  readonly command: {
    readonly readBalance: () => Uint8Array;
    readonly credit: (amount: number) => Uint8Array;
    readonly debit: (amount: number) => Uint8Array;
    readonly useTrip: (contract: number, trips: number, zone: number) => Uint8Array;
  };

  constructor(opts: PurseSessionOptions) {
    this.#key = opts.key instanceof PurseStaticKey ? opts.key : new Uint8Array(abytes(opts.key, [16, 24, 32], 'key'));
    this.#challenge = opts.challenge ? new Uint8Array(abytes(opts.challenge, 8, 'challenge')) : new Uint8Array(randomBytes(8));
    const cla = opts.cla ?? PURSE_CLA;
    this.#cla = cla;
    const { date, time } = stampsOf(opts.when ?? new Date());
    this.#open = purseApdu.open(purseKeyIndex(opts.keyName), this.#challenge, opts.terminalId ?? new Uint8Array(4), date, time, cla);
    this.command = Object.freeze({
      readBalance: () => purseApdu.readBalance(cla),
      credit: (amount: number) => purseApdu.credit(amount, cla),
      debit: (amount: number) => purseApdu.debit(amount, cla),
      useTrip: (contract: number, trips: number, zone: number) => purseApdu.useTrip(contract, trips, zone, cla),
    });
  }

  openCommand(): Uint8Array {
    return this.#open;
  }

  /** Takes OPEN SESSION's response: derives the session key and starts the transcript. */
  acceptOpen(response: Uint8Array): PurseOpenResponse {
    const r = parseResponseApdu(response);
    try {
      const data = expectOk('OPEN SESSION', r);
      const opened = shape('OPEN SESSION', () => decodeOpenResponse(data));
      this.#crypto = new PurseSessionCrypto(this.#key, opened.cardChallenge, this.#challenge);
      this.#crypto.record(parseCommandApdu(this.#open), r.data, r.sw);
      this.#opened = opened;
      return opened;
    } finally {
      // A raw static key is needed only for the derivation.
      if (this.#key instanceof Uint8Array) zeroize(this.#key);
    }
  }

  /** The open session's parameters (after {@link acceptOpen}). */
  get opened(): PurseOpenResponse {
    if (this.#opened === undefined) throw new Error('PurseTerminalSession: the session is not open');
    return this.#opened;
  }

  #session(): PurseSessionCrypto {
    if (this.#crypto === undefined) throw new Error('PurseTerminalSession: the session is not open (call acceptOpen first) or already closed');
    return this.#crypto;
  }

  /** Records one in-session exchange and returns the parsed response (whatever its status word). */
  exchange(command: Uint8Array, response: Uint8Array): ResponseApdu {
    const s = this.#session();
    const r = parseResponseApdu(response);
    s.record(parseCommandApdu(command), r.data, r.sw);
    return r;
  }

  /** CLOSE SESSION carrying the terminal MAC over the transcript so far. */
  closeCommand(): Uint8Array {
    this.#terminalMac = this.#session().terminalMac();
    return purseApdu.close(this.#terminalMac, this.#cla);
  }

  /**
   * Takes CLOSE SESSION's response: checks the card MAC (constant time) and ends the session.
   * Throws {@link PurseError} `refused` (the card did not commit) or `card-not-authenticated`.
   */
  acceptClose(response: Uint8Array): PurseCloseResult {
    const s = this.#session();
    const mt = this.#terminalMac;
    if (mt === undefined) throw new Error('PurseTerminalSession: call closeCommand before acceptClose');
    try {
      const data = expectOk('CLOSE SESSION', parseResponseApdu(response));
      if (data.length !== PURSE_LENGTHS.CLOSE_RESPONSE) {
        throw new PurseError('malformed', `CLOSE SESSION: expected ${PURSE_LENGTHS.CLOSE_RESPONSE} bytes, got ${data.length}`);
      }
      const balance = readUintBE(data, 0, 4);
      const cardMac = data.slice(4, 12);
      if (!s.verifyCardMac(cardMac, mt, balance)) {
        throw new PurseError('card-not-authenticated', 'CLOSE SESSION: the card MAC does not verify (not the card holding this key, or the session was tampered with)');
      }
      return { balance, transactionCounter: this.opened.transactionCounter, cardMac };
    } finally {
      this.destroy();
    }
  }

  /** Ends the session on this side (after ABORT, or when giving up). */
  destroy(): void {
    if (this.#key instanceof Uint8Array) zeroize(this.#key);
    this.#crypto?.destroy();
    this.#crypto = undefined;
  }
}

// --- over a transport -----------------------------------------------------------------------------

async function send(t: Transport, apdu: Uint8Array): Promise<ResponseApdu> {
  return parseResponseApdu(await t.transmit(apdu));
}

/** The transport with 61XX/6CXX handled, so T=0 readers give the same answers as T=1. */
function wrap(t: Transport): Transport {
  return t instanceof GetResponseTransport ? t : new GetResponseTransport(t);
}

/** Selects the purse application (`aid` default {@link PURSE_AID}). */
export async function selectPurse(t: Transport, aid: Uint8Array = PURSE_AID): Promise<void> {
  expectOk('SELECT', await send(wrap(t), purseApdu.select(aid)));
}

/** READ BALANCE outside a session (the committed balance). */
export async function readPurseBalance(t: Transport): Promise<PurseBalance> {
  const data = expectOk('READ BALANCE', await send(wrap(t), purseApdu.readBalance()));
  return shape('READ BALANCE', () => decodeBalanceResponse(data));
}

/** Reads EF.Log record by record (newest first) until the card says there are no more. */
export async function readPurseLog(t: Transport): Promise<PurseLogEntry[]> {
  return readRecords(wrap(t), 'READ LOG', purseApdu.readLog, decodeLogRecord);
}

/** Reads EF.Contracts (record 1 first). */
export async function readPurseContracts(t: Transport): Promise<PurseContract[]> {
  return readRecords(wrap(t), 'READ CONTRACT', purseApdu.readContract, decodeContractRecord);
}

async function readRecords<T>(t: Transport, command: string, apdu: (n: number) => Uint8Array, decode: (r: Uint8Array) => T): Promise<T[]> {
  const out: T[] = [];
  for (let n = 1; n <= 254; n++) {
    const r = await send(t, apdu(n));
    // 6A83: no such record, the end of the file (ISO/IEC 7816-4 §11.3.3).
    if (r.sw === 0x6a83) break;
    const data = expectOk(`${command} ${n}`, r);
    out.push(shape(command, () => decode(data)));
  }
  return out;
}

/** VERIFY of the holder PIN; PurseError with 63CX (tries left) or 6983 (blocked) on failure. */
export async function verifyPursePin(t: Transport, pin: Uint8Array): Promise<void> {
  const r = await send(wrap(t), purseApdu.verifyPin(pin));
  if (r.sw === 0x9000) return;
  const tries = (r.sw & 0xfff0) === 0x63c0 ? ` (${r.sw & 0x0f} tries left)` : r.sw === 0x6983 ? ' (PIN blocked)' : '';
  throw new PurseError('refused', `VERIFY PIN refused: ${formatSw(r.sw)}${tries}`, r.sw);
}

/**
 * A session over a transport. Every method sends one command; a refusal throws
 * {@link PurseError} but leaves the session open (the card keeps it too), so the terminal may
 * go on — e.g. debit less — or abort.
 */
export class PurseSession {
  private constructor(
    private readonly t: Transport,
    private readonly core: PurseTerminalSession,
    /** OPEN SESSION's answer: TC, balance at open, key version. */
    readonly opened: PurseOpenResponse,
  ) {}

  /** Opens a session (the purse must be selected). */
  static async open(t: Transport, opts: PurseSessionOptions): Promise<PurseSession> {
    const w = wrap(t);
    const core = new PurseTerminalSession(opts);
    let opened: PurseOpenResponse;
    try {
      opened = core.acceptOpen(await w.transmit(core.openCommand()));
    } catch (e) {
      core.destroy();
      throw e;
    }
    return new PurseSession(w, core, opened);
  }

  get transactionCounter(): number {
    return this.opened.transactionCounter;
  }

  async #run(name: string, apdu: Uint8Array): Promise<Uint8Array> {
    return expectOk(name, this.core.exchange(apdu, await this.t.transmit(apdu)));
  }

  /** CREDIT (load-key session); returns the tentative balance. */
  async credit(amount: number): Promise<number> {
    const d = await this.#run('CREDIT', this.core.command.credit(amount));
    return shape('CREDIT', () => readUintBE(d, 0, 4));
  }

  /** DEBIT (purchase-key session); returns the tentative balance. */
  async debit(amount: number): Promise<number> {
    const d = await this.#run('DEBIT', this.core.command.debit(amount));
    return shape('DEBIT', () => readUintBE(d, 0, 4));
  }

  /** USE TRIP on contract record `contract` in `zone` (purchase-key session); returns trips left. */
  async useTrip(contract: number, trips = 1, zone = 1): Promise<number> {
    const d = await this.#run('USE TRIP', this.core.command.useTrip(contract, trips, zone));
    return shape('USE TRIP', () => readUintBE(d, 0, 2));
  }

  /** READ BALANCE inside the session (the tentative balance). */
  async readBalance(): Promise<PurseBalance> {
    const d = await this.#run('READ BALANCE', this.core.command.readBalance());
    return shape('READ BALANCE', () => decodeBalanceResponse(d));
  }

  /** CLOSE SESSION: the card commits and proves it with its MAC, which is checked here. */
  async close(): Promise<PurseCloseResult> {
    const apdu = this.core.closeCommand();
    let response: Uint8Array;
    try {
      response = await this.t.transmit(apdu);
    } catch (e) {
      this.core.destroy();
      throw e;
    }
    return this.core.acceptClose(response);
  }

  /** ABORT: the card drops the session's changes. */
  async abort(): Promise<void> {
    try {
      expectOk('ABORT', await send(this.t, purseApdu.abort()));
    } finally {
      this.core.destroy();
    }
  }
}

/** What {@link pursePurchase} and {@link purseLoad} did. */
export interface PurseTransaction extends PurseCloseResult {
  readonly operation: 'debit' | 'credit';
  readonly amount: number;
}

export interface PurseTransactionOptions extends Omit<PurseSessionOptions, 'keyName'> {
  readonly amount: number;
  /** The holder PIN, verified before the session (needed above the purse's PIN threshold). */
  readonly pin?: Uint8Array;
}

async function transaction(t: Transport, operation: 'debit' | 'credit', opts: PurseTransactionOptions): Promise<PurseTransaction> {
  if (opts.pin !== undefined) await verifyPursePin(t, opts.pin);
  const s = await PurseSession.open(t, { ...opts, keyName: operation === 'debit' ? 'purchase' : 'load' });
  try {
    if (operation === 'debit') await s.debit(opts.amount);
    else await s.credit(opts.amount);
  } catch (e) {
    // The card would drop the session anyway; say so, and keep the original error.
    await s.abort().catch(() => undefined);
    throw e;
  }
  const closed = await s.close();
  return { operation, amount: opts.amount, ...closed };
}

/**
 * A complete purchase: [VERIFY PIN,] OPEN (purchase key), DEBIT, CLOSE, card MAC verified. The
 * purse must be selected.
 */
export function pursePurchase(t: Transport, opts: PurseTransactionOptions): Promise<PurseTransaction> {
  return transaction(t, 'debit', opts);
}

/** A complete load: OPEN (load key), CREDIT, CLOSE, card MAC verified. */
export function purseLoad(t: Transport, opts: PurseTransactionOptions): Promise<PurseTransaction> {
  return transaction(t, 'credit', opts);
}

/**
 * Whether a session committed, for a terminal that lost the card during CLOSE and so has no card
 * MAC: the log holds records with the session's TC exactly when its operations committed.
 */
export async function purseSessionCommitted(t: Transport, transactionCounter: number): Promise<boolean> {
  const log = await readPurseLog(t);
  return log.some((e) => e.transactionCounter === transactionCounter);
}
