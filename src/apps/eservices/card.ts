/**
 * Personalizing the e-services application: the DF with its two PINs and one key slot per key
 * pair of the holder's `eServices`, the key pairs generated ON THE CARD with GENERATE ASYMMETRIC
 * KEY PAIR (sent as APDUs under the transport key, as a personalization machine does; the private
 * keys never leave the card), certificates issued for the public keys the card answered,
 * EF.KEYS, the certificate EFs and EF.SOD written.
 *
 * The card must be in personalization state (before `buildIdCard` makes it operational). A
 * certificate given in the holder document is not written: it cannot certify a key this card has
 * only just generated; the reader returns the certificates issued here.
 *
 * @example
 * const r = buildEServicesApplication(card, holder, { authenticationPin: '1234', signaturePin: '123456', ca, signer: pki.documentSigner });
 * r.keys[0].certificate // DER
 */
import { encodeCommandApdu } from '../../apdu/command.js';
import { parseResponseApdu } from '../../apdu/response.js';
import { INS } from '../../apdu/ins.js';
import { ByteInputError, concatBytes } from '../../bytes/index.js';
import { newRecordEf, newTransparentEf } from '../../card/fs/file.js';
import { attach, dfByExactName } from '../../card/fs/tree.js';
import type { Card } from '../../card/os.js';
import { addKeySlot } from '../../card/protocols/key-store.js';
import { newAsymmetricKey, newPin } from '../../card/security/objects.js';
import { NEVER } from '../../card/security/access.js';
import { decodePublicKeyTemplate, encodeSubjectPublicKeyInfo } from '../../crypto/asymmetric.js';
import { externalAuthCryptogram } from '../../crypto/external-auth.js';
import type { Holder } from '../../holder/types.js';
import type { HashAlgorithm } from '../../lds/algorithms.js';
import type { CertifiedKey } from '../../lds/pki.js';
import { buildSod } from '../../lds/sod.js';
import { CARD_PASSWORDS } from '../card-level.js';
import { AppDataError, checkRecords, recordFileBytes } from '../health/common.js';
import { issueEServiceCertificate } from './certificates.js';
import { EF_ESERVICES_SOD, EF_KEYS, ESERVICES_AID, ESERVICES_PINS, ESERVICES_TYPE, certificateFile, certificateFidOf, keyRefOf, slotFor } from './layout.js';
import { encodeKeyRecord, type KeyDescriptor } from './records.js';

export interface EServicesOptions {
  /** Authentication PIN (81), 4–12 digits. */
  readonly authenticationPin: string;
  /** Signature PIN (82), 6–12 digits. */
  readonly signaturePin: string;
  readonly pinTries?: number;
  /** Issues the certificates of the generated keys. */
  readonly ca: CertifiedKey;
  /** Signs EF.SOD. */
  readonly signer: CertifiedKey;
  /** Certificate validity: default from the document's date of issue to its date of expiry. */
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly hashAlgorithm?: HashAlgorithm;
  readonly signingTime?: Date | null;
}

/** One generated key pair with its certificate. */
export interface EServicesKey {
  readonly descriptor: KeyDescriptor;
  /** SubjectPublicKeyInfo DER of the key the card generated. */
  readonly publicKey: Uint8Array;
  readonly certificate: Uint8Array;
}

export interface EServicesBuild {
  readonly keys: readonly EServicesKey[];
  readonly records: readonly Uint8Array[];
  readonly sod: Uint8Array;
}

const encoder = new TextEncoder();

function digits(value: string, min: number, what: string): Uint8Array {
  if (!new RegExp(`^[0-9]{${min},12}$`).test(value)) throw new ByteInputError(`${what}: expected ${min} to 12 digits, got ${value.length} characters that are not`);
  return encoder.encode(value);
}

/** One APDU to the powered card, with GET RESPONSE for answers beyond Ne; throws on an error status. */
function exchange(card: Card, apdu: Uint8Array, what: string): Uint8Array {
  let r = parseResponseApdu(card.transmit(apdu));
  const parts: Uint8Array[] = [];
  while ((r.sw & 0xff00) === 0x6100) {
    parts.push(r.data);
    r = parseResponseApdu(card.transmit(encodeCommandApdu({ ins: INS.GET_RESPONSE, p1: 0, p2: 0, ne: (r.sw & 0xff) === 0 ? 256 : r.sw & 0xff })));
  }
  if (r.sw !== 0x9000) throw new AppDataError(`e-services personalization: ${what} answered ${r.sw.toString(16).toUpperCase().padStart(4, '0')}`);
  return concatBytes(...parts, r.data);
}

function latinName(h: Holder): string {
  const i = h.identity;
  return i.secondaryIdentifier === undefined ? i.primaryIdentifier : `${i.primaryIdentifier} ${i.secondaryIdentifier}`;
}

/** Installs and personalizes the e-services application for `holder.eServices`. Commits. */
export function buildEServicesApplication(card: Card, holder: Holder, opts: EServicesOptions): EServicesBuild {
  const pairs = holder.eServices?.keyPairs ?? [];
  if (pairs.length === 0) throw new AppDataError('eServices.keyPairs: none; the e-services application is not installed without keys');
  if (card.state.lifeCycle !== 'personalization') throw new AppDataError('e-services personalization: the card is no longer in personalization state');
  card.install(ESERVICES_AID, ESERVICES_TYPE);
  const df = dfByExactName(card.state.mf, ESERVICES_AID)!;
  const nv = card.nv;
  const hasPuk = card.state.mf.pins.some((p) => p.ref === CARD_PASSWORDS.PUK);
  const pinSpec = (ref: number, value: Uint8Array, label: string, min: number): Parameters<typeof newPin>[0] => ({
    ref,
    value,
    label,
    minLength: min,
    maxLength: 12,
    maxTries: opts.pinTries ?? 3,
    ...(hasPuk ? { pukRef: CARD_PASSWORDS.PUK } : {}),
  });
  nv.splice(
    df.pins,
    df.pins.length,
    0,
    newPin(pinSpec(ESERVICES_PINS.AUTHENTICATION, digits(opts.authenticationPin, 4, 'authenticationPin'), 'authentication PIN', 4)),
    newPin(pinSpec(ESERVICES_PINS.SIGNATURE, digits(opts.signaturePin, 6, 'signaturePin'), 'signature PIN', 6)),
  );
  const slots = pairs.map((k, i) => {
    const s = slotFor(k);
    addKeySlot(
      nv,
      df,
      newAsymmetricKey({
        ref: keyRefOf(i),
        type: s.type,
        ...(s.curve !== undefined ? { curve: s.curve } : {}),
        ...(s.bits !== undefined ? { bits: s.bits } : {}),
        usage: [s.usage],
        label: `${k.label} key`,
        use: s.use,
        generate: NEVER,
        pinAlways: s.pinAlways,
      }),
    );
    return s;
  });
  nv.commit();

  // Generation on the card, as a personalization machine does it: transport key, then GENERATE.
  const publicKeys: Uint8Array[] = [];
  card.powerOn();
  try {
    exchange(card, encodeCommandApdu({ ins: INS.SELECT, p1: 0x04, p2: 0x0c, data: ESERVICES_AID }), 'SELECT e-services');
    const tk = card.state.transportKey;
    const challenge = exchange(card, encodeCommandApdu({ ins: INS.GET_CHALLENGE, p1: 0, p2: 0, ne: 8 }), 'GET CHALLENGE');
    exchange(card, encodeCommandApdu({ ins: INS.EXTERNAL_AUTHENTICATE, p1: 0, p2: 0, data: externalAuthCryptogram(tk.algorithm, tk.value, challenge) }), 'EXTERNAL AUTHENTICATE (transport key)');
    pairs.forEach((k, i) => {
      const template = exchange(card, encodeCommandApdu({ ins: INS.GENERATE_ASYMMETRIC_KEY_PAIR, p1: 0x00, p2: 0x00, data: new Uint8Array([0x84, 0x01, keyRefOf(i)]), ne: 256 }), `GENERATE ASYMMETRIC KEY PAIR for ${k.label}`);
      const s = slots[i]!;
      publicKeys.push(encodeSubjectPublicKeyInfo(decodePublicKeyTemplate(template, s.curve !== undefined ? { curve: s.curve } : {})));
    });
  } finally {
    card.powerOff();
  }

  const notBefore = opts.notBefore ?? new Date(`${holder.document.dateOfIssue}T00:00:00Z`);
  const notAfter = opts.notAfter ?? new Date(`${holder.document.dateOfExpiry}T23:59:59Z`);
  const keys: EServicesKey[] = pairs.map((k, i) => {
    const certificate = issueEServiceCertificate(opts.ca, publicKeys[i]!, { commonName: `${latinName(holder)} (${k.usage})`, serialNumber: holder.identity.idNumber }, k.usage, { notBefore, notAfter });
    const descriptor: KeyDescriptor = { label: k.label, usage: k.usage, algorithm: k.algorithm, keyRef: keyRefOf(i), certificateFid: certificateFidOf(i), pinRef: slots[i]!.pin };
    return { descriptor, publicKey: publicKeys[i]!, certificate };
  });
  const records = keys.map((k) => encodeKeyRecord(k.descriptor));
  checkRecords(EF_KEYS, records);
  const hashed = new Map<number, Uint8Array>([[EF_KEYS.dataGroup!, recordFileBytes(records)]]);
  keys.forEach((k, i) => hashed.set(certificateFile(i, k.descriptor.label).dataGroup!, k.certificate));
  const sod = buildSod(hashed, opts.signer, {
    ...(opts.hashAlgorithm !== undefined ? { hashAlgorithm: opts.hashAlgorithm } : {}),
    ...(opts.signingTime !== undefined ? { signingTime: opts.signingTime } : {}),
  });
  attach(nv, df, newRecordEf(EF_KEYS.fid, 'linear-variable', EF_KEYS.recordSize!, EF_KEYS.maxRecords!, { sfi: EF_KEYS.sfi, rules: EF_KEYS.rules, records, encrypted: EF_KEYS.encrypted }));
  keys.forEach((k, i) => {
    const spec = certificateFile(i, k.descriptor.label);
    attach(nv, df, newTransparentEf(spec.fid, k.certificate.length, { sfi: spec.sfi, rules: spec.rules, data: k.certificate, encrypted: spec.encrypted }));
  });
  attach(nv, df, newTransparentEf(EF_ESERVICES_SOD.fid, sod.length, { sfi: EF_ESERVICES_SOD.sfi, rules: EF_ESERVICES_SOD.rules, data: sod, encrypted: EF_ESERVICES_SOD.encrypted }));
  nv.commit();
  return { keys, records, sod };
}
