/**
 * The simulated card through the real PC/SC stack, driven by tools chipwright did not write:
 * `chipwright sim --vpcd` puts a blank card into pcscd's vpcd reader (slot 0); pcsc-tools'
 * `scriptor` personalizes it with apdu/filesystem-demo.apdu; opensc's `opensc-tool` lists it,
 * reads its ATR and sends commands that must be answered exactly as in-process; and
 * `opensc-explorer` (its default driver) walks the file system and verifies the PIN.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../src/bytes/index.js';
import { loadCardImage } from '../../src/card/image.js';
import { DEFAULT_TRANSPORT_KEY } from '../../src/card/os.js';
import { matchesExpectation, parseApduScript } from '../../src/script/format.js';
import { APDU_DIR, cli, describeWithStack, pcscStack, run, stackReady, startSim, waitForSlot, type SimProcess } from './helpers.js';
import { parseScriptorOutput, toScriptor } from './scriptor.js';

const SECRETS = { PIN: hexToBytes('31323334'), NEW_PIN: hexToBytes('35363738'), PUK: hexToBytes('3132333435363738') };
/** The card's first 16 random bytes (`sim --rng`): the challenges of the script's two @auth-transport. */
const CHALLENGES = [hexToBytes('0102030405060708'), hexToBytes('1112131415161718')];

/** Data bytes of an opensc hex dump: the first line is `XX XX ... ascii`, later ones are padded to 16 columns. */
function dumpBytes(lines: readonly string[]): string {
  let hex = '';
  lines.forEach((line, i) => {
    const n = i === 0 ? line.length / 4 : line.length - 48;
    hex += line.slice(0, 3 * n).replace(/\s+/g, '');
  });
  return hex.toUpperCase();
}

/** `opensc-tool -s` transcript → response hex (data then SW) per command. */
function parseOpenscTool(out: string): string[] {
  const responses: string[] = [];
  const lines = out.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^Received \(SW1=0x([0-9A-Fa-f]{2}), SW2=0x([0-9A-Fa-f]{2})\)(:?)/.exec(lines[i]!);
    if (m === null) continue;
    const dump: string[] = [];
    if (m[3] === ':') {
      while (i + 1 < lines.length && /^[0-9A-F]{2} /.test(lines[i + 1]!)) dump.push(lines[++i]!);
    }
    responses.push(dumpBytes(dump) + `${m[1]}${m[2]}`.toUpperCase());
  }
  return responses;
}

describeWithStack('interop: opensc and pcsc-tools use the simulated card through pcscd and vpcd', () => {
  let dir = '';
  let card = '';
  let sim: SimProcess | undefined;
  let reader = '';

  beforeAll(async () => {
    if (!stackReady()) return;
    dir = mkdtempSync(join(tmpdir(), 'chipwright-interop-'));
    card = join(dir, 'card.json');
    expect((await cli(['card', 'new', '--out', card])).code).toBe(0);
    await waitForSlot(0, false);
    sim = await startSim([card], [pcscStack().ports[0]!], ['--rng', CHALLENGES.map((c) => bytesToHex(c)).join('')]);
    reader = (await waitForSlot(0, true)).name;
  });

  afterAll(async () => {
    await sim?.stop();
    if (sim !== undefined) await waitForSlot(0, false).catch(() => undefined);
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('opensc-tool -l lists the card in the vpcd reader and -a prints its ATR', async () => {
    const l = await run('opensc-tool', ['-l']);
    expect(l.code).toBe(0);
    expect(l.stdout).toMatch(new RegExp(`\\d+\\s+Yes\\s+.*${reader}`));
    const a = await run('opensc-tool', ['-r', reader, '-a']);
    expect(a.code).toBe(0);
    const atr = bytesToHex(loadCardImage(card).atr);
    expect(a.stdout.trim().replace(/:/g, '').toUpperCase()).toBe(atr);
  });

  it('scriptor runs apdu/filesystem-demo.apdu: every expectation of the script holds', async () => {
    const script = parseApduScript(readFileSync(join(APDU_DIR, 'filesystem-demo.apdu'), 'utf8'), 'filesystem-demo.apdu');
    const { text, steps } = toScriptor(script, {
      secrets: SECRETS,
      transportKey: { algorithm: '3des', value: DEFAULT_TRANSPORT_KEY },
      challenges: CHALLENGES,
    });
    const file = join(dir, 'filesystem-demo.scriptor');
    writeFileSync(file, text);
    const r = await run('scriptor', ['-r', reader, file], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    const got = parseScriptorOutput(r.stdout);
    expect(got.map((x) => x.command)).toEqual(steps.map((s) => s.command));
    const failures = steps.flatMap((s, i) => {
      const resp = got[i]!.response;
      if (s.expect === undefined) return [];
      const ok = matchesExpectation(s.expect, resp.slice(0, -4), parseInt(resp.slice(-4), 16));
      return ok ? [] : [`line ${s.line}: ${s.command} → ${resp}`];
    });
    expect(failures).toEqual([]);
    // The sim saved every change: the image on disk is the personalized, operational card.
    expect(JSON.parse(readFileSync(card, 'utf8')).lifeCycle).toBe('operational');
  });

  it('opensc-explorer (default driver) selects the MF and the DF, cats the EF, reads a record and verifies the PIN', async () => {
    const script = join(dir, 'explorer.txt');
    writeFileSync(
      script,
      ['cd 1000', 'cat 1001', 'cat 1002 2', 'verify CHV129 30303030', 'verify CHV129 31323334', 'cd ..', 'cd aid:F0435744454D4F', 'cat 1002 1', 'quit', ''].join('\n'),
    );
    const r = await run('opensc-explorer', ['-r', reader, script]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // MF selected at start (-m 3F00 is the default), then DF 1000 by FID, EF 1001 read whole.
    expect(r.stdout).toContain('43 48 49 50 77 72 69 67 68 74 20 64 65 6D 6F 21 CHIPwright demo!');
    expect(r.stdout).toContain('Record 2:\n00000000: 52 45 43 4F 52 44 20 32 RECORD 2');
    expect(r.stdout).toContain('Incorrect code, 2 tries left.');
    expect(r.stdout).toContain('Code correct.');
    // Back to the MF, then the DF again by its name (SELECT by DF name), a record of the EF in it.
    expect(r.stdout).toContain('Record 1:\n00000000: 52 45 43 4F 52 44 20 31 RECORD 1');
    expect(r.stderr).not.toMatch(/failed/i);
  });

  it('opensc-tool -s commands get the same answers as the same card in-process', async () => {
    const apdus = [
      '00A4000C023F00',
      '00A4000002100000',
      '00A4040407F0435744454D4F00',
      '00B0810010',
      '00B0000A06',
      '00B2011408',
      '00B2021408',
      '00B2031408',
      '00B2011C04',
      '00B2031C04',
      '0020008100',
      '00CA5F5200',
      '00A4000C021234',
      '00FE000000',
    ];
    const r = await run('opensc-tool', ['-r', reader, ...apdus.flatMap((a) => ['-s', a])]);
    expect(r.code, r.stderr).toBe(0);
    const viaPcsc = parseOpenscTool(r.stdout);
    // The image the sim saved is the card; power it up in-process and ask the same.
    const local = loadCardImage(card);
    local.powerOn();
    const inProcess = apdus.map((a) => bytesToHex(local.transmit(hexToBytes(a))));
    expect(viaPcsc).toEqual(inProcess);
    expect(viaPcsc[0]).toBe('9000');
    expect(viaPcsc[3]).toBe('43484950777269676874206465 6D6F219000'.replace(/\s/g, ''));
  });
});
