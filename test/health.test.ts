/**
 * The health insurance application: record codecs (round trips over fast-check data, strict
 * decoding), the access matrix (every file × every security state, read and update), the
 * insurer's change with its key and a re-signed EF.SOD, and the reader's verdicts.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseResponseApdu } from '../src/apdu/response.js';
import { bytesToHex, hexToBytes } from '../src/bytes/index.js';
import type { Card } from '../src/card/os.js';
import { dfByExactName } from '../src/card/fs/tree.js';
import type { RecordEf } from '../src/card/fs/file.js';
import { performBac } from '../src/terminal/bac.js';
import { performPace } from '../src/terminal/pace.js';
import { InProcessTransport } from '../src/transport/in-process.js';
import type { Transport } from '../src/transport/types.js';
import type { SecureMessagingTransport } from '../src/transport/secure-messaging.js';
import { performChipAuthentication } from '../src/terminal/chip-auth.js';
import { readFileBySfi } from '../src/apps/identity/reader.js';
import type { Dependant, HealthInsurance } from '../src/holder/index.js';
import { issueDocumentSigner } from '../src/lds/index.js';
import { buildIdCard } from '../src/apps/id-card.js';
import {
  AppDataError,
  EF_DEPENDANTS,
  EF_INSURANCE,
  HEALTH_AID,
  HEALTH_FILES,
  HEALTH_MAX_DEPENDANTS,
  HealthUpdateError,
  authenticateInsurer,
  decodeDependantRecord,
  decodeInsuranceRecord,
  encodeDependantRecord,
  encodeInsuranceRecord,
  healthFromRecords,
  healthRecords,
  layoutMarkdown,
  readHealth,
  updateHealthInsurance,
  type InsuranceRecord,
} from '../src/apps/health/index.js';
import { NOW, pki, holder, CAN, PIN, MRZ_INFO, INSURER_KEY, SPECIMEN_OPTS } from './helpers/specimen.js';

const AID = bytesToHex(HEALTH_AID);

// --- codecs -------------------------------------------------------------------------------------------

const day = fc.tuple(fc.integer({ min: 1900, max: 2099 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 28 })).map(([y, m, d]) => `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`);
const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 });
const arabic = fc.array(fc.array(fc.integer({ min: 0x0621, max: 0x064a }).map((c) => String.fromCharCode(c)), { minLength: 2, maxLength: 9 }).map((a) => a.join('')), { minLength: 1, maxLength: 4 }).map((a) => a.join(' '));
const insurance: fc.Arbitrary<InsuranceRecord> = fc.record({ insurer: text, memberNumber: fc.stringMatching(/^[0-9A-Z-]{1,32}$/), class: text, validFrom: day, validUntil: day });
const dependant: fc.Arbitrary<Dependant> = fc.record(
  { name: text, nameArabic: arabic, relationship: fc.constantFrom('spouse' as const, 'child' as const, 'parent' as const, 'other' as const), memberNumber: fc.stringMatching(/^[0-9A-Z-]{1,32}$/), dateOfBirth: day },
  { requiredKeys: ['name', 'relationship', 'memberNumber', 'dateOfBirth'] },
);

describe('health records', () => {
  it('decode(encode(x)) = x and encode(decode(b)) = b for insurance and dependant records', () => {
    fc.assert(
      fc.property(insurance, dependant, (r, d) => {
        const a = encodeInsuranceRecord(r);
        expect(decodeInsuranceRecord(a)).toEqual(r);
        expect(encodeInsuranceRecord(decodeInsuranceRecord(a))).toEqual(a);
        const b = encodeDependantRecord(d);
        expect(decodeDependantRecord(b)).toEqual(d);
        expect(encodeDependantRecord(decodeDependantRecord(b))).toEqual(b);
      }),
      { numRuns: 300 },
    );
  });

  it('a whole section round-trips through its records, empty slots skipped', () => {
    fc.assert(
      fc.property(insurance, fc.array(dependant, { maxLength: HEALTH_MAX_DEPENDANTS }), (r, ds) => {
        const section: HealthInsurance = { ...r, dependants: ds };
        const { insurance: i, dependants } = healthRecords(section, HEALTH_MAX_DEPENDANTS);
        expect(dependants).toHaveLength(HEALTH_MAX_DEPENDANTS);
        expect(healthFromRecords(i, dependants)).toEqual(section);
      }),
    );
  });

  it('bytes as specified: E1 with 80..84, dates as 8 digits', () => {
    const r = encodeInsuranceRecord({ insurer: 'X', memberNumber: 'M-1', class: 'A', validFrom: '2025-01-01', validUntil: '2025-12-31' });
    expect(bytesToHex(r)).toBe('E11F8001588103' + '4D2D31' + '820141' + '8308' + bytesToHex(new TextEncoder().encode('20250101')) + '8408' + bytesToHex(new TextEncoder().encode('20251231')));
    expect(bytesToHex(encodeDependantRecord({ name: 'A', relationship: 'child', memberNumber: 'M', dateOfBirth: '2019-07-21' }))).toMatch(/^E2..8001418201028301/);
  });

  it('decoding is strict and names the element', () => {
    const good = encodeInsuranceRecord({ insurer: 'X', memberNumber: 'M', class: 'A', validFrom: '2025-01-01', validUntil: '2025-12-31' });
    const cases: [string, RegExp][] = [
      ['E2038001AA', /template tag E2 is not E1/],
      ['E1038501AA', /unexpected data object 85/],
      ['E10680015880015A', /insurer \(80\) appears twice/],
      ['E103800158', /memberNumber \(81\) is missing/],
      [bytesToHex(good).replace(bytesToHex(new TextEncoder().encode('20250101')), bytesToHex(new TextEncoder().encode('20250230'))), /validFrom.*date/],
      ['E1038001FF', /not valid UTF-8/],
      ['E1', /not one BER-TLV object/],
    ];
    for (const [hex, msg] of cases) expect(() => decodeInsuranceRecord(hexToBytes(hex)), hex).toThrow(msg);
    expect(() => decodeDependantRecord(hexToBytes('E20F800141820105830141840832303139'))).toThrow(AppDataError);
    expect(() => encodeDependantRecord({ name: 'A', relationship: 'cousin' as 'other', memberNumber: 'M', dateOfBirth: '2019-07-21' })).toThrow(/relationship: expected one of spouse, child, parent, other/);
  });

  it('the layout table lists every file with its rules and the encrypted flag', () => {
    const md = layoutMarkdown(HEALTH_FILES);
    expect(md).toContain('| EF.INSURANCE | 0101 | 01 | linear variable, 1 × ≤ 255 B | read PACE AND SM; update PACE AND KEY(01) AND SM; append PACE AND KEY(01) AND SM | yes |');
    expect(md).toContain('| EF.SOD | 011D | 1D | transparent | read PACE AND SM; update PACE AND KEY(01) AND SM | no |');
  });
});

// --- the card -----------------------------------------------------------------------------------------

function card(): Card {
  return buildIdCard(holder, SPECIMEN_OPTS);
}

async function tx(t: Transport, hex: string): Promise<{ data: Uint8Array; sw: string }> {
  const r = parseResponseApdu(await t.transmit(hexToBytes(hex)));
  return { data: r.data, sw: r.sw.toString(16).toUpperCase().padStart(4, '0') };
}

type State = 'none' | 'BAC' | 'BAC+insurer' | 'PACE-CAN' | 'PACE-MRZ' | 'PACE-PIN' | 'PACE-CAN+insurer' | 'PACE-PIN+insurer';
const STATES: readonly State[] = ['none', 'BAC', 'BAC+insurer', 'PACE-CAN', 'PACE-MRZ', 'PACE-PIN', 'PACE-CAN+insurer', 'PACE-PIN+insurer'];

/** A fresh power cycle, the state established, the health application selected. */
async function open(c: Card, state: State): Promise<Transport> {
  c.powerOff();
  const plain = new InProcessTransport(c);
  await plain.connect();
  let t: Transport = plain;
  if (state.startsWith('BAC')) {
    expect((await tx(plain, '00A4040C07A0000002471001')).sw).toBe('9000');
    t = await performBac(plain, MRZ_INFO);
  } else if (state.startsWith('PACE-CAN')) t = await performPace(plain, { kind: 'can', password: CAN, parameterId: 13 });
  else if (state === 'PACE-MRZ') t = await performPace(plain, { kind: 'mrz', password: MRZ_INFO, parameterId: 13 });
  else if (state.startsWith('PACE-PIN')) t = await performPace(plain, { kind: 'pin', password: PIN, parameterId: 13 });
  expect((await tx(t, `00A4040C06${AID}`)).sw).toBe('9000');
  if (state.endsWith('+insurer')) {
    // The key itself works in every SM state; what the rules make of it is the point.
    await authenticateInsurer(t, INSURER_KEY);
  }
  return t;
}

describe('access matrix of the health application', () => {
  // Read: SM + a PACE session; update/append: KEY(01) AND SM + a PACE session.
  const READ: readonly State[] = ['PACE-CAN', 'PACE-MRZ', 'PACE-PIN', 'PACE-CAN+insurer', 'PACE-PIN+insurer'];
  const WRITE: readonly State[] = ['PACE-CAN+insurer', 'PACE-PIN+insurer'];
  const c = card();

  it('covers every file of the layout', () => {
    expect(HEALTH_FILES.map((f) => f.name)).toEqual(['EF.INSURANCE', 'EF.DEPENDANTS', 'EF.SOD']);
  });

  for (const state of STATES) {
    it(`${state}`, async () => {
      const t = await open(c, state);
      for (const f of HEALTH_FILES) {
        const canRead = READ.includes(state);
        const canWrite = WRITE.includes(state);
        if (f.structure === 'transparent') {
          const r = await tx(t, `00B0${(0x80 | f.sfi).toString(16).toUpperCase()}0004`);
          expect(r.sw, `read ${f.name} in ${state}`).toBe(canRead ? '9000' : '6982');
          // Rewriting the first bytes with what they are (the SOD's first bytes are 77 82): nothing changes.
          const head = canRead ? bytesToHex(r.data) : '77820000';
          const w = await tx(t, `00D6${(0x80 | f.sfi).toString(16).toUpperCase()}0004${head}`);
          expect(w.sw, `update ${f.name} in ${state}`).toBe(canWrite ? '9000' : '6982');
        } else {
          const p2 = ((f.sfi << 3) | 4).toString(16).toUpperCase().padStart(2, '0');
          const r = await tx(t, `00B201${p2}00`);
          expect(r.sw, `read ${f.name} in ${state}`).toBe(canRead ? '9000' : '6982');
          const rec = canRead ? r.data : f.name === 'EF.INSURANCE' ? encodeInsuranceRecord({ insurer: 'X', memberNumber: 'M', class: 'A', validFrom: '2025-01-01', validUntil: '2025-12-31' }) : new Uint8Array([0]);
          const w = await tx(t, `00DC01${p2}${rec.length.toString(16).padStart(2, '0')}${bytesToHex(rec)}`);
          expect(w.sw, `update ${f.name} in ${state}`).toBe(canWrite ? '9000' : '6982');
          const a = await tx(t, `00E200${(f.sfi << 3).toString(16).toUpperCase().padStart(2, '0')}0100`);
          // Append: refused by the rules, or — where allowed — by a full EF (every slot exists).
          expect(a.sw, `append ${f.name} in ${state}`).toBe(canWrite ? '6A84' : '6982');
        }
      }
    });
  }

  it('BAC is refused even though SM holds: the PACE condition says no', async () => {
    const t = await open(c, 'BAC');
    expect((await tx(t, '00B2010C00')).sw).toBe('6982');
    // The same session reads the identity application (SM is enough there).
    expect((await tx(t, '00A4040C07A0000002471001')).sw).toBe('9000');
    expect((await tx(t, '00B0810004')).sw).toBe('9000');
  });

  it('Chip Authentication after PACE keeps the PACE session: health stays readable', async () => {
    const sm = (await open(c, 'PACE-CAN')) as SecureMessagingTransport;
    expect((await tx(sm, '00A4040C07A0000002471001')).sw).toBe('9000');
    const dg14 = await readFileBySfi(sm, 0x0e, 0xdf);
    const ca = await performChipAuthentication(sm, { dg14 });
    const r = await readHealth(ca, { cscas: [pki.csca.certificate], now: NOW });
    expect(r.section?.insurer).toBe('SPECIMEN NATIONAL HEALTH INSURANCE');
    // After BAC, the same Chip Authentication does not open it.
    const bac = (await open(c, 'BAC')) as SecureMessagingTransport;
    expect((await tx(bac, '00A4040C07A0000002471001')).sw).toBe('9000');
    const ca2 = await performChipAuthentication(bac, { dg14: await readFileBySfi(bac, 0x0e, 0xdf) });
    expect((await readHealth(ca2)).files.map((f) => f.status)).toEqual(['refused', 'refused', 'refused']);
  });
});

// --- reading and changing -------------------------------------------------------------------------------

describe('reading and the insurer', () => {
  it('reads, decodes and verifies under PACE', async () => {
    const r = await readHealth(await open(card(), 'PACE-CAN'), { cscas: [pki.csca.certificate], now: NOW });
    expect(r.section).toEqual(holder.healthInsurance);
    expect(r.passiveAuth?.verdict).toBe('valid');
    expect(r.files.map((f) => [f.name, f.status, f.verdict])).toEqual([
      ['EF.INSURANCE', 'read', 'valid'],
      ['EF.DEPENDANTS', 'read', 'valid'],
      ['EF.SOD', 'read', 'valid'],
    ]);
  });

  it('under BAC every file is reported refused, none hidden', async () => {
    const r = await readHealth(await open(card(), 'BAC'), { cscas: [pki.csca.certificate], now: NOW });
    expect(r.files.map((f) => [f.name, f.status, f.sw])).toEqual([
      ['EF.INSURANCE', 'refused', 0x6982],
      ['EF.DEPENDANTS', 'refused', 0x6982],
      ['EF.SOD', 'refused', 0x6982],
    ]);
    expect(r.section).toBeUndefined();
  });

  it('a changed record byte fails passive authentication for that file only', async () => {
    const c = card();
    const df = dfByExactName(c.state.mf, HEALTH_AID)!;
    const ef = df.children.find((f) => f.fid === EF_DEPENDANTS.fid) as RecordEf;
    const rec = ef.records[0]!;
    rec[rec.length - 1] = rec[rec.length - 1]! ^ 0x01; // the last digit of the date of birth
    const r = await readHealth(await open(c, 'PACE-CAN'), { cscas: [pki.csca.certificate], now: NOW });
    expect(r.files.map((f) => [f.name, f.verdict])).toEqual([
      ['EF.INSURANCE', 'valid'],
      ['EF.DEPENDANTS', 'invalid'],
      ['EF.SOD', 'valid'],
    ]);
    expect(r.passiveAuth?.verdict).toBe('invalid');
  });

  it('the insurer changes the data with its key under PACE; the new EF.SOD verifies', async () => {
    const c = card();
    const insurerSigner = issueDocumentSigner(pki.csca, { commonName: 'chipwright TEST insurer signer', now: new Date('2025-01-01T00:00:00Z') });
    const next: HealthInsurance = { ...holder.healthInsurance!, class: 'VIP', validUntil: '2026-12-31', dependants: [holder.healthInsurance!.dependants[1]!] };
    const t = await open(c, 'PACE-CAN');
    await updateHealthInsurance(t, next, { insurerKey: INSURER_KEY, signer: insurerSigner, signingTime: NOW });
    const r = await readHealth(await open(c, 'PACE-CAN'), { cscas: [pki.csca.certificate], now: NOW });
    expect(r.section).toEqual(next);
    expect(r.passiveAuth?.verdict).toBe('valid');
    expect(r.passiveAuth?.documentSigner?.subject).toContain('insurer signer');
    // The old records are gone from the card, not just hidden.
    const df = dfByExactName(c.state.mf, HEALTH_AID)!;
    expect((df.children.find((f) => f.fid === EF_DEPENDANTS.fid) as RecordEf).records.slice(1).every((x) => x.length === 1 && x[0] === 0)).toBe(true);
    expect(bytesToHex((df.children.find((f) => f.fid === EF_INSURANCE.fid) as RecordEf).records[0]!)).toBe(bytesToHex(encodeInsuranceRecord({ insurer: next.insurer, memberNumber: next.memberNumber, class: 'VIP', validFrom: next.validFrom, validUntil: '2026-12-31' })));
  });

  it('without the insurer key, with a wrong one, or under BAC, nothing changes', async () => {
    const c = card();
    const before = JSON.stringify(dfByExactName(c.state.mf, HEALTH_AID)!.children.map((f) => ('records' in f ? f.records.map((x) => bytesToHex(x)) : bytesToHex(f.kind === 'EF' ? f.data : new Uint8Array()))));
    const next = { ...holder.healthInsurance!, class: 'VIP' };
    await expect(updateHealthInsurance(await open(c, 'PACE-CAN'), next, { insurerKey: hexToBytes('FF'.repeat(16)), signer: pki.documentSigner })).rejects.toMatchObject({ name: 'HealthUpdateError', sw: 0x63c9 });
    await expect(updateHealthInsurance(await open(c, 'BAC'), next, { insurerKey: INSURER_KEY, signer: pki.documentSigner })).rejects.toThrow(HealthUpdateError);
    // The key proved under PACE but the SM session ended (a plain command): refused again.
    const t = await open(c, 'PACE-CAN+insurer');
    const plain = new InProcessTransport(c);
    expect((await tx(plain, '00DC010C0100')).sw).toBe('6982');
    void t;
    const after = JSON.stringify(dfByExactName(c.state.mf, HEALTH_AID)!.children.map((f) => ('records' in f ? f.records.map((x) => bytesToHex(x)) : bytesToHex(f.kind === 'EF' ? f.data : new Uint8Array()))));
    expect(after).toBe(before);
  });

  it('a record that does not fit a 255-byte record is refused when the card is built', () => {
    const long = { ...holder, healthInsurance: { ...holder.healthInsurance!, dependants: [{ name: 'A'.repeat(100), nameArabic: 'ب'.repeat(100), relationship: 'child' as const, memberNumber: 'M', dateOfBirth: '2019-07-21' }] } };
    expect(() => buildIdCard(long, { pki, can: CAN, insurerKey: INSURER_KEY, eServices: { authenticationPin: '1357', signaturePin: '135791' } })).toThrow(/healthInsurance\.dependants\[0\]: the record takes \d+ bytes, a record of EF\.DEPENDANTS holds 255 — healthInsurance\.dependants\[0\]\.nameArabic 200 bytes \(100 characters\).*; shorten healthInsurance\.dependants\[0\]\.nameArabic/);
  });
});
