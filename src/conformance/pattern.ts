/**
 * Byte patterns of the vector formats: what a command is built from (literal bytes and `{NAME}`
 * references) and what a response is matched against (hex with `X` for any hex digit, `*` for any
 * run of whole bytes, `HH{N}` for N copies of a byte, `{NAME}` for a captured value), and
 * status-word patterns (`63CX`, `61XX`).
 *
 * Patterns are compiled once at parse time into value/mask byte arrays, so matching a response is
 * a loop over bytes — no strings, no regular expressions — which keeps replay fast.
 */
import { bytesToHex, concatBytes } from '../bytes/index.js';

/** A run of bytes compared under a mask (FF: the whole byte, F0/0F: one nibble, 00: anything). */
export interface MaskedBytes {
  readonly kind: 'bytes';
  readonly value: Uint8Array;
  readonly mask: Uint8Array;
}

/** One element of a pattern. */
export type PatternItem =
  | MaskedBytes
  /** `*`: any number of whole bytes, none included. */
  | { readonly kind: 'any' }
  /** `{NAME}`: the bytes of a captured or `let` value, resolved when the step runs. */
  | { readonly kind: 'ref'; readonly name: string };

/** A compiled response-data pattern, with the text it was written as (reports show that). */
export interface BytePattern {
  readonly items: readonly PatternItem[];
  readonly text: string;
}

/** A status-word pattern: `sw & mask === value`. */
export interface SwPattern {
  readonly value: number;
  readonly mask: number;
  readonly text: string;
}

/** A command template: literal bytes and `{NAME}` references (captures, `let` values, secrets). */
export type TemplatePart = { readonly kind: 'bytes'; readonly bytes: Uint8Array } | { readonly kind: 'ref'; readonly name: string };

export interface Template {
  readonly parts: readonly TemplatePart[];
  /** The bytes when the template has no references (the fast path: nothing to resolve). */
  readonly literal: Uint8Array | undefined;
}

/** A pattern or template that does not parse; `reason` names the offending text. */
export class PatternError extends Error {
  override readonly name = 'PatternError';
}

const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const HEX_DIGIT = /^[0-9A-Fa-f]$/;

/** True for a name usable in `{NAME}` and `capture NAME`. */
export function isName(s: string): boolean {
  return NAME.test(s);
}

/** White space is allowed between bytes, not inside `{…}`. */
function noSpaceInBraces(text: string): void {
  const m = /\{[^}]*\s[^}]*\}/.exec(text);
  if (m !== null) throw new PatternError(`"${text.trim()}": malformed reference "${m[0]}"; write {NAME} or HH{N} without spaces`);
}

/** Nibble value and mask of one pattern character (`X` = any digit). */
function nibble(c: string): { v: number; m: number } | undefined {
  if (c === 'X' || c === 'x') return { v: 0, m: 0 };
  if (HEX_DIGIT.test(c)) return { v: parseInt(c, 16), m: 0xf };
  return undefined;
}

/**
 * Parses response-data pattern text (white space ignored between bytes).
 *
 * @example parseBytePattern('60 14 5F XX * 9000'.slice(0, -5)) // items: bytes 60145F?? then any
 */
export function parseBytePattern(text: string): BytePattern {
  noSpaceInBraces(text);
  const items: PatternItem[] = [];
  let value: number[] = [];
  let mask: number[] = [];
  const flush = (): void => {
    if (value.length === 0) return;
    items.push({ kind: 'bytes', value: Uint8Array.from(value), mask: Uint8Array.from(mask) });
    value = [];
    mask = [];
  };
  const s = text.replace(/\s+/g, '');
  let lastByte: { v: number; m: number } | undefined;
  for (let i = 0; i < s.length; ) {
    const c = s[i]!;
    if (c === '*') {
      flush();
      items.push({ kind: 'any' });
      lastByte = undefined;
      i++;
      continue;
    }
    if (c === '{') {
      const close = s.indexOf('}', i);
      if (close < 0) throw new PatternError(`"${text.trim()}": "{" without "}"`);
      const inner = s.slice(i + 1, close);
      if (/^[0-9]{1,5}$/.test(inner)) {
        const n = Number(inner);
        if (lastByte === undefined) throw new PatternError(`"${text.trim()}": {${inner}} repeats the byte before it; write e.g. XX{${inner}} or 00{${inner}}`);
        if (n < 1 || n > 65536) throw new PatternError(`"${text.trim()}": repeat count ${n} outside 1..65536`);
        for (let k = 1; k < n; k++) {
          value.push(lastByte.v);
          mask.push(lastByte.m);
        }
        lastByte = undefined;
      } else if (NAME.test(inner)) {
        flush();
        items.push({ kind: 'ref', name: inner });
        lastByte = undefined;
      } else {
        throw new PatternError(`"${text.trim()}": {${inner}} is neither a repeat count nor a name (a letter or _, then letters, digits, _ or -)`);
      }
      i = close + 1;
      continue;
    }
    const hi = nibble(c);
    const lo = i + 1 < s.length ? nibble(s[i + 1]!) : undefined;
    if (hi === undefined) throw new PatternError(`"${text.trim()}": unexpected "${c}"; expected hex digits, X, * or {…}`);
    if (lo === undefined) throw new PatternError(`"${text.trim()}": odd number of hex digits (write whole bytes, e.g. 0X or XX)`);
    const b = { v: (hi.v << 4) | lo.v, m: (hi.m << 4) | lo.m };
    value.push(b.v);
    mask.push(b.m);
    lastByte = b;
    i += 2;
  }
  flush();
  return { items, text: text.trim().replace(/\s+/g, ' ') };
}

/** Parses `9000`, `63CX`, `61XX` (four hex digits or X). */
export function parseSwPattern(text: string): SwPattern {
  const t = text.replace(/\s+/g, '');
  if (!/^[0-9A-Fa-fXx]{4}$/.test(t)) throw new PatternError(`status word "${text.trim()}": expected four hex digits or X, e.g. 9000 or 63CX`);
  let value = 0;
  let mask = 0;
  for (const c of t) {
    const n = nibble(c)!;
    value = (value << 4) | n.v;
    mask = (mask << 4) | n.m;
  }
  return { value, mask, text: t.toUpperCase() };
}

/** True when `sw` matches one of `patterns` (an empty list accepts any status word). */
export function swMatches(patterns: readonly SwPattern[], sw: number): boolean {
  if (patterns.length === 0) return true;
  for (const p of patterns) if ((sw & p.mask) === p.value) return true;
  return false;
}

/** Names a pattern refers to. */
export function patternRefs(p: BytePattern): string[] {
  return p.items.flatMap((i) => (i.kind === 'ref' ? [i.name] : []));
}

/** `items` with references replaced by the exact bytes they stand for. */
function resolveItems(items: readonly PatternItem[], lookup: (name: string) => Uint8Array): (MaskedBytes | { kind: 'any' })[] {
  return items.map((i) => {
    if (i.kind !== 'ref') return i;
    const value = lookup(i.name);
    return { kind: 'bytes' as const, value, mask: new Uint8Array(value.length).fill(0xff) };
  });
}

function matchAt(items: readonly (MaskedBytes | { kind: 'any' })[], k: number, data: Uint8Array, pos: number): boolean {
  for (; k < items.length; k++) {
    const it = items[k]!;
    if (it.kind === 'any') {
      if (k === items.length - 1) return true;
      for (let p = pos; p <= data.length; p++) if (matchAt(items, k + 1, data, p)) return true;
      return false;
    }
    const n = it.value.length;
    if (pos + n > data.length) return false;
    const v = it.value;
    const m = it.mask;
    for (let j = 0; j < n; j++) if ((data[pos + j]! & m[j]!) !== v[j]) return false;
    pos += n;
  }
  return pos === data.length;
}

/**
 * True when `data` matches the pattern; references are looked up with `lookup` (which throws
 * when a name has no value).
 */
export function bytesMatch(p: BytePattern, data: Uint8Array, lookup: (name: string) => Uint8Array): boolean {
  const items = p.items;
  // Fast path: one run of bytes (the common exact or XX expectation).
  if (items.length === 1 && items[0]!.kind === 'bytes') return matchAt(items as readonly MaskedBytes[], 0, data, 0);
  if (items.length === 0) return data.length === 0;
  return matchAt(items.some((i) => i.kind === 'ref') ? resolveItems(items, lookup) : (items as readonly (MaskedBytes | { kind: 'any' })[]), 0, data, 0);
}

/**
 * Index of the first byte where `data` stops matching a pattern without `*` (for reports), or
 * `undefined` when the pattern has `*` or the data matches.
 */
export function firstMismatch(p: BytePattern, data: Uint8Array, lookup: (name: string) => Uint8Array): number | undefined {
  if (p.items.some((i) => i.kind === 'any')) return undefined;
  const items = resolveItems(p.items, lookup) as MaskedBytes[];
  let pos = 0;
  for (const it of items) {
    for (let j = 0; j < it.value.length; j++, pos++) {
      if (pos >= data.length || (data[pos]! & it.mask[j]!) !== it.value[j]) return pos;
    }
  }
  return pos < data.length ? pos : undefined;
}

/** Parses a command template: hex bytes (white space allowed), `HH{N}` repeats and `{NAME}` references. */
export function parseTemplate(text: string): Template {
  noSpaceInBraces(text);
  const parts: TemplatePart[] = [];
  const s = text.replace(/\s+/g, '');
  let hex = '';
  const flushHex = (): void => {
    if (hex.length === 0) return;
    if (hex.length % 2 !== 0) throw new PatternError(`"${text.trim()}": odd number of hex digits`);
    const bytes = new Uint8Array(hex.length / 2);
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    const prev = parts[parts.length - 1];
    if (prev?.kind === 'bytes') parts[parts.length - 1] = { kind: 'bytes', bytes: concatBytes(prev.bytes, bytes) };
    else parts.push({ kind: 'bytes', bytes });
    hex = '';
  };
  for (let i = 0; i < s.length; ) {
    const c = s[i]!;
    if (c === '{') {
      const close = s.indexOf('}', i);
      const inner = close < 0 ? '' : s.slice(i + 1, close);
      if (/^[0-9]{1,5}$/.test(inner)) {
        // HH{N}: N copies of the byte before it.
        const n = Number(inner);
        if (hex.length < 2 || hex.length % 2 !== 0) throw new PatternError(`"${text.trim()}": {${inner}} repeats the byte before it; write e.g. 00{${inner}}`);
        if (n < 1 || n > 65536) throw new PatternError(`"${text.trim()}": repeat count ${n} outside 1..65536`);
        hex += hex.slice(-2).repeat(n - 1);
        i = close + 1;
        continue;
      }
      if (close < 0 || !NAME.test(inner)) {
        throw new PatternError(`"${text.trim()}": malformed reference; write {NAME} (a letter or _, then letters, digits, _ or -)`);
      }
      flushHex();
      parts.push({ kind: 'ref', name: inner });
      i = close + 1;
      continue;
    }
    if (!HEX_DIGIT.test(c)) throw new PatternError(`"${text.trim()}": unexpected "${c}"; a command is hex bytes and {NAME} references`);
    hex += c;
    i++;
  }
  flushHex();
  const only = parts.length === 1 && parts[0]!.kind === 'bytes' ? parts[0]!.bytes : parts.length === 0 ? new Uint8Array(0) : undefined;
  return { parts, literal: only };
}

/** A template from literal bytes. */
export function literalTemplate(bytes: Uint8Array): Template {
  return { parts: [{ kind: 'bytes', bytes }], literal: bytes };
}

/** Names a template refers to. */
export function templateRefs(t: Template): string[] {
  return t.parts.flatMap((p) => (p.kind === 'ref' ? [p.name] : []));
}

/**
 * The bytes of a template and, per byte, whether it came from a reference in `secret` (reports
 * mask those).
 */
export function resolveTemplate(t: Template, lookup: (name: string) => Uint8Array, secret: (name: string) => boolean): { bytes: Uint8Array; masked: boolean[] | undefined } {
  if (t.literal !== undefined) return { bytes: t.literal, masked: undefined };
  const chunks: Uint8Array[] = [];
  let masked: boolean[] | undefined;
  let n = 0;
  for (const p of t.parts) {
    const b = p.kind === 'bytes' ? p.bytes : lookup(p.name);
    if (p.kind === 'ref' && secret(p.name)) {
      masked ??= [];
      for (let i = 0; i < b.length; i++) masked[n + i] = true;
    }
    chunks.push(b);
    n += b.length;
  }
  return { bytes: concatBytes(...chunks), masked };
}

/** The template as written (`00 82 00 00 08 {CRYPTOGRAM}`). */
export function formatTemplate(t: Template): string {
  return t.parts.map((p) => (p.kind === 'bytes' ? bytesToHex(p.bytes, ' ') : `{${p.name}}`)).join(' ');
}

/** A pattern that matches exactly `bytes`. */
export function exactPattern(bytes: Uint8Array): BytePattern {
  return { items: bytes.length === 0 ? [] : [{ kind: 'bytes', value: bytes, mask: new Uint8Array(bytes.length).fill(0xff) }], text: bytesToHex(bytes) };
}
