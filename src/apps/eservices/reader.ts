/**
 * Reading the e-services application, terminal side, under BAC or PACE: EF.KEYS, every
 * certificate EF it names, EF.SOD; for each key the public key the card holds (GENERATE
 * ASYMMETRIC KEY PAIR P1 80, which reads without generating); each certificate checked
 * (`checkEServiceCertificate`: issuer among the trust anchors, validity, the card's key);
 * passive authentication over EF.KEYS and the certificates as read.
 *
 * @example const r = await readEServices(sm, { cscas: [eServicesCa] }); r.keys[0].certificateCheck.verdict
 */
import { encodeCommandApdu } from '../../apdu/command.js';
import { parseResponseApdu } from '../../apdu/response.js';
import { INS } from '../../apdu/ins.js';
import { AsymmetricCryptoError, decodePublicKeyTemplate, type PublicKeyInfo } from '../../crypto/asymmetric.js';
import type { EServices } from '../../holder/types.js';
import type { Transport } from '../../transport/types.js';
import {
  isEmptyRecord,
  problemOf,
  readAppFile,
  readTransparentByFid,
  selectApplication,
  tryRead,
  verifyAppSod,
  withVerdicts,
  type AppFileRead,
  type AppFileSpec,
  type AppReadOptions,
  type AppReadResult,
} from '../health/common.js';
import { checkEServiceCertificate, type CertificateCheck } from './certificates.js';
import { EF_ESERVICES_SOD, EF_KEYS, ESERVICES_AID, certificateFidOf, slotFor } from './layout.js';
import { decodeKeyRecord, type KeyDescriptor } from './records.js';

/** One key as read: its descriptor, certificate, the card's public key, and the verdict. */
export interface EServicesKeyRead {
  readonly descriptor: KeyDescriptor;
  readonly certificate?: Uint8Array;
  readonly publicKey?: PublicKeyInfo;
  readonly certificateCheck: CertificateCheck;
}

export interface EServicesReadResult extends AppReadResult<EServices> {
  readonly keys: readonly EServicesKeyRead[];
}

/** The public key the card holds in slot `ref` (GENERATE ASYMMETRIC KEY PAIR, P1 80: read only). */
export async function readCardPublicKey(t: Transport, descriptor: KeyDescriptor): Promise<PublicKeyInfo | undefined> {
  const r = parseResponseApdu(await t.transmit(encodeCommandApdu({ ins: INS.GENERATE_ASYMMETRIC_KEY_PAIR, p1: 0x80, p2: 0x00, data: new Uint8Array([0x84, 0x01, descriptor.keyRef]), ne: 256 })));
  if (r.sw !== 0x9000) return undefined;
  const s = slotFor(descriptor);
  try {
    return decodePublicKeyTemplate(r.data, s.curve !== undefined ? { curve: s.curve } : {});
  } catch (e) {
    if (e instanceof AsymmetricCryptoError) return undefined;
    throw e;
  }
}

/** Reads the e-services application (module comment). */
export async function readEServices(t: Transport, opts: AppReadOptions = {}): Promise<EServicesReadResult> {
  const chunk = opts.chunkSize ?? 0xdf;
  const now = opts.now ?? new Date();
  const selectSw = await selectApplication(t, ESERVICES_AID);
  if (selectSw !== 0x9000) return { application: 'e-services', aid: ESERVICES_AID, selectSw, files: [], problems: [], keys: [] };
  const log: AppFileRead[] = [];
  const problems: { file: string; message: string }[] = [];
  const layout: AppFileSpec[] = [EF_KEYS, EF_ESERVICES_SOD];
  const keysFile = await tryRead(EF_KEYS, () => readAppFile(t, EF_KEYS, chunk), log);
  const descriptors: KeyDescriptor[] = [];
  for (const [i, r] of (keysFile?.records ?? []).entries()) {
    if (isEmptyRecord(r)) continue;
    try {
      descriptors.push(decodeKeyRecord(r));
    } catch (e) {
      problems.push(problemOf(`EF.KEYS record ${i + 1}`, e));
    }
  }
  const hashed = new Map<number, Uint8Array>();
  if (keysFile !== undefined) hashed.set(EF_KEYS.dataGroup!, keysFile.bytes);
  const keys: EServicesKeyRead[] = [];
  for (const d of descriptors) {
    let certificate: Uint8Array | undefined;
    if (d.certificateFid !== undefined) {
      const index = d.certificateFid - certificateFidOf(0);
      const spec: AppFileSpec = { name: `EF.CERT.${d.label}`, fid: d.certificateFid, sfi: 0, structure: 'transparent', rules: {}, encrypted: false, dataGroup: 2 + index };
      layout.push(spec);
      const fid = d.certificateFid;
      const r = await tryRead(spec, async () => ({ bytes: await readTransparentByFid(t, fid, chunk) }), log);
      if (r !== undefined) {
        certificate = r.bytes;
        if (index >= 0 && index < 15) hashed.set(2 + index, r.bytes);
      }
    }
    const publicKey = await readCardPublicKey(t, d);
    const certificateCheck: CertificateCheck =
      certificate === undefined
        ? { verdict: 'not-checked', detail: d.certificateFid === undefined ? 'the key has no certificate' : 'the certificate could not be read' }
        : checkEServiceCertificate(certificate, { anchors: opts.cscas ?? [], now, ...(publicKey !== undefined ? { cardKey: publicKey } : {}) });
    keys.push({ descriptor: d, ...(certificate !== undefined ? { certificate } : {}), ...(publicKey !== undefined ? { publicKey } : {}), certificateCheck });
  }
  const sod = await tryRead(EF_ESERVICES_SOD, () => readAppFile(t, EF_ESERVICES_SOD, chunk), log);
  const passiveAuth = sod === undefined && hashed.size === 0 ? undefined : verifyAppSod(sod?.bytes, hashed, layout, opts.cscas ?? [], now);
  const section: EServices | undefined =
    keysFile === undefined
      ? undefined
      : { keyPairs: keys.map((k) => ({ label: k.descriptor.label, usage: k.descriptor.usage, algorithm: k.descriptor.algorithm, ...(k.certificate !== undefined ? { certificate: k.certificate } : {}) })) };
  return {
    application: 'e-services',
    aid: ESERVICES_AID,
    selectSw,
    files: withVerdicts(log, passiveAuth, layout),
    ...(passiveAuth !== undefined ? { passiveAuth } : {}),
    ...(section !== undefined ? { section } : {}),
    problems,
    keys,
  };
}
