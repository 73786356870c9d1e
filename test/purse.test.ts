/**
 * The purse application: commands and status words, sessions and MACs, transit contracts,
 * install parameters, and tearing at every write point of a session.
 */
import { describe, expect, it } from 'vitest';
import { bytesToHex, concatBytes, hexToBytes } from '../src/bytes/index.js';
import { parseResponseApdu } from '../src/apdu/response.js';
import { createCard, type Card } from '../src/card/os.js';
import { loadCard, serializeCard } from '../src/card/image.js';
import { InProcessTransport } from '../src/transport/in-process.js';
import {
  PURSE_AID,
  PURSE_APPLET,
  PurseParamsError,
  dateStamp,
  decodeCurrency,
  decodeLogRecord,
  decodePurseInstallParams,
  encodeCurrency,
  formatAmount,
  isoDate,
  purseInstallParams,
  purseSessionKey,
  purseSpecFromJson,
  redactPurseInstallParams,
  resolvePurseSpec,
  type PurseSpec,
} from '../src/apps/purse/index.js';
import {
  PurseError,
  PurseSession,
  PurseTerminalSession,
  purseApdu,
  pursePurchase,
  purseLoad,
  purseSessionCommitted,
  readPurseBalance,
  readPurseContracts,
  readPurseLog,
  selectPurse,
  verifyPursePin,
  type PurseSessionOptions,
} from '../src/terminal/purse.js';

const PURCHASE_KEY = hexToBytes('000102030405060708090A0B0C0D0E0F');
const LOAD_KEY = hexToBytes('F0E1D2C3B4A5968778695A4B3C2D1E0F101112131415161718191A1B1C1D1E1F');
const PIN = new TextEncoder().encode('1234');
/** 2025-06-15 08:30 UTC. */
const WHEN = new Date(Date.UTC(2025, 5, 15, 8, 30));
const TERMINAL = hexToBytes('CAFE0001');

const SPEC: PurseSpec = {
  currency: 978,
  maximum: 10_000,
  initialBalance: 1_000,
  pinThreshold: 500,
  pin: { value: PIN, maxTries: 3 },
  loadKey: LOAD_KEY,
  purchaseKey: PURCHASE_KEY,
  logSize: 5,
  maxSessionOps: 3,
  contracts: [
    { product: 0x0101, zones: [1, 2], validFrom: '2025-01-01', validUntil: '2025-12-31', trips: 10 },
    { product: 0x0202, zones: [3], validFrom: '2026-01-01', validUntil: '2026-12-31', trips: 5 },
  ],
};

function purseCard(spec: PurseSpec = SPEC): Card {
  const card = createCard({ applets: [PURSE_APPLET] });
  card.install(PURSE_AID, 'purse', purseInstallParams(spec));
  card.powerOn();
  select(card);
  return card;
}

function select(card: Card): void {
  expect(sw(card.transmit(purseApdu.select()))).toBe('9000');
}

function sw(r: Uint8Array): string {
  if (r.length < 2) throw new Error('card mute');
  return bytesToHex(r.subarray(r.length - 2));
}

function send(card: Card, apdu: Uint8Array | string): { data: string; sw: string } {
  const r = parseResponseApdu(card.transmit(typeof apdu === 'string' ? hexToBytes(apdu) : apdu));
  return { data: bytesToHex(r.data), sw: r.sw.toString(16).toUpperCase().padStart(4, '0') };
}

/** A synchronous session against the card object (what the bench and the vectors do). */
function session(card: Card, opts: Partial<PurseSessionOptions> & { keyName: 'load' | 'purchase' }): {
  s: PurseTerminalSession;
  op: (apdu: Uint8Array) => { data: string; sw: string };
  close: () => ReturnType<PurseTerminalSession['acceptClose']>;
} {
  const s = new PurseTerminalSession({ key: opts.keyName === 'load' ? LOAD_KEY : PURCHASE_KEY, when: WHEN, terminalId: TERMINAL, ...opts });
  s.acceptOpen(card.transmit(s.openCommand()));
  return {
    s,
    op: (apdu) => {
      const r = s.exchange(apdu, card.transmit(apdu));
      return { data: bytesToHex(r.data), sw: r.sw.toString(16).toUpperCase().padStart(4, '0') };
    },
    close: () => s.acceptClose(card.transmit(s.closeCommand())),
  };
}

function balance(card: Card): number {
  const r = send(card, purseApdu.readBalance());
  expect(r.sw).toBe('9000');
  return parseInt(r.data.slice(0, 8), 16);
}

async function connected(card: Card): Promise<InProcessTransport> {
  const t = new InProcessTransport(card);
  return t;
}

describe('purse: reading', () => {
  it('READ BALANCE outside a session: balance, maximum, currency, exponent, TC', () => {
    const card = purseCard();
    const r = send(card, '807C000000');
    expect(r).toEqual({ data: '000003E8' + '00002710' + '0978' + '02' + '00000000', sw: '9000' });
  });

  it('the files are readable with ISO commands and written by nobody else', () => {
    const card = purseCard();
    expect(send(card, '00B0810004').data).toBe('000003E8'); // EF.Purse by SFI 01
    const days = (d: string): string => dateStamp(d).toString(16).toUpperCase().padStart(4, '0');
    // Contract 1 (SFI 09): product 0101, zones 1+2, 2025-01-01..2025-12-31, 10 trips.
    expect(send(card, '00B2014C00').data).toBe(`01010003${days('2025-01-01')}${days('2025-12-31')}000A`);
    expect(send(card, '00B2014400').sw).toBe('6A83'); // empty log
    expect(send(card, '00D6810004000FFFFF').sw).toBe('6982'); // UPDATE BINARY: NEVER
    expect(send(card, '00E2004400' /* APPEND RECORD, empty */).sw).not.toBe('9000');
  });

  it('commands need the proprietary class (6E00) and answer only while the purse is selected', () => {
    const card = purseCard();
    expect(send(card, '007C000000').sw).toBe('6E00');
    send(card, '00A4000C023F00');
    expect(send(card, '807C000000').sw).toBe('6D00');
  });
});

describe('purse: sessions', () => {
  it('a purchase: OPEN, DEBIT, CLOSE; the card MAC verifies and the log says what happened', () => {
    const card = purseCard();
    const { s, op, close } = session(card, { keyName: 'purchase' });
    expect(s.opened).toMatchObject({ transactionCounter: 1, balance: 1000, keyVersion: 1 });
    expect(op(purseApdu.debit(250))).toEqual({ data: '000002EE', sw: '9000' });
    expect(close()).toMatchObject({ balance: 750, transactionCounter: 1 });
    expect(balance(card)).toBe(750);
    const entry = decodeLogRecord(hexToBytes(send(card, purseApdu.readLog(1)).data));
    expect(entry).toEqual({
      type: 'debit',
      contract: 0,
      sequence: 1,
      transactionCounter: 1,
      amount: 250,
      after: 750,
      terminalId: TERMINAL,
      dateStamp: dateStamp('2025-06-15'),
      timeStamp: 8 * 60 + 30,
    });
  });

  it('changes are tentative until CLOSE: READ BALANCE inside shows them, outside does not', () => {
    const card = purseCard();
    const { op } = session(card, { keyName: 'load' });
    op(purseApdu.credit(100));
    expect(op(purseApdu.readBalance()).data.slice(0, 8)).toBe('0000044C');
    // Another channel sees the committed balance.
    expect(send(card, '0070000001').data).toBe('01');
    expect(send(card, `01A4040C08${bytesToHex(PURSE_AID)}`).sw).toBe('9000');
    expect(parseInt(send(card, '817C000000').data.slice(0, 8), 16)).toBe(1000);
  });

  it('several operations in one session commit together, each with its own log record', () => {
    const card = purseCard();
    const { op, close } = session(card, { keyName: 'load' });
    op(purseApdu.credit(1));
    op(purseApdu.credit(2));
    op(purseApdu.credit(3));
    expect(close().balance).toBe(1006);
    const seqs = [1, 2, 3].map((n) => decodeLogRecord(hexToBytes(send(card, purseApdu.readLog(n)).data)));
    expect(seqs.map((e) => [e.sequence, e.amount, e.after])).toEqual([[3, 3, 1006], [2, 2, 1003], [1, 1, 1001]]);
  });

  it('the transaction counter rises with every OPEN, closed or not', () => {
    const card = purseCard();
    const tcs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const s = new PurseTerminalSession({ key: PURCHASE_KEY, keyName: 'purchase' });
      tcs.push(s.acceptOpen(card.transmit(s.openCommand())).transactionCounter);
      expect(send(card, purseApdu.abort()).sw).toBe('9000');
    }
    expect(tcs).toEqual([1, 2, 3]);
  });

  it('ABORT drops the session\'s changes; ABORT without a session is harmless', () => {
    const card = purseCard();
    const { op } = session(card, { keyName: 'purchase' });
    op(purseApdu.debit(10));
    expect(send(card, purseApdu.abort()).sw).toBe('9000');
    expect(balance(card)).toBe(1000);
    expect(send(card, purseApdu.debit(10)).sw).toBe('6985');
    expect(send(card, purseApdu.abort()).sw).toBe('9000');
    expect(send(card, purseApdu.readLog(1)).sw).toBe('6A83');
  });

  it('selecting something else ends the session (its changes are dropped)', () => {
    const card = purseCard();
    const { op, s } = session(card, { keyName: 'purchase' });
    op(purseApdu.debit(10));
    send(card, '00A4000C023F00');
    select(card);
    expect(send(card, s.closeCommand()).sw).toBe('6985');
    expect(balance(card)).toBe(1000);
  });

  it('a refused command inside a session changes nothing and the session still closes', () => {
    const card = purseCard();
    expect(verifyInSession(card)).toBe('9000');
    const { op, close } = session(card, { keyName: 'purchase' });
    expect(op(purseApdu.debit(5000)).sw).toBe('6A84');
    expect(op(purseApdu.debit(100)).sw).toBe('9000');
    expect(close().balance).toBe(900);
  });

  it('a later OPEN supersedes an earlier session on another channel (6985), never both commit', () => {
    const card = purseCard();
    const a = session(card, { keyName: 'purchase' });
    a.op(purseApdu.debit(100));
    send(card, '0070000001');
    send(card, `01A4040C08${bytesToHex(PURSE_AID)}`);
    const b = session(card, { keyName: 'purchase', cla: 0x81 });
    b.op(purseApdu.debit(200, 0x81));
    expect(send(card, a.s.closeCommand()).sw).toBe('6985');
    expect(b.close().balance).toBe(800);
    expect(balance(card)).toBe(800);
  });
});

describe('purse: status words', () => {
  it('OPEN SESSION: P1-P2, Lc, time, unknown key, already open', () => {
    const card = purseCard({ ...SPEC, loadKey: undefined });
    const data = '0102030405060708' + 'CAFE0001' + '2A00' + '0000';
    expect(send(card, `808A000410${data}00`).sw).toBe('6A86');
    expect(send(card, `808A010310${data}00`).sw).toBe('6A86');
    expect(send(card, `808A00030F${data.slice(0, 30)}00`).sw).toBe('6700');
    expect(send(card, `808A000310${data.slice(0, 28)}05A000`).sw).toBe('6A80');
    expect(send(card, `808A000210${data}00`).sw).toBe('6A88');
    expect(send(card, `808A000310${data}00`).sw).toBe('9000');
    expect(send(card, `808A000310${data}00`).sw).toBe('6985');
  });

  it('CREDIT and DEBIT: session, key, amount, limits', () => {
    const card = purseCard();
    expect(send(card, purseApdu.debit(1)).sw).toBe('6985');
    expect(send(card, purseApdu.credit(1)).sw).toBe('6985');
    const p = session(card, { keyName: 'purchase' });
    expect(p.op(purseApdu.credit(1)).sw).toBe('6982');
    expect(p.op(purseApdu.debit(0)).sw).toBe('6A80');
    expect(p.op(purseApdu.debit(-5)).sw).toBe('6A80');
    expect(p.op(hexToBytes('80BA00000300000100')).sw).toBe('6700');
    expect(p.op(hexToBytes('80BA01000400000001' + '00')).sw).toBe('6A86');
    expect(p.op(purseApdu.debit(1001)).sw).toBe('6982'); // above the PIN threshold first
    send(card, purseApdu.abort());
    const l = session(card, { keyName: 'load' });
    expect(l.op(purseApdu.debit(1)).sw).toBe('6982');
    expect(l.op(purseApdu.credit(9001)).sw).toBe('6A84');
    expect(l.op(purseApdu.credit(9000)).data).toBe('00002710'); // exactly the maximum
    expect(l.op(purseApdu.credit(1)).sw).toBe('6A84');
    expect(l.close().balance).toBe(10_000);
  });

  it('DEBIT below zero is 6A84; a session holds at most maxSessionOps operations (6400)', () => {
    const card = purseCard();
    const p = session(card, { keyName: 'purchase' });
    expect(p.op(purseApdu.debit(400)).sw).toBe('9000');
    expect(p.op(purseApdu.debit(50)).sw).toBe('9000');
    expect(p.op(purseApdu.debit(50)).sw).toBe('9000');
    expect(p.op(purseApdu.debit(1)).sw).toBe('6400');
    expect(p.close().balance).toBe(500);
    const q = session(card, { keyName: 'purchase' });
    expect(q.op(purseApdu.debit(501)).sw).toBe('6982'); // over the threshold, no PIN
    expect(verifyInSession(card)).toBe('9000');
    expect(q.op(purseApdu.debit(501)).sw).toBe('6A84');
    expect(q.op(purseApdu.debit(500)).data).toBe('00000000');
    expect(q.close().balance).toBe(0);
  });

  it('the PIN threshold counts the whole session\'s debits', () => {
    const card = purseCard();
    const p = session(card, { keyName: 'purchase' });
    expect(p.op(purseApdu.debit(300)).sw).toBe('9000');
    expect(p.op(purseApdu.debit(200)).sw).toBe('9000'); // 500: at the threshold
    expect(p.op(purseApdu.debit(1)).sw).toBe('6982');
    p.close();
  });

  it('CLOSE: wrong length 6700, wrong terminal MAC 6988 (nothing committed, session gone)', () => {
    const card = purseCard();
    const p = session(card, { keyName: 'purchase' });
    p.op(purseApdu.debit(100));
    expect(send(card, '808E00000401020304').sw).toBe('6700');
    const good = p.s.closeCommand();
    const bad = good.slice();
    bad[5]! ^= 1;
    expect(send(card, bad).sw).toBe('6988');
    expect(send(card, good).sw).toBe('6985');
    expect(balance(card)).toBe(1000);
  });

  it('a terminal with the wrong key cannot commit: 6988', () => {
    const card = purseCard();
    const p = session(card, { keyName: 'purchase', key: LOAD_KEY.subarray(0, 16) });
    expect(p.op(purseApdu.debit(100)).sw).toBe('9000');
    expect(() => p.close()).toThrow(expect.objectContaining({ reason: 'refused', sw: 0x6988 }));
    expect(balance(card)).toBe(1000);
  });

  it('a command altered on the way makes the transcripts differ: the card refuses CLOSE', () => {
    const card = purseCard();
    const p = session(card, { keyName: 'purchase' });
    const sent = purseApdu.debit(100);
    // A man in the middle turns 100 into 1; the terminal records what it sent.
    p.s.exchange(sent, card.transmit(purseApdu.debit(1)));
    expect(send(card, p.s.closeCommand()).sw).toBe('6988');
    expect(balance(card)).toBe(1000);
  });

  it('a forged or altered card MAC is caught by the terminal', () => {
    const card = purseCard();
    const p = session(card, { keyName: 'purchase' });
    p.op(purseApdu.debit(100));
    const r = card.transmit(p.s.closeCommand());
    r[8]! ^= 0x80;
    expect(() => p.s.acceptClose(r)).toThrow(expect.objectContaining({ reason: 'card-not-authenticated' }));
  });
});

function verifyInSession(card: Card): string {
  return send(card, purseApdu.verifyPin(PIN)).sw;
}

describe('purse: transit contracts', () => {
  it('USE TRIP in a purchase session, committed at CLOSE with a trip log record', () => {
    const card = purseCard();
    const p = session(card, { keyName: 'purchase' });
    expect(p.op(purseApdu.useTrip(1, 2, 2))).toEqual({ data: '0008', sw: '9000' });
    expect(p.op(purseApdu.useTrip(1, 1, 1))).toEqual({ data: '0007', sw: '9000' });
    expect(send(card, '00B2014C00').data.slice(16)).toBe('000A'); // not yet written
    p.close();
    expect(send(card, '00B2014C00').data.slice(16)).toBe('0007');
    const e = decodeLogRecord(hexToBytes(send(card, purseApdu.readLog(1)).data));
    expect(e).toMatchObject({ type: 'trip', contract: 1, amount: 1, after: 7 });
  });

  it('USE TRIP status words: contract, day, zone, trips, key', () => {
    const card = purseCard();
    const p = session(card, { keyName: 'purchase' });
    expect(p.op(purseApdu.useTrip(0, 1, 1)).sw).toBe('6A86');
    expect(p.op(purseApdu.useTrip(3, 1, 1)).sw).toBe('6A83');
    expect(p.op(purseApdu.useTrip(2, 1, 3)).sw).toBe('6985'); // valid only in 2026
    expect(p.op(purseApdu.useTrip(1, 1, 3)).sw).toBe('6985'); // zone 3 not covered
    expect(p.op(purseApdu.useTrip(1, 11, 1)).sw).toBe('6A84');
    expect(p.op(purseApdu.useTrip(1, 0, 1)).sw).toBe('6A80');
    expect(p.op(purseApdu.useTrip(1, 1, 17)).sw).toBe('6A80');
    send(card, purseApdu.abort());
    const l = session(card, { keyName: 'load' });
    expect(l.op(purseApdu.useTrip(1, 1, 1)).sw).toBe('6982');
  });
});

describe('purse: terminal over a transport', () => {
  it('purchase and load, balance, log and contracts', async () => {
    const card = purseCard();
    const t = await connected(card);
    await selectPurse(t);
    const bought = await pursePurchase(t, { key: PURCHASE_KEY, amount: 250, terminalId: TERMINAL, when: WHEN });
    expect(bought).toMatchObject({ operation: 'debit', amount: 250, balance: 750, transactionCounter: 1 });
    const loaded = await purseLoad(t, { key: LOAD_KEY, amount: 5_000, when: WHEN });
    expect(loaded.balance).toBe(5_750);
    expect(await readPurseBalance(t)).toEqual({ balance: 5_750, maximum: 10_000, currency: 978, exponent: 2, transactionCounter: 2 });
    const log = await readPurseLog(t);
    expect(log.map((e) => [e.type, e.amount, e.after, e.sequence])).toEqual([['credit', 5000, 5750, 2], ['debit', 250, 750, 1]]);
    expect((await readPurseContracts(t)).map((c) => c.validFrom)).toEqual(['2025-01-01', '2026-01-01']);
    expect(await purseSessionCommitted(t, 2)).toBe(true);
    expect(await purseSessionCommitted(t, 3)).toBe(false);
  });

  it('a refused debit says why and leaves the purse as it was', async () => {
    const card = purseCard();
    const t = await connected(card);
    await expect(pursePurchase(t, { key: PURCHASE_KEY, amount: 400 })).resolves.toMatchObject({ balance: 600 });
    await expect(pursePurchase(t, { key: PURCHASE_KEY, amount: 600 })).rejects.toThrow(/DEBIT refused: 6982.*holder PIN/);
    await expect(pursePurchase(t, { key: PURCHASE_KEY, amount: 700, pin: PIN })).rejects.toThrow(/DEBIT refused: 6A84.*balance is too low/);
    await expect(pursePurchase(t, { key: PURCHASE_KEY, amount: 600, pin: PIN })).resolves.toMatchObject({ balance: 0 });
    await expect(verifyPursePin(t, new TextEncoder().encode('9999'))).rejects.toThrow(/63C2.*2 tries left/);
  });

  it('a session object keeps going after a refusal', async () => {
    const card = purseCard();
    const t = await connected(card);
    const s = await PurseSession.open(t, { key: PURCHASE_KEY, keyName: 'purchase' });
    await expect(s.debit(2000)).rejects.toBeInstanceOf(PurseError);
    expect(await s.debit(100)).toBe(900);
    expect((await s.readBalance()).balance).toBe(900);
    expect((await s.close()).balance).toBe(900);
  });
});

describe('purse: persistence and tearing', () => {
  it('the image keeps the purse; the record\'s install parameters keep no secret', () => {
    const card = purseCard();
    const p = session(card, { keyName: 'purchase' });
    p.op(purseApdu.debit(1));
    p.close();
    card.powerOff();
    const image = serializeCard(card);
    const params = decodePurseInstallParams(card.state.applets[0]!.params);
    expect(params.purchaseKey).toEqual(new Uint8Array(16));
    expect(params.pin?.value).toEqual(new Uint8Array(4));
    const again = loadCard(image, { applets: [PURSE_APPLET] });
    again.powerOn();
    select(again);
    expect(send(again, '807C000000').data).toBe('000003E7' + '00002710' + '0978' + '02' + '00000001');
    const q = session(again, { keyName: 'purchase' });
    expect(q.s.opened.transactionCounter).toBe(2);
  });

  it('the cyclic log keeps the newest records; sequence numbers go on', () => {
    const card = purseCard();
    for (let i = 1; i <= 7; i++) {
      const p = session(card, { keyName: 'load' });
      p.op(purseApdu.credit(i));
      p.close();
    }
    const records: number[] = [];
    for (let n = 1; ; n++) {
      const r = send(card, purseApdu.readLog(n));
      if (r.sw !== '9000') break;
      records.push(decodeLogRecord(hexToBytes(r.data)).sequence);
    }
    expect(records).toEqual([7, 6, 5, 4, 3]);
  });

  /**
   * Every write point of a purchase session (OPEN's counter, and CLOSE's balance, log and
   * sequence writes): power cut there, power up, and the purse holds either the state before the
   * session or after it — and the card MAC was delivered exactly in the second case.
   */
  it('a power cut at any write of a session commits all of it or nothing; the TC never repeats', () => {
    const base = purseCard();
    base.powerOff();
    const image = serializeCard(base);
    const fresh = (): Card => {
      const c = loadCard(image, { applets: [PURSE_APPLET] });
      c.powerOn();
      select(c);
      return c;
    };
    // Count the writes of one session on a reference card.
    const ref = fresh();
    const w0 = ref.nv.writes;
    const r = session(ref, { keyName: 'purchase' });
    r.op(purseApdu.debit(100));
    r.op(purseApdu.debit(50));
    r.close();
    const writes = ref.nv.writes - w0;
    expect(writes).toBeGreaterThanOrEqual(5);
    for (let n = 1; n <= writes + 1; n++) {
      const card = fresh();
      card.faults.cutPowerAtWrite(n);
      let mac = false;
      let tc = 0;
      try {
        const s = new PurseTerminalSession({ key: PURCHASE_KEY, keyName: 'purchase' });
        const open = card.transmit(s.openCommand());
        if (open.length === 0) throw new Error('mute');
        tc = s.acceptOpen(open).transactionCounter;
        for (const a of [purseApdu.debit(100), purseApdu.debit(50)]) s.exchange(a, card.transmit(a));
        const closed = card.transmit(s.closeCommand());
        if (closed.length === 0) throw new Error('mute');
        s.acceptClose(closed);
        mac = true;
      } catch (e) {
        expect((e as Error).message).toBe('mute');
      }
      expect(card.isPowered).toBe(n > writes);
      card.faults.cutPowerAtWrite(0);
      card.powerOn();
      select(card);
      const b = balance(card);
      expect([1000, 850]).toContain(b);
      expect(mac).toBe(b === 850);
      const logged = send(card, purseApdu.readLog(1)).sw === '9000';
      expect(logged).toBe(b === 850);
      // The next OPEN's TC is above every TC a terminal has seen.
      const next = new PurseTerminalSession({ key: PURCHASE_KEY, keyName: 'purchase' });
      expect(next.acceptOpen(card.transmit(next.openCommand())).transactionCounter).toBeGreaterThan(tc);
    }
  });
});

describe('purse: install parameters', () => {
  it('decode(encode(spec)) and encode(decode(bytes)) round-trip', () => {
    const bytes = purseInstallParams(SPEC);
    const spec = decodePurseInstallParams(bytes);
    expect(resolvePurseSpec(spec)).toEqual(resolvePurseSpec(SPEC));
    expect(purseInstallParams(spec)).toEqual(bytes);
    const minimal = purseInstallParams({ currency: 840, maximum: 1 });
    expect(bytesToHex(minimal)).toBe('80020840' + '810102' + '820400000001' + '830400000000' + '850108' + '860104' + '870101');
  });

  it('refuses what a purse cannot hold, naming the field (never a secret)', () => {
    const bad = (s: Partial<PurseSpec>, re: RegExp): void => {
      expect(() => purseInstallParams({ ...SPEC, ...s } as PurseSpec)).toThrow(re);
    };
    bad({ initialBalance: 20_000 }, /purse\.initialBalance: 20000 is above purse\.maximum 10000/);
    bad({ maximum: 0 }, /purse\.maximum: expected a whole number 1\.\.2147483647, got 0/);
    bad({ currency: 1000 }, /purse\.currency/);
    bad({ maxSessionOps: 6 }, /purse\.maxSessionOps: 6 is above purse\.logSize 5/);
    bad({ pin: undefined }, /purse\.pinThreshold: set, but there is no purse\.pin/);
    bad({ loadKey: new Uint8Array(15).fill(0x41) }, /purse\.loadKey: expected an AES key of 16, 24 or 32 bytes, got 15 bytes/);
    bad({ contracts: [{ product: 1, zones: [17], validFrom: '2025-01-01', validUntil: '2025-01-02', trips: 1 }] }, /contracts\[0\]\.zones/);
    bad({ contracts: [{ product: 1, zones: [1], validFrom: '2025-02-30', validUntil: '2025-03-02', trips: 1 }] }, /validFrom: expected a date/);
    try {
      purseInstallParams({ ...SPEC, purchaseKey: hexToBytes('4142434445') });
    } catch (e) {
      expect((e as Error).message).not.toMatch(/4142|ABCDE/);
    }
    expect(() => decodePurseInstallParams(hexToBytes('80020978'))).toThrow(/maximum \(tag 82\) missing/);
    expect(() => decodePurseInstallParams(hexToBytes('80020978820400000001820400000001'))).toThrow(PurseParamsError);
    expect(() => decodePurseInstallParams(hexToBytes('800209789F0100'))).toThrow(/unknown tag 9F01/);
  });

  it('redaction zero-fills keys and PIN, nothing else', () => {
    const bytes = purseInstallParams(SPEC);
    const red = decodePurseInstallParams(redactPurseInstallParams(bytes));
    expect(red.loadKey).toEqual(new Uint8Array(32));
    expect(red.purchaseKey).toEqual(new Uint8Array(16));
    expect({ ...red, loadKey: 0, purchaseKey: 0, pin: 0 }).toEqual({ ...decodePurseInstallParams(bytes), loadKey: 0, purchaseKey: 0, pin: 0 });
  });

  it('a JSON spec (purse install --spec) with field-naming errors', () => {
    const spec = purseSpecFromJson(
      { currency: 978, maximum: 5000, pin: { value: '1234' }, pinThreshold: 100, purchaseKey: bytesToHex(PURCHASE_KEY), contracts: [{ product: 1, zones: [1], validFrom: '2025-01-01', validUntil: '2025-12-31', trips: 3 }] },
      'spec.json',
    );
    expect(spec.pin?.value).toEqual(PIN);
    expect(() => purseSpecFromJson({ currency: 978 }, 'spec.json')).toThrow(/spec\.json: purse\.maximum: missing/);
    expect(() => purseSpecFromJson({ currency: 978, maximum: 1, loadKey: 'zz' }, 'spec.json')).toThrow(/spec\.json: purse\.loadKey: not hex$/);
    expect(() => purseSpecFromJson({ currency: 978, maximum: 1, colour: 'red' }, 's')).toThrow(/purse\.colour: unknown field/);
  });
});

describe('purse: codecs and key derivation', () => {
  it('EN 1545-1 dates, ISO 4217 BCD currency, amounts', () => {
    expect(dateStamp('1997-01-01')).toBe(0);
    expect(isoDate(dateStamp('2024-02-29'))).toBe('2024-02-29');
    expect(bytesToHex(encodeCurrency(978))).toBe('0978');
    expect(decodeCurrency(hexToBytes('0840'))).toBe(840);
    expect(() => decodeCurrency(hexToBytes('0A40'))).toThrow(/not BCD/);
    expect(formatAmount(1234, 2)).toBe('12.34');
    expect(formatAmount(5, 2)).toBe('0.05');
    expect(formatAmount(7, 0)).toBe('7');
  });

  it('the session key is as long as the static key and depends on both challenges', () => {
    const cc = hexToBytes('00000001' + '1122334455667788');
    const tc = hexToBytes('0102030405060708');
    const k16 = purseSessionKey(PURCHASE_KEY, cc, tc);
    const k32 = purseSessionKey(LOAD_KEY, cc, tc);
    expect(k16.length).toBe(16);
    expect(k32.length).toBe(32);
    expect(bytesToHex(purseSessionKey(PURCHASE_KEY, cc, hexToBytes('0102030405060709')))).not.toBe(bytesToHex(k16));
    expect(bytesToHex(purseSessionKey(PURCHASE_KEY, concatBytes(hexToBytes('00000002'), cc.subarray(4)), tc))).not.toBe(bytesToHex(k16));
    expect(() => purseSessionKey(PURCHASE_KEY.subarray(0, 15), cc, tc)).toThrow(/key: expected 16 or 24 or 32 bytes/);
  });
});
