/**
 * Shared fixtures for the property, access-control, tearing and image tests: a declarative card
 * layout (so a test's reference model reads the same spec the card is built from), a builder that
 * uses only the library API, byte-level send helpers that never throw, and a tiny applet type.
 */
import fc from 'fast-check';
import { bytesToHex, concatBytes, hexToBytes } from '../../src/bytes/index.js';
import { parseResponseApdu } from '../../src/apdu/response.js';
import { isSuccessSw } from '../../src/apdu/status.js';
import { createCard, DEFAULT_TRANSPORT_KEY, type Card, type CardOptions } from '../../src/card/os.js';
import { defineInsTable } from '../../src/card/dispatch.js';
import type { AppletFactory } from '../../src/card/applet.js';
import {
  LCS,
  newDf,
  newRecordEf,
  newTransparentEf,
  type DedicatedFile,
  type FileNode,
} from '../../src/card/fs/file.js';
import { attach } from '../../src/card/fs/tree.js';
import {
  ACCESS_OPS,
  ALWAYS,
  NEVER,
  SM_REQUIRED,
  and,
  key,
  or,
  pin,
  type AccessRules,
  type Condition,
} from '../../src/card/security/access.js';
import { newKey, newPin, type KeyAlgorithm, type PinPadding } from '../../src/card/security/objects.js';
import { externalAuthCryptogram } from '../../src/card/commands/authenticate.js';
import { loadCard, serializeCard } from '../../src/card/image.js';

// --- declarative layout ---------------------------------------------------------------------------

export interface PinDef {
  readonly ref: number;
  /** ASCII value. */
  readonly value: string;
  readonly maxTries?: number;
  readonly pukRef?: number;
  readonly padding?: PinPadding;
  readonly paddedLength?: number;
  readonly unblocks?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly label?: string;
  /** Tries left (default maxTries). */
  readonly tries?: number;
}

export interface KeyDef {
  readonly ref: number;
  readonly algorithm: KeyAlgorithm;
  readonly value: string;
  readonly maxTries?: number;
  readonly tries?: number;
}

export interface DfDef {
  readonly kind: 'DF';
  readonly fid: number;
  readonly name?: string;
  readonly rules?: AccessRules;
  readonly pins?: readonly PinDef[];
  readonly keys?: readonly KeyDef[];
  readonly dataObjects?: readonly { tag: number; value: string }[];
  readonly children: readonly FileDef[];
  readonly lcs?: number;
}

export interface TransparentDef {
  readonly kind: 'EF';
  readonly structure: 'transparent';
  readonly fid: number;
  readonly sfi?: number;
  readonly rules?: AccessRules;
  readonly data: string;
  readonly lcs?: number;
}

export interface RecordDef {
  readonly kind: 'EF';
  readonly structure: 'linear-fixed' | 'linear-variable' | 'cyclic';
  readonly fid: number;
  readonly sfi?: number;
  readonly rules?: AccessRules;
  readonly recordSize: number;
  readonly maxRecords: number;
  readonly records: readonly string[];
  readonly lcs?: number;
}

export type FileDef = DfDef | TransparentDef | RecordDef;

export const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
export const h = (s: string): Uint8Array => hexToBytes(s);
export const hex = (b: Uint8Array): string => bytesToHex(b);

/**
 * A 5-byte marker that appears in a protected file's content and nowhere else: finding it in a
 * response means that file's content was disclosed.
 */
export function secretMarker(fid: number): string {
  return `A55AC3${fid.toString(16).toUpperCase().padStart(4, '0')}`;
}

const secret = (fid: number, size: number): string => secretMarker(fid).padEnd(size * 2, 'E');
const secretRecord = (fid: number, n: number, size: number): string =>
  (secretMarker(fid) + n.toString(16).padStart(2, '0')).padEnd(size * 2, 'D').slice(0, size * 2);

export const P81 = pin(0x81);
export const P82 = pin(0x82);
export const K01 = key(0x01);
export const PIN81 = '1234';
export const PIN82 = '567890';
export const PUK83 = '12345678';
export const PIN81_DF2 = '9999';
export const PIN01 = '0000';
export const KEY01 = '00112233445566778899AABBCCDDEEFF';
export const KEY01_DF2 = '0F0E0D0C0B0A09080706050403020100';

/**
 * The layout every test here shares: every EF structure, open and protected files, PINs (global,
 * specific, padded, with a PUK), 3DES and AES keys, nested DFs and a sibling DF whose PIN 81 and
 * key 01 are different objects from DF 1000's.
 */
export const LAYOUT: DfDef = {
  kind: 'DF',
  fid: 0x3f00,
  pins: [{ ref: 0x01, value: PIN01, label: 'global PIN' }],
  dataObjects: [{ tag: 0x5f20, value: '4A4F484E' }],
  children: [
    { kind: 'EF', structure: 'transparent', fid: 0x0101, sfi: 1, data: '00'.repeat(32) },
    { kind: 'EF', structure: 'linear-fixed', fid: 0x0102, sfi: 2, recordSize: 6, maxRecords: 4, records: ['010101010101', '020202020202'] },
    { kind: 'EF', structure: 'linear-variable', fid: 0x0103, sfi: 3, recordSize: 10, maxRecords: 5, records: ['01', '0203'] },
    { kind: 'EF', structure: 'cyclic', fid: 0x0104, sfi: 4, recordSize: 4, maxRecords: 3, records: ['03030303', '02020202', '01010101'] },
    {
      kind: 'EF',
      structure: 'transparent',
      fid: 0x0105,
      sfi: 5,
      rules: { read: pin(0x01), update: pin(0x01), erase: NEVER },
      data: secret(0x0105, 16),
    },
    {
      kind: 'DF',
      fid: 0x1000,
      name: 'A0000000011000',
      rules: { create: ALWAYS, delete: NEVER, activate: P82, deactivate: P82 },
      pins: [
        { ref: 0x81, value: PIN81, pukRef: 0x83, label: 'PIN' },
        { ref: 0x82, value: PIN82, padding: 'ff', paddedLength: 8, minLength: 6, maxLength: 8, maxTries: 5, label: 'signature PIN' },
        { ref: 0x83, value: PUK83, maxTries: 3, unblocks: 3, label: 'PUK' },
      ],
      keys: [{ ref: 0x01, algorithm: '3des', value: KEY01, maxTries: 3 }],
      dataObjects: [{ tag: 0x5f50, value: '68747470' }],
      children: [
        { kind: 'EF', structure: 'transparent', fid: 0x1001, sfi: 1, rules: { read: P81, update: P81, erase: P81 }, data: secret(0x1001, 20) },
        { kind: 'EF', structure: 'transparent', fid: 0x1002, sfi: 2, rules: { read: ALWAYS, update: NEVER, erase: NEVER }, data: '1002'.repeat(8) },
        { kind: 'EF', structure: 'transparent', fid: 0x1003, sfi: 3, rules: { read: ALWAYS, update: K01, erase: K01 }, data: '1003'.repeat(8) },
        { kind: 'EF', structure: 'transparent', fid: 0x1004, sfi: 4, rules: { read: SM_REQUIRED, update: SM_REQUIRED, erase: NEVER }, data: secret(0x1004, 16) },
        { kind: 'EF', structure: 'transparent', fid: 0x1005, sfi: 5, rules: { read: and(P81, K01), update: and(P81, K01), erase: and(P81, K01) }, data: secret(0x1005, 16) },
        { kind: 'EF', structure: 'transparent', fid: 0x1006, sfi: 6, rules: { read: or(P81, P82), update: or(P81, P82), erase: NEVER }, data: secret(0x1006, 16) },
        {
          kind: 'EF',
          structure: 'linear-fixed',
          fid: 0x1011,
          sfi: 11,
          rules: { read: P81, update: P82, append: K01, delete: P81 },
          recordSize: 8,
          maxRecords: 4,
          records: [secretRecord(0x1011, 1, 8), secretRecord(0x1011, 2, 8)],
        },
        {
          kind: 'EF',
          structure: 'cyclic',
          fid: 0x1012,
          sfi: 12,
          rules: { read: or(P81, P82), update: NEVER, append: P81 },
          recordSize: 8,
          maxRecords: 3,
          records: [secretRecord(0x1012, 1, 8), secretRecord(0x1012, 2, 8), secretRecord(0x1012, 3, 8)],
        },
        {
          kind: 'EF',
          structure: 'linear-variable',
          fid: 0x1013,
          sfi: 13,
          rules: { read: K01, update: and(P81, K01), append: or(P81, K01), deactivate: P81, activate: P81 },
          recordSize: 12,
          maxRecords: 5,
          records: [secretRecord(0x1013, 1, 9), secretRecord(0x1013, 2, 12)],
        },
        {
          kind: 'EF',
          structure: 'transparent',
          fid: 0x1020,
          sfi: 20,
          rules: { read: ALWAYS, update: ALWAYS, erase: ALWAYS, delete: P81, deactivate: P82, activate: P82, terminate: and(P81, P82) },
          data: '20'.repeat(24),
        },
        {
          kind: 'DF',
          fid: 0x1100,
          rules: { delete: P81, deactivate: P82, activate: or(P81, P82), terminate: P82 },
          children: [
            { kind: 'EF', structure: 'transparent', fid: 0x1101, sfi: 1, rules: { read: P81, update: P81, erase: P81 }, data: secret(0x1101, 12) },
            { kind: 'EF', structure: 'linear-fixed', fid: 0x1102, sfi: 2, recordSize: 4, maxRecords: 2, records: ['11021102'] },
          ],
        },
      ],
    },
    {
      kind: 'DF',
      fid: 0x2000,
      name: 'A0000000012000',
      rules: { create: ALWAYS, delete: P81, activate: P81, deactivate: P81 },
      pins: [{ ref: 0x81, value: PIN81_DF2, maxTries: 3, label: 'DF2 PIN' }],
      keys: [{ ref: 0x01, algorithm: 'aes', value: KEY01_DF2, maxTries: 5 }],
      children: [
        { kind: 'EF', structure: 'transparent', fid: 0x2001, sfi: 1, rules: { read: P81, update: K01, erase: K01 }, data: secret(0x2001, 16) },
        { kind: 'EF', structure: 'linear-variable', fid: 0x2002, sfi: 2, rules: { read: K01, update: P81, append: P81 }, recordSize: 16, maxRecords: 3, records: [secretRecord(0x2002, 1, 7)] },
      ],
    },
  ],
};

// --- building -------------------------------------------------------------------------------------

function buildNode(card: Card, parent: DedicatedFile, def: FileDef): void {
  let node: FileNode;
  if (def.kind === 'DF') {
    const df = newDf(def.fid, def.name !== undefined ? h(def.name) : undefined, def.rules);
    node = df;
    attach(card.nv, parent, df);
    fillDf(card, df, def);
  } else if (def.structure === 'transparent') {
    const d = h(def.data);
    node = newTransparentEf(def.fid, d.length, { sfi: def.sfi, rules: def.rules, data: d });
    attach(card.nv, parent, node);
  } else {
    node = newRecordEf(def.fid, def.structure, def.recordSize, def.maxRecords, {
      sfi: def.sfi,
      rules: def.rules,
      records: def.records.map(h),
    });
    attach(card.nv, parent, node);
  }
  if (def.lcs !== undefined) card.nv.set(node, 'lcs', def.lcs);
}

function fillDf(card: Card, df: DedicatedFile, def: DfDef): void {
  for (const p of def.pins ?? []) {
    const obj = newPin({
      ref: p.ref,
      value: ascii(p.value),
      label: p.label,
      maxTries: p.maxTries,
      pukRef: p.pukRef,
      padding: p.padding,
      paddedLength: p.paddedLength,
      unblocks: p.unblocks,
      minLength: p.minLength,
      maxLength: p.maxLength,
    });
    if (p.tries !== undefined) obj.tries = p.tries;
    card.nv.splice(df.pins, df.pins.length, 0, obj);
  }
  for (const k of def.keys ?? []) {
    const obj = newKey({ ref: k.ref, algorithm: k.algorithm, value: h(k.value), maxTries: k.maxTries });
    if (k.tries !== undefined) obj.tries = k.tries;
    card.nv.splice(df.keys, df.keys.length, 0, obj);
  }
  for (const d of def.dataObjects ?? []) {
    card.nv.splice(df.dataObjects, df.dataObjects.length, 0, { tag: d.tag, value: h(d.value) });
  }
  for (const c of def.children) buildNode(card, df, c);
}

export interface FixtureOptions extends CardOptions {
  readonly layout?: DfDef;
  readonly lifeCycle?: 'personalization' | 'operational';
}

/** A powered card holding `layout` (default {@link LAYOUT}), built through the library API. */
export function fixtureCard(opts: FixtureOptions = {}): Card {
  const card = createCard({ serial: h('0102030405060708'), ...opts });
  const layout = opts.layout ?? LAYOUT;
  fillDf(card, card.state.mf, layout);
  if (layout.rules !== undefined) card.nv.set(card.state.mf, 'rules', layout.rules);
  if (opts.lifeCycle === 'operational') card.nv.set(card.state, 'lifeCycle', 'operational');
  card.nv.commit();
  card.powerOn();
  return card;
}

/** A powered copy of `card` made from its image (the tearing tests' "clone"). */
export function cloneCard(card: Card, opts: Pick<CardOptions, 'applets' | 'rng'> = {}): Card {
  const c = loadCard(serializeCard(card), opts);
  c.powerOn();
  return c;
}

// --- talking to the card --------------------------------------------------------------------------

export interface Answer {
  readonly sw: number;
  readonly data: Uint8Array;
  readonly raw: Uint8Array;
}

/** Sends bytes or hex; `null` when the card is mute. Never throws. */
export function send(card: Card, apdu: Uint8Array | string): Answer | null {
  const raw = card.transmit(typeof apdu === 'string' ? h(apdu) : apdu);
  if (raw.length < 2) return null;
  const r = parseResponseApdu(raw);
  return { sw: r.sw, data: r.data.slice(), raw };
}

/** Sends and requires an answer. */
export function must(card: Card, apdu: Uint8Array | string): Answer {
  const a = send(card, apdu);
  if (a === null) throw new Error(`card mute after ${typeof apdu === 'string' ? apdu : hex(apdu)}`);
  return a;
}

export const swHex = (sw: number): string => sw.toString(16).toUpperCase().padStart(4, '0');
export const ok = (sw: number): boolean => isSuccessSw(sw);

/** CLA of plain interindustry commands on logical channel `n` (ISO/IEC 7816-4 §5.4.1). */
export function claFor(n: number): number {
  return n < 4 ? n : 0x40 | (n - 4);
}

/** Short APDU: header, optional data, optional Le (256 = 00). */
export function apdu(cla: number, ins: number, p1: number, p2: number, data?: Uint8Array, le?: number): Uint8Array {
  const parts: Uint8Array[] = [new Uint8Array([cla, ins, p1, p2])];
  if (data !== undefined && data.length > 0) parts.push(new Uint8Array([data.length]), data);
  if (le !== undefined) parts.push(new Uint8Array([le & 0xff]));
  return concatBytes(...parts);
}

/**
 * EXTERNAL AUTHENTICATE with `keyValue` against key `ref` (GET CHALLENGE first). `keyRef` 0 is the
 * transport key. Returns the status word of the EXTERNAL AUTHENTICATE.
 */
export function externalAuth(card: Card, ref: number, algorithm: KeyAlgorithm, keyValue: Uint8Array, channel = 0): number {
  const cla = claFor(channel);
  const bs = algorithm === 'aes' ? 16 : 8;
  const c = must(card, apdu(cla, 0x84, 0, 0, undefined, bs));
  if (c.sw !== 0x9000) return c.sw;
  const crypt = externalAuthCryptogram(algorithm, keyValue, c.data);
  return must(card, apdu(cla, 0x82, 0, ref, crypt)).sw;
}

/** Authenticates the transport key on `channel` (personalization), or throws. */
export function transportAuth(card: Card, channel = 0): void {
  const sw = externalAuth(card, 0, '3des', DEFAULT_TRANSPORT_KEY, channel);
  if (sw !== 0x9000) throw new Error(`transport key authentication answered ${swHex(sw)}`);
}

// --- a tiny applet type ---------------------------------------------------------------------------

/**
 * `counter`: creates EF 0001 (transparent, 4 bytes) under its DF at install, keeps a store entry,
 * and adds INS 01 (returns its install parameters and the EF's bytes) and INS 03 (increments the
 * EF's first byte, journalled).
 */
export const COUNTER_APPLET: AppletFactory = {
  type: 'counter',
  create: (params) => ({
    install(ctx): void {
      attach(ctx.nv, ctx.df, newTransparentEf(0x0001, 4, { sfi: 1 }));
      ctx.nv.splice(ctx.record.store, 0, 0, { key: 'installed', value: params.slice() });
    },
    commands: defineInsTable(
      [
        0x01,
        {
          name: 'COUNTER GET',
          run: (_cmd, ctx) => {
            const df = ctx.channel.applet?.df;
            const ef = df?.children.find((c) => c.fid === 0x0001);
            const data = ef !== undefined && ef.kind === 'EF' && ef.structure === 'transparent' ? ef.data : new Uint8Array(0);
            return concatBytes(params, data);
          },
        },
      ],
      [
        0x03,
        {
          name: 'COUNTER INC',
          run: (_cmd, ctx) => {
            const df = ctx.channel.applet?.df;
            const ef = df?.children.find((c) => c.fid === 0x0001);
            if (ef === undefined || ef.kind !== 'EF' || ef.structure !== 'transparent') return;
            ctx.nv.writeBytes(ef.data, 0, new Uint8Array([(ef.data[0]! + 1) & 0xff]));
          },
        },
      ],
    ),
  }),
};

export const COUNTER_AID = 'F0000000C0FFEE';

export { ALWAYS, NEVER, LCS, DEFAULT_TRANSPORT_KEY };

// --- arbitraries ----------------------------------------------------------------------------------

const COND_LEAVES: readonly Condition[] = [ALWAYS, NEVER, SM_REQUIRED, pin(0x81), pin(0x01), pin(0x82), key(0x01), key(0x02)];

/** Access conditions, nested AND/OR up to a small depth. */
export const conditionArb: fc.Arbitrary<Condition> = fc.letrec<{ c: Condition }>((tie) => ({
  c: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...COND_LEAVES),
    fc.array(tie('c'), { minLength: 1, maxLength: 3 }).map((of) => and(...of)),
    fc.array(tie('c'), { minLength: 1, maxLength: 3 }).map((of) => or(...of)),
  ),
})).c;

const EF_OPS = ACCESS_OPS.filter((op) => op !== 'create');
const DF_OPS = ACCESS_OPS.filter((op) => !['read', 'update', 'erase', 'append'].includes(op));

/** Rules that apply to an EF or a DF (or none: `undefined`, the "no security attributes" case). */
export function rulesArb(isDf: boolean): fc.Arbitrary<AccessRules | undefined> {
  const ops = isDf ? DF_OPS : EF_OPS;
  return fc.option(fc.dictionary(fc.constantFrom(...ops), conditionArb, { maxKeys: 5 }) as fc.Arbitrary<AccessRules>, {
    nil: undefined,
  });
}

const hexArb = (min: number, max: number): fc.Arbitrary<string> =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((b) => bytesToHex(b));
const digitsArb = (min: number, max: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });
const LCS_VALUES = [LCS.CREATION, LCS.INITIALISATION, LCS.ACTIVATED, LCS.ACTIVATED, LCS.DEACTIVATED, LCS.TERMINATED];

const pinDefArb: fc.Arbitrary<PinDef> = fc
  .record({
    value: digitsArb(4, 8),
    maxTries: fc.integer({ min: 1, max: 15 }),
    spent: fc.nat({ max: 15 }),
    padding: fc.constantFrom<PinPadding>('none', 'ff', '00'),
    pukRef: fc.option(fc.integer({ min: 1, max: 255 }), { nil: undefined }),
    unblocks: fc.integer({ min: -1, max: 10 }),
    label: fc.constantFrom('PIN', 'PUK', 'signature PIN', 'ÄÖÜ "quoted" \\ pin'),
  })
  .map((p) => ({
    ref: 0,
    value: p.value,
    maxTries: p.maxTries,
    tries: Math.max(0, p.maxTries - p.spent),
    padding: p.padding,
    paddedLength: p.padding === 'none' ? undefined : 12,
    pukRef: p.pukRef,
    unblocks: p.unblocks,
    label: p.label,
  }));

const keyDefArb: fc.Arbitrary<KeyDef> = fc
  .tuple(fc.constantFrom<KeyAlgorithm>('3des', 'aes'), fc.constantFrom(16, 24, 32), fc.integer({ min: 1, max: 15 }), fc.nat({ max: 15 }))
  .chain(([algorithm, len, maxTries, spent]) =>
    hexArb(algorithm === '3des' && len === 32 ? 24 : len, algorithm === '3des' && len === 32 ? 24 : len).map((value) => ({
      ref: 0,
      algorithm,
      value,
      maxTries,
      tries: Math.max(0, maxTries - spent),
    })),
  );

/** Distinct non-reserved FIDs for `n` siblings, none equal to the parent's. */
const fidsArb = (n: number, parentFid: number): fc.Arbitrary<number[]> =>
  fc.uniqueArray(
    fc.integer({ min: 0x0001, max: 0xfffe }).filter((f) => f !== 0x3f00 && f !== 0x3fff && f !== parentFid),
    { minLength: n, maxLength: n },
  );

let dfNameCounter = 0;

function efDefArb(fid: number, sfi: number | undefined): fc.Arbitrary<FileDef> {
  const common = { rules: rulesArb(false), lcs: fc.constantFrom(...LCS_VALUES) };
  const transparent: fc.Arbitrary<FileDef> = fc
    .record({ ...common, data: hexArb(0, 48) })
    .map((r) => ({ kind: 'EF', structure: 'transparent', fid, sfi, ...r }));
  const record: fc.Arbitrary<FileDef> = fc
    .tuple(
      fc.constantFrom<RecordDef['structure']>('linear-fixed', 'linear-variable', 'cyclic'),
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 6 }),
    )
    .chain(([structure, recordSize, maxRecords]) =>
      fc
        .record({
          ...common,
          records: fc.array(structure === 'linear-variable' ? hexArb(1, recordSize) : hexArb(recordSize, recordSize), {
            maxLength: maxRecords,
          }),
        })
        .map((r): FileDef => ({ kind: 'EF', structure, fid, sfi, recordSize, maxRecords, ...r })),
    );
  return fc.oneof(transparent, record);
}

/** A DF with random PINs, keys, data objects and children (depth-limited). */
export function dfDefArb(fid: number, depth: number): fc.Arbitrary<DfDef> {
  return fc
    .record({
      nChildren: fc.integer({ min: 0, max: depth > 0 ? 3 : 0 }),
      nEfs: fc.integer({ min: 0, max: 5 }),
      pins: fc.uniqueArray(fc.integer({ min: 1, max: 255 }), { maxLength: 3 }).chain((refs) =>
        fc.tuple(...refs.map((ref) => pinDefArb.map((p) => ({ ...p, ref })))),
      ),
      keys: fc.uniqueArray(fc.integer({ min: 1, max: 255 }), { maxLength: 2 }).chain((refs) =>
        fc.tuple(...refs.map((ref) => keyDefArb.map((k) => ({ ...k, ref })))),
      ),
      dataObjects: fc.uniqueArray(fc.constantFrom(0x42, 0x5f20, 0x5f50, 0x7f49, 0x9f7f, 0x53), { maxLength: 3 }).chain((tags) =>
        fc.tuple(...tags.map((tag) => hexArb(0, 20).map((value) => ({ tag, value })))),
      ),
      named: fc.boolean(),
      rules: rulesArb(true),
      lcs: fc.constantFrom(...LCS_VALUES),
    })
    .chain((d) =>
      fc
        .tuple(fidsArb(d.nChildren + d.nEfs, fid), fc.shuffledSubarray(Array.from({ length: 30 }, (_, i) => i + 1), { minLength: d.nEfs, maxLength: d.nEfs }))
        .chain(([fids, sfis]) =>
          fc
            .tuple(
              ...fids.slice(0, d.nEfs).map((f, i) => fc.boolean().chain((withSfi) => efDefArb(f, withSfi ? sfis[i] : undefined))),
              ...fids.slice(d.nEfs).map((f) => dfDefArb(f, depth - 1)),
            )
            .map((children): DfDef => ({
              kind: 'DF',
              fid,
              name: d.named ? `D2760001${(dfNameCounter++).toString(16).toUpperCase().padStart(8, '0')}` : undefined,
              rules: d.rules,
              lcs: fid === 0x3f00 ? undefined : d.lcs,
              pins: d.pins,
              keys: d.keys,
              dataObjects: d.dataObjects,
              children,
            })),
        ),
    );
}
