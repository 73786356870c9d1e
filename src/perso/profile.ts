/**
 * Personalization profiles: YAML (or JSON) in, a validated {@link Profile} out (STYLE principle 8:
 * profile → validated model → APDU script). Two passes, like holder documents: the published JSON
 * Schema (`profiles/profile.schema.json`, ajv; unknown keys are errors), then what a schema cannot
 * say — access rules that parse, names that resolve, FIDs and SFIs unique in their DF, encoders
 * and applet types that exist. Every problem is reported at once, in file order, as
 * `file:line field: message — hint`.
 *
 * @example
 * const profile = loadProfile('profiles/qatar-id.yaml');
 * profile.applications.map((a) => a.name) // ['card-level', 'identity', ...]
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { hexToBytes } from '../bytes/index.js';
import type { EfStructure } from '../card/fs/file.js';
import { assertRulesApply, parseCondition, type AccessOp, type AccessRules, type Condition } from '../card/security/access.js';
import type { AsymmetricKeyUsage } from '../card/security/objects.js';
import type { HashAlgorithm } from '../lds/algorithms.js';
import { applicationType, applicationTypes } from './applications.js';
import { getEncoder } from './encoders.js';
import './app-encoders.js';
import { NO_POSITIONS, ProfileError, pathText, show, yamlLocator, type InputIssue, type Locator, type Segment } from './issues.js';
import { PROFILE_SCHEMA } from './schema.js';
import { compileSchema, schemaIssues, type SchemaIssue } from '../input/schema-issues.js';

/** Where a file's content comes from. `args` are the encoder's own keys (tag, fields, value …). */
export interface ContentSpec {
  readonly encoder: string;
  readonly from: readonly string[];
  readonly optional: boolean;
  readonly args: Readonly<Record<string, unknown>>;
}

export interface FileSpec {
  readonly name: string;
  readonly fid: number;
  readonly sfi: number | undefined;
  readonly type: EfStructure;
  /** Bytes, or 'fit' (exactly the content). */
  readonly size: number | 'fit';
  readonly recordLength: number | undefined;
  readonly records: number | undefined;
  readonly rules: AccessRules | undefined;
  readonly content: ContentSpec | undefined;
  /** Created by the applet at install: only written. */
  readonly existing: boolean;
  /**
   * Kept encrypted at rest (AES-256-GCM under the card's storage key) and released only under
   * secure messaging: chipwright's FCP data object 85, b1 (`card/fs/fcp.ts`).
   */
  readonly encrypted: boolean;
}

export interface SecurityObjectSpec {
  readonly file: string;
  readonly type: 'icao-sod';
  /** File name → data group number. */
  readonly covers: ReadonlyMap<string, number>;
  readonly signer: string;
  readonly hash: HashAlgorithm;
}

export interface KeyPairSpec {
  readonly name: string;
  readonly ref: number;
  readonly type: 'ec' | 'rsa';
  readonly curve: string | undefined;
  readonly bits: number | undefined;
  readonly usage: readonly AsymmetricKeyUsage[];
  readonly use: Condition;
  readonly useText: string;
  readonly pinAlways: boolean;
  readonly certify: { readonly signer: string; readonly file: string } | undefined;
  readonly holderKeyPair: string | undefined;
}

export interface ApplicationSpec {
  readonly name: string;
  readonly applet: string;
  /** Empty for the card-level applet. */
  readonly aid: Uint8Array;
  readonly fid: number | undefined;
  readonly rules: AccessRules | undefined;
  readonly params: Readonly<Record<string, unknown>>;
  readonly files: readonly FileSpec[];
  readonly securityObjects: readonly SecurityObjectSpec[];
  readonly keyPairs: readonly KeyPairSpec[];
}

export type PinValueSpec = 'generated' | { readonly holder: string; readonly last: number | undefined };

export interface ProfilePinSpec {
  readonly name: string;
  readonly ref: number;
  /** Application whose DF holds it; undefined = the MF. */
  readonly application: string | undefined;
  readonly minLength: number;
  readonly maxLength: number;
  /** Length of a generated value. */
  readonly digits: number;
  readonly tries: number;
  readonly puk: string | undefined;
  readonly unblocks: number | undefined;
  readonly value: PinValueSpec;
}

export interface OperatorKeySpec {
  readonly operator: string;
  readonly diversify: 'none' | 'holder';
}

export interface SecretKeySpec {
  readonly name: string;
  readonly ref: number;
  readonly application: string | undefined;
  readonly algorithm: '3des' | 'aes';
  readonly tries: number;
  readonly value: OperatorKeySpec;
}

export interface Profile {
  readonly name: string;
  readonly description: string | undefined;
  /** File name for messages. */
  readonly source: string;
  readonly card: { readonly atr: Uint8Array | undefined; readonly capacity: number | undefined };
  readonly channel: {
    readonly transportKey: { readonly algorithm: '3des' | 'aes'; readonly operator: string | undefined };
    readonly secureMessaging: boolean;
    readonly apdu: 'auto' | 'extended' | 'short';
  };
  readonly pins: readonly ProfilePinSpec[];
  readonly keys: readonly SecretKeySpec[];
  readonly applications: readonly ApplicationSpec[];
  readonly finalState: 'operational' | 'personalization';
}

/** Signers a profile may name, and the CLI option that provides each. */
export const SIGNERS = Object.freeze({ 'document-signer': '--signer', 'card-issuer': '--issuer' } as const);

// --- schema pass -------------------------------------------------------------------------------

function schemaProblems(data: unknown, loc: Locator, file: string | undefined): SchemaIssue[] {
  return schemaIssues(compileSchema(PROFILE_SCHEMA), data, loc, file);
}

// --- semantic pass -----------------------------------------------------------------------------

/* The document as the schema guarantees it (shapes only). */
interface RawFile {
  name: string;
  fid: string;
  sfi?: string;
  type?: EfStructure;
  size?: number | 'fit';
  recordLength?: number;
  records?: number;
  access?: Record<string, string>;
  content?: { encoder: string; from?: string[]; optional?: boolean } & Record<string, unknown>;
  existing?: boolean;
  encrypted?: boolean;
}
interface RawApp {
  name: string;
  applet: string;
  aid?: string;
  fid?: string;
  access?: Record<string, string>;
  params?: Record<string, unknown>;
  files?: RawFile[];
  securityObjects?: { file: string; type: 'icao-sod'; covers: Record<string, number>; signer: string; hash?: HashAlgorithm }[];
  keyPairs?: {
    name: string;
    ref: string;
    type: 'ec' | 'rsa';
    curve?: string;
    bits?: number;
    usage: AsymmetricKeyUsage[];
    use?: string;
    pinAlways?: boolean;
    generate?: 'on-card';
    certify?: { signer: string; file: string };
    holderKeyPair?: string;
  }[];
}
interface RawProfile {
  profile: string;
  description?: string;
  card?: { atr?: string; capacity?: number };
  channel?: { transportKey?: { algorithm: '3des' | 'aes'; operator?: string }; secureMessaging?: boolean; apdu?: 'auto' | 'extended' | 'short' };
  pins?: {
    name: string;
    ref: string;
    application?: string;
    minLength?: number;
    maxLength?: number;
    digits?: number;
    tries?: number;
    puk?: string;
    unblocks?: number;
    value: 'generated' | { holder: string; last?: number };
  }[];
  keys?: { name: string; ref: string; application?: string; algorithm: '3des' | 'aes'; tries?: number; value: { operator: string; diversify?: 'none' | 'holder' } }[];
  applications: RawApp[];
  finalState?: 'operational' | 'personalization';
}

class Collector {
  readonly issues: InputIssue[] = [];
  constructor(
    private readonly loc: Locator,
    private readonly file: string | undefined,
  ) {}
  add(path: readonly Segment[], message: string, hint?: string): void {
    this.issues.push({ ...(this.file !== undefined ? { file: this.file } : {}), ...this.loc.at(path), path: pathText(path), message, ...(hint !== undefined ? { hint } : {}) });
  }
}

const byte = (h: string): number => parseInt(h, 16);

function rulesOf(c: Collector, path: Segment[], raw: Record<string, string> | undefined, isDf: boolean): AccessRules | undefined {
  if (raw === undefined) return undefined;
  const out: Partial<Record<AccessOp, Condition>> = {};
  for (const [op, text] of Object.entries(raw)) {
    try {
      out[op as AccessOp] = parseCondition(text);
    } catch (e) {
      c.add([...path, op], e instanceof Error ? e.message : String(e), 'ALWAYS, NEVER, PIN(hex), KEY(hex), SM with AND / OR, e.g. "PIN(03) AND SM"');
    }
  }
  try {
    assertRulesApply(out, isDf);
  } catch (e) {
    c.add(path, e instanceof Error ? e.message : String(e), isDf ? 'a DF has create, delete, activate, deactivate, terminate' : 'an EF has read, update, erase, append, delete, activate, deactivate, terminate');
  }
  return out;
}

function uniqueBy<T>(c: Collector, list: readonly T[], base: Segment[], field: string, key: (x: T) => string | undefined, what: string): void {
  const seen = new Map<string, number>();
  list.forEach((x, i) => {
    const k = key(x);
    if (k === undefined) return;
    const first = seen.get(k);
    if (first !== undefined) c.add([...base, i, field], `${what} ${k} is already used by ${pathText([...base, first])}`, `each ${what} once`);
    else seen.set(k, i);
  });
}

function resolveProfile(d: RawProfile, c: Collector, source: string): Profile {
  const apps = d.applications;
  uniqueBy(c, apps, ['applications'], 'name', (a) => a.name, 'application name');
  uniqueBy(c, apps, ['applications'], 'aid', (a) => (a.aid === undefined || a.aid === '' ? undefined : a.aid.toUpperCase()), 'AID');
  uniqueBy(c, apps, ['applications'], 'fid', (a) => a.fid?.toUpperCase(), 'DF FID');
  const appNames = new Set(apps.map((a) => a.name));
  const cardLevel = apps.filter((a) => applicationType(a.applet)?.cardLevel === true);
  if (cardLevel.length > 1) c.add(['applications'], `${cardLevel.length} card-level applications; a card has at most one`);

  const applications: ApplicationSpec[] = apps.map((a, i) => {
    const p: Segment[] = ['applications', i];
    const type = applicationType(a.applet);
    if (type === undefined) c.add([...p, 'applet'], `unknown applet type "${a.applet}"`, `one of ${applicationTypes().map((t) => t.type).join(', ')}, or a type an application module registers`);
    const aid = hexToBytes(a.aid ?? '');
    if (type?.cardLevel === true) {
      if (aid.length !== 0) c.add([...p, 'aid'], 'the card-level applet lives in the MF and has no AID', 'leave aid out');
    } else if (aid.length < 5 || aid.length > 16) {
      c.add([...p, 'aid'], a.aid === undefined ? 'missing (required for an application)' : `expected 5..16 bytes, got ${aid.length}`, 'an AID: RID (5 bytes) + PIX');
    }
    if (type?.cardLevel === true && a.fid !== undefined) c.add([...p, 'fid'], 'the card-level applet lives in the MF, which has FID 3F00');
    const checkParams = type?.checkParams?.(a.params ?? {});
    if (checkParams !== undefined) c.add([...p, 'params', ...checkParams.path], checkParams.message, checkParams.hint);
    const files = a.files ?? [];
    uniqueBy(c, files, [...p, 'files'], 'name', (f) => f.name, 'file name');
    uniqueBy(c, files, [...p, 'files'], 'fid', (f) => f.fid.toUpperCase(), 'FID');
    uniqueBy(c, files, [...p, 'files'], 'sfi', (f) => f.sfi?.toUpperCase(), 'SFI');
    const fileNames = new Set(files.map((f) => f.name));
    const certFiles = new Set((a.keyPairs ?? []).flatMap((k) => (k.certify ? [k.certify.file] : [])));
    const sodFiles = new Set((a.securityObjects ?? []).map((s) => s.file));
    const fileSpecs: FileSpec[] = files.map((f, j) => {
      const fp: Segment[] = [...p, 'files', j];
      const fid = byte(f.fid);
      if (fid === 0x3f00 || fid === 0x3fff || fid === 0xffff) c.add([...fp, 'fid'], `${f.fid} is reserved`, 'use another FID');
      const type = f.type ?? 'transparent';
      const isRecord = type !== 'transparent';
      if (isRecord && (f.recordLength === undefined || f.records === undefined)) c.add(fp, `a ${type} EF needs recordLength and records`);
      if (!isRecord && (f.recordLength !== undefined || f.records !== undefined)) c.add(fp, 'recordLength and records are for record EFs', 'set type: linear-fixed, linear-variable or cyclic');
      if (isRecord && f.size !== undefined) c.add([...fp, 'size'], 'a record EF is sized by recordLength and records');
      const produced = f.content !== undefined || certFiles.has(f.name) || sodFiles.has(f.name);
      if (f.size === 'fit' && !produced) c.add([...fp, 'size'], '"fit" needs content (an encoder, a security object or a certificate)');
      if (f.content !== undefined && (certFiles.has(f.name) || sodFiles.has(f.name))) {
        c.add([...fp, 'content'], 'this file is written by a security object or a certificate; give it no content');
      }
      let content: ContentSpec | undefined;
      if (f.content !== undefined) {
        const { encoder, from, optional, ...args } = f.content;
        const enc = getEncoder(encoder);
        if (enc === undefined) c.add([...fp, 'content', 'encoder'], `unknown encoder "${encoder}"`, 'see `chipwright encoders` for the list');
        content = { encoder, from: from ?? [], optional: optional ?? false, args };
        const problem = enc?.check?.(content, { type, records: f.records, keyPairs: (a.keyPairs ?? []).map((k) => k.name) });
        if (problem !== undefined) c.add([...fp, 'content', ...(problem.key !== undefined ? [problem.key] : [])], problem.message, problem.hint);
      }
      return {
        name: f.name,
        fid,
        sfi: f.sfi === undefined ? undefined : byte(f.sfi),
        type,
        size: isRecord ? 0 : (f.size ?? 'fit'),
        recordLength: f.recordLength,
        records: f.records,
        rules: rulesOf(c, [...fp, 'access'], f.access, false),
        content,
        existing: f.existing ?? false,
        encrypted: f.encrypted ?? false,
      };
    });
    const securityObjects: SecurityObjectSpec[] = (a.securityObjects ?? []).map((s, j) => {
      const sp: Segment[] = [...p, 'securityObjects', j];
      if (!fileNames.has(s.file)) c.add([...sp, 'file'], `no file "${s.file}" in application ${a.name}`, `one of: ${[...fileNames].join(', ')}`);
      if (!(s.signer in SIGNERS)) c.add([...sp, 'signer'], `unknown signer "${s.signer}"`, `one of: ${Object.keys(SIGNERS).join(', ')}`);
      const covers = new Map<string, number>();
      const numbers = new Map<number, string>();
      for (const [fname, n] of Object.entries(s.covers)) {
        if (!fileNames.has(fname)) c.add([...sp, 'covers', fname], `no file "${fname}" in application ${a.name}`);
        if (fname === s.file) c.add([...sp, 'covers', fname], 'a security object cannot cover itself');
        const other = numbers.get(n);
        if (other !== undefined) c.add([...sp, 'covers', fname], `data group ${n} is already ${other}`);
        numbers.set(n, fname);
        covers.set(fname, n);
      }
      if (covers.size < 2) c.add([...sp, 'covers'], `covers ${covers.size} file, an LDS security object needs at least 2`, 'ICAO 9303-10 §4.6.2.2');
      return { file: s.file, type: s.type, covers, signer: s.signer, hash: s.hash ?? 'SHA-256' };
    });
    const keyPairs: KeyPairSpec[] = (a.keyPairs ?? []).map((k, j) => {
      const kp: Segment[] = [...p, 'keyPairs', j];
      if (type !== undefined && type.keySlots !== true) c.add([...kp], `applet type ${a.applet} has no key store`, 'put key pairs in an application with applet: keystore');
      if (k.type === 'ec' && k.bits !== undefined) c.add([...kp, 'bits'], 'an EC key has a curve, not bits');
      if (k.type === 'rsa' && k.curve !== undefined) c.add([...kp, 'curve'], 'an RSA key has bits, not a curve');
      if (k.certify !== undefined) {
        if (!fileNames.has(k.certify.file)) c.add([...kp, 'certify', 'file'], `no file "${k.certify.file}" in application ${a.name}`);
        if (!(k.certify.signer in SIGNERS)) c.add([...kp, 'certify', 'signer'], `unknown signer "${k.certify.signer}"`, `one of: ${Object.keys(SIGNERS).join(', ')}`);
      }
      let use: Condition = { kind: 'always' };
      if (k.use !== undefined) {
        try {
          use = parseCondition(k.use);
        } catch (e) {
          c.add([...kp, 'use'], e instanceof Error ? e.message : String(e));
        }
      }
      return {
        name: k.name,
        ref: byte(k.ref),
        type: k.type,
        curve: k.type === 'ec' ? (k.curve ?? 'P-256') : undefined,
        bits: k.type === 'rsa' ? (k.bits ?? 2048) : undefined,
        usage: k.usage,
        use,
        useText: k.use ?? 'ALWAYS',
        pinAlways: k.pinAlways ?? false,
        certify: k.certify,
        holderKeyPair: k.holderKeyPair,
      };
    });
    uniqueBy(c, a.keyPairs ?? [], [...p, 'keyPairs'], 'ref', (k) => k.ref.toUpperCase(), 'key reference');
    return {
      name: a.name,
      applet: a.applet,
      aid,
      fid: a.fid === undefined ? undefined : byte(a.fid),
      rules: rulesOf(c, [...p, 'access'], a.access, true),
      params: a.params ?? {},
      files: fileSpecs,
      securityObjects,
      keyPairs,
    };
  });

  const pinsRaw = d.pins ?? [];
  uniqueBy(c, pinsRaw, ['pins'], 'name', (x) => x.name, 'PIN name');
  const pinNames = new Set(pinsRaw.map((x) => x.name));
  const scoped = (x: { ref: string; application?: string }): string => `${x.application ?? 'MF'}/${x.ref.toUpperCase()}`;
  uniqueBy(c, pinsRaw, ['pins'], 'ref', scoped, 'PIN reference');
  const pins: ProfilePinSpec[] = pinsRaw.map((x, i) => {
    const pp: Segment[] = ['pins', i];
    const ref = byte(x.ref);
    if (x.application !== undefined && !appNames.has(x.application)) c.add([...pp, 'application'], `no application "${x.application}"`);
    if (x.application !== undefined && (ref & 0x80) === 0) c.add([...pp, 'ref'], `${x.ref} is a global reference (b8 = 0), stored in the MF`, 'use a reference with b8 = 1 (80..FF) for an application PIN, or leave application out');
    if (x.application === undefined && (ref & 0x80) !== 0) c.add([...pp, 'ref'], `${x.ref} is a specific reference (b8 = 1)`, 'name the application whose DF holds it, or use 01..7F for a card-wide PIN');
    const minLength = x.minLength ?? 4;
    const maxLength = x.maxLength ?? Math.max(minLength, 12);
    if (maxLength < minLength) c.add([...pp, 'maxLength'], `${maxLength} is below minLength ${minLength}`);
    const digits = x.digits ?? minLength;
    if (digits < minLength || digits > maxLength) c.add([...pp, 'digits'], `${digits} is outside ${minLength}..${maxLength}`);
    if (x.puk !== undefined && !pinNames.has(x.puk)) c.add([...pp, 'puk'], `no PIN named "${x.puk}"`, `one of: ${[...pinNames].join(', ')}`);
    if (x.puk === x.name) c.add([...pp, 'puk'], 'a PIN cannot be its own PUK');
    return {
      name: x.name,
      ref,
      application: x.application,
      minLength,
      maxLength,
      digits,
      tries: x.tries ?? 3,
      puk: x.puk,
      unblocks: x.unblocks,
      value: x.value === 'generated' ? 'generated' : { holder: x.value.holder, last: x.value.last },
    };
  });
  const keysRaw = d.keys ?? [];
  uniqueBy(c, keysRaw, ['keys'], 'name', (x) => x.name, 'key name');
  uniqueBy(c, keysRaw, ['keys'], 'ref', scoped, 'key reference');
  const keys: SecretKeySpec[] = keysRaw.map((x, i) => {
    if (x.application !== undefined && !appNames.has(x.application)) c.add(['keys', i, 'application'], `no application "${x.application}"`);
    return { name: x.name, ref: byte(x.ref), application: x.application, algorithm: x.algorithm, tries: x.tries ?? 10, value: { operator: x.value.operator, diversify: x.value.diversify ?? 'none' } };
  });

  const secureMessaging = d.channel?.secureMessaging ?? true;
  if (secureMessaging && cardLevel.length === 0) {
    c.add(['channel', 'secureMessaging'], 'the personalization channel opens in the card-level applet, and the profile has none', 'add an application with applet: card-level, or set secureMessaging: false');
  }
  const atr = d.card?.atr === undefined ? undefined : hexToBytes(d.card.atr);
  return {
    name: d.profile,
    description: d.description,
    source,
    card: { atr, capacity: d.card?.capacity },
    channel: {
      transportKey: { algorithm: d.channel?.transportKey?.algorithm ?? '3des', operator: d.channel?.transportKey?.operator },
      secureMessaging,
      apdu: d.channel?.apdu ?? 'auto',
    },
    pins,
    keys,
    applications,
    finalState: d.finalState ?? 'operational',
  };
}

function sortIssues(list: InputIssue[]): InputIssue[] {
  return [...list].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

function finish(data: unknown, loc: Locator, source: string): Profile {
  const issues = schemaProblems(data, loc, source);
  if (issues.length > 0) throw new ProfileError(sortIssues(issues));
  const c = new Collector(loc, source);
  const profile = resolveProfile(data as RawProfile, c, source);
  if (c.issues.length > 0) throw new ProfileError(sortIssues(c.issues));
  return profile;
}

/** Parses and validates a profile (YAML or JSON text); throws {@link ProfileError} with every problem. */
export function parseProfile(text: string, source = 'profile'): Profile {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ProfileError(
      doc.errors.map((e) => {
        const pos = lc.linePos(e.pos[0]);
        return { file: source, line: pos.line, column: pos.col, path: '', message: e.message.split('\n')[0]!, hint: 'YAML or JSON syntax' };
      }),
    );
  }
  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ProfileError([{ file: source, line: 1, path: '', message: `expected a mapping with profile and applications, got ${show(data)}` }]);
  }
  return finish(data, yamlLocator(doc, lc), source);
}

/** Reads, parses and validates a profile file. */
export function loadProfile(path: string): Profile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ProfileError([{ file: path, path: '', message: `cannot read the file${code !== undefined ? ` (${code})` : ''}` }]);
  }
  return parseProfile(text, path);
}

/** Validates a profile already parsed (problems carry field paths only). */
export function validateProfile(data: unknown, source = 'profile'): Profile {
  return finish(data, NO_POSITIONS, source);
}

/** The application a file or PIN lives in, by name (the profile is validated: it exists). */
export function applicationNamed(profile: Profile, name: string): ApplicationSpec {
  const a = profile.applications.find((x) => x.name === name);
  if (a === undefined) throw new Error(`profile ${profile.name}: no application ${name}`);
  return a;
}
