/**
 * Purse throughput (issue: wallet and transit application), one core, card and terminal in one
 * process: complete purchase sessions per second — OPEN SESSION (TC committed, key derivation on
 * both sides), DEBIT, CLOSE SESSION (terminal MAC checked, balance and log record committed through
 * the journal, card MAC) and the terminal's check of the card MAC.
 *
 * - `purse purchase sessions`: the terminal's synchronous protocol core (`PurseTerminalSession`,
 *   its key schedule prepared once as a validator would) against `card.transmit`, like
 *   `bench/sm.ts` does, so it measures the purse's work.
 * - `purse purchase sessions via Transport`: the same through the async library call a tool uses
 *   (`pursePurchase` over `InProcessTransport`, GET RESPONSE wrapper included, raw key each time).
 *
 * Wiring (bench/run.ts): `import { purseFigures } from './purse.js'` and `...(await purseFigures(opts))`.
 */
import { hexToBytes } from '../src/bytes/index.js';
import { createCard, type Card } from '../src/card/os.js';
import { PURSE_AID, PURSE_APPLET, PurseStaticKey, purseInstallParams } from '../src/apps/purse/index.js';
import { PurseTerminalSession, purseApdu, pursePurchase } from '../src/terminal/purse.js';
import { InProcessTransport } from '../src/transport/in-process.js';
import { summarize, type Figure } from './lib.js';

const KEY = hexToBytes('2B7E151628AED2A6ABF7158809CF4F3C');
/** The terminal's key schedule, prepared once as a validator would. */
const PREPARED = new PurseStaticKey(KEY);

function purseCard(): Card {
  const card = createCard({ applets: [PURSE_APPLET] });
  // A balance that a benchmark debiting 1 per session cannot exhaust.
  card.install(PURSE_AID, 'purse', purseInstallParams({ currency: 978, maximum: 2_000_000_000, initialBalance: 2_000_000_000, purchaseKey: KEY }));
  card.powerOn();
  const r = card.transmit(purseApdu.select());
  if (r[r.length - 2] !== 0x90) throw new Error('bench setup: SELECT purse failed');
  return card;
}

const DEBIT = purseApdu.debit(1);

/** One complete purchase session; throws unless the card MAC verifies. */
export function purchaseOnce(card: Card): number {
  const s = new PurseTerminalSession({ key: PREPARED, keyName: 'purchase' });
  s.acceptOpen(card.transmit(s.openCommand()));
  const r = s.exchange(DEBIT, card.transmit(DEBIT));
  if (r.sw !== 0x9000) throw new Error(`bench: DEBIT answered ${r.sw.toString(16)}`);
  return s.acceptClose(card.transmit(s.closeCommand())).balance;
}

/** Sessions per second of `body` for about `ms` (warm-up sized for bodies of tens of µs). */
function sessionRate(body: () => void, ms: number): number {
  for (let i = 0; i < 500; i++) body();
  let n = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(ms * 1e6));
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 20; i++) body();
    n += 20;
    now = process.hrtime.bigint();
  }
  return n / (Number(now - start) / 1e9);
}

async function asyncSessionRate(t: InProcessTransport, ms: number): Promise<number> {
  for (let i = 0; i < 200; i++) await pursePurchase(t, { key: KEY, amount: 1 });
  let n = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(ms * 1e6));
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 20; i++) await pursePurchase(t, { key: KEY, amount: 1 });
    n += 20;
    now = process.hrtime.bigint();
  }
  return n / (Number(now - start) / 1e9);
}

/** Figures: export name `purseFigures`, same options as `cardOsFigures`. */
export async function purseFigures(opts: { ms: number; rounds: number }): Promise<Figure[]> {
  const card = purseCard();
  const t = new InProcessTransport(card);
  const sync: number[] = [];
  const viaTransport: number[] = [];
  for (let i = 0; i < opts.rounds; i++) {
    sync.push(sessionRate(() => purchaseOnce(card), opts.ms));
    viaTransport.push(await asyncSessionRate(t, opts.ms));
  }
  return [
    summarize('purse purchase sessions (open, debit, close, verify)', 'sessions/s', sync, 'AES-128 keys; 4 APDUs, 2 non-volatile commits per session'),
    summarize('purse purchase sessions via Transport (pursePurchase)', 'sessions/s', viaTransport),
  ];
}
