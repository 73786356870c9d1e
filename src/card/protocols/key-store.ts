/**
 * The card's asymmetric key store: key slots ({@link AsymmetricKeyObject}) in DFs, found by
 * reference from the current DF upwards, filled by loading or by on-card generation, and used only
 * through {@link useKey}, which checks — in this order — that the key exists (6A88), holds a key
 * pair (6984), may be used this way (usage, 6985) and that its `use` condition holds on the
 * channel (6982). Key rules are not file rules, so the OS's `access` hook (which knows files) does
 * not see them; every command of the key store calls {@link useKey} before touching a private key.
 *
 * "PIN always" (`pinAlways`): each use consumes the verification of every PIN the key's `use`
 * condition names — a signature key with `use: PIN(81)` signs once per VERIFY of PIN 81, a second
 * PSO COMPUTE DIGITAL SIGNATURE answers 6982 until the PIN is verified again. The verification is
 * consumed when the private key is about to be used, whether or not that operation then succeeds,
 * and also when the PIN was verified through PACE.
 *
 * During personalization a channel authenticated with the transport key passes every key
 * condition, as it passes every file rule (`CommandContext.checkAccess`).
 *
 * Every write (generation, loading, the use counter) goes through the journalled NV memory.
 *
 * @example In an applet's install
 * addKeySlot(ctx.nv, ctx.df, newAsymmetricKey({ ref: 0x01, type: 'ec', curve: 'P-256', usage: ['sign'], use: pin(0x81), pinAlways: true, generate: pin(0x81) }));
 */
import { SW, StatusWordError } from '../../apdu/status.js';
import {
  decodeSubjectPublicKeyInfo,
  ecPublicKeyInfo,
  ecPublicPoint,
  encodeSubjectPublicKeyInfo,
  generateEcKeyPair,
  generateRsaKeyPair,
  isEcCurve,
  rsaModulusBits,
  rsaPublicKey,
  type EcCurveName,
  type PublicKeyInfo,
} from '../../crypto/asymmetric.js';
import type { NvMemory } from '../nv.js';
import type { CardRng } from '../rng.js';
import { findKey, findPin, type CommandContext } from '../context.js';
import type { DedicatedFile } from '../fs/file.js';
import { conditionPins, satisfies, type Condition, type SecurityFacts } from '../security/access.js';
import { pacePasswordInForce } from './pace.js';
import type { PacePasswordKind } from '../../crypto/pace.js';
import { hexRef, type AsymmetricKeyObject, type AsymmetricKeyUsage } from '../security/objects.js';

/** A key and the DF that owns it (its conditions resolve PIN and KEY references from there). */
export interface KeyLocation {
  readonly key: AsymmetricKeyObject;
  readonly df: DedicatedFile;
}

/** Private key material as the crypto modules take it (`point`: the stored d·G, when known). */
export type PrivateKeyMaterial =
  | { readonly type: 'rsa'; readonly pkcs8: Uint8Array }
  | { readonly type: 'ec'; readonly curve: EcCurveName; readonly d: Uint8Array; readonly point?: Uint8Array };

/**
 * The key with reference `ref` in `df` or the nearest DF above it.
 *
 * @example findAsymmetricKey(ctx.channel.df, 0x01)?.key.label
 */
export function findAsymmetricKey(df: DedicatedFile, ref: number): KeyLocation | undefined {
  for (let x: DedicatedFile | null = df; x !== null; x = x.parent) {
    const key = x.asymmetricKeys?.find((k) => k.ref === ref);
    if (key !== undefined) return { key, df: x };
  }
  return undefined;
}

/**
 * Adds an (empty or filled) key slot to `df`, journalled. A reference already used in `df`
 * is an error.
 *
 * @example addKeySlot(nv, df, newAsymmetricKey({ ref: 2, type: 'rsa', bits: 2048, usage: ['decipher'] }))
 */
export function addKeySlot(nv: NvMemory, df: DedicatedFile, key: AsymmetricKeyObject): AsymmetricKeyObject {
  if (!isEcCurve(key.curve) && key.type === 'ec') throw new Error(`asymmetric key ${hexRef(key.ref)}: curve "${String(key.curve)}" is not supported`);
  if (df.asymmetricKeys === undefined) nv.set(df, 'asymmetricKeys', []);
  const list = df.asymmetricKeys!;
  if (list.some((k) => k.ref === key.ref)) throw new Error(`asymmetric key ${hexRef(key.ref)}: reference already used in this DF`);
  nv.splice(list, list.length, 0, key);
  return key;
}

/**
 * Loads key material into a slot (personalization with keys generated elsewhere, conformance
 * vectors): checks it fits the slot, derives and stores the public key. Journalled.
 *
 * @example storeAsymmetricKey(nv, key, { type: 'ec', curve: 'P-256', d })
 */
export function storeAsymmetricKey(nv: NvMemory, key: AsymmetricKeyObject, material: PrivateKeyMaterial): PublicKeyInfo {
  const name = `asymmetric key ${hexRef(key.ref)}`;
  let info: PublicKeyInfo;
  let secret: Uint8Array;
  if (material.type === 'rsa') {
    if (key.type !== 'rsa') throw new Error(`${name}: the slot holds an EC key`);
    if (rsaModulusBits(material.pkcs8) !== key.bits) throw new Error(`${name}: the slot holds ${key.bits}-bit RSA keys`);
    info = rsaPublicKey(material.pkcs8);
    secret = material.pkcs8.slice();
  } else {
    if (key.type !== 'ec' || key.curve !== material.curve) throw new Error(`${name}: the slot holds ${key.type === 'ec' ? key.curve : 'RSA'} keys`);
    info = ecPublicKeyInfo(material.curve, ecPublicPoint(material.curve, material.d));
    secret = material.d.slice();
  }
  nv.set(key, 'privateKey', secret);
  nv.set(key, 'publicKey', encodeSubjectPublicKeyInfo(info));
  nv.set(key, 'uses', 0);
  return info;
}

/**
 * Generates a key pair in a slot: EC scalars are drawn from the card RNG (so `--rng` replays
 * them), RSA keys come from OpenSSL. Replaces the slot's key pair; journalled.
 *
 * @example generateInSlot(ctx.nv, key, ctx.rng).type // 'ec'
 */
export function generateInSlot(nv: NvMemory, key: AsymmetricKeyObject, rng: CardRng): PublicKeyInfo {
  let info: PublicKeyInfo;
  let secret: Uint8Array;
  if (key.type === 'rsa') {
    const pair = generateRsaKeyPair(key.bits!);
    info = pair.publicKey;
    secret = pair.pkcs8;
  } else {
    if (!isEcCurve(key.curve)) throw new Error(`asymmetric key ${hexRef(key.ref)}: curve "${String(key.curve)}" is not supported`);
    const pair = generateEcKeyPair(key.curve, (n) => rng.bytes(n));
    info = pair.publicKey;
    secret = pair.d;
  }
  nv.set(key, 'privateKey', secret);
  nv.set(key, 'publicKey', encodeSubjectPublicKeyInfo(info));
  nv.set(key, 'uses', 0);
  return info;
}

/**
 * The public key of a filled slot.
 *
 * @example keyPublicInfo(key).type
 */
export function keyPublicInfo(key: AsymmetricKeyObject): PublicKeyInfo {
  const spki = key.publicKey;
  if (spki === undefined) throw new StatusWordError(SW.REFERENCE_DATA_NOT_USABLE, `key ${hexRef(key.ref)} (${key.label}) holds no key pair`);
  // Decoded once per stored buffer: a new key pair is a new buffer (`nv.set`), never rewritten.
  let info = decoded.get(spki);
  if (info === undefined) {
    info = decodeSubjectPublicKeyInfo(spki);
    decoded.set(spki, info);
  }
  return info;
}

const decoded = new WeakMap<Uint8Array, PublicKeyInfo>();

/**
 * The private key material of a filled slot, for the crypto modules. Card-internal: its bytes are
 * the store's own (never copied into a response, trace or error).
 *
 * @example const m = privateMaterial(loc.key); if (m.type === 'ec') ecdsaSignHash(m.curve, m.d, hash);
 */
export function privateMaterial(key: AsymmetricKeyObject): PrivateKeyMaterial {
  const p = key.privateKey;
  if (p === undefined) throw new StatusWordError(SW.REFERENCE_DATA_NOT_USABLE, `key ${hexRef(key.ref)} (${key.label}) holds no key pair`);
  if (key.type === 'rsa') return { type: 'rsa', pkcs8: p };
  const pub = keyPublicInfo(key);
  return { type: 'ec', curve: key.curve as EcCurveName, d: p, ...(pub.type === 'ec' ? { point: pub.point } : {}) };
}

/** Security facts for a key's conditions: PIN and KEY references resolve from the key's DF. */
function factsFor(ctx: CommandContext, df: DedicatedFile): SecurityFacts {
  const ch = ctx.channel;
  return {
    pinVerified: (ref) => {
      const p = findPin(df, ref);
      return p !== undefined && ch.pins.has(p);
    },
    keyAuthenticated: (ref) => {
      const k = findKey(df, ref);
      return k !== undefined && ch.keys.has(k);
    },
    get secureMessaging(): boolean {
      return ch.sm !== null;
    },
    // A key's `use` may say PACE (ICAO 9303-11 §4.4): the password of the session in force.
    get pacePassword(): PacePasswordKind | undefined {
      return pacePasswordInForce(ch);
    },
  };
}

/**
 * True when `c` holds for `df`'s key on this channel (or the personalizer may do everything).
 *
 * @example keyConditionHolds(ctx, loc.df, loc.key.generate)
 */
export function keyConditionHolds(ctx: CommandContext, df: DedicatedFile, c: Condition): boolean {
  if (ctx.lifeCycle === 'personalization' && ctx.channel.persoAuthenticated) return true;
  return satisfies(c, factsFor(ctx, df));
}

/**
 * The checks before a private key is used (module comment), then the "PIN always" consumption and
 * the use counter. Returns the key's material. `use` runs only when every check passed.
 *
 * @example const m = useKey(ctx, ctx.channel.df, ref, 'sign');
 */
export function useKey(ctx: CommandContext, from: DedicatedFile, ref: number, usage: AsymmetricKeyUsage): { loc: KeyLocation; material: PrivateKeyMaterial } {
  const loc = authorizeKey(ctx, from, ref, usage);
  const material = privateMaterial(loc.key);
  consumeKeyUse(ctx, loc);
  return { loc, material };
}

/**
 * The checks of {@link useKey} without consuming anything (MSE:SET checks the reference and usage
 * only; commands call this before validating their input so an unauthorized caller learns nothing).
 *
 * @example const loc = authorizeKey(ctx, ctx.channel.df, 0x01, 'sign'); // 6A88 / 6984 / 6985 / 6982
 */
export function authorizeKey(ctx: CommandContext, from: DedicatedFile, ref: number, usage: AsymmetricKeyUsage): KeyLocation {
  const loc = findAsymmetricKey(from, ref);
  if (loc === undefined) throw new StatusWordError(SW.REFERENCE_NOT_FOUND, `no asymmetric key ${hexRef(ref)}`);
  const { key, df } = loc;
  const name = `key ${hexRef(key.ref)} (${key.label})`;
  if (key.privateKey === undefined) throw new StatusWordError(SW.REFERENCE_DATA_NOT_USABLE, `${name} holds no key pair`);
  if (!key.usage.includes(usage)) throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, `${name} is not for ${usage}`);
  if (!keyConditionHolds(ctx, df, key.use)) throw new StatusWordError(SW.SECURITY_STATUS_NOT_SATISFIED, `${name}: use condition not satisfied`);
  return loc;
}

/**
 * After {@link authorizeKey}, right before the private operation: drops the PIN verifications a
 * "PIN always" key consumes and counts the use.
 *
 * @example consumeKeyUse(ctx, loc); return ecdsaSignHash(curve, d, input);
 */
export function consumeKeyUse(ctx: CommandContext, loc: KeyLocation): void {
  const { key, df } = loc;
  if (key.pinAlways) {
    for (const ref of conditionPins(key.use)) {
      const p = findPin(df, ref);
      if (p !== undefined) ctx.channel.pins.delete(p);
    }
  }
  ctx.nv.set(key, 'uses', key.uses + 1);
}
