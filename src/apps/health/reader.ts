/**
 * Reading the health application, terminal side: under a PACE session (BAC alone is refused by
 * the card), SELECT by AID, every record of EF.INSURANCE and EF.DEPENDANTS, EF.SOD; records
 * decoded to the holder model's `healthInsurance`; passive authentication over the records as
 * read. Refused or absent files are reported, never fatal.
 *
 * @example
 * const sm = await performPace(t, { kind: 'can', password: '123456', cardAccess });
 * const r = await readHealth(sm, { cscas: [csca] });
 * r.section?.dependants.length; r.passiveAuth?.verdict
 */
import type { HealthInsurance } from '../../holder/types.js';
import type { Transport } from '../../transport/types.js';
import { readRecordPairApplication, type AppReadOptions, type RecordPairReadResult } from './common.js';
import { EF_DEPENDANTS, EF_HEALTH_SOD, EF_INSURANCE, HEALTH_AID, HEALTH_FILES } from './layout.js';
import { healthFromRecords } from './records.js';

/** The result, with the records and EF.SOD as read under `raw` (`insurance`, `dependants`, `sod`). */
export type HealthReadResult = RecordPairReadResult<HealthInsurance, 'insurance', 'dependants'>;

/** Reads the health application (module comment); the caller has established PACE. */
export function readHealth(t: Transport, opts: AppReadOptions = {}): Promise<HealthReadResult> {
  return readRecordPairApplication(
    t,
    { application: 'health', aid: HEALTH_AID, first: ['insurance', EF_INSURANCE], second: ['dependants', EF_DEPENDANTS], sod: EF_HEALTH_SOD, layout: HEALTH_FILES, decode: healthFromRecords },
    opts,
  );
}
