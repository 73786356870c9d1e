/**
 * Real readers through PC/SC (pcsc-lite's `pcscd` on Linux and macOS, WinSCard on Windows), over
 * the `pcsclite` package. That package is an optional dependency with a native part, loaded only
 * here and only when a reader is used: without it, without the PC/SC library or without a
 * running service, the error names the package to install or the service to start.
 *
 * - {@link listReaders}: every reader with its card state and ATR.
 * - {@link PcscTransport}: one reader behind the {@link Transport} interface. `connect` waits for a
 *   card (up to `cardTimeoutMs`), connects exclusively by default with T=0 or T=1 (whichever the
 *   card's ATR offers, or the one asked for), and returns the ATR; `transmit` passes short and
 *   extended APDUs through unchanged (GET RESPONSE handling is a wrapper: `get-response.ts`).
 * - Typed errors: {@link PcscUnavailableError} (package or library missing),
 *   {@link PcscServiceError} (no service), {@link NoReaderError}, {@link NoCardError},
 *   {@link ReaderInUseError}, {@link CardRemovedError} (removed during the session, also a
 *   `CardMuteError`), and {@link PcscError} for the rest, each carrying the PC/SC return code.
 *
 * @example
 * const reader = await PcscTransport.open('Virtual PCD', { cardTimeoutMs: 5000 });
 * try {
 *   const atr = await reader.connect();
 *   const r = await reader.transmit(hexToBytes('00A4000C023F00')); // 9000
 * } finally {
 *   await reader.close();
 * }
 */
import type { EventEmitter } from 'node:events';
import { CardMuteError, type Transport } from './types.js';

// --- errors ------------------------------------------------------------------------------------

/** A PC/SC failure; `code` is the PC/SC return code (`SCARD_E_*`, `SCARD_W_*`) when there is one. */
export class PcscError extends Error {
  override readonly name: string = 'PcscError';
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
  }
}

/** The `pcsclite` package or the PC/SC library it binds to is not installed. */
export class PcscUnavailableError extends PcscError {
  override readonly name = 'PcscUnavailableError';
}

/** No PC/SC service answers (pcscd is not running), or it stopped during the session. */
export class PcscServiceError extends PcscError {
  override readonly name = 'PcscServiceError';
}

/** No reader is connected, or none matches the name, substring or index asked for. */
export class NoReaderError extends PcscError {
  override readonly name = 'NoReaderError';
}

/** The reader holds no card (after waiting as long as asked). */
export class NoCardError extends PcscError {
  override readonly name = 'NoCardError';
}

/** Another application holds the reader (exclusively, or shared when exclusive was asked for). */
export class ReaderInUseError extends PcscError {
  override readonly name = 'ReaderInUseError';
}

/**
 * The card left the reader during the session (pulled out; for a virtual card, its server
 * stopped). A {@link CardMuteError}, so everything that handles a mute card handles this.
 */
export class CardRemovedError extends CardMuteError {
  override readonly name: string = 'CardRemovedError';
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
  }
}

/** PC/SC return codes this module acts on (pcsc-lite `pcsclite.h`, same values in WinSCard). */
export const SCARD = {
  E_CANCELLED: 0x80100002,
  E_INSUFFICIENT_BUFFER: 0x80100008,
  E_UNKNOWN_READER: 0x80100009,
  E_TIMEOUT: 0x8010000a,
  E_SHARING_VIOLATION: 0x8010000b,
  E_NO_SMARTCARD: 0x8010000c,
  E_PROTO_MISMATCH: 0x8010000f,
  E_NOT_READY: 0x80100010,
  F_COMM_ERROR: 0x80100013,
  E_NOT_TRANSACTED: 0x80100016,
  E_READER_UNAVAILABLE: 0x80100017,
  E_NO_SERVICE: 0x8010001d,
  E_SERVICE_STOPPED: 0x8010001e,
  E_NO_READERS_AVAILABLE: 0x8010002e,
  W_UNSUPPORTED_CARD: 0x80100065,
  W_UNRESPONSIVE_CARD: 0x80100066,
  W_UNPOWERED_CARD: 0x80100067,
  W_RESET_CARD: 0x80100068,
  W_REMOVED_CARD: 0x80100069,
} as const;

/** Reader state bits (`SCARD_STATE_*`); the high 16 bits of a state are an event counter. */
const STATE = { EMPTY: 0x10, PRESENT: 0x20, EXCLUSIVE: 0x80, INUSE: 0x100, MUTE: 0x200 } as const;

const SERVICE_HINT = 'start pcscd (sudo systemctl start pcscd, or sudo pcscd --foreground); on Debian/Ubuntu it is the package "pcscd"';
const NO_READER_HINT =
  'plug a reader in, or serve a virtual card: chipwright sim --card card.json --vpcd 35963 (needs pcscd with the vsmartcard-vpcd driver)';

/** The PC/SC code in a `pcsclite` error message: `SCardConnect error: Sharing violation.(0x8010000b)`. */
function codeOf(e: unknown): number | undefined {
  const m = /\(0x([0-9a-f]{8})\)/i.exec(e instanceof Error ? e.message : String(e));
  return m === null ? undefined : parseInt(m[1]!, 16);
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Errors that mean the service is gone, whatever was being done. */
function serviceError(code: number | undefined, what: string): PcscServiceError | undefined {
  if (code === SCARD.E_NO_SERVICE || code === SCARD.E_SERVICE_STOPPED) {
    return new PcscServiceError(`${what}: the PC/SC service is not running; ${SERVICE_HINT}`, code);
  }
  return undefined;
}

// --- the pcsclite package, as far as it is used here ---------------------------------------------

/** `pcsclite`'s CardReader (index.d.ts of pcsclite 1.0.1), typed here so it stays optional. */
interface NativeReader extends EventEmitter {
  readonly name: string;
  connected: boolean;
  readonly SCARD_SHARE_SHARED: number;
  readonly SCARD_SHARE_EXCLUSIVE: number;
  readonly SCARD_PROTOCOL_T0: number;
  readonly SCARD_PROTOCOL_T1: number;
  readonly SCARD_LEAVE_CARD: number;
  readonly SCARD_RESET_CARD: number;
  readonly SCARD_UNPOWER_CARD: number;
  connect(options: { share_mode: number; protocol: number }, cb: (err: Error | null | undefined, protocol: number) => void): void;
  disconnect(disposition: number, cb: (err: Error | null | undefined) => void): void;
  transmit(data: Buffer, resLen: number, protocol: number, cb: (err: Error | null | undefined, response: Buffer) => void): void;
  close(): void;
}

interface NativePcsc extends EventEmitter {
  readonly readers: Record<string, NativeReader>;
  start(cb: (err: Error | undefined, data: Buffer) => void): void;
  close(): void;
}

type PcscFactory = () => NativePcsc;

let factoryPromise: Promise<PcscFactory> | undefined;

/** Loads `pcsclite` once; a missing package or library becomes {@link PcscUnavailableError}. */
function loadPcsclite(): Promise<PcscFactory> {
  factoryPromise ??= (async (): Promise<PcscFactory> => {
    // A computed specifier: the package is optional, so the compiler must not require it.
    const specifier = 'pcsclite';
    let mod: { default?: unknown };
    try {
      mod = (await import(specifier)) as { default?: unknown };
    } catch (e) {
      const text = messageOf(e);
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ERR_MODULE_NOT_FOUND' && text.includes("'pcsclite'")) {
        throw new PcscUnavailableError(
          'PC/SC needs the optional package "pcsclite", which is not installed: install the PC/SC library and headers ' +
            '(Debian/Ubuntu: sudo apt install libpcsclite-dev pcscd) and a C++ compiler, then run npm install pcsclite',
        );
      }
      if (/libpcsclite\.so|cannot open shared object/.test(text)) {
        throw new PcscUnavailableError(`PC/SC library missing (${text.split('\n')[0]}): install it (Debian/Ubuntu: sudo apt install libpcsclite1)`);
      }
      if (/bindings file|\.node|NODE_MODULE_VERSION/.test(text)) {
        throw new PcscUnavailableError(
          `the "pcsclite" package is installed but its native module is not built for this Node (${text.split('\n')[0]}): ` +
            'install libpcsclite-dev and a C++ compiler, then run npm rebuild pcsclite',
        );
      }
      throw new PcscUnavailableError(`cannot load the "pcsclite" package: ${text.split('\n')[0]}`);
    }
    if (typeof mod.default !== 'function') throw new PcscUnavailableError('the "pcsclite" package does not export a function; expected pcsclite 1.x');
    return mod.default as PcscFactory;
  })();
  // A failed load is retried next time (the user may have installed the package meanwhile).
  factoryPromise.catch(() => {
    factoryPromise = undefined;
  });
  return factoryPromise;
}

// --- a PC/SC context with its readers' states ----------------------------------------------------

interface ReaderWatch {
  readonly native: NativeReader;
  state: number;
  atr: Uint8Array | undefined;
  /** A first status was reported. */
  known: boolean;
}

/**
 * pcsclite 1.0.1's reader status thread reports its exit only from inside its loop: closing a
 * reader just after it reported a status change, before the thread is back waiting, ends the
 * thread without that report, and the handle it leaves keeps Node's event loop alive for ever. So
 * a context is closed only once its readers have been quiet this long (the window is a few
 * instructions wide; this is generous).
 */
const QUIET_BEFORE_CLOSE_MS = 25;
const MAX_CLOSE_WAIT_MS = 1000;

/** One PC/SC context: the reader list and every reader's state, kept current by `pcsclite`. */
class PcscContext {
  private readonly watches = new Map<string, ReaderWatch>();
  private readonly listeners = new Set<() => void>();
  private closed = false;
  private lastError: Error | undefined;
  private lastEventAt = performance.now();

  private constructor(private readonly lib: NativePcsc) {}

  /** Establishes a context and waits until the readers are listed and each has reported its state. */
  static async establish(): Promise<PcscContext> {
    const factory = await loadPcsclite();
    let lib: NativePcsc;
    try {
      lib = factory();
    } catch (e) {
      throw serviceError(codeOf(e), 'PC/SC') ?? new PcscError(`PC/SC: ${messageOf(e)}`, codeOf(e));
    }
    const ctx = new PcscContext(lib);
    // pcsclite 1.0.1 starts listing on the next tick and reports only readers that appear; its
    // `start` callback is the one signal that a listing (possibly empty) is complete.
    const listed = new Promise<void>((resolve, reject) => {
      const start = lib.start;
      (lib as { start: NativePcsc['start'] }).start = (cb) => {
        start.call(lib, (err, data) => {
          cb(err, data);
          if (err) reject(err);
          else resolve();
        });
      };
    });
    lib.on('error', (e: Error) => ctx.onError(e));
    lib.on('reader', (r: NativeReader) => ctx.onReader(r));
    try {
      await listed;
    } catch (e) {
      await ctx.close();
      throw serviceError(codeOf(e), 'listing readers') ?? new PcscError(`listing readers: ${messageOf(e)}`, codeOf(e));
    }
    await ctx.until(() => [...ctx.watches.values()].every((w) => w.known), 2000);
    return ctx;
  }

  private onError(e: Error): void {
    if (this.closed) return; // SCardCancel on close reports "Command cancelled"
    this.lastError = e;
    this.notify();
  }

  private onReader(r: NativeReader): void {
    const w: ReaderWatch = { native: r, state: 0, atr: undefined, known: false };
    this.watches.set(r.name, w);
    r.on('error', (e: Error) => this.onError(e));
    r.on('status', (s: { state: number; atr?: Buffer }) => {
      w.state = s.state & 0xffff;
      w.atr = s.atr !== undefined && s.atr.length > 0 ? new Uint8Array(s.atr) : undefined;
      w.known = true;
      this.notify();
    });
    // The reader was unplugged, or closed: its status thread ended.
    r.on('end', () => {
      this.watches.delete(r.name);
      this.notify();
    });
    this.notify();
  }

  private notify(): void {
    this.lastEventAt = performance.now();
    for (const l of [...this.listeners]) l();
  }

  /** The service failed since the context was established (pcscd stopped). */
  get error(): Error | undefined {
    return this.lastError;
  }

  /** Readers in the order the service lists them. */
  get names(): string[] {
    return [...this.watches.keys()];
  }

  watch(name: string): ReaderWatch | undefined {
    return this.watches.get(name);
  }

  /** Resolves true when `pred` holds (checked now and on every change), false after `timeoutMs`. */
  until(pred: () => boolean, timeoutMs: number): Promise<boolean> {
    if (pred()) return Promise.resolve(true);
    if (timeoutMs <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const check = (): void => {
        if (!pred()) return;
        finish(true);
      };
      const finish = (v: boolean): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve(v);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.listeners.add(check);
    });
  }

  /** Stops watching and releases the context (see {@link QUIET_BEFORE_CLOSE_MS} for the wait). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    const until = performance.now() + MAX_CLOSE_WAIT_MS;
    for (;;) {
      const quietFor = performance.now() - this.lastEventAt;
      if (quietFor >= QUIET_BEFORE_CLOSE_MS || performance.now() >= until) break;
      await new Promise((r) => setTimeout(r, QUIET_BEFORE_CLOSE_MS - quietFor));
    }
    for (const w of this.watches.values()) {
      try {
        w.native.close();
      } catch {
        // already ended
      }
    }
    this.lib.close();
  }
}

// --- listing and picking readers -----------------------------------------------------------------

/** A reader as {@link listReaders} reports it. */
export interface PcscReaderInfo {
  /** Position in the service's list (what `--reader 0` picks). */
  readonly index: number;
  readonly name: string;
  /** A card is in the reader. */
  readonly card: boolean;
  /** The card's ATR, when there is a card that answered. */
  readonly atr: Uint8Array | undefined;
  /** An application is connected to the card (shared or exclusive). */
  readonly inUse: boolean;
  /** An application holds the card exclusively. */
  readonly exclusive: boolean;
  /** A card is there but did not answer the reset. */
  readonly mute: boolean;
}

function infoOf(index: number, name: string, w: ReaderWatch | undefined): PcscReaderInfo {
  const s = w?.state ?? 0;
  return {
    index,
    name,
    card: (s & STATE.PRESENT) !== 0,
    atr: (s & STATE.PRESENT) !== 0 ? w?.atr : undefined,
    inUse: (s & STATE.INUSE) !== 0,
    exclusive: (s & STATE.EXCLUSIVE) !== 0,
    mute: (s & STATE.MUTE) !== 0,
  };
}

/**
 * Readers' states followed through one PC/SC context kept open (pcsclite's status thread keeps
 * them current), for a caller that polls often — a batch worker waiting for cards to come and go.
 * {@link listReaders} opens a context per call, and pcscd refuses new contexts ("Access denied")
 * once a long run has opened thousands.
 *
 * @example const m = await PcscReaderMonitor.open(); m.readers().find((r) => r.name === name)?.card; await m.close();
 */
export class PcscReaderMonitor {
  private constructor(private readonly ctx: PcscContext) {}

  static async open(): Promise<PcscReaderMonitor> {
    return new PcscReaderMonitor(await PcscContext.establish());
  }

  /** The readers as last reported. */
  readers(): PcscReaderInfo[] {
    return this.ctx.names.map((n, i) => infoOf(i, n, this.ctx.watch(n)));
  }

  close(): Promise<void> {
    return this.ctx.close();
  }
}

/**
 * Every reader the PC/SC service knows, with its card state (a context opened for this call).
 *
 * @example (await listReaders()).map((r) => `${r.index} ${r.name} ${r.card ? 'card' : 'empty'}`)
 */
export async function listReaders(): Promise<PcscReaderInfo[]> {
  const m = await PcscReaderMonitor.open();
  try {
    return m.readers();
  } finally {
    await m.close();
  }
}

function readerList(names: readonly string[]): string {
  return names.map((n, i) => `${i} "${n}"`).join(', ');
}

/**
 * Picks a reader by exact name, then by index (a whole number), then by a case-insensitive
 * substring that matches exactly one reader. `undefined` picks the only reader, or else the only
 * reader holding a card. Throws {@link NoReaderError} listing the readers otherwise.
 *
 * @example pickReader(['ACS ACR39U 00 00', 'Virtual PCD 00 00'], 'virtual') // 'Virtual PCD 00 00'
 */
export function pickReader(names: readonly string[], spec: string | undefined, withCard: (name: string) => boolean = () => false): string {
  if (names.length === 0) throw new NoReaderError(`no PC/SC reader is connected; ${NO_READER_HINT}`);
  if (spec === undefined) {
    if (names.length === 1) return names[0]!;
    const loaded = names.filter(withCard);
    if (loaded.length === 1) return loaded[0]!;
    throw new NoReaderError(`${names.length} readers are connected${loaded.length > 1 ? ` and ${loaded.length} hold a card` : ''}; pick one by name, substring or index: ${readerList(names)}`);
  }
  if (names.includes(spec)) return spec;
  const t = spec.trim();
  if (/^\d+$/.test(t)) {
    const i = Number(t);
    if (i < names.length) return names[i]!;
    throw new NoReaderError(`reader index ${i}: there ${names.length === 1 ? 'is 1 reader' : `are ${names.length} readers`} (${readerList(names)})`);
  }
  const needle = t.toLowerCase();
  const hits = names.filter((n) => n.toLowerCase().includes(needle));
  if (hits.length === 1) return hits[0]!;
  if (hits.length > 1) throw new NoReaderError(`reader "${spec}" matches ${hits.length} readers (${readerList(hits)}); give more of the name, or its index`);
  throw new NoReaderError(`no reader matches "${spec}"; readers: ${readerList(names)}`);
}

// --- the transport -------------------------------------------------------------------------------

export interface PcscOptions {
  /** Default `exclusive`: no other application can interleave commands with ours. */
  readonly share?: 'exclusive' | 'shared';
  /** Default `any`: whatever the card offers (T=1 preferred by pcsc-lite when both are). */
  readonly protocol?: 'T=0' | 'T=1' | 'any';
  /** How long `connect` waits for a card to be inserted (default 0: it must be there). */
  readonly cardTimeoutMs?: number;
  /**
   * After a failed transmission, how long to wait for the reader to report the card gone before
   * calling it mute rather than removed (default 800 ms: pcscd polls readers every 400 ms).
   */
  readonly removalGraceMs?: number;
}

/** Largest response APDU: 65536 data bytes and SW1-SW2 (ISO/IEC 7816-4 §5.1, extended Le). */
const MAX_EXTENDED_RESPONSE = 65538;
const MAX_SHORT_RESPONSE = 258;

/** True for an extended-length command (ISO/IEC 7816-3 §12.1.3: a 00 byte after the header, then more). */
function isExtended(apdu: Uint8Array): boolean {
  return apdu.length > 5 && apdu[4] === 0;
}

/**
 * One PC/SC reader behind {@link Transport}. {@link close} ends the PC/SC session (threads and
 * context); {@link disconnect} only releases and powers down the card, so a script's
 * `@power-off` / `@power-on` work.
 */
export class PcscTransport implements Transport {
  private proto: number | null = null;
  private removed = false;
  private closed = false;

  private constructor(
    private readonly ctx: PcscContext,
    readonly readerName: string,
    private readonly opts: PcscOptions,
  ) {}

  /**
   * Opens a reader picked by {@link pickReader} (`reader`: exact name, index or substring;
   * undefined: the only reader, or the only one with a card). Nothing is sent to the card yet.
   */
  static async open(reader: string | undefined, opts: PcscOptions = {}): Promise<PcscTransport> {
    const ctx = await PcscContext.establish();
    try {
      const name = pickReader(ctx.names, reader, (n) => ((ctx.watch(n)?.state ?? 0) & STATE.PRESENT) !== 0);
      return new PcscTransport(ctx, name, opts);
    } catch (e) {
      await ctx.close();
      throw e;
    }
  }

  private get native(): NativeReader {
    const w = this.ctx.watch(this.readerName);
    if (w === undefined) throw new NoReaderError(`reader "${this.readerName}" was disconnected`);
    return w.native;
  }

  private get present(): boolean {
    return ((this.ctx.watch(this.readerName)?.state ?? 0) & STATE.PRESENT) !== 0;
  }

  /** `T=0` or `T=1` while connected. */
  get protocol(): 'T=0' | 'T=1' | undefined {
    if (this.proto === null) return undefined;
    return this.proto === this.native.SCARD_PROTOCOL_T0 ? 'T=0' : 'T=1';
  }

  /** The ATR the reader last reported (undefined without a card). */
  get atr(): Uint8Array | undefined {
    return this.present ? this.ctx.watch(this.readerName)?.atr?.slice() : undefined;
  }

  /** Waits up to `timeoutMs` for a card in the reader; true when one is there. */
  waitForCard(timeoutMs: number): Promise<boolean> {
    return this.ctx.until(() => this.present && this.ctx.watch(this.readerName)?.atr !== undefined, timeoutMs);
  }

  /** Waits up to `timeoutMs` for the reader to be empty; true when it is. */
  waitForRemoval(timeoutMs: number): Promise<boolean> {
    return this.ctx.until(() => !this.present, timeoutMs);
  }

  /**
   * Connects to the card (waiting up to `cardTimeoutMs` for one) and returns its ATR. A
   * connection left by a removed card is dropped first, so this is also how to reconnect.
   */
  async connect(): Promise<Uint8Array> {
    this.assertOpen();
    if (this.proto !== null || this.native.connected) await this.release(this.native.SCARD_LEAVE_CARD);
    if (!(await this.waitForCard(this.opts.cardTimeoutMs ?? 0))) {
      const waited = this.opts.cardTimeoutMs ? ` after waiting ${this.opts.cardTimeoutMs} ms` : '';
      throw new NoCardError(`no card in reader "${this.readerName}"${waited}; insert one${this.readerName.includes('Virtual PCD') ? ' (start chipwright sim --vpcd for this slot)' : ''}`);
    }
    const r = this.native;
    const share = this.opts.share === 'shared' ? r.SCARD_SHARE_SHARED : r.SCARD_SHARE_EXCLUSIVE;
    const want = this.opts.protocol ?? 'any';
    const protocol = want === 'T=0' ? r.SCARD_PROTOCOL_T0 : want === 'T=1' ? r.SCARD_PROTOCOL_T1 : r.SCARD_PROTOCOL_T0 | r.SCARD_PROTOCOL_T1;
    this.proto = await new Promise<number>((resolve, reject) => {
      r.connect({ share_mode: share, protocol }, (err, p) => (err ? reject(this.connectError(err, want)) : resolve(p)));
    });
    this.removed = false;
    const atr = this.atr;
    if (atr === undefined) throw new CardRemovedError(`reader "${this.readerName}": the card left while connecting`);
    return atr;
  }

  private connectError(err: Error, want: string): Error {
    const code = codeOf(err);
    const where = `reader "${this.readerName}"`;
    const svc = serviceError(code, where);
    if (svc) return svc;
    switch (code) {
      case SCARD.E_SHARING_VIOLATION:
        return new ReaderInUseError(
          `${where} is in use by another application${this.opts.share === 'shared' ? ' (exclusively)' : ''}; close it (pcsc_scan, a browser, a PKCS#11 module...) and retry`,
          code,
        );
      case SCARD.E_NO_SMARTCARD:
      case SCARD.W_REMOVED_CARD:
        return new NoCardError(`no card in ${where}; insert one`, code);
      case SCARD.E_UNKNOWN_READER:
      case SCARD.E_READER_UNAVAILABLE:
        return new NoReaderError(`${where} is no longer available`, code);
      case SCARD.E_PROTO_MISMATCH:
        return new PcscError(`${where}: the card does not offer ${want === 'any' ? 'T=0 or T=1' : want}`, code);
      case SCARD.W_UNRESPONSIVE_CARD:
      case SCARD.W_UNPOWERED_CARD:
        return new CardMuteError(`${where}: the card did not answer the reset`);
      default:
        return new PcscError(`${where}: connect failed: ${messageOf(err)}`, code);
    }
  }

  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    this.assertOpen();
    if (this.removed) throw new CardRemovedError(`reader "${this.readerName}": the card was removed; connect again after reinserting it`);
    if (this.proto === null) throw new CardMuteError(`reader "${this.readerName}": the card is not powered (connect first)`);
    const r = this.native;
    const proto = this.proto;
    const resLen = isExtended(apdu) ? MAX_EXTENDED_RESPONSE : MAX_SHORT_RESPONSE;
    let resp: Buffer;
    try {
      resp = await new Promise<Buffer>((resolve, reject) => {
        r.transmit(Buffer.from(apdu.buffer, apdu.byteOffset, apdu.length), resLen, proto, (err, data) => (err ? reject(err) : resolve(data)));
      });
    } catch (e) {
      throw await this.transmitError(e as Error);
    }
    if (resp.length < 2) throw new CardMuteError(`reader "${this.readerName}": the card answered ${resp.length} bytes, no status word`);
    return new Uint8Array(resp.buffer, resp.byteOffset, resp.length);
  }

  private async transmitError(err: Error): Promise<Error> {
    const code = codeOf(err);
    const where = `reader "${this.readerName}"`;
    const svc = serviceError(code, where);
    if (svc) return svc;
    const removed = (): CardRemovedError => {
      this.removed = true;
      return new CardRemovedError(`${where}: the card was removed during the command`, code);
    };
    switch (code) {
      case SCARD.W_REMOVED_CARD:
      case SCARD.E_NO_SMARTCARD:
        return removed();
      case SCARD.E_NOT_TRANSACTED:
      case SCARD.F_COMM_ERROR:
      case SCARD.W_UNRESPONSIVE_CARD:
      case SCARD.W_UNPOWERED_CARD:
      case SCARD.E_READER_UNAVAILABLE:
        // The reader reports a vanished card at its next poll; until then a failed exchange is
        // all there is, so wait briefly to tell "removed" from "mute".
        if (await this.waitForRemoval(this.opts.removalGraceMs ?? 800)) return removed();
        return new CardMuteError(`${where}: the card did not answer (${messageOf(err)})`);
      case SCARD.W_RESET_CARD:
        return new PcscError(`${where}: another application reset the card; connect again`, code);
      case SCARD.E_INSUFFICIENT_BUFFER:
        return new PcscError(`${where}: the response is longer than the buffer given to the reader`, code);
      default:
        return new PcscError(`${where}: transmit failed: ${messageOf(err)}`, code);
    }
  }

  /** Warm reset: the connection is ended with SCARD_RESET_CARD and made again; returns the ATR. */
  async reset(): Promise<Uint8Array> {
    this.assertOpen();
    if (this.proto !== null) await this.release(this.native.SCARD_RESET_CARD);
    return this.connect();
  }

  /** Releases the card and asks the reader to power it down (the PC/SC session stays open). */
  async disconnect(): Promise<void> {
    if (this.closed || this.proto === null) return;
    await this.release(this.native.SCARD_UNPOWER_CARD);
  }

  /** Ends the connection; a card already gone makes that a no-op, not an error. */
  private async release(disposition: number): Promise<void> {
    const r = this.native;
    this.proto = null;
    await new Promise<void>((resolve) => {
      r.disconnect(disposition, (err) => {
        // SCardDisconnect fails on a handle whose card left; pcsclite then still marks the
        // reader connected, and its next connect() would silently do nothing.
        if (err) r.connected = false;
        resolve();
      });
    });
  }

  /** Powers the card down if connected and ends the PC/SC session. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.disconnect();
    } finally {
      this.closed = true;
      await this.ctx.close();
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new PcscError(`reader "${this.readerName}": the transport is closed`);
    const e = this.ctx.error;
    const svc = e === undefined ? undefined : serviceError(codeOf(e), `reader "${this.readerName}"`);
    if (svc) throw svc;
  }
}
