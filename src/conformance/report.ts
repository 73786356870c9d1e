/**
 * Reports of a replay: console text (every failure with the command, what was expected and what
 * came back, each status word with its ISO/IEC 7816-4 meaning), a JSON document, and JUnit XML.
 * Commands are shown redacted as in traces (`transport/trace.ts`: the data of VERIFY, CHANGE
 * REFERENCE DATA, RESET RETRY COUNTER, EXTERNAL/GENERAL AUTHENTICATE and key/PIN loading as `**`),
 * and so is the response data of the authentication commands (BAC and PACE cryptograms derive
 * from the MRZ or the CAN).
 */
import { relative } from 'node:path';
import { bytesToHex } from '../bytes/index.js';
import { describeSw } from '../apdu/status.js';
import { INS } from '../apdu/ins.js';
import { commandHasSecretData, redactCommandHex } from '../transport/trace.js';
import { parseCommandApdu } from '../apdu/command.js';
import { renderXml, type XmlElement } from './junit.js';
import type { FileResult, ReplayResult } from './replay.js';
import type { StepResult, Verdict } from './runner.js';
import type { CardSpec } from './vector.js';

const MARK: Readonly<Record<Verdict, string>> = { pass: '✓', fail: '✗', sent: '·', error: '✗', skipped: '-' };

/**
 * A command APDU as reports show it: redacted like traces; a malformed APDU (legitimate test
 * input) in full unless its INS is one whose data is secret, then with everything after the
 * header masked.
 */
export function displayCommand(apdu: Uint8Array): string {
  try {
    parseCommandApdu(apdu);
  } catch {
    const ins = apdu[1];
    if (apdu.length > 4 && ins !== undefined && commandHasSecretData({ ins, p1: apdu[2] ?? 0 })) {
      return `${bytesToHex(apdu.subarray(0, 4), ' ')} ${Array<string>(apdu.length - 4).fill('**').join(' ')}`;
    }
    return bytesToHex(apdu, ' ');
  }
  return redactCommandHex(apdu);
}

/** The command as reports show it (redacted). */
export function commandText(r: StepResult): string {
  const text = r.shown ?? (r.apdu !== undefined ? displayCommand(r.apdu) : '');
  return r.depth > 0 && r.kind === 'command' ? `[SM] ${text}` : text;
}

function secretResponse(r: StepResult): boolean {
  const ins = r.apdu?.[1] ?? (r.shown !== undefined && r.kind === 'command' ? parseInt(r.shown.split(' ')[1] ?? '', 16) : undefined);
  return ins === INS.EXTERNAL_AUTHENTICATE || ins === INS.GENERAL_AUTHENTICATE || ins === INS.GENERAL_AUTHENTICATE_ODD;
}

/** Response data (spaced hex, masked for authentication cryptograms) and the status word. */
export function responseParts(r: StepResult): { data: string; sw: string | undefined; meaning: string | undefined } {
  const resp = r.response;
  if (resp === undefined) return { data: '', sw: undefined, meaning: undefined };
  if (r.kind !== 'command' && r.kind !== 'transport-auth') return { data: bytesToHex(resp, ' '), sw: undefined, meaning: undefined };
  if (resp.length < 2) return { data: bytesToHex(resp, ' '), sw: undefined, meaning: undefined };
  const sw = (resp[resp.length - 2]! << 8) | resp[resp.length - 1]!;
  const data = resp.subarray(0, resp.length - 2);
  const shown = secretResponse(r) ? Array<string>(data.length).fill('**').join(' ') : bytesToHex(data, ' ');
  const swHex = sw.toString(16).toUpperCase().padStart(4, '0');
  return { data: shown, sw: swHex, meaning: describeSw(sw) };
}

/**
 * The expectation with the meaning of its exact status words: `6A82 File or application not
 * found` for a lone SW, `… 9000 | 6282 (9000 Normal processing; 6282 Warning: …)` otherwise.
 */
function explainExpected(expected: string): string {
  const m = /([0-9A-FX]{4}(?:\s*\|\s*[0-9A-FX]{4})*)$/.exec(expected);
  if (m === null) return expected;
  const sws = m[1]!.split('|').map((s) => s.trim());
  const exact = sws.filter((s) => /^[0-9A-F]{4}$/.test(s));
  if (exact.length === 0) return expected;
  if (sws.length === 1 && expected.trim() === sws[0]) return `${expected} ${describeSw(parseInt(sws[0]!, 16))}`;
  return `${expected}   (${exact.map((s) => `${s} ${describeSw(parseInt(s, 16))}`).join('; ')})`;
}

function cardText(c: CardSpec): string {
  return c.kind === 'image' ? `image ${c.written}` : c.kind === 'profile' ? `profile ${c.written}` : c.kind;
}

function fileName(f: FileResult, cwd: string): string {
  const r = relative(cwd, f.vector.source);
  return r.startsWith('..') ? f.vector.source : r;
}

function stepLines(f: FileResult, r: StepResult, cwd: string, detail: boolean): string[] {
  const where = `${fileName(f, cwd)}:${r.line}`;
  const head = `  ${MARK[r.verdict]} ${where}  ${r.label !== undefined ? `${r.label}: ` : ''}${commandText(r)}${r.note !== undefined ? `  # ${r.note}` : ''}`;
  if (!detail) {
    const p = responseParts(r);
    const ans = p.sw !== undefined ? ` → ${p.data !== '' ? `${p.data} ` : ''}${p.sw}` : '';
    return [`${head}${ans}`];
  }
  const out = [head];
  const p = responseParts(r);
  if (r.expected !== undefined) out.push(`      expected  ${explainExpected(r.expected)}`);
  if (p.sw !== undefined) {
    out.push(`      received  ${p.data !== '' ? `${p.data}  ` : ''}${p.sw} ${p.meaning}`);
  } else if (r.response !== undefined) {
    out.push(`      received  ${p.data}`);
  }
  if (r.mismatchAt !== undefined && p.sw !== undefined) out.push(`      first difference at data byte ${r.mismatchAt}`);
  if (r.message !== undefined) out.push(`      ${r.verdict === 'skipped' ? 'note' : 'why'}       ${r.message}`);
  return out;
}

/** The console lines of one file: a summary line, then every failed or erring step in detail (with `verbose`, every step). */
export function formatFileReport(f: FileResult, opts: { verbose?: boolean; cwd?: string } = {}): string {
  const cwd = opts.cwd ?? process.cwd();
  const out: string[] = [];
  const name = `${fileName(f, cwd)} — ${f.vector.header.name}`;
  if (f.verdict === 'skipped' || f.run === undefined) return `- ${name}: skipped (${f.skipReason ?? 'not run'})\n`;
  const r = f.run;
  const counts = [`${r.passed} passed`, r.failed > 0 ? `${r.failed} failed` : '', r.errors > 0 ? `${r.errors} errors` : '', r.skipped > 0 ? `${r.skipped} skipped` : '', r.sent > 0 ? `${r.sent} sent unchecked` : '']
    .filter((x) => x !== '')
    .join(', ');
  out.push(`${f.verdict === 'pass' ? '✓' : '✗'} ${name}: ${counts}`);
  for (const s of r.results) {
    const bad = s.verdict === 'fail' || s.verdict === 'error';
    if (bad || opts.verbose === true) out.push(...stepLines(f, s, cwd, bad));
  }
  return out.join('\n') + '\n';
}

/** The last line of a replay: files and steps by verdict, and the time taken. */
export function formatReplaySummary(result: ReplayResult): string {
  const files = result.files;
  const passedFiles = files.filter((f) => f.verdict === 'pass').length;
  const failedFiles = files.filter((f) => f.verdict === 'fail').length;
  const skippedFiles = files.filter((f) => f.verdict === 'skipped').length;
  const s = result.steps;
  const out = [
    `replay: ${files.length} file${files.length === 1 ? '' : 's'} (${passedFiles} passed, ${failedFiles} failed, ${skippedFiles} skipped); ` +
      `${s.passed + s.failed + s.errors + s.skipped + s.sent} steps (${s.passed} passed, ${s.failed} failed, ${s.errors} errors, ${s.skipped} skipped, ${s.sent} sent unchecked); ${result.ms.toFixed(0)} ms`,
  ];
  if (result.aborted !== undefined) out.push(`replay stopped: ${result.aborted.message}`);
  return out.join('\n') + '\n';
}

/** The whole console report: every file, then the summary. */
export function formatConsoleReport(result: ReplayResult, opts: { verbose?: boolean; cwd?: string } = {}): string {
  return result.files.map((f) => formatFileReport(f, opts)).join('') + formatReplaySummary(result);
}

/** One step as JSON. */
export function stepJson(r: StepResult): object {
  const p = responseParts(r);
  return {
    line: r.line,
    label: r.label ?? null,
    note: r.note ?? null,
    kind: r.kind,
    secureMessaging: r.depth > 0,
    command: commandText(r),
    expected: r.expected ?? null,
    response: p.sw !== undefined ? `${p.data.replace(/ /g, '')}${p.sw}` : p.data === '' ? null : p.data.replace(/ /g, ''),
    sw: p.sw ?? null,
    meaning: p.meaning ?? null,
    verdict: r.verdict,
    message: r.message ?? null,
    ms: Number(r.ms.toFixed(4)),
  };
}

/** The replay as a JSON document (`--json`). */
export function replayJson(result: ReplayResult): object {
  return {
    ok: result.ok,
    files: result.files.map((f) => ({
      file: f.vector.source,
      format: f.vector.format,
      name: f.vector.header.name,
      source: f.vector.header.source ?? null,
      clause: f.vector.header.clause ?? null,
      card: cardText(f.vector.header.card),
      requires: f.vector.header.requires.map((c) => (c.count !== undefined ? `${c.name} ${c.count}` : c.name)),
      verdict: f.verdict,
      skipReason: f.skipReason ?? null,
      atr: f.atr !== undefined ? bytesToHex(f.atr) : null,
      passed: f.run?.passed ?? 0,
      failed: f.run?.failed ?? 0,
      errors: f.run?.errors ?? 0,
      skipped: f.run?.skipped ?? 0,
      sent: f.run?.sent ?? 0,
      ms: Number((f.run?.ms ?? 0).toFixed(3)),
      steps: (f.run?.results ?? []).map(stepJson),
    })),
    totals: result.steps,
    aborted: result.aborted?.message ?? null,
    ms: Number(result.ms.toFixed(3)),
  };
}

/** The replay as JUnit XML (`--junit FILE`): a test suite per file, a test case per step. */
export function replayJunit(result: ReplayResult, opts: { cwd?: string; timestamp?: Date } = {}): string {
  const cwd = opts.cwd ?? process.cwd();
  const timestamp = (opts.timestamp ?? new Date()).toISOString().replace(/\.\d{3}Z$/, '');
  const suites: XmlElement[] = result.files.map((f) => {
    const file = fileName(f, cwd);
    const results = f.run?.results ?? [];
    const cases: XmlElement[] = results.map((r) => {
      const p = responseParts(r);
      const body = [
        `command   ${commandText(r)}`,
        ...(r.expected !== undefined ? [`expected  ${explainExpected(r.expected)}`] : []),
        ...(p.sw !== undefined ? [`received  ${p.data !== '' ? `${p.data}  ` : ''}${p.sw} ${p.meaning}`] : []),
        ...(r.mismatchAt !== undefined ? [`first difference at data byte ${r.mismatchAt}`] : []),
      ].join('\n');
      const child: XmlElement[] =
        r.verdict === 'fail'
          ? [{ name: 'failure', attributes: { message: r.message ?? 'failed', type: r.kind }, text: body }]
          : r.verdict === 'error'
            ? [{ name: 'error', attributes: { message: r.message ?? 'transport error', type: 'transport' }, text: body }]
            : r.verdict === 'skipped'
              ? [{ name: 'skipped', attributes: { message: r.message ?? 'not run' } }]
              : [];
      return {
        name: 'testcase',
        attributes: {
          classname: file.replace(/\.[^./]+$/, '').replace(/[\\/]/g, '.'),
          name: `line ${r.line}: ${r.label !== undefined ? `${r.label}: ` : ''}${commandText(r)}`,
          file,
          line: r.line,
          time: (r.ms / 1000).toFixed(6),
        },
        children: child,
      };
    });
    if (f.verdict === 'skipped') {
      cases.push({ name: 'testcase', attributes: { classname: file, name: f.vector.header.name, file, time: '0' }, children: [{ name: 'skipped', attributes: { message: f.skipReason ?? 'not run' } }] });
    }
    const run = f.run;
    return {
      name: 'testsuite',
      attributes: {
        name: `${file}: ${f.vector.header.name}`,
        tests: cases.length,
        failures: run?.failed ?? 0,
        errors: run?.errors ?? 0,
        skipped: f.verdict === 'skipped' ? 1 : (run?.skipped ?? 0),
        time: ((run?.ms ?? 0) / 1000).toFixed(6),
        timestamp,
        file,
      },
      children: [
        {
          name: 'properties',
          children: [
            { name: 'property', attributes: { name: 'source', value: f.vector.header.source ?? f.vector.header.clause ?? '' } },
            { name: 'property', attributes: { name: 'format', value: f.vector.format } },
            { name: 'property', attributes: { name: 'card', value: cardText(f.vector.header.card) } },
          ],
        },
        ...cases,
      ],
    };
  });
  const s = result.steps;
  return renderXml({
    name: 'testsuites',
    attributes: {
      name: 'chipwright replay',
      tests: suites.reduce((n, x) => n + Number(x.attributes!.tests), 0),
      failures: s.failed,
      errors: s.errors,
      skipped: s.skipped + result.files.filter((f) => f.verdict === 'skipped').length,
      time: (result.ms / 1000).toFixed(6),
    },
    children: suites,
  });
}
