/**
 * Properties of the purse over random sequences of sessions with random power cuts
 * (`cutPowerAtWrite(N)`, N random): after every session, whatever happened to it,
 *
 * - the balance equals the initial balance plus the sum of the committed log records,
 * - log sequence numbers have no gaps and no repeats,
 * - every transaction counter a terminal sees is above every one it saw before,
 * - the terminal holds a verified card MAC exactly when the session committed, and then the log
 *   holds exactly the operations the card accepted in that session, with the balances it answered.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bytesToHex, hexToBytes } from '../src/bytes/index.js';
import { parseResponseApdu } from '../src/apdu/response.js';
import { createCard, type Card } from '../src/card/os.js';
import { serializeCard, loadCard } from '../src/card/image.js';
import { PURSE_AID, PURSE_APPLET, balanceDelta, decodeBalanceResponse, decodeLogRecord, purseInstallParams, type PurseLogEntry } from '../src/apps/purse/index.js';
import { PurseTerminalSession, purseApdu } from '../src/terminal/purse.js';

const PURCHASE_KEY = hexToBytes('2B7E151628AED2A6ABF7158809CF4F3C');
const LOAD_KEY = hexToBytes('603DEB1015CA71BE2B73AEF0857D77811F352C073B6108D72D9810A30914DFF4');
const WRONG_KEY = hexToBytes('00000000000000000000000000000000');
const INITIAL = 1_000;

const IMAGE = ((): string => {
  const card = createCard({ applets: [PURSE_APPLET] });
  card.install(
    PURSE_AID,
    'purse',
    purseInstallParams({ currency: 978, maximum: 3_000, initialBalance: INITIAL, loadKey: LOAD_KEY, purchaseKey: PURCHASE_KEY, logSize: 4, maxSessionOps: 3 }),
  );
  return serializeCard(card);
})();

function freshCard(): Card {
  const card = loadCard(IMAGE, { applets: [PURSE_APPLET] });
  up(card);
  return card;
}

function up(card: Card): void {
  card.powerOn();
  const r = card.transmit(purseApdu.select());
  if (bytesToHex(r.subarray(r.length - 2)) !== '9000') throw new Error('SELECT failed');
}

type Mode = 'normal' | 'wrong-key' | 'abort' | 'tampered';

interface Plan {
  readonly key: 'load' | 'purchase';
  readonly ops: readonly { readonly kind: 'debit' | 'credit'; readonly amount: number }[];
  readonly mode: Mode;
  /** Cut power at this write from the session's start (beyond its writes: no cut). */
  readonly cut: number | null;
}

const planArb: fc.Arbitrary<Plan> = fc
  .record({
    key: fc.constantFrom<'load' | 'purchase'>('load', 'purchase'),
    // Mostly the operation the key allows; sometimes the other one (6982) or too many (6400).
    ops: fc.array(fc.record({ matching: fc.integer({ min: 0, max: 9 }), amount: fc.integer({ min: -5, max: 900 }) }), { minLength: 1, maxLength: 4 }),
    mode: fc.constantFrom<Mode>('normal', 'normal', 'normal', 'normal', 'normal', 'wrong-key', 'abort', 'tampered'),
    cut: fc.option(fc.integer({ min: 1, max: 14 }), { freq: 2 }),
  })
  .map(({ key, ops, mode, cut }) => ({
    key,
    mode,
    cut,
    ops: ops.map((o) => ({ kind: (o.matching > 0) === (key === 'purchase') ? ('debit' as const) : ('credit' as const), amount: o.amount })),
  }));

/** What the terminal saw of one session. */
interface Outcome {
  /** TC of the session (0 if OPEN got no answer). */
  readonly tc: number;
  /** Operations the card accepted, with the balance it answered (tentative). */
  readonly accepted: { readonly kind: 'debit' | 'credit'; readonly amount: number; readonly after: number }[];
  readonly macVerified: boolean;
  readonly closeBalance: number | undefined;
}

class Mute extends Error {}

function tx(card: Card, apdu: Uint8Array): Uint8Array {
  const r = card.transmit(apdu);
  if (r.length === 0) throw new Mute();
  return r;
}

function runSession(card: Card, plan: Plan): Outcome {
  const key = plan.mode === 'wrong-key' ? WRONG_KEY : plan.key === 'load' ? LOAD_KEY : PURCHASE_KEY;
  const s = new PurseTerminalSession({ key, keyName: plan.key });
  const accepted: Outcome['accepted'] = [];
  let tc = 0;
  try {
    tc = s.acceptOpen(tx(card, s.openCommand())).transactionCounter;
    for (const [i, op] of plan.ops.entries()) {
      const apdu = op.kind === 'debit' ? purseApdu.debit(op.amount) : purseApdu.credit(op.amount);
      // A man in the middle changes the first amount; the terminal records what it sent.
      const wire = plan.mode === 'tampered' && i === 0 ? (op.kind === 'debit' ? purseApdu.debit(op.amount + 1) : purseApdu.credit(op.amount + 1)) : apdu;
      const r = s.exchange(apdu, tx(card, wire));
      if (r.sw === 0x9000) accepted.push({ ...op, after: new DataView(r.data.buffer, r.data.byteOffset).getUint32(0) });
    }
    if (plan.mode === 'abort') {
      tx(card, purseApdu.abort());
      s.destroy();
      return { tc, accepted, macVerified: false, closeBalance: undefined };
    }
    const closed = tx(card, s.closeCommand());
    try {
      const c = s.acceptClose(closed);
      return { tc, accepted, macVerified: true, closeBalance: c.balance };
    } catch {
      return { tc, accepted, macVerified: false, closeBalance: undefined };
    }
  } catch (e) {
    if (!(e instanceof Mute)) throw e;
    s.destroy();
    return { tc, accepted, macVerified: false, closeBalance: undefined };
  }
}

/** The whole log, oldest first. */
function readLog(card: Card): PurseLogEntry[] {
  const out: PurseLogEntry[] = [];
  for (let n = 1; ; n++) {
    const r = parseResponseApdu(card.transmit(purseApdu.readLog(n)));
    if (r.sw !== 0x9000) break;
    out.unshift(decodeLogRecord(r.data));
  }
  return out;
}

function readBalance(card: Card): { balance: number; tc: number } {
  const r = parseResponseApdu(card.transmit(purseApdu.readBalance()));
  const b = decodeBalanceResponse(r.data);
  return { balance: b.balance, tc: b.transactionCounter };
}

describe('purse properties', () => {
  it('money is never created or lost, the TC never repeats, and a card MAC verifies iff the session committed', () => {
    fc.assert(
      fc.property(fc.array(planArb, { minLength: 1, maxLength: 12 }), (plans) => {
        const card = freshCard();
        const committed: PurseLogEntry[] = [];
        let lastSeq = 0;
        let highestTc = 0;
        for (const plan of plans) {
          if (plan.cut !== null) card.faults.cutPowerAtWrite(plan.cut);
          const o = runSession(card, plan);
          card.faults.cutPowerAtWrite(0);
          if (!card.isPowered) up(card);

          // The TC: above everything seen before, and the card's counter is at least it.
          if (o.tc !== 0) {
            expect(o.tc).toBeGreaterThan(highestTc);
            highestTc = o.tc;
          }
          const { balance, tc } = readBalance(card);
          expect(tc).toBeGreaterThanOrEqual(highestTc);

          // New log records: contiguous sequence numbers, all from this session.
          const fresh = readLog(card).filter((e) => e.sequence > lastSeq);
          fresh.forEach((e, i) => expect(e.sequence).toBe(lastSeq + 1 + i));
          if (fresh.length > 0) lastSeq = fresh[fresh.length - 1]!.sequence;
          committed.push(...fresh);
          for (const e of fresh) expect(e.transactionCounter).toBe(o.tc);

          // Balance = initial + committed records.
          expect(balance).toBe(INITIAL + committed.reduce((n, e) => n + balanceDelta(e), 0));

          // MAC verified ⇔ committed: the log holds exactly what the card accepted, in order.
          if (o.macVerified) {
            expect(fresh.map((e) => [e.type, e.amount, e.after])).toEqual(o.accepted.map((a) => [a.kind, a.amount, a.after]));
            expect(o.closeBalance).toBe(balance);
          } else {
            expect(fresh).toEqual([]);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('of two overlapping sessions on two channels, only the later-opened one can commit', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom<'a' | 'b'>('a', 'b'), { minLength: 4, maxLength: 4 }),
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 1, max: 400 }),
        (order, x, y) => {
          const card = freshCard();
          tx(card, new Uint8Array([0x00, 0x70, 0x00, 0x00, 0x01]));
          tx(card, new Uint8Array([0x01, 0xa4, 0x04, 0x0c, PURSE_AID.length, ...PURSE_AID]));
          const sides = {
            a: { cla: 0x80, amount: x, s: undefined as PurseTerminalSession | undefined, step: 0, at: 0, closedAt: 0, result: '' },
            b: { cla: 0x81, amount: y, s: undefined as PurseTerminalSession | undefined, step: 0, at: 0, closedAt: 0, result: '' },
          };
          let clock = 0;
          // Each side: open, debit, close; the order interleaves them (then each finishes).
          const advance = (k: 'a' | 'b'): void => {
            const side = sides[k];
            if (side.step === 0) {
              side.s = new PurseTerminalSession({ key: PURCHASE_KEY, keyName: 'purchase', cla: side.cla });
              side.s.acceptOpen(tx(card, side.s.openCommand()));
              side.at = ++clock;
            } else if (side.step === 1) {
              const d = purseApdu.debit(side.amount, side.cla);
              side.s!.exchange(d, tx(card, d));
            } else if (side.step === 2) {
              const r = tx(card, side.s!.closeCommand());
              side.result = bytesToHex(r.subarray(r.length - 2));
              side.closedAt = ++clock;
            }
            side.step++;
          };
          for (const k of order) advance(k);
          for (const k of ['a', 'b'] as const) while (sides[k].step < 3) advance(k);
          const later = sides.a.at > sides.b.at ? sides.a : sides.b;
          const earlier = later === sides.a ? sides.b : sides.a;
          expect(later.result).toBe('9000');
          if (earlier.closedAt < later.at) {
            // Not overlapping: one after the other, both commit.
            expect(earlier.result).toBe('9000');
            expect(readBalance(card).balance).toBe(INITIAL - x - y);
          } else {
            expect(earlier.result).toBe('6985');
            expect(readBalance(card).balance).toBe(INITIAL - later.amount);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
