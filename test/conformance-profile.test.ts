/**
 * Vectors on a personalized card (`card: profile PROFILE DATA`, `chipwright replay --profile P
 * --data D`): one personalization per distinct pair, a fresh clone per file; the generated PINs
 * and the test CSCA as predefined values that no report, JSON, JUnit or recording shows; and the
 * `check passive-authentication` step — valid over what was read, failing with the data group and
 * the reason when a captured file was changed or the expectation is wrong.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex } from '../src/bytes/index.js';
import { main } from '../src/cli/main.js';
import type { CliIo } from '../src/cli/io.js';
import { EXIT } from '../src/cli/exit-codes.js';
import type { Transport } from '../src/transport/types.js';
import {
  RecordingTransport,
  VectorError,
  VectorRecorder,
  formatConsoleReport,
  formatVector,
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
const SUITE = join(ROOT, 'test-vectors/icao/read-personalized.vec');
const PROFILE = join(ROOT, 'profiles/icao-td1.yaml');
const DATA = join(ROOT, 'profiles/samples/specimen-full.yaml');
const CARD = `card: profile ${PROFILE} ${DATA}`;

/** A vector on the personalized card, opened with PACE and the CAN, with the identity application selected. */
const vec = (body: string, name = 'inline.vec'): Vector =>
  parseVectorText(
    `name: t\nsource: test\n${CARD}\n00 B0 9C 00 00 => * 9000 capture CA\nsession pace can={CAN} card-access={CA}\n00 A4 04 0C 07 A0 00 00 02 47 10 01 => 9000\n${body}\nend\n`,
    join(ROOT, 'test-vectors', name),
  );

async function replay(vectors: readonly Vector[], opts: Partial<ReplayOptions> = {}): Promise<ReplayResult> {
  const o: ReplayOptions = { target: { kind: 'simulator' }, ...opts };
  const { plan, errors } = await prepareReplay(vectors, o);
  if (errors.length > 0) throw errors[0]!;
  return runReplay(plan, o);
}

/** Everything a run's reports say: console (verbose), JSON and JUnit. */
function allReports(r: ReplayResult): string {
  return [formatConsoleReport(r, { verbose: true, cwd: ROOT }), JSON.stringify(replayJson(r)), replayJunit(r, { cwd: ROOT })].join('\n');
}

const READ_ALL =
  '00 B0 81 00 00 00 00 => * 9000 capture DG1 capture DG1_HEAD[0..5] capture DG1_TAIL[6..]\n' +
  '00 B0 8B 00 00 00 00 => * 9000 capture DG11\n' +
  '00 B0 9D 00 00 00 00 => * 9000 capture SOD\n';

describe('card: profile', () => {
  it('personalizes once per (profile, data) and gives every file its own clone with the same values', async () => {
    const a = vec('00 B0 9E 00 04 => 60 17 5F 01 9000');
    const b = vec('00 B0 9E 00 04 => 60 17 5F 01 9000');
    const { plan, errors } = await prepareReplay([a, b], { target: { kind: 'simulator' } });
    expect(errors).toEqual([]);
    const [p, q] = plan.files;
    expect(p!.values).toBe(q!.values); // one personalization
    expect(Object.keys(p!.values!).sort()).toEqual(['CAN', 'CSCA', 'PIN', 'PUK']);
    expect(new TextDecoder().decode(p!.values!.CAN)).toMatch(/^\d{6}$/);
    const c1 = p!.makeCard!();
    const c2 = q!.makeCard!();
    expect(c1).not.toBe(c2);
    expect(c1.state.lifeCycle).toBe('operational');
    const r = await runReplay(plan, { target: { kind: 'simulator' } });
    expect(r.ok, formatConsoleReport(r)).toBe(true);
  });

  it('reads "profile PROFILE DATA" and "profile PROFILE data DATA"; refuses anything else with the line', () => {
    for (const c of [CARD, `card: profile ${PROFILE} data ${DATA}`]) {
      const v = parseVectorText(`name: t\nsource: s\n${c}\n00 A4 00 0C 02 3F 00 => 9000\n`, 'x.vec');
      expect(v.header.card).toMatchObject({ kind: 'profile', profile: PROFILE, data: DATA });
    }
    expect(() => parseVectorText('name: t\nsource: s\ncard: profile only.yaml\n', 'x.vec')).toThrow('x.vec:3: card: expected "profile PROFILE DATA"');
    expect(() => parseVectorText('name: t\nsource: s\ncard: profile a b c\n', 'x.vec')).toThrow(VectorError);
  });

  it('a profile or holder file that cannot be used stops the replay before anything runs, naming the line', async () => {
    const missing = parseVectorText(`name: t\nsource: s\ncard: profile ${PROFILE} nowhere.yaml\n00 A4 00 0C 02 3F 00 => 9000\n`, join(ROOT, 'test-vectors/x.vec'));
    const { errors } = await prepareReplay([missing], { target: { kind: 'simulator' } });
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/x\.vec:3: card: holder data .*nowhere\.yaml: no such file/)]);
  });

  it('the shipped suite passes on a fresh card, and the same vectors pass again on another personalization', async () => {
    const v = readVectorFile(SUITE);
    for (let i = 0; i < 2; i++) {
      const r = await replay([v]);
      expect(r.ok, formatConsoleReport(r)).toBe(true);
      expect(r.files[0]!.run!.failed).toBe(0);
      const checks = r.files[0]!.run!.results.filter((s) => s.kind === 'check');
      expect(checks.map((c) => c.verdict)).toEqual(['pass', 'pass']);
      expect(checks[0]!.message).toMatch(/^valid: .*signature by the document signer verifies.*issued by .*chipwright TEST CSCA.*DG1, DG2, DG3, DG11, DG12 match EF\.SOD \(SHA-256\)/);
      expect(checks[1]!.message).toMatch(/^invalid as expected: DG1 \(\{DG1_CHANGED\}\) INVALID: SHA-256 of the 95 bytes read differs from EF\.SOD/);
    }
  });
});

describe('the card\'s secrets', () => {
  it('are usable by commands and sessions and never appear in console, JSON or JUnit reports', async () => {
    // A failing VERIFY with the right PIN shows its command and response in detail.
    const v = vec('00 20 00 03 06 {PIN} => 6300\nlet P = {PIN}\n00 20 00 03 06 {P} => 6300\n00 20 00 03 => 9000\n');
    const { plan } = await prepareReplay([v], { target: { kind: 'simulator' } });
    const values = plan.files[0]!.values!;
    const r = await runReplay(plan, { target: { kind: 'simulator' } });
    const res = r.files[0]!.run!.results;
    expect(res.map((s) => s.verdict)).toEqual(['pass', 'pass', 'pass', 'fail', 'fail', 'pass']);
    const text = allReports(r);
    expect(text).toContain('00 20 00 03 06 ** ** ** ** ** **');
    expect(text).toContain('session pace can={CAN}');
    for (const name of ['PIN', 'CAN', 'PUK']) {
      const ascii = new TextDecoder().decode(values[name]);
      for (const form of [bytesToHex(values[name]!), bytesToHex(values[name]!, ' '), `=${ascii}`, ` ${ascii} `]) expect(text, `${name} as ${form}`).not.toContain(form);
    }
    expect(text).not.toContain(bytesToHex(values.CSCA!).slice(0, 64));
  });

  it('never reach a recording of the replay', async () => {
    const recorder = new VectorRecorder();
    const v = readVectorFile(SUITE);
    const { plan } = await prepareReplay([v], { target: { kind: 'simulator' } });
    const values = plan.files[0]!.values!;
    const r = await runReplay(plan, { target: { kind: 'simulator' }, wrap: (t: Transport) => new RecordingTransport(t, recorder) });
    expect(r.ok).toBe(true);
    const { text, secrets } = recorder.recording();
    for (const name of ['PIN', 'CAN', 'PUK']) {
      expect(text).not.toContain(bytesToHex(values[name]!, ' '));
      expect(Object.values(secrets)).not.toContain(bytesToHex(values[name]!));
    }
    // PACE's nonces and cryptograms are kept as lengths only.
    expect(text).toMatch(/=> 7C 12 80 10 XX\{16\} 9000|XX\{\d+\} 9000/);
  });
});

describe('check passive-authentication', () => {
  it('fails naming the data group and the value when a captured file was changed', async () => {
    const r = await replay([
      vec(`${READ_ALL}let BAD = {DG1_HEAD} 58 {DG1_TAIL}\ncheck passive-authentication sod={SOD} dg1={BAD} dg11={DG11}\n`),
    ]);
    expect(r.ok).toBe(false);
    const step = r.files[0]!.run!.results.find((s) => s.kind === 'check')!;
    expect(step.verdict).toBe('fail');
    expect(step.message).toMatch(/^passive authentication INVALID: DG1 \(\{BAD\}\) INVALID: SHA-256 of the 95 bytes read differs from EF\.SOD \(EF\.SOD [0-9A-F]{16}…, read [0-9A-F]{16}…\)$/);
    const text = formatConsoleReport(r, { cwd: ROOT });
    expect(text).toContain('✗ test-vectors/inline.vec:11  check passive-authentication sod={SOD} dg1={BAD} dg11={DG11}');
    expect(text).toContain('expected  valid');
    expect(text).toContain('why       passive authentication INVALID: DG1 ({BAD}) INVALID');
    expect(replayJunit(r, { cwd: ROOT })).toMatch(/<failure message="passive authentication INVALID: DG1 \(\{BAD\}\) INVALID: SHA-256 of the 95 bytes read differs from EF\.SOD \(EF\.SOD [0-9A-F]{16}…, read [0-9A-F]{16}…\)" type="check">/);
  });

  it('fails when the expectation is wrong, when EF.SOD is cut, and when the CSCA is not the signer\'s', async () => {
    const r = await replay([
      vec(
        `${READ_ALL}` +
          'check passive-authentication sod={SOD} dg1={DG1} => invalid\n' +
          '00 B0 9D 00 10 => * 9000 capture SOD_CUT\n' +
          'check passive-authentication sod={SOD_CUT} dg1={DG1}\n' +
          'let OTHER = 30 03 02 01 00\n' +
          'check passive-authentication sod={SOD} dg1={DG1} csca={OTHER}\n' +
          'check passive-authentication sod={SOD} dg1={DG1} dg12={DG11}\n',
      ),
    ]);
    const checks = r.files[0]!.run!.results.filter((s) => s.kind === 'check');
    expect(checks.map((c) => c.verdict)).toEqual(['fail', 'fail', 'fail', 'fail']);
    expect(checks[0]!.message).toMatch(/^expected passive authentication to fail, but it is valid$/);
    expect(checks[1]!.message).toMatch(/^passive authentication INVALID: EF\.SOD \(\{SOD_CUT\}\) INVALID: /);
    expect(checks[2]!.message).toMatch(/chain INVALID: the document signer \(issuer .*\) was not issued by any of the 1 CSCA certificate\(s\) given \(1 did not parse\)/);
    expect(checks[3]!.message).toMatch(/^passive authentication INVALID: DG12 \(\{DG11\}\) INVALID: SHA-256 of the 212 bytes read differs from EF\.SOD \(EF\.SOD /);
  });

  it('is skipped when a value it needs was not captured', async () => {
    const r = await replay([vec('00 B0 9D 00 00 00 00 => 00 9000 capture SOD\n00 B0 81 00 00 00 00 => * 9000 capture DG1\ncheck passive-authentication sod={SOD} dg1={DG1}\n')]);
    const step = r.files[0]!.run!.results.find((s) => s.kind === 'check')!;
    expect(step.verdict).toBe('skipped');
    expect(step.message).toMatch(/\{SOD\} was not captured: the step on line 7 failed/);
  });

  it('names the line of every mistake in the step', () => {
    const bad = (step: string): string => {
      try {
        parseVectorText(`name: t\nsource: s\ncard: blank\n00 B0 9D 00 00 => * 9000 capture SOD\n${step}\n`, 'x.vec');
      } catch (e) {
        return (e as Error).message;
      }
      return 'parsed';
    };
    expect(bad('check passive-authentication dg1={SOD}')).toBe('x.vec:5: check passive-authentication needs sod={NAME}: EF.SOD as read');
    expect(bad('check passive-authentication sod={SOD}')).toMatch(/^x\.vec:5: check passive-authentication needs at least one data group/);
    expect(bad('check passive-authentication sod={SOD} dg17={SOD}')).toMatch(/^x\.vec:5: check passive-authentication: unexpected "dg17="/);
    expect(bad('check passive-authentication sod=77 dg1={SOD}')).toMatch(/^x\.vec:5: check passive-authentication: sod= takes a \{NAME\}/);
    expect(bad('check passive-authentication sod={SOD} dg1={NOPE}')).toBe('x.vec:5: {NOPE} in "check passive-authentication" must be captured (or let) by an earlier step');
    expect(bad('check passive-authentication sod={SOD} dg1={SOD} => maybe')).toMatch(/after "=>" expected "valid" or "invalid", got "maybe"/);
    expect(bad('check signature sod={SOD}')).toMatch(/^x\.vec:5: expected "check passive-authentication/);
    // The CSCA defaults to {CSCA}: a secret on any card but a profile's, asked for before running.
    const v = parseVectorText('name: t\nsource: s\ncard: blank\n00 B0 9D 00 00 => * 9000 capture SOD\ncheck passive-authentication sod={SOD} dg1={SOD}\n', 'x.vec');
    expect(v.secrets).toEqual(['CSCA']);
  });

  it('is written back as read', () => {
    const text = 'name: t\nsource: s\ncard: blank\n\n00 B0 9D 00 00 => * 9000 capture SOD\ncheck passive-authentication sod={SOD} dg1={SOD} dg2={SOD} csca={SOD} => invalid\ncheck passive-authentication sod={SOD} dg11={SOD}\n';
    const v = parseVectorText(text, 'x.vec');
    expect(formatVector(v)).toBe(text);
  });
});

describe('chipwright replay --profile --data', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'chipwright-replay-profile-'));
    writeFileSync(join(dir, 'read.vec'), 'name: read\nsource: test\ncard: external\n00 B0 9C 00 00 => * 9000 capture CA\nsession pace can={CAN} card-access={CA}\n  00 A4 04 0C 07 A0 00 00 02 47 10 01 => 9000\n  00 20 00 03 06 {PIN} => 9000\nend\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function cli(args: readonly string[], command = 'replay'): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const io: CliIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), stdin: Readable.from([]), env: {}, stderrIsTTY: false };
    const code = await main(['node', 'chipwright', ...(command === '' ? [] : [command]), ...args], io);
    return { code, stdout, stderr };
  }

  it('chipwright record -- replay --profile records the replay from the personalized card, without its personalization or secrets', async () => {
    const out = join(dir, 'rec.vec');
    const r = await cli(['record', '--out', out, '--secrets-out', join(dir, 'rec.secrets.json'), '--', 'replay', join(dir, 'read.vec'), '--profile', PROFILE, '--data', DATA], '');
    expect(r.code, r.stdout + r.stderr).toBe(EXIT.OK);
    const text = readFileSync(out, 'utf8');
    // power on, READ EF.CardAccess, MSE:Set AT, 4 GENERAL AUTHENTICATE, SELECT, VERIFY, power off: no personalization APDUs.
    expect(text.split('\n').filter((l) => /^(power|[0-9A-F]{2} )/.test(l)).length).toBeLessThan(15);
    expect(text).not.toMatch(/^0C DA 01 0[1-4]/m);
    const snapshot = readFileSync(join(dir, 'rec.card.json'), 'utf8');
    expect(JSON.parse(snapshot)).toMatchObject({ lifeCycle: 'operational' });
  });

  it('runs every file on the personalized card (exit 0), the PIN masked in --json and --junit', async () => {
    const junit = join(dir, 'r.xml');
    const r = await cli([join(dir, 'read.vec'), SUITE, '--profile', PROFILE, '--data', DATA, '--json', '--junit', junit]);
    expect(r.code, r.stdout + r.stderr).toBe(EXIT.OK);
    const doc = JSON.parse(r.stdout) as { ok: boolean; files: { verdict: string; steps: { command: string }[] }[] };
    expect(doc.files.map((f) => f.verdict)).toEqual(['pass', 'pass']);
    expect(doc.files[0]!.steps.map((s) => s.command)).toContain('[SM] 00 20 00 03 06 ** ** ** ** ** **');
    expect(readFileSync(junit, 'utf8')).toContain('00 20 00 03 06 ** ** ** ** ** **');
  });

  it('refuses --profile without --data, with --card, and a missing profile file (exit 2, 3)', async () => {
    expect((await cli([join(dir, 'read.vec'), '--profile', PROFILE])).stderr).toMatch(/--profile needs --data FILE/);
    expect((await cli([join(dir, 'read.vec'), '--profile', PROFILE])).code).toBe(EXIT.USAGE);
    expect((await cli([join(dir, 'read.vec'), '--data', DATA])).code).toBe(EXIT.USAGE);
    expect((await cli([join(dir, 'read.vec'), '--profile', PROFILE, '--data', DATA, '--card', join(ROOT, 'test-vectors/cards/card-os.json')])).code).toBe(EXIT.USAGE);
    const missing = await cli([join(dir, 'read.vec'), '--profile', join(dir, 'nope.yaml'), '--data', DATA]);
    expect(missing.code).toBe(EXIT.INPUT);
    expect(missing.stderr).toMatch(/--profile .*nope\.yaml: no such file/);
    // A file on card: external without --profile still needs its secrets: nothing is run.
    const none = await cli([join(dir, 'read.vec'), '--card', join(ROOT, 'test-vectors/cards/card-os.json')]);
    expect(none.code).toBe(EXIT.USAGE);
    expect(none.stderr).toMatch(/needs secrets \{CAN\}, \{PIN\}/);
  });
});
