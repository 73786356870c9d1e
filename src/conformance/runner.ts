/**
 * Runs one parsed vector file over a connected {@link Transport} and gives every step a verdict:
 *
 * - `pass`: the expectation held; `fail`: it did not (or a session handshake went otherwise than
 *   written); `sent`: nothing was to be checked;
 * - `error`: the transport failed (the card went mute, the reader went away) — the file ends there;
 * - `skipped`: the step did not run (after an error, after a failure with `failFast`, inside a
 *   session that could not be established, or when a value it needs was never captured).
 *
 * Sessions push a {@link SecureMessagingTransport} (from `performBac` / `performPace`) over the
 * current transport, so steps inside are written, sent and checked in plain while the wire
 * carries protected APDUs; `end` pops it. Nothing here formats reports: results keep the raw
 * bytes, and `report.ts` renders them (redacted) only when asked, which keeps replay fast.
 */
import { performance } from 'node:perf_hooks';
import { ByteInputError, bytesToHex, zeroize } from '../bytes/index.js';
import { DEFAULT_TRANSPORT_KEY } from '../card/os.js';
import { BacError, performBac } from '../terminal/bac.js';
import { PaceError, performPace, type PaceOptions } from '../terminal/pace.js';
import { SecureMessagingError, SecureMessagingTransport } from '../transport/secure-messaging.js';
import { CardMuteError, type Transport } from '../transport/types.js';
import { externalAuthenticateApdu, getChallengeApdu, transportCryptogram, type TransportKey } from '../script/transport-auth.js';
import { bytesMatch, firstMismatch, resolveTemplate, swMatches, templateRefs, type Template } from './pattern.js';
import { formatExpectation, formatSession, formatStepLine } from './vector-format.js';
import { verifySod } from '../lds/passive-auth.js';
import { type CheckStep, type CommandStep, type SessionStep, type Step, type TextValue, type Vector } from './vector.js';

export type Verdict = 'pass' | 'fail' | 'sent' | 'error' | 'skipped';

/** One step's outcome. Holds no secret bytes: commands built from secrets keep only their display. */
export interface StepResult {
  readonly line: number;
  readonly label: string | undefined;
  readonly note: string | undefined;
  readonly kind: Step['kind'];
  /** Secure-messaging depth (0 = plain). */
  readonly depth: number;
  /** The command APDU as sent (plain), for command steps without secret bytes. */
  readonly apdu: Uint8Array | undefined;
  /** What the step was, when not `apdu`: a step line, or a command with secret bytes masked. */
  readonly shown: string | undefined;
  /** The expectation as written, when there is one. */
  readonly expected: string | undefined;
  /** The response APDU (data and SW), or the ATR of a reset. */
  readonly response: Uint8Array | undefined;
  readonly verdict: Verdict;
  readonly message: string | undefined;
  /** First data byte that differs from a pattern without `*`, for reports. */
  readonly mismatchAt: number | undefined;
  /** Time the step took, in milliseconds. */
  readonly ms: number;
}

export interface VectorRun {
  readonly results: readonly StepResult[];
  readonly passed: number;
  readonly failed: number;
  readonly errors: number;
  readonly skipped: number;
  readonly sent: number;
  /** The transport failure that ended the run, if one did. */
  readonly aborted: Error | undefined;
  readonly ms: number;
}

export interface RunOptions {
  /** Values of the `{NAME}` references no step defines (`Vector.secrets`). */
  readonly secrets?: Readonly<Record<string, Uint8Array>>;
  /** For `auth transport-key` without `key=` (default: the test key 40..4F, 3DES). */
  readonly transportKey?: TransportKey;
  /** Stop the file at the first failed step (the rest are skipped). */
  readonly failFast?: boolean;
  readonly onStep?: (r: StepResult) => void;
  readonly onEcho?: (text: string, line: number) => void;
  readonly sleep?: (ms: number) => Promise<void>;
  /** The time certificates are checked at by `check passive-authentication` (default: now). */
  readonly now?: () => Date;
}

/** The runner was not given a value the vectors need; found before anything is sent. */
export class VectorSetupError extends Error {
  override readonly name = 'VectorSetupError';
}

/**
 * Checks that every secret a vector needs was given (before anything is sent).
 *
 * @example checkVectorInputs(v, { secrets: { PIN: hexToBytes('31323334') } })
 */
export function checkVectorInputs(v: Vector, opts: Pick<RunOptions, 'secrets'>): void {
  const missing = v.secrets.filter((n) => opts.secrets?.[n] === undefined);
  if (missing.length > 0) {
    throw new VectorSetupError(
      `${v.source}: needs secret${missing.length > 1 ? 's' : ''} ${missing.map((n) => `{${n}}`).join(', ')}; give them with --secrets FILE ({"NAME": "hex"}) or CHIPWRIGHT_SECRET_<NAME>`,
    );
  }
}

/** A value a later step needs could not be produced (its capture failed). */
class MissingValue extends Error {}

const ANY_SW_TEXT = 'XXXX';

function swOf(resp: Uint8Array): number {
  return (resp[resp.length - 2]! << 8) | resp[resp.length - 1]!;
}

function hexSw(sw: number): string {
  return sw.toString(16).toUpperCase().padStart(4, '0');
}

/** `got …` for messages: data (shortened) and SW. */
function got(data: Uint8Array, sw: number): string {
  const d = data.length === 0 ? '' : data.length > 48 ? `${bytesToHex(data.subarray(0, 48))}… (${data.length} bytes) ` : `${bytesToHex(data)} `;
  return `${d}${hexSw(sw)}`;
}

/** One run of one vector file. */
class Run {
  readonly results: StepResult[] = [];
  private readonly vars = new Map<string, Uint8Array>();
  private readonly missing = new Map<string, string>();
  private readonly secrets: Readonly<Record<string, Uint8Array>>;
  /** The vector's secrets, and `let` names whose value was built from one (masked alike). */
  private readonly secretNames: Set<string>;
  private aborted: Error | undefined;
  private stop = false;
  private readonly lookup = (name: string): Uint8Array => {
    const v = this.vars.get(name) ?? this.secrets[name];
    if (v === undefined) throw new MissingValue(this.missing.get(name) ?? `{${name}} has no value`);
    return v;
  };
  private readonly vectorSecrets: ReadonlySet<string>;
  private readonly isSecret = (name: string): boolean => this.secretNames.has(name);

  constructor(
    vector: Vector,
    private readonly opts: RunOptions,
  ) {
    this.secrets = opts.secrets ?? {};
    this.secretNames = new Set(vector.secrets);
    this.vectorSecrets = new Set(vector.secrets);
  }

  private push(r: StepResult): void {
    this.results.push(r);
    this.opts.onStep?.(r);
    if (r.verdict === 'fail' && this.opts.failFast === true) this.stop = true;
  }

  private result(s: Step, depth: number, fields: Partial<StepResult> & Pick<StepResult, 'verdict'>): StepResult {
    return {
      line: s.line,
      label: s.label,
      note: s.note,
      kind: s.kind,
      depth,
      apdu: undefined,
      shown: undefined,
      expected: undefined,
      response: undefined,
      message: undefined,
      mismatchAt: undefined,
      ms: 0,
      ...fields,
    };
  }

  /** Marks `steps`, and the steps of sessions among them, as not run. */
  private skipAll(steps: readonly Step[], depth: number, why: string): void {
    for (const s of steps) {
      if (s.kind === 'let' || s.kind === 'echo' || s.kind === 'delay') continue;
      this.push(this.result(s, depth, { verdict: 'skipped', shown: shownOf(s), message: why }));
      if (s.kind === 'session') this.skipAll(s.steps, depth + 1, why);
    }
  }

  async steps(list: readonly Step[], t: Transport, depth: number): Promise<'ok' | 'session-lost'> {
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!;
      if (this.aborted !== undefined || this.stop) {
        this.skipAll(list.slice(i), depth, this.aborted !== undefined ? 'not run: the transport failed earlier' : 'not run: stopped at the first failure (--fail-fast)');
        return 'ok';
      }
      try {
        if (s.kind === 'command') {
          const lost = await this.command(s, t, depth);
          if (lost) {
            this.skipAll(list.slice(i + 1), depth, 'not run: the secure messaging session ended');
            return 'session-lost';
          }
        } else {
          await this.other(s, t, depth);
        }
      } catch (e) {
        if (e instanceof MissingValue) {
          this.push(this.result(s, depth, { verdict: 'skipped', shown: shownOf(s), message: `not run: ${e.message}` }));
          continue;
        }
        if (!(e instanceof Error)) throw e;
        this.aborted = e;
        this.push(this.result(s, depth, { verdict: 'error', shown: shownOf(s), message: transportMessage(e) }));
      }
    }
    return 'ok';
  }

  /** Returns true when the secure messaging session was lost (the rest of the block cannot run). */
  private async command(s: CommandStep, t: Transport, depth: number): Promise<boolean> {
    const { bytes, masked } = resolveTemplate(s.apdu, this.lookup, this.isSecret);
    const shown = masked === undefined ? undefined : maskedHex(bytes, masked);
    const apdu = masked === undefined ? bytes : undefined;
    const expected = s.expect === undefined ? undefined : formatExpectation(s.expect);
    const t0 = performance.now();
    let resp: Uint8Array;
    try {
      resp = await t.transmit(bytes);
    } catch (e) {
      if (e instanceof SecureMessagingError) {
        this.push(this.result(s, depth, { verdict: 'fail', apdu, shown, expected, message: `secure messaging: ${e.message}`, ms: performance.now() - t0 }));
        return true;
      }
      // A transport failure: the step records it and the run ends (see `steps`).
      this.aborted = e instanceof Error ? e : new Error(String(e));
      this.push(this.result(s, depth, { verdict: 'error', apdu, shown, expected, message: transportMessage(this.aborted), ms: performance.now() - t0 }));
      return false;
    } finally {
      if (masked !== undefined) zeroize(bytes);
    }
    const ms = performance.now() - t0;
    if (resp.length < 2) {
      this.push(this.result(s, depth, { verdict: 'fail', apdu, shown, expected, response: resp, message: `response of ${resp.length} bytes has no status word`, ms }));
      return false;
    }
    const sw = swOf(resp);
    const data = resp.subarray(0, resp.length - 2);
    let verdict: Verdict = 'sent';
    let message: string | undefined;
    let mismatchAt: number | undefined;
    const e = s.expect;
    if (e !== undefined) {
      const swOk = swMatches(e.sw, sw);
      let dataOk: boolean;
      try {
        dataOk = e.data === undefined ? data.length === 0 : bytesMatch(e.data, data, this.lookup);
      } catch (err) {
        if (!(err instanceof MissingValue)) throw err;
        this.push({ line: s.line, label: s.label, note: s.note, kind: 'command', depth, apdu, shown, expected, response: resp, verdict: 'skipped', message: `sent, not checked: ${err.message}`, mismatchAt: undefined, ms });
        return false;
      }
      if (swOk && dataOk) {
        verdict = 'pass';
      } else {
        verdict = 'fail';
        message = `expected ${expected ?? ANY_SW_TEXT}, got ${got(data, sw)}`;
        if (!dataOk) mismatchAt = e.data === undefined ? 0 : firstMismatch(e.data, data, this.lookup);
      }
    }
    for (const c of s.captures) {
      if (verdict === 'fail') {
        this.missing.set(c.name, `{${c.name}} was not captured: the step on line ${s.line} failed`);
        this.vars.delete(c.name);
        continue;
      }
      const end = c.end ?? data.length;
      if (c.start > data.length || end > data.length) {
        this.missing.set(c.name, `{${c.name}} was not captured: line ${s.line} answered ${data.length} bytes, the capture takes [${c.start}..${c.end ?? ''}]`);
        this.vars.delete(c.name);
        continue;
      }
      this.vars.set(c.name, data.slice(c.start, end));
    }
    this.push({ line: s.line, label: s.label, note: s.note, kind: 'command', depth, apdu, shown, expected, response: resp, verdict, message, mismatchAt, ms });
    return false;
  }

  private text(v: TextValue): string {
    return v.kind === 'text' ? v.text : Buffer.from(this.lookup(v.name)).toString('latin1');
  }

  private bytes(t: Template | undefined): Uint8Array | undefined {
    return t === undefined ? undefined : resolveTemplate(t, this.lookup, () => false).bytes.slice();
  }

  private async other(s: Exclude<Step, CommandStep>, t: Transport, depth: number): Promise<void> {
    const t0 = performance.now();
    switch (s.kind) {
      case 'power-on':
      case 'reset': {
        const atr = s.kind === 'power-on' ? await t.connect() : await t.reset();
        const ok = s.atr === undefined || bytesMatch(s.atr, atr, this.lookup);
        this.push(
          this.result(s, depth, {
            verdict: s.atr === undefined ? 'sent' : ok ? 'pass' : 'fail',
            shown: formatStepLine(s),
            expected: s.atr?.text,
            response: atr,
            message: ok ? undefined : `expected ATR ${s.atr!.text}, got ${bytesToHex(atr)}`,
            ms: performance.now() - t0,
          }),
        );
        return;
      }
      case 'power-off':
        await t.disconnect();
        this.push(this.result(s, depth, { verdict: 'sent', shown: 'power off', ms: performance.now() - t0 }));
        return;
      case 'let':
        this.vars.set(s.name, this.bytes(s.value)!);
        this.missing.delete(s.name);
        // `let X = {PIN}` makes X as secret as the PIN; a later plain `let X` clears that.
        if (templateRefs(s.value).some(this.isSecret)) this.secretNames.add(s.name);
        else if (!this.vectorSecrets.has(s.name)) this.secretNames.delete(s.name);
        return;
      case 'delay':
        await (this.opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))))(s.ms);
        return;
      case 'echo':
        this.opts.onEcho?.(s.text, s.line);
        return;
      case 'transport-auth':
        return this.transportAuth(s, t, depth, t0);
      case 'session':
        return this.session(s, t, depth, t0);
      case 'check':
        return this.checkPassiveAuth(s, depth, t0);
    }
  }

  /**
   * Passive authentication (ICAO 9303-11 §5.1) over captured values; the step fails naming every
   * check that did not hold (the data group and the value it came from, or the signature, chain
   * or validity), so a changed file is found without reading the report of `chipwright read`.
   */
  private checkPassiveAuth(s: CheckStep, depth: number, t0: number): void {
    const shown = formatStepLine(s);
    const sod = this.lookup(s.sod);
    const files = new Map<number, Uint8Array>();
    for (const d of s.dataGroups) files.set(d.dataGroup, this.lookup(d.name));
    const csca = this.lookup(s.csca);
    const report = verifySod(sod, files, [csca], this.opts.now?.() ?? new Date());
    const valueOf = new Map(s.dataGroups.map((d) => [d.dataGroup, d.name]));
    const problems = [
      ...(['structure', 'signature', 'chain', 'validity'] as const)
        .filter((k) => report[k].verdict !== 'valid')
        .map((k) => `${k === 'structure' ? `EF.SOD ({${s.sod}})` : k} ${report[k].verdict === 'invalid' ? 'INVALID' : 'not checked'}: ${report[k].detail}`),
      ...report.files
        .filter((f) => f.verdict !== 'valid' && files.has(f.dataGroup))
        .map((f) => {
          const hashes = f.expected !== undefined && f.actual !== undefined ? ` (EF.SOD ${f.expected.slice(0, 16)}…, read ${f.actual.slice(0, 16)}…)` : '';
          return `${f.name} ({${valueOf.get(f.dataGroup)!}}) ${f.verdict === 'invalid' ? 'INVALID' : 'not checked'}: ${f.detail}${hashes}`;
        }),
    ];
    const checked = report.files.filter((f) => files.has(f.dataGroup) && f.verdict === 'valid').map((f) => f.name);
    const ok = s.expect === 'valid' ? report.verdict === 'valid' : report.verdict === 'invalid';
    const message = ok
      ? s.expect === 'valid'
        ? `valid: ${report.signature.detail}; ${report.chain.detail}; ${checked.join(', ')} match EF.SOD (${report.hashAlgorithm ?? '?'})`
        : `invalid as expected: ${problems.join('; ')}`
      : s.expect === 'valid'
        ? `passive authentication ${report.verdict.toUpperCase()}: ${problems.join('; ')}`
        : `expected passive authentication to fail, but it is ${report.verdict}${problems.length > 0 ? `: ${problems.join('; ')}` : ''}`;
    this.push(this.result(s, depth, { verdict: ok ? 'pass' : 'fail', shown, expected: s.expect, message, ms: performance.now() - t0 }));
  }

  private async transportAuth(s: Extract<Step, { kind: 'transport-auth' }>, t: Transport, depth: number, t0: number): Promise<void> {
    const given = this.bytes(s.key);
    const key: TransportKey = given !== undefined
      ? { algorithm: s.algorithm ?? '3des', value: given }
      : s.algorithm !== undefined && this.opts.transportKey === undefined
        ? { algorithm: s.algorithm, value: DEFAULT_TRANSPORT_KEY }
        : (this.opts.transportKey ?? { algorithm: '3des', value: DEFAULT_TRANSPORT_KEY });
    const shown = s.key !== undefined ? `auth transport-key key=**${s.algorithm ? ` algorithm=${s.algorithm}` : ''}` : formatStepLine(s);
    const done = (resp: Uint8Array, message: string | undefined): void =>
      this.push(this.result(s, depth, { verdict: message === undefined ? 'pass' : 'fail', shown, expected: '9000', response: resp, message, ms: performance.now() - t0 }));
    try {
      const challenge = await t.transmit(getChallengeApdu());
      if (challenge.length !== 10 || swOf(challenge) !== 0x9000) {
        done(challenge, `GET CHALLENGE: expected 8 bytes and 9000, got ${challenge.length >= 2 ? got(challenge.subarray(0, challenge.length - 2), swOf(challenge)) : 'no status word'}`);
        return;
      }
      const cryptogram = transportCryptogram(key, challenge.subarray(0, 8));
      const ea = externalAuthenticateApdu(cryptogram);
      zeroize(cryptogram);
      let resp: Uint8Array;
      try {
        resp = await t.transmit(ea);
      } finally {
        zeroize(ea);
      }
      done(resp, resp.length === 2 && swOf(resp) === 0x9000 ? undefined : `EXTERNAL AUTHENTICATE with the transport key: got ${resp.length >= 2 ? hexSw(swOf(resp)) : 'no status word'}`);
    } finally {
      if (given !== undefined) zeroize(given);
    }
  }

  private async session(s: SessionStep, t: Transport, depth: number, t0: number): Promise<void> {
    const shown = formatSession(s.spec, true);
    const expected = s.fails === undefined ? 'established' : `refused with ${s.fails.map((f) => f.text).join(' | ')}`;
    const spec = s.spec;
    let sm: SecureMessagingTransport;
    try {
      if (spec.protocol === 'bac') {
        const random = this.bytes(spec.terminalRandom);
        sm = await performBac(t, this.text(spec.mrz), random === undefined ? {} : { random });
      } else {
        const random = this.bytes(spec.terminalRandom);
        const cardAccess = this.bytes(spec.cardAccess);
        const o: PaceOptions = {
          kind: spec.password.kind,
          password: this.text(spec.password.value),
          ...(cardAccess !== undefined ? { cardAccess } : {}),
          ...(spec.parameterId !== undefined ? { parameterId: spec.parameterId } : {}),
          ...(spec.oid !== undefined ? { protocol: spec.oid } : {}),
          ...(random !== undefined ? { random } : {}),
        };
        sm = await performPace(t, o);
      }
    } catch (e) {
      if (!(e instanceof BacError || e instanceof PaceError)) {
        // Bad input (an MRZ with wrong check digits): the vector is at fault; a session below
        // that broke: this one cannot start. Anything else is the transport's and ends the run.
        if (!(e instanceof ByteInputError || e instanceof SecureMessagingError)) throw e;
        this.push(this.result(s, depth, { verdict: 'fail', shown, expected, message: `${spec.protocol.toUpperCase()} could not start: ${e.message}`, ms: performance.now() - t0 }));
        this.skipAll(s.steps, depth + 1, 'not run: the session was not established');
        return;
      }
      const sw = e.sw;
      if (s.fails !== undefined) {
        const ok = sw !== undefined && swMatches(s.fails, sw);
        this.push(this.result(s, depth, { verdict: ok ? 'pass' : 'fail', shown, expected, message: ok ? undefined : `expected the card to refuse with ${s.fails.map((f) => f.text).join(' | ')}: ${e.message}`, ms: performance.now() - t0 }));
        return;
      }
      this.push(this.result(s, depth, { verdict: 'fail', shown, expected, message: `${spec.protocol.toUpperCase()} failed: ${e.message}`, ms: performance.now() - t0 }));
      this.skipAll(s.steps, depth + 1, 'not run: the session was not established');
      return;
    }
    if (s.fails !== undefined) {
      sm.close();
      this.push(this.result(s, depth, { verdict: 'fail', shown, expected, message: `expected the card to refuse ${spec.protocol.toUpperCase()} with ${s.fails.map((f) => f.text).join(' | ')}; it accepted`, ms: performance.now() - t0 }));
      return;
    }
    this.push(this.result(s, depth, { verdict: 'pass', shown, expected, ms: performance.now() - t0 }));
    try {
      await this.steps(s.steps, sm, depth + 1);
    } finally {
      sm.close();
    }
  }

  get abortedBy(): Error | undefined {
    return this.aborted;
  }
}

function transportMessage(e: Error): string {
  return e instanceof CardMuteError ? `the card did not answer: ${e.message}` : `${e.name}: ${e.message}`;
}

/** Hex with the bytes marked in `masked` shown as `**`. */
function maskedHex(bytes: Uint8Array, masked: readonly boolean[]): string {
  const out: string[] = [];
  for (let i = 0; i < bytes.length; i++) out.push(masked[i] === true ? '**' : bytes[i]!.toString(16).toUpperCase().padStart(2, '0'));
  return out.join(' ');
}

/** What a non-command step (or an unrun command) is shown as; sessions with passwords masked. */
function shownOf(s: Step): string {
  if (s.kind === 'session') return formatSession(s.spec, true);
  if (s.kind === 'transport-auth' && s.key !== undefined) return 'auth transport-key key=**';
  if (s.kind === 'command') {
    return s.apdu.parts.map((p) => (p.kind === 'bytes' ? bytesToHex(p.bytes, ' ') : `{${p.name}}`)).join(' ');
  }
  return formatStepLine(s);
}

/**
 * Runs the steps of `v` over `transport`, which must be connected (powered). Failed expectations
 * are results, not exceptions; a transport failure ends the run with `aborted` set and the
 * remaining steps skipped. Throws {@link VectorSetupError} before sending anything when a secret
 * is missing.
 *
 * @example
 * const v = readVectorFile('test-vectors/card-os/select.vec');
 * await transport.connect();
 * const run = await runVector(v, transport);
 * run.failed === 0;
 */
export async function runVector(v: Vector, transport: Transport, opts: RunOptions = {}): Promise<VectorRun> {
  checkVectorInputs(v, opts);
  const t0 = performance.now();
  const run = new Run(v, opts);
  await run.steps(v.steps, transport, 0);
  let passed = 0;
  let failed = 0;
  let errors = 0;
  let skipped = 0;
  let sent = 0;
  for (const r of run.results) {
    if (r.verdict === 'pass') passed++;
    else if (r.verdict === 'fail') failed++;
    else if (r.verdict === 'error') errors++;
    else if (r.verdict === 'skipped') skipped++;
    else sent++;
  }
  return { results: run.results, passed, failed, errors, skipped, sent, aborted: run.abortedBy, ms: performance.now() - t0 };
}
