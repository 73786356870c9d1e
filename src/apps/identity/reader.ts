/**
 * Reading the identity application, terminal side (ICAO 9303-11 §4.2 inspection procedure):
 *
 * 1. In the MF, EF.CardAccess is read in plain (SFI 1C).
 * 2. Access control: PACE with the CAN (or the MRZ) when EF.CardAccess offers it; BAC with the
 *    MRZ when it does not (no EF.CardAccess) and `bacFallback` allows it. With a `pin`, PACE with
 *    the PIN follows under the first session (BSI TR-03110-2 §3.5: how a PIN is presented), which
 *    opens DG3.
 * 3. The application A0000002471001 is selected under secure messaging; EF.COM, EF.SOD and every
 *    data group EF.COM or EF.SOD names are read (SFI for the first bytes, then offsets; odd-INS
 *    READ BINARY beyond offset 32767). A refused file (6982) or an absent one (6A82) is recorded,
 *    not fatal.
 * 4. Everything read is decoded and passive authentication runs over the bytes as read.
 *
 * Access-control failures throw (`PaceError`, `BacError`, `SecureMessagingError`: no session, no
 * data). Everything after is reported in the result — refused files, files that do not decode,
 * every passive-authentication verdict — and never hidden.
 *
 * @example
 * await transport.connect();
 * const r = await readIdentity(transport, { can: '123456', cscas: [cscaDer] });
 * r.passiveAuth.verdict          // 'valid'
 * r.holder.identity?.fullNameArabic
 */
import { parseResponseApdu } from '../../apdu/response.js';
import { encodeCommandApdu } from '../../apdu/command.js';
import { INS } from '../../apdu/ins.js';
import { concatBytes, readUintBE } from '../../bytes/index.js';
import type { MrzInfo } from '../../crypto/bac.js';
import { encodeTlv, parseTlv, TlvError } from '../../tlv/ber.js';
import { performBac } from '../../terminal/bac.js';
import { PaceError, performPace } from '../../terminal/pace.js';
import type { SecureMessagingTransport } from '../../transport/secure-messaging.js';
import type { Transport } from '../../transport/types.js';
import { verifySod, type PassiveAuthReport } from '../../lds/passive-auth.js';
import { EF_CARD_ACCESS, EF_COM, EF_SOD, dataGroup } from '../../lds/tags.js';
import { decodeIdentityFiles, type DecodedIdentity, type IdentitySections } from './data.js';
import { IDENTITY_AID, dataGroupsToRead } from './layout.js';

export interface ReadIdentityOptions {
  /** Card access number (PACE). */
  readonly can?: string;
  /** MRZ information or its three fields (PACE with the MRZ, or BAC). */
  readonly mrz?: string | MrzInfo;
  /** Holder PIN: PACE with the PIN after the first PACE, which opens DG3. */
  readonly pin?: string;
  /** CSCA certificates (DER) for passive authentication; none → chain "not checked". */
  readonly cscas?: readonly Uint8Array[];
  /** Document signer certificates for an EF.SOD that does not carry its signer's. */
  readonly documentSigners?: readonly Uint8Array[];
  /** Time for certificate validity and MRZ century (default now). */
  readonly now?: Date;
  /** Use BAC with the MRZ when the chip has no EF.CardAccess (default true). */
  readonly bacFallback?: boolean;
  /** Bytes per READ BINARY, 1..65536 (default 223, which fits a short APDU under SM). */
  readonly chunkSize?: number;
}

export type FileStatus = 'read' | 'refused' | 'absent' | 'error';

export interface FileRead {
  readonly name: string;
  readonly fid: number;
  readonly status: FileStatus;
  /** Status word of the failing READ BINARY (refused, absent, error). */
  readonly sw?: number;
  readonly length?: number;
  readonly detail?: string;
}

export interface IdentityReadResult {
  readonly access: {
    readonly protocol: 'PACE' | 'BAC';
    /** The password the session was established with last. */
    readonly password: 'can' | 'mrz' | 'pin';
    readonly pinVerified: boolean;
  };
  readonly cardAccess?: Uint8Array;
  /** Every file attempted, in order. */
  readonly files: readonly FileRead[];
  /** The bytes as read. */
  readonly raw: { readonly com?: Uint8Array; readonly sod?: Uint8Array; readonly dataGroups: ReadonlyMap<number, Uint8Array> };
  readonly decoded: DecodedIdentity;
  readonly holder: IdentitySections;
  readonly passiveAuth: PassiveAuthReport;
  /** Files that did not decode. */
  readonly problems: readonly { readonly file: string; readonly message: string }[];
}

/**
 * The inspection cannot start: nothing to authenticate with, or the chip lacks what the options
 * need (EF.CardAccess for PACE, the application). Protocol failures keep their own errors.
 */
export class IdentityReadError extends Error {
  override readonly name = 'IdentityReadError';
}

/** A READ BINARY that did not return data; `sw` says why (6982 refused, 6A82 absent). */
export class ReadRefused extends Error {
  override readonly name = 'ReadRefused';
  constructor(readonly sw: number) {
    super(`READ BINARY answered ${sw.toString(16).toUpperCase().padStart(4, '0')}`);
  }
}

async function send(t: Transport, apdu: Uint8Array): Promise<{ data: Uint8Array; sw: number }> {
  return parseResponseApdu(await t.transmit(apdu));
}

/** Total size of the BER-TLV object at the start of `head` (tag + length + value), if known yet. */
function objectLength(head: Uint8Array): number | undefined {
  let i = 1;
  if (head.length < 2) return undefined;
  if ((head[0]! & 0x1f) === 0x1f) {
    while (i < head.length && (head[i]! & 0x80) !== 0) i++;
    i++;
  }
  if (i >= head.length) return undefined;
  const l0 = head[i]!;
  if (l0 < 0x80) return i + 1 + l0;
  const n = l0 & 0x7f;
  if (n === 0 || n > 4 || i + 1 + n > head.length) return undefined;
  return i + 1 + n + readUintBE(head, i + 1, n);
}

/**
 * Reads a whole transparent EF holding one BER-TLV object, by short identifier: the first chunk
 * by SFI (which also makes it the current EF), the rest at offsets — odd-INS READ BINARY beyond
 * 32767 — as long as the object's length says. A status other than 9000/6282 throws
 * {@link ReadRefused} with it. For other applications' readers too.
 *
 * @example const dg1 = await readFileBySfi(sm, 0x01, 0xdf);
 */
export async function readFileBySfi(t: Transport, sfi: number, chunk: number): Promise<Uint8Array> {
  const first = await send(t, encodeCommandApdu({ ins: INS.READ_BINARY, p1: 0x80 | sfi, p2: 0, ne: chunk }));
  if (first.sw !== 0x9000 && first.sw !== 0x6282) throw new ReadRefused(first.sw);
  const total = objectLength(first.data);
  if (total === undefined) return first.data;
  const parts = [first.data.subarray(0, Math.min(first.data.length, total))];
  let got = parts[0]!.length;
  while (got < total) {
    const want = Math.min(chunk, total - got);
    let r: { data: Uint8Array; sw: number };
    if (got <= 0x7fff) {
      r = await send(t, encodeCommandApdu({ ins: INS.READ_BINARY, p1: got >>> 8, p2: got & 0xff, ne: want }));
    } else {
      // ISO/IEC 7816-4 §11.3.3: beyond 15-bit offsets, odd INS with the offset in DO 54 and the
      // data back in DO 53 (Ne covers the 53 header too).
      const off = encodeTlv(0x54, new Uint8Array([(got >>> 16) & 0xff, (got >>> 8) & 0xff, got & 0xff]));
      r = await send(t, encodeCommandApdu({ ins: INS.READ_BINARY_ODD, p1: 0, p2: 0, data: off, ne: Math.min(65536, want + 4) }));
      if (r.sw === 0x9000 || r.sw === 0x6282) {
        try {
          const d = parseTlv(r.data);
          if (d.tag !== 0x53) throw new ReadRefused(0x6f00);
          r = { data: d.value, sw: r.sw };
        } catch (e) {
          if (e instanceof TlvError) throw new ReadRefused(0x6f00);
          throw e;
        }
      }
    }
    if (r.sw !== 0x9000 && r.sw !== 0x6282) throw new ReadRefused(r.sw);
    if (r.data.length === 0) break;
    parts.push(r.data.subarray(0, Math.min(r.data.length, total - got)));
    got += parts[parts.length - 1]!.length;
  }
  return concatBytes(...parts);
}

/**
 * Reads one file by SFI ({@link readFileBySfi}) and records what happened in `log`: a refusal
 * (6982), an absent file (6A82) or another status is an entry, not an exception. For the ID-card
 * reader too.
 */
export async function readLoggedFile(
  t: Transport,
  file: { readonly name: string; readonly fid: number; readonly sfi: number },
  chunk: number,
  log: FileRead[],
): Promise<Uint8Array | undefined> {
  try {
    const data = await readFileBySfi(t, file.sfi, chunk);
    log.push({ name: file.name, fid: file.fid, status: 'read', length: data.length });
    return data;
  } catch (e) {
    if (!(e instanceof ReadRefused)) throw e;
    const status: FileStatus = e.sw === 0x6982 ? 'refused' : e.sw === 0x6a82 ? 'absent' : 'error';
    const detail = status === 'refused' ? 'security status not satisfied' : status === 'absent' ? 'not on this card' : e.message;
    log.push({ name: file.name, fid: file.fid, status, sw: e.sw, detail });
    return undefined;
  }
}

const SELECT_MF = new Uint8Array([0x00, INS.SELECT, 0x00, 0x0c, 0x02, 0x3f, 0x00]);

/**
 * SELECT the eMRTD application by AID, no answer data (P2 0C); throws {@link IdentityReadError}
 * unless the card answers 9000.
 */
export async function selectIdentity(t: Transport): Promise<void> {
  const r = await send(t, encodeCommandApdu({ ins: INS.SELECT, p1: 0x04, p2: 0x0c, data: IDENTITY_AID }));
  if (r.sw !== 0x9000) {
    throw new IdentityReadError(`SELECT of the eMRTD application A0000002471001 answered ${r.sw.toString(16).toUpperCase().padStart(4, '0')}`);
  }
}

/** What the terminal authenticated with, and the secure-messaging session that gives it. */
export interface IdentitySession {
  /** The session in force (after PACE with the PIN, that one). */
  readonly sm: SecureMessagingTransport;
  readonly protocol: 'PACE' | 'BAC';
  /** The password the first session was established with. */
  readonly established: 'can' | 'mrz';
  /** The password the session in force was established with ('pin' after PACE with the PIN). */
  readonly password: 'can' | 'mrz' | 'pin';
  readonly pinVerified: boolean;
  /**
   * Whether the eMRTD application is selected already: BAC selects it before authenticating
   * (ICAO 9303-11 §4.3 runs inside the application), PACE runs in the MF and leaves it to the caller.
   */
  readonly selected: boolean;
}

/**
 * Access control of the inspection procedure (ICAO 9303-11 §4.2, step 2): PACE with the CAN, or
 * with the MRZ, when EF.CardAccess (`cardAccess`, read in plain) offers a protocol chipwright
 * implements; BAC with the MRZ when it does not and `bacFallback` is not false; then PACE with the
 * PIN under that session when a PIN is given (BSI TR-03110-2 §3.5). Only "no common protocol"
 * falls back to BAC: a wrong CAN or MRZ throws its `PaceError`, never retried with BAC.
 *
 * @example const s = await openIdentitySession(transport, cardAccess, { can: '123456' }); // s.protocol 'PACE'
 */
export async function openIdentitySession(
  transport: Transport,
  cardAccess: Uint8Array | undefined,
  opts: { readonly can?: string; readonly mrz?: string | MrzInfo; readonly pin?: string | Uint8Array; readonly bacFallback?: boolean },
): Promise<IdentitySession> {
  const kind = opts.can !== undefined ? 'can' : 'mrz';
  let why = 'the chip has no EF.CardAccess, so no PACE';
  let sm: SecureMessagingTransport | undefined;
  if (cardAccess !== undefined) {
    try {
      sm = await performPace(transport, { kind, password: kind === 'can' ? opts.can! : opts.mrz!, cardAccess });
    } catch (e) {
      if (!(e instanceof PaceError && e.reason === 'parameters')) throw e;
      why = e.message;
    }
  }
  let protocol: 'PACE' | 'BAC' = 'PACE';
  let established: 'can' | 'mrz' = kind;
  if (sm === undefined) {
    if (opts.mrz === undefined || opts.bacFallback === false) {
      throw new IdentityReadError(opts.mrz === undefined ? `${why}: BAC needs the MRZ` : `${why}, and BAC fallback is off`);
    }
    await selectIdentity(transport);
    sm = await performBac(transport, opts.mrz);
    protocol = 'BAC';
    established = 'mrz';
  }
  if (opts.pin === undefined) return { sm, protocol, established, password: established, pinVerified: false, selected: protocol === 'BAC' };
  if (protocol !== 'PACE') throw new IdentityReadError('the PIN needs PACE, which this chip does not offer');
  sm = await performPace(sm, { kind: 'pin', password: opts.pin, cardAccess: cardAccess! });
  return { sm, protocol, established, password: 'pin', pinVerified: true, selected: false };
}

/** Reads, decodes and verifies the identity application. */
export async function readIdentity(transport: Transport, opts: ReadIdentityOptions): Promise<IdentityReadResult> {
  const chunk = opts.chunkSize ?? 0xdf;
  if (!Number.isInteger(chunk) || chunk < 1 || chunk > 65536) throw new IdentityReadError(`chunkSize: expected 1..65536, got ${chunk}`);
  if (opts.can === undefined && opts.mrz === undefined) throw new IdentityReadError('give the CAN or the MRZ (and optionally the PIN)');
  const now = opts.now ?? new Date();
  const files: FileRead[] = [];

  // 1. EF.CardAccess, in plain, in the MF.
  await send(transport, SELECT_MF);
  const cardAccess = await readLoggedFile(transport, { name: EF_CARD_ACCESS.name, fid: EF_CARD_ACCESS.fid, sfi: EF_CARD_ACCESS.sfi }, chunk, files);

  // 2. Access control: PACE when the chip offers a protocol chipwright implements, else BAC.
  const session = await openIdentitySession(transport, cardAccess, opts);
  const sm = session.sm;

  // 3. The application and its files.
  if (!session.selected) await selectIdentity(sm);
  const com = await readLoggedFile(sm, EF_COM, chunk, files);
  const sod = await readLoggedFile(sm, EF_SOD, chunk, files);
  const dataGroups = new Map<number, Uint8Array>();
  for (const n of dataGroupsToRead(com, sod)) {
    const info = dataGroup(n);
    const bytes = await readLoggedFile(sm, info, chunk, files);
    if (bytes !== undefined) dataGroups.set(n, bytes);
  }

  // 4. Decoding and passive authentication.
  const d = decodeIdentityFiles({ ...(com !== undefined ? { com } : {}), dataGroups }, now);
  const passiveAuth = verifySod(sod ?? new Uint8Array(0), dataGroups, opts.cscas ?? [], now, {
    ...(opts.documentSigners ? { documentSigners: opts.documentSigners } : {}),
  });
  return {
    access: { protocol: session.protocol, password: session.password, pinVerified: session.pinVerified },
    ...(cardAccess !== undefined ? { cardAccess } : {}),
    files,
    raw: { ...(com !== undefined ? { com } : {}), ...(sod !== undefined ? { sod } : {}), dataGroups },
    decoded: d.decoded,
    holder: d.holder,
    passiveAuth,
    problems: d.problems,
  };
}
