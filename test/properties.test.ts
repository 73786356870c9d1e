/**
 * Properties over random APDUs (STYLE principle 11): whatever bytes arrive, `card.transmit` never
 * throws, always answers a well-formed response (ISO/IEC 7816-4 §5.1, §5.6), never sends more
 * than Ne bytes of data, never hits an internal error (6F00 would be a bug), and the card stays
 * usable afterwards.
 *
 * The card under test holds a populated tree (every EF structure, DFs, PINs, keys, data objects,
 * an applet) in three states: personalization (no transport key), personalization with the
 * transport key authenticated (so CREATE/DELETE/PUT DATA run), and operational.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { INS } from '../src/apdu/ins.js';
import { encodeCommandApdu, parseCommandApdu } from '../src/apdu/command.js';
import { isSuccessSw } from '../src/apdu/status.js';
import { concatBytes, u16 } from '../src/bytes/index.js';
import { encodeTlv } from '../src/tlv/ber.js';
import { encodeFcp } from '../src/card/fs/fcp.js';
import { newDf, newRecordEf, newTransparentEf } from '../src/card/fs/file.js';
import type { Card } from '../src/card/os.js';
import { serializeCard } from '../src/card/image.js';
import { ALWAYS as ALWAYS_RULE } from '../src/card/security/access.js';
import {
  COUNTER_AID,
  COUNTER_APPLET,
  PIN81,
  PIN82,
  PUK83,
  ascii,
  fixtureCard,
  h,
  hex,
  rulesArb,
  swHex,
  transportAuth,
} from './helpers/model.js';

// --- the card under test ----------------------------------------------------------------------

type Mode = 'personalization' | 'perso-authenticated' | 'operational';
const MODES: readonly Mode[] = ['personalization', 'perso-authenticated', 'operational'];

function cardFor(mode: Mode): Card {
  const card = fixtureCard({ applets: [COUNTER_APPLET] });
  card.install(h(COUNTER_AID), 'counter', h('C0DE'));
  if (mode === 'operational') {
    card.nv.set(card.state, 'lifeCycle', 'operational');
    card.nv.commit();
  }
  if (mode === 'perso-authenticated') transportAuth(card);
  card.events.length = 0;
  return card;
}

// --- generators -------------------------------------------------------------------------------

const byte = fc.integer({ min: 0, max: 255 });
const FIDS = [0x3f00, 0x0101, 0x0102, 0x0103, 0x0104, 0x0105, 0x1000, 0x1001, 0x1002, 0x1003, 0x1004, 0x1005, 0x1006, 0x1011, 0x1012, 0x1013, 0x1020, 0x1100, 0x1101, 0x1102, 0x2000, 0x2001, 0x2002, 0x7f00, 0x0001, 0x3fff, 0xffff, 0x4242];
const fidArb = fc.constantFrom(...FIDS);
const INS_VALUES = [...new Set(Object.values(INS))];

const claArb = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom(0x00, 0x00, 0x00, 0x01, 0x02, 0x03) },
  { weight: 2, arbitrary: fc.constantFrom(0x10, 0x11, 0x04, 0x08, 0x0c, 0x40, 0x41, 0x4f, 0x50, 0x60, 0x80, 0x84, 0x90, 0x20, 0xff) },
  { weight: 1, arbitrary: byte },
);
const insArb = fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...INS_VALUES) }, { weight: 1, arbitrary: fc.constantFrom(0x01, 0x03) }, { weight: 1, arbitrary: byte });
const paramArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant(0x00) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 8 }) },
  { weight: 1, arbitrary: fc.constantFrom(0x04, 0x0c, 0x81, 0x82, 0x83, 0x01, 0xff, 0x80, 0x08, 0x09) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 31 }).map((sfi) => 0x80 | sfi) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 31 }), fc.integer({ min: 0, max: 7 })).map(([s, m]) => (s << 3) | m) },
  // Record addressing with SFIs that exist in the layout (P2 = SFI << 3 | mode).
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(0, 1, 2, 3, 4, 5, 11, 12, 13, 20), fc.constantFrom(0, 1, 2, 3, 4, 5, 6)).map(([s, m]) => (s << 3) | m) },
  { weight: 2, arbitrary: byte },
);

/** A valid FCP template for CREATE FILE (sometimes damaged). */
const fcpArb: fc.Arbitrary<Uint8Array> = fc
  .tuple(
    fc.constantFrom('DF', 'transparent', 'linear-fixed', 'linear-variable', 'cyclic'),
    fc.oneof(fidArb, fc.integer({ min: 1, max: 0xfffe })),
    fc.integer({ min: 0, max: 300 }),
    fc.integer({ min: 1, max: 40 }),
    fc.integer({ min: 1, max: 8 }),
    fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
    fc.boolean(),
  )
  .chain(([type, fid, size, rs, n, sfi, named]) =>
    rulesArb(type === 'DF').map((rules) => {
      if (type === 'DF') return encodeFcp(newDf(fid, named ? h('D27600012401') : undefined, rules));
      if (type === 'transparent') return encodeFcp(newTransparentEf(fid, size, { sfi, rules }));
      return encodeFcp(newRecordEf(fid, type as 'cyclic', rs, n, { sfi, rules }));
    }),
  );

const pinTemplateArb = fc
  .tuple(fc.constantFrom(0x01, 0x81, 0x82, 0x83, 0x00), fc.constantFrom('1234', '12', '123456789012345', ''), fc.integer({ min: 0, max: 16 }))
  .map(([ref, v, tries]) => concatBytes(encodeTlv(0x83, new Uint8Array([ref])), encodeTlv(0x80, ascii(v)), encodeTlv(0x86, new Uint8Array([tries]))));
const keyTemplateArb = fc
  .tuple(fc.constantFrom(0x01, 0x02, 0x00), fc.constantFrom(0x01, 0x02, 0x03), fc.constantFrom(8, 16, 24, 32))
  .map(([ref, alg, len]) => concatBytes(encodeTlv(0x83, new Uint8Array([ref])), encodeTlv(0x89, new Uint8Array([alg])), encodeTlv(0x80, new Uint8Array(len).fill(0x42))));

const dataArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(new Uint8Array(0)) },
  { weight: 4, arbitrary: fidArb.map(u16) },
  { weight: 2, arbitrary: fc.array(fidArb, { minLength: 1, maxLength: 4 }).map((fs) => concatBytes(...fs.map(u16))) },
  { weight: 2, arbitrary: fc.constantFrom(PIN81, PIN82, PUK83, '0000', '9999', '1111', PUK83 + PIN81, PIN81 + '4321').map(ascii) },
  { weight: 1, arbitrary: fc.constantFrom('A0000000011000', 'A000000001', 'A0', COUNTER_AID, 'F0000000').map(h) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.uint8Array({ minLength: 0, maxLength: 4 }), fc.option(fc.uint8Array({ maxLength: 40 }), { nil: undefined }))
      .map(([off, body]) => concatBytes(encodeTlv(0x54, off), body === undefined ? new Uint8Array(0) : encodeTlv(0x53, body))),
  },
  { weight: 2, arbitrary: fcpArb },
  { weight: 1, arbitrary: pinTemplateArb },
  { weight: 1, arbitrary: keyTemplateArb },
  { weight: 3, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 40 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 200, maxLength: 300 }) },
);

const neArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.constant(256) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 255 }) },
  { weight: 1, arbitrary: fc.integer({ min: 257, max: 65536 }) },
  { weight: 1, arbitrary: fc.constant(65536) },
);

/** Damage to a well-formed APDU: none, truncation, extra bytes, a wrong Lc byte. */
const damageArb = fc.oneof(
  { weight: 12, arbitrary: fc.constant((b: Uint8Array) => b) },
  { weight: 1, arbitrary: fc.nat().map((n) => (b: Uint8Array) => b.subarray(0, n % (b.length + 1))) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 3 }).map((x) => (b: Uint8Array) => concatBytes(b, x)) },
  {
    weight: 1,
    arbitrary: byte.map((x) => (b: Uint8Array) => {
      const c = b.slice();
      if (c.length > 4) c[4] = x;
      return c;
    }),
  },
);

/** An APDU biased towards valid headers and Lc/Le structures, short and extended. */
const structuredApdu: fc.Arbitrary<Uint8Array> = fc
  .tuple(claArb, insArb, paramArb, paramArb, dataArb, neArb, fc.boolean(), damageArb)
  .map(([cla, ins, p1, p2, data, ne, extended, damage]) => {
    const ext = extended && (data.length > 0 || ne > 0);
    return damage(encodeCommandApdu({ cla, ins, p1, p2, data, ne, extended: ext }));
  });

/** What arrives at the card: mostly structured, some raw noise of 0–300 bytes. */
const anyApdu: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 5, arbitrary: structuredApdu },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 300 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 4, maxLength: 12 }) },
);

// --- checks -----------------------------------------------------------------------------------

/** Returns why the response is malformed for this command, or null. */
function responseProblem(card: Card, cmd: Uint8Array, out: Uint8Array, eventsBefore: number): string | null {
  const where = `APDU ${hex(cmd) || '(empty)'} → ${hex(out) || '(mute)'}`;
  if (out.length < 2) return `no status word: ${where}`;
  const sw = (out[out.length - 2]! << 8) | out[out.length - 1]!;
  const sw1 = sw >>> 8;
  const dataLen = out.length - 2;
  if (!((sw1 >= 0x61 && sw1 <= 0x6f) || sw === 0x9000)) return `SW ${swHex(sw)} outside 61xx–6Fxx/9000: ${where}`;
  if (dataLen > 0 && !isSuccessSw(sw)) return `data with error SW ${swHex(sw)}: ${where}`;
  let ne = 0;
  try {
    ne = parseCommandApdu(cmd).ne;
  } catch {
    if (dataLen !== 0) return `data in answer to an unparseable APDU: ${where}`;
  }
  if (dataLen > ne) return `${dataLen} data bytes exceed Ne=${ne}: ${where}`;
  const fresh = card.events.slice(eventsBefore).filter((e) => e.type === 'internal-error');
  if (fresh.length > 0 || sw === 0x6f00) {
    return `internal error (6F00 is a bug): ${where}: ${fresh.map((e) => (e.type === 'internal-error' ? e.error : '')).join('; ')}`;
  }
  return null;
}

/** Sends, asserting transmit does not throw and the answer is well formed. */
function sendChecked(card: Card, cmd: Uint8Array): Uint8Array {
  // Keep events short so the slice below sees exactly this command's events.
  card.events.length = 0;
  let out: Uint8Array;
  try {
    out = card.transmit(cmd);
  } catch (e) {
    throw new Error(`transmit threw on ${hex(cmd)}: ${e instanceof Error ? e.stack : String(e)}`);
  }
  const problem = responseProblem(card, cmd, out, 0);
  if (problem !== null) throw new Error(problem);
  return out;
}

/**
 * The card still works: SELECT MF answers 9000. Two exceptions, both legitimate: 6883 once when
 * the random sequence left a command chain open (the chain is aborted, the next SELECT works), and
 * 6285 when an authorised TERMINATE DF of the MF terminated the card.
 */
function assertUsable(card: Card): void {
  const select = h('00A4000C023F00');
  let out = sendChecked(card, select);
  let sw = (out[0]! << 8) | out[1]!;
  if (sw === 0x6883) {
    out = sendChecked(card, select);
    sw = (out[0]! << 8) | out[1]!;
  }
  if (sw === 0x6285 && card.state.lifeCycle === 'terminated') return;
  expect(swHex(sw), 'SELECT MF after the sequence').toBe('9000');
}

// --- properties -------------------------------------------------------------------------------

describe('random APDUs', () => {
  it('raw bytes of 0–300 never throw and always give a well-formed answer', () => {
    const cards = new Map(MODES.map((m) => [m, cardFor(m)] as const));
    fc.assert(
      fc.property(fc.constantFrom(...MODES), fc.uint8Array({ minLength: 0, maxLength: 300 }), (mode, bytes) => {
        const card = cards.get(mode)!;
        sendChecked(card, bytes);
        assertUsable(card);
      }),
      { numRuns: 3000 },
    );
  });

  it('sequences of header-biased APDUs: no throw, well-formed answers, no data beyond Ne, no 6F00, card usable', () => {
    fc.assert(
      fc.property(fc.constantFrom(...MODES), fc.array(anyApdu, { minLength: 1, maxLength: 14, size: 'max' }), (mode, seq) => {
        const card = cardFor(mode);
        for (const cmd of seq) sendChecked(card, cmd);
        assertUsable(card);
      }),
      { numRuns: 1500 },
    );
  });

  it('sequences aimed at one DF: select, then file, record, PIN and data commands', () => {
    // Narrower than the above so deeper states (selected EF, verified PIN, open chain) are reached.
    const select = fc
      .constantFrom(
        '00A4080C021000',
        '00A4080C022000',
        '00A4080C0410001100',
        '00A4000C023F00',
        `00A4040C07${COUNTER_AID}`,
        '00A4080C020102',
        '00A4080C020103',
        '00A4080C020104',
        '00A4080C0410001011',
        '00A4080C0410001012',
        '00A4080C0410001013',
        '00A4080C0410001020',
        '00A4020C020101',
        '00A4080C0420002002',
      )
      .map(h);
    const onEf = fc
      .tuple(fc.constantFrom(0xb0, 0xb1, 0xd6, 0xd7, 0x0e, 0xb2, 0xdc, 0xe2, 0xa2, 0xe4, 0x44, 0x04, 0xe8, 0xe6, 0xca, 0xda, 0x01, 0x03), paramArb, paramArb, dataArb, neArb, fc.boolean())
      .map(([ins, p1, p2, data, ne, ext]) =>
        encodeCommandApdu({ cla: 0, ins, p1, p2, data, ne, extended: ext && (data.length > 0 || ne > 0) }),
      );
    const pinCmd = fc
      .tuple(fc.constantFrom(0x20, 0x24, 0x2c), fc.constantFrom(0x00, 0x01, 0x02, 0x03, 0xff), fc.constantFrom(0x81, 0x82, 0x83, 0x01, 0x05), dataArb)
      .map(([ins, p1, p2, data]) => encodeCommandApdu({ ins, p1, p2, data }));
    // A chain: k parts with CLA b5 set, then (usually) the last part — sometimes with another INS.
    const chained = fc
      .tuple(fc.constantFrom(0xd6, 0xe0, 0xda, 0xd7, 0xb0), fc.array(fc.uint8Array({ minLength: 1, maxLength: 20 }), { minLength: 1, maxLength: 4 }), fc.constantFrom('last', 'last', 'other', 'none'), fcpArb)
      .map(([ins, parts, end, fcp]) => {
        const p1 = ins === 0xda ? 0x5f : 0;
        const p2 = ins === 0xda ? 0x20 : ins === 0xd7 ? 0x01 : 0;
        const body = ins === 0xe0 ? [fcp.subarray(0, fcp.length >> 1), fcp.subarray(fcp.length >> 1)] : parts;
        const out = body.slice(0, -1).map((data) => encodeCommandApdu({ cla: 0x10, ins, p1, p2, data }));
        if (end !== 'none') out.push(encodeCommandApdu({ cla: 0, ins: end === 'last' ? ins : 0xd6, p1, p2, data: body.at(-1)! }));
        return out;
      });
    const misc = fc.constantFrom('0070000001', '0070800100', '00C0000000', '00C0000010', '0084000008', '0082000108' + '00'.repeat(8), '00CA004600', '00CA5F5200').map(h);
    const one = (a: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array[]> => a.map((x) => [x]);
    const step = fc.oneof(
      { weight: 4, arbitrary: one(select) },
      { weight: 6, arbitrary: one(onEf) },
      { weight: 2, arbitrary: one(pinCmd) },
      { weight: 1, arbitrary: chained },
      { weight: 2, arbitrary: one(misc) },
    );
    fc.assert(
      fc.property(fc.constantFrom(...MODES), fc.array(step, { minLength: 1, maxLength: 20, size: 'max' }), (mode, seq) => {
        const card = cardFor(mode);
        for (const cmd of seq.flat()) sendChecked(card, cmd);
        assertUsable(card);
      }),
      { numRuns: 1200 },
    );
  });
});

describe('Ne (ISO/IEC 7816-4 §5.1): never more data than asked for', () => {
  const reads = fc.constantFrom(
    { pre: [], cmd: { ins: 0xa4, p1: 0x00, p2: 0x00, data: h('3F00') } },
    { pre: [], cmd: { ins: 0xa4, p1: 0x08, p2: 0x04, data: h('10001011') } },
    { pre: [], cmd: { ins: 0xb0, p1: 0x81, p2: 0x00 } },
    { pre: [], cmd: { ins: 0xb0, p1: 0x81, p2: 0x05 } },
    { pre: [], cmd: { ins: 0xb2, p1: 0x01, p2: (2 << 3) | 4 } },
    { pre: [], cmd: { ins: 0xb2, p1: 0x01, p2: (3 << 3) | 5 } },
    { pre: [], cmd: { ins: 0xb2, p1: 0x03, p2: (4 << 3) | 6 } },
    { pre: [], cmd: { ins: 0xb2, p1: 0x00, p2: (4 << 3) | 2 } },
    { pre: [], cmd: { ins: 0xb1, p1: 0x00, p2: 0x01, data: h('540100') } },
    { pre: [], cmd: { ins: 0xca, p1: 0x00, p2: 0x46 } },
    { pre: [], cmd: { ins: 0xca, p1: 0x5f, p2: 0x20 } },
    { pre: [], cmd: { ins: 0x84, p1: 0x00, p2: 0x00 } },
    { pre: ['00A4080C021000', '002000810431323334'], cmd: { ins: 0xb0, p1: 0x81, p2: 0x00 } },
    { pre: ['00A4080C021000', '002000810431323334'], cmd: { ins: 0xa2, p1: 0x01, p2: (12 << 3) | 4, data: h('A55A') } },
    { pre: [`00A4040C07${COUNTER_AID}`], cmd: { ins: 0x01, p1: 0x00, p2: 0x00 } },
  );

  it('data ≤ Ne for every Le, through 61XX / GET RESPONSE and 6CXX re-sends', () => {
    fc.assert(
      fc.property(reads, neArb, fc.boolean(), fc.array(neArb, { minLength: 1, maxLength: 6 }), (r, ne, ext, getLes) => {
        const card = cardFor('operational');
        for (const p of r.pre) sendChecked(card, h(p));
        const cmd = encodeCommandApdu({ ...r.cmd, ne, extended: ext && ne > 0 });
        let out = sendChecked(card, cmd);
        let sw = (out[out.length - 2]! << 8) | out[out.length - 1]!;
        if (sw >>> 8 === 0x6c) {
          // Wrong Le: the same command with Le = SW2 must be answered with exactly SW2 bytes.
          const want = sw & 0xff || 256;
          const again = encodeCommandApdu({ ...r.cmd, ne: want });
          out = sendChecked(card, again);
          sw = (out[out.length - 2]! << 8) | out[out.length - 1]!;
          expect(swHex(sw), `re-send of ${hex(cmd)} with Le=${want}`).toMatch(/^(9000|62..|61..)$/);
          if (sw === 0x9000) expect(out.length - 2).toBe(want);
        }
        for (const le of getLes) {
          if (sw >>> 8 !== 0x61) break;
          const gr = encodeCommandApdu({ ins: 0xc0, ne: le, extended: le > 256 });
          out = sendChecked(card, gr);
          sw = (out[out.length - 2]! << 8) | out[out.length - 1]!;
          if (sw >>> 8 === 0x6c) {
            // GET RESPONSE with Le beyond what is left: 6CXX names the exact rest, which is then delivered.
            const want = sw & 0xff || 256;
            out = sendChecked(card, encodeCommandApdu({ ins: 0xc0, ne: want }));
            sw = (out[out.length - 2]! << 8) | out[out.length - 1]!;
            expect(swHex(sw), `GET RESPONSE with Le=${want} after 6C`).toMatch(/^(9000|62..|61..)$/);
            expect(out.length - 2, `GET RESPONSE with Le=${want} after 6C`).toBe(want);
          }
        }
        assertUsable(card);
      }),
      { numRuns: 1500 },
    );
  });
});

describe('cards built through the library API never hit 6F00', () => {
  /**
   * `AccessRules` admits every operation for every file kind, but the FCP encoding (tag 'AB',
   * ISO/IEC 7816-4 §9.3) has no bit for `read`/`update`/`erase`/`append` on a DF or `create` on an
   * EF. Either the API refuses such rules when the file is built or attached (an error that names
   * the operation), or the card must still answer SELECT and save its image.
   */
  const cases: readonly [string, () => Card][] = [
    ['a DF with a read rule', () => fixtureCard({ layout: { kind: 'DF', fid: 0x3f00, children: [{ kind: 'DF', fid: 0x1000, rules: { read: ALWAYS_RULE } as never, children: [] }] } })],
    ['an EF with a create rule', () => fixtureCard({ layout: { kind: 'DF', fid: 0x3f00, children: [{ kind: 'EF', structure: 'transparent', fid: 0x0101, data: '00', rules: { create: ALWAYS_RULE } as never }] } })],
  ];
  for (const [name, build] of cases) {
    it(name, () => {
      let card: Card;
      try {
        card = build();
      } catch (e) {
        // Refused up front: fine, as long as the message names the operation.
        expect(String(e)).toMatch(/read|create/);
        return;
      }
      for (const select of ['00A40004021000', '00A40004020101']) {
        const out = sendChecked(card, h(select));
        expect(swHex((out[out.length - 2]! << 8) | out[out.length - 1]!)).not.toBe('6F00');
      }
      expect(() => serializeCard(card)).not.toThrow();
    });
  }
});
