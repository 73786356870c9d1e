/**
 * `chipwright read` end to end through the built CLI (`node bin/chipwright.js`, which runs dist/;
 * `npm test` builds first, run `npm run build` before running this file alone), on a card built
 * with buildIdCard from profiles/samples/specimen-full.yaml and saved as an image: the JSON report,
 * the face file, holder.yaml, verdicts and exit codes — and the PIN never in argv, output or trace.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex } from '../src/bytes/index.js';
import { dfByExactName } from '../src/card/fs/tree.js';
import type { TransparentEf } from '../src/card/fs/file.js';
import { saveCardImage } from '../src/card/image.js';
import { holderMrz, loadHolder } from '../src/holder/index.js';
import { createTestPki, derToPem, parseTd1 } from '../src/lds/index.js';
import { buildIdCard, type IdCardOptions } from '../src/apps/id-card.js';
import { LICENCE_AID } from '../src/apps/licence/layout.js';
import { mrzOption, readContext } from '../src/cli/commands/read.js';

const BIN = fileURLToPath(new URL('../bin/chipwright.js', import.meta.url));
const PIN = '975318';
const CAN = '314159';
const holder = loadHolder('profiles/samples/specimen-full.yaml');
const pki = createTestPki();
const OPTS: IdCardOptions = {
  pki,
  can: CAN,
  pin: PIN,
  puk: '12345678',
  insurerKey: new Uint8Array(16).fill(0x42),
  eServices: { authenticationPin: '2580', signaturePin: '258025' },
};

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly argv: readonly string[];
}

let dir: string;
const env: NodeJS.ProcessEnv = { ...process.env };
delete env.CHIPWRIGHT_DEBUG;
delete env.CHIPWRIGHT_PIN;

function cli(args: readonly string[], extraEnv: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], { cwd: dir, env: { ...env, ...extraEnv }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr, argv: [process.execPath, BIN, ...args] });
    });
    child.stdin!.end();
  });
}

/**
 * The PIN in any form it could leak in: digits as a word, ASCII hex, spaced hex. (Its digits
 * inside a long hex run — a certificate, a signature — are chance, not a leak.)
 */
function expectNoPin(...texts: readonly string[]): void {
  const hex = bytesToHex(new TextEncoder().encode(PIN));
  for (const t of texts) {
    const compact = t.replace(/\s+/g, '').toUpperCase();
    expect(t.replace(/[0-9A-Fa-f]{16,}/g, ' ')).not.toContain(PIN);
    expect(compact).not.toContain(hex);
  }
}

beforeAll(() => {
  if (!existsSync(fileURLToPath(new URL('../dist/src/cli/commands/read.js', import.meta.url)))) {
    throw new Error('dist/ is missing `read`: run `npm run build` first (npm test does it in pretest)');
  }
  dir = mkdtempSync(join(tmpdir(), 'chipwright-read-'));
  saveCardImage(buildIdCard(holder, OPTS), join(dir, 'card.json'));
  writeFileSync(join(dir, 'csca.pem'), derToPem(pki.csca.certificate));
  mkdirSync(join(dir, 'anchors'));
  writeFileSync(join(dir, 'anchors', 'csca.der'), pki.csca.certificate);
  writeFileSync(join(dir, 'anchors', 'README'), 'not a certificate, skipped');
  // The same card with one byte of the licence DG1 changed.
  const bad = buildIdCard(holder, OPTS);
  const dg1 = dfByExactName(bad.state.mf, LICENCE_AID)!.children.find((f) => f.fid === 0x0101) as TransparentEf;
  dg1.data[20] = dg1.data[20]! ^ 0x01;
  saveCardImage(bad, join(dir, 'tampered.json'));
}, 30_000);

afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('chipwright read', () => {
  it('--json with the PIN from CHIPWRIGHT_PIN: every application valid, face and holder.yaml written', async () => {
    const r = await cli(['read', '--card', 'card.json', '--can', CAN, '--pin', '--csca', 'csca.pem', '--out', 'out', '--json'], { CHIPWRIGHT_PIN: PIN });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as {
      verdict: string;
      access: { protocol: string; established: string; pinVerified: boolean; chipAuthentication: { verdict: string }; activeAuthentication: { verdict: string } };
      applications: { name: string; aid: string; files: { name: string; status: string; verdict?: string }[]; passiveAuthentication: { verdict: string } }[];
      holder: { face: { image: { path: string } }; identity: { fullNameArabic: string } };
      written: string[];
    };
    expect(report.verdict).toBe('valid');
    expect(report.access).toMatchObject({ protocol: 'PACE', established: 'can', pinVerified: true, chipAuthentication: { verdict: 'valid' }, activeAuthentication: { verdict: 'valid' } });
    expect(report.applications.map((a) => [a.name, a.aid, a.passiveAuthentication.verdict])).toEqual([
      ['identity', 'A0000002471001', 'valid'],
      ['licence', 'A0000002480200', 'valid'],
      ['health', 'F04357494448', 'valid'],
      ['finance', 'F04357494446', 'valid'],
      ['e-services', 'F04357494445', 'valid'],
    ]);
    for (const a of report.applications) for (const f of a.files) expect([f.status, f.verdict], `${a.name}/${f.name}`).toEqual(['read', f.name === 'EF.COM' || f.name === 'EF.CardAccess' ? 'not-checked' : 'valid']);
    expect(report.holder.identity.fullNameArabic).toBe(holder.identity.fullNameArabic);
    // The face as a file, byte for byte the holder's image.
    expect(report.holder.face.image).toEqual({ path: 'face.jpg' });
    expect(bytesToHex(readFileSync(join(dir, 'out', 'face.jpg')))).toBe(bytesToHex(holder.face!.image));
    // holder.yaml is a holder document again: the same holder, with the certificates issued on the card.
    const back = loadHolder(join(dir, 'out', 'holder.yaml'));
    expect({ ...back, eServices: undefined }).toEqual({ ...holder, eServices: undefined });
    expect(back.eServices!.keyPairs.map((k) => [k.label, k.certificate !== undefined])).toEqual([
      ['authentication', true],
      ['signature', true],
    ]);
    expectNoPin(r.stdout, r.stderr, r.argv.join(' '), readFileSync(join(dir, 'out', 'holder.yaml'), 'utf8'));
  });

  it('the readable summary and a trace: verdicts per file, and no PIN anywhere', async () => {
    const r = await cli(['read', '--card', 'card.json', '--can', CAN, '--pin', '--csca', 'anchors', '--trace'], { CHIPWRIGHT_PIN: PIN });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^card: VALID\n/);
    expect(r.stdout).toMatch(/access: PACE with the CAN, then PACE with the holder PIN/);
    expect(r.stdout).toMatch(/ {2}DG3 +0103 +\d+ B {2}valid/);
    expect(r.stdout).toMatch(/ {2}EF\.ACCOUNTS +0101 +\d+ B {2}valid/);
    expect(r.stdout).toMatch(/portrait \(DG6 → DG2\) +valid/);
    expect(r.stderr).toMatch(/→ 0C B0/); // protected READ BINARY in the trace
    expectNoPin(r.stdout, r.stderr, r.argv.join(' '));
  });

  it('without the PIN: fingerprints and finances refused, reported, exit 0 (incomplete, nothing invalid)', async () => {
    const r = await cli(['read', '--card', 'card.json', '--can', CAN, '--csca', 'csca.pem']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^card: INCOMPLETE/);
    expect(r.stdout).toMatch(/DG3 +0103 +refused +6982/);
    expect(r.stdout).toMatch(/EF\.ACCOUNTS +0101 +refused +6982/);
    expect(r.stdout).toMatch(/fingerprints +not read \(needs the PIN: --pin\)/);
  });

  it('a changed byte: INVALID on that file, exit 1', async () => {
    const r = await cli(['read', '--card', 'tampered.json', '--can', CAN, '--csca', 'csca.pem', '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { verdict: string; applications: { name: string; files: { name: string; verdict?: string }[] }[] };
    expect(report.verdict).toBe('invalid');
    const invalid = report.applications.flatMap((a) => a.files.filter((f) => f.verdict === 'invalid').map((f) => `${a.name}/${f.name}`));
    expect(invalid).toEqual(['licence/DG1']);
  });

  it('errors: wrong CAN (1), --pin without a terminal or CHIPWRIGHT_PIN (2), no CAN/MRZ (2), missing CSCA (3)', async () => {
    const wrong = await cli(['read', '--card', 'card.json', '--can', '000000']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^chipwright: read: access control failed: /);
    const noPin = await cli(['read', '--card', 'card.json', '--can', CAN, '--pin']);
    expect(noPin.code).toBe(2);
    expect(noPin.stderr).toMatch(/CHIPWRIGHT_PIN/);
    const badPin = await cli(['read', '--card', 'card.json', '--can', CAN, '--pin'], { CHIPWRIGHT_PIN: 'abcd' });
    expect(badPin.code).toBe(2);
    expect(badPin.stderr).not.toContain('abcd');
    const none = await cli(['read', '--card', 'card.json']);
    expect(none.code).toBe(2);
    const csca = await cli(['read', '--card', 'card.json', '--can', CAN, '--csca', 'nope.pem']);
    expect(csca.code).toBe(3);
  });
});

describe('read options', () => {
  it('--mrz takes the three TD1 lines or the MRZ information; --can is 6 digits', () => {
    const info = parseTd1(holderMrz(holder)).mrzInformation;
    expect(mrzOption(holderMrz(holder))).toBe(info);
    expect(mrzOption(holderMrz(holder).replace(/\n/g, ' '))).toBe(info);
    expect(mrzOption(info)).toBe(info);
    expect(() => mrzOption('abc')).toThrow(/--mrz/);
    expect(() => readContext({ card: 'c.json', can: '12345' })).toThrow(/--can: expected 6 digits/);
    expect(() => readContext({ card: 'c.json', can: '123456', mrz: 'X' })).toThrow(/not both/);
  });
});
