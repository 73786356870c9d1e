/**
 * The insurer's terminal: changing the health application after issuance. Runs under a PACE
 * session (the card refuses BAC), proves the insurer's key with GET CHALLENGE + EXTERNAL
 * AUTHENTICATE (P2 = 01, the cryptogram of `crypto/external-auth.ts`), rewrites the insurance
 * record and every dependant slot with UPDATE RECORD, then writes a new EF.SOD signed by the
 * insurer's signer over the new records (zeros after it, up to the old one's length).
 *
 * Failures throw {@link HealthUpdateError} with the step and the status word; the key never
 * appears in a message.
 *
 * @example
 * await updateHealthInsurance(sm, { ...section, class: 'VIP' }, { insurerKey, signer: insurerSigner });
 */
import { encodeCommandApdu } from '../../apdu/command.js';
import { parseResponseApdu } from '../../apdu/response.js';
import { INS } from '../../apdu/ins.js';
import { zeroize } from '../../bytes/index.js';
import { externalAuthCryptogram } from '../../crypto/external-auth.js';
import type { HealthInsurance } from '../../holder/types.js';
import type { Transport } from '../../transport/types.js';
import { ReadRefused, readFileBySfi } from '../identity/reader.js';
import { healthSod, type HealthDataOptions } from './card.js';
import { checkRecords } from './common.js';
import { EF_DEPENDANTS, EF_HEALTH_SOD, EF_INSURANCE, HEALTH_AID, HEALTH_MAX_DEPENDANTS, INSURER_KEY_REF } from './layout.js';
import { healthRecords } from './records.js';

export class HealthUpdateError extends Error {
  override readonly name = 'HealthUpdateError';
  constructor(
    message: string,
    readonly sw?: number,
  ) {
    super(message);
  }
}

export interface HealthUpdateOptions extends HealthDataOptions {
  /** The insurer's AES key (KEY(01) of the health DF). */
  readonly insurerKey: Uint8Array;
}

const hex = (sw: number): string => sw.toString(16).toUpperCase().padStart(4, '0');

async function step(t: Transport, what: string, apdu: Uint8Array): Promise<Uint8Array> {
  const r = parseResponseApdu(await t.transmit(apdu));
  if (r.sw !== 0x9000) throw new HealthUpdateError(`${what} answered ${hex(r.sw)}`, r.sw);
  return r.data;
}

/** Proves the insurer's key on the channel (the application must be selected). */
export async function authenticateInsurer(t: Transport, insurerKey: Uint8Array): Promise<void> {
  const challenge = await step(t, 'GET CHALLENGE', encodeCommandApdu({ ins: INS.GET_CHALLENGE, p1: 0, p2: 0, ne: 16 }));
  const cryptogram = externalAuthCryptogram('aes', insurerKey, challenge);
  try {
    await step(t, 'EXTERNAL AUTHENTICATE (insurer key)', encodeCommandApdu({ ins: INS.EXTERNAL_AUTHENTICATE, p1: 0x00, p2: INSURER_KEY_REF, data: cryptogram }));
  } finally {
    zeroize(cryptogram);
  }
}

/** Replaces the card's health section with `section` and re-signs EF.SOD. */
export async function updateHealthInsurance(t: Transport, section: HealthInsurance, opts: HealthUpdateOptions): Promise<void> {
  const { insurance, dependants } = healthRecords(section, HEALTH_MAX_DEPENDANTS);
  checkRecords(EF_INSURANCE, insurance);
  checkRecords(EF_DEPENDANTS, dependants);
  const sod = healthSod(insurance, dependants, opts);
  await step(t, 'SELECT health application', encodeCommandApdu({ ins: INS.SELECT, p1: 0x04, p2: 0x0c, data: HEALTH_AID }));
  let old: Uint8Array;
  try {
    old = await readFileBySfi(t, EF_HEALTH_SOD.sfi, 0xdf);
  } catch (e) {
    if (e instanceof ReadRefused) throw new HealthUpdateError(`reading EF.SOD answered ${hex(e.sw)} (a PACE session is needed)`, e.sw);
    throw e;
  }
  await authenticateInsurer(t, opts.insurerKey);
  for (const [spec, records] of [
    [EF_INSURANCE, insurance],
    [EF_DEPENDANTS, dependants],
  ] as const) {
    for (let i = 0; i < records.length; i++) {
      await step(t, `UPDATE RECORD ${i + 1} of ${spec.name}`, encodeCommandApdu({ ins: INS.UPDATE_RECORD, p1: i + 1, p2: (spec.sfi << 3) | 0x04, data: records[i]! }));
    }
  }
  // EF.SOD: the new object, then zeros over what is left of the old one.
  const image = new Uint8Array(Math.max(sod.length, old.length));
  image.set(sod);
  await step(t, 'SELECT EF.SOD', encodeCommandApdu({ ins: INS.SELECT, p1: 0x02, p2: 0x0c, data: new Uint8Array([EF_HEALTH_SOD.fid >>> 8, EF_HEALTH_SOD.fid & 0xff]) }));
  for (let off = 0; off < image.length; off += 0xdf) {
    const part = image.subarray(off, Math.min(image.length, off + 0xdf));
    await step(t, `UPDATE BINARY EF.SOD at ${off}`, encodeCommandApdu({ ins: INS.UPDATE_BINARY, p1: off >>> 8, p2: off & 0xff, data: part }));
  }
}
