/**
 * PACE, terminal side (ICAO Doc 9303-11 §4.4.4; BSI TR-03110-3 §B.11): MSE:Set AT, the four
 * GENERAL AUTHENTICATE steps, and from then on a {@link SecureMessagingTransport} with the AES
 * session keys (SSC 0).
 *
 * The protocol and domain parameters come from EF.CardAccess when given (`cardAccess`, its
 * bytes), narrowed by `protocol` / `parameterId`; without it both must be known
 * (`parameterId` at least; the protocol defaults to id-PACE-ECDH-GM-AES-CBC-CMAC-128). MSE:Set AT
 * carries DO 84 when EF.CardAccess offers the protocol with several domain parameters (ICAO
 * 9303-11 §4.4.4.1) or when `sendParameterId` asks for it.
 *
 * Over a secure-messaging transport (PACE with the CAN, then with the PIN — how a suspended PIN
 * is resumed, BSI TR-03110-2 §3.5.1) the run is protected by the current session, and the new
 * session replaces it on the transport below.
 *
 * Failures throw {@link PaceError}: its message names the step and the status word, never the
 * password, a nonce or a key; `triesLeft` carries the PIN/PUK counter the card reported.
 *
 * @example
 * const sm = await performPace(new InProcessTransport(card), { kind: 'can', password: '123456', cardAccess });
 * await sm.transmit(hexToBytes('00A4040C07A0000002471001')); // SELECT eMRTD, protected
 */
import { randomSource } from './random.js';
import { ByteInputError, concatBytes, equalBytes, u16Hex, zeroize } from '../bytes/index.js';
import { parseResponseApdu, type ResponseApdu } from '../apdu/response.js';
import { encodeTlv, parseTlv, tlvConstructed, TlvError, type Tlv } from '../tlv/ber.js';
import { EcPointError, customGroup, randomScalar, standardizedGroup, type EcGroup, type EcPoint } from '../crypto/curves.js';
import {
  PACE_PASSWORD_REFERENCE,
  PaceCryptoError,
  authenticationToken,
  decryptNonce,
  mappedPublicKey,
  mrzPassword,
  paceSuite,
  passwordKey,
  sessionKeys,
  sharedSecret,
  tokenMatches,
  keyLength,
  type PacePasswordKind,
  type PaceSuite,
} from '../crypto/pace.js';
import type { MrzInfo } from '../crypto/bac.js';
import { PACE_OID, SecurityInfoError, decodeSecurityInfos, type PaceDomainParameterInfo, type PaceInfo, type SecurityInfo } from '../crypto/security-infos.js';
import { SecureMessagingTransport } from '../transport/secure-messaging.js';
import type { Transport } from '../transport/types.js';

/** Which step of PACE failed. */
export type PaceFailure =
  /** No protocol and domain parameters both sides support, or options that contradict each other. */
  | 'parameters'
  /** The card refused MSE:Set AT (6A80 protocol, 6A88 no such password or parameters). */
  | 'set-at'
  /** The card refused a GENERAL AUTHENTICATE step before the tokens (6983 blocked, 6985 suspended…). */
  | 'step'
  /** The card rejected the terminal's token: the password is wrong (6300, 63CX for a PIN/PUK). */
  | 'rejected'
  /** The card's token or data did not verify: not a chip that knows this password, or tampered with. */
  | 'card-not-authenticated';

export class PaceError extends Error {
  override readonly name = 'PaceError';
  constructor(
    readonly reason: PaceFailure,
    message: string,
    /** The card's status word, when it refused. */
    readonly sw?: number,
    /** PIN/PUK tries left, when the card said (63CX). */
    readonly triesLeft?: number,
  ) {
    super(message);
  }
}

export interface PaceOptions {
  /** Which password: the MRZ, the CAN, the PIN or the PUK. */
  readonly kind: PacePasswordKind;
  /**
   * The password. MRZ: the three fields or the MRZ information string (check digits are
   * verified). CAN, PIN, PUK: the digits as a string, or their bytes.
   */
  readonly password: string | Uint8Array | MrzInfo;
  /** EF.CardAccess as read from the chip; chooses protocol and domain parameters. */
  readonly cardAccess?: Uint8Array;
  /** PACE protocol OID (dotted); default: from EF.CardAccess, else id-PACE-ECDH-GM-AES-CBC-CMAC-128. */
  readonly protocol?: string;
  /** Domain parameter ID (13 = brainpoolP256r1, 12 = P-256, 16 = brainpoolP384r1, …). */
  readonly parameterId?: number;
  /** Send DO 84 in MSE:Set AT even when the parameters are not ambiguous. */
  readonly sendParameterId?: boolean;
  /**
   * The terminal's randomness: SK_Map,IFD then SK_DH,IFD are drawn from it (as many bytes as the
   * group order has). Bytes are handed out first, then secure randomness follows; or a function
   * returning `n` bytes. For conformance replay (ICAO 9303-11 Appendix G). Default: secure.
   */
  readonly random?: Uint8Array | ((n: number) => Uint8Array);
}

/** What {@link choose} settles on. */
interface Choice {
  readonly suite: PaceSuite;
  readonly group: EcGroup;
  readonly parameterId: number;
  readonly sendParameterId: boolean;
}

/** Groups of explicit curves, one per decoded PACEDomainParameterInfo (noble caches tables per group). */
const explicitGroups = new WeakMap<object, EcGroup>();

function groupOf(parameterId: number, family: string, domains: readonly PaceDomainParameterInfo[]): EcGroup | undefined {
  const explicit = domains.find((d) => d.protocol === family && d.parameterId === parameterId);
  if (explicit === undefined) return standardizedGroup(parameterId);
  const dp = explicit.domainParameter;
  if (dp.kind !== 'ec') return undefined;
  let g = explicitGroups.get(dp.curve);
  if (g === undefined) {
    g = customGroup(dp.curve);
    explicitGroups.set(dp.curve, g);
  }
  return g;
}

/**
 * The last EF.CardAccess decoded, by content: a terminal runs PACE with the same chip again and
 * again (CAN, then PIN; every benchmark round), and the DER decode with its re-encoding check costs
 * about as much as an AES token. The copy makes a later change to the caller's array a miss.
 */
let lastCardAccess: { readonly bytes: Uint8Array; readonly infos: readonly SecurityInfo[] } | undefined;

function cardAccessInfos(cardAccess: Uint8Array): readonly SecurityInfo[] {
  if (lastCardAccess !== undefined && equalBytes(lastCardAccess.bytes, cardAccess)) return lastCardAccess.infos;
  const infos = decodeSecurityInfos(cardAccess, { trailing: 'ignore' });
  lastCardAccess = { bytes: cardAccess.slice(), infos };
  return infos;
}

/** Picks protocol and domain parameters (EF.CardAccess first, then the options). */
function choose(opts: PaceOptions): Choice {
  if (opts.cardAccess === undefined) {
    const oid = opts.protocol ?? PACE_OID.ECDH_GM_AES_128;
    const suite = paceSuite(oid);
    if (suite === undefined || !suite.supported) throw new PaceError('parameters', `protocol ${oid} is not a PACE protocol chipwright implements`);
    if (opts.parameterId === undefined) throw new PaceError('parameters', 'parameterId: needed when EF.CardAccess is not given');
    const group = standardizedGroup(opts.parameterId);
    if (group === undefined) throw new PaceError('parameters', `parameterId ${opts.parameterId}: not a standardized curve chipwright implements`);
    return { suite, group, parameterId: opts.parameterId, sendParameterId: opts.sendParameterId === true };
  }
  let infos: readonly SecurityInfo[];
  try {
    infos = cardAccessInfos(opts.cardAccess);
  } catch (e) {
    if (e instanceof SecurityInfoError) throw new PaceError('parameters', `EF.CardAccess: ${e.message}`);
    throw e;
  }
  const domains = infos.filter((i): i is PaceDomainParameterInfo => i.type === 'PACEDomainParameterInfo');
  const offered = infos.filter((i): i is PaceInfo => i.type === 'PACEInfo' && i.parameterId !== undefined);
  const usable: { info: PaceInfo; suite: PaceSuite; group: EcGroup }[] = [];
  for (const info of offered) {
    const suite = paceSuite(info.protocol);
    if (suite === undefined || !suite.supported) continue;
    if (opts.protocol !== undefined && info.protocol !== opts.protocol) continue;
    if (opts.parameterId !== undefined && info.parameterId !== opts.parameterId) continue;
    const family = info.protocol.split('.').slice(0, -1).join('.');
    const group = groupOf(info.parameterId!, family, domains);
    if (group !== undefined) usable.push({ info, suite, group });
  }
  if (usable.length === 0) {
    throw new PaceError('parameters', 'EF.CardAccess offers no PACE protocol and domain parameters chipwright implements (ECDH Generic Mapping with AES)');
  }
  // The strongest session keys; among equals, the order of EF.CardAccess.
  usable.sort((a, b) => keyLength(b.suite) - keyLength(a.suite));
  const pick = usable[0]!;
  const sameOid = offered.filter((i) => i.protocol === pick.info.protocol).length;
  return {
    suite: pick.suite,
    group: pick.group,
    parameterId: pick.info.parameterId!,
    sendParameterId: opts.sendParameterId === true || sameOid > 1,
  };
}

function passwordBytes(kind: PacePasswordKind, password: PaceOptions['password']): Uint8Array {
  if (kind === 'mrz') {
    if (password instanceof Uint8Array) return mrzPassword(new TextDecoder('latin1').decode(password));
    return mrzPassword(password);
  }
  if (password instanceof Uint8Array) return password.slice();
  if (typeof password !== 'string') throw new ByteInputError(`password: expected the ${kind.toUpperCase()} as a string or bytes`);
  // ISO/IEC 8859-1 (TR-03110-3 §A.2.3): one byte per character.
  const out = new Uint8Array(password.length);
  for (let i = 0; i < password.length; i++) {
    const c = password.charCodeAt(i);
    if (c > 0xff) throw new ByteInputError(`password: character ${i + 1} is not ISO/IEC 8859-1`);
    out[i] = c;
  }
  if (out.length === 0) throw new ByteInputError('password: must not be empty');
  return out;
}

/** The single DO `tag` of a 7C response template, or a PaceError. */
function responseDo(r: ResponseApdu, tag: number, step: string): Uint8Array {
  let t: Tlv;
  try {
    t = parseTlv(r.data);
  } catch (e) {
    if (e instanceof TlvError) throw new PaceError('card-not-authenticated', `${step}: the answer is not a 7C template (${e.message})`);
    throw e;
  }
  const d = t.tag === 0x7c ? t.children?.find((c) => c.tag === tag) : undefined;
  if (d === undefined) throw new PaceError('card-not-authenticated', `${step}: the answer has no DO ${tag.toString(16).toUpperCase()} in 7C`);
  return d.value;
}

function gaCommand(last: boolean, tag: number | null, value?: Uint8Array): Uint8Array {
  const data = tag === null ? new Uint8Array([0x7c, 0x00]) : tlvConstructed(0x7c, encodeTlv(tag, value!));
  if (data.length > 255) throw new ByteInputError('GENERAL AUTHENTICATE data longer than a short APDU');
  const out = new Uint8Array(5 + data.length + 1);
  out.set([last ? 0x00 : 0x10, 0x86, 0x00, 0x00, data.length]);
  out.set(data, 5);
  out[out.length - 1] = 0x00;
  return out;
}

async function step(transport: Transport, apdu: Uint8Array, name: string): Promise<ResponseApdu> {
  const r = parseResponseApdu(await transport.transmit(apdu));
  if (r.sw === 0x9000) return r;
  const hint = r.sw === 0x6983 ? ': the password is blocked' : r.sw === 0x6985 ? ': conditions not satisfied (a suspended PIN needs PACE with the CAN first)' : '';
  throw new PaceError('step', `${name} answered ${u16Hex(r.sw)}${hint}`, r.sw, r.sw === 0x6983 ? 0 : undefined);
}

function decodeCardPoint(group: EcGroup, bytes: Uint8Array, what: string): EcPoint {
  try {
    return group.decodePoint(bytes);
  } catch (e) {
    if (e instanceof EcPointError) throw new PaceError('card-not-authenticated', `${what}: ${e.message}`);
    throw e;
  }
}

/**
 * Runs PACE over `transport` and returns a secure-messaging transport for the new session.
 *
 * @example const sm = await performPace(t, { kind: 'mrz', password: 'T22000129364081251010318', parameterId: 13 });
 */
export async function performPace(transport: Transport, opts: PaceOptions): Promise<SecureMessagingTransport> {
  if (opts === null || typeof opts !== 'object') throw new ByteInputError('opts: expected { kind, password, … }');
  const ref = PACE_PASSWORD_REFERENCE[opts.kind];
  if (ref === undefined) throw new ByteInputError(`opts.kind: expected 'mrz', 'can', 'pin' or 'puk', got ${String(opts.kind)}`);
  const { suite, group, parameterId, sendParameterId } = choose(opts);
  const random = randomSource(opts.random);
  const password = passwordBytes(opts.kind, opts.password);
  const kPi = passwordKey(suite, opts.kind, password);
  zeroize(password);
  let s: Uint8Array | undefined;
  let k: Uint8Array | undefined;
  let keys: { kEnc: Uint8Array; kMac: Uint8Array } | undefined;
  try {
    // MSE:Set AT (ICAO 9303-11 §4.4.4.1).
    const mseData = [encodeTlv(0x80, suite.oidBytes), encodeTlv(0x83, new Uint8Array([ref]))];
    if (sendParameterId) mseData.push(encodeTlv(0x84, new Uint8Array([parameterId])));
    const body = concatBytes(...mseData);
    const mse = new Uint8Array(5 + body.length);
    mse.set([0x00, 0x22, 0xc1, 0xa4, body.length]);
    mse.set(body, 5);
    const set = parseResponseApdu(await transport.transmit(mse));
    let triesLeft: number | undefined;
    if ((set.sw & 0xfff0) === 0x63c0) triesLeft = set.sw & 0x0f;
    else if (set.sw !== 0x9000) {
      const hint = set.sw === 0x6a88 ? ': the chip has no such password or domain parameters' : set.sw === 0x6a80 ? ': protocol or parameters not supported' : '';
      throw new PaceError('set-at', `MSE:Set AT answered ${u16Hex(set.sw)}${hint}`, set.sw);
    }

    // 1. Encrypted nonce.
    const r1 = await step(transport, gaCommand(false, null), 'GENERAL AUTHENTICATE (encrypted nonce)');
    try {
      s = decryptNonce(suite, kPi, responseDo(r1, 0x80, 'encrypted nonce'));
    } catch (e) {
      if (e instanceof PaceCryptoError) throw new PaceError('card-not-authenticated', e.message);
      throw e;
    }

    // 2. Generic Mapping.
    const skMap = randomScalar(group, random);
    const pkMap = group.baseMultiply(skMap);
    const r2 = await step(transport, gaCommand(false, 0x81, group.encodePoint(pkMap)), 'GENERAL AUTHENTICATE (map nonce)');
    const pkMapIc = decodeCardPoint(group, responseDo(r2, 0x82, 'map nonce'), 'PK_Map,IC');

    // 3. Key agreement on the mapped generator.
    const skDh = randomScalar(group, random);
    let pkDh: EcPoint;
    try {
      pkDh = mappedPublicKey(group, s, skMap, pkMapIc, skDh);
    } catch (e) {
      if (e instanceof PaceCryptoError) throw new PaceError('card-not-authenticated', e.message);
      throw e;
    }
    zeroize(s);
    const pkDhBytes = group.encodePoint(pkDh);
    const r3 = await step(transport, gaCommand(false, 0x83, pkDhBytes), 'GENERAL AUTHENTICATE (key agreement)');
    const pkDhIcBytes = responseDo(r3, 0x84, 'key agreement');
    const pkDhIc = decodeCardPoint(group, pkDhIcBytes, 'PK_DH,IC');
    try {
      k = sharedSecret(group, skDh, pkDhIc, pkDh);
    } catch (e) {
      if (e instanceof PaceCryptoError) throw new PaceError('card-not-authenticated', e.message);
      throw e;
    }
    keys = sessionKeys(suite, k);

    // 4. Mutual authentication with the tokens.
    const tIfd = authenticationToken(suite, keys.kMac, group.encodePoint(pkDhIc));
    const r4 = parseResponseApdu(await transport.transmit(gaCommand(true, 0x85, tIfd)));
    if (r4.sw !== 0x9000) {
      const counter = (r4.sw & 0xfff0) === 0x63c0 ? r4.sw & 0x0f : undefined;
      const what = opts.kind === 'mrz' ? 'the MRZ' : `the ${opts.kind.toUpperCase()}`;
      const detail = r4.sw === 0x6300 || counter !== undefined
        ? `: ${what} does not match this chip${counter !== undefined ? ` (${counter} tr${counter === 1 ? 'y' : 'ies'} left)` : ''}`
        : '';
      throw new PaceError(r4.sw === 0x6300 || counter !== undefined ? 'rejected' : 'step', `GENERAL AUTHENTICATE (mutual authentication) answered ${u16Hex(r4.sw)}${detail}`, r4.sw, counter ?? triesLeft);
    }
    const tIc = responseDo(r4, 0x86, 'mutual authentication');
    if (!tokenMatches(authenticationToken(suite, keys.kMac, pkDhBytes), tIc)) {
      throw new PaceError('card-not-authenticated', "the chip's authentication token does not verify (wrong chip, or tampered with)");
    }

    const below = transport instanceof SecureMessagingTransport ? transport.inner : transport;
    if (transport instanceof SecureMessagingTransport) transport.close();
    return new SecureMessagingTransport(below, { cipher: 'aes', kEnc: keys.kEnc, kMac: keys.kMac, ssc: new Uint8Array(16) });
  } finally {
    zeroize(kPi);
    if (s) zeroize(s);
    if (k) zeroize(k);
    if (keys) {
      zeroize(keys.kEnc);
      zeroize(keys.kMac);
    }
  }
}
