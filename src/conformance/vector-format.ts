/**
 * chipwright's conformance vector format (`*.vec`, shipped under `test-vectors/`): the normative
 * description. The README's "Conformance vectors" section summarizes it.
 *
 * ```text
 * # SELECT: positive cases and error paths           ← comments before the first step describe the file
 * name: SELECT (ISO/IEC 7816-4 §11.2.2)               ← header: `key: value`, before the first step
 * source: ISO/IEC 7816-4:2013 §11.2.2
 * card: image ../cards/card-os.json
 * requires: logical-channels 4, extended-length
 * rng: 0102030405060708
 *
 * # Select the MF by FID                              ← a comment line labels the steps below it
 * power on => 3B XX*                                  ← cold reset; the ATR may be checked
 * 00 A4 00 0C 02 3F 00 => 9000                         ← command => expected status word
 * 00 B0 00 00 04 => 01 02 XX 04 9000                   ← expected data (X: any hex digit), then the SW
 * 00 B0 00 00 00 => * 9000 | 6282                      ← * any data; several acceptable SWs
 * 00 20 00 81 => 63CX                                  ← wildcard digits in the SW
 * 00 84 00 00 08 => XX{8} 9000 capture CH              ← HH{N}: N bytes; capture the data as CH
 * 00 88 00 00 08 {CH} 00 => * 9000                     ← {CH} inserts a captured value
 * session bac mrz=L898902C<369080619406236             ← BAC, then the block runs under SM
 *   00 B0 00 00 04 => 60145F01 9000                    ← written and checked in plain
 * end
 * ```
 *
 * **Lines.** Blank lines are ignored; indentation is ignored; a line ending in `\` continues on
 * the next. `#` starts a comment: a comment *line* labels the steps after it (reports group by
 * it), a trailing comment annotates its own step. Comment lines before the first step that follows
 * the header describe the file.
 *
 * **Header** (`key: value` lines before the first step; each at most once, `applet` repeatable):
 *
 * | field | required | value |
 * |---|---|---|
 * | `name` | yes | what the file tests, one line |
 * | `source` / `clause` | one of them | the publication the vectors come from / the clause they exercise |
 * | `card` | yes | `image FILE` (a card image; relative to this file), `profile PROFILE DATA` (also `profile PROFILE data DATA`: a card personalized from a profile and holder data, see below), `blank` (a new simulated card), `external` (whatever the runner is given: `--card`, `--profile`, `--reader`) |
 * | `requires` | no | comma-separated capabilities: `extended-length`, `chaining`, `logical-channels N` (checked against the ATR's card capabilities when it has them), `personalization`, `bac`, `pace` (declarations; `--without NAME` skips files needing them) |
 * | `rng` | no | hex bytes the simulated card's RNG hands out first (`--rng` overrides) |
 * | `applet` | no | an applet module (path relative to this file) defining applet types the card image uses |
 *
 * **Steps**, one per line:
 *
 * | step | does |
 * |---|---|
 * | `HEX… [=> EXPECTATION] [capture …]` | sends the command APDU: hex bytes with optional spaces (no other separators), `HH{N}` for N copies of a byte (`00{256}`), `{NAME}` references. Any length: malformed APDUs are legitimate test input. |
 * | `power on [=> ATR]` | cold reset; the ATR is matched against the optional pattern |
 * | `reset [=> ATR]` | warm reset |
 * | `power off` | deactivates the card (a command after it gets no answer: the step errs) |
 * | `auth transport-key [key=HEX] [algorithm=3des\|aes]` | GET CHALLENGE + EXTERNAL AUTHENTICATE with the transport key (default: the runner's `--transport-key`, else the test key 40..4F); both must answer 9000 |
 * | `let NAME = HEX` | names a value for `{NAME}` |
 * | `session bac mrz=MRZ [terminal-random=HEX]` … `end` | BAC (ICAO 9303-11 §4.3), then the steps up to `end` run under 3DES secure messaging |
 * | `session pace (mrz=\|can=\|pin=\|puk=)VALUE [card-access=HEX] [parameter-id=N] [protocol=OID] [terminal-random=HEX]` … `end` | PACE (ICAO 9303-11 §4.4), then AES secure messaging; `card-access` is EF.CardAccess (usually `{NAME}` captured by an earlier READ BINARY), else `parameter-id` says the domain parameters |
 * | `session … => SW[\|SW…]` | the handshake must be refused with one of these status words (no block, no `end`) |
 * | `delay MS` / `echo TEXT` | waits / shows a line in the report |
 * | `check passive-authentication sod={NAME} dgN={NAME}… [csca={NAME}] [=> valid\|invalid]` | passive authentication (ICAO 9303-11 §5.1) of captured values: EF.SOD, data groups 1..16 as read, the CSCA certificate (DER; default `{CSCA}`). Sends nothing; passes when the verdict is the expected one (default `valid`), else fails naming every check that did not hold (`DG1 ({DG1}) INVALID: SHA-256 of the 95 bytes read differs from EF.SOD`) |
 *
 * Sessions nest: PACE with the PIN inside a PACE-with-CAN session runs protected by the CAN
 * session and replaces it on the card (BSI TR-03110-2 §3.5.1), so only `end` may follow the inner
 * `end`. Power and reset steps are not allowed inside a session. Comment labels inside a block end
 * with it. `terminal-random` feeds the terminal's random choices (RND.IFD ‖ K.IFD for
 * BAC, SK_Map,IFD ‖ SK_DH,IFD for PACE) so a published worked example replays byte for byte,
 * together with the card's `rng:`.
 *
 * **Expectations** after `=>`: `[DATA] SW [| SW …]`.
 * - DATA: hex with `X` for any hex digit (`XX` any byte), `*` for any run of whole bytes (none
 *   included), `HH{N}` for N copies of a byte (`XX{8}`: any 8 bytes), `{NAME}` for a captured or
 *   `let` value. Without DATA the response must have **no** data: write `* 9000` to accept any.
 * - SW: four hex digits or `X` (`9000`, `63CX`, `61XX`, `XXXX` for any); alternatives with `|`.
 * - No `=>`: the command is sent and shown, not checked (verdict "sent").
 *
 * **Captures** after the expectation: `capture NAME` keeps the response data, `capture
 * NAME[S..E]` bytes S to E−1 (decimal; `[S..]` to the end). A later `{NAME}` in a command,
 * expectation or session parameter inserts it. A `{NAME}` no earlier `let` or `capture` defines is
 * a secret: the runner must be given it (`--secrets FILE`, `CHIPWRIGHT_SECRET_NAME`) before
 * anything is sent, reports mask its bytes, and it may not appear in an expectation. A `let` built
 * from a secret is masked like it.
 *
 * **Personalized cards.** `card: profile PROFILE DATA` (paths relative to this file) runs the file
 * on a simulated card personalized by `src/perso` from the profile and the first holder of DATA,
 * with a fresh test PKI; a replay personalizes once per distinct pair and gives each file a clone.
 * The runner then defines, as secrets, what personalization generated: the profile's PINs by name
 * (`{CAN}`, `{PIN}`, `{PUK}`: ASCII as presented) and `{CSCA}`, the test CSCA certificate — so
 * `session pace can={CAN}` and `00 20 00 03 06 {PIN}` work without `--secrets`, and no report,
 * JSON, JUnit file or recording shows them. Expect wildcards where personalization differs per
 * run (signatures, certificates, times). `rng:` / `--rng` feed the clones, not the personalization.
 * On other cards `{CSCA}` is a secret like any other (`--secrets`), or a `let`.
 *
 * Errors name the file and line: `select.vec:12: status word "900": expected four hex digits or X, e.g. 9000 or 63CX`.
 */
import { bytesToHex } from '../bytes/index.js';
import { HeaderBuilder, checkReferences, headerLine, HEADER_FIELDS } from './header.js';
import {
  PatternError,
  formatTemplate,
  isName,
  parseBytePattern,
  parseSwPattern,
  parseTemplate,
  type BytePattern,
  type SwPattern,
  type Template,
} from './pattern.js';
import {
  VectorError,
  type Capture,
  type Expectation,
  type PacePasswordSpec,
  type SessionSpec,
  type Step,
  type TextValue,
  type Vector,
  type VectorHeader,
} from './vector.js';

/** A logical line: continuation lines joined, with the number of its first physical line. */
interface Line {
  readonly text: string;
  readonly line: number;
}

/** Joins `\`-continued lines (comment lines never continue). */
export function logicalLines(text: string): Line[] {
  const out: Line[] = [];
  const physical = text.split(/\r?\n/);
  let pending: { text: string; line: number } | undefined;
  for (let i = 0; i < physical.length; i++) {
    const raw = physical[i]!;
    const t = raw.trim();
    const continues = t.endsWith('\\') && !t.startsWith('#');
    const body = continues ? t.slice(0, -1) : t;
    if (pending !== undefined) {
      pending.text += ` ${body}`;
    } else {
      pending = { text: body, line: i + 1 };
    }
    if (!continues) {
      out.push(pending);
      pending = undefined;
    }
  }
  if (pending !== undefined) out.push(pending);
  return out;
}

/** Splits off a trailing `# comment`. */
function splitNote(text: string): { body: string; note: string | undefined } {
  const i = text.indexOf('#');
  if (i < 0) return { body: text.trim(), note: undefined };
  const note = text.slice(i + 1).trim();
  return { body: text.slice(0, i).trim(), note: note.length > 0 ? note : undefined };
}

interface OpenSession {
  readonly line: number;
  readonly label: string | undefined;
  readonly note: string | undefined;
  readonly spec: SessionSpec;
  readonly steps: Step[];
  /** Line of the `end` of a session nested in this one: nothing but `end` may follow it. */
  nestedEnd: number | undefined;
}

const CAPTURE = /\s+capture\s+(\S+)/g;

class Parser {
  private readonly header: HeaderBuilder;
  private readonly top: Step[] = [];
  private readonly stack: OpenSession[] = [];
  private label: string | undefined;
  private inHeader = true;

  constructor(private readonly source: string) {
    this.header = new HeaderBuilder(source);
  }

  fail(line: number, reason: string): never {
    throw new VectorError(this.source, line, reason);
  }

  /** Runs `f`, turning pattern errors into errors at `line`. */
  at<T>(line: number, f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof PatternError) this.fail(line, e.message);
      throw e;
    }
  }

  private get steps(): Step[] {
    return this.stack.length > 0 ? this.stack[this.stack.length - 1]!.steps : this.top;
  }

  parse(text: string): Vector {
    for (const { text: t, line } of logicalLines(text)) {
      if (t.length === 0) continue;
      if (t.startsWith('#')) {
        const c = t.replace(/^#+/, '').trim();
        if (c.length > 0) this.label = c;
        continue;
      }
      const h = headerLine(t);
      if (h !== undefined) {
        if (!this.inHeader) this.fail(line, `header field "${h.key}:" after the first step; the header comes first`);
        this.header.field(h.key, splitHeaderValue(h.value), line);
        // Comments above a header field describe the file, not a step.
        this.label = undefined;
        continue;
      }
      this.inHeader = false;
      this.step(t, line);
    }
    const open = this.stack[this.stack.length - 1];
    if (open !== undefined) this.fail(open.line, 'session without "end"');
    const header: VectorHeader = this.header.build({ name: this.source }, true);
    const secrets = checkReferences(this.top, this.source);
    return { source: this.source, format: 'chipwright', header, steps: this.top, secrets };
  }

  private step(text: string, line: number): void {
    const { body, note } = splitNote(text);
    const base = { line, label: this.label, note };
    const words = body.split(/\s+/);
    const w0 = words[0]!;
    const inSession = this.stack.length > 0;
    const noSession = (what: string): void => {
      if (inSession) this.fail(line, `"${what}" inside a session: write "end" first (a reset ends secure messaging)`);
    };
    if (w0 === 'power') {
      if (words[1] === 'off' && words.length === 2) {
        noSession('power off');
        this.steps.push({ kind: 'power-off', ...base });
        return;
      }
      if (words[1] === 'on') {
        noSession('power on');
        this.steps.push({ kind: 'power-on', ...base, atr: this.atr(body, line, 'power on') });
        return;
      }
      this.fail(line, `expected "power on" or "power off", got "${body}"`);
    }
    if (w0 === 'reset') {
      noSession('reset');
      this.steps.push({ kind: 'reset', ...base, atr: this.atr(body, line, 'reset') });
      return;
    }
    if (w0 === 'auth') return this.auth(words, base);
    if (w0 === 'let') return this.let(body, base);
    if (w0 === 'session') return this.session(body, base);
    if (w0 === 'end') {
      if (words.length !== 1) this.fail(line, `"end" takes nothing after it, got "${body}"`);
      const s = this.stack.pop();
      if (s === undefined) this.fail(line, '"end" without an open session');
      this.steps.push({ kind: 'session', line: s.line, label: s.label, note: s.note, spec: s.spec, fails: undefined, steps: s.steps, endLine: line });
      // Labels inside a block end with it.
      this.label = s.label;
      const outer = this.stack[this.stack.length - 1];
      if (outer !== undefined) outer.nestedEnd = line;
      return;
    }
    const outer = this.stack[this.stack.length - 1];
    if (outer?.nestedEnd !== undefined) {
      this.fail(line, `a session nested in another replaces it on the card (line ${outer.nestedEnd} ended it): only "end" may follow`);
    }
    if (w0 === 'delay') {
      const ms = Number(words[1]);
      if (words.length !== 2 || !Number.isInteger(ms) || ms < 0 || ms > 600_000) this.fail(line, `"delay MS": expected a whole number of milliseconds 0..600000, got "${body}"`);
      this.steps.push({ kind: 'delay', ...base, ms });
      return;
    }
    if (w0 === 'echo') {
      this.steps.push({ kind: 'echo', ...base, text: body.slice(4).trim() });
      return;
    }
    if (w0 === 'check') return this.check(body, base);
    this.command(body, base);
  }

  private atr(body: string, line: number, what: string): BytePattern | undefined {
    const i = body.indexOf('=>');
    const head = (i < 0 ? body : body.slice(0, i)).trim();
    if (head !== what) this.fail(line, `"${what}": unexpected "${head.slice(what.length).trim()}"`);
    if (i < 0) return undefined;
    const p = body.slice(i + 2).trim();
    if (p === '') this.fail(line, `nothing after "=>": write the expected ATR, e.g. "${what} => 3B XX *"`);
    return this.at(line, () => parseBytePattern(p));
  }

  private auth(words: string[], base: { line: number; label: string | undefined; note: string | undefined }): void {
    if (words[1] !== 'transport-key') this.fail(base.line, `expected "auth transport-key [key=HEX] [algorithm=3des|aes]", got "${words.join(' ')}"`);
    if (this.stack.length > 0) this.fail(base.line, '"auth transport-key" inside a session: write "end" first');
    let key: Template | undefined;
    let algorithm: '3des' | 'aes' | undefined;
    for (const [k, v] of this.params(words.slice(2), base.line)) {
      if (k === 'key') key = this.at(base.line, () => parseTemplate(v));
      else if (k === 'algorithm' && (v === '3des' || v === 'aes')) algorithm = v;
      else this.fail(base.line, `auth transport-key: unexpected "${k}=${v}" (key=HEX, algorithm=3des|aes)`);
    }
    this.steps.push({ kind: 'transport-auth', ...base, key, algorithm });
  }

  private params(words: readonly string[], line: number): Map<string, string> {
    const out = new Map<string, string>();
    for (const w of words) {
      const m = /^([a-z][a-z0-9-]*)=(.+)$/.exec(w);
      if (m === null) this.fail(line, `expected name=value, got "${w}"`);
      if (out.has(m[1]!)) this.fail(line, `${m[1]} given twice`);
      out.set(m[1]!, m[2]!);
    }
    return out;
  }

  private let(body: string, base: { line: number; label: string | undefined; note: string | undefined }): void {
    const m = /^let\s+(\S+)\s*=\s*(.+)$/.exec(body);
    if (m === null || !isName(m[1]!)) this.fail(base.line, `expected "let NAME = HEX" (NAME: a letter or _, then letters, digits, _ or -), got "${body}"`);
    this.steps.push({ kind: 'let', ...base, name: m[1]!, value: this.at(base.line, () => parseTemplate(m[2]!)) });
  }

  private text(v: string, line: number): TextValue {
    const m = /^\{([^}]*)\}$/.exec(v);
    if (m === null) return { kind: 'text', text: v };
    if (!isName(m[1]!)) this.fail(line, `malformed reference "${v}"`);
    return { kind: 'ref', name: m[1]! };
  }

  private session(body: string, base: { line: number; label: string | undefined; note: string | undefined }): void {
    const arrow = body.indexOf('=>');
    const head = (arrow < 0 ? body : body.slice(0, arrow)).trim();
    const words = head.split(/\s+/);
    const protocol = words[1];
    const p = this.params(words.slice(2), base.line);
    const take = (k: string): string | undefined => {
      const v = p.get(k);
      p.delete(k);
      return v;
    };
    const hex = (k: string): Template | undefined => {
      const v = take(k);
      return v === undefined ? undefined : this.at(base.line, () => parseTemplate(v));
    };
    let spec: SessionSpec;
    if (protocol === 'bac') {
      const mrz = take('mrz');
      if (mrz === undefined) this.fail(base.line, 'session bac needs mrz=MRZ_INFORMATION (document number, date of birth, date of expiry with their check digits)');
      spec = { protocol: 'bac', mrz: this.text(mrz, base.line), terminalRandom: hex('terminal-random') };
    } else if (protocol === 'pace') {
      const kinds = (['mrz', 'can', 'pin', 'puk'] as const).filter((k) => p.has(k));
      if (kinds.length !== 1) this.fail(base.line, 'session pace needs exactly one password: mrz=, can=, pin= or puk=');
      const kind = kinds[0]!;
      const password: PacePasswordSpec = { kind, value: this.text(take(kind)!, base.line) };
      const pid = take('parameter-id');
      const parameterId = pid === undefined ? undefined : Number(pid);
      if (parameterId !== undefined && (!Number.isInteger(parameterId) || parameterId < 0 || parameterId > 127)) {
        this.fail(base.line, `parameter-id: expected 0..127, got "${pid}"`);
      }
      const oid = take('protocol');
      if (oid !== undefined && !/^[0-9]+(\.[0-9]+)+$/.test(oid)) this.fail(base.line, `protocol: expected a dotted OID, got "${oid}"`);
      spec = { protocol: 'pace', password, cardAccess: hex('card-access'), parameterId, oid, terminalRandom: hex('terminal-random') };
    } else {
      this.fail(base.line, `expected "session bac …" or "session pace …", got "${head}"`);
    }
    const left = [...p.keys()];
    if (left.length > 0) this.fail(base.line, `session ${protocol}: unexpected ${left.map((k) => `"${k}="`).join(', ')}`);
    if (arrow >= 0) {
      const sw = this.swList(body.slice(arrow + 2), base.line);
      this.steps.push({ kind: 'session', ...base, spec, fails: sw, steps: [], endLine: base.line });
      return;
    }
    this.stack.push({ ...base, spec, steps: [], nestedEnd: undefined });
  }

  private check(body: string, base: { line: number; label: string | undefined; note: string | undefined }): void {
    const usage = 'expected "check passive-authentication sod={NAME} dg1={NAME} … [csca={NAME}] [=> valid|invalid]"';
    const arrow = body.indexOf('=>');
    const words = (arrow < 0 ? body : body.slice(0, arrow)).trim().split(/\s+/);
    if (words[1] !== 'passive-authentication') this.fail(base.line, `${usage}, got "${body}"`);
    let expect: 'valid' | 'invalid' = 'valid';
    if (arrow >= 0) {
      const v = body.slice(arrow + 2).trim();
      if (v !== 'valid' && v !== 'invalid') this.fail(base.line, `check passive-authentication: after "=>" expected "valid" or "invalid", got "${v}"`);
      expect = v;
    }
    const ref = (k: string, v: string): string => {
      const m = /^\{([^}]*)\}$/.exec(v);
      if (m === null || !isName(m[1]!)) this.fail(base.line, `check passive-authentication: ${k}= takes a {NAME} (a value captured or defined earlier), got "${v}"`);
      return m[1]!;
    };
    let sod: string | undefined;
    let csca: string | undefined;
    const dataGroups: { dataGroup: number; name: string }[] = [];
    for (const [k, v] of this.params(words.slice(2), base.line)) {
      const dg = /^dg([1-9][0-9]?)$/.exec(k);
      if (k === 'sod') sod = ref(k, v);
      else if (k === 'csca') csca = ref(k, v);
      else if (dg !== null && Number(dg[1]) <= 16) dataGroups.push({ dataGroup: Number(dg[1]), name: ref(k, v) });
      else this.fail(base.line, `check passive-authentication: unexpected "${k}=" (sod=, dg1= … dg16=, csca=)`);
    }
    if (sod === undefined) this.fail(base.line, 'check passive-authentication needs sod={NAME}: EF.SOD as read');
    if (dataGroups.length === 0) this.fail(base.line, 'check passive-authentication needs at least one data group (dg1={NAME} …) to check against EF.SOD');
    this.steps.push({ kind: 'check', ...base, check: 'passive-authentication', sod, dataGroups, csca: csca ?? 'CSCA', cscaGiven: csca !== undefined, expect });
  }

  private swList(text: string, line: number): SwPattern[] {
    const t = text.trim();
    if (t === '') this.fail(line, 'nothing after "=>": write the expected status word, e.g. "=> 9000"');
    return t.split('|').map((s) => this.at(line, () => parseSwPattern(s)));
  }

  private command(body: string, base: { line: number; label: string | undefined; note: string | undefined }): void {
    const captures: Capture[] = [];
    let rest = body;
    const first = rest.search(CAPTURE);
    if (first >= 0) {
      for (const m of rest.slice(first).matchAll(CAPTURE)) captures.push(this.capture(m[1]!, base.line));
      const tail = rest.slice(first).replace(CAPTURE, '').trim();
      if (tail !== '') this.fail(base.line, `unexpected "${tail}" among captures (capture clauses come last)`);
      rest = rest.slice(0, first);
    }
    const arrow = rest.indexOf('=>');
    const cmdText = arrow < 0 ? rest : rest.slice(0, arrow);
    if (cmdText.trim() === '') this.fail(base.line, 'a step starts with a command APDU in hex, or a keyword (power, reset, auth, let, session, end, check, delay, echo)');
    const apdu = this.at(base.line, () => {
      try {
        return parseTemplate(cmdText);
      } catch (e) {
        if (e instanceof PatternError && /^[a-z]/.test(cmdText.trim())) {
          throw new PatternError(`unknown step "${cmdText.trim().split(/\s+/)[0]}"; steps are hex commands or power, reset, auth, let, session, end, check, delay, echo`);
        }
        throw e;
      }
    });
    if (apdu.parts.length === 0) this.fail(base.line, 'empty command');
    const expect = arrow < 0 ? undefined : this.expectation(rest.slice(arrow + 2), base.line);
    this.steps.push({ kind: 'command', ...base, apdu, expect, captures });
  }

  private capture(spec: string, line: number): Capture {
    const m = /^([A-Za-z_][A-Za-z0-9_-]*)(?:\[(\d+)\.\.(\d*)\])?$/.exec(spec);
    if (m === null) this.fail(line, `capture "${spec}": expected NAME or NAME[START..END] (decimal byte offsets, END exclusive)`);
    const start = m[2] === undefined ? 0 : Number(m[2]);
    const end = m[3] === undefined || m[3] === '' ? undefined : Number(m[3]);
    if (end !== undefined && end <= start) this.fail(line, `capture ${spec}: END must be above START`);
    return { name: m[1]!, start, end };
  }

  private expectation(text: string, line: number): Expectation {
    const t = text.trim();
    if (t === '') this.fail(line, 'nothing after "=>": write the expected status word, e.g. "=> 9000"');
    const tokens = t.replace(/\s*\|\s*/g, '|').split(/\s+/);
    const swToken = tokens.pop()!;
    if (/^[0-9A-Fa-fXx]{2}$/.test(swToken) && tokens.length > 0 && /[0-9A-Fa-fXx]{2}$/.test(tokens[tokens.length - 1]!)) {
      this.fail(line, `status word "${swToken}": write it as four digits without a space (e.g. "${tokens[tokens.length - 1]!.slice(-2)}${swToken}")`);
    }
    const sw = swToken.split('|').map((s) => this.at(line, () => parseSwPattern(s)));
    let data: BytePattern | undefined;
    if (tokens.length > 0) {
      const d = tokens.join(' ');
      if (d.includes('|')) this.fail(line, '"|" separates status words only; write the data once, before them');
      data = this.at(line, () => parseBytePattern(d));
    }
    return { data, sw };
  }
}

/** Header values may carry a trailing `# comment` like steps. */
function splitHeaderValue(v: string): string {
  return splitNote(v).body;
}

/**
 * Parses a chipwright vector file (pure: no file system access beyond resolving relative paths
 * in the header against `source`'s directory).
 *
 * @example parseVectorText('name: x\nsource: y\ncard: blank\n00A4000C023F00 => 9000\n', 'x.vec').steps[0]
 */
export function parseVectorText(text: string, source: string): Vector {
  return new Parser(source).parse(text);
}

// --- writing ---------------------------------------------------------------------------------

/** The expectation as written (`01 02 XX 9000 | 6282`). */
export function formatExpectation(e: Expectation): string {
  const sw = e.sw.length === 0 ? 'XXXX' : e.sw.map((s) => s.text).join(' | ');
  return e.data === undefined ? sw : `${e.data.text === '' ? '' : `${e.data.text} `}${sw}`;
}

function formatCapture(c: Capture): string {
  return c.start === 0 && c.end === undefined ? `capture ${c.name}` : `capture ${c.name}[${c.start}..${c.end ?? ''}]`;
}

function formatText(v: TextValue): string {
  return v.kind === 'text' ? v.text : `{${v.name}}`;
}

/** The session line (`session pace can=123456 parameter-id=13`), passwords shown or masked. */
export function formatSession(spec: SessionSpec, maskPasswords = false): string {
  const pw = (v: TextValue): string => (maskPasswords && v.kind === 'text' ? '*'.repeat(v.text.length) : formatText(v));
  const hex = (t: Template): string => formatTemplate(t).replace(/ /g, '');
  if (spec.protocol === 'bac') {
    return ['session bac', `mrz=${pw(spec.mrz)}`, ...(spec.terminalRandom ? [`terminal-random=${hex(spec.terminalRandom)}`] : [])].join(' ');
  }
  return [
    'session pace',
    `${spec.password.kind}=${pw(spec.password.value)}`,
    ...(spec.cardAccess ? [`card-access=${hex(spec.cardAccess)}`] : []),
    ...(spec.parameterId !== undefined ? [`parameter-id=${spec.parameterId}`] : []),
    ...(spec.oid !== undefined ? [`protocol=${spec.oid}`] : []),
    ...(spec.terminalRandom ? [`terminal-random=${hex(spec.terminalRandom)}`] : []),
  ].join(' ');
}

/** One step as a line of the format (sessions: the opening line only). */
export function formatStepLine(s: Step): string {
  switch (s.kind) {
    case 'command': {
      const parts = [formatTemplate(s.apdu)];
      if (s.expect !== undefined) parts.push('=>', formatExpectation(s.expect));
      for (const c of s.captures) parts.push(formatCapture(c));
      return parts.join(' ');
    }
    case 'power-on':
      return s.atr ? `power on => ${s.atr.text}` : 'power on';
    case 'reset':
      return s.atr ? `reset => ${s.atr.text}` : 'reset';
    case 'power-off':
      return 'power off';
    case 'transport-auth':
      return ['auth transport-key', ...(s.key ? [`key=${formatTemplate(s.key).replace(/ /g, '')}`] : []), ...(s.algorithm ? [`algorithm=${s.algorithm}`] : [])].join(' ');
    case 'let':
      return `let ${s.name} = ${formatTemplate(s.value)}`;
    case 'delay':
      return `delay ${s.ms}`;
    case 'echo':
      return `echo ${s.text}`;
    case 'session':
      return s.fails !== undefined ? `${formatSession(s.spec)} => ${s.fails.map((f) => f.text).join(' | ')}` : formatSession(s.spec);
    case 'check':
      return [
        'check passive-authentication',
        `sod={${s.sod}}`,
        ...s.dataGroups.map((d) => `dg${d.dataGroup}={${d.name}}`),
        ...(s.cscaGiven ? [`csca={${s.csca}}`] : []),
        ...(s.expect === 'invalid' ? ['=> invalid'] : []),
      ].join(' ');
  }
}

/** Header lines (`name: …`), in the order of {@link HEADER_FIELDS}. */
export function formatHeader(h: VectorHeader, relativeTo?: (absolute: string) => string): string[] {
  const out: string[] = [];
  const rel = relativeTo ?? ((p: string): string => p);
  for (const key of HEADER_FIELDS) {
    switch (key) {
      case 'name':
        out.push(`name: ${h.name}`);
        break;
      case 'source':
        if (h.source !== undefined) out.push(`source: ${h.source}`);
        break;
      case 'clause':
        if (h.clause !== undefined) out.push(`clause: ${h.clause}`);
        break;
      case 'card': {
        const c = h.card;
        out.push(`card: ${c.kind === 'image' ? `image ${c.written}` : c.kind === 'profile' ? `profile ${c.written}` : c.kind}`);
        break;
      }
      case 'requires':
        if (h.requires.length > 0) out.push(`requires: ${h.requires.map((r) => (r.count !== undefined ? `${r.name} ${r.count}` : r.name)).join(', ')}`);
        break;
      case 'rng':
        if (h.rng !== undefined) out.push(`rng: ${bytesToHex(h.rng)}`);
        break;
      case 'applet':
        for (const a of h.applets) out.push(`applet: ${rel(a)}`);
        break;
    }
  }
  return out;
}

/**
 * Writes a vector in chipwright's format; `parseVectorText(formatVector(v))` gives the same header
 * and steps (line numbers aside), which the tests check.
 */
export function formatVector(v: Pick<Vector, 'header' | 'steps'>, opts: { preamble?: readonly string[]; relativeTo?: (absolute: string) => string } = {}): string {
  const out: string[] = [...(opts.preamble ?? []).map((l) => (l === '' ? '#' : `# ${l}`)), ...formatHeader(v.header, opts.relativeTo), ''];
  let label: string | undefined;
  const walk = (steps: readonly Step[], indent: string): void => {
    for (const s of steps) {
      if (s.label !== undefined && s.label !== label) out.push(`${indent}# ${s.label}`);
      label = s.label;
      const line = formatStepLine(s);
      out.push(`${indent}${line}${s.note !== undefined ? `  # ${s.note}` : ''}`);
      if (s.kind === 'session' && s.fails === undefined) {
        walk(s.steps, `${indent}  `);
        out.push(`${indent}end`);
      }
    }
  };
  walk(v.steps, '');
  return out.join('\n') + '\n';
}
