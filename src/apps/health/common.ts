/**
 * What the signed applications of the multi-application card share — health insurance, driving
 * licence, finances and e-services: a file layout entry, the record templates (BER-TLV inside a
 * record), reading whole files (transparent or all records) and passive
 * authentication over them.
 *
 * It lives in the health application's folder because that application came first; the others
 * import it from here (it belongs in `src/apps/` once that folder has a home for shared code).
 *
 * Signed storage: every application keeps an EF.SOD (`lds/sod.ts`, an LDSSecurityObject in CMS
 * SignedData) over its data files, numbered like data groups. The bytes hashed for a record EF
 * are its records as stored, concatenated in record order — every record is one BER-TLV object
 * (or the one byte 00 of an empty slot), so the concatenation is unambiguous and is exactly what
 * a reader gets back by reading records 1, 2, … until 6A83.
 *
 * @example
 * const bytes = recordFileBytes([r1, r2]);               // what EF.SOD hashes
 * const data = await readAppFile(sm, spec, 0xdf);         // what a reader gets back
 */
import { SW } from '../../apdu/status.js';
import { encodeCommandApdu } from '../../apdu/command.js';
import { parseResponseApdu } from '../../apdu/response.js';
import { INS } from '../../apdu/ins.js';
import { bytesToHex, concatBytes, readUintBE } from '../../bytes/index.js';
import { formatCondition, type AccessRules, type Condition } from '../../card/security/access.js';
import { encodeTag, encodeTlv, parseTlv, TlvError, type Tlv } from '../../tlv/ber.js';
import { verifySod, type FileCheck, type PassiveAuthReport } from '../../lds/passive-auth.js';
import type { Transport } from '../../transport/types.js';
import { ReadRefused, readFileBySfi } from '../identity/reader.js';

// --- layout ------------------------------------------------------------------------------------------

/** One file of an application's layout: what the README table shows and what install creates. */
export interface AppFileSpec {
  /** 'EF.INSURANCE', 'DG1', 'EF.SOD' … */
  readonly name: string;
  readonly fid: number;
  readonly sfi: number;
  readonly structure: 'transparent' | 'linear-variable';
  /** Record EFs: the longest record (≤ 255, what the card image and the FCP allow). */
  readonly recordSize?: number;
  /** Record EFs: how many records (slots) the EF holds. */
  readonly maxRecords?: number;
  /** Who may do what (a file that needs PACE says so in its rules: `PACE AND SM`). */
  readonly rules: AccessRules;
  /** To be kept encrypted at rest (AES-GCM under the card's storage key), issue 4. */
  readonly encrypted: boolean;
  /** Its number in the application's EF.SOD (undefined for EF.SOD itself). */
  readonly dataGroup?: number;
}

/** A condition as the layout tables write it: "PACE AND SM", without the outer parentheses. */
function topLevel(c: Condition): string {
  const text = formatCondition(c);
  return c.kind === 'and' || c.kind === 'or' ? text.slice(1, -1) : text;
}

/** One row of a layout as Markdown (for the README). */
export function layoutMarkdown(files: readonly AppFileSpec[]): string {
  const h = (n: number, w: number): string => n.toString(16).toUpperCase().padStart(w, '0');
  const rows = files.map((f) => {
    const ops = Object.entries(f.rules)
      .map(([op, c]) => `${op} ${topLevel(c!)}`)
      .join('; ');
    const structure = f.structure === 'transparent' ? 'transparent' : `linear variable, ${f.maxRecords} × ≤ ${f.recordSize} B`;
    return `| ${f.name} | ${h(f.fid, 4)} | ${h(f.sfi, 2)} | ${structure} | ${ops} | ${f.encrypted ? 'yes' : 'no'} |`;
  });
  return ['| file | FID | SFI | structure | access | encrypted |', '|---|---|---|---|---|---|', ...rows].join('\n') + '\n';
}

// --- data errors -------------------------------------------------------------------------------------

/** Data that does not fit its format (encoding) or does not decode; the message names the field. */
export class AppDataError extends Error {
  override readonly name = 'AppDataError';
}

// --- record templates ----------------------------------------------------------------------------------

/** How one element of a record template is stored. */
export type FieldKind =
  /** UTF-8 text, 1..max bytes. */
  | { readonly kind: 'text' }
  /** A calendar date YYYY-MM-DD stored as the 8 digits YYYYMMDD (as DG11/DG12 store dates). */
  | { readonly kind: 'date' }
  /** One byte naming one of `values` (1 = the first). */
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  /** An unsigned integer of `length` bytes. */
  | { readonly kind: 'uint'; readonly length: 1 | 2 };

export interface FieldSpec<K extends string> {
  readonly key: K;
  readonly tag: number;
  readonly type: FieldKind;
  readonly optional?: boolean;
}

/** A new empty-slot record: one byte 00 (ISO/IEC 7816-4 §6.3: 00 is padding, never a tag). */
export function emptyRecord(): Uint8Array {
  return new Uint8Array([0x00]);
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** A real calendar date (1900–9999), as the holder model writes dates. */
function isDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (m === null) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  return y >= 1900 && t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}

function encodeField<K extends string>(spec: FieldSpec<K>, value: unknown, what: string): Uint8Array {
  const where = `${what} ${spec.key}`;
  switch (spec.type.kind) {
    case 'text': {
      if (typeof value !== 'string' || value.length === 0) throw new AppDataError(`${where}: expected non-empty text`);
      return encodeTlv(spec.tag, utf8Encoder.encode(value));
    }
    case 'date': {
      if (typeof value !== 'string' || !isDate(value)) throw new AppDataError(`${where}: expected a date YYYY-MM-DD, got ${JSON.stringify(value)}`);
      return encodeTlv(spec.tag, utf8Encoder.encode(value.replace(/-/g, '')));
    }
    case 'enum': {
      const i = spec.type.values.indexOf(value as string);
      if (i < 0) throw new AppDataError(`${where}: expected one of ${spec.type.values.join(', ')}, got ${JSON.stringify(value)}`);
      return encodeTlv(spec.tag, new Uint8Array([i + 1]));
    }
    case 'uint': {
      const max = spec.type.length === 1 ? 0xff : 0xffff;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) throw new AppDataError(`${where}: expected 0..${max}, got ${String(value)}`);
      return encodeTlv(spec.tag, spec.type.length === 1 ? new Uint8Array([value]) : new Uint8Array([value >>> 8, value & 0xff]));
    }
  }
}

function decodeField<K extends string>(spec: FieldSpec<K>, t: Tlv, what: string): string | number {
  const where = `${what} ${spec.key} (${bytesToHex(encodeTag(spec.tag))})`;
  switch (spec.type.kind) {
    case 'text': {
      if (t.value.length === 0) throw new AppDataError(`${where}: empty`);
      try {
        return utf8Decoder.decode(t.value);
      } catch {
        throw new AppDataError(`${where}: not valid UTF-8`);
      }
    }
    case 'date': {
      const s = String.fromCharCode(...t.value);
      const iso = `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}`;
      if (!/^\d{8}$/.test(s) || !isDate(iso)) throw new AppDataError(`${where}: expected the 8 digits of a date YYYYMMDD`);
      return iso;
    }
    case 'enum': {
      const v = t.value.length === 1 ? spec.type.values[t.value[0]! - 1] : undefined;
      if (v === undefined) throw new AppDataError(`${where}: expected one byte 01..${spec.type.values.length.toString(16).padStart(2, '0')}`);
      return v;
    }
    case 'uint': {
      if (t.value.length !== spec.type.length) throw new AppDataError(`${where}: expected ${spec.type.length} byte(s), got ${t.value.length}`);
      return readUintBE(t.value);
    }
  }
}

/**
 * Encodes a record template `tag { field … }`: fields in `specs` order, optional ones only when
 * present. Canonical, so `encodeTemplate(decodeTemplate(b)) === b` for what this wrote.
 */
export function encodeTemplate<K extends string>(tag: number, specs: readonly FieldSpec<K>[], value: Readonly<Partial<Record<K, unknown>>>, what: string): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const s of specs) {
    const v = value[s.key];
    if (v === undefined) {
      if (s.optional === true) continue;
      throw new AppDataError(`${what} ${s.key}: required`);
    }
    parts.push(encodeField(s, v, what));
  }
  return encodeTlv(tag, concatBytes(...parts));
}

/**
 * Decodes a record template strictly: one BER-TLV object with tag `tag`, only the fields of
 * `specs`, each at most once, the required ones present. Anything else is an {@link AppDataError}.
 */
export function decodeTemplate<K extends string>(bytes: Uint8Array, tag: number, specs: readonly FieldSpec<K>[], what: string): Partial<Record<K, string | number>> {
  let t: Tlv;
  try {
    t = parseTlv(bytes);
  } catch (e) {
    if (e instanceof TlvError) throw new AppDataError(`${what}: not one BER-TLV object (${e.message})`);
    throw e;
  }
  if (t.tag !== tag) throw new AppDataError(`${what}: template tag ${bytesToHex(encodeTag(t.tag))} is not ${bytesToHex(encodeTag(tag))}`);
  if (t.children === undefined) throw new AppDataError(`${what}: the template is not constructed`);
  const out: Partial<Record<K, string | number>> = {};
  const seen = new Set<number>();
  for (const c of t.children) {
    const s = specs.find((x) => x.tag === c.tag);
    if (s === undefined) throw new AppDataError(`${what}: unexpected data object ${bytesToHex(encodeTag(c.tag))}`);
    if (seen.has(c.tag)) throw new AppDataError(`${what}: ${s.key} (${bytesToHex(encodeTag(c.tag))}) appears twice`);
    seen.add(c.tag);
    out[s.key] = decodeField(s, c, what);
  }
  for (const s of specs) if (s.optional !== true && out[s.key] === undefined) throw new AppDataError(`${what}: ${s.key} (${bytesToHex(encodeTag(s.tag))}) is missing`);
  return out;
}

/** True for the one-byte empty slot record. */
export function isEmptyRecord(r: Uint8Array): boolean {
  return r.length === 1 && r[0] === 0x00;
}

/**
 * A record encoded for `file`, checked to fit one record of it (at most its record length,
 * ISO/IEC 7816-4 §7.3.1; 255 here, the card image's and a short READ RECORD's limit). When it does
 * not, the {@link AppDataError} names the holder field path and lists the text fields by their size
 * in UTF-8, largest first — what to shorten. The holder schema's maxima fit for two-byte
 * characters (`holder/schema.ts` RECORD_TEXT_MAX); this catches the rest.
 *
 * @example fitRecord(encodeDependantRecord(d), EF_DEPENDANTS, `healthInsurance.dependants[${i}]`, DEPENDANT, d)
 */
export function fitRecord<K extends string>(
  record: Uint8Array,
  file: AppFileSpec,
  path: string,
  specs: readonly FieldSpec<K>[],
  value: Readonly<Partial<Record<K, unknown>>>,
): Uint8Array {
  const size = file.recordSize ?? 0;
  if (record.length <= size) return record;
  const texts = specs
    .filter((s) => s.type.kind === 'text' && typeof value[s.key] === 'string')
    .map((s) => {
      const v = value[s.key] as string;
      return { key: s.key, bytes: utf8Encoder.encode(v).length, chars: [...v].length };
    })
    .sort((a, b) => b.bytes - a.bytes);
  const list = texts.map((t) => `${path}.${t.key} ${t.bytes} bytes (${t.chars} characters)`).join(', ');
  throw new AppDataError(
    `${path}: the record takes ${record.length} bytes, a record of ${file.name} holds ${size} — ${list} in UTF-8; shorten ${path}.${texts[0]?.key ?? 'its text'} by ${record.length - size} bytes or more`,
  );
}

/** Checks that every record fits the EF (1..recordSize bytes) before anything is written. */
export function checkRecords(spec: AppFileSpec, records: readonly Uint8Array[]): void {
  const size = spec.recordSize ?? 0;
  const max = spec.maxRecords ?? 0;
  if (records.length > max) throw new AppDataError(`${spec.name}: ${records.length} records, the EF holds ${max}`);
  records.forEach((r, i) => {
    if (r.length < 1 || r.length > size) {
      throw new AppDataError(`${spec.name} record ${i + 1}: ${r.length} bytes, a record of this EF holds 1..${size} (shorten the longest text)`);
    }
  });
}

/** What EF.SOD hashes for a record EF: its records as stored, concatenated in record order. */
export function recordFileBytes(records: readonly Uint8Array[]): Uint8Array {
  return concatBytes(...records);
}

function tlvSize(b: Uint8Array, at: number, what: string): number {
  let i = at + 1;
  if ((b[at]! & 0x1f) === 0x1f) {
    while (i < b.length && (b[i]! & 0x80) !== 0) i++;
    i++;
  }
  if (i >= b.length) throw new AppDataError(`${what}: the object at byte ${at} ends in its header`);
  const l0 = b[i]!;
  if (l0 < 0x80) return i + 1 + l0 - at;
  const n = l0 & 0x7f;
  if (n === 0 || n > 3 || i + 1 + n > b.length) throw new AppDataError(`${what}: the object at byte ${at} has a bad length`);
  return i + 1 + n + readUintBE(b, i + 1, n) - at;
}

// --- reading -------------------------------------------------------------------------------------------

async function send(t: Transport, apdu: Uint8Array): Promise<{ data: Uint8Array; sw: number }> {
  return parseResponseApdu(await t.transmit(apdu));
}

/** SELECT an application by AID (P2 0C: no answer data); returns the status word. */
export async function selectApplication(t: Transport, aid: Uint8Array): Promise<number> {
  return (await send(t, encodeCommandApdu({ ins: INS.SELECT, p1: 0x04, p2: 0x0c, data: aid }))).sw;
}

/**
 * Every record of the record EF with short identifier `sfi`: READ RECORD 1, 2, … (P2 = SFI, b3–b1
 * 100) until 6A83. Any other status throws {@link ReadRefused} with it.
 *
 * @example const records = await readAllRecords(sm, 0x02);
 */
export async function readAllRecords(t: Transport, sfi: number, max = 254): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (let n = 1; n <= max; n++) {
    const r = await send(t, encodeCommandApdu({ ins: INS.READ_RECORDS, p1: n, p2: (sfi << 3) | 0x04, ne: 256 }));
    if (r.sw === SW.RECORD_NOT_FOUND) break;
    if (r.sw !== 0x9000) throw new ReadRefused(r.sw);
    out.push(r.data.slice());
  }
  return out;
}

/**
 * Reads one file of a layout whole: a transparent EF by SFI (its one BER-TLV object,
 * `readFileBySfi`), a record EF as all its records. Refusals throw {@link ReadRefused}.
 */
export async function readAppFile(t: Transport, spec: AppFileSpec, chunk: number): Promise<{ bytes: Uint8Array; records?: Uint8Array[] }> {
  if (spec.structure === 'transparent') return { bytes: await readFileBySfi(t, spec.sfi, chunk) };
  const records = await readAllRecords(t, spec.sfi, spec.maxRecords ?? 254);
  return { bytes: recordFileBytes(records), records };
}

/**
 * Reads a transparent EF by file identifier (SELECT 00 A4 02 0C, then READ BINARY at offsets),
 * as long as its BER-TLV object says. For EFs outside the SFI range.
 */
export async function readTransparentByFid(t: Transport, fid: number, chunk: number): Promise<Uint8Array> {
  const sel = await send(t, encodeCommandApdu({ ins: INS.SELECT, p1: 0x02, p2: 0x0c, data: new Uint8Array([fid >>> 8, fid & 0xff]) }));
  if (sel.sw !== 0x9000) throw new ReadRefused(sel.sw);
  const parts: Uint8Array[] = [];
  let got = 0;
  let total: number | undefined;
  for (;;) {
    const want = total === undefined ? chunk : Math.min(chunk, total - got);
    if (want <= 0 || got > 0x7fff) break;
    const r = await send(t, encodeCommandApdu({ ins: INS.READ_BINARY, p1: got >>> 8, p2: got & 0xff, ne: want }));
    if (r.sw !== 0x9000 && r.sw !== 0x6282) throw new ReadRefused(r.sw);
    if (r.data.length === 0) break;
    parts.push(r.data);
    got += r.data.length;
    if (total === undefined) {
      const head = concatBytes(...parts);
      total = got >= 2 ? objectSize(head) : undefined;
      if (total === undefined) break;
    }
    if (got >= total) break;
  }
  const all = concatBytes(...parts);
  return total === undefined ? all : all.subarray(0, Math.min(all.length, total));
}

function objectSize(head: Uint8Array): number | undefined {
  try {
    return tlvSize(head, 0, 'EF');
  } catch {
    return undefined;
  }
}

// --- results -------------------------------------------------------------------------------------------

export type AppFileStatus = 'read' | 'refused' | 'absent' | 'error';

/** One file a reader tried, with what passive authentication (or another check) said about it. */
export interface AppFileRead {
  readonly name: string;
  readonly fid: number;
  readonly status: AppFileStatus;
  readonly sw?: number;
  readonly length?: number;
  /** valid / invalid / not-checked (never omitted for a file that was read). */
  readonly verdict?: 'valid' | 'invalid' | 'not-checked';
  readonly detail?: string;
}

/** Tries to read a file; a refusal becomes a log entry, not an exception. */
export async function tryRead(
  spec: { readonly name: string; readonly fid: number },
  read: () => Promise<{ bytes: Uint8Array; records?: Uint8Array[] }>,
  log: AppFileRead[],
): Promise<{ bytes: Uint8Array; records?: Uint8Array[] } | undefined> {
  try {
    const r = await read();
    log.push({ name: spec.name, fid: spec.fid, status: 'read', length: r.bytes.length });
    return r;
  } catch (e) {
    if (!(e instanceof ReadRefused)) throw e;
    const status: AppFileStatus = e.sw === SW.SECURITY_STATUS_NOT_SATISFIED ? 'refused' : e.sw === SW.FILE_NOT_FOUND ? 'absent' : 'error';
    const detail = status === 'refused' ? 'security status not satisfied' : status === 'absent' ? 'not on this card' : e.message;
    log.push({ name: spec.name, fid: spec.fid, status, sw: e.sw, detail });
    return undefined;
  }
}

/**
 * Passive authentication of an application's files: `files` maps the EF.SOD number of each file
 * read to its bytes as read; the report's file entries carry the layout's names ("EF.INSURANCE"
 * rather than "DG1").
 */
export function verifyAppSod(
  sod: Uint8Array | undefined,
  files: ReadonlyMap<number, Uint8Array>,
  layout: readonly AppFileSpec[],
  cscas: readonly Uint8Array[],
  now: Date,
): PassiveAuthReport {
  const report = verifySod(sod ?? new Uint8Array(0), files, cscas, now);
  const name = (n: number): string => layout.find((f) => f.dataGroup === n)?.name ?? `file ${n}`;
  return { ...report, files: report.files.map((f): FileCheck => ({ ...f, name: name(f.dataGroup) })) };
}

/** The verdict EF.SOD itself earns: structure, signature, chain and validity together. */
export function sodVerdict(report: PassiveAuthReport): { verdict: 'valid' | 'invalid' | 'not-checked'; detail: string } {
  const checks = [report.structure, report.signature, report.chain, report.validity];
  const bad = checks.find((c) => c.verdict === 'invalid');
  if (bad !== undefined) return { verdict: 'invalid', detail: bad.detail };
  const open = checks.find((c) => c.verdict !== 'valid');
  if (open !== undefined) return { verdict: 'not-checked', detail: open.detail };
  return { verdict: 'valid', detail: `${report.signature.detail}; ${report.chain.detail}` };
}

/**
 * The file log with each file's verdict merged in: EF.SOD gets its own (signature, chain,
 * validity); a data file gets its hash comparison, lowered to what EF.SOD itself earns — a hash
 * that matches an unsigned or unanchored EF.SOD vouches for nothing more. Another file's
 * mismatch never changes a file's verdict.
 */
export function withVerdicts(log: readonly AppFileRead[], report: PassiveAuthReport | undefined, layout: readonly AppFileSpec[]): AppFileRead[] {
  return log.map((f) => {
    if (f.status !== 'read') return f;
    if (report === undefined) return { ...f, verdict: 'not-checked', detail: 'no passive authentication' };
    const sod = sodVerdict(report);
    const spec = layout.find((s) => s.fid === f.fid);
    if (f.name === 'EF.SOD') return { ...f, verdict: sod.verdict, detail: sod.detail };
    if (spec?.dataGroup === undefined) return { ...f, verdict: 'not-checked', detail: f.name === 'EF.COM' ? 'not covered by EF.SOD (ICAO 9303-10 §4.6.1)' : 'not covered by EF.SOD' };
    const check = report.files.find((c) => c.dataGroup === spec.dataGroup);
    if (check === undefined) return { ...f, verdict: 'not-checked', detail: 'not covered by EF.SOD' };
    if (check.verdict !== 'valid' || sod.verdict === 'valid') return { ...f, verdict: check.verdict, detail: check.detail };
    return { ...f, verdict: sod.verdict, detail: `${check.detail}, but EF.SOD: ${sod.detail}` };
  });
}

/** Options every application reader takes. */
export interface AppReadOptions {
  /** CSCA (and other trust-anchor) certificates, DER; none → chains "not checked". */
  readonly cscas?: readonly Uint8Array[];
  /** Time for certificate validity (default now). */
  readonly now?: Date;
  /** Bytes per READ BINARY (default 223, which fits a short APDU under SM). */
  readonly chunkSize?: number;
}

/** What reading one application gives, whatever the application. */
export interface AppReadResult<S> {
  /** 'health', 'licence', 'finance', 'e-services'. */
  readonly application: string;
  readonly aid: Uint8Array;
  /** Status word of SELECT: 9000 when the application is there (6A82: not on this card). */
  readonly selectSw: number;
  /** Every file attempted, in order, with its verdict. */
  readonly files: readonly AppFileRead[];
  readonly passiveAuth?: PassiveAuthReport;
  /** The holder-model section decoded from what was read, when it decoded. */
  readonly section?: S;
  /** Files that did not decode. */
  readonly problems: readonly { readonly file: string; readonly message: string }[];
}

/** A problem entry from a decoding error (other errors are bugs and propagate). */
export function problemOf(file: string, e: unknown): { file: string; message: string } {
  if (e instanceof AppDataError || (e instanceof Error && e.name === 'LdsError')) return { file, message: e.message };
  throw e;
}

/** What {@link readRecordPairApplication} needs: two record EFs decoded together, and their EF.SOD. */
export interface RecordPairApplication<S, A extends string, B extends string> {
  readonly application: string;
  readonly aid: Uint8Array;
  /** The raw-output name and layout of each record EF (both covered by EF.SOD by data group number). */
  readonly first: readonly [A, AppFileSpec];
  readonly second: readonly [B, AppFileSpec];
  readonly sod: AppFileSpec;
  readonly layout: readonly AppFileSpec[];
  /** Holder-model section from both files' records; throws AppDataError/LdsError for bad data. */
  readonly decode: (first: readonly Uint8Array[], second: readonly Uint8Array[]) => S;
}

export type RecordPairReadResult<S, A extends string, B extends string> = AppReadResult<S> & {
  /** The records and EF.SOD as read. */
  readonly raw: { readonly [K in A | B]?: readonly Uint8Array[] } & { readonly sod?: Uint8Array };
};

/**
 * SELECT by AID, every record of both record EFs, EF.SOD; the section decoded from the records,
 * passive authentication over the records as read (each file's bytes are its records
 * concatenated, as the issuer hashed them). Refused or absent files are reported, never fatal.
 * The reading of the health and finance applications.
 */
export async function readRecordPairApplication<S, A extends string, B extends string>(
  t: Transport,
  app: RecordPairApplication<S, A, B>,
  opts: AppReadOptions,
): Promise<RecordPairReadResult<S, A, B>> {
  const chunk = opts.chunkSize ?? 0xdf;
  const selectSw = await selectApplication(t, app.aid);
  if (selectSw !== 0x9000) return { application: app.application, aid: app.aid, selectSw, files: [], problems: [], raw: {} };
  const [aName, aSpec] = app.first;
  const [bName, bSpec] = app.second;
  const log: AppFileRead[] = [];
  const a = await tryRead(aSpec, () => readAppFile(t, aSpec, chunk), log);
  const b = await tryRead(bSpec, () => readAppFile(t, bSpec, chunk), log);
  const sod = await tryRead(app.sod, () => readAppFile(t, app.sod, chunk), log);
  const problems: { file: string; message: string }[] = [];
  let section: S | undefined;
  if (a?.records !== undefined && b?.records !== undefined) {
    try {
      section = app.decode(a.records, b.records);
    } catch (e) {
      problems.push(problemOf(`${aSpec.name}/${bSpec.name}`, e));
    }
  }
  const hashed = new Map<number, Uint8Array>();
  if (a !== undefined) hashed.set(aSpec.dataGroup!, a.bytes);
  if (b !== undefined) hashed.set(bSpec.dataGroup!, b.bytes);
  const passiveAuth = sod === undefined && hashed.size === 0 ? undefined : verifyAppSod(sod?.bytes, hashed, app.layout, opts.cscas ?? [], opts.now ?? new Date());
  const raw: Record<string, unknown> = {};
  if (a?.records !== undefined) raw[aName] = a.records;
  if (b?.records !== undefined) raw[bName] = b.records;
  if (sod !== undefined) raw.sod = sod.bytes;
  return {
    application: app.application,
    aid: app.aid,
    selectSw,
    files: withVerdicts(log, passiveAuth, app.layout),
    ...(passiveAuth !== undefined ? { passiveAuth } : {}),
    ...(section !== undefined ? { section } : {}),
    problems,
    raw: raw as RecordPairReadResult<S, A, B>['raw'],
  };
}
