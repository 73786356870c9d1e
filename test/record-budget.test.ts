/**
 * Holder data against record sizes: a record of the health and finance EFs holds at most 255 bytes.
 * The published schema's maxima (read from `profiles/holder.schema.json`, not restated here) must
 * fit when every character takes two bytes of UTF-8 (Latin-1/Latin Extended letters, Arabic), with
 * every optional field present; at those maxima every record round trips (fast-check). What still
 * overflows — three- or four-byte characters — is refused naming the holder field; over-long text
 * is refused by validation naming the field. The transparent identity data (DG11, DG12) holds the
 * schema's maxima too.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { AppDataError } from '../src/apps/health/common.js';
import { EF_DEPENDANTS, EF_INSURANCE, HEALTH_RECORD_SIZE } from '../src/apps/health/layout.js';
import { decodeDependantRecord, decodeInsuranceRecord, healthRecords, type InsuranceRecord } from '../src/apps/health/records.js';
import { EF_ACCOUNTS, EF_CARDS, FINANCE_RECORD_SIZE } from '../src/apps/finance/layout.js';
import { decodeAccountRecord, financeRecords } from '../src/apps/finance/records.js';
import { ID_CARD_APPLETS, buildIdCard, readIdCard } from '../src/apps/id-card.js';
import { loadCard, serializeCard } from '../src/card/image.js';
import { InProcessTransport } from '../src/transport/in-process.js';
import { createTestPki } from '../src/lds/index.js';
import { HolderError, loadHolder, validateHolder } from '../src/holder/index.js';
import type { Dependant, FinancialAccount, Holder } from '../src/holder/types.js';

type SchemaNode = { properties?: Record<string, SchemaNode>; items?: SchemaNode; maxLength?: number };
const SCHEMA = JSON.parse(readFileSync('profiles/holder.schema.json', 'utf8')) as SchemaNode;

/** maxLength of the schema node at a path like `healthInsurance.dependants[].name`. */
function maxLength(path: string): number {
  let n: SchemaNode | undefined = SCHEMA;
  for (const part of path.split('.')) {
    const name = part.replace('[]', '');
    n = n?.properties?.[name];
    if (part.endsWith('[]')) n = n?.items;
  }
  if (n?.maxLength === undefined) throw new Error(`${path}: no maxLength in the schema`);
  return n.maxLength;
}

/** Two-byte characters each field's pattern accepts. */
const LATIN2 = [...'éÀçÑøŁžŒß'];
const ARABIC2 = [...'أبتثجحخدذرزسشصضطظعغفقكلمنهوي'];
const TEXT2 = [...LATIN2, ...ARABIC2];

const at = (chars: readonly string[], n: number, seed = 0): string => Array.from({ length: n }, (_, i) => chars[(i + seed) % chars.length]!).join('');
const arb = (chars: readonly string[], n: number): fc.Arbitrary<string> => fc.array(fc.constantFrom(...chars), { minLength: n, maxLength: n }).map((a) => a.join(''));

const NAME = maxLength('healthInsurance.dependants[].name');
const NAME_AR = maxLength('healthInsurance.dependants[].nameArabic');
const INSURER = maxLength('healthInsurance.insurer');
const CLASS = maxLength('healthInsurance.class');
const BANK = maxLength('financialAccounts[].bank');

function insuranceAtMax(insurer: string, klass: string): InsuranceRecord {
  return { insurer, memberNumber: 'M'.repeat(32), class: klass, validFrom: '2025-01-01', validUntil: '2099-12-31' };
}
function dependantAtMax(name: string, nameArabic: string): Dependant {
  return { name, nameArabic, relationship: 'child', memberNumber: '9'.repeat(32), dateOfBirth: '2019-07-21' };
}
function accountAtMax(bank: string, type: FinancialAccount['type'] = 'credit-card'): FinancialAccount {
  return { bank, accountReference: 'QA00 SPEC'.padEnd(40, '0'), type, maskedPan: '41111111*******1111', currency: 'QAR' };
}

describe('the schema maxima fit a record (255 bytes) at two bytes per character', () => {
  it('the maxima are what the layouts were sized for', () => {
    expect(HEALTH_RECORD_SIZE).toBe(255);
    expect(FINANCE_RECORD_SIZE).toBe(255);
    expect({ NAME, NAME_AR, INSURER, CLASS, BANK }).toEqual({ NAME: 48, NAME_AR: 48, INSURER: 64, CLASS: 32, BANK: 80 });
  });

  it('insurance, dependant and account records at every maximum fit and round trip (fast-check)', () => {
    fc.assert(
      fc.property(arb(TEXT2, INSURER), arb(TEXT2, CLASS), arb(LATIN2, NAME), arb(ARABIC2, NAME_AR), arb(TEXT2, BANK), (insurer, klass, name, nameAr, bank) => {
        const ins = insuranceAtMax(insurer, klass);
        const dep = dependantAtMax(name, nameAr);
        const h = healthRecords({ ...ins, dependants: [dep] }, 20);
        expect(h.insurance[0]!.length).toBeLessThanOrEqual(EF_INSURANCE.recordSize!);
        expect(h.dependants[0]!.length).toBeLessThanOrEqual(EF_DEPENDANTS.recordSize!);
        expect(decodeInsuranceRecord(h.insurance[0]!)).toEqual(ins);
        expect(decodeDependantRecord(h.dependants[0]!)).toEqual(dep);
        const acc = accountAtMax(bank);
        const f = financeRecords([acc, { ...acc, type: 'savings', maskedPan: undefined } as FinancialAccount]);
        expect(f.cards[0]!.length).toBeLessThanOrEqual(EF_CARDS.recordSize!);
        expect(f.accounts[0]!.length).toBeLessThanOrEqual(EF_ACCOUNTS.recordSize!);
        expect(decodeAccountRecord(f.cards[0]!)).toEqual(acc);
      }),
      { numRuns: 100 },
    );
  });

  it('ASCII at the maxima leaves room, too (the common case)', () => {
    const h = healthRecords({ ...insuranceAtMax('I'.repeat(INSURER), 'C'.repeat(CLASS)), dependants: [dependantAtMax('N'.repeat(NAME), at(ARABIC2, NAME_AR))] }, 20);
    expect(h.insurance[0]!.length).toBeLessThan(255);
    expect(h.dependants[0]!.length).toBeLessThan(255);
  });
});

describe('what does not fit is refused, naming the field', () => {
  it('three-byte characters at the maxima: the dependant record names its longest text', () => {
    // U+FEFB (Arabic presentation form, 3 bytes in UTF-8) is Arabic script: the schema accepts it.
    const dep = dependantAtMax(at(LATIN2, NAME), 'ﻻ'.repeat(NAME_AR));
    expect(() => healthRecords({ ...insuranceAtMax('I', 'A'), dependants: [dep, dep] }, 20)).toThrow(AppDataError);
    expect(() => healthRecords({ ...insuranceAtMax('I', 'A'), dependants: [dependantAtMax('A', 'ب'), dep] }, 20)).toThrow(
      /^healthInsurance\.dependants\[1\]: the record takes \d+ bytes, a record of EF\.DEPENDANTS holds 255 — healthInsurance\.dependants\[1\]\.nameArabic 144 bytes \(48 characters\), healthInsurance\.dependants\[1\]\.name 96 bytes \(48 characters\), .*; shorten healthInsurance\.dependants\[1\]\.nameArabic by \d+ bytes or more$/,
    );
  });

  it('four-byte characters in the insurer and the bank', () => {
    const wide = '𝔸'.repeat(INSURER); // U+1D538, 4 bytes
    expect(() => healthRecords({ ...insuranceAtMax(wide, 'A'), dependants: [] }, 20)).toThrow(/^healthInsurance: the record takes \d+ bytes, a record of EF\.INSURANCE holds 255 — healthInsurance\.insurer 256 bytes/);
    expect(() => financeRecords([accountAtMax('A'), accountAtMax('𝔸'.repeat(BANK), 'current')])).toThrow(/^financialAccounts\[1\]: .* a record of EF\.ACCOUNTS holds 255 — financialAccounts\[1\]\.bank 320 bytes .*shorten financialAccounts\[1\]\.bank/);
  });

  it('text longer than the schema allows is a validation error naming the field', () => {
    const doc = JSON.parse(JSON.stringify(loadDocument()));
    doc.healthInsurance.dependants[0].nameArabic = at(ARABIC2, NAME_AR + 1);
    doc.financialAccounts[0].bank = 'B'.repeat(BANK + 1);
    let err: unknown;
    try {
      validateHolder(doc, { baseDir: 'profiles/samples' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HolderError);
    const paths = (err as HolderError).issues.map((i) => i.path);
    expect(paths).toContain('healthInsurance.dependants[0].nameArabic');
    expect(paths).toContain('financialAccounts[0].bank');
  });
});

/** The full sample as a plain document (YAML parsed), for validation tests. */
function loadDocument(): Record<string, unknown> {
  return parseYaml(readFileSync('profiles/samples/specimen-full.yaml', 'utf8')) as Record<string, unknown>;
}

describe('a whole card with every text at the schema maximum', () => {
  it('builds, reloads from its image and reads back the same holder', async () => {
    const base = loadHolder('profiles/samples/specimen-full.yaml');
    const max = (p: string): number => maxLength(p);
    const holder: Holder = {
      ...base,
      identity: {
        ...base.identity,
        fullNameArabic: at(ARABIC2, max('identity.fullNameArabic')),
        placeOfBirth: at(TEXT2, max('identity.placeOfBirth'), 3),
        address: Array.from({ length: 6 }, (_, i) => at(TEXT2, max('identity.address[]'), i)),
        profession: at(TEXT2, max('identity.profession'), 5),
      },
      document: { ...base.document, issuingAuthority: at(TEXT2, max('document.issuingAuthority'), 7) },
      healthInsurance: {
        ...insuranceAtMax(at(TEXT2, INSURER), at(TEXT2, CLASS, 1)),
        dependants: Array.from({ length: 20 }, (_, i) => dependantAtMax(at(LATIN2, NAME, i), at(ARABIC2, NAME_AR, i))),
      },
      drivingLicence: { ...base.drivingLicence!, authority: at(TEXT2, max('drivingLicence.authority'), 2) },
      financialAccounts: Array.from({ length: 10 }, (_, i) => accountAtMax(at(TEXT2, BANK, i), i % 2 === 0 ? 'current' : 'debit-card')),
    };
    const pki = createTestPki({ now: new Date('2025-01-01T00:00:00Z') });
    const card = buildIdCard(holder, {
      pki,
      can: '123456',
      pin: '2468',
      insurerKey: new Uint8Array(16).fill(7),
      eServices: { authenticationPin: '1357', signaturePin: '135791' },
      signingTime: new Date('2025-06-01T00:00:00Z'),
    });
    const again = loadCard(serializeCard(card), { applets: ID_CARD_APPLETS });
    const t = new InProcessTransport(again);
    await t.connect();
    const r = await readIdCard(t, { can: '123456', pin: '2468', cscas: [pki.csca.certificate], now: new Date('2026-01-15T12:00:00Z') });
    expect(r.verdict).toBe('valid');
    expect(r.holder?.identity).toEqual(holder.identity);
    expect(r.holder?.document.issuingAuthority).toEqual(holder.document.issuingAuthority);
    expect(r.holder?.healthInsurance).toEqual(holder.healthInsurance);
    expect(r.holder?.drivingLicence?.authority).toEqual(holder.drivingLicence!.authority);
    // Read back EF.ACCOUNTS first, then EF.CARDS.
    const accounts = holder.financialAccounts!;
    expect(r.holder?.financialAccounts).toEqual([...accounts.filter((a) => a.type === 'current'), ...accounts.filter((a) => a.type !== 'current')]);
  });
});
