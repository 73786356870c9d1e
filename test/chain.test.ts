/**
 * The internal long-lived CBC engines of `crypto/_chain.ts` (NIST SP 800-38A §6.2 with the
 * chaining value reset per message by XOR) and the `macInto` hot path of `crypto/mac.ts`, against
 * the one-shot OpenSSL primitives of `cipher.ts`: random keys of every size, random IVs (or none,
 * i.e. zero), random lengths and offsets, many messages through one engine in any order — which
 * is what proves that no message leaks its chaining value into the next.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { bytesToHex } from '../src/bytes/index.js';
import { cbcDecrypt, cbcEncrypt, pad2, type CipherAlgorithm } from '../src/crypto/cipher.js';
import { CbcDecryptor, CbcEncryptor } from '../src/crypto/_chain.js';
import { aesCmac, retailMac, sessionMac } from '../src/crypto/mac.js';

const hex = (b: Uint8Array): string => bytesToHex(b);

/** An algorithm with a random key of one of its lengths (two- and three-key TDEA; AES-128/192/256). */
const keyArb = fc
  .constantFrom<[CipherAlgorithm, number]>(['aes', 16], ['aes', 24], ['aes', 32], ['3des', 16], ['3des', 24])
  .chain(([alg, n]) => fc.tuple(fc.constant(alg), fc.uint8Array({ minLength: n, maxLength: n })));

/** One message: 1..20 blocks, an optional IV, and where it sits inside a larger scratch buffer. */
const messageArb = fc.record({
  blocks: fc.integer({ min: 1, max: 20 }),
  seed: fc.integer({ min: 0, max: 255 }),
  iv: fc.option(fc.uint8Array({ minLength: 16, maxLength: 16 }), { nil: undefined }),
  before: fc.integer({ min: 0, max: 40 }),
  after: fc.integer({ min: 0, max: 40 }),
});

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (seed * 31 + i * 17 + (i >>> 3)) & 0xff;
  return out;
}

describe('persistent CBC contexts with an arbitrary IV per message equal OpenSSL one-shot CBC', () => {
  it('encryptScratch / encryptRange, chainingValue = last ciphertext block', () => {
    fc.assert(
      fc.property(keyArb, fc.array(messageArb, { minLength: 1, maxLength: 8 }), ([alg, key], messages) => {
        const bs = alg === 'aes' ? 16 : 8;
        const enc = new CbcEncryptor(alg, key);
        for (const m of messages) {
          const pt = bytes(m.blocks * bs, m.seed);
          const iv = m.iv?.subarray(0, bs);
          const expected = cbcEncrypt(alg, key, pt, iv);
          // Half the messages through encryptRange inside a larger buffer, half as a whole scratch.
          let got: Uint8Array;
          if (m.before % 2 === 0) {
            const buf = new Uint8Array(m.before + pt.length + m.after).fill(0xa5);
            buf.set(pt, m.before);
            got = enc.encryptRange(buf, m.before, m.before + pt.length, iv);
            // Outside the range nothing was touched.
            expect(buf.subarray(0, m.before).every((b) => b === 0xa5)).toBe(true);
            expect(buf.subarray(m.before + pt.length).every((b) => b === 0xa5)).toBe(true);
          } else {
            got = enc.encryptScratch(pt.slice(), iv);
          }
          expect(hex(got)).toBe(hex(expected));
          expect(hex(enc.chainingValue)).toBe(hex(expected.subarray(expected.length - bs)));
          const into = new Uint8Array(bs + 4).fill(0x5a);
          enc.chainingValueInto(into, 2, bs);
          expect(hex(into.subarray(2, 2 + bs))).toBe(hex(expected.subarray(expected.length - bs)));
          expect(into[0]! === 0x5a && into[1]! === 0x5a && into[bs + 2]! === 0x5a && into[bs + 3]! === 0x5a).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('encryptRange: the same buffer and range again (its view is cached) still sees new contents', () => {
    const key = bytes(16, 1);
    const enc = new CbcEncryptor('aes', key);
    const buf = new Uint8Array(64);
    for (let seed = 0; seed < 5; seed++) {
      buf.set(bytes(48, seed), 8);
      const expected = cbcEncrypt('aes', key, bytes(48, seed));
      expect(hex(enc.encryptRange(buf, 8, 56))).toBe(hex(expected));
    }
  });

  it('decrypt under any IV, data not modified', () => {
    fc.assert(
      fc.property(keyArb, fc.array(messageArb, { minLength: 1, maxLength: 8 }), ([alg, key], messages) => {
        const bs = alg === 'aes' ? 16 : 8;
        const dec = new CbcDecryptor(alg, key);
        for (const m of messages) {
          const ct = bytes(m.blocks * bs, m.seed);
          const copy = ct.slice();
          const iv = m.iv?.subarray(0, bs);
          expect(hex(dec.decrypt(ct, iv))).toBe(hex(cbcDecrypt(alg, key, ct, iv)));
          expect(hex(ct)).toBe(hex(copy));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('encrypt then decrypt through two long-lived engines gives the plaintext back, messages interleaved', () => {
    fc.assert(
      fc.property(keyArb, fc.array(messageArb, { minLength: 1, maxLength: 10 }), ([alg, key], messages) => {
        const bs = alg === 'aes' ? 16 : 8;
        const enc = new CbcEncryptor(alg, key);
        const dec = new CbcDecryptor(alg, key);
        for (const m of messages) {
          const pt = bytes(m.blocks * bs, m.seed);
          const iv = m.iv?.subarray(0, bs);
          const ct = Uint8Array.from(enc.encryptScratch(pt.slice(), iv));
          expect(hex(dec.decrypt(ct, iv))).toBe(hex(pt));
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('SessionMac.macInto (the SM hot path) equals the one-shot MACs', () => {
  it('AES-CMAC and retail MAC, lengths across the JavaScript/OpenSSL boundary, written at an offset', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<[CipherAlgorithm, number]>(['aes', 16], ['aes', 24], ['aes', 32], ['3des', 16]).chain(([alg, n]) =>
          fc.tuple(fc.constant(alg), fc.uint8Array({ minLength: n, maxLength: n })),
        ),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 320 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 8 })), {
          minLength: 1,
          maxLength: 6,
        }),
        ([alg, key], messages) => {
          const mac = sessionMac(alg, key);
          const bs = mac.blockSize;
          for (const [len, seed, at] of messages) {
            const padded = pad2(bytes(len, seed), bs);
            const expected = alg === 'aes' ? aesCmac(key, padded, 8) : retailMac(key, padded, { padding: 'none' });
            // A scratch larger than the message: only [0, len) counts.
            const scratch = new Uint8Array(padded.length + 24).fill(0xee);
            scratch.set(padded);
            const out = new Uint8Array(at + 8 + 3).fill(0x77);
            mac.macInto(scratch, padded.length, out, at);
            expect(hex(out.subarray(at, at + 8))).toBe(hex(expected));
            expect(out.subarray(0, at).every((b) => b === 0x77) && out.subarray(at + 8).every((b) => b === 0x77)).toBe(true);
            expect(hex(mac.macPadded(padded.slice()))).toBe(hex(expected));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses a length that is not a non-empty whole number of blocks or exceeds the scratch', () => {
    const aes = sessionMac('aes', bytes(16, 2));
    const tdes = sessionMac('3des', bytes(16, 3));
    const out = new Uint8Array(8);
    expect(() => aes.macInto(new Uint8Array(32), 0, out, 0)).toThrow(/multiple of 16/);
    expect(() => aes.macInto(new Uint8Array(32), 24, out, 0)).toThrow(/multiple of 16/);
    expect(() => aes.macInto(new Uint8Array(32), 48, out, 0)).toThrow(/len: 48 exceeds the scratch of 32 bytes/);
    expect(() => tdes.macInto(new Uint8Array(16), 12, out, 0)).toThrow(/multiple of 8/);
    expect(() => tdes.macInto(new Uint8Array(16), 24, out, 0)).toThrow(/len: 24 exceeds the scratch of 16 bytes/);
  });
});
