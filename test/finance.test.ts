/**
 * The finances application: the account record codec (fast-check round trips; never a full card
 * number), the access matrix — readable only after PACE and the holder PIN, never in plain, never
 * after BAC even with the PIN verified — and the reader.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseResponseApdu } from '../src/apdu/response.js';
import { encodeTlv, tlvConstructed } from '../src/tlv/ber.js';
import { bytesToHex, hexToBytes } from '../src/bytes/index.js';
import type { Card } from '../src/card/os.js';
import { performBac } from '../src/terminal/bac.js';
import { performPace } from '../src/terminal/pace.js';
import { InProcessTransport } from '../src/transport/in-process.js';
import type { Transport } from '../src/transport/types.js';
import type { FinancialAccount } from '../src/holder/index.js';
import { buildIdCard } from '../src/apps/id-card.js';
import { IDENTITY_AID } from '../src/apps/identity/layout.js';
import { AppDataError, layoutMarkdown } from '../src/apps/health/common.js';
import { HEALTH_AID, authenticateInsurer } from '../src/apps/health/index.js';
import {
  FINANCE_AID,
  FINANCE_FILES,
  accountsFromRecords,
  decodeAccountRecord,
  encodeAccountRecord,
  financeRecords,
  readFinance,
} from '../src/apps/finance/index.js';
import { NOW, pki, holder, CAN, PIN, MRZ_INFO, INSURER_KEY, SPECIMEN_OPTS } from './helpers/specimen.js';


const maskedPan = fc
  .tuple(fc.integer({ min: 13, max: 19 }), fc.nat(6), fc.nat(4), fc.constantFrom('*', 'X'))
  .chain(([len, lead, trail, mask]) =>
    fc.tuple(fc.stringMatching(new RegExp(`^[0-9]{${lead}}$`)), fc.stringMatching(new RegExp(`^[0-9]{${trail}}$`))).map(([a, b]) => a + mask.repeat(len - a.length - b.length) + b),
  );
const account: fc.Arbitrary<FinancialAccount> = fc.record(
  {
    bank: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
    accountReference: fc.stringMatching(/^[0-9A-Z* -]{4,40}$/),
    type: fc.constantFrom('current' as const, 'savings' as const, 'credit-card' as const, 'debit-card' as const, 'prepaid' as const),
    maskedPan,
    currency: fc.stringMatching(/^[A-Z]{3}$/),
  },
  { requiredKeys: ['bank', 'accountReference', 'type'] },
);

describe('account records', () => {
  it('decode(encode(x)) = x and encode(decode(b)) = b', () => {
    fc.assert(
      fc.property(account, (a) => {
        const b = encodeAccountRecord(a);
        expect(decodeAccountRecord(b)).toEqual(a);
        expect(encodeAccountRecord(decodeAccountRecord(b))).toEqual(b);
      }),
      { numRuns: 150 },
    );
  });

  it('a list splits into bank accounts and cards and comes back kind by kind', () => {
    fc.assert(
      fc.property(fc.array(account, { maxLength: 10 }), (list) => {
        const r = financeRecords(list);
        const isBank = (a: FinancialAccount): boolean => a.type === 'current' || a.type === 'savings';
        expect(accountsFromRecords(r.accounts, r.cards)).toEqual([...list.filter(isBank), ...list.filter((a) => !isBank(a))]);
      }),
      { numRuns: 40 },
    );
  });

  it('never stores or accepts a full card number', () => {
    const full: FinancialAccount = { bank: 'B', accountReference: 'R-1', type: 'debit-card', maskedPan: '4111111111111111' };
    expect(() => encodeAccountRecord(full)).toThrow(/no digit is masked/);
    const e = new TextEncoder();
    const forged = tlvConstructed(0xe3, encodeTlv(0x80, e.encode('B')), encodeTlv(0x81, e.encode('R-1')), encodeTlv(0x82, new Uint8Array([4])), encodeTlv(0x83, e.encode('4111111111111111')));
    expect(() => decodeAccountRecord(forged)).toThrow(AppDataError);
    expect(() => decodeAccountRecord(forged)).toThrow(/maskedPan: no digit is masked/);
  });

  it('the layout: PACE AND PIN(03) AND SM everywhere, records encrypted', () => {
    expect(layoutMarkdown(FINANCE_FILES)).toBe(
      [
        '| file | FID | SFI | structure | access | encrypted |',
        '|---|---|---|---|---|---|',
        '| EF.ACCOUNTS | 0101 | 01 | linear variable, 10 × ≤ 255 B | read PACE AND PIN(03) AND SM | yes |',
        '| EF.CARDS | 0102 | 02 | linear variable, 10 × ≤ 255 B | read PACE AND PIN(03) AND SM | yes |',
        '| EF.SOD | 011D | 1D | transparent | read PACE AND PIN(03) AND SM | no |',
        '',
      ].join('\n'),
    );
  });
});

async function tx(t: Transport, hex: string): Promise<{ data: Uint8Array; sw: string }> {
  const r = parseResponseApdu(await t.transmit(hexToBytes(hex)));
  return { data: r.data, sw: r.sw.toString(16).toUpperCase().padStart(4, '0') };
}

type State = 'none' | 'none+VERIFY' | 'BAC' | 'BAC+VERIFY' | 'PACE-CAN' | 'PACE-MRZ' | 'PACE-CAN+VERIFY' | 'PACE-PIN' | 'PACE-PIN then CA' | 'PACE-CAN+insurer';
const STATES: readonly State[] = ['none', 'none+VERIFY', 'BAC', 'BAC+VERIFY', 'PACE-CAN', 'PACE-MRZ', 'PACE-CAN+VERIFY', 'PACE-PIN', 'PACE-PIN then CA', 'PACE-CAN+insurer'];
const VERIFY = `00200003${PIN.length.toString(16).padStart(2, '0')}${bytesToHex(new TextEncoder().encode(PIN))}`;

async function open(c: Card, state: State): Promise<Transport> {
  c.powerOff();
  const plain = new InProcessTransport(c);
  await plain.connect();
  let t: Transport = plain;
  if (state.startsWith('BAC')) {
    await tx(plain, `00A4040C07${bytesToHex(IDENTITY_AID)}`);
    t = await performBac(plain, MRZ_INFO);
  } else if (state.startsWith('PACE-CAN')) t = await performPace(plain, { kind: 'can', password: CAN, parameterId: 13 });
  else if (state === 'PACE-MRZ') t = await performPace(plain, { kind: 'mrz', password: MRZ_INFO, parameterId: 13 });
  else if (state.startsWith('PACE-PIN')) t = await performPace(plain, { kind: 'pin', password: PIN, parameterId: 13 });
  if (state.endsWith('+VERIFY')) expect((await tx(t, VERIFY)).sw).toBe('9000');
  if (state.endsWith('+insurer')) {
    // The insurer's key, proven in the health DF, is scoped to it: it opens nothing here.
    await tx(t, `00A4040C06${bytesToHex(HEALTH_AID)}`);
    await authenticateInsurer(t, INSURER_KEY);
  }
  if (state === 'PACE-PIN then CA') {
    const { performChipAuthentication } = await import('../src/terminal/chip-auth.js');
    const { readFileBySfi } = await import('../src/apps/identity/reader.js');
    await tx(t, `00A4040C07${bytesToHex(IDENTITY_AID)}`);
    t = await performChipAuthentication(t as never, { dg14: await readFileBySfi(t, 0x0e, 0xdf) });
  }
  expect((await tx(t, `00A4040C06${bytesToHex(FINANCE_AID)}`)).sw).toBe('9000');
  return t;
}

describe('access matrix of the finances application', () => {
  const c = buildIdCard(holder, SPECIMEN_OPTS);
  const ALLOWED: readonly State[] = ['PACE-CAN+VERIFY', 'PACE-PIN', 'PACE-PIN then CA'];
  for (const state of STATES) {
    it(state, async () => {
      const t = await open(c, state);
      for (const f of FINANCE_FILES) {
        const want = ALLOWED.includes(state) ? '9000' : '6982';
        const cmd = f.structure === 'transparent' ? `00B0${(0x80 | f.sfi).toString(16).toUpperCase()}0004` : `00B201${((f.sfi << 3) | 4).toString(16).toUpperCase().padStart(2, '0')}00`;
        expect((await tx(t, cmd)).sw, `${f.name} in ${state}`).toBe(want);
        const upd = f.structure === 'transparent' ? `00D6${(0x80 | f.sfi).toString(16).toUpperCase()}000100` : `00DC01${((f.sfi << 3) | 4).toString(16).toUpperCase().padStart(2, '0')}0100`;
        expect((await tx(t, upd)).sw, `update ${f.name} in ${state}`).toBe('6982');
      }
    });
  }
});

describe('reading the finances', () => {
  it('after PACE with the PIN: decoded and verified', async () => {
    const c = buildIdCard(holder, SPECIMEN_OPTS);
    c.powerOn();
    const t = await performPace(new InProcessTransport(c), { kind: 'pin', password: PIN, parameterId: 13 });
    const r = await readFinance(t, { cscas: [pki.csca.certificate], now: NOW });
    expect(r.section).toEqual(holder.financialAccounts);
    expect(r.files.map((f) => [f.name, f.verdict])).toEqual([
      ['EF.ACCOUNTS', 'valid'],
      ['EF.CARDS', 'valid'],
      ['EF.SOD', 'valid'],
    ]);
    const withoutPin = await readFinance(await performPace(new InProcessTransport(c), { kind: 'can', password: CAN, parameterId: 13 }), { now: NOW });
    expect(withoutPin.files.map((f) => f.status)).toEqual(['refused', 'refused', 'refused']);
    expect(withoutPin.section).toBeUndefined();
  });
});
