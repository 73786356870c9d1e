/**
 * Answer-to-Reset per ISO/IEC 7816-3 §8 (structure, interface bytes, TCK) and the historical
 * bytes per ISO/IEC 7816-4 §12.1 (§8.1.1 in the 2005 edition): category indicator, COMPACT-TLV
 * objects, the card capabilities data object and the status indicator.
 *
 * The ATR is the first thing a reader and the host stack see, and it decides whether they use
 * extended APDUs, command chaining and logical channels with the card. The simulator therefore
 * builds its ATR from the same {@link CardCapabilities} its card OS enforces, and the parser is
 * strict so that a test comparing ATRs fails on the byte that is wrong.
 *
 * @example
 * const atr = parseAtr(defaultAtr());
 * atr.protocols // [1]
 * atr.capabilities?.extendedLength // true
 */
import { ByteInputError, byteHex, bytesToHex, concatBytes, u16Hex } from '../bytes/index.js';
import { TlvError } from '../tlv/ber.js';
import { encodeCompactTlv, parseCompactTlvList } from '../tlv/compact.js';
import type { CompactTlv } from '../tlv/compact.js';

/** A malformed ATR; `offset` is the index of the offending (or missing) byte, TS being 0. */
export class AtrError extends Error {
  override readonly name = 'AtrError';
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(`ATR byte ${offset}: ${message}`);
    this.offset = offset;
  }
}

/** TA(i), TB(i), TC(i), TD(i) of one interface-byte group; index 0 holds TA1…TD1. */
export interface AtrInterfaceBytes {
  readonly ta?: number;
  readonly tb?: number;
  readonly tc?: number;
  readonly td?: number;
}

/**
 * The card capabilities data object (COMPACT-TLV tag 7), ISO/IEC 7816-4:2013 §12.1.1.9; in the
 * 2005 edition §8.1.1.2.7, Table 86 (first software function table: selection methods, and the
 * data coding byte) and Table 87 (third software function table: command chaining, length
 * fields, logical channels).
 */
export interface CardCapabilities {
  /** First byte, b8…b1 in this order. */
  readonly selection: {
    readonly byFullDfName: boolean;
    readonly byPartialDfName: boolean;
    readonly byPath: boolean;
    readonly byFid: boolean;
    readonly implicitDf: boolean;
    readonly shortEfId: boolean;
    readonly recordNumber: boolean;
    readonly recordIdentifier: boolean;
  };
  /**
   * Second byte, kept as a byte because its fields are read elsewhere (BER-TLV 'FF' validity,
   * data unit size for READ BINARY offsets): b8 EFs of TLV structure, b7-b6 write behaviour,
   * b5 'FF' valid as first tag byte, b4-b1 data unit size as a power of two quartets.
   * 0 when the DO has only one byte.
   */
  readonly dataCodingByte: number;
  /** Third byte b8. */
  readonly commandChaining: boolean;
  /** Third byte b7: extended Lc and Le fields. */
  readonly extendedLength: boolean;
  readonly logicalChannels: {
    /** Third byte b5. */
    readonly assignedByCard: boolean;
    /** Third byte b4. */
    readonly assignedByInterface: boolean;
    /** Third byte b3-b1 plus one, 1…8; 8 means "eight or more" (b3-b1 = 111). */
    readonly max: number;
  };
}

/** Status indicator: life cycle status byte (ISO/IEC 7816-4 §7.4.10 Table 15) and/or SW1-SW2. */
export interface StatusIndicator {
  readonly lcs?: number;
  readonly sw?: number;
}

/** The historical bytes decoded per their category indicator (ISO/IEC 7816-4 §12.1.1). */
export interface HistoricalInfo {
  /** First historical byte: 00, 10, 80 are interindustry; 81–8F RFU; others proprietary. */
  readonly category: number;
  /** COMPACT-TLV objects (categories 00 and 80), in order. */
  readonly objects?: readonly CompactTlv[];
  /** Tag 3, card service data byte. */
  readonly serviceData?: number;
  /** Tag 6, pre-issuing data (proprietary). */
  readonly preIssuing?: Uint8Array;
  /** Tag 8 (category 80) or the mandatory last three bytes (category 00). */
  readonly statusIndicator?: StatusIndicator;
  /** Category 10: the DIR data reference byte. */
  readonly dirDataReference?: number;
}

/** A parsed ATR. All byte arrays are subarrays of the input. */
export interface Atr {
  readonly ts: 0x3b | 0x3f;
  readonly t0: number;
  /** Interface-byte groups in order; `interfaceBytes[0]` is TA1/TB1/TC1/TD1. */
  readonly interfaceBytes: readonly AtrInterfaceBytes[];
  /** Transmission protocols offered (T values of TD(i) except 15), [0] when TD1 is absent. */
  readonly protocols: readonly number[];
  readonly historical: Uint8Array;
  /** Check byte; absent exactly when only T=0 is indicated (ISO/IEC 7816-3 §8.2.5). */
  readonly tck?: number;
  readonly raw: Uint8Array;
  /** The card capabilities DO (tag 7) when the historical bytes carry one. */
  readonly capabilities?: CardCapabilities;
  /** Decoded historical bytes, present when there is at least one historical byte. */
  readonly historicalInfo?: HistoricalInfo;
}

/** What {@link buildAtr} needs; everything is optional. */
export interface AtrSpec {
  /** Protocols offered, default [1]. T=0 alone yields an ATR without TD1 and without TCK. */
  readonly protocols?: readonly (0 | 1)[];
  /** TA1 (Fi/Di, ISO/IEC 7816-3 §8.3); absent means the default Fi = 372, Di = 1. */
  readonly ta1?: number;
  /** Literal historical bytes; excludes the fields below, which build COMPACT-TLV ones. */
  readonly historical?: Uint8Array;
  readonly capabilities?: CardCapabilities;
  /** Tag 3, card service data byte. */
  readonly serviceData?: number;
  /** Tag 6, pre-issuing data. */
  readonly preIssuing?: Uint8Array;
  /** Tag 8, emitted last as 81 (LCS), 82 (SW) or 83 (LCS, SW). */
  readonly statusIndicator?: StatusIndicator;
}

/** TS values, ISO/IEC 7816-3 §8.1: the only two bytes a card may send first. */
export const TS = { direct: 0x3b, inverse: 0x3f } as const;

/** Category indicator values, ISO/IEC 7816-4 §12.1.1 (2005: §8.1.1.1 Table 82). */
export const HISTORICAL_CATEGORY = {
  statusAtEnd: 0x00,
  dirDataReference: 0x10,
  compactTlv: 0x80,
} as const;

/** COMPACT-TLV tags in the historical bytes, ISO/IEC 7816-4 §12.1.1 (2005: Table 83). */
export const HISTORICAL_TAG = {
  countryCode: 0x1,
  issuerIdentificationNumber: 0x2,
  cardServiceData: 0x3,
  initialAccessData: 0x4,
  cardIssuerData: 0x5,
  preIssuingData: 0x6,
  cardCapabilities: 0x7,
  statusIndicator: 0x8,
  applicationIdentifier: 0xf,
} as const;

/** At most 15 historical bytes: K is a nibble of T0 (ISO/IEC 7816-3 §8.2.2). */
export const MAX_HISTORICAL_BYTES = 15;

/** TS plus at most 32 further characters (ISO/IEC 7816-3 §8.2.1). */
export const MAX_ATR_LENGTH = 33;

/**
 * The capabilities the chipwright card OS implements: selection by full and partial DF name,
 * path, FID, SFI and record number; command chaining; extended Lc/Le; four logical channels
 * whose numbers either side may assign. Data coding byte 21: write behaviour proprietary (the
 * OS overwrites), 'FF' not a valid first tag byte (it is padding), data unit one byte.
 */
export const DEFAULT_CAPABILITIES: CardCapabilities = Object.freeze({
  selection: Object.freeze({
    byFullDfName: true,
    byPartialDfName: true,
    byPath: true,
    byFid: true,
    implicitDf: false,
    shortEfId: true,
    recordNumber: true,
    recordIdentifier: false,
  }),
  dataCodingByte: 0x21,
  commandChaining: true,
  extendedLength: true,
  logicalChannels: Object.freeze({ assignedByCard: true, assignedByInterface: true, max: 4 }),
});

/**
 * The simulator's default ATR: T=1 only, historical bytes 80 73 F6 21 DB (category 80 and the
 * capabilities of {@link DEFAULT_CAPABILITIES}), TCK.
 *
 * @example bytesToHex(defaultAtr(), ' ') // '3B 85 01 80 73 F6 21 DB 7B'
 */
export function defaultAtr(): Uint8Array {
  return buildAtr({ protocols: [1], capabilities: DEFAULT_CAPABILITIES });
}

/**
 * Parses an ATR strictly (ISO/IEC 7816-3 §8.2): TS must be 3B or 3F; every interface byte Y(i)
 * announces must be present; T=15 is invalid in TD1; TCK must be present and make the XOR of
 * T0…TCK zero unless only T=0 is indicated, in which case it must be absent; no byte may follow.
 * The bytes are taken as already decoded: a reader delivers inverse-convention ATRs as 3F ….
 *
 * Historical bytes with category 80 (and 00) are decoded as COMPACT-TLV; a malformed object there
 * is an error too, since a host would misread the capabilities.
 */
export function parseAtr(bytes: Uint8Array): Atr {
  const n = bytes.length;
  if (n === 0) throw new AtrError('missing TS (empty ATR)', 0);
  const ts = bytes[0]!;
  if (ts !== TS.direct && ts !== TS.inverse) {
    throw new AtrError(`TS is ${byteHex(ts)}, expected 3B (direct) or 3F (inverse convention)`, 0);
  }
  if (n > MAX_ATR_LENGTH) {
    throw new AtrError(`ATR is ${n} bytes; ISO/IEC 7816-3 allows at most ${MAX_ATR_LENGTH}`, MAX_ATR_LENGTH);
  }
  if (n < 2) throw new AtrError('missing T0 (format byte)', 1);
  const t0 = bytes[1]!;
  const k = t0 & 0x0f;

  const groups: AtrInterfaceBytes[] = [];
  const protocols: number[] = [];
  let onlyT0 = true;
  let y = t0 >>> 4;
  let pos = 2;
  for (let i = 1; ; i++) {
    const group: { ta?: number; tb?: number; tc?: number; td?: number } = {};
    const take = (name: string): number => {
      if (pos >= n) {
        throw new AtrError(`truncated: ${name}${i} announced by ${i === 1 ? 'T0' : `TD${i - 1}`} is missing`, pos);
      }
      return bytes[pos++]!;
    };
    if (y & 0x1) group.ta = take('TA');
    if (y & 0x2) group.tb = take('TB');
    if (y & 0x4) group.tc = take('TC');
    if (y & 0x8) group.td = take('TD');
    if (y !== 0) groups.push(group);
    if (group.td === undefined) break;
    const t = group.td & 0x0f;
    if (i === 1 && t === 15) throw new AtrError('TD1 indicates T=15, which is invalid in TD1', pos - 1);
    if (t !== 0) onlyT0 = false;
    if (t !== 15 && !protocols.includes(t)) protocols.push(t);
    y = group.td >>> 4;
  }
  if (protocols.length === 0) protocols.push(0);

  if (pos + k > n) {
    throw new AtrError(`truncated: T0 announces ${k} historical byte(s), ${n - pos} present`, n);
  }
  const histStart = pos;
  const historical = bytes.subarray(pos, pos + k);
  pos += k;

  let tck: number | undefined;
  if (!onlyT0) {
    if (pos >= n) throw new AtrError('missing TCK: required when a protocol other than T=0 is indicated', pos);
    tck = bytes[pos]!;
    let x = 0;
    for (let i = 1; i <= pos; i++) x ^= bytes[i]!;
    if (x !== 0) {
      throw new AtrError(`TCK is ${byteHex(tck)}, expected ${byteHex(x ^ tck)} (XOR of T0 to the last historical byte)`, pos);
    }
    pos++;
  }
  if (pos !== n) {
    throw new AtrError(
      `${n - pos} unexpected byte(s) after the ${tck === undefined ? 'historical bytes (only T=0, so no TCK)' : 'TCK'}`,
      pos,
    );
  }

  const historicalInfo = k > 0 ? decodeHistorical(historical, histStart) : undefined;
  const capabilitiesDo = historicalInfo?.objects?.find((o) => o.tag === HISTORICAL_TAG.cardCapabilities);
  const atr: Atr = {
    ts,
    t0,
    interfaceBytes: groups,
    protocols,
    historical,
    tck,
    raw: bytes,
    capabilities: capabilitiesDo ? decodeCapabilities(capabilitiesDo.value, histStart) : undefined,
    historicalInfo,
  };
  return atr;
}

function decodeHistorical(h: Uint8Array, histStart: number): HistoricalInfo {
  const category = h[0]!;
  if (category === HISTORICAL_CATEGORY.compactTlv) {
    return fromObjects(category, compactObjects(h.subarray(1), histStart + 1), histStart + 1, undefined);
  }
  if (category === HISTORICAL_CATEGORY.statusAtEnd) {
    if (h.length < 4) {
      throw new AtrError(
        `historical category 00 needs a 3-byte status indicator (LCS, SW1, SW2) at the end, got ${h.length - 1} byte(s)`,
        histStart + h.length,
      );
    }
    const s = h.length - 3;
    const status: StatusIndicator = { lcs: h[s]!, sw: (h[s + 1]! << 8) | h[s + 2]! };
    return fromObjects(category, compactObjects(h.subarray(1, s), histStart + 1), histStart + 1, status);
  }
  if (category === HISTORICAL_CATEGORY.dirDataReference) {
    return h.length > 1 ? { category, dirDataReference: h[1]! } : { category };
  }
  return { category };
}

function compactObjects(bytes: Uint8Array, at: number): CompactTlv[] {
  try {
    return parseCompactTlvList(bytes);
  } catch (e) {
    if (e instanceof TlvError) {
      throw new AtrError(`historical bytes: malformed COMPACT-TLV: ${e.message}`, at + e.offset);
    }
    throw e;
  }
}

function fromObjects(
  category: number,
  objects: CompactTlv[],
  at: number,
  trailingStatus: StatusIndicator | undefined,
): HistoricalInfo {
  let serviceData: number | undefined;
  let preIssuing: Uint8Array | undefined;
  let statusIndicator = trailingStatus;
  let offset = at;
  for (const o of objects) {
    if (o.tag === HISTORICAL_TAG.cardServiceData) {
      if (o.value.length !== 1) {
        throw new AtrError(`card service data (tag 3) has length ${o.value.length}, expected 1`, offset);
      }
      serviceData = o.value[0]!;
    } else if (o.tag === HISTORICAL_TAG.preIssuingData) {
      preIssuing = o.value;
    } else if (o.tag === HISTORICAL_TAG.cardCapabilities) {
      if (o.value.length < 1 || o.value.length > 3) {
        throw new AtrError(`card capabilities (tag 7) has length ${o.value.length}, expected 1 to 3`, offset);
      }
    } else if (o.tag === HISTORICAL_TAG.statusIndicator && trailingStatus === undefined) {
      const v = o.value;
      if (v.length === 1) statusIndicator = { lcs: v[0]! };
      else if (v.length === 2) statusIndicator = { sw: (v[0]! << 8) | v[1]! };
      else if (v.length === 3) statusIndicator = { lcs: v[0]!, sw: (v[1]! << 8) | v[2]! };
      else throw new AtrError(`status indicator (tag 8) has length ${v.length}, expected 1 to 3`, offset);
    }
    offset += 1 + o.value.length;
  }
  const info: {
    category: number;
    objects: CompactTlv[];
    serviceData?: number;
    preIssuing?: Uint8Array;
    statusIndicator?: StatusIndicator;
  } = { category, objects };
  if (serviceData !== undefined) info.serviceData = serviceData;
  if (preIssuing !== undefined) info.preIssuing = preIssuing;
  if (statusIndicator !== undefined) info.statusIndicator = statusIndicator;
  return info;
}

/**
 * Decodes the 1–3 value bytes of the card capabilities DO (ISO/IEC 7816-4:2005 Tables 86, 87).
 * Missing bytes mean "not indicated": data coding byte 0, no chaining, no extended length, no
 * logical channel beyond the basic one.
 */
export function decodeCapabilities(value: Uint8Array, offset = 0): CardCapabilities {
  if (value.length < 1 || value.length > 3) {
    throw new AtrError(`card capabilities: expected 1 to 3 bytes, got ${value.length}`, offset);
  }
  const s = value[0]!;
  const d = value[1] ?? 0;
  const c = value[2] ?? 0;
  return {
    selection: {
      byFullDfName: (s & 0x80) !== 0,
      byPartialDfName: (s & 0x40) !== 0,
      byPath: (s & 0x20) !== 0,
      byFid: (s & 0x10) !== 0,
      implicitDf: (s & 0x08) !== 0,
      shortEfId: (s & 0x04) !== 0,
      recordNumber: (s & 0x02) !== 0,
      recordIdentifier: (s & 0x01) !== 0,
    },
    dataCodingByte: d,
    commandChaining: (c & 0x80) !== 0,
    extendedLength: (c & 0x40) !== 0,
    // b6 is RFU in 2005 and "extended length information in EF.ATR/INFO" in 2013: not modelled.
    logicalChannels: {
      assignedByCard: (c & 0x10) !== 0,
      assignedByInterface: (c & 0x08) !== 0,
      max: (c & 0x07) + 1,
    },
  };
}

/**
 * The three value bytes of the card capabilities DO, e.g. 73 F6 21 DB without the 73.
 * b6 of the third byte is written as 0.
 */
export function encodeCapabilities(caps: CardCapabilities): Uint8Array {
  const sel = caps.selection;
  const s =
    (sel.byFullDfName ? 0x80 : 0) |
    (sel.byPartialDfName ? 0x40 : 0) |
    (sel.byPath ? 0x20 : 0) |
    (sel.byFid ? 0x10 : 0) |
    (sel.implicitDf ? 0x08 : 0) |
    (sel.shortEfId ? 0x04 : 0) |
    (sel.recordNumber ? 0x02 : 0) |
    (sel.recordIdentifier ? 0x01 : 0);
  checkByte(caps.dataCodingByte, 'capabilities.dataCodingByte');
  const max = caps.logicalChannels.max;
  if (!Number.isInteger(max) || max < 1 || max > 8) {
    throw new ByteInputError(`capabilities.logicalChannels.max: expected 1 to 8 (8 = eight or more), got ${max}`);
  }
  const c =
    (caps.commandChaining ? 0x80 : 0) |
    (caps.extendedLength ? 0x40 : 0) |
    (caps.logicalChannels.assignedByCard ? 0x10 : 0) |
    (caps.logicalChannels.assignedByInterface ? 0x08 : 0) |
    (max - 1);
  return new Uint8Array([s, caps.dataCodingByte, c]);
}

function checkByte(v: number, title: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new ByteInputError(`${title}: expected a byte 0 to 255, got ${v}`);
}

/**
 * Builds an ATR (ISO/IEC 7816-3 §8.2): TS 3B, T0, TA1 if given, one TD per protocol (none when
 * only T=0 is offered), historical bytes, TCK whenever a protocol other than T=0 is offered.
 * Without `spec.historical`, the historical bytes are category 80 followed by COMPACT-TLV
 * objects 31 (service data), 6x (pre-issuing), 73 (capabilities), 8x (status), each if given;
 * with none of those there are no historical bytes at all.
 *
 * @example bytesToHex(buildAtr({ protocols: [0, 1], ta1: 0x96 }), ' ') // '3B 90 96 80 01 87'
 */
export function buildAtr(spec: AtrSpec = {}): Uint8Array {
  const protocols = [...new Set(spec.protocols ?? [1])].sort((a, b) => a - b);
  if (protocols.length === 0) throw new ByteInputError('spec.protocols: offer at least one protocol');
  for (const p of protocols) {
    if (p !== 0 && p !== 1) throw new ByteInputError(`spec.protocols: expected T=0 or T=1, got ${String(p)}`);
  }
  if (spec.ta1 !== undefined) checkByte(spec.ta1, 'spec.ta1');

  const historical = spec.historical ?? buildHistorical(spec);
  if (spec.historical !== undefined) {
    for (const f of ['capabilities', 'serviceData', 'preIssuing', 'statusIndicator'] as const) {
      if (spec[f] !== undefined) {
        throw new ByteInputError(`spec.${f} cannot be combined with spec.historical (give one or the other)`);
      }
    }
  }
  if (historical.length > MAX_HISTORICAL_BYTES) {
    throw new ByteInputError(
      `historical bytes: at most ${MAX_HISTORICAL_BYTES} (T0 holds K in a nibble), got ${historical.length}`,
    );
  }

  const onlyT0 = protocols.length === 1 && protocols[0] === 0;
  const tds: number[] = onlyT0 ? [] : protocols.map((t, i) => (i < protocols.length - 1 ? 0x80 : 0) | t);
  const y1 = (spec.ta1 !== undefined ? 0x1 : 0) | (tds.length > 0 ? 0x8 : 0);
  const head: number[] = [TS.direct, (y1 << 4) | historical.length];
  if (spec.ta1 !== undefined) head.push(spec.ta1);
  head.push(...tds);
  const body = concatBytes(new Uint8Array(head), historical);
  if (onlyT0) return body;
  let x = 0;
  for (let i = 1; i < body.length; i++) x ^= body[i]!;
  return concatBytes(body, new Uint8Array([x]));
}

function buildHistorical(spec: AtrSpec): Uint8Array {
  const parts: Uint8Array[] = [];
  if (spec.serviceData !== undefined) {
    checkByte(spec.serviceData, 'spec.serviceData');
    parts.push(encodeCompactTlv(HISTORICAL_TAG.cardServiceData, new Uint8Array([spec.serviceData])));
  }
  if (spec.preIssuing !== undefined) {
    parts.push(encodeCompactTlv(HISTORICAL_TAG.preIssuingData, spec.preIssuing));
  }
  if (spec.capabilities !== undefined) {
    parts.push(encodeCompactTlv(HISTORICAL_TAG.cardCapabilities, encodeCapabilities(spec.capabilities)));
  }
  const si = spec.statusIndicator;
  if (si !== undefined && (si.lcs !== undefined || si.sw !== undefined)) {
    const v: number[] = [];
    if (si.lcs !== undefined) {
      checkByte(si.lcs, 'spec.statusIndicator.lcs');
      v.push(si.lcs);
    }
    if (si.sw !== undefined) {
      if (!Number.isInteger(si.sw) || si.sw < 0 || si.sw > 0xffff) {
        throw new ByteInputError(`spec.statusIndicator.sw: expected 0000 to FFFF, got ${si.sw}`);
      }
      v.push(si.sw >>> 8, si.sw & 0xff);
    }
    parts.push(encodeCompactTlv(HISTORICAL_TAG.statusIndicator, new Uint8Array(v)));
  }
  if (parts.length === 0) return new Uint8Array(0);
  return concatBytes(new Uint8Array([HISTORICAL_CATEGORY.compactTlv]), ...parts);
}

// ISO/IEC 7816-3 §8.3, Table 7 (Fi, f max) and Table 8 (Di); 0 marks RFU.
const FI: readonly number[] = [372, 372, 558, 744, 1116, 1488, 1860, 0, 0, 512, 768, 1024, 1536, 2048, 0, 0];
const FMAX: readonly number[] = [4, 5, 6, 8, 12, 16, 20, 0, 0, 5, 7.5, 10, 15, 20, 0, 0];
const DI: readonly number[] = [0, 1, 2, 4, 8, 16, 32, 64, 12, 20, 0, 0, 0, 0, 0, 0];

/**
 * Human-readable lines for traces and `chipwright atr`: convention, interface bytes (TA1 as
 * Fi/Di), protocols, historical bytes decoded, TCK.
 */
export function describeAtr(atr: Atr): string[] {
  const lines: string[] = [];
  lines.push(`ATR: ${bytesToHex(atr.raw, ' ')}`);
  lines.push(`TS = ${byteHex(atr.ts)}: ${atr.ts === TS.direct ? 'direct' : 'inverse'} convention`);
  lines.push(`T0 = ${byteHex(atr.t0)}: Y1 = ${(atr.t0 >>> 4).toString(2).padStart(4, '0')}, K = ${atr.t0 & 0x0f} historical byte(s)`);
  let t = 0; // protocol the current group's specific bytes belong to
  atr.interfaceBytes.forEach((g, idx) => {
    const i = idx + 1;
    if (g.ta !== undefined) lines.push(`TA${i} = ${byteHex(g.ta)}: ${describeTa(i, t, g.ta)}`);
    if (g.tb !== undefined) lines.push(`TB${i} = ${byteHex(g.tb)}: ${describeTb(i, t, g.tb)}`);
    if (g.tc !== undefined) lines.push(`TC${i} = ${byteHex(g.tc)}: ${describeTc(i, t, g.tc)}`);
    if (g.td !== undefined) {
      t = g.td & 0x0f;
      lines.push(
        `TD${i} = ${byteHex(g.td)}: Y${i + 1} = ${(g.td >>> 4).toString(2).padStart(4, '0')}, ` +
          (t === 15 ? 'T=15 (global interface bytes follow)' : `protocol T=${t}`),
      );
    }
  });
  lines.push(`Protocols: ${atr.protocols.map((p) => `T=${p}`).join(', ')}`);
  if (atr.historical.length > 0) {
    lines.push(`Historical bytes (${atr.historical.length}): ${bytesToHex(atr.historical, ' ')}`);
    lines.push(...describeHistorical(atr));
  } else {
    lines.push('Historical bytes: none');
  }
  lines.push(atr.tck === undefined ? 'TCK: absent (only T=0 indicated)' : `TCK = ${byteHex(atr.tck)} (correct)`);
  return lines;
}

function describeTa(i: number, t: number, v: number): string {
  if (i === 1) {
    const fi = FI[v >>> 4]!;
    const di = DI[v & 0x0f]!;
    if (fi === 0 || di === 0) return `Fi/Di RFU (FI = ${v >>> 4}, DI = ${v & 0x0f})`;
    return `Fi = ${fi}, Di = ${di} (${fi / di} clock cycles per ETU, f max = ${FMAX[v >>> 4]!} MHz)`;
  }
  if (i === 2) {
    return `specific mode T=${v & 0x0f}, ${v & 0x80 ? 'unable' : 'able'} to change, ` +
      `${v & 0x10 ? 'implicit' : 'TA1'} parameters`;
  }
  if (t === 1) return `IFSC = ${v}`;
  if (t === 15) {
    const clock = ['not supported', 'state L', 'state H', 'no preference'][v >>> 6]!;
    const classes = ['A', 'B', 'C'].filter((_, b) => (v & (1 << b)) !== 0).join(', ') || 'none';
    return `clock stop ${clock}, classes ${classes}`;
  }
  return `specific to T=${t}`;
}

function describeTb(i: number, t: number, v: number): string {
  if (i <= 2) return v === 0 ? 'no VPP (deprecated)' : 'VPP parameters (deprecated)';
  if (t === 1) return `BWI = ${v >>> 4}, CWI = ${v & 0x0f}`;
  if (t === 15) return `SPU ${v === 0 ? 'not used' : byteHex(v)}`;
  return `specific to T=${t}`;
}

function describeTc(i: number, t: number, v: number): string {
  if (i === 1) return `extra guard time N = ${v}${v === 255 ? ' (minimum: 12 ETU for T=0, 11 for T=1)' : ''}`;
  if (i === 2) return `waiting time integer WI = ${v}`;
  if (t === 1) return `error detection ${v & 1 ? 'CRC' : 'LRC'}`;
  return `specific to T=${t}`;
}

const CATEGORY_NAMES: Readonly<Record<number, string>> = {
  0x00: 'COMPACT-TLV objects, status indicator in the last three bytes',
  0x10: 'DIR data reference follows',
  0x80: 'COMPACT-TLV objects, optional status indicator object',
};

const TAG_NAMES: Readonly<Record<number, string>> = {
  0x1: 'country code',
  0x2: 'issuer identification number',
  0x3: 'card service data',
  0x4: 'initial access data',
  0x5: 'card issuer data',
  0x6: 'pre-issuing data',
  0x7: 'card capabilities',
  0x8: 'status indicator',
  0xf: 'application identifier',
};

function describeHistorical(atr: Atr): string[] {
  const info = atr.historicalInfo;
  if (info === undefined) return [];
  const c = info.category;
  const lines = [
    `  category ${byteHex(c)}: ${CATEGORY_NAMES[c] ?? (c >= 0x81 && c <= 0x8f ? 'RFU' : 'proprietary, kept raw')}`,
  ];
  if (info.dirDataReference !== undefined) lines.push(`  DIR data reference ${byteHex(info.dirDataReference)}`);
  for (const o of info.objects ?? []) {
    const head = `  ${byteHex((o.tag << 4) | o.value.length)} ${TAG_NAMES[o.tag] ?? 'unknown tag'}: ${bytesToHex(o.value, ' ')}`;
    lines.push(head);
    if (o.tag === HISTORICAL_TAG.cardServiceData && o.value.length === 1) {
      lines.push(...describeServiceData(o.value[0]!).map((s) => `    ${s}`));
    } else if (o.tag === HISTORICAL_TAG.cardCapabilities && atr.capabilities !== undefined) {
      lines.push(...describeCapabilities(atr.capabilities).map((s) => `    ${s}`));
    }
  }
  const si = info.statusIndicator;
  if (si !== undefined) {
    const parts: string[] = [];
    if (si.lcs !== undefined) parts.push(`LCS ${byteHex(si.lcs)}`);
    if (si.sw !== undefined) parts.push(`SW ${u16Hex(si.sw)}`);
    lines.push(`  status: ${parts.join(', ')}`);
  }
  return lines;
}

/** Card service data byte, ISO/IEC 7816-4 §12.1.1.5 (2005: Table 85). */
function describeServiceData(b: number): string[] {
  const out: string[] = [];
  if (b & 0x80) out.push('application selection by full DF name');
  if (b & 0x40) out.push('application selection by partial DF name');
  if (b & 0x20) out.push('BER-TLV data objects in EF.DIR');
  if (b & 0x10) out.push('BER-TLV data objects in EF.ATR');
  const access = (b >>> 1) & 0x07;
  out.push(
    access === 0x4
      ? 'EF.DIR/EF.ATR read by READ BINARY'
      : access === 0x0
        ? 'EF.DIR/EF.ATR read by READ RECORD(S)'
        : access === 0x2
          ? 'EF.DIR/EF.ATR read by GET DATA'
          : `EF.DIR/EF.ATR access ${access.toString(2).padStart(3, '0')} (RFU)`,
  );
  out.push(b & 0x01 ? 'card without MF' : 'card with MF');
  return out;
}

function describeCapabilities(c: CardCapabilities): string[] {
  const sel = c.selection;
  const methods = [
    sel.byFullDfName && 'full DF name',
    sel.byPartialDfName && 'partial DF name',
    sel.byPath && 'path',
    sel.byFid && 'file identifier',
    sel.implicitDf && 'implicit DF',
  ].filter((s): s is string => typeof s === 'string');
  const ef = [
    sel.shortEfId && 'short EF identifier',
    sel.recordNumber && 'record number',
    sel.recordIdentifier && 'record identifier',
  ].filter((s): s is string => typeof s === 'string');
  const d = c.dataCodingByte;
  const write = ['one-time write', 'proprietary', 'write OR', 'write AND'][(d >>> 5) & 0x03]!;
  const lc = c.logicalChannels;
  const assign =
    lc.assignedByCard && lc.assignedByInterface
      ? 'by the card and the interface device'
      : lc.assignedByCard
        ? 'by the card'
        : lc.assignedByInterface
          ? 'by the interface device'
          : 'none (no logical channel)';
  return [
    `DF selection: ${methods.join(', ') || 'none indicated'}`,
    `EF features: ${ef.join(', ') || 'none indicated'}`,
    `data coding byte ${byteHex(d)}: ${d & 0x80 ? 'EFs of TLV structure, ' : ''}write behaviour ${write}, ` +
      `'FF' as first tag byte ${d & 0x10 ? 'valid' : 'invalid'}, data unit ${1 << (d & 0x0f)} quartet(s)`,
    `command chaining ${c.commandChaining ? 'yes' : 'no'}, extended Lc/Le ${c.extendedLength ? 'yes' : 'no'}`,
    `logical channel assignment ${assign}, at most ${lc.max === 8 ? 'eight or more' : lc.max}`,
  ];
}
