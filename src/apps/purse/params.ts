/**
 * Install parameters of the purse applet: what personalization gives it (initial balance, limits,
 * currency, keys, holder PIN, log size, transit contracts), as a BER-TLV list (ISO/IEC 7816-4
 * §6.3 encoding; the tags are chipwright's own, context-specific class):
 *
 * | tag | field            | value                                                     |
 * |-----|------------------|-----------------------------------------------------------|
 * | 80  | currency         | ISO 4217 numeric code, BCD n3 in 2 bytes (`09 78` = EUR)  |
 * | 81  | exponent         | 1 byte, ISO 4217 minor unit (default 2)                   |
 * | 82  | maximum          | 4 bytes, most the balance may reach (1..2^31-1)           |
 * | 83  | initialBalance   | 4 bytes (default 0)                                       |
 * | 84  | pinThreshold     | 4 bytes: most a session may debit without the PIN (absent: never needed) |
 * | 85  | logSize          | 1 byte, records in the cyclic log (1..64, default 8)      |
 * | 86  | maxSessionOps    | 1 byte, operations per session (1..logSize, default min(4, logSize)) |
 * | 87  | keyVersion       | 1 byte (default 1), returned by OPEN SESSION               |
 * | 88  | loadKey          | AES key, 16/24/32 bytes (secret)                          |
 * | 89  | purchaseKey      | AES key, 16/24/32 bytes (secret)                          |
 * | 8A  | pin.value        | holder PIN, 4..12 bytes (secret)                          |
 * | 8B  | pin.maxTries     | 1 byte, 1..15 (default 3)                                 |
 * | A0  | contract         | constructed, repeatable: 80 product(2) 81 zones(2 bitmap) 82 validFrom(2) 83 validUntil(2) 84 trips(2), dates as EN 1545-1 DateStamps |
 *
 * Profiles (later) map their YAML onto a {@link PurseSpec} and call {@link purseInstallParams};
 * the CLI's `purse install` reads the same shape from JSON ({@link purseSpecFromJson}).
 *
 * Secrets: error messages name fields, never values. After install the applet replaces the
 * record's parameters with {@link redactPurseInstallParams} (secret values zero-filled), so the card
 * image does not keep a second copy of the keys and PIN beside the applet's own.
 */
import { ByteInputError, concatBytes, hexToBytes, readUintBE } from '../../bytes/index.js';
import { encodeTlv, parseTlvList, TlvError, type Tlv } from '../../tlv/ber.js';
import { MAX_AMOUNT, CONTRACT_RECORD } from './protocol.js';
import { decodeCurrency, encodeCurrency, encodeContractRecord, decodeContractRecord, type PurseContract } from './records.js';
import { u32 } from './_int.js';

/** A purse personalization that cannot be used; the message names the field and the fix. */
export class PurseParamsError extends Error {
  override readonly name = 'PurseParamsError';
}

/** The holder PIN: required when {@link PurseSpec.pinThreshold} is set. */
export interface PursePinSpec {
  /** The PIN's bytes (ASCII digits, usually). */
  readonly value: Uint8Array;
  readonly maxTries?: number;
}

/** Everything personalization decides about a purse. */
export interface PurseSpec {
  /** ISO 4217 numeric code (978 = EUR, 840 = USD). */
  readonly currency: number;
  /** ISO 4217 minor unit; amounts are integers in that unit. Default 2. */
  readonly exponent?: number;
  /** Most the balance may reach, in minor units (1..2^31-1). */
  readonly maximum: number;
  /** Default 0. */
  readonly initialBalance?: number;
  /** Most a session may debit without the holder PIN verified; absent = the PIN is never needed. */
  readonly pinThreshold?: number;
  readonly pin?: PursePinSpec;
  /** AES-128/192/256 key for sessions that CREDIT (key index 2). Absent: the purse cannot be loaded. */
  readonly loadKey?: Uint8Array;
  /** AES-128/192/256 key for sessions that DEBIT or USE TRIP (key index 3). */
  readonly purchaseKey?: Uint8Array;
  /** Default 1. */
  readonly keyVersion?: number;
  /** Records in the cyclic log, 1..64. Default 8. */
  readonly logSize?: number;
  /** Operations (CREDIT, DEBIT, USE TRIP) per session, 1..logSize. Default min(4, logSize). */
  readonly maxSessionOps?: number;
  /** Transit contracts, record 1 first (at most 32). */
  readonly contracts?: readonly PurseContract[];
}

/** A spec with every default filled in (what the applet installs). */
export interface ResolvedPurseSpec {
  readonly currency: number;
  readonly exponent: number;
  readonly maximum: number;
  readonly initialBalance: number;
  readonly pinThreshold: number | undefined;
  readonly pin: { readonly value: Uint8Array; readonly maxTries: number } | undefined;
  readonly loadKey: Uint8Array | undefined;
  readonly purchaseKey: Uint8Array | undefined;
  readonly keyVersion: number;
  readonly logSize: number;
  readonly maxSessionOps: number;
  readonly contracts: readonly PurseContract[];
}

const TAG = {
  CURRENCY: 0x80,
  EXPONENT: 0x81,
  MAXIMUM: 0x82,
  INITIAL_BALANCE: 0x83,
  PIN_THRESHOLD: 0x84,
  LOG_SIZE: 0x85,
  MAX_SESSION_OPS: 0x86,
  KEY_VERSION: 0x87,
  LOAD_KEY: 0x88,
  PURCHASE_KEY: 0x89,
  PIN_VALUE: 0x8a,
  PIN_TRIES: 0x8b,
  CONTRACT: 0xa0,
} as const;

const MAX_CONTRACTS = 32;

function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new PurseParamsError(`purse.${field}: expected a whole number ${min}..${max}, got ${typeof v === 'number' ? v : JSON.stringify(v)}`);
  }
  return v;
}

function aesKey(v: Uint8Array | undefined, field: string): Uint8Array | undefined {
  if (v === undefined) return undefined;
  if (!(v instanceof Uint8Array) || ![16, 24, 32].includes(v.length)) {
    // Only the length is shown: this is a secret.
    throw new PurseParamsError(`purse.${field}: expected an AES key of 16, 24 or 32 bytes, got ${v instanceof Uint8Array ? `${v.length} bytes` : typeof v}`);
  }
  return v;
}

/**
 * Checks a spec and fills in the defaults; every problem names the field (`purse.initialBalance:
 * 5000 is above purse.maximum 1000`).
 *
 * @example resolvePurseSpec({ currency: 978, maximum: 50_000 }).logSize // 8
 */
export function resolvePurseSpec(spec: PurseSpec): ResolvedPurseSpec {
  const currency = int(spec.currency, 'currency', 1, 999);
  const exponent = int(spec.exponent ?? 2, 'exponent', 0, 9);
  const maximum = int(spec.maximum, 'maximum', 1, MAX_AMOUNT);
  const initialBalance = int(spec.initialBalance ?? 0, 'initialBalance', 0, MAX_AMOUNT);
  if (initialBalance > maximum) {
    throw new PurseParamsError(`purse.initialBalance: ${initialBalance} is above purse.maximum ${maximum}; lower it or raise the maximum`);
  }
  const pinThreshold = spec.pinThreshold === undefined ? undefined : int(spec.pinThreshold, 'pinThreshold', 0, MAX_AMOUNT);
  let pin: ResolvedPurseSpec['pin'];
  if (spec.pin !== undefined) {
    const v = spec.pin.value;
    if (!(v instanceof Uint8Array) || v.length < 4 || v.length > 12) {
      throw new PurseParamsError(`purse.pin.value: expected 4..12 bytes, got ${v instanceof Uint8Array ? v.length : typeof v}`);
    }
    pin = { value: v, maxTries: int(spec.pin.maxTries ?? 3, 'pin.maxTries', 1, 15) };
  }
  if (pinThreshold !== undefined && pin === undefined) {
    throw new PurseParamsError('purse.pinThreshold: set, but there is no purse.pin to verify; add the holder PIN or drop the threshold');
  }
  const logSize = int(spec.logSize ?? 8, 'logSize', 1, 64);
  const maxSessionOps = int(spec.maxSessionOps ?? Math.min(4, logSize), 'maxSessionOps', 1, 64);
  if (maxSessionOps > logSize) {
    // A session's records must all fit in the log, or a commit would push its own records out.
    throw new PurseParamsError(`purse.maxSessionOps: ${maxSessionOps} is above purse.logSize ${logSize}; a session's log records must fit in the log`);
  }
  const contracts = spec.contracts ?? [];
  if (contracts.length > MAX_CONTRACTS) throw new PurseParamsError(`purse.contracts: at most ${MAX_CONTRACTS}, got ${contracts.length}`);
  contracts.forEach((c, i) => {
    try {
      encodeContractRecord(c, `purse.contracts[${i}]`);
    } catch (e) {
      throw e instanceof ByteInputError ? new PurseParamsError(e.message) : e;
    }
  });
  return {
    currency,
    exponent,
    maximum,
    initialBalance,
    pinThreshold,
    pin,
    loadKey: aesKey(spec.loadKey, 'loadKey'),
    purchaseKey: aesKey(spec.purchaseKey, 'purchaseKey'),
    keyVersion: int(spec.keyVersion ?? 1, 'keyVersion', 0, 255),
    logSize,
    maxSessionOps,
    contracts,
  };
}

/**
 * Encodes a spec as the purse's install parameters (the table in the module comment). Validates
 * first, so a card never receives parameters it would refuse.
 *
 * @example card.install(PURSE_AID, 'purse', purseInstallParams({ currency: 978, maximum: 50_000, purchaseKey }))
 */
export function purseInstallParams(spec: PurseSpec): Uint8Array {
  const s = resolvePurseSpec(spec);
  const parts: Uint8Array[] = [
    encodeTlv(TAG.CURRENCY, encodeCurrency(s.currency)),
    encodeTlv(TAG.EXPONENT, Uint8Array.of(s.exponent)),
    encodeTlv(TAG.MAXIMUM, u32(s.maximum)),
    encodeTlv(TAG.INITIAL_BALANCE, u32(s.initialBalance)),
  ];
  if (s.pinThreshold !== undefined) parts.push(encodeTlv(TAG.PIN_THRESHOLD, u32(s.pinThreshold)));
  parts.push(
    encodeTlv(TAG.LOG_SIZE, Uint8Array.of(s.logSize)),
    encodeTlv(TAG.MAX_SESSION_OPS, Uint8Array.of(s.maxSessionOps)),
    encodeTlv(TAG.KEY_VERSION, Uint8Array.of(s.keyVersion)),
  );
  if (s.loadKey) parts.push(encodeTlv(TAG.LOAD_KEY, s.loadKey));
  if (s.purchaseKey) parts.push(encodeTlv(TAG.PURCHASE_KEY, s.purchaseKey));
  if (s.pin) parts.push(encodeTlv(TAG.PIN_VALUE, s.pin.value), encodeTlv(TAG.PIN_TRIES, Uint8Array.of(s.pin.maxTries)));
  for (const c of s.contracts) {
    const r = encodeContractRecord(c);
    const field = (tag: number, off: number): Uint8Array => encodeTlv(tag, r.subarray(off, off + 2));
    parts.push(
      encodeTlv(
        TAG.CONTRACT,
        concatBytes(
          field(0x80, CONTRACT_RECORD.PRODUCT),
          field(0x81, CONTRACT_RECORD.ZONES),
          field(0x82, CONTRACT_RECORD.VALID_FROM),
          field(0x83, CONTRACT_RECORD.VALID_UNTIL),
          field(0x84, CONTRACT_RECORD.TRIPS),
        ),
      ),
    );
  }
  return concatBytes(...parts);
}

function fixed(t: Tlv, length: number, field: string): Uint8Array {
  if (t.value.length !== length) throw new PurseParamsError(`purse params ${field} (tag ${t.tag.toString(16).toUpperCase()}): expected ${length} bytes, got ${t.value.length}`);
  return t.value;
}

/**
 * Decodes install parameters back into a spec (defaults made explicit). Strict: unknown or
 * repeated tags, wrong lengths and values a spec could not hold are errors naming the field.
 *
 * @example decodePurseInstallParams(purseInstallParams(spec)) // spec, with defaults filled in
 */
export function decodePurseInstallParams(params: Uint8Array): PurseSpec {
  let list: Tlv[];
  try {
    list = parseTlvList(params);
  } catch (e) {
    throw new PurseParamsError(`purse params: not a BER-TLV list (${e instanceof TlvError ? e.message : String(e)})`);
  }
  const seen = new Set<number>();
  const spec: { -readonly [K in keyof PurseSpec]: PurseSpec[K] } = { currency: 0, maximum: 0 };
  let pinValue: Uint8Array | undefined;
  let pinTries: number | undefined;
  const contracts: PurseContract[] = [];
  for (const t of list) {
    if (t.tag !== TAG.CONTRACT) {
      if (seen.has(t.tag)) throw new PurseParamsError(`purse params: tag ${t.tag.toString(16).toUpperCase()} given twice`);
      seen.add(t.tag);
    }
    switch (t.tag) {
      case TAG.CURRENCY:
        try {
          spec.currency = decodeCurrency(fixed(t, 2, 'currency'), 'purse params currency');
        } catch (e) {
          throw e instanceof PurseParamsError ? e : new PurseParamsError((e as Error).message);
        }
        break;
      case TAG.EXPONENT:
        spec.exponent = fixed(t, 1, 'exponent')[0]!;
        break;
      case TAG.MAXIMUM:
        spec.maximum = readUintBE(fixed(t, 4, 'maximum'));
        break;
      case TAG.INITIAL_BALANCE:
        spec.initialBalance = readUintBE(fixed(t, 4, 'initialBalance'));
        break;
      case TAG.PIN_THRESHOLD:
        spec.pinThreshold = readUintBE(fixed(t, 4, 'pinThreshold'));
        break;
      case TAG.LOG_SIZE:
        spec.logSize = fixed(t, 1, 'logSize')[0]!;
        break;
      case TAG.MAX_SESSION_OPS:
        spec.maxSessionOps = fixed(t, 1, 'maxSessionOps')[0]!;
        break;
      case TAG.KEY_VERSION:
        spec.keyVersion = fixed(t, 1, 'keyVersion')[0]!;
        break;
      case TAG.LOAD_KEY:
        spec.loadKey = t.value.slice();
        break;
      case TAG.PURCHASE_KEY:
        spec.purchaseKey = t.value.slice();
        break;
      case TAG.PIN_VALUE:
        pinValue = t.value.slice();
        break;
      case TAG.PIN_TRIES:
        pinTries = fixed(t, 1, 'pin.maxTries')[0]!;
        break;
      case TAG.CONTRACT:
        contracts.push(decodeContract(t, contracts.length));
        break;
      default:
        throw new PurseParamsError(`purse params: unknown tag ${t.tag.toString(16).toUpperCase()} (see the tag table in src/apps/purse/params.ts)`);
    }
  }
  if (!seen.has(TAG.CURRENCY)) throw new PurseParamsError('purse params: currency (tag 80) missing');
  if (!seen.has(TAG.MAXIMUM)) throw new PurseParamsError('purse params: maximum (tag 82) missing');
  if (pinValue !== undefined) spec.pin = { value: pinValue, ...(pinTries !== undefined ? { maxTries: pinTries } : {}) };
  if (contracts.length > 0) spec.contracts = contracts;
  resolvePurseSpec(spec);
  return spec;
}

function decodeContract(t: Tlv, i: number): PurseContract {
  const r = new Uint8Array(CONTRACT_RECORD.SIZE);
  const offsets: Readonly<Record<number, number>> = {
    0x80: CONTRACT_RECORD.PRODUCT,
    0x81: CONTRACT_RECORD.ZONES,
    0x82: CONTRACT_RECORD.VALID_FROM,
    0x83: CONTRACT_RECORD.VALID_UNTIL,
    0x84: CONTRACT_RECORD.TRIPS,
  };
  const seen = new Set<number>();
  for (const c of t.children ?? []) {
    const off = offsets[c.tag];
    if (off === undefined || seen.has(c.tag)) throw new PurseParamsError(`purse params contract ${i + 1}: unexpected tag ${c.tag.toString(16).toUpperCase()}`);
    seen.add(c.tag);
    r.set(fixed(c, 2, `contract ${i + 1}`), off);
  }
  if (seen.size !== 5) throw new PurseParamsError(`purse params contract ${i + 1}: expected tags 80..84, got ${seen.size} of them`);
  return decodeContractRecord(r);
}

/**
 * A copy of install parameters with the values of the secret tags (88 load key, 89 purchase key,
 * 8A PIN) zero-filled: still decodable, same lengths, no secret. The applet stores this in its
 * record after install.
 *
 * @example decodePurseInstallParams(redactPurseInstallParams(p)).loadKey // 00…00
 */
export function redactPurseInstallParams(params: Uint8Array): Uint8Array {
  const out = params.slice();
  for (const t of parseTlvList(out)) {
    if (t.tag === TAG.LOAD_KEY || t.tag === TAG.PURCHASE_KEY || t.tag === TAG.PIN_VALUE) t.value.fill(0);
  }
  return out;
}

/**
 * Reads a spec from parsed JSON (the `purse install --spec` file; profiles later): numbers as
 * numbers, keys as hex strings, the PIN as its digits (`"pin": {"value": "1234"}`), dates as
 * `YYYY-MM-DD`. `source` prefixes every message (`spec.json: purse.loadKey: not hex`).
 */
export function purseSpecFromJson(doc: unknown, source = 'spec'): PurseSpec {
  const fail = (msg: string): never => {
    throw new PurseParamsError(`${source}: ${msg}`);
  };
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return fail('expected a JSON object {"currency": 978, "maximum": 50000, ...}');
  const o = doc as Record<string, unknown>;
  const known = ['currency', 'exponent', 'maximum', 'initialBalance', 'pinThreshold', 'pin', 'loadKey', 'purchaseKey', 'keyVersion', 'logSize', 'maxSessionOps', 'contracts'];
  for (const k of Object.keys(o)) if (!known.includes(k)) fail(`purse.${k}: unknown field (expected one of ${known.join(', ')})`);
  const num = (k: string): number | undefined => {
    const v = o[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'number') return fail(`purse.${k}: expected a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const key = (k: string): Uint8Array | undefined => {
    const v = o[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') return fail(`purse.${k}: expected a hex string`);
    try {
      return hexToBytes(v, `purse.${k}`);
    } catch {
      // Never echo a secret, not even a malformed one.
      return fail(`purse.${k}: not hex`);
    }
  };
  let pin: PursePinSpec | undefined;
  if (o.pin !== undefined) {
    const p = o.pin as Record<string, unknown>;
    if (p === null || typeof p !== 'object' || typeof p.value !== 'string' || !/^\d+$/.test(p.value)) {
      fail('purse.pin: expected {"value": "digits", "maxTries": n}');
    }
    if (p.maxTries !== undefined && typeof p.maxTries !== 'number') fail('purse.pin.maxTries: expected a number');
    pin = { value: new TextEncoder().encode(p.value as string), ...(p.maxTries !== undefined ? { maxTries: p.maxTries as number } : {}) };
  }
  let contracts: PurseContract[] | undefined;
  if (o.contracts !== undefined) {
    if (!Array.isArray(o.contracts)) return fail('purse.contracts: expected an array');
    contracts = o.contracts.map((c: unknown, i): PurseContract => {
      const r = c as Record<string, unknown>;
      if (r === null || typeof r !== 'object') return fail(`purse.contracts[${i}]: expected an object`);
      if (!Array.isArray(r.zones)) return fail(`purse.contracts[${i}].zones: expected an array of zone numbers`);
      for (const f of ['validFrom', 'validUntil']) if (typeof r[f] !== 'string') fail(`purse.contracts[${i}].${f}: expected "YYYY-MM-DD"`);
      return {
        product: r.product as number,
        zones: r.zones as number[],
        validFrom: r.validFrom as string,
        validUntil: r.validUntil as string,
        trips: r.trips as number,
      };
    });
  }
  const spec: PurseSpec = {
    currency: num('currency') ?? fail('purse.currency: missing (ISO 4217 numeric, e.g. 978 for EUR)'),
    maximum: num('maximum') ?? fail('purse.maximum: missing (most the balance may reach, in minor units)'),
    ...opt('exponent', num('exponent')),
    ...opt('initialBalance', num('initialBalance')),
    ...opt('pinThreshold', num('pinThreshold')),
    ...opt('pin', pin),
    ...opt('loadKey', key('loadKey')),
    ...opt('purchaseKey', key('purchaseKey')),
    ...opt('keyVersion', num('keyVersion')),
    ...opt('logSize', num('logSize')),
    ...opt('maxSessionOps', num('maxSessionOps')),
    ...opt('contracts', contracts),
  };
  try {
    resolvePurseSpec(spec);
  } catch (e) {
    if (e instanceof PurseParamsError) fail(e.message);
    throw e;
  }
  return spec;
}

function opt<K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [k]: v }) as { [P in K]?: V };
}
