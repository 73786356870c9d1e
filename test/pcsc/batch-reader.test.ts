/**
 * A batch reader facing a card it cannot use, through pcscd and vpcd: a card whose answer to reset
 * offers no protocol (pcscd refuses to connect: SCARD_E_PROTO_MISMATCH) is reported through
 * `onProblem` and waited out — the line does not stop — and the next card put in is taken.
 */
import { afterEach, expect, it } from 'vitest';
import { pcscReader } from '../../src/perso/batch.js';
import { VpcdCardServer, type VirtualCard } from '../../src/transport/vpcd.js';
import { testCard } from './cards.js';
import { describeWithStack, pcscStack, sleep, vpcdReaders, waitForSlot } from './helpers.js';

/**
 * A card that shows a well-formed ATR while unpowered (pcscd's presence polls) but answers the
 * reset of a connection with "00 00", an ATR with no protocol in it.
 */
function unusableCard(): VirtualCard {
  const good = Uint8Array.of(0x3b, 0x80, 0x80, 0x01, 0x01);
  let powered = false;
  return {
    get atr(): Uint8Array {
      return powered ? Uint8Array.of(0x00, 0x00) : good;
    },
    powerOn: () => {
      powered = true;
      return good;
    },
    reset: () => good,
    powerOff: () => {
      powered = false;
    },
    transmit: () => new Uint8Array(0),
  };
}

describeWithStack('batch reader and an unusable card', () => {
  const servers: VpcdCardServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('reports the card, waits for it to be taken out, then takes the next one', async () => {
    const port = pcscStack().ports[0]!;
    const name = (await vpcdReaders())[0]!.name;
    servers.push(new VpcdCardServer(unusableCard(), { port, retryMs: { min: 20, max: 100 } }).start());
    await waitForSlot(0, true);

    const problems: string[] = [];
    const reader = pcscReader(name, { pollMs: 50, onProblem: (m) => problems.push(m) });
    let taken = false;
    const next = reader.nextCard().then((slot) => {
      taken = true;
      return slot;
    });
    const deadline = Date.now() + 10_000;
    while (problems.length === 0 && Date.now() < deadline) await sleep(50);
    expect(problems).toEqual([expect.stringMatching(new RegExp(`^${name}: the card cannot be used \\(reader "${name}": the card does not offer T=0 or T=1\\); take it out and put in another$`))]);
    // Still waiting: the unusable card is neither handed out nor retried while it stays in.
    await sleep(500);
    expect(taken).toBe(false);
    expect(problems).toHaveLength(1);

    // Taken out; a good card goes in.
    await servers.pop()!.close();
    await waitForSlot(0, false);
    const card = testCard();
    servers.push(new VpcdCardServer(card, { port, retryMs: { min: 20, max: 100 } }).start());
    const slot = await next;
    expect(slot).toBeDefined();
    expect(Buffer.from(slot!.atr).toString('hex')).toBe(Buffer.from(card.atr).toString('hex'));
    expect(Buffer.from(await slot!.transport.transmit(Uint8Array.of(0x00, 0xa4, 0x00, 0x0c, 0x02, 0x3f, 0x00))).toString('hex')).toBe('9000');
    await slot!.release('unused', undefined);
    await reader.close?.();
    expect(problems).toHaveLength(1);
  });
});
