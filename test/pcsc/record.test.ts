/**
 * `chipwright sim --vpcd PORT --record FILE` while real PC/SC clients use the card: opensc-tool
 * and chipwright's PC/SC transport talk to the simulated card through pcscd; the recording is on
 * disk within a second while the session goes on, complete after SIGTERM, redacts the PIN, and
 * `chipwright replay` of it on a fresh identical card (the snapshot it names, the same `--rng`)
 * passes every step. `sim --stdio --record` (no PC/SC stack needed): a SIGKILL loses at most the
 * last second, SIGTERM ends the session as the end of input does.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../src/bytes/index.js';
import { PcscTransport } from '../../src/transport/pcsc.js';
import { writeTestCard } from './cards.js';
import { BIN, cli, describeWithStack, pcscStack, run, sleep, stackReady, startSim, waitForSlot, type SimProcess } from './helpers.js';

const RNG = '0102030405060708A1A2A3A4A5A6A7A8';

describeWithStack('sim --vpcd --record: a PC/SC session recorded and replayed', () => {
  let dir = '';
  let card = '';
  let rec = '';
  let secrets = '';
  let sim: SimProcess | undefined;

  beforeAll(async () => {
    if (!stackReady()) return;
    dir = mkdtempSync(join(tmpdir(), 'chipwright-record-'));
    card = join(dir, 'card.json');
    rec = join(dir, 'session.vec');
    secrets = join(dir, 'session.secrets.json');
    writeTestCard(card);
    await waitForSlot(0, false);
  });

  afterAll(async () => {
    await sim?.stop('SIGKILL');
    if (sim !== undefined) await waitForSlot(0, false).catch(() => undefined);
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('records opensc-tool and the PC/SC transport; replay on a fresh identical card passes', async () => {
    sim = await startSim([card], [pcscStack().ports[0]!], ['--record', rec, '--secrets-out', secrets, '--rng', RNG]);
    const reader = (await waitForSlot(0, true)).name;

    // An independent client first: its own connection, power-up and commands.
    const tool = await run('opensc-tool', ['-r', reader, '-s', '00A4000C023F00', '-s', '00B0000008']);
    expect(tool.code, tool.stderr).toBe(0);

    const t = await PcscTransport.open(reader, { cardTimeoutMs: 5000 });
    const tx = async (hex: string): Promise<string> => bytesToHex(await t.transmit(hexToBytes(hex)));
    try {
      await t.connect();
      expect(await tx('00A4000C023F00')).toBe('9000');
      expect(await tx('0020000106313233343536')).toBe('9000'); // VERIFY PIN 01 "123456"
      expect(await tx('00D6810004CAFEBABE')).toBe('9000'); // UPDATE BINARY: survives into the image
      expect(await tx('00B0810004')).toBe('CAFEBABE9000');
      expect(await tx('0084000008')).toBe('01020304050607089000'); // GET CHALLENGE: the --rng bytes
      expect(await tx('00200001')).toBe('9000');
      await t.reset();
      expect(await tx('00200001')).toBe('63C3'); // a reset clears the verification
      expect(await tx('0020000106313233343500')).toBe('63C2');
      expect(await tx('0084000008')).toBe('A1A2A3A4A5A6A7A89000');
    } finally {
      await t.close();
    }

    // Flushed while the session goes on: all of it is on disk within a second.
    await sleep(1300);
    const live = readFileSync(rec, 'utf8');
    expect(live).toContain('00 84 00 00 08 => A1A2A3A4A5A6A7A8 9000');
    expect(sim.child.exitCode).toBeNull();

    expect(await sim.stop('SIGTERM')).toBe(0);
    expect(sim.stderr()).toMatch(/steps recorded to .*session\.vec/);
    const text = readFileSync(rec, 'utf8');
    // Secrets redacted as chipwright record does; their values only in the mode-600 file.
    expect(text).not.toMatch(/31 ?32 ?33 ?34 ?35/);
    expect(text).toContain('00 20 00 01 06 {VERIFY_1} => 9000');
    expect(JSON.parse(readFileSync(secrets, 'utf8'))).toEqual({ VERIFY_1: '313233343536', VERIFY_2: '313233343500' });
    expect(statSync(secrets).mode & 0o777).toBe(0o600);
    expect(text).toMatch(/^card: image session\.card\.json$/m);
    expect(text).toMatch(new RegExp(`^rng: ${RNG}$`, 'im'));
    expect(text).toMatch(/^power on => 3B/m);
    expect(text).toMatch(/^reset => 3B/m);
    expect(text).toMatch(/# \+\d+\.\d{3} s, \d+\.\d{3} ms/);
    // The starting card, not the one the session changed.
    expect(readFileSync(join(dir, 'session.card.json'), 'utf8')).not.toMatch(/cafebabe/i);
    expect(readFileSync(card, 'utf8')).toMatch(/cafebabe/i);

    const replay = await cli(['replay', rec, '--secrets', secrets, '--json']);
    expect(replay.code, replay.stdout + replay.stderr).toBe(0);
    const report = JSON.parse(replay.stdout) as { ok: boolean; files: { verdict: string; passed: number; failed: number; errors: number }[] };
    expect(report.ok).toBe(true);
    expect(report.files[0]).toMatchObject({ verdict: 'pass', failed: 0, errors: 0 });
    // opensc-tool's 2 and ours 9 commands, 3 ATRs, and whatever opensc-tool sends to identify the card.
    expect(report.files[0]!.passed).toBeGreaterThanOrEqual(11 + 3);
  });
});

describe('sim --stdio --record', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'chipwright-record-stdio-'));
  });
  afterAll(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  /** `sim --stdio --record` with its input left open; `lines` written at once. */
  function startStdio(name: string, lines: string[]): { rec: string; answered: Promise<void>; exit: Promise<number | string>; kill: (s: NodeJS.Signals) => void } {
    const card = join(dir, `${name}.json`);
    writeTestCard(card);
    const rec = join(dir, `${name}.vec`);
    const child = spawn(process.execPath, [BIN, 'sim', '--card', card, '--stdio', '--record', rec, '--rng', RNG], { stdio: ['pipe', 'pipe', 'ignore'] });
    child.stdin.write(lines.map((l) => `${l}\n`).join(''));
    let out = '';
    // Every line answered: the exchanges are in the recorder.
    const answered = new Promise<void>((r) =>
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.split('\n').length > lines.length) r();
      }),
    );
    const exit = new Promise<number | string>((r) => child.once('exit', (code, sig) => r(code ?? sig ?? -1)));
    return { rec, answered, exit, kill: (s) => child.kill(s) };
  }

  it('a SIGKILL loses at most the last second; the recording replays', async () => {
    const s = startStdio('killed', ['00A4000C023F00', '0084000008', '00B0810004']);
    await s.answered;
    await sleep(1200);
    s.kill('SIGKILL');
    expect(await s.exit).toBe('SIGKILL');
    const text = readFileSync(s.rec, 'utf8');
    expect(text).toContain('00 84 00 00 08 => 0102030405060708 9000');
    expect(text).toContain('00 B0 81 00 04 => 00010203 9000');
    const r = await cli(['replay', s.rec]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  it('SIGTERM ends the session and writes the recording with its power off', async () => {
    const s = startStdio('stopped', ['00A4000C023F00', '0084000008']);
    await s.answered;
    // The signal handlers are in place before the first answer; the end writes the power off.
    expect(existsSync(s.rec)).toBe(true);
    s.kill('SIGTERM');
    expect(await s.exit).toBe(0);
    const text = readFileSync(s.rec, 'utf8');
    expect(text).toMatch(/00 84 00 00 08 => 0102030405060708 9000 .*\npower off {2}#/);
    expect((await cli(['replay', s.rec])).code).toBe(0);
  });
});
