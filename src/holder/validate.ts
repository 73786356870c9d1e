/**
 * Holder documents in, the validated {@link Holder} out (STYLE principle 8: profile → validated
 * model). YAML and JSON both go through the `yaml` parser, which keeps source positions, so every
 * problem is reported as `file:line field: what is wrong — hint` — all problems at once, in file
 * order:
 *
 *     alice.yaml:5 identity.sex: expected one of F, M, X, got "female" — F, M or X (unspecified; < in the MRZ)
 *     alice.yaml:6 identity.nickname: unknown key — expected one of: primaryIdentifier, secondaryIdentifier, …
 *
 * Checking runs in two passes: the JSON Schema (`profiles/holder.schema.json`, ajv), then what a
 * schema cannot say (calendar dates, date order, MRZ-writable names, masked card numbers, bytes
 * that are what they claim: a JPEG face, 19794-2 templates for the right finger, certificates for
 * the right key type). Bytes given by path are read relative to the document.
 *
 * @example
 * const holder = loadHolder('profiles/samples/specimen-full.yaml');
 * holder.fingerprints.length // 10
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { NO_POSITIONS, pathText, show, yamlLocator, type Locator, type Segment } from '../input/positions.js';
import { compileSchema, schemaIssues, type SchemaIssue } from '../input/schema-issues.js';
import { LdsError } from '../lds/errors.js';
import { imageInfo } from '../lds/image-info.js';
import {
  FINGER_POSITIONS,
  FMR_DEFAULTS,
  IMPRESSION_TYPES,
  angleFromDegrees,
  decodeFingerMinutiaeRecord,
  encodeFingerMinutiaeRecord,
} from '../lds/iso19794-2.js';
import { MrzError, mrzName } from '../lds/mrz.js';
import { pemToDer } from '../lds/certificates.js';
import { isCalendarDate, luhnValid, maskedPanProblem } from './checks.js';
import { holderMrz } from './mrz.js';
import { HOLDER_SCHEMA } from './schema.js';
import type { BytesSource, EServiceKeyPair, Face, Fingerprint, Holder, HolderDocument, MinutiaeDocument } from './types.js';

/** One problem in a holder document (path like `identity.sex`, `fingerprints[2].template`). */
export type HolderIssue = SchemaIssue;

/** Every problem found in a holder document; the message lists them one per line. */
export class HolderError extends Error {
  override readonly name = 'HolderError';
  constructor(readonly issues: readonly HolderIssue[]) {
    super(issues.map(formatHolderIssue).join('\n'));
  }
}

export function formatHolderIssue(i: HolderIssue): string {
  const where = i.file !== undefined ? `${i.file}${i.line !== undefined ? `:${i.line}` : ''} ` : i.line !== undefined ? `line ${i.line} ` : '';
  return `${where}${i.path === '' ? '(document)' : i.path}: ${i.message}${i.hint !== undefined ? ` — ${i.hint}` : ''}`;
}

export interface ParseHolderOptions {
  /** File name for messages; its directory resolves `path:` bytes unless `baseDir` is given. */
  readonly file?: string;
  readonly baseDir?: string;
  /** Reads a `path:` file (default: the file system). */
  readonly readFile?: (path: string) => Uint8Array;
}

/** Largest face image: DG2 must stay addressable by one EF (ICAO 9303-10 recommends 15–20 KB). */
export const FACE_MAX_BYTES = 60_000;
const TEMPLATE_MAX_BYTES = 16_384;
const CERTIFICATE_MAX_BYTES = 16_384;



// --- schema pass -----------------------------------------------------------------------------------

function schemaProblems(data: unknown, loc: Locator, file: string | undefined): SchemaIssue[] {
  return schemaIssues(compileSchema(HOLDER_SCHEMA), data, loc, file);
}

// --- semantic pass ---------------------------------------------------------------------------------

class Collector {
  readonly issues: HolderIssue[] = [];
  constructor(
    private readonly loc: Locator,
    private readonly file: string | undefined,
  ) {}

  add(path: readonly Segment[], message: string, hint?: string): void {
    this.issues.push({
      ...(this.file !== undefined ? { file: this.file } : {}),
      ...this.loc.at(path),
      path: pathText(path),
      message,
      ...(hint !== undefined ? { hint } : {}),
    });
  }
}

function date(c: Collector, path: Segment[], v: string | undefined): void {
  if (v !== undefined && !isCalendarDate(v)) c.add(path, `${show(v)} is not a calendar date`, 'YYYY-MM-DD with a real month and day, year 1900 or later');
}

function order(c: Collector, path: Segment[], from: string | undefined, to: string | undefined, what: string): void {
  if (from !== undefined && to !== undefined && isCalendarDate(from) && isCalendarDate(to) && to <= from) c.add(path, `${to} is not after ${from}`, what);
}

class BytesReader {
  constructor(
    private readonly baseDir: string,
    private readonly read: (path: string) => Uint8Array,
  ) {}

  load(c: Collector, path: Segment[], src: BytesSource, max: number, what: string): Uint8Array | undefined {
    let bytes: Uint8Array;
    if ('path' in src) {
      const full = resolve(this.baseDir, src.path);
      try {
        bytes = this.read(full);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        c.add([...path, 'path'], `cannot read ${full}${code !== undefined ? ` (${code})` : ''}`, 'paths are relative to the holder document');
        return undefined;
      }
    } else {
      bytes = new Uint8Array(Buffer.from(src.base64.replace(/\s+/g, ''), 'base64'));
      if (bytes.length === 0) {
        c.add([...path, 'base64'], 'decodes to no bytes');
        return undefined;
      }
    }
    if (bytes.length > max) {
      c.add(path, `${what} is ${bytes.length} bytes, at most ${max} fit`);
      return undefined;
    }
    return bytes;
  }
}

function mrzNameCheck(c: Collector, path: Segment[], v: string | undefined): void {
  if (v === undefined) return;
  try {
    if (mrzName(v) === '') c.add(path, 'leaves no letters for the MRZ');
  } catch (e) {
    if (e instanceof MrzError) c.add(path, e.message.replace(/^name: /, ''), 'give the name in Latin letters; the Arabic-script name goes in identity.fullNameArabic');
    else throw e;
  }
}

function checkFace(c: Collector, reader: BytesReader, doc: NonNullable<HolderDocument['face']>): Face | undefined {
  const bytes = reader.load(c, ['face', 'image'], doc.image, FACE_MAX_BYTES, 'the face image');
  if (bytes === undefined) return undefined;
  try {
    const info = imageInfo(bytes);
    return { image: bytes, format: info.format, width: info.width, height: info.height, ...(doc.featurePoints ? { featurePoints: doc.featurePoints } : {}) };
  } catch (e) {
    if (!(e instanceof LdsError)) throw e;
    c.add(['face', 'image'], e.message, 'a JPEG (ISO/IEC 10918) or JPEG 2000 (ISO/IEC 15444) image');
    return undefined;
  }
}

function encodeMinutiae(position: number, m: MinutiaeDocument): Uint8Array {
  return encodeFingerMinutiaeRecord({
    ...FMR_DEFAULTS,
    imageWidth: m.imageWidth,
    imageHeight: m.imageHeight,
    resolutionX: m.resolution ?? FMR_DEFAULTS.resolutionX,
    resolutionY: m.resolution ?? FMR_DEFAULTS.resolutionY,
    views: [
      {
        position,
        viewNumber: 0,
        impressionType: IMPRESSION_TYPES[m.impression ?? 'live-scan-plain'],
        quality: m.quality ?? 0,
        minutiae: m.points.map((p) => ({ type: p.type, x: p.x, y: p.y, angle: angleFromDegrees(p.angle), quality: p.quality ?? 0 })),
        extendedData: new Uint8Array(0),
      },
    ],
  });
}

function checkFingerprints(c: Collector, reader: BytesReader, list: NonNullable<HolderDocument['fingerprints']>): Fingerprint[] {
  const out: Fingerprint[] = [];
  const seen = new Map<string, number>();
  list.forEach((f, i) => {
    const path: Segment[] = ['fingerprints', i];
    const code = FINGER_POSITIONS.indexOf(f.position);
    const first = seen.get(f.position);
    if (first !== undefined) c.add([...path, 'position'], `${f.position} is already given at fingerprints[${first}]`, 'each finger at most once');
    seen.set(f.position, i);
    if ((f.template === undefined) === (f.minutiae === undefined)) {
      c.add(path, f.template === undefined ? 'neither template nor minutiae given' : 'both template and minutiae given', 'give exactly one: template (19794-2 bytes) or minutiae');
      return;
    }
    if (f.minutiae !== undefined) {
      out.push({ position: f.position, template: encodeMinutiae(code, f.minutiae) });
      return;
    }
    const bytes = reader.load(c, [...path, 'template'], f.template!, TEMPLATE_MAX_BYTES, 'the template');
    if (bytes === undefined) return;
    try {
      const rec = decodeFingerMinutiaeRecord(bytes);
      if (rec.views.length === 0) c.add([...path, 'template'], 'the record holds no finger view');
      for (const v of rec.views) {
        if (v.position !== code && v.position !== 0) {
          c.add([...path, 'template'], `the record is for ${FINGER_POSITIONS[v.position]} (position ${v.position}), the entry says ${f.position}`);
          break;
        }
      }
      out.push({ position: f.position, template: bytes });
    } catch (e) {
      if (!(e instanceof LdsError)) throw e;
      c.add([...path, 'template'], e.message, 'an ISO/IEC 19794-2:2005 finger minutiae record (FMR)');
    }
  });
  return out;
}

function checkCertificate(c: Collector, path: Segment[], bytes: Uint8Array, algorithm: EServiceKeyPair['algorithm']): Uint8Array | undefined {
  const text = Buffer.from(bytes).toString('latin1');
  const der = text.includes('-----BEGIN CERTIFICATE-----') ? pemToDer(text)[0] : bytes;
  if (der === undefined) {
    c.add(path, 'the PEM holds no certificate');
    return undefined;
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch (e) {
    c.add(path, `not an X.509 certificate (${e instanceof Error ? e.message : String(e)})`, 'DER or PEM');
    return undefined;
  }
  const k = cert.publicKey;
  const d = k.asymmetricKeyDetails;
  const actual =
    k.asymmetricKeyType === 'ec'
      ? d?.namedCurve === 'prime256v1'
        ? 'ecdsa-p256'
        : d?.namedCurve === 'secp384r1'
          ? 'ecdsa-p384'
          : `EC ${d?.namedCurve ?? '?'}`
      : k.asymmetricKeyType === 'rsa'
        ? `rsa-${d?.modulusLength ?? '?'}`
        : k.asymmetricKeyType ?? 'unknown';
  if (actual !== algorithm) c.add(path, `the certificate's key is ${actual}, the key pair says ${algorithm}`);
  return new Uint8Array(der);
}

/** The semantic pass and the loading of bytes; issues go to `c`. */
function resolveHolder(d: HolderDocument, c: Collector, reader: BytesReader): Holder {
  const { identity: id, document: doc } = d;
  date(c, ['identity', 'dateOfBirth'], id.dateOfBirth);
  date(c, ['document', 'dateOfIssue'], doc.dateOfIssue);
  date(c, ['document', 'dateOfExpiry'], doc.dateOfExpiry);
  order(c, ['document', 'dateOfExpiry'], doc.dateOfIssue, doc.dateOfExpiry, 'the card expires after it is issued');
  if (isCalendarDate(id.dateOfBirth) && isCalendarDate(doc.dateOfIssue) && doc.dateOfIssue < id.dateOfBirth) {
    c.add(['document', 'dateOfIssue'], `${doc.dateOfIssue} is before the date of birth ${id.dateOfBirth}`);
  }
  mrzNameCheck(c, ['identity', 'primaryIdentifier'], id.primaryIdentifier);
  mrzNameCheck(c, ['identity', 'secondaryIdentifier'], id.secondaryIdentifier);
  const before = c.issues.length;
  if (before === 0) {
    try {
      holderMrz(d);
    } catch (e) {
      if (!(e instanceof MrzError)) throw e;
      const long = doc.number.length > 9 && (doc.mrzOptionalData?.line1 ?? '') !== '';
      c.add(long ? ['document', 'mrzOptionalData', 'line1'] : ['document'], `the TD1 MRZ cannot be written: ${e.message}`);
    }
  }

  const face = d.face !== undefined ? checkFace(c, reader, d.face) : undefined;
  const fingerprints = checkFingerprints(c, reader, d.fingerprints ?? []);

  const hi = d.healthInsurance;
  if (hi !== undefined) {
    date(c, ['healthInsurance', 'validFrom'], hi.validFrom);
    date(c, ['healthInsurance', 'validUntil'], hi.validUntil);
    order(c, ['healthInsurance', 'validUntil'], hi.validFrom, hi.validUntil, 'cover ends after it starts');
    const numbers = new Map<string, string>([[hi.memberNumber, 'healthInsurance.memberNumber']]);
    (hi.dependants ?? []).forEach((dep, i) => {
      date(c, ['healthInsurance', 'dependants', i, 'dateOfBirth'], dep.dateOfBirth);
      mrzNameCheck(c, ['healthInsurance', 'dependants', i, 'name'], dep.name);
      const other = numbers.get(dep.memberNumber);
      if (other !== undefined) c.add(['healthInsurance', 'dependants', i, 'memberNumber'], `${dep.memberNumber} is already used by ${other}`, 'member numbers are unique');
      numbers.set(dep.memberNumber, `healthInsurance.dependants[${i}]`);
    });
  }

  const dl = d.drivingLicence;
  if (dl !== undefined) {
    date(c, ['drivingLicence', 'dateOfIssue'], dl.dateOfIssue);
    date(c, ['drivingLicence', 'dateOfExpiry'], dl.dateOfExpiry);
    order(c, ['drivingLicence', 'dateOfExpiry'], dl.dateOfIssue, dl.dateOfExpiry, 'the licence expires after it is issued');
    const seen = new Map<string, number>();
    dl.categories.forEach((cat, i) => {
      const p: Segment[] = ['drivingLicence', 'categories', i];
      date(c, [...p, 'dateOfIssue'], cat.dateOfIssue);
      date(c, [...p, 'dateOfExpiry'], cat.dateOfExpiry);
      order(c, [...p, 'dateOfExpiry'], cat.dateOfIssue, cat.dateOfExpiry, 'a category expires after it is issued');
      const first = seen.get(cat.category);
      if (first !== undefined) c.add([...p, 'category'], `${cat.category} is already listed at categories[${first}]`);
      seen.set(cat.category, i);
      const r = cat.restrictions ?? [];
      if (new Set(r).size !== r.length) c.add([...p, 'restrictions'], 'a restriction code is listed twice');
    });
  }

  (d.financialAccounts ?? []).forEach((a, i) => {
    const p: Segment[] = ['financialAccounts', i];
    if (a.maskedPan !== undefined) {
      const problem = maskedPanProblem(a.maskedPan);
      if (problem !== undefined) c.add([...p, 'maskedPan'], problem, 'e.g. 411111******1111 (PCI DSS 3.4.1)');
    }
    const digits = a.accountReference.replace(/[ -]/g, '');
    if (/^\d{13,19}$/.test(digits) && luhnValid(digits)) {
      c.add([...p, 'accountReference'], 'looks like a full card number', 'card numbers go in maskedPan, masked; accountReference is the IBAN or account number');
    }
  });

  let eServices: Holder['eServices'];
  if (d.eServices !== undefined) {
    const labels = new Map<string, number>();
    const keyPairs: EServiceKeyPair[] = [];
    d.eServices.keyPairs.forEach((k, i) => {
      const p: Segment[] = ['eServices', 'keyPairs', i];
      const first = labels.get(k.label);
      if (first !== undefined) c.add([...p, 'label'], `${k.label} is already used by keyPairs[${first}]`, 'labels are unique');
      labels.set(k.label, i);
      let certificate: Uint8Array | undefined;
      if (k.certificate !== undefined) {
        const bytes = reader.load(c, [...p, 'certificate'], k.certificate, CERTIFICATE_MAX_BYTES, 'the certificate');
        if (bytes !== undefined) certificate = checkCertificate(c, [...p, 'certificate'], bytes, k.algorithm);
      }
      keyPairs.push({ label: k.label, usage: k.usage, algorithm: k.algorithm, ...(certificate !== undefined ? { certificate } : {}) });
    });
    eServices = { keyPairs };
  }

  return {
    identity: id,
    document: doc,
    ...(face !== undefined ? { face } : {}),
    fingerprints,
    ...(hi !== undefined ? { healthInsurance: { ...hi, dependants: hi.dependants ?? [] } } : {}),
    ...(dl !== undefined
      ? { drivingLicence: { ...dl, categories: dl.categories.map((cat) => ({ ...cat, restrictions: cat.restrictions ?? [] })) } }
      : {}),
    financialAccounts: d.financialAccounts ?? [],
    ...(eServices !== undefined ? { eServices } : {}),
  };
}

function finish(data: unknown, loc: Locator, opts: ParseHolderOptions): Holder {
  const file = opts.file;
  const issues = schemaProblems(data, loc, file);
  if (issues.length > 0) throw new HolderError(sortIssues(issues));
  const c = new Collector(loc, file);
  const baseDir = opts.baseDir ?? (file !== undefined ? dirname(resolve(file)) : process.cwd());
  const reader = new BytesReader(baseDir, opts.readFile ?? ((p) => new Uint8Array(readFileSync(p))));
  const holder = resolveHolder(data as HolderDocument, c, reader);
  if (c.issues.length > 0) throw new HolderError(sortIssues(c.issues));
  return holder;
}

function sortIssues(list: HolderIssue[]): HolderIssue[] {
  return [...list].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

/**
 * Parses and validates a holder document (YAML or JSON text). Throws a {@link HolderError} with
 * every problem found.
 */
export function parseHolder(text: string, opts: ParseHolderOptions = {}): Holder {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new HolderError(
      doc.errors.map((e) => {
        const pos = lc.linePos(e.pos[0]);
        return { ...(opts.file !== undefined ? { file: opts.file } : {}), line: pos.line, column: pos.col, path: '', message: e.message.split('\n')[0]!, hint: 'YAML or JSON syntax' };
      }),
    );
  }
  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new HolderError([{ ...(opts.file !== undefined ? { file: opts.file } : {}), line: 1, path: '', message: `expected a mapping with identity and document, got ${show(data)}` }]);
  }
  return finish(data, yamlLocator(doc, lc), opts);
}

/** Reads, parses and validates a holder document file (.yaml, .yml or .json). */
export function loadHolder(path: string, opts: Omit<ParseHolderOptions, 'file'> = {}): Holder {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new HolderError([{ file: path, path: '', message: `cannot read the file${code !== undefined ? ` (${code})` : ''}` }]);
  }
  return parseHolder(text, { ...opts, file: path });
}

/** Validates a holder document already parsed (an object); problems carry field paths only. */
export function validateHolder(data: unknown, opts: ParseHolderOptions = {}): Holder {
  return finish(data, NO_POSITIONS, opts);
}
