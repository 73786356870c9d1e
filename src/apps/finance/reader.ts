/**
 * Reading the finances application, terminal side: needs PACE and the holder PIN (PACE with the
 * PIN, or VERIFY under PACE); otherwise every file is reported refused. Records decoded to
 * `financialAccounts`, passive authentication over the records as read.
 *
 * @example const r = await readFinance(smAfterPacePin, { cscas: [csca] });
 */
import type { FinancialAccount } from '../../holder/types.js';
import type { Transport } from '../../transport/types.js';
import {
  problemOf,
  readAppFile,
  selectApplication,
  tryRead,
  verifyAppSod,
  withVerdicts,
  type AppFileRead,
  type AppReadOptions,
  type AppReadResult,
} from '../health/common.js';
import { EF_ACCOUNTS, EF_CARDS, EF_FINANCE_SOD, FINANCE_AID, FINANCE_FILES } from './layout.js';
import { accountsFromRecords } from './records.js';

export interface FinanceReadResult extends AppReadResult<readonly FinancialAccount[]> {
  readonly raw: { readonly accounts?: readonly Uint8Array[]; readonly cards?: readonly Uint8Array[]; readonly sod?: Uint8Array };
}

/** Reads the finances application (module comment); needs PACE and the holder PIN on the channel. */
export async function readFinance(t: Transport, opts: AppReadOptions = {}): Promise<FinanceReadResult> {
  const chunk = opts.chunkSize ?? 0xdf;
  const selectSw = await selectApplication(t, FINANCE_AID);
  if (selectSw !== 0x9000) return { application: 'finance', aid: FINANCE_AID, selectSw, files: [], problems: [], raw: {} };
  const log: AppFileRead[] = [];
  const acc = await tryRead(EF_ACCOUNTS, () => readAppFile(t, EF_ACCOUNTS, chunk), log);
  const cards = await tryRead(EF_CARDS, () => readAppFile(t, EF_CARDS, chunk), log);
  const sod = await tryRead(EF_FINANCE_SOD, () => readAppFile(t, EF_FINANCE_SOD, chunk), log);
  const problems: { file: string; message: string }[] = [];
  let section: FinancialAccount[] | undefined;
  if (acc?.records !== undefined && cards?.records !== undefined) {
    try {
      section = accountsFromRecords(acc.records, cards.records);
    } catch (e) {
      problems.push(problemOf('EF.ACCOUNTS/EF.CARDS', e));
    }
  }
  const hashed = new Map<number, Uint8Array>();
  if (acc !== undefined) hashed.set(EF_ACCOUNTS.dataGroup!, acc.bytes);
  if (cards !== undefined) hashed.set(EF_CARDS.dataGroup!, cards.bytes);
  const passiveAuth = sod === undefined && hashed.size === 0 ? undefined : verifyAppSod(sod?.bytes, hashed, FINANCE_FILES, opts.cscas ?? [], opts.now ?? new Date());
  return {
    application: 'finance',
    aid: FINANCE_AID,
    selectSw,
    files: withVerdicts(log, passiveAuth, FINANCE_FILES),
    ...(passiveAuth !== undefined ? { passiveAuth } : {}),
    ...(section !== undefined ? { section } : {}),
    problems,
    raw: {
      ...(acc?.records !== undefined ? { accounts: acc.records } : {}),
      ...(cards?.records !== undefined ? { cards: cards.records } : {}),
      ...(sod !== undefined ? { sod: sod.bytes } : {}),
    },
  };
}
