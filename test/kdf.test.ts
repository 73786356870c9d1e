/**
 * Key derivation of ICAO 9303-11 §9.7.1: the Appendix D values (document basic access keys and
 * BAC session keys), the hash and length per algorithm, and DES parity.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { bytesToHex, hexToBytes } from '../src/bytes/index.js';
import { adjustDesParity, kdf, type KdfAlgorithm } from '../src/crypto/kdf.js';

const h = (s: string): Uint8Array => hexToBytes(s);
const hex = (b: Uint8Array): string => bytesToHex(b);
const D = JSON.parse(readFileSync(new URL('../test-vectors/icao-9303-11-appendix-d.json', import.meta.url), 'utf8')) as {
  d1: { kSeed: string };
  d2: { kEncSha1: string; kEnc: string; kMacSha1: string; kMac: string };
  d3: { kSeed: string; ksEnc: string; ksMac: string };
};

function oddParity(b: number): boolean {
  let n = 0;
  for (let x = b; x; x &= x - 1) n++;
  return n % 2 === 1;
}

describe('ICAO 9303-11 Appendix D', () => {
  it('D.2: KEnc and KMac from Kseed, parity adjusted', () => {
    const seed = h(D.d1.kSeed);
    expect(hex(kdf(seed, 1, '3des'))).toBe(D.d2.kEnc);
    expect(hex(kdf(seed, 2, '3des'))).toBe(D.d2.kMac);
    // Before the parity adjustment the keys are the first 16 bytes of the printed SHA-1 values.
    expect(hex(kdf(seed, 1, 'aes-128'))).toBe(D.d2.kEncSha1.slice(0, 32));
    expect(hex(kdf(seed, 2, 'aes-128'))).toBe(D.d2.kMacSha1.slice(0, 32));
  });

  it('D.3: KSenc and KSmac from K.IFD ⊕ K.IC', () => {
    expect(hex(kdf(h(D.d3.kSeed), 1, '3des'))).toBe(D.d3.ksEnc);
    expect(hex(kdf(h(D.d3.kSeed), 2, '3des'))).toBe(D.d3.ksMac);
  });
});

describe('§9.7.1 for every algorithm', () => {
  const spec: Record<KdfAlgorithm, ['sha1' | 'sha256', number]> = {
    '3des': ['sha1', 16],
    'aes-128': ['sha1', 16],
    'aes-192': ['sha256', 24],
    'aes-256': ['sha256', 32],
  };

  it('keydata = H(K ‖ c) with c a 32-bit big-endian counter; 3DES keys with odd parity', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 80 }),
        fc.constantFrom<1 | 2 | 3>(1, 2, 3),
        fc.constantFrom<KdfAlgorithm>('3des', 'aes-128', 'aes-192', 'aes-256'),
        (secret, c, alg) => {
          const [hash, len] = spec[alg];
          const digest = createHash(hash).update(secret).update(Uint8Array.of(0, 0, 0, c)).digest();
          const key = kdf(secret, c, alg);
          expect(key.length).toBe(len);
          if (alg === '3des') {
            for (let i = 0; i < len; i++) {
              expect(oddParity(key[i]!)).toBe(true);
              expect(key[i]! & 0xfe).toBe(digest[i]! & 0xfe);
            }
          } else {
            expect(hex(key)).toBe(hex(digest.subarray(0, len)));
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('the secret is not modified', () => {
    const s = h(D.d1.kSeed);
    kdf(s, 3, 'aes-256');
    expect(hex(s)).toBe(D.d1.kSeed);
  });

  it('adjustDesParity sets bit 1 so every byte has odd parity', () => {
    expect(hex(adjustDesParity(h('0001FEFF8081')))).toBe('0101FEFE8080');
  });

  it('rejects a bad counter or algorithm by name', () => {
    expect(() => kdf(new Uint8Array(16), 4 as 1, '3des')).toThrow(/^counter: expected 1 \(KEnc\), 2 \(KMac\) or 3 \(PACE\), got 4$/);
    expect(() => kdf(new Uint8Array(16), 1, 'aes' as 'aes-128')).toThrow(/^alg: expected/);
    expect(() => kdf('x' as unknown as Uint8Array, 1, '3des')).toThrow(/^secret: expected Uint8Array/);
  });
});
