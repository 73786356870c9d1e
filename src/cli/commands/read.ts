/**
 * `chipwright read (--card FILE | --reader NAME) (--can N | --mrz TEXT) [--pin] [--csca PATH]…
 * [--out DIR] [--json] [--trace]`: reads the whole multi-application ID card (`readIdCard`):
 * PACE with the CAN or the MRZ (BAC with the MRZ when the chip offers no PACE), PACE with the PIN
 * when `--pin` is given, every file the rights allow, passive authentication of every application,
 * Chip and Active Authentication when DG14 / DG15 offer them; decodes everything to the holder
 * model and prints a summary with a verdict per file (valid / INVALID / not checked) — or, with
 * `--json`, the whole report.
 *
 * - The PIN is never an argument: `--pin` asks for it on the terminal without echo, or takes it
 *   from the environment variable CHIPWRIGHT_PIN (scripts, CI). It is used only for PACE (the
 *   card gets no PIN bytes, only the PACE protocol), and is never printed or traced.
 * - `--csca PATH` (repeatable): a PEM bundle, a DER certificate, or a folder of them (.pem, .crt,
 *   .cer, .der); the trust anchors of every EF.SOD and of the e-services certificates.
 * - `--out DIR`: writes the face image (face.jpg / face.jp2), the fingerprint templates, the
 *   e-services certificates and holder.yaml — a holder document naming those files, which
 *   `parseHolder` reads again. Files in DIR are overwritten.
 *
 * Exit codes: 0 read, nothing invalid (the verdict may be "incomplete": files refused without the
 * PIN, no CSCA given); 1 something is invalid (a hash, a signature, a chain, CA/AA, a
 * certificate, the licence portrait), or access control failed (wrong CAN/MRZ/PIN); 2 usage
 * (also: --pin without a terminal or CHIPWRIGHT_PIN); 3 a missing or bad card image or CSCA file;
 * 4 the card stopped answering; 5 --out cannot be written.
 */
import type { Command } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { bytesToHex, zeroize } from '../../bytes/index.js';
import { parseTd1 } from '../../lds/mrz.js';
import type { PassiveAuthReport } from '../../lds/passive-auth.js';
import { holderToDocument, type BytesRole } from '../../holder/document.js';
import type { BytesSource, HolderDocument } from '../../holder/types.js';
import { loadAppletModules } from '../../apps/modules.js';
import { ID_CARD_APPLETS, readIdCard, type IdCardReadResult, type ProtocolCheck } from '../../apps/id-card.js';
import type { AppFileRead } from '../../apps/health/common.js';
import { IdentityReadError } from '../../apps/identity/reader.js';
import { BacError } from '../../terminal/bac.js';
import { PaceError } from '../../terminal/pace.js';
import { SecureMessagingError } from '../../transport/secure-messaging.js';
import { InProcessTransport } from '../../transport/in-process.js';
import { TracingTransport } from '../../transport/trace.js';
import type { Transport } from '../../transport/types.js';
import { CardFile } from '../card-file.js';
import { loadTrustAnchors } from '../trust-anchors.js';
import { EXIT } from '../exit-codes.js';
import { OutputFileError, UsageError } from '../errors.js';
import { appletOption } from '../options.js';
import { readerOrCard, withReader, type CardTarget } from './readers.js';
import type { CliContext } from '../context.js';
import type { CliIo } from '../io.js';

interface RawOptions {
  card?: string;
  reader?: string;
  applet?: string[];
  can?: string;
  mrz?: string;
  pin?: boolean;
  csca?: string[];
  out?: string;
  json?: boolean;
  trace?: boolean;
}

/** Everything `read` needs, validated before the card is touched. The PIN is fetched at run time. */
export interface ReadContext {
  readonly target: CardTarget;
  readonly appletModules: readonly string[];
  readonly can?: string;
  /** MRZ information (document number, birth and expiry dates with check digits). */
  readonly mrz?: string;
  /** Ask for the holder PIN (terminal, or CHIPWRIGHT_PIN). */
  readonly pin: boolean;
  readonly cscaPaths: readonly string[];
  readonly out?: string;
  readonly json: boolean;
  readonly trace: boolean;
}

/** The environment variable the PIN may come from. */
export const PIN_ENV = 'CHIPWRIGHT_PIN';

/** `--mrz`: the three TD1 lines (90 characters, line breaks or spaces allowed) or the MRZ information. */
export function mrzOption(text: string): string {
  const compact = text.replace(/\s+/g, '').toUpperCase();
  if (compact.length === 90) {
    try {
      return parseTd1(compact).mrzInformation;
    } catch (e) {
      throw new UsageError(`--mrz: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (!/^[0-9A-Z<]{24,}$/.test(compact)) {
    throw new UsageError('--mrz: expected the three lines of a TD1 MRZ (90 characters) or the MRZ information (document number, date of birth, date of expiry, each with its check digit)');
  }
  return compact;
}

/** Validates `read`'s options into a {@link ReadContext} (exit 2 on a bad value). */
export function readContext(o: RawOptions): ReadContext {
  const target = readerOrCard(o);
  if (o.can === undefined && o.mrz === undefined) throw new UsageError('give --can N (the 6-digit card access number) or --mrz TEXT');
  if (o.can !== undefined && o.mrz !== undefined) throw new UsageError('give --can or --mrz, not both');
  if (o.can !== undefined && !/^[0-9]{6}$/.test(o.can)) throw new UsageError(`--can: expected 6 digits, got ${o.can.length} characters`);
  return {
    target,
    appletModules: o.applet ?? [],
    ...(o.can !== undefined ? { can: o.can } : {}),
    ...(o.mrz !== undefined ? { mrz: mrzOption(o.mrz) } : {}),
    pin: o.pin === true,
    cscaPaths: o.csca ?? [],
    ...(o.out !== undefined ? { out: o.out } : {}),
    json: o.json === true,
    trace: o.trace === true,
  };
}

// --- the PIN -----------------------------------------------------------------------------------------

function checkPin(pin: Uint8Array, where: string): Uint8Array {
  // Never the value, not even its digits: only what is wrong with it.
  if (pin.length < 4 || pin.length > 12 || pin.some((b) => b < 0x30 || b > 0x39)) {
    zeroize(pin);
    throw new UsageError(`${where}: the PIN is 4 to 12 digits`);
  }
  return pin;
}

/** Reads a line from the terminal without echo (raw mode); Ctrl-C or Ctrl-D cancels. */
function askHidden(io: CliIo, prompt: string): Promise<Uint8Array> {
  const input = io.stdin as NodeJS.ReadStream;
  return new Promise((resolve, reject) => {
    const bytes: number[] = [];
    const done = (err?: Error): void => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      io.stderr('\n');
      if (err !== undefined) {
        bytes.fill(0);
        reject(err);
      } else {
        const out = Uint8Array.from(bytes);
        bytes.fill(0);
        resolve(out);
      }
    };
    const onData = (chunk: Buffer): void => {
      for (const b of chunk) {
        if (b === 0x0d || b === 0x0a) return done();
        if (b === 0x03 || b === 0x04) return done(new UsageError('PIN entry cancelled'));
        if (b === 0x7f || b === 0x08) bytes.pop();
        else bytes.push(b);
      }
      chunk.fill(0);
    };
    io.stderr(prompt);
    input.setRawMode(true);
    input.resume();
    input.on('data', onData);
  });
}

/** The holder PIN from CHIPWRIGHT_PIN, else asked on the terminal without echo. */
export async function holderPin(io: CliIo): Promise<Uint8Array> {
  const env = io.env[PIN_ENV];
  if (env !== undefined && env !== '') return checkPin(new TextEncoder().encode(env), PIN_ENV);
  const input = io.stdin as Partial<NodeJS.ReadStream>;
  if (input.isTTY !== true || typeof input.setRawMode !== 'function') {
    throw new UsageError(`--pin: no terminal to ask the PIN on; set ${PIN_ENV} (the PIN is never taken from the command line)`);
  }
  return checkPin(await askHidden(io, 'PIN (not shown): '), 'PIN');
}

// --- output ------------------------------------------------------------------------------------------

const hex4 = (n: number): string => n.toString(16).toUpperCase().padStart(4, '0');

function fileJson(f: AppFileRead): object {
  return {
    name: f.name,
    fid: hex4(f.fid),
    status: f.status,
    ...(f.sw !== undefined ? { sw: hex4(f.sw) } : {}),
    ...(f.length !== undefined ? { length: f.length } : {}),
    ...(f.verdict !== undefined ? { verdict: f.verdict } : {}),
    ...(f.detail !== undefined ? { detail: f.detail } : {}),
  };
}

function passiveAuthJson(p: PassiveAuthReport | undefined): object | null {
  if (p === undefined) return null;
  return {
    verdict: p.verdict,
    structure: p.structure,
    signature: p.signature,
    chain: p.chain,
    validity: p.validity,
    ...(p.hashAlgorithm !== undefined ? { hashAlgorithm: p.hashAlgorithm } : {}),
    ...(p.documentSigner !== undefined ? { documentSigner: p.documentSigner } : {}),
    ...(p.csca !== undefined ? { csca: p.csca } : {}),
    ...(p.signingTime !== undefined ? { signingTime: p.signingTime } : {}),
  };
}

interface AppView {
  readonly name: string;
  readonly aid: Uint8Array;
  readonly files: readonly AppFileRead[];
  readonly passiveAuth?: PassiveAuthReport;
  readonly problems: readonly { readonly file: string; readonly message: string }[];
}

function apps(r: IdCardReadResult): AppView[] {
  return [r.identity, r.licence, r.health, r.finance, r.eServices].filter((a): a is NonNullable<typeof a> => a !== undefined).map((a) => ({ ...a, name: a.application }));
}

/** The whole report as JSON (bytes as hex; the holder document with files or base64). */
export function readReportJson(r: IdCardReadResult, document: HolderDocument | undefined, written: readonly string[]): object {
  return {
    verdict: r.verdict,
    ...(r.aborted !== undefined ? { aborted: r.aborted } : {}),
    access: r.access,
    applications: apps(r).map((a) => ({
      name: a.name,
      aid: bytesToHex(a.aid),
      files: a.files.map(fileJson),
      passiveAuthentication: passiveAuthJson(a.passiveAuth),
      problems: a.problems,
      ...(a.name === 'licence' && r.licence !== undefined ? { portrait: { verdict: r.licence.portrait.verdict, detail: r.licence.portrait.detail } } : {}),
      ...(a.name === 'e-services' && r.eServices !== undefined
        ? { keys: r.eServices.keys.map((k) => ({ ...k.descriptor, ...(k.descriptor.certificateFid !== undefined ? { certificateFid: hex4(k.descriptor.certificateFid) } : {}), certificate: k.certificateCheck })) }
        : {}),
    })),
    holder: document ?? null,
    written,
  };
}

const MARK: Readonly<Record<string, string>> = { valid: 'valid', invalid: 'INVALID', 'not-checked': 'not checked' };

function check(label: string, c: ProtocolCheck): string {
  return `${label.padEnd(26)}${MARK[c.verdict]!.padEnd(12)} ${c.detail}`;
}

/** The readable summary: access, per-application files with verdicts, the holder. */
export function formatReadSummary(r: IdCardReadResult, written: readonly string[], now: Date = new Date()): string {
  const L: string[] = [];
  L.push(`card: ${r.verdict === 'valid' ? 'VALID' : r.verdict === 'invalid' ? 'INVALID' : 'INCOMPLETE'}`);
  const a = r.access;
  L.push(`access: ${a.protocol} with the ${a.established.toUpperCase()}${a.pinVerified ? ', then PACE with the holder PIN' : ''}`);
  L.push(check('  chip authentication', a.chipAuthentication));
  L.push(check('  active authentication', a.activeAuthentication));
  if (r.aborted !== undefined) L.push(`reading stopped: ${r.aborted}`);
  for (const app of apps(r)) {
    L.push('');
    L.push(`${app.name} (${bytesToHex(app.aid)})${app.passiveAuth !== undefined ? `: passive authentication ${app.passiveAuth.verdict.toUpperCase()}` : ''}`);
    for (const f of app.files) {
      const what = f.status === 'read' ? `${String(f.length ?? 0).padStart(6)} B  ${MARK[f.verdict ?? 'not-checked']!.padEnd(11)}` : `${f.status.padEnd(8)} ${hex4(f.sw ?? 0)} `.padEnd(21);
      L.push(`  ${f.name.padEnd(24)} ${hex4(f.fid)}  ${what} ${f.detail ?? ''}`.trimEnd());
    }
    const p = app.passiveAuth;
    if (p !== undefined && p.verdict !== 'valid') {
      for (const [name, c] of [['signature', p.signature], ['chain', p.chain], ['validity', p.validity]] as const) {
        if (c.verdict !== 'valid') L.push(`  ${name.padEnd(24)}       ${MARK[c.verdict]!.padEnd(21)} ${c.detail}`);
      }
    }
    for (const pr of app.problems) L.push(`  ${pr.file.padEnd(24)}       ${'INVALID'.padEnd(21)} does not decode: ${pr.message}`);
    if (app.name === 'licence' && r.licence !== undefined) L.push(`  ${'portrait (DG6 → DG2)'.padEnd(24)}       ${MARK[r.licence.portrait.verdict]!.padEnd(21)} ${r.licence.portrait.detail}`);
    if (app.name === 'e-services' && r.eServices !== undefined) {
      for (const k of r.eServices.keys) L.push(`  ${`key ${k.descriptor.label}`.padEnd(24)}       ${MARK[k.certificateCheck.verdict]!.padEnd(21)} ${k.certificateCheck.detail}`);
    }
  }
  const h = r.holder;
  L.push('');
  if (h === undefined) {
    L.push('holder: not decoded (no readable DG1)');
  } else {
    const i = h.identity;
    L.push('holder');
    L.push(`  name          ${i.primaryIdentifier}${i.secondaryIdentifier !== undefined ? `, ${i.secondaryIdentifier}` : ''}${i.fullNameArabic !== undefined ? `  /  ${i.fullNameArabic}` : ''}`);
    L.push(`  ID number     ${i.idNumber}, ${i.nationality}, ${i.sex}, born ${i.dateOfBirth}${i.placeOfBirth !== undefined ? ` in ${i.placeOfBirth}` : ''}`);
    L.push(`  document      ${h.document.type} ${h.document.number} (${h.document.issuingState}), ${h.document.dateOfIssue} – ${h.document.dateOfExpiry}`);
    if (h.face !== undefined) L.push(`  face          ${h.face.format === 'jpeg' ? 'JPEG' : 'JPEG 2000'} ${h.face.width}×${h.face.height}, ${h.face.image.length} B`);
    L.push(`  fingerprints  ${h.fingerprints.length > 0 ? h.fingerprints.map((f) => f.position).join(', ') : r.identity.files.some((f) => f.name === 'DG3' && f.status === 'refused') ? 'not read (needs the PIN: --pin)' : 'none'}`);
    const today = now.toISOString().slice(0, 10);
    if (h.healthInsurance !== undefined) {
      const x = h.healthInsurance;
      L.push(`  health        ${x.insurer}, member ${x.memberNumber}, class ${x.class}, ${x.validFrom} – ${x.validUntil}${x.validUntil < today ? ' (expired)' : ''}, ${x.dependants.length} dependant(s)`);
    }
    if (h.drivingLicence !== undefined) {
      const d = h.drivingLicence;
      L.push(`  licence       ${d.number}, ${d.authority}, until ${d.dateOfExpiry}; ${d.categories.map((c) => `${c.category}${c.restrictions.length > 0 ? ` (${c.restrictions.join(', ')})` : ''}`).join(', ')}`);
    }
    if (h.financialAccounts.length > 0) L.push(`  accounts      ${h.financialAccounts.map((f) => `${f.bank} ${f.type} ${f.maskedPan ?? f.accountReference}`).join('; ')}`);
    else if (r.finance !== undefined && r.finance.files.some((f) => f.status === 'refused')) L.push('  accounts      not read (needs the PIN: --pin)');
    if (h.eServices !== undefined) L.push(`  e-services    ${h.eServices.keyPairs.map((k) => `${k.label} (${k.algorithm})`).join(', ')}`);
  }
  if (written.length > 0) L.push(`written to ${dirname(written[0]!)}: ${written.map((w) => basename(w)).join(', ')}`);
  return L.join('\n') + '\n';
}

/** Writes the holder's byte fields and holder.yaml into `dir`; returns the document and the paths. */
function writeOut(dir: string, r: IdCardReadResult): { document: HolderDocument | undefined; written: string[] } {
  const written: string[] = [];
  if (r.holder === undefined) return { document: undefined, written };
  const put = (name: string, data: Uint8Array | string): void => {
    const path = join(dir, name);
    try {
      writeFileSync(path, data);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new OutputFileError(`${path}: cannot write (${code ?? String(e)})`);
    }
    written.push(path);
  };
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new OutputFileError(`--out ${dir}: cannot create the folder (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const faceName = r.holder.face?.format === 'jpeg2000' ? 'face.jp2' : 'face.jpg';
  const bytes = (role: BytesRole, data: Uint8Array): BytesSource => {
    const name = role === 'face' ? faceName : role.startsWith('fingerprint:') ? `fingerprint-${role.slice(12)}.fmr` : role.startsWith('certificate:') ? `certificate-${role.slice(12)}.der` : `${role.replace(/[^a-z0-9-]/gi, '_')}.bin`;
    put(name, data);
    return { path: name };
  };
  const document = holderToDocument(r.holder, { bytes });
  put('holder.yaml', `# Read by chipwright read (verdict: ${r.verdict}).\n${stringify(document)}`);
  return { document, written };
}

/** Runs `read`: trust anchors, the PIN, the card, the report; returns the exit code. */
export async function runRead(ctx: ReadContext, io: CliIo): Promise<number> {
  const cscas = loadTrustAnchors(ctx.cscaPaths);
  const pin = ctx.pin ? await holderPin(io) : undefined;
  let result: IdCardReadResult | undefined;
  const read = async (t: Transport): Promise<void> => {
    result = await readIdCard(t, { ...(ctx.can !== undefined ? { can: ctx.can } : {}), ...(ctx.mrz !== undefined ? { mrz: ctx.mrz } : {}), ...(pin !== undefined ? { pin } : {}), cscas });
  };
  try {
    if (ctx.target.kind === 'reader') {
      await withReader(ctx.target.reader, io, ctx.trace, read);
    } else {
      const applets = await loadAppletModules(ctx.appletModules);
      const file = CardFile.open(ctx.target.path, io, { applets: [...applets, ...ID_CARD_APPLETS.filter((a) => !applets.some((b) => b.type === a.type))] });
      let transport: Transport = new InProcessTransport(file.card);
      if (ctx.trace) transport = new TracingTransport(transport, (line) => io.stderr(`${line}\n`));
      await transport.connect();
      try {
        await read(transport);
      } finally {
        // Retry counters a wrong PIN spent are kept, as on a real card.
        if (file.card.isPowered) await transport.disconnect();
        file.saveIfChanged();
      }
    }
  } catch (e) {
    if (e instanceof PaceError || e instanceof BacError || e instanceof SecureMessagingError || e instanceof IdentityReadError) {
      io.stderr(`chipwright: read: access control failed: ${e.message}\n`);
      return EXIT.CHECK_FAILED;
    }
    throw e;
  } finally {
    if (pin !== undefined) zeroize(pin);
  }
  const r = result!;
  const { document, written } = ctx.out !== undefined ? writeOut(ctx.out, r) : { document: undefined, written: [] as string[] };
  if (ctx.json) {
    const doc = document ?? (r.holder !== undefined ? holderToDocument(r.holder) : undefined);
    io.stdout(JSON.stringify(readReportJson(r, doc, written), null, 2) + '\n');
  } else {
    io.stdout(formatReadSummary(r, written));
  }
  return r.verdict === 'invalid' ? EXIT.CHECK_FAILED : EXIT.OK;
}

/** Registers `chipwright read`. */
export function registerRead(program: Command, cli: CliContext): Command {
  return program
    .command('read')
    .description('read, decode and verify a multi-application ID card (PACE/BAC, passive, chip and active authentication)')
    .option('--card <file>', 'card image (saved back when its state changes, e.g. a PIN try spent)')
    .option('--reader <name>', 'instead of --card: the card in this PC/SC reader (name, part of it, or index)')
    .addOption(appletOption())
    .option('--can <digits>', 'card access number (6 digits): PACE')
    .option('--mrz <text>', 'instead of --can: the MRZ (3 lines) or the MRZ information: PACE, or BAC when the chip has no PACE')
    .option('--pin', `also PACE with the holder PIN (opens fingerprints and finances); asked without echo, or from ${PIN_ENV}`)
    .option('--csca <path>', 'trust anchors: a PEM/DER certificate file or a folder of them; repeatable', (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .option('--out <dir>', 'write face image, fingerprint templates, certificates and holder.yaml here')
    .option('--json', 'print the whole report as JSON')
    .option('--trace', 'exchanges on standard error (under secure messaging: protected bytes only)')
    .addHelpText('after', `\nThe PIN is never taken from the command line. Exit 0: nothing invalid; 1: something invalid, or access control failed.`)
    .action(async (opts: RawOptions) => {
      cli.exit(await runRead(readContext(opts), cli.io));
    });
}
