/**
 * Chip Authentication version 1, card side (ICAO 9303-11 §6.2; BSI TR-03110 EAC 1.11 §4.2, B.1),
 * under the secure messaging of BAC or PACE. Both command forms ICAO describes:
 *
 *     MSE:Set KAT   00 22 41 A6 Lc 91 <PK_IFD> [84 <keyId>]                  3DES protocols (§6.2.4.1)
 *     MSE:Set AT    00 22 41 A4 Lc 80 <CA OID> [84 <keyId>]                  any protocol, then
 *     GENERAL AUTHENTICATE 00 86 00 00 Lc 7C L 80 <PK_IFD> 00 → 7C 00        (§6.2.4.2, TR-03110-3 §B.11.8)
 *
 * The chip computes K = x(SK_IC · PK_IFD) with the static key of DG14 (a key-store slot of usage
 * `chip-authentication`), derives KSenc/KSmac for the protocol's cipher (ICAO 9303-11 §9.7.1) and
 * restarts secure messaging with SSC 0: the answer to MSE:Set KAT / GENERAL AUTHENTICATE is still
 * protected with the old keys (the OS wraps it with the session that unwrapped the command), every
 * later command must use the new ones — the old keys then fail (6988) and are wiped. The security
 * status of the channel (verified PINs, the PACE password in force) carries over.
 *
 * Which key: `84` is the keyId of DG14 (ChipAuthenticationInfo.keyId); without it, the one
 * configured key for the protocol (several → 6A80, `84` required). MSE:Set KAT takes only 3DES
 * protocols (ICAO 9303-11 §6.2.4: "MSE:Set KAT ... for 3DES"; 6A80 otherwise).
 *
 * Errors: no secure messaging → 6982; unknown protocol or keyId, malformed DOs → 6A80 / 6A88;
 * GENERAL AUTHENTICATE without a current CA MSE:Set AT → 6985; PK_IFD not a point of the curve →
 * 6A80 (the session stays as it was); the key's checks (`key-store.ts`).
 *
 * GENERAL AUTHENTICATE is step-chained like PACE's: a chained 7C is collected and answered 9000
 * until its last part (what JMRTD falls back to).
 *
 * @example
 * commands: composeTables(paceCommands(source), chipAuthCommands({ keys: [{ key: 0x02, protocol: CA_OID.ECDH_AES_128, keyId: 1 }] }))
 */
import { SW, StatusWordError } from '../../apdu/status.js';
import type { CommandApdu } from '../../apdu/command.js';
import { INS } from '../../apdu/ins.js';
import { concatBytes, readUintBE, zeroize } from '../../bytes/index.js';
import type { Tlv } from '../../tlv/ber.js';
import { commandTlv, commandTlvList } from '../command-data.js';
import { AsymmetricCryptoError, ecdhSharedSecret, encodeSubjectPublicKeyInfo } from '../../crypto/asymmetric.js';
import { caSessionKeys, caSuite, wipeSmKeys, type CaSuite } from '../../crypto/ca.js';
import type { SmKeys } from '../../crypto/sm.js';
import {
  PK_OID,
  chipAuthenticationInfo,
  chipAuthenticationPublicKeyInfo,
  type OtherSecurityInfo,
} from '../../crypto/security-infos.js';
import type { Channel, SecureMessagingSession } from '../channel.js';
import type { CommandContext } from '../context.js';
import { defineInsTable, type InsTable } from '../dispatch.js';
import type { DedicatedFile } from '../fs/file.js';
import { lastRoute, type RoutedHandler } from '../route.js';
import { hexRef } from '../security/objects.js';
import { authorizeKey, consumeKeyUse, findAsymmetricKey, keyPublicInfo, privateMaterial } from './key-store.js';
import { namesChipAuthentication } from './mse.js';
import { PaceSmSession } from './pace.js';
import { CardSmSession } from './secure-messaging.js';

/** One Chip Authentication key the chip offers: what a ChipAuthenticationInfo announces. */
export interface ChipAuthKey {
  /** Reference of the key slot (usage `chip-authentication`), found from the current DF upwards. */
  readonly key: number;
  /** A CA protocol OID, dotted (`CA_OID.ECDH_AES_128`, …). */
  readonly protocol: string;
  /** DG14's keyId (MSE DO 84); needed when the chip has several CA keys. */
  readonly keyId?: number;
}

export interface ChipAuthConfig {
  readonly keys: readonly ChipAuthKey[];
}

/** A secure-messaging session that wipes the one it replaced once it is used (or ends). */
class SuccessorSmSession extends CardSmSession {
  #previous: SecureMessagingSession | null;

  constructor(keys: SmKeys, previous: SecureMessagingSession) {
    super(keys);
    this.#previous = previous;
  }

  #retire(): void {
    this.#previous?.end?.();
    this.#previous = null;
  }

  override unwrapCommand(cmd: CommandApdu): CommandApdu {
    this.#retire();
    return super.unwrapCommand(cmd);
  }

  override end(): void {
    this.#retire();
    super.end();
  }
}

/** A Chip Authentication set up by MSE:Set AT, waiting for GENERAL AUTHENTICATE. */
interface Pending {
  readonly entry: ChipAuthKey;
  readonly suite: CaSuite;
  parts: Uint8Array[];
  total: number;
}

const pending = new WeakMap<Channel, Pending>();


function only(list: readonly Tlv[], allowed: readonly number[], what: string): void {
  const seen = new Set<number>();
  for (const d of list) {
    if (!allowed.includes(d.tag)) throw new StatusWordError(SW.INCORRECT_DATA, `${what}: DO ${d.tag.toString(16).toUpperCase()} is not used by Chip Authentication`);
    if (seen.has(d.tag)) throw new StatusWordError(SW.INCORRECT_DATA, `${what}: DO ${d.tag.toString(16).toUpperCase()} given twice`);
    seen.add(d.tag);
  }
}

function keyIdOf(list: readonly Tlv[], what: string): number | undefined {
  const d = list.find((x) => x.tag === 0x84);
  if (d === undefined) return undefined;
  if (d.value.length < 1 || d.value.length > 4) throw new StatusWordError(SW.INCORRECT_DATA, `${what}: DO 84 (keyId) must be 1..4 bytes`);
  return readUintBE(d.value);
}

/** The configured key for a protocol filter and an optional keyId. */
function choose(config: ChipAuthConfig, fits: (s: CaSuite) => boolean, keyId: number | undefined, what: string): { entry: ChipAuthKey; suite: CaSuite } {
  const candidates = config.keys
    .map((entry) => ({ entry, suite: caSuite(entry.protocol) }))
    .filter((c): c is { entry: ChipAuthKey; suite: CaSuite } => c.suite !== undefined && c.suite.supported && fits(c.suite))
    .filter((c) => keyId === undefined || c.entry.keyId === keyId);
  if (candidates.length === 0) {
    throw new StatusWordError(keyId === undefined ? SW.INCORRECT_DATA : SW.REFERENCE_NOT_FOUND, `${what}: no Chip Authentication key${keyId === undefined ? '' : ` with keyId ${keyId}`} for this protocol`);
  }
  if (candidates.length > 1) throw new StatusWordError(SW.INCORRECT_DATA, `${what}: several Chip Authentication keys; DO 84 (keyId) is required`);
  return candidates[0]!;
}

/** The key agreement and the switch of secure messaging. */
function authenticate(ctx: CommandContext, entry: ChipAuthKey, suite: CaSuite, pkIfd: Uint8Array): void {
  const ch = ctx.channel;
  const old = ch.sm;
  if (old === null) throw new StatusWordError(SW.SECURITY_STATUS_NOT_SATISFIED, 'Chip Authentication runs under secure messaging (BAC or PACE first)');
  const loc = authorizeKey(ctx, ctx.channel.df, entry.key, 'chip-authentication');
  const material = privateMaterial(loc.key);
  if (material.type !== 'ec') throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, `key ${hexRef(entry.key)} is not an EC key (id-CA-ECDH)`);
  let k: Uint8Array;
  try {
    k = ecdhSharedSecret(material.curve, material.d, pkIfd, material.point);
  } catch (e) {
    if (e instanceof AsymmetricCryptoError) throw new StatusWordError(SW.INCORRECT_DATA, `PK_IFD: ${e.message}`);
    throw e;
  }
  consumeKeyUse(ctx, loc);
  const keys = caSessionKeys(suite, k);
  zeroize(k);
  try {
    const inner = new SuccessorSmSession(keys, old);
    ch.sm = old instanceof PaceSmSession ? new PaceSmSession(inner, old.password) : inner;
  } finally {
    wipeSmKeys(keys);
  }
}

function mseKat(config: ChipAuthConfig, cmd: CommandApdu, ctx: CommandContext): void {
  const what = 'MSE:Set KAT';
  pending.delete(ctx.channel);
  const dos = commandTlvList(cmd.data, what);
  only(dos, [0x91, 0x84], what);
  const pk = dos.find((d) => d.tag === 0x91);
  if (pk === undefined) throw new StatusWordError(SW.INCORRECT_DATA, `${what}: DO 91 (ephemeral public key) is required`);
  const { entry, suite } = choose(config, (s) => s.cipher === '3des', keyIdOf(dos, what), what);
  authenticate(ctx, entry, suite, pk.value);
}

function mseAt(config: ChipAuthConfig, cmd: CommandApdu, ctx: CommandContext): void {
  const what = 'MSE:Set AT (Chip Authentication)';
  pending.delete(ctx.channel);
  const dos = commandTlvList(cmd.data, what);
  only(dos, [0x80, 0x84], what);
  const oid = dos.find((d) => d.tag === 0x80);
  if (oid === undefined) throw new StatusWordError(SW.INCORRECT_DATA, `${what}: DO 80 (protocol) is required`);
  const requested = caSuite(oid.value);
  if (requested === undefined || !requested.supported) throw new StatusWordError(SW.INCORRECT_DATA, `${what}: protocol not supported`);
  const { entry, suite } = choose(config, (s) => s.oid === requested.oid, keyIdOf(dos, what), what);
  if (ctx.channel.sm === null) throw new StatusWordError(SW.SECURITY_STATUS_NOT_SATISFIED, 'Chip Authentication runs under secure messaging (BAC or PACE first)');
  pending.set(ctx.channel, { entry, suite, parts: [], total: 0 });
}

function isCaMse(cmd: CommandApdu): boolean {
  const p1p2 = (cmd.p1 << 8) | cmd.p2;
  return p1p2 === 0x41a6 || (p1p2 === 0x41a4 && namesChipAuthentication(cmd));
}

function generalAuthenticate(cmd: CommandApdu, ctx: CommandContext): Uint8Array | void {
  const ch = ctx.channel;
  const run = pending.get(ch);
  if (run === undefined) throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, 'GENERAL AUTHENTICATE: no Chip Authentication set up (MSE:Set AT first)');
  if (cmd.p1 !== 0 || cmd.p2 !== 0) {
    pending.delete(ch);
    throw new StatusWordError(SW.INCORRECT_P1P2, 'GENERAL AUTHENTICATE (Chip Authentication): P1-P2 must be 0000');
  }
  run.total += cmd.data.length;
  if (run.total > 0xffff) {
    pending.delete(ch);
    throw new StatusWordError(SW.WRONG_LENGTH, 'GENERAL AUTHENTICATE: chained data exceeds 65535 bytes');
  }
  run.parts.push(cmd.data.slice());
  if (cmd.cla.chaining) return;
  pending.delete(ch);
  const t = commandTlv(concatBytes(...run.parts), 'GENERAL AUTHENTICATE data');
  const kids = t.children ?? [];
  if (t.tag !== 0x7c || kids.length !== 1 || kids[0]!.tag !== 0x80) {
    throw new StatusWordError(SW.INCORRECT_DATA, 'GENERAL AUTHENTICATE (Chip Authentication): expected 7C { 80 ephemeral public key }');
  }
  authenticate(ctx, run.entry, run.suite, kids[0]!.value);
  return new Uint8Array([0x7c, 0x00]);
}

/**
 * Chip Authentication's MSE (KAT, AT with a CA OID) and GENERAL AUTHENTICATE for an applet's INS
 * table; compose with PACE's (`composeTables`), which keeps every other MSE and GENERAL AUTHENTICATE.
 *
 * @example chipAuthCommands({ keys: [{ key: 0x02, protocol: CA_OID.ECDH_3DES }] })
 */
export function chipAuthCommands(config: ChipAuthConfig): InsTable {
  for (const k of config.keys) {
    const s = caSuite(k.protocol);
    if (s === undefined || !s.supported) throw new Error(`chipAuthCommands: protocol ${k.protocol} is not an id-CA-ECDH protocol`);
  }
  const mse: RoutedHandler = {
    name: 'MANAGE SECURITY ENVIRONMENT',
    when: isCaMse,
    run: (cmd, ctx) => {
      const p1p2 = (cmd.p1 << 8) | cmd.p2;
      if (p1p2 === 0x41a6) return mseKat(config, cmd, ctx);
      if (p1p2 === 0x41a4) return mseAt(config, cmd, ctx);
      throw new StatusWordError(SW.INCORRECT_P1P2, 'MANAGE SECURITY ENVIRONMENT: Chip Authentication takes Set KAT (41A6) or Set AT (41A4)');
    },
  };
  const frozenMse = Object.freeze(mse);
  const ga: RoutedHandler = {
    name: 'GENERAL AUTHENTICATE',
    stepChaining: true,
    // Meant while the last MSE on the channel was this one's Set AT (module comment of route.ts).
    when: (_cmd, ctx) => {
      if (!pending.has(ctx.channel)) return false;
      const m = lastRoute(ctx.channel, INS.MANAGE_SECURITY_ENVIRONMENT);
      return m === undefined || m === frozenMse;
    },
    run: generalAuthenticate,
  };
  return defineInsTable([INS.MANAGE_SECURITY_ENVIRONMENT, frozenMse], [INS.GENERAL_AUTHENTICATE, ga]);
}

/**
 * DG14's Chip Authentication entries for the configured keys: a ChipAuthenticationInfo (version 1)
 * per key and one ChipAuthenticationPublicKeyInfo per key slot. The public keys are
 * SubjectPublicKeyInfos with explicit ECParameters by default (as issued DG14s carry them), or
 * namedCurve OIDs with `explicit: false`.
 *
 * @example dg14Content([...chipAuthSecurityInfos(df, config), …])
 */
export function chipAuthSecurityInfos(df: DedicatedFile, config: ChipAuthConfig, opts: { explicit?: boolean } = {}): OtherSecurityInfo[] {
  const out: OtherSecurityInfo[] = [];
  const published = new Set<number>();
  for (const entry of config.keys) {
    out.push(chipAuthenticationInfo({ protocol: entry.protocol, version: 1, ...(entry.keyId === undefined ? {} : { keyId: entry.keyId }) }));
    if (published.has(entry.key)) continue;
    published.add(entry.key);
    const loc = findAsymmetricKey(df, entry.key);
    if (loc === undefined) throw new Error(`Chip Authentication key ${hexRef(entry.key)}: no such key slot`);
    const spki = encodeSubjectPublicKeyInfo(keyPublicInfo(loc.key), { explicit: opts.explicit !== false });
    out.push(chipAuthenticationPublicKeyInfo({ protocol: PK_OID.ECDH, subjectPublicKeyInfo: spki, ...(entry.keyId === undefined ? {} : { keyId: entry.keyId }) }));
  }
  return out;
}
