/**
 * The secure messaging codec, both directions: ISO/IEC 7816-4:2013 §10 as profiled by ICAO Doc
 * 9303-11 (8th ed., 2021) §9.8 and BSI TR-03110-3 §F. The terminal protects commands and
 * unprotects responses; the card unprotects commands and protects responses — with the same
 * primitives, so the two sides cannot drift apart. SM is defined on APDUs, so unlike the rest of
 * `crypto/` this module also reads `apdu/` (the command type and CLA decoding).
 *
 * Protected command (ICAO 9303-11 §9.8.6, Appendix D.4):
 *
 *     CLA' INS P1 P2 Lc [DO'87'|DO'85'] [DO'97'] DO'8E' Le
 *     DO'87' = 87 L 01 ‖ E(KSenc, pad(data))     even INS (01 = padding method 2 follows)
 *     DO'85' = 85 L E(KSenc, pad(data))          odd INS (data is BER-TLV)
 *     DO'97' = 97 01|02 Ne                       when the command expects data
 *     DO'8E' = 8E 08 MAC(KSmac, pad(SSC ‖ pad(CLA' INS P1 P2) ‖ DO'87' ‖ DO'97'))
 *
 * Protected response: `[DO'87'|DO'85'] DO'99' DO'8E' SW1 SW2`, with DO'99' = 99 02 SW1 SW2 and the
 * MAC over `pad(SSC ‖ DO'87' ‖ DO'99')`. The send sequence counter is incremented before each
 * command and before each response, on both sides (§9.8.5). CLA' sets the SM bits: 0C (header
 * authenticated) on channels 0–3, b6 on channels 4–19 where ISO/IEC 7816-4 §5.4.1 has no
 * header-authenticated form, so there the header is not MACed.
 *
 * | cipher | keys                 | SSC      | IV                | MAC                              |
 * |--------|----------------------|----------|-------------------|----------------------------------|
 * | `3des` | two-key TDEA, 16 B   | 8 bytes  | zero              | ISO/IEC 9797-1 alg. 3, 8 bytes   |
 * | `aes`  | AES-128/192/256      | 16 bytes | E(KSenc, SSC)     | AES-CMAC truncated to 8 bytes    |
 *
 * Checks (card side; the terminal applies the same to responses), each an {@link SmError}:
 * - 6987 "expected SM data objects missing": no DO'8E' (or, in a response, no DO'99').
 * - 6988 "SM data objects incorrect": malformed TLV, a tag SM does not define here, a DO twice or
 *   out of order, both '85' and '87', wrong lengths, a padding indicator other than 01, a wrong
 *   MAC (which is also what a replayed or reordered APDU produces, since the SSC moved on), bad
 *   padding after decryption, and an outer Le other than 00/0000 (it is not MACed — DO'97'
 *   carries Ne — so any other value means the APDU was changed on the way). The MAC is verified
 *   before anything is decrypted, so padding errors are never observable without the key (no
 *   padding oracle).
 * Messages name the DO and the problem, never key or data bytes.
 *
 * @example Terminal and card sharing keys (ICAO 9303-11 Appendix D.4)
 * const terminal = new SmCodec({ cipher: '3des', kEnc, kMac, ssc });
 * const card = new SmCodec({ cipher: '3des', kEnc, kMac, ssc });
 * const wire = terminal.protectCommand(parseCommandApdu(hexToBytes('00A4020C02011E')));
 * const plain = card.unprotectCommand(parseCommandApdu(wire));   // SELECT 011E again
 * const r = terminal.unprotectResponse(card.protectResponse(new Uint8Array(0), 0x9000));
 */
import { ByteInputError, abytes, constantTimeEqual, zeroize } from '../bytes/index.js';
import { decodeCla, type ApduCase, type ClassByte, type CommandApdu } from '../apdu/command.js';
import type { ResponseApdu } from '../apdu/response.js';
import { AesBlock } from './_aes.js';
import { CbcDecryptor, CbcEncryptor } from './_chain.js';
import { sessionMac, type SessionMac } from './mac.js';

/** Session keys and initial send sequence counter of an SM session. */
export interface SmKeys {
  readonly cipher: '3des' | 'aes';
  /** KSenc: 16 bytes (two-key TDEA) or 16/24/32 bytes (AES). */
  readonly kEnc: Uint8Array;
  /** KSmac: 16 bytes (retail MAC) or 16/24/32 bytes (AES-CMAC). */
  readonly kMac: Uint8Array;
  /** Send sequence counter before the first command: 8 bytes (3DES), 16 bytes (AES). */
  readonly ssc: Uint8Array;
}

/** SSC length per cipher (ICAO 9303-11 §9.8.5: the block size). */
export const SSC_LENGTH: Readonly<Record<SmKeys['cipher'], 8 | 16>> = Object.freeze({ '3des': 8, aes: 16 });

/** Status words an SM failure maps to (ISO/IEC 7816-4 §5.6, table 6). */
export const SM_SW = Object.freeze({ MISSING: 0x6987, INCORRECT: 0x6988, NOT_SUPPORTED: 0x6882 } as const);

/**
 * An SM failure: `sw` is what a card answers for it (6987, 6988; 6882 for an SM format this codec
 * does not speak). `cardSw` is set on the terminal side when the card answered without SM at all
 * (it aborted the session). The message names DOs, never bytes of keys or data.
 */
export class SmError extends Error {
  override readonly name = 'SmError';
  constructor(
    readonly sw: number,
    readonly detail: string,
    readonly cardSw?: number,
  ) {
    super(`secure messaging: ${detail}`);
  }
}

const EMPTY = new Uint8Array(0);
const TAG_85 = 0x85;
const TAG_87 = 0x87;
const TAG_97 = 0x97;
const TAG_99 = 0x99;
const TAG_8E = 0x8e;

/** Where the DOs of an SM data field are (value offsets into the field). */
interface SmFields {
  cryptTag: number;
  cryptStart: number;
  cryptEnd: number;
  leStart: number;
  leEnd: number;
  swStart: number;
  swEnd: number;
  /** Offset of DO'8E' (the MAC covers the field before it); -1 when absent. */
  macTagAt: number;
  macStart: number;
  macEnd: number;
}

function incorrect(detail: string): SmError {
  return new SmError(SM_SW.INCORRECT, detail);
}

/**
 * Splits an SM data field into its DOs. Command fields may hold 85/87, 97, 8E; response fields
 * 85/87, 99, 8E — in that order, each once (ICAO 9303-11 §9.8.6), lengths in short or 81/82 form.
 */
function splitDos(f: Uint8Array, response: boolean): SmFields {
  const r: SmFields = {
    cryptTag: 0,
    cryptStart: 0,
    cryptEnd: 0,
    leStart: -1,
    leEnd: -1,
    swStart: -1,
    swEnd: -1,
    macTagAt: -1,
    macStart: 0,
    macEnd: 0,
  };
  const n = f.length;
  let rank = 0;
  let i = 0;
  while (i < n) {
    const at = i;
    const tag = f[i++]!;
    if (i >= n) throw incorrect(`DO '${hex(tag)}' has no length`);
    let len = f[i++]!;
    if (len === 0x81) {
      if (i + 1 > n) throw incorrect(`DO '${hex(tag)}' length truncated`);
      len = f[i++]!;
    } else if (len === 0x82) {
      if (i + 2 > n) throw incorrect(`DO '${hex(tag)}' length truncated`);
      len = (f[i]! << 8) | f[i + 1]!;
      i += 2;
    } else if (len >= 0x80) {
      throw incorrect(`DO '${hex(tag)}' has an unsupported length form`);
    }
    const end = i + len;
    if (end > n) throw incorrect(`DO '${hex(tag)}' runs past the data field`);
    let k: number;
    if (tag === TAG_87 || tag === TAG_85) k = 1;
    else if (tag === (response ? TAG_99 : TAG_97)) k = 2;
    else if (tag === TAG_8E) k = 3;
    else throw incorrect(`DO '${hex(tag)}' is not allowed in a protected ${response ? 'response' : 'command'}`);
    if (k <= rank) throw incorrect(`DO '${hex(tag)}' repeated or out of order`);
    rank = k;
    if (k === 1) {
      r.cryptTag = tag;
      r.cryptStart = i;
      r.cryptEnd = end;
    } else if (k === 2) {
      if (response) {
        r.swStart = i;
        r.swEnd = end;
      } else {
        r.leStart = i;
        r.leEnd = end;
      }
    } else {
      r.macTagAt = at;
      r.macStart = i;
      r.macEnd = end;
    }
    i = end;
  }
  return r;
}

function hex(b: number): string {
  return b.toString(16).toUpperCase().padStart(2, '0');
}

/** Length of a BER length field for `len` (short, 81, 82 forms). */
function lenLen(len: number): number {
  return len < 0x80 ? 1 : len < 0x100 ? 2 : 3;
}

function putLen(out: Uint8Array, o: number, len: number): number {
  if (len < 0x80) {
    out[o] = len;
    return o + 1;
  }
  if (len < 0x100) {
    out[o] = 0x81;
    out[o + 1] = len;
    return o + 2;
  }
  out[o] = 0x82;
  out[o + 1] = len >>> 8;
  out[o + 2] = len & 0xff;
  return o + 3;
}

/** The case an unprotected command has, from Nc, Ne and whether it used extended fields. */
function caseOf(nc: number, ne: number, extended: boolean): ApduCase {
  if (nc === 0) return ne === 0 ? '1' : extended ? '2E' : '2S';
  if (ne === 0) return extended ? '3E' : '3S';
  return extended ? '4E' : '4S';
}

/** CLA with its SM indication removed (ISO/IEC 7816-4 §5.4.1): b4-b3 or, on channels 4–19, b6. */
function plainClaOf(cla: ClassByte): number {
  return cla.kind === 'further-interindustry' ? cla.raw & ~0x20 : cla.raw & ~0x0c;
}

/** CLA marked for SM: 0C (header authenticated) on channels 0–3, b6 on channels 4–19. */
function protectedClaOf(cla: ClassByte): number {
  return cla.kind === 'further-interindustry' ? cla.raw | 0x20 : cla.raw | 0x0c;
}

/** Outputs up to this size are carved from a per-codec slab (see {@link SmCodec}). */
const SLAB_SIZE = 16384;
const SLAB_MAX_PIECE = 2048;

/**
 * One side of an SM session. Holds its own copy of the SSC and long-lived cipher contexts for
 * KSenc and KSmac; create one per side. Not reusable after {@link destroy}.
 *
 * Performance (the SM hot path of the simulator and of terminal tools): at most one OpenSSL call
 * per MAC and per encryption or decryption (short CMACs and the AES IV run in JavaScript, where a
 * block costs less than a call into OpenSSL), MAC and padding scratch reused, and outputs of up
 * to 2 KiB carved from a 16 KiB slab that this codec owns — typed arrays above 64 bytes cost
 * more to allocate than the AES work. So returned arrays may be views
 * that share their `.buffer` with other messages *of the same session*; a slab is never reused
 * or wiped after it is handed out, so the views stay valid. Copy (`slice()`) what must outlive
 * the session in isolation.
 */
export class SmCodec {
  readonly cipher: '3des' | 'aes';
  readonly blockSize: 8 | 16;
  readonly #enc: CbcEncryptor;
  readonly #dec: CbcDecryptor;
  /** KSenc in JavaScript for the AES IV E(KSenc, SSC); null for 3DES (IV zero). */
  readonly #ivCipher: AesBlock | null;
  readonly #iv = new Uint8Array(16);
  readonly #mac: SessionMac;
  readonly #ssc: Uint8Array;
  #scratch = new Uint8Array(1024);
  #slab = new ArrayBuffer(0);
  #slabPos = 0;
  #destroyed = false;

  constructor(keys: SmKeys) {
    const cipher = keys.cipher;
    if (cipher !== '3des' && cipher !== 'aes') {
      throw new ByteInputError(`keys.cipher: expected '3des' or 'aes', got ${String(cipher)}`);
    }
    const lengths = cipher === '3des' ? 16 : [16, 24, 32];
    abytes(keys.kEnc, lengths, 'keys.kEnc');
    abytes(keys.kMac, lengths, 'keys.kMac');
    abytes(keys.ssc, SSC_LENGTH[cipher], 'keys.ssc');
    this.cipher = cipher;
    this.blockSize = cipher === '3des' ? 8 : 16;
    this.#enc = new CbcEncryptor(cipher, keys.kEnc);
    this.#dec = new CbcDecryptor(cipher, keys.kEnc);
    this.#ivCipher = cipher === 'aes' ? new AesBlock(keys.kEnc) : null;
    this.#mac = sessionMac(cipher, keys.kMac);
    this.#ssc = new Uint8Array(keys.ssc);
  }

  /** The current send sequence counter (a copy): the value used by the last message. */
  get ssc(): Uint8Array {
    return this.#ssc.slice();
  }

  /** Forgets the session: wipes the SSC, IVs, scratch and MAC subkeys; every later call throws. */
  destroy(): void {
    this.#destroyed = true;
    zeroize(this.#ssc);
    zeroize(this.#iv);
    zeroize(this.#scratch);
    this.#ivCipher?.destroy();
    this.#mac.destroy();
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  // --- terminal side ---------------------------------------------------------------------------

  /**
   * Protects a plain command (ISO/IEC 7816-4 §10.2, ICAO 9303-11 §9.8.6.1): increments the SSC,
   * encrypts the data into DO'87' (even INS) or DO'85' (odd INS), encodes Ne in DO'97', MACs,
   * and encodes the APDU. The protected APDU uses extended length when the plain one does, when
   * its data field exceeds 255 bytes, or when the protected response to Ne bytes could exceed
   * 256; its Le is 00 (0000).
   *
   * @example codec.protectCommand(parseCommandApdu(hexToBytes('00B0000004'))) // 0C B0 00 00 0D 97 01 04 8E 08 .. 00
   */
  protectCommand(cmd: CommandApdu): Uint8Array {
    this.#alive();
    if (cmd.cla.sm !== 'none') throw new ByteInputError('cmd.cla: the command is already marked for secure messaging');
    const cla = protectedClaOf(cmd.cla);
    const headerMac = cmd.cla.kind !== 'further-interindustry';
    const bs = this.blockSize;
    this.#increment();

    // DO'87' / DO'85'.
    const nc = cmd.data.length;
    const odd = (cmd.ins & 1) === 1;
    let crypt: Uint8Array = EMPTY;
    if (nc > 0) crypt = this.#encrypt(cmd.data);
    const cryptValueLen = nc > 0 ? crypt.length + (odd ? 0 : 1) : 0;
    const cryptDoLen = nc > 0 ? 1 + lenLen(cryptValueLen) + cryptValueLen : 0;

    // DO'97': one byte up to 256 (00 = 256) unless the plain command was extended.
    const ne = cmd.ne;
    const leLen = ne === 0 ? 0 : ne <= 256 && !cmd.extended ? 1 : 2;
    const leDoLen = ne === 0 ? 0 : 2 + leLen;

    const dataLen = cryptDoLen + leDoLen + 10;
    const extended = cmd.extended || dataLen > 255 || protectedResponseLength(ne, bs) > 256;
    const out = this.#out(4 + (extended ? 3 : 1) + dataLen + (extended ? 2 : 1));
    out[0] = cla;
    out[1] = cmd.ins;
    out[2] = cmd.p1;
    out[3] = cmd.p2;
    let o: number;
    if (extended) {
      out[4] = 0;
      out[5] = dataLen >>> 8;
      out[6] = dataLen & 0xff;
      o = 7;
    } else {
      out[4] = dataLen;
      o = 5;
    }
    const doStart = o;
    if (nc > 0) {
      out[o++] = odd ? TAG_85 : TAG_87;
      o = putLen(out, o, cryptValueLen);
      if (!odd) out[o++] = 0x01;
      out.set(crypt, o);
      o += crypt.length;
    }
    if (ne > 0) {
      out[o++] = TAG_97;
      out[o++] = leLen;
      if (leLen === 1) {
        out[o++] = ne & 0xff;
      } else {
        out[o++] = (ne >>> 8) & 0xff;
        out[o++] = ne & 0xff;
      }
    }
    const mac = this.#macOver(out, headerMac, doStart, o);
    out[o++] = TAG_8E;
    out[o++] = 8;
    out.set(mac, o);
    o += 8;
    // Le 00 / 00 00: "as many bytes as the protected response has".
    out[o++] = 0;
    if (extended) out[o] = 0;
    return out;
  }

  /**
   * Verifies and decrypts a protected response (ICAO 9303-11 §9.8.6.2). Throws {@link SmError}
   * for a response without SM (with `cardSw` set: the card ended the session), missing or
   * malformed DOs, a wrong MAC, or a trailer status word that differs from the MACed DO'99'.
   *
   * @example codec.unprotectResponse(hexToBytes('990290008E08FA855A5D4C50A8ED9000')) // { data: [], sw: 0x9000 }
   */
  unprotectResponse(resp: Uint8Array): ResponseApdu {
    this.#alive();
    const n = resp.length - 2;
    if (n < 0) throw new SmError(SM_SW.INCORRECT, 'response shorter than a status word');
    const trailer = (resp[n]! << 8) | resp[n + 1]!;
    if (n === 0) {
      const swText = `${hex(trailer >>> 8)}${hex(trailer & 0xff)}`;
      throw new SmError(SM_SW.MISSING, `the card answered ${swText} without secure messaging (session ended)`, trailer);
    }
    this.#increment();
    const field = resp.subarray(0, n);
    const f = splitDos(field, true);
    if (f.macTagAt < 0) throw new SmError(SM_SW.MISSING, "response has no DO'8E' (MAC)");
    if (f.swStart < 0) throw new SmError(SM_SW.MISSING, "response has no DO'99' (status word)");
    if (f.macEnd - f.macStart !== 8) throw incorrect("DO'8E' must hold 8 bytes");
    if (f.swEnd - f.swStart !== 2) throw incorrect("DO'99' must hold 2 bytes");
    const expected = this.#macOver(field, false, 0, f.macTagAt);
    if (!constantTimeEqual(field.subarray(f.macStart, f.macEnd), expected)) throw incorrect('response MAC does not verify');
    const sw = (field[f.swStart]! << 8) | field[f.swStart + 1]!;
    if (sw !== trailer) throw incorrect("the status word outside differs from the MACed one in DO'99'");
    const data = f.cryptTag === 0 ? EMPTY : this.#decryptDo(field, f);
    return { data, sw };
  }

  // --- card side -------------------------------------------------------------------------------

  /**
   * Verifies and decrypts a protected command into the plain command the OS dispatches (ICAO
   * 9303-11 §9.8.6.1 read backwards). Throws {@link SmError} 6987/6988 as listed in the module
   * comment; 6882 for a CLA with proprietary SM (b4-b3 = 01), which this codec does not speak.
   *
   * @example codec.unprotectCommand(parseCommandApdu(wire)).ins // 0xB0
   */
  unprotectCommand(cmd: CommandApdu): CommandApdu {
    this.#alive();
    const sm = cmd.cla.sm;
    if (sm === 'none') throw new SmError(SM_SW.MISSING, 'the command is not marked for secure messaging');
    if (sm === 'proprietary') throw new SmError(SM_SW.NOT_SUPPORTED, 'proprietary secure messaging (CLA b4-b3 = 01) is not supported');
    const field = cmd.data;
    const f = splitDos(field, false);
    if (f.macTagAt < 0) throw new SmError(SM_SW.MISSING, "command has no DO'8E' (MAC)");
    // The outer Le is not MACed (DO'97' carries Ne), so only ICAO's value is accepted: anything
    // else means the APDU was modified on the way.
    if (cmd.ne !== 256 && cmd.ne !== 65536) throw incorrect("a protected command's Le must be 00 (or 0000)");
    if (f.macEnd - f.macStart !== 8) throw incorrect("DO'8E' must hold 8 bytes");
    const leLen = f.leStart < 0 ? 0 : f.leEnd - f.leStart;
    if (f.leStart >= 0 && leLen !== 1 && leLen !== 2) throw incorrect("DO'97' must hold 1 or 2 bytes");
    this.#checkCryptShape(field, f);
    this.#increment();
    const expected = this.#macOverCommand(cmd, field, f.macTagAt, sm === 'iso-header');
    if (!constantTimeEqual(field.subarray(f.macStart, f.macEnd), expected)) throw incorrect('command MAC does not verify');

    const data = f.cryptTag === 0 ? EMPTY : this.#decryptDo(field, f);
    let ne = 0;
    if (leLen === 1) ne = field[f.leStart]! || 256;
    else if (leLen === 2) ne = ((field[f.leStart]! << 8) | field[f.leStart + 1]!) || 65536;
    const extended = data.length > 255 || ne > 256 || leLen === 2;
    const cla = decodeCla(plainClaOf(cmd.cla));
    if (cla === undefined) throw incorrect('class byte');
    return { cla, ins: cmd.ins, p1: cmd.p1, p2: cmd.p2, data, ne, case: caseOf(data.length, ne, extended), extended };
  }

  /**
   * Protects a response (ICAO 9303-11 §9.8.6.2): DO'87' (DO'85' when `oddIns`) with the data,
   * DO'99' with the status word — always present, also for errors — DO'8E', and SW1-SW2.
   *
   * @example codec.protectResponse(new Uint8Array(0), 0x6a82) // 99 02 6A 82 8E 08 .. 6A 82
   */
  protectResponse(data: Uint8Array, sw: number, oddIns = false): Uint8Array {
    this.#alive();
    this.#increment();
    const nd = data.length;
    let crypt: Uint8Array = EMPTY;
    if (nd > 0) crypt = this.#encrypt(data);
    const cryptValueLen = nd > 0 ? crypt.length + (oddIns ? 0 : 1) : 0;
    const cryptDoLen = nd > 0 ? 1 + lenLen(cryptValueLen) + cryptValueLen : 0;
    const out = this.#out(cryptDoLen + 4 + 10 + 2);
    let o = 0;
    if (nd > 0) {
      out[o++] = oddIns ? TAG_85 : TAG_87;
      o = putLen(out, o, cryptValueLen);
      if (!oddIns) out[o++] = 0x01;
      out.set(crypt, o);
      o += crypt.length;
    }
    out[o++] = TAG_99;
    out[o++] = 2;
    out[o++] = (sw >>> 8) & 0xff;
    out[o++] = sw & 0xff;
    const mac = this.#macOver(out, false, 0, o);
    out[o++] = TAG_8E;
    out[o++] = 8;
    out.set(mac, o);
    o += 8;
    out[o++] = (sw >>> 8) & 0xff;
    out[o] = sw & 0xff;
    return out;
  }

  // --- primitives ------------------------------------------------------------------------------

  #alive(): void {
    if (this.#destroyed) throw new SmError(SM_SW.INCORRECT, 'the session has ended');
  }

  /** SSC + 1, big-endian, wrapping at 2^(8·length) (ICAO 9303-11 §9.8.5). */
  #increment(): void {
    incrementInPlace(this.#ssc, 0, this.#ssc.length);
  }

  /** Scratch space of at least `n` bytes (reused between calls; never returned). */
  #scratchOf(n: number): Uint8Array {
    if (this.#scratch.length < n) {
      zeroize(this.#scratch);
      this.#scratch = new Uint8Array(Math.max(n, this.#scratch.length * 2));
    }
    return this.#scratch;
  }

  /** A fresh, zero-filled output of `n` bytes (a slab view up to 2 KiB; see the class comment). */
  #out(n: number): Uint8Array {
    if (n > SLAB_MAX_PIECE) return new Uint8Array(n);
    if (this.#slabPos + n > this.#slab.byteLength) {
      this.#slab = new ArrayBuffer(SLAB_SIZE);
      this.#slabPos = 0;
    }
    const v = new Uint8Array(this.#slab, this.#slabPos, n);
    this.#slabPos += n;
    return v;
  }

  /** E(KSenc, SSC) for the current SSC (AES only, ICAO 9303-11 §9.8.3): one block in JavaScript. */
  #ivNow(): Uint8Array {
    const iv = this.#iv;
    iv.fill(0);
    this.#ivCipher!.chain(iv, this.#ssc, 0, 1);
    return iv;
  }

  /**
   * E(KSenc, pad(data)). 3DES: IV zero. AES: IV = E(KSenc, SSC) (ICAO 9303-11 §9.8.3), obtained in
   * the same call by encrypting SSC ‖ pad(data) under a zero IV and dropping the first block.
   */
  #encrypt(data: Uint8Array): Uint8Array {
    const bs = this.blockSize;
    const len = data.length;
    const padded = (Math.floor(len / bs) + 1) * bs;
    const pre = bs === 16 ? 16 : 0;
    const total = pre + padded;
    const buf = this.#scratchOf(total);
    if (pre > 0) buf.set(this.#ssc);
    buf.set(data, pre);
    buf[pre + len] = 0x80;
    buf.fill(0, pre + len + 1, total);
    const out = this.#enc.encryptScratch(buf.subarray(0, total));
    buf.fill(0, 0, total);
    return pre > 0 ? out.subarray(pre) : out;
  }

  /** Structure of the cryptogram DO, checked before the MAC (it reveals nothing secret). */
  #checkCryptShape(field: Uint8Array, f: SmFields): void {
    if (f.cryptTag === 0) return;
    const bs = this.blockSize;
    let start = f.cryptStart;
    if (f.cryptTag === TAG_87) {
      if (f.cryptEnd === start || field[start] !== 0x01) throw incorrect("DO'87' padding-content indicator must be 01");
      start++;
    }
    const len = f.cryptEnd - start;
    if (len === 0 || len % bs !== 0) throw incorrect(`DO'${hex(f.cryptTag)}' cryptogram must be a non-empty multiple of ${bs} bytes`);
  }

  /** Decrypts the cryptogram DO and removes padding method 2 (after the MAC was verified). */
  #decryptDo(field: Uint8Array, f: SmFields): Uint8Array {
    this.#checkCryptShape(field, f);
    const start = f.cryptTag === TAG_87 ? f.cryptStart + 1 : f.cryptStart;
    const ct = field.subarray(start, f.cryptEnd);
    const pt = this.#dec.decrypt(ct, this.blockSize === 16 ? this.#ivNow() : undefined);
    // Strict padding method 2: 80 then only 00s, within the last block.
    let i = pt.length - 1;
    const stop = pt.length - this.blockSize;
    while (i >= stop && pt[i] === 0x00) i--;
    if (i < stop || pt[i] !== 0x80) {
      wipe(pt);
      throw incorrect(`DO'${hex(f.cryptTag)}' padding is not ISO/IEC 9797-1 method 2`);
    }
    const out = this.#out(i);
    out.set(i === pt.length ? pt : pt.subarray(0, i));
    wipe(pt);
    return out;
  }

  /**
   * MAC over pad(SSC ‖ [pad(header)] ‖ bytes[from, to)), where the header is bytes[0..4) of a
   * protected command being built (`headerMac`).
   */
  #macOver(bytes: Uint8Array, headerMac: boolean, from: number, to: number): Uint8Array {
    const bs = this.blockSize;
    const head = bs + (headerMac ? bs : 0);
    const body = to - from;
    const total = (Math.floor((head + body) / bs) + 1) * bs;
    const n = this.#scratchOf(total);
    n.set(this.#ssc);
    if (headerMac) {
      n[bs] = bytes[0]!;
      n[bs + 1] = bytes[1]!;
      n[bs + 2] = bytes[2]!;
      n[bs + 3] = bytes[3]!;
      n[bs + 4] = 0x80;
      n.fill(0, bs + 5, head);
    }
    n.set(bytes.subarray(from, to), head);
    n[head + body] = 0x80;
    n.fill(0, head + body + 1, total);
    return this.#mac.macPadded(n.subarray(0, total));
  }

  /** {@link macOver} for a received command: the header comes from the parsed command. */
  #macOverCommand(cmd: CommandApdu, field: Uint8Array, to: number, headerMac: boolean): Uint8Array {
    const bs = this.blockSize;
    const head = bs + (headerMac ? bs : 0);
    const total = (Math.floor((head + to) / bs) + 1) * bs;
    const n = this.#scratchOf(total);
    n.set(this.#ssc);
    if (headerMac) {
      n[bs] = cmd.cla.raw;
      n[bs + 1] = cmd.ins;
      n[bs + 2] = cmd.p1;
      n[bs + 3] = cmd.p2;
      n[bs + 4] = 0x80;
      n.fill(0, bs + 5, head);
    }
    n.set(field.subarray(0, to), head);
    n[head + to] = 0x80;
    n.fill(0, head + to + 1, total);
    return this.#mac.macPadded(n.subarray(0, total));
  }
}

/** Zeroizes an OpenSSL output: TypedArray fill, not Buffer's slower validating `fill`. */
function wipe(b: Uint8Array): void {
  Uint8Array.prototype.fill.call(b, 0);
}

/** Big-endian +1 of bytes[off, off+len), wrapping to zero. */
function incrementInPlace(bytes: Uint8Array, off: number, len: number): void {
  for (let i = off + len - 1; i >= off; i--) {
    const v = (bytes[i]! + 1) & 0xff;
    bytes[i] = v;
    if (v !== 0) break;
  }
}

/**
 * Largest protected response to a command expecting `ne` bytes: DO'87' (01 ‖ padded data) + DO'99'
 * (4) + DO'8E' (10). Used to choose extended length for the protected command.
 *
 * @example protectedResponseLength(256, 16) // 4 + 273 + 14 = 291
 */
export function protectedResponseLength(ne: number, blockSize: 8 | 16): number {
  if (ne === 0) return 14;
  const v = 1 + (Math.floor(ne / blockSize) + 1) * blockSize;
  return 1 + lenLen(v) + v + 14;
}
