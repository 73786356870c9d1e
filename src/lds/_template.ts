/**
 * What every LDS file codec shares: opening the file's outer template strictly, the tag list
 * DO '5C', text as UTF-8, and the table-driven codec of the "list of optional elements" data
 * groups (DG11, DG12, ICAO 9303-10 §4.7.11–4.7.12).
 */
import { concatBytes } from '../bytes/index.js';
import { encodeTag, encodeTlv, parseTlv, tlvConstructed, TlvError, type Tlv } from '../tlv/ber.js';
import { LdsError } from './errors.js';

/** Parses a whole file as one object with tag `tag`; anything else is an {@link LdsError}. */
export function openTemplate(bytes: Uint8Array, tag: number, what: string): Tlv {
  let t: Tlv;
  try {
    t = parseTlv(bytes);
  } catch (e) {
    if (e instanceof TlvError) throw new LdsError(`${what}: not one BER-TLV object (${e.message})`);
    throw e;
  }
  if (t.tag !== tag) throw new LdsError(`${what}: outer tag ${t.tag.toString(16).toUpperCase()} is not ${tag.toString(16).toUpperCase()}`);
  if (t.children === undefined) throw new LdsError(`${what}: the template is not constructed`);
  return t;
}

const decoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** UTF-8 (ICAO 9303-10 §4.7: "UTF-8" for DG11/DG12 text); invalid sequences are an error, not U+FFFD. */
export function utf8(bytes: Uint8Array, what: string): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new LdsError(`${what}: not valid UTF-8`);
  }
}

export function toUtf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Decodes a tag list (DO 5C value): concatenated BER tags. */
export function parseTagList(value: Uint8Array, what: string): number[] {
  const tags: number[] = [];
  let i = 0;
  while (i < value.length) {
    let tag = value[i++]!;
    if ((tag & 0x1f) === 0x1f) {
      do {
        if (i >= value.length) throw new LdsError(`${what}: tag list ends inside a tag`);
        tag = (tag << 8) | value[i]!;
      } while ((value[i++]! & 0x80) !== 0 && tag <= 0xffff);
    }
    tags.push(tag);
  }
  return tags;
}

export function encodeTagList(tags: readonly number[]): Uint8Array {
  return encodeTlv(0x5c, concatBytes(...tags.map(encodeTag)));
}

/** How one element of an optional-elements data group is stored. */
export type ElementKind =
  /** UTF-8 text. */
  | { readonly kind: 'text' }
  /** Digits of a fixed length (dates YYYYMMDD, date-times YYYYMMDDhhmmss). */
  | { readonly kind: 'digits'; readonly length: number }
  /** Bytes (images). */
  | { readonly kind: 'bytes' }
  /** A repeated element inside `A0 { 02 count, tag … }` (other names, other persons). */
  | { readonly kind: 'list' };

export interface ElementSpec<K extends string> {
  readonly key: K;
  readonly tag: number;
  readonly type: ElementKind;
}

type Value = string | Uint8Array | readonly string[];

/**
 * Encodes `template { 5C tag list, elements in spec order }`. Absent keys are left out; list
 * elements are listed in 5C by their element tag (as JMRTD and most issuers do).
 */
export function encodeElements<K extends string>(
  tag: number,
  specs: readonly ElementSpec<K>[],
  values: Partial<Record<K, Value>>,
  what: string,
): Uint8Array {
  const tags: number[] = [];
  const parts: Uint8Array[] = [];
  for (const s of specs) {
    const v = values[s.key];
    if (v === undefined) continue;
    const field = `${what} ${s.key}`;
    switch (s.type.kind) {
      case 'text':
        if (typeof v !== 'string') throw new LdsError(`${field}: expected text`);
        parts.push(encodeTlv(s.tag, toUtf8(v)));
        break;
      case 'digits':
        if (typeof v !== 'string' || !new RegExp(`^\\d{${s.type.length}}$`).test(v)) {
          throw new LdsError(`${field}: expected ${s.type.length} digits, got ${JSON.stringify(v)}`);
        }
        parts.push(encodeTlv(s.tag, toUtf8(v)));
        break;
      case 'bytes':
        if (!(v instanceof Uint8Array)) throw new LdsError(`${field}: expected bytes`);
        parts.push(encodeTlv(s.tag, v));
        break;
      case 'list': {
        if (!Array.isArray(v)) throw new LdsError(`${field}: expected a list of text`);
        const list = v as readonly string[];
        if (list.length > 255) throw new LdsError(`${field}: at most 255 entries`);
        parts.push(tlvConstructed(0xa0, encodeTlv(0x02, new Uint8Array([list.length])), ...list.map((x) => encodeTlv(s.tag, toUtf8(x)))));
        break;
      }
    }
    tags.push(s.tag);
  }
  return tlvConstructed(tag, encodeTagList(tags), ...parts);
}

/**
 * Decodes an optional-elements template: every element must be known, appear once and be in
 * the tag list, and the tag list must name nothing absent.
 */
export function decodeElements<K extends string>(
  bytes: Uint8Array,
  tag: number,
  specs: readonly ElementSpec<K>[],
  what: string,
): Partial<Record<K, Value>> {
  const t = openTemplate(bytes, tag, what);
  const kids = t.children!;
  const list = kids[0];
  if (list === undefined || list.tag !== 0x5c) throw new LdsError(`${what}: the tag list (5C) must come first`);
  const listed = parseTagList(list.value, what);
  const out: Partial<Record<K, Value>> = {};
  const seen = new Set<number>();
  for (const k of kids.slice(1)) {
    let spec: ElementSpec<K> | undefined;
    let value: Value;
    if (k.tag === 0xa0) {
      const inner = k.children ?? [];
      const count = inner[0];
      if (count === undefined || count.tag !== 0x02 || count.value.length !== 1) throw new LdsError(`${what}: A0 must start with the count DO 02`);
      const items = inner.slice(1);
      spec = specs.find((s) => s.type.kind === 'list' && items.every((x) => x.tag === s.tag));
      if (spec === undefined) throw new LdsError(`${what}: A0 holds elements this data group does not define`);
      if (items.length !== count.value[0]) throw new LdsError(`${what} ${spec.key}: count ${count.value[0]} but ${items.length} entries`);
      value = items.map((x) => utf8(x.value, `${what} ${spec!.key}`));
    } else {
      spec = specs.find((s) => s.tag === k.tag && s.type.kind !== 'list');
      if (spec === undefined) throw new LdsError(`${what}: DO ${k.tag.toString(16).toUpperCase()} is not an element of this data group`);
      const field = `${what} ${spec.key}`;
      if (spec.type.kind === 'bytes') value = k.value.slice();
      else {
        const s = utf8(k.value, field);
        if (spec.type.kind === 'digits' && !new RegExp(`^\\d{${spec.type.length}}$`).test(s)) {
          throw new LdsError(`${field}: expected ${spec.type.length} digits`);
        }
        value = s;
      }
    }
    if (seen.has(spec.tag)) throw new LdsError(`${what}: ${spec.key} appears twice`);
    seen.add(spec.tag);
    if (!listed.includes(spec.tag)) throw new LdsError(`${what}: ${spec.key} (${spec.tag.toString(16).toUpperCase()}) is present but not in the tag list`);
    out[spec.key] = value;
  }
  for (const l of listed) {
    if (!seen.has(l)) throw new LdsError(`${what}: the tag list names ${l.toString(16).toUpperCase()}, which is not present`);
  }
  return out;
}
