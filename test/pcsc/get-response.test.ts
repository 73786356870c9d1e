/**
 * The GET RESPONSE / 6CXX wrapper over the in-process card and over a scripted card that answers
 * the way T=0 cards do. No PC/SC stack needed.
 */
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../src/bytes/index.js';
import { GetResponseTransport } from '../../src/transport/get-response.js';
import { InProcessTransport } from '../../src/transport/in-process.js';
import type { Transport } from '../../src/transport/types.js';
import { EF_DATA, testCard } from './cards.js';

/** A card that answers from a table and records what it was sent. */
class Scripted implements Transport {
  readonly sent: string[] = [];
  constructor(private readonly answers: Record<string, string[]>) {}
  connect(): Promise<Uint8Array> {
    return Promise.resolve(hexToBytes('3B00'));
  }
  reset(): Promise<Uint8Array> {
    return this.connect();
  }
  disconnect(): Promise<void> {
    return Promise.resolve();
  }
  transmit(apdu: Uint8Array): Promise<Uint8Array> {
    const hex = bytesToHex(apdu);
    this.sent.push(hex);
    const queue = this.answers[hex];
    const next = queue?.shift();
    if (next === undefined) throw new Error(`unexpected ${hex}`);
    return Promise.resolve(hexToBytes(next));
  }
}

async function tx(t: Transport, hex: string): Promise<string> {
  return bytesToHex(await t.transmit(hexToBytes(hex)));
}

describe('GetResponseTransport', () => {
  it('collects 61XX data with GET RESPONSE until the card is done (in-process card)', async () => {
    const card = testCard();
    const raw = new InProcessTransport(card);
    await raw.connect();
    const t = new GetResponseTransport(raw);
    // SELECT asking for the FCP without Le: the card announces it with 61XX.
    const announced = await tx(raw, '00A40004020101');
    expect(announced).toMatch(/^61[0-9A-F]{2}$/);
    const fcp = await tx(t, '00A40004020101');
    expect(fcp).toMatch(/^62[0-9A-F]+9000$/);
    expect(fcp.length / 2 - 2).toBe(parseInt(announced.slice(2), 16));
    // Nothing to do: passes through.
    expect(await tx(t, '00B0000002')).toBe('00019000');
    expect(await tx(t, '00B00000000400')).toBe(bytesToHex(EF_DATA) + '9000');
  });

  it('re-sends on 6CXX with the exact Le (00 = 256), in the command\'s form', async () => {
    const s = new Scripted({ '00B0000010': ['6C04'], '00B0000004': ['010203049000'], '00CA9F7F01': ['6C00'], '00CA9F7F00': ['9000'] });
    const t = new GetResponseTransport(s);
    expect(await tx(t, '00B0000010')).toBe('010203049000');
    expect(s.sent).toEqual(['00B0000010', '00B0000004']);
    expect(await tx(t, '00CA9F7F01')).toBe('9000');
    expect(s.sent.slice(2)).toEqual(['00CA9F7F01', '00CA9F7F00']);
    const e = new Scripted({ '00B000000000FF': ['6C10'], '00B00000000010': ['AA'.repeat(16) + '9000'] });
    expect(await tx(new GetResponseTransport(e), '00B000000000FF')).toBe('AA'.repeat(16) + '9000');
    expect(e.sent).toEqual(['00B000000000FF', '00B00000000010']);
  });

  it('keeps the logical channel in GET RESPONSE, drops the chaining bit, and joins the parts', async () => {
    const s = new Scripted({
      '01CA010100': ['AABB6102'],
      '01C0000002': ['CCDD6101'],
      '01C0000001': ['EE9000'],
      '11DA010102AABB': ['6101'],
    });
    const t = new GetResponseTransport(s);
    expect(await tx(t, '01CA010100')).toBe('AABBCCDDEE9000');
    expect(s.sent).toEqual(['01CA010100', '01C0000002', '01C0000001']);
    const c = new Scripted({ '11DA010102AABB': ['6101'], '01C0000001': ['FF9000'] });
    expect(await tx(new GetResponseTransport(c), '11DA010102AABB')).toBe('FF9000');
  });

  it('a 6CXX answer to GET RESPONSE is asked again with that length; rounds are bounded', async () => {
    const s = new Scripted({ '00B0000000': ['AA6110'], '00C0000010': ['6C08'], '00C0000008': ['BB9000'] });
    expect(await tx(new GetResponseTransport(s), '00B0000000')).toBe('AABB9000');
    const endless = new Scripted({ '00B0000000': ['AA6101'], '00C0000001': Array(10).fill('AA6101') });
    expect(await tx(new GetResponseTransport(endless, { maxRounds: 3 }), '00B0000000')).toBe('AAAAAAAA6101');
  });

  it('leaves alone what it cannot parse', async () => {
    const s = new Scripted({ '00B0': ['6101'] });
    expect(await tx(new GetResponseTransport(s), '00B0')).toBe('6101');
  });
});
