/**
 * The holder model back to its document form (what `chipwright read` prints and writes): bytes
 * become `{ base64 }`, or whatever `bytes` returns — e.g. `{ path: 'face.jpg' }` after the
 * caller wrote the file. Fingerprints stay templates (the 19794-2 bytes as stored), so reading a
 * card and writing the document back yields the same files.
 *
 * @example stringify(holderToDocument(holder)) // YAML that parseHolder accepts again
 */
import type { BytesSource, Holder, HolderDocument } from './types.js';

/** What a byte field is, for callers that write files: 'face', 'fingerprint:right-index', 'certificate:signature'. */
export type BytesRole = string;

export interface HolderToDocumentOptions {
  readonly bytes?: (role: BytesRole, data: Uint8Array) => BytesSource;
}

const base64 = (_role: BytesRole, data: Uint8Array): BytesSource => ({ base64: Buffer.from(data).toString('base64') });

export function holderToDocument(h: Holder, opts: HolderToDocumentOptions = {}): HolderDocument {
  const bytes = opts.bytes ?? base64;
  return {
    identity: h.identity,
    document: h.document,
    ...(h.face !== undefined
      ? { face: { image: bytes('face', h.face.image), ...(h.face.featurePoints !== undefined ? { featurePoints: h.face.featurePoints } : {}) } }
      : {}),
    ...(h.fingerprints.length > 0 ? { fingerprints: h.fingerprints.map((f) => ({ position: f.position, template: bytes(`fingerprint:${f.position}`, f.template) })) } : {}),
    ...(h.healthInsurance !== undefined ? { healthInsurance: h.healthInsurance } : {}),
    ...(h.drivingLicence !== undefined ? { drivingLicence: h.drivingLicence } : {}),
    ...(h.financialAccounts.length > 0 ? { financialAccounts: h.financialAccounts } : {}),
    ...(h.eServices !== undefined
      ? {
          eServices: {
            keyPairs: h.eServices.keyPairs.map((k) => ({
              label: k.label,
              usage: k.usage,
              algorithm: k.algorithm,
              ...(k.certificate !== undefined ? { certificate: bytes(`certificate:${k.label}`, k.certificate) } : {}),
            })),
          },
        }
      : {}),
  };
}
