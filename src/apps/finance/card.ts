/**
 * The finances application from the holder model: records and EF.SOD prepared (pure), then
 * installed on a card.
 *
 * @example installFinance(card, prepareFinanceFiles(holder.financialAccounts, { signer }))
 */
import { newRecordEf, newTransparentEf } from '../../card/fs/file.js';
import { attach, dfByExactName } from '../../card/fs/tree.js';
import type { Card } from '../../card/os.js';
import type { FinancialAccount } from '../../holder/types.js';
import type { HashAlgorithm } from '../../lds/algorithms.js';
import type { CertifiedKey } from '../../lds/pki.js';
import { buildSod } from '../../lds/sod.js';
import { AppDataError, checkRecords, recordFileBytes } from '../health/common.js';
import { EF_ACCOUNTS, EF_CARDS, EF_FINANCE_SOD, FINANCE_AID, FINANCE_TYPE } from './layout.js';
import { financeRecords } from './records.js';

export interface FinanceFiles {
  readonly accounts: readonly Uint8Array[];
  readonly cards: readonly Uint8Array[];
  readonly sod: Uint8Array;
}

export interface FinanceDataOptions {
  readonly signer: CertifiedKey;
  readonly hashAlgorithm?: HashAlgorithm;
  readonly signingTime?: Date | null;
}

/** Records of both EFs and EF.SOD for a holder's accounts (pure). @example prepareFinanceFiles(holder.financialAccounts, { signer }) */
export function prepareFinanceFiles(accounts: readonly FinancialAccount[], opts: FinanceDataOptions): FinanceFiles {
  if (accounts.length === 0) throw new AppDataError('financialAccounts: none; the finances application is not installed without accounts');
  const r = financeRecords(accounts);
  checkRecords(EF_ACCOUNTS, r.accounts);
  checkRecords(EF_CARDS, r.cards);
  const files = new Map([
    [EF_ACCOUNTS.dataGroup!, recordFileBytes(r.accounts)],
    [EF_CARDS.dataGroup!, recordFileBytes(r.cards)],
  ]);
  const sod = buildSod(files, opts.signer, {
    ...(opts.hashAlgorithm !== undefined ? { hashAlgorithm: opts.hashAlgorithm } : {}),
    ...(opts.signingTime !== undefined ? { signingTime: opts.signingTime } : {}),
  });
  return { accounts: r.accounts, cards: r.cards, sod };
}

/** Installs the finances application with `files`. Commits. */
export function installFinance(card: Card, files: FinanceFiles): void {
  card.install(FINANCE_AID, FINANCE_TYPE);
  const df = dfByExactName(card.state.mf, FINANCE_AID)!;
  for (const [spec, records] of [
    [EF_ACCOUNTS, files.accounts],
    [EF_CARDS, files.cards],
  ] as const) {
    attach(card.nv, df, newRecordEf(spec.fid, 'linear-variable', spec.recordSize!, spec.maxRecords!, { sfi: spec.sfi, rules: spec.rules, records: [...records], encrypted: spec.encrypted }));
  }
  attach(card.nv, df, newTransparentEf(EF_FINANCE_SOD.fid, files.sod.length, { sfi: EF_FINANCE_SOD.sfi, rules: EF_FINANCE_SOD.rules, data: files.sod, encrypted: EF_FINANCE_SOD.encrypted }));
  card.nv.commit();
}

/** Prepares and installs the finances application for a holder's accounts. */
export function buildFinanceApplication(card: Card, accounts: readonly FinancialAccount[], opts: FinanceDataOptions): FinanceFiles {
  const files = prepareFinanceFiles(accounts, opts);
  installFinance(card, files);
  return files;
}
