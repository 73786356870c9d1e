/**
 * Anti-tearing (the undo journal of src/card/nv.ts): a power cut at any non-volatile write of a
 * command leaves the card, after the next power-up, holding exactly the state before the command
 * or the state after it — never a mixture. The one designed exception is the retry counter of a
 * PIN or key comparison, which is spent and committed *before* comparing (pin.ts): a cut after
 * that leaves the old state with one try fewer, on purpose.
 *
 * Method: for each command, count its writes W on a reference clone; then for every N in 1..W+1,
 * clone the card from its image, arm `cutPowerAtWrite(N)`, send the command, require a mute card
 * iff N ≤ W, power on again and compare images. After recovery the card must also *behave* like a
 * card freshly loaded from its own image (no stale caches survive a rollback).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { concatBytes } from '../src/bytes/index.js';
import { encodeTlv } from '../src/tlv/ber.js';
import { encodeFcp } from '../src/card/fs/fcp.js';
import { newDf, newRecordEf } from '../src/card/fs/file.js';
import { ALWAYS, pin } from '../src/card/security/access.js';
import { loadCard, serializeCard } from '../src/card/image.js';
import { externalAuthCryptogram } from '../src/card/commands/authenticate.js';
import type { Card } from '../src/card/os.js';
import {
  COUNTER_AID,
  COUNTER_APPLET,
  KEY01,
  PIN01,
  PIN81,
  PUK83,
  ascii,
  fixtureCard,
  h,
  hex,
  must,
  swHex,
  transportAuth,
} from './helpers/model.js';

const APPLETS = [COUNTER_APPLET];

/** Lc ‖ data. */
const withLc = (data: Uint8Array): Uint8Array => concatBytes(new Uint8Array([data.length]), data);
const cmd = (header: string, data?: Uint8Array | string): Uint8Array =>
  data === undefined ? h(header) : concatBytes(h(header), withLc(typeof data === 'string' ? h(data) : data));

/** The card every case starts from: the shared layout plus an installed applet, personalization. */
function baseImage(): string {
  const card = fixtureCard({ applets: APPLETS });
  card.install(h(COUNTER_AID), 'counter', h('C0DE'));
  return serializeCard(card);
}
const BASE = baseImage();

function load(image: string): Card {
  const card = loadCard(image, { applets: APPLETS });
  card.powerOn();
  return card;
}

/** Commands that read and never write: what "behaves the same" is checked with. */
const PROBES = [
  '00A40000023F00',
  '00A4040007A0000000011000',
  '00CA5F5000',
  '00A4040C07' + COUNTER_AID,
  '0001000000',
  '00A4000C023F00',
  '00B0810000',
  '00B2011400',
  '00B2021C00',
  '00B2012400',
  '00B2032400',
  '00CA5F2000',
  '0020000100',
  '00A4080C021000',
  '0020008100',
  '0020008300',
  '0082000100',
  '00B0940000',
  '00B2016400',
  '00A4080004100011000000',
  '00A4040007F000000000',
];

/** Answers of a powered card to {@link PROBES} (changes only transient state). */
function probe(card: Card): string[] {
  return PROBES.map((p) => hex(card.transmit(h(p))));
}

/** After recovery: the card answers exactly as a card loaded from its own image does. */
function expectBehavesLikeItsImage(card: Card, context: string): void {
  const image = serializeCard(card);
  const fresh = load(image);
  card.powerOff();
  card.powerOn();
  const a = probe(card);
  const b = probe(fresh);
  a.forEach((x, i) => expect(x, `${context}: probe ${PROBES[i]} after recovery vs a fresh load`).toBe(b[i]));
}

/** A JSON-level edit of an image (the "one try spent" variant of the old state). */
function edited(image: string, edit: (doc: any) => void): string { // eslint-disable-line @typescript-eslint/no-explicit-any
  const doc = JSON.parse(image);
  edit(doc);
  return JSON.stringify(doc, null, 1) + '\n';
}

interface Case {
  readonly name: string;
  /** Brings the clone into the state the command needs (transient state included). */
  readonly setup: (card: Card) => void;
  /** The command, built after setup (EXTERNAL AUTHENTICATE needs the fresh challenge). */
  readonly command: (card: Card) => Uint8Array;
  /** Status word the uncut command must answer, so the case tests what it claims. */
  readonly sw?: number;
  /**
   * For comparisons with a retry counter: how the old image looks with the try spent, and from
   * which write on (the committed decrement is write 1, so cuts at N ≥ 2 leave it spent).
   */
  readonly spent?: (doc: any) => void; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const auth = (card: Card): void => transportAuth(card);
const authIn = (...selects: string[]) => (card: Card): void => {
  transportAuth(card);
  for (const s of selects) expect(swHex(must(card, s).sw), s).toBe('9000');
};
const fixed = (bytes: Uint8Array) => (): Uint8Array => bytes;

const CASES: readonly Case[] = [
  { name: 'UPDATE BINARY of 16 bytes (SFI)', setup: auth, command: fixed(cmd('00D68104', '11'.repeat(16))) },
  { name: 'UPDATE BINARY of 24 bytes (current EF, chained second half)', setup: authIn('00A4080C0410001020', '10D6000004AAAAAAAA'), command: fixed(cmd('00D60000', 'BB'.repeat(4))) },
  { name: 'UPDATE BINARY odd INS (DO 54/53)', setup: auth, command: fixed(cmd('00D70001', concatBytes(encodeTlv(0x54, h('02')), encodeTlv(0x53, h('C0C1C2C3C4'))))) },
  { name: 'ERASE BINARY from offset 4 (SFI 20 in DF 1000)', setup: authIn('00A4080C021000'), command: fixed(h('000E9404')) },
  { name: 'ERASE BINARY of a range', setup: authIn('00A4080C021000'), command: fixed(cmd('000E9402', '0010')) },
  {
    name: 'CREATE FILE of a DF under the MF',
    setup: auth,
    command: fixed(cmd('00E00000', encodeFcp(newDf(0x4000, h('D2760001240100'), { create: ALWAYS, delete: pin(0x81) })))),
  },
  {
    name: 'CREATE FILE of a cyclic EF in DF 1000',
    setup: authIn('00A4080C021000'),
    command: fixed(cmd('00E00000', encodeFcp(newRecordEf(0x1030, 'cyclic', 16, 5, { sfi: 30 })))),
  },
  { name: 'DELETE FILE of a DF with children (DF 1000)', setup: auth, command: fixed(cmd('00E40000', '1000')) },
  { name: 'DELETE FILE of the applet DF', setup: auth, command: fixed(cmd('00E40000', '7F00')) },
  { name: 'DELETE FILE of an EF', setup: authIn('00A4080C021000'), command: fixed(cmd('00E40000', '1011')) },
  { name: 'APPEND RECORD on a full cyclic EF', setup: auth, command: fixed(cmd('00E20020', 'A1A2A3A4')) },
  { name: 'APPEND RECORD on a linear fixed EF', setup: auth, command: fixed(cmd('00E20010', 'B1B2B3B4B5B6')) },
  { name: 'UPDATE RECORD, same length (linear fixed)', setup: auth, command: fixed(cmd('00DC0214', 'C1C2C3C4C5C6')) },
  { name: 'UPDATE RECORD, new length (linear variable)', setup: auth, command: fixed(cmd('00DC021C', 'D1D2D3D4D5')) },
  { name: 'UPDATE RECORD of a cyclic EF (previous)', setup: authIn('00B2012400'), command: fixed(cmd('00DC0003', 'E1E2E3E4')) },
  { name: 'PUT DATA replacing a data object', setup: auth, command: fixed(cmd('00DA5F20', ascii('JOHN Q PUBLIC'))) },
  { name: 'PUT DATA adding a data object in a DF', setup: authIn('00A4080C022000'), command: fixed(cmd('00DA0042', '0102')) },
  { name: 'PUT DATA deleting a data object', setup: auth, command: fixed(h('00DA5F20')) },
  {
    name: 'PUT DATA loading a PIN over an existing one',
    setup: authIn('00A4080C021000'),
    command: fixed(cmd('00DA0101', concatBytes(encodeTlv(0x83, h('81')), encodeTlv(0x80, ascii('24680')), encodeTlv(0x86, h('05'))))),
  },
  {
    name: 'PUT DATA loading an AES key',
    setup: auth,
    command: fixed(cmd('00DA0102', concatBytes(encodeTlv(0x83, h('05')), encodeTlv(0x89, h('02')), encodeTlv(0x80, h('AB'.repeat(32)))))),
  },
  {
    name: 'CHANGE REFERENCE DATA (P1=00, current ‖ new)',
    setup: auth,
    command: fixed(cmd('00240001', ascii(PIN01 + '4321'))),
    spent: (d) => d.mf.pins[0].tries--,
  },
  {
    name: 'CHANGE REFERENCE DATA (P1=01, after VERIFY)',
    setup: (card) => {
      transportAuth(card);
      expect(swHex(must(card, cmd('00200001', ascii(PIN01))).sw)).toBe('9000');
    },
    command: fixed(cmd('00240101', ascii('13579'))),
  },
  {
    name: 'RESET RETRY COUNTER (PUK ‖ new PIN) of a spent PIN',
    setup: (card) => {
      transportAuth(card);
      must(card, '00A4080C021000');
      expect(swHex(must(card, cmd('00200081', ascii('0000'))).sw)).toBe('63C2');
    },
    command: fixed(cmd('002C0081', ascii(PUK83 + '8642'))),
    spent: (d) => d.mf.children[5].pins[2].tries--,
  },
  { name: 'VERIFY with a wrong PIN', setup: auth, command: fixed(cmd('00200001', ascii('9999'))), sw: 0x63c2 },
  {
    name: 'VERIFY with the right PIN after a wrong one',
    setup: (card) => {
      transportAuth(card);
      must(card, cmd('00200001', ascii('9999')));
    },
    command: fixed(cmd('00200001', ascii(PIN01))),
    spent: (d) => d.mf.pins[0].tries--,
  },
  {
    name: 'EXTERNAL AUTHENTICATE with key 01 after a wrong cryptogram',
    setup: (card) => {
      transportAuth(card);
      must(card, '00A4080C021000');
      must(card, '0084000008');
      expect(swHex(must(card, cmd('00820001', '00'.repeat(8))).sw)).toBe('63C2');
    },
    command: (card) => {
      const c = must(card, '0084000008');
      return cmd('00820001', externalAuthCryptogram('3des', h(KEY01), c.data));
    },
    spent: (d) => d.mf.children[5].keys[0].tries--,
  },
  { name: 'DEACTIVATE FILE of an EF', setup: authIn('00A4080C021000'), command: fixed(cmd('00040000', '1020')) },
  { name: 'TERMINATE EF', setup: authIn('00A4080C021000'), command: fixed(cmd('00E80000', '1020')) },
  { name: 'ACTIVATE FILE of the MF (personalization → operational)', setup: auth, command: fixed(cmd('00440000', '3F00')) },
  { name: 'applet command writing through the journal', setup: authIn('00A4040C07' + COUNTER_AID), command: fixed(h('0003000000')) },
];

describe('a power cut at every write of a command leaves the old or the new state', () => {
  for (const c of CASES) {
    it(c.name, () => {
      // The reference: same setup, the command without a cut.
      const ref = load(BASE);
      c.setup(ref);
      const oldImage = serializeCard(ref);
      const w0 = ref.nv.writes;
      const answer = must(ref, c.command(ref));
      expect(swHex(answer.sw), `${c.name}: uncut command`).toBe(swHex(c.sw ?? 0x9000));
      const writes = ref.nv.writes - w0;
      expect(writes, `${c.name} writes to NV`).toBeGreaterThan(0);
      const newImage = serializeCard(ref);
      expect(newImage, `${c.name} changes the image`).not.toBe(oldImage);
      const spentImage = c.spent ? edited(oldImage, c.spent) : undefined;

      for (let n = 1; n <= writes + 1; n++) {
        const card = load(BASE);
        c.setup(card);
        expect(serializeCard(card), `${c.name}: clone before the command`).toBe(oldImage);
        card.faults.cutPowerAtWrite(n);
        const out = card.transmit(c.command(card));
        const at = `${c.name}, cut at write ${n} of ${writes}`;
        if (n <= writes) {
          expect(hex(out), `${at}: the card must go mute`).toBe('');
          expect(card.isPowered, at).toBe(false);
          expect(card.transmit(h('00A4000C023F00')).length, `${at}: still mute until powered`).toBe(0);
          expect(card.events.at(-1), at).toEqual({ type: 'power-loss', writeIndex: expect.any(Number) });
        } else {
          expect(out.length, `${at}: the command completes`).toBeGreaterThanOrEqual(2);
          card.faults.cutPowerAtWrite(0);
          card.powerOff();
        }
        card.powerOn();
        const image = serializeCard(card);
        const which =
          image === oldImage ? 'old' : image === newImage ? 'new' : spentImage !== undefined && image === spentImage ? 'spent' : 'other';
        if (which === 'other') {
          // Show the difference, not two 8 KB strings.
          const a = oldImage.split('\n');
          const b = image.split('\n');
          const i = a.findIndex((line, k) => line !== b[k]);
          expect.fail(`${at}: image is neither the old nor the new state; first difference at line ${i + 1}: ${a[i]} → ${b[i]}`);
        }
        if (n === writes + 1) expect(which, at).toBe('new');
        else if (spentImage !== undefined && n >= 2) expect(which, `${at}: the committed try must survive`).toBe('spent');
        else expect(['old', 'new'], at).toContain(which);
        expectBehavesLikeItsImage(card, at);
      }
    });
  }
});

describe('retry counters survive a cut right after the decrement', () => {
  function triesOf81(card: Card): number {
    const df = card.state.mf.children.find((f) => f.fid === 0x1000);
    if (df?.kind !== 'DF') throw new Error('layout');
    return df.pins.find((p) => p.ref === 0x81)!.tries;
  }

  it('VERIFY with the right PIN, cut at write 2 → one try fewer after power-up', () => {
    const card = load(BASE);
    must(card, '00A4080C021000');
    const before = triesOf81(card);
    card.faults.cutPowerAtWrite(2);
    expect(card.transmit(cmd('00200081', ascii(PIN81))).length).toBe(0);
    card.powerOn();
    expect(triesOf81(card)).toBe(before - 1);
    must(card, '00A4080C021000');
    expect(swHex(must(card, '0020008100').sw)).toBe(`63C${before - 1}`);
    // The PIN was not verified by the torn command.
    expect(swHex(must(card, '00B0810000').sw)).toBe('6982');
  });

  it('cut at write 1 (the decrement itself torn) → the try is not spent', () => {
    const card = load(BASE);
    must(card, '00A4080C021000');
    const before = triesOf81(card);
    card.faults.cutPowerAtWrite(1);
    expect(card.transmit(cmd('00200081', ascii(PIN81))).length).toBe(0);
    card.powerOn();
    expect(triesOf81(card)).toBe(before);
  });

  it('a cut never returns a try already spent: wrong PIN cut after its write keeps the decrement', () => {
    const card = load(BASE);
    must(card, '00A4080C021000');
    must(card, cmd('00200081', ascii('0000')));
    const after1 = triesOf81(card);
    card.faults.cutPowerAtWrite(2); // VERIFY wrong makes one write; the cut falls on the next command
    expect(swHex(must(card, cmd('00200081', ascii('0000'))).sw)).toBe(`63C${after1 - 1}`);
    card.faults.cutPowerAtWrite(0);
    card.powerOff();
    card.powerOn();
    expect(triesOf81(card)).toBe(after1 - 1);
  });
});

describe('random command sequences with a random power cut (property)', () => {
  const pool: readonly string[] = [
    '00A4000C023F00',
    '00A4080C021000',
    '00A4080C022000',
    '00A4080C0410001100',
    '00A4040C07' + COUNTER_AID,
    '0003000000',
    hex(cmd('00D68100', '0102030405060708')),
    hex(cmd('00D68110', 'F0F1F2')),
    '000E8108',
    hex(cmd('00E20020', '0A0B0C0D')),
    hex(cmd('00E20010', '010203040506')),
    hex(cmd('00E20018', '0102')),
    hex(cmd('00DC0114', 'A0A1A2A3A4A5')),
    hex(cmd('00DC011C', '0102030405060708090A')),
    hex(cmd('00DA5F20', '4142')),
    hex(cmd('00DA0042', '0102')),
    '00DA5F20',
    hex(cmd('00E00000', encodeFcp(newDf(0x4100, undefined, { delete: ALWAYS })))),
    hex(cmd('00E00000', encodeFcp(newRecordEf(0x4101, 'cyclic', 2, 2, { sfi: 29 })))),
    hex(cmd('00E40000', '4100')),
    hex(cmd('00E40000', '1100')),
    hex(cmd('00E40000', '1011')),
    hex(cmd('00E40000', '7F00')),
    hex(cmd('00040000', '1020')),
    hex(cmd('00440000', '1020')),
    hex(cmd('00E80000', '1002')),
    hex(cmd('00200001', ascii('1111'))), // wrong PIN: one committed write, no restore
    hex(cmd('00D69400', 'CAFE')),
    '000E9400',
    hex(cmd('00DC0164', 'AAAAAAAAAAAAAAAA')),
    hex(cmd('00E20060', 'BBBBBBBBBBBBBBBB')),
    hex(cmd('00E20068', 'CC')),
  ];

  it('the card holds the state before or after the torn command, and behaves like its image', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pool), { minLength: 1, maxLength: 10 }), fc.double({ min: 0, max: 1, noNaN: true }), (seq, where) => {
        // Reference run: image and write count after each command.
        const ref = load(BASE);
        transportAuth(ref);
        const images = [serializeCard(ref)];
        const writesAfter = [0];
        const w0 = ref.nv.writes;
        for (const a of seq) {
          must(ref, a);
          images.push(serializeCard(ref));
          writesAfter.push(ref.nv.writes - w0);
        }
        const total = writesAfter.at(-1)!;
        const n = 1 + Math.floor(where * (total + 1)); // 1..total+1
        const card = load(BASE);
        transportAuth(card);
        card.faults.cutPowerAtWrite(n);
        let mutedAt = -1;
        for (let i = 0; i < seq.length; i++) {
          const out = card.transmit(h(seq[i]!));
          if (out.length === 0) {
            mutedAt = i + 1;
            break;
          }
        }
        card.faults.cutPowerAtWrite(0);
        card.powerOn();
        const image = serializeCard(card);
        if (mutedAt < 0) {
          expect(n).toBeGreaterThan(total);
          expect(image).toBe(images.at(-1));
        } else {
          // Muted during the command whose writes include the n-th.
          expect(writesAfter[mutedAt - 1]!).toBeLessThan(n);
          expect(writesAfter[mutedAt]!).toBeGreaterThanOrEqual(n);
          const ok = image === images[mutedAt - 1] || image === images[mutedAt];
          expect(ok, `cut at write ${n} during ${seq[mutedAt - 1]} (command ${mutedAt} of ${seq.join(' ')})`).toBe(true);
        }
        expectBehavesLikeItsImage(card, `sequence ${seq.join(' ')}, cut at ${n}`);
      }),
      { numRuns: 400 },
    );
  });
});

describe('NvMemory: the undo journal itself (property)', () => {
  interface Store {
    n: number;
    s: string;
    extra?: number;
    buf: Uint8Array;
    arr: number[];
  }
  type Op =
    | { kind: 'set-n'; v: number }
    | { kind: 'set-s'; v: string }
    | { kind: 'set-extra'; v: number }
    | { kind: 'set-slot'; i: number; v: number }
    | { kind: 'write'; offset: number; bytes: Uint8Array }
    | { kind: 'fill'; offset: number; length: number; v: number }
    | { kind: 'splice'; start: number; del: number; items: number[] }
    | { kind: 'commit' };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('set-n' as const), v: fc.integer() }),
    fc.record({ kind: fc.constant('set-s' as const), v: fc.string({ maxLength: 3 }) }),
    fc.record({ kind: fc.constant('set-extra' as const), v: fc.integer() }),
    fc.record({ kind: fc.constant('set-slot' as const), i: fc.integer({ min: 0, max: 8 }), v: fc.integer() }),
    fc.integer({ min: 0, max: 16 }).chain((offset) =>
      fc.record({ kind: fc.constant('write' as const), offset: fc.constant(offset), bytes: fc.uint8Array({ maxLength: 16 - offset }) }),
    ),
    fc.integer({ min: 0, max: 16 }).chain((offset) =>
      fc.record({ kind: fc.constant('fill' as const), offset: fc.constant(offset), length: fc.integer({ min: 0, max: 16 - offset }), v: fc.integer({ min: 0, max: 255 }) }),
    ),
    fc.record({
      kind: fc.constant('splice' as const),
      start: fc.integer({ min: -6, max: 10 }),
      del: fc.integer({ min: 0, max: 4 }),
      items: fc.array(fc.integer(), { maxLength: 3 }),
    }),
    fc.constant({ kind: 'commit' as const }),
  );

  const snapshot = (x: Store): string =>
    JSON.stringify({ n: x.n, s: x.s, has: 'extra' in x, extra: x.extra, buf: hex(x.buf), arr: x.arr, len: x.arr.length });

  function apply(nv: NvMemoryLike, x: Store, op: Op): void {
    switch (op.kind) {
      case 'set-n':
        return nv.set(x, 'n', op.v);
      case 'set-s':
        return nv.set(x, 's', op.v);
      case 'set-extra':
        return nv.set(x, 'extra', op.v);
      case 'set-slot':
        return nv.set(x.arr, op.i, op.v);
      case 'write':
        return nv.writeBytes(x.buf, op.offset, op.bytes);
      case 'fill':
        return nv.fillBytes(x.buf, op.offset, op.length, op.v);
      case 'splice':
        nv.splice(x.arr, op.start, op.del, ...op.items);
        return;
      case 'commit':
        return nv.commit();
    }
  }
  type NvMemoryLike = Card['nv'];

  it('a cut at any write, or a rollback, restores exactly the last committed state', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 25 }), fc.integer({ min: 0, max: 30 }), (ops, cutAt) => {
        const card = load(BASE);
        const nv = card.nv;
        const x: Store = { n: 1, s: 'a', buf: Uint8Array.from({ length: 16 }, (_, i) => i), arr: [10, 20, 30] };
        let committed = snapshot(x);
        nv.cutPowerAtWrite(cutAt);
        let cut = false;
        for (const op of ops) {
          try {
            apply(nv, x, op);
          } catch (e) {
            expect((e as Error).name).toBe('PowerLoss');
            cut = true;
            break;
          }
          if (op.kind === 'commit') committed = snapshot(x);
        }
        nv.cutPowerAtWrite(0);
        if (!cut) {
          // Commit makes durable; a rollback right after changes nothing.
          const now = snapshot(x);
          nv.commit();
          nv.rollback();
          expect(snapshot(x)).toBe(now);
          return;
        }
        nv.rollback();
        expect(snapshot(x)).toBe(committed);
        expect(nv.dirty).toBe(false);
      }),
      { numRuns: 1500 },
    );
  });

  it('a torn byte write leaves the first half written until recovery', () => {
    const card = load(BASE);
    const buf = new Uint8Array(8);
    card.nv.cutPowerAtWrite(1);
    expect(() => card.nv.writeBytes(buf, 0, h('1122334455667788'))).toThrow(/power cut/);
    expect(hex(buf)).toBe('1122334400000000');
    card.nv.rollback();
    expect(hex(buf)).toBe('0000000000000000');
  });

  it('an out-of-range write is a programming error, not a counted (or torn) write', () => {
    const card = load(BASE);
    const buf = new Uint8Array(4);
    const w = card.nv.writes;
    expect(() => card.nv.writeBytes(buf, 2, h('010203'))).toThrow(RangeError);
    expect(() => card.nv.writeBytes(buf, -1, h('01'))).toThrow(RangeError);
    expect(card.nv.writes).toBe(w);
    expect(card.nv.dirty).toBe(false);
  });
});
