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
import { ByteInputError, abytes, zeroize } from '../bytes/index.js';
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

/** An empty {@link SmFields} record (one per codec, refilled by {@link splitDos}). */
function newFields(): SmFields {
  return { cryptTag: 0, cryptStart: 0, cryptEnd: 0, leStart: -1, leEnd: -1, swStart: -1, swEnd: -1, macTagAt: -1, macStart: 0, macEnd: 0 };
}

/**
 * Splits the SM data field `f[0, n)` into its DOs, recording them in `r` (reset first). Command
 * fields may hold 85/87, 97, 8E; response fields 85/87, 99, 8E — in that order, each once (ICAO
 * 9303-11 §9.8.6), lengths in short or 81/82 form. Offsets are into `f`.
 */
function splitDos(f: Uint8Array, n: number, response: boolean, r: SmFields): SmFields {
  r.cryptTag = 0;
  r.cryptStart = 0;
  r.cryptEnd = 0;
  r.leStart = -1;
  r.leEnd = -1;
  r.swStart = -1;
  r.swEnd = -1;
  r.macTagAt = -1;
  r.macStart = 0;
  r.macEnd = 0;
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

/**
 * Outputs up to 2 KiB are carved from a per-codec slab (see {@link SmCodec}). Slabs start at 4 KiB
 * and double up to 64 KiB, so a short session stays small while a long one allocates rarely: a
 * slab is an allocation of over 1 KiB, for which glibc first consolidates its free lists, and at
 * 16 KiB that alone was about 3 % of an SM READ BINARY in profiles (64 KiB measured 4 % faster).
 */
const SLAB_FIRST = 4096;
const SLAB_MAX = 65536;
const SLAB_MAX_PIECE = 2048;
/** Up to this many bytes a copy runs as a JavaScript loop; above, a view and `set` are cheaper. */
const COPY_LOOP_MAX = 48;

/**
 * One side of an SM session. Holds its own copy of the SSC and long-lived cipher contexts for
 * KSenc and KSmac; create one per side. Not reusable after {@link destroy}.
 *
 * Performance (the SM hot path of the simulator and of terminal tools; issue 3 measures a READ
 * BINARY of 256 bytes under AES SM, card and terminal): a call into OpenSSL through Node costs
 * about a microsecond whatever the length, and allocating a typed array or a view costs tens to
 * hundreds of nanoseconds, so a protected 256-byte READ BINARY does exactly four OpenSSL calls
 * (card: encrypt, MAC; terminal: MAC, decrypt) and allocates little beyond what it returns:
 * - short CMACs (up to 8 blocks: every protected command without data, short responses) and the
 *   AES IV E(KSenc, SSC) run in JavaScript (`_aes.ts`); the card's encryption gets its IV in the
 *   same OpenSSL call by encrypting SSC ‖ pad(data) and skipping the first block;
 * - MACs are computed into the output or into a per-codec tag and compared there, in constant
 *   time, without views or native calls;
 * - the DO layout is recorded in one reused object; scratch views are cached by the engines;
 * - outputs of up to 2 KiB are carved from a slab (4 to 64 KiB) that this codec owns, so returned
 *   arrays may be views that share their `.buffer` with other messages *of the same session*; a
 *   slab is never reused or wiped after it is handed out, so the views stay valid. Decrypted data
 *   is a view of the buffer OpenSSL wrote it to (it holds only that plaintext and its padding).
 *   Copy (`slice()`) what must outlive the session in isolation.
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
  /** The MAC this side computes for a received message, compared with DO'8E'. */
  readonly #tag = new Uint8Array(8);
  /** Where the DOs of the message being unprotected are (reused; see {@link splitDos}). */
  readonly #fields: SmFields = newFields();
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
    zeroize(this.#tag);
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
    const pre = bs === 16 ? 16 : 0;
    let crypt: Buffer | null = null;
    if (nc > 0) crypt = this.#encrypt(cmd.data);
    const cryptLen = crypt === null ? 0 : crypt.length - pre;
    const cryptValueLen = nc > 0 ? cryptLen + (odd ? 0 : 1) : 0;
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
    if (crypt !== null) {
      out[o++] = odd ? TAG_85 : TAG_87;
      o = putLen(out, o, cryptValueLen);
      if (!odd) out[o++] = 0x01;
      out.set(pre === 0 ? crypt : viewOf(crypt, pre, cryptLen), o);
      o += cryptLen;
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
    const macInput = this.#macInput(out, doStart, o, headerMac, cla, cmd.ins, cmd.p1, cmd.p2);
    out[o] = TAG_8E;
    out[o + 1] = 8;
    this.#mac.macInto(this.#scratch, macInput, out, o + 2);
    o += 10;
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
    const f = splitDos(resp, n, true, this.#fields);
    if (f.macTagAt < 0) throw new SmError(SM_SW.MISSING, "response has no DO'8E' (MAC)");
    if (f.swStart < 0) throw new SmError(SM_SW.MISSING, "response has no DO'99' (status word)");
    if (f.macEnd - f.macStart !== 8) throw incorrect("DO'8E' must hold 8 bytes");
    if (f.swEnd - f.swStart !== 2) throw incorrect("DO'99' must hold 2 bytes");
    if (!this.#macVerifies(resp, 0, f.macTagAt, false, 0, 0, 0, 0, f.macStart)) throw incorrect('response MAC does not verify');
    const sw = (resp[f.swStart]! << 8) | resp[f.swStart + 1]!;
    if (sw !== trailer) throw incorrect("the status word outside differs from the MACed one in DO'99'");
    const data = f.cryptTag === 0 ? EMPTY : this.#decryptDo(resp, f);
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
    const f = splitDos(field, field.length, false, this.#fields);
    if (f.macTagAt < 0) throw new SmError(SM_SW.MISSING, "command has no DO'8E' (MAC)");
    // The outer Le is not MACed (DO'97' carries Ne), so only ICAO's value is accepted: anything
    // else means the APDU was modified on the way.
    if (cmd.ne !== 256 && cmd.ne !== 65536) throw incorrect("a protected command's Le must be 00 (or 0000)");
    if (f.macEnd - f.macStart !== 8) throw incorrect("DO'8E' must hold 8 bytes");
    const leLen = f.leStart < 0 ? 0 : f.leEnd - f.leStart;
    if (f.leStart >= 0 && leLen !== 1 && leLen !== 2) throw incorrect("DO'97' must hold 1 or 2 bytes");
    this.#checkCryptShape(field, f);
    this.#increment();
    const headerMac = sm === 'iso-header';
    if (!this.#macVerifies(field, 0, f.macTagAt, headerMac, cmd.cla.raw, cmd.ins, cmd.p1, cmd.p2, f.macStart)) {
      throw incorrect('command MAC does not verify');
    }

    let ne = 0;
    if (leLen === 1) ne = field[f.leStart]! || 256;
    else if (leLen === 2) ne = ((field[f.leStart]! << 8) | field[f.leStart + 1]!) || 65536;
    const data = f.cryptTag === 0 ? EMPTY : this.#decryptDo(field, f);
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
    const pre = this.blockSize === 16 ? 16 : 0;
    let crypt: Buffer | null = null;
    if (nd > 0) crypt = this.#encrypt(data);
    const cryptLen = crypt === null ? 0 : crypt.length - pre;
    const cryptValueLen = nd > 0 ? cryptLen + (oddIns ? 0 : 1) : 0;
    const cryptDoLen = nd > 0 ? 1 + lenLen(cryptValueLen) + cryptValueLen : 0;
    const out = this.#out(cryptDoLen + 4 + 10 + 2);
    let o = 0;
    if (crypt !== null) {
      out[o++] = oddIns ? TAG_85 : TAG_87;
      o = putLen(out, o, cryptValueLen);
      if (!oddIns) out[o++] = 0x01;
      out.set(pre === 0 ? crypt : viewOf(crypt, pre, cryptLen), o);
      o += cryptLen;
    }
    out[o++] = TAG_99;
    out[o++] = 2;
    out[o++] = (sw >>> 8) & 0xff;
    out[o++] = sw & 0xff;
    const macInput = this.#macInput(out, 0, o, false, 0, 0, 0, 0);
    out[o] = TAG_8E;
    out[o + 1] = 8;
    this.#mac.macInto(this.#scratch, macInput, out, o + 2);
    o += 10;
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
      const size = this.#slab.byteLength;
      this.#slab = new ArrayBuffer(size === 0 ? SLAB_FIRST : Math.min(2 * size, SLAB_MAX));
      this.#slabPos = 0;
    }
    const v = new Uint8Array(this.#slab, this.#slabPos, n);
    this.#slabPos += n;
    return v;
  }

  /** E(KSenc, SSC) for the current SSC (AES only, ICAO 9303-11 §9.8.3): one block in JavaScript. */
  #ivNow(): Uint8Array {
    const iv = this.#iv;
    for (let i = 0; i < 16; i++) iv[i] = 0;
    this.#ivCipher!.chain(iv, this.#ssc, 0, 1);
    return iv;
  }

  /**
   * E(KSenc, pad(data)) as OpenSSL returned it. 3DES: IV zero. AES: IV = E(KSenc, SSC) (ICAO
   * 9303-11 §9.8.3), obtained in the same call by encrypting SSC ‖ pad(data) under a zero IV — so
   * the result starts with one extra block (the IV, which the caller skips and never sends).
   */
  #encrypt(data: Uint8Array): Buffer {
    const bs = this.blockSize;
    const len = data.length;
    const padded = (Math.floor(len / bs) + 1) * bs;
    const pre = bs === 16 ? 16 : 0;
    const total = pre + padded;
    const buf = this.#scratchOf(total);
    const ssc = this.#ssc;
    for (let i = 0; i < pre; i++) buf[i] = ssc[i]!;
    if (len <= COPY_LOOP_MAX) {
      for (let i = 0; i < len; i++) buf[pre + i] = data[i]!;
    } else {
      buf.set(data, pre);
    }
    buf[pre + len] = 0x80;
    for (let i = pre + len + 1; i < total; i++) buf[i] = 0;
    const out = this.#enc.encryptRange(buf, 0, total);
    buf.fill(0, 0, total);
    return out;
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

  /**
   * Decrypts the cryptogram DO and removes padding method 2 (after the MAC was verified). The
   * result is a view of OpenSSL's output buffer, which holds nothing else than this plaintext and
   * its padding (checked; otherwise it is copied out and wiped).
   */
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
    const ab = pt.buffer;
    if (pt.byteOffset === 0 && ab.byteLength === pt.length) return new Uint8Array(ab, 0, i);
    const out = this.#out(i);
    out.set(viewOf(pt, 0, i));
    wipe(pt);
    return out;
  }

  /**
   * Lays out the MAC input pad(SSC ‖ [pad(CLA INS P1 P2)] ‖ bytes[from, to)) in the scratch and
   * returns its length (ICAO 9303-11 §9.8.6: the header block only when it is authenticated).
   */
  #macInput(bytes: Uint8Array, from: number, to: number, headerMac: boolean, cla: number, ins: number, p1: number, p2: number): number {
    const bs = this.blockSize;
    const head = bs + (headerMac ? bs : 0);
    const body = to - from;
    const total = (Math.floor((head + body) / bs) + 1) * bs;
    const n = this.#scratchOf(total);
    const ssc = this.#ssc;
    for (let i = 0; i < bs; i++) n[i] = ssc[i]!;
    if (headerMac) {
      n[bs] = cla;
      n[bs + 1] = ins;
      n[bs + 2] = p1;
      n[bs + 3] = p2;
      n[bs + 4] = 0x80;
      for (let i = bs + 5; i < head; i++) n[i] = 0;
    }
    if (body <= COPY_LOOP_MAX) {
      for (let i = 0; i < body; i++) n[head + i] = bytes[from + i]!;
    } else if (from === 0 && head + bytes.length <= n.length) {
      // All of `bytes` (what follows `to` is overwritten by the padding below, or lies beyond
      // the MAC input): no view to allocate.
      n.set(bytes, head);
    } else {
      n.set(bytes.subarray(from, to), head);
    }
    n[head + body] = 0x80;
    for (let i = head + body + 1; i < total; i++) n[i] = 0;
    return total;
  }

  /**
   * Whether the MAC over pad(SSC ‖ [header] ‖ bytes[from, to)) equals the 8 bytes at
   * `bytes[macAt]`. Constant time: every byte is compared, no early exit.
   */
  #macVerifies(
    bytes: Uint8Array,
    from: number,
    to: number,
    headerMac: boolean,
    cla: number,
    ins: number,
    p1: number,
    p2: number,
    macAt: number,
  ): boolean {
    const len = this.#macInput(bytes, from, to, headerMac, cla, ins, p1, p2);
    const tag = this.#tag;
    this.#mac.macInto(this.#scratch, len, tag, 0);
    const ok = constantTimeEqual8(tag, bytes, macAt);
    // The correct MAC of a message that may be forged: never leave it behind.
    for (let i = 0; i < 8; i++) tag[i] = 0;
    return ok;
  }
}

/**
 * `a[0, 8) = b[at, at + 8)` without an early exit (OR of XORs, as noble-hashes' `equalBytes`),
 * so the time does not depend on where a forged MAC first differs (STYLE.md principle 7). Used
 * instead of `constantTimeEqual` (bytes/) on the SM hot path because that needs two views and a
 * native call per APDU, which cost more than the comparison.
 */
function constantTimeEqual8(a: Uint8Array, b: Uint8Array, at: number): boolean {
  let d = 0;
  for (let i = 0; i < 8; i++) d |= a[i]! ^ b[at + i]!;
  return d === 0;
}

/** A plain `Uint8Array` view of `b[from, from + n)`: cheaper than a Buffer's `subarray`. */
function viewOf(b: Uint8Array, from: number, n: number): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset + from, n);
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
