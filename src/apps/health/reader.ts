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
} from './common.js';
import { EF_DEPENDANTS, EF_HEALTH_SOD, EF_INSURANCE, HEALTH_AID, HEALTH_FILES } from './layout.js';
import { healthFromRecords } from './records.js';

export interface HealthReadResult extends AppReadResult<HealthInsurance> {
  /** The records and EF.SOD as read. */
  readonly raw: { readonly insurance?: readonly Uint8Array[]; readonly dependants?: readonly Uint8Array[]; readonly sod?: Uint8Array };
}

/** Reads the health application (module comment); the caller has established PACE. */
export async function readHealth(t: Transport, opts: AppReadOptions = {}): Promise<HealthReadResult> {
  const chunk = opts.chunkSize ?? 0xdf;
  const selectSw = await selectApplication(t, HEALTH_AID);
  if (selectSw !== 0x9000) return { application: 'health', aid: HEALTH_AID, selectSw, files: [], problems: [], raw: {} };
  const log: AppFileRead[] = [];
  const ins = await tryRead(EF_INSURANCE, () => readAppFile(t, EF_INSURANCE, chunk), log);
  const dep = await tryRead(EF_DEPENDANTS, () => readAppFile(t, EF_DEPENDANTS, chunk), log);
  const sod = await tryRead(EF_HEALTH_SOD, () => readAppFile(t, EF_HEALTH_SOD, chunk), log);
  const problems: { file: string; message: string }[] = [];
  let section: HealthInsurance | undefined;
  if (ins?.records !== undefined && dep?.records !== undefined) {
    try {
      section = healthFromRecords(ins.records, dep.records);
    } catch (e) {
      problems.push(problemOf('EF.INSURANCE/EF.DEPENDANTS', e));
    }
  }
  const hashed = new Map<number, Uint8Array>();
  if (ins !== undefined) hashed.set(EF_INSURANCE.dataGroup!, ins.bytes);
  if (dep !== undefined) hashed.set(EF_DEPENDANTS.dataGroup!, dep.bytes);
  const passiveAuth = sod === undefined && hashed.size === 0 ? undefined : verifyAppSod(sod?.bytes, hashed, HEALTH_FILES, opts.cscas ?? [], opts.now ?? new Date());
  return {
    application: 'health',
    aid: HEALTH_AID,
    selectSw,
    files: withVerdicts(log, passiveAuth, HEALTH_FILES),
    ...(passiveAuth !== undefined ? { passiveAuth } : {}),
    ...(section !== undefined ? { section } : {}),
    problems,
    raw: {
      ...(ins?.records !== undefined ? { insurance: ins.records } : {}),
      ...(dep?.records !== undefined ? { dependants: dep.records } : {}),
      ...(sod !== undefined ? { sod: sod.bytes } : {}),
    },
  };
}
