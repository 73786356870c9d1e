/**
 * The built CLI end to end (`node bin/chipwright.js ...`, which runs dist/): `npm test` builds
 * first (pretest); run `npm run build` before running this file alone.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../src/bytes/index.js';
import { DEFAULT_TRANSPORT_KEY } from '../src/card/os.js';
import { transportCryptogram } from '../src/script/transport-auth.js';
import { EXIT, EXIT_CODES, exitCodesMarkdown } from '../src/cli/exit-codes.js';
import { handleError, InputFileError, OutputFileError, UsageError } from '../src/cli/errors.js';
import { main } from '../src/cli/main.js';
import type { CliIo } from '../src/cli/io.js';
import { ByteInputError } from '../src/bytes/index.js';
import { CardImageError } from '../src/card/image.js';
import { CardMuteError } from '../src/transport/types.js';
import { ScriptParseError } from '../src/script/format.js';
import { ScriptSetupError } from '../src/script/runner.js';

const BIN = fileURLToPath(new URL('../bin/chipwright.js', import.meta.url));
const DEMO_SCRIPT = fileURLToPath(new URL('../apdu/filesystem-demo.apdu', import.meta.url));

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

let dir: string;
const env: NodeJS.ProcessEnv = { ...process.env };
delete env.CHIPWRIGHT_DEBUG;

/** Starts the CLI; `input` undefined leaves standard input open for the caller. */
function start(args: readonly string[], input: string | undefined, extraEnv: Record<string, string>, done: (r: Result) => void): ChildProcess {
  const child = execFile(process.execPath, [BIN, ...args], { cwd: dir, env: { ...env, ...extraEnv }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
    const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
    done({ code, stdout, stderr });
  });
  if (input !== undefined) child.stdin!.end(input);
  return child;
}

function cli(args: readonly string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<Result> {
  return new Promise((resolve) => start(args, opts.input ?? '', opts.env ?? {}, resolve));
}

/** The fixed challenge the card's RNG hands out with `--rng`, and the matching cryptogram. */
const CHALLENGE = '0102030405060708';
const AUTH = ['00 84 00 00 08', `00 82 00 00 08 ${bytesToHex(transportCryptogram({ algorithm: '3des', value: DEFAULT_TRANSPORT_KEY }, hexToBytes(CHALLENGE)))}`];
/** CREATE FILE: transparent EF 2001, 8 bytes, no security attributes. */
const CREATE_EF = '00 E0 00 00 0D 62 0B 80 02 00 08 82 01 01 83 02 20 01';
/** PIN 81 = "9876" (digits that must never show), 3 tries. */
const PIN_HEX = '39383736';
const LOAD_PIN = `00 DA 01 01 0C 83 01 81 80 04 ${PIN_HEX} 86 01 03`;

async function newCard(name: string, extra: string[] = []): Promise<string> {
  const r = await cli(['card', 'new', '--out', name, ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return join(dir, name);
}

function expectOneErrorLine(r: Result): void {
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^chipwright: /);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

beforeAll(() => {
  if (!existsSync(fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url)))) {
    throw new Error('dist/ is missing: run `npm run build` first (npm test does it in pretest)');
  }
  dir = mkdtempSync(join(tmpdir(), 'chipwright-cli-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('help and usage', () => {
  it('--help of every command prints usage and exits 0', async () => {
    const commands = [[], ['card'], ['card', 'new'], ['send'], ['sim'], ['demo'], ['script'], ['script', 'run']];
    const results = await Promise.all(commands.map((args) => cli([...args, '--help'])));
    for (const [i, args] of commands.entries()) {
      const r = results[i]!;
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toContain(`Usage: chipwright${args.length > 0 ? ` ${args.join(' ')}` : ''}`);
      expect(r.stderr).toBe('');
    }
    const root = await cli(['--help']);
    for (const e of EXIT_CODES) expect(root.stdout).toContain(e.meaning);
    // batch runs for hours: its help says how to stop it and what the exit codes mean.
    const batch = await cli(['batch', '--help']);
    expect(batch.stdout).toMatch(/SIGINT or SIGTERM stops the run between cards/);
    expect(batch.stdout).toMatch(/Exit codes: 0 .*1 a card or holder failed/s);
  });

  it('--version exits 0', async () => {
    const r = await cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('unknown options and commands exit 2 with one line', async () => {
    await newCard('usage.json');
    const a = await cli(['send', '--card', 'usage.json', '--bogus', '00A4000C023F00']);
    expect(a.code).toBe(EXIT.USAGE);
    expectOneErrorLine(a);
    expect(a.stderr).toContain("unknown option '--bogus'");
    const b = await cli(['frobnicate']);
    expect(b.code).toBe(EXIT.USAGE);
    expectOneErrorLine(b);
    const c = await cli(['send', '00A4000C023F00']);
    expect(c.code).toBe(EXIT.USAGE);
    expect(c.stderr).toContain('--card');
    const d = await cli(['card', 'new', '--out', 'x.json', '--max-channels', '99']);
    expect(d.code).toBe(EXIT.USAGE);
    expect(d.stderr).toContain('--max-channels: expected 1..20, got 99');
  });
});

describe('card new', () => {
  it('writes a blank card, prints path, serial and ATR, and refuses to overwrite without --force', async () => {
    const r = await cli(['card', 'new', '--out', 'new.json', '--serial', '0102030405060708', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout) as { path: string; serial: string; atr: string; lifeCycle: string };
    expect(info).toMatchObject({ path: 'new.json', serial: '0102030405060708', lifeCycle: 'personalization' });
    expect(info.atr).toMatch(/^3B[0-9A-F]+$/);
    const image = JSON.parse(readFileSync(join(dir, 'new.json'), 'utf8')) as { mf: { children: unknown[] }; lifeCycle: string };
    expect(image.mf.children).toEqual([]);
    const text = await cli(['card', 'new', '--out', 'new2.json']);
    expect(text.stdout).toMatch(/^new2\.json\n {2}serial {2}[0-9A-F]{16}\n {2}ATR {5}3B[0-9A-F]+\n/);

    const again = await cli(['card', 'new', '--out', 'new.json']);
    expect(again.code).toBe(EXIT.OUTPUT);
    expectOneErrorLine(again);
    expect(again.stderr).toContain('--force');
    expect((await cli(['card', 'new', '--out', 'new.json', '--force'])).code).toBe(0);
    // A directory that is not there: exit 5, the image named, nothing left behind.
    const nodir = await cli(['card', 'new', '--out', join('no-such-dir', 'x.json')]);
    expect(nodir.code).toBe(EXIT.OUTPUT);
    expectOneErrorLine(nodir);
    expect(nodir.stderr).toContain(`card image ${join('no-such-dir', 'x.json')}: directory no-such-dir does not exist`);
  });

  it('validates hex options naming the option', async () => {
    const r = await cli(['card', 'new', '--out', 'v.json', '--serial', 'XYZ1']);
    expect(r.code).toBe(EXIT.USAGE);
    expectOneErrorLine(r);
    expect(r.stderr).toContain('--serial');
    const k = await cli(['card', 'new', '--out', 'v.json', '--transport-key', '0102']);
    expect(k.code).toBe(EXIT.USAGE);
    expect(k.stderr).toContain('--transport-key: 3DES needs 16 or 24 bytes, got 2');
    const a = await cli(['card', 'new', '--out', 'v.json', '--transport-key-algorithm', 'rc4']);
    expect(a.code).toBe(EXIT.USAGE);
    expect(existsSync(join(dir, 'v.json'))).toBe(false);
  });
});

describe('CHIPWRIGHT_IMAGE_KEY', () => {
  const KEY = '0F'.repeat(32);
  it('wraps the storage key of every image the CLI writes; images then load only with the key', async () => {
    const made = await cli(['card', 'new', '--out', 'keyed.json'], { env: { CHIPWRIGHT_IMAGE_KEY: KEY } });
    expect(made.code, made.stderr).toBe(0);
    const image = JSON.parse(readFileSync(join(dir, 'keyed.json'), 'utf8')) as { keyStore: Record<string, string> };
    expect(Object.keys(image.keyStore)).toEqual(['wrappedStorageKey']);
    // Commands that load and save keep the image wrapped.
    const ok = await cli(['send', '--card', 'keyed.json', '00A4000C023F00'], { env: { CHIPWRIGHT_IMAGE_KEY: KEY } });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout.trim()).toBe('9000');
    // So do recordings' card snapshots, which replay with the key.
    const rec = await cli(['record', '--out', 'keyed.vec', '--', 'send', '--card', 'keyed.json', '00A4000C023F00'], { env: { CHIPWRIGHT_IMAGE_KEY: KEY } });
    expect(rec.code, rec.stderr).toBe(0);
    const snapshot = JSON.parse(readFileSync(join(dir, 'keyed.card.json'), 'utf8')) as { keyStore: Record<string, string> };
    expect(Object.keys(snapshot.keyStore)).toEqual(['wrappedStorageKey']);
    const replayed = await cli(['replay', join(dir, 'keyed.vec')], { env: { CHIPWRIGHT_IMAGE_KEY: KEY } });
    expect(replayed.code, replayed.stdout + replayed.stderr).toBe(0);
    const without = await cli(['send', '--card', 'keyed.json', '00A4000C023F00']);
    expect(without.code).toBe(EXIT.INPUT);
    expectOneErrorLine(without);
    expect(without.stderr).toContain('keyStore.wrappedStorageKey: the storage key is wrapped under an image key');
    const wrong = await cli(['send', '--card', 'keyed.json', '00A4000C023F00'], { env: { CHIPWRIGHT_IMAGE_KEY: 'A0'.repeat(32) } });
    expect(wrong.code).toBe(EXIT.INPUT);
    expect(wrong.stderr).toContain('does not open with the image key given');
    // A malformed key is refused naming the variable, never echoing it.
    const bad = await cli(['send', '--card', 'keyed.json', '00A4000C023F00'], { env: { CHIPWRIGHT_IMAGE_KEY: 'secret-not-hex' } });
    expect(bad.code).toBe(EXIT.USAGE);
    expect(bad.stderr).toContain('CHIPWRIGHT_IMAGE_KEY: expected 64 hex digits');
    expect(bad.stderr).not.toContain('secret-not-hex');
    for (const r of [made, ok, rec, replayed, without, wrong, bad]) expect(r.stdout + r.stderr).not.toContain(KEY);
  });
});

describe('send', () => {
  it('a malformed APDU argument is named by its header, never shown with its data (a PIN in VERIFY)', async () => {
    await newCard('pinleak.json');
    const r = await cli(['send', '--card', 'pinleak.json', '00200001083132333435363G']);
    expect(r.code).toBe(EXIT.USAGE);
    expectOneErrorLine(r);
    expect(r.stderr).toContain('APDU 1 (00200001…): not hex at byte 12 of 12');
    expect(r.stderr).not.toMatch(/3132|363G|123456/);
  });

  it('round trip: SELECT MF answers 9000; responses are upper-case hex with SW, one per line', async () => {
    await newCard('rt.json', ['--serial', 'A1B2C3D4']);
    const r = await cli(['send', '--card', 'rt.json', '00A4000C023F00', '00 ca 00 46 00', '00A4000C021234']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('9000\n4604A1B2C3D49000\n6A82\n');
    const j = await cli(['send', '--card', 'rt.json', '--json', '00A4000C023F00']);
    expect(JSON.parse(j.stdout)).toEqual([{ command: '00 A4 00 0C 02 3F 00', response: '9000', sw: '9000', meaning: 'Normal processing' }]);
  });

  it('saves state: what one send writes, the next one reads; a read-only send does not rewrite the file', async () => {
    const path = await newCard('state.json');
    const w = await cli(['send', '--card', 'state.json', '--rng', CHALLENGE, ...AUTH, CREATE_EF, '00 D6 00 00 04 CAFEBABE']);
    expect(w.code, w.stderr).toBe(0);
    expect(w.stdout).toBe(`${CHALLENGE}9000\n9000\n9000\n9000\n`);
    const ino = statSync(path).ino;
    const r = await cli(['send', '--card', 'state.json', '00 A4 02 0C 02 20 01', '00 B0 00 00 08']);
    expect(r.stdout).toBe('9000\nCAFEBABE000000009000\n');
    expect(statSync(path).ino).toBe(ino);
  });

  it('bad hex exits 2 naming the argument, with one line and no stack trace', async () => {
    await newCard('hex.json');
    const r = await cli(['send', '--card', 'hex.json', '00A4000C023F00', '00 A4 00 0C 02 3F 0G']);
    expect(r.code).toBe(EXIT.USAGE);
    expectOneErrorLine(r);
    expect(r.stderr).toContain('APDU 2');
    expect(r.stdout).toBe('');
    const short = await cli(['send', '--card', 'hex.json', '00', 'A4']);
    expect(short.code).toBe(EXIT.USAGE);
    expect(short.stderr).toContain('quote an APDU written with spaces');
  });

  it('a missing card image exits 3', async () => {
    const r = await cli(['send', '--card', 'nope.json', '00A4000C023F00']);
    expect(r.code).toBe(EXIT.INPUT);
    expectOneErrorLine(r);
    expect(r.stderr).toContain('nope.json');
    expect(r.stderr).toContain('card new');
  });

  it('a corrupt card image exits 3 naming the field', async () => {
    const path = await newCard('corrupt.json');
    const image = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    writeFileSync(path, JSON.stringify({ ...image, maxChannels: 99 }));
    const r = await cli(['send', '--card', 'corrupt.json', '00A4000C023F00']);
    expect(r.code).toBe(EXIT.INPUT);
    expectOneErrorLine(r);
    expect(r.stderr).toContain('maxChannels');
    writeFileSync(path, '{"format": "chipwright-card-im');
    const t = await cli(['send', '--card', 'corrupt.json', '00A4000C023F00']);
    expect(t.code).toBe(EXIT.INPUT);
    expectOneErrorLine(t);
    expect(t.stderr).toMatch(/truncated/);
  });

  it('--trace shows command names and SW meanings on stderr and never the PIN', async () => {
    await newCard('trace.json');
    const r = await cli(['send', '--card', 'trace.json', '--trace', '--rng', CHALLENGE, ...AUTH, LOAD_PIN, `00 20 00 81 04 ${PIN_HEX}`, '00 20 00 81 04 30303030']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${CHALLENGE}9000\n9000\n9000\n9000\n63C2\n`);
    for (const name of ['GET CHALLENGE', 'EXTERNAL AUTHENTICATE', 'PUT DATA', 'VERIFY', '9000 Normal processing', '63C2 Verification failed, 2 tries left']) {
      expect(r.stderr).toContain(name);
    }
    expect(r.stderr).toContain('00 20 00 81 04 ** ** ** **');
    const all = r.stdout + r.stderr;
    expect(all).not.toContain(PIN_HEX);
    expect(all).not.toContain('39 38 37 36');
    expect(all.replace(/\s/g, '')).not.toContain(PIN_HEX);
  });
});

describe('sim --stdio', () => {
  it('answers one line per command, ignores blanks and comments, and saves on EOF', async () => {
    await newCard('sim.json');
    const input = ['# personalize', ...AUTH, '', CREATE_EF, '00 D6 00 00 02 BEEF  # write', '00 B0 00 00 02'].join('\n') + '\n';
    const r = await cli(['sim', '--card', 'sim.json', '--stdio', '--rng', CHALLENGE], { input });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${CHALLENGE}9000\n9000\n9000\n9000\nBEEF9000\n`);
    expect(r.stderr).toBe('');
    const back = await cli(['send', '--card', 'sim.json', '00 A4 02 0C 02 20 01', '00 B0 00 00 08']);
    expect(back.stdout).toBe('9000\nBEEF0000000000009000\n');
  });

  it('a line that is not hex gets an error on stderr and an empty answer; the session goes on', async () => {
    await newCard('simbad.json');
    const r = await cli(['sim', '--card', 'simbad.json', '--stdio'], { input: '00A4000C023F00\nzz\n00A4000C021234\n' });
    expect(r.stdout).toBe('9000\n\n6A82\n');
    expect(r.stderr).toMatch(/^chipwright sim: stdin line 2: .*not hex/);
    expect(r.code).toBe(EXIT.USAGE);
  });

  it('saves after each command that changed state, so a killed session keeps what the card committed', async () => {
    const path = await newCard('simkill.json');
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const child = start(['sim', '--card', 'simkill.json', '--stdio', '--rng', CHALLENGE], undefined, {}, () => resolve());
      child.stdin!.write([...AUTH, CREATE_EF, '00 D6 00 00 02 F00D'].join('\n') + '\n');
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.split('\n').length > 4) child.kill('SIGKILL');
      });
      child.on('error', reject);
    });
    const image = readFileSync(path, 'utf8');
    expect(image).toContain('"fid": "2001"');
    expect(image).toContain('F00D');
  });

  it('--trace redacts VERIFY data', async () => {
    await newCard('simtrace.json');
    const input = [...AUTH, LOAD_PIN, `00 20 00 81 04 ${PIN_HEX}`].join('\n') + '\n';
    const r = await cli(['sim', '--card', 'simtrace.json', '--stdio', '--trace', '--rng', CHALLENGE], { input });
    expect(r.stdout).toBe(`${CHALLENGE}9000\n9000\n9000\n9000\n`);
    expect(r.stderr).toContain('VERIFY');
    expect((r.stdout + r.stderr).replace(/\s/g, '')).not.toContain(PIN_HEX);
  });
});

describe('demo', () => {
  // Its time (the issue's "under 5 s") is measured by hand and reported, not asserted here.
  it('the main job: a qatar-id card personalized, every application read back over PACE and verified', async () => {
    const r = await cli(['demo']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('passive authentication: identity valid, health valid, licence valid, finance valid, e-services valid');
    expect(r.stdout).toContain('2 financial account(s); e-services keys authentication (certificate valid), signature (certificate valid)');
    expect(r.stdout).toContain('chip authentication valid, active authentication valid (keys generated on the card); the card reads as VALID');
    expect(r.stdout).toContain('personalizing it again is refused');
    expect(r.stdout).toMatch(/the card verifies/);
    const j = await cli(['demo', '--json']);
    expect(j.code, j.stderr).toBe(0);
    const report = JSON.parse(j.stdout) as { ok: boolean; readBack: { applications: { name: string; passiveAuth: string }[] } };
    expect(report.ok).toBe(true);
    expect(report.readBack.applications.map((a) => a.passiveAuth)).toEqual(['valid', 'valid', 'valid', 'valid', 'valid']);
  });

  it('exits 0 with a readable report and progress', async () => {
    const r = await cli(['demo', '--filesystem']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Files on the card (4 created)');
    expect(r.stdout).toContain('Reads verified');
    expect(r.stdout).toContain('6983 Authentication method blocked');
    expect(r.stdout).toContain('personalization → operational');
    expect(r.stdout).toMatch(/All \d+ steps passed/);
    expect(r.stderr).toContain('✓ Open personalization with the transport key');
  });

  it('--json and --keep DIR: the kept card is operational and readable by send', async () => {
    const r = await cli(['demo', '--filesystem', '--json', '--keep', 'demo-out']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as { ok: boolean; cardPath: string; lifeCycle: { after: string } };
    expect(report.ok).toBe(true);
    expect(report.lifeCycle.after).toBe('operational');
    const s = await cli(['send', '--card', join('demo-out', 'card.json'), '00 A4 04 0C 07 F0 43 57 44 45 4D 4F', '00 B0 81 00 04']);
    expect(s.stdout).toBe('9000\n434849509000\n');
  });
});

describe('script run', () => {
  it('runs the shipped demo script against a card image with secrets from a file', async () => {
    await newCard('script.json');
    writeFileSync(join(dir, 'secrets.json'), JSON.stringify({ PIN: '31323334', NEW_PIN: '35363738', PUK: '3132333435363738' }));
    const r = await cli(['script', 'run', DEMO_SCRIPT, '--card', 'script.json', '--secrets', 'secrets.json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/filesystem-demo\.apdu: \d+ passed, 0 failed/);
    expect(r.stdout).not.toContain('31323334');
    const image = JSON.parse(readFileSync(join(dir, 'script.json'), 'utf8')) as { lifeCycle: string };
    expect(image.lifeCycle).toBe('operational');
  });

  it('exits 1 when an expectation fails, 3 on a syntax error, 2 on a missing secret', async () => {
    await newCard('fail.json');
    writeFileSync(join(dir, 'fail.apdu'), '# Select MF\n00A4000C023F00 => 6A82\n');
    const f = await cli(['script', 'run', 'fail.apdu', '--card', 'fail.json']);
    expect(f.code).toBe(EXIT.CHECK_FAILED);
    expect(f.stdout).toContain('✗ fail.apdu:2');
    expect(f.stdout).toContain('expected 6A82, got 9000');
    const j = await cli(['script', 'run', 'fail.apdu', '--card', 'fail.json', '--json']);
    expect(j.code).toBe(EXIT.CHECK_FAILED);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, failed: 1 });

    writeFileSync(join(dir, 'syntax.apdu'), '00A4000C023F00 => 9000\n00A4 => 90000\n');
    const s = await cli(['script', 'run', 'syntax.apdu', '--card', 'fail.json']);
    expect(s.code).toBe(EXIT.INPUT);
    expectOneErrorLine(s);
    expect(s.stderr).toContain('syntax.apdu:2: ');

    writeFileSync(join(dir, 'secret.apdu'), '00 20 00 81 04 {PIN:4} => 9000\n');
    const m = await cli(['script', 'run', 'secret.apdu', '--card', 'fail.json']);
    expect(m.code).toBe(EXIT.USAGE);
    expect(m.stderr).toContain('secret.apdu:1: placeholder {PIN} has no value');
    const e = await cli(['script', 'run', 'secret.apdu', '--card', 'fail.json'], { env: { CHIPWRIGHT_SECRET_PIN: '31323334' } });
    expect(e.code).toBe(EXIT.CHECK_FAILED);
    expect(e.stdout).toContain('00 20 00 81 04 ** ** ** ** → 6A88');
  });
});

/** An in-process CLI seam that records what is written. */
function fakeIo(envVars: Record<string, string> = {}): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (t) => out.push(t), stderr: (t) => err.push(t), stdin: Readable.from([]), env: envVars, stderrIsTTY: false };
}

describe('errors', () => {
  it('exit codes are distinct and documented', () => {
    const codes = EXIT_CODES.map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    expect([...codes].sort((a, b) => a - b)).toEqual(Object.values(EXIT).sort((a, b) => a - b));
    expect(exitCodesMarkdown().split('\n').filter((l) => l.startsWith('| ')).length).toBe(codes.length + 1);
  });

  it('maps each error class to its exit code with one line, internal errors to 70', () => {
    const cases: [unknown, number][] = [
      [new UsageError('x'), EXIT.USAGE],
      [new ByteInputError('x'), EXIT.USAGE],
      [new ScriptSetupError('x'), EXIT.USAGE],
      [new InputFileError('x'), EXIT.INPUT],
      [new CardImageError('mf.children[0].fid', 'bad', 'c.json'), EXIT.INPUT],
      [new ScriptParseError('a.apdu', 3, 'bad'), EXIT.INPUT],
      [new CardMuteError('gone'), EXIT.CARD],
      [new OutputFileError('x'), EXIT.OUTPUT],
      [new TypeError('boom'), EXIT.INTERNAL],
      ['a string', EXIT.INTERNAL],
    ];
    for (const [e, code] of cases) {
      const io = fakeIo();
      expect(handleError(e, io), String(e)).toBe(code);
      expect(io.err.join('').trimEnd().split('\n')).toHaveLength(1);
    }
    const io = fakeIo();
    handleError(new TypeError('boom'), io);
    expect(io.err.join('')).toBe('chipwright: internal error: TypeError: boom (rerun with CHIPWRIGHT_DEBUG=1 for details)\n');
    const img = fakeIo();
    handleError(new CardImageError('mf.children[0].fid', 'expected a hex number', 'c.json'), img);
    expect(img.err.join('')).toContain('c.json: mf.children[0].fid: expected a hex number');
  });

  it('main runs in-process, returns codes and never exits the process', async () => {
    const io = fakeIo();
    expect(await main(['node', 'chipwright', 'send', '--help'], io)).toBe(0);
    expect(io.out.join('')).toContain('Usage: chipwright send');
    const bad = fakeIo();
    expect(await main(['node', 'chipwright', 'send', '--card', join(dir, 'none.json'), '00A4000C023F00'], bad)).toBe(EXIT.INPUT);
    expect(bad.err).toHaveLength(1);
  });

  it('CHIPWRIGHT_DEBUG=1 adds the stack trace', async () => {
    const r = await cli(['send', '--card', 'nope.json', '00A4000C023F00'], { env: { CHIPWRIGHT_DEBUG: '1' } });
    expect(r.code).toBe(EXIT.INPUT);
    expect(r.stderr).toMatch(/\n\s+at /);
  });
});
