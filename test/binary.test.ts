/**
 * READ / UPDATE / ERASE BINARY (ISO/IEC 7816-4:2013 §11.3.3, §11.3.5, §11.3.7): even and odd INS,
 * SFI addressing, offsets at the boundaries, short reads, the current EF, file structure, access
 * rules and life cycle — and a model-based property over random command sequences.
 *
 *     3F00 MF  (PIN 81 = "1234")
 *     ├── 0101  transparent, 16 bytes 00..0F, SFI 1, no security attributes (open for use)
 *     ├── 0102  linear fixed, 3 records of 4 bytes, SFI 2
 *     ├── 0103  transparent, 8 bytes, SFI 3: read ALWAYS, update NEVER, erase NEVER
 *     ├── 0104  transparent, 8 bytes, SFI 4: read/update/erase PIN(81)
 *     ├── 0105  transparent, 1000 bytes, SFI 5
 *     ├── 0106  transparent, 0 bytes, SFI 6
 *     └── 5000  DF
 *         └── 5001  transparent, 4 bytes "DF5001..", SFI 1
 */
import { describe, it, expect, beforeEach } from 'vitest';
import fc from 'fast-check';
import { bytesToHex, hexToBytes } from '../src/bytes/index.js';
import type { Card } from '../src/card/os.js';
import {
  LCS,
  newDf,
  newRecordEf,
  newTransparentEf,
  type DedicatedFile,
  type TransparentEf,
} from '../src/card/fs/file.js';
import { ALWAYS, NEVER, pin } from '../src/card/security/access.js';
import { newPin } from '../src/card/security/objects.js';
import { poweredCard, tx } from './helpers/card.js';
import { addFiles, channelOf, counting, send } from './helpers/perso.js';

const h = (s: string): Uint8Array => hexToBytes(s);
const hex = (b: Uint8Array): string => bytesToHex(b);

interface Files {
  readonly card: Card;
  readonly open: TransparentEf;
  readonly readOnly: TransparentEf;
  readonly pinned: TransparentEf;
  readonly big: TransparentEf;
  readonly empty: TransparentEf;
  readonly df: DedicatedFile;
  readonly inner: TransparentEf;
}

function build(): Files {
  const card = poweredCard();
  const mf = card.state.mf;
  mf.pins.push(newPin({ ref: 0x81, value: h('31323334') }));
  addFiles(card, mf, newRecordEf(0x0102, 'linear-fixed', 4, 3, { sfi: 2, records: [h('AAAAAAAA')] }));
  const [open, readOnly, pinned, big, empty] = addFiles(
    card,
    mf,
    newTransparentEf(0x0101, 16, { sfi: 1, data: counting(16) }),
    newTransparentEf(0x0103, 8, { sfi: 3, data: h('0303030303030303'), rules: { read: ALWAYS, update: NEVER, erase: NEVER } }),
    newTransparentEf(0x0104, 8, {
      sfi: 4,
      data: h('0404040404040404'),
      rules: { read: pin(0x81), update: pin(0x81), erase: pin(0x81) },
    }),
    newTransparentEf(0x0105, 1000, { sfi: 5, data: counting(1000) }),
    newTransparentEf(0x0106, 0, { sfi: 6 }),
  ) as [TransparentEf, TransparentEf, TransparentEf, TransparentEf, TransparentEf];
  const [df] = addFiles(card, mf, newDf(0x5000));
  const [inner] = addFiles(card, df!, newTransparentEf(0x5001, 4, { sfi: 1, data: h('DF500102') }));
  return { card, open, readOnly, pinned, big, empty, df: df!, inner: inner! };
}

let f: Files;
let card: Card;
beforeEach(() => {
  f = build();
  card = f.card;
});

const selectEf = (fid: string): void => {
  expect(tx(card, `00A4020C02${fid}`).swHex).toBe('9000');
};

describe('READ BINARY B0 (even INS)', () => {
  it('reads the current EF at offsets 0, the middle and the last byte', () => {
    selectEf('0101');
    expect(tx(card, '00B0000010').data).toBe(hex(counting(16)));
    expect(tx(card, '00B0000504').data).toBe('05060708');
    const last = tx(card, '00B0000F01');
    expect([last.data, last.swHex]).toEqual(['0F', '9000']);
  });

  it('an offset one past the end → 6B00; far past → 6B00', () => {
    selectEf('0101');
    expect(tx(card, '00B0001001').swHex).toBe('6B00');
    expect(tx(card, '00B07FFF01').swHex).toBe('6B00');
    expect(tx(card, '00B0001000').swHex).toBe('6B00');
  });

  it('an explicit Le beyond the end → the bytes there are and 6282', () => {
    selectEf('0101');
    const r = tx(card, '00B0000E05');
    expect([r.data, r.swHex]).toEqual(['0E0F', '6282']);
    const all = tx(card, '00B0000011');
    expect([all.data, all.swHex]).toEqual([hex(counting(16)), '6282']);
  });

  it('Le 00 reads up to the end of the file (ISO/IEC 7816-4 §11.3.3: "all the bytes until the end")', () => {
    selectEf('0101');
    const r = tx(card, '00B0000A00');
    expect([r.data, r.swHex]).toEqual(['0A0B0C0D0E0F', '9000']);
    // A 1000-byte EF: Le 00 gives 256 bytes, extended Le 0000 the whole file.
    selectEf('0105');
    const short = tx(card, '00B0000000');
    expect([short.bytes.length, short.swHex]).toEqual([256, '9000']);
    const ext = tx(card, '00B00000000000');
    expect([ext.data, ext.swHex]).toEqual([hex(counting(1000)), '9000']);
    const tail = tx(card, '00B003E7000000'); // offset 999
    expect([tail.data, tail.swHex]).toEqual(['E7', '9000']);
  });

  it('an explicit extended Le is exact: fewer bytes left → 6282', () => {
    selectEf('0105');
    const r = tx(card, '00B0000000' + '03E8'); // 1000
    expect([r.bytes.length, r.swHex]).toEqual([1000, '9000']);
    const over = tx(card, '00B00000' + '0003E9'); // 1001
    expect([over.bytes.length, over.swHex]).toEqual([1000, '6282']);
    const mid = tx(card, '00B00300' + '000100'); // offset 768, Le 256 explicit (extended)
    expect([mid.data, mid.swHex]).toEqual([hex(counting(1000).subarray(768, 1000)), '6282']);
  });

  it('reads by SFI (P1 = 100x xxxx) with the offset in P2, and makes that EF current', () => {
    expect(tx(card, '00B0810203').data).toBe('020304');
    expect(channelOf(card).ef).toBe(f.open);
    expect(tx(card, '00B0000001').data).toBe('00');
    expect(tx(card, '00B0830008').data).toBe('0303030303030303');
    expect(channelOf(card).ef).toBe(f.readOnly);
  });

  it('SFI resolves in the current DF only', () => {
    tx(card, '00A4000C025000');
    expect(tx(card, '00B0810004').data).toBe('DF500102');
    expect(channelOf(card).ef).toBe(f.inner);
    expect(tx(card, '00B0830001').swHex).toBe('6A82');
  });

  it('SFI errors: unknown SFI → 6A82, SFI 0 / 31 / P1 b7-b6 set → 6A86, SFI of a record EF → 6981', () => {
    expect(tx(card, '00B0870001').swHex).toBe('6A82');
    expect(tx(card, '00B0800001').swHex).toBe('6A86');
    expect(tx(card, '00B09F0001').swHex).toBe('6A86');
    expect(tx(card, '00B0A10001').swHex).toBe('6A86');
    expect(tx(card, '00B0C10001').swHex).toBe('6A86');
    expect(tx(card, '00B0820001').swHex).toBe('6981');
    expect(channelOf(card).ef).toBeNull();
  });

  it('SFI offset at the boundaries: last byte, one past → 6B00', () => {
    expect(tx(card, '00B0810F01').data).toBe('0F');
    expect(tx(card, '00B0811001').swHex).toBe('6B00');
    expect(tx(card, '00B0860001').swHex).toBe('6B00'); // the empty EF
  });

  it('no current EF → 6986; current EF is a record EF → 6981', () => {
    expect(tx(card, '00B0000001').swHex).toBe('6986');
    selectEf('0102');
    expect(tx(card, '00B0000001').swHex).toBe('6981');
  });

  it('command data or a missing Le → 6700', () => {
    selectEf('0101');
    expect(tx(card, '00B00000').swHex).toBe('6700');
    expect(tx(card, '00B000000100' + '01').swHex).toBe('6700');
  });
});

describe('READ BINARY B1 (odd INS: offset DO 54, data DO 53)', () => {
  it('current EF (P1-P2 = 0000)', () => {
    selectEf('0101');
    const r = tx(card, '00B10000 03 540102 06');
    expect([r.data, r.swHex]).toEqual(['5304' + '02030405', '9000']);
  });

  it('by SFI (P1 = 00, P2 = SFI) and by FID (P1-P2), both making the EF current', () => {
    expect(tx(card, '00B10003 03 540100 0A').data).toBe('5308' + '0303030303030303');
    expect(channelOf(card).ef).toBe(f.readOnly);
    expect(tx(card, '00B10101 03 54010E 00').data).toBe('5302' + '0E0F');
    expect(channelOf(card).ef).toBe(f.open);
  });

  it('an offset beyond 32767 is reachable with a 2- or 3-byte DO 54', () => {
    selectEf('0105');
    expect(tx(card, '00B10000 04 540203E7 00').data).toBe('5301E7');
    expect(tx(card, '00B10000 05 54030003E8 00').swHex).toBe('6B00');
  });

  it('explicit Le too big for what is left → 6282, still wrapped in 53', () => {
    selectEf('0101');
    const r = tx(card, '00B10000 03 54010E 10');
    expect([r.data, r.swHex]).toEqual(['53020E0F', '6282']);
  });

  it('Le leaves room for the 53 header', () => {
    selectEf('0105');
    const r = tx(card, '00B10000 03 540100 00');
    expect(r.swHex).toBe('9000');
    expect(r.bytes.length).toBeLessThanOrEqual(256);
    expect(r.data.slice(0, 6)).toBe('5381FD');
    expect(r.data.slice(6)).toBe(hex(counting(253)));
  });

  it('errors: no DO 54 → 6A80, not BER-TLV → 6A85, unknown FID → 6A82, record EF → 6981', () => {
    selectEf('0101');
    expect(tx(card, '00B10000 03 530100 00').swHex).toBe('6A80');
    expect(tx(card, '00B10000 02 5405 00').swHex).toBe('6A85');
    expect(tx(card, '00B10000 00').swHex).toBe('6A80');
    expect(tx(card, '00B19999 03 540100 00').swHex).toBe('6A82');
    expect(tx(card, '00B10102 03 540100 00').swHex).toBe('6981');
  });
});

describe('UPDATE BINARY D6 / D7', () => {
  it('writes at an offset and nothing else', () => {
    selectEf('0101');
    expect(tx(card, '00D6000302AABB').swHex).toBe('9000');
    expect(hex(f.open.data)).toBe('000102AABB05060708090A0B0C0D0E0F');
  });

  it('writes the last byte; one past the end → 6B00; crossing the end → 6A84, nothing written', () => {
    selectEf('0101');
    expect(tx(card, '00D6000F01FF').swHex).toBe('9000');
    expect(f.open.data[15]).toBe(0xff);
    expect(tx(card, '00D6001001EE').swHex).toBe('6B00');
    expect(tx(card, '00D6000E03111111').swHex).toBe('6A84');
    expect(hex(f.open.data)).toBe('000102030405060708090A0B0C0D0EFF');
  });

  it('by SFI sets the current EF', () => {
    expect(tx(card, '00D6810002CAFE').swHex).toBe('9000');
    expect(channelOf(card).ef).toBe(f.open);
    expect(tx(card, '00B0000002').data).toBe('CAFE');
  });

  it('no data → 6700; no current EF → 6986; record EF → 6981', () => {
    selectEf('0101');
    expect(tx(card, '00D60000').swHex).toBe('6700');
    tx(card, '00A4000C023F00');
    expect(tx(card, '00D6000001AA').swHex).toBe('6986');
    expect(tx(card, '00D6820001AA').swHex).toBe('6981');
  });

  it('odd INS D7: DO 54 offset then DO 53 data', () => {
    selectEf('0101');
    expect(tx(card, '00D70000 07 540104 5302ABCD').swHex).toBe('9000');
    expect(hex(f.open.data.subarray(3, 7))).toBe('03ABCD06');
    expect(tx(card, '00D70001 07 54010F 5302ABCD').swHex).toBe('6A84');
    expect(tx(card, '00D70001 03 540100').swHex).toBe('6A80'); // no data DO
    expect(tx(card, '00D70001 07 5302ABCD 540100').swHex).toBe('6A80'); // wrong order
  });

  it('writes more than 255 bytes with an extended APDU', () => {
    selectEf('0105');
    const data = new Uint8Array(600).fill(0x5a);
    expect(send(card, { ins: 0xd6, p1: 0x01, p2: 0x00, data }).swHex).toBe('9000');
    expect(hex(f.big.data.subarray(255, 257))).toBe('FF5A');
    expect(hex(f.big.data.subarray(855, 857))).toBe('5A58');
    expect(send(card, { ins: 0xd6, p1: 0x01, p2: 0x91, data }).swHex).toBe('6A84'); // 401 + 600 > 1000
  });
});

describe('ERASE BINARY 0E', () => {
  it('erases from the offset to the end', () => {
    selectEf('0101');
    expect(tx(card, '000E000C').swHex).toBe('9000');
    expect(hex(f.open.data)).toBe('000102030405060708090A0B00000000');
  });

  it('erases up to (not including) the end offset in the data field', () => {
    selectEf('0101');
    expect(tx(card, '000E0002020005').swHex).toBe('9000');
    expect(hex(f.open.data)).toBe('0001000000' + '05060708090A0B0C0D0E0F');
  });

  it('by SFI; offset one past the end → 6B00; end offset beyond the file or before the offset → 6A80', () => {
    expect(tx(card, '000E810E').swHex).toBe('9000');
    expect(hex(f.open.data.subarray(13))).toBe('0D0000');
    expect(tx(card, '000E8110').swHex).toBe('6B00');
    expect(tx(card, '000E8100020011').swHex).toBe('6A80');
    expect(tx(card, '000E8105020004').swHex).toBe('6A80');
    expect(tx(card, '000E81050100').swHex).toBe('6700'); // a one-byte end offset
  });
});

describe('access rules on binary commands (checked before the handler; nothing written)', () => {
  it('read ALWAYS / update NEVER / erase NEVER', () => {
    expect(tx(card, '00B0830008').data).toBe('0303030303030303');
    expect(tx(card, '00D6830001FF').swHex).toBe('6982');
    expect(tx(card, '00D6000001FF').swHex).toBe('6982'); // also via the current EF
    expect(tx(card, '00D70003 06 540100 5301FF').swHex).toBe('6982');
    expect(tx(card, '000E8300').swHex).toBe('6982');
    expect(hex(f.readOnly.data)).toBe('0303030303030303');
  });

  it('PIN(81): 6982 until VERIFY, then allowed; the failed write left no trace', () => {
    expect(tx(card, '00B0840001').swHex).toBe('6982');
    expect(tx(card, '00D6840001FF').swHex).toBe('6982');
    expect(tx(card, '000E8400').swHex).toBe('6982');
    expect(hex(f.pinned.data)).toBe('0404040404040404');
    expect(tx(card, '002000810431323334').swHex).toBe('9000');
    expect(tx(card, '00D6840001FF').swHex).toBe('9000');
    expect(tx(card, '00B0840002').data).toBe('FF04');
  });

  it('a refused READ BINARY by SFI does not make the EF current', () => {
    selectEf('0101');
    expect(tx(card, '00B0840001').swHex).toBe('6982');
    expect(channelOf(card).ef).toBe(f.open);
  });

  it('security status is per channel', () => {
    expect(tx(card, '002000810431323334').swHex).toBe('9000');
    expect(tx(card, '0070000001').data).toBe('01');
    expect(tx(card, '01B0840001').swHex).toBe('6982');
    expect(tx(card, '00B0840001').swHex).toBe('9000');
  });

  it('a deactivated EF refuses READ and UPDATE with 6985; a deactivated DF its EFs too', () => {
    f.open.lcs = LCS.DEACTIVATED;
    expect(tx(card, '00B0810001').swHex).toBe('6985');
    expect(tx(card, '00D6810001AA').swHex).toBe('6985');
    expect(f.open.data[0]).toBe(0x00);
    f.df.lcs = LCS.DEACTIVATED;
    tx(card, '00A4000C025000');
    expect(tx(card, '00B0810001').swHex).toBe('6985');
  });

  it('a terminated EF refuses everything with 6985', () => {
    f.open.lcs = LCS.TERMINATED;
    expect(tx(card, '00B0810001').swHex).toBe('6985');
    expect(tx(card, '000E8100').swHex).toBe('6985');
  });
});

// --- model-based property -----------------------------------------------------------------------

type Op =
  | { readonly kind: 'read'; readonly offset: number; readonly le: number; readonly sfi: boolean }
  | { readonly kind: 'update'; readonly offset: number; readonly data: Uint8Array; readonly sfi: boolean }
  | { readonly kind: 'erase'; readonly offset: number; readonly end: number | undefined };

const SIZE = 40;
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('read' as const),
    offset: fc.integer({ min: 0, max: SIZE + 3 }),
    le: fc.oneof(fc.integer({ min: 1, max: SIZE + 2 }), fc.constant(256)),
    sfi: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('update' as const),
    offset: fc.integer({ min: 0, max: SIZE + 3 }),
    data: fc.uint8Array({ minLength: 1, maxLength: 12 }),
    sfi: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('erase' as const),
    offset: fc.integer({ min: 0, max: SIZE + 1 }),
    end: fc.option(fc.integer({ min: 0, max: SIZE + 1 }), { nil: undefined }),
  }),
);

describe('binary commands against a model (property)', () => {
  it('random READ / UPDATE / ERASE sequences give the model’s data and status words', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: SIZE, maxLength: SIZE }), fc.array(opArb, { maxLength: 25 }), (init, ops) => {
        const c = poweredCard();
        const [ef] = addFiles(c, c.state.mf, newTransparentEf(0x0a01, SIZE, { sfi: 9, data: init }));
        const model = init.slice();
        tx(c, '00A4020C020A01');
        for (const op of ops) {
          const p1 = (sfiFlag: boolean, off: number): number => (sfiFlag ? 0x89 : off >>> 8);
          if (op.kind === 'read') {
            if (op.sfi && op.offset > 255) continue;
            const r = send(c, { ins: 0xb0, p1: p1(op.sfi, op.offset), p2: op.offset & 0xff, ne: op.le });
            if (op.offset >= SIZE) {
              expect(r.swHex).toBe('6B00');
              continue;
            }
            const want = model.subarray(op.offset, Math.min(SIZE, op.offset + op.le));
            expect(r.data).toBe(hex(want));
            const short = want.length < op.le && op.le !== 256;
            expect(r.swHex).toBe(short ? '6282' : '9000');
          } else if (op.kind === 'update') {
            const r = send(c, { ins: 0xd6, p1: p1(op.sfi, op.offset), p2: op.offset & 0xff, data: op.data });
            if (op.offset >= SIZE) expect(r.swHex).toBe('6B00');
            else if (op.offset + op.data.length > SIZE) expect(r.swHex).toBe('6A84');
            else {
              expect(r.swHex).toBe('9000');
              model.set(op.data, op.offset);
            }
          } else {
            const data = op.end === undefined ? undefined : new Uint8Array([op.end >>> 8, op.end & 0xff]);
            const r = send(c, { ins: 0x0e, p1: 0, p2: op.offset, data });
            const end = op.end ?? SIZE;
            if (op.offset >= SIZE) expect(r.swHex).toBe('6B00');
            else if (end > SIZE || end < op.offset) expect(r.swHex).toBe('6A80');
            else {
              expect(r.swHex).toBe('9000');
              model.fill(0, op.offset, end);
            }
          }
          expect(hex(ef!.data)).toBe(hex(model));
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('anti-tearing', () => {
  it('an UPDATE BINARY cut by power loss leaves the old contents after the next power-up', () => {
    selectEf('0101');
    card.faults.cutPowerAtWrite(1);
    expect(card.transmit(h('00D6000004AABBCCDD')).length).toBe(0); // mute
    expect(card.isPowered).toBe(false);
    card.powerOn();
    expect(hex(f.open.data)).toBe(hex(counting(16)));
    tx(card, '00A4020C020101');
    expect(tx(card, '00B0000004').data).toBe('00010203');
  });

  it('a chained UPDATE BINARY cut on its last part writes nothing', () => {
    selectEf('0101');
    expect(tx(card, '10D6000002AAAA').swHex).toBe('9000');
    card.faults.cutPowerAtWrite(1);
    expect(card.transmit(h('00D6000002BBBB')).length).toBe(0);
    card.powerOn();
    expect(hex(f.open.data)).toBe(hex(counting(16)));
  });
});
