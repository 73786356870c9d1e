/**
 * Record commands (ISO/IEC 7816-4 §11.3): READ RECORD(S), UPDATE RECORD, APPEND RECORD, SEARCH
 * RECORD. Files are built with the library API and addressed by SFI, so these tests do not depend
 * on SELECT.
 */
import { describe, it, expect, beforeEach } from 'vitest';
import fc from 'fast-check';
import { encodeCommandApdu } from '../src/apdu/command.js';
import { parseResponseApdu } from '../src/apdu/response.js';
import { bytesToHex, hexToBytes } from '../src/bytes/index.js';
import type { Card } from '../src/card/os.js';
import type { Channel } from '../src/card/channel.js';
import type { CommandContext } from '../src/card/context.js';
import { LCS, newRecordEf, newTransparentEf, type RecordEf, type TransparentEf } from '../src/card/fs/file.js';
import { attach } from '../src/card/fs/tree.js';
import { ALWAYS, pin } from '../src/card/security/access.js';
import { newPin } from '../src/card/security/objects.js';
import { appendRecord, updateRecord } from '../src/card/commands/records.js';
import { poweredCard } from './helpers/card.js';

// --- helpers ------------------------------------------------------------------------------------

const READ = 0xb2;
const UPDATE = 0xdc;
const APPEND = 0xe2;
const SEARCH = 0xa2;

/** P2 of a record command: SFI in b8–b4, mode in b3–b1. */
const p2 = (sfi: number, low: number): number => ((sfi << 3) | low) & 0xff;

interface Answer {
  readonly data: string;
  readonly sw: string;
}

interface Send {
  readonly data?: string;
  /** Ne; omitted = no Le. */
  readonly ne?: number;
  readonly extended?: boolean;
}

function send(card: Card, ins: number, p1: number, p2v: number, opts: Send = {}): Answer {
  const apdu = encodeCommandApdu({
    ins,
    p1,
    p2: p2v,
    data: opts.data === undefined ? undefined : hexToBytes(opts.data),
    ne: opts.ne,
    extended: opts.extended,
  });
  const out = card.transmit(apdu);
  if (out.length < 2) throw new Error('card mute');
  const r = parseResponseApdu(out);
  return { data: bytesToHex(r.data), sw: r.sw.toString(16).toUpperCase().padStart(4, '0') };
}

const read = (card: Card, p1: number, p2v: number, ne = 256): Answer => send(card, READ, p1, p2v, { ne });
const update = (card: Card, p1: number, p2v: number, data: string): Answer => send(card, UPDATE, p1, p2v, { data });
const append = (card: Card, sfi: number, data: string): Answer => send(card, APPEND, 0, p2(sfi, 0), { data });
const search = (card: Card, p1: number, p2v: number, data: string, ne = 256): Answer =>
  send(card, SEARCH, p1, p2v, { data, ne });

/** The basic channel's state, for the few assertions black-box commands cannot make. */
function channel0(card: Card): Channel {
  return card['channels'][0]!;
}
function context0(card: Card): CommandContext {
  return card['contexts'][0]!;
}

const hex = (records: readonly Uint8Array[]): string[] => records.map((r) => bytesToHex(r));
const recs = (...h: string[]): Uint8Array[] => h.map((x) => hexToBytes(x));

const SFI = { FIXED: 1, VARIABLE: 2, CYCLIC: 3, TRANSPARENT: 4, EMPTY: 5, PROTECTED: 6, FULL: 7 } as const;

interface Files {
  readonly card: Card;
  readonly fixed: RecordEf;
  readonly variable: RecordEf;
  readonly cyclic: RecordEf;
  readonly transparent: TransparentEf;
  readonly empty: RecordEf;
  readonly protectedEf: RecordEf;
  readonly full: RecordEf;
}

/**
 * A card with, under the MF:
 * - SFI 1 linear fixed, 4-byte records, 5 max: 01010101 02020202 03030303
 * - SFI 2 linear variable, ≤ 6 bytes, 5 max: A1 B2B2 C3C3C3 A1B2C3D4
 * - SFI 3 cyclic, 2-byte records, 3 max: 0303 (newest) 0202 0101 (oldest) — full
 * - SFI 4 transparent, 8 bytes
 * - SFI 5 linear fixed, empty
 * - SFI 6 linear fixed, read needs PIN 81, update/append NEVER: 11 22
 * - SFI 7 linear fixed, 2 records max, full: AAAA BBBB
 */
function setup(): Files {
  const card = poweredCard();
  const mf = card.state.mf;
  const fixed = newRecordEf(0x0101, 'linear-fixed', 4, 5, {
    sfi: SFI.FIXED,
    records: recs('01010101', '02020202', '03030303'),
  });
  const variable = newRecordEf(0x0102, 'linear-variable', 6, 5, {
    sfi: SFI.VARIABLE,
    records: recs('A1', 'B2B2', 'C3C3C3', 'A1B2C3D4'),
  });
  const cyclic = newRecordEf(0x0103, 'cyclic', 2, 3, { sfi: SFI.CYCLIC, records: recs('0303', '0202', '0101') });
  const transparent = newTransparentEf(0x0104, 8, { sfi: SFI.TRANSPARENT });
  const empty = newRecordEf(0x0105, 'linear-fixed', 4, 5, { sfi: SFI.EMPTY });
  const protectedEf = newRecordEf(0x0106, 'linear-fixed', 1, 5, {
    sfi: SFI.PROTECTED,
    rules: { read: pin(0x81) },
    records: recs('11', '22'),
  });
  const full = newRecordEf(0x0107, 'linear-fixed', 2, 2, { sfi: SFI.FULL, records: recs('AAAA', 'BBBB') });
  for (const f of [fixed, variable, cyclic, transparent, empty, protectedEf, full]) attach(card.nv, mf, f);
  card.nv.commit();
  return { card, fixed, variable, cyclic, transparent, empty, protectedEf, full };
}

/** Marks PIN 81 (owned by the MF) verified on the basic channel (VERIFY is another module). */
function verifyPin81(card: Card): void {
  const p = newPin({ ref: 0x81, value: hexToBytes('31323334') });
  card.nv.splice(card.state.mf.pins, 0, 0, p);
  card.nv.commit();
  channel0(card).pins.add(p);
}

/** The current record, read black-box: READ RECORD P1=00 on the current EF. */
const current = (card: Card): Answer => read(card, 0, p2(0, 0b100));

let f: Files;
let card: Card;
beforeEach(() => {
  f = setup();
  card = f.card;
});

// --- READ RECORD(S) -----------------------------------------------------------------------------

describe('READ RECORD: one record', () => {
  it('reads record P1 by SFI with Le 00', () => {
    expect(read(card, 2, p2(SFI.FIXED, 0b100))).toEqual({ data: '02020202', sw: '9000' });
    expect(read(card, 3, p2(SFI.VARIABLE, 0b100))).toEqual({ data: 'C3C3C3', sw: '9000' });
    expect(read(card, 1, p2(SFI.CYCLIC, 0b100))).toEqual({ data: '0303', sw: '9000' });
  });

  it('accepts an explicit Le equal to the record length', () => {
    expect(read(card, 1, p2(SFI.FIXED, 0b100), 4)).toEqual({ data: '01010101', sw: '9000' });
    expect(read(card, 2, p2(SFI.VARIABLE, 0b100), 2)).toEqual({ data: 'B2B2', sw: '9000' });
  });

  it('answers 6CXX with the exact length for a wrong short Le, and changes nothing', () => {
    read(card, 1, p2(SFI.FIXED, 0b100));
    expect(read(card, 2, p2(SFI.FIXED, 0b100), 2)).toEqual({ data: '', sw: '6C04' });
    expect(read(card, 2, p2(SFI.FIXED, 0b100), 9)).toEqual({ data: '', sw: '6C04' });
    expect(read(card, 3, p2(SFI.VARIABLE, 0b100), 6)).toEqual({ data: '', sw: '6C03' });
    // Neither the EF nor the pointer moved: still record 1 of SFI 1.
    expect(current(card)).toEqual({ data: '01010101', sw: '9000' });
  });

  it('returns the record for an extended Le 0000 and for an extended Le above its length', () => {
    expect(send(card, READ, 2, p2(SFI.FIXED, 0b100), { ne: 65536 })).toEqual({ data: '02020202', sw: '9000' });
    expect(send(card, READ, 2, p2(SFI.FIXED, 0b100), { ne: 300 })).toEqual({ data: '02020202', sw: '9000' });
  });

  it('leaves the record to GET RESPONSE when Le is absent (61XX from the OS)', () => {
    expect(send(card, READ, 2, p2(SFI.FIXED, 0b100))).toEqual({ data: '', sw: '6104' });
    expect(send(card, 0xc0, 0, 0, { ne: 4 })).toEqual({ data: '02020202', sw: '9000' });
  });

  it('makes the record read current, and the EF named by SFI the current EF', () => {
    expect(current(card).sw).toBe('6986'); // fresh channel: no current EF
    read(card, 2, p2(SFI.FIXED, 0b100));
    expect(channel0(card).ef).toBe(f.fixed);
    expect(channel0(card).record).toBe(2);
    expect(current(card)).toEqual({ data: '02020202', sw: '9000' });
    // P1 = 00 with SFI 00000: the current record of the current EF.
    expect(read(card, 0, p2(0, 0b100))).toEqual({ data: '02020202', sw: '9000' });
    // P1 ≠ 00 with SFI 00000: a record of the current EF.
    expect(read(card, 3, p2(0, 0b100))).toEqual({ data: '03030303', sw: '9000' });
  });

  it('resets the record pointer when an SFI makes another EF current', () => {
    read(card, 3, p2(SFI.FIXED, 0b100));
    expect(channel0(card).record).toBe(3);
    // Next in SFI 2: its pointer is undefined (SFI 1's record 3 does not carry over) → record 1.
    expect(read(card, 0, p2(SFI.VARIABLE, 0b010)).data).toBe('A1');
    expect(channel0(card).ef).toBe(f.variable);
    expect(current(card)).toEqual({ data: 'A1', sw: '9000' });
  });

  it('P1 = 00 without a current record is 6A83', () => {
    expect(read(card, 0, p2(SFI.FIXED, 0b100))).toEqual({ data: '', sw: '6A83' });
    expect(channel0(card).ef).toBeNull();
  });

  it('a missing record is 6A83 and a failed SFI read leaves the current EF alone', () => {
    read(card, 2, p2(SFI.FIXED, 0b100));
    expect(read(card, 4, p2(SFI.FIXED, 0b100)).sw).toBe('6A83');
    expect(read(card, 9, p2(SFI.VARIABLE, 0b100)).sw).toBe('6A83');
    expect(read(card, 0xfe, p2(SFI.CYCLIC, 0b100)).sw).toBe('6A83');
    expect(channel0(card).ef).toBe(f.fixed);
    expect(current(card)).toEqual({ data: '02020202', sw: '9000' });
  });
});

describe('READ RECORD: record pointer moves (P1 = 00, b3–b1 000–011)', () => {
  const FIRST = 0b000;
  const LAST = 0b001;
  const NEXT = 0b010;
  const PREV = 0b011;

  it('first and last', () => {
    expect(read(card, 0, p2(SFI.FIXED, FIRST))).toEqual({ data: '01010101', sw: '9000' });
    expect(channel0(card).record).toBe(1);
    expect(read(card, 0, p2(SFI.FIXED, LAST))).toEqual({ data: '03030303', sw: '9000' });
    expect(channel0(card).record).toBe(3);
    expect(read(card, 0, p2(SFI.CYCLIC, LAST))).toEqual({ data: '0101', sw: '9000' }); // the oldest
  });

  it('next and previous from an undefined pointer are the first and the last record', () => {
    expect(read(card, 0, p2(SFI.FIXED, NEXT))).toEqual({ data: '01010101', sw: '9000' });
    expect(read(card, 0, p2(SFI.VARIABLE, PREV))).toEqual({ data: 'A1B2C3D4', sw: '9000' });
    expect(channel0(card).record).toBe(4);
  });

  it('walks a linear EF forwards and backwards and stops at its ends with 6A83', () => {
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) seen.push(read(card, 0, p2(SFI.FIXED, NEXT)).data);
    expect(seen).toEqual(['01010101', '02020202', '03030303']);
    expect(read(card, 0, p2(0, NEXT))).toEqual({ data: '', sw: '6A83' });
    expect(channel0(card).record).toBe(3); // unchanged by the failure
    expect(read(card, 0, p2(0, PREV)).data).toBe('02020202');
    expect(read(card, 0, p2(0, PREV)).data).toBe('01010101');
    expect(read(card, 0, p2(0, PREV))).toEqual({ data: '', sw: '6A83' });
    expect(channel0(card).record).toBe(1);
  });

  it('wraps around in a cyclic EF', () => {
    expect(read(card, 0, p2(SFI.CYCLIC, LAST)).data).toBe('0101');
    expect(read(card, 0, p2(0, NEXT))).toEqual({ data: '0303', sw: '9000' });
    expect(channel0(card).record).toBe(1);
    expect(read(card, 0, p2(0, PREV))).toEqual({ data: '0101', sw: '9000' });
    expect(channel0(card).record).toBe(3);
  });

  it('next after an absolute read continues from that record', () => {
    read(card, 2, p2(SFI.FIXED, 0b100));
    expect(read(card, 0, p2(0, NEXT)).data).toBe('03030303');
  });

  it('refuses record identifiers (P1 ≠ 00 with b3 = 0) with 6A81', () => {
    for (const low of [FIRST, LAST, NEXT, PREV]) {
      expect(read(card, 1, p2(SFI.FIXED, low))).toEqual({ data: '', sw: '6A81' });
    }
  });
});

describe('READ RECORDS: several records (b3–b1 101, 110)', () => {
  it('101 reads from P1 up to the last record, 110 from the last down to P1', () => {
    expect(read(card, 2, p2(SFI.FIXED, 0b101))).toEqual({ data: '0202020203030303', sw: '9000' });
    expect(read(card, 2, p2(SFI.FIXED, 0b110))).toEqual({ data: '0303030302020202', sw: '9000' });
    expect(read(card, 1, p2(SFI.VARIABLE, 0b101))).toEqual({ data: 'A1B2B2C3C3C3A1B2C3D4', sw: '9000' });
    expect(read(card, 1, p2(SFI.CYCLIC, 0b110))).toEqual({ data: '010102020303', sw: '9000' });
    expect(read(card, 3, p2(SFI.FIXED, 0b101))).toEqual({ data: '03030303', sw: '9000' });
  });

  it('returns only complete records that fit in Ne', () => {
    expect(read(card, 1, p2(SFI.FIXED, 0b101), 11)).toEqual({ data: '0101010102020202', sw: '9000' });
    expect(read(card, 1, p2(SFI.FIXED, 0b101), 4)).toEqual({ data: '01010101', sw: '9000' });
    // A1 | B2B2 | C3C3C3 → 6 bytes fit in Ne 7; A1B2C3D4 does not.
    expect(read(card, 1, p2(SFI.VARIABLE, 0b101), 7)).toEqual({ data: 'A1B2B2C3C3C3', sw: '9000' });
    expect(read(card, 1, p2(SFI.VARIABLE, 0b110), 5)).toEqual({ data: 'A1B2C3D4', sw: '9000' });
  });

  it('answers 6CXX with the first record length when not even that record fits', () => {
    expect(read(card, 1, p2(SFI.FIXED, 0b101), 3)).toEqual({ data: '', sw: '6C04' });
    expect(read(card, 1, p2(SFI.VARIABLE, 0b110), 3)).toEqual({ data: '', sw: '6C04' });
  });

  it('with Le absent hands all of them to GET RESPONSE', () => {
    expect(send(card, READ, 1, p2(SFI.FIXED, 0b101))).toEqual({ data: '', sw: '610C' });
    expect(send(card, 0xc0, 0, 0, { ne: 256 }).data).toBe('010101010202020203030303');
  });

  it('P1 = 00 starts at the current record; without one it is 6A83', () => {
    expect(read(card, 0, p2(SFI.FIXED, 0b101)).sw).toBe('6A83');
    read(card, 2, p2(SFI.FIXED, 0b100));
    expect(read(card, 0, p2(0, 0b101))).toEqual({ data: '0202020203030303', sw: '9000' });
    expect(read(card, 0, p2(0, 0b110))).toEqual({ data: '0303030302020202', sw: '9000' });
  });

  it('leaves the record pointer where it was but makes the EF current', () => {
    read(card, 2, p2(SFI.FIXED, 0b100));
    read(card, 1, p2(SFI.FIXED, 0b101));
    expect(channel0(card).record).toBe(2);
    read(card, 1, p2(SFI.VARIABLE, 0b101));
    expect(channel0(card).ef).toBe(f.variable);
    expect(channel0(card).record).toBe(0);
  });

  it('P1 beyond the last record is 6A83', () => {
    expect(read(card, 4, p2(SFI.FIXED, 0b101)).sw).toBe('6A83');
    expect(read(card, 4, p2(SFI.FIXED, 0b110)).sw).toBe('6A83');
  });
});

describe('READ RECORD: errors', () => {
  it('P2 b3–b1 111, SFI 11111 and P1 FF are 6A86', () => {
    expect(read(card, 1, p2(SFI.FIXED, 0b111)).sw).toBe('6A86');
    expect(read(card, 1, p2(31, 0b100)).sw).toBe('6A86');
    expect(read(card, 0xff, p2(SFI.FIXED, 0b100)).sw).toBe('6A86');
  });

  it('an unknown SFI is 6A82, a transparent EF 6981, no current EF 6986', () => {
    expect(read(card, 1, p2(9, 0b100)).sw).toBe('6A82');
    expect(read(card, 1, p2(SFI.TRANSPARENT, 0b100)).sw).toBe('6981');
    expect(read(card, 1, p2(0, 0b100)).sw).toBe('6986');
    context0(card).setCurrentEf(f.transparent);
    expect(read(card, 1, p2(0, 0b100)).sw).toBe('6981');
  });

  it('every addressing mode of an empty record EF is 6A83', () => {
    for (const [p1, low] of [
      [1, 0b100],
      [0, 0b100],
      [0, 0b000],
      [0, 0b001],
      [0, 0b010],
      [0, 0b011],
      [1, 0b101],
      [1, 0b110],
    ] as const) {
      expect(read(card, p1, p2(SFI.EMPTY, low)).sw).toBe('6A83');
    }
  });

  it('checks P1-P2 before the file and the file before the access rule', () => {
    expect(read(card, 1, p2(SFI.TRANSPARENT, 0b111)).sw).toBe('6A86');
    expect(read(card, 1, p2(9, 0b111)).sw).toBe('6A86');
    // The access rule comes before anything the records would reveal (here: record 9 missing).
    expect(read(card, 9, p2(SFI.PROTECTED, 0b100)).sw).toBe('6982');
  });

  it('enforces the read rule (6982) and passes once PIN 81 is verified', () => {
    expect(read(card, 1, p2(SFI.PROTECTED, 0b100)).sw).toBe('6982');
    expect(channel0(card).ef).toBeNull();
    verifyPin81(card);
    expect(read(card, 1, p2(SFI.PROTECTED, 0b100))).toEqual({ data: '11', sw: '9000' });
    expect(read(card, 9, p2(SFI.PROTECTED, 0b100)).sw).toBe('6A83');
  });

  it('a deactivated EF is 6985 (life cycle, checked by the OS)', () => {
    card.nv.set(f.fixed, 'lcs', LCS.DEACTIVATED);
    card.nv.commit();
    expect(read(card, 1, p2(SFI.FIXED, 0b100)).sw).toBe('6985');
  });
});

// --- UPDATE RECORD ------------------------------------------------------------------------------

describe('UPDATE RECORD', () => {
  it('replaces record P1 of a linear fixed EF and makes it current', () => {
    expect(update(card, 2, p2(SFI.FIXED, 0b100), 'CAFEBABE')).toEqual({ data: '', sw: '9000' });
    expect(hex(f.fixed.records)).toEqual(['01010101', 'CAFEBABE', '03030303']);
    expect(channel0(card).ef).toBe(f.fixed);
    expect(current(card)).toEqual({ data: 'CAFEBABE', sw: '9000' });
  });

  it('needs exactly the record size in linear fixed and cyclic EFs (6700)', () => {
    expect(update(card, 1, p2(SFI.FIXED, 0b100), '010203').sw).toBe('6700');
    expect(update(card, 1, p2(SFI.FIXED, 0b100), '0102030405').sw).toBe('6700');
    expect(send(card, UPDATE, 1, p2(SFI.FIXED, 0b100)).sw).toBe('6700');
    expect(update(card, 1, p2(SFI.CYCLIC, 0b100), '01').sw).toBe('6700');
    expect(hex(f.fixed.records)).toEqual(['01010101', '02020202', '03030303']);
  });

  it('lets a linear variable record change length within 1..max', () => {
    expect(update(card, 1, p2(SFI.VARIABLE, 0b100), '0102030405').sw).toBe('9000');
    expect(update(card, 4, p2(SFI.VARIABLE, 0b100), 'FF').sw).toBe('9000');
    expect(update(card, 2, p2(SFI.VARIABLE, 0b100), '01020304050607').sw).toBe('6700');
    expect(send(card, UPDATE, 2, p2(SFI.VARIABLE, 0b100)).sw).toBe('6700');
    expect(hex(f.variable.records)).toEqual(['0102030405', 'B2B2', 'C3C3C3', 'FF']);
    expect(read(card, 1, p2(SFI.VARIABLE, 0b100))).toEqual({ data: '0102030405', sw: '9000' });
  });

  it('updates a cyclic record in place without reordering', () => {
    expect(update(card, 3, p2(SFI.CYCLIC, 0b100), 'EEEE').sw).toBe('9000');
    expect(hex(f.cyclic.records)).toEqual(['0303', '0202', 'EEEE']);
  });

  it('P1 = 00 updates the current record; without one it is 6A83', () => {
    expect(update(card, 0, p2(SFI.FIXED, 0b100), 'AAAAAAAA').sw).toBe('6A83');
    read(card, 3, p2(SFI.FIXED, 0b100));
    expect(update(card, 0, p2(0, 0b100), 'AAAAAAAA').sw).toBe('9000');
    expect(hex(f.fixed.records)).toEqual(['01010101', '02020202', 'AAAAAAAA']);
  });

  it('first / last / next / previous move the pointer like READ RECORD', () => {
    expect(update(card, 0, p2(SFI.FIXED, 0b000), '11111111').sw).toBe('9000');
    expect(update(card, 0, p2(0, 0b010), '22222222').sw).toBe('9000');
    expect(update(card, 0, p2(0, 0b001), '33333333').sw).toBe('9000');
    expect(update(card, 0, p2(0, 0b010), '44444444').sw).toBe('6A83');
    expect(update(card, 0, p2(0, 0b011), '55555555').sw).toBe('9000');
    expect(hex(f.fixed.records)).toEqual(['11111111', '55555555', '33333333']);
    expect(channel0(card).record).toBe(2);
    // Cyclic: previous before record 1 wraps to the oldest.
    expect(update(card, 0, p2(SFI.CYCLIC, 0b000), '0A0A').sw).toBe('9000');
    expect(update(card, 0, p2(0, 0b011), '0B0B').sw).toBe('9000');
    expect(hex(f.cyclic.records)).toEqual(['0A0A', '0202', '0B0B']);
  });

  it('P1-P2 errors: 101–111 and SFI 11111 are 6A86, record identifiers 6A81', () => {
    for (const low of [0b101, 0b110, 0b111]) expect(update(card, 1, p2(SFI.FIXED, low), '01010101').sw).toBe('6A86');
    expect(update(card, 1, p2(31, 0b100), '01010101').sw).toBe('6A86');
    expect(update(card, 0xff, p2(SFI.FIXED, 0b100), '01010101').sw).toBe('6A86');
    expect(update(card, 1, p2(SFI.FIXED, 0b010), '01010101').sw).toBe('6A81');
  });

  it('a missing record is 6A83; file errors are 6A82 / 6981 / 6986', () => {
    expect(update(card, 4, p2(SFI.FIXED, 0b100), '04040404').sw).toBe('6A83');
    expect(update(card, 1, p2(SFI.EMPTY, 0b100), '04040404').sw).toBe('6A83');
    expect(update(card, 1, p2(9, 0b100), '04040404').sw).toBe('6A82');
    expect(update(card, 1, p2(SFI.TRANSPARENT, 0b100), '04040404').sw).toBe('6981');
    expect(update(card, 1, p2(0, 0b100), '04040404').sw).toBe('6986');
  });

  it('checks P1-P2, then the file structure, then Nc, then access, then the record', () => {
    expect(update(card, 1, p2(SFI.TRANSPARENT, 0b111), '01').sw).toBe('6A86');
    expect(update(card, 1, p2(SFI.TRANSPARENT, 0b100), '01').sw).toBe('6981');
    expect(update(card, 9, p2(SFI.FIXED, 0b100), '01').sw).toBe('6700');
    expect(update(card, 9, p2(SFI.PROTECTED, 0b100), '01').sw).toBe('6982');
  });

  it('uses the update rule: NEVER stays 6982 even with the read PIN verified', () => {
    verifyPin81(card);
    expect(update(card, 1, p2(SFI.PROTECTED, 0b100), '99').sw).toBe('6982');
    expect(hex(f.protectedEf.records)).toEqual(['11', '22']);
  });

  it('is allowed by an explicit update rule', () => {
    const open = newRecordEf(0x0108, 'linear-fixed', 1, 2, {
      sfi: 8,
      rules: { update: ALWAYS },
      records: recs('00'),
    });
    attach(card.nv, card.state.mf, open);
    card.nv.commit();
    expect(update(card, 1, p2(8, 0b100), '7F').sw).toBe('9000');
    expect(read(card, 1, p2(8, 0b100)).sw).toBe('6982'); // read not granted
  });
});

// --- APPEND RECORD ------------------------------------------------------------------------------

describe('APPEND RECORD', () => {
  it('adds the last record of a linear fixed EF and makes it current', () => {
    expect(append(card, SFI.FIXED, '04040404')).toEqual({ data: '', sw: '9000' });
    expect(hex(f.fixed.records)).toEqual(['01010101', '02020202', '03030303', '04040404']);
    expect(channel0(card).record).toBe(4);
    expect(current(card).data).toBe('04040404');
  });

  it('fills a linear EF up to its maximum, then answers 6A84', () => {
    expect(append(card, SFI.FIXED, '04040404').sw).toBe('9000');
    expect(append(card, SFI.FIXED, '05050505').sw).toBe('9000');
    expect(append(card, SFI.FIXED, '06060606').sw).toBe('6A84');
    expect(f.fixed.records.length).toBe(5);
    expect(append(card, SFI.FULL, 'CCCC').sw).toBe('6A84');
  });

  it('appends to an empty EF as record 1', () => {
    expect(append(card, SFI.EMPTY, 'DEADBEEF').sw).toBe('9000');
    expect(read(card, 1, p2(SFI.EMPTY, 0b100)).data).toBe('DEADBEEF');
  });

  it('takes 1..max bytes in a linear variable EF', () => {
    expect(append(card, SFI.VARIABLE, '01').sw).toBe('9000');
    expect(append(card, SFI.VARIABLE, '01020304050607').sw).toBe('6700');
    expect(send(card, APPEND, 0, p2(SFI.VARIABLE, 0)).sw).toBe('6700');
    expect(hex(f.variable.records)).toEqual(['A1', 'B2B2', 'C3C3C3', 'A1B2C3D4', '01']);
  });

  it('in a cyclic EF makes the new record record 1 and drops the oldest when full', () => {
    expect(append(card, SFI.CYCLIC, '0404').sw).toBe('9000');
    expect(hex(f.cyclic.records)).toEqual(['0404', '0303', '0202']);
    expect(channel0(card).record).toBe(1);
    expect(read(card, 0, p2(0, 0b010)).data).toBe('0303'); // next after record 1
    const c = newRecordEf(0x0109, 'cyclic', 1, 3, { sfi: 9 });
    attach(card.nv, card.state.mf, c);
    card.nv.commit();
    for (const b of ['01', '02', '03', '04', '05']) expect(append(card, 9, b).sw).toBe('9000');
    expect(hex(c.records)).toEqual(['05', '04', '03']);
  });

  it('needs the exact record size in fixed and cyclic EFs (6700)', () => {
    expect(append(card, SFI.FIXED, '0404').sw).toBe('6700');
    expect(append(card, SFI.CYCLIC, '040404').sw).toBe('6700');
  });

  it('P1 ≠ 00 and P2 b3–b1 ≠ 000 are 6A86', () => {
    expect(send(card, APPEND, 1, p2(SFI.FIXED, 0), { data: '04040404' }).sw).toBe('6A86');
    for (let low = 1; low < 8; low++) {
      expect(send(card, APPEND, 0, p2(SFI.FIXED, low), { data: '04040404' }).sw).toBe('6A86');
    }
    expect(send(card, APPEND, 0, p2(31, 0), { data: '04040404' }).sw).toBe('6A86');
    expect(f.fixed.records.length).toBe(3);
  });

  it('file errors: 6A82, 6981, 6986; access: 6982 with the append rule', () => {
    expect(append(card, 9, '04040404').sw).toBe('6A82');
    expect(append(card, SFI.TRANSPARENT, '04040404').sw).toBe('6981');
    expect(append(card, 0, '04040404').sw).toBe('6986');
    expect(append(card, SFI.PROTECTED, '33').sw).toBe('6982');
  });

  it('appends to the current EF with SFI 00000', () => {
    read(card, 1, p2(SFI.FIXED, 0b100));
    expect(append(card, 0, '0A0A0A0A').sw).toBe('9000');
    expect(f.fixed.records.length).toBe(4);
  });
});

// --- SEARCH RECORD ------------------------------------------------------------------------------

describe('SEARCH RECORD (simple search)', () => {
  it('forward from P1: the numbers of the records containing the string, in order', () => {
    // A1 | B2B2 | C3C3C3 | A1B2C3D4
    expect(search(card, 1, p2(SFI.VARIABLE, 0b100), 'A1')).toEqual({ data: '0104', sw: '9000' });
    expect(search(card, 1, p2(SFI.VARIABLE, 0b100), 'B2')).toEqual({ data: '0204', sw: '9000' });
    expect(search(card, 1, p2(SFI.VARIABLE, 0b100), 'C3D4')).toEqual({ data: '04', sw: '9000' });
    expect(search(card, 2, p2(SFI.VARIABLE, 0b100), 'A1')).toEqual({ data: '04', sw: '9000' });
  });

  it('backward from P1 lists matches from P1 down to record 1', () => {
    expect(search(card, 4, p2(SFI.VARIABLE, 0b101), 'A1')).toEqual({ data: '0401', sw: '9000' });
    expect(search(card, 3, p2(SFI.VARIABLE, 0b101), 'B2')).toEqual({ data: '02', sw: '9000' });
    expect(search(card, 3, p2(SFI.CYCLIC, 0b101), '03')).toEqual({ data: '01', sw: '9000' });
  });

  it('no match completes with 9000 and no data, leaving the record pointer alone', () => {
    read(card, 3, p2(SFI.VARIABLE, 0b100));
    expect(search(card, 1, p2(SFI.VARIABLE, 0b100), 'EE')).toEqual({ data: '', sw: '9000' });
    expect(channel0(card).record).toBe(3);
    // A search string longer than any record simply does not match.
    expect(search(card, 1, p2(SFI.VARIABLE, 0b100), 'A1B2C3D4E5F6A7')).toEqual({ data: '', sw: '9000' });
  });

  it('sets the record pointer on the first match and makes the EF current', () => {
    expect(search(card, 4, p2(SFI.VARIABLE, 0b101), 'A1').data).toBe('0401');
    expect(channel0(card).ef).toBe(f.variable);
    expect(channel0(card).record).toBe(4);
    expect(search(card, 1, p2(SFI.FIXED, 0b100), '00')).toEqual({ data: '', sw: '9000' });
    expect(channel0(card).ef).toBe(f.fixed); // the command completed
    expect(channel0(card).record).toBe(0);
  });

  it('P1 = 00 starts at the current record; without one, or past the last, 6A83', () => {
    expect(search(card, 0, p2(SFI.VARIABLE, 0b100), 'A1').sw).toBe('6A83');
    expect(search(card, 5, p2(SFI.VARIABLE, 0b100), 'A1').sw).toBe('6A83');
    expect(search(card, 1, p2(SFI.EMPTY, 0b100), '01').sw).toBe('6A83');
    read(card, 2, p2(SFI.VARIABLE, 0b100));
    expect(search(card, 0, p2(0, 0b100), 'A1').data).toBe('04'); // from record 2; pointer → 4
    expect(search(card, 0, p2(0, 0b101), 'A1').data).toBe('0401'); // from record 4 down
    read(card, 3, p2(0, 0b100));
    expect(search(card, 0, p2(0, 0b101), 'A1').data).toBe('01');
  });

  it('an empty search string is 6700', () => {
    expect(send(card, SEARCH, 1, p2(SFI.VARIABLE, 0b100), { ne: 256 }).sw).toBe('6700');
  });

  it('enhanced / proprietary search are 6A81; other modes, SFI 11111, P1 FF are 6A86', () => {
    expect(search(card, 1, p2(SFI.VARIABLE, 0b110), '0400A1').sw).toBe('6A81');
    expect(search(card, 1, p2(SFI.VARIABLE, 0b111), 'A1').sw).toBe('6A81');
    for (const low of [0b000, 0b001, 0b010, 0b011]) {
      expect(search(card, 1, p2(SFI.VARIABLE, low), 'A1').sw).toBe('6A86');
    }
    expect(search(card, 1, p2(31, 0b100), 'A1').sw).toBe('6A86');
    expect(search(card, 0xff, p2(SFI.VARIABLE, 0b100), 'A1').sw).toBe('6A86');
  });

  it('file errors and the read rule', () => {
    expect(search(card, 1, p2(9, 0b100), 'A1').sw).toBe('6A82');
    expect(search(card, 1, p2(SFI.TRANSPARENT, 0b100), 'A1').sw).toBe('6981');
    expect(search(card, 1, p2(0, 0b100), 'A1').sw).toBe('6986');
    expect(search(card, 1, p2(SFI.PROTECTED, 0b100), '22').sw).toBe('6982');
    verifyPin81(card);
    expect(search(card, 1, p2(SFI.PROTECTED, 0b100), '22')).toEqual({ data: '02', sw: '9000' });
  });

  it('hands a long result beyond Ne to GET RESPONSE', () => {
    expect(search(card, 1, p2(SFI.VARIABLE, 0b100), 'A1', 1)).toEqual({ data: '01', sw: '6101' });
    expect(send(card, 0xc0, 0, 0, { ne: 1 })).toEqual({ data: '04', sw: '9000' });
  });
});

// --- atomicity ----------------------------------------------------------------------------------

describe('atomicity', () => {
  /** Everything a record command could change, for before/after comparison. */
  function snapshot(): unknown {
    const ch = channel0(card);
    return {
      files: [f.fixed, f.variable, f.cyclic, f.empty, f.full].map((e) => hex(e.records)),
      ef: ch.ef?.fid ?? null,
      record: ch.record,
    };
  }

  it('a failing command changes neither the records nor the channel', () => {
    read(card, 2, p2(SFI.FIXED, 0b100));
    const before = snapshot();
    const gen = card.nv.generation;
    const failing: [number, number, number, string | undefined, string][] = [
      [APPEND, 0, p2(SFI.FULL, 0), 'CCCC', '6A84'],
      [UPDATE, 9, p2(SFI.VARIABLE, 0b100), '01', '6A83'],
      [UPDATE, 1, p2(SFI.CYCLIC, 0b100), '010203', '6700'],
      [READ, 9, p2(SFI.CYCLIC, 0b100), undefined, '6A83'],
      [SEARCH, 0, p2(SFI.CYCLIC, 0b100), '01', '6A83'],
      [APPEND, 0, p2(SFI.PROTECTED, 0), '01', '6982'],
    ];
    for (const [ins, p1, p2v, data, sw] of failing) {
      expect(send(card, ins, p1, p2v, { data, ne: ins === READ || ins === SEARCH ? 256 : undefined }).sw).toBe(sw);
      expect(snapshot()).toEqual(before);
    }
    expect(card.nv.generation).toBe(gen);
    expect(card.nv.dirty).toBe(false);
  });

  /** Cuts power at the `n`-th NV write of `apdu` and checks the card recovers the old records. */
  function tornAt(n: number, ins: number, p1: number, p2v: number, data: string): void {
    const before = snapshot();
    card.faults.cutPowerAtWrite(n);
    const out = card.transmit(encodeCommandApdu({ ins, p1, p2: p2v, data: hexToBytes(data) }));
    expect(out.length).toBe(0); // mute: power was lost
    expect(card.events.at(-1)?.type).toBe('power-loss');
    card.powerOn();
    const after = snapshot() as { files: unknown };
    expect(after.files).toEqual((before as { files: unknown }).files);
  }

  it('a torn UPDATE RECORD (in-place write) leaves the old record', () => {
    tornAt(1, UPDATE, 2, p2(SFI.FIXED, 0b100), 'FFFFFFFF');
    expect(read(card, 2, p2(SFI.FIXED, 0b100)).data).toBe('02020202');
  });

  it('a torn linear variable UPDATE RECORD of another length leaves the old record', () => {
    tornAt(1, UPDATE, 2, p2(SFI.VARIABLE, 0b100), '010203040506');
  });

  it('a cyclic APPEND torn between dropping the oldest and inserting the new record rolls back', () => {
    tornAt(2, APPEND, 0, p2(SFI.CYCLIC, 0), '0909');
    expect(read(card, 1, p2(SFI.CYCLIC, 0b101)).data).toBe('030302020101');
  });

  it('a torn linear APPEND leaves the EF as it was', () => {
    tornAt(1, APPEND, 0, p2(SFI.FIXED, 0), '04040404');
    expect(f.fixed.records.length).toBe(3);
  });

  it('the write helpers refuse bad input without writing', () => {
    const w = card.nv.writes;
    expect(() => updateRecord(card.nv, f.fixed, 9, hexToBytes('01020304'))).toThrowError(/6A83/);
    expect(() => updateRecord(card.nv, f.fixed, 1, hexToBytes('01'))).toThrowError(/6700/);
    expect(() => appendRecord(card.nv, f.full, hexToBytes('0102'))).toThrowError(/6A84/);
    expect(card.nv.writes).toBe(w);
  });
});

// --- model-based property -----------------------------------------------------------------------

/**
 * A deliberately naive model of two record EFs (linear fixed, max 4, and cyclic, max 3; 2-byte
 * records), the current EF and the record pointer. Random sequences of APPEND, UPDATE and READ,
 * by number and by pointer move, must give the same status words, data and contents.
 */
describe('model', () => {
  type Move = 'number' | 'current' | 'first' | 'last' | 'next' | 'previous';
  type Op =
    | { readonly t: 'append'; readonly file: 0 | 1; readonly v: number }
    | {
        readonly t: 'update' | 'read';
        readonly file: 0 | 1;
        readonly move: Move;
        readonly n: number;
        readonly v: number;
      };

  const LOW: Record<Exclude<Move, 'number' | 'current'>, number> = { first: 0, last: 1, next: 2, previous: 3 };

  const arbOp: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ t: fc.constant('append' as const), file: fc.constantFrom(0 as const, 1 as const), v: fc.nat(255) }),
    fc.record({
      t: fc.constantFrom('update' as const, 'read' as const),
      file: fc.constantFrom(0 as const, 1 as const),
      move: fc.constantFrom<Move>('number', 'current', 'first', 'last', 'next', 'previous'),
      n: fc.integer({ min: 1, max: 5 }),
      v: fc.nat(255),
    }),
  );

  const recordOf = (v: number): string => bytesToHex(new Uint8Array([v, v ^ 0xff]));

  it('APPEND / UPDATE / READ on a linear and a cyclic EF match the model', () => {
    fc.assert(
      fc.property(fc.array(arbOp, { maxLength: 40 }), (ops) => {
        const c = poweredCard();
        const efs = [
          newRecordEf(0x0201, 'linear-fixed', 2, 4, { sfi: 1 }),
          newRecordEf(0x0202, 'cyclic', 2, 3, { sfi: 2 }),
        ] as const;
        for (const e of efs) attach(c.nv, c.state.mf, e);
        c.nv.commit();

        const model = { files: [[], []] as string[][], cur: -1, ptr: 0 };
        const max = [4, 3];
        const cyclic = [false, true];

        const resolve = (file: number, move: Move, n: number): number => {
          const len = model.files[file]!.length;
          const cp = model.cur === file ? model.ptr : 0;
          let r: number;
          if (move === 'number') r = n;
          else if (move === 'current') r = cp;
          else if (move === 'first') r = 1;
          else if (move === 'last') r = len;
          else if (move === 'next') r = cp === 0 ? 1 : cp < len ? cp + 1 : cyclic[file] ? 1 : 0;
          else r = cp === 0 ? len : cp > 1 ? cp - 1 : cyclic[file] ? len : 0;
          return r >= 1 && r <= len ? r : 0;
        };

        for (const op of ops) {
          const sfi = op.file + 1;
          const recs = model.files[op.file]!;
          let want: Answer;
          if (op.t === 'append') {
            const got = send(c, APPEND, 0, p2(sfi, 0), { data: recordOf(op.v) });
            if (!cyclic[op.file] && recs.length >= max[op.file]!) {
              want = { data: '', sw: '6A84' };
            } else {
              let n: number;
              if (cyclic[op.file]) {
                recs.unshift(recordOf(op.v));
                if (recs.length > max[op.file]!) recs.pop();
                n = 1;
              } else {
                recs.push(recordOf(op.v));
                n = recs.length;
              }
              model.cur = op.file;
              model.ptr = n;
              want = { data: '', sw: '9000' };
            }
            expect(got).toEqual(want);
          } else {
            const p1 = op.move === 'number' ? op.n : 0;
            const low = op.move === 'number' || op.move === 'current' ? 0b100 : LOW[op.move];
            const got =
              op.t === 'read'
                ? send(c, READ, p1, p2(sfi, low), { ne: 256 })
                : send(c, UPDATE, p1, p2(sfi, low), { data: recordOf(op.v) });
            const n = resolve(op.file, op.move, op.n);
            if (n === 0) {
              want = { data: '', sw: '6A83' };
            } else {
              if (op.t === 'update') recs[n - 1] = recordOf(op.v);
              want = { data: op.t === 'read' ? recs[n - 1]! : '', sw: '9000' };
              model.cur = op.file;
              model.ptr = n;
            }
            expect(got).toEqual(want);
          }
          expect(efs.map((e) => hex(e.records))).toEqual(model.files);
          const ch = c['channels'][0]!;
          expect(ch.ef === null ? -1 : efs.indexOf(ch.ef as RecordEf)).toBe(model.cur);
          expect(ch.record).toBe(model.cur === -1 ? 0 : model.ptr);
        }
      }),
      { numRuns: 300 },
    );
  });
});
