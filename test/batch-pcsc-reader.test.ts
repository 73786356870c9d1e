/**
 * `pcscReader`'s handling of what a PC/SC reader can do between cards, with the PC/SC layer
 * replaced by a scripted one (the cases vpcd cannot stage; test/pcsc/batch-reader.test.ts covers
 * an unusable card through a real pcscd): a card that never answers its reset is tried three
 * times, reported once and waited out; a reader unplugged between the poll and the connection is
 * reported once and waited for; in both cases the next good card is taken.
 */
import { describe, expect, it, vi } from 'vitest';
import { CardMuteError } from '../src/transport/types.js';

const ATR = Uint8Array.of(0x3b, 0x80, 0x80, 0x01, 0x01);

/** The scripted PC/SC layer: the readers pcscd would list, and what opening one does. */
const pcsc = vi.hoisted(() => ({
  readers: [] as { name: string; card: boolean; atr?: Uint8Array }[],
  open: (_name: string): Promise<unknown> => Promise.reject(new Error('not scripted')),
}));

vi.mock('../src/transport/pcsc.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/transport/pcsc.js')>();
  return {
    ...real,
    PcscReaderMonitor: { open: () => Promise.resolve({ readers: () => pcsc.readers, close: () => Promise.resolve() }) },
    PcscTransport: { open: (name: string) => pcsc.open(name) },
  };
});

const { pcscReader } = await import('../src/perso/batch.js');
const { NoReaderError } = await import('../src/transport/pcsc.js');

function goodCard(): { connect: () => Promise<Uint8Array>; close: () => Promise<void> } {
  return { connect: () => Promise.resolve(ATR), close: () => Promise.resolve() };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(10);
  }
}

describe('pcscReader between cards', () => {
  it('a card that never answers its reset: three tries, one report, waited out; the next card is taken', async () => {
    let attempts = 0;
    pcsc.readers = [{ name: 'R', card: true, atr: ATR }];
    pcsc.open = () =>
      Promise.resolve({
        connect: () => {
          attempts++;
          return Promise.reject(new CardMuteError('reader "R": the card did not answer the reset'));
        },
        close: () => Promise.resolve(),
      });
    const problems: string[] = [];
    const reader = pcscReader('R', { pollMs: 10, onProblem: (m) => problems.push(m) });
    let taken = false;
    const next = reader.nextCard().then((s) => ((taken = true), s));
    await until(() => problems.length > 0);
    expect(attempts).toBe(3);
    expect(problems).toEqual(['R: the card does not answer (reader "R": the card did not answer the reset); take it out and put in another']);
    await sleep(100);
    expect(taken).toBe(false);
    expect(attempts).toBe(3);
    // Taken out, then a good card.
    pcsc.readers = [{ name: 'R', card: false }];
    await sleep(50);
    pcsc.open = () => Promise.resolve(goodCard());
    pcsc.readers = [{ name: 'R', card: true, atr: ATR }];
    const slot = await next;
    expect(slot?.atr).toEqual(ATR);
    expect(problems).toHaveLength(1);
  });

  it('a reader unplugged between the poll and the connection: one report, then the card once it is back', async () => {
    let opens = 0;
    pcsc.readers = [{ name: 'R', card: true, atr: ATR }];
    pcsc.open = () => {
      opens++;
      return opens <= 3 ? Promise.reject(new NoReaderError('reader "R" is no longer available')) : Promise.resolve(goodCard());
    };
    const problems: string[] = [];
    const slot = await pcscReader('R', { pollMs: 10, onProblem: (m) => problems.push(m) }).nextCard();
    expect(slot?.atr).toEqual(ATR);
    expect(opens).toBe(4);
    expect(problems).toEqual(['R: the reader is gone (reader "R" is no longer available); waiting for it to come back']);
  });

  it('anything else is not the card\'s fault and ends the reader\'s work with the error', async () => {
    pcsc.readers = [{ name: 'R', card: true, atr: ATR }];
    pcsc.open = () => Promise.reject(new Error('pcscd crashed'));
    await expect(pcscReader('R', { pollMs: 10 }).nextCard()).rejects.toThrow('pcscd crashed');
  });
});
