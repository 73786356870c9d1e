/**
 * Reader for Java Card `apdutool` scripts (Java Card Development Kit User Guide, "Sending and
 * Receiving APDUs": APDU script file commands). Scripts carry no expectations: every command is
 * sent and shown (verdict "sent").
 *
 * ```text
 * // comment                      also /* … *\/ comments
 * powerup;
 * // Select the applet            CLA INS P1 P2 LC [data…] LE;
 * 0x00 0xA4 0x04 0x00 0x05 0xF0 0x00 0x00 0x00 0x01 0x7F;
 * 0x80 0x01 0x00 0x00 0x00 0x7F;
 * delay 100;  echo "done";  output off;  contacted;
 * powerdown;
 * ```
 *
 * Statements end with `;` and may span lines. Numbers are `0x` hex (one or two digits) or
 * decimal. An APDU statement always has LE, as apdutool sends it over T=1: LC = 0 gives
 * `CLA INS P1 P2 LE` (case 2), LC > 0 gives `CLA INS P1 P2 LC data LE` (case 4). `powerup` is a
 * cold reset, `powerdown` powers off, `delay N` waits N ms, `echo "…"` shows text; `output on|off`,
 * `contacted` and `contactless` (interface switches of the reference implementation) change
 * nothing here. Preprocessor directives (`#define`) and the JCDK 3 `select`/`send` statements are
 * refused with the line. Leading `// name: …` / `// card: …` comments set header fields.
 */
import { basename } from 'node:path';
import { HeaderBuilder, checkReferences, headerLine } from './header.js';
import { literalTemplate } from './pattern.js';
import { VectorError, type Step, type Vector } from './vector.js';

interface Statement {
  readonly text: string;
  readonly line: number;
  /** The comment lines just before it (the last one labels it). */
  readonly comment: string | undefined;
}

/**
 * Splits into statements, dropping comments (`//` to end of line, `/* … *\/`) but reading header
 * fields from the comments before the first statement. A scanner, so that `;`, `//` and `/*`
 * inside an echo string stay text; `//aid/…` (the JCDK 3 AID notation) is not a comment.
 */
function statements(text: string, header: HeaderBuilder): Statement[] {
  const out: Statement[] = [];
  let cur = '';
  let curLine = 0;
  let lastComment: string | undefined;
  let line = 1;
  let i = 0;
  const comment = (c: string, at: number): void => {
    const t = c.trim();
    if (t.length === 0) return;
    const h = out.length === 0 && cur.trim() === '' ? headerLine(t) : undefined;
    if (h !== undefined) header.field(h.key, h.value, at);
    else lastComment = t;
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      cur += c;
      i++;
      continue;
    }
    if (c === '/' && text[i + 1] === '/' && !text.startsWith('//aid/', i)) {
      const eol = text.indexOf('\n', i);
      const stop = eol < 0 ? text.length : eol;
      comment(text.slice(i + 2, stop), line);
      i = stop;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*\/', i + 2);
      const stop = close < 0 ? text.length : close + 2;
      const body = text.slice(i + 2, close < 0 ? text.length : close);
      if (!body.includes('\n')) comment(body, line);
      line += body.split('\n').length - 1;
      i = stop;
      continue;
    }
    if (cur.trim() === '' && !/\s/.test(c)) curLine = line;
    if (c === '"') {
      const close = text.indexOf('"', i + 1);
      const stop = close < 0 ? text.length : close + 1;
      const str = text.slice(i, stop);
      line += str.split('\n').length - 1;
      cur += str;
      i = stop;
      continue;
    }
    if (c === ';') {
      if (cur.trim() !== '') out.push({ text: cur.trim(), line: curLine, comment: lastComment });
      cur = '';
      i++;
      continue;
    }
    cur += c;
    i++;
  }
  if (cur.trim() !== '') throw new VectorError('', curLine, `statement "${cur.trim().slice(0, 40)}" does not end with ";"`);
  return out;
}

function number(tok: string, fail: (r: string) => never): number {
  let n: number;
  if (/^0[xX][0-9A-Fa-f]{1,2}$/.test(tok)) n = parseInt(tok.slice(2), 16);
  else if (/^[0-9]{1,3}$/.test(tok)) n = Number(tok);
  else fail(`"${tok}" is not a byte (0x00..0xFF or 0..255)`);
  if (n > 255) fail(`"${tok}" is not a byte (0x00..0xFF or 0..255)`);
  return n;
}

/**
 * Parses an apdutool script.
 *
 * @example parseApdutoolScript('powerup;\n0x00 0xA4 0x00 0x0C 0x02 0x3F 0x00 0x00;\npowerdown;\n', 'x.scr')
 */
export function parseApdutoolScript(text: string, source: string): Vector {
  const header = new HeaderBuilder(source);
  let list: Statement[];
  try {
    list = statements(text, header);
  } catch (e) {
    if (e instanceof VectorError && e.source === '') throw new VectorError(source, e.line, e.reason);
    throw e;
  }
  const steps: Step[] = [];
  for (const st of list) {
    const fail = (reason: string): never => {
      throw new VectorError(source, st.line, reason);
    };
    const base = { line: st.line, label: st.comment, note: undefined };
    const words = st.text.split(/\s+/);
    const w0 = words[0]!.toLowerCase();
    if (w0 === 'powerup' || w0 === 'powerdown') {
      if (words.length !== 1) fail(`${w0} takes nothing after it`);
      steps.push(w0 === 'powerup' ? { kind: 'power-on', ...base, atr: undefined } : { kind: 'power-off', ...base });
      continue;
    }
    if (w0 === 'delay') {
      const ms = Number(words[1]);
      if (words.length !== 2 || !Number.isInteger(ms) || ms < 0) fail('delay takes a whole number of milliseconds');
      steps.push({ kind: 'delay', ...base, ms });
      continue;
    }
    if (w0 === 'echo') {
      const m = /^echo\s+"([^"]*)"$/i.exec(st.text);
      if (m === null) return fail('echo takes a quoted string: echo "text";');
      steps.push({ kind: 'echo', ...base, text: m[1]! });
      continue;
    }
    if (w0 === 'output' && words.length === 2 && /^(on|off)$/i.test(words[1]!)) continue;
    if ((w0 === 'contacted' || w0 === 'contactless') && words.length === 1) continue;
    if (w0.startsWith('#') || w0 === 'select' || w0 === 'send') {
      fail(`"${words[0]}" (apdutool preprocessor and select/send statements) is not supported; write the APDUs out`);
    }
    if (!/^(0x[0-9a-f]+|[0-9]+)$/.test(w0)) fail(`unknown statement "${words[0]}"; apdutool scripts hold APDUs and powerup, powerdown, delay, echo, output, contacted, contactless`);
    const bytes = words.map((w) => number(w, fail));
    if (bytes.length < 6) fail(`an APDU statement is CLA INS P1 P2 LC [data] LE: at least 6 bytes, got ${bytes.length}`);
    const lc = bytes[4]!;
    if (bytes.length !== lc + 6) fail(`LC = ${lc} announces ${lc} data bytes, so ${lc + 6} bytes with LE; got ${bytes.length}`);
    const le = bytes[bytes.length - 1]!;
    const apdu = lc === 0 ? Uint8Array.from([...bytes.slice(0, 4), le]) : Uint8Array.from(bytes);
    steps.push({ kind: 'command', ...base, apdu: literalTemplate(apdu), expect: undefined, captures: [] });
  }
  const v = { source, format: 'apdutool' as const, header: header.build({ name: basename(source), source: 'Java Card apdutool script' }, false), steps };
  return { ...v, secrets: checkReferences(steps, source) };
}
