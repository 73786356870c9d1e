/**
 * Problems in people's input (profiles, holder files, operator key files) with where they are:
 * `qatar-id.yaml:42 applications[1].files[3].size: expected a number of bytes, got "big" — hint`.
 * Also the YAML position finder shared by the profile loader.
 */
import { isMap, isNode, isPair, isScalar, type Document, type LineCounter } from 'yaml';

export interface InputIssue {
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  /** Field path: `applications[1].files[3].size`. */
  readonly path: string;
  readonly message: string;
  readonly hint?: string;
}

export function formatIssue(i: InputIssue): string {
  const where = i.file !== undefined ? `${i.file}${i.line !== undefined ? `:${i.line}` : ''} ` : i.line !== undefined ? `line ${i.line} ` : '';
  return `${where}${i.path === '' ? '(document)' : i.path}: ${i.message}${i.hint !== undefined ? ` — ${i.hint}` : ''}`;
}

/** A profile that cannot be used: every problem, one per line. */
export class ProfileError extends Error {
  override readonly name = 'ProfileError';
  constructor(readonly issues: readonly InputIssue[]) {
    super(issues.map(formatIssue).join('\n'));
  }
}

export type Segment = string | number;

export function pathText(p: readonly Segment[]): string {
  let s = '';
  for (const x of p) s += typeof x === 'number' ? `[${x}]` : s === '' ? x : `.${x}`;
  return s;
}

/** Line and column of a value (or of its key), or of the nearest parent that exists. */
export interface Locator {
  at(path: readonly Segment[], key?: boolean): { line?: number; column?: number };
}

export const NO_POSITIONS: Locator = { at: () => ({}) };

export function yamlLocator(doc: Document, lc: LineCounter): Locator {
  const pos = (offset: number): { line: number; column: number } => {
    const p = lc.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const nodeAt = (path: readonly Segment[]): unknown => (path.length === 0 ? doc.contents : doc.getIn(path, true));
  const keyAt = (path: readonly Segment[]): { line: number; column: number } | undefined => {
    if (path.length === 0) return undefined;
    const parent = nodeAt(path.slice(0, -1));
    if (!isMap(parent)) return undefined;
    const name = path[path.length - 1];
    const pair = parent.items.find((it) => isPair(it) && isScalar(it.key) && it.key.value === name);
    return pair !== undefined && isNode(pair.key) && pair.key.range ? pos(pair.key.range[0]) : undefined;
  };
  return {
    at(path, key = false) {
      if (key) {
        const k = keyAt(path);
        if (k !== undefined) return k;
      }
      const node = nodeAt(path);
      if (isNode(node) && node.range) return pos(node.range[0]);
      for (let n = path.length - 1; n >= 0; n--) {
        const above = nodeAt(path.slice(0, n));
        if (!isNode(above)) continue;
        const k = keyAt(path.slice(0, n));
        if (k !== undefined) return k;
        if (above.range) return pos(above.range[0]);
      }
      return {};
    },
  };
}

/** Short description of a value for messages (never long strings). */
export function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${String(v)}`;
}
