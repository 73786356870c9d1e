/**
 * The finances application's record: one account or payment card, a BER-TLV template in a record
 * of a linear variable EF (the conventions of `health/records.ts`).
 *
 *     E3 { 80 bank ‖ 81 account reference ‖ 82 type ‖ [83 masked PAN] ‖ [84 currency (ISO 4217)] }
 *     type: 01 current, 02 savings, 03 credit-card, 04 debit-card, 05 prepaid
 *
 * A masked PAN is refused unless PCI DSS 3.4.1 allows showing it (`maskedPanProblem`): the card
 * never stores a full card number, even when asked to.
 *
 * @example decodeAccountRecord(encodeAccountRecord(account)).type // 'current'
 */
import { maskedPanProblem } from '../../holder/checks.js';
import { ACCOUNT_TYPES, type FinancialAccount } from '../../holder/types.js';
import { AppDataError, decodeTemplate, encodeTemplate, fitRecord, type FieldSpec } from '../health/common.js';
import { BANK_ACCOUNT_TYPES, EF_ACCOUNTS, EF_CARDS } from './layout.js';

export const ACCOUNT_RECORD_TAG = 0xe3;

const ACCOUNT: readonly FieldSpec<keyof FinancialAccount>[] = [
  { key: 'bank', tag: 0x80, type: { kind: 'text' } },
  { key: 'accountReference', tag: 0x81, type: { kind: 'text' } },
  { key: 'type', tag: 0x82, type: { kind: 'enum', values: ACCOUNT_TYPES } },
  { key: 'maskedPan', tag: 0x83, type: { kind: 'text' }, optional: true },
  { key: 'currency', tag: 0x84, type: { kind: 'text' }, optional: true },
];

function checkPan(a: FinancialAccount, what: string): void {
  if (a.maskedPan === undefined) return;
  const p = maskedPanProblem(a.maskedPan);
  if (p !== undefined) throw new AppDataError(`${what} maskedPan: ${p}`);
}

/** One account record. @example encodeAccountRecord({ bank: 'B', accountReference: 'R-1', type: 'current' }) // E3 … */
export function encodeAccountRecord(a: FinancialAccount): Uint8Array {
  checkPan(a, 'account record');
  if (a.currency !== undefined && !/^[A-Z]{3}$/.test(a.currency)) throw new AppDataError(`account record currency: expected an ISO 4217 code, got ${JSON.stringify(a.currency)}`);
  return encodeTemplate(ACCOUNT_RECORD_TAG, ACCOUNT, a, 'account record');
}

/** One account record back, its masked PAN checked again (a card never hands out a full card number). */
export function decodeAccountRecord(bytes: Uint8Array): FinancialAccount {
  const a = decodeTemplate(bytes, ACCOUNT_RECORD_TAG, ACCOUNT, 'account record') as unknown as FinancialAccount;
  checkPan(a, 'account record');
  if (a.currency !== undefined && !/^[A-Z]{3}$/.test(a.currency)) throw new AppDataError(`account record currency: "${a.currency}" is not an ISO 4217 code`);
  return a;
}

/** The records of both EFs: bank accounts and cards, each in the holder's order. */
export function financeRecords(accounts: readonly FinancialAccount[]): { accounts: Uint8Array[]; cards: Uint8Array[] } {
  const isAccount = (a: FinancialAccount): boolean => BANK_ACCOUNT_TYPES.includes(a.type);
  const out = { accounts: [] as Uint8Array[], cards: [] as Uint8Array[] };
  accounts.forEach((a, i) => {
    const file = isAccount(a) ? EF_ACCOUNTS : EF_CARDS;
    (isAccount(a) ? out.accounts : out.cards).push(fitRecord(encodeAccountRecord(a), file, `financialAccounts[${i}]`, ACCOUNT, a));
  });
  return out;
}

/**
 * The `financialAccounts` section back from both EFs: bank accounts first, then cards (the order
 * the holder listed them in is kept within each kind).
 */
export function accountsFromRecords(accounts: readonly Uint8Array[], cards: readonly Uint8Array[]): FinancialAccount[] {
  return [...accounts, ...cards].map(decodeAccountRecord);
}
