/**
 * `chipwright replay`, run in-process through `main(argv, io)`: the console report, `--json`,
 * `--junit`, and the exit codes — 0 every step passed, 1 a step failed, 2 a bad vector file (with
 * file and line, nothing run) or a bad command line, 3 an unreadable `--card`/`--secrets`, 5 an
 * unwritable `--junit`.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { EXIT } from '../src/cli/exit-codes.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CARD_OS = join(ROOT, 'test-vectors/cards/card-os.json');
let dir: string;
const path = (name: string): string => join(dir, name);

const cli = runCli;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'chipwright-replay-'));
  const card = `card: image ${CARD_OS}`;
  writeFileSync(path('pass.vec'), `name: passes\nsource: test\n${card}\n00 A4 00 0C 02 3F 00 => 9000\n00 B0 81 00 02 => 00 01 9000\n`);
  writeFileSync(path('fail.vec'), `name: fails\nsource: test\n${card}\n# Reading\n00 B0 81 00 02 => 00 02 9000\n00 20 00 01 04 {PIN} => 9000\n`);
  writeFileSync(path('bad.vec'), `name: bad\nsource: test\n${card}\n00 A4 00 0C 02 3F 00 => 90 00 00\n`);
  writeFileSync(path('bad2.vec'), `name: bad\nsource: test\ncard: image missing.json\n00 A4 => 9000\n`);
  writeFileSync(path('secrets.json'), JSON.stringify({ PIN: '31323334' }));
  writeFileSync(path('ext.vec'), 'name: ext\nsource: test\ncard: external\nrequires: extended-length\n00 B0 00 00 00 01 00 => 6986\n');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('chipwright replay', () => {
  it('exit 0 when every step passes, with one line per file and a summary', async () => {
    const r = await cli(['replay', path('pass.vec')]);
    expect(r.code, r.stderr).toBe(EXIT.OK);
    expect(r.stdout).toMatch(/^✓ .*pass\.vec — passes: 2 passed\n/);
    expect(r.stdout).toMatch(/replay: 1 file \(1 passed, 0 failed, 0 skipped\); 2 steps \(2 passed/);
  });

  it('replays the shipped card-OS suites from their directory', async () => {
    const r = await cli(['replay', join(ROOT, 'test-vectors/card-os'), '--json']);
    expect(r.code, r.stdout.slice(0, 2000)).toBe(EXIT.OK);
    const doc = JSON.parse(r.stdout) as { ok: boolean; files: unknown[]; totals: { failed: number; errors: number } };
    expect(doc.ok).toBe(true);
    expect(doc.files.length).toBeGreaterThanOrEqual(11);
    expect(doc.totals).toMatchObject({ failed: 0, errors: 0 });
  });

  it('exit 1 when a step fails; the report shows expected, received and the meanings', async () => {
    const r = await cli(['replay', path('fail.vec'), path('pass.vec'), '--secrets', path('secrets.json'), '--junit', path('out.xml')]);
    expect(r.code).toBe(EXIT.CHECK_FAILED);
    expect(r.stdout).toContain('fail.vec:5  Reading: 00 B0 81 00 02');
    expect(r.stdout).toContain('expected  00 02 9000   (9000 Normal processing)');
    expect(r.stdout).toContain('received  00 01  9000 Normal processing');
    expect(r.stdout).toContain('first difference at data byte 1');
    expect(r.stdout).toMatch(/replay: 2 files \(1 passed, 1 failed, 0 skipped\)/);
    const xml = readFileSync(path('out.xml'), 'utf8');
    expect(xml).toMatch(/<testsuites name="chipwright replay" tests="4" failures="1" errors="0" skipped="0"/);
    expect(xml).toContain('name="line 6: Reading: 00 20 00 01 04 ** ** ** **"');
    expect(xml).not.toContain('31 32 33 34');
  });

  it('exit 2 for a bad vector file, naming file and line; nothing is run', async () => {
    const r = await cli(['replay', path('pass.vec'), path('bad.vec'), path('bad2.vec'), path('nothere.vec')]);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${path('bad.vec')}:4: status word "00": write it as four digits without a space`);
    expect(r.stderr).toContain(`${path('bad2.vec')}:3: card: image missing.json: no such file`);
    expect(r.stderr).toContain(`${path('nothere.vec')}: no such file or directory`);
    expect(r.stderr).toContain('3 problems in the vector files; nothing was run');
    const s = await cli(['replay', path('fail.vec')]);
    expect(s.code).toBe(EXIT.USAGE);
    expect(s.stderr).toMatch(/needs secret \{PIN\}/);
  });

  it('secrets come from the environment too', async () => {
    const r = await cli(['replay', path('fail.vec')], { CHIPWRIGHT_SECRET_PIN: '31323334' });
    expect(r.code).toBe(EXIT.CHECK_FAILED);
    expect(r.stdout).toContain('1 passed, 1 failed');
  });

  it('--card replaces the files\' card; card: external needs it', async () => {
    expect((await cli(['replay', path('ext.vec')])).code).toBe(EXIT.USAGE);
    const r = await cli(['replay', path('ext.vec'), '--card', CARD_OS, '--verbose']);
    expect(r.code, r.stdout + r.stderr).toBe(EXIT.OK);
    expect(r.stdout).toMatch(/✓ .*ext\.vec:5 {2}00 B0 00 00 00 01 00 → 6986/);
    expect((await cli(['replay', path('ext.vec'), '--card', path('no.json')])).code).toBe(EXIT.INPUT);
    const skipped = await cli(['replay', path('ext.vec'), '--card', CARD_OS, '--without', 'extended-length']);
    expect(skipped.code).toBe(EXIT.OK);
    expect(skipped.stdout).toContain('skipped (requires extended-length, excluded with --without extended-length)');
  });

  it('refuses contradictory or unknown options (exit 2) and an unwritable report (exit 5)', async () => {
    for (const args of [
      ['replay', path('pass.vec'), '--card', CARD_OS, '--reader', 'x'],
      ['replay', path('pass.vec'), '--reader', 'x', '--rng', '00'],
      ['replay', path('pass.vec'), '--profile', 'p.yaml'],
      ['replay', path('pass.vec'), '--data', 'd.json'],
      ['replay', path('pass.vec'), '--profile', 'p.yaml', '--data', 'd.json', '--card', CARD_OS],
      ['replay', path('pass.vec'), '--without', 'teleport'],
      ['replay', path('pass.vec'), '--format', 'pdf'],
      ['replay', path('pass.vec'), '--rng', 'XYZ'],
    ]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(EXIT.USAGE);
      expect(r.stderr).toMatch(/^chipwright: /);
    }
    expect((await cli(['replay', path('pass.vec'), '--junit', path('nodir/x.xml')])).code).toBe(EXIT.OUTPUT);
    expect((await cli(['replay', path('pass.vec'), '--secrets', path('missing.json')])).code).toBe(EXIT.INPUT);
  });

  it('--rng feeds every fresh card the same random bytes, over the file\'s rng:', async () => {
    // GET CHALLENGE answers the card's first random bytes: a recorded session's challenges replay.
    writeFileSync(path('rng.vec'), 'name: rng\nsource: test\ncard: blank\nrng: 0101010101010101\n00 84 00 00 08 => 01 02 03 04 05 06 07 08 9000\n');
    expect((await cli(['replay', path('rng.vec')])).code).toBe(EXIT.CHECK_FAILED);
    const r = await cli(['replay', path('rng.vec'), path('rng.vec'), '--rng', '0102030405060708']);
    expect(r.code, r.stdout).toBe(EXIT.OK);
    expect(r.stdout).toContain('2 files (2 passed, 0 failed, 0 skipped)');
  });

  it('reads a file as the format given with --format', async () => {
    writeFileSync(path('script.txt'), '# card: blank\n00A4000C023F00\n');
    const r = await cli(['replay', path('script.txt'), '--format', 'scriptor', '--json']);
    expect(r.code).toBe(EXIT.OK);
    expect((JSON.parse(r.stdout) as { files: { format: string; sent: number }[] }).files[0]).toMatchObject({ format: 'scriptor', sent: 1 });
  });

  it('--csca: passive authentication of a personalized card image against the CSCA given, secrets from the PIN mailer', async () => {
    const pkiDir = path('pki');
    expect((await cli(['pki', 'init', '--out', pkiDir])).code).toBe(0);
    const other = path('pki-other');
    expect((await cli(['pki', 'init', '--out', other])).code).toBe(0);
    const card = path('personalized.json');
    const mailer = path('mailer.jsonl');
    const perso = await cli(['perso', '--profile', join(ROOT, 'profiles/icao-td1.yaml'), '--data', join(ROOT, 'profiles/samples/specimen-full.yaml'), '--card', card, '--signer', join(pkiDir, 'document-signer.pem'), '--mailer', mailer]);
    expect(perso.code, perso.stderr).toBe(0);
    const pins = (JSON.parse(readFileSync(mailer, 'utf8').trim()) as { pins: Record<string, string> }).pins;
    const env = Object.fromEntries(Object.entries(pins).map(([k, v]) => [`CHIPWRIGHT_SECRET_${k}`, Buffer.from(v, 'ascii').toString('hex')]));
    const vec = join(ROOT, 'test-vectors/icao/read-personalized.vec');
    const good = await cli(['replay', vec, '--card', card, '--csca', join(pkiDir, 'csca.pem'), '--json'], env);
    expect(good.code, good.stdout + good.stderr).toBe(0);
    const steps = (JSON.parse(good.stdout) as { files: { steps: { text?: string; command?: string; verdict: string }[] }[] }).files[0]!.steps;
    expect(steps.filter((x) => JSON.stringify(x).includes('passive-authentication')).map((x) => x.verdict)).toContain('pass');
    // Another CSCA: the chain does not hold, so the step expecting "valid" fails.
    const wrong = await cli(['replay', vec, '--card', card, '--csca', join(other, 'csca.pem')], env);
    expect(wrong.code).toBe(EXIT.CHECK_FAILED);
    expect(wrong.stdout).toMatch(/passive-authentication/);
    // Nothing of the PINs or CAN in either report.
    for (const v of Object.values(pins)) expect(good.stdout + wrong.stdout).not.toMatch(new RegExp(`\\b${v}\\b`));
    // Two certificates are not one {CSCA}; with --profile the card defines {CSCA} itself.
    writeFileSync(path('two.pem'), readFileSync(join(pkiDir, 'csca.pem'), 'utf8') + readFileSync(join(other, 'csca.pem'), 'utf8'));
    expect((await cli(['replay', vec, '--card', card, '--csca', path('two.pem')], env)).stderr).toMatch(/holds 2 certificates/);
    const both = await cli(['replay', vec, '--profile', join(ROOT, 'profiles/icao-td1.yaml'), '--data', join(ROOT, 'profiles/samples/specimen-full.yaml'), '--csca', join(pkiDir, 'csca.pem')]);
    expect(both.code).toBe(EXIT.USAGE);
    expect((await cli(['replay', vec, '--card', card, '--csca', path('missing.pem')], env)).code).toBe(EXIT.INPUT);
  }, 60_000);

  it('is listed in the help', async () => {
    const r = await cli(['--help']);
    expect(r.stdout).toMatch(/replay \[options\] <file\.\.\.>/);
    expect(r.stdout).toMatch(/record \[options\] <command\.\.\.>/);
  });
});
