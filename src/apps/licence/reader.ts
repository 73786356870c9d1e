/**
 * Reading the licence application, terminal side, under BAC or PACE: SELECT by AID, EF.COM,
 * EF.SOD, DG1 and DG6 (whatever EF.COM and EF.SOD name), DG1 decoded to `drivingLicence`, passive
 * authentication over the files as read, and DG6's portrait reference checked against the eMRTD
 * DG2 when the caller read it (`portraitFile`).
 *
 * @example const r = await readLicence(sm, { cscas: [csca], portraitFile: identity.raw.dataGroups.get(2) });
 */
import type { DrivingLicence } from '../../holder/types.js';
import { decodeEfCom } from '../../lds/ef-com.js';
import { decodeSod } from '../../lds/sod.js';
import type { Transport } from '../../transport/types.js';
import {
  problemOf,
  readAppFile,
  selectApplication,
  tryRead,
  verifyAppSod,
  withVerdicts,
  type AppFileRead,
  type AppFileSpec,
  type AppReadOptions,
  type AppReadResult,
} from '../health/common.js';
import { decodeLicence } from './data.js';
import type { LicenceDg1 } from './dg1.js';
import { decodePortraitReference, portraitMatches, type PortraitReference } from './dg6.js';
import { LICENCE_AID, LICENCE_COM, LICENCE_FILES, LICENCE_SOD } from './layout.js';

export interface LicenceReadOptions extends AppReadOptions {
  /** The eMRTD DG2 as read, to check DG6's portrait reference against. */
  readonly portraitFile?: Uint8Array;
}

export interface PortraitCheck {
  readonly reference?: PortraitReference;
  readonly verdict: 'valid' | 'invalid' | 'not-checked';
  readonly detail: string;
}

export interface LicenceReadResult extends AppReadResult<DrivingLicence> {
  readonly dg1?: LicenceDg1;
  readonly portrait: PortraitCheck;
  readonly raw: { readonly com?: Uint8Array; readonly sod?: Uint8Array; readonly dataGroups: ReadonlyMap<number, Uint8Array> };
}

/** Reads the licence application (module comment). */
export async function readLicence(t: Transport, opts: LicenceReadOptions = {}): Promise<LicenceReadResult> {
  const chunk = opts.chunkSize ?? 0xdf;
  const selectSw = await selectApplication(t, LICENCE_AID);
  const none: PortraitCheck = { verdict: 'not-checked', detail: 'DG6 not read' };
  if (selectSw !== 0x9000) return { application: 'licence', aid: LICENCE_AID, selectSw, files: [], problems: [], portrait: none, raw: { dataGroups: new Map() } };
  const log: AppFileRead[] = [];
  const problems: { file: string; message: string }[] = [];
  const com = await tryRead(LICENCE_COM, () => readAppFile(t, LICENCE_COM, chunk), log);
  const sod = await tryRead(LICENCE_SOD, () => readAppFile(t, LICENCE_SOD, chunk), log);
  const wanted = new Set<number>();
  if (com !== undefined) {
    try {
      for (const n of decodeEfCom(com.bytes).dataGroups) wanted.add(n);
    } catch (e) {
      problems.push(problemOf('EF.COM', e));
    }
  }
  if (sod !== undefined) {
    try {
      for (const n of decodeSod(sod.bytes).securityObject.dataGroupHashes.keys()) wanted.add(n);
    } catch {
      // Reported by passive authentication.
    }
  }
  if (wanted.size === 0) for (const f of LICENCE_FILES) if (f.dataGroup !== undefined) wanted.add(f.dataGroup);
  const dataGroups = new Map<number, Uint8Array>();
  const layout: AppFileSpec[] = [...LICENCE_FILES];
  for (const n of [...wanted].sort((a, b) => a - b)) {
    let spec = LICENCE_FILES.find((f) => f.dataGroup === n);
    if (spec === undefined) {
      // A data group this reader does not know: read it anyway, so passive authentication covers it.
      spec = { name: `DG${n}`, fid: 0x0100 + n, sfi: n, structure: 'transparent', rules: {}, encrypted: false, dataGroup: n };
      layout.push(spec);
    }
    const s = spec;
    const r = await tryRead(s, () => readAppFile(t, s, chunk), log);
    if (r !== undefined) dataGroups.set(n, r.bytes);
  }
  let dg1: LicenceDg1 | undefined;
  let section: DrivingLicence | undefined;
  const raw1 = dataGroups.get(1);
  if (raw1 !== undefined) {
    try {
      ({ dg1, section } = decodeLicence(raw1));
    } catch (e) {
      problems.push(problemOf('DG1', e));
    }
  }
  let portrait: PortraitCheck = none;
  const raw6 = dataGroups.get(6);
  if (raw6 !== undefined) {
    try {
      const reference = decodePortraitReference(raw6);
      if (opts.portraitFile === undefined) portrait = { reference, verdict: 'not-checked', detail: 'the portrait file (eMRTD DG2) was not read' };
      else {
        const m = portraitMatches(reference, opts.portraitFile);
        portrait = { reference, verdict: m.matches ? 'valid' : 'invalid', detail: m.detail };
      }
    } catch (e) {
      problems.push(problemOf('DG6', e));
      portrait = { verdict: 'invalid', detail: 'DG6 does not decode' };
    }
  }
  const passiveAuth = verifyAppSod(sod?.bytes, dataGroups, layout, opts.cscas ?? [], opts.now ?? new Date());
  return {
    application: 'licence',
    aid: LICENCE_AID,
    selectSw,
    files: withVerdicts(log, passiveAuth, layout),
    passiveAuth,
    ...(section !== undefined ? { section } : {}),
    ...(dg1 !== undefined ? { dg1 } : {}),
    problems,
    portrait,
    raw: { ...(com !== undefined ? { com: com.bytes } : {}), ...(sod !== undefined ? { sod: sod.bytes } : {}), dataGroups },
  };
}
