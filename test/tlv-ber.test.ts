import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { ByteInputError, bytesToHex, equalBytes, hexToBytes } from '../src/bytes/index.js';
import {
  TlvError,
  encodeLength,
  encodeTag,
  encodeTlv,
  encodeTlvObject,
  findTlv,
  findTlvPath,
  isConstructedTag,
  parseTlv,
  parseTlvList,
  tlvConstructed,
} from '../src/tlv/index.js';
import type { Tlv } from '../src/tlv/index.js';

const h = (s: string): Uint8Array => hexToBytes(s);
const hex = (b: Uint8Array): string => bytesToHex(b, ' ');

/** Runs `f` and returns the TlvError it throws (failing the test otherwise). */
function tlvError(f: () => unknown): TlvError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(TlvError);
    return e as TlvError;
  }
  throw new Error('expected a TlvError, nothing was thrown');
}

describe('BER-TLV worked examples', () => {
  it('encodes and parses a two-byte tag (5F1F)', () => {
    const b = encodeTlv(0x5f1f, h('41 42'));
    expect(hex(b)).toBe('5F 1F 02 41 42');
    const t = parseTlv(b);
    expect(t.tag).toBe(0x5f1f);
    expect(t.constructed).toBe(false);
    expect(hex(t.value)).toBe('41 42');
    expect(t.children).toBeUndefined();
  });

  it('encodes and parses a three-byte tag', () => {
    const b = encodeTlv(0xdf8101, h('01'));
    expect(hex(b)).toBe('DF 81 01 01 01');
    expect(parseTlv(b).tag).toBe(0xdf8101);
  });

  it('accepts second tag bytes below 1F, which ICAO 9303 (5F01) and EMV (9F02) use', () => {
    expect(parseTlv(h('5F 01 04 30 31 30 37')).tag).toBe(0x5f01);
    expect(parseTlv(h('9F 02 01 00')).tag).toBe(0x9f02);
  });

  it.each([
    [0, '00'],
    [1, '01'],
    [127, '7F'],
    [128, '81 80'],
    [255, '81 FF'],
    [256, '82 01 00'],
    [65535, '82 FF FF'],
    [65536, '83 01 00 00'],
    [0xffffff, '83 FF FF FF'],
    [0x1000000, '84 01 00 00 00'],
    [0xffffffff, '84 FF FF FF FF'],
  ])('encodeLength(%i) is minimal: %s', (n, expected) => {
    expect(hex(encodeLength(n))).toBe(expected);
  });

  it('rejects lengths that do not fit in four bytes or are not integers', () => {
    expect(() => encodeLength(2 ** 32)).toThrow(ByteInputError);
    expect(() => encodeLength(-1)).toThrow(ByteInputError);
    expect(() => encodeLength(1.5)).toThrow(ByteInputError);
  });

  it.each([127, 128, 255, 256, 65535, 65536])('round-trips a %i-byte value at the length-form boundary', (n) => {
    const value = new Uint8Array(n).map((_, i) => i & 0xff);
    const b = encodeTlv(0x53, value);
    expect(b.length).toBe(1 + encodeLength(n).length + n);
    const t = parseTlv(b);
    expect(t.tag).toBe(0x53);
    expect(t.value.length).toBe(n);
    expect(equalBytes(t.value, value)).toBe(true);
  });

  it('accepts non-minimal long-form lengths when parsing (cards send 81 05) but re-encodes minimally', () => {
    const t = parseTlv(h('80 81 02 AA BB'));
    expect(hex(t.value)).toBe('AA BB');
    expect(hex(encodeTlvObject(t))).toBe('80 02 AA BB');
    expect(hex(t.raw!)).toBe('80 81 02 AA BB');
    expect(hex(parseTlv(h('80 82 00 01 CC')).value)).toBe('CC');
    expect(hex(parseTlv(h('80 84 00 00 00 01 CC')).value)).toBe('CC');
  });

  it('parses a nested FCP template (62 with 80, 82, 83) and finds by path', () => {
    // 62 0B | 80 02 00 20 (size 32) | 82 01 01 (transparent EF) | 83 02 2F 00 (FID)
    const fcp = h('62 0B 80 02 00 20 82 01 01 83 02 2F 00');
    const t = parseTlv(fcp);
    expect(t.tag).toBe(0x62);
    expect(t.constructed).toBe(true);
    expect(t.children!.map((c) => c.tag)).toEqual([0x80, 0x82, 0x83]);
    expect(hex(findTlv(t.children!, 0x83)!.value)).toBe('2F 00');
    expect(findTlv(t.children!, 0x84)).toBeUndefined();
    expect(hex(findTlvPath(t, [0x62, 0x80])!.value)).toBe('00 20');
    expect(findTlvPath([t], [0x62, 0x82])!.value[0]).toBe(0x01);
    expect(findTlvPath(t, [0x80])).toBeUndefined();
    expect(findTlvPath(t, [0x62, 0x80, 0x01])).toBeUndefined();
    expect(findTlvPath(t, [])).toBeUndefined();
    // Built with the encoder, the same bytes come out.
    const built = tlvConstructed(0x62, encodeTlv(0x80, h('00 20')), encodeTlv(0x82, h('01')), encodeTlv(0x83, h('2F 00')));
    expect(hex(built)).toBe(hex(fcp));
  });

  it('parses deeper nesting: FCI 6F / A5 / BF0C / 61 / 4F', () => {
    const aid = h('A0 00 00 02 47 10 01');
    const b = tlvConstructed(
      0x6f,
      encodeTlv(0x84, aid),
      tlvConstructed(0xa5, tlvConstructed(0xbf0c, tlvConstructed(0x61, encodeTlv(0x4f, aid)))),
    );
    const t = parseTlv(b);
    expect(findTlvPath(t, [0x6f, 0xa5, 0xbf0c, 0x61, 0x4f])!.value).toEqual(aid);
    expect(findTlvPath(parseTlvList(b), [0x6f, 0x84])!.value).toEqual(aid);
  });

  it('parses a list of zero or more objects', () => {
    expect(parseTlvList(new Uint8Array(0))).toEqual([]);
    const list = parseTlvList(h('80 01 01 81 00 7F49 03 86 01 04'));
    expect(list.map((t) => t.tag)).toEqual([0x80, 0x81, 0x7f49]);
    expect(list[1]!.value.length).toBe(0);
    expect(list[2]!.children![0]!.tag).toBe(0x86);
  });

  it('gives raw as the exact subarray of the input, never a copy', () => {
    const input = h('99 7F21 06 5F29 01 00 42 00 99');
    const list = parseTlvList(input.subarray(1, 10));
    const cert = list[0]!;
    expect(hex(cert.raw!)).toBe('7F 21 06 5F 29 01 00 42 00');
    expect(cert.raw!.buffer).toBe(input.buffer);
    expect(cert.raw!.byteOffset).toBe(1);
    expect(cert.value.byteOffset).toBe(4);
    const child = cert.children![0]!;
    expect(child.raw!.byteOffset).toBe(4);
    expect(hex(child.raw!)).toBe('5F 29 01 00');
  });

  it('classifies constructed tags by b6 of the first byte', () => {
    expect(isConstructedTag(0x62)).toBe(true);
    expect(isConstructedTag(0x7f49)).toBe(true);
    expect(isConstructedTag(0xbf0c)).toBe(true);
    expect(isConstructedTag(0xa5)).toBe(true);
    expect(isConstructedTag(0x5f1f)).toBe(false);
    expect(isConstructedTag(0x80)).toBe(false);
    expect(isConstructedTag(0xdf8101)).toBe(false);
  });

  it('skips 00/FF padding between objects only when asked', () => {
    const b = h('00 80 01 AA FF FF 81 00 00');
    expect(parseTlvList(b, { skipPadding: true }).map((t) => t.tag)).toEqual([0x80, 0x81]);
    expect(tlvError(() => parseTlvList(b)).offset).toBe(0);
    expect(parseTlvList(h('FF FF'), { skipPadding: true })).toEqual([]);
    expect(parseTlv(h('00 80 00 FF'), { skipPadding: true }).tag).toBe(0x80);
    // Inside constructed values too.
    const t = parseTlv(h('62 05 00 80 01 AA FF'), { skipPadding: true });
    expect(t.children!.map((c) => c.tag)).toEqual([0x80]);
  });
});

describe('BER-TLV encoder input checks', () => {
  it.each([
    [0, 'zero'],
    [0xff, 'FF is padding'],
    [0x1f, 'announces a subsequent byte'],
    [0x5f80, 'first subsequent byte 80'],
    [0x5f81, 'last byte with b8 = 1'],
    [0x6201, 'first byte has a one-byte number'],
    [0x5f0101, 'middle byte without b8'],
    [0xdf8181, 'last byte with b8 = 1 (4-byte tag)'],
    [0xff8101, 'first byte FF'],
    [0x1000000, 'four bytes'],
    [1.5, 'not an integer'],
  ])('encodeTag(%s) throws (%s)', (tag) => {
    expect(() => encodeTag(tag)).toThrow(ByteInputError);
  });

  it('refuses tlvConstructed with a primitive tag', () => {
    expect(() => tlvConstructed(0x80, h('01'))).toThrow(/not a constructed tag/);
  });
});

describe('BER-TLV error paths name the offset', () => {
  it.each([
    ['indefinite length', '62 80 80 00 00 00', 1, /indefinite/],
    ['truncated tag (second byte missing)', '5F', 0, /truncated tag/],
    ['truncated tag (third byte missing)', '5F 81', 0, /truncated tag/],
    ['missing length', '80', 1, /missing length/],
    ['truncated length field', '80 82 01', 1, /truncated length/],
    ['truncated value', '80 03 01 02', 2, /truncated value.*length 3, only 2/],
    ['trailing bytes', '80 00 00', 2, /trailing/],
    ['4-byte tag', '5F 81 81 01 00', 0, /longer than 3 bytes/],
    ['length form 85', '80 85 00 00 00 00 01 00', 1, /85.*at most 84/],
    ['length form FF', '80 FF', 1, /at most 84/],
    ['tag 00', '00 00', 0, /00/],
    ['tag FF', 'FF 01 00', 0, /FF/],
    ['non-minimal tag 5F 80', '5F 80 01 00', 1, /not minimal/],
    ['empty input', '', 0, /no bytes/],
    ['child truncated inside a constructed value', '62 04 80 05 01 02', 4, /truncated value/],
    ['child running past its parent', '62 03 80 02 01 02', 4, /truncated value.*only 1/],
  ])('%s', (_name, input, offset, message) => {
    const e = tlvError(() => parseTlv(h(input)));
    expect(e.offset).toBe(offset);
    expect(e.message).toMatch(message);
    expect(e.message).toContain(`offset ${offset}`);
  });

  it('limits nesting depth instead of overflowing the stack', () => {
    let b = encodeTlv(0x80, new Uint8Array(0));
    for (let i = 0; i < 200; i++) b = tlvConstructed(0x62, b);
    expect(tlvError(() => parseTlv(b)).message).toMatch(/nests deeper/);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

/** Valid tags of 1–3 bytes, primitive or constructed, never 00 or FF as first byte. */
const arbTag = (constructed: boolean): fc.Arbitrary<number> => {
  const cls = fc.constantFrom(0x00, 0x40, 0x80, 0xc0).map((c) => c | (constructed ? 0x20 : 0));
  const one = fc
    .tuple(cls, fc.integer({ min: 0, max: 30 }))
    .map(([c, n]) => c | n)
    .filter((b) => b !== 0x00);
  const two = fc
    .tuple(cls, fc.integer({ min: 0x01, max: 0x7f }))
    .filter(([c]) => (c | 0x1f) !== 0xff)
    .map(([c, b1]) => ((c | 0x1f) << 8) | b1);
  const three = fc
    .tuple(cls, fc.integer({ min: 0x81, max: 0xff }), fc.integer({ min: 0, max: 0x7f }))
    .filter(([c]) => (c | 0x1f) !== 0xff)
    .map(([c, b1, b2]) => ((c | 0x1f) << 16) | (b1 << 8) | b2);
  return fc.oneof(one, two, three);
};

const arbValue: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 8, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  { weight: 1, arbitrary: fc.constantFrom(127, 128, 255, 256, 65535, 65536).map((n) => new Uint8Array(n).fill(0xa5)) },
);

/** A random TLV tree, already encoded minimally. */
const arbEncoded: fc.Arbitrary<Uint8Array> = fc.letrec<{ node: Uint8Array }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.tuple(arbTag(false), fc.uint8Array({ maxLength: 140 })).map(([t, v]) => encodeTlv(t, v)),
    fc.tuple(arbTag(true), fc.array(tie('node'), { maxLength: 4 })).map(([t, kids]) => tlvConstructed(t, ...kids)),
  ),
})).node;

describe('BER-TLV properties', () => {
  it('parseTlv(encodeTlv(t, v)) gives t and v back (primitive tags, random values)', () => {
    fc.assert(
      fc.property(arbTag(false), arbValue, (tag, value) => {
        const t = parseTlv(encodeTlv(tag, value));
        expect(t.tag).toBe(tag);
        expect(t.constructed).toBe(false);
        expect(equalBytes(t.value, value)).toBe(true);
        const tagBytes = encodeTag(tag);
        expect(equalBytes(t.raw!.subarray(0, tagBytes.length), tagBytes)).toBe(true);
      }),
    );
  });

  it('parseTlv(tlvConstructed(t, ...children)) gives t and the children back', () => {
    fc.assert(
      fc.property(arbTag(true), fc.array(fc.tuple(arbTag(false), fc.uint8Array({ maxLength: 40 })), { maxLength: 5 }), (tag, kids) => {
        const t = parseTlv(tlvConstructed(tag, ...kids.map(([kt, kv]) => encodeTlv(kt, kv))));
        expect(t.tag).toBe(tag);
        expect(t.constructed).toBe(true);
        expect(t.children!.map((c) => [c.tag, c.value])).toEqual(kids);
      }),
    );
  });

  it('encodeTlvObject(parseTlv(b)) and raw equal b for random minimal encodings', () => {
    fc.assert(
      fc.property(arbEncoded, (b) => {
        const t = parseTlv(b);
        expect(encodeTlvObject(t)).toEqual(b);
        expect(t.raw).toEqual(b);
        const walk = (n: Tlv): void => {
          expect(encodeTlvObject(n)).toEqual(n.raw);
          n.children?.forEach(walk);
        };
        walk(t);
      }),
    );
  });

  it('parseTlvList of a concatenation gives each object back', () => {
    fc.assert(
      fc.property(fc.array(arbEncoded, { maxLength: 5 }), (parts) => {
        const list = parseTlvList(Uint8Array.from(parts.flatMap((p) => [...p])));
        expect(list.map((t) => t.raw)).toEqual(parts);
      }),
    );
  });

  const onlyTlvErrors = (f: () => unknown, len: number): void => {
    try {
      f();
    } catch (e) {
      if (!(e instanceof TlvError)) throw e;
      expect(e.offset).toBeGreaterThanOrEqual(0);
      expect(e.offset).toBeLessThanOrEqual(len);
    }
  };

  it('random bytes never throw anything but TlvError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (b, skipPadding) => {
        onlyTlvErrors(() => parseTlvList(b, { skipPadding }), b.length);
        onlyTlvErrors(() => parseTlv(b, { skipPadding }), b.length);
      }),
      { numRuns: 2000 },
    );
  });

  it('mutated and truncated valid encodings never throw anything but TlvError', () => {
    fc.assert(
      fc.property(arbEncoded, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(), (b, at, byte, cut) => {
        const m = b.slice();
        m[at % m.length] = byte;
        onlyTlvErrors(() => parseTlv(m), m.length);
        const t = b.subarray(0, cut % (b.length + 1));
        onlyTlvErrors(() => parseTlvList(t), t.length);
      }),
      { numRuns: 1000 },
    );
  });
});
