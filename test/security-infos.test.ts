/**
 * SecurityInfos (EF.CardAccess; ICAO 9303-11 §9.2, BSI TR-03110-3 §A.1.1): the PACE entries
 * decoded and encoded, every other entry kept byte for byte; `decode(encode(x))` and
 * `encode(decode(bytes))` round trips over random infos; published EF.CardAccess examples; strict
 * refusals of malformed or non-DER input.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { bytesToHex, hexToBytes } from '../src/bytes/index.js';
import {
  EC_PUBLIC_KEY_OID,
  PACE_OID,
  STANDARDIZED_DOMAIN_PARAMETERS_OID,
  SecurityInfoError,
  decodeSecurityInfo,
  decodeSecurityInfos,
  encodeSecurityInfo,
  encodeSecurityInfos,
  oidFromBytes,
  oidToBytes,
  paceInfos,
  type SecurityInfo,
} from '../src/crypto/security-infos.js';
import { standardizedGroup } from '../src/crypto/curves.js';
import { paceCardAccess } from '../src/card/protocols/pace.js';

const h = (s: string): Uint8Array => hexToBytes(s);
const hex = (b: Uint8Array): string => bytesToHex(b);

/**
 * EF.CardAccess of a German eID test card (TR-03110 v2 chip) as printed in the OpenPACE project's
 * Ruby binding example (bindings/ruby/example.rb): PACEInfo (ECDH-GM-AES-128, brainpoolP256r1),
 * ChipAuthenticationInfo, ChipAuthenticationDomainParameterInfo, TerminalAuthenticationInfo and
 * CardInfoLocator entries. The example's bytes continue after the SET (the rest of the file as
 * read); the SET alone is the constant, the whole read is tested with `trailing: 'ignore'`.
 */
const NPA_CARD_ACCESS =
  '318182' +
  '300D060804007F00070202020201' + '02' +
  '3012060A04007F0007020204020202010202010D' +
  '3012060A04007F000702020302020201020201' + '41' +
  '301C060904007F000702020302300C060704007F0007010202010D020141' +
  '302B060804007F0007020206161F655041202D2042447220476D6248202D20546573746B617274652076322E30';

describe('OIDs', () => {
  it('content octets both ways, as MSE:Set AT DO 80 carries them', () => {
    expect(hex(oidToBytes(PACE_OID.ECDH_GM_AES_128))).toBe('04007F00070202040202');
    expect(hex(oidToBytes(PACE_OID.ECDH_GM_AES_256))).toBe('04007F00070202040204');
    expect(hex(oidToBytes(EC_PUBLIC_KEY_OID))).toBe('2A8648CE3D0201');
    expect(oidFromBytes(h('04007F00070202040202'))).toBe(PACE_OID.ECDH_GM_AES_128);
    expect(oidFromBytes(h('04007F00070102'))).toBe(STANDARDIZED_DOMAIN_PARAMETERS_OID);
  });

  it('refuses non-minimal and truncated sub-identifiers and bad dotted forms', () => {
    expect(() => oidFromBytes(h('808001'))).toThrow(SecurityInfoError);
    expect(() => oidFromBytes(h('0481'))).toThrow(SecurityInfoError);
    expect(() => oidFromBytes(new Uint8Array(0))).toThrow(SecurityInfoError);
    expect(() => oidToBytes('1.2.03')).toThrow(/dotted/);
    expect(() => oidToBytes('banana')).toThrow(/dotted/);
  });

  it('random OIDs round-trip', () => {
    fc.assert(
      fc.property(fc.constantFrom(0, 1, 2), fc.array(fc.integer({ min: 0, max: 2 ** 31 }), { minLength: 1, maxLength: 12 }), (first, rest) => {
        const second = first < 2 ? rest[0]! % 40 : rest[0]!;
        const oid = [first, second, ...rest.slice(1)].join('.');
        expect(oidFromBytes(oidToBytes(oid))).toBe(oid);
      }),
    );
  });
});

describe('PACEInfo and PACEDomainParameterInfo', () => {
  it('a PACEInfo as EF.CardAccess carries it (ICAO 9303-11 §9.2.1)', () => {
    const info: SecurityInfo = { type: 'PACEInfo', protocol: PACE_OID.ECDH_GM_AES_128, version: 2, parameterId: 13 };
    expect(hex(encodeSecurityInfo(info))).toBe('3012060A04007F0007020204020202010202010D');
    expect(hex(encodeSecurityInfos([info]))).toBe('31143012060A04007F0007020204020202010202010D');
    expect(decodeSecurityInfos(h('31143012060A04007F0007020204020202010202010D'))).toEqual([info]);
    const noId: SecurityInfo = { type: 'PACEInfo', protocol: PACE_OID.ECDH_GM_AES_256, version: 2 };
    expect(hex(encodeSecurityInfo(noId))).toBe('300F060A04007F00070202040204020102');
    expect(decodeSecurityInfo(h('300F060A04007F00070202040204020102'))).toEqual(noId);
  });

  it('standardized and explicit domain parameters', () => {
    const std: SecurityInfo = {
      type: 'PACEDomainParameterInfo',
      protocol: PACE_OID.ECDH_GM,
      domainParameter: { kind: 'standardized', id: 13 },
      parameterId: 13,
    };
    const der = encodeSecurityInfo(std);
    expect(hex(der)).toBe('301C060904007F000702020402' + '300C060704007F00070102' + '02010D' + '02010D');
    expect(decodeSecurityInfo(der)).toEqual(std);

    const bp = standardizedGroup(13)!;
    const explicit: SecurityInfo = {
      type: 'PACEDomainParameterInfo',
      protocol: PACE_OID.ECDH_GM,
      domainParameter: { kind: 'ec', curve: bp.curve, fieldLength: 32 },
      parameterId: 32,
    };
    const ederr = encodeSecurityInfo(explicit);
    const back = decodeSecurityInfo(ederr);
    expect(back).toEqual(explicit);
    // The ECParameters carry p, a, b, G, n and h of RFC 5639's brainpoolP256r1.
    expect(hex(ederr)).toContain('A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377');
    expect(hex(ederr)).toContain('048BD2AEB9CB7E57CB2C4B482FFC81B7AFB9DE27E1E3BD23C23A4453BD9ACE3262547EF835C3DAC4FD97F8461A14611DC9C27745132DED8E545C1D54C72F046997');
  });

  it('paceCardAccess lists what the chip offers', () => {
    const ca = paceCardAccess([
      { protocol: PACE_OID.ECDH_GM_AES_128, parameterId: 13 },
      { protocol: PACE_OID.ECDH_GM_AES_256, parameterId: 16 },
    ]);
    expect(paceInfos(decodeSecurityInfos(ca)).map((i) => [i.protocol, i.parameterId, i.version])).toEqual([
      [PACE_OID.ECDH_GM_AES_128, 13, 2],
      [PACE_OID.ECDH_GM_AES_256, 16, 2],
    ]);
  });
});

describe('published EF.CardAccess', () => {
  it('a German eID test card: PACE decoded, other entries kept, re-encoded byte for byte', () => {
    const bytes = h(NPA_CARD_ACCESS);
    const infos = decodeSecurityInfos(bytes);
    expect(infos.map((i) => i.type)).toEqual(['other', 'PACEInfo', 'other', 'other', 'other']);
    expect(paceInfos(infos)).toEqual([{ type: 'PACEInfo', protocol: PACE_OID.ECDH_GM_AES_128, version: 2, parameterId: 13 }]);
    expect(infos.map((i) => i.protocol)).toEqual([
      '0.4.0.127.0.7.2.2.2',
      PACE_OID.ECDH_GM_AES_128,
      '0.4.0.127.0.7.2.2.3.2.2',
      '0.4.0.127.0.7.2.2.3.2',
      '0.4.0.127.0.7.2.2.6',
    ]);
    // The card's order is not DER's sorted SET order: keep it when asked, sort by default.
    expect(hex(encodeSecurityInfos(infos, { sort: false }))).toBe(NPA_CARD_ACCESS);
    const sorted = encodeSecurityInfos(infos);
    expect(sorted.length).toBe(bytes.length);
    expect(decodeSecurityInfos(sorted)).toEqual([...infos].sort((a, b) => hex(encodeSecurityInfo(a)).localeCompare(hex(encodeSecurityInfo(b)))));
  });

  it('the file as read, with bytes after the SET: refused, unless trailing bytes are to be ignored', () => {
    const asRead = h(`${NPA_CARD_ACCESS}04491715411928800A01B421FA07000000000000000000000000000000000000201010291010`);
    expect(() => decodeSecurityInfos(asRead)).toThrow(/trailing/);
    expect(decodeSecurityInfos(asRead, { trailing: 'ignore' })).toEqual(decodeSecurityInfos(h(NPA_CARD_ACCESS)));
  });

  it('ICAO 9303-11 Appendix G: one PACEInfo, ECDH-GM-AES-128 on brainpoolP256r1', () => {
    expect(decodeSecurityInfos(h('31143012060A04007F0007020204020202010202010D'))[0]).toMatchObject({ parameterId: 13 });
  });
});

describe('round trips', () => {
  const paceOid = fc.constantFrom(...Object.values(PACE_OID).filter((o) => o.split('.').length === 11));
  const familyOid = fc.constantFrom(PACE_OID.DH_GM, PACE_OID.ECDH_GM, PACE_OID.DH_IM, PACE_OID.ECDH_IM, PACE_OID.ECDH_CAM);
  const id = fc.integer({ min: 0, max: 127 });
  const infoArb: fc.Arbitrary<SecurityInfo> = fc.oneof(
    fc.record({ type: fc.constant('PACEInfo' as const), protocol: paceOid, version: fc.integer({ min: 1, max: 2 }), parameterId: id }),
    fc.record({ type: fc.constant('PACEInfo' as const), protocol: paceOid, version: fc.integer({ min: 1, max: 2 }) }),
    fc.record({
      type: fc.constant('PACEDomainParameterInfo' as const),
      protocol: familyOid,
      domainParameter: fc.record({ kind: fc.constant('standardized' as const), id }),
      parameterId: id,
    }),
    fc.record({
      type: fc.constant('PACEDomainParameterInfo' as const),
      protocol: familyOid,
      domainParameter: fc.constantFrom(12, 13, 16).map((i) => {
        const g = standardizedGroup(i)!;
        return { kind: 'ec' as const, curve: g.curve, fieldLength: g.fieldLength };
      }),
      parameterId: fc.integer({ min: 32, max: 127 }),
    }),
    fc.uint8Array({ minLength: 0, maxLength: 40 }).map((payload): SecurityInfo => {
      const body = [...oidToBytes('0.4.0.127.0.7.2.2.3.2.2')];
      const der = h(`30${(2 + body.length + 2 + payload.length).toString(16).padStart(2, '0')}06${body.length.toString(16).padStart(2, '0')}${hex(Uint8Array.from(body))}04${payload.length.toString(16).padStart(2, '0')}${hex(payload)}`);
      return { type: 'other', protocol: '0.4.0.127.0.7.2.2.3.2.2', der };
    }),
  );

  it('decode(encode(infos)) = infos (in DER order), encode(decode(bytes)) = bytes', () => {
    fc.assert(
      fc.property(fc.array(infoArb, { maxLength: 6 }), (infos) => {
        const der = encodeSecurityInfos(infos);
        const back = decodeSecurityInfos(der);
        expect(hex(encodeSecurityInfos(back, { sort: false }))).toBe(hex(der));
        expect(hex(encodeSecurityInfos(back))).toBe(hex(der));
        const asGiven = encodeSecurityInfos(infos, { sort: false });
        expect(decodeSecurityInfos(asGiven)).toEqual(infos);
      }),
      { numRuns: 150 },
    );
  });
});

describe('malformed input', () => {
  const cases: [string, string][] = [
    ['empty', ''],
    ['not a SET', '30143012060A04007F0007020204020202010202010D'],
    ['truncated', '31143012060A04007F0007020204020202010202'],
    ['trailing bytes', '31143012060A04007F0007020204020202010202010D00'],
    ['element not a SEQUENCE', '3103020102'],
    ['no protocol OID', '3105300302010D'],
    ['PACEInfo without version', '310E300C060A04007F00070202040202'],
    ['PACEInfo version not INTEGER', '3114300F060A04007F000702020402020401020000'.slice(0, 42)],
    ['non-minimal INTEGER', '31153013060A04007F000702020402020201020202000D'],
    ['negative parameterId', '31143012060A04007F000702020402020201020201FF'],
    ['PACEInfo with an extra element', '31173015060A04007F0007020204020202010202010D050000'.slice(0, 48)],
    ['BER long-form length', '3115308112060A04007F0007020204020202010202010D'],
  ];
  for (const [name, bytes] of cases) {
    it(name, () => {
      expect(() => decodeSecurityInfos(h(bytes))).toThrow(SecurityInfoError);
    });
  }

  it('error messages name the field', () => {
    expect(() => decodeSecurityInfos(h('31153013060A04007F000702020402020201020202000D'))).toThrow(/PACEInfo .*not DER/);
    expect(() => decodeSecurityInfos(h('310E300C060A04007F00070202040202'))).toThrow(/PACEInfo\.version: expected INTEGER/);
  });

  it('encoding refuses impossible values', () => {
    expect(() => encodeSecurityInfo({ type: 'PACEInfo', protocol: 'x', version: 2 })).toThrow(/dotted/);
    expect(() => encodeSecurityInfo({ type: 'PACEInfo', protocol: PACE_OID.ECDH_GM_AES_128, version: -1 })).toThrow(/non-negative/);
  });
});
