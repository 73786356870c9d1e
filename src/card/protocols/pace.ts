/**
 * PACE, card side (ICAO Doc 9303-11 §4.4; BSI TR-03110-2 §3.2, TR-03110-3 §B.11): MSE:Set AT and
 * the four GENERAL AUTHENTICATE steps an applet offers while selected, with the cryptography of
 * `crypto/pace.ts`. An applet puts them in its INS table:
 *
 *     commands: paceCommands(pacePasswords({ protocols, mrz: (ctx) => …, can: { pin: 0x02 }, pin: 0x03, puk: 0x04 }))
 *
 * MSE:Set AT `00 22 C1 A4 Lc 80 <OID> 83 <password> [84 <parameter ID>] [7F4C <CHAT>]`:
 * - 80: a PACE protocol OID the chip offers (`source.protocols`); unknown, unsupported or not
 *   offered → 6A80. 83: 01 MRZ, 02 CAN, 03 PIN, 04 PUK; another value → 6A80; a password this
 *   document does not have → 6A88. 84: a parameter ID offered with that OID (6A88 otherwise);
 *   required when the OID is offered with several (6A80 when missing). 7F4C (CHAT) and 67
 *   (auxiliary data) are accepted and not interpreted: there is no Terminal Authentication here.
 *   Any other DO, or one twice → 6A80. P1-P2 other than C1A4 → 6A86.
 * - Answer: 9000; for a PIN or PUK whose counter is below its maximum, the warning 63CX (X tries
 *   left; 63C1 = suspended, 63C0 = blocked), as TR-03110-3 §B.11.1 announces it. The protocol is
 *   set up either way; GENERAL AUTHENTICATE refuses a blocked or suspended password.
 *
 * GENERAL AUTHENTICATE `10 86 00 00 Lc 7C … 00` (steps 1–3, chained) and `00 86 …` (step 4):
 * 1. `7C 00` → `7C 80 z`: draws the nonce s (16 or 32 bytes) from the card RNG; z = E(Kπ, s).
 *    Refused before anything is drawn: a blocked PIN/PUK → 6983; a suspended PIN (one try
 *    left) without a PACE with CAN in force on this channel → 6985 (TR-03110-2 §3.5.1).
 * 2. `7C 81 PK_Map,IFD` → `7C 82 PK_Map,IC`: draws SK_Map,IC.
 * 3. `7C 83 PK_DH,IFD` → `7C 84 PK_DH,IC`: draws SK_DH,IC; derives KSenc, KSmac.
 * 4. `7C 85 T_IFD` → `7C 86 T_IC`. For a PIN or PUK a try is spent and committed *before* the
 *    token is compared (the anti-tearing rule of commands/pin.ts), and restored on a match. A
 *    wrong token (wrong password) → 6300, or 63CX for a PIN/PUK (tries left); the channel's
 *    status for that PIN is dropped. A match starts AES secure messaging (SSC 0) and records the
 *    security status — see "Security status" below.
 * So a replay feeds the card RNG s ‖ SK_Map,IC ‖ SK_DH,IC (ICAO 9303-11 Appendix G).
 * Every step checks it comes in order, chained as ICAO 9303-11 §4.4.4.2 says (steps 1–3 with the
 * chaining bit, else 6985; step 4 without, else 6883), with exactly the expected DO (6A80), and
 * public keys that decode to points of the curve (6A80; also when PK_DH,IFD = PK_DH,IC). Any
 * failure ends the run: the terminal starts again with MSE:Set AT (6985 otherwise).
 *
 * Security status after PACE (ICAO 9303-11 §4.4, TR-03110-2 §3.5): the channel's secure
 * messaging session is a {@link PaceSmSession} that remembers which password was used
 * ({@link pacePasswordInForce}); PINs and keys verified before are dropped; the PIN object used —
 * the PIN, the PUK, or the CAN when it is a PIN object — counts as verified on the channel
 * (`channel.pins`), so access rules `PIN(ref)` and RESET RETRY COUNTER P1=03 (unblock with a PUK
 * verified by PACE, BSI TR-03110-2 §3.5.2) work as for VERIFY. All of it ends with the SM session
 * (a plain command, an SM error, reset).
 *
 * PACE under secure messaging (CAN first, then PIN: the resume of a suspended PIN): the commands
 * arrive protected under the CAN session and so do the answers, including the last one; the new
 * keys apply from the next command on. {@link PaceSmSession} does that switch itself after
 * protecting the last answer, since the card OS sends a response in plain when a handler has
 * replaced the channel's session.
 */
import { SW, StatusWordError, counterSw } from '../../apdu/status.js';
import type { CommandApdu } from '../../apdu/command.js';
import type { ResponseApdu } from '../../apdu/response.js';
import { INS } from '../../apdu/ins.js';
import { zeroize } from '../../bytes/index.js';
import { encodeTlv, tlvConstructed } from '../../tlv/ber.js';
import { commandTlv, commandTlvList } from '../command-data.js';
import { EcPointError, customGroup, randomScalar, standardizedGroup, type CurveParameters, type EcGroup, type EcPoint } from '../../crypto/curves.js';
import {
  PaceCryptoError,
  authenticationToken,
  encryptNonce,
  mappedPublicKey,
  nonceLength,
  passwordKey,
  passwordKindOf,
  paceSuite,
  sessionKeys,
  sharedSecret,
  tokenMatches,
  type PacePasswordKind,
  type PaceSuite,
} from '../../crypto/pace.js';
import { encodeSecurityInfos, type SecurityInfo } from '../../crypto/security-infos.js';
import type { Channel, SecureMessagingSession } from '../channel.js';
import { findPin, type CommandContext } from '../context.js';
import { defineInsTable, type CommandHandler, type InsTable } from '../dispatch.js';
import { hexRef, type PinObject } from '../security/objects.js';
import { restoreTries, spendTry } from '../commands/pin.js';
import { CardSmSession } from './secure-messaging.js';

/** P1-P2 of MSE:Set AT for mutual authentication (PACE), ISO/IEC 7816-4 §11.5.11. */
export const MSE_SET_AT_PACE = 0xc1a4;

/** One PACE protocol the chip offers: what EF.CardAccess announces in a PACEInfo. */
export interface PaceProtocol {
  /** PACE protocol OID, dotted (e.g. `PACE_OID.ECDH_GM_AES_128`). */
  readonly protocol: string;
  /**
   * Standardized domain parameter ID (ICAO 9303-11 §9.5.1: 12 P-256, 13 brainpoolP256r1,
   * 15 P-384, 16 brainpoolP384r1, 17 brainpoolP512r1, 18 P-521), or a proprietary one (32–127)
   * together with `curve`.
   */
  readonly parameterId: number;
  /** Explicit curve for a proprietary `parameterId` (announced in a PACEDomainParameterInfo). */
  readonly curve?: CurveParameters;
}

/** A PACE password as the card holds it. */
export type PacePassword =
  /** The MRZ information or the CAN digits: no retry counter (TR-03110-2 §3.5: non-blocking). */
  | { readonly value: Uint8Array }
  /**
   * A PIN object of the card: its value is the password. A PIN or PUK is retry-counted (and the
   * PIN suspended at one try left); a CAN kept as a PIN object is not counted.
   */
  | { readonly pin: PinObject };

/** Where the card finds what PACE needs. */
export interface PacePasswordSource {
  /** The protocols MSE:Set AT accepts — the same list EF.CardAccess announces ({@link paceCardAccess}). */
  readonly protocols: readonly PaceProtocol[];
  /** The password a DO 83 reference names; `undefined` → 6A88 (this document has none). */
  password(kind: PacePasswordKind, ctx: CommandContext): PacePassword | undefined;
}

/**
 * A {@link PacePasswordSource} from values and PIN references: `mrz` and `can` as bytes (or a
 * function of the context, e.g. reading the applet's store), `can` also as `{ pin: ref }`; `pin`
 * and `puk` as PIN references resolved from the current DF like VERIFY does.
 *
 * @example pacePasswords({ protocols: [{ protocol: PACE_OID.ECDH_GM_AES_128, parameterId: 13 }], can: ascii('123456'), pin: 0x03, puk: 0x04 })
 */
export function pacePasswords(spec: {
  readonly protocols: readonly PaceProtocol[];
  readonly mrz?: Uint8Array | ((ctx: CommandContext) => Uint8Array | undefined);
  readonly can?: Uint8Array | { readonly pin: number } | ((ctx: CommandContext) => Uint8Array | undefined);
  readonly pin?: number;
  readonly puk?: number;
}): PacePasswordSource {
  const value = (v: Uint8Array | ((ctx: CommandContext) => Uint8Array | undefined) | undefined, ctx: CommandContext): PacePassword | undefined => {
    const bytes = typeof v === 'function' ? v(ctx) : v;
    return bytes === undefined ? undefined : { value: bytes };
  };
  const pinRef = (ref: number | undefined, ctx: CommandContext): PacePassword | undefined => {
    if (ref === undefined) return undefined;
    const pin = findPin(ctx.channel.df, ref);
    return pin === undefined ? undefined : { pin };
  };
  return Object.freeze({
    protocols: Object.freeze([...spec.protocols]),
    password(kind: PacePasswordKind, ctx: CommandContext): PacePassword | undefined {
      switch (kind) {
        case 'mrz':
          return value(spec.mrz, ctx);
        case 'can': {
          const c = spec.can;
          if (c !== undefined && !(c instanceof Uint8Array) && typeof c !== 'function') return pinRef(c.pin, ctx);
          return value(c, ctx);
        }
        case 'pin':
          return pinRef(spec.pin, ctx);
        case 'puk':
          return pinRef(spec.puk, ctx);
      }
    },
  });
}

/**
 * EF.CardAccess content for the protocols a chip offers: one PACEInfo (version 2) per protocol,
 * plus a PACEDomainParameterInfo for each proprietary curve (ICAO 9303-11 §9.2.1, §9.2.2).
 *
 * @example attach(nv, mf, newTransparentEf(0x011c, n, { sfi: 0x1c, data: paceCardAccess(protocols) }))
 */
export function paceCardAccess(protocols: readonly PaceProtocol[], others: readonly SecurityInfo[] = []): Uint8Array {
  const infos: SecurityInfo[] = [...others];
  for (const p of protocols) {
    infos.push({ type: 'PACEInfo', protocol: p.protocol, version: 2, parameterId: p.parameterId });
    if (p.curve !== undefined) {
      const family = p.protocol.split('.').slice(0, -1).join('.');
      const group = customGroup(p.curve);
      infos.push({
        type: 'PACEDomainParameterInfo',
        protocol: family,
        domainParameter: { kind: 'ec', curve: p.curve, fieldLength: group.fieldLength },
        parameterId: p.parameterId,
      });
    }
  }
  return encodeSecurityInfos(infos);
}

// --- secure messaging after PACE ------------------------------------------------------------------

/**
 * The secure-messaging session PACE starts: an AES {@link CardSmSession} plus the password that
 * established it. A new PACE run under this session replaces the keys only after the last answer
 * of that run was protected with the old ones.
 *
 * @example ch.sm = new PaceSmSession(new CardSmSession({ cipher: 'aes', kEnc, kMac, ssc: new Uint8Array(16) }), 'can')
 */
export class PaceSmSession implements SecureMessagingSession {
  #inner: CardSmSession;
  #password: PacePasswordKind;
  #next: { readonly inner: CardSmSession; readonly password: PacePasswordKind } | null = null;

  constructor(inner: CardSmSession, password: PacePasswordKind) {
    this.#inner = inner;
    this.#password = password;
  }

  /** The password of the PACE run whose keys are in force. */
  get password(): PacePasswordKind {
    return this.#password;
  }

  /** The codec session in force (its SSC, for conformance checks). */
  get inner(): CardSmSession {
    return this.#inner;
  }

  unwrapCommand(cmd: CommandApdu): CommandApdu {
    return this.#inner.unwrapCommand(cmd);
  }

  wrapResponse(data: Uint8Array, sw: number): Uint8Array {
    const out = this.#inner.wrapResponse(data, sw);
    const next = this.#next;
    if (next !== null) {
      this.#next = null;
      this.#inner = next.inner;
      this.#password = next.password;
    }
    return out;
  }

  /** New keys from a PACE run under this session, in force after the current answer. */
  replaceAfterResponse(inner: CardSmSession, password: PacePasswordKind): void {
    this.#next = { inner, password };
  }

  end(): void {
    this.#inner.end();
    this.#next?.inner.end();
    this.#next = null;
  }
}

/**
 * The password of the PACE session in force on a channel, or `undefined` when the channel has no
 * PACE session (none yet, ended, or replaced by another protocol's).
 *
 * @example if (pacePasswordInForce(ctx.channel) !== 'pin') throw new StatusWordError(SW.SECURITY_STATUS_NOT_SATISFIED)
 */
export function pacePasswordInForce(channel: Channel): PacePasswordKind | undefined {
  return channel.sm instanceof PaceSmSession ? channel.sm.password : undefined;
}

// --- the protocol run -----------------------------------------------------------------------------

/** A PACE run in progress on a channel, between MSE:Set AT and the last GENERAL AUTHENTICATE. */
interface Run {
  readonly suite: PaceSuite;
  readonly group: EcGroup;
  readonly kind: PacePasswordKind;
  readonly password: PacePassword;
  /** The SM session the run started under (null = plain); it must not change during the run. */
  readonly sm: SecureMessagingSession | null;
  /** Next step expected: 1..4. */
  step: 1 | 2 | 3 | 4;
  s?: Uint8Array;
  skMap?: bigint;
  pkMapPeer?: EcPoint;
  /** PK_DH,IC and PK_DH,IFD, encoded: T_IFD covers the first, T_IC the second. */
  pkDhOwn?: Uint8Array;
  pkDhPeer?: Uint8Array;
  kEnc?: Uint8Array;
  kMac?: Uint8Array;
}

const runs = new WeakMap<Channel, Run>();

function endRun(channel: Channel): void {
  const r = runs.get(channel);
  if (r === undefined) return;
  runs.delete(channel);
  for (const b of [r.s, r.kEnc, r.kMac]) if (b !== undefined) zeroize(b);
}

/** A retry-counted password: the PIN or the PUK (a CAN stored as a PIN object is not counted). */
function counted(run: Pick<Run, 'kind' | 'password'>): PinObject | undefined {
  if (!('pin' in run.password)) return undefined;
  return run.kind === 'pin' || run.kind === 'puk' ? run.password.pin : undefined;
}

function passwordBytes(p: PacePassword): Uint8Array {
  return 'pin' in p ? p.pin.value : p.value;
}

/** Groups of explicit curves, built once per protocol entry (noble caches its tables per group). */
const explicitGroups = new WeakMap<CurveParameters, EcGroup>();

function groupFor(p: PaceProtocol): EcGroup | undefined {
  if (p.curve === undefined) return standardizedGroup(p.parameterId);
  let g = explicitGroups.get(p.curve);
  if (g === undefined) {
    g = customGroup(p.curve);
    explicitGroups.set(p.curve, g);
  }
  return g;
}

const EMPTY = new Uint8Array(0);
const MSE_TAGS: ReadonlySet<number> = new Set([0x80, 0x83, 0x84, 0x7f4c, 0x67]);


function mseSetAt(source: PacePasswordSource): CommandHandler['run'] {
  return (cmd: CommandApdu, ctx: CommandContext): ResponseApdu | void => {
    if (((cmd.p1 << 8) | cmd.p2) !== MSE_SET_AT_PACE) {
      throw new StatusWordError(SW.INCORRECT_P1P2, 'MANAGE SECURITY ENVIRONMENT: only Set AT for PACE (P1-P2 C1A4) is supported here');
    }
    endRun(ctx.channel);
    const dos = commandTlvList(cmd.data, 'MSE:Set AT data');
    const seen = new Set<number>();
    for (const d of dos) {
      if (!MSE_TAGS.has(d.tag)) throw new StatusWordError(SW.INCORRECT_DATA, `MSE:Set AT: DO ${d.tag.toString(16).toUpperCase()} is not used by PACE`);
      if (seen.has(d.tag)) throw new StatusWordError(SW.INCORRECT_DATA, `MSE:Set AT: DO ${d.tag.toString(16).toUpperCase()} given twice`);
      seen.add(d.tag);
    }
    const oid = dos.find((d) => d.tag === 0x80);
    const ref = dos.find((d) => d.tag === 0x83);
    const pid = dos.find((d) => d.tag === 0x84);
    if (oid === undefined || ref === undefined) throw new StatusWordError(SW.INCORRECT_DATA, 'MSE:Set AT: DO 80 (protocol) and DO 83 (password) are required');
    const suite = paceSuite(oid.value);
    if (suite === undefined || !suite.supported) throw new StatusWordError(SW.INCORRECT_DATA, 'MSE:Set AT: protocol not supported');
    const offered = source.protocols.filter((p) => p.protocol === suite.oid);
    if (offered.length === 0) throw new StatusWordError(SW.INCORRECT_DATA, `MSE:Set AT: ${suite.name} is not offered by this chip`);
    let protocol: PaceProtocol | undefined;
    if (pid !== undefined) {
      if (pid.value.length !== 1) throw new StatusWordError(SW.INCORRECT_DATA, 'MSE:Set AT: DO 84 must be one byte (the parameter ID)');
      protocol = offered.find((p) => p.parameterId === pid.value[0]);
      if (protocol === undefined) throw new StatusWordError(SW.REFERENCE_NOT_FOUND, `MSE:Set AT: no domain parameters ${pid.value[0]} for ${suite.name}`);
    } else {
      if (offered.length > 1) throw new StatusWordError(SW.INCORRECT_DATA, 'MSE:Set AT: DO 84 is required, the chip offers several domain parameters for this protocol');
      protocol = offered[0]!;
    }
    const group = groupFor(protocol);
    if (group === undefined) throw new StatusWordError(SW.REFERENCE_NOT_FOUND, `MSE:Set AT: domain parameters ${protocol.parameterId} are not available`);
    const kind = ref.value.length === 1 ? passwordKindOf(ref.value[0]!) : undefined;
    if (kind === undefined) throw new StatusWordError(SW.INCORRECT_DATA, 'MSE:Set AT: DO 83 must be 01 (MRZ), 02 (CAN), 03 (PIN) or 04 (PUK)');
    const password = source.password(kind, ctx);
    if (password === undefined) throw new StatusWordError(SW.REFERENCE_NOT_FOUND, `MSE:Set AT: this document has no ${kind.toUpperCase()}`);
    runs.set(ctx.channel, { suite, group, kind, password, sm: ctx.channel.sm, step: 1 });
    const pin = counted({ kind, password });
    if (pin !== undefined && pin.tries < pin.maxTries) return { data: EMPTY, sw: counterSw(pin.tries) };
  };
}

/** The one DO of a step's 7C template, or 6A80. */
function stepDo(cmd: CommandApdu, tag: number | null): Uint8Array {
  const t = commandTlv(cmd.data, 'GENERAL AUTHENTICATE data');
  if (t.tag !== 0x7c) throw new StatusWordError(SW.INCORRECT_DATA, 'GENERAL AUTHENTICATE: expected a dynamic authentication data template (7C)');
  const kids = t.children ?? [];
  if (tag === null) {
    if (kids.length !== 0) throw new StatusWordError(SW.INCORRECT_DATA, 'GENERAL AUTHENTICATE step 1: the template must be empty');
    return EMPTY;
  }
  if (kids.length !== 1 || kids[0]!.tag !== tag) {
    throw new StatusWordError(SW.INCORRECT_DATA, `GENERAL AUTHENTICATE: expected exactly DO ${tag.toString(16).toUpperCase()} in 7C`);
  }
  return kids[0]!.value;
}

function answer(tag: number, value: Uint8Array): Uint8Array {
  return tlvConstructed(0x7c, encodeTlv(tag, value));
}

function decodePeer(group: EcGroup, bytes: Uint8Array, what: string): EcPoint {
  try {
    return group.decodePoint(bytes);
  } catch (e) {
    if (e instanceof EcPointError) throw new StatusWordError(SW.INCORRECT_DATA, `${what}: ${e.message}`);
    throw e;
  }
}

/** The PIN rules checked before the nonce is drawn (TR-03110-2 §3.5.1). */
function checkUsable(run: Run, ctx: CommandContext): void {
  const pin = counted(run);
  if (pin === undefined) return;
  const name = `${pin.label} ${hexRef(pin.ref)}`;
  if (pin.tries <= 0) throw new StatusWordError(SW.AUTH_METHOD_BLOCKED, `${name} is blocked`);
  if (run.kind === 'pin' && pin.tries === 1 && pin.maxTries > 1 && pacePasswordInForce(ctx.channel) !== 'can') {
    throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, `${name} is suspended: PACE with the CAN first`);
  }
}

function step1(run: Run, cmd: CommandApdu, ctx: CommandContext): Uint8Array {
  stepDo(cmd, null);
  checkUsable(run, ctx);
  const kPi = passwordKey(run.suite, run.kind, passwordBytes(run.password));
  try {
    const s = ctx.rng.bytes(nonceLength(run.suite));
    run.s = s;
    return answer(0x80, encryptNonce(run.suite, kPi, s));
  } finally {
    zeroize(kPi);
  }
}

function step2(run: Run, cmd: CommandApdu, ctx: CommandContext): Uint8Array {
  const pk = decodePeer(run.group, stepDo(cmd, 0x81), 'PK_Map,IFD');
  run.pkMapPeer = pk;
  run.skMap = randomScalar(run.group, (n) => ctx.rng.bytes(n));
  return answer(0x82, run.group.encodePoint(run.group.baseMultiply(run.skMap)));
}

function step3(run: Run, cmd: CommandApdu, ctx: CommandContext): Uint8Array {
  const g = run.group;
  const pkPeer = decodePeer(g, stepDo(cmd, 0x83), 'PK_DH,IFD');
  const skDh = randomScalar(g, (n) => ctx.rng.bytes(n));
  const pkDh = mappedPublicKey(g, run.s!, run.skMap!, run.pkMapPeer!, skDh);
  const k = sharedSecret(g, skDh, pkPeer, pkDh);
  try {
    const keys = sessionKeys(run.suite, k);
    run.kEnc = keys.kEnc;
    run.kMac = keys.kMac;
  } finally {
    zeroize(k);
  }
  zeroize(run.s!);
  run.s = undefined;
  run.skMap = undefined;
  run.pkDhOwn = g.encodePoint(pkDh);
  run.pkDhPeer = g.encodePoint(pkPeer);
  return answer(0x84, run.pkDhOwn);
}

function step4(run: Run, cmd: CommandApdu, ctx: CommandContext): ResponseApdu {
  const tIfd = stepDo(cmd, 0x85);
  const pin = counted(run);
  // Anti-tearing (commands/pin.ts): the try is spent and committed before the comparison.
  if (pin !== undefined) spendTry(ctx, pin);
  const ch = ctx.channel;
  const expected = authenticationToken(run.suite, run.kMac!, run.pkDhOwn!);
  if (!tokenMatches(expected, tIfd)) {
    if (pin !== undefined) {
      ch.pins.delete(pin);
      throw new StatusWordError(counterSw(pin.tries), `PACE with ${pin.label} ${hexRef(pin.ref)}: authentication token mismatch`);
    }
    throw new StatusWordError(SW.WARN_NV_CHANGED, `PACE with the ${run.kind.toUpperCase()}: authentication token mismatch`);
  }
  if (pin !== undefined) restoreTries(ctx, pin);
  const tIc = authenticationToken(run.suite, run.kMac!, run.pkDhPeer!);
  const session = new CardSmSession({ cipher: 'aes', kEnc: run.kEnc!, kMac: run.kMac!, ssc: new Uint8Array(16) });
  // A new session starts from nothing (ICAO 9303-11 §4.4): earlier verifications do not carry over.
  ch.pins.clear();
  ch.keys.clear();
  ch.challenge = null;
  ch.persoAuthenticated = false;
  if (ch.sm instanceof PaceSmSession) ch.sm.replaceAfterResponse(session, run.kind);
  else ch.sm = new PaceSmSession(session, run.kind);
  if ('pin' in run.password) ch.pins.add(run.password.pin);
  return { data: answer(0x86, tIc), sw: SW.OK };
}

function generalAuthenticate(cmd: CommandApdu, ctx: CommandContext): Uint8Array | ResponseApdu {
  if (cmd.p1 !== 0 || cmd.p2 !== 0) throw new StatusWordError(SW.INCORRECT_P1P2, 'GENERAL AUTHENTICATE (PACE): P1-P2 must be 0000');
  const ch = ctx.channel;
  const run = runs.get(ch);
  if (run === undefined || run.sm !== ch.sm) {
    endRun(ch);
    throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, 'GENERAL AUTHENTICATE: no PACE run set up on this channel (MSE:Set AT first)');
  }
  try {
    const last = run.step === 4;
    if (cmd.cla.chaining === last) {
      throw last
        ? new StatusWordError(SW.LAST_COMMAND_OF_CHAIN_EXPECTED, 'GENERAL AUTHENTICATE step 4 must end the chain')
        : new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, `GENERAL AUTHENTICATE step ${run.step} must be chained (CLA b5 = 1)`);
    }
    switch (run.step) {
      case 1: {
        const r = step1(run, cmd, ctx);
        run.step = 2;
        return r;
      }
      case 2: {
        const r = step2(run, cmd, ctx);
        run.step = 3;
        return r;
      }
      case 3: {
        const r = step3(run, cmd, ctx);
        run.step = 4;
        return r;
      }
      case 4: {
        const r = step4(run, cmd, ctx);
        endRun(ch);
        return r;
      }
    }
  } catch (e) {
    endRun(ch);
    if (e instanceof PaceCryptoError) throw new StatusWordError(SW.INCORRECT_DATA, e.message);
    throw e;
  }
}

/**
 * GENERAL AUTHENTICATE's commands are protocol steps, each answered on its own, chained with the
 * CLA chaining bit (ICAO 9303-11 §4.4.4.2): the OS must hand every command of the chain to the
 * handler instead of collecting them ({@link CommandHandler.stepChaining}).
 */
const GENERAL_AUTHENTICATE: CommandHandler & { readonly stepChaining: true } = {
  name: 'GENERAL AUTHENTICATE',
  stepChaining: true,
  run: generalAuthenticate,
};

/**
 * MSE:Set AT and GENERAL AUTHENTICATE for PACE, for an applet's INS table.
 *
 * @example
 * const mrtd: AppletFactory = {
 *   type: 'mrtd',
 *   create: () => ({ commands: paceCommands(pacePasswords({ protocols, mrz: mrzPassword('T22000129364081251010318') })) }),
 * };
 */
export function paceCommands(source: PacePasswordSource): InsTable {
  return defineInsTable(
    [INS.MANAGE_SECURITY_ENVIRONMENT, { name: 'MANAGE SECURITY ENVIRONMENT', run: mseSetAt(source) }],
    [INS.GENERAL_AUTHENTICATE, GENERAL_AUTHENTICATE],
  );
}
