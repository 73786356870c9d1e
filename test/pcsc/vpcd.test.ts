/**
 * The vpcd card server against a stand-in for pcscd's vpcd driver (a TCP server speaking the
 * same framing), so the protocol, power handling, durability and reconnection are tested
 * without pcscd. Runs everywhere; test/pcsc/transport.test.ts repeats the essentials on the
 * real stack.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../src/bytes/index.js';
import { loadCardImage } from '../../src/card/image.js';
import { createCard } from '../../src/card/os.js';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import { parseVpcdAddress, VpcdCardServer, vpcdFrame, type VirtualCard, type VpcdEvent } from '../../src/transport/vpcd.js';
import { EF_DATA, testCard, writeTestCard } from './cards.js';
import { BIN, sleep } from './helpers.js';

/** pcscd's side of one vpcd slot: accepts the card, sends controls and APDUs, reads answers. */
class FakeVpcd {
  private conn: Socket | null = null;
  private buf = Buffer.alloc(0);
  private readonly frames: Buffer[] = [];
  private readonly waiting: ((b: Buffer) => void)[] = [];
  private readonly acceptWaiters: (() => void)[] = [];
  /** Called with each frame as it arrives (before any waiter sees it). */
  onFrame: ((frame: Buffer) => void) | undefined;

  private constructor(
    readonly server: Server,
    readonly port: number,
  ) {
    server.on('connection', (s: Socket) => {
      s.setNoDelay(true);
      this.conn = s;
      this.buf = Buffer.alloc(0);
      s.on('data', (d: Buffer) => this.onData(d));
      s.on('close', () => {
        if (this.conn === s) this.conn = null;
      });
      for (const w of this.acceptWaiters.splice(0)) w();
    });
  }

  static listen(port = 0): Promise<FakeVpcd> {
    const server = createServer();
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve(new FakeVpcd(server, (server.address() as { port: number }).port)));
    });
  }

  get connected(): boolean {
    return this.conn !== null;
  }

  accepted(timeoutMs = 3000): Promise<void> {
    if (this.conn !== null) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no card connected')), timeoutMs);
      this.acceptWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    while (this.buf.length >= 2) {
      const n = this.buf.readUInt16BE(0);
      if (this.buf.length < 2 + n) break;
      const f = this.buf.subarray(2, 2 + n);
      this.buf = this.buf.subarray(2 + n);
      this.onFrame?.(f);
      const w = this.waiting.shift();
      if (w) w(f);
      else this.frames.push(f);
    }
  }

  /** The next frame from the card. */
  next(timeoutMs = 2000): Promise<Buffer> {
    const f = this.frames.shift();
    if (f) return Promise.resolve(f);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no answer from the card')), timeoutMs);
      this.waiting.push((b) => {
        clearTimeout(t);
        resolve(b);
      });
    });
  }

  /** Whether a frame arrives within `ms` (without consuming it). */
  async silentFor(ms: number): Promise<boolean> {
    await sleep(ms);
    return this.frames.length === 0;
  }

  raw(bytes: Uint8Array): void {
    this.conn!.write(bytes);
  }

  control(c: number): void {
    this.raw(vpcdFrame(Uint8Array.of(c)));
  }

  async atr(): Promise<string> {
    this.control(0x04);
    return bytesToHex(await this.next());
  }

  async apdu(hex: string): Promise<string> {
    this.raw(vpcdFrame(hexToBytes(hex)));
    return bytesToHex(await this.next());
  }

  /** Drops the card's connection (pcscd restarting drops every slot). */
  drop(): void {
    this.conn?.destroy();
    this.conn = null;
  }

  close(): Promise<void> {
    this.drop();
    return new Promise((r) => this.server.close(() => r()));
  }
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function served(card: VirtualCard = testCard(), opts: ConstructorParameters<typeof VpcdCardServer>[1] = {}): Promise<{ vpcd: FakeVpcd; server: VpcdCardServer; events: VpcdEvent[] }> {
  const vpcd = await FakeVpcd.listen();
  const events: VpcdEvent[] = [];
  const server = new VpcdCardServer(card, { port: vpcd.port, retryMs: { min: 20, max: 100 }, onEvent: (e) => events.push(e), ...opts }).start();
  cleanup.push(() => vpcd.close(), () => server.close());
  await server.connected();
  await vpcd.accepted();
  return { vpcd, server, events };
}

describe('vpcd card server: the protocol', () => {
  it('answers the ATR request powered or not, serves APDUs as in-process, and says nothing to power controls', async () => {
    const card = testCard();
    const { vpcd } = await served(card);
    expect(await vpcd.atr()).toBe(bytesToHex(card.atr));
    vpcd.control(0x01);
    expect(await vpcd.silentFor(50)).toBe(true);
    expect(await vpcd.apdu('00A4000C020101')).toBe('9000');
    expect(await vpcd.apdu('00B0000004')).toBe('000102039000');
    expect(await vpcd.apdu('00B0000000')).toBe(bytesToHex(EF_DATA.subarray(0, 256)) + '9000');
    // Extended Le: 1024 bytes in one frame.
    expect(await vpcd.apdu('00B00000000400')).toBe(bytesToHex(EF_DATA) + '9000');
    vpcd.control(0x02);
    expect(await vpcd.apdu('00B0000004')).toBe('6986'); // reset: no current EF
    vpcd.control(0x00);
    expect(await vpcd.atr()).toBe(bytesToHex(card.atr));
    expect(card.isPowered).toBe(false);
  });

  it('reassembles frames split over segments (vpcd 0.8 writes length and payload apart) and several in one', async () => {
    const { vpcd } = await served();
    vpcd.control(0x01);
    const sel = vpcdFrame(hexToBytes('00A4000C020101'));
    vpcd.raw(sel.subarray(0, 2));
    await sleep(10);
    vpcd.raw(sel.subarray(2, 5));
    await sleep(10);
    vpcd.raw(sel.subarray(5));
    expect(bytesToHex(await vpcd.next())).toBe('9000');
    vpcd.raw(Buffer.concat([vpcdFrame(Uint8Array.of(0x04)), vpcdFrame(hexToBytes('00B0000002')), vpcdFrame(hexToBytes('00B0000202'))]));
    await vpcd.next(); // ATR
    expect(bytesToHex(await vpcd.next())).toBe('00019000');
    expect(bytesToHex(await vpcd.next())).toBe('02039000');
  });

  it('power off clears transient state (PIN status, current file) and keeps non-volatile state', async () => {
    const card = testCard();
    const { vpcd } = await served(card);
    vpcd.control(0x01);
    expect(await vpcd.apdu('0020000106313233343536')).toBe('9000');
    expect(await vpcd.apdu('0020000100')).toBe('9000');
    expect(await vpcd.apdu('00D6810002CAFE')).toBe('9000');
    vpcd.control(0x00);
    vpcd.control(0x01);
    expect(await vpcd.apdu('0020000100')).toBe('63C3');
    expect(await vpcd.apdu('00B0810002')).toBe('CAFE9000');
  });

  it('runs afterCommand before the response leaves', async () => {
    const order: string[] = [];
    const card = testCard();
    const { vpcd } = await served(card, { afterCommand: () => order.push(`saved generation ${card.nv.generation}`) });
    vpcd.onFrame = () => order.push('response');
    vpcd.control(0x01);
    await vpcd.apdu('00D6810001AA');
    expect(order).toEqual([`saved generation ${card.nv.generation}`, 'response']);
  });

  it('a mute card is pulled out (the connection dropped) and inserted again', async () => {
    const card = createCard();
    const { vpcd, events } = await served(card);
    // No power-on: the card cannot answer, and vpcd has no way to say "mute".
    vpcd.raw(vpcdFrame(hexToBytes('00A4000C023F00')));
    await sleep(50);
    expect(events.some((e) => e.type === 'mute')).toBe(true);
    await vpcd.accepted();
    expect(await vpcd.atr()).toBe(bytesToHex(card.atr));
  });

  it('waits for pcscd, and reconnects after pcscd restarts; the card is powered off meanwhile', async () => {
    const probe = await FakeVpcd.listen();
    const port = probe.port;
    await probe.close();
    const card = testCard();
    const events: VpcdEvent[] = [];
    const server = new VpcdCardServer(card, { port, retryMs: { min: 20, max: 100 }, onEvent: (e) => events.push(e) }).start();
    cleanup.push(() => server.close());
    await sleep(150);
    expect(events.filter((e) => e.type === 'unreachable')).toHaveLength(1);
    let vpcd = await FakeVpcd.listen(port);
    cleanup.push(() => vpcd.close());
    await server.connected();
    await vpcd.accepted();
    vpcd.control(0x01);
    expect(await vpcd.apdu('0020000106313233343536')).toBe('9000');
    await vpcd.close();
    await sleep(50);
    expect(card.isPowered).toBe(false);
    vpcd = await FakeVpcd.listen(port);
    await vpcd.accepted();
    vpcd.control(0x01);
    expect(await vpcd.apdu('0020000100')).toBe('63C3');
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['connected', 'disconnected', 'connected']));
  });

  it('a failing afterCommand (image not saved) ends the server: no response, finished rejects', async () => {
    const { vpcd, server } = await served(testCard(), {
      afterCommand: () => {
        throw new Error('disk full');
      },
    });
    vpcd.control(0x01);
    vpcd.raw(vpcdFrame(hexToBytes('00D6810001AA')));
    await expect(server.finished).rejects.toThrow('disk full');
    expect(await vpcd.silentFor(50)).toBe(true);
    expect(server.state).toBe('closed');
  });

  it('says so when pcscd accepts the connection but never polls (another card holds the slot)', async () => {
    const { events } = await served(testCard(), { noPollMs: 50 });
    await sleep(120);
    expect(events).toContainEqual({ type: 'no-poll', afterMs: 50 });
  });

  it('parses [HOST:]PORT', () => {
    expect(parseVpcdAddress('35963')).toEqual({ host: '127.0.0.1', port: 35963 });
    expect(parseVpcdAddress('pcsc.local:35964')).toEqual({ host: 'pcsc.local', port: 35964 });
    expect(parseVpcdAddress('[::1]:35963')).toEqual({ host: '::1', port: 35963 });
    expect(() => parseVpcdAddress('70000')).toThrow('--vpcd: expected [HOST:]PORT with PORT 1..65535');
    expect(() => parseVpcdAddress('host:')).toThrow('got "host:"');
  });
});

// --- the CLI -----------------------------------------------------------------------------------

/** The first two bytes of EF 0101 in a saved image. */
function efHead(path: string): string {
  const ef = loadCardImage(path).state.mf.children.find((f) => f.fid === 0x0101);
  return ef?.kind === 'EF' && ef.structure === 'transparent' ? bytesToHex(ef.data.subarray(0, 2)) : '';
}

describe('chipwright sim --vpcd', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'chipwright-vpcd-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  async function usage(args: string[]): Promise<{ code: number; err: string }> {
    let err = '';
    const io: CliIo = { stdout: () => undefined, stderr: (t) => (err += t), stdin: Readable.from([]), env: {}, stderrIsTTY: false };
    const code = await main(['node', 'chipwright', ...args], io);
    return { code, err };
  }

  it('validates the pairing of --card and --vpcd before touching anything', async () => {
    expect(await usage(['sim', '--card', 'a.json', '--vpcd', '35963', '--card', 'b.json'])).toMatchObject({ code: 2, err: expect.stringContaining('2 --card and 1 --vpcd') });
    expect(await usage(['sim', '--card', 'a.json', '--stdio', '--vpcd', '35963'])).toMatchObject({ code: 2, err: expect.stringContaining('choose one') });
    expect(await usage(['sim', '--card', 'a.json'])).toMatchObject({ code: 2, err: expect.stringContaining('--stdio, or --vpcd') });
    expect(await usage(['sim', '--card', 'a.json', '--vpcd', '99999'])).toMatchObject({ code: 2, err: expect.stringContaining('PORT 1..65535') });
    expect(await usage(['sim', '--card', 'a.json', '--vpcd', '1', '--card', 'b.json', '--vpcd', '127.0.0.1:1'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('given twice'),
    });
    expect(await usage(['sim', '--card', 'a.json', '--vpcd', '1', '--card', 'a.json', '--vpcd', '2'])).toMatchObject({ code: 2, err: expect.stringContaining('--card a.json given twice') });
    expect(await usage(['sim', '--card', 'a.json', '--card', 'b.json', '--stdio'])).toMatchObject({ code: 2, err: expect.stringContaining('--stdio serves one card') });
  });

  it('serves two cards on two ports from one process; each image is on disk before its response; SIGKILL loses nothing; SIGTERM exits 0', async () => {
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    writeTestCard(a);
    writeTestCard(b);
    const va = await FakeVpcd.listen();
    const vb = await FakeVpcd.listen();
    cleanup.push(() => va.close(), () => vb.close());
    const start = (): ReturnType<typeof spawn> => spawn(process.execPath, [BIN, 'sim', '--card', a, '--vpcd', `127.0.0.1:${va.port}`, '--card', b, '--vpcd', `${vb.port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let child = start();
    await Promise.all([va.accepted(10_000), vb.accepted(10_000)]);
    va.control(0x01);
    vb.control(0x01);
    expect(await va.apdu('00B0810002')).toBe('00019000');
    expect(await vb.apdu('00B0810002')).toBe('00019000');
    // The answer to a write arrives only once the image holding it is on disk.
    let onDisk = '';
    va.onFrame = () => (onDisk = (JSON.parse(readFileSync(a, 'utf8')) as { mf: { children: { data: string }[] } }).mf.children[0]!.data.slice(0, 4));
    expect(await va.apdu('00D6810002AAAA')).toBe('9000');
    expect(onDisk).toBe('AAAA');
    va.onFrame = undefined;
    expect(await vb.apdu('00D6810002BBBB')).toBe('9000');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(efHead(a)).toBe('AAAA');
    expect(efHead(b)).toBe('BBBB');
    while (va.connected) await sleep(10);
    // Restarted, it is the same card; SIGTERM ends the session cleanly.
    child = start();
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    await va.accepted(10_000);
    va.control(0x01);
    expect(await va.apdu('00B0810002')).toBe('AAAA9000');
    const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(err).toContain(`${a} on 127.0.0.1:${va.port}: connected`);
  });
});
