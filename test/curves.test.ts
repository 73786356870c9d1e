/**
 * The OpenSSL multiplication routes of src/crypto/curves.ts (explicit-generator keys, x-only ECDH
 * with y recovery, ECDH key generation) against @noble/curves' constant-time `Point.multiply`, on
 * every named curve: random scalars and points, plus the edges (k = 1, 2, n − 1, n − 2; P = G, −G).
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { bytesToHex } from '../src/bytes/index.js';
import { SUPPORTED_CURVE_IDS, bytesToBigint, standardizedGroup, xOnlyGroup, type EcGroup, type EcPoint } from '../src/crypto/curves.js';
import { mapGenerator, mappedPublicKey, PaceCryptoError } from '../src/crypto/pace.js';

const hex = (b: Uint8Array): string => bytesToHex(b);

/** Compares all three OpenSSL-backed operations with noble for k·P and k·G. */
function agree(g: EcGroup, k: bigint, p: EcPoint): void {
  const want = p.multiply(k);
  expect(hex(g.encodePoint(g.multiply(k, p)))).toBe(hex(want.toBytes(false)));
  expect(hex(g.sharedX(k, p))).toBe(hex(g.Point.Fp.toBytes(want.toAffine().x)));
  expect(hex(g.encodePoint(g.baseMultiply(k)))).toBe(hex(g.Point.BASE.multiply(k).toBytes(false)));
}

describe('named-curve multiplication equals noble Point.multiply', () => {
  for (const id of SUPPORTED_CURVE_IDS) {
    const g = standardizedGroup(id)!;
    const n = g.curve.n;
    const scalar = fc.bigInt({ min: 1n, max: n - 1n });

    it(`${g.name}: random scalars on random points`, () => {
      fc.assert(
        fc.property(scalar, scalar, (a, k) => {
          agree(g, k, g.decodePoint(g.Point.BASE.multiply(a).toBytes(false)));
        }),
        { numRuns: id >= 17 ? 4 : 10 },
      );
    });

    it(`${g.name}: the x-only route (y recovery; the fallback without explicit parameters) agrees too`, () => {
      const x = xOnlyGroup(id)!;
      fc.assert(
        fc.property(scalar, scalar, (a, k) => {
          agree(x, k, x.decodePoint(g.Point.BASE.multiply(a).toBytes(false)));
        }),
        { numRuns: id >= 17 ? 2 : 5 },
      );
      agree(x, n - 1n, g.Point.BASE);
      agree(x, 2n, g.Point.BASE.negate());
    });

    it(`${g.name}: edge scalars and the base point itself (the explicit parameters are then the named curve)`, () => {
      const G = g.Point.BASE;
      const p = g.decodePoint(G.multiply(0x1234567n).toBytes(false));
      for (const k of [1n, 2n, n - 1n, n - 2n]) {
        agree(g, k, p);
        agree(g, k, G);
        agree(g, k, G.negate());
      }
    });
  }
});

describe('Generic Mapping without forming G\' (ICAO 9303-11 §4.4.3.3.1)', () => {
  for (const id of SUPPORTED_CURVE_IDS) {
    const g = standardizedGroup(id)!;
    const n = g.curve.n;
    it(`${g.name}: SK_DH·G' equals SK_DH·(s·G + SK_Map·PK), and G' = O is refused`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.bigInt({ min: 1n, max: n - 1n }), fc.bigInt({ min: 1n, max: n - 1n }), fc.bigInt({ min: 1n, max: n - 1n }), (s, skMap, b, skDh) => {
          if (bytesToBigint(s) % n === 0n) return;
          const pk = g.decodePoint(g.Point.BASE.multiply(b).toBytes(false));
          const gPrime = g.Point.BASE.multiply(bytesToBigint(s) % n).add(pk.multiply(skMap));
          if (gPrime.is0()) return;
          expect(hex(g.encodePoint(mappedPublicKey(g, s, skMap, pk, skDh)))).toBe(hex(gPrime.multiply(skDh).toBytes(false)));
        }),
        { numRuns: id >= 17 ? 2 : 5 },
      );
      // PK_Map,peer = −(s / SK_Map)·G makes G' = s·G + SK_Map·PK the point at infinity.
      const s = new Uint8Array(16).fill(0x5a);
      const skMap = 0x1234n;
      const sk = bytesToBigint(s) % n;
      const inv = (v: bigint): bigint => g.Point.Fn.inv(v);
      const pk = g.decodePoint(g.Point.BASE.multiply(n - ((sk * inv(skMap)) % n)).toBytes(false));
      expect(() => mappedPublicKey(g, s, skMap, pk, 0x77n)).toThrow(PaceCryptoError);
      expect(() => mapGenerator(g, s, skMap, pk)).toThrow(PaceCryptoError);
    });
  }
});
