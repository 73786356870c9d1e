/**
 * The whole ID card under secure messaging, against random commands: after PACE with the CAN and
 * the PIN (every application's files open), random commands in each application — any INS the
 * card implements, any P1-P2, data and Le — never make the card answer 6F00 (an exception inside
 * it, ISO/IEC 7816-4 §5.6) and never break the secure-messaging session: every response unwraps
 * (ICAO 9303-11 §9.8.6.2), and the session still works at the end.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildIdCard } from '../src/apps/id-card.js';
import { IDENTITY_AID } from '../src/apps/identity/layout.js';
import { ESERVICES_AID } from '../src/apps/eservices/layout.js';
import { HEALTH_AID } from '../src/apps/health/index.js';
import { LICENCE_AID } from '../src/apps/licence/layout.js';
import { FINANCE_AID } from '../src/apps/finance/layout.js';
import { bytesToHex } from '../src/bytes/index.js';
import { performPace } from '../src/terminal/pace.js';
import { InProcessTransport } from '../src/transport/in-process.js';
import { CAN, PIN, SPECIMEN_OPTS, holder } from './helpers/specimen.js';

/** INS values the card's OS and applications implement (and a few neighbours that they do not). */
const INS = [0x0e, 0x10, 0x20, 0x22, 0x24, 0x2a, 0x2c, 0x44, 0x46, 0x70, 0x84, 0x86, 0x88, 0xa4, 0xb0, 0xb1, 0xb2, 0xb3, 0xca, 0xcb, 0xd6, 0xd7, 0xda, 0xdb, 0xdc, 0xe0, 0xe2, 0xe4, 0x42, 0xf0];

describe('the ID card under secure messaging, random commands', () => {
  it('no 6F00, every response unwraps, the session survives', async () => {
    const card = buildIdCard(holder, SPECIMEN_OPTS);
    const t = new InProcessTransport(card);
    await t.connect();
    const ca = card.transmit(Uint8Array.of(0x00, 0xb0, 0x9c, 0x00, 0x00));
    const cardAccess = ca.subarray(0, ca.length - 2);
    const sm = await performPace(await performPace(t, { kind: 'can', password: CAN, cardAccess }), { kind: 'pin', password: PIN, cardAccess });
    const selects = [Uint8Array.of(0x00, 0xa4, 0x00, 0x0c, 0x02, 0x3f, 0x00), ...[IDENTITY_AID, ESERVICES_AID, HEALTH_AID, LICENCE_AID, FINANCE_AID].map((aid) => Uint8Array.of(0x00, 0xa4, 0x04, 0x0c, aid.length, ...aid))];
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: selects.length - 1 }),
        fc.constantFrom(0x00, 0x80),
        fc.constantFrom(...INS),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 255 }),
        fc.uint8Array({ maxLength: 40 }),
        fc.option(fc.integer({ min: 1, max: 256 })),
        async (app, cla, ins, p1, p2, data, le) => {
          expect(bytesToHex((await sm.transmit(selects[app]!)).slice(-2))).toBe('9000');
          const apdu = [cla, ins, p1, p2, ...(data.length > 0 ? [data.length, ...data] : []), ...(le !== null ? [le & 0xff] : [])];
          // transmit throws if the response does not unwrap (MAC, DOs, status word).
          const r = await sm.transmit(Uint8Array.from(apdu));
          const sw = bytesToHex(r.slice(-2));
          seen.add(sw);
          expect(sw, bytesToHex(Uint8Array.from(apdu))).not.toBe('6F00');
        },
      ),
      { numRuns: 3000 },
    );
    // The commands reached the handlers, not only the dispatcher's refusals.
    expect([...seen]).toEqual(expect.arrayContaining(['6A86', '6A82', '6A81', '6700', '6985']));
    expect(bytesToHex((await sm.transmit(selects[1]!)).slice(-2))).toBe('9000');
  });
});
