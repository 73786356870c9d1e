/**
 * Reader for pcsc-tools `scriptor` scripts (scriptor(1p); the Perl source is the reference for
 * the details). Scripts carry no expectations: every command is sent and shown.
 *
 * ```text
 * # reset the card              # at the start of a line: a comment
 * reset
 * # Select MF 3F00
 * 00 A4 00 0C 02 3F 00          CLA INS P1 P2 [Lc data] [Le], as sent
 * 00A4000C023F00                without spaces: read as pairs
 * 00 D6 00 00 04 \              \: continues on the next line
 *   01 02 03 04
 * exit                          ends the script
 * ```
 *
 * As in scriptor, a line containing `exit` (any case) ends the script, and one containing
 * `reset` resets the card (a warm reset: scriptor reconnects with SCARD_RESET_CARD). Leading
 * `# name: …` / `# card: …` comments set header fields.
 */
import { basename } from 'node:path';
import { HeaderBuilder, checkReferences, headerLine } from './header.js';
import { literalTemplate } from './pattern.js';
import { VectorError, type Step, type Vector } from './vector.js';

/**
 * Parses a scriptor script.
 *
 * @example parseScriptorScript('reset\n00 A4 00 0C 02 3F 00\n', 'x.txt').steps.length // 2
 */
export function parseScriptorScript(text: string, source: string): Vector {
  const header = new HeaderBuilder(source);
  const steps: Step[] = [];
  let label: string | undefined;
  let cmd = '';
  let cmdLine = 0;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const line = i + 1;
    const fail = (reason: string): never => {
      throw new VectorError(source, line, reason);
    };
    // scriptor checks for "exit" before anything else, comments included.
    if (/exit/i.test(raw)) break;
    const t = raw.trim();
    if (t === '') continue;
    if (t.startsWith('#')) {
      const c = t.replace(/^#+/, '').trim();
      const h = steps.length === 0 && cmd === '' ? headerLine(c) : undefined;
      if (h !== undefined) header.field(h.key, h.value, line);
      else if (c.length > 0) label = c;
      continue;
    }
    if (/reset/i.test(t)) {
      if (cmd !== '') fail('reset inside a continued command');
      steps.push({ kind: 'reset', line, label, note: undefined, atr: undefined });
      continue;
    }
    let body = t;
    // Like scriptor: a command written without spaces is read as pairs of digits.
    if (!/\s/.test(body.replace(/\\$/, ''))) body = body.replace(/\\$/, '').replace(/(..)/g, '$1 ') + (t.endsWith('\\') ? '\\' : '');
    if (cmd === '') cmdLine = line;
    if (body.endsWith('\\')) {
      cmd += `${body.slice(0, -1)} `;
      continue;
    }
    cmd += body;
    const tokens = cmd.trim().split(/\s+/);
    if (!tokens.every((tok) => /^[0-9A-Fa-f]{2}$/.test(tok))) {
      throw new VectorError(source, cmdLine, `"${cmd.trim().slice(0, 60)}": expected hex bytes (CLA INS P1 P2 [Lc data] [Le]), "reset", "exit" or a # comment`);
    }
    const apdu = Uint8Array.from(tokens.map((tok) => parseInt(tok, 16)));
    steps.push({ kind: 'command', line: cmdLine, label, note: undefined, apdu: literalTemplate(apdu), expect: undefined, captures: [] });
    cmd = '';
  }
  if (cmd !== '') throw new VectorError(source, cmdLine, 'the last command continues ("\\") past the end of the file');
  const v = { source, format: 'scriptor' as const, header: header.build({ name: basename(source), source: 'pcsc-tools scriptor script' }, false), steps };
  return { ...v, secrets: checkReferences(steps, source) };
}
