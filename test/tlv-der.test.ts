/**
 * The DER writer against an independent encoder (asn1js) value by value, and its output parsed
 * back by asn1js (decode(encode(x))) — X.690 §8, §10, §11.
 */
import * as asn1js from 'asn1js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../src/bytes/index.js';
import {
  derAlgorithm,
  derBitString,
  derBoolean,
  derExplicit,
  derGeneralizedTime,
  derImplicit,
  derInteger,
  derNull,
  derOctetString,
  derOid,
  derPrintableString,
  derSequence,
  derSet,
  derTime,
  derUtcTime,
  derUtf8String,
} from '../src/tlv/der.js';

const hex = (b: Uint8Array | ArrayBuffer): string => bytesToHex(b instanceof Uint8Array ? b : new Uint8Array(b)).toLowerCase();

function parse(b: Uint8Array): asn1js.AsnType {
  const r = asn1js.fromBER(b);
  expect(r.offset).toBe(b.length);
  return r.result;
}

describe('DER writer', () => {
  it('INTEGER from numbers and bigints: the bytes asn1js writes, and the value read back', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }), (v) => {
        const mine = derInteger(v);
        const back = parse(mine) as asn1js.Integer;
        expect(back.toBigInt()).toBe(v);
        // Minimal: no leading 00 before a clear top bit, no leading FF before a set one.
        const c = back.valueBlock.valueHexView;
        if (c.length > 1) expect((c[0] === 0x00 && (c[1]! & 0x80) === 0) || (c[0] === 0xff && (c[1]! & 0x80) !== 0)).toBe(false);
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (v) => {
        expect(hex(derInteger(v))).toBe(hex(new asn1js.Integer({ value: v }).toBER()));
      }),
    );
    expect(hex(derInteger(0))).toBe('020100');
    expect(hex(derInteger(128))).toBe('02020080');
    expect(hex(derInteger(-129))).toBe('0202ff7f');
  });

  it('INTEGER from an unsigned magnitude (serial numbers)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), (m) => {
        const back = parse(derInteger(m)) as asn1js.Integer;
        const expected = m.reduce((a, b) => (a << 8n) | BigInt(b), 0n);
        expect(back.toBigInt()).toBe(expected);
      }),
    );
    expect(hex(derInteger(hexToBytes('00 00 80')))).toBe('02020080');
    expect(hex(derInteger(new Uint8Array(0)))).toBe('020100');
  });

  it('OBJECT IDENTIFIER: same bytes as asn1js over random arcs, and cached copies stay equal', () => {
    const arcs = fc.tuple(
      fc.constantFrom(0, 1, 2),
      fc.integer({ min: 0, max: 39 }),
      fc.array(fc.oneof(fc.integer({ min: 0, max: 127 }), fc.integer({ min: 0, max: 2 ** 32 })), { maxLength: 8 }),
    );
    fc.assert(
      fc.property(arcs, ([a, b, rest]) => {
        const dotted = [a, b, ...rest].join('.');
        expect(hex(derOid(dotted))).toBe(hex(new asn1js.ObjectIdentifier({ value: dotted }).toBER()));
        expect((parse(derOid(dotted)) as asn1js.ObjectIdentifier).valueBlock.toString()).toBe(dotted);
      }),
    );
    expect(hex(derOid('2.23.136.1.1.1'))).toBe('060667810801 0101'.replace(/ /g, ''));
    expect(hex(derOid('2.999.3'))).toBe('0603883703');
    expect(() => derOid('1.40')).toThrow(/second arc/);
    expect(() => derOid('1.2.x')).toThrow(/dotted decimal/);
  });

  it('strings, NULL, BOOLEAN, BIT STRING and OCTET STRING as asn1js writes them', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (s) => {
        expect(hex(derUtf8String(s))).toBe(hex(new asn1js.Utf8String({ value: s }).toBER()));
      }),
    );
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9 '()+,\-./:=?]{0,200}$/), (s) => {
        expect(hex(derPrintableString(s))).toBe(hex(new asn1js.PrintableString({ value: s }).toBER()));
      }),
    );
    expect(() => derPrintableString('a@b')).toThrow(/PrintableString/);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
        expect(hex(derOctetString(b))).toBe(hex(new asn1js.OctetString({ valueHex: b }).toBER()));
        expect(hex(derBitString(b))).toBe(hex(new asn1js.BitString({ valueHex: b, unusedBits: 0 }).toBER()));
      }),
    );
    expect(hex(derBitString(hexToBytes('06'), 1))).toBe('03020106');
    expect(() => derBitString(hexToBytes('07'), 1)).toThrow(/unused bits must be zero/);
    expect(hex(derNull())).toBe(hex(new asn1js.Null().toBER()));
    expect(hex(derBoolean(true))).toBe('0101ff');
    expect(hex(derBoolean(false))).toBe('010100');
  });

  it('times: UTCTime through 2049, GeneralizedTime from 2050, both read back to the second', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('1950-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }), (d) => {
        const whole = new Date(Math.floor(d.getTime() / 1000) * 1000);
        const t = parse(derTime(d));
        if (d.getUTCFullYear() < 2050) {
          expect(t).toBeInstanceOf(asn1js.UTCTime);
          expect((t as asn1js.UTCTime).toDate().getTime()).toBe(whole.getTime());
          expect(hex(derUtcTime(d))).toBe(hex(new asn1js.UTCTime({ valueDate: whole }).toBER()));
        } else {
          expect(t).toBeInstanceOf(asn1js.GeneralizedTime);
          expect((t as asn1js.GeneralizedTime).toDate().getTime()).toBe(whole.getTime());
        }
      }),
    );
    expect(new TextDecoder().decode(derGeneralizedTime(new Date('2050-02-03T04:05:06.789Z')).subarray(2))).toBe('20500203040506Z');
    expect(() => derUtcTime(new Date('2050-01-01T00:00:00Z'))).toThrow(/GeneralizedTime/);
    expect(() => derTime(new Date(Number.NaN))).toThrow(/not a valid date/);
  });

  it('SET OF is sorted by encoding (X.690 §11.6) whatever the order given', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 20 }), { maxLength: 8 }), (parts) => {
        const elements = parts.map((p) => derOctetString(p));
        const a = derSet(...elements);
        const b = derSet(...[...elements].reverse());
        expect(hex(a)).toBe(hex(b));
        const kids = (parse(a) as asn1js.Set).valueBlock.value.map((k) => hex(k.toBER()));
        expect(kids).toEqual([...kids].sort(compareHex));
      }),
    );
  });

  it('constructed forms: SEQUENCE, [n] EXPLICIT, [n] IMPLICIT, AlgorithmIdentifier', () => {
    const seq = derSequence(derInteger(1), derAlgorithm('2.16.840.1.101.3.4.2.1'), derAlgorithm('1.2.840.113549.1.1.11', derNull()));
    expect(hex(seq)).toBe(
      hex(
        new asn1js.Sequence({
          value: [
            new asn1js.Integer({ value: 1 }),
            new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: '2.16.840.1.101.3.4.2.1' })] }),
            new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: '1.2.840.113549.1.1.11' }), new asn1js.Null()] }),
          ],
        }).toBER(),
      ),
    );
    expect(hex(derExplicit(3, derInteger(2)))).toBe('a303020102');
    expect(hex(derImplicit(0, hexToBytes('0102'), false))).toBe('80020102');
    expect(hex(derImplicit(1, hexToBytes('0500'), true))).toBe('a1020500');
    expect(() => derExplicit(31, derNull())).toThrow(/context tag/);
    // A long value gets a long-form length.
    expect(hex(derOctetString(new Uint8Array(300)).subarray(0, 4))).toBe('0482012c');
  });
});

/** Lexicographic comparison of hex strings of bytes (shorter first on a common prefix). */
function compareHex(x: string, y: string): number {
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i += 2) {
    const d = parseInt(x.slice(i, i + 2), 16) - parseInt(y.slice(i, i + 2), 16);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}
