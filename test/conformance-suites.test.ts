/**
 * The shipped conformance suites (test-vectors/card-os, test-vectors/icao, test-vectors/formats)
 * replayed against the simulator, each file on a fresh card, with every step passing — what CI
 * runs (icao/read-personalized.vec on a card personalized from profiles/icao-td1.yaml, with
 * passive authentication checked by the run). Also: the suites cover every card-OS command with a
 * positive case and an error; the BAC and PACE session vectors put exactly the ICAO 9303-11
 * Appendix D and G APDUs on the wire; and the
 * runner's verdicts and reports (failures with expected and received, capabilities, fail-fast,
 * failed sessions, a mute card, missing secrets).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '../src/bytes/index.js';
import { buildAtr, DEFAULT_CAPABILITIES } from '../src/atr/index.js';
import { createCard } from '../src/card/os.js';
import { serializeCard } from '../src/card/image.js';
import { OS_COMMANDS } from '../src/card/commands/index.js';
import { INS, insName } from '../src/apdu/ins.js';
import type { Transport } from '../src/transport/types.js';
import {
  RecordingTransport,
  VectorRecorder,
  allSteps,
  expandVectorPaths,
  formatConsoleReport,
  parseVectorText,
  prepareReplay,
  readVectorFile,
  replayJson,
  replayJunit,
  runReplay,
  type ReplayOptions,
  type ReplayResult,
  type Vector,
} from '../src/conformance/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SUITES = ['test-vectors/card-os', 'test-vectors/icao', 'test-vectors/formats'].map((d) => join(ROOT, d));
const SIM: ReplayOptions['target'] = { kind: 'simulator' };

async function replay(vectors: readonly Vector[], opts: Omit<ReplayOptions, 'target'> & { target?: ReplayOptions['target'] } = {}): Promise<ReplayResult> {
  const o: ReplayOptions = { ...opts, target: opts.target ?? SIM };
  const { plan, errors } = await prepareReplay(vectors, o);
  if (errors.length > 0) throw errors[0]!;
  return runReplay(plan, o);
}

describe('shipped suites', () => {
  const files = expandVectorPaths(SUITES);

  it('are all there', () => {
    const names = files.map((f) => f.slice(ROOT.length));
    for (const want of [
      'card-os/select.vec',
      'card-os/binary.vec',
      'card-os/records.vec',
      'card-os/data-objects.vec',
      'card-os/authenticate.vec',
      'card-os/pin-life-cycle.vec',
      'card-os/channels.vec',
      'card-os/chaining-get-response.vec',
      'card-os/file-management.vec',
      'card-os/apdu.vec',
      'card-os/apdu-one-byte.vec',
      'card-os/personalization-lock.vec',
      'icao/bac-appendix-d.vec',
      'icao/bac-session.vec',
      'icao/pace-appendix-g.vec',
      'icao/pace-session.vec',
      'icao/read-personalized.vec',
    ]) {
      expect(names.some((n) => n.endsWith(want)), want).toBe(true);
    }
  });

  for (const f of files) {
    it(`${f.slice(ROOT.length)}: every step passes on a fresh simulated card`, async () => {
      const v = readVectorFile(f);
      const r = await replay([v]);
      const run = r.files[0]!.run!;
      const bad = run.results.filter((s) => s.verdict !== 'pass' && s.verdict !== 'sent');
      expect(bad.length, formatConsoleReport(r)).toBe(0);
      expect(r.ok).toBe(true);
      if (v.format === 'chipwright' || v.format === 'etsi') expect(run.passed).toBeGreaterThan(5);
    });
  }

  it('cover every card-OS command with a positive case and an error', () => {
    const seen = new Map<number, { ok: boolean; error: boolean }>();
    for (const f of expandVectorPaths([join(ROOT, 'test-vectors/card-os')])) {
      for (const s of allSteps(readVectorFile(f).steps)) {
        if (s.kind !== 'command' || s.expect === undefined || s.apdu.literal === undefined || s.apdu.literal.length < 2) continue;
        const ins = s.apdu.literal[1]!;
        const e = seen.get(ins) ?? { ok: false, error: false };
        for (const sw of s.expect.sw) {
          const first = sw.text.slice(0, 2);
          if (['90', '61', '62'].includes(first) || sw.text === '63CX' || /^63C[0-9A-F]$/.test(sw.text) && ins === INS.VERIFY) e.ok = true;
          if (!['90', '61'].includes(first)) e.error = true;
        }
        seen.set(ins, e);
      }
    }
    const wanted = [...Object.keys(OS_COMMANDS).map(Number), INS.GET_RESPONSE];
    for (const ins of wanted) {
      const name = `${insName(ins)} (${ins.toString(16).toUpperCase()})`;
      expect(seen.get(ins)?.ok, `${name}: a positive vector`).toBe(true);
      expect(seen.get(ins)?.error, `${name}: an error vector`).toBe(true);
    }
  });
});

/** Records the wire below the runner's transports. */
function wireOf(recorder: VectorRecorder): { command: string; response: string }[] {
  return recorder.events.flatMap((e) => (e.kind === 'exchange' ? [{ command: bytesToHex(e.command), response: bytesToHex(e.response) }] : []));
}

describe('ICAO worked examples through the terminal', () => {
  it('bac-session.vec puts Appendix D.3 and D.4 on the wire, byte for byte', async () => {
    const D = JSON.parse(readFileSync(join(ROOT, 'test-vectors/icao-9303-11-appendix-d.json'), 'utf8')) as {
      d3: { getChallenge: { command: string; response: string }; externalAuthenticate: { command: string; response: string } };
      d4: { steps: { protectedCommand: string; protectedResponse: string }[] };
    };
    const recorder = new VectorRecorder();
    const r = await replay([readVectorFile(join(ROOT, 'test-vectors/icao/bac-session.vec'))], { wrap: (t: Transport) => new RecordingTransport(t, recorder) });
    expect(r.ok, formatConsoleReport(r)).toBe(true);
    const wire = wireOf(recorder);
    expect(wire.slice(1, 6)).toEqual([
      D.d3.getChallenge,
      D.d3.externalAuthenticate,
      ...D.d4.steps.map((s) => ({ command: s.protectedCommand, response: s.protectedResponse })),
    ]);
  });

  it('pace-session.vec puts Appendix G.1 on the wire, byte for byte', async () => {
    const G = JSON.parse(readFileSync(join(ROOT, 'test-vectors/icao-9303-11-appendix-g.json'), 'utf8')) as { exchange: { command: string; response: string }[] };
    const recorder = new VectorRecorder();
    const r = await replay([readVectorFile(join(ROOT, 'test-vectors/icao/pace-session.vec'))], { wrap: (t: Transport) => new RecordingTransport(t, recorder) });
    expect(r.ok, formatConsoleReport(r)).toBe(true);
    expect(wireOf(recorder).slice(1, 6)).toEqual(G.exchange.map(({ command, response }) => ({ command, response })));
  });
});

describe('the runner', () => {
  const vec = (body: string, header = 'card: blank'): Vector => parseVectorText(`name: t\nsource: test\n${header}\n${body}`, join(ROOT, 'test-vectors', 'inline.vec'));

  it('reports a failure with the command, the expectation, what came back and the SW meanings', async () => {
    const r = await replay([vec('power on\n# Select\n00 A4 00 0C 02 3F 01 => 9000 | 6283\n00 CA 5F 52 00 => 5F 52 05 80 73 F6 22 DB 9000\n00 20 00 81 04 31 32 33 34 => 9000\n')]);
    expect(r.ok).toBe(false);
    const text = formatConsoleReport(r, { cwd: ROOT });
    expect(text).toContain('✗ test-vectors/inline.vec — t: 0 passed, 3 failed, 1 sent unchecked');
    expect(text).toContain('test-vectors/inline.vec:6  Select: 00 A4 00 0C 02 3F 01');
    expect(text).toContain('expected  9000 | 6283   (9000 Normal processing; 6283 Warning: selected file deactivated)');
    expect(text).toContain('received  6A82 File or application not found');
    expect(text).toContain('first difference at data byte 6');
    // VERIFY data is never shown.
    expect(text).toContain('00 20 00 81 04 ** ** ** **');
    expect(text).not.toContain('31 32 33 34');
    const json = replayJson(r) as { ok: boolean; files: { steps: { verdict: string; sw: string | null; meaning: string | null }[] }[] };
    expect(json.ok).toBe(false);
    expect(json.files[0]!.steps[1]).toMatchObject({ verdict: 'fail', sw: '6A82', meaning: 'File or application not found' });
    const xml = replayJunit(r, { cwd: ROOT, timestamp: new Date(0) });
    expect(xml).toContain('<testsuites name="chipwright replay" tests="4" failures="3" errors="0" skipped="0"');
    expect(xml).toContain('<failure message="expected 9000 | 6283, got 6A82" type="command">');
  });

  it('skips files whose capabilities the card lacks, and those excluded with --without', async () => {
    const atr = buildAtr({ protocols: [1], capabilities: { ...DEFAULT_CAPABILITIES, extendedLength: false, logicalChannels: { ...DEFAULT_CAPABILITIES.logicalChannels, max: 1 } } });
    const image = serializeCard(createCard({ atr, maxChannels: 1 }));
    const target: ReplayOptions['target'] = { kind: 'simulator', card: { path: 'small.json', text: image } };
    const r = await replay(
      [vec('00 A4 00 0C 02 3F 00 => 9000\n', 'card: blank\nrequires: extended-length'), vec('00 A4 00 0C 02 3F 00 => 9000\n', 'card: blank\nrequires: logical-channels 4'), vec('00 A4 00 0C 02 3F 00 => 9000\n', 'card: blank\nrequires: chaining')],
      { target },
    );
    expect(r.files.map((f) => f.verdict)).toEqual(['skipped', 'skipped', 'pass']);
    expect(r.files[0]!.skipReason).toMatch(/extended Lc\/Le/);
    expect(r.files[1]!.skipReason).toMatch(/requires 4 logical channels; the card's ATR announces 1/);
    expect(r.ok).toBe(true);
    const w = await replay([vec('00 A4 00 0C 02 3F 00 => 9000\n', 'card: blank\nrequires: bac')], { without: ['bac'] });
    expect(w.files[0]!.skipReason).toBe('requires bac, excluded with --without bac');
    const perso = await replay([readVectorFile(join(ROOT, 'test-vectors/card-os/personalization-lock.vec'))], { target: { kind: 'simulator', card: { path: 'card-os.json', text: readFileSync(join(ROOT, 'test-vectors/cards/card-os.json'), 'utf8') } } });
    expect(perso.files[0]!.skipReason).toMatch(/past it/);
  });

  it('goes on after a failure unless told to stop; a mute card ends the file', async () => {
    const body = '00 A4 00 0C 02 3F 01 => 9000\n00 A4 00 0C 02 3F 00 => 9000\npower off\n00 A4 00 0C 02 3F 00 => 9000\n00 A4 00 0C 02 3F 00 => 9000\n';
    const all = await replay([vec(body)]);
    expect(all.files[0]!.run!.results.map((s) => s.verdict)).toEqual(['fail', 'pass', 'sent', 'error', 'skipped']);
    expect(all.files[0]!.run!.results[3]!.message).toMatch(/the card did not answer/);
    const fast = await replay([vec(body)], { failFast: true });
    expect(fast.files[0]!.run!.results.map((s) => s.verdict)).toEqual(['fail', 'skipped', 'skipped', 'skipped', 'skipped']);
  });

  it('skips the block of a session that could not be established, and values never captured', async () => {
    const r = await replay([
      vec(
        'power on\n00 A4 04 0C 07 A0 00 00 02 47 10 01 => 9000\nsession bac mrz=T22000129364081251010318\n  00 B0 9E 00 04 => * 9000\nend\n00 84 00 00 08 => 00{8} 9000 capture C\n00 88 00 00 08 {C} => 9000\n',
        'card: image cards/icao-appendix-d.json',
      ),
    ]);
    const res = r.files[0]!.run!.results;
    expect(res.map((s) => s.verdict)).toEqual(['sent', 'pass', 'fail', 'skipped', 'fail', 'skipped']);
    expect(res[2]!.message).toMatch(/BAC failed: EXTERNAL AUTHENTICATE answered 6300/);
    expect(res[2]!.shown).toBe('session bac mrz=************************');
    expect(res[5]!.message).toMatch(/\{C\} was not captured: the step on line 9 failed/);
    // A nested block is skipped once, step by step.
    const nested = await replay([
      vec('session bac mrz=T22000129364081251010318\n  session bac mrz=L898902C<369080619406236\n    00 B0 9E 00 04 => * 9000\n  end\nend\n00 A4 00 0C 02 3F 00 => 9000\n', 'card: image cards/icao-appendix-d.json'),
    ]);
    expect(nested.files[0]!.run!.results.map((x) => `${x.line}:${x.verdict}:${x.depth}`)).toEqual(['4:fail:0', '5:skipped:1', '6:skipped:2', '9:pass:0']);
  });

  it('checks every file before anything runs: secrets, card images, profiles', async () => {
    const needs = vec('00 20 00 01 04 {PIN} => 9000\n');
    const bad = [needs, vec('00 A4 => 9000\n', 'card: image nowhere.json'), vec('00 A4 => 9000\n', 'card: profile p.yaml data d.json'), vec('00 A4 => 9000\n', 'card: external')];
    const { errors } = await prepareReplay(bad, { target: SIM });
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/needs secret \{PIN\}; give them with --secrets FILE/),
      expect.stringMatching(/inline\.vec:3: card: image nowhere\.json: no such file/),
      expect.stringMatching(/inline\.vec:3: card: profile \S*p\.yaml: .*p\.yaml/),
      expect.stringMatching(/inline\.vec:3: card: external: give the card/),
    ]);
    const ok = await replay([needs], { secrets: { PIN: new TextEncoder().encode('1234') } });
    expect(ok.files[0]!.run!.results[0]!.verdict).toBe('fail'); // a blank card has no PIN 01: 6A88
    expect(ok.files[0]!.run!.results[0]!.shown).toBe('00 20 00 01 04 ** ** ** **');
  });

  it('runs files on one card with a shared card, in order', async () => {
    const a = vec('auth transport-key\n00 DA 00 43 01 AA => 9000\n');
    const b = vec('00 CA 00 43 00 => 43 01 AA 9000\n');
    expect((await replay([a, b])).files.map((f) => f.verdict)).toEqual(['pass', 'fail']);
    expect((await replay([a, b], { target: { kind: 'simulator', shared: true } })).files.map((f) => f.verdict)).toEqual(['pass', 'pass']);
  });
});
