/**
 * MACs of secure messaging: ISO/IEC 9797-1 MAC algorithm 3 (Annex B examples, ICAO 9303-11
 * Appendix D MACs) and AES-CMAC (RFC 4493 examples), the JavaScript AES block used for short
 * MACs (FIPS 197 Appendix C), and properties against references built from the plain CBC/ECB
 * primitives of `cipher.ts` — which also prove that the long-lived cipher contexts reset their
 * chaining between messages.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { bytesToHex, concatBytes, hexToBytes } from '../src/bytes/index.js';
import { cbcEncrypt, ecbDecryptBlock, ecbEncryptBlock, pad2 } from '../src/crypto/cipher.js';
import { AesCmac, RetailMac, aesCmac, retailMac, sessionMac } from '../src/crypto/mac.js';
import { AesBlock } from '../src/crypto/_aes.js';

const h = (s: string): Uint8Array => hexToBytes(s);
const hex = (b: Uint8Array): string => bytesToHex(b);
const json = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../test-vectors/${name}`, import.meta.url), 'utf8')) as T;

const ISO = json<{ key: string; keyPrime: string; macLength: number; examples: { name: string; data: string; padding: 1 | 2; mac: string }[] }>(
  'iso-9797-1-annex-b.json',
);
const RFC = json<{ key: string; subkeys: { l: string; k1: string; k2: string }; examples: { name: string; message: string; mac: string }[] }>(
  'rfc4493-aes-cmac.json',
);
const D = json<{
  d2: { kEnc: string; kMac: string };
  d3: { eIfd: string; mIfd: string; eIc: string; mIc: string; ksMac: string };
  d4: { steps: { name: string; n: string; cc: string; responseMacInput: string; responseCc: string }[] };
}>('icao-9303-11-appendix-d.json');

describe('ISO/IEC 9797-1 MAC algorithm 3', () => {
  for (const ex of ISO.examples) {
    it(ex.name, () => {
      const key = h(ISO.key + ISO.keyPrime);
      const data = new TextEncoder().encode(ex.data);
      expect(hex(retailMac(key, data, { padding: ex.padding, length: ISO.macLength }))).toBe(ex.mac);
      expect(hex(retailMac(key, data, { padding: ex.padding }).subarray(0, ISO.macLength))).toBe(ex.mac);
    });
  }

  it('ICAO 9303-11 Appendix D.3: M_IFD and M_IC', () => {
    expect(hex(retailMac(h(D.d2.kMac), h(D.d3.eIfd)))).toBe(D.d3.mIfd);
    expect(hex(retailMac(h(D.d2.kMac), h(D.d3.eIc)))).toBe(D.d3.mIc);
  });

  it('ICAO 9303-11 Appendix D.4: the MAC of N for each command and of K for each response', () => {
    const mac = new RetailMac(h(D.d3.ksMac));
    for (const s of D.d4.steps) {
      expect(hex(mac.mac(h(s.n), { padding: 'none' })), s.name).toBe(s.cc);
      expect(hex(mac.mac(h(s.responseMacInput), { padding: 'none' })), s.name).toBe(s.responseCc);
    }
  });

  it('matches the definition (single-DES CBC under K, then e_K(d_K\'(H))) on random input, one object reused', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.array(fc.uint8Array({ maxLength: 70 }), { minLength: 1, maxLength: 5 }), (key, messages) => {
        const k1k1 = concatBytes(key.subarray(0, 8), key.subarray(0, 8));
        const k2k2 = concatBytes(key.subarray(8), key.subarray(8));
        const mac = new RetailMac(key);
        for (const m of messages) {
          const padded = pad2(m, 8);
          const cbc = cbcEncrypt('3des', k1k1, padded);
          const hq = cbc.subarray(cbc.length - 8);
          const g = ecbEncryptBlock('3des', k1k1, ecbDecryptBlock('3des', k2k2, hq));
          expect(hex(mac.mac(m))).toBe(hex(g));
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('AES-CMAC (RFC 4493)', () => {
  const key = h(RFC.key);

  it('subkey generation: L = AES-128(K, 0)', () => {
    expect(hex(ecbEncryptBlock('aes', key, new Uint8Array(16)))).toBe(RFC.subkeys.l);
  });

  for (const ex of RFC.examples) {
    it(ex.name, () => {
      expect(hex(aesCmac(key, h(ex.message)))).toBe(ex.mac);
      expect(hex(aesCmac(key, h(ex.message), 8))).toBe(ex.mac.slice(0, 16));
    });
  }

  it('one object, the four examples in any order (contexts reset between messages)', () => {
    const mac = new AesCmac(key);
    for (const ex of [...RFC.examples, ...RFC.examples.slice().reverse()]) expect(hex(mac.mac(h(ex.message)))).toBe(ex.mac);
  });

  it('matches the definition on random keys and lengths, across the JavaScript/OpenSSL boundary', () => {
    const dbl = (b: Uint8Array): Uint8Array => {
      const out = new Uint8Array(16);
      for (let i = 0; i < 16; i++) out[i] = ((b[i]! << 1) | (i < 15 ? b[i + 1]! >>> 7 : 0)) & 0xff;
      if (b[0]! & 0x80) out[15]! ^= 0x87;
      return out;
    };
    fc.assert(
      fc.property(
        fc.constantFrom(16, 24, 32).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
        fc.array(fc.uint8Array({ maxLength: 120 }), { minLength: 1, maxLength: 6 }),
        (k, messages) => {
          const l = ecbEncryptBlock('aes', k, new Uint8Array(16));
          const k1 = dbl(l);
          const k2 = dbl(k1);
          const mac = new AesCmac(k);
          const session = sessionMac('aes', k);
          for (const m of messages) {
            const complete = m.length > 0 && m.length % 16 === 0;
            const last = complete ? m.slice() : pad2(m, 16);
            const x = last.slice();
            const o = x.length - 16;
            for (let i = 0; i < 16; i++) x[o + i]! ^= (complete ? k1 : k2)[i]!;
            const cbc = cbcEncrypt('aes', k, x);
            const t = cbc.subarray(cbc.length - 16);
            expect(hex(mac.mac(m))).toBe(hex(t));
            // What SM does: CMAC over a message padded with method 2 (complete blocks → K1).
            const p = pad2(m, 16);
            expect(hex(session.macPadded(p.slice()))).toBe(hex(aesCmac(k, p, 8)));
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('the JavaScript AES block (FIPS 197)', () => {
  const pt = h('00112233445566778899AABBCCDDEEFF');
  const cases: [string, string, string][] = [
    ['C.1 AES-128', '000102030405060708090A0B0C0D0E0F', '69C4E0D86A7B0430D8CDB78070B4C55A'],
    ['C.2 AES-192', '000102030405060708090A0B0C0D0E0F1011121314151617', 'DDA97CA4864CDFE06EAF70A0EC0D7191'],
    ['C.3 AES-256', '000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F', '8EA2B7CA516745BFEAFC49904B496089'],
  ];
  for (const [name, key, ct] of cases) {
    it(`FIPS 197 Appendix ${name}`, () => {
      const st = new Uint8Array(16);
      new AesBlock(h(key)).chain(st, pt, 0, 1);
      expect(hex(st)).toBe(ct);
    });
  }

  it('equals OpenSSL on random keys and chains', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(16, 24, 32).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
        fc.integer({ min: 1, max: 20 }).chain((n) => fc.uint8Array({ minLength: 16 * n, maxLength: 16 * n })),
        (k, data) => {
          const st = new Uint8Array(16);
          new AesBlock(k).chain(st, data, 0, data.length / 16);
          const cbc = cbcEncrypt('aes', k, data);
          expect(hex(st)).toBe(hex(cbc.subarray(cbc.length - 16)));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('inputs and errors', () => {
  it('never modifies the caller\'s key or data, also when they are Buffers', () => {
    const k = Buffer.from(RFC.key, 'hex');
    const m = Buffer.from(RFC.examples[3]!.message, 'hex');
    aesCmac(k, m);
    new AesCmac(k).mac(m);
    expect(k.toString('hex').toUpperCase()).toBe(RFC.key);
    expect(m.toString('hex').toUpperCase()).toBe(RFC.examples[3]!.message);
    const rk = Buffer.from(ISO.key + ISO.keyPrime, 'hex');
    const d = Buffer.from('0011223344556677', 'hex');
    retailMac(rk, d, { padding: 'none' });
    expect(rk.toString('hex').toUpperCase()).toBe(ISO.key + ISO.keyPrime);
    expect(d.toString('hex')).toBe('0011223344556677');
  });

  it('errors name the argument, never its bytes', () => {
    expect(() => retailMac(h('0011'), new Uint8Array(8))).toThrow(/^key: expected 16 bytes, got 2$/);
    expect(() => aesCmac(new Uint8Array(15), new Uint8Array(8))).toThrow(/^key: expected 16 or 24 or 32 bytes, got 15$/);
    expect(() => retailMac(h(ISO.key + ISO.keyPrime), new Uint8Array(7), { padding: 'none' })).toThrow(/multiple of 8/);
    expect(() => aesCmac(h(RFC.key), new Uint8Array(1), 17)).toThrow(/length/);
    expect(() => sessionMac('des' as 'aes', h(RFC.key))).toThrow(/cipher/);
  });
});
