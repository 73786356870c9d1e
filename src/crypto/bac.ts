/**
 * Basic Access Control: ICAO Doc 9303-11 (8th ed., 2021) §4.3 and the check digits of ICAO Doc
 * 9303-3 §4.9. Pure computations shared by the card (`card/protocols/bac.ts`) and the terminal
 * (`terminal/bac.ts`):
 *
 *     MRZ_information = document number ‖ CD ‖ date of birth ‖ CD ‖ date of expiry ‖ CD
 *     Kseed           = SHA-1(MRZ_information)[0..16)                        §4.3.2
 *     KEnc, KMac      = KDF(Kseed, 1|2), 3DES                                §9.7.1
 *     terminal → card : E_IFD ‖ M_IFD,  E_IFD = E(KEnc, RND.IFD ‖ RND.IC ‖ K.IFD)   §4.3.4
 *     card → terminal : E_IC ‖ M_IC,    E_IC  = E(KEnc, RND.IC ‖ RND.IFD ‖ K.IC)
 *     M_x             = MAC(KMac, E_x)  ISO/IEC 9797-1 alg. 3, padding 2; E = 3DES-CBC, IV 0
 *     session         = KDF(K.IFD ⊕ K.IC, 1|2), SSC = RND.IC[4..8) ‖ RND.IFD[4..8)   §9.7.4
 *
 * Secrets: the MRZ information, Kseed, KEnc/KMac, K.IFD/K.IC and the session keys never appear in
 * an error message; intermediate buffers are zeroized. A failed check returns `undefined`
 * rather than saying which check failed.
 *
 * @example ICAO 9303-11 Appendix D.1–D.2
 * const keys = bacKeys({ documentNumber: 'L898902C', dateOfBirth: '690806', dateOfExpiry: '940623' });
 * // keys.kEnc = AB94FDECF2674FDFB9B391F85D7F76F2, keys.kMac = 7962D9ECE03D1ACD4C76089DCE131543
 */
import { createHash } from 'node:crypto';
import { ByteInputError, abytes, constantTimeEqual, zeroize } from '../bytes/index.js';
import { CbcDecryptor, CbcEncryptor } from './_chain.js';
import { kdf } from './kdf.js';
import { RetailMac } from './mac.js';
import type { SmKeys } from './sm.js';

/** The three MRZ fields BAC keys come from (ICAO 9303-11 §4.3.2, characters as printed in the MRZ). */
export interface MrzInfo {
  /** Document number, MRZ characters 0-9 A-Z <; padded with < to 9 characters when shorter. */
  readonly documentNumber: string;
  /** YYMMDD; < for an unknown part, as printed in the MRZ. */
  readonly dateOfBirth: string;
  /** YYMMDD. */
  readonly dateOfExpiry: string;
}

/** The document basic access keys derived from the MRZ (ICAO 9303-11 §4.3.2). */
export interface BacKeys {
  readonly kEnc: Uint8Array;
  readonly kMac: Uint8Array;
}

/** Value of an MRZ character for check digits: 0-9, A=10 … Z=35, < = 0 (ICAO 9303-3 §4.9). */
function charValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 90) return c - 55;
  if (c === 60) return 0;
  return -1;
}

/**
 * The check digit of an MRZ field (ICAO 9303-3 §4.9): weights 7, 3, 1 repeating, sum modulo 10.
 * Throws for characters outside 0-9 A-Z < (naming the position, not the value).
 *
 * @example checkDigit('L898902C<') // 3
 * @example checkDigit('690806')    // 1
 */
export function checkDigit(field: string): number {
  const weights = [7, 3, 1] as const;
  let sum = 0;
  for (let i = 0; i < field.length; i++) {
    const v = charValue(field.charCodeAt(i));
    if (v < 0) throw new ByteInputError(`MRZ field: character ${i + 1} is not one of 0-9 A-Z <`);
    sum += v * weights[i % 3]!;
  }
  return sum % 10;
}

const DOC_CHARS = /^[0-9A-Z<]+$/;
const DATE_CHARS = /^[0-9<]{6}$/;

/**
 * MRZ_information of ICAO 9303-11 §4.3.2 with its check digits. Error messages describe the shape
 * expected and the length received — never the characters (they are the BAC secret).
 *
 * @example mrzInformation({ documentNumber: 'L898902C', dateOfBirth: '690806', dateOfExpiry: '940623' })
 * // 'L898902C<369080619406236'
 */
export function mrzInformation(mrz: MrzInfo): string {
  if (mrz === null || typeof mrz !== 'object') throw new ByteInputError('mrz: expected { documentNumber, dateOfBirth, dateOfExpiry }');
  const { documentNumber, dateOfBirth, dateOfExpiry } = mrz;
  // What was received is described by its length only: the characters are the BAC secret.
  const got = (v: unknown, what: string): string => (typeof v === 'string' ? `${v.length} characters ${what}` : typeof v);
  if (typeof documentNumber !== 'string' || !DOC_CHARS.test(documentNumber)) {
    throw new ByteInputError(
      `mrz.documentNumber: expected MRZ characters 0-9 A-Z < (upper case), got ${got(documentNumber, 'that are not')}`,
    );
  }
  for (const [name, v] of [['dateOfBirth', dateOfBirth], ['dateOfExpiry', dateOfExpiry]] as const) {
    if (typeof v !== 'string' || !DATE_CHARS.test(v)) {
      throw new ByteInputError(`mrz.${name}: expected YYMMDD (6 digits, < for an unknown part), got ${got(v, 'not of that form')}`);
    }
  }
  const doc = documentNumber.length < 9 ? documentNumber.padEnd(9, '<') : documentNumber;
  return `${doc}${checkDigit(doc)}${dateOfBirth}${checkDigit(dateOfBirth)}${dateOfExpiry}${checkDigit(dateOfExpiry)}`;
}

/**
 * Validates an MRZ_information string (as read from the MRZ: number, CD, birth, CD, expiry, CD),
 * including its three check digits.
 */
function checkedMrzString(s: string): string {
  const m = /^([0-9A-Z<]{9,})([0-9])([0-9<]{6})([0-9])([0-9<]{6})([0-9])$/.exec(s);
  if (m === null) {
    throw new ByteInputError(
      'mrz: expected MRZ information (document number, check digit, YYMMDD, check digit, YYMMDD, check digit; ' +
        `at least 24 characters), got ${s.length} characters not of that form`,
    );
  }
  const fields = [
    ['document number', m[1]!, m[2]!],
    ['date of birth', m[3]!, m[4]!],
    ['date of expiry', m[5]!, m[6]!],
  ] as const;
  for (const [name, v, cd] of fields) {
    if (checkDigit(v) !== Number(cd)) throw new ByteInputError(`mrz: the check digit of the ${name} does not match (ICAO 9303-3 §4.9)`);
  }
  return s;
}

/**
 * Kseed = the first 16 bytes of SHA-1(MRZ_information) (ICAO 9303-11 §4.3.2). `mrz` is either the
 * three fields or the MRZ_information string with check digits.
 *
 * @example bacKeySeed('L898902C<369080619406236') // 239AB9CB282DAF66231DC5A4DF6BFBAE
 */
export function bacKeySeed(mrz: MrzInfo | string): Uint8Array {
  const info = typeof mrz === 'string' ? checkedMrzString(mrz) : mrzInformation(mrz);
  const digest = createHash('sha1').update(info, 'ascii').digest();
  const seed = new Uint8Array(16);
  seed.set(digest.subarray(0, 16));
  zeroize(digest);
  return seed;
}

/**
 * KEnc and KMac from the MRZ (ICAO 9303-11 §4.3.2 with the KDF of §9.7.1). What a chip stores
 * for BAC and what the terminal computes from the MRZ it read.
 *
 * @example bacKeys('L898902C<369080619406236').kMac // 7962D9ECE03D1ACD4C76089DCE131543
 */
export function bacKeys(mrz: MrzInfo | string): BacKeys {
  const seed = bacKeySeed(mrz);
  try {
    return { kEnc: kdf(seed, 1, '3des'), kMac: kdf(seed, 2, '3des') };
  } finally {
    zeroize(seed);
  }
}

function akeys(keys: BacKeys): void {
  if (keys === null || typeof keys !== 'object') throw new ByteInputError('keys: expected { kEnc, kMac }');
  abytes(keys.kEnc, 16, 'keys.kEnc');
  abytes(keys.kMac, 16, 'keys.kMac');
}

/**
 * E ‖ M for a 32-byte plaintext: E = 3DES-CBC(KEnc, IV 0, plain), M = MAC(KMac, E) (ICAO 9303-11
 * §4.3.4.2). 40 bytes.
 */
export function bacCryptogram(keys: BacKeys, plain: Uint8Array): Uint8Array {
  akeys(keys);
  abytes(plain, 32, 'plain');
  const scratch = new Uint8Array(plain);
  const e = new CbcEncryptor('3des', keys.kEnc).encryptScratch(scratch);
  zeroize(scratch);
  const out = new Uint8Array(40);
  out.set(e);
  out.set(new RetailMac(keys.kMac).mac(e), 32);
  return out;
}

/**
 * Verifies M in constant time, then decrypts E (ICAO 9303-11 §4.3.4.2). Returns the 32-byte
 * plaintext, or `undefined` when the MAC does not verify or the length is not 40.
 */
export function bacOpenCryptogram(keys: BacKeys, data: Uint8Array): Uint8Array | undefined {
  akeys(keys);
  abytes(data, undefined, 'data');
  if (data.length !== 40) return undefined;
  const e = data.subarray(0, 32);
  const m = new RetailMac(keys.kMac).mac(e);
  if (!constantTimeEqual(m, data.subarray(32, 40))) return undefined;
  const out = new Uint8Array(32);
  const pt = new CbcDecryptor('3des', keys.kEnc).decrypt(e);
  out.set(pt);
  zeroize(pt);
  return out;
}

/**
 * The terminal's EXTERNAL AUTHENTICATE data: E_IFD ‖ M_IFD over S = RND.IFD ‖ RND.IC ‖ K.IFD.
 *
 * @example bacTerminalRequest(keys, rndIc, rndIfd, kIfd) // Appendix D.3: 72C29C23…92F2 5F1448EEA8AD90A7
 */
export function bacTerminalRequest(keys: BacKeys, rndIc: Uint8Array, rndIfd: Uint8Array, kIfd: Uint8Array): Uint8Array {
  abytes(rndIc, 8, 'rndIc');
  abytes(rndIfd, 8, 'rndIfd');
  abytes(kIfd, 16, 'kIfd');
  const s = new Uint8Array(32);
  s.set(rndIfd);
  s.set(rndIc, 8);
  s.set(kIfd, 16);
  try {
    return bacCryptogram(keys, s);
  } finally {
    zeroize(s);
  }
}

/**
 * The card's check of E_IFD ‖ M_IFD: MAC, then RND.IC inside S equal to its challenge (both in
 * constant time). Returns RND.IFD and K.IFD, or `undefined` (the card answers 6300).
 */
export function bacCardVerify(
  keys: BacKeys,
  rndIc: Uint8Array,
  data: Uint8Array,
): { readonly rndIfd: Uint8Array; readonly kIfd: Uint8Array } | undefined {
  abytes(rndIc, 8, 'rndIc');
  const s = bacOpenCryptogram(keys, data);
  if (s === undefined) return undefined;
  try {
    if (!constantTimeEqual(s.subarray(8, 16), rndIc)) return undefined;
    return { rndIfd: s.slice(0, 8), kIfd: s.slice(16, 32) };
  } finally {
    zeroize(s);
  }
}

/**
 * The card's answer E_IC ‖ M_IC over R = RND.IC ‖ RND.IFD ‖ K.IC.
 *
 * @example bacCardResponse(keys, rndIc, rndIfd, kIc) // Appendix D.3: 46B9342A…534F 2F2D235D074D7449
 */
export function bacCardResponse(keys: BacKeys, rndIc: Uint8Array, rndIfd: Uint8Array, kIc: Uint8Array): Uint8Array {
  abytes(rndIc, 8, 'rndIc');
  abytes(rndIfd, 8, 'rndIfd');
  abytes(kIc, 16, 'kIc');
  const r = new Uint8Array(32);
  r.set(rndIc);
  r.set(rndIfd, 8);
  r.set(kIc, 16);
  try {
    return bacCryptogram(keys, r);
  } finally {
    zeroize(r);
  }
}

/**
 * The terminal's check of E_IC ‖ M_IC: MAC, then RND.IC and RND.IFD inside R. Returns K.IC or
 * `undefined` (the chip is not the one whose MRZ was used, or the answer was tampered with).
 */
export function bacTerminalVerify(keys: BacKeys, rndIc: Uint8Array, rndIfd: Uint8Array, data: Uint8Array): Uint8Array | undefined {
  abytes(rndIc, 8, 'rndIc');
  abytes(rndIfd, 8, 'rndIfd');
  const r = bacOpenCryptogram(keys, data);
  if (r === undefined) return undefined;
  try {
    const okIc = constantTimeEqual(r.subarray(0, 8), rndIc);
    const okIfd = constantTimeEqual(r.subarray(8, 16), rndIfd);
    return okIc && okIfd ? r.slice(16, 32) : undefined;
  } finally {
    zeroize(r);
  }
}

/**
 * Session keys and SSC after mutual authentication (ICAO 9303-11 §4.3.4.2 / §9.7.4):
 * Kseed = K.IFD ⊕ K.IC, KSenc/KSmac = KDF(Kseed, 1|2), SSC = RND.IC[4..8) ‖ RND.IFD[4..8).
 *
 * @example bacSessionKeys(kIfd, kIc, rndIc, rndIfd).ssc // Appendix D.3: 887022120C06C226
 */
export function bacSessionKeys(kIfd: Uint8Array, kIc: Uint8Array, rndIc: Uint8Array, rndIfd: Uint8Array): SmKeys {
  abytes(kIfd, 16, 'kIfd');
  abytes(kIc, 16, 'kIc');
  abytes(rndIc, 8, 'rndIc');
  abytes(rndIfd, 8, 'rndIfd');
  const seed = new Uint8Array(16);
  for (let i = 0; i < 16; i++) seed[i] = kIfd[i]! ^ kIc[i]!;
  const ssc = new Uint8Array(8);
  ssc.set(rndIc.subarray(4, 8));
  ssc.set(rndIfd.subarray(4, 8), 4);
  try {
    return { cipher: '3des', kEnc: kdf(seed, 1, '3des'), kMac: kdf(seed, 2, '3des'), ssc };
  } finally {
    zeroize(seed);
  }
}
