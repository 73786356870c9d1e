/**
 * The health application from the holder model: records and EF.SOD prepared (pure), then
 * installed on a card with the insurer's key.
 *
 * @example
 * const files = prepareHealthFiles(holder.healthInsurance!, { signer: pki.documentSigner });
 * installHealth(card, files, { insurerKey });
 */
import { newRecordEf, newTransparentEf } from '../../card/fs/file.js';
import { attach, dfByExactName } from '../../card/fs/tree.js';
import type { Card } from '../../card/os.js';
import { newKey } from '../../card/security/objects.js';
import type { HealthInsurance } from '../../holder/types.js';
import type { HashAlgorithm } from '../../lds/algorithms.js';
import type { CertifiedKey } from '../../lds/pki.js';
import { buildSod } from '../../lds/sod.js';
import { checkRecords, recordFileBytes } from './common.js';
import { EF_DEPENDANTS, EF_HEALTH_SOD, EF_INSURANCE, HEALTH_AID, HEALTH_MAX_DEPENDANTS, HEALTH_SOD_HEADROOM, HEALTH_TYPE, INSURER_KEY_REF } from './layout.js';
import { healthRecords } from './records.js';

/** The health application's files as stored. */
export interface HealthFiles {
  readonly insurance: readonly Uint8Array[];
  readonly dependants: readonly Uint8Array[];
  readonly sod: Uint8Array;
}

export interface HealthDataOptions {
  /** Signs EF.SOD: the document signer at personalization, the insurer's signer afterwards. */
  readonly signer: CertifiedKey;
  readonly hashAlgorithm?: HashAlgorithm;
  /** EF.SOD signingTime (default now; null = none). */
  readonly signingTime?: Date | null;
}

/** EF.SOD of the health application over its two record EFs. */
export function healthSod(insurance: readonly Uint8Array[], dependants: readonly Uint8Array[], opts: HealthDataOptions): Uint8Array {
  const files = new Map([
    [EF_INSURANCE.dataGroup!, recordFileBytes(insurance)],
    [EF_DEPENDANTS.dataGroup!, recordFileBytes(dependants)],
  ]);
  return buildSod(files, opts.signer, {
    ...(opts.hashAlgorithm !== undefined ? { hashAlgorithm: opts.hashAlgorithm } : {}),
    ...(opts.signingTime !== undefined ? { signingTime: opts.signingTime } : {}),
  });
}

/** Every file of the health application for a holder's section, checked against the layout. */
export function prepareHealthFiles(section: HealthInsurance, opts: HealthDataOptions): HealthFiles {
  const { insurance, dependants } = healthRecords(section, HEALTH_MAX_DEPENDANTS);
  checkRecords(EF_INSURANCE, insurance);
  checkRecords(EF_DEPENDANTS, dependants);
  return { insurance, dependants, sod: healthSod(insurance, dependants, opts) };
}

export interface HealthInstallOptions {
  /** The insurer's AES key (16, 24 or 32 bytes): KEY(01), what changes need. */
  readonly insurerKey: Uint8Array;
  /** Tries before the key blocks (default 10). */
  readonly insurerKeyTries?: number;
}

/** Installs the health application with `files` and the insurer's key. Commits. */
export function installHealth(card: Card, files: HealthFiles, opts: HealthInstallOptions): void {
  card.install(HEALTH_AID, HEALTH_TYPE);
  const df = dfByExactName(card.state.mf, HEALTH_AID)!;
  const nv = card.nv;
  for (const [spec, records] of [
    [EF_INSURANCE, files.insurance],
    [EF_DEPENDANTS, files.dependants],
  ] as const) {
    attach(nv, df, newRecordEf(spec.fid, 'linear-variable', spec.recordSize!, spec.maxRecords!, { sfi: spec.sfi, rules: spec.rules, records: [...records], encrypted: spec.encrypted }));
  }
  attach(nv, df, newTransparentEf(EF_HEALTH_SOD.fid, files.sod.length + HEALTH_SOD_HEADROOM, { sfi: EF_HEALTH_SOD.sfi, rules: EF_HEALTH_SOD.rules, data: files.sod, encrypted: EF_HEALTH_SOD.encrypted }));
  const insurer = newKey({ ref: INSURER_KEY_REF, algorithm: 'aes', value: opts.insurerKey, label: 'insurer key', maxTries: opts.insurerKeyTries ?? 10 });
  nv.splice(df.keys, df.keys.length, 0, insurer);
  nv.commit();
}

/** Prepares and installs the health application for a holder's section. */
export function buildHealthApplication(card: Card, section: HealthInsurance, opts: HealthDataOptions & HealthInstallOptions): HealthFiles {
  const files = prepareHealthFiles(section, opts);
  installHealth(card, files, opts);
  return files;
}
