/**
 * Encoders: how a file's bytes are made from holder fields, by name. A profile says
 * `content: { encoder: icao.dg2, from: [face, identity.sex] }`; data preparation looks the name up
 * here. Applications plug their own in with {@link registerEncoder} (the health, licence, finance
 * and e-services modules register theirs when imported), so profiles name them like the built-ins.
 *
 * Built-ins:
 *
 * | name | content | from |
 * |---|---|---|
 * | `icao.com` | EF.COM: LDS 1.7, Unicode 4.0.0, the tags of the application's `DGn` files present | — |
 * | `icao.dg1` | DG1: the TD1 MRZ | identity, document |
 * | `icao.dg2` | DG2: CBEFF + ISO/IEC 19794-5 face | face |
 * | `icao.dg3` | DG3: CBEFF + ISO/IEC 19794-2 per finger | fingerprints |
 * | `icao.dg11` | DG11: names (Arabic and Latin), personal number, birth, address … | identity |
 * | `icao.dg12` | DG12: issuing authority, date of issue, personalization time | document |
 * | `tlv` | a BER-TLV template `tag` of `fields` [{ tag, holder, format }]; with `each: LIST`, one per element (one record each in a record EF) | the fields |
 * | `text` | the UTF-8 of one holder field (`field`) | the field |
 * | `static` | fixed bytes (`value`, hex) | — |
 *
 * @example
 * registerEncoder({ name: 'health.insurance', description: '…', encode: (ctx) => encodeInsurance(ctx.holder.healthInsurance!) });
 */
import { concatBytes, hexToBytes } from '../bytes/index.js';
import { encodeTlv } from '../tlv/ber.js';
import type { EfStructure } from '../card/fs/file.js';
import { encodeDg1 } from '../lds/dg1.js';
import { encodeDg11 } from '../lds/dg11.js';
import { encodeDg12 } from '../lds/dg12.js';
import { encodeEfCom } from '../lds/ef-com.js';
import { holderDg11, holderDg12, holderDg2, holderDg3 } from '../apps/identity/data.js';
import { holderMrz } from '../holder/mrz.js';
import type { Holder } from '../holder/types.js';
import type { ApplicationSpec, ContentSpec, FileSpec } from './profile.js';
import type { PublicKeyInfo } from '../crypto/asymmetric.js';

/** What an encoder is given besides the profile's `content` keys. */
export interface EncoderContext {
  readonly holder: Holder;
  readonly holderId: string;
  readonly application: ApplicationSpec;
  readonly file: FileSpec;
  /** Names of the application's files written for this holder (EF.COM lists the data groups). */
  readonly present: ReadonlySet<string>;
  /** DG12's personalization time, and anything else that needs "now". */
  readonly now: Date;
  /**
   * The content of a file prepared earlier for this card, by `application/file` (profile order):
   * what the licence's DG6 hashes from the identity application's DG2.
   */
  readonly earlier: (ref: string) => { readonly spec: FileSpec; readonly application: ApplicationSpec; readonly bytes: Uint8Array } | undefined;
}

/** A problem with an encoder's keys in a profile: `key` names the offending key under `content`. */
export interface EncoderProblem {
  readonly key?: string;
  readonly message: string;
  readonly hint?: string;
}

export interface Encoder {
  readonly name: string;
  /** One line for `chipwright prepare --encoders`. */
  readonly description: string;
  /** Checks the profile's `content` keys when the profile loads. */
  readonly check?: (content: ContentSpec, file: { readonly type: EfStructure; readonly records: number | undefined; readonly keyPairs: readonly string[] }) => EncoderProblem | undefined;
  /** The file's content: bytes for a transparent EF, records for a record EF. */
  readonly encode: (ctx: EncoderContext, content: ContentSpec) => Uint8Array | readonly Uint8Array[];
  /**
   * For a file made during the run from keys the card generated (DG14, DG15): its bytes from the
   * public keys, by key pair name. Data preparation leaves such a file (and any security object
   * covering it) to the runner, after the key pairs exist.
   */
  readonly runtime?: (ctx: EncoderContext, content: ContentSpec, publicKeys: ReadonlyMap<string, PublicKeyInfo>) => Uint8Array;
}

const registry = new Map<string, Encoder>();

/**
 * Adds an encoder. A second encoder under a taken name is an error (a profile must mean one thing).
 *
 * @example registerEncoder({ name: 'licence.dg1', description: 'ISO 18013-2 DG1', encode: (ctx) => … })
 */
export function registerEncoder(e: Encoder): void {
  const seen = registry.get(e.name);
  if (seen !== undefined && seen !== e) throw new Error(`encoder "${e.name}" is already registered`);
  registry.set(e.name, e);
}

export function getEncoder(name: string): Encoder | undefined {
  return registry.get(name);
}

/** Every registered encoder, by name. */
export function encoders(): Encoder[] {
  return [...registry.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** A holder field by dotted path (`identity.dateOfBirth`), or undefined; an empty list counts as absent. */
export function holderField(root: unknown, path: string): unknown {
  let cur: unknown = root;
  for (const seg of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  if (Array.isArray(cur) && cur.length === 0) return undefined;
  return cur;
}

/** An error in data preparation for one holder: names the holder, the file and the field. */
export class PrepareError extends Error {
  override readonly name = 'PrepareError';
  constructor(
    readonly holderId: string,
    readonly where: string,
    readonly problem: string,
  ) {
    super(`holder ${holderId}: ${where}: ${problem}`);
  }
}

const utf8 = new TextEncoder();

function formatField(v: unknown, format: string, where: string, holderId: string): Uint8Array {
  if (v instanceof Uint8Array) return v;
  switch (format) {
    case 'date': {
      const s = String(v).replace(/-/g, '');
      if (!/^\d{8}$/.test(s)) throw new PrepareError(holderId, where, `expected a date, got ${JSON.stringify(v)}`);
      return utf8.encode(s);
    }
    case 'digits': {
      const s = String(v).replace(/\D/g, '');
      const padded = s.length % 2 === 1 ? `${s}F` : s;
      return hexToBytes(padded);
    }
    case 'join':
      return utf8.encode(Array.isArray(v) ? v.map(String).join('<') : String(v));
    default:
      if (typeof v === 'object') throw new PrepareError(holderId, where, 'is a structure, not a value; name one of its fields');
      return utf8.encode(String(v));
  }
}

interface TlvField {
  readonly tag: string;
  readonly holder: string;
  readonly format?: string;
}

function tlvOf(tag: number, fields: readonly TlvField[], source: unknown, ctx: EncoderContext, where: string): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of fields) {
    const v = holderField(source, f.holder);
    if (v === undefined) continue;
    parts.push(encodeTlv(parseInt(f.tag, 16), formatField(v, f.format ?? 'utf8', `${where} ${f.holder}`, ctx.holderId)));
  }
  return encodeTlv(tag, concatBytes(...parts));
}

const BUILT_INS: readonly Encoder[] = [
  {
    name: 'icao.com',
    description: 'EF.COM (ICAO 9303-10 §4.6.1): LDS version (ldsVersion, default 1.7) and Unicode version (unicodeVersion, default 4.0.0), the tags of the data groups present',
    check: (content) => {
      for (const [k, v] of Object.entries(content.args)) {
        if (k !== 'ldsVersion' && k !== 'unicodeVersion') return { key: k, message: 'not a key of the icao.com encoder', hint: 'ldsVersion, unicodeVersion' };
        // EF.COM codes the LDS version as 'aabb' and Unicode as 'aabbcc' (ICAO 9303-10 §4.6.1).
        const re = k === 'ldsVersion' ? /^\d{1,2}\.\d{1,2}$/ : /^\d{1,2}\.\d{1,2}\.\d{1,2}$/;
        if (typeof v !== 'string' || !re.test(v)) return { key: k, message: `got ${JSON.stringify(v)}`, hint: k === 'ldsVersion' ? 'like "1.7"' : 'like "4.0.0"' };
      }
      return undefined;
    },
    encode: (ctx, content) => {
      const dgs = [...ctx.present].map((n) => /^DG(\d{1,2})$/.exec(n)).flatMap((m) => (m ? [Number(m[1])] : [])).sort((a, b) => a - b);
      const a = content.args as { ldsVersion?: string; unicodeVersion?: string };
      return encodeEfCom({ ldsVersion: a.ldsVersion ?? '1.7', unicodeVersion: a.unicodeVersion ?? '4.0.0', dataGroups: dgs });
    },
  },
  { name: 'icao.dg1', description: 'DG1: the TD1 MRZ of identity and document', encode: (ctx) => encodeDg1({ mrz: holderMrz(ctx.holder) }) },
  {
    name: 'icao.dg2',
    description: 'DG2: the face as CBEFF + ISO/IEC 19794-5',
    encode: (ctx) => {
      if (ctx.holder.face === undefined) throw new PrepareError(ctx.holderId, `${ctx.application.name}/${ctx.file.name}`, 'the holder has no face image');
      return holderDg2(ctx.holder.face, ctx.holder.identity.sex);
    },
  },
  {
    name: 'icao.dg3',
    description: 'DG3: fingerprints as CBEFF + ISO/IEC 19794-2',
    encode: (ctx) => {
      if (ctx.holder.fingerprints.length === 0) throw new PrepareError(ctx.holderId, `${ctx.application.name}/${ctx.file.name}`, 'the holder has no fingerprints');
      return holderDg3(ctx.holder.fingerprints);
    },
  },
  { name: 'icao.dg11', description: 'DG11: additional personal details (names in both scripts, number, birth, address)', encode: (ctx) => encodeDg11(holderDg11(ctx.holder)) },
  { name: 'icao.dg12', description: 'DG12: issuing authority, date of issue, personalization time', encode: (ctx) => encodeDg12(holderDg12(ctx.holder, ctx.now)) },
  {
    name: 'tlv',
    description: 'a BER-TLV template: tag, fields [{ tag, holder, format }]; with each: LIST one per element',
    check: (content, file) => {
      const a = content.args;
      if (typeof a.tag !== 'string') return { key: 'tag', message: 'the tlv encoder needs tag (hex)' };
      if (!Array.isArray(a.fields)) return { key: 'fields', message: 'the tlv encoder needs fields' };
      if (a.each !== undefined && file.type === 'transparent') return { key: 'each', message: 'each makes one record per element', hint: 'use a record EF (type: linear-variable)' };
      for (const k of Object.keys(a)) if (!['tag', 'fields', 'each'].includes(k)) return { key: k, message: `not a key of the tlv encoder`, hint: 'tag, fields, each' };
      return undefined;
    },
    encode: (ctx, content) => {
      const a = content.args as { tag: string; fields: TlvField[]; each?: string };
      const tag = parseInt(a.tag, 16);
      const where = `${ctx.application.name}/${ctx.file.name}`;
      if (a.each === undefined) return tlvOf(tag, a.fields, ctx.holder, ctx, where);
      const list = holderField(ctx.holder, a.each);
      const items = Array.isArray(list) ? list : [];
      return items.map((item, i) => tlvOf(tag, a.fields, item, ctx, `${where} ${a.each}[${i}]`));
    },
  },
  {
    name: 'text',
    description: 'the UTF-8 text of one holder field (field)',
    check: (content) => (typeof content.args.field !== 'string' ? { key: 'field', message: 'the text encoder needs field (a holder field)' } : undefined),
    encode: (ctx, content) => {
      const path = content.args.field as string;
      const v = holderField(ctx.holder, path);
      if (v === undefined) throw new PrepareError(ctx.holderId, `${ctx.application.name}/${ctx.file.name}`, `holder field ${path} is missing`);
      return formatField(v, 'utf8', path, ctx.holderId);
    },
  },
  {
    name: 'static',
    description: 'fixed bytes (value, hex)',
    check: (content) => (typeof content.args.value !== 'string' ? { key: 'value', message: 'the static encoder needs value (hex)' } : undefined),
    encode: (_ctx, content) => hexToBytes(content.args.value as string),
  },
];

for (const e of BUILT_INS) registerEncoder(e);
