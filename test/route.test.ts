/**
 * `card/route.ts`: one INS for several protocols.
 *
 * - routeIns: the first route whose `when` holds answers; `access` is the chosen route's (the OS
 *   checks it before `run`); no route → 6A86 or `otherwise`; a chained command for a route that is
 *   not step-chained → 6884; build-time refusals (chaining kinds, personalization, no routes).
 * - composeTables: an INS of one table keeps its handler; shared INS are routed, the handler
 *   without `when` last; two such handlers are refused.
 * - lastRoute is per channel and per INS.
 * - Composing PACE with Chip Authentication, the key store and Active Authentication keeps PACE's
 *   behaviour: random MSE and GENERAL AUTHENTICATE commands not claimed by the others answer exactly
 *   as with PACE alone (fast-check), and a full PACE run works.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { bytesToHex, hexToBytes } from '../src/bytes/index.js';
import { SW, StatusWordError } from '../src/apdu/status.js';
import { createCard, type Card } from '../src/card/os.js';
import type { AppletFactory } from '../src/card/applet.js';
import { defineInsTable, type CommandHandler, type InsTable } from '../src/card/dispatch.js';
import { newTransparentEf, type DedicatedFile } from '../src/card/fs/file.js';
import { attach } from '../src/card/fs/tree.js';
import { NEVER } from '../src/card/security/access.js';
import { newAsymmetricKey, newPin } from '../src/card/security/objects.js';
import { composeTables, lastRoute, routeIns, type RoutedHandler } from '../src/card/route.js';
import { paceCardAccess, paceCommands, pacePasswords } from '../src/card/protocols/pace.js';
import { chipAuthCommands } from '../src/card/protocols/chip-auth.js';
import { keyStoreCommands } from '../src/card/protocols/on-card-keys.js';
import { activeAuthCommands } from '../src/card/protocols/active-auth.js';
import { KEY_STORE_MSE } from '../src/card/protocols/mse.js';
import { addKeySlot, generateInSlot } from '../src/card/protocols/key-store.js';
import { CA_OID, PACE_OID } from '../src/crypto/security-infos.js';
import { InProcessTransport } from '../src/transport/in-process.js';
import { performPace } from '../src/terminal/pace.js';
import { readEf } from './helpers/asymmetric.js';
import { tx } from './helpers/card.js';
import { channelOf } from './helpers/perso.js';

const h = (s: string): Uint8Array => hexToBytes(s);
const hex = (b: Uint8Array): string => bytesToHex(b);

/** A handler answering its own name, to see which route ran. */
function named(name: string, extra: Partial<CommandHandler> = {}): CommandHandler {
  return { name, run: () => new TextEncoder().encode(name), ...extra };
}

function cardWith(commands: InsTable, setup?: (df: DedicatedFile, card: Card) => void): Card {
  const applet: AppletFactory = { type: 't', create: () => ({ commands }) };
  const card = createCard({ applets: [applet] });
  card.install(h('F000000001'), 't');
  if (setup) {
    setup(card.state.mf.children.find((c) => c.kind === 'DF') as DedicatedFile, card);
    card.nv.commit();
  }
  card.powerOn();
  expect(tx(card, '00A4040C05F000000001').swHex).toBe('9000');
  return card;
}

const text = (card: Card, apdu: string): string => {
  const r = tx(card, apdu);
  return r.swHex === '9000' ? new TextDecoder().decode(r.bytes) : r.swHex;
};

describe('routeIns', () => {
  it('the first route whose predicate holds answers; none → 6A86 or `otherwise`', () => {
    const byP1 = routeIns(
      'X',
      { when: (c) => c.p1 === 1, handler: named('one') },
      { when: (c) => c.p1 <= 2, handler: named('one-or-two') },
    );
    const card = cardWith(defineInsTable([0x50, byP1], [0x52, routeIns({ name: 'Y', otherwise: SW.CONDITIONS_NOT_SATISFIED }, { when: () => false, handler: named('never') })]));
    expect(text(card, '8050010000')).toBe('one');
    expect(text(card, '8050020000')).toBe('one-or-two');
    expect(text(card, '8050030000')).toBe('6A86');
    expect(text(card, '8052000000')).toBe('6985');
  });

  it('access is the chosen route\'s: the OS refuses before the handler runs', () => {
    let ran = 0;
    const guarded = named('guarded', {
      access: (_c, ctx) => ({ file: ctx.channel.df.children[0]!, op: 'read' }),
      run: () => {
        ran++;
        return new Uint8Array([1]);
      },
    });
    const card = cardWith(
      defineInsTable([0x50, routeIns('X', { when: (c) => c.p1 === 1, handler: guarded }, { when: () => true, handler: named('open') })]),
      (df, c) => attach(c.nv, df, newTransparentEf(0x0101, 1, { rules: { read: NEVER } })),
    );
    expect(text(card, '8050010000')).toBe('6982');
    expect(ran).toBe(0);
    expect(text(card, '8050000000')).toBe('open');
  });

  it('step-chained routes get each chained command; a chained command for another route → 6884', () => {
    const parts: number[] = [];
    const stepped = named('stepped', { stepChaining: true, run: (c) => void parts.push(c.data.length) });
    const card = cardWith(defineInsTable([0x50, routeIns('X', { when: (c) => c.p1 === 1, handler: stepped }, { when: () => true, handler: named('plain') })]));
    expect(tx(card, '9050010002AAAA').swHex).toBe('9000');
    expect(tx(card, '8050010001AA').swHex).toBe('9000');
    expect(parts).toEqual([2, 1]);
    expect(tx(card, '9050000001AA').swHex).toBe('6884');
    expect(text(card, '8050000000')).toBe('plain');
  });

  it('refuses to build what cannot work', () => {
    expect(() => routeIns('X')).toThrow(/no routes/);
    expect(() => routeIns('X', { when: () => true, handler: named('a', { chaining: true }) }, { when: () => true, handler: named('b', { stepChaining: true }) })).toThrow(/step-chained/);
    expect(() => routeIns('X', { when: () => true, handler: named('a', { personalization: true }) }, { when: () => true, handler: named('b') })).toThrow(/personalization/);
  });

  it('lastRoute is per channel and per INS', () => {
    const a = named('a');
    const b = named('b');
    const card = cardWith(defineInsTable([0x50, routeIns('X', { when: (c) => c.p1 === 1, handler: a }, { when: () => true, handler: b })]));
    expect(tx(card, '0070000001').data).toBe('01'); // MANAGE CHANNEL open → 1
    expect(tx(card, '01A4040C05F000000001').swHex).toBe('9000');
    expect(lastRoute(channelOf(card, 0), 0x50)).toBeUndefined();
    text(card, '8050010000');
    text(card, '8150000000');
    expect(lastRoute(channelOf(card, 0), 0x50)).toBe(a);
    expect(lastRoute(channelOf(card, 1), 0x50)).toBe(b);
    expect(lastRoute(channelOf(card, 0), 0x52)).toBeUndefined();
  });
});

describe('composeTables', () => {
  it('keeps a handler defined once; routes shared INS with the open handler last; refuses two open handlers', () => {
    const only = named('only');
    const open = named('open');
    const claimed: RoutedHandler = { ...named('claimed'), when: (c) => c.p2 === 7 };
    const t = composeTables(defineInsTable([0x50, open], [0x54, only]), defineInsTable([0x50, claimed]));
    expect(t[0x54]).toBe(only);
    expect(t[0x50]).not.toBe(open);
    const card = cardWith(t);
    expect(text(card, '8050000700')).toBe('claimed');
    expect(text(card, '8050000600')).toBe('open');
    expect(() => composeTables(defineInsTable([0x50, named('x')]), defineInsTable([0x50, named('y')]))).toThrow(/without a route predicate/);
    expect(Object.isFrozen(t)).toBe(true);
  });
});

const CAN = '123456';
const PROTOCOLS = [{ protocol: PACE_OID.ECDH_GM_AES_128, parameterId: 13 }];
const AID = 'A0000002471001';

/** The same eMRTD applet with PACE alone, or PACE composed with CA, the key store and AA. */
function emrtd(composed: boolean, rng: Uint8Array): Card {
  const pace = paceCommands(pacePasswords({ protocols: PROTOCOLS, can: { pin: 0x02 } }));
  const applet: AppletFactory = {
    type: 'emrtd',
    create: () => ({
      install: (ctx) => {
        ctx.nv.splice(ctx.df.pins, 0, 0, newPin({ ref: 0x02, value: new TextEncoder().encode(CAN), minLength: 6, maxLength: 6, maxTries: 15 }));
        const ca = addKeySlot(ctx.nv, ctx.df, newAsymmetricKey({ ref: 0x02, type: 'ec', curve: 'P-256', usage: ['chip-authentication'] }));
        const aa = addKeySlot(ctx.nv, ctx.df, newAsymmetricKey({ ref: 0x03, type: 'ec', curve: 'P-256', usage: ['active-authentication'] }));
        generateInSlot(ctx.nv, ca, { bytes: (n: number) => new Uint8Array(n).fill(0x21) } as never);
        generateInSlot(ctx.nv, aa, { bytes: (n: number) => new Uint8Array(n).fill(0x22) } as never);
      },
      commands: composed
        ? composeTables(pace, chipAuthCommands({ keys: [{ key: 0x02, protocol: CA_OID.ECDH_AES_128 }] }), keyStoreCommands(), activeAuthCommands({ key: 0x03 }))
        : pace,
    }),
  };
  const card = createCard({ applets: [applet], rng });
  card.install(h(AID), 'emrtd');
  const ca = paceCardAccess(PROTOCOLS);
  attach(card.nv, card.state.mf, newTransparentEf(0x011c, ca.length, { sfi: 0x1c, data: ca }));
  card.nv.commit();
  card.powerOn();
  expect(tx(card, `00A4040C07${AID}`).swHex).toBe('9000');
  return card;
}

/** MSE P1-P2 that Chip Authentication or the key store claim; everything else must still reach PACE. */
const CLAIMED = new Set([0x41a6, 0x41a4, 0x41b6, 0x41b8]);

describe('composing PACE with Chip Authentication, the key store and AA keeps PACE\'s behaviour', () => {
  it('random MSE and GENERAL AUTHENTICATE commands answer exactly as with PACE alone', () => {
    const rng = new Uint8Array(4096).fill(0x5c);
    const commandArb = fc.oneof(
      fc
        .record({ p1p2: fc.integer({ min: 0, max: 0xffff }).filter((v) => !CLAIMED.has(v)), data: fc.uint8Array({ maxLength: 40 }) })
        .map(({ p1p2, data }) => `0022${p1p2.toString(16).padStart(4, '0')}${data.length ? `${data.length.toString(16).padStart(2, '0')}${hex(data)}` : ''}`),
      fc.constant(`0022C1A40F800A${hex(h('04007F00070202040202'))}830102`),
      fc.constant('10860000027C0000'),
      fc.record({ chain: fc.boolean(), data: fc.uint8Array({ minLength: 1, maxLength: 40 }) }).map(({ chain, data }) => `${chain ? '10' : '00'}860000${data.length.toString(16).padStart(2, '0')}${hex(data)}00`),
    );
    fc.assert(
      fc.property(fc.array(commandArb, { minLength: 1, maxLength: 8 }), (cmds) => {
        const alone = emrtd(false, rng);
        const composed = emrtd(true, rng);
        for (const c of cmds) expect(hex(composed.transmit(h(c)))).toBe(hex(alone.transmit(h(c))));
      }),
      { numRuns: 60 },
    );
  });

  it('a full PACE run works on the composed applet, and C1A4 goes to PACE, 41B6 to the key store', async () => {
    const card = emrtd(true, new Uint8Array(0));
    const t = new InProcessTransport(card);
    expect(hex(await t.transmit(h('00A4000C023F00')))).toBe('9000');
    const cardAccess = await readEf(t, 0x1c);
    expect(hex(await t.transmit(h(`00A4040C07${AID}`)))).toBe('9000');
    const sm = await performPace(t, { kind: 'can', password: CAN, cardAccess });
    expect(lastRoute(channelOf(card), 0x22)).not.toBe(KEY_STORE_MSE);
    expect(hex(await sm.transmit(h('002241B603840103')))).toBe('6A80'); // key 03 is not a signature key
    expect(lastRoute(channelOf(card), 0x22)).toBe(KEY_STORE_MSE);
  });

  it('errors thrown by a route are status words like any handler\'s', () => {
    const failing = named('e', {
      run: () => {
        throw new StatusWordError(SW.WRONG_LENGTH);
      },
    });
    const card = cardWith(defineInsTable([0x50, routeIns('X', { when: () => true, handler: failing })]));
    expect(text(card, '8050000000')).toBe('6700');
    expect(card.events).toHaveLength(0);
  });
});
