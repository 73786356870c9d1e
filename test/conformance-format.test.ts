/**
 * The conformance vector formats (src/conformance/): chipwright's own `.vec` format — every step
 * kind, header, captures, sessions, and every parse error with its file and line — its writer
 * (`parse ∘ format` keeps every step of every shipped suite and of random vectors), the byte and
 * status-word patterns (against a regular-expression reference, over random patterns), the
 * readers for ETSI TS 101 955, apdutool and scriptor scripts, format detection, and the JUnit
 * XML writer's escaping.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bytesToHex, hexToBytes } from '../src/bytes/index.js';
import {
  VectorError,
  bytesMatch,
  detectFormat,
  escapeXmlAttribute,
  escapeXmlText,
  expandVectorPaths,
  firstMismatch,
  formatVector,
  parseApdutoolScript,
  parseBytePattern,
  parseEtsiScript,
  parseScriptorScript,
  parseSwPattern,
  parseTemplate,
  parseVectorFile,
  parseVectorText,
  renderXml,
  swMatches,
  type CommandStep,
  type Step,
  type Vector,
} from '../src/conformance/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HEADER = 'name: t\nsource: s\ncard: blank\n';
const noLookup = (n: string): Uint8Array => {
  throw new Error(`no ${n}`);
};

/** Steps without line numbers and with bytes as hex: what a write/read round trip must keep. */
function shape(steps: readonly Step[]): unknown {
  return JSON.parse(
    JSON.stringify(steps, (k, v: unknown) => (k === 'line' || k === 'endLine' ? undefined : v instanceof Uint8Array ? bytesToHex(v) : v)),
  ) as unknown;
}

function vectorError(f: () => unknown): VectorError {
  try {
    f();
  } catch (e) {
    if (e instanceof VectorError) return e;
    throw e;
  }
  throw new Error('expected a VectorError');
}

describe('chipwright vector format: parsing', () => {
  it('reads the header, every step kind, captures, references and sessions', () => {
    const v = parseVectorText(
      [
        '# a file comment',
        'name: SELECT things',
        'source: ISO/IEC 7816-4',
        'clause: §11.2.2',
        'card: image ../cards/x.json',
        'requires: extended-length, logical-channels 4, bac',
        'rng: 01 02',
        '',
        '# Select',
        'power on => 3B XX *',
        '00 A4 00 0C 02 3F 00 => 9000 | 6A82  # trailing',
        '00 B0 00 00 \\',
        '   04 => 01 XX 0X XX{1} 9000',
        '00 84 00 00 08 => XX{8} 9000 capture CH capture PART[2..4]',
        'let K = 00 11',
        '00 82 00 01 08 {CH} => 9000',
        '00 20 00 81 04 {PIN} => 63CX',
        'auth transport-key key=404142434445464748494A4B4C4D4E4F algorithm=3des',
        'session bac mrz=L898902C<369080619406236',
        '  00 B0 00 00 04 => {PART} XX XX 9000',
        'end',
        'session pace can=123456 parameter-id=13 => 6300',
        'delay 5',
        'echo hello',
        'reset',
        'power off',
      ].join('\n'),
      '/tmp/x/v.vec',
    );
    expect(v.header).toMatchObject({ name: 'SELECT things', source: 'ISO/IEC 7816-4', clause: '§11.2.2', cardLine: 5 });
    expect(v.header.card).toEqual({ kind: 'image', path: '/tmp/cards/x.json', written: '../cards/x.json' });
    expect(v.header.requires).toEqual([{ name: 'extended-length' }, { name: 'logical-channels', count: 4 }, { name: 'bac' }]);
    expect(bytesToHex(v.header.rng!)).toBe('0102');
    expect(v.steps.map((s) => s.kind)).toEqual(['power-on', 'command', 'command', 'command', 'let', 'command', 'command', 'transport-auth', 'session', 'session', 'delay', 'echo', 'reset', 'power-off']);
    const [on, select, read, challenge] = v.steps as [Step, Step, Step, Step];
    expect(on).toMatchObject({ line: 10, label: 'Select' });
    expect(select).toMatchObject({ line: 11, note: 'trailing' });
    expect(read).toMatchObject({ line: 12 });
    expect(challenge.kind === 'command' && challenge.captures).toEqual([
      { name: 'CH', start: 0, end: undefined },
      { name: 'PART', start: 2, end: 4 },
    ]);
    // {PIN} is defined by no step: a secret; {CH}, {K}, {PART} are values.
    expect(v.secrets).toEqual(['PIN']);
    const bac = v.steps[8]!;
    expect(bac.kind === 'session' && bac.steps.length).toBe(1);
    expect(bac.kind === 'session' && bac.endLine).toBe(21);
  });

  it('names the file and the line of every mistake', () => {
    const cases: [string, number, RegExp][] = [
      [`${HEADER}00 A4 00 0C 02 3F 00 => 900`, 4, /status word "900"/],
      [`${HEADER}00 A4 00 0C 02 3F 00 => 61 14`, 4, /four digits without a space.*6114/],
      [`${HEADER}00 A4 00 0C 02 3F 0 => 9000`, 4, /odd number of hex digits/],
      [`${HEADER}00 A4 => 01 | 02 9000`, 4, /"\|" separates status words only/],
      [`${HEADER}00 A4 =>`, 4, /nothing after "=>"/],
      [`${HEADER}selct 3F00`, 4, /unknown step "selct"/],
      [`${HEADER}power up`, 4, /"power on" or "power off"/],
      [`${HEADER}00 A4 {P IN}`, 4, /malformed reference/],
      [`${HEADER}00 A4 => {X} 9000`, 4, /\{X\} in an expectation must be defined/],
      [`${HEADER}00 A4 => 9000 capture 1X`, 4, /capture "1X"/],
      [`${HEADER}00 A4 => 9000 capture X[4..2]`, 4, /END must be above START/],
      [`${HEADER}session bac\nend`, 4, /needs mrz=/],
      [`${HEADER}session pace can=1 pin=2\nend`, 4, /exactly one password/],
      [`${HEADER}session pace can=1 foo=2\nend`, 4, /unexpected "foo="/],
      [`${HEADER}session bac mrz=X\n00 B0 00 00 01`, 4, /session without "end"/],
      [`${HEADER}end`, 4, /"end" without an open session/],
      [`${HEADER}session bac mrz=X\nreset\nend`, 5, /inside a session/],
      [`${HEADER}session pace can=1\nsession pace pin=2\nend\n00 B0 00 00 01\nend`, 7, /only "end" may follow/],
      [`${HEADER}delay soon`, 4, /milliseconds/],
      [`${HEADER}let 9 = 00`, 4, /let NAME = HEX/],
      [`${HEADER}auth transport-key key=0011 mode=x`, 4, /unexpected "mode=x"/],
      [`${HEADER}00 A4 => 9000\nname: late`, 5, /header field "name:" after the first step/],
      ['name: a\nname: b\nsource: s\ncard: blank', 2, /name: given twice \(first on line 1\)/],
      ['name: a\nsource: s\ncard: floppy', 3, /card: expected "image FILE"/],
      ['name: a\nsource: s\ncard: blank\nrequires: nfc', 4, /unknown capability "nfc"/],
      ['name: a\nsource: s\ncard: blank\nrequires: logical-channels 30', 4, /count 2\.\.20/],
      ['name: a\nsource: s\ncard: blank\nrng: xyz', 4, /rng:/],
      ['source: s\ncard: blank\n00 A4 => 9000', 0, /no "name:"/],
      ['name: a\ncard: blank\n00 A4 => 9000', 0, /neither "source:" nor "clause:"/],
      ['name: a\nsource: s\n00 A4 => 9000', 0, /no "card:"/],
    ];
    for (const [text, line, why] of cases) {
      const e = vectorError(() => parseVectorText(text, 'dir/f.vec'));
      expect(e.line, text).toBe(line);
      expect(e.reason, text).toMatch(why);
      expect(e.message.startsWith(line > 0 ? `dir/f.vec:${line}: ` : 'dir/f.vec: '), e.message).toBe(true);
    }
  });

  it('labels end with their session block', () => {
    const v = parseVectorText(`${HEADER}# outer\nsession bac mrz=X\n# inner\n00 B0 00 00 01 => * 9000\nend\n00 B0 00 00 01 => * 9000\n`, 'f.vec');
    const s = v.steps[0]!;
    expect(s.kind === 'session' && s.steps[0]!.label).toBe('inner');
    expect(v.steps[1]!.label).toBe('outer');
  });
});

describe('chipwright vector format: writing', () => {
  it('parse ∘ format keeps every step of every shipped suite', () => {
    const files = expandVectorPaths([join(ROOT, 'test-vectors/card-os'), join(ROOT, 'test-vectors/icao')]);
    expect(files.length).toBeGreaterThanOrEqual(15);
    for (const f of files) {
      const v = parseVectorFile(readFileSync(f, 'utf8'), f);
      const again = parseVectorText(formatVector(v), f);
      expect(shape(again.steps), f).toEqual(shape(v.steps));
      expect(again.header.name).toBe(v.header.name);
      expect(again.secrets).toEqual(v.secrets);
    }
  });

  it('parse ∘ format keeps random vectors', () => {
    const hexBytes = fc.uint8Array({ minLength: 1, maxLength: 12 }).map((b) => bytesToHex(b, ' '));
    const sw = fc.constantFrom('9000', '6A82', '63CX', '61XX', 'XXXX');
    const data = fc.constantFrom('', '* ', '01 02 ', 'XX{8} ', '0X 1X * FF ', 'AA{3} * ');
    const command = fc.record({ apdu: hexBytes, data, sw: fc.array(sw, { minLength: 1, maxLength: 3 }), check: fc.boolean(), note: fc.option(fc.constantFrom('a note', 'x'), { nil: undefined }) }).map(
      (c) => `${c.apdu}${c.check ? ` => ${c.data}${c.sw.join(' | ')}` : ''}${c.note !== undefined ? `  # ${c.note}` : ''}`,
    );
    const other = fc.constantFrom('power on', 'power off', 'reset', 'reset => 3B *', 'auth transport-key', 'auth transport-key algorithm=aes', 'let A = 01 02', 'delay 3', 'echo hi there');
    const lines = fc.array(fc.oneof(command, command, other, fc.constantFrom('# label one', '# label two')), { maxLength: 25 });
    fc.assert(
      fc.property(lines, (ls) => {
        const text = `${HEADER}# first\n${ls.join('\n')}\n`;
        const v = parseVectorText(text, 'r.vec');
        expect(shape(parseVectorText(formatVector(v), 'r.vec').steps)).toEqual(shape(v.steps));
      }),
      { numRuns: 300 },
    );
  });
});

describe('byte and status-word patterns', () => {
  /** The reference: the pattern as a regular expression over upper-case hex. */
  function reference(pattern: string, data: Uint8Array): boolean {
    let re = '';
    const s = pattern.replace(/\s+/g, '');
    for (let i = 0; i < s.length; ) {
      if (s[i] === '*') {
        re += '(?:[0-9A-F]{2})*';
        i++;
        continue;
      }
      const byte = s.slice(i, i + 2).replace(/X/g, '[0-9A-F]');
      i += 2;
      const rep = /^\{(\d+)\}/.exec(s.slice(i));
      if (rep !== null) {
        re += `(?:${byte}){${rep[1]}}`;
        i += rep[0].length;
      } else {
        re += byte;
      }
    }
    return new RegExp(`^${re}$`).test(bytesToHex(data));
  }

  it('match like their regular-expression reading, over random patterns and data', () => {
    const item = fc.oneof(
      fc.constantFrom('*', 'XX', '0X', 'X1', 'AB', '00', 'XX{3}', '01{2}'),
      fc.integer({ min: 0, max: 255 }).map((b) => bytesToHex(Uint8Array.of(b))),
    );
    fc.assert(
      fc.property(fc.array(item, { maxLength: 6 }), fc.uint8Array({ maxLength: 10 }), (items, data) => {
        const text = items.join(' ');
        // Data built from the pattern, so that matches are exercised too.
        const p = parseBytePattern(text);
        expect(bytesMatch(p, data, noLookup)).toBe(reference(text, data));
      }),
      { numRuns: 2000 },
    );
    const p = parseBytePattern('01 XX 03');
    expect(bytesMatch(p, hexToBytes('01FF03'), noLookup)).toBe(true);
    expect(firstMismatch(p, hexToBytes('01FF04'), noLookup)).toBe(2);
    expect(firstMismatch(p, hexToBytes('01FF0305'), noLookup)).toBe(3);
  });

  it('resolve {NAME} references when matching and building commands', () => {
    const vals: Record<string, Uint8Array> = { A: hexToBytes('AABB') };
    const lookup = (n: string): Uint8Array => vals[n]!;
    expect(bytesMatch(parseBytePattern('01 {A} *'), hexToBytes('01AABB99'), lookup)).toBe(true);
    expect(bytesMatch(parseBytePattern('01 {A}'), hexToBytes('01AABC'), lookup)).toBe(false);
    const t = parseTemplate('00 D6 00 00 02 {A} 00{2}');
    expect(t.literal).toBeUndefined();
    expect(t.parts.map((x) => (x.kind === 'ref' ? `{${x.name}}` : bytesToHex(x.bytes)))).toEqual(['00D6000002', '{A}', '0000']);
    expect(bytesToHex(parseTemplate('5A{4}').literal!)).toBe('5A5A5A5A');
  });

  it('status words: digits and X', () => {
    expect(swMatches([parseSwPattern('63CX')], 0x63c2)).toBe(true);
    expect(swMatches([parseSwPattern('63CX')], 0x6300)).toBe(false);
    expect(swMatches([parseSwPattern('9000'), parseSwPattern('6282')], 0x6282)).toBe(true);
    expect(swMatches([], 0x6f00)).toBe(true);
    expect(() => parseSwPattern('90 0')).toThrow(/four hex digits/);
  });
});

describe('ETSI TS 101 955 / 3GPP TS 11.13 scripts', () => {
  const apdus = (v: Vector): string[] => v.steps.flatMap((s) => (s.kind === 'command' ? [bytesToHex(s.apdu.literal!)] : [s.kind]));

  it('reads the Annex B syntax: RST, OFF, REM, CMD with [data] and (SW, SW), continuation lines', () => {
    const v = parseEtsiScript(
      [
        'REM card: image c.json',
        'REM name: example',
        'RST',
        'REM Case 1',
        'CMD A0 C2 00 00 00 (91 33 , 69 XX)',
        'REM Case 2',
        'CMD A0 C2 00 00 B0 \\',
        '  [XX XX XX 55 55 XX 55](91 33 , 69 XX)',
        'CMD A0 C2 00 00 B0 [] (91 33)',
        'CMD A0 B0 00 00 10 (90 00)',
        'REM Case 3',
        'CMD A0 C2 00 00 03 \\',
        '  D1 31 82 \\',
        '  (90 00)',
        'CMD 00 88 00 00 02 01 02 [XX XX] (90 00)',
        'CMD 00 A4 00 0C 02 3F 00',
        'OFF',
      ].join('\n'),
      'x.etsi',
    );
    expect(v.header.name).toBe('example');
    expect(v.header.card).toMatchObject({ kind: 'image', written: 'c.json' });
    expect(apdus(v)).toEqual(['power-on', 'A0C20000', 'A0C20000B0', 'A0C20000B0', 'A0B0000010', 'A0C2000003D13182', '00880000020102' + '00', '00A4000C023F00', 'power-off']);
    const cmd = (i: number): CommandStep => {
      const s = v.steps[i];
      if (s?.kind !== 'command') throw new Error(`step ${i} is not a command`);
      return s;
    };
    expect(cmd(1).expect!.sw.map((s) => s.text)).toEqual(['9133', '69XX']);
    expect(cmd(1).label).toBe('Case 1');
    expect(cmd(2).expect!.data!.text).toBe('XX XX XX 55 55 XX 55');
    expect(cmd(3).expect!.data!.text).toBe('*');
    expect(cmd(4).expect!.data!.text).toBe('*');
    expect(cmd(6).expect!.data!.text).toBe('XX XX');
    expect(cmd(7).expect).toBeUndefined();
    expect(detectFormat('REM x\nRST\n')).toBe('etsi');
  });

  it('refuses INI, other tool commands and inconsistent P3 with the line', () => {
    for (const [text, line, why] of [
      ['RST\nINI FF FF', 2, /INI/],
      ['RST\nDLY 100', 2, /unknown tool command "DLY"/],
      ['CMD 00 D6 00 00 04 01 02 (90 00)', 1, /P3 = 04 announces 4 data bytes, the command has 2/],
      ['CMD 00 B0 00 00 (90 00)', 1, /five bytes at least/],
      ['CMD 00 B0 00 00 04 [01 02 (90 00)', 1, /"\[" without "\]"/],
      ['CMD 00 B0 00 00 04 (90 00) junk', 1, /unexpected "junk"/],
      ['CMD 00 B0 00 00 04 (9)', 1, /four hex digits/],
    ] as const) {
      const e = vectorError(() => parseEtsiScript(text, 's.etsi'));
      expect(e.line, text).toBe(line);
      expect(e.reason, text).toMatch(why);
    }
  });
});

describe('apdutool scripts', () => {
  it('reads statements across lines, comments, LC/LE, decimal and one-digit hex', () => {
    const v = parseApdutoolScript(
      [
        '// name: jc',
        'powerup;',
        '// Select',
        '0x00 0xA4 0x04 0x00 0x05 0xF0 0x00 0x00',
        '  0x00 0x01 0x7F;  /* case 4 */',
        '0x80 0xCA 0x0 0x46 0 0x1;',
        'echo "a // b; c";',
        'delay 10; output off; contactless;',
        'powerdown;',
      ].join('\n'),
      'x.scr',
    );
    expect(v.header.name).toBe('jc');
    expect(v.steps.map((s) => (s.kind === 'command' ? bytesToHex(s.apdu.literal!) : s.kind))).toEqual(['power-on', '00A4040005F0000000017F', '80CA004601', 'echo', 'delay', 'power-off']);
    expect(v.steps[1]).toMatchObject({ line: 4, label: 'Select' });
    expect(v.steps[3]).toMatchObject({ text: 'a // b; c' });
    expect(v.steps.every((s) => s.kind !== 'command' || s.expect === undefined)).toBe(true);
  });

  it('refuses what it cannot send, naming the line', () => {
    for (const [text, line, why] of [
      ['0x00 0xA4 0x04 0x00 0x05 0xF0 0x7F;', 1, /LC = 5 announces 5 data bytes/],
      ['0x00 0xA4 0x04;', 1, /at least 6 bytes/],
      ['0x00 0x1FF 0x04 0x00 0x00 0x00;', 1, /not a byte/],
      ['powerup;\nselect //aid/A000000062/03010C0101;', 2, /not supported/],
      ['powerup;\nfrobnicate;', 2, /unknown statement/],
      ['powerup;\n0x00 0xA4 0x00 0x00 0x00 0x00', 2, /does not end with ";"/],
    ] as const) {
      const e = vectorError(() => parseApdutoolScript(text, 'x.scr'));
      expect(e.line, text).toBe(line);
      expect(e.reason, text).toMatch(why);
    }
  });
});

describe('scriptor scripts', () => {
  it('reads hex with or without spaces, continuation, reset, comments; exit ends the script', () => {
    const v = parseScriptorScript('# card: blank\nreset\n# Select MF\n00 A4 00 0C 02 3F 00\n00B0000004\n00 D6 00 00 02 \\\n  AA BB\nexit\n00 B0 00 00 01\n', 'x.txt');
    expect(v.header.card).toEqual({ kind: 'blank' });
    expect(v.steps.map((s) => (s.kind === 'command' ? bytesToHex(s.apdu.literal!) : s.kind))).toEqual(['reset', '00A4000C023F00', '00B0000004', '00D6000002AABB']);
    expect(v.steps[1]).toMatchObject({ line: 4, label: 'Select MF' });
    expect(v.steps[3]).toMatchObject({ line: 6 });
    expect(vectorError(() => parseScriptorScript('00 A4 0G', 'x.txt')).line).toBe(1);
    expect(vectorError(() => parseScriptorScript('00 A4 \\', 'x.txt')).reason).toMatch(/past the end/);
  });

  it('detects formats from extension and content', () => {
    expect(detectFormat('', 'a.vec')).toBe('chipwright');
    expect(detectFormat('', 'a.etsi')).toBe('etsi');
    expect(detectFormat('', 'a.scr')).toBe('apdutool');
    expect(detectFormat('', 'a.scriptor')).toBe('scriptor');
    expect(detectFormat('name: x\n', 'a.txt')).toBe('chipwright');
    expect(detectFormat('00 A4 => 9000\n', 'a.txt')).toBe('chipwright');
    expect(detectFormat('// c\npowerup;\n', 'a.txt')).toBe('apdutool');
    expect(detectFormat('# c\nreset\n00A4000C023F00\n', 'a.txt')).toBe('scriptor');
    expect(detectFormat('CMD 00 A4 00 0C 02 3F 00 (9000)\n', 'a.txt')).toBe('etsi');
  });
});

describe('JUnit XML', () => {
  it('escapes text and attributes (XML 1.0 §2.2, §2.4, §3.3.3)', () => {
    expect(escapeXmlText('a < b & c > d "q"')).toBe('a &lt; b &amp; c &gt; d "q"');
    expect(escapeXmlAttribute('x="1" & \'y\'\tz\nw')).toBe('x=&quot;1&quot; &amp; &apos;y&apos;&#9;z&#10;w');
    expect(escapeXmlText('nul\u0000 bell\u0007 ok\u00e9 \ud83d\ude00 lone\ud800 end\ufffe')).toBe('nul\ufffd bell\ufffd ok\u00e9 \ud83d\ude00 lone\ufffd end\ufffd');
    const xml = renderXml({ name: 'a', attributes: { n: 'x<y', skip: undefined }, children: [{ name: 'b', text: ']]> & <c/>' }, { name: 'c' }] });
    expect(xml).toBe('<?xml version="1.0" encoding="UTF-8"?>\n<a n="x&lt;y">\n  <b>]]&gt; &amp; &lt;c/&gt;</b>\n  <c/>\n</a>\n');
  });

  it('never leaves markup characters raw in attribute values, for any input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const a = escapeXmlAttribute(s);
        expect(a).not.toMatch(/[<"\u0000-\u0008\u000B\u000C\u000E-\u001F]|&(?!(amp|lt|gt|quot|apos|#9|#10|#13);)/);
      }),
      { numRuns: 500 },
    );
  });
});

describe('header paths', () => {
  it('resolve against the vector file', () => {
    const v = parseVectorText('name: a\nsource: s\ncard: image cards/c.json\napplet: ./m.mjs\n', '/x/y/f.vec');
    expect(v.header.card).toMatchObject({ path: resolve('/x/y/cards/c.json') });
    expect(v.header.applets).toEqual([resolve('/x/y/m.mjs')]);
  });
});
