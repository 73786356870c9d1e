import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { bytesToHex, hexToBytes } from '../src/bytes/index.js';
import { createCard, DEFAULT_TRANSPORT_KEY } from '../src/card/os.js';
import { InProcessTransport } from '../src/transport/in-process.js';
import { CardMuteError } from '../src/transport/types.js';
import {
  DIRECTIVES,
  formatApduScript,
  matchesExpectation,
  parseApduScript,
  scriptSecrets,
  ScriptParseError,
  type ScriptStep,
} from '../src/script/format.js';
import { checkScriptInputs, runApduScript, ScriptSetupError } from '../src/script/runner.js';
import { transportCryptogram } from '../src/script/transport-auth.js';
import { demoSecrets, DEMO_SCRIPT, runFilesystemDemo } from '../src/script/demo.js';
import { shippedScriptPath } from '../src/script/shipped.js';

/** Steps without line numbers (what a format/parse round trip must keep). */
function shape(steps: readonly ScriptStep[]): unknown[] {
  return steps.map((s) => {
    const { line, ...rest } = s;
    void line;
    return JSON.parse(JSON.stringify(rest, (_k, v: unknown) => (v instanceof Uint8Array ? bytesToHex(v) : v))) as unknown;
  });
}

function parseError(text: string): ScriptParseError {
  try {
    parseApduScript(text, 'x.apdu');
  } catch (e) {
    if (e instanceof ScriptParseError) return e;
    throw e;
  }
  throw new Error('expected a ScriptParseError');
}

async function connected(opts: Parameters<typeof createCard>[0] = {}): Promise<{ transport: InProcessTransport; card: ReturnType<typeof createCard> }> {
  const card = createCard(opts);
  const transport = new InProcessTransport(card);
  await transport.connect();
  return { transport, card };
}

describe('parseApduScript', () => {
  it('reads commands, expectations, labels, notes, placeholders and directives', () => {
    const s = parseApduScript(
      [
        '# header',
        '',
        '# Select MF',
        '00 A4 00 0C 02 3F 00 => 9000',
        '00b0000004 => 01 02 xx 04 9000  # read',
        '00 20 00 81 04 {PIN:4} => 9000 | 63cx',
        '00 84 00 00 08',
        '@auth-transport',
        '00 B2 01 04 00 => * 9000',
      ].join('\n'),
      'x.apdu',
    );
    expect(s.source).toBe('x.apdu');
    expect(s.steps).toHaveLength(6);
    const [sel, read, verify, challenge, auth, rec] = s.steps;
    expect(sel).toMatchObject({ kind: 'command', line: 4, label: 'Select MF', note: undefined, expect: { data: undefined, sw: ['9000'] } });
    expect(read).toMatchObject({ line: 5, note: 'read', expect: { data: '0102XX04', sw: ['9000'] } });
    expect(verify).toMatchObject({ expect: { data: undefined, sw: ['9000', '63CX'] } });
    if (verify?.kind !== 'command') throw new Error('command expected');
    expect(verify.parts).toHaveLength(2);
    expect(verify.parts[1]).toEqual({ kind: 'secret', name: 'PIN', length: 4 });
    expect(challenge).toMatchObject({ kind: 'command', expect: undefined });
    expect(auth).toMatchObject({ kind: 'directive', directive: 'auth-transport', line: 8 });
    expect(rec).toMatchObject({ expect: { data: '*', sw: ['9000'] } });
    expect(scriptSecrets(s)).toEqual(['PIN']);
  });

  it('round trips the shipped demo script through formatApduScript', () => {
    const text = readFileSync(shippedScriptPath(DEMO_SCRIPT), 'utf8');
    const a = parseApduScript(text, DEMO_SCRIPT);
    const b = parseApduScript(formatApduScript(a), DEMO_SCRIPT);
    expect(shape(b.steps)).toEqual(shape(a.steps));
    expect(a.steps.length).toBeGreaterThan(40);
  });

  it('round trips random scripts (format ∘ parse is the identity on steps)', () => {
    const hexByte = fc.integer({ min: 0, max: 255 }).map((b) => b.toString(16).toUpperCase().padStart(2, '0'));
    const patByte = fc.oneof(hexByte, fc.constant('XX'), fc.constant('*'), fc.constant('0X'));
    const sw = fc.array(fc.constantFrom('0', '6', '9', 'C', 'X'), { minLength: 4, maxLength: 4 }).map((a) => a.join(''));
    const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_-]{0,8}$/);
    const label = fc.option(fc.stringMatching(/^[A-Za-z][A-Za-z0-9 ,.()]{0,20}[A-Za-z0-9]$/), { nil: undefined });
    const part = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 6 }).map((bytes) => ({ kind: 'bytes' as const, bytes })),
      fc.record({ kind: fc.constant('secret' as const), name, length: fc.option(fc.integer({ min: 1, max: 255 }), { nil: undefined }) }),
    );
    const command = fc.record({
      kind: fc.constant('command' as const),
      line: fc.constant(0),
      label,
      note: label,
      parts: fc.tuple(fc.uint8Array({ minLength: 4, maxLength: 8 }), fc.array(part, { maxLength: 3 })).map(([head, rest]) => {
        // Adjacent literal runs merge when parsed; build them merged.
        const out: ({ kind: 'bytes'; bytes: Uint8Array } | { kind: 'secret'; name: string; length: number | undefined })[] = [{ kind: 'bytes', bytes: head }];
        for (const p of rest) {
          const prev = out[out.length - 1]!;
          if (p.kind === 'bytes' && prev.kind === 'bytes') out[out.length - 1] = { kind: 'bytes', bytes: new Uint8Array([...prev.bytes, ...p.bytes]) };
          else out.push(p);
        }
        return out;
      }),
      expect: fc.option(
        fc.record({
          data: fc.option(fc.array(patByte, { minLength: 1, maxLength: 5 }).map((a) => a.join('')), { nil: undefined }),
          sw: fc.array(sw, { minLength: 1, maxLength: 3 }),
        }),
        { nil: undefined },
      ),
    });
    const directive = fc.record({ kind: fc.constant('directive' as const), line: fc.constant(0), label, note: label, directive: fc.constantFrom(...DIRECTIVES) });
    fc.assert(
      fc.property(fc.array(fc.oneof(command, directive), { maxLength: 8 }), (steps) => {
        // A step without a label inherits the one above it when parsed; give it that label.
        let last: string | undefined;
        const normal = steps.map((s) => {
          const l = s.label ?? last;
          last = l;
          return { ...s, label: l };
        });
        const parsed = parseApduScript(formatApduScript({ steps: normal }), 'p.apdu');
        expect(shape(parsed.steps)).toEqual(shape(normal));
      }),
      { numRuns: 200 },
    );
  });

  it('names file and line in parse errors', () => {
    const cases: [string, number, RegExp][] = [
      ['00A4000C023F00 => 9000\n00 A4 0G', 2, /not hex/],
      ['# c\n\n00B0000004 => 90000', 3, /expected SW "90000"/],
      ['00B0000004 =>', 1, /nothing after "=>"/],
      ['@frobnicate', 1, /unknown directive "@frobnicate"/],
      ['@reset => 9000', 1, /takes no expectation/],
      ['00B0000004 => {PIN} 9000', 1, /placeholders are not allowed in expectations/],
      ['00 20 00 81 04 {1PIN}', 1, /malformed placeholder/],
      ['00 20 00 81 04 {PIN', 1, /malformed placeholder/],
      ['00 20 00 81 04 {PIN:0}', 1, /length must be 1..255/],
      ['00 20 00', 1, /at least four literal bytes/],
      ['{PIN} 00 20 00 81', 1, /at least four literal bytes/],
      ['00B0000004 => 0102 | 0304 9000', 1, /"\|" separates status words only/],
      ['00B0000004 => 01G2 9000', 1, /expected data "01G2"/],
      ['00B0000004 => 012 9000', 1, /expected data "012"/],
    ];
    for (const [text, line, re] of cases) {
      const e = parseError(text);
      expect(e.line, text).toBe(line);
      expect(e.message, text).toMatch(new RegExp(`^x\\.apdu:${line}: `));
      expect(e.message, text).toMatch(re);
    }
  });
});

describe('matchesExpectation', () => {
  const e = (text: string): Parameters<typeof matchesExpectation>[0] => {
    const s = parseApduScript(`00B0000000 => ${text}`).steps[0];
    if (s?.kind !== 'command' || s.expect === undefined) throw new Error('no expectation');
    return s.expect;
  };
  it('matches status words with wildcards and alternatives', () => {
    expect(matchesExpectation(e('9000'), '', 0x9000)).toBe(true);
    expect(matchesExpectation(e('9000'), '', 0x6982)).toBe(false);
    expect(matchesExpectation(e('63CX'), '', 0x63c2)).toBe(true);
    expect(matchesExpectation(e('63CX'), '', 0x6300)).toBe(false);
    expect(matchesExpectation(e('9000 | 6282'), '', 0x6282)).toBe(true);
    expect(matchesExpectation(e('61XX|9000'), '', 0x6110)).toBe(true);
  });
  it('requires no data unless data is written, and matches data patterns', () => {
    expect(matchesExpectation(e('9000'), '01', 0x9000)).toBe(false);
    expect(matchesExpectation(e('* 9000'), '', 0x9000)).toBe(true);
    expect(matchesExpectation(e('* 9000'), '0102', 0x9000)).toBe(true);
    expect(matchesExpectation(e('01 XX 03 9000'), '01FF03', 0x9000)).toBe(true);
    expect(matchesExpectation(e('01 XX 03 9000'), '01FF0304', 0x9000)).toBe(false);
    expect(matchesExpectation(e('01 * 04 9000'), '0104', 0x9000)).toBe(true);
    expect(matchesExpectation(e('01 * 04 9000'), '01020304', 0x9000)).toBe(true);
    expect(matchesExpectation(e('0X 9000'), '0A', 0x9000)).toBe(true);
    expect(matchesExpectation(e('0X 9000'), 'A0', 0x9000)).toBe(false);
  });
});

describe('runApduScript', () => {
  it('runs apdu/filesystem-demo.apdu on a fresh card with every step passing', async () => {
    const { transport, card } = await connected();
    const script = parseApduScript(readFileSync(shippedScriptPath(DEMO_SCRIPT), 'utf8'), DEMO_SCRIPT);
    const run = await runApduScript(script, transport, {
      transportKey: { algorithm: '3des', value: DEFAULT_TRANSPORT_KEY },
      secrets: demoSecrets(),
    });
    const failed = run.results.filter((r) => r.verdict !== 'pass');
    expect(failed.map((r) => `${r.line}: ${r.command} ${r.message ?? r.verdict}`)).toEqual([]);
    expect(run.ok).toBe(true);
    expect(run.passed).toBe(script.steps.length);
    expect(card.state.lifeCycle).toBe('operational');
    // No secret reaches the report: not the demo PINs/PUK, not the transport key.
    const report = JSON.stringify(run.results);
    for (const v of [...Object.values(demoSecrets()), DEFAULT_TRANSPORT_KEY]) {
      expect(report).not.toContain(bytesToHex(v));
      expect(report).not.toContain(bytesToHex(v, ' '));
    }
    expect(report).toContain('00 20 00 81 04 ** ** ** **');
  });

  it('runFilesystemDemo reports files, reads, the PIN life cycle and activation', async () => {
    const seen: number[] = [];
    const r = await runFilesystemDemo({ onStep: (_r, i) => seen.push(i) });
    expect(r.ok).toBe(true);
    expect(seen.length).toBe(r.run.results.length);
    expect(r.filesCreated).toBe(4);
    expect(r.files.map((f) => `${f.fid} ${f.type}`)).toEqual(['3F00 DF', '1000 DF', '1001 transparent', '1002 linear-fixed', '1003 cyclic']);
    expect(r.readsVerified).toBeGreaterThanOrEqual(6);
    expect(r.pinEvents.map((e) => e.sw)).toContain(0x63c2);
    expect(r.pinEvents.map((e) => e.sw)).toContain(0x6983);
    expect(r.lifeCycle).toEqual({ before: 'personalization', after: 'operational' });
    expect(r.refusedAfterActivation).toBe(2);
  });

  it('checks secrets and the transport key before sending anything', async () => {
    const script = parseApduScript('00A4000C023F00 => 9000\n00 20 00 81 04 {PIN:4} => 9000\n@auth-transport\n', 's.apdu');
    expect(() => checkScriptInputs(script, { transportKey: { algorithm: '3des', value: DEFAULT_TRANSPORT_KEY } })).toThrow(
      /^s\.apdu:2: placeholder \{PIN\} has no value/,
    );
    expect(() => checkScriptInputs(script, { secrets: { PIN: hexToBytes('313233') }, transportKey: { algorithm: '3des', value: DEFAULT_TRANSPORT_KEY } })).toThrow(
      /^s\.apdu:2: secret "PIN" must be 4 bytes for this script, got 3/,
    );
    expect(() => checkScriptInputs(script, { secrets: { PIN: hexToBytes('31323334') } })).toThrow(/^s\.apdu:3: @auth-transport needs the transport key/);
    const { transport, card } = await connected();
    const before = card.nv.writes;
    await expect(runApduScript(script, transport, {})).rejects.toBeInstanceOf(ScriptSetupError);
    expect(card.nv.writes).toBe(before);
  });

  it('stops at the first failed expectation unless told to go on', async () => {
    const text = '00A4000C023F00 => 6A82\n00A4000C023F00 => 9000\n00A4000C021234 => 6A82\n';
    const script = parseApduScript(text, 'f.apdu');
    const stop = await runApduScript(script, (await connected()).transport);
    expect(stop.ok).toBe(false);
    expect(stop.results).toHaveLength(1);
    expect(stop.results[0]).toMatchObject({ verdict: 'fail', line: 1, message: 'expected 6A82, got 9000 Normal processing' });
    expect(stop.skipped).toBe(2);
    const go = await runApduScript(script, (await connected()).transport, { stopOnFailure: false });
    expect(go.results.map((r) => r.verdict)).toEqual(['fail', 'pass', 'pass']);
    expect(go).toMatchObject({ passed: 2, failed: 1, skipped: 0, ok: false });
  });

  it('performs @auth-transport with 3DES and AES keys, and fails with a wrong key', async () => {
    const aesKey = hexToBytes('000102030405060708090A0B0C0D0E0F');
    const script = parseApduScript('@auth-transport\n00 E0 00 00 09 62 07 82 01 01 83 02 20 01 => 9000\n', 'a.apdu');
    const des = await runApduScript(script, (await connected()).transport, { transportKey: { algorithm: '3des', value: DEFAULT_TRANSPORT_KEY } });
    expect(des.ok).toBe(true);
    expect(des.results[0]!.exchanges.map((x) => x.command.slice(0, 11))).toEqual(['00 84 00 00', '00 82 00 00']);
    expect(des.results[0]!.exchanges[1]!.command).toBe('00 82 00 00 08 ** ** ** ** ** ** ** **');
    const aes = await runApduScript(script, (await connected({ transportKey: aesKey, transportKeyAlgorithm: 'aes' })).transport, {
      transportKey: { algorithm: 'aes', value: aesKey },
    });
    expect(aes.ok).toBe(true);
    expect(aes.results[0]!.exchanges[1]!.command).toMatch(/^00 82 00 00 10 /);
    const wrong = await runApduScript(script, (await connected()).transport, { transportKey: { algorithm: '3des', value: aesKey } });
    expect(wrong.ok).toBe(false);
    expect(wrong.results[0]).toMatchObject({ verdict: 'fail', command: '@auth-transport' });
    expect(wrong.results[0]!.message).toMatch(/^EXTERNAL AUTHENTICATE with the transport key: /);
  });

  it('computes the documented cryptogram: CBC zero IV, padded only when needed', () => {
    const challenge = hexToBytes('0102030405060708');
    const des = transportCryptogram({ algorithm: '3des', value: DEFAULT_TRANSPORT_KEY }, challenge);
    expect(des).toHaveLength(8);
    const aes = transportCryptogram({ algorithm: 'aes', value: DEFAULT_TRANSPORT_KEY }, challenge);
    expect(aes).toHaveLength(16);
  });

  it('masks placeholder bytes in reports even for commands trace.ts does not treat as secret', async () => {
    const script = parseApduScript('00 CA 00 46 00 => * 9000\n00 A4 00 0C 02 {FID:2} => 9000\n', 'm.apdu');
    const run = await runApduScript(script, (await connected()).transport, { secrets: { FID: hexToBytes('3F00') } });
    expect(run.ok).toBe(true);
    expect(run.results[1]!.command).toBe('00 A4 00 0C 02 ** **');
  });

  it('handles power directives; a mute card ends the run with the transport error', async () => {
    const script = parseApduScript('@reset\n@power-off\n@power-on\n00A4000C023F00 => 9000\n@power-off\n00A4000C023F00 => 9000\n00A4000C023F00\n', 'p.apdu');
    const { transport, card } = await connected();
    const run = await runApduScript(script, transport);
    expect(run.results.map((r) => r.verdict)).toEqual(['pass', 'pass', 'pass', 'pass', 'pass', 'error']);
    expect(run.results[0]!.response).toBe(bytesToHex(card.atr));
    expect(run.aborted).toBeInstanceOf(CardMuteError);
    expect(run.skipped).toBe(1);
    expect(run.ok).toBe(false);
  });
});
