/**
 * Reading the finances application, terminal side: needs PACE and the holder PIN (PACE with the
 * PIN, or VERIFY under PACE); otherwise every file is reported refused. Records decoded to
 * `financialAccounts`, passive authentication over the records as read.
 *
 * @example const r = await readFinance(smAfterPacePin, { cscas: [csca] });
 */
import type { FinancialAccount } from '../../holder/types.js';
import type { Transport } from '../../transport/types.js';
import { readRecordPairApplication, type AppReadOptions, type RecordPairReadResult } from '../health/common.js';
import { EF_ACCOUNTS, EF_CARDS, EF_FINANCE_SOD, FINANCE_AID, FINANCE_FILES } from './layout.js';
import { accountsFromRecords } from './records.js';

/** The result, with the records and EF.SOD as read under `raw` (`accounts`, `cards`, `sod`). */
export type FinanceReadResult = RecordPairReadResult<readonly FinancialAccount[], 'accounts', 'cards'>;

/** Reads the finances application (module comment); needs PACE and the holder PIN on the channel. */
export function readFinance(t: Transport, opts: AppReadOptions = {}): Promise<FinanceReadResult> {
  return readRecordPairApplication(
    t,
    { application: 'finance', aid: FINANCE_AID, first: ['accounts', EF_ACCOUNTS], second: ['cards', EF_CARDS], sod: EF_FINANCE_SOD, layout: FINANCE_FILES, decode: accountsFromRecords },
    opts,
  );
}
