/**
 * The driving licence application: DG1 (ISO/IEC 18013-2 / EU 383/2012 tags, BCD dates, category
 * entries) and DG6 (portrait reference) round trips over fast-check data, the access matrix, and
 * the reader's verdicts — passive authentication and the portrait checked against the eMRTD DG2.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseResponseApdu } from '../src/apdu/response.js';
import { bytesToHex, hexToBytes } from '../src/bytes/index.js';
import type { Card } from '../src/card/os.js';
import { dfByExactName } from '../src/card/fs/tree.js';
import type { TransparentEf } from '../src/card/fs/file.js';
import { performBac } from '../src/terminal/bac.js';
import { performPace } from '../src/terminal/pace.js';
import { InProcessTransport } from '../src/transport/in-process.js';
import type { Transport } from '../src/transport/types.js';
import type { LicenceCategory } from '../src/holder/index.js';
import { buildIdCard } from '../src/apps/id-card.js';
import { IDENTITY_AID } from '../src/apps/identity/layout.js';
import { HEALTH_AID, authenticateInsurer } from '../src/apps/health/index.js';
import { parseTlv } from '../src/tlv/ber.js';
import {
  LICENCE_AID,
  LICENCE_FILES,
  categoriesOf,
  categoryEntries,
  decodeLicenceDg1,
  decodePortraitReference,
  encodeLicenceDg1,
  encodePortraitReference,
  holderLicenceDg1,
  portraitReference,
  prepareLicenceFiles,
  readLicence,
  type LicenceCategoryEntry,
  type LicenceDg1,
} from '../src/apps/licence/index.js';
import { NOW, pki, holder, CAN, PIN, MRZ_INFO, INSURER_KEY, SPECIMEN_OPTS } from './helpers/specimen.js';


const day = fc.tuple(fc.integer({ min: 1900, max: 2099 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 28 })).map(([y, m, d]) => `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`);
const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 });
const code3 = fc.stringMatching(/^[A-Z<]{3}$/);
const category = fc.stringMatching(/^[A-Z][A-Z0-9]{0,4}$/);
const restriction = fc.stringMatching(/^[0-9]{2,3}(\.[0-9]{2})?$/);
const entry: fc.Arbitrary<LicenceCategoryEntry> = fc.record(
  { category, dateOfIssue: day, dateOfExpiry: day, code: restriction, sign: fc.constantFrom('<', '>', '='), value: fc.stringMatching(/^[0-9]{1,4}$/) },
  { requiredKeys: ['category', 'dateOfIssue', 'dateOfExpiry'] },
);
const dg1: fc.Arbitrary<LicenceDg1> = fc.record(
  {
    typeApprovalNumber: fc.stringMatching(/^e[0-9]{1,2}-[0-9]{1,6}$/),
    issuingState: code3,
    surname: text,
    otherNames: text,
    dateOfBirth: day,
    placeOfBirth: text,
    nationality: code3,
    gender: fc.constantFrom('M' as const, 'F' as const, 'U' as const),
    dateOfIssue: day,
    dateOfExpiry: day,
    issuingAuthority: text,
    administrativeNumber: fc.stringMatching(/^[0-9]{1,20}$/),
    documentNumber: fc.stringMatching(/^[0-9A-Z-]{1,25}$/),
    residence: text,
    entries: fc.array(entry, { minLength: 1, maxLength: 30 }),
  },
  { requiredKeys: ['issuingState', 'surname', 'dateOfBirth', 'dateOfIssue', 'dateOfExpiry', 'issuingAuthority', 'documentNumber', 'entries'] },
);
const categories: fc.Arbitrary<LicenceCategory[]> = fc
  .uniqueArray(fc.record({ category, dateOfIssue: day, dateOfExpiry: day, restrictions: fc.uniqueArray(restriction, { maxLength: 5 }) }), { minLength: 1, maxLength: 20, selector: (c) => c.category })
  .map((cs) => cs);

describe('licence DG1 and DG6', () => {
  it('decode(encode(dg1)) = dg1 and encode(decode(b)) = b', () => {
    fc.assert(
      fc.property(dg1, (d) => {
        const b = encodeLicenceDg1(d);
        expect(decodeLicenceDg1(b)).toEqual(d);
        expect(encodeLicenceDg1(decodeLicenceDg1(b))).toEqual(b);
      }),
      { numRuns: 300 },
    );
  });

  it('categories → entries → categories (one entry per restriction code)', () => {
    fc.assert(
      fc.property(categories, (cs) => {
        const es = categoryEntries(cs);
        expect(es.length).toBe(cs.reduce((n, c) => n + Math.max(1, c.restrictions.length), 0));
        expect(categoriesOf(es)).toEqual(cs);
      }),
    );
  });

  it('DG6 round-trips and binds the portrait bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 4096 }), fc.constantFrom('SHA-256' as const, 'SHA-384' as const, 'SHA-1' as const), (portrait, h) => {
        const ref = portraitReference(IDENTITY_AID, 0x0102, portrait, h);
        const b = encodePortraitReference(ref);
        expect(decodePortraitReference(b)).toEqual(ref);
        expect(encodePortraitReference(decodePortraitReference(b))).toEqual(b);
      }),
    );
  });

  it('the specimen DG1 has the 18013-2 layout: 61 { 5F02 { 5F03 … 5F0E }, 7F63 { 02, 87 … } }', () => {
    const b = encodeLicenceDg1(holderLicenceDg1(holder));
    const t = parseTlv(b);
    expect(t.tag).toBe(0x61);
    expect(t.children!.map((c) => c.tag)).toEqual([0x5f02, 0x7f63]);
    const cats = t.children![1]!.children!;
    expect(cats.map((c) => c.tag)).toEqual([0x02, 0x87, 0x87]);
    expect(bytesToHex(cats[0]!.value)).toBe('02');
    expect(new TextDecoder().decode(cats[1]!.value)).toBe('B;01062012;31052032;01.06;;');
    expect(new TextDecoder().decode(cats[2]!.value)).toBe('A;15032015;31052032;;;');
    // Date of birth 17 May 1990 in BCD ddmmyyyy.
    expect(bytesToHex(b)).toContain('5F060417051990');
  });

  it('decoding is strict', () => {
    const good = encodeLicenceDg1(holderLicenceDg1(holder));
    expect(() => decodeLicenceDg1(hexToBytes('6203020100'))).toThrow(/outer template is not 61/);
    expect(() => decodeLicenceDg1(hexToBytes(bytesToHex(good).replace('5F060417051990', '5F060431021990')))).toThrow(/dateOfBirth: "31021990" is not a date/);
    expect(() => decodeLicenceDg1(hexToBytes(bytesToHex(good).replace('7F63', '7F64')))).toThrow(/unexpected data object 7F64/);
    expect(() => decodeLicenceDg1(hexToBytes(bytesToHex(good).replace('020102', '020103')))).toThrow(/announces 3 entries, holds 2/);
  });
});

// --- on the card ----------------------------------------------------------------------------------------

function card(): Card {
  return buildIdCard(holder, SPECIMEN_OPTS);
}

async function tx(t: Transport, hex: string): Promise<{ data: Uint8Array; sw: string }> {
  const r = parseResponseApdu(await t.transmit(hexToBytes(hex)));
  return { data: r.data, sw: r.sw.toString(16).toUpperCase().padStart(4, '0') };
}

type State = 'none' | 'BAC' | 'PACE-CAN' | 'PACE-MRZ' | 'PACE-PIN' | 'PACE-CAN+insurer';

async function open(c: Card, state: State, select = true): Promise<Transport> {
  c.powerOff();
  const plain = new InProcessTransport(c);
  await plain.connect();
  let t: Transport = plain;
  if (state === 'BAC') {
    await tx(plain, `00A4040C07${bytesToHex(IDENTITY_AID)}`);
    t = await performBac(plain, MRZ_INFO);
  } else if (state.startsWith('PACE-CAN')) t = await performPace(plain, { kind: 'can', password: CAN, parameterId: 13 });
  else if (state === 'PACE-MRZ') t = await performPace(plain, { kind: 'mrz', password: MRZ_INFO, parameterId: 13 });
  else if (state === 'PACE-PIN') t = await performPace(plain, { kind: 'pin', password: PIN, parameterId: 13 });
  if (state.endsWith('+insurer')) {
    await tx(t, `00A4040C06${bytesToHex(HEALTH_AID)}`);
    await authenticateInsurer(t, INSURER_KEY);
  }
  if (select) expect((await tx(t, `00A4040C07${bytesToHex(LICENCE_AID)}`)).sw).toBe('9000');
  return t;
}

describe('access matrix of the licence application', () => {
  const c = card();
  const STATES: readonly State[] = ['none', 'BAC', 'PACE-CAN', 'PACE-MRZ', 'PACE-PIN', 'PACE-CAN+insurer'];
  it('covers every file', () => expect(LICENCE_FILES.map((f) => f.name)).toEqual(['EF.COM', 'DG1', 'DG6', 'EF.SOD']));
  for (const state of STATES) {
    it(state, async () => {
      const t = await open(c, state);
      for (const f of LICENCE_FILES) {
        const want = state === 'none' ? '6982' : '9000';
        expect((await tx(t, `00B0${(0x80 | f.sfi).toString(16).toUpperCase()}0004`)).sw, `${f.name} in ${state}`).toBe(want);
        // Never written after personalization, whatever the state.
        expect((await tx(t, `00D6${(0x80 | f.sfi).toString(16).toUpperCase()}000100`)).sw, `update ${f.name} in ${state}`).toBe('6982');
      }
    });
  }
});

describe('reading the licence', () => {
  it('decodes to the holder section; passive authentication and the portrait are valid', async () => {
    const c = card();
    const t = await open(c, 'PACE-CAN', false);
    await tx(t, `00A4040C07${bytesToHex(IDENTITY_AID)}`);
    const dg2 = (dfByExactName(c.state.mf, IDENTITY_AID)!.children.find((f) => f.fid === 0x0102) as TransparentEf).data;
    const r = await readLicence(t, { cscas: [pki.csca.certificate], now: NOW, portraitFile: dg2 });
    expect(r.section).toEqual(holder.drivingLicence);
    expect(r.dg1?.surname).toBe('SPECIMEN');
    expect(r.dg1?.administrativeNumber).toBe(holder.identity.idNumber);
    expect(r.passiveAuth?.verdict).toBe('valid');
    expect(r.portrait.verdict).toBe('valid');
    expect(r.files.map((f) => [f.name, f.verdict])).toEqual([
      ['EF.COM', 'not-checked'],
      ['EF.SOD', 'valid'],
      ['DG1', 'valid'],
      ['DG6', 'valid'],
    ]);
  });

  it('another portrait fails the reference; a changed DG1 byte fails DG1 only', async () => {
    const c = card();
    const df = dfByExactName(c.state.mf, LICENCE_AID)!;
    const dg1 = df.children.find((f) => f.fid === 0x0101) as TransparentEf;
    dg1.data[dg1.data.length - 3] = dg1.data[dg1.data.length - 3]! ^ 0x01;
    const r = await readLicence(await open(c, 'BAC'), { cscas: [pki.csca.certificate], now: NOW, portraitFile: new Uint8Array([1, 2, 3]) });
    expect(r.portrait.verdict).toBe('invalid');
    expect(r.files.map((f) => [f.name, f.verdict])).toEqual([
      ['EF.COM', 'not-checked'],
      ['EF.SOD', 'valid'],
      ['DG1', 'invalid'],
      ['DG6', 'valid'],
    ]);
    const noPortrait = await readLicence(await open(c, 'BAC'), { now: NOW });
    expect(noPortrait.portrait.verdict).toBe('not-checked');
    expect(noPortrait.files.find((f) => f.name === 'DG6')?.verdict).toBe('not-checked'); // no CSCA: not anchored
  });

  it('a licence needs a face', () => {
    const { face: _face, ...noFace } = holder;
    expect(() => prepareLicenceFiles(noFace, { signer: pki.documentSigner, portraitFile: new Uint8Array(1) })).toThrow(/needs the holder's face/);
  });
});
