import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { ByteInputError, bytesToHex, concatBytes, equalBytes, hexToBytes } from '../src/bytes/index.js';
import {
  TlvError,
  encodeCompactTlv,
  encodeSimpleTlv,
  parseCompactTlvList,
  parseSimpleTlvList,
} from '../src/tlv/index.js';

const h = (s: string): Uint8Array => hexToBytes(s);
const hex = (b: Uint8Array): string => bytesToHex(b, ' ');

function tlvError(f: () => unknown): TlvError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(TlvError);
    return e as TlvError;
  }
  throw new Error('expected a TlvError, nothing was thrown');
}

function onlyTlvErrors(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof TlvError)) throw e;
  }
}

describe('SIMPLE-TLV', () => {
  it.each([
    [0, '01 00'],
    [1, '01 01'],
    [254, '01 FE'],
    [255, '01 FF 00 FF'],
    [256, '01 FF 01 00'],
    [65535, '01 FF FF FF'],
  ])('encodes a %i-byte value with header %s', (n, header) => {
    const b = encodeSimpleTlv(0x01, new Uint8Array(n));
    const headerBytes = h(header);
    expect(hex(b.subarray(0, headerBytes.length))).toBe(header);
    expect(b.length).toBe(headerBytes.length + n);
    const [t] = parseSimpleTlvList(b);
    expect(t!.tag).toBe(1);
    expect(t!.value.length).toBe(n);
  });

  it('parses a record-like sequence, values as subarrays', () => {
    const b = h('01 02 AA BB FE 00 80 FF 00 01 CC');
    const list = parseSimpleTlvList(b);
    expect(list.map((t) => [t.tag, hex(t.value)])).toEqual([
      [0x01, 'AA BB'],
      [0xfe, ''],
      [0x80, 'CC'],
    ]);
    expect(list[0]!.value.buffer).toBe(b.buffer);
    expect(parseSimpleTlvList(new Uint8Array(0))).toEqual([]);
  });

  it('rejects invalid tags and oversize values when encoding', () => {
    expect(() => encodeSimpleTlv(0x00, h('01'))).toThrow(ByteInputError);
    expect(() => encodeSimpleTlv(0xff, h('01'))).toThrow(ByteInputError);
    expect(() => encodeSimpleTlv(0x100, h('01'))).toThrow(ByteInputError);
    expect(() => encodeSimpleTlv(0x01, new Uint8Array(65536))).toThrow(/at most 65535/);
  });

  it.each([
    ['tag 00', '01 00 00 00', 2, /tag 00/],
    ['tag FF', 'FF 00', 0, /tag FF/],
    ['missing length', '01 00 05', 3, /missing length/],
    ['truncated three-byte length', '01 FF 00', 1, /two more length bytes/],
    ['truncated value', '01 03 AA BB', 2, /length 3 but 2/],
    ['truncated long value', '01 FF 01 00 AA', 4, /length 256 but 1/],
  ])('%s is a TlvError at the offending offset', (_n, input, offset, message) => {
    const e = tlvError(() => parseSimpleTlvList(h(input)));
    expect(e.offset).toBe(offset);
    expect(e.message).toMatch(message);
  });

  const arbTag = fc.integer({ min: 1, max: 254 });
  const arbValue = fc.oneof(
    { weight: 6, arbitrary: fc.uint8Array({ maxLength: 300 }) },
    { weight: 1, arbitrary: fc.constantFrom(254, 255, 65535).map((n) => new Uint8Array(n).fill(7)) },
  );

  it('round-trips random lists: parse(encode(x)) = x and encode(parse(b)) = b', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(arbTag, arbValue), { maxLength: 5 }), (objs) => {
        const b = concatBytes(...objs.map(([t, v]) => encodeSimpleTlv(t, v)));
        const list = parseSimpleTlvList(b);
        // equalBytes rather than toEqual: deep equality over 64 KiB values is slow.
        expect(list.map((t) => t.tag)).toEqual(objs.map(([t]) => t));
        expect(list.every((t, i) => equalBytes(t.value, objs[i]![1]))).toBe(true);
        expect(equalBytes(concatBytes(...list.map((t) => encodeSimpleTlv(t.tag, t.value))), b)).toBe(true);
      }),
    );
  });

  it('random bytes never throw anything but TlvError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => onlyTlvErrors(() => parseSimpleTlvList(b))),
      { numRuns: 2000 },
    );
  });
});

describe('COMPACT-TLV', () => {
  it('encodes the card capabilities object 73 F7 41 E0', () => {
    expect(hex(encodeCompactTlv(7, h('F7 41 E0')))).toBe('73 F7 41 E0');
    expect(hex(encodeCompactTlv(8, new Uint8Array(0)))).toBe('80');
    expect(hex(encodeCompactTlv(15, new Uint8Array(15)))).toBe('FF' + ' 00'.repeat(15));
  });

  it('parses historical-byte objects (German eID, after category 80)', () => {
    const list = parseCompactTlvList(h('31 F8 73 F7 41 E0 82 90 00'));
    expect(list.map((t) => [t.tag, hex(t.value)])).toEqual([
      [3, 'F8'],
      [7, 'F7 41 E0'],
      [8, '90 00'],
    ]);
    expect(parseCompactTlvList(new Uint8Array(0))).toEqual([]);
    expect(parseCompactTlvList(h('00 10'))).toEqual([
      { tag: 0, value: new Uint8Array(0) },
      { tag: 1, value: new Uint8Array(0) },
    ]);
  });

  it('rejects out-of-range tags and values when encoding', () => {
    expect(() => encodeCompactTlv(16, h('01'))).toThrow(ByteInputError);
    expect(() => encodeCompactTlv(-1, h('01'))).toThrow(ByteInputError);
    expect(() => encodeCompactTlv(6, new Uint8Array(16))).toThrow(/at most 15/);
  });

  it('reports a value running past the end at the offending header byte', () => {
    const e = tlvError(() => parseCompactTlvList(h('31 F8 73 F7 41')));
    expect(e.offset).toBe(2);
    expect(e.message).toMatch(/tag 7, length 3\): only 2/);
  });

  it('round-trips random lists', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 15 }), fc.uint8Array({ maxLength: 15 })), { maxLength: 8 }), (objs) => {
        const b = concatBytes(...objs.map(([t, v]) => encodeCompactTlv(t, v)));
        const list = parseCompactTlvList(b);
        expect(list.map((t) => [t.tag, t.value])).toEqual(objs);
        expect(concatBytes(...list.map((t) => encodeCompactTlv(t.tag, t.value)))).toEqual(b);
      }),
    );
  });

  it('random bytes never throw anything but TlvError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 32 }), (b) => onlyTlvErrors(() => parseCompactTlvList(b))),
      { numRuns: 2000 },
    );
  });
});
