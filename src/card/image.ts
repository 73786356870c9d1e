/**
 * The card image: a versioned JSON document holding the card's non-volatile state (files,
 * counters, keys, data objects, applets, life cycle). Transient state is never written.
 *
 * Loading is all-or-nothing: the whole document is validated and built before a card exists, so a
 * corrupt, truncated or wrong-version image is a clear error naming the field, never a
 * half-loaded card. Besides types and ranges, loading checks what the card looks objects up by:
 * FIDs and SFIs unique in a DF, DF names and applet AIDs unique on the card, PIN/key references
 * and data object tags unique in a DF, PINs within their own length rules, life-cycle bytes the
 * OS acts on, an ATR that parses, and a registered factory for every applet type. Saving to a path
 * writes a temporary file in the same directory and renames it over the target (atomic on POSIX
 * file systems), so a crash never leaves a torn image.
 *
 * Format (version 2), all byte strings as upper-case hex:
 * ```json
 * { "format": "chipwright-card-image", "version": 2,
 *   "serial": "…", "atr": "…", "lifeCycle": "personalization", "capacity": 1048576, "maxChannels": 4,
 *   "transportKey": { "ref": 0, "label": "transport key", "algorithm": "3des", "sealed": "…", "maxTries": 15, "tries": 15 },
 *   "keyStore": { "storageKey": "<32 bytes>" } | { "wrappedStorageKey": "<sealed 32 bytes>" },
 *   "mf": { "type": "DF", "fid": "3F00", "lcs": 5, "rules": "<AB value>" | null, "name"?: "…",
 *           "pins": [ { "ref": 3, "label": "PIN", "sealed": "…", "minLength": 4, "maxLength": 12, "padding": "none",
 *                       "paddedLength": 0, "maxTries": 3, "tries": 3, "pukRef": 4, "unblocksLeft": -1 } ],
 *           "keys": [ { "ref": 1, "label": "key", "algorithm": "aes", "sealed": "…", "maxTries": 10, "tries": 10 } ],
 *           "dataObjects": [ { "tag": "5F20", "value": "…" } ],
 *           "children": [ { "type": "transparent", "fid": "011E", "sfi": 30, "lcs": 5, "rules": null, "data": "…" },
 *                         { "type": "linear-fixed", "fid": "…", "recordSize": 32, "maxRecords": 10, "records": ["…"] } ] },
 *   "applets": [ { "aid": "…", "type": "echo", "params": "", "lifeCycle": "selectable", "store": {} } ] }
 * ```
 * Secrets at rest (issue 4): the reference data of every PIN object (PINs, CAN, PUK) and the value
 * of every symmetric key (the transport key too) appear only as `sealed`: AES-256-GCM under the
 * card's storage key (`crypto/seal.ts`), bound to the object's place — `chipwright pin <DF path>
 * <ref>`, `chipwright key <DF path> <ref>`, `chipwright transport key` — so a blob moved to another
 * PIN or key does not open. Encrypted files and private keys are sealed the same way. Retry counters
 * and lengths stay in plain: they change with every VERIFY and reveal no value. `keyStore` stands
 * for the chip's protected key memory; it is a simulator's image, not a secure element. By default
 * anyone holding the whole file holds the storage key — sealing then keeps values out of diffs,
 * logs and partial dumps, and makes tampering with them detectable. Given an image key (32 bytes,
 * kept outside the image: `CHIPWRIGHT_IMAGE_KEY` for the CLI), the key store holds the storage key
 * only as `wrappedStorageKey`, sealed under it, and the image's secrets and encrypted files open
 * only with that key.
 *
 * Migration from version 1: a version-1 image (plain `value` fields, `keyStore` only when it held
 * sealed content) loads as it is — its values are read in plain — and is written back as version 2
 * with a storage key drawn then. Any other version is refused naming the versions this chipwright
 * reads. A version-2 image with a plain `value` is refused (a secret must never be accepted in plain
 * where the format promises it sealed).
 *
 * Access rules are stored in their FCP encoding (value of tag 'AB', see `security/access.ts`),
 * the same bytes SELECT returns, so one encoding is documented and tested.
 *
 * Asymmetric keys (the key store, `card/protocols/key-store.ts`) appear in two places, both only
 * when a card has them: a DF's `asymmetricKeys` lists its key slots with their public parts, and
 * the top-level section `privateKeys` holds the private keys, sealed (`"protection": "aes-256-gcm"`;
 * `"none"` with plain `value`s is read from version-1 images only):
 * ```json
 * "asymmetricKeys": [ { "ref": 1, "label": "signature key", "type": "ec", "bits": null, "curve": "P-256",
 *                       "usage": ["sign"], "algorithms": [], "use": "PIN(81)", "generate": "NEVER",
 *                       "pinAlways": true, "uses": 0, "publicKey": "<SubjectPublicKeyInfo>" | null } ]
 * "privateKeys": { "protection": "aes-256-gcm", "keys": [ { "df": "3F00/7F00", "ref": 1, "sealed": "<sealed PKCS#8 (RSA) or d (EC)>" } ] }
 * ```
 * Loading checks that every filled slot has exactly one private key, that each private key
 * belongs to a filled slot, and that it matches the slot's public key. Error messages name the
 * field, never a key value.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../fs/atomic.js';
import { bytesToHex, concatBytes, equalBytes, hexToBytes } from '../bytes/index.js';
import { SealError, seal, unseal } from '../crypto/seal.js';
import { parseAtr } from '../atr/index.js';
import { Card, type CardOptions } from './os.js';
import type { AppletRecord, CardLifeCycle, CardState } from './state.js';
import { CARD_LIFE_CYCLES } from './state.js';
import { LCS, formatPath, type DataObject, type DedicatedFile, type ElementaryFile, type FileNode, type RecordEf, type TransparentEf } from './fs/file.js';
import { decodeAccessRules, encodeAccessRules, formatCondition, parseCondition, type AccessRules, type Condition } from './security/access.js';
import { ASYMMETRIC_KEY_USAGES, type AsymmetricKeyObject, type AsymmetricKeyUsage, type KeyObject, type PinObject, type PinPadding } from './security/objects.js';
import {
  AsymmetricCryptoError,
  EC_CURVES,
  decodeSubjectPublicKeyInfo,
  ecPublicPoint,
  rsaPublicKey,
  type PublicKeyInfo,
} from '../crypto/asymmetric.js';

export const IMAGE_FORMAT = 'chipwright-card-image';
export const IMAGE_VERSION = 2;
/** Versions {@link cardStateFromJson} reads: 1 by the migration in the module comment, and 2. */
export const IMAGE_VERSIONS_READ: readonly number[] = Object.freeze([1, 2]);

/** A card image that cannot be loaded; `field` is a JSON path such as `mf.children[2].data`. */
export class CardImageError extends Error {
  override readonly name = 'CardImageError';
  constructor(
    readonly field: string,
    message: string,
    readonly source?: string,
  ) {
    super(`${source ? `${source}: ` : ''}${field}: ${message}`);
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

// --- saving -----------------------------------------------------------------------------------

function hex(b: Uint8Array): string {
  return bytesToHex(b);
}

function rulesJson(rules: AccessRules | undefined, isDf: boolean): Json {
  return rules === undefined ? null : hex(encodeAccessRules(rules, isDf));
}

function pinJson(p: PinObject, dfPath: string, storageKey: Uint8Array): Json {
  return {
    ref: p.ref,
    label: p.label,
    sealed: hex(seal(storageKey, pinContext(dfPath, p.ref), p.value)),
    minLength: p.minLength,
    maxLength: p.maxLength,
    padding: p.padding,
    paddedLength: p.paddedLength,
    maxTries: p.maxTries,
    tries: p.tries,
    pukRef: p.pukRef ?? null,
    unblocksLeft: p.unblocksLeft,
  };
}

function keyJson(k: KeyObject, context: Uint8Array, storageKey: Uint8Array): Json {
  return { ref: k.ref, label: k.label, algorithm: k.algorithm, sealed: hex(seal(storageKey, context, k.value)), maxTries: k.maxTries, tries: k.tries };
}

function asymmetricKeyJson(k: AsymmetricKeyObject): Json {
  return {
    ref: k.ref,
    label: k.label,
    type: k.type,
    bits: k.bits ?? null,
    curve: k.curve ?? null,
    usage: [...k.usage],
    algorithms: [...k.algorithms],
    use: formatCondition(k.use),
    generate: formatCondition(k.generate),
    pinAlways: k.pinAlways,
    uses: k.uses,
    publicKey: k.publicKey === undefined ? null : hex(k.publicKey),
  };
}

/** The private-key section, sealed (`protection: none` is read from old images only); absent without keys. */
function privateKeysJson(mf: DedicatedFile, storageKey: Uint8Array): Json | undefined {
  const keys: Json[] = [];
  const walk = (df: DedicatedFile): void => {
    for (const k of df.asymmetricKeys ?? []) {
      if (k.privateKey !== undefined) {
        const path = formatPath(df);
        keys.push({ df: path, ref: k.ref, sealed: hex(seal(storageKey, privateKeyContext(path, k.ref), k.privateKey)) });
      }
    }
    for (const c of df.children) if (c.kind === 'DF') walk(c);
  };
  walk(mf);
  return keys.length === 0 ? undefined : { protection: 'aes-256-gcm', keys };
}

const utf8 = new TextEncoder();

/** Stand-in key for a version-1 image without a key store: it only opens what was never sealed. */
const NO_KEY = new Uint8Array(32);

/**
 * The card's storage key, drawn on first need from OpenSSL — never from the card RNG, which only
 * protocols draw from (conformance replay order). Idempotent.
 */
function ensureStorageKey(state: CardState): Uint8Array {
  if (state.storageKey === undefined) state.storageKey = new Uint8Array(randomBytes(32));
  return state.storageKey;
}

/** What a sealed private key is bound to: its DF and reference. */
function privateKeyContext(dfPath: string, ref: number): Uint8Array {
  return utf8.encode(`chipwright private key ${dfPath} ${ref}`);
}

/** What a sealed PIN object's reference data is bound to: its DF and reference. */
function pinContext(dfPath: string, ref: number): Uint8Array {
  return utf8.encode(`chipwright pin ${dfPath} ${ref}`);
}

/** What a sealed symmetric key is bound to: its DF and reference. */
function keyContext(dfPath: string, ref: number): Uint8Array {
  return utf8.encode(`chipwright key ${dfPath} ${ref}`);
}

const TRANSPORT_KEY_CONTEXT = utf8.encode('chipwright transport key');

/** What a sealed file is bound to: its path and structure, so a blob cannot move to another file. */
function fileContext(f: ElementaryFile): Uint8Array {
  return utf8.encode(`chipwright file ${formatPath(f)} ${f.structure}`);
}

/** Records as one byte string: each record preceded by its length (records are ≤ 255 bytes). */
function packRecords(records: readonly Uint8Array[]): Uint8Array {
  return concatBytes(...records.flatMap((r) => [new Uint8Array([r.length]), r]));
}

function unpackRecords(packed: Uint8Array): Uint8Array[] | undefined {
  const out: Uint8Array[] = [];
  for (let i = 0; i < packed.length; ) {
    const n = packed[i]!;
    if (i + 1 + n > packed.length) return undefined;
    out.push(packed.slice(i + 1, i + 1 + n));
    i += 1 + n;
  }
  return out;
}

function fileJson(f: FileNode, storageKey: Uint8Array): Json {
  const base = { fid: f.fid.toString(16).toUpperCase().padStart(4, '0'), lcs: f.lcs, rules: rulesJson(f.rules, f.kind === 'DF') };
  if (f.kind === 'DF') {
    const path = formatPath(f);
    return {
      type: 'DF',
      ...base,
      ...(f.name ? { name: hex(f.name) } : {}),
      pins: f.pins.map((p) => pinJson(p, path, storageKey)),
      keys: f.keys.map((k) => keyJson(k, keyContext(path, k.ref), storageKey)),
      dataObjects: f.dataObjects.map((d) => ({ tag: d.tag.toString(16).toUpperCase(), value: hex(d.value) })),
      ...(f.asymmetricKeys !== undefined ? { asymmetricKeys: f.asymmetricKeys.map(asymmetricKeyJson) } : {}),
      children: f.children.map((c) => fileJson(c, storageKey)),
    };
  }
  // Encrypted files appear only sealed under the card's storage key (issue: encrypted storage).
  const sealed = f.encrypted === true
    ? { encrypted: true, sealed: hex(seal(storageKey, fileContext(f), f.structure === 'transparent' ? f.data : packRecords(f.records))) }
    : undefined;
  if (f.structure === 'transparent') {
    return { type: 'transparent', ...base, sfi: f.sfi ?? null, ...(sealed ?? { data: hex(f.data) }) };
  }
  return {
    type: f.structure,
    ...base,
    sfi: f.sfi ?? null,
    recordSize: f.recordSize,
    maxRecords: f.maxRecords,
    ...(sealed ?? { records: f.records.map(hex) }),
  };
}

/** What the storage key is bound to when it is wrapped under an image key. */
const IMAGE_KEY_CONTEXT = utf8.encode('chipwright card image storage key');

/** Options for writing and reading card images. */
export interface CardImageOptions {
  /**
   * 32 bytes kept outside the image that the storage key is wrapped under. Writing: overrides the
   * card's own (the one it was loaded with). Reading: needed for an image whose storage key is
   * wrapped; with an image that holds it plainly, the card keeps the key and wraps it when saved.
   */
  readonly imageKey?: Uint8Array;
}

function checkImageKey(key: Uint8Array | undefined, source?: string): void {
  if (key !== undefined && key.length !== 32) throw new CardImageError('keyStore', `the image key must be 32 bytes, got ${key.length}`, source);
}

/** The image document of a card's non-volatile state. */
export function cardImageJson(state: CardState, opts: CardImageOptions = {}): Json {
  const imageKey = opts.imageKey ?? state.imageKey;
  checkImageKey(imageKey);
  // Every card has secrets to seal: at least the transport key.
  const storageKey = ensureStorageKey(state);
  const privateKeys = privateKeysJson(state.mf, storageKey);
  return {
    format: IMAGE_FORMAT,
    version: IMAGE_VERSION,
    serial: hex(state.serial),
    atr: hex(state.atr),
    lifeCycle: state.lifeCycle,
    capacity: state.capacity,
    maxChannels: state.maxChannels,
    transportKey: keyJson(state.transportKey, TRANSPORT_KEY_CONTEXT, storageKey),
    keyStore: imageKey === undefined ? { storageKey: hex(storageKey) } : { wrappedStorageKey: hex(seal(imageKey, IMAGE_KEY_CONTEXT, storageKey)) },
    mf: fileJson(state.mf, storageKey),
    applets: state.applets.map((a) => ({
      aid: hex(a.aid),
      type: a.type,
      params: hex(a.params),
      lifeCycle: a.lifeCycle,
      store: Object.fromEntries(a.store.map((e) => [e.key, hex(e.value)])),
    })),
    ...(privateKeys === undefined ? {} : { privateKeys }),
  };
}

/** Serializes a card's non-volatile state (uncommitted writes are never included). */
export function serializeCard(card: Card, opts: CardImageOptions = {}): string {
  if (card.nv.dirty) throw new Error('serializeCard: the card has uncommitted writes');
  return JSON.stringify(cardImageJson(card.state, opts), null, 1) + '\n';
}

/** Saves atomically ({@link writeFileAtomic}: a kill mid-save leaves the old image or the new one). */
export function saveCardImage(card: Card, path: string, opts: CardImageOptions = {}): void {
  writeFileAtomic(path, serializeCard(card, opts));
}

// --- loading ----------------------------------------------------------------------------------

/** Name of the whole document in error paths. */
const ROOT = '(image)';

/**
 * Life-cycle status bytes chipwright acts on (ISO/IEC 7816-4 §7.4.10 table 15): creation,
 * initialisation, operational deactivated/activated, terminated (0C–0F). Any other byte would load
 * as a file that is neither usable nor refused in a defined way.
 */
const KNOWN_LCS: readonly number[] = [LCS.CREATION, LCS.INITIALISATION, LCS.DEACTIVATED, LCS.ACTIVATED, 0x0c, 0x0d, 0x0e, 0x0f];

class Reader {
  /** JSON paths of the DFs' `asymmetricKeys`, for the cross-checks of the `privateKeys` section. */
  readonly keyFields = new Map<DedicatedFile, string>();
  /** The image's format version: 1 reads secrets in plain (migration), 2 sealed. */
  version = IMAGE_VERSION;
  storageKey: Uint8Array = NO_KEY;

  constructor(readonly source: string | undefined) {}

  /**
   * A PIN's or key's secret: `sealed` under the storage key bound to `context` (version 2), or the
   * plain `value` of a version-1 image. The message names the field, never the value.
   */
  secret(o: { [k: string]: Json }, field: string, context: Uint8Array, min: number, max: number): Uint8Array {
    if (this.version === 1) return this.bytes(o.value, `${field}.value`, min, max);
    if (o.value !== undefined) this.fail(`${field}.value`, `a secret in plain in a version-${this.version} image (expected "sealed")`);
    let b: Uint8Array;
    try {
      b = unseal(this.storageKey, context, this.bytes(o.sealed, `${field}.sealed`, 28, 28 + max));
    } catch (e) {
      if (e instanceof SealError) this.fail(`${field}.sealed`, e.message);
      throw e;
    }
    if (b.length < min || b.length > max) this.fail(`${field}.sealed`, `expected ${min}..${max} bytes sealed, got ${b.length}`);
    return b;
  }

  /** The field a secret is stored in for this version (for `keys()`). */
  get secretField(): string {
    return this.version === 1 ? 'value' : 'sealed';
  }

  fail(field: string, msg: string): never {
    throw new CardImageError(field, msg, this.source);
  }

  obj(v: Json | undefined, field: string): { [k: string]: Json } {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(field, 'expected an object');
    return v;
  }

  arr(v: Json | undefined, field: string): Json[] {
    if (!Array.isArray(v)) this.fail(field, 'expected an array');
    return v;
  }

  int(v: Json | undefined, field: string, min: number, max: number): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(field, `expected an integer ${min}..${max}, got ${JSON.stringify(v)}`);
    }
    return v;
  }

  str(v: Json | undefined, field: string): string {
    if (typeof v !== 'string') this.fail(field, `expected a string, got ${JSON.stringify(v)}`);
    return v;
  }

  bytes(v: Json | undefined, field: string, min = 0, max = Infinity): Uint8Array {
    const s = this.str(v, field);
    if (!/^([0-9A-Fa-f]{2})*$/.test(s)) this.fail(field, 'expected hex bytes');
    const b = hexToBytes(s);
    if (b.length < min || b.length > max) this.fail(field, `expected ${min}..${max} bytes, got ${b.length}`);
    return b;
  }

  hexInt(v: Json | undefined, field: string, max: number): number {
    const s = this.str(v, field);
    if (!/^[0-9A-Fa-f]{1,6}$/.test(s)) this.fail(field, `expected a hex number, got "${s}"`);
    const n = parseInt(s, 16);
    if (n > max) this.fail(field, `above ${max.toString(16)}`);
    return n;
  }

  oneOf<T extends string>(v: Json | undefined, field: string, options: readonly T[]): T {
    const s = this.str(v, field);
    if (!options.includes(s as T)) this.fail(field, `expected one of ${options.join(', ')}, got "${s}"`);
    return s as T;
  }

  keys(o: { [k: string]: Json }, field: string, allowed: readonly string[]): void {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) this.fail(field === ROOT ? k : `${field}.${k}`, 'unknown field');
    }
  }

  /** Fails on the second occurrence of a value that must be unique, naming where it repeats. */
  unique<T>(values: readonly T[], field: (i: number) => string, what: string, same: (a: T, b: T) => boolean = Object.is): void {
    values.forEach((v, i) => {
      if (values.slice(0, i).some((w) => same(v, w))) this.fail(field(i), `duplicate ${what}`);
    });
  }
}

function readRules(r: Reader, v: Json | undefined, field: string, isDf: boolean): AccessRules | undefined {
  if (v === null || v === undefined) return undefined;
  try {
    return decodeAccessRules(r.bytes(v, field), isDf);
  } catch (e) {
    if (e instanceof CardImageError) throw e;
    return r.fail(field, `bad security attributes: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function readPin(r: Reader, v: Json, field: string, dfPath: string): PinObject {
  const o = r.obj(v, field);
  r.keys(o, field, ['ref', 'label', r.secretField, 'minLength', 'maxLength', 'padding', 'paddedLength', 'maxTries', 'tries', 'pukRef', 'unblocksLeft']);
  const maxTries = r.int(o.maxTries, `${field}.maxTries`, 1, 15);
  // The same constraints `newPin` enforces: a PIN outside them could never be verified.
  const minLength = r.int(o.minLength, `${field}.minLength`, 1, 64);
  const maxLength = r.int(o.maxLength, `${field}.maxLength`, minLength, 64);
  const padding = r.oneOf<PinPadding>(o.padding, `${field}.padding`, ['none', 'ff', '00']);
  const ref = r.int(o.ref, `${field}.ref`, 0, 255);
  return {
    ref,
    label: r.str(o.label, `${field}.label`),
    value: r.secret(o, field, pinContext(dfPath, ref), minLength, maxLength),
    minLength,
    maxLength,
    padding,
    paddedLength: r.int(o.paddedLength, `${field}.paddedLength`, padding === 'none' ? 0 : maxLength, 64),
    maxTries,
    tries: r.int(o.tries, `${field}.tries`, 0, maxTries),
    pukRef: o.pukRef === null || o.pukRef === undefined ? undefined : r.int(o.pukRef, `${field}.pukRef`, 0, 255),
    unblocksLeft: r.int(o.unblocksLeft, `${field}.unblocksLeft`, -1, 1_000_000),
  };
}

/** A symmetric key; its sealed value is bound to `context`, or for a DF's key to the DF's path and its ref. */
function readKey(r: Reader, v: Json, field: string, place: { readonly dfPath: string } | { readonly context: Uint8Array }): KeyObject {
  const o = r.obj(v, field);
  r.keys(o, field, ['ref', 'label', 'algorithm', r.secretField, 'maxTries', 'tries']);
  const algorithm = r.oneOf(o.algorithm, `${field}.algorithm`, ['3des', 'aes'] as const);
  const ref = r.int(o.ref, `${field}.ref`, 0, 255);
  const value = r.secret(o, field, 'context' in place ? place.context : keyContext(place.dfPath, ref), 16, 32);
  if (algorithm === '3des' && value.length === 32) r.fail(`${field}.${r.secretField}`, '3DES keys are 16 or 24 bytes');
  const maxTries = r.int(o.maxTries, `${field}.maxTries`, 1, 255);
  return {
    ref,
    label: r.str(o.label, `${field}.label`),
    algorithm,
    value,
    maxTries,
    tries: r.int(o.tries, `${field}.tries`, 0, maxTries),
  };
}

function readCondition(r: Reader, v: Json | undefined, field: string): Condition {
  const text = r.str(v, field);
  try {
    return parseCondition(text);
  } catch (e) {
    return r.fail(field, e instanceof Error ? e.message : String(e));
  }
}

function readAsymmetricKey(r: Reader, v: Json, field: string): AsymmetricKeyObject {
  const o = r.obj(v, field);
  r.keys(o, field, ['ref', 'label', 'type', 'bits', 'curve', 'usage', 'algorithms', 'use', 'generate', 'pinAlways', 'uses', 'publicKey']);
  const type = r.oneOf(o.type, `${field}.type`, ['rsa', 'ec'] as const);
  let bits: number | undefined;
  let curve: string | undefined;
  if (type === 'rsa') {
    bits = r.int(o.bits, `${field}.bits`, 1024, 4096);
    if (bits % 8 !== 0) r.fail(`${field}.bits`, 'expected whole bytes (a multiple of 8)');
    if (o.curve !== null) r.fail(`${field}.curve`, 'an RSA key has no curve (null)');
  } else {
    curve = r.oneOf(o.curve, `${field}.curve`, EC_CURVES);
    if (o.bits !== null) r.fail(`${field}.bits`, 'an EC key has no bits (null)');
  }
  const usage = r.arr(o.usage, `${field}.usage`).map((u, i) => r.oneOf<AsymmetricKeyUsage>(u, `${field}.usage[${i}]`, ASYMMETRIC_KEY_USAGES));
  if (usage.length === 0) r.fail(`${field}.usage`, 'expected at least one usage');
  r.unique(usage, (i) => `${field}.usage[${i}]`, 'usage');
  if (typeof o.pinAlways !== 'boolean') r.fail(`${field}.pinAlways`, `expected true or false, got ${JSON.stringify(o.pinAlways)}`);
  const key: AsymmetricKeyObject = {
    ref: r.int(o.ref, `${field}.ref`, 0, 255),
    label: r.str(o.label, `${field}.label`),
    type,
    bits,
    curve,
    usage,
    algorithms: r.arr(o.algorithms, `${field}.algorithms`).map((a, i) => r.int(a, `${field}.algorithms[${i}]`, 0, 255)),
    use: readCondition(r, o.use, `${field}.use`),
    generate: readCondition(r, o.generate, `${field}.generate`),
    pinAlways: o.pinAlways,
    uses: r.int(o.uses, `${field}.uses`, 0, Number.MAX_SAFE_INTEGER),
    publicKey: o.publicKey === null ? undefined : r.bytes(o.publicKey, `${field}.publicKey`, 1, 4096),
    privateKey: undefined,
  };
  if (key.publicKey !== undefined) {
    const info = readPublicKey(r, key.publicKey, `${field}.publicKey`);
    const fits = info.type === 'rsa' ? type === 'rsa' && info.bits === bits : type === 'ec' && info.curve === curve;
    if (!fits) r.fail(`${field}.publicKey`, `not a ${type === 'rsa' ? `${bits}-bit RSA` : String(curve)} key as the slot says`);
  }
  return key;
}

function readPublicKey(r: Reader, spki: Uint8Array, field: string): PublicKeyInfo {
  try {
    return decodeSubjectPublicKeyInfo(spki);
  } catch (e) {
    if (e instanceof AsymmetricCryptoError) return r.fail(field, `not a SubjectPublicKeyInfo (${e.message})`);
    throw e;
  }
}

/** The DF a path like "3F00/7F00" names, or undefined. */
function dfAtPath(mf: DedicatedFile, path: string): DedicatedFile | undefined {
  const parts = path.split('/');
  if (parts[0]?.toUpperCase() !== '3F00') return undefined;
  let df: DedicatedFile = mf;
  for (const p of parts.slice(1)) {
    if (!/^[0-9A-Fa-f]{4}$/.test(p)) return undefined;
    const fid = parseInt(p, 16);
    const next = df.children.find((c): c is DedicatedFile => c.kind === 'DF' && c.fid === fid);
    if (next === undefined) return undefined;
    df = next;
  }
  return df;
}

/** Reads the private-key section and puts each key into its slot, checking both ways. */
function readPrivateKeys(r: Reader, v: Json | undefined, mf: DedicatedFile, storageKey: Uint8Array): void {
  if (v !== undefined) {
    const o = r.obj(v, 'privateKeys');
    r.keys(o, 'privateKeys', ['protection', 'keys']);
    const protection = r.oneOf(o.protection, 'privateKeys.protection', ['aes-256-gcm', 'none'] as const);
    if (protection === 'none' && r.version >= 2) r.fail('privateKeys.protection', `private keys in plain in a version-${r.version} image (expected "aes-256-gcm")`);
    r.arr(o.keys, 'privateKeys.keys').forEach((e, i) => {
      const f = `privateKeys.keys[${i}]`;
      const eo = r.obj(e, f);
      r.keys(eo, f, ['df', 'ref', protection === 'none' ? 'value' : 'sealed']);
      const dfPath = r.str(eo.df, `${f}.df`);
      const df = dfAtPath(mf, dfPath);
      if (df === undefined) r.fail(`${f}.df`, 'no such DF on this card');
      const ref = r.int(eo.ref, `${f}.ref`, 0, 255);
      const key = df.asymmetricKeys?.find((k) => k.ref === ref);
      if (key === undefined) r.fail(`${f}.ref`, 'no asymmetric key with this reference in that DF');
      if (key.publicKey === undefined) r.fail(`${f}.ref`, 'the key slot is empty (publicKey null)');
      if (key.privateKey !== undefined) r.fail(`${f}.ref`, 'a second private key for the same slot');
      let value: Uint8Array;
      if (protection === 'none') {
        value = r.bytes(eo.value, `${f}.value`, 1, 8192);
      } else {
        try {
          value = unseal(storageKey, privateKeyContext(dfPath, ref), r.bytes(eo.sealed, `${f}.sealed`, 28, 8192 + 28));
        } catch (err) {
          if (err instanceof SealError) r.fail(`${f}.sealed`, err.message);
          throw err;
        }
      }
      const pub = readPublicKey(r, key.publicKey, `${r.keyFields.get(df)}.publicKey`);
      let matches = false;
      try {
        if (key.type === 'rsa') {
          const derived = rsaPublicKey(value);
          matches = pub.type === 'rsa' && equalBytes(derived.modulus, pub.modulus) && equalBytes(derived.exponent, pub.exponent);
        } else {
          matches = pub.type === 'ec' && equalBytes(ecPublicPoint(key.curve as (typeof EC_CURVES)[number], value), pub.point);
        }
      } catch (err) {
        if (!(err instanceof AsymmetricCryptoError)) throw err;
      }
      if (!matches) r.fail(`${f}.value`, `not the private key of the slot's public key (expected ${key.type === 'rsa' ? 'an RSA PKCS#8 key' : `a ${String(key.curve)} scalar`})`);
      key.privateKey = value;
    });
  }
  for (const [df, field] of r.keyFields) {
    df.asymmetricKeys!.forEach((k, i) => {
      if (k.publicKey !== undefined && k.privateKey === undefined) r.fail(`${field}[${i}].publicKey`, 'no private key for it in privateKeys');
    });
  }
}

/**
 * The largest transparent EF an image holds: what FCP DO 80 states in two bytes. Files beyond
 * 32767 bytes are read with odd-INS READ BINARY (ISO/IEC 7816-4 §11.2.3), as a 40 KB face needs.
 */
const MAX_TRANSPARENT = 0xffff;

const FILE_TYPES = ['DF', 'transparent', 'linear-fixed', 'linear-variable', 'cyclic'] as const;

/** Opens an encrypted file's sealed content, naming the field when it does not open. */
function readSealed(r: Reader, o: { [k: string]: Json }, field: string, ef: ElementaryFile, storageKey: Uint8Array): Uint8Array {
  if (o.encrypted !== true) r.fail(`${field}.encrypted`, 'expected true next to "sealed"');
  try {
    return unseal(storageKey, fileContext(ef), r.bytes(o.sealed, `${field}.sealed`, 28));
  } catch (e) {
    if (e instanceof SealError) r.fail(`${field}.sealed`, e.message);
    throw e;
  }
}

function readFile(r: Reader, v: Json, field: string, parent: DedicatedFile | null, storageKey: Uint8Array): FileNode {
  const o = r.obj(v, field);
  const type = r.oneOf(o.type, `${field}.type`, FILE_TYPES);
  const fid = r.hexInt(o.fid, `${field}.fid`, 0xffff);
  const lcs = r.int(o.lcs, `${field}.lcs`, 0, 255);
  if (!KNOWN_LCS.includes(lcs)) {
    r.fail(`${field}.lcs`, `life-cycle status ${lcs} is not one of ${KNOWN_LCS.map((x) => x.toString(16).padStart(2, '0')).join(', ')} (hex)`);
  }
  const rules = readRules(r, o.rules, `${field}.rules`, type === 'DF');
  if (type === 'DF') {
    r.keys(o, field, ['type', 'fid', 'lcs', 'rules', 'name', 'pins', 'keys', 'dataObjects', 'asymmetricKeys', 'children']);
    const df: DedicatedFile = {
      kind: 'DF',
      fid,
      lcs,
      rules,
      parent,
      name: o.name === undefined ? undefined : r.bytes(o.name, `${field}.name`, 1, 16),
      children: [],
      pins: [],
      keys: [],
      dataObjects: r.arr(o.dataObjects, `${field}.dataObjects`).map((d, i): DataObject => {
        const dobj = r.obj(d, `${field}.dataObjects[${i}]`);
        return { tag: r.hexInt(dobj.tag, `${field}.dataObjects[${i}].tag`, 0xffffff), value: r.bytes(dobj.value, `${field}.dataObjects[${i}].value`) };
      }),
    };
    // Sealed secrets are bound to the DF's path, known once `parent` is set.
    const dfPath = formatPath(df);
    df.pins = r.arr(o.pins, `${field}.pins`).map((p, i) => readPin(r, p, `${field}.pins[${i}]`, dfPath));
    df.keys = r.arr(o.keys, `${field}.keys`).map((k, i) => readKey(r, k, `${field}.keys[${i}]`, { dfPath }));
    // References, tags, FIDs and SFIs are looked up by value: a second object would be unreachable.
    r.unique(df.pins.map((p) => p.ref), (i) => `${field}.pins[${i}].ref`, 'PIN reference in this DF');
    r.unique(df.keys.map((k) => k.ref), (i) => `${field}.keys[${i}].ref`, 'key reference in this DF');
    r.unique(df.dataObjects.map((d) => d.tag), (i) => `${field}.dataObjects[${i}].tag`, 'data object tag in this DF');
    if (o.asymmetricKeys !== undefined) {
      df.asymmetricKeys = r.arr(o.asymmetricKeys, `${field}.asymmetricKeys`).map((k, i) => readAsymmetricKey(r, k, `${field}.asymmetricKeys[${i}]`));
      r.unique(df.asymmetricKeys.map((k) => k.ref), (i) => `${field}.asymmetricKeys[${i}].ref`, 'asymmetric key reference in this DF');
      r.keyFields.set(df, `${field}.asymmetricKeys`);
    }
    const seen = new Set<number>();
    const sfis = new Set<number>();
    r.arr(o.children, `${field}.children`).forEach((c, i) => {
      const child = readFile(r, c, `${field}.children[${i}]`, df, storageKey);
      if (seen.has(child.fid) || child.fid === fid) r.fail(`${field}.children[${i}].fid`, 'duplicate FID');
      seen.add(child.fid);
      if (child.kind === 'EF' && child.sfi !== undefined) {
        if (sfis.has(child.sfi)) r.fail(`${field}.children[${i}].sfi`, `duplicate SFI ${child.sfi} in this DF`);
        sfis.add(child.sfi);
      }
      df.children.push(child);
    });
    return df;
  }
  const sfi = o.sfi === null || o.sfi === undefined ? undefined : r.int(o.sfi, `${field}.sfi`, 1, 30);
  const encrypted = o.sealed !== undefined;
  if (type === 'transparent') {
    r.keys(o, field, ['type', 'fid', 'lcs', 'rules', 'sfi', ...(encrypted ? ['encrypted', 'sealed'] : ['data'])]);
    const ef: TransparentEf = { kind: 'EF', structure: 'transparent', fid, lcs, rules, parent, sfi, data: new Uint8Array(0) };
    if (encrypted) {
      ef.encrypted = true;
      ef.data = readSealed(r, o, field, ef, storageKey);
      if (ef.data.length > MAX_TRANSPARENT) r.fail(`${field}.sealed`, `more than ${MAX_TRANSPARENT} bytes`);
    } else {
      ef.data = r.bytes(o.data, `${field}.data`, 0, MAX_TRANSPARENT);
    }
    return ef;
  }
  r.keys(o, field, ['type', 'fid', 'lcs', 'rules', 'sfi', 'recordSize', 'maxRecords', ...(encrypted ? ['encrypted', 'sealed'] : ['records'])]);
  const recordSize = r.int(o.recordSize, `${field}.recordSize`, 1, 255);
  const maxRecords = r.int(o.maxRecords, `${field}.maxRecords`, 1, 254);
  const ef: RecordEf = { kind: 'EF', structure: type, fid, lcs, rules, parent, sfi, recordSize, maxRecords, records: [] };
  const minLength = type === 'linear-variable' ? 1 : recordSize;
  if (encrypted) {
    ef.encrypted = true;
    const records = unpackRecords(readSealed(r, o, field, ef, storageKey));
    if (records === undefined) return r.fail(`${field}.sealed`, 'sealed records are not length-prefixed records');
    records.forEach((rec, i) => {
      if (rec.length < minLength || rec.length > recordSize) r.fail(`${field}.sealed`, `record ${i + 1} has ${rec.length} bytes, expected ${minLength}..${recordSize}`);
    });
    ef.records = records;
  } else {
    ef.records = r.arr(o.records, `${field}.records`).map((x, i) => r.bytes(x, `${field}.records[${i}]`, minLength, recordSize));
  }
  if (ef.records.length > maxRecords) r.fail(`${field}.${encrypted ? 'sealed' : 'records'}`, `more than maxRecords (${maxRecords})`);
  return ef;
}

/** The ATR must parse, as `createCard` requires of a caller's ATR (GET DATA 5F52 decodes it). */
function readAtr(r: Reader, v: Json | undefined): Uint8Array {
  const atr = r.bytes(v, 'atr', 2, 33);
  try {
    parseAtr(atr);
  } catch (e) {
    r.fail('atr', `not a valid ATR (${e instanceof Error ? e.message : String(e)})`);
  }
  return atr;
}

/** An applet AID: 5..16 bytes, or empty for the card-level applet in the MF. */
function readAid(r: Reader, v: Json | undefined, field: string): Uint8Array {
  const b = r.bytes(v, field, 0, 16);
  if (b.length > 0 && b.length < 5) r.fail(field, `expected 5..16 bytes (or "" for the card-level applet), got ${b.length}`);
  return b;
}

/** Builds card state from an image document; throws {@link CardImageError} naming the field. */
export function cardStateFromJson(doc: unknown, source?: string, opts: CardImageOptions = {}): CardState {
  checkImageKey(opts.imageKey, source);
  const r = new Reader(source);
  const o = r.obj(doc as Json, ROOT);
  if (o.format !== IMAGE_FORMAT) r.fail('format', `expected "${IMAGE_FORMAT}", got ${JSON.stringify(o.format)}`);
  if (typeof o.version !== 'number' || !IMAGE_VERSIONS_READ.includes(o.version)) {
    r.fail('version', `this chipwright reads versions ${IMAGE_VERSIONS_READ.join(' and ')} (writes ${IMAGE_VERSION}), the image is version ${JSON.stringify(o.version)}`);
  }
  r.version = o.version as number;
  r.keys(o, ROOT, ['format', 'version', 'serial', 'atr', 'lifeCycle', 'capacity', 'maxChannels', 'transportKey', 'keyStore', 'mf', 'applets', 'privateKeys']);
  // The protected key store: present when the image holds sealed content (without it, a sealed
  // file fails to open, naming the field).
  // A version-2 image always has one (the transport key is sealed).
  let storageKey: Uint8Array | undefined;
  if (o.keyStore !== undefined || r.version >= 2) {
    const ks = r.obj(o.keyStore, 'keyStore');
    r.keys(ks, 'keyStore', ['storageKey', 'wrappedStorageKey']);
    if (ks.wrappedStorageKey !== undefined) {
      if (ks.storageKey !== undefined) r.fail('keyStore', 'holds the storage key both plain and wrapped; one of them was added by hand');
      const wrapped = r.bytes(ks.wrappedStorageKey, 'keyStore.wrappedStorageKey', 60, 60);
      if (opts.imageKey === undefined) r.fail('keyStore.wrappedStorageKey', 'the storage key is wrapped under an image key; give that key (CHIPWRIGHT_IMAGE_KEY for the CLI)');
      try {
        storageKey = unseal(opts.imageKey!, IMAGE_KEY_CONTEXT, wrapped);
      } catch (e) {
        if (e instanceof SealError) r.fail('keyStore.wrappedStorageKey', 'does not open with the image key given (another card\'s key, or the image was changed)');
        throw e;
      }
    } else {
      storageKey = r.bytes(ks.storageKey, 'keyStore.storageKey', 32, 32);
    }
    r.storageKey = storageKey;
  }
  const root = readFile(r, o.mf as Json, 'mf', null, storageKey ?? NO_KEY);
  if (root.kind !== 'DF' || root.fid !== 0x3f00) return r.fail('mf', 'must be a DF with FID 3F00');
  const mf: DedicatedFile = root;
  readPrivateKeys(r, o.privateKeys, mf, storageKey ?? NO_KEY);
  // DF names select applications card-wide (ISO/IEC 7816-4 §7.1.1): a repeated one is unreachable.
  const named: { name: Uint8Array; field: string }[] = [];
  const walk = (df: DedicatedFile, field: string): void => {
    if (df.name !== undefined) named.push({ name: df.name, field: `${field}.name` });
    df.children.forEach((c, i) => {
      if (c.kind === 'DF') walk(c, `${field}.children[${i}]`);
    });
  };
  walk(mf, 'mf');
  r.unique(named, (i) => named[i]!.field, 'DF name on this card', (a, b) => equalBytes(a.name, b.name));
  const applets: AppletRecord[] = r.arr(o.applets, 'applets').map((a, i) => {
    const f = `applets[${i}]`;
    const ao = r.obj(a, f);
    r.keys(ao, f, ['aid', 'type', 'params', 'lifeCycle', 'store']);
    const store = r.obj(ao.store, `${f}.store`);
    return {
      aid: readAid(r, ao.aid, `${f}.aid`),
      type: r.str(ao.type, `${f}.type`),
      params: r.bytes(ao.params, `${f}.params`),
      lifeCycle: r.oneOf(ao.lifeCycle, `${f}.lifeCycle`, ['selectable', 'locked'] as const),
      store: Object.entries(store).map(([key, value]) => ({ key, value: r.bytes(value, `${f}.store.${key}`) })),
    };
  });
  r.unique(applets.map((a) => a.aid), (i) => `applets[${i}].aid`, 'applet AID', equalBytes);
  return {
    serial: r.bytes(o.serial, 'serial', 1, 32),
    atr: readAtr(r, o.atr),
    lifeCycle: r.oneOf<CardLifeCycle>(o.lifeCycle, 'lifeCycle', CARD_LIFE_CYCLES),
    capacity: r.int(o.capacity, 'capacity', 1024, 64 << 20),
    maxChannels: r.int(o.maxChannels, 'maxChannels', 1, 20),
    transportKey: readKey(r, o.transportKey as Json, 'transportKey', { context: TRANSPORT_KEY_CONTEXT }),
    storageKey,
    ...(opts.imageKey !== undefined ? { imageKey: opts.imageKey } : {}),
    mf,
    applets,
  };
}

/** Parses image text; JSON syntax errors and truncation become {@link CardImageError}. */
export function parseCardImage(text: string, source?: string, opts: CardImageOptions = {}): CardState {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new CardImageError(ROOT, `not a card image (invalid or truncated JSON: ${e instanceof Error ? e.message : String(e)})`, source);
  }
  return cardStateFromJson(doc, source, opts);
}

/**
 * Loads a card from image text. Every applet type the image names must be registered in
 * `opts.applets` (also locked ones: they may be unlocked later), else a {@link CardImageError}
 * names the applet and the fix.
 */
export function loadCard(text: string, opts: Pick<CardOptions, 'rng' | 'applets' | 'onEvent'> & CardImageOptions = {}, source?: string): Card {
  const state = parseCardImage(text, source, opts.imageKey !== undefined ? { imageKey: opts.imageKey } : {});
  const known = new Set((opts.applets ?? []).map((f) => f.type));
  state.applets.forEach((a, i) => {
    if (!known.has(a.type)) {
      throw new CardImageError(
        `applets[${i}].type`,
        `applet type "${a.type}" (AID ${bytesToHex(a.aid)}) is not registered; pass its factory in CardOptions.applets`,
        source,
      );
    }
  });
  return new Card(state, opts);
}

/** Loads a card from an image file. */
export function loadCardImage(path: string, opts: Pick<CardOptions, 'rng' | 'applets' | 'onEvent'> & CardImageOptions = {}): Card {
  return loadCard(readFileSync(path, 'utf8'), opts, path);
}
