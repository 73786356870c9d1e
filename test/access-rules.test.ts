/**
 * The access-rule grammar and its ISO/IEC 7816-4 expanded-format encoding (FCP tag 'AB'), with the
 * PACE condition: text and bytes round trip both ways, the PACE templates are byte for byte what
 * `security/access.ts` documents, the decoder refuses templates it would read as something weaker,
 * and evaluation holds PACE only for a PACE session (with the named password).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bytesToHex, hexToBytes } from '../src/bytes/index.js';
import {
  ALWAYS,
  NEVER,
  PACE_REQUIRED,
  SM_REQUIRED,
  and,
  decodeAccessRules,
  encodeAccessRules,
  encodeCondition,
  formatCondition,
  key,
  or,
  pace,
  parseCondition,
  pin,
  satisfies,
  type Condition,
  type SecurityFacts,
} from '../src/card/security/access.js';
import type { PacePasswordKind } from '../src/crypto/pace.js';

const PASSWORDS: readonly PacePasswordKind[] = ['mrz', 'can', 'pin', 'puk'];

const condition: fc.Arbitrary<Condition> = fc.letrec<{ c: Condition }>((tie) => ({
  c: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(ALWAYS, NEVER, SM_REQUIRED, PACE_REQUIRED),
    fc.constantFrom(...PASSWORDS).map((p) => pace(p)),
    fc.integer({ min: 0, max: 255 }).map(pin),
    fc.integer({ min: 0, max: 255 }).map(key),
    fc.array(tie('c'), { minLength: 2, maxLength: 3 }).map((of) => and(...of)),
    fc.array(tie('c'), { minLength: 2, maxLength: 3 }).map((of) => or(...of)),
  ),
})).c;

function facts(o: { pace?: PacePasswordKind; sm?: boolean; pins?: number[] } = {}): SecurityFacts {
  return {
    pinVerified: (ref) => (o.pins ?? []).includes(ref),
    keyAuthenticated: () => false,
    secureMessaging: o.sm ?? o.pace !== undefined,
    pacePassword: o.pace,
  };
}

describe('the PACE condition: text', () => {
  it('parses PACE and PACE(MRZ|CAN|PIN|PUK) in any case, and prints them back', () => {
    expect(parseCondition('PACE')).toEqual(PACE_REQUIRED);
    expect(parseCondition('pace ( can )')).toEqual(pace('can'));
    for (const p of PASSWORDS) expect(formatCondition(parseCondition(`PACE(${p.toUpperCase()})`))).toBe(`PACE(${p.toUpperCase()})`);
    expect(formatCondition(parseCondition('PACE AND PIN(03) AND SM'))).toBe('(PACE AND PIN(03) AND SM)');
    expect(formatCondition(parseCondition('PACE(CAN) AND SM OR PACE(PIN)'))).toBe('((PACE(CAN) AND SM) OR PACE(PIN))');
  });

  it('refuses an unknown password and names what is allowed', () => {
    expect(() => parseCondition('PACE(TAN)')).toThrow(/PACE names its password as MRZ, CAN, PIN or PUK/);
    expect(() => parseCondition('PACE(03)')).toThrow(/PACE names its password/);
    expect(() => parseCondition('SM(CAN)')).toThrow(/is not ALWAYS, NEVER, SM, PACE/);
    expect(() => parseCondition('PIN(CAN)')).toThrow(/PIN\(hex ref\)/);
    expect(() => parseCondition('PIN(0G)')).toThrow(/access rule/);
  });

  it('parse(format(c)) = c for every condition', () => {
    fc.assert(
      fc.property(condition, (c) => {
        expect(parseCondition(formatCondition(c))).toEqual(c);
      }),
      { numRuns: 300 },
    );
  });
});

describe('the PACE condition: the expanded format (ISO/IEC 7816-4 §9.3, table 33; ICAO 9303-11 §4.4.4.1)', () => {
  it('is the AT of MSE:Set AT for PACE: 80 = id-PACE, 83 = password reference, 95 = C0', () => {
    expect(bytesToHex(encodeCondition(PACE_REQUIRED))).toBe('A40D800804007F0007020204' + '9501C0');
    expect(bytesToHex(encodeCondition(pace('mrz')))).toBe('A410800804007F0007020204' + '830101' + '9501C0');
    expect(bytesToHex(encodeCondition(pace('can')))).toBe('A410800804007F0007020204' + '830102' + '9501C0');
    expect(bytesToHex(encodeCondition(pace('pin')))).toBe('A410800804007F0007020204' + '830103' + '9501C0');
    expect(bytesToHex(encodeCondition(pace('puk')))).toBe('A410800804007F0007020204' + '830104' + '9501C0');
    // The rule health and finance files carry.
    expect(bytesToHex(encodeAccessRules({ read: and(PACE_REQUIRED, pin(3), SM_REQUIRED) }, false))).toBe(
      '800101' + 'AF1C' + 'A40D800804007F00070202049501C0' + 'A406830103950108' + 'B403950130',
    );
  });

  it('decode(encode(rules)) = rules and encode(decode(bytes)) = bytes', () => {
    fc.assert(
      fc.property(condition, condition, (r, u) => {
        const rules = { read: r, update: u };
        const bytes = encodeAccessRules(rules, false);
        const back = decodeAccessRules(bytes, false);
        expect(formatCondition(back.read!)).toBe(formatCondition(r));
        expect(formatCondition(back.update!)).toBe(formatCondition(u));
        expect(bytesToHex(encodeAccessRules(back, false))).toBe(bytesToHex(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses templates it would misread as something weaker', () => {
    const rules = (sc: string): unknown => decodeAccessRules(hexToBytes(`800101${sc}`), false);
    // A PACE protocol OID instead of the id-PACE arc: not this condition.
    expect(() => rules('A40F800A04007F00070202040202' + '9501C0')).toThrow(/not id-PACE/);
    // id-PACE with the PIN usage qualifier.
    expect(() => rules('A40D800804007F0007020204950108')).toThrow(/usage qualifier 8 is not C0/);
    // Password reference 05.
    expect(() => rules('A410800804007F0007020204830105' + '9501C0')).toThrow(/password reference 5/);
    // Another DO in a PACE template, or in a PIN template; a DO twice.
    expect(() => rules('A410800804007F0007020204840101' + '9501C0')).toThrow(/only DOs 80, 83 and 95/);
    expect(() => rules('A409830103840101950108')).toThrow(/exactly DOs 83 and 95/);
    expect(() => rules('A409830103830103950108')).toThrow(/twice/);
    // Usage qualifier C0 without the mechanism.
    expect(() => rules('A4068301039501C0')).toThrow(/is not 08 \(PIN\), 80 \(key\) or C0/);
  });
});

describe('the PACE condition: evaluation', () => {
  it('holds for a PACE session, with the named password when one is named', () => {
    for (const p of PASSWORDS) {
      expect(satisfies(PACE_REQUIRED, facts({ pace: p }))).toBe(true);
      for (const q of PASSWORDS) expect(satisfies(pace(q), facts({ pace: p }))).toBe(p === q);
    }
  });

  it('never holds without PACE: SM alone (BAC), a verified PIN, or a fact source that knows no PACE', () => {
    expect(satisfies(PACE_REQUIRED, facts({ sm: true, pins: [3] }))).toBe(false);
    expect(satisfies(and(PACE_REQUIRED, pin(3), SM_REQUIRED), facts({ sm: true, pins: [3] }))).toBe(false);
    expect(satisfies(and(PACE_REQUIRED, pin(3), SM_REQUIRED), facts({ pace: 'can', pins: [3] }))).toBe(true);
    const legacy: SecurityFacts = { pinVerified: () => true, keyAuthenticated: () => true, secureMessaging: true };
    expect(satisfies(PACE_REQUIRED, legacy)).toBe(false);
    expect(satisfies(or(PACE_REQUIRED, SM_REQUIRED), legacy)).toBe(true);
  });
});
