/**
 * Access control over random command sequences (STYLE principle 11: the hardest tests where the
 * bugs live). An operational card holds the shared layout, whose files carry rules such as
 * read PIN(81), update NEVER, update KEY(01), read SM, (PIN(81) AND KEY(01)), (PIN(81) OR PIN(82)).
 *
 * A reference model of the security status — per logical channel: current DF/EF, verified PINs,
 * authenticated keys; cleared on reset; PINs and keys scoped to the DF that owns them
 * (ISO/IEC 7816-4 §7.5.2) — predicts what each command may do. The card is then checked:
 *
 * - no response ever contains a protected file's secret marker unless the model says the read
 *   rule of that file is satisfied on that channel;
 * - no file's content, life cycle or existence changes unless the model says the command's rule
 *   for that file is satisfied;
 * - the card refuses (never 9000/61XX/62XX/63XX) what the model refuses, and does not answer
 *   6982/6985 to what the model allows;
 * - VERIFY, EXTERNAL AUTHENTICATE, CHANGE REFERENCE DATA, RESET RETRY COUNTER, SELECT and
 *   MANAGE CHANNEL answer exactly the status word the model predicts;
 * - retry counters never go up except by a successful verification or unblocking of that very
 *   object, and always equal the model's.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isSuccessSw } from '../src/apdu/status.js';
import { concatBytes, indexOfBytes, u16 } from '../src/bytes/index.js';
import { encodeTlv } from '../src/tlv/ber.js';
import { externalAuthCryptogram } from '../src/card/commands/authenticate.js';
import { ruleFor, type AccessOp, type AccessRules, type Condition } from '../src/card/security/access.js';
import type { KeyAlgorithm, PinPadding } from '../src/card/security/objects.js';
import type { Card } from '../src/card/os.js';
import type { DedicatedFile, FileNode } from '../src/card/fs/file.js';
import {
  LAYOUT,
  LCS,
  apdu,
  ascii,
  claFor,
  fixtureCard,
  h,
  hex,
  secretMarker,
  swHex,
  type Answer,
  type DfDef,
  type FileDef,
} from './helpers/model.js';

// --- the reference model ----------------------------------------------------------------------

interface MPin {
  readonly id: string;
  readonly ref: number;
  value: Uint8Array;
  readonly minLength: number;
  readonly maxLength: number;
  readonly padding: PinPadding;
  readonly paddedLength: number;
  readonly maxTries: number;
  tries: number;
  readonly pukRef: number | undefined;
  unblocksLeft: number;
}

interface MKey {
  readonly id: string;
  readonly ref: number;
  readonly algorithm: KeyAlgorithm;
  readonly value: Uint8Array;
  readonly maxTries: number;
  tries: number;
}

interface MNode {
  readonly path: string;
  readonly fid: number;
  readonly kind: 'DF' | 'EF';
  readonly structure: 'DF' | 'transparent' | 'linear-fixed' | 'linear-variable' | 'cyclic';
  readonly sfi: number | undefined;
  readonly rules: AccessRules | undefined;
  readonly recordSize: number;
  readonly parent: MNode | null;
  readonly children: MNode[];
  readonly pins: MPin[];
  readonly keys: MKey[];
  lcs: number;
  /** Marker in the content, for protected files that hold one. */
  readonly marker: Uint8Array | undefined;
}

interface MChannel {
  df: MNode;
  ef: MNode | null;
  readonly pins: Set<MPin>;
  readonly keys: Set<MKey>;
}

const fidHex = (fid: number): string => fid.toString(16).toUpperCase().padStart(4, '0');

function buildModelTree(def: DfDef | FileDef, parent: MNode | null): MNode {
  const path = parent === null ? '3F00' : `${parent.path}/${fidHex(def.fid)}`;
  const isDf = def.kind === 'DF';
  const markerHex = secretMarker(def.fid);
  const content = def.kind === 'DF' ? '' : def.structure === 'transparent' ? def.data : def.records.join('');
  const node: MNode = {
    path,
    fid: def.fid,
    kind: def.kind,
    structure: def.kind === 'DF' ? 'DF' : def.structure,
    sfi: def.kind === 'EF' ? def.sfi : undefined,
    rules: def.rules,
    recordSize: def.kind === 'EF' && def.structure !== 'transparent' ? def.recordSize : 0,
    parent,
    children: [],
    pins: [],
    keys: [],
    lcs: def.lcs ?? LCS.ACTIVATED,
    marker: content.toUpperCase().includes(markerHex) ? h(markerHex) : undefined,
  };
  if (isDf) {
    const d = def as DfDef;
    for (const p of d.pins ?? []) {
      const minLength = p.minLength ?? 4;
      const maxLength = p.maxLength ?? Math.max(minLength, 12);
      const padding = p.padding ?? 'none';
      node.pins.push({
        id: `${path}:PIN${p.ref.toString(16)}`,
        ref: p.ref,
        value: ascii(p.value),
        minLength,
        maxLength,
        padding,
        paddedLength: p.paddedLength ?? (padding === 'none' ? 0 : maxLength),
        maxTries: p.maxTries ?? 3,
        tries: p.tries ?? p.maxTries ?? 3,
        pukRef: p.pukRef,
        unblocksLeft: p.unblocks ?? -1,
      });
    }
    for (const k of d.keys ?? []) {
      node.keys.push({
        id: `${path}:KEY${k.ref.toString(16)}`,
        ref: k.ref,
        algorithm: k.algorithm,
        value: h(k.value),
        maxTries: k.maxTries ?? 10,
        tries: k.tries ?? k.maxTries ?? 10,
      });
    }
    for (const c of d.children) node.children.push(buildModelTree(c, node));
  }
  return node;
}

const isWithin = (f: MNode, ancestor: MNode): boolean => {
  for (let x: MNode | null = f; x !== null; x = x.parent) if (x === ancestor) return true;
  return false;
};
const childByFid = (df: MNode, fid: number): MNode | undefined => df.children.find((c) => c.fid === fid);
const efBySfi = (df: MNode, sfi: number): MNode | undefined => df.children.find((c) => c.kind === 'EF' && c.sfi === sfi);
const owningDf = (f: MNode): MNode => (f.kind === 'DF' ? f : f.parent!);
const descendants = (f: MNode): MNode[] => [f, ...f.children.flatMap(descendants)];

function findPin(df: MNode, ref: number): MPin | undefined {
  for (let x: MNode | null = df; x !== null; x = x.parent) {
    const p = x.pins.find((q) => q.ref === ref);
    if (p) return p;
  }
  return undefined;
}
function findKey(df: MNode, ref: number): MKey | undefined {
  for (let x: MNode | null = df; x !== null; x = x.parent) {
    const k = x.keys.find((q) => q.ref === ref);
    if (k) return k;
  }
  return undefined;
}
const ownerOfPin = (p: MPin, mf: MNode): MNode | undefined => descendants(mf).find((n) => n.pins.includes(p));
const ownerOfKey = (k: MKey, mf: MNode): MNode | undefined => descendants(mf).find((n) => n.keys.includes(k));

/** Unpads what the terminal sent; undefined when no PIN of this object has that length. */
function unpad(p: MPin, sent: Uint8Array): Uint8Array | undefined {
  let v = sent;
  if (p.padding !== 'none' && sent.length === p.paddedLength) {
    const pad = p.padding === 'ff' ? 0xff : 0x00;
    let end = sent.length;
    while (end > 0 && sent[end - 1] === pad) end--;
    v = sent.subarray(0, end);
  }
  return v.length < p.minLength || v.length > p.maxLength ? undefined : v;
}
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
const counter = (tries: number): number => 0x63c0 | Math.min(15, tries);

const SW_OK = 0x9000;

class Model {
  readonly mf: MNode;
  channels: (MChannel | undefined)[] = [];
  readonly maxChannels = 4;
  /** Files whose content a pending GET RESPONSE may still deliver, and on which channel. */
  pending: { channel: number; reads: Set<MNode> } | null = null;

  constructor(layout: DfDef) {
    this.mf = buildModelTree(layout, null);
    this.reset();
  }

  reset(): void {
    this.channels = [{ df: this.mf, ef: null, pins: new Set(), keys: new Set() }];
    this.pending = null;
  }

  allPins(): MPin[] {
    return descendants(this.mf).flatMap((n) => n.pins);
  }
  allKeys(): MKey[] {
    return descendants(this.mf).flatMap((n) => n.keys);
  }

  /** ISO/IEC 7816-4 §7.5.2: status of objects whose DF is no longer on the path is dropped. */
  setCurrentDf(ch: MChannel, df: MNode): void {
    if (ch.df !== df) {
      for (const p of [...ch.pins]) {
        const owner = ownerOfPin(p, this.mf);
        if (owner === undefined || !isWithin(df, owner)) ch.pins.delete(p);
      }
      for (const k of [...ch.keys]) {
        const owner = ownerOfKey(k, this.mf);
        if (owner === undefined || !isWithin(df, owner)) ch.keys.delete(k);
      }
    }
    ch.df = df;
    ch.ef = null;
  }

  setCurrentEf(ch: MChannel, ef: MNode): void {
    if (ef.parent !== ch.df) this.setCurrentDf(ch, ef.parent!);
    ch.ef = ef;
  }

  satisfied(c: Condition, ch: MChannel, scope: MNode): boolean {
    switch (c.kind) {
      case 'always':
        return true;
      case 'never':
        return false;
      case 'sm':
      case 'pace':
        return false; // no secure-messaging session (and so no PACE) exists in these tests
      case 'pin': {
        const p = findPin(scope, c.ref);
        return p !== undefined && ch.pins.has(p);
      }
      case 'key': {
        const k = findKey(scope, c.ref);
        return k !== undefined && ch.keys.has(k);
      }
      case 'and':
        return c.of.every((x) => this.satisfied(x, ch, scope));
      case 'or':
        return c.of.some((x) => this.satisfied(x, ch, scope));
    }
  }

  /** Life cycle (ISO/IEC 7816-9) then the rule: may `op` be done on `f` on channel `ch`? */
  allows(f: MNode, op: AccessOp, ch: MChannel): { allowed: boolean; why: string } {
    // ISO/IEC 7816-9 §8: a terminated file may only be deleted; a deactivated one only activated,
    // deactivated (again), terminated or deleted; nothing works below either.
    for (let x: MNode | null = f; x !== null; x = x.parent) {
      if (x.lcs === LCS.ACTIVATED) continue;
      const self = x === f;
      if ((x.lcs & 0xfc) === 0x0c) {
        if (self && op === 'delete') continue;
        return { allowed: false, why: 'terminated' };
      }
      if (x.lcs === LCS.DEACTIVATED && !(self && ['activate', 'deactivate', 'delete', 'terminate'].includes(op))) {
        return { allowed: false, why: 'deactivated' };
      }
    }
    const ok = this.satisfied(ruleFor(f.rules, op), ch, owningDf(f));
    return { allowed: ok, why: ok ? 'rule satisfied' : 'rule not satisfied' };
  }

  findByFid(current: MNode, fid: number): MNode | undefined {
    if (fid === 0x3f00) return this.mf;
    if (current.fid === fid) return current;
    const c = childByFid(current, fid);
    if (c) return c;
    const p = current.parent;
    if (p) return p.fid === fid ? p : childByFid(p, fid);
    return undefined;
  }

  resolvePath(fids: readonly number[]): MNode | undefined {
    let f: MNode = this.mf;
    for (const fid of fids) {
      if (f.kind !== 'DF') return undefined;
      const next = childByFid(f, fid);
      if (!next) return undefined;
      f = next;
    }
    return f;
  }

  /** Removes a deleted file; channels standing in it move to its parent (DELETE FILE). */
  deleteFile(f: MNode, issuing: MChannel): void {
    const parent = f.parent!;
    parent.children.splice(parent.children.indexOf(f), 1);
    for (const ch of this.channels) {
      if (ch === undefined) continue;
      if (isWithin(ch.df, f) || (ch.ef !== null && isWithin(ch.ef, f))) this.setCurrentDf(ch, parent);
    }
    this.setCurrentDf(issuing, parent);
  }
}

// --- commands ---------------------------------------------------------------------------------

/** How a command names its EF: current EF, SFI (even INS: P1; odd INS: P2), or FID (odd INS). */
type Via =
  | { readonly by: 'current' }
  | { readonly by: 'sfi'; readonly sfi: number; readonly odd?: boolean }
  | { readonly by: 'fid'; readonly fid: number };

type Cmd =
  | { readonly kind: 'select'; readonly ch: number; readonly path: readonly number[] }
  | { readonly kind: 'read-binary'; readonly ch: number; readonly via: Via; readonly le: number | undefined }
  | { readonly kind: 'update-binary'; readonly ch: number; readonly via: Via; readonly data: Uint8Array }
  | { readonly kind: 'erase-binary'; readonly ch: number; readonly via: Via }
  | { readonly kind: 'read-record'; readonly ch: number; readonly via: Via; readonly rec: number; readonly le: number | undefined; readonly mode: 4 | 5 | 6 }
  | { readonly kind: 'update-record'; readonly ch: number; readonly via: Via; readonly rec: number; readonly fill: number }
  | { readonly kind: 'append-record'; readonly ch: number; readonly via: Via; readonly fill: number }
  | { readonly kind: 'search-record'; readonly ch: number; readonly via: Via }
  | { readonly kind: 'verify'; readonly ch: number; readonly ref: number; readonly mode: 'right' | 'wrong' | 'status' | 'reset'; readonly padded: boolean }
  | { readonly kind: 'ext-auth'; readonly ch: number; readonly ref: number; readonly right: boolean }
  | { readonly kind: 'change-ref'; readonly ch: number; readonly ref: number; readonly p1: 0 | 1; readonly right: boolean; readonly next: string }
  | { readonly kind: 'reset-retry'; readonly ch: number; readonly ref: number; readonly p1: 0 | 1 | 3; readonly right: boolean; readonly next: string }
  | { readonly kind: 'life-cycle'; readonly ch: number; readonly ins: 0xe4 | 0x44 | 0x04 | 0xe6 | 0xe8; readonly fid: number | undefined }
  | { readonly kind: 'open-channel'; readonly ch: number }
  | { readonly kind: 'close-channel'; readonly ch: number; readonly which: number }
  | { readonly kind: 'get-response'; readonly ch: number; readonly le: number }
  | { readonly kind: 'sm-read'; readonly cla: number; readonly sfi: number }
  | { readonly kind: 'reset' };

function describeCmd(c: Cmd): string {
  return JSON.stringify(c, (_k, v) => (v instanceof Uint8Array ? hex(v) : typeof v === 'number' && v > 9 ? `0x${v.toString(16)}` : v));
}

const ALL_PATHS: readonly number[][] = (() => {
  const out: number[][] = [[]];
  const walk = (d: DfDef | FileDef, p: number[]): void => {
    if (d.kind !== 'DF') return;
    for (const c of d.children) {
      out.push([...p, c.fid]);
      walk(c, [...p, c.fid]);
    }
  };
  walk(LAYOUT, []);
  return out;
})();
const ALL_FIDS = [...new Set(ALL_PATHS.map((p) => p.at(-1) ?? 0x3f00))];

/**
 * Which channel a command goes to: an index into the channels open at that moment (so most
 * commands land on an open one), or with `closed` a channel that is not open.
 */
const chArb = fc.oneof({ weight: 12, arbitrary: fc.constantFrom(0, 0, 0, 1, 2, 3) }, { weight: 1, arbitrary: fc.constant(-1) });
const viaArb: fc.Arbitrary<Via> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ by: 'current' } as const) },
  {
    weight: 5,
    arbitrary: fc.tuple(fc.constantFrom(1, 2, 3, 4, 5, 6, 11, 12, 13, 20), fc.boolean()).map(([sfi, odd]) => ({ by: 'sfi', sfi, odd }) as const),
  },
  { weight: 1, arbitrary: fc.constantFrom(...ALL_FIDS).map((fid) => ({ by: 'fid', fid }) as const) },
);
const leArb = fc.constantFrom(undefined, undefined, 256, 8);
const PIN_REFS = [0x01, 0x81, 0x82, 0x83, 0x84];
const NEW_PINS = ['2468', '13579', '567890', '97531864', '1'];

const IN_DF1000 = ALL_PATHS.filter((p) => p[0] === 0x1000);
const selectArb: fc.Arbitrary<Cmd> = fc.record({
  kind: fc.constant('select' as const),
  ch: chArb,
  path: fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...ALL_PATHS) }, { weight: 3, arbitrary: fc.constantFrom(...IN_DF1000) }),
});
const verifyArb: fc.Arbitrary<Cmd> = fc.record({
  kind: fc.constant('verify' as const),
  ch: chArb,
  ref: fc.constantFrom(0x81, 0x81, 0x81, 0x82, 0x82, 0x01, 0x83, 0x84),
  mode: fc.constantFrom('right', 'right', 'right', 'wrong', 'status', 'reset'),
  padded: fc.boolean(),
});
const extAuthArb: fc.Arbitrary<Cmd> = fc.record({ kind: fc.constant('ext-auth' as const), ch: chArb, ref: fc.constantFrom(0x01, 0x01, 0x02), right: fc.boolean() });
const resetArb: fc.Arbitrary<Cmd> = fc.constant({ kind: 'reset' } as const);
const changeRefArb: fc.Arbitrary<Cmd> = fc.record({
  kind: fc.constant('change-ref' as const),
  ch: chArb,
  ref: fc.constantFrom(...PIN_REFS),
  p1: fc.constantFrom(0 as const, 1 as const),
  right: fc.boolean(),
  next: fc.constantFrom(...NEW_PINS),
});
const resetRetryArb: fc.Arbitrary<Cmd> = fc.record({
  kind: fc.constant('reset-retry' as const),
  ch: chArb,
  ref: fc.constantFrom(0x81, 0x81, 0x82, 0x01),
  p1: fc.constantFrom(0 as const, 1 as const, 3 as const),
  right: fc.boolean(),
  next: fc.constantFrom(...NEW_PINS),
});

const fileCmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 5, arbitrary: selectArb },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('read-binary' as const), ch: chArb, via: viaArb, le: leArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('update-binary' as const), ch: chArb, via: viaArb, data: fc.uint8Array({ minLength: 1, maxLength: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('erase-binary' as const), ch: chArb, via: viaArb }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('read-record' as const),
      ch: chArb,
      via: viaArb,
      rec: fc.integer({ min: 1, max: 3 }),
      le: leArb,
      mode: fc.constantFrom(4 as const, 4 as const, 5 as const, 6 as const),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('update-record' as const), ch: chArb, via: viaArb, rec: fc.integer({ min: 1, max: 3 }), fill: fc.integer({ min: 0, max: 255 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('append-record' as const), ch: chArb, via: viaArb, fill: fc.integer({ min: 0, max: 255 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('search-record' as const), ch: chArb, via: viaArb }) },
  { weight: 5, arbitrary: verifyArb },
  { weight: 2, arbitrary: extAuthArb },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('life-cycle' as const),
      ch: chArb,
      ins: fc.constantFrom(0xe4 as const, 0x44 as const, 0x04 as const, 0x04 as const, 0xe6 as const, 0xe8 as const),
      fid: fc.option(fc.constantFrom(...ALL_FIDS), { nil: undefined }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('open-channel' as const), ch: chArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('close-channel' as const), ch: chArb, which: fc.constantFrom(0, 1, 2, 3) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('get-response' as const), ch: chArb, le: fc.constantFrom(4, 256) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('sm-read' as const), cla: fc.constantFrom(0x0c, 0x08, 0x04), sfi: fc.constantFrom(1, 4, 5) }) },
  { weight: 1, arbitrary: resetArb },
);

// --- observing the card -----------------------------------------------------------------------

/** path → life cycle and content of every file on the card (read straight from NV state). */
function fileState(card: Card): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (f: FileNode, path: string): void => {
    let content = `lcs=${f.lcs}`;
    if (f.kind === 'EF') content += f.structure === 'transparent' ? ` ${hex(f.data)}` : ` ${f.records.map(hex).join(',')}`;
    out.set(path, content);
    if (f.kind === 'DF') for (const c of f.children) walk(c, `${path}/${fidHex(c.fid)}`);
  };
  walk(card.state.mf, '3F00');
  return out;
}

/** PIN/key id → tries, with the same ids as the model. */
function triesState(card: Card): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (df: DedicatedFile, path: string): void => {
    for (const p of df.pins) out.set(`${path}:PIN${p.ref.toString(16)}`, p.tries);
    for (const k of df.keys) out.set(`${path}:KEY${k.ref.toString(16)}`, k.tries);
    for (const c of df.children) if (c.kind === 'DF') walk(c, `${path}/${fidHex(c.fid)}`);
  };
  walk(card.state.mf, '3F00');
  return out;
}

interface Prediction {
  /** Exact status word, when the model knows it. */
  readonly sw?: number;
  /** The model refuses: the card must not report success. */
  readonly deny?: string;
  /** The model allows (rule and life cycle): the card must not answer 6982 or 6985. */
  readonly allow?: string;
  /** Files whose content may appear in the response. */
  readonly reads: ReadonlySet<MNode>;
  /** Files that may change (content, life cycle, existence). */
  readonly changes: ReadonlySet<MNode>;
  /** PIN/key ids whose counter may go up, if the command succeeds. */
  readonly mayRaise: ReadonlySet<string>;
}

const NONE: ReadonlySet<never> = new Set();

interface Run {
  readonly card: Card;
  readonly model: Model;
  readonly log: string[];
}

function fail(run: Run, msg: string): never {
  throw new Error(`${msg}\n  after: ${run.log.join('\n         ')}`);
}

/** Sends one APDU and checks the answer against the prediction. */
function exchange(run: Run, bytes: Uint8Array, p: Prediction, what: string): Answer {
  const { card, model } = run;
  const filesBefore = fileState(card);
  const triesBefore = triesState(card);
  const eventsBefore = card.events.length;
  const raw = card.transmit(bytes);
  run.log.push(`${what}: ${hex(bytes)} → ${hex(raw)}`);
  if (raw.length < 2) fail(run, `card mute after ${hex(bytes)}`);
  const sw = (raw[raw.length - 2]! << 8) | raw[raw.length - 1]!;
  const a: Answer = { sw, data: raw.slice(0, raw.length - 2), raw };
  const ok = isSuccessSw(sw);
  if (sw === 0x6f00 || card.events.slice(eventsBefore).some((e) => e.type === 'internal-error')) {
    fail(run, `internal error on ${hex(bytes)}: ${JSON.stringify(card.events.at(-1))}`);
  }
  if (p.sw !== undefined && sw !== p.sw) fail(run, `${what}: card answered ${swHex(sw)}, model predicts ${swHex(p.sw)}`);
  if (p.deny !== undefined && ok) fail(run, `${what}: card answered ${swHex(sw)} although the model refuses (${p.deny})`);
  if (p.allow !== undefined && (sw === 0x6982 || sw === 0x6985)) {
    fail(run, `${what}: card refused with ${swHex(sw)} although the model allows (${p.allow})`);
  }

  // Disclosure: a secret marker in the answer must belong to a file the model lets this channel read.
  for (const f of descendantsWithMarkers(model)) {
    if (indexOfBytes(a.data, f.marker!) >= 0 && !p.reads.has(f)) {
      fail(run, `${what}: response discloses ${f.path} without its read rule being satisfied`);
    }
  }
  // Changes: only to files the model lets this command change.
  const filesAfter = fileState(card);
  const allowedPaths = new Set([...p.changes].map((f) => f.path));
  for (const path of new Set([...filesBefore.keys(), ...filesAfter.keys()])) {
    if (filesBefore.get(path) !== filesAfter.get(path) && !allowedPaths.has(path)) {
      fail(run, `${what}: ${path} changed (${filesBefore.get(path)} → ${filesAfter.get(path)}) without its rule being satisfied`);
    }
  }
  // Retry counters: up only through a success on that very object; always as the model says.
  const triesAfter = triesState(card);
  for (const [id, t] of triesAfter) {
    const before = triesBefore.get(id);
    if (before !== undefined && t > before && !(ok && p.mayRaise.has(id))) {
      fail(run, `${what}: retry counter of ${id} went up ${before} → ${t} without a successful verification of it`);
    }
  }
  return a;
}

/** Model counters must equal the card's after each command. */
function compareTries(run: Run): void {
  const card = triesState(run.card);
  for (const o of [...run.model.allPins(), ...run.model.allKeys()]) {
    const t = card.get(o.id);
    if (t !== o.tries) fail(run, `retry counter of ${o.id}: card ${t}, model ${o.tries}`);
  }
}

let markerCache: { model: Model; files: MNode[] } | null = null;
function descendantsWithMarkers(model: Model): MNode[] {
  // Deleted files keep their marker for the check: their content must not reappear either.
  if (markerCache?.model !== model) markerCache = { model, files: descendants(model.mf).filter((f) => f.marker !== undefined) };
  return markerCache.files;
}

// --- executing a command: predict, send, check, advance the model ---------------------------

const lcData = (d: Uint8Array | undefined): Uint8Array | undefined => (d !== undefined && d.length > 0 ? d : undefined);

function resolveTarget(ch: MChannel, via: Via, want: 'transparent' | 'record'): MNode | string {
  let f: MNode | undefined;
  if (via.by === 'current') {
    if (ch.ef === null) return 'no current EF';
    f = ch.ef;
  } else if (via.by === 'sfi') {
    f = efBySfi(ch.df, via.sfi);
    if (f === undefined) return `no SFI ${via.sfi}`;
  } else {
    f = childByFid(ch.df, via.fid);
    if (f === undefined) return `no child ${fidHex(via.fid)}`;
  }
  if (f.kind !== 'EF') return 'not an EF';
  if ((want === 'transparent') !== (f.structure === 'transparent')) return 'wrong structure';
  return f;
}

function step(run: Run, cmd: Cmd): void {
  const { model } = run;
  let c = cmd;
  let what = describeCmd(c);
  if (c.kind === 'reset') {
    run.card.reset();
    model.reset();
    run.log.push('RESET');
    return;
  }
  model.pending = c.kind === 'get-response' ? model.pending : null;
  if (c.kind === 'sm-read') {
    // No SM session: an SM-marked command is refused before anything else (6882).
    exchange(run, apdu(c.cla, 0xb0, 0x80 | c.sfi, 0, undefined, 256), { sw: 0x6882, reads: NONE, changes: NONE, mayRaise: NONE }, what);
    return;
  }
  const open = model.channels.flatMap((x, i) => (x === undefined ? [] : [i]));
  const chNo = c.ch < 0 ? [1, 2, 3].find((i) => model.channels[i] === undefined) ?? 0 : open[c.ch % open.length]!;
  if (c.ch < 0 && chNo === 0) return; // every channel is open
  c = { ...c, ch: chNo };
  what = describeCmd(c);
  const cla = claFor(c.ch);
  const ch = model.channels[c.ch];
  if (ch === undefined) {
    // Any command on a closed channel: 6881, and the pending GET RESPONSE data is dropped.
    exchange(run, apdu(cla, 0xa4, 0, 0x0c, h('3F00')), { sw: 0x6881, reads: NONE, changes: NONE, mayRaise: NONE }, what);
    model.pending = null;
    return;
  }

  switch (c.kind) {
    case 'select': {
      const f = model.resolvePath(c.path);
      const data = c.path.length === 0 ? h('3F00') : concatBytes(...c.path.map(u16));
      const bytes = c.path.length === 0 ? apdu(cla, 0xa4, 0, 0x0c, data) : apdu(cla, 0xa4, 0x08, 0x0c, data);
      const sw = f === undefined ? 0x6a82 : (f.lcs & 0xfc) === 0x0c ? 0x6285 : f.lcs === LCS.DEACTIVATED ? 0x6283 : SW_OK;
      exchange(run, bytes, { sw, reads: NONE, changes: NONE, mayRaise: NONE }, what);
      if (f !== undefined) {
        if (f.kind === 'DF') model.setCurrentDf(ch, f);
        else model.setCurrentEf(ch, f);
      }
      return;
    }
    case 'read-binary':
    case 'update-binary':
    case 'erase-binary': {
      const op: AccessOp = c.kind === 'read-binary' ? 'read' : c.kind === 'update-binary' ? 'update' : 'erase';
      const t = resolveTarget(ch, c.via, 'transparent');
      let bytes: Uint8Array;
      if (c.via.by === 'fid') {
        const ins = op === 'read' ? 0xb1 : op === 'update' ? 0xd7 : 0x0e;
        const body =
          op === 'read'
            ? encodeTlv(0x54, h('00'))
            : op === 'update'
              ? concatBytes(encodeTlv(0x54, h('00')), encodeTlv(0x53, c.kind === 'update-binary' ? c.data : h('00')))
              : undefined;
        if (op === 'erase') {
          // ERASE BINARY has no odd-INS form here; address it by current EF instead.
          bytes = apdu(cla, 0x0e, 0, 0);
        } else {
          bytes = apdu(cla, ins, c.via.fid >>> 8, c.via.fid & 0xff, body, op === 'read' ? (c.kind === 'read-binary' ? (c.le ?? 256) : undefined) : undefined);
        }
      } else if (c.via.by === 'sfi' && c.via.odd === true && op !== 'erase') {
        // Odd INS, SFI in P2 with P1 = 00 (ISO/IEC 7816-4 §11.3.1); offset in DO '54'.
        const body = op === 'read' ? encodeTlv(0x54, h('00')) : concatBytes(encodeTlv(0x54, h('00')), encodeTlv(0x53, c.kind === 'update-binary' ? c.data : h('00')));
        bytes = apdu(cla, op === 'read' ? 0xb1 : 0xd7, 0, c.via.sfi, body, c.kind === 'read-binary' ? (c.le ?? 256) : undefined);
      } else {
        const p1 = c.via.by === 'sfi' ? 0x80 | c.via.sfi : 0;
        const ins = op === 'read' ? 0xb0 : op === 'update' ? 0xd6 : 0x0e;
        bytes = apdu(cla, ins, p1, 0, c.kind === 'update-binary' ? c.data : undefined, c.kind === 'read-binary' ? c.le : undefined);
      }
      const target = op === 'erase' && c.via.by === 'fid' ? resolveTarget(ch, { by: 'current' }, 'transparent') : t;
      fileCommand(run, ch, c.ch, bytes, target, op, what);
      return;
    }
    case 'read-record':
    case 'update-record':
    case 'append-record':
    case 'search-record': {
      const op: AccessOp = c.kind === 'read-record' || c.kind === 'search-record' ? 'read' : c.kind === 'update-record' ? 'update' : 'append';
      const via: Via = c.via.by === 'fid' ? { by: 'current' } : c.via;
      const t = resolveTarget(ch, via, 'record');
      const sfiBits = via.by === 'sfi' ? via.sfi << 3 : 0;
      const size = typeof t === 'string' ? 4 : t.structure === 'linear-variable' ? 1 + ((c.kind === 'update-record' || c.kind === 'append-record' ? c.fill : 0) % t.recordSize) : t.recordSize;
      const body = (fill: number): Uint8Array => new Uint8Array(size).fill(fill);
      let bytes: Uint8Array;
      if (c.kind === 'read-record') bytes = apdu(cla, 0xb2, c.rec, sfiBits | c.mode, undefined, c.le);
      else if (c.kind === 'update-record') bytes = apdu(cla, 0xdc, c.rec, sfiBits | 4, body(c.fill));
      else if (c.kind === 'append-record') bytes = apdu(cla, 0xe2, 0, sfiBits, body(c.fill));
      else bytes = apdu(cla, 0xa2, 1, sfiBits | 4, h('A55AC3'), 256);
      fileCommand(run, ch, c.ch, bytes, t, op, what);
      return;
    }
    case 'verify':
      return verify(run, ch, cla, c, what);
    case 'ext-auth':
      return externalAuthenticate(run, ch, cla, c, what);
    case 'change-ref':
      return changeReference(run, ch, cla, c, what);
    case 'reset-retry':
      return resetRetry(run, ch, cla, c, what);
    case 'life-cycle':
      return lifeCycle(run, ch, cla, c, what);
    case 'open-channel': {
      let n = -1;
      for (let i = 1; i < model.maxChannels; i++) {
        if (model.channels[i] === undefined) {
          n = i;
          break;
        }
      }
      const a = exchange(run, apdu(cla, 0x70, 0, 0, undefined, 1), { sw: n < 0 ? 0x6881 : SW_OK, reads: NONE, changes: NONE, mayRaise: NONE }, what);
      if (n >= 0) {
        expect(hex(a.data), what).toBe(hex(new Uint8Array([n])));
        const fresh: MChannel = { df: model.mf, ef: null, pins: new Set(), keys: new Set() };
        if (c.ch !== 0) {
          model.setCurrentDf(fresh, ch.df);
          if (ch.ef) model.setCurrentEf(fresh, ch.ef);
        }
        model.channels[n] = fresh;
      }
      return;
    }
    case 'close-channel': {
      const n = c.which === 0 ? c.ch : c.which;
      const can = n !== 0 && model.channels[n] !== undefined;
      exchange(run, apdu(cla, 0x70, 0x80, c.which), { sw: can ? SW_OK : 0x6881, reads: NONE, changes: NONE, mayRaise: NONE }, what);
      if (can) model.channels[n] = undefined;
      return;
    }
    case 'get-response': {
      const pend = model.pending;
      const reads = pend !== null && pend.channel === c.ch ? pend.reads : NONE;
      // Only what the same channel's last allowed read left pending may come back.
      const a = exchange(run, apdu(cla, 0xc0, 0, 0, undefined, c.le), { reads, changes: NONE, mayRaise: NONE }, what);
      if (a.sw >>> 8 !== 0x61) model.pending = null;
      return;
    }
  }
}

/** Commands on the content of one EF: rule check, then the disclosure/change checks. */
function fileCommand(run: Run, ch: MChannel, chNo: number, bytes: Uint8Array, t: MNode | string, op: AccessOp, what: string): void {
  const { model } = run;
  if (typeof t === 'string') {
    exchange(run, bytes, { deny: t, reads: NONE, changes: NONE, mayRaise: NONE }, what);
    return;
  }
  const verdict = model.allows(t, op, ch);
  const p: Prediction = verdict.allowed
    ? {
        allow: `${op} ${t.path}: ${verdict.why}`,
        reads: op === 'read' ? new Set([t]) : NONE,
        changes: op === 'read' ? NONE : new Set([t]),
        mayRaise: NONE,
      }
    : { deny: `${op} ${t.path}: ${verdict.why}`, reads: NONE, changes: NONE, mayRaise: NONE };
  const a = exchange(run, bytes, p, what);
  if (isSuccessSw(a.sw)) model.setCurrentEf(ch, t);
  if (a.sw >>> 8 === 0x61 && verdict.allowed) model.pending = { channel: chNo, reads: new Set(p.reads) };
}

function pinBytes(p: MPin | undefined, mode: 'right' | 'wrong', padded: boolean): Uint8Array {
  if (p === undefined) return ascii(mode === 'right' ? '1234' : '4321');
  let v: Uint8Array = p.value.slice();
  if (mode === 'wrong') v[v.length - 1] = v[v.length - 1]! ^ 0x01;
  if (padded && p.padding !== 'none' && v.length < p.paddedLength) {
    v = concatBytes(v, new Uint8Array(p.paddedLength - v.length).fill(p.padding === 'ff' ? 0xff : 0x00));
  }
  return v;
}

/** Decrement-first comparison (pin.ts): the model's side of `compare`. */
function compareModel(ch: MChannel, p: MPin, v: Uint8Array): boolean {
  p.tries = Math.max(0, p.tries - 1);
  if (!sameBytes(v, p.value)) {
    ch.pins.delete(p);
    return false;
  }
  p.tries = p.maxTries;
  return true;
}

function verify(run: Run, ch: MChannel, cla: number, c: Extract<Cmd, { kind: 'verify' }>, what: string): void {
  const p = findPin(ch.df, c.ref);
  const none = { reads: NONE, changes: NONE };
  if (c.mode === 'reset') {
    exchange(run, apdu(cla, 0x20, 0xff, c.ref), { sw: p === undefined ? 0x6a88 : SW_OK, ...none, mayRaise: NONE }, what);
    if (p) ch.pins.delete(p);
    return;
  }
  if (c.mode === 'status') {
    const sw = p === undefined ? 0x6a88 : ch.pins.has(p) ? SW_OK : p.tries <= 0 ? 0x6983 : counter(p.tries);
    exchange(run, apdu(cla, 0x20, 0, c.ref), { sw, ...none, mayRaise: NONE }, what);
    return;
  }
  const data = pinBytes(p, c.mode, c.padded);
  let sw: number;
  let after: () => void = () => {};
  if (p === undefined) sw = 0x6a88;
  else if (p.tries <= 0) sw = 0x6983;
  else {
    const v = unpad(p, data);
    if (v === undefined) sw = 0x6a80;
    else {
      after = () => {
        if (compareModel(ch, p, v)) ch.pins.add(p);
      };
      sw = sameBytes(v, p.value) ? SW_OK : counter(p.tries - 1);
    }
  }
  exchange(run, apdu(cla, 0x20, 0, c.ref, data), { sw, ...none, mayRaise: new Set(p ? [p.id] : []) }, what);
  after();
}

const OTHER_KEY: Record<KeyAlgorithm, Uint8Array> = { '3des': h('0123456789ABCDEFFEDCBA9876543210'), aes: h('FFEEDDCCBBAA99887766554433221100') };

function externalAuthenticate(run: Run, ch: MChannel, cla: number, c: Extract<Cmd, { kind: 'ext-auth' }>, what: string): void {
  const none = { reads: NONE, changes: NONE, mayRaise: NONE };
  const k = findKey(ch.df, c.ref);
  const bs = k?.algorithm === 'aes' ? 16 : 8;
  const challenge = exchange(run, apdu(cla, 0x84, 0, 0, undefined, bs), { sw: SW_OK, ...none }, `${what} (GET CHALLENGE)`);
  expect(challenge.data.length).toBe(bs);
  let sw: number;
  let crypt: Uint8Array = new Uint8Array(8);
  let after: () => void = () => {};
  if (k === undefined) sw = 0x6a88;
  else if (k.tries <= 0) sw = 0x6983;
  else {
    crypt = externalAuthCryptogram(k.algorithm, c.right ? k.value : OTHER_KEY[k.algorithm], challenge.data);
    sw = c.right ? SW_OK : counter(k.tries - 1);
    after = () => {
      k.tries = Math.max(0, k.tries - 1);
      if (c.right) {
        k.tries = k.maxTries;
        ch.keys.add(k);
      } else ch.keys.delete(k);
    };
  }
  exchange(run, apdu(cla, 0x82, 0, c.ref, crypt), { sw, reads: NONE, changes: NONE, mayRaise: new Set(k ? [k.id] : []) }, what);
  after();
}

function changeReference(run: Run, ch: MChannel, cla: number, c: Extract<Cmd, { kind: 'change-ref' }>, what: string): void {
  const p = findPin(ch.df, c.ref);
  const next = ascii(c.next);
  const current = pinBytes(p, c.right ? 'right' : 'wrong', p?.padding !== 'none');
  const data = c.p1 === 1 ? next : concatBytes(current, next);
  let sw: number;
  let after: () => void = () => {};
  if (p === undefined) sw = 0x6a88;
  else if (p.tries <= 0) sw = 0x6983;
  else if (c.p1 === 1) {
    if (!ch.pins.has(p)) sw = 0x6982;
    else if (unpad(p, next) === undefined) sw = 0x6a80;
    else {
      sw = SW_OK;
      after = () => {
        p.value = unpad(p, next)!.slice();
        ch.pins.add(p);
      };
    }
  } else {
    const n = p.padding === 'none' ? p.value.length : p.paddedLength;
    const cur = data.length > n ? unpad(p, data.subarray(0, n)) : undefined;
    const nv = data.length > n ? unpad(p, data.subarray(n)) : undefined;
    if (cur === undefined || nv === undefined) sw = 0x6a80;
    else {
      sw = sameBytes(cur, p.value) ? SW_OK : counter(p.tries - 1);
      after = () => {
        if (compareModel(ch, p, cur)) {
          p.value = nv.slice();
          ch.pins.add(p);
        }
      };
    }
  }
  exchange(run, apdu(cla, 0x24, c.p1, c.ref, data), { sw, reads: NONE, changes: NONE, mayRaise: new Set(p ? [p.id] : []) }, what);
  after();
}

function resetRetry(run: Run, ch: MChannel, cla: number, c: Extract<Cmd, { kind: 'reset-retry' }>, what: string): void {
  const pin = findPin(ch.df, c.ref);
  const puk = pin?.pukRef !== undefined ? findPin(ch.df, pin.pukRef) : undefined;
  const next = ascii(c.next);
  const pukValue = puk === undefined ? ascii('12345678') : pinBytes(puk, c.right ? 'right' : 'wrong', false);
  const data = c.p1 === 0 ? concatBytes(pukValue, next) : c.p1 === 1 ? pukValue : undefined;
  let sw: number;
  let after: () => void = () => {};
  if (pin === undefined || puk === undefined) sw = 0x6a88;
  else if (puk.tries <= 0 || puk.unblocksLeft === 0) sw = 0x6983;
  else {
    let pv: Uint8Array | undefined;
    let np: Uint8Array | undefined;
    let bad = false;
    if (c.p1 === 0) {
      const n = puk.padding === 'none' ? puk.value.length : puk.paddedLength;
      pv = data!.length > n ? unpad(puk, data!.subarray(0, n)) : undefined;
      np = data!.length > n ? unpad(pin, data!.subarray(n)) : undefined;
      bad = pv === undefined || np === undefined;
    } else if (c.p1 === 1) {
      pv = unpad(puk, data!);
      bad = pv === undefined;
    }
    if (bad) sw = 0x6a80;
    else if (c.p1 === 3 && !ch.pins.has(puk)) sw = 0x6982;
    else {
      const match = pv === undefined || sameBytes(pv, puk.value);
      sw = match ? SW_OK : counter(puk.tries - 1);
      after = () => {
        if (pv !== undefined && !compareModel(ch, puk, pv)) return;
        pin.tries = pin.maxTries;
        if (np !== undefined) pin.value = np.slice();
        if (puk.unblocksLeft > 0) puk.unblocksLeft--;
        ch.pins.delete(pin);
      };
    }
  }
  const raise = new Set<string>([pin?.id, puk?.id].filter((x): x is string => x !== undefined));
  exchange(run, apdu(cla, 0x2c, c.p1, c.ref, lcData(data)), { sw, reads: NONE, changes: NONE, mayRaise: raise }, what);
  after();
}

function lifeCycle(run: Run, ch: MChannel, cla: number, c: Extract<Cmd, { kind: 'life-cycle' }>, what: string): void {
  const { model } = run;
  const op: AccessOp = c.ins === 0xe4 ? 'delete' : c.ins === 0x44 ? 'activate' : c.ins === 0x04 ? 'deactivate' : 'terminate';
  const bytes = apdu(cla, c.ins, 0, 0, c.fid === undefined ? undefined : u16(c.fid));
  const f = c.fid === undefined ? (ch.ef ?? ch.df) : model.findByFid(ch.df, c.fid);
  const none = { reads: NONE, mayRaise: NONE };
  if (f === undefined) {
    exchange(run, bytes, { sw: 0x6a82, changes: NONE, ...none }, what);
    return;
  }
  if (op === 'terminate' && (c.ins === 0xe6) !== (f.kind === 'DF')) {
    // TERMINATE DF names a DF, TERMINATE EF an EF (6981 otherwise).
    exchange(run, bytes, { sw: 0x6981, changes: NONE, ...none }, what);
    return;
  }
  if (f.parent === null && op !== 'terminate') {
    // The MF: DELETE 6900; ACTIVATE (card life cycle) and DEACTIVATE 6985 once operational.
    exchange(run, bytes, { sw: op === 'delete' ? 0x6900 : 0x6985, changes: NONE, ...none }, what);
    return;
  }
  const verdict = model.allows(f, op, ch);
  if (!verdict.allowed) {
    exchange(run, bytes, { deny: `${op} ${f.path}: ${verdict.why}`, changes: NONE, ...none }, what);
    return;
  }
  const changes = new Set(op === 'delete' ? descendants(f) : [f]);
  const a = exchange(run, bytes, { sw: SW_OK, allow: `${op} ${f.path}: ${verdict.why}`, changes, ...none }, what);
  if (a.sw !== SW_OK) return;
  if (op === 'delete') model.deleteFile(f, ch);
  else f.lcs = op === 'activate' ? LCS.ACTIVATED : op === 'terminate' ? LCS.TERMINATED : LCS.DEACTIVATED;
}

// --- the properties ---------------------------------------------------------------------------

function operationalCard(): { card: Card; model: Model } {
  const card = fixtureCard({ lifeCycle: 'operational' });
  return { card, model: new Model(LAYOUT) };
}

function play(cmds: readonly Cmd[]): void {
  const { card, model } = operationalCard();
  const run: Run = { card, model, log: [] };
  for (const c of cmds) {
    step(run, c);
    compareTries(run);
  }
}

/** Most sequences start inside DF 1000, where the protected files and most PINs live. */
const startArb: fc.Arbitrary<Cmd[]> = fc.constantFrom<Cmd[]>(
  [],
  [{ kind: 'select', ch: 0, path: [0x1000] }],
  [{ kind: 'select', ch: 0, path: [0x1000] }],
  [{ kind: 'select', ch: 0, path: [0x1000, 0x1100] }],
  [{ kind: 'select', ch: 0, path: [0x2000] }],
);

describe('access rules hold over random command sequences (model-checked)', () => {
  it('no read or change of a protected file unless the model says its rule is satisfied', () => {
    fc.assert(fc.property(startArb, fc.array(fileCmdArb, { minLength: 1, maxLength: 50, size: 'max' }), (start, cmds) => play([...start, ...cmds])), { numRuns: 400 });
  });

  it('retry counters never go up except after a successful verification or unblock of that object', () => {
    // Wrong values often enough that PINs, the PUK and the key get blocked (6983) and unblocked.
    const hammer: fc.Arbitrary<Cmd> = fc.record({
      kind: fc.constant('verify' as const),
      ch: chArb,
      ref: fc.constantFrom(0x81, 0x83, 0x01),
      mode: fc.constantFrom('wrong', 'wrong', 'right', 'status'),
      padded: fc.constant(false),
    });
    const counterCmd: fc.Arbitrary<Cmd> = fc.oneof(
      { weight: 4, arbitrary: verifyArb },
      { weight: 4, arbitrary: hammer },
      { weight: 3, arbitrary: changeRefArb },
      { weight: 3, arbitrary: resetRetryArb },
      { weight: 2, arbitrary: extAuthArb },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('ext-auth' as const), ch: chArb, ref: fc.constant(0x01), right: fc.constant(false) }) },
      { weight: 3, arbitrary: selectArb },
      { weight: 1, arbitrary: resetArb },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('open-channel' as const), ch: chArb }) },
    );
    fc.assert(fc.property(startArb, fc.array(counterCmd, { minLength: 1, maxLength: 40, size: 'max' }), (start, cmds) => play([...start, ...cmds])), { numRuns: 400 });
  });
});

describe('access rules: the cases the rules name, one by one', () => {
  const sel = (path: number[], ch = 0): Cmd => ({ kind: 'select', ch, path });
  const rb = (sfi: number, ch = 0): Cmd => ({ kind: 'read-binary', ch, via: { by: 'sfi', sfi }, le: 256 });
  const ub = (sfi: number, ch = 0): Cmd => ({ kind: 'update-binary', ch, via: { by: 'sfi', sfi }, data: h('0102') });
  const vr = (ref: number, ch = 0): Cmd => ({ kind: 'verify', ch, ref, mode: 'right', padded: false });
  const ea = (ch = 0): Cmd => ({ kind: 'ext-auth', ch, ref: 0x01, right: true });

  it('read PIN(81): refused, then allowed after VERIFY, refused again after reset', () => {
    play([sel([0x1000]), rb(1), vr(0x81), rb(1), { kind: 'reset' }, sel([0x1000]), rb(1)]);
  });
  it('update NEVER stays refused whatever is verified', () => {
    play([sel([0x1000]), vr(0x81), vr(0x82), ea(), ub(2)]);
  });
  it('update KEY(01): refused until EXTERNAL AUTHENTICATE', () => {
    play([sel([0x1000]), ub(3), vr(0x81), ub(3), ea(), ub(3)]);
  });
  it('read SM: refused in plain, and an SM-marked command without a session is 6882', () => {
    play([sel([0x1000]), vr(0x81), ea(), rb(4), { kind: 'sm-read', cla: 0x0c, sfi: 4 }]);
  });
  it('(PIN(81) AND KEY(01)) needs both', () => {
    play([sel([0x1000]), vr(0x81), rb(5), { kind: 'reset' }, sel([0x1000]), ea(), rb(5), vr(0x81), rb(5)]);
  });
  it('(PIN(81) OR PIN(82)) takes either', () => {
    play([sel([0x1000]), rb(6), vr(0x82), rb(6), { kind: 'reset' }, sel([0x1000]), vr(0x81), rb(6)]);
  });
  it("a PIN verified on one channel does not open files on another; DF 2000's PIN 81 is another object", () => {
    play([{ kind: 'open-channel', ch: 0 }, sel([0x1000], 1), sel([0x1000]), vr(0x81, 1), rb(1), rb(1, 1), sel([0x2000], 1), rb(1, 1), vr(0x81, 1), rb(1, 1)]);
  });
  it('leaving the DF that owns a PIN drops its status; the global PIN survives', () => {
    play([vr(0x01), rb(5), sel([0x1000]), vr(0x81), sel([0x2000]), sel([0x1000]), rb(1), sel([]), rb(5)]);
  });
  it('a wrong VERIFY drops an earlier verification', () => {
    play([sel([0x1000]), vr(0x81), rb(1), { kind: 'verify', ch: 0, ref: 0x81, mode: 'wrong', padded: false }, rb(1)]);
  });
  it('deactivated DF: nothing inside works until ACTIVATE with its rule', () => {
    play([
      sel([0x1000]),
      vr(0x82),
      { kind: 'life-cycle', ch: 0, ins: 0x04, fid: 0x1100 },
      sel([0x1000, 0x1100]),
      vr(0x81),
      rb(1),
      { kind: 'life-cycle', ch: 0, ins: 0x44, fid: 0x1100 },
      rb(1),
    ]);
  });
  it('DELETE FILE of a DF needs its rule; the pending answer of a read is not for other channels', () => {
    play([
      sel([0x1000]),
      { kind: 'life-cycle', ch: 0, ins: 0xe4, fid: 0x1100 },
      vr(0x81),
      { kind: 'open-channel', ch: 0 },
      sel([0x1000, 0x1100, 0x1101], 1),
      sel([0x1000, 0x1100, 0x1101]),
      { kind: 'life-cycle', ch: 0, ins: 0xe4, fid: 0x1100 },
      rb(1, 1),
    ]);
  });
  it('data pending for GET RESPONSE (61XX) is delivered only on the channel that read it', () => {
    const readNoLe: Cmd = { kind: 'read-record', ch: 0, via: { by: 'sfi', sfi: 11 }, rec: 1, le: undefined, mode: 4 };
    play([
      sel([0x1000]),
      vr(0x81),
      { kind: 'open-channel', ch: 0 },
      sel([0x1000], 1),
      readNoLe,
      { kind: 'get-response', ch: 1, le: 256 },
      readNoLe,
      { kind: 'get-response', ch: 0, le: 4 },
      { kind: 'get-response', ch: 0, le: 256 },
      readNoLe,
      { kind: 'verify', ch: 0, ref: 0x81, mode: 'wrong', padded: false },
      { kind: 'get-response', ch: 0, le: 256 },
    ]);
  });
  it('a channel opened from another channel gets its files but not its security status', () => {
    play([
      { kind: 'open-channel', ch: 0 },
      sel([0x1000, 0x1001], 1),
      vr(0x81, 1),
      ea(1),
      { kind: 'open-channel', ch: 1 },
      { kind: 'read-binary', ch: 2, via: { by: 'current' }, le: 256 },
      rb(5, 2),
      rb(1, 2),
      rb(1, 1),
    ]);
  });
  it("reset clears every channel's security status", () => {
    play([{ kind: 'open-channel', ch: 0 }, sel([0x1000], 1), vr(0x81, 1), sel([0x1000]), vr(0x81), vr(0x01), { kind: 'reset' }, sel([0x1000]), rb(1), vr(0x81, 0), rb(1), rb(1, 1)]);
  });
  it('TERMINATE EF needs (PIN(81) AND PIN(82)); a terminated EF can then only be deleted', () => {
    const term: Cmd = { kind: 'life-cycle', ch: 0, ins: 0xe8, fid: 0x1020 };
    play([
      sel([0x1000]),
      vr(0x81),
      term,
      vr(0x82),
      term,
      rb(20),
      ub(20),
      { kind: 'life-cycle', ch: 0, ins: 0x44, fid: 0x1020 },
      sel([0x1000, 0x1020]),
      { kind: 'life-cycle', ch: 0, ins: 0xe4, fid: undefined },
      rb(20),
    ]);
  });
  it('PUK unblocks a blocked PIN and the PIN counter goes up only then', () => {
    const wrong: Cmd = { kind: 'verify', ch: 0, ref: 0x81, mode: 'wrong', padded: false };
    play([
      sel([0x1000]),
      wrong,
      wrong,
      wrong,
      vr(0x81),
      { kind: 'reset-retry', ch: 0, ref: 0x81, p1: 3, right: true, next: '2468' },
      { kind: 'reset-retry', ch: 0, ref: 0x81, p1: 1, right: false, next: '2468' },
      { kind: 'reset-retry', ch: 0, ref: 0x81, p1: 0, right: true, next: '2468' },
      vr(0x81),
      rb(1),
    ]);
  });
});
