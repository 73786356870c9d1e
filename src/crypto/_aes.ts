/**
 * Internal: the AES forward cipher (FIPS 197) in JavaScript, for the short CBC-MACs and single
 * IV blocks of secure messaging. Calling OpenSSL through Node costs about a microsecond per call
 * whatever the length, while a block here costs well under a tenth of that; for the 2–4 block
 * MACs of protected commands, JavaScript wins, and OpenSSL keeps everything longer. Tests check
 * this against OpenSSL on random keys and blocks and against FIPS 197 Appendix C.
 *
 * Table-based AES is not constant-time with respect to cache timing. That is acceptable here:
 * the simulator and terminal tools run on the tester's machine, and the same code paths already
 * expose far more (the keys sit in process memory). Do not reuse this for anything else.
 *
 * The S-box is computed from its definition (multiplicative inverse in GF(2^8) and the affine
 * map, FIPS 197 §5.1.1); the T-tables combine SubBytes, ShiftRows and MixColumns (§5.1.1–5.1.3)
 * for big-endian column words.
 */

const SBOX = new Uint8Array(256);
const T0 = new Int32Array(256);
const T1 = new Int32Array(256);
const T2 = new Int32Array(256);
const T3 = new Int32Array(256);

/** xtime: multiplication by x in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1 (FIPS 197 §4.2.1). */
function xtime(b: number): number {
  return ((b << 1) ^ (b & 0x80 ? 0x1b : 0)) & 0xff;
}

(function init(): void {
  // Walk the multiplicative group with generator 3 to get inverses: inv(3^i) = 3^(255-i).
  const exp = new Uint8Array(256);
  const log = new Uint8Array(256);
  let x = 1;
  for (let i = 0; i < 255; i++) {
    exp[i] = x;
    log[x] = i;
    x ^= xtime(x); // x · 3
  }
  for (let a = 0; a < 256; a++) {
    const inv = a === 0 ? 0 : exp[(255 - log[a]!) % 255]!;
    // Affine transformation: b ⊕ rot(b,1) ⊕ rot(b,2) ⊕ rot(b,3) ⊕ rot(b,4) ⊕ 63.
    let s = inv;
    let r = inv;
    for (let k = 0; k < 4; k++) {
      r = ((r << 1) | (r >>> 7)) & 0xff;
      s ^= r;
    }
    SBOX[a] = s ^ 0x63;
  }
  for (let a = 0; a < 256; a++) {
    const s = SBOX[a]!;
    const s2 = xtime(s);
    const s3 = s2 ^ s;
    const w = (s2 << 24) | (s << 16) | (s << 8) | s3;
    T0[a] = w;
    T1[a] = (w >>> 8) | (w << 24);
    T2[a] = (w >>> 16) | (w << 16);
    T3[a] = (w >>> 24) | (w << 8);
  }
})();

/** An expanded AES key (FIPS 197 §5.2) and the forward cipher. */
export class AesBlock {
  readonly #rk: Int32Array;
  readonly #rounds: number;

  /** `key`: 16, 24 or 32 bytes (checked by the callers). */
  constructor(key: Uint8Array) {
    const nk = key.length >>> 2;
    const rounds = nk + 6;
    const rk = new Int32Array(4 * (rounds + 1));
    for (let i = 0; i < nk; i++) {
      rk[i] = (key[4 * i]! << 24) | (key[4 * i + 1]! << 16) | (key[4 * i + 2]! << 8) | key[4 * i + 3]!;
    }
    let rcon = 1;
    for (let i = nk; i < rk.length; i++) {
      let t = rk[i - 1]!;
      if (i % nk === 0) {
        // RotWord, SubWord, Rcon.
        t = (SBOX[(t >>> 16) & 0xff]! << 24) | (SBOX[(t >>> 8) & 0xff]! << 16) | (SBOX[t & 0xff]! << 8) | SBOX[(t >>> 24) & 0xff]!;
        t ^= rcon << 24;
        rcon = xtime(rcon);
      } else if (nk > 6 && i % nk === 4) {
        t = (SBOX[(t >>> 24) & 0xff]! << 24) | (SBOX[(t >>> 16) & 0xff]! << 16) | (SBOX[(t >>> 8) & 0xff]! << 8) | SBOX[t & 0xff]!;
      }
      rk[i] = rk[i - nk]! ^ t;
    }
    this.#rk = rk;
    this.#rounds = rounds;
  }

  /**
   * CBC-MAC chaining over `n` whole blocks of `data` from `off`, starting from `state` (16 bytes,
   * updated in place): state = E(state ⊕ block) for each block. With a zero state this is CBC
   * encryption's last block; with one block and a zero state, the raw cipher.
   *
   * The rounds are written out with constant round-key offsets (nine for AES-128, two more each
   * for AES-192 and AES-256): a loop over them ran about 1.8 times slower in V8, which has to
   * bounds-check every variable index.
   */
  chain(state: Uint8Array, data: Uint8Array, off: number, n: number): void {
    const rk = this.#rk;
    const nr = this.#rounds;
    const fk = 4 * nr;
    let s0 = (state[0]! << 24) | (state[1]! << 16) | (state[2]! << 8) | state[3]!;
    let s1 = (state[4]! << 24) | (state[5]! << 16) | (state[6]! << 8) | state[7]!;
    let s2 = (state[8]! << 24) | (state[9]! << 16) | (state[10]! << 8) | state[11]!;
    let s3 = (state[12]! << 24) | (state[13]! << 16) | (state[14]! << 8) | state[15]!;
    let t0: number;
    let t1: number;
    let t2: number;
    let t3: number;
    for (let b = 0, p = off; b < n; b++, p += 16) {
      // AddRoundKey 0 over state ⊕ block.
      s0 ^= ((data[p]! << 24) | (data[p + 1]! << 16) | (data[p + 2]! << 8) | data[p + 3]!) ^ rk[0]!;
      s1 ^= ((data[p + 4]! << 24) | (data[p + 5]! << 16) | (data[p + 6]! << 8) | data[p + 7]!) ^ rk[1]!;
      s2 ^= ((data[p + 8]! << 24) | (data[p + 9]! << 16) | (data[p + 10]! << 8) | data[p + 11]!) ^ rk[2]!;
      s3 ^= ((data[p + 12]! << 24) | (data[p + 13]! << 16) | (data[p + 14]! << 8) | data[p + 15]!) ^ rk[3]!;
      // Rounds 1–9: SubBytes, ShiftRows, MixColumns, AddRoundKey in the T-tables.
      t0 = T0[s0 >>> 24]! ^ T1[(s1 >>> 16) & 0xff]! ^ T2[(s2 >>> 8) & 0xff]! ^ T3[s3 & 0xff]! ^ rk[4]!;
      t1 = T0[s1 >>> 24]! ^ T1[(s2 >>> 16) & 0xff]! ^ T2[(s3 >>> 8) & 0xff]! ^ T3[s0 & 0xff]! ^ rk[5]!;
      t2 = T0[s2 >>> 24]! ^ T1[(s3 >>> 16) & 0xff]! ^ T2[(s0 >>> 8) & 0xff]! ^ T3[s1 & 0xff]! ^ rk[6]!;
      t3 = T0[s3 >>> 24]! ^ T1[(s0 >>> 16) & 0xff]! ^ T2[(s1 >>> 8) & 0xff]! ^ T3[s2 & 0xff]! ^ rk[7]!;
      s0 = t0;
      s1 = t1;
      s2 = t2;
      s3 = t3;
      t0 = T0[s0 >>> 24]! ^ T1[(s1 >>> 16) & 0xff]! ^ T2[(s2 >>> 8) & 0xff]! ^ T3[s3 & 0xff]! ^ rk[8]!;
      t1 = T0[s1 >>> 24]! ^ T1[(s2 >>> 16) & 0xff]! ^ T2[(s3 >>> 8) & 0xff]! ^ T3[s0 & 0xff]! ^ rk[9]!;
      t2 = T0[s2 >>> 24]! ^ T1[(s3 >>> 16) & 0xff]! ^ T2[(s0 >>> 8) & 0xff]! ^ T3[s1 & 0xff]! ^ rk[10]!;
      t3 = T0[s3 >>> 24]! ^ T1[(s0 >>> 16) & 0xff]! ^ T2[(s1 >>> 8) & 0xff]! ^ T3[s2 & 0xff]! ^ rk[11]!;
      s0 = t0;
      s1 = t1;
      s2 = t2;
      s3 = t3;
      t0 = T0[s0 >>> 24]! ^ T1[(s1 >>> 16) & 0xff]! ^ T2[(s2 >>> 8) & 0xff]! ^ T3[s3 & 0xff]! ^ rk[12]!;
      t1 = T0[s1 >>> 24]! ^ T1[(s2 >>> 16) & 0xff]! ^ T2[(s3 >>> 8) & 0xff]! ^ T3[s0 & 0xff]! ^ rk[13]!;
      t2 = T0[s2 >>> 24]! ^ T1[(s3 >>> 16) & 0xff]! ^ T2[(s0 >>> 8) & 0xff]! ^ T3[s1 & 0xff]! ^ rk[14]!;
      t3 = T0[s3 >>> 24]! ^ T1[(s0 >>> 16) & 0xff]! ^ T2[(s1 >>> 8) & 0xff]! ^ T3[s2 & 0xff]! ^ rk[15]!;
      s0 = t0;
      s1 = t1;
      s2 = t2;
      s3 = t3;
      t0 = T0[s0 >>> 24]! ^ T1[(s1 >>> 16) & 0xff]! ^ T2[(s2 >>> 8) & 0xff]! ^ T3[s3 & 0xff]! ^ rk[16]!;
      t1 = T0[s1 >>> 24]! ^ T1[(s2 >>> 16) & 0xff]! ^ T2[(s3 >>> 8) & 0xff]! ^ T3[s0 & 0xff]! ^ rk[17]!;
      t2 = T0[s2 >>> 24]! ^ T1[(s3 >>> 16) & 0xff]! ^ T2[(s0 >>> 8) & 0xff]! ^ T3[s1 & 0xff]! ^ rk[18]!;
      t3 = T0[s3 >>> 24]! ^ T1[(s0 >>> 16) & 0xff]! ^ T2[(s1 >>> 8) & 0xff]! ^ T3[s2 & 0xff]! ^ rk[19]!;
      s0 = t0;
      s1 = t1;
      s2 = t2;
      s3 = t3;
      t0 = T0[s0 >>> 24]! ^ T1[(s1 >>> 16) & 0xff]! ^ T2[(s2 >>> 8) & 0xff]! ^ T3[s3 & 0xff]! ^ rk[20]!;
      t1 = T0[s1 >>> 24]! ^ T1[(s2 >>> 16) & 0xff]! ^ T2[(s3 >>> 8) & 0xff]! ^ T3[s0 & 0xff]! ^ rk[21]!;
      t2 = T0[s2 >>> 24]! ^ T1[(s3 >>> 16) & 0xff]! ^ T2[(s0 >>> 8) & 0xff]! ^ T3[s1 & 0xff]! ^ rk[22]!;
      t3 = T0[s3 >>> 24]! ^ T1[(s0 >>> 16) & 0xff]! ^ T2[(s1 >>> 8) & 0xff]! ^ T3[s2 & 0xff]! ^ rk[23]!;
      s0 = t0;
      s1 = t1;
      s2 = t2;
      s3 = t3;
      t0 = T0[s0 >>> 24]! ^ T1[(s1 >>> 16) & 0xff]! ^ T2[(s2 >>> 8) & 0xff]! ^ T3[s3 & 0xff]! ^ rk[24]!;
      t1 = T0[s1 >>> 24]! ^ T1[(s2 >>> 16) & 0xff]! ^ T2[(s3 >>> 8) & 0xff]! ^ T3[s0 & 0xff]! ^ rk[25]!;
      t2 = T0[s2 >>> 24]! ^ T1[(s3 >>> 16) & 0xff]! ^ T2[(s0 >>> 8) & 0xff]! ^ T3[s1 & 0xff]! ^ rk[26]!;
      t3 = T0[s3 >>> 24]! ^ T1[(s0 >>> 16) & 0xff]! ^ T2[(s1 >>> 8) & 0xff]! ^ T3[s2 & 0xff]! ^ rk[27]!;
      s0 = t0;
      s1 = t1;
      s2 = t2;
      s3 = t3;
      t0 = T0[s0 >>> 24]! ^ T1[(s1 >>> 16) & 0xff]! ^ T2[(s2 >>> 8) & 0xff]! ^ T3[s3 & 0xff]! ^ rk[28]!;
      t1 = T0[s1 >>> 24]! ^ T1[(s2 >>> 16) & 0xff]! ^ T2[(s3 >>> 8) & 0xff]! ^ T3[s0 & 0xff]! ^ rk[29]!;
      t2 = T0[s2 >>> 24]! ^ T1[(s3 >>> 16) & 0xff]! ^ T2[(s0 >>> 8) & 0xff]! ^ T3[s1 & 0xff]! ^ rk[30]!;
      t3 = T0[s3 >>> 24]! ^ T1[(s0 >>> 16) & 0xff]! ^ T2[(s1 >>> 8) & 0xff]! ^ T3[s2 & 0xff]! ^ rk[31]!;
      s0 = t0;
      s1 = t1;
      s2 = t2;
      s3 = t3;
      t0 = T0[s0 >>> 24]! ^ T1[(s1 >>> 16) & 0xff]! ^ T2[(s2 >>> 8) & 0xff]! ^ T3[s3 & 0xff]! ^ rk[32]!;
      t1 = T0[s1 >>> 24]! ^ T1[(s2 >>> 16) & 0xff]! ^ T2[(s3 >>> 8) & 0xff]! ^ T3[s0 & 0xff]! ^ rk[33]!;
      t2 = T0[s2 >>> 24]! ^ T1[(s3 >>> 16) & 0xff]! ^ T2[(s0 >>> 8) & 0xff]! ^ T3[s1 & 0xff]! ^ rk[34]!;
      t3 = T0[s3 >>> 24]! ^ T1[(s0 >>> 16) & 0xff]! ^ T2[(s1 >>> 8) & 0xff]! ^ T3[s2 & 0xff]! ^ rk[35]!;
      s0 = t0;
      s1 = t1;
      s2 = t2;
      s3 = t3;
      t0 = T0[s0 >>> 24]! ^ T1[(s1 >>> 16) & 0xff]! ^ T2[(s2 >>> 8) & 0xff]! ^ T3[s3 & 0xff]! ^ rk[36]!;
      t1 = T0[s1 >>> 24]! ^ T1[(s2 >>> 16) & 0xff]! ^ T2[(s3 >>> 8) & 0xff]! ^ T3[s0 & 0xff]! ^ rk[37]!;
      t2 = T0[s2 >>> 24]! ^ T1[(s3 >>> 16) & 0xff]! ^ T2[(s0 >>> 8) & 0xff]! ^ T3[s1 & 0xff]! ^ rk[38]!;
      t3 = T0[s3 >>> 24]! ^ T1[(s0 >>> 16) & 0xff]! ^ T2[(s1 >>> 8) & 0xff]! ^ T3[s2 & 0xff]! ^ rk[39]!;
      s0 = t0;
      s1 = t1;
      s2 = t2;
      s3 = t3;
      if (nr > 10) {
        // Rounds 10–11 (AES-192, AES-256).
        t0 = T0[s0 >>> 24]! ^ T1[(s1 >>> 16) & 0xff]! ^ T2[(s2 >>> 8) & 0xff]! ^ T3[s3 & 0xff]! ^ rk[40]!;
        t1 = T0[s1 >>> 24]! ^ T1[(s2 >>> 16) & 0xff]! ^ T2[(s3 >>> 8) & 0xff]! ^ T3[s0 & 0xff]! ^ rk[41]!;
        t2 = T0[s2 >>> 24]! ^ T1[(s3 >>> 16) & 0xff]! ^ T2[(s0 >>> 8) & 0xff]! ^ T3[s1 & 0xff]! ^ rk[42]!;
        t3 = T0[s3 >>> 24]! ^ T1[(s0 >>> 16) & 0xff]! ^ T2[(s1 >>> 8) & 0xff]! ^ T3[s2 & 0xff]! ^ rk[43]!;
        s0 = t0;
        s1 = t1;
        s2 = t2;
        s3 = t3;
        t0 = T0[s0 >>> 24]! ^ T1[(s1 >>> 16) & 0xff]! ^ T2[(s2 >>> 8) & 0xff]! ^ T3[s3 & 0xff]! ^ rk[44]!;
        t1 = T0[s1 >>> 24]! ^ T1[(s2 >>> 16) & 0xff]! ^ T2[(s3 >>> 8) & 0xff]! ^ T3[s0 & 0xff]! ^ rk[45]!;
        t2 = T0[s2 >>> 24]! ^ T1[(s3 >>> 16) & 0xff]! ^ T2[(s0 >>> 8) & 0xff]! ^ T3[s1 & 0xff]! ^ rk[46]!;
        t3 = T0[s3 >>> 24]! ^ T1[(s0 >>> 16) & 0xff]! ^ T2[(s1 >>> 8) & 0xff]! ^ T3[s2 & 0xff]! ^ rk[47]!;
        s0 = t0;
        s1 = t1;
        s2 = t2;
        s3 = t3;
        if (nr > 12) {
          // Rounds 12–13 (AES-256).
          t0 = T0[s0 >>> 24]! ^ T1[(s1 >>> 16) & 0xff]! ^ T2[(s2 >>> 8) & 0xff]! ^ T3[s3 & 0xff]! ^ rk[48]!;
          t1 = T0[s1 >>> 24]! ^ T1[(s2 >>> 16) & 0xff]! ^ T2[(s3 >>> 8) & 0xff]! ^ T3[s0 & 0xff]! ^ rk[49]!;
          t2 = T0[s2 >>> 24]! ^ T1[(s3 >>> 16) & 0xff]! ^ T2[(s0 >>> 8) & 0xff]! ^ T3[s1 & 0xff]! ^ rk[50]!;
          t3 = T0[s3 >>> 24]! ^ T1[(s0 >>> 16) & 0xff]! ^ T2[(s1 >>> 8) & 0xff]! ^ T3[s2 & 0xff]! ^ rk[51]!;
          s0 = t0;
          s1 = t1;
          s2 = t2;
          s3 = t3;
          t0 = T0[s0 >>> 24]! ^ T1[(s1 >>> 16) & 0xff]! ^ T2[(s2 >>> 8) & 0xff]! ^ T3[s3 & 0xff]! ^ rk[52]!;
          t1 = T0[s1 >>> 24]! ^ T1[(s2 >>> 16) & 0xff]! ^ T2[(s3 >>> 8) & 0xff]! ^ T3[s0 & 0xff]! ^ rk[53]!;
          t2 = T0[s2 >>> 24]! ^ T1[(s3 >>> 16) & 0xff]! ^ T2[(s0 >>> 8) & 0xff]! ^ T3[s1 & 0xff]! ^ rk[54]!;
          t3 = T0[s3 >>> 24]! ^ T1[(s0 >>> 16) & 0xff]! ^ T2[(s1 >>> 8) & 0xff]! ^ T3[s2 & 0xff]! ^ rk[55]!;
          s0 = t0;
          s1 = t1;
          s2 = t2;
          s3 = t3;
        }
      }
      // Final round: SubBytes, ShiftRows, AddRoundKey (no MixColumns).
      t0 = ((SBOX[s0 >>> 24]! << 24) | (SBOX[(s1 >>> 16) & 0xff]! << 16) | (SBOX[(s2 >>> 8) & 0xff]! << 8) | SBOX[s3 & 0xff]!) ^ rk[fk]!;
      t1 = ((SBOX[s1 >>> 24]! << 24) | (SBOX[(s2 >>> 16) & 0xff]! << 16) | (SBOX[(s3 >>> 8) & 0xff]! << 8) | SBOX[s0 & 0xff]!) ^ rk[fk + 1]!;
      t2 = ((SBOX[s2 >>> 24]! << 24) | (SBOX[(s3 >>> 16) & 0xff]! << 16) | (SBOX[(s0 >>> 8) & 0xff]! << 8) | SBOX[s1 & 0xff]!) ^ rk[fk + 2]!;
      t3 = ((SBOX[s3 >>> 24]! << 24) | (SBOX[(s0 >>> 16) & 0xff]! << 16) | (SBOX[(s1 >>> 8) & 0xff]! << 8) | SBOX[s2 & 0xff]!) ^ rk[fk + 3]!;
      s0 = t0;
      s1 = t1;
      s2 = t2;
      s3 = t3;
    }
    state[0] = s0 >>> 24;
    state[1] = s0 >>> 16;
    state[2] = s0 >>> 8;
    state[3] = s0;
    state[4] = s1 >>> 24;
    state[5] = s1 >>> 16;
    state[6] = s1 >>> 8;
    state[7] = s1;
    state[8] = s2 >>> 24;
    state[9] = s2 >>> 16;
    state[10] = s2 >>> 8;
    state[11] = s2;
    state[12] = s3 >>> 24;
    state[13] = s3 >>> 16;
    state[14] = s3 >>> 8;
    state[15] = s3;
  }

  /** Wipes the round keys. */
  destroy(): void {
    this.#rk.fill(0);
  }
}
