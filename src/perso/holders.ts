/**
 * Holder data in bulk: one holder document (YAML/JSON, `profiles/holder.schema.json`), a list of
 * them (a JSON array, multi-document YAML), JSON Lines (one document a line) or CSV (a header of
 * dotted document fields). JSON Lines and CSV are read as a stream — one line in memory at a time —
 * so 100,000 holders cost no more memory than ten.
 *
 * Each holder comes out as a {@link HolderRecord}: its position (`holders.csv:17`), its id (the
 * national ID number, `identity.idNumber`), and the validated holder or the problems that stop it.
 * A bad holder never stops the stream: the batch records it as failed and goes on.
 *
 * CSV: RFC 4180 (quotes, doubled quotes, line breaks inside quotes); the header names holder
 * document fields with dots (`identity.primaryIdentifier`, `document.number`,
 * `face.image.path`); a number segment indexes a list (`fingerprints.0.position`); `|` separates
 * list items in one cell (`identity.address`); empty cells are absent fields.
 *
 * @example
 * for await (const r of readHolders('holders.csv')) if (r.holder) prepareCard(profile, r.holder, …);
 */
import { createReadStream, readFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseAllDocuments } from 'yaml';
import { HolderError, formatHolderIssue, validateHolder, parseHolder } from '../holder/validate.js';
import type { Holder } from '../holder/types.js';

export interface HolderRecord {
  /** 0-based position in the input. */
  readonly index: number;
  /** `file:line` for messages. */
  readonly where: string;
  /** identity.idNumber when it could be read, else `#index`. */
  readonly id: string;
  readonly holder?: Holder;
  /** Why the holder cannot be used (one line per problem). */
  readonly error?: string;
}

export type HolderFormat = 'yaml' | 'json' | 'jsonl' | 'csv';

/** The format a file name implies. */
export function holderFormat(path: string): HolderFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.csv') return 'csv';
  if (ext === '.json') return 'json';
  return 'yaml';
}

function idOf(doc: unknown, index: number): string {
  const id = (doc as { identity?: { idNumber?: unknown } } | null)?.identity?.idNumber;
  return typeof id === 'string' && id !== '' ? id : `#${index + 1}`;
}

function record(index: number, where: string, doc: unknown, baseDir: string): HolderRecord {
  const id = idOf(doc, index);
  try {
    return { index, where, id, holder: validateHolder(doc, { baseDir }) };
  } catch (e) {
    if (e instanceof HolderError) return { index, where, id, error: e.issues.map((i) => `${where} ${formatHolderIssue(i)}`).join('\n') };
    throw e;
  }
}

const NUMERIC = new Set(['x', 'y', 'quality', 'imageWidth', 'imageHeight', 'resolution', 'angle']);

/** One CSV line's cells (RFC 4180); `open` tells whether a quoted cell continues on the next line. */
function csvCells(text: string): { cells: string[]; open: boolean } {
  const cells: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cur += '"';
          i++;
        } else quoted = false;
      } else cur += ch;
    } else if (ch === '"' && cur === '') quoted = true;
    else if (ch === ',') {
      cells.push(cur);
      cur = '';
    } else cur += ch;
  }
  cells.push(cur);
  return { cells, open: quoted };
}

/** A holder document from a CSV row under `header`. */
export function csvDocument(header: readonly string[], cells: readonly string[]): Record<string, unknown> {
  const doc: Record<string, unknown> = {};
  header.forEach((col, i) => {
    const raw = cells[i] ?? '';
    if (raw === '') return;
    const segs = col.split('.');
    let cur: Record<string, unknown> | unknown[] = doc;
    for (let s = 0; s < segs.length - 1; s++) {
      const seg = segs[s]!;
      const nextIsIndex = /^\d+$/.test(segs[s + 1]!);
      const key: string | number = Array.isArray(cur) ? Number(seg) : seg;
      const container = cur as Record<string | number, unknown>;
      container[key] ??= nextIsIndex ? [] : {};
      cur = container[key] as Record<string, unknown> | unknown[];
    }
    const last = segs[segs.length - 1]!;
    let value: unknown = raw;
    if (NUMERIC.has(last) && /^-?\d+(\.\d+)?$/.test(raw)) value = Number(raw);
    else if (col === 'identity.address' || last === 'restrictions') value = raw.split('|');
    (cur as Record<string | number, unknown>)[Array.isArray(cur) ? Number(last) : last] = value;
  });
  return doc;
}

async function* lines(path: string): AsyncIterable<{ text: string; line: number }> {
  const rl = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity, terminal: false });
  let n = 0;
  for await (const text of rl) yield { text, line: ++n };
}

/**
 * The holders of a file, in order, streamed for JSON Lines and CSV.
 *
 * @example for await (const r of readHolders('holders.jsonl')) console.log(r.id, r.error ?? 'ok')
 */
export async function* readHolders(path: string, format: HolderFormat = holderFormat(path)): AsyncIterable<HolderRecord> {
  const baseDir = dirname(resolve(path));
  if (format === 'jsonl') {
    let index = 0;
    for await (const { text, line } of lines(path)) {
      if (text.trim() === '') continue;
      const where = `${path}:${line}`;
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch (e) {
        yield { index, where, id: `#${index + 1}`, error: `${where}: not JSON (${e instanceof Error ? e.message : String(e)})` };
        index++;
        continue;
      }
      yield record(index++, where, doc, baseDir);
    }
    return;
  }
  if (format === 'csv') {
    let header: string[] | undefined;
    let index = 0;
    let pending = '';
    let startLine = 0;
    for await (const { text, line } of lines(path)) {
      const joined = pending === '' ? text : `${pending}\n${text}`;
      if (pending === '') startLine = line;
      const { cells, open } = csvCells(joined);
      if (open) {
        pending = joined;
        continue;
      }
      pending = '';
      if (header === undefined) {
        header = cells.map((c) => c.trim());
        continue;
      }
      if (cells.length === 1 && cells[0]!.trim() === '') continue;
      const where = `${path}:${startLine}`;
      yield record(index++, where, csvDocument(header, cells), baseDir);
    }
    return;
  }
  const text = readFileSync(path, 'utf8');
  if (format === 'json') {
    const doc: unknown = JSON.parse(text);
    const list = Array.isArray(doc) ? doc : [doc];
    for (const [i, d] of list.entries()) yield record(i, `${path}${Array.isArray(doc) ? `[${i}]` : ''}`, d, baseDir);
    return;
  }
  const docs = parseAllDocuments(text);
  const all = Array.isArray(docs) ? docs : [docs];
  if (all.length <= 1) {
    // One document: parsed with positions, so problems carry line numbers.
    try {
      const holder = parseHolder(text, { file: path });
      yield { index: 0, where: path, id: holder.identity.idNumber, holder };
    } catch (e) {
      if (!(e instanceof HolderError)) throw e;
      yield { index: 0, where: path, id: idOf(all[0]?.toJS(), 0), error: e.message };
    }
    return;
  }
  for (const [i, d] of all.entries()) yield record(i, `${path} (document ${i + 1})`, d.toJS(), baseDir);
}

/** Loads exactly one holder (the first of the file), throwing its problems. */
export async function loadOneHolder(path: string): Promise<Holder> {
  for await (const r of readHolders(path)) {
    if (r.holder !== undefined) return r.holder;
    throw new HolderError([{ path: '', message: r.error ?? 'unusable holder' }]);
  }
  throw new HolderError([{ file: path, path: '', message: 'no holder in the file' }]);
}
