/**
 * Where a problem sits in a document people wrote (holder files, profiles): field paths as text
 * (`applications[1].files[3].size`) and the YAML line and column of a value, its key, or the nearest
 * parent that exists. Shared by every loader that reports `file:line field: problem`.
 */
import { isMap, isNode, isPair, isScalar, type Document, type LineCounter } from 'yaml';

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
