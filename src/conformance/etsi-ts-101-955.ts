/**
 * Reader for test scripts in the format of ETSI TS 101 955 / 3GPP TS 11.13 Annex B ("Script file
 * syntax and format description"), the format SIM and UICC test suites are written in:
 *
 * ```text
 * REM Select the MF                    REM: a comment (labels the steps below it)
 * RST                                  RST: reset and power on the card
 * CMD A0 A4 00 00 02 3F 00 (9F XX)     CMD: command, then (status words) to check
 * CMD A0 C0 00 00 1A \                 \: continues on the next line
 *     [XX XX 3F 00 XX XX] (90 00)      [expected data]: XX bytes are not checked
 * CMD A0 B0 00 00 0A [] (90 00, 62 82) several status words, separated by commas
 * OFF                                  OFF: power off
 * ```
 *
 * The command is `CLA INS P1 P2 P3 [data]` as for T=0 (ISO/IEC 7816-3 §12.2), where P3 is Lc or
 * Le. Annex B says the `[…]` part "needs to be present for an outgoing command", which is what
 * tells the cases apart:
 * - `[…]` present, no data: case 2, Le = P3 (00 = 256).
 * - data present: case 3, P3 must equal its length; with `[…]` too it is sent as case 4 with Le 00.
 * - neither, P3 = 00: case 1 (the four header bytes are sent).
 * - neither, P3 ≠ 00: read as case 2 with Le = P3 and the data not checked (common in practice).
 * `[]` (empty) checks nothing; without `(…)` the status word is not checked. `XX` is any byte
 * (single `X` digits are accepted too); a status word is `90 00`, `9000` or `9X XX`.
 *
 * `INI` (TERMINAL PROFILE, then FETCH/TERMINAL RESPONSE until no proactive session is left) needs
 * a SIM Application Toolkit terminal and is refused with the line; any other three-letter tool
 * command is refused too. Leading `REM name: …` / `REM card: …` comments set header fields, so a
 * script can name its card while staying valid for other tools.
 */
import { basename } from 'node:path';
import { HeaderBuilder, checkReferences, headerLine } from './header.js';
import { PatternError, literalTemplate, parseBytePattern, parseSwPattern, type BytePattern, type SwPattern } from './pattern.js';
import { VectorError, type Expectation, type Step, type Vector } from './vector.js';

/** Joins `\` continuations; returns logical lines with their first line number. */
function joinContinued(text: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split(/\r?\n/).forEach((raw, i) => {
    const t = raw.trim();
    const continues = t.endsWith('\\');
    const body = continues ? t.slice(0, -1) : t;
    if (pending === undefined) pending = { text: body, line: i + 1 };
    else pending.text += ` ${body}`;
    if (!continues) {
      out.push(pending);
      pending = undefined;
    }
  });
  if (pending !== undefined) out.push(pending);
  return out;
}

function hexBytes(text: string, fail: (r: string) => never): Uint8Array {
  const s = text.replace(/\s+/g, '');
  if (!/^([0-9A-Fa-f]{2})*$/.test(s)) fail(`command "${text.trim()}": expected hex bytes (CLA INS P1 P2 P3 [data])`);
  const b = new Uint8Array(s.length / 2);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return b;
}

/**
 * Parses an ETSI TS 101 955 script.
 *
 * @example parseEtsiScript('RST\nCMD 00 A4 00 0C 02 3F 00 (90 00)\nOFF\n', 'x.etsi').steps.length // 3
 */
export function parseEtsiScript(text: string, source: string): Vector {
  const header = new HeaderBuilder(source);
  const steps: Step[] = [];
  let label: string | undefined;
  let beforeSteps = true;
  for (const { text: t, line } of joinContinued(text)) {
    const fail = (reason: string): never => {
      throw new VectorError(source, line, reason);
    };
    if (t.length === 0) continue;
    const tool = t.slice(0, 3).toUpperCase();
    if (t.length > 3 && !/\s/.test(t[3]!) && t[3] !== '[' && t[3] !== '(') fail(`expected a three-letter tool command (CMD, RST, OFF, REM, INI) followed by a space, got "${t.split(/\s/)[0]}"`);
    const rest = t.slice(3).trim();
    const base = { line, label, note: undefined };
    switch (tool) {
      case 'REM': {
        const h = beforeSteps ? headerLine(rest) : undefined;
        if (h !== undefined) header.field(h.key, h.value, line);
        else if (rest.length > 0) label = rest;
        break;
      }
      case 'RST':
        if (rest !== '') fail(`RST takes nothing after it, got "${rest}"`);
        steps.push({ kind: 'power-on', ...base, atr: undefined });
        beforeSteps = false;
        break;
      case 'OFF':
        if (rest !== '') fail(`OFF takes nothing after it, got "${rest}"`);
        steps.push({ kind: 'power-off', ...base });
        beforeSteps = false;
        break;
      case 'CMD':
        steps.push({ kind: 'command', ...base, ...command(rest, fail), captures: [] });
        beforeSteps = false;
        break;
      case 'INI':
        fail('INI (TERMINAL PROFILE, then the proactive session) needs a SIM Application Toolkit terminal, which chipwright does not emulate');
        break;
      default:
        fail(`unknown tool command "${t.slice(0, 3)}"; chipwright reads CMD, RST, OFF and REM (ETSI TS 101 955 Annex B)`);
    }
  }
  const v = {
    source,
    format: 'etsi' as const,
    header: header.build({ name: basename(source), source: 'ETSI TS 101 955 / 3GPP TS 11.13 script' }, false),
    steps,
  };
  return { ...v, secrets: checkReferences(steps, source) };
}

function command(body: string, fail: (reason: string) => never): { apdu: ReturnType<typeof literalTemplate>; expect: Expectation | undefined } {
  const open = body.indexOf('[');
  const paren = body.indexOf('(');
  const cmdEnd = Math.min(open < 0 ? body.length : open, paren < 0 ? body.length : paren);
  const bytes = hexBytes(body.slice(0, cmdEnd), fail);
  let data: BytePattern | undefined;
  let sawData = false;
  let rest = body.slice(cmdEnd).trim();
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) fail('"[" without "]"');
    const inner = rest.slice(1, close).trim();
    sawData = true;
    try {
      data = inner === '' ? { items: [{ kind: 'any' }], text: '*' } : parseBytePattern(inner);
    } catch (e) {
      if (e instanceof PatternError) fail(`expected data ${e.message}`);
      throw e;
    }
    rest = rest.slice(close + 1).trim();
  }
  let sw: SwPattern[] | undefined;
  if (rest.startsWith('(')) {
    const close = rest.indexOf(')');
    if (close < 0) fail('"(" without ")"');
    const inner = rest.slice(1, close).trim();
    if (inner === '') fail('"()" lists no status word; write (90 00) or leave the parentheses out');
    sw = inner.split(',').map((s) => {
      try {
        return parseSwPattern(s);
      } catch (e) {
        if (e instanceof PatternError) fail(e.message);
        throw e;
      }
    });
    rest = rest.slice(close + 1).trim();
  }
  if (rest !== '') fail(`unexpected "${rest}" after the command; the order is CMD COMMAND [EXPECTED DATA] (EXPECTED STATUS)`);
  if (bytes.length < 5) fail(`a command is CLA INS P1 P2 P3 (five bytes at least), got ${bytes.length}`);
  const p3 = bytes[4]!;
  const body5 = bytes.subarray(5);
  let apdu: Uint8Array;
  if (body5.length > 0) {
    if (body5.length !== p3) fail(`P3 = ${p3.toString(16).toUpperCase().padStart(2, '0')} announces ${p3} data bytes, the command has ${body5.length}`);
    apdu = sawData ? Uint8Array.from([...bytes, 0x00]) : bytes;
  } else if (!sawData && p3 === 0) {
    apdu = bytes.slice(0, 4);
  } else {
    apdu = bytes;
  }
  const expect: Expectation | undefined =
    !sawData && sw === undefined ? undefined : { data: data ?? { items: [{ kind: 'any' }], text: '*' }, sw: sw ?? [] };
  return { apdu: literalTemplate(apdu), expect };
}
