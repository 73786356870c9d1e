/**
 * The recorder: `chipwright record -- <command>` writes what passed as a vector file that replays.
 * A random session recorded on a card image replays with every step passing on a fresh identical
 * card (the snapshot taken before the command, the same `--rng`); secrets are redacted into
 * references whose values go to a separate file; authentication cryptograms keep only their length;
 * every step carries its timing as a comment. Also the RecordingTransport on its own.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bytesToHex, hexToBytes } from '../src/bytes/index.js';
import { createCard } from '../src/card/os.js';
import { InProcessTransport } from '../src/transport/in-process.js';
import { runCli, type CliRun } from './helpers/cli.js';
import { EXIT } from '../src/cli/exit-codes.js';
import { RecordingTransport, VectorRecorder, parseVectorText, redactCommand } from '../src/conformance/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
let dir: string;
const path = (name: string): string => join(dir, name);

const cli = (args: readonly string[]): Promise<CliRun> => runCli(args);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'chipwright-record-'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Random APDUs against cards/card-os.json: valid commands of every family, wrong ones, garbage. */
const apdu: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('3F00', '0101', '0102', '0104', '0105', '0108', '7F10', '7F20', '1001', '9999').chain((fid) =>
    fc.constantFrom('00', '04', '08', '0C').map((p2) => `00A400${p2}02${fid}${p2 === '0C' ? '' : '00'}`),
  ),
  fc.tuple(fc.integer({ min: 1, max: 13 }), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 20 })).map(
    ([sfi, off, le]) => `00B0${bytesToHex(Uint8Array.of(0x80 | sfi, off, le))}`,
  ),
  fc.uint8Array({ minLength: 1, maxLength: 6 }).map((d) => `00D68100${bytesToHex(Uint8Array.of(d.length))}${bytesToHex(d)}`),
  fc.tuple(fc.integer({ min: 1, max: 6 }), fc.constantFrom(0x2c, 0x34, 0x3c, 0x6c)).map(([n, p2]) => `00B2${bytesToHex(Uint8Array.of(n, p2))}00`),
  fc.constantFrom('31323334', '30303030', '3132333435').map((pin) => `00200001${bytesToHex(Uint8Array.of(pin.length / 2))}${pin}`),
  fc.constantFrom('00200001', '0020FF01', '00200003', '002C0101083132333435363738', '0024000108313233343132333A'),
  fc.integer({ min: 1, max: 16 }).map((n) => `00840000${bytesToHex(Uint8Array.of(n))}`),
  fc.constantFrom('00CA004600', '00CA5F5200', '00CA5F2000', '00CA004300', '0070000001', '0070800100', '01A4000C023F00', '00C0000010'),
  fc.uint8Array({ minLength: 4, maxLength: 20 }).map((b) => bytesToHex(b)),
).filter((h) => h.length % 2 === 0);

describe('chipwright record', () => {
  it('a recorded random session replays on a fresh identical card with every step passing', async () => {
    const rng = bytesToHex(Uint8Array.from({ length: 4096 }, (_, i) => (i * 7 + 3) & 0xff));
    const sessions = fc.sample(fc.array(apdu, { minLength: 20, maxLength: 120 }), { numRuns: 6, seed: 20251126 });
    for (const [i, apdus] of sessions.entries()) {
      copyFileSync(join(ROOT, 'test-vectors/cards/card-os.json'), path(`card${i}.json`));
      const rec = await cli(['record', '--out', path(`s${i}.vec`), '--secrets-out', path(`s${i}.secrets.json`), '--', 'send', '--card', path(`card${i}.json`), '--rng', rng, ...apdus]);
      expect(rec.code, rec.stderr).toBe(EXIT.OK);
      expect(rec.stderr).toMatch(new RegExp(`chipwright record: ${apdus.length + 2} steps written to .*s${i}\\.vec`));
      const text = readFileSync(path(`s${i}.vec`), 'utf8');
      // The recording names the snapshot of the card taken before the command, and its --rng.
      expect(text).toContain(`card: image s${i}.card.json`);
      expect(text).toContain(`rng: ${rng}`);
      // The snapshot is the card as it was (written in the current image version, whose sealed
      // values differ from save to save: the replay below on it is what shows it is identical).
      const snapshot = JSON.parse(readFileSync(path(`s${i}.card.json`), 'utf8')) as Record<string, unknown>;
      const original = JSON.parse(readFileSync(join(ROOT, 'test-vectors/cards/card-os.json'), 'utf8')) as Record<string, unknown>;
      for (const k of ['format', 'serial', 'atr', 'lifeCycle', 'capacity', 'maxChannels']) expect(snapshot[k], k).toEqual(original[k]);
      // Timings as comments on every step.
      const steps = text.split('\n').filter((l) => /^(power|[0-9A-F]{2} )/.test(l));
      expect(steps).toHaveLength(apdus.length + 2);
      for (const l of steps) expect(l).toMatch(/ {2}# \+\d+\.\d{3} s(, \d+\.\d{3} ms)?/);
      // PINs never appear in the recording; they are in the secrets file, mode 600.
      expect(text).not.toMatch(/00 20 00 01 04 31 32 33 34/);
      const secrets = JSON.parse(readFileSync(path(`s${i}.secrets.json`), 'utf8')) as Record<string, string>;
      const verifies = apdus.filter((a) => /^00200001[0-9A-F]{2}/.test(a)).length;
      expect(Object.keys(secrets).filter((k) => k.startsWith('VERIFY_'))).toHaveLength(verifies);
      expect(statSync(path(`s${i}.secrets.json`)).mode & 0o777).toBe(0o600);

      const replay = await cli(['replay', path(`s${i}.vec`), '--secrets', path(`s${i}.secrets.json`), '--json']);
      expect(replay.code, replay.stdout + replay.stderr).toBe(EXIT.OK);
      const doc = JSON.parse(replay.stdout) as { files: { passed: number; failed: number; errors: number; skipped: number }[] };
      expect(doc.files[0]).toMatchObject({ failed: 0, errors: 0, skipped: 0 });
      // Every command and the ATR are checked: only the final power off is unchecked.
      expect(doc.files[0]!.passed).toBe(apdus.length + 1);
      if (verifies > 0) {
        const without = await cli(['replay', path(`s${i}.vec`)]);
        expect(without.code).toBe(EXIT.USAGE);
        expect(without.stderr).toMatch(/needs secrets? .*\{VERIFY_\d+\}.*; give them with --secrets FILE/);
      }
    }
  });

  it('keeps the command\'s exit code and refuses what it cannot write', async () => {
    copyFileSync(join(ROOT, 'test-vectors/cards/card-os.json'), path('c.json'));
    const bad = await cli(['record', '--out', path('bad.vec'), '--', 'send', '--card', path('c.json'), '00A4000C023F00', 'XYZ']);
    expect(bad.code).toBe(EXIT.USAGE);
    expect(readFileSync(path('bad.vec'), 'utf8')).toContain('card: external');
    expect((await cli(['record', '--out', path('bad.vec'), '--', 'send', '--card', path('c.json'), '00A4000C023F00'])).code).toBe(EXIT.OUTPUT);
    expect((await cli(['record', '--out', path('nodir/x.vec'), '--', 'send', '--card', path('c.json'), '00A4000C023F00'])).code).toBe(EXIT.OUTPUT);
    expect((await cli(['record', '--out', path('r.vec'), '--', 'record', '--out', 'x'])).code).toBe(EXIT.USAGE);
    const plain = await cli(['record', '--out', path('plain.vec'), '--no-card-snapshot', '--name', 'mine', '--', 'send', '--card', path('c.json'), '00A4000C023F00']);
    expect(plain.code).toBe(EXIT.OK);
    const v = parseVectorText(readFileSync(path('plain.vec'), 'utf8'), path('plain.vec'));
    expect(v.header).toMatchObject({ name: 'mine', card: { kind: 'external' } });
    // An external card: replay with --card.
    const r = await cli(['replay', path('plain.vec'), '--card', join(ROOT, 'test-vectors/cards/card-os.json')]);
    expect(r.code, r.stdout + r.stderr).toBe(EXIT.OK);
  });
});

describe('RecordingTransport and redaction', () => {
  it('redacts the data of secret commands into named references, keeping Lc and Le', () => {
    let n = 0;
    const counter = (): number => ++n;
    const verify = redactCommand(hexToBytes('002000810431323334'), counter);
    expect(verify.secret).toEqual({ name: 'VERIFY_1', value: hexToBytes('31323334') });
    expect(verify.template.parts.map((p) => (p.kind === 'ref' ? `{${p.name}}` : bytesToHex(p.bytes)))).toEqual(['0020008104', '{VERIFY_1}']);
    const ea = redactCommand(hexToBytes('00820000280102030405060708091011121314151617181920212223242526272829303132333435363738394028'), counter);
    expect(ea.template.parts.map((p) => (p.kind === 'ref' ? `{${p.name}}` : bytesToHex(p.bytes)))).toEqual(['0082000028', '{EXTERNAL_AUTHENTICATE_2}', '28']);
    const key = redactCommand(hexToBytes('00DA0102058301018901'), counter);
    expect(key.secret?.name).toBe('PUT_DATA_3');
    expect(redactCommand(hexToBytes('00DA00430101'), counter).secret).toBeUndefined();
    expect(redactCommand(hexToBytes('00A4000C023F00'), counter).secret).toBeUndefined();
    // Malformed, but a VERIFY: the body is a secret all the same.
    const bad = redactCommand(hexToBytes('002000810431'), counter);
    expect(bad.secret?.value).toEqual(hexToBytes('0431'));
  });

  it('writes exact responses, XX{n} for authentication cryptograms, resets and power changes', async () => {
    let t = 0;
    const rec = new VectorRecorder({ name: 'unit', source: 'test', clock: () => (t += 1.5), card: { kind: 'blank' }, rng: hexToBytes('0102030405060708') });
    const card = createCard({ rng: hexToBytes('0102030405060708') });
    const tr = new RecordingTransport(new InProcessTransport(card), rec);
    await tr.connect();
    await tr.transmit(hexToBytes('00A4000C023F00'));
    await tr.transmit(hexToBytes('0084000008'));
    await tr.transmit(hexToBytes('0082000008000102030405060700'));
    await tr.reset();
    await tr.disconnect();
    await expect(tr.transmit(hexToBytes('00A4000C023F00'))).rejects.toThrow(/did not answer/);
    const { text, secrets, steps } = rec.recording();
    expect(steps).toBe(7);
    expect(Object.keys(secrets)).toEqual(['EXTERNAL_AUTHENTICATE_1']);
    expect(text).toContain('name: unit\nsource: test\ncard: blank\nrng: 0102030405060708\n');
    expect(text).toMatch(/power on => 3B85018073F621DB7B {2}# \+0\.00\d s, 1\.500 ms/);
    expect(text).toContain('00 84 00 00 08 => 0102030405060708 9000');
    expect(text).toMatch(/00 82 00 00 08 \{EXTERNAL_AUTHENTICATE_1\} 00 => 63CE/);
    expect(text).toMatch(/\nreset => 3B85018073F621DB7B/);
    expect(text).toMatch(/\npower off {2}# /);
    expect(text).toMatch(/00 A4 00 0C 02 3F 00 {2}# .*no answer: the simulated card did not answer/);
    // The recording parses; the command that got no answer is kept unchecked.
    const v = parseVectorText(text, 'r.vec');
    expect(v.secrets).toEqual(['EXTERNAL_AUTHENTICATE_1']);
  });
});
