/**
 * Runs a parsed APDU script (`format.ts`) against any {@link Transport}: fills in secrets,
 * performs directives, compares each response with its expectation and reports every step with
 * the command *redacted* (secret placeholders and the data of PIN/key commands masked, as
 * `src/transport/trace.ts` does), so a report can be shown, logged or stored.
 *
 * Everything the runner needs that is not in the script — secrets, the transport key — is checked
 * before the first APDU is sent: a script never stops half-way for a missing value.
 */
import { bytesToHex, concatBytes, zeroize } from '../bytes/index.js';
import { parseResponseApdu } from '../apdu/response.js';
import { formatSw } from '../apdu/status.js';
import { redactCommandHex } from '../transport/trace.js';
import type { Transport } from '../transport/types.js';
import {
  formatExpectation,
  matchesExpectation,
  type ApduScript,
  type CommandStep,
  type ScriptStep,
} from './format.js';
import {
  externalAuthenticateApdu,
  getChallengeApdu,
  transportCryptogram,
  TRANSPORT_CHALLENGE_LENGTH,
  type TransportKey,
} from './transport-auth.js';

/** The runner was not given what the script needs (a secret, the transport key). */
export class ScriptSetupError extends Error {
  override readonly name = 'ScriptSetupError';
}

export interface RunOptions {
  /** Needed by `@auth-transport`. */
  readonly transportKey?: TransportKey;
  /** Values of the `{NAME}` placeholders. */
  readonly secrets?: Readonly<Record<string, Uint8Array>>;
  /** Stop at the first failed expectation (default true: later steps usually depend on it). */
  readonly stopOnFailure?: boolean;
  /** Called after each step (progress displays). */
  readonly onStep?: (result: StepResult, index: number, total: number) => void;
}

/**
 * `pass`: the expectation held; `fail`: it did not; `sent`: no expectation was written;
 * `error`: the transport failed (the card did not answer), which ends the run.
 */
export type Verdict = 'pass' | 'fail' | 'sent' | 'error';

/** One APDU exchanged, for reports (never holds secret bytes). */
export interface Exchange {
  /** The command as spaced hex, secrets masked with `**`. */
  readonly command: string;
  /** The response, upper-case hex with SW1-SW2 (empty when the card did not answer). */
  readonly response: string;
  readonly sw: number | undefined;
}

export interface StepResult {
  readonly line: number;
  readonly label: string | undefined;
  readonly note: string | undefined;
  readonly kind: ScriptStep['kind'];
  /** Redacted command (command steps) or the directive as written (`@auth-transport`). */
  readonly command: string;
  /** The last response of the step (hex with SW), the ATR for `@power-on` / `@reset`. */
  readonly response: string | undefined;
  readonly sw: number | undefined;
  /** `formatSw` of `sw`. */
  readonly meaning: string | undefined;
  /** The expectation as written, if any. */
  readonly expected: string | undefined;
  readonly verdict: Verdict;
  /** Why the step failed, for people. */
  readonly message: string | undefined;
  /** Every APDU the step exchanged (two for `@auth-transport`). */
  readonly exchanges: readonly Exchange[];
}

export interface ScriptRun {
  readonly source: string;
  readonly results: readonly StepResult[];
  readonly passed: number;
  readonly failed: number;
  /** Steps not run because the run stopped early. */
  readonly skipped: number;
  /** True when no step failed and none was skipped. */
  readonly ok: boolean;
  /** The transport error that ended the run, if any (the CLI maps it to its exit code). */
  readonly aborted: Error | undefined;
}

/**
 * Checks that every placeholder has a value (of the declared length) and that a transport key is
 * there if `@auth-transport` is used. Throws {@link ScriptSetupError} naming file and line.
 */
export function checkScriptInputs(script: ApduScript, opts: Pick<RunOptions, 'secrets' | 'transportKey'>): void {
  for (const s of script.steps) {
    const where = `${script.source}:${s.line}`;
    if (s.kind === 'directive') {
      if (s.directive === 'auth-transport' && opts.transportKey === undefined) {
        throw new ScriptSetupError(`${where}: @auth-transport needs the transport key, and none was given`);
      }
      continue;
    }
    for (const p of s.parts) {
      if (p.kind !== 'secret') continue;
      const v = opts.secrets?.[p.name];
      if (v === undefined) throw new ScriptSetupError(`${where}: placeholder {${p.name}} has no value; provide secret "${p.name}"`);
      if (p.length !== undefined && v.length !== p.length) {
        throw new ScriptSetupError(`${where}: secret "${p.name}" must be ${p.length} bytes for this script, got ${v.length}`);
      }
    }
  }
}

/** The APDU with secrets filled in, and which byte positions came from secrets. */
function assemble(step: CommandStep, secrets: Readonly<Record<string, Uint8Array>>): { apdu: Uint8Array; secret: boolean[] } {
  const chunks: Uint8Array[] = [];
  const secret: boolean[] = [];
  for (const p of step.parts) {
    const b = p.kind === 'bytes' ? p.bytes : secrets[p.name]!;
    chunks.push(b);
    for (let i = 0; i < b.length; i++) secret.push(p.kind === 'secret');
  }
  return { apdu: concatBytes(...chunks), secret };
}

/** `redactCommandHex`, also masking bytes that came from secrets whatever the command. */
function redact(apdu: Uint8Array, secret: readonly boolean[]): string {
  const shown = redactCommandHex(apdu);
  const tokens = shown.split(' ');
  if (tokens.length !== apdu.length) {
    // Unparsable APDU: trace.ts shows the header only; mask it too if a secret reached it.
    return secret.slice(0, 4).some((x) => x) ? '** ** ** **' + shown.slice(11) : shown;
  }
  return tokens.map((t, i) => (secret[i] === true ? '**' : t)).join(' ');
}

function exchangeOf(command: string, resp: Uint8Array): Exchange {
  return { command, response: bytesToHex(resp), sw: resp.length >= 2 ? parseResponseApdu(resp).sw : undefined };
}

/**
 * Runs `script` over `transport`, which must already be connected (powered). Failed expectations
 * are results, not exceptions; a transport failure ends the run with `aborted` set.
 * Throws {@link ScriptSetupError} before sending anything when a secret or the key is missing.
 *
 * @example
 * const run = await runApduScript(parseApduScript(text, 'demo.apdu'), transport, { secrets: { PIN: pin } });
 * if (!run.ok) console.log(run.results.filter((r) => r.verdict === 'fail'));
 */
export async function runApduScript(script: ApduScript, transport: Transport, opts: RunOptions = {}): Promise<ScriptRun> {
  checkScriptInputs(script, opts);
  const secrets = opts.secrets ?? {};
  const stopOnFailure = opts.stopOnFailure ?? true;
  const results: StepResult[] = [];
  let passed = 0;
  let failed = 0;
  let aborted: Error | undefined;
  const total = script.steps.length;

  for (const step of script.steps) {
    const base = { line: step.line, label: step.label, note: step.note, kind: step.kind };
    let result: StepResult;
    const exchanges: Exchange[] = [];
    try {
      result = step.kind === 'directive' ? await runDirective(step.directive, transport, opts.transportKey, exchanges, base) : await runCommand(step, transport, secrets, exchanges, base);
    } catch (e) {
      if (!(e instanceof Error)) throw e;
      aborted = e;
      result = {
        ...base,
        command: step.kind === 'directive' ? `@${step.directive}` : (exchanges[exchanges.length - 1]?.command ?? ''),
        response: undefined,
        sw: undefined,
        meaning: undefined,
        expected: step.kind === 'command' && step.expect !== undefined ? formatExpectation(step.expect) : undefined,
        verdict: 'error',
        message: e.message,
        exchanges,
      };
    }
    results.push(result);
    if (result.verdict === 'pass') passed++;
    else if (result.verdict === 'fail' || result.verdict === 'error') failed++;
    opts.onStep?.(result, results.length - 1, total);
    if (aborted !== undefined || (result.verdict === 'fail' && stopOnFailure)) break;
  }
  const skipped = total - results.length;
  return { source: script.source, results, passed, failed, skipped, ok: failed === 0 && skipped === 0, aborted };
}

type Base = Pick<StepResult, 'line' | 'label' | 'note' | 'kind'>;

async function runCommand(
  step: CommandStep,
  transport: Transport,
  secrets: Readonly<Record<string, Uint8Array>>,
  exchanges: Exchange[],
  base: Base,
): Promise<StepResult> {
  const { apdu, secret } = assemble(step, secrets);
  const command = redact(apdu, secret);
  // Recorded before sending so an aborted step still shows what was sent.
  exchanges.push({ command, response: '', sw: undefined });
  let resp: Uint8Array;
  try {
    resp = await transport.transmit(apdu);
  } finally {
    if (secret.some((x) => x)) zeroize(apdu);
  }
  exchanges[0] = exchangeOf(command, resp);
  const r = parseResponseApdu(resp);
  const dataHex = bytesToHex(r.data);
  const expected = step.expect !== undefined ? formatExpectation(step.expect) : undefined;
  let verdict: Verdict = 'sent';
  let message: string | undefined;
  if (step.expect !== undefined) {
    if (matchesExpectation(step.expect, dataHex, r.sw)) {
      verdict = 'pass';
    } else {
      verdict = 'fail';
      const got = `${dataHex.length > 0 ? `${dataHex} ` : ''}${formatSw(r.sw)}`;
      message = `expected ${expected}, got ${got}`;
    }
  }
  return { ...base, command, response: bytesToHex(resp), sw: r.sw, meaning: formatSw(r.sw), expected, verdict, message, exchanges };
}

async function runDirective(
  directive: string,
  transport: Transport,
  key: TransportKey | undefined,
  exchanges: Exchange[],
  base: Base,
): Promise<StepResult> {
  const command = `@${directive}`;
  const plain = (response: string | undefined): StepResult => ({
    ...base,
    command,
    response,
    sw: undefined,
    meaning: undefined,
    expected: undefined,
    verdict: 'pass',
    message: undefined,
    exchanges,
  });
  switch (directive) {
    case 'power-on':
      return plain(bytesToHex(await transport.connect()));
    case 'reset':
      return plain(bytesToHex(await transport.reset()));
    case 'power-off':
      await transport.disconnect();
      return plain(undefined);
    default:
      return authTransport(transport, key!, exchanges, base);
  }
}

async function authTransport(transport: Transport, key: TransportKey, exchanges: Exchange[], base: Base): Promise<StepResult> {
  const command = '@auth-transport';
  const done = (resp: Uint8Array, message: string | undefined): StepResult => {
    const sw = parseResponseApdu(resp).sw;
    return {
      ...base,
      command,
      response: bytesToHex(resp),
      sw,
      meaning: formatSw(sw),
      expected: '9000',
      verdict: message === undefined ? 'pass' : 'fail',
      message,
      exchanges,
    };
  };
  const gc = getChallengeApdu();
  const challengeResp = await transport.transmit(gc);
  exchanges.push(exchangeOf(redactCommandHex(gc), challengeResp));
  const c = parseResponseApdu(challengeResp);
  if (c.sw !== 0x9000 || c.data.length !== TRANSPORT_CHALLENGE_LENGTH) {
    return done(challengeResp, `GET CHALLENGE: expected ${TRANSPORT_CHALLENGE_LENGTH} bytes and 9000, got ${formatSw(c.sw)}`);
  }
  const cryptogram = transportCryptogram(key, c.data);
  const ea = externalAuthenticateApdu(cryptogram);
  zeroize(cryptogram);
  const shown = redactCommandHex(ea);
  let authResp: Uint8Array;
  try {
    authResp = await transport.transmit(ea);
  } finally {
    zeroize(ea);
  }
  exchanges.push(exchangeOf(shown, authResp));
  const a = parseResponseApdu(authResp);
  return done(authResp, a.sw === 0x9000 ? undefined : `EXTERNAL AUTHENTICATE with the transport key: ${formatSw(a.sw)}`);
}
