/**
 * The simulator as a virtual card for pcscd: a client of vsmartcard's vpcd reader driver
 * (`libifdvpcd`), which pcscd loads like any reader driver and which listens on TCP, one port per
 * reader slot (Debian's `/etc/reader.conf.d/vpcd`: 35963 for "Virtual PCD 00 00", 35964 for
 * "Virtual PCD 00 01"). Connecting to a port inserts the card into that reader; closing the
 * connection removes it. Any PC/SC application (opensc, pcsc-tools, a browser, chipwright's own
 * PC/SC transport) then sees the card.
 *
 * The protocol (vsmartcard `virtualsmartcard/src/vpcd/vpcd.c`): every message, in either
 * direction, is a 2-byte big-endian length followed by that many bytes. From pcscd, a 1-byte
 * message is a control — 00 power off, 01 power on, 02 reset, 04 "send the ATR" — and anything
 * longer is a command APDU. The card answers only the ATR request (with the ATR) and APDUs (with
 * the response APDU). pcscd asks for the ATR about every 400 ms to see whether the card is still
 * there, so it is always answered, powered or not; an unanswered or empty reply is taken as
 * removal.
 *
 * Durability: `afterCommand` runs after each APDU and *before* its response is sent, so a host
 * that saw a response knows the state behind it is on disk (the CLI saves the image there when
 * the card's non-volatile generation moved).
 *
 * @example Serve a card on the first vpcd slot until stopped
 * const server = new VpcdCardServer(card, { port: 35963, afterCommand: () => file.saveIfChanged() });
 * server.start();
 * // ... later
 * await server.close();
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { swBytes } from '../apdu/response.js';
import { SW } from '../apdu/status.js';

/** vpcd's first port (0x8C7B); slot n of the same reader entry listens on 35963 + n. */
export const VPCD_DEFAULT_PORT = 35963;

/** One-byte control messages from pcscd (vsmartcard `vpcd.h`: VPCD_CTRL_*). */
export const VPCD_CONTROL = { POWER_OFF: 0x00, POWER_ON: 0x01, RESET: 0x02, ATR: 0x04 } as const;

/** What the server needs of a card; the simulator's `Card` has exactly this. */
export interface VirtualCard {
  readonly atr: Uint8Array;
  /** Cold reset: transient state cleared, returns the ATR. */
  powerOn(): Uint8Array;
  /** Warm reset. */
  reset(): Uint8Array;
  /** Deactivation: transient state lost, non-volatile state kept. */
  powerOff(): void;
  /** One command APDU → response APDU; fewer than 2 bytes means the card is mute. */
  transmit(apdu: Uint8Array): Uint8Array;
}

/** Where pcscd's vpcd driver listens. */
export interface VpcdAddress {
  readonly host: string;
  readonly port: number;
}

/** A `[HOST:]PORT` value that is not one; the message names the value and the expected form. */
export class VpcdAddressError extends Error {
  override readonly name = 'VpcdAddressError';
}

/**
 * Parses `[HOST:]PORT` (`35963`, `localhost:35963`, `[::1]:35963`); the host defaults to
 * 127.0.0.1, where a local pcscd's vpcd listens.
 *
 * @example parseVpcdAddress('35964') // { host: '127.0.0.1', port: 35964 }
 */
export function parseVpcdAddress(text: string, option = '--vpcd'): VpcdAddress {
  const m = /^(?:\[([^\]]+)\]:|([^:[\]]+):)?(\d{1,5})$/.exec(text.trim());
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || port < 1 || port > 65535) {
    throw new VpcdAddressError(`${option}: expected [HOST:]PORT with PORT 1..65535 (vpcd's first slot is ${VPCD_DEFAULT_PORT}), got "${text}"`);
  }
  return { host: m[1] ?? m[2] ?? '127.0.0.1', port };
}

/** `127.0.0.1:35963`, `[::1]:35963`. */
export function formatVpcdAddress(a: VpcdAddress): string {
  return `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

/** What happens on the link, for logs (never APDU contents; see `onExchange` for those). */
export type VpcdEvent =
  /** Connected: the card is in the reader (pcscd powers it when an application connects). */
  | { readonly type: 'connected' }
  /** pcscd has not talked to us for a while after connecting: another card may hold this slot. */
  | { readonly type: 'no-poll'; readonly afterMs: number }
  /** The connection ended (pcscd stopped or dropped the card); reconnecting follows. */
  | { readonly type: 'disconnected'; readonly reason: string }
  /** pcscd is not there (yet); retries continue quietly until it is. */
  | { readonly type: 'unreachable'; readonly reason: string }
  | { readonly type: 'power'; readonly state: 'on' | 'off' | 'reset' }
  /** The card gave no answer (it lost power): the connection is dropped, as if pulled out. */
  | { readonly type: 'mute' }
  | { readonly type: 'unknown-control'; readonly value: number };

export interface VpcdServerOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default {@link VPCD_DEFAULT_PORT}. */
  readonly port?: number;
  /** Runs after each APDU, before the response is sent (save the image here). */
  readonly afterCommand?: () => void;
  /**
   * Each APDU and its response (for traces and recordings; redact before printing), with how long
   * the card and `afterCommand` took, in milliseconds.
   */
  readonly onExchange?: (command: Uint8Array, response: Uint8Array, ms: number) => void;
  readonly onEvent?: (event: VpcdEvent) => void;
  /** First and longest wait between connection attempts (default 100 ms growing to 1000 ms). */
  readonly retryMs?: { readonly min: number; readonly max: number };
  /** After this long connected without a message, report `no-poll` once (default 2000 ms). */
  readonly noPollMs?: number;
}

export type VpcdServerState = 'idle' | 'connecting' | 'connected' | 'closed';

const MAX_FRAME = 0xffff;

/** Frames a payload: 2-byte big-endian length, then the bytes (one buffer, so one TCP write). */
export function vpcdFrame(payload: Uint8Array): Buffer {
  if (payload.length > MAX_FRAME) throw new RangeError(`vpcd frame: at most ${MAX_FRAME} bytes, got ${payload.length}`);
  const out = Buffer.allocUnsafe(2 + payload.length);
  out.writeUInt16BE(payload.length, 0);
  out.set(payload, 2);
  return out;
}

/**
 * One virtual card on one vpcd port. Connects, answers pcscd, and — until {@link close} —
 * reconnects whenever the connection ends (pcscd restarted, the card went mute), so a card
 * server can be started before pcscd and outlive its restarts. Power-off and disconnection clear
 * the card's transient state (security status, selections); non-volatile state is untouched.
 */
export class VpcdCardServer {
  private socket: Socket | null = null;
  private pending: Buffer | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private delay: number;
  private wasUnreachable = false;
  private current: VpcdServerState = 'idle';
  private readonly waiters: (() => void)[] = [];
  private settle!: { resolve: () => void; reject: (e: unknown) => void };
  /**
   * Settles when the server stops: resolves after {@link close}, rejects when `afterCommand`
   * threw (e.g. the image could not be saved). The card is then removed and the command that
   * caused it never answered, since its state is not durable.
   */
  readonly finished: Promise<void>;
  readonly address: VpcdAddress;

  constructor(
    readonly card: VirtualCard,
    private readonly opts: VpcdServerOptions = {},
  ) {
    this.address = { host: opts.host ?? '127.0.0.1', port: opts.port ?? VPCD_DEFAULT_PORT };
    this.delay = opts.retryMs?.min ?? 100;
    this.finished = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // Observed by whoever awaits `finished`; never an unhandled rejection for those who do not.
    this.finished.catch(() => undefined);
  }

  get state(): VpcdServerState {
    return this.current;
  }

  /** Starts connecting (returns at once; see {@link connected} to wait). */
  start(): this {
    if (this.current !== 'idle') throw new Error(`VpcdCardServer.start: already ${this.current}`);
    this.dial();
    return this;
  }

  /** Resolves once connected to pcscd (at once if already); rejects after `timeoutMs`. */
  connected(timeoutMs = 5000): Promise<void> {
    if (this.current === 'connected') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(done);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`vpcd ${formatVpcdAddress(this.address)}: not connected after ${timeoutMs} ms; is pcscd with vsmartcard-vpcd running?`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push(done);
    });
  }

  /** Removes the card for good: stops reconnecting, closes the connection, powers the card off. */
  close(): Promise<void> {
    return this.stop(undefined);
  }

  private stop(error: unknown): Promise<void> {
    if (this.current === 'closed') return Promise.resolve();
    this.current = 'closed';
    if (error === undefined) this.settle.resolve();
    else this.settle.reject(error);
    this.clearTimers();
    const s = this.socket;
    this.socket = null;
    this.powerOff();
    if (s === null || s.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      s.once('close', () => resolve());
      s.destroy();
    });
  }

  private clearTimers(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    if (this.pollTimer !== null) clearTimeout(this.pollTimer);
    this.retryTimer = null;
    this.pollTimer = null;
  }

  private dial(): void {
    if (this.current === 'closed') return;
    this.current = 'connecting';
    this.pending = null;
    const s = connect({ host: this.address.host, port: this.address.port });
    this.socket = s;
    // One write per response; without this Node's socket would wait on Nagle like vpcd does.
    s.setNoDelay(true);
    s.setKeepAlive(true, 5000);
    let opened = false;
    s.on('connect', () => {
      opened = true;
      this.current = 'connected';
      this.delay = this.opts.retryMs?.min ?? 100;
      this.wasUnreachable = false;
      this.opts.onEvent?.({ type: 'connected' });
      this.armPollTimer();
      for (const w of this.waiters.splice(0)) w();
    });
    s.on('data', (chunk: Buffer) => this.onData(s, chunk));
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (!opened && !this.wasUnreachable) {
        this.wasUnreachable = true;
        this.opts.onEvent?.({ type: 'unreachable', reason: e.code ?? e.message });
      } else if (opened) {
        this.opts.onEvent?.({ type: 'disconnected', reason: e.code ?? e.message });
        opened = false;
      }
    });
    s.on('close', () => {
      if (opened && this.current !== 'closed') this.opts.onEvent?.({ type: 'disconnected', reason: 'connection closed by pcscd' });
      if (this.socket === s) this.socket = null;
      // A card pulled out of the reader loses power, and with it its transient state.
      this.powerOff();
      if (this.pollTimer !== null) clearTimeout(this.pollTimer);
      this.pollTimer = null;
      if (this.current === 'closed') return;
      this.current = 'connecting';
      this.retryTimer = setTimeout(() => this.dial(), this.delay);
      this.delay = Math.min(this.delay * 2, this.opts.retryMs?.max ?? 1000);
    });
  }

  private armPollTimer(): void {
    const ms = this.opts.noPollMs ?? 2000;
    this.pollTimer = setTimeout(() => {
      this.pollTimer = null;
      this.opts.onEvent?.({ type: 'no-poll', afterMs: ms });
    }, ms);
  }

  private powerOff(): void {
    try {
      this.card.powerOff();
    } catch {
      // A card that fails to power off has nothing left to lose; the connection matters more.
    }
  }

  /** Reassembles frames: vpcd may split one (length, then payload) or pcscd may send several. */
  private onData(s: Socket, chunk: Buffer): void {
    if (this.pollTimer !== null) {
      clearTimeout(this.pollTimer);
      this.pollTimer = null;
    }
    let buf = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = null;
    let off = 0;
    while (buf.length - off >= 2) {
      const n = buf.readUInt16BE(off);
      if (buf.length - off - 2 < n) break;
      const msg = buf.subarray(off + 2, off + 2 + n);
      off += 2 + n;
      const reply = this.handle(msg);
      if (reply === 'drop') {
        s.destroy();
        return;
      }
      if (reply !== null) s.write(reply);
    }
    if (off < buf.length) {
      // Keep a copy: the chunk's memory belongs to the socket.
      buf = Buffer.from(buf.subarray(off));
      this.pending = buf;
    }
  }

  /** One message from pcscd → the framed reply, none, or `drop` (the card went mute). */
  private handle(msg: Buffer): Buffer | null | 'drop' {
    if (msg.length === 0) return null;
    if (msg.length === 1) {
      switch (msg[0]) {
        case VPCD_CONTROL.ATR:
          return vpcdFrame(this.card.atr);
        case VPCD_CONTROL.POWER_ON:
          this.card.powerOn();
          this.opts.onEvent?.({ type: 'power', state: 'on' });
          return null;
        case VPCD_CONTROL.POWER_OFF:
          this.card.powerOff();
          this.opts.onEvent?.({ type: 'power', state: 'off' });
          return null;
        case VPCD_CONTROL.RESET:
          this.card.reset();
          this.opts.onEvent?.({ type: 'power', state: 'reset' });
          return null;
        default:
          this.opts.onEvent?.({ type: 'unknown-control', value: msg[0]! });
          return null;
      }
    }
    const command = new Uint8Array(msg.buffer, msg.byteOffset, msg.length);
    const t0 = performance.now();
    let response = this.card.transmit(command);
    try {
      this.opts.afterCommand?.();
    } catch (e) {
      void this.stop(e);
      return 'drop';
    }
    if (response.length < 2) {
      // vpcd has no "mute" message and takes an empty reply as a dead link: be honest and go.
      this.opts.onEvent?.({ type: 'mute' });
      return 'drop';
    }
    // Unreachable with chipwright's card (responses stay below 64 KiB), but the frame cannot say more.
    if (response.length > MAX_FRAME) response = swBytes(SW.UNKNOWN);
    this.opts.onExchange?.(command, response, performance.now() - t0);
    return vpcdFrame(response);
  }
}
