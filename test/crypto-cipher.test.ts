import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { ByteInputError, bytesToHex, hexToBytes } from '../src/bytes/index.js';
import {
  PaddingError,
  blockSizeOf,
  cbcDecrypt,
  cbcEncrypt,
  ecbDecryptBlock,
  ecbEncryptBlock,
  pad2,
  unpad2,
  type CipherAlgorithm,
} from '../src/crypto/cipher.js';

const h = (s: string): Uint8Array => hexToBytes(s);
const hex = (b: Uint8Array): string => bytesToHex(b);

// Published vectors, byte for byte. Kept inline (not JSON) because this issue owns only the test file.
const SP800_38A_PLAINTEXT =
  '6BC1BEE22E409F96E93D7E117393172A' +
  'AE2D8A571E03AC9C9EB76FAC45AF8E51' +
  '30C81C46A35CE411E5FBC1191A0A52EF' +
  'F69F2445DF4F9B17AD2B417BE66C3710';
const SP800_38A_IV = '000102030405060708090A0B0C0D0E0F';

const CBC_VECTORS: readonly { name: string; algorithm: CipherAlgorithm; key: string; iv: string; pt: string; ct: string }[] = [
  {
    name: 'NIST SP 800-38A F.2.1 CBC-AES128.Encrypt',
    algorithm: 'aes',
    key: '2B7E151628AED2A6ABF7158809CF4F3C',
    iv: SP800_38A_IV,
    pt: SP800_38A_PLAINTEXT,
    ct:
      '7649ABAC8119B246CEE98E9B12E9197D' +
      '5086CB9B507219EE95DB113A917678B2' +
      '73BED6B8E3C1743B7116E69E22229516' +
      '3FF1CAA1681FAC09120ECA307586E1A7',
  },
  {
    name: 'NIST SP 800-38A F.2.3 CBC-AES192.Encrypt',
    algorithm: 'aes',
    key: '8E73B0F7DA0E6452C810F32B809079E562F8EAD2522C6B7B',
    iv: SP800_38A_IV,
    pt: SP800_38A_PLAINTEXT,
    ct:
      '4F021DB243BC633D7178183A9FA071E8' +
      'B4D9ADA9AD7DEDF4E5E738763F69145A' +
      '571B242012FB7AE07FA9BAAC3DF102E0' +
      '08B0E27988598881D920A9E64F5615CD',
  },
  {
    name: 'NIST SP 800-38A F.2.5 CBC-AES256.Encrypt',
    algorithm: 'aes',
    key: '603DEB1015CA71BE2B73AEF0857D77811F352C073B6108D72D9810A30914DFF4',
    iv: SP800_38A_IV,
    pt: SP800_38A_PLAINTEXT,
    ct:
      'F58C4C04D6E5F1BA779EABFB5F7BFBD6' +
      '9CFC4E967EDB808D679F777BC6702C7D' +
      '39F23369A9D9BACFA530E26304231461' +
      'B2EB05E2C39BE9FCDA6C19078C6A9D1B',
  },
  {
    // ICAO Doc 9303-11 Appendix D.3 (BAC worked example): E_IFD = E[K_Enc](S), 2-key 3DES, zero IV.
    name: 'ICAO 9303-11 Appendix D.3 BAC: E_IFD = 3DES-CBC(K_Enc, S)',
    algorithm: '3des',
    key: 'AB94FDECF2674FDFB9B391F85D7F76F2',
    iv: '0000000000000000',
    pt: '781723860C06C226' + '4608F91988702212' + '0B795240CB7049B01C19B33E32804F0B',
    ct: '72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2',
  },
];

describe('CBC without padding: published vectors', () => {
  it.each(CBC_VECTORS)('$name', (v) => {
    const ct = cbcEncrypt(v.algorithm, h(v.key), h(v.pt), h(v.iv));
    expect(hex(ct)).toBe(v.ct);
    expect(hex(cbcDecrypt(v.algorithm, h(v.key), h(v.ct), h(v.iv)))).toBe(v.pt);
  });

  it('defaults to a zero IV (the BAC example)', () => {
    const v = CBC_VECTORS[3]!;
    expect(hex(cbcEncrypt('3des', h(v.key), h(v.pt)))).toBe(v.ct);
  });

  it('accepts empty data (zero blocks)', () => {
    expect(cbcEncrypt('aes', new Uint8Array(16), new Uint8Array(0)).length).toBe(0);
  });
});

describe('single-block ECB: published vectors', () => {
  it('NIST SP 800-38A F.1.1 ECB-AES128.Encrypt, block 1', () => {
    const key = h('2B7E151628AED2A6ABF7158809CF4F3C');
    const ct = ecbEncryptBlock('aes', key, h('6BC1BEE22E409F96E93D7E117393172A'));
    expect(hex(ct)).toBe('3AD77BB40D7A3660A89ECAF32466EF97');
    expect(hex(ecbDecryptBlock('aes', key, ct))).toBe('6BC1BEE22E409F96E93D7E117393172A');
  });

  it('NIST SP 800-67 example: 3-key TDEA ECB over "The qufck brown fox jump"', () => {
    const key = h('0123456789ABCDEF' + '23456789ABCDEF01' + '456789ABCDEF0123');
    const blocks = [
      ['5468652071756663', 'A826FD8CE53B855F'],
      ['6B2062726F776E20', 'CCE21C8112256FE6'],
      ['666F78206A756D70', '68D5C05DD9B6B900'],
    ] as const;
    for (const [pt, ct] of blocks) {
      expect(hex(ecbEncryptBlock('3des', key, h(pt)))).toBe(ct);
      expect(hex(ecbDecryptBlock('3des', key, h(ct)))).toBe(pt);
    }
  });

  it('2-key 3DES equals 3-key 3DES with K3 = K1 (SP 800-67 keying option 2)', () => {
    const k16 = h('AB94FDECF2674FDFB9B391F85D7F76F2');
    const k24 = h('AB94FDECF2674FDFB9B391F85D7F76F2AB94FDECF2674FDF');
    const block = h('0011223344556677');
    expect(hex(ecbEncryptBlock('3des', k16, block))).toBe(hex(ecbEncryptBlock('3des', k24, block)));
  });

  it('does not modify or keep the caller key', () => {
    const key = h('AB94FDECF2674FDFB9B391F85D7F76F2');
    ecbEncryptBlock('3des', key, new Uint8Array(8));
    expect(hex(key)).toBe('AB94FDECF2674FDFB9B391F85D7F76F2');
  });
});

describe('guards name the bad argument', () => {
  const err = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(ByteInputError);
      return (e as Error).message;
    }
    throw new Error('expected a ByteInputError');
  };

  it('key length', () => {
    expect(err(() => cbcEncrypt('3des', new Uint8Array(8), new Uint8Array(8)))).toBe('key: expected 16 or 24 bytes, got 8');
    expect(err(() => cbcEncrypt('aes', new Uint8Array(20), new Uint8Array(16)))).toBe(
      'key: expected 16 or 24 or 32 bytes, got 20',
    );
  });

  it('data not a whole number of blocks', () => {
    expect(err(() => cbcEncrypt('aes', new Uint8Array(16), new Uint8Array(15)))).toMatch(/^data: expected a multiple of 16 bytes/);
    expect(err(() => cbcDecrypt('3des', new Uint8Array(16), new Uint8Array(9)))).toMatch(/^data: expected a multiple of 8 bytes/);
  });

  it('iv length, block length, algorithm, block size', () => {
    expect(err(() => cbcEncrypt('aes', new Uint8Array(16), new Uint8Array(16), new Uint8Array(8)))).toBe(
      'iv: expected 16 bytes, got 8',
    );
    expect(err(() => ecbEncryptBlock('3des', new Uint8Array(16), new Uint8Array(16)))).toBe('block: expected 8 bytes, got 16');
    expect(err(() => blockSizeOf('des' as CipherAlgorithm))).toBe("algorithm: expected '3des' or 'aes', got des");
    expect(err(() => pad2(new Uint8Array(1), 0))).toBe('blockSize: expected an integer 1..255, got 0');
    expect(err(() => cbcEncrypt('aes', 'key' as unknown as Uint8Array, new Uint8Array(16)))).toBe(
      'key: expected Uint8Array, got string',
    );
  });

  it('never shows key bytes in a message', () => {
    const key = h('DEADBEEFDEADBEEFDEADBEEFDEADBEEF11');
    expect(err(() => cbcEncrypt('aes', key, new Uint8Array(16)))).not.toMatch(/DEAD/i);
  });
});

describe('ISO/IEC 9797-1 padding method 2', () => {
  it('worked examples', () => {
    expect(hex(pad2(h('0102'), 8))).toBe('0102800000000000');
    expect(hex(pad2(h('0102030405060708'), 8))).toBe('01020304050607088000000000000000');
    expect(hex(pad2(new Uint8Array(0), 16))).toBe('80000000000000000000000000000000');
    expect(hex(unpad2(h('0102800000000000'), 8))).toBe('0102');
    expect(hex(unpad2(h('8000000000000000'), 8))).toBe('');
  });

  it('unpad2 is strict', () => {
    const bad = ['', '01028000000000', '0102030405060708', '0102800000000001', '8000000000000000' + '0000000000000000'];
    // The last case: 80 must be in the last block; a whole block of zeros after it is not method 2.
    for (const b of bad) expect(() => unpad2(h(b), 8), b).toThrow(PaddingError);
  });

  it('padding errors do not show the data', () => {
    expect(() => unpad2(h('DEADBEEFDEADBEEF'), 8)).toThrow(PaddingError);
    expect(() => unpad2(h('DEADBEEFDEADBEEF'), 8)).not.toThrow(/DEAD/i);
  });

  it('unpad2(pad2(x)) = x for every block size', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.constantFrom(8, 16), (x, bs) => {
        const p = pad2(x, bs);
        expect(p.length % bs).toBe(0);
        expect(p.length - x.length).toBeGreaterThanOrEqual(1);
        expect(p.length - x.length).toBeLessThanOrEqual(bs);
        expect(hex(unpad2(p, bs))).toBe(hex(x));
      }),
    );
  });

  it('pad2(unpad2(y)) = y for every validly padded y', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.constantFrom(8, 16), (x, bs) => {
        const y = pad2(x, bs);
        expect(hex(pad2(unpad2(y, bs), bs))).toBe(hex(y));
      }),
    );
  });

  it('unpad2 either throws PaddingError or returns a prefix whose pad2 is the input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), fc.constantFrom(8, 16), (y, bs) => {
        let x: Uint8Array;
        try {
          x = unpad2(y, bs);
        } catch (e) {
          expect(e).toBeInstanceOf(PaddingError);
          return;
        }
        expect(hex(pad2(x, bs))).toBe(hex(y));
      }),
    );
  });
});

describe('CBC round trips', () => {
  it('decrypt(encrypt(x)) = x for both algorithms and all key sizes', () => {
    const arb = fc.constantFrom<[CipherAlgorithm, number]>(['3des', 16], ['3des', 24], ['aes', 16], ['aes', 24], ['aes', 32]).chain(
      ([alg, klen]) =>
        fc.tuple(
          fc.constant(alg),
          fc.uint8Array({ minLength: klen, maxLength: klen }),
          fc.uint8Array({ maxLength: 64 }),
          fc.uint8Array({ minLength: blockSizeOf(alg), maxLength: blockSizeOf(alg) }),
        ),
    );
    fc.assert(
      fc.property(arb, ([alg, key, msg, iv]) => {
        const bs = blockSizeOf(alg);
        const p = pad2(msg, bs);
        const ct = cbcEncrypt(alg, key, p, iv);
        expect(ct.length).toBe(p.length);
        expect(hex(unpad2(cbcDecrypt(alg, key, ct, iv), bs))).toBe(hex(msg));
      }),
    );
  });
});
