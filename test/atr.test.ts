import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { ByteInputError, bytesToHex, hexToBytes } from '../src/bytes/index.js';
import {
  AtrError,
  DEFAULT_CAPABILITIES,
  buildAtr,
  decodeCapabilities,
  defaultAtr,
  describeAtr,
  encodeCapabilities,
  parseAtr,
} from '../src/atr/index.js';
import type { AtrSpec, CardCapabilities } from '../src/atr/index.js';

const h = (s: string): Uint8Array => hexToBytes(s);
const hex = (b: Uint8Array): string => bytesToHex(b, ' ');

function atrError(f: () => unknown): AtrError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(AtrError);
    return e as AtrError;
  }
  throw new Error('expected an AtrError, nothing was thrown');
}

describe('published ATRs (pcsc-tools smartcard_list.txt), byte for byte', () => {
  it('German eID "ePerso": T=0 and T=1, COMPACT-TLV with service data, capabilities, status', () => {
    // 3B 8A 80 01 80 31 F8 73 F7 41 E0 82 90 00 75, listed as "ePerso - German ID card".
    //  3B            TS direct convention
    //  8A            T0: Y1 = 1000 (TD1 follows), K = 10
    //  80            TD1: Y2 = 1000 (TD2 follows), T = 0
    //  01            TD2: Y3 = 0000, T = 1  -> a protocol other than T=0, so TCK present
    //  80 31 F8 73 F7 41 E0 82 90 00   historical: category 80; 31 F8; 73 F7 41 E0; 82 90 00
    //  75            TCK: 8A^80^01^80^31^F8^73^F7^41^E0^82^90^00
    //                   = 8A^80=0A ^01=0B ^80=8B ^31=BA ^F8=42 ^73=31 ^F7=C6 ^41=87 ^E0=67
    //                     ^82=E5 ^90=75 ^00=75
    const atr = parseAtr(h('3B 8A 80 01 80 31 F8 73 F7 41 E0 82 90 00 75'));
    expect(atr.ts).toBe(0x3b);
    expect(atr.t0).toBe(0x8a);
    expect(atr.interfaceBytes).toEqual([{ td: 0x80 }, { td: 0x01 }]);
    expect(atr.protocols).toEqual([0, 1]);
    expect(hex(atr.historical)).toBe('80 31 F8 73 F7 41 E0 82 90 00');
    expect(atr.tck).toBe(0x75);
    expect(atr.historicalInfo?.category).toBe(0x80);
    expect(atr.historicalInfo?.serviceData).toBe(0xf8);
    expect(atr.historicalInfo?.statusIndicator).toEqual({ sw: 0x9000 });
    expect(atr.capabilities).toEqual({
      // F7 = 1111 0111: no implicit DF selection (b4)
      selection: {
        byFullDfName: true,
        byPartialDfName: true,
        byPath: true,
        byFid: true,
        implicitDf: false,
        shortEfId: true,
        recordNumber: true,
        recordIdentifier: true,
      },
      dataCodingByte: 0x41,
      // E0 = 1110 0000: chaining, extended Lc/Le, b6 (2013: length info in EF.ATR/INFO), no channels
      commandChaining: true,
      extendedLength: true,
      logicalChannels: { assignedByCard: false, assignedByInterface: false, max: 1 },
    } satisfies CardCapabilities);
    expect(hex(encodeCapabilities(atr.capabilities!))).toBe('F7 41 C0'); // b6 is not modelled
  });

  it('sysmoUSIM-SJS1: TA1, T=0 then T=15 global bytes, so TCK is present although only T=0 is offered', () => {
    // As decoded by pcsc-tools ATR_analysis: TA1 = 96 (Fi 512, Di 32), TD1 = 80 (T=0),
    // TD2 = 1F (T=15), TA3 = C7 (clock stop no preference, classes A B C); historical
    // 80 | 31 A0 | 73 BE 21 13 | 67 43 20 07 18 00 00 01; TCK A5.
    const atr = parseAtr(h('3B 9F 96 80 1F C7 80 31 A0 73 BE 21 13 67 43 20 07 18 00 00 01 A5'));
    expect(atr.interfaceBytes).toEqual([{ ta: 0x96, td: 0x80 }, { td: 0x1f }, { ta: 0xc7 }]);
    expect(atr.protocols).toEqual([0]);
    expect(atr.tck).toBe(0xa5);
    expect(atr.historical.length).toBe(15);
    expect(atr.historicalInfo?.serviceData).toBe(0xa0);
    expect(hex(atr.historicalInfo!.preIssuing!)).toBe('43 20 07 18 00 00 01');
    // 13 = 0001 0011: logical channel numbers assigned by the card, at most 4 (pcsc-tools agrees).
    expect(atr.capabilities?.logicalChannels).toEqual({ assignedByCard: true, assignedByInterface: false, max: 4 });
    expect(atr.capabilities?.selection.implicitDf).toBe(true);
    expect(atr.capabilities?.selection.byPartialDfName).toBe(false);
    expect(atr.capabilities?.commandChaining).toBe(false);
    const lines = describeAtr(atr);
    expect(lines).toContain('TA1 = 96: Fi = 512, Di = 32 (16 clock cycles per ETU, f max = 5 MHz)');
    expect(lines).toContain('TD2 = 1F: Y3 = 0001, T=15 (global interface bytes follow)');
    expect(lines).toContain('TA3 = C7: clock stop no preference, classes A, B, C');
    expect(lines).toContain('    logical channel assignment by the card, at most 4');
    expect(lines.at(-1)).toBe('TCK = A5 (correct)');
  });

  it('Schlumberger Multiflex 3k "3B 02 14 50": only T=0 (implicit), no TCK, proprietary category kept raw', () => {
    const atr = parseAtr(h('3B 02 14 50'));
    expect(atr.interfaceBytes).toEqual([]);
    expect(atr.protocols).toEqual([0]);
    expect(atr.tck).toBeUndefined();
    expect(hex(atr.historical)).toBe('14 50');
    expect(atr.historicalInfo).toEqual({ category: 0x14 });
    expect(atr.capabilities).toBeUndefined();
    expect(describeAtr(atr)).toContain('TCK: absent (only T=0 indicated)');
  });

  it('"3B D5 18 00 81 31 FE 7D 80 73 C8 21 10 F4": T=1 specific TA3/TB3, capabilities only', () => {
    const atr = parseAtr(h('3B D5 18 00 81 31 FE 7D 80 73 C8 21 10 F4'));
    expect(atr.interfaceBytes).toEqual([{ ta: 0x18, tc: 0x00, td: 0x81 }, { td: 0x31 }, { ta: 0xfe, tb: 0x7d }]);
    expect(atr.protocols).toEqual([1]);
    expect(atr.capabilities?.logicalChannels).toEqual({ assignedByCard: true, assignedByInterface: false, max: 1 });
    const lines = describeAtr(atr);
    expect(lines).toContain('TA3 = FE: IFSC = 254');
    expect(lines).toContain('TB3 = 7D: BWI = 7, CWI = 13');
  });
});

describe('ATRs constructed by hand', () => {
  it('a 3B 88 80 01 T=1 ATR with the default capabilities and status 9000', () => {
    //  3B  TS
    //  88  T0: TD1 follows, K = 8
    //  80  TD1: TD2 follows, T=0      01  TD2: T=1
    //  80 | 73 F6 21 DB | 82 90 00    historical (category, capabilities, status SW 9000)
    //  TCK = 88^80^01^80^73^F6^21^DB^82^90^00
    //      = 88^80=08 ^01=09 ^80=89 ^73=FA ^F6=0C ^21=2D ^DB=F6 ^82=74 ^90=E4 ^00=E4
    const bytes = h('3B 88 80 01 80 73 F6 21 DB 82 90 00 E4');
    const atr = parseAtr(bytes);
    expect(atr.tck).toBe(0xe4);
    expect(atr.capabilities).toEqual(DEFAULT_CAPABILITIES);
    expect(atr.historicalInfo?.statusIndicator).toEqual({ sw: 0x9000 });
    const built = buildAtr({ protocols: [0, 1], capabilities: DEFAULT_CAPABILITIES, statusIndicator: { sw: 0x9000 } });
    expect(hex(built)).toBe(hex(bytes));
  });

  it('defaultAtr() is 3B 85 01 80 73 F6 21 DB 7B', () => {
    // F6: full + partial DF name, path, FID, SFI, record number.  21: data coding byte.
    // DB = 1101 1011: chaining, extended Lc/Le, assigned by card (b5) and interface (b4), 011 -> 4.
    // TCK = 85^01^80^73^F6^21^DB = 84 ^80=04 ^73=77 ^F6=81 ^21=A0 ^DB=7B
    expect(hex(defaultAtr())).toBe('3B 85 01 80 73 F6 21 DB 7B');
    const atr = parseAtr(defaultAtr());
    expect(atr.protocols).toEqual([1]);
    expect(atr.capabilities).toEqual(DEFAULT_CAPABILITIES);
  });

  it('category 00: COMPACT-TLV objects, then LCS SW1 SW2 as the last three bytes', () => {
    const atr = parseAtr(h('3B 06 00 31 F8 05 90 00'));
    expect(atr.historicalInfo).toMatchObject({ category: 0x00, serviceData: 0xf8, statusIndicator: { lcs: 0x05, sw: 0x9000 } });
    expect(describeAtr(atr)).toContain('  status: LCS 05, SW 9000');
  });

  it('category 10: DIR data reference', () => {
    expect(parseAtr(h('3B 02 10 01')).historicalInfo).toEqual({ category: 0x10, dirDataReference: 0x01 });
  });

  it('a status indicator object of one and three bytes, and pre-issuing data', () => {
    const b = buildAtr({ preIssuing: h('AA BB'), statusIndicator: { lcs: 0x07 } });
    expect(hex(b.subarray(3, 3 + 6))).toBe('80 62 AA BB 81 07');
    expect(parseAtr(b).historicalInfo?.statusIndicator).toEqual({ lcs: 0x07 });
    const c = buildAtr({ serviceData: 0xa0, statusIndicator: { lcs: 0x05, sw: 0x6283 } });
    const info = parseAtr(c).historicalInfo;
    expect(info?.serviceData).toBe(0xa0);
    expect(info?.statusIndicator).toEqual({ lcs: 0x05, sw: 0x6283 });
  });

  it('buildAtr: T=0 only has no TD1 and no TCK; TA1 is placed before TD1', () => {
    expect(hex(buildAtr({ protocols: [0], historical: h('14 50') }))).toBe('3B 02 14 50');
    expect(hex(buildAtr({ protocols: [0, 1], ta1: 0x96 }))).toBe('3B 90 96 80 01 87');
    expect(hex(buildAtr({ protocols: [1, 0, 1] }))).toBe(hex(buildAtr({ protocols: [0, 1] })));
    expect(hex(buildAtr({ protocols: [1] }))).toBe('3B 80 01 81');
  });

  it('encodes eight or more logical channels as b3-b1 = 111', () => {
    const caps: CardCapabilities = { ...DEFAULT_CAPABILITIES, logicalChannels: { assignedByCard: false, assignedByInterface: true, max: 8 } };
    expect(hex(encodeCapabilities(caps))).toBe('F6 21 CF');
    expect(decodeCapabilities(h('F6 21 CF')).logicalChannels).toEqual({ assignedByCard: false, assignedByInterface: true, max: 8 });
  });

  it('decodes a capabilities object of one or two bytes with "not indicated" for the rest', () => {
    const one = decodeCapabilities(h('80'));
    expect(one.selection.byFullDfName).toBe(true);
    expect(one.dataCodingByte).toBe(0);
    expect(one.commandChaining).toBe(false);
    expect(one.logicalChannels.max).toBe(1);
    expect(parseAtr(h('3B 04 80 72 C0 21')).capabilities?.dataCodingByte).toBe(0x21);
  });
});

describe('ATR error paths name the byte', () => {
  it.each([
    ['empty', '', 0, /missing TS/],
    ['bad TS', '3A 02 14 50', 0, /TS is 3A/],
    ['missing T0', '3B', 1, /missing T0/],
    ['TD1 announced but missing', '3B 80', 2, /TD1 announced by T0/],
    ['TA1 announced but missing', '3B 10', 2, /TA1/],
    ['TD2 announced but missing', '3B 8A 80', 3, /TD2 announced by TD1/],
    ['truncated historical bytes', '3B 02 14', 3, /2 historical byte\(s\), 1 present/],
    ['missing TCK', '3B 81 01 80', 4, /missing TCK/],
    ['bad TCK', '3B 8A 80 01 80 31 F8 73 F7 41 E0 82 90 00 74', 14, /TCK is 74, expected 75/],
    ['TCK after T=0 only', '3B 02 14 50 11', 4, /only T=0, so no TCK/],
    ['byte after TCK', '3B 80 01 81 00', 4, /after the TCK/],
    ['T=15 in TD1', '3B 80 0F 0F', 2, /T=15.*invalid in TD1/],
    ['malformed COMPACT-TLV', '3B 02 80 72', 3, /COMPACT-TLV/],
    ['capabilities of length 4', '3B 06 80 74 01 02 03 04', 3, /card capabilities.*length 4/],
    ['service data of length 2', '3B 04 80 32 01 02', 3, /card service data.*length 2/],
    ['category 00 without status', '3B 03 00 90 00', 5, /3-byte status indicator/],
    ['longer than 33 bytes', '3B 0F' + ' 00'.repeat(32), 33, /at most 33/],
  ])('%s', (_n, input, offset, message) => {
    const e = atrError(() => parseAtr(h(input)));
    expect(e.offset).toBe(offset);
    expect(e.message).toMatch(message);
    expect(e.message).toContain(`ATR byte ${offset}`);
  });

  it('buildAtr refuses what it cannot encode', () => {
    expect(() => buildAtr({ historical: new Uint8Array(16) })).toThrow(/at most 15/);
    expect(() => buildAtr({ preIssuing: new Uint8Array(14) })).toThrow(ByteInputError);
    expect(() => buildAtr({ protocols: [] })).toThrow(/at least one protocol/);
    expect(() => buildAtr({ protocols: [2 as 1] })).toThrow(/T=0 or T=1/);
    expect(() => buildAtr({ ta1: 256 })).toThrow(/spec.ta1/);
    expect(() => buildAtr({ historical: h('80'), capabilities: DEFAULT_CAPABILITIES })).toThrow(/spec.capabilities cannot be combined/);
    const bad = { ...DEFAULT_CAPABILITIES, logicalChannels: { ...DEFAULT_CAPABILITIES.logicalChannels, max: 9 } };
    expect(() => buildAtr({ capabilities: bad })).toThrow(/logicalChannels.max/);
    expect(() => buildAtr({ statusIndicator: { sw: 0x10000 } })).toThrow(/statusIndicator.sw/);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

const arbCapabilities: fc.Arbitrary<CardCapabilities> = fc.record({
  selection: fc.record({
    byFullDfName: fc.boolean(),
    byPartialDfName: fc.boolean(),
    byPath: fc.boolean(),
    byFid: fc.boolean(),
    implicitDf: fc.boolean(),
    shortEfId: fc.boolean(),
    recordNumber: fc.boolean(),
    recordIdentifier: fc.boolean(),
  }),
  dataCodingByte: fc.integer({ min: 0, max: 255 }),
  commandChaining: fc.boolean(),
  extendedLength: fc.boolean(),
  logicalChannels: fc.record({
    assignedByCard: fc.boolean(),
    assignedByInterface: fc.boolean(),
    max: fc.integer({ min: 1, max: 8 }),
  }),
});

const arbSpec: fc.Arbitrary<AtrSpec> = fc.record(
  {
    protocols: fc.uniqueArray(fc.constantFrom<0 | 1>(0, 1), { minLength: 1, maxLength: 2 }),
    ta1: fc.integer({ min: 0, max: 255 }),
    capabilities: arbCapabilities,
    serviceData: fc.integer({ min: 0, max: 255 }),
    preIssuing: fc.uint8Array({ maxLength: 8 }),
    statusIndicator: fc.record(
      { lcs: fc.integer({ min: 0, max: 255 }), sw: fc.integer({ min: 0, max: 0xffff }) },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);

function historicalLength(spec: AtrSpec): number {
  let n = 0;
  if (spec.serviceData !== undefined) n += 2;
  if (spec.preIssuing !== undefined) n += 1 + spec.preIssuing.length;
  if (spec.capabilities !== undefined) n += 4;
  const si = spec.statusIndicator;
  if (si !== undefined && (si.lcs !== undefined || si.sw !== undefined)) {
    n += 1 + (si.lcs !== undefined ? 1 : 0) + (si.sw !== undefined ? 2 : 0);
  }
  return n === 0 ? 0 : n + 1;
}

describe('ATR properties', () => {
  it('parseAtr(buildAtr(spec)) recovers protocols, TA1, capabilities and the other historical objects', () => {
    fc.assert(
      fc.property(arbSpec, (spec) => {
        if (historicalLength(spec) > 15) {
          expect(() => buildAtr(spec)).toThrow(/at most 15/);
          return;
        }
        const bytes = buildAtr(spec);
        const atr = parseAtr(bytes);
        const protocols = [...new Set(spec.protocols ?? [1])].sort();
        expect(atr.protocols).toEqual(protocols);
        expect(atr.tck !== undefined).toBe(protocols.includes(1));
        expect(atr.interfaceBytes[0]?.ta).toBe(spec.ta1);
        expect(atr.capabilities).toEqual(spec.capabilities);
        expect(atr.historicalInfo?.serviceData).toBe(spec.serviceData);
        expect(atr.historicalInfo?.preIssuing).toEqual(spec.preIssuing);
        const si = spec.statusIndicator;
        expect(atr.historicalInfo?.statusIndicator).toEqual(
          si !== undefined && (si.lcs !== undefined || si.sw !== undefined) ? si : undefined,
        );
        expect(atr.raw).toEqual(bytes);
        // The re-built ATR from the parsed pieces is the same bytes.
        expect(buildAtr({ protocols: atr.protocols as (0 | 1)[], ta1: atr.interfaceBytes[0]?.ta, historical: atr.historical })).toEqual(bytes);
        expect(describeAtr(atr).length).toBeGreaterThan(3);
      }),
      { numRuns: 500 },
    );
  });

  it('decodeCapabilities(encodeCapabilities(c)) = c', () => {
    fc.assert(
      fc.property(arbCapabilities, (c) => {
        expect(decodeCapabilities(encodeCapabilities(c))).toEqual(c);
      }),
    );
  });

  const onlyAtrErrors = (b: Uint8Array): void => {
    try {
      describeAtr(parseAtr(b));
    } catch (e) {
      if (!(e instanceof AtrError)) throw e;
      expect(e.offset).toBeGreaterThanOrEqual(0);
      expect(e.offset).toBeLessThanOrEqual(Math.max(b.length, 33));
    }
  };

  it('random bytes never throw anything but AtrError', () => {
    fc.assert(
      fc.property(fc.constantFrom(0x3b, 0x3f), fc.uint8Array({ maxLength: 34 }), (ts, rest) => {
        onlyAtrErrors(Uint8Array.of(ts, ...rest));
      }),
      { numRuns: 3000 },
    );
  });

  it('mutated valid ATRs never throw anything but AtrError', () => {
    fc.assert(
      fc.property(arbSpec, fc.nat(), fc.integer({ min: 0, max: 255 }), (spec, at, byte) => {
        if (historicalLength(spec) > 15) return;
        const b = buildAtr(spec).slice();
        b[1 + (at % (b.length - 1))] = byte;
        onlyAtrErrors(b);
      }),
      { numRuns: 1000 },
    );
  });
});
