/**
 * Command APDU codec: ISO/IEC 7816-3 §12.1 (cases) and ISO/IEC 7816-4 §5.1 (Lc/Le), §5.4.1 (CLA).
 *
 * Each APDU is parsed exactly once, at the card's boundary, into a {@link CommandApdu}; handlers
 * never see raw bytes.
 */
import { ByteInputError } from '../bytes/index.js';
import { SW, StatusWordError } from './status.js';

/** ISO/IEC 7816-3 §12.1.2–12.1.3: the seven command cases. */
export const APDU_CASES = ['1', '2S', '3S', '4S', '2E', '3E', '4E'] as const;
export type ApduCase = (typeof APDU_CASES)[number];

/**
 * Secure messaging indication from CLA (ISO/IEC 7816-4 §5.4.1 table 2 and 3):
 * `none`; `proprietary`; `iso` (SM per §10, header not authenticated); `iso-header` (header
 * authenticated, first interindustry only).
 */
export type SmIndication = 'none' | 'proprietary' | 'iso' | 'iso-header';

/** Decoded class byte. */
export interface ClassByte {
  readonly raw: number;
  /** First or further interindustry class; `proprietary` for b8 = 1 (except FF, invalid). */
  readonly kind: 'interindustry' | 'further-interindustry' | 'proprietary';
  /** Logical channel 0–19 (0–3 first interindustry, 4–19 further interindustry). */
  readonly channel: number;
  readonly sm: SmIndication;
  /** b5: "command is not the last of a chain" (§5.4.1). */
  readonly chaining: boolean;
}

/** A parsed command APDU. `data` is a view into the input; copy it before keeping it. */
export interface CommandApdu {
  readonly cla: ClassByte;
  readonly ins: number;
  readonly p1: number;
  readonly p2: number;
  /** Command data (Nc = data.length). */
  readonly data: Uint8Array;
  /** Ne: maximum response data expected; 0 when Le is absent. 256 / 65536 for Le 00 / 0000. */
  readonly ne: number;
  readonly case: ApduCase;
  readonly extended: boolean;
}

const CLASS_CACHE: ClassByte[] = [];

/**
 * Decodes CLA per ISO/IEC 7816-4 §5.4.1. Returns `undefined` for FF (invalid, reserved for PPS)
 * and for 001x xxxx (reserved for future use) so the caller answers 6E00.
 */
export function decodeCla(cla: number): ClassByte | undefined {
  const cached = CLASS_CACHE[cla];
  if (cached !== undefined || cla in CLASS_CACHE) return cached;
  let out: ClassByte | undefined;
  if (cla === 0xff || (cla & 0xe0) === 0x20) {
    out = undefined;
  } else if ((cla & 0x80) !== 0) {
    // Proprietary class: by convention (GlobalPlatform, ISO/IEC 7816-4 §5.4.1 note) the low bits
    // keep the first-interindustry meaning, which is what proprietary perso commands rely on.
    out = Object.freeze({
      raw: cla,
      kind: 'proprietary',
      channel: cla & 0x03,
      sm: smFirst(cla),
      chaining: (cla & 0x10) !== 0,
    } as const);
  } else if ((cla & 0x40) === 0) {
    // 000x xxxx: b5 chaining, b4-b3 SM, b2-b1 channel 0-3.
    out = Object.freeze({
      raw: cla,
      kind: 'interindustry',
      channel: cla & 0x03,
      sm: smFirst(cla),
      chaining: (cla & 0x10) !== 0,
    } as const);
  } else {
    // 01xx xxxx: b6 SM (header not processed), b5 chaining, b4-b1 channel number - 4.
    out = Object.freeze({
      raw: cla,
      kind: 'further-interindustry',
      channel: 4 + (cla & 0x0f),
      sm: (cla & 0x20) !== 0 ? 'iso' : 'none',
      chaining: (cla & 0x10) !== 0,
    } as const);
  }
  CLASS_CACHE[cla] = out as ClassByte;
  return out;
}

function smFirst(cla: number): SmIndication {
  switch ((cla >>> 2) & 0x03) {
    case 0:
      return 'none';
    case 1:
      return 'proprietary';
    case 2:
      return 'iso';
    default:
      return 'iso-header';
  }
}

/**
 * Encodes a class byte for a channel, SM indication and chaining (the inverse of {@link decodeCla}
 * for interindustry classes). Channels 4–19 use the further-interindustry form, where only
 * `none` and `iso` SM exist.
 */
export function encodeCla(channel = 0, sm: SmIndication = 'none', chaining = false): number {
  if (!Number.isInteger(channel) || channel < 0 || channel > 19) {
    throw new ByteInputError(`channel: expected 0..19, got ${channel}`);
  }
  if (channel < 4) {
    const smBits = { none: 0, proprietary: 1, iso: 2, 'iso-header': 3 }[sm];
    return (chaining ? 0x10 : 0) | (smBits << 2) | channel;
  }
  if (sm !== 'none' && sm !== 'iso') {
    throw new ByteInputError(`sm: channel ${channel} only allows 'none' or 'iso', got '${sm}'`);
  }
  return 0x40 | (sm === 'iso' ? 0x20 : 0) | (chaining ? 0x10 : 0) | (channel - 4);
}

/**
 * Parses a command APDU (ISO/IEC 7816-3 §12.1.3 decoding rules).
 *
 * Malformed input raises `StatusWordError`: fewer than 4 bytes or inconsistent lengths → 6700,
 * invalid CLA → 6E00. It never throws anything else.
 */
export function parseCommandApdu(bytes: Uint8Array): CommandApdu {
  const n = bytes.length;
  if (n < 4) throw new StatusWordError(SW.WRONG_LENGTH, `APDU of ${n} bytes, at least 4 needed`);
  const cla = decodeCla(bytes[0]!);
  if (cla === undefined) throw new StatusWordError(SW.CLA_NOT_SUPPORTED, 'invalid CLA');
  const ins = bytes[1]!;
  const p1 = bytes[2]!;
  const p2 = bytes[3]!;
  if (n === 4) return make(cla, ins, p1, p2, EMPTY, 0, '1', false);
  const b0 = bytes[4]!;
  if (n === 5) return make(cla, ins, p1, p2, EMPTY, b0 === 0 ? 256 : b0, '2S', false);
  if (b0 !== 0) {
    // Short Lc.
    if (n === 5 + b0) return make(cla, ins, p1, p2, bytes.subarray(5, 5 + b0), 0, '3S', false);
    if (n === 6 + b0) {
      const le = bytes[5 + b0]!;
      return make(cla, ins, p1, p2, bytes.subarray(5, 5 + b0), le === 0 ? 256 : le, '4S', false);
    }
    throw new StatusWordError(SW.WRONG_LENGTH, `Lc=${b0} does not match ${n - 5} body bytes`);
  }
  // b0 = 00 and more bytes follow: extended length.
  if (n < 7) throw new StatusWordError(SW.WRONG_LENGTH, 'truncated extended length field');
  const l = (bytes[5]! << 8) | bytes[6]!;
  if (n === 7) return make(cla, ins, p1, p2, EMPTY, l === 0 ? 65536 : l, '2E', false);
  if (l === 0) throw new StatusWordError(SW.WRONG_LENGTH, 'extended Lc of 0');
  if (n === 7 + l) return make(cla, ins, p1, p2, bytes.subarray(7, 7 + l), 0, '3E', true);
  if (n === 9 + l) {
    const le = (bytes[7 + l]! << 8) | bytes[8 + l]!;
    return make(cla, ins, p1, p2, bytes.subarray(7, 7 + l), le === 0 ? 65536 : le, '4E', true);
  }
  throw new StatusWordError(SW.WRONG_LENGTH, `extended Lc=${l} does not match ${n - 7} body bytes`);
}

const EMPTY = new Uint8Array(0);

function make(
  cla: ClassByte,
  ins: number,
  p1: number,
  p2: number,
  data: Uint8Array,
  ne: number,
  c: ApduCase,
  extended: boolean,
): CommandApdu {
  return { cla, ins, p1, p2, data, ne, case: c, extended: extended || c === '2E' };
}

/** Fields for building a command APDU. */
export interface CommandSpec {
  readonly cla?: number;
  readonly ins: number;
  readonly p1?: number;
  readonly p2?: number;
  readonly data?: Uint8Array;
  /** Ne; 0 or undefined = no Le. 256 (short) / 65536 (extended) encode as 00 / 0000. */
  readonly ne?: number;
  /** Force the extended form even when short would do. */
  readonly extended?: boolean;
}

/**
 * Encodes a command APDU, choosing the short form when Nc ≤ 255 and Ne ≤ 256 unless `extended`
 * is asked for (ISO/IEC 7816-4 §5.1: short and extended fields are never mixed).
 */
export function encodeCommandApdu(spec: CommandSpec): Uint8Array {
  const data = spec.data ?? EMPTY;
  const ne = spec.ne ?? 0;
  const nc = data.length;
  if (nc > 65535) throw new ByteInputError(`data: at most 65535 bytes, got ${nc}`);
  if (!Number.isInteger(ne) || ne < 0 || ne > 65536) {
    throw new ByteInputError(`ne: expected 0..65536, got ${ne}`);
  }
  const header = [spec.cla ?? 0, spec.ins, spec.p1 ?? 0, spec.p2 ?? 0];
  for (const [i, b] of header.entries()) {
    if (!Number.isInteger(b) || b < 0 || b > 255) {
      throw new ByteInputError(`${['cla', 'ins', 'p1', 'p2'][i]}: expected a byte, got ${b}`);
    }
  }
  const extended = spec.extended === true || nc > 255 || ne > 256;
  const parts: number[] = header;
  if (!extended) {
    if (nc > 0) parts.push(nc);
    const out = new Uint8Array(4 + (nc > 0 ? 1 + nc : 0) + (ne > 0 ? 1 : 0));
    out.set(parts);
    if (nc > 0) out.set(data, 5);
    if (ne > 0) out[out.length - 1] = ne === 256 ? 0 : ne;
    return out;
  }
  const lcLen = nc > 0 ? 3 : 0;
  const leLen = ne > 0 ? (nc > 0 ? 2 : 3) : 0;
  if (lcLen === 0 && leLen === 0) {
    // Case 1 has no extended form.
    return new Uint8Array(header);
  }
  const out = new Uint8Array(4 + lcLen + nc + leLen);
  out.set(header);
  let o = 4;
  if (nc > 0) {
    out[o++] = 0;
    out[o++] = nc >>> 8;
    out[o++] = nc & 0xff;
    out.set(data, o);
    o += nc;
  }
  if (ne > 0) {
    if (nc === 0) out[o++] = 0;
    const le = ne === 65536 ? 0 : ne;
    out[o++] = le >>> 8;
    out[o++] = le & 0xff;
  }
  return out;
}
