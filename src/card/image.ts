/**
 * The card image: a versioned JSON document holding the card's non-volatile state (files,
 * counters, keys, data objects, applets, life cycle). Transient state is never written.
 *
 * Loading is all-or-nothing: the whole document is validated and built before a card exists, so a
 * corrupt, truncated or wrong-version image is a clear error naming the field, never a
 * half-loaded card. Saving to a path writes a temporary file in the same directory and renames it
 * over the target (atomic on POSIX file systems), so a crash never leaves a torn image.
 *
 * Format (version 1), all byte strings as upper-case hex:
 * ```json
 * { "format": "chipwright-card-image", "version": 1,
 *   "serial": "…", "atr": "…", "lifeCycle": "personalization", "capacity": 1048576, "maxChannels": 4,
 *   "transportKey": { "algorithm": "3des", "value": "…", "maxTries": 15, "tries": 15 },
 *   "mf": { "type": "DF", "fid": "3F00", "lcs": 5, "rules": "<AB value>" | null, "name"?: "…",
 *           "pins": [ … ], "keys": [ … ], "dataObjects": [ { "tag": "5F20", "value": "…" } ],
 *           "children": [ { "type": "transparent", "fid": "011E", "sfi": 30, "lcs": 5, "rules": null, "data": "…" },
 *                         { "type": "linear-fixed", "fid": "…", "recordSize": 32, "maxRecords": 10, "records": ["…"] } ] },
 *   "applets": [ { "aid": "…", "type": "echo", "params": "", "lifeCycle": "selectable", "store": {} } ] }
 * ```
 * Access rules are stored in their FCP encoding (value of tag 'AB', see `security/access.ts`),
 * the same bytes SELECT returns, so one encoding is documented and tested.
 */
import { renameSync, writeFileSync, readFileSync, unlinkSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { bytesToHex, hexToBytes } from '../bytes/index.js';
import { Card, type CardOptions } from './os.js';
import type { AppletRecord, CardLifeCycle, CardState } from './state.js';
import { CARD_LIFE_CYCLES } from './state.js';
import type { DataObject, DedicatedFile, FileNode } from './fs/file.js';
import { decodeAccessRules, encodeAccessRules, type AccessRules } from './security/access.js';
import type { KeyObject, PinObject, PinPadding } from './security/objects.js';

export const IMAGE_FORMAT = 'chipwright-card-image';
export const IMAGE_VERSION = 1;

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

function pinJson(p: PinObject): Json {
  return {
    ref: p.ref,
    label: p.label,
    value: hex(p.value),
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

function keyJson(k: KeyObject): Json {
  return { ref: k.ref, label: k.label, algorithm: k.algorithm, value: hex(k.value), maxTries: k.maxTries, tries: k.tries };
}

function fileJson(f: FileNode): Json {
  const base = { fid: f.fid.toString(16).toUpperCase().padStart(4, '0'), lcs: f.lcs, rules: rulesJson(f.rules, f.kind === 'DF') };
  if (f.kind === 'DF') {
    return {
      type: 'DF',
      ...base,
      ...(f.name ? { name: hex(f.name) } : {}),
      pins: f.pins.map(pinJson),
      keys: f.keys.map(keyJson),
      dataObjects: f.dataObjects.map((d) => ({ tag: d.tag.toString(16).toUpperCase(), value: hex(d.value) })),
      children: f.children.map(fileJson),
    };
  }
  if (f.structure === 'transparent') {
    return { type: 'transparent', ...base, sfi: f.sfi ?? null, data: hex(f.data) };
  }
  return {
    type: f.structure,
    ...base,
    sfi: f.sfi ?? null,
    recordSize: f.recordSize,
    maxRecords: f.maxRecords,
    records: f.records.map(hex),
  };
}

/** The image document of a card's non-volatile state. */
export function cardImageJson(state: CardState): Json {
  return {
    format: IMAGE_FORMAT,
    version: IMAGE_VERSION,
    serial: hex(state.serial),
    atr: hex(state.atr),
    lifeCycle: state.lifeCycle,
    capacity: state.capacity,
    maxChannels: state.maxChannels,
    transportKey: keyJson(state.transportKey),
    mf: fileJson(state.mf),
    applets: state.applets.map((a) => ({
      aid: hex(a.aid),
      type: a.type,
      params: hex(a.params),
      lifeCycle: a.lifeCycle,
      store: Object.fromEntries(a.store.map((e) => [e.key, hex(e.value)])),
    })),
  };
}

/** Serializes a card's non-volatile state (uncommitted writes are never included). */
export function serializeCard(card: Card): string {
  if (card.nv.dirty) throw new Error('serializeCard: the card has uncommitted writes');
  return JSON.stringify(cardImageJson(card.state), null, 1) + '\n';
}

/** Saves atomically: temp file in the same directory, fsync'd by writeFileSync's close, rename. */
export function saveCardImage(card: Card, path: string): void {
  const text = serializeCard(card);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, text, { flush: true });
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw e;
  }
}

// --- loading ----------------------------------------------------------------------------------

class Reader {
  constructor(readonly source: string | undefined) {}

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
    for (const k of Object.keys(o)) if (!allowed.includes(k)) this.fail(`${field}.${k}`, 'unknown field');
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

function readPin(r: Reader, v: Json, field: string): PinObject {
  const o = r.obj(v, field);
  r.keys(o, field, ['ref', 'label', 'value', 'minLength', 'maxLength', 'padding', 'paddedLength', 'maxTries', 'tries', 'pukRef', 'unblocksLeft']);
  const maxTries = r.int(o.maxTries, `${field}.maxTries`, 1, 15);
  return {
    ref: r.int(o.ref, `${field}.ref`, 0, 255),
    label: r.str(o.label, `${field}.label`),
    value: r.bytes(o.value, `${field}.value`, 1, 64),
    minLength: r.int(o.minLength, `${field}.minLength`, 1, 64),
    maxLength: r.int(o.maxLength, `${field}.maxLength`, 1, 64),
    padding: r.oneOf<PinPadding>(o.padding, `${field}.padding`, ['none', 'ff', '00']),
    paddedLength: r.int(o.paddedLength, `${field}.paddedLength`, 0, 64),
    maxTries,
    tries: r.int(o.tries, `${field}.tries`, 0, maxTries),
    pukRef: o.pukRef === null || o.pukRef === undefined ? undefined : r.int(o.pukRef, `${field}.pukRef`, 0, 255),
    unblocksLeft: r.int(o.unblocksLeft, `${field}.unblocksLeft`, -1, 1_000_000),
  };
}

function readKey(r: Reader, v: Json, field: string): KeyObject {
  const o = r.obj(v, field);
  r.keys(o, field, ['ref', 'label', 'algorithm', 'value', 'maxTries', 'tries']);
  const algorithm = r.oneOf(o.algorithm, `${field}.algorithm`, ['3des', 'aes'] as const);
  const value = r.bytes(o.value, `${field}.value`, 16, 32);
  if (algorithm === '3des' && value.length === 32) r.fail(`${field}.value`, '3DES keys are 16 or 24 bytes');
  const maxTries = r.int(o.maxTries, `${field}.maxTries`, 1, 255);
  return {
    ref: r.int(o.ref, `${field}.ref`, 0, 255),
    label: r.str(o.label, `${field}.label`),
    algorithm,
    value,
    maxTries,
    tries: r.int(o.tries, `${field}.tries`, 0, maxTries),
  };
}

const FILE_TYPES = ['DF', 'transparent', 'linear-fixed', 'linear-variable', 'cyclic'] as const;

function readFile(r: Reader, v: Json, field: string, parent: DedicatedFile | null): FileNode {
  const o = r.obj(v, field);
  const type = r.oneOf(o.type, `${field}.type`, FILE_TYPES);
  const fid = r.hexInt(o.fid, `${field}.fid`, 0xffff);
  const lcs = r.int(o.lcs, `${field}.lcs`, 0, 255);
  const rules = readRules(r, o.rules, `${field}.rules`, type === 'DF');
  if (type === 'DF') {
    r.keys(o, field, ['type', 'fid', 'lcs', 'rules', 'name', 'pins', 'keys', 'dataObjects', 'children']);
    const df: DedicatedFile = {
      kind: 'DF',
      fid,
      lcs,
      rules,
      parent,
      name: o.name === undefined ? undefined : r.bytes(o.name, `${field}.name`, 1, 16),
      children: [],
      pins: r.arr(o.pins, `${field}.pins`).map((p, i) => readPin(r, p, `${field}.pins[${i}]`)),
      keys: r.arr(o.keys, `${field}.keys`).map((k, i) => readKey(r, k, `${field}.keys[${i}]`)),
      dataObjects: r.arr(o.dataObjects, `${field}.dataObjects`).map((d, i): DataObject => {
        const dobj = r.obj(d, `${field}.dataObjects[${i}]`);
        return { tag: r.hexInt(dobj.tag, `${field}.dataObjects[${i}].tag`, 0xffffff), value: r.bytes(dobj.value, `${field}.dataObjects[${i}].value`) };
      }),
    };
    const seen = new Set<number>();
    r.arr(o.children, `${field}.children`).forEach((c, i) => {
      const child = readFile(r, c, `${field}.children[${i}]`, df);
      if (seen.has(child.fid)) r.fail(`${field}.children[${i}].fid`, 'duplicate FID');
      seen.add(child.fid);
      df.children.push(child);
    });
    return df;
  }
  const sfi = o.sfi === null || o.sfi === undefined ? undefined : r.int(o.sfi, `${field}.sfi`, 1, 30);
  if (type === 'transparent') {
    r.keys(o, field, ['type', 'fid', 'lcs', 'rules', 'sfi', 'data']);
    return { kind: 'EF', structure: 'transparent', fid, lcs, rules, parent, sfi, data: r.bytes(o.data, `${field}.data`, 0, 0x8000) };
  }
  r.keys(o, field, ['type', 'fid', 'lcs', 'rules', 'sfi', 'recordSize', 'maxRecords', 'records']);
  const recordSize = r.int(o.recordSize, `${field}.recordSize`, 1, 255);
  const maxRecords = r.int(o.maxRecords, `${field}.maxRecords`, 1, 254);
  const records = r.arr(o.records, `${field}.records`).map((x, i) =>
    r.bytes(x, `${field}.records[${i}]`, type === 'linear-variable' ? 1 : recordSize, recordSize),
  );
  if (records.length > maxRecords) r.fail(`${field}.records`, `more than maxRecords (${maxRecords})`);
  return { kind: 'EF', structure: type, fid, lcs, rules, parent, sfi, recordSize, maxRecords, records };
}

/** Builds card state from an image document; throws {@link CardImageError} naming the field. */
export function cardStateFromJson(doc: unknown, source?: string): CardState {
  const r = new Reader(source);
  const o = r.obj(doc as Json, '(image)');
  if (o.format !== IMAGE_FORMAT) r.fail('format', `expected "${IMAGE_FORMAT}", got ${JSON.stringify(o.format)}`);
  if (o.version !== IMAGE_VERSION) {
    r.fail('version', `this chipwright reads version ${IMAGE_VERSION}, the image is version ${JSON.stringify(o.version)}`);
  }
  r.keys(o, '(image)', ['format', 'version', 'serial', 'atr', 'lifeCycle', 'capacity', 'maxChannels', 'transportKey', 'mf', 'applets']);
  const root = readFile(r, o.mf as Json, 'mf', null);
  if (root.kind !== 'DF' || root.fid !== 0x3f00) return r.fail('mf', 'must be a DF with FID 3F00');
  const mf: DedicatedFile = root;
  const applets: AppletRecord[] = r.arr(o.applets, 'applets').map((a, i) => {
    const f = `applets[${i}]`;
    const ao = r.obj(a, f);
    r.keys(ao, f, ['aid', 'type', 'params', 'lifeCycle', 'store']);
    const store = r.obj(ao.store, `${f}.store`);
    return {
      aid: r.bytes(ao.aid, `${f}.aid`, 5, 16),
      type: r.str(ao.type, `${f}.type`),
      params: r.bytes(ao.params, `${f}.params`),
      lifeCycle: r.oneOf(ao.lifeCycle, `${f}.lifeCycle`, ['selectable', 'locked'] as const),
      store: Object.entries(store).map(([key, value]) => ({ key, value: r.bytes(value, `${f}.store.${key}`) })),
    };
  });
  return {
    serial: r.bytes(o.serial, 'serial', 1, 32),
    atr: r.bytes(o.atr, 'atr', 2, 33),
    lifeCycle: r.oneOf<CardLifeCycle>(o.lifeCycle, 'lifeCycle', CARD_LIFE_CYCLES),
    capacity: r.int(o.capacity, 'capacity', 1024, 64 << 20),
    maxChannels: r.int(o.maxChannels, 'maxChannels', 1, 20),
    transportKey: readKey(r, o.transportKey as Json, 'transportKey'),
    mf,
    applets,
  };
}

/** Parses image text; JSON syntax errors and truncation become {@link CardImageError}. */
export function parseCardImage(text: string, source?: string): CardState {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new CardImageError('(image)', `not a card image (invalid or truncated JSON: ${e instanceof Error ? e.message : String(e)})`, source);
  }
  return cardStateFromJson(doc, source);
}

/** Loads a card from image text. */
export function loadCard(text: string, opts: Pick<CardOptions, 'rng' | 'applets' | 'onEvent'> = {}, source?: string): Card {
  return new Card(parseCardImage(text, source), opts);
}

/** Loads a card from an image file. */
export function loadCardImage(path: string, opts: Pick<CardOptions, 'rng' | 'applets' | 'onEvent'> = {}): Card {
  return loadCard(readFileSync(path, 'utf8'), opts, path);
}
