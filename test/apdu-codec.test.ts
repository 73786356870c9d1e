/**
 * Command APDU codec (ISO/IEC 7816-3 §12.1, ISO/IEC 7816-4 §5.1 Lc/Le, §5.4.1 CLA) and the
 * status-word catalogue: the seven cases byte for byte, round trips over random APDUs in both
 * directions, malformed lengths (6700) and invalid classes (6E00), also as the card answers them.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  APDU_CASES,
  decodeCla,
  encodeCla,
  encodeCommandApdu,
  parseCommandApdu,
  type ApduCase,
  type CommandApdu,
  type CommandSpec,
  type SmIndication,
} from '../src/apdu/command.js';
import { SW, StatusWordError, counterSw, describeSw, formatSw, isSuccessSw } from '../src/apdu/status.js';
import { encodeResponseApdu, parseResponseApdu } from '../src/apdu/response.js';
import { ByteInputError, bytesToHex, concatBytes, hexToBytes } from '../src/bytes/index.js';
import { poweredCard, tx } from './helpers/card.js';

const h = (s: string): Uint8Array => hexToBytes(s);
const hex = (b: Uint8Array): string => bytesToHex(b);

/** The status word `f` throws (failing when it throws anything else or nothing). */
function swOf(f: () => unknown): number {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(StatusWordError);
    return (e as StatusWordError).sw;
  }
  throw new Error('expected a StatusWordError, nothing was thrown');
}

function respec(c: CommandApdu): CommandSpec {
  return { cla: c.cla.raw, ins: c.ins, p1: c.p1, p2: c.p2, data: c.data, ne: c.ne, extended: c.extended };
}

// ISO/IEC 7816-3 §12.1.3 decoding, one example per case; 'nc' and 'ne' are what the card sees.
const CASES: readonly { c: ApduCase; apdu: string; nc: number; ne: number }[] = [
  { c: '1', apdu: '00A40000', nc: 0, ne: 0 },
  { c: '2S', apdu: '00B0000010', nc: 0, ne: 16 },
  { c: '2S', apdu: '00B0000000', nc: 0, ne: 256 },
  { c: '3S', apdu: '00A4000C023F00', nc: 2, ne: 0 },
  { c: '4S', apdu: '00A40000023F0001', nc: 2, ne: 1 },
  { c: '4S', apdu: '00A40000023F0000', nc: 2, ne: 256 },
  { c: '2E', apdu: '00B00000000001', nc: 0, ne: 1 },
  { c: '2E', apdu: '00B00000000100', nc: 0, ne: 256 },
  { c: '2E', apdu: '00B0000000FFFF', nc: 0, ne: 65535 },
  { c: '2E', apdu: '00B00000000000', nc: 0, ne: 65536 },
  { c: '3E', apdu: '00D600000000040102030A', nc: 4, ne: 0 },
  { c: '3E', apdu: '00D6000000000101', nc: 1, ne: 0 },
  { c: '4E', apdu: '00D600000000020102' + '0000', nc: 2, ne: 65536 },
  { c: '4E', apdu: '00D600000000020102' + '0102', nc: 2, ne: 258 },
  { c: '4E', apdu: '00D600000000020102' + '0001', nc: 2, ne: 1 },
];

describe('hexToBytes errors name the position, never the characters', () => {
  it('a PIN inside an APDU or a key with a stray character is not echoed', () => {
    expect(() => hexToBytes('0020000108 3132333435363G', 'APDU')).toThrow('APDU: not hex at byte 12 of 12 (the value is not shown)');
    expect(() => hexToBytes('0011223344Zz', 'key')).toThrow(/^key: not hex at byte 6 of 6 /);
    expect(() => hexToBytes('0011223344Zz', 'key')).not.toThrow(/Zz|44/);
    expect(() => hexToBytes('123', 'key')).toThrow('key: expected an even number of hex digits, got 3');
  });
});

describe('command APDU cases (ISO/IEC 7816-3 §12.1.3)', () => {
  it.each(CASES)('case $c: $apdu → Nc=$nc Ne=$ne, and encodes back byte for byte', ({ c, apdu, nc, ne }) => {
    const cmd = parseCommandApdu(h(apdu));
    expect(cmd.case).toBe(c);
    expect(cmd.data.length).toBe(nc);
    expect(cmd.ne).toBe(ne);
    expect(cmd.extended).toBe(c.endsWith('E'));
    expect(cmd.cla.raw).toBe(0);
    expect(cmd.ins).toBe(h(apdu)[1]);
    expect(hex(encodeCommandApdu(respec(cmd)))).toBe(apdu);
  });

  it('covers all seven cases', () => {
    expect(new Set(CASES.map((x) => x.c))).toEqual(new Set(APDU_CASES));
  });

  it('keeps header bytes and data exactly', () => {
    const cmd = parseCommandApdu(h('0C A4 8F F1 03 AABBCC 7F'));
    expect([cmd.ins, cmd.p1, cmd.p2]).toEqual([0xa4, 0x8f, 0xf1]);
    expect(hex(cmd.data)).toBe('AABBCC');
    expect(cmd.ne).toBe(0x7f);
    expect(cmd.cla.sm).toBe('iso-header');
  });

  it('encodes the short form whenever it fits, and the extended form when asked or needed', () => {
    expect(hex(encodeCommandApdu({ ins: 0xb0, ne: 256 }))).toBe('00B0000000');
    expect(hex(encodeCommandApdu({ ins: 0xb0, ne: 257 }))).toBe('00B00000000101');
    expect(hex(encodeCommandApdu({ ins: 0xb0, ne: 65536 }))).toBe('00B00000000000');
    expect(hex(encodeCommandApdu({ ins: 0xb0, ne: 256, extended: true }))).toBe('00B00000000100');
    expect(hex(encodeCommandApdu({ ins: 0xd6, data: new Uint8Array(256) }))).toBe(`00D60000000100${'00'.repeat(256)}`);
    // Short and extended length fields are never mixed (§5.1): Nc 1 with Ne 257 is all extended.
    expect(hex(encodeCommandApdu({ ins: 0xd6, data: h('01'), ne: 257 }))).toBe('00D6000000000101' + '0101');
    // Case 1 has no extended form.
    expect(hex(encodeCommandApdu({ ins: 0xa4, extended: true }))).toBe('00A40000');
  });

  it('refuses to encode fields that do not fit', () => {
    expect(() => encodeCommandApdu({ ins: 0xb0, ne: 65537 })).toThrow(ByteInputError);
    expect(() => encodeCommandApdu({ ins: 0xb0, ne: -1 })).toThrow(ByteInputError);
    expect(() => encodeCommandApdu({ ins: 0xb0, ne: 1.5 })).toThrow(ByteInputError);
    expect(() => encodeCommandApdu({ ins: 0x100 })).toThrow(/ins/);
    expect(() => encodeCommandApdu({ ins: 0xb0, p2: -1 })).toThrow(/p2/);
    expect(() => encodeCommandApdu({ ins: 0xd6, data: new Uint8Array(65536) })).toThrow(ByteInputError);
  });
});

describe('malformed command APDUs → 6700', () => {
  it.each([
    ['', 'empty'],
    ['00', 'one byte'],
    ['00A400', 'three bytes'],
    ['00A4000002 3F', 'short Lc 2, one data byte'],
    ['00A4000002 3F0000 00', 'short Lc 2, two bytes too many'],
    ['00A4000001 3F 0000', 'short Lc 1 followed by two Le bytes'],
    ['00B0000000 00', 'extended marker with one length byte'],
    ['00D6000000 0000 01', 'extended Lc of 0'],
    ['00D6000000 0002 0102 00', 'extended Lc 2 with a one-byte Le'],
    ['00D6000000 0002 01', 'extended Lc 2, one data byte'],
    ['00D6000000 0002 0102 000000', 'extended Lc 2, three trailing bytes'],
    ['00D6000000 0101' + '00'.repeat(100), 'extended Lc 257, 100 data bytes'],
  ])('%s (%s)', (apdu) => {
    expect(swOf(() => parseCommandApdu(h(apdu)))).toBe(SW.WRONG_LENGTH);
    expect(hex(poweredCard().transmit(h(apdu)))).toBe('6700');
  });

  it('parse either succeeds or answers 6700 / 6E00, and never throws anything else (random bytes)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          const c = parseCommandApdu(bytes);
          // A successful parse accounts for every byte.
          expect(encodeCommandApdu(respec(c)).length).toBe(bytes.length);
        } catch (e) {
          expect(e).toBeInstanceOf(StatusWordError);
          expect([SW.WRONG_LENGTH, SW.CLA_NOT_SUPPORTED]).toContain((e as StatusWordError).sw);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

// --- round trips --------------------------------------------------------------------------------

/** Every class byte the codec accepts: not FF, not 001x xxxx. */
const validCla = fc.integer({ min: 0, max: 255 }).filter((b) => b !== 0xff && (b & 0xe0) !== 0x20);

const specArb: fc.Arbitrary<CommandSpec> = fc.record({
  cla: validCla,
  ins: fc.integer({ min: 0, max: 255 }),
  p1: fc.integer({ min: 0, max: 255 }),
  p2: fc.integer({ min: 0, max: 255 }),
  data: fc.oneof(
    fc.uint8Array({ maxLength: 260 }),
    fc.uint8Array({ minLength: 255, maxLength: 257 }),
    fc.uint8Array({ minLength: 1000, maxLength: 1100 }),
  ),
  ne: fc.oneof(
    fc.constantFrom(0, 1, 255, 256, 257, 65535, 65536),
    fc.integer({ min: 0, max: 65536 }),
  ),
  extended: fc.boolean(),
});

function expectedCase(nc: number, ne: number, extended: boolean): ApduCase {
  if (nc === 0 && ne === 0) return '1';
  const ext = extended || nc > 255 || ne > 256;
  if (nc === 0) return ext ? '2E' : '2S';
  if (ne === 0) return ext ? '3E' : '3S';
  return ext ? '4E' : '4S';
}

/** Byte strings that are valid APDUs of every case, built from the length rules directly. */
const apduBytesArb: fc.Arbitrary<Uint8Array> = fc
  .tuple(
    validCla,
    fc.uint8Array({ minLength: 3, maxLength: 3 }),
    fc.constantFrom<ApduCase>(...APDU_CASES),
    fc.uint8Array({ minLength: 1, maxLength: 300 }),
    fc.integer({ min: 0, max: 0xffff }),
  )
  .map(([cla, hdr, c, body, le]) => {
    const head = concatBytes(new Uint8Array([cla]), hdr);
    const le1 = new Uint8Array([le & 0xff]);
    const le2 = new Uint8Array([le >>> 8, le & 0xff]);
    const short = body.subarray(0, Math.min(255, body.length));
    const lc2 = new Uint8Array([0, body.length >>> 8, body.length & 0xff]);
    switch (c) {
      case '1':
        return head;
      case '2S':
        return concatBytes(head, le1);
      case '3S':
        return concatBytes(head, new Uint8Array([short.length]), short);
      case '4S':
        return concatBytes(head, new Uint8Array([short.length]), short, le1);
      case '2E':
        return concatBytes(head, new Uint8Array([0]), le2);
      case '3E':
        return concatBytes(head, lc2, body);
      case '4E':
        return concatBytes(head, lc2, body, le2);
    }
  });

describe('codec round trips (properties)', () => {
  it('parseCommandApdu(encodeCommandApdu(spec)) gives back the spec', () => {
    fc.assert(
      fc.property(specArb, (spec) => {
        const data = spec.data ?? new Uint8Array(0);
        const ne = spec.ne ?? 0;
        const c = parseCommandApdu(encodeCommandApdu(spec));
        expect(c.cla.raw).toBe(spec.cla);
        expect([c.ins, c.p1, c.p2]).toEqual([spec.ins, spec.p1, spec.p2]);
        expect(hex(c.data)).toBe(hex(data));
        expect(c.ne).toBe(ne);
        expect(c.case).toBe(expectedCase(data.length, ne, spec.extended === true));
        expect(c.extended).toBe(c.case.endsWith('E'));
      }),
      { numRuns: 500 },
    );
  });

  it('encodeCommandApdu(parseCommandApdu(bytes)) gives back the bytes, for valid APDUs of all cases', () => {
    fc.assert(
      fc.property(apduBytesArb, (bytes) => {
        const c = parseCommandApdu(bytes);
        expect(hex(encodeCommandApdu(respec(c)))).toBe(hex(bytes));
      }),
      { numRuns: 1000 },
    );
  });

  it('data is a view of the input (handlers copy what they keep)', () => {
    const bytes = h('00D6000002AABB');
    const c = parseCommandApdu(bytes);
    bytes[5] = 0x11;
    expect(hex(c.data)).toBe('11BB');
  });
});

// --- CLA ----------------------------------------------------------------------------------------

describe('CLA (ISO/IEC 7816-4 §5.4.1)', () => {
  const SMS: readonly SmIndication[] = ['none', 'proprietary', 'iso', 'iso-header'];

  it.each([
    [0x00, 'interindustry', 0, 'none', false],
    [0x03, 'interindustry', 3, 'none', false],
    [0x04, 'interindustry', 0, 'proprietary', false],
    [0x08, 'interindustry', 0, 'iso', false],
    [0x0c, 'interindustry', 0, 'iso-header', false],
    [0x10, 'interindustry', 0, 'none', true],
    [0x1f, 'interindustry', 3, 'iso-header', true],
    [0x40, 'further-interindustry', 4, 'none', false],
    [0x4f, 'further-interindustry', 19, 'none', false],
    [0x50, 'further-interindustry', 4, 'none', true],
    [0x60, 'further-interindustry', 4, 'iso', false],
    [0x7f, 'further-interindustry', 19, 'iso', true],
    [0x80, 'proprietary', 0, 'none', false],
    [0x84, 'proprietary', 0, 'proprietary', false],
    [0x93, 'proprietary', 3, 'none', true],
  ] as const)('%i decodes as %s, channel %i, SM %s, chaining %s', (raw, kind, channel, sm, chaining) => {
    const c = decodeCla(raw);
    expect(c).toEqual({ raw, kind, channel, sm, chaining });
  });

  it('FF and 001x xxxx are invalid (decodeCla → undefined, card → 6E00)', () => {
    const invalid: number[] = [];
    for (let b = 0; b < 256; b++) if (decodeCla(b) === undefined) invalid.push(b);
    const expected = [0xff];
    for (let b = 0x20; b < 0x40; b++) expected.push(b);
    expect(invalid.sort((a, b) => a - b)).toEqual(expected.sort((a, b) => a - b));
    const card = poweredCard();
    for (const cla of ['FF', '20', '2F', '3F']) {
      expect(swOf(() => parseCommandApdu(h(`${cla}A4000C023F00`)))).toBe(SW.CLA_NOT_SUPPORTED);
      expect(tx(card, `${cla}A4000C023F00`).swHex).toBe('6E00');
    }
  });

  it('encodeCla is the inverse of decodeCla for channels 0–19, every SM indication and chaining', () => {
    for (let ch = 0; ch <= 19; ch++) {
      for (const sm of SMS) {
        for (const chaining of [false, true]) {
          if (ch >= 4 && (sm === 'proprietary' || sm === 'iso-header')) {
            expect(() => encodeCla(ch, sm, chaining)).toThrow(ByteInputError);
            continue;
          }
          const raw = encodeCla(ch, sm, chaining);
          const c = decodeCla(raw);
          expect(c).toEqual({
            raw,
            kind: ch < 4 ? 'interindustry' : 'further-interindustry',
            channel: ch,
            sm,
            chaining,
          });
        }
      }
    }
  });

  it('every interindustry class byte re-encodes to itself', () => {
    for (let b = 0; b < 0x80; b++) {
      const c = decodeCla(b);
      if (c === undefined) continue;
      expect(encodeCla(c.channel, c.sm, c.chaining)).toBe(b);
    }
  });

  it('rejects channels outside 0–19', () => {
    expect(() => encodeCla(20)).toThrow(ByteInputError);
    expect(() => encodeCla(-1)).toThrow(ByteInputError);
    expect(() => encodeCla(1.5)).toThrow(ByteInputError);
  });

  it('the card answers SM-marked commands without a session with 6882, plain ones normally', () => {
    const card = poweredCard();
    expect(tx(card, '08A4000C023F00').swHex).toBe('6882');
    expect(tx(card, '0CA4000C023F00').swHex).toBe('6882');
    expect(tx(card, '00A4000C023F00').swHex).toBe('9000');
  });
});

// --- response codec and status words ------------------------------------------------------------

describe('response APDUs and status words (§5.1, §5.6)', () => {
  it('parse(encode(data, sw)) round-trips', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 0xffff }), (data, sw) => {
        const r = parseResponseApdu(encodeResponseApdu(data, sw));
        expect(hex(r.data)).toBe(hex(data));
        expect(r.sw).toBe(sw);
      }),
    );
    expect(() => parseResponseApdu(h('90'))).toThrow(ByteInputError);
  });

  it('describes the parametrised status words', () => {
    expect(describeSw(0x6110)).toBe('16 bytes still available (GET RESPONSE)');
    expect(describeSw(0x6100)).toMatch(/^256 or more/);
    expect(describeSw(0x6c05)).toBe('Wrong Le field: 5 bytes available');
    expect(describeSw(0x63c2)).toBe('Verification failed, 2 tries left');
    expect(describeSw(0x63c1)).toBe('Verification failed, 1 try left');
    expect(formatSw(SW.FILE_NOT_FOUND)).toBe('6A82 File or application not found');
  });

  it('has the ISO values for the status words the file system answers', () => {
    expect(SW).toMatchObject({
      WARN_EOF: 0x6282,
      WARN_FILE_DEACTIVATED: 0x6283,
      WARN_FILE_TERMINATED: 0x6285,
      WRONG_LENGTH: 0x6700,
      LOGICAL_CHANNEL_NOT_SUPPORTED: 0x6881,
      LAST_COMMAND_OF_CHAIN_EXPECTED: 0x6883,
      CHAINING_NOT_SUPPORTED: 0x6884,
      COMMAND_INCOMPATIBLE_WITH_FILE: 0x6981,
      SECURITY_STATUS_NOT_SATISFIED: 0x6982,
      CONDITIONS_NOT_SATISFIED: 0x6985,
      COMMAND_NOT_ALLOWED_NO_EF: 0x6986,
      INCORRECT_DATA: 0x6a80,
      FILE_NOT_FOUND: 0x6a82,
      NOT_ENOUGH_MEMORY: 0x6a84,
      NC_INCONSISTENT_WITH_TLV: 0x6a85,
      INCORRECT_P1P2: 0x6a86,
      NC_INCONSISTENT_WITH_P1P2: 0x6a87,
      FILE_EXISTS: 0x6a89,
      DF_NAME_EXISTS: 0x6a8a,
      WRONG_P1P2: 0x6b00,
      INS_NOT_SUPPORTED: 0x6d00,
      CLA_NOT_SUPPORTED: 0x6e00,
    });
  });

  it('success means 9000, 61XX, 62XX and 63XX only', () => {
    for (let sw = 0x6000; sw <= 0x9fff; sw += 0x11) {
      const sw1 = sw >>> 8;
      expect(isSuccessSw(sw)).toBe(sw === 0x9000 || sw1 === 0x61 || sw1 === 0x62 || sw1 === 0x63);
    }
    expect(isSuccessSw(0x9000)).toBe(true);
  });

  it('counterSw caps at 15 and floors at 0', () => {
    expect(counterSw(3)).toBe(0x63c3);
    expect(counterSw(0)).toBe(0x63c0);
    expect(counterSw(99)).toBe(0x63cf);
    expect(counterSw(-2)).toBe(0x63c0);
  });
});
