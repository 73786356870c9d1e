/**
 * The three e-services flows, terminal and relying-party side, over a secure-messaging transport
 * (after PACE or BAC):
 *
 * - **e-government login** ({@link eGovernmentLogin}): the portal sends a fresh challenge; the
 *   terminal verifies the authentication PIN (81), sets the AT to the authentication key and has
 *   the card sign with INTERNAL AUTHENTICATE; the portal checks the signature with the key of the
 *   authentication certificate ({@link verifyLogin}).
 * - **building access** ({@link buildingAccess}): the door controller's challenge and door
 *   identifier, signed the same way with the authentication key ({@link verifyBuildingAccess}).
 * - **document signing** ({@link signDocument}): the terminal hashes the document, verifies the
 *   signature PIN (82) — for each signature: the key is "PIN always", the card refuses a second
 *   signature without a new VERIFY — and sends PSO COMPUTE DIGITAL SIGNATURE with the DST set to
 *   the signature key ({@link verifyDocumentSignature}).
 *
 * What the card signs is always SHA-256 of a message that starts with the flow's context string
 * (`chipwright e-government login v1`, `chipwright building access v1`) and a 00 byte, so a
 * signature made for a door cannot be replayed to the portal or the other way round; documents
 * are signed as they are (their hash), with the signature key only. ECDSA keys answer r ‖ s
 * (algorithm 04), RSA keys RSASSA-PKCS1-v1_5 over the hash (algorithm 12).
 *
 * PINs are given as digits or bytes, sent only inside VERIFY under secure messaging, wiped after
 * use, and never put in a message or an error. Failures throw {@link EServicesError}.
 *
 * @example
 * const sm = await performPace(t, { kind: 'can', password: can, cardAccess });
 * const login = await eGovernmentLogin(sm, { pin: '1234', challenge });
 * verifyLogin(login.certificate, challenge, login.signature) // true
 */
import { X509Certificate, createHash, verify as cryptoVerify } from 'node:crypto';
import { encodeCommandApdu } from '../../apdu/command.js';
import { parseResponseApdu } from '../../apdu/response.js';
import { INS } from '../../apdu/ins.js';
import { ByteInputError, concatBytes, zeroize } from '../../bytes/index.js';
import { ALGORITHM } from '../../card/protocols/mse.js';
import type { Transport } from '../../transport/types.js';
import { isEmptyRecord, readAllRecords, readTransparentByFid } from '../health/common.js';
import { ReadRefused } from '../identity/reader.js';
import { ESERVICES_AID, EF_KEYS } from './layout.js';
import { decodeKeyRecord, type KeyDescriptor } from './records.js';

export type EServicesFailure = 'application' | 'key' | 'pin' | 'refused' | 'signature';

export class EServicesError extends Error {
  override readonly name = 'EServicesError';
  constructor(
    readonly reason: EServicesFailure,
    message: string,
    readonly sw?: number,
    /** PIN tries left, when the card said (63CX). */
    readonly triesLeft?: number,
  ) {
    super(message);
  }
}

/** Context strings: what a signature of each flow starts with (domain separation). */
export const LOGIN_CONTEXT = 'chipwright e-government login v1';
export const BUILDING_ACCESS_CONTEXT = 'chipwright building access v1';

const encoder = new TextEncoder();
const hex = (sw: number): string => sw.toString(16).toUpperCase().padStart(4, '0');

async function send(t: Transport, apdu: Uint8Array): Promise<{ data: Uint8Array; sw: number }> {
  return parseResponseApdu(await t.transmit(apdu));
}

async function must(t: Transport, apdu: Uint8Array, what: string, reason: EServicesFailure = 'refused'): Promise<Uint8Array> {
  const r = await send(t, apdu);
  if (r.sw !== 0x9000) throw new EServicesError(reason, `${what} answered ${hex(r.sw)}`, r.sw);
  return r.data;
}

/** The key of `usage` (or with `label`) from EF.KEYS, with its certificate. Selects the application. */
export async function findEServicesKey(t: Transport, pick: { readonly usage?: KeyDescriptor['usage']; readonly label?: string }): Promise<{ descriptor: KeyDescriptor; certificate: Uint8Array }> {
  await must(t, encodeCommandApdu({ ins: INS.SELECT, p1: 0x04, p2: 0x0c, data: ESERVICES_AID }), 'SELECT e-services', 'application');
  let records: Uint8Array[];
  try {
    records = await readAllRecords(t, EF_KEYS.sfi, EF_KEYS.maxRecords);
  } catch (e) {
    if (e instanceof ReadRefused) throw new EServicesError('refused', `reading EF.KEYS answered ${hex(e.sw)}`, e.sw);
    throw e;
  }
  const descriptors = records.filter((r) => !isEmptyRecord(r)).map(decodeKeyRecord);
  const d = descriptors.find((x) => (pick.label === undefined || x.label === pick.label) && (pick.usage === undefined || x.usage === pick.usage));
  if (d === undefined) throw new EServicesError('key', `the card has no ${pick.label !== undefined ? `key "${pick.label}"` : `${pick.usage} key`}`);
  if (d.certificateFid === undefined) throw new EServicesError('key', `key "${d.label}" has no certificate`);
  let certificate: Uint8Array;
  try {
    certificate = await readTransparentByFid(t, d.certificateFid, 0xdf);
  } catch (e) {
    if (e instanceof ReadRefused) throw new EServicesError('refused', `reading the certificate of "${d.label}" answered ${hex(e.sw)}`, e.sw);
    throw e;
  }
  return { descriptor: d, certificate };
}

function pinBytes(pin: string | Uint8Array, what: string): Uint8Array {
  if (typeof pin !== 'string') return pin.slice();
  if (!/^[0-9]{4,12}$/.test(pin)) throw new ByteInputError(`${what}: expected 4 to 12 digits`);
  return encoder.encode(pin);
}

/** VERIFY of an e-services PIN; the PIN bytes are wiped whatever happens. */
async function verifyPin(t: Transport, ref: number, pin: string | Uint8Array, what: string): Promise<void> {
  const value = pinBytes(pin, what);
  try {
    const r = await send(t, encodeCommandApdu({ ins: INS.VERIFY, p1: 0x00, p2: ref, data: value }));
    if (r.sw === 0x9000) return;
    const tries = (r.sw & 0xfff0) === 0x63c0 ? r.sw & 0x0f : undefined;
    throw new EServicesError('pin', `VERIFY of the ${what} answered ${hex(r.sw)}${tries !== undefined ? ` (${tries} tries left)` : ''}`, r.sw, tries);
  } finally {
    zeroize(value);
  }
}

const algorithmOf = (d: KeyDescriptor): number => (d.algorithm.startsWith('ecdsa') ? ALGORITHM.ECDSA : ALGORITHM.RSA_PKCS1_HASH);

function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

/** `context ‖ 00 ‖ parts…` with each part preceded by its 2-byte length: what a flow signs. */
export function contextMessage(context: string, ...parts: readonly Uint8Array[]): Uint8Array {
  return concatBytes(encoder.encode(context), new Uint8Array([0x00]), ...parts.flatMap((p) => [new Uint8Array([p.length >>> 8, p.length & 0xff]), p]));
}

/** Signs `message` with the authentication key (INTERNAL AUTHENTICATE over its SHA-256). */
async function authenticate(t: Transport, pin: string | Uint8Array, message: Uint8Array): Promise<{ certificate: Uint8Array; signature: Uint8Array; key: KeyDescriptor }> {
  const { descriptor, certificate } = await findEServicesKey(t, { usage: 'authentication' });
  await verifyPin(t, descriptor.pinRef, pin, 'authentication PIN');
  await must(t, encodeCommandApdu({ ins: INS.MANAGE_SECURITY_ENVIRONMENT, p1: 0x41, p2: 0xa4, data: new Uint8Array([0x84, 0x01, descriptor.keyRef, 0x80, 0x01, algorithmOf(descriptor)]) }), 'MSE:SET AT');
  const signature = await must(t, encodeCommandApdu({ ins: INS.INTERNAL_AUTHENTICATE, p1: 0x00, p2: 0x00, data: sha256(message), ne: 256 }), 'INTERNAL AUTHENTICATE', 'signature');
  return { certificate, signature, key: descriptor };
}

/** Verifies a signature of the card over `message` with the certificate's key (SHA-256). */
export function verifyWithCertificate(certificate: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  let key;
  try {
    key = new X509Certificate(certificate).publicKey;
  } catch {
    return false;
  }
  try {
    return key.asymmetricKeyType === 'ec' ? cryptoVerify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, signature) : cryptoVerify('sha256', message, key, signature);
  } catch {
    return false;
  }
}

export interface LoginOptions {
  /** The authentication PIN. */
  readonly pin: string | Uint8Array;
  /** The portal's fresh challenge (at least 16 bytes). */
  readonly challenge: Uint8Array;
}

export interface FlowResult {
  /** The certificate of the key that signed (X.509 DER, as read from the card). */
  readonly certificate: Uint8Array;
  readonly signature: Uint8Array;
  /** What was signed (its SHA-256 went to the card). */
  readonly message: Uint8Array;
}

/** e-government login: the card signs the portal's challenge with the authentication key. */
export async function eGovernmentLogin(t: Transport, opts: LoginOptions): Promise<FlowResult> {
  if (opts.challenge.length < 16) throw new ByteInputError(`challenge: at least 16 bytes, got ${opts.challenge.length}`);
  const message = contextMessage(LOGIN_CONTEXT, opts.challenge);
  const r = await authenticate(t, opts.pin, message);
  return { certificate: r.certificate, signature: r.signature, message };
}

/** The portal's check of a login: the signature over its challenge verifies with the certificate's key. */
export function verifyLogin(certificate: Uint8Array, challenge: Uint8Array, signature: Uint8Array): boolean {
  return verifyWithCertificate(certificate, contextMessage(LOGIN_CONTEXT, challenge), signature);
}

export interface BuildingAccessOptions {
  readonly pin: string | Uint8Array;
  /** The door (or zone) identifier the controller announces. */
  readonly doorId: string;
  /** The controller's fresh challenge (at least 8 bytes). */
  readonly challenge: Uint8Array;
}

/** Building access: challenge–response with the authentication key, bound to the door. */
export async function buildingAccess(t: Transport, opts: BuildingAccessOptions): Promise<FlowResult> {
  if (opts.challenge.length < 8) throw new ByteInputError(`challenge: at least 8 bytes, got ${opts.challenge.length}`);
  const message = contextMessage(BUILDING_ACCESS_CONTEXT, encoder.encode(opts.doorId), opts.challenge);
  const r = await authenticate(t, opts.pin, message);
  return { certificate: r.certificate, signature: r.signature, message };
}

/** The door controller's check. */
export function verifyBuildingAccess(certificate: Uint8Array, doorId: string, challenge: Uint8Array, signature: Uint8Array): boolean {
  return verifyWithCertificate(certificate, contextMessage(BUILDING_ACCESS_CONTEXT, encoder.encode(doorId), challenge), signature);
}

export interface SignDocumentOptions {
  /** The signature PIN: verified for this signature only. */
  readonly signaturePin: string | Uint8Array;
  readonly document: Uint8Array;
}

/** Document signing: VERIFY the signature PIN, DST, PSO COMPUTE DIGITAL SIGNATURE over SHA-256(document). */
export async function signDocument(t: Transport, opts: SignDocumentOptions): Promise<FlowResult & { readonly hash: Uint8Array }> {
  const { descriptor, certificate } = await findEServicesKey(t, { usage: 'signature' });
  await verifyPin(t, descriptor.pinRef, opts.signaturePin, 'signature PIN');
  await must(t, encodeCommandApdu({ ins: INS.MANAGE_SECURITY_ENVIRONMENT, p1: 0x41, p2: 0xb6, data: new Uint8Array([0x84, 0x01, descriptor.keyRef, 0x80, 0x01, algorithmOf(descriptor)]) }), 'MSE:SET DST');
  const hash = sha256(opts.document);
  const signature = await must(t, encodeCommandApdu({ ins: INS.PERFORM_SECURITY_OPERATION, p1: 0x9e, p2: 0x9a, data: hash, ne: 256 }), 'PSO COMPUTE DIGITAL SIGNATURE', 'signature');
  return { certificate, signature, message: opts.document, hash };
}

/** A relying party's check of a document signature with the signature certificate's key. */
export function verifyDocumentSignature(certificate: Uint8Array, document: Uint8Array, signature: Uint8Array): boolean {
  return verifyWithCertificate(certificate, document, signature);
}
