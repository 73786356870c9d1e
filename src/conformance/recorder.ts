/**
 * Recording what passes between a terminal and a card as a chipwright vector file
 * (`vector-format.ts`) that replays: every exchange becomes a command with its exact response as
 * the expectation, resets become `power on` / `reset` with the ATR, and each step carries its
 * timing as a comment (`# +0.153 s, 0.021 ms`: since the recording started, and the exchange).
 *
 * Secrets never reach the file (STYLE principle 7):
 * - the data of VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER, EXTERNAL/GENERAL
 *   AUTHENTICATE and key/PIN loading (PUT DATA 01xx) — as `transport/trace.ts` decides — becomes
 *   a `{VERIFY_1}`-style reference, its value kept apart in {@link Recording.secrets} (write it to
 *   a separate file, or drop it: a replay then asks for it);
 * - the response data of EXTERNAL and GENERAL AUTHENTICATE (BAC and PACE cryptograms and nonces
 *   derive from the MRZ or the CAN; a recorded transcript would allow guessing them offline) is
 *   written as `XX{n}`: its length is checked, its value is not kept.
 *
 * Two ways in: {@link RecordingTransport} wraps any {@link Transport}; a server that sees raw
 * exchanges (the vpcd card server of `sim --vpcd`) calls the {@link VectorRecorder} methods
 * directly — `exchange(command, response)` per APDU, `powerOn(atr)` / `reset(atr)` /
 * `powerOff()` on its power events — and writes `recording().text` when the session ends.
 *
 * @example
 * const rec = new VectorRecorder({ name: 'my session', card: { kind: 'external' } });
 * const t = new RecordingTransport(new InProcessTransport(card), rec);
 * await t.connect(); await t.transmit(hexToBytes('00A4000C023F00'));
 * const { text, secrets } = rec.recording();
 */
import { performance } from 'node:perf_hooks';
import { bytesToHex } from '../bytes/index.js';
import { parseCommandApdu } from '../apdu/command.js';
import { INS, insName } from '../apdu/ins.js';
import { commandHasSecretData } from '../transport/trace.js';
import type { Transport } from '../transport/types.js';
import { exactPattern, literalTemplate, parseSwPattern, type BytePattern, type Template } from './pattern.js';
import { formatVector } from './vector-format.js';
import type { CardSpec, Step, VectorHeader } from './vector.js';

/** One thing that happened, with its start (ms since the recording began) and duration. */
export type RecordedEvent =
  | { readonly kind: 'power-on' | 'reset'; readonly atr: Uint8Array; readonly at: number; readonly ms: number }
  | { readonly kind: 'power-off'; readonly at: number }
  | { readonly kind: 'exchange'; readonly command: Uint8Array; readonly response: Uint8Array; readonly at: number; readonly ms: number }
  /** The card did not answer (the transport failed). */
  | { readonly kind: 'no-answer'; readonly command: Uint8Array; readonly message: string; readonly at: number; readonly ms: number };

export interface RecorderOptions {
  /** The file's `name:` (default "recorded session"). */
  readonly name?: string;
  /** The file's `source:` (default: when and how it was recorded). */
  readonly source?: string;
  /** The file's `card:` (default `external`: the replay is told the card). */
  readonly card?: CardSpec;
  /** The simulated card's `--rng`, written as `rng:` so the replay draws the same randomness. */
  readonly rng?: Uint8Array;
  /** Comment lines at the top (what was recorded, how to replay). */
  readonly preamble?: readonly string[];
  /** Milliseconds clock (tests). */
  readonly clock?: () => number;
}

/** A finished recording: the vector text and the redacted values by name (hex). */
export interface Recording {
  readonly text: string;
  readonly secrets: Readonly<Record<string, string>>;
  readonly steps: number;
}

/** INS whose response data is derived from a password (BAC: the MRZ; PACE: MRZ, CAN, PIN, PUK). */
const SECRET_RESPONSE_INS: ReadonlySet<number> = new Set<number>([INS.EXTERNAL_AUTHENTICATE, INS.GENERAL_AUTHENTICATE, INS.GENERAL_AUTHENTICATE_ODD]);

/** `VERIFY` → `VERIFY`, `PUT DATA` → `PUT_DATA`: the stem of a redacted value's name. */
function secretStem(ins: number): string {
  const n = insName(ins).toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  return /^[A-Z_]/.test(n) ? n : `INS_${n}`;
}

/**
 * The command as a template with its secret data (if any) replaced by a named reference.
 * Exported for the tests; `counter` numbers the names.
 */
export function redactCommand(apdu: Uint8Array, counter: () => number): { template: Template; secret: { name: string; value: Uint8Array } | undefined } {
  let start: number;
  let length: number;
  try {
    const cmd = parseCommandApdu(apdu);
    if (!commandHasSecretData(cmd) || cmd.data.length === 0) return { template: literalTemplate(apdu.slice()), secret: undefined };
    length = cmd.data.length;
    start = apdu.length - length - (cmd.ne > 0 ? (cmd.extended ? 2 : 1) : 0);
  } catch {
    // Not a parsable APDU: if its INS would carry secret data, everything after the header is.
    const ins = apdu[1];
    if (apdu.length <= 4 || ins === undefined || !commandHasSecretData({ ins, p1: apdu[2] ?? 0 })) {
      return { template: literalTemplate(apdu.slice()), secret: undefined };
    }
    start = 4;
    length = apdu.length - 4;
  }
  const name = `${secretStem(apdu[1]!)}_${counter()}`;
  const parts: Template['parts'][number][] = [{ kind: 'bytes', bytes: apdu.slice(0, start) }, { kind: 'ref', name }];
  if (start + length < apdu.length) parts.push({ kind: 'bytes', bytes: apdu.slice(start + length) });
  return { template: { parts, literal: undefined }, secret: { name, value: apdu.slice(start, start + length) } };
}

/** The expected response: exact, or `XX{n}` for authentication cryptograms and deciphered secrets. */
function responsePattern(command: Uint8Array, response: Uint8Array): { data: BytePattern | undefined; sw: number } {
  const sw = (response[response.length - 2]! << 8) | response[response.length - 1]!;
  const data = response.subarray(0, response.length - 2);
  if (data.length === 0) return { data: undefined, sw };
  const psoDecipher = command.length > 3 && command[1] === INS.PERFORM_SECURITY_OPERATION && command[2] === 0x80 && command[3] === 0x86;
  if ((command.length > 1 && SECRET_RESPONSE_INS.has(command[1]!)) || psoDecipher) {
    return { data: { items: [{ kind: 'bytes', value: new Uint8Array(data.length), mask: new Uint8Array(data.length) }], text: `XX{${data.length}}` }, sw };
  }
  return { data: exactPattern(data.slice()), sw };
}

function swText(sw: number): string {
  return sw.toString(16).toUpperCase().padStart(4, '0');
}

/** Collects events and writes them as a vector file. */
export class VectorRecorder {
  readonly events: RecordedEvent[] = [];
  private readonly clock: () => number;
  private readonly t0: number;
  private readonly started = new Date();

  constructor(private readonly opts: RecorderOptions = {}) {
    this.clock = opts.clock ?? ((): number => performance.now());
    this.t0 = this.clock();
  }

  /** Milliseconds since the recording started (for `at`). */
  now(): number {
    return this.clock() - this.t0;
  }

  /**
   * A cold reset and its ATR. `at` is when it started (default: now), `ms` how long it took.
   * The other event methods take the same two.
   */
  powerOn(atr: Uint8Array, at: number = this.now(), ms = 0): void {
    this.events.push({ kind: 'power-on', atr: atr.slice(), at, ms });
  }

  reset(atr: Uint8Array, at: number = this.now(), ms = 0): void {
    this.events.push({ kind: 'reset', atr: atr.slice(), at, ms });
  }

  powerOff(at: number = this.now()): void {
    this.events.push({ kind: 'power-off', at });
  }

  /**
   * One command and its response, as a server sees them (the vpcd card server's `onExchange`
   * calls this: `recorder.exchange(command, response)`).
   */
  exchange(command: Uint8Array, response: Uint8Array, at: number = this.now(), ms = 0): void {
    this.events.push({ kind: 'exchange', command: command.slice(), response: response.slice(), at, ms });
  }

  noAnswer(command: Uint8Array, message: string, at: number = this.now(), ms = 0): void {
    this.events.push({ kind: 'no-answer', command: command.slice(), message, at, ms });
  }

  /** The recording so far, as vector text and redacted values; `overrides` replace options known only now. */
  recording(overrides: Pick<RecorderOptions, 'card'> = {}): Recording {
    let n = 0;
    const counter = (): number => ++n;
    const secrets: Record<string, string> = {};
    const steps: Step[] = [];
    const timing = (at: number, ms?: number): string => `+${(at / 1000).toFixed(3)} s${ms !== undefined ? `, ${ms.toFixed(3)} ms` : ''}`;
    for (const e of this.events) {
      const base = { line: 0, label: undefined };
      switch (e.kind) {
        case 'power-on':
        case 'reset':
          steps.push({ kind: e.kind, ...base, note: timing(e.at, e.ms), atr: exactPattern(e.atr) });
          break;
        case 'power-off':
          steps.push({ kind: 'power-off', ...base, note: timing(e.at) });
          break;
        case 'exchange': {
          const { template, secret } = redactCommand(e.command, counter);
          if (secret !== undefined) secrets[secret.name] = bytesToHex(secret.value);
          if (e.response.length < 2) {
            steps.push({ kind: 'command', ...base, note: `${timing(e.at, e.ms)}; answered ${e.response.length} bytes`, apdu: template, expect: undefined, captures: [] });
            break;
          }
          const r = responsePattern(e.command, e.response);
          steps.push({ kind: 'command', ...base, note: timing(e.at, e.ms), apdu: template, expect: { data: r.data, sw: [parseSwPattern(swText(r.sw))] }, captures: [] });
          break;
        }
        case 'no-answer': {
          const { template, secret } = redactCommand(e.command, counter);
          if (secret !== undefined) secrets[secret.name] = bytesToHex(secret.value);
          steps.push({ kind: 'command', ...base, note: `${timing(e.at, e.ms)}; no answer: ${e.message.replace(/#/g, '')}`, apdu: template, expect: undefined, captures: [] });
          break;
        }
      }
    }
    const redacted = Object.keys(secrets);
    const header: VectorHeader = {
      name: this.opts.name ?? 'recorded session',
      source: this.opts.source ?? `recorded ${this.started.toISOString()} with chipwright record`,
      clause: undefined,
      card: overrides.card ?? this.opts.card ?? { kind: 'external' },
      cardLine: 0,
      requires: [],
      rng: this.opts.rng,
      applets: [],
    };
    const preamble = [
      ...(this.opts.preamble ?? []),
      ...(redacted.length > 0
        ? [`Redacted: ${redacted.join(', ')} (PIN, key and cryptogram data); a replay needs ${redacted.length === 1 ? 'its value' : 'their values'}: --secrets FILE`]
        : []),
    ];
    const text = formatVector({ header, steps }, { preamble });
    return { text, secrets, steps: steps.length };
  }
}

/**
 * Records everything that passes through it into a {@link VectorRecorder}. Put it below a secure
 * messaging wrapper to record the protected APDUs (what a replay on an identical card needs),
 * above it to record plain ones.
 */
export class RecordingTransport implements Transport {
  constructor(
    private readonly inner: Transport,
    readonly recorder: VectorRecorder,
  ) {}

  async connect(): Promise<Uint8Array> {
    const at = this.recorder.now();
    const atr = await this.inner.connect();
    this.recorder.powerOn(atr, at, this.recorder.now() - at);
    return atr;
  }

  async reset(): Promise<Uint8Array> {
    const at = this.recorder.now();
    const atr = await this.inner.reset();
    this.recorder.reset(atr, at, this.recorder.now() - at);
    return atr;
  }

  async disconnect(): Promise<void> {
    this.recorder.powerOff();
    await this.inner.disconnect();
  }

  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    const at = this.recorder.now();
    let resp: Uint8Array;
    try {
      resp = await this.inner.transmit(apdu);
    } catch (e) {
      this.recorder.noAnswer(apdu, e instanceof Error ? e.message : String(e), at, this.recorder.now() - at);
      throw e;
    }
    this.recorder.exchange(apdu, resp, at, this.recorder.now() - at);
    return resp;
  }
}
