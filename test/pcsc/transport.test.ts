/**
 * chipwright's own PC/SC side on the real stack: one `chipwright sim` process serves two cards
 * (vpcd slots 0 and 1), and the PC/SC transport, `readers`, `send --reader` and
 * `script run --reader` drive them through pcscd. Then the card server is killed mid-session
 * (the typed card-removed error within 1 s), restarted (reconnecting works) and the committed
 * state is found again. Last, a T=0 card.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../src/bytes/index.js';
import { loadCardImage } from '../../src/card/image.js';
import { GetResponseTransport } from '../../src/transport/get-response.js';
import { CardRemovedError, NoCardError, NoReaderError, PcscTransport, ReaderInUseError } from '../../src/transport/pcsc.js';
import { CardMuteError } from '../../src/transport/types.js';
import { EF_DATA, writeTestCard } from './cards.js';
import { APDU_DIR, cli, describeWithStack, pcscStack, stackReady, startSim, waitForSlot, type SimProcess } from './helpers.js';

const SECRETS = { PIN: '31323334', NEW_PIN: '35363738', PUK: '3132333435363738' };

async function tx(t: { transmit(a: Uint8Array): Promise<Uint8Array> }, hex: string): Promise<string> {
  return bytesToHex(await t.transmit(hexToBytes(hex)));
}

describeWithStack('PC/SC transport: chipwright drives simulated cards through pcscd', () => {
  let dir = '';
  let blank = '';
  let demo = '';
  let test = '';
  let sim: SimProcess | undefined;
  const names: string[] = [];

  beforeAll(async () => {
    if (!stackReady()) return;
    dir = mkdtempSync(join(tmpdir(), 'chipwright-pcsc-'));
    blank = join(dir, 'blank.json');
    demo = join(dir, 'demo.json');
    test = join(dir, 'test.json');
    expect((await cli(['card', 'new', '--out', blank])).code).toBe(0);
    copyFileSync(blank, demo);
    writeTestCard(test);
    writeFileSync(join(dir, 'secrets.json'), JSON.stringify(SECRETS));
    const ports = pcscStack().ports;
    // A card the previous test file served may still be on its way out of the reader.
    await Promise.all([waitForSlot(0, false), waitForSlot(1, false)]);
    sim = await startSim([demo, test], [ports[0]!, ports[1]!]);
    names.push((await waitForSlot(0, true)).name, (await waitForSlot(1, true)).name);
  });

  afterAll(async () => {
    await sim?.stop();
    if (sim !== undefined) await Promise.all([waitForSlot(0, false), waitForSlot(1, false)]).catch(() => undefined);
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('chipwright readers lists both vpcd readers with their cards and ATRs', async () => {
    const r = await cli(['readers', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const readers = JSON.parse(r.stdout) as { index: number; name: string; card: boolean; atr: string | null }[];
    const byName = new Map(readers.map((x) => [x.name, x]));
    expect(byName.get(names[0]!)).toMatchObject({ card: true, atr: bytesToHex(loadCardImage(demo).atr) });
    expect(byName.get(names[1]!)).toMatchObject({ card: true, atr: bytesToHex(loadCardImage(test).atr) });
    const text = await cli(['readers']);
    expect(text.stdout).toMatch(new RegExp(`${names[1]!}\\s+card\\s+${bytesToHex(loadCardImage(test).atr, ' ')}`));
  });

  it('script run --reader personalizes a card with apdu/filesystem-demo.apdu, step for step as in-process', async () => {
    const script = join(APDU_DIR, 'filesystem-demo.apdu');
    const secrets = join(dir, 'secrets.json');
    const viaReader = await cli(['script', 'run', script, '--reader', names[0]!, '--secrets', secrets, '--json'], { timeoutMs: 30_000 });
    expect(viaReader.code, viaReader.stderr).toBe(0);
    const local = join(dir, 'local.json');
    copyFileSync(blank, local);
    const inProcess = await cli(['script', 'run', script, '--card', local, '--secrets', secrets, '--json']);
    type Run = { ok: boolean; passed: number; steps: { line: number; verdict: string; response?: string }[] };
    const a = JSON.parse(viaReader.stdout) as Run;
    const b = JSON.parse(inProcess.stdout) as Run;
    expect(a.ok).toBe(true);
    expect(a.passed).toBe(b.passed);
    const view = (r: Run): unknown[] => r.steps.map((s) => [s.line, s.verdict, s.response]);
    expect(view(a)).toEqual(view(b));
  });

  it('send --reader picks a reader by substring or index; --trace shows the reader', async () => {
    const bySubstring = await cli(['send', '--reader', names[1]!.slice(-5), '00A4000C020101', '00B0000004']);
    expect(bySubstring.code, bySubstring.stderr).toBe(0);
    expect(bySubstring.stdout).toBe('9000\n000102039000\n');
    const index = String((JSON.parse((await cli(['readers', '--json'])).stdout) as { name: string; index: number }[]).find((x) => x.name === names[1])!.index);
    const byIndex = await cli(['send', '--reader', index, '--trace', '00B0810002']);
    expect(byIndex.stdout).toBe('00019000\n');
    expect(byIndex.stderr).toContain(`reader "${names[1]}"`);
    expect(byIndex.stderr).toContain('READ BINARY');
    const both = await cli(['send', '--reader', '0', '--card', test, '00A4000C023F00']);
    expect(both.code).toBe(2);
  });

  it('the transport: T=1, exclusive (a second connection is refused), extended APDUs, GET RESPONSE wrapper', async () => {
    const t = await PcscTransport.open(names[1]!);
    const other = await PcscTransport.open(names[1]!);
    try {
      expect(bytesToHex(await t.connect())).toBe(bytesToHex(loadCardImage(test).atr));
      expect(t.protocol).toBe('T=1');
      await expect(other.connect()).rejects.toBeInstanceOf(ReaderInUseError);
      // Extended Le (00 0400): the whole 1 KiB EF in one response.
      expect(await tx(t, '00B08100000400')).toBe(bytesToHex(EF_DATA) + '9000');
      // SELECT with FCP asked but no Le: the card announces the FCP with 61XX.
      const raw = await tx(t, '00A40004020101');
      expect(raw).toMatch(/^61[0-9A-F]{2}$/);
      const wrapped = await tx(new GetResponseTransport(t), '00A40004020101');
      expect(wrapped).toMatch(/^62[0-9A-F]+9000$/);
      expect(wrapped.length / 2 - 2).toBe(parseInt(raw.slice(2), 16));
      // reset: the security status goes.
      expect(await tx(t, '0020000106313233343536')).toBe('9000');
      await t.reset();
      expect(await tx(t, '0020000100')).toBe('63C3');
    } finally {
      await t.close();
      await other.close();
    }
    await expect(PcscTransport.open('no such reader')).rejects.toBeInstanceOf(NoReaderError);
  });

  it('killing the card server mid-session: CardRemovedError within 1 s; after a restart the transport reconnects to the committed state', async () => {
    const t = await PcscTransport.open(names[0]!, { cardTimeoutMs: 5000 });
    try {
      await t.connect();
      // The demo card is operational now: PIN 81 guards updates of EF 1001.
      expect(await tx(t, '00A4040C07F0435744454D4F')).toBe('9000');
      expect(await tx(t, '002000810431323334')).toBe('9000');
      expect(await tx(t, '00D68100044B494C4C')).toBe('9000'); // "KILL"
      await sim!.stop('SIGKILL');
      const start = performance.now();
      let error: unknown;
      try {
        for (;;) await tx(t, '00B0810004');
      } catch (e) {
        error = e;
      }
      const ms = performance.now() - start;
      expect(error).toBeInstanceOf(CardRemovedError);
      expect(error).toBeInstanceOf(CardMuteError);
      expect(ms).toBeLessThan(1000);
      await expect(tx(t, '00B0810004')).rejects.toBeInstanceOf(CardRemovedError);

      // No card now: connecting without waiting says so; waiting for one times out.
      const quick = await PcscTransport.open(names[0]!);
      try {
        await expect(quick.connect()).rejects.toBeInstanceOf(NoCardError);
        expect(await quick.waitForCard(100)).toBe(false);
      } finally {
        await quick.close();
      }
      const viaCli = await cli(['send', '--reader', names[0]!, '00A4000C023F00']);
      expect(viaCli.code).not.toBe(0);
      expect(viaCli.stderr).toContain(`no card in reader "${names[0]}"`);

      const ports = pcscStack().ports;
      sim = await startSim([demo, test], [ports[0]!, ports[1]!]);
      await t.connect();
      expect(await tx(t, '00A4040C07F0435744454D4F')).toBe('9000');
      expect(await tx(t, '00B0810010')).toBe(bytesToHex(new TextEncoder().encode('KILLwright demo!')) + '9000');
      // A new power-up: the PIN must be presented again.
      expect(await tx(t, '0020008100')).toBe('63C3');
    } finally {
      await t.close();
    }
    expect(JSON.parse(readFileSync(demo, 'utf8')).lifeCycle).toBe('operational');
  });

  it('T=0: a card whose ATR offers only T=0 is connected with T=0; asking for T=1 is refused', async () => {
    await sim!.stop();
    await waitForSlot(1, false);
    const t0 = join(dir, 't0.json');
    expect((await cli(['card', 'new', '--out', t0, '--atr', '3B021450'])).code).toBe(0);
    sim = await startSim([t0], [pcscStack().ports[1]!]);
    await waitForSlot(1, true);
    for (const protocol of ['any', 'T=0'] as const) {
      const t = await PcscTransport.open(names[1]!, { protocol });
      try {
        expect(bytesToHex(await t.connect())).toBe('3B021450');
        expect(t.protocol).toBe('T=0');
        expect(await tx(t, '00A4000C023F00')).toBe('9000');
      } finally {
        await t.close();
      }
    }
    const t1 = await PcscTransport.open(names[1]!, { protocol: 'T=1' });
    try {
      await expect(t1.connect()).rejects.toThrow(`reader "${names[1]}": the card does not offer T=1`);
    } finally {
      await t1.close();
    }
  });
});
