/**
 * Installing the licence application on a card with its files (what personalization does over
 * APDUs with the same encoders and layout).
 *
 * @example installLicence(card, prepareLicenceFiles(holder, { signer, portraitFile: dg2 }))
 */
import { newTransparentEf } from '../../card/fs/file.js';
import { attach, dfByExactName } from '../../card/fs/tree.js';
import type { Card } from '../../card/os.js';
import type { Holder } from '../../holder/types.js';
import { prepareLicenceFiles, type LicenceDataOptions, type LicenceFiles } from './data.js';
import { LICENCE_AID, LICENCE_FILES, LICENCE_TYPE } from './layout.js';

/** Installs the licence application and writes `files` into it. Commits. */
export function installLicence(card: Card, files: LicenceFiles): void {
  card.install(LICENCE_AID, LICENCE_TYPE);
  const df = dfByExactName(card.state.mf, LICENCE_AID)!;
  for (const spec of LICENCE_FILES) {
    const data = spec.name === 'EF.COM' ? files.com : spec.name === 'EF.SOD' ? files.sod : files.dataGroups.get(spec.dataGroup!);
    if (data === undefined) continue;
    attach(card.nv, df, newTransparentEf(spec.fid, data.length, { sfi: spec.sfi, rules: spec.rules, data, encrypted: spec.encrypted }));
  }
  card.nv.commit();
}

/** Prepares and installs the licence application for a holder. */
export function buildLicenceApplication(card: Card, holder: Holder, opts: LicenceDataOptions): LicenceFiles {
  const files = prepareLicenceFiles(holder, opts);
  installLicence(card, files);
  return files;
}
