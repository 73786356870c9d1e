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
   */
  chain(state: Uint8Array, data: Uint8Array, off: number, n: number): void {
    const rk = this.#rk;
    const nr = this.#rounds;
    let s0 = (state[0]! << 24) | (state[1]! << 16) | (state[2]! << 8) | state[3]!;
    let s1 = (state[4]! << 24) | (state[5]! << 16) | (state[6]! << 8) | state[7]!;
    let s2 = (state[8]! << 24) | (state[9]! << 16) | (state[10]! << 8) | state[11]!;
    let s3 = (state[12]! << 24) | (state[13]! << 16) | (state[14]! << 8) | state[15]!;
    for (let b = 0, p = off; b < n; b++, p += 16) {
      s0 ^= (data[p]! << 24) | (data[p + 1]! << 16) | (data[p + 2]! << 8) | data[p + 3]!;
      s1 ^= (data[p + 4]! << 24) | (data[p + 5]! << 16) | (data[p + 6]! << 8) | data[p + 7]!;
      s2 ^= (data[p + 8]! << 24) | (data[p + 9]! << 16) | (data[p + 10]! << 8) | data[p + 11]!;
      s3 ^= (data[p + 12]! << 24) | (data[p + 13]! << 16) | (data[p + 14]! << 8) | data[p + 15]!;
      // AddRoundKey 0.
      s0 ^= rk[0]!;
      s1 ^= rk[1]!;
      s2 ^= rk[2]!;
      s3 ^= rk[3]!;
      let k = 4;
      for (let r = 1; r < nr; r++) {
        const t0 = T0[s0 >>> 24]! ^ T1[(s1 >>> 16) & 0xff]! ^ T2[(s2 >>> 8) & 0xff]! ^ T3[s3 & 0xff]! ^ rk[k]!;
        const t1 = T0[s1 >>> 24]! ^ T1[(s2 >>> 16) & 0xff]! ^ T2[(s3 >>> 8) & 0xff]! ^ T3[s0 & 0xff]! ^ rk[k + 1]!;
        const t2 = T0[s2 >>> 24]! ^ T1[(s3 >>> 16) & 0xff]! ^ T2[(s0 >>> 8) & 0xff]! ^ T3[s1 & 0xff]! ^ rk[k + 2]!;
        const t3 = T0[s3 >>> 24]! ^ T1[(s0 >>> 16) & 0xff]! ^ T2[(s1 >>> 8) & 0xff]! ^ T3[s2 & 0xff]! ^ rk[k + 3]!;
        s0 = t0;
        s1 = t1;
        s2 = t2;
        s3 = t3;
        k += 4;
      }
      // Final round: SubBytes, ShiftRows, AddRoundKey (no MixColumns).
      const f0 = ((SBOX[s0 >>> 24]! << 24) | (SBOX[(s1 >>> 16) & 0xff]! << 16) | (SBOX[(s2 >>> 8) & 0xff]! << 8) | SBOX[s3 & 0xff]!) ^ rk[k]!;
      const f1 = ((SBOX[s1 >>> 24]! << 24) | (SBOX[(s2 >>> 16) & 0xff]! << 16) | (SBOX[(s3 >>> 8) & 0xff]! << 8) | SBOX[s0 & 0xff]!) ^ rk[k + 1]!;
      const f2 = ((SBOX[s2 >>> 24]! << 24) | (SBOX[(s3 >>> 16) & 0xff]! << 16) | (SBOX[(s0 >>> 8) & 0xff]! << 8) | SBOX[s1 & 0xff]!) ^ rk[k + 2]!;
      const f3 = ((SBOX[s3 >>> 24]! << 24) | (SBOX[(s0 >>> 16) & 0xff]! << 16) | (SBOX[(s1 >>> 8) & 0xff]! << 8) | SBOX[s2 & 0xff]!) ^ rk[k + 3]!;
      s0 = f0;
      s1 = f1;
      s2 = f2;
      s3 = f3;
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
