/**
 * The APDU script format (`*.apdu`, shipped under `apdu/`): a plain-text list of command APDUs
 * with expected responses, readable in a review and replayable against any {@link Transport}.
 *
 * ```text
 * # Select the master file            ← a comment line names the step(s) that follow it
 * 00 A4 00 0C 02 3F 00 => 9000         ← command, then `=>` and the expected response
 * 00 B0 00 00 04 => 01020304 9000      ← expected data, then the status word
 * 00 B2 01 04 00 => * 9000             ← `*` accepts any data (any number of bytes)
 * 00 20 00 81 04 {PIN:4} => 9000       ← {NAME} / {NAME:N}: a secret (N bytes) handed to the runner
 * 00 20 00 81 00 => 63CX               ← X is a wildcard hex digit (in data and in the SW)
 * 00 A4 04 00 05 A000000001 => 9000 | 6283    ← several acceptable status words
 * 00 84 00 00 08                       ← no `=>`: sent, the response is shown but not checked
 * @auth-transport                      ← a directive (see below)
 * 00 CA 01 01 00 => * 9000  # trailing comments are allowed too
 * ```
 *
 * Grammar, line by line (leading and trailing white space ignored):
 * - blank line: ignored.
 * - `# text`: a comment. The text of the most recent comment line is the *label* of every step
 *   after it (until the next comment line); reports group and name steps by it.
 * - command: hex digits (white space, `:` and `-` between bytes allowed, as `hexToBytes` reads
 *   them) and `{NAME}` placeholders (`NAME` = letter or `_`, then letters, digits, `_`, `-`).
 *   At least four bytes (CLA INS P1 P2) must be literal hex. Lc and TLV lengths are written by
 *   the author, so a placeholder expands to exactly the bytes the runner holds for it; write
 *   `{NAME:N}` to have the runner refuse, before sending anything, a secret that is not N bytes.
 * - optional expectation after `=>`: `[data] sw ('|' sw)*`. `data` is hex with `X` for any hex
 *   digit and `*` for any run of whole bytes; `sw` is four hex digits or `X`. Without a data
 *   part the response must carry no data (write `* 9000` to accept any data). Expectations never
 *   contain placeholders, so expected values are public.
 * - directives:
 *   - `@power-on`, `@power-off`, `@reset` (warm reset; clears the security status);
 *   - `@auth-transport`: GET CHALLENGE (`00 84 00 00 08`) and EXTERNAL AUTHENTICATE
 *     (`00 82 00 00 Lc cryptogram`) with the transport key the runner was given, so the key never
 *     appears in a script. The cryptogram is the CBC encryption with a zero IV of the 8-byte
 *     challenge under the key; it is padded (ISO/IEC 9797-1 method 2) only when the challenge is
 *     not a multiple of the block size (AES). Both commands must answer 9000.
 * - anything after an unquoted `#` on a command or directive line is a comment.
 *
 * Parse errors name the file and line: `demo.apdu:12: expected SW "90000": four hex digits or X`.
 *
 * Parsing (text → {@link ApduScript}) is pure and separate from running (`runner.ts`: steps +
 * transport → results), so a script is checked completely before anything reaches a card.
 */
import { bytesToHex, concatBytes, hexToBytes, ByteInputError } from '../bytes/index.js';

/** A script that cannot be parsed; `line` is 1-based, `source` the file name shown to people. */
export class ScriptParseError extends Error {
  override readonly name = 'ScriptParseError';
  constructor(
    readonly source: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${source}:${line}: ${reason}`);
  }
}

export const DIRECTIVES = ['power-on', 'power-off', 'reset', 'auth-transport'] as const;
export type Directive = (typeof DIRECTIVES)[number];

/** A literal run of bytes or a named secret filled in by the runner. */
export type CommandPart =
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array }
  /** `{NAME}` or `{NAME:N}`; `length` (N bytes) is checked by the runner before anything is sent. */
  | { readonly kind: 'secret'; readonly name: string; readonly length: number | undefined };

/**
 * An expected response. `data` is a pattern over upper-case hex (`X` any digit, `*` any whole
 * bytes) or `undefined` for "no data"; `sw` lists acceptable status-word patterns (4 chars).
 */
export interface Expectation {
  readonly data: string | undefined;
  readonly sw: readonly string[];
}

interface StepBase {
  /** 1-based line in the source. */
  readonly line: number;
  /** Text of the nearest comment line above (the step's name in reports), if any. */
  readonly label: string | undefined;
  /** Trailing comment on the same line, if any. */
  readonly note: string | undefined;
}

export interface CommandStep extends StepBase {
  readonly kind: 'command';
  readonly parts: readonly CommandPart[];
  readonly expect: Expectation | undefined;
}

export interface DirectiveStep extends StepBase {
  readonly kind: 'directive';
  readonly directive: Directive;
}

export type ScriptStep = CommandStep | DirectiveStep;

export interface ApduScript {
  /** File name used in messages (`filesystem-demo.apdu`). */
  readonly source: string;
  readonly steps: readonly ScriptStep[];
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_-]*)(?::([0-9]{1,3}))?\}/g;
const SW_PATTERN = /^[0-9A-FX]{4}$/;
const DATA_PATTERN = /^(?:[0-9A-FX]{2}|\*)*$/;

/** Splits off a trailing `# comment`. */
function splitComment(text: string): { body: string; note: string | undefined } {
  const i = text.indexOf('#');
  if (i < 0) return { body: text.trim(), note: undefined };
  const note = text.slice(i + 1).trim();
  return { body: text.slice(0, i).trim(), note: note.length > 0 ? note : undefined };
}

function parseCommand(text: string, fail: (reason: string) => never): CommandPart[] {
  if (/[{}]/.test(text.replace(PLACEHOLDER, ''))) {
    fail(`malformed placeholder in "${text.trim()}": write {NAME}, a letter or _ first, then letters, digits, _ or -`);
  }
  const parts: CommandPart[] = [];
  let last = 0;
  const literal = (s: string): void => {
    if (s.trim().length === 0) return;
    let bytes: Uint8Array;
    try {
      bytes = hexToBytes(s, 'command');
    } catch (e) {
      if (e instanceof ByteInputError) fail(`${e.message} (in "${s.trim()}")`);
      throw e;
    }
    const prev = parts[parts.length - 1];
    if (prev?.kind === 'bytes') parts[parts.length - 1] = { kind: 'bytes', bytes: concatBytes(prev.bytes, bytes) };
    else parts.push({ kind: 'bytes', bytes });
  };
  for (const m of text.matchAll(PLACEHOLDER)) {
    literal(text.slice(last, m.index));
    const length = m[2] === undefined ? undefined : Number(m[2]);
    if (length !== undefined && (length < 1 || length > 255)) fail(`placeholder {${m[1]}:${m[2]}}: length must be 1..255 bytes`);
    parts.push({ kind: 'secret', name: m[1]!, length });
    last = m.index + m[0].length;
  }
  literal(text.slice(last));
  const first = parts[0];
  if (first === undefined || first.kind !== 'bytes' || first.bytes.length < 4) {
    fail('a command starts with at least four literal bytes (CLA INS P1 P2)');
  }
  return parts;
}

function parseExpectation(text: string, fail: (reason: string) => never): Expectation {
  if (text.length === 0) fail('nothing after "=>": write the expected status word, e.g. "=> 9000"');
  if (text.includes('{')) fail('placeholders are not allowed in expectations (expected values are public)');
  const normal = text.toUpperCase().replace(/\s*\|\s*/g, '|');
  const tokens = normal.split(/\s+/);
  const swToken = tokens.pop()!;
  const sw = swToken.split('|');
  for (const s of sw) {
    if (!SW_PATTERN.test(s)) fail(`expected SW "${s}": four hex digits or X, e.g. 9000 or 63CX`);
  }
  let data: string | undefined;
  if (tokens.length > 0) {
    data = tokens.join('').replace(/[:-]/g, '');
    if (data.includes('|')) fail('"|" separates status words only; write the data once, before them');
    if (!DATA_PATTERN.test(data)) {
      fail(`expected data "${tokens.join(' ')}": whole bytes of hex digits, X (any digit) or * (any bytes)`);
    }
  }
  return { data, sw };
}

/**
 * Parses script text into steps (pure; no card, no secrets needed).
 *
 * @example
 * parseApduScript('# Select MF\n00A4000C023F00 => 9000\n', 'x.apdu').steps[0]
 * // { kind: 'command', line: 2, label: 'Select MF', parts: [...], expect: { data: undefined, sw: ['9000'] } }
 */
export function parseApduScript(text: string, source = '(script)'): ApduScript {
  const steps: ScriptStep[] = [];
  let label: string | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const fail = (reason: string): never => {
      throw new ScriptParseError(source, line, reason);
    };
    const raw = lines[i]!.trim();
    if (raw.length === 0) continue;
    if (raw.startsWith('#')) {
      const t = raw.replace(/^#+/, '').trim();
      label = t.length > 0 ? t : label;
      continue;
    }
    const { body, note } = splitComment(raw);
    if (body.startsWith('@')) {
      const m = /^@([a-z-]+)$/.exec(body);
      const name = m?.[1];
      if (name === undefined || !(DIRECTIVES as readonly string[]).includes(name)) {
        if (body.includes('=>')) fail(`directive "${body.split(/\s/)[0]}" takes no expectation`);
        fail(`unknown directive "${body}"; known: ${DIRECTIVES.map((d) => `@${d}`).join(', ')}`);
      }
      steps.push({ kind: 'directive', line, label, note, directive: name as Directive });
      continue;
    }
    const arrow = body.indexOf('=>');
    const cmdText = arrow < 0 ? body : body.slice(0, arrow);
    const parts = parseCommand(cmdText, fail);
    const expect = arrow < 0 ? undefined : parseExpectation(body.slice(arrow + 2).trim(), fail);
    steps.push({ kind: 'command', line, label, note, parts, expect });
  }
  return { source, steps };
}

/** The expectation as written in a script (`01020304 9000|6282`). */
export function formatExpectation(e: Expectation): string {
  return `${e.data !== undefined ? `${e.data} ` : ''}${e.sw.join(' | ')}`;
}

/** The command as written in a script, placeholders included (`0020008106 {PIN}`). */
export function formatCommandParts(parts: readonly CommandPart[]): string {
  return parts.map((p) => (p.kind === 'bytes' ? bytesToHex(p.bytes) : `{${p.name}${p.length !== undefined ? `:${p.length}` : ''}}`)).join(' ');
}

/**
 * Writes steps back as script text; `parseApduScript(formatApduScript(s))` gives the same steps
 * (line numbers aside), which the tests check.
 */
export function formatApduScript(script: Pick<ApduScript, 'steps'>): string {
  const out: string[] = [];
  let label: string | undefined;
  for (const s of script.steps) {
    if (s.label !== label && s.label !== undefined) out.push(`# ${s.label}`);
    label = s.label;
    const body =
      s.kind === 'directive'
        ? `@${s.directive}`
        : formatCommandParts(s.parts) + (s.expect !== undefined ? ` => ${formatExpectation(s.expect)}` : '');
    out.push(s.note !== undefined ? `${body}  # ${s.note}` : body);
  }
  return out.join('\n') + '\n';
}

/** The names of all placeholders a script uses, in order of first use. */
export function scriptSecrets(script: ApduScript): string[] {
  const names: string[] = [];
  for (const s of script.steps) {
    if (s.kind !== 'command') continue;
    for (const p of s.parts) if (p.kind === 'secret' && !names.includes(p.name)) names.push(p.name);
  }
  return names;
}

/**
 * True when a response (upper-case hex data, status word) meets the expectation.
 *
 * @example matchesExpectation({ data: '01XX', sw: ['9000'] }, '0105', 0x9000) // true
 */
export function matchesExpectation(e: Expectation, dataHex: string, sw: number): boolean {
  const swHex = sw.toString(16).toUpperCase().padStart(4, '0');
  if (!e.sw.some((p) => patternRegex(p).test(swHex))) return false;
  if (e.data === undefined) return dataHex.length === 0;
  return patternRegex(e.data).test(dataHex);
}

const REGEX_CACHE = new Map<string, RegExp>();

function patternRegex(pattern: string): RegExp {
  let re = REGEX_CACHE.get(pattern);
  if (re === undefined) {
    let src = '';
    for (const c of pattern) src += c === 'X' ? '[0-9A-F]' : c === '*' ? '(?:[0-9A-F]{2})*' : c;
    re = new RegExp(`^${src}$`);
    REGEX_CACHE.set(pattern, re);
  }
  return re;
}
