/**
 * The quick-start demo: a blank simulated card is personalized and used by the shipped script
 * `apdu/filesystem-demo.apdu` — transport-key authentication, CREATE FILE of a DF and three EFs
 * with access rules, writes and verified reads, a PIN and PUK loaded with PUT DATA 0101 and taken
 * through their life cycle (wrong, right, change, block, unblock), then ACTIVATE FILE on the MF
 * to end personalization. The result is a {@link DemoReport}; `chipwright demo` prints it.
 *
 * The demo's PIN values are public demo data defined here, not in the script (scripts never hold
 * secrets), and no report or trace shows them.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { bytesToHex, hexToBytes } from '../bytes/index.js';
import { INS, insName } from '../apdu/ins.js';
import { createCard, DEFAULT_TRANSPORT_KEY, type Card } from '../card/os.js';
import { saveCardImage } from '../card/image.js';
import type { CardLifeCycle } from '../card/state.js';
import type { DedicatedFile, FileNode } from '../card/fs/file.js';
import { ACCESS_OPS, formatCondition, type AccessOp } from '../card/security/access.js';
import { InProcessTransport } from '../transport/in-process.js';
import { TracingTransport } from '../transport/trace.js';
import type { Transport } from '../transport/types.js';
import { loadShippedScript, shippedScriptPath } from './shipped.js';
import { loadHolder } from '../holder/validate.js';
import { createTestPki } from '../lds/pki.js';
import { readIdCard, type IdCardReadResult } from '../apps/id-card.js';
import { loadProfile } from '../perso/profile.js';
import { createBlankCard, profileTransportKey } from '../perso/applications.js';
import { prepareCard } from '../perso/prepare.js';
import { buildPlan } from '../perso/plan.js';
import { personalize, PersoError, type PersoProgress } from '../perso/runner.js';
import { createTestCardIssuer } from '../perso/signers.js';
import { runApduScript, type ScriptRun, type StepResult } from './runner.js';

export const DEMO_SCRIPT = 'filesystem-demo.apdu';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Values of the demo script's placeholders (demo data, printed nowhere). */
export function demoSecrets(): Record<string, Uint8Array> {
  return { PIN: ascii('2468'), NEW_PIN: ascii('1357'), PUK: ascii('24681357') };
}

export interface DemoOptions {
  /** Save the card image as `<dir>/card.json` (created if needed, rewritten if present). */
  readonly dir?: string;
  /** After each script step (progress display). */
  readonly onStep?: (result: StepResult, index: number, total: number) => void;
  /** Redacted APDU trace lines. */
  readonly trace?: (line: string) => void;
  /** With `dir`: wrap the saved image's storage key under this key (`CardImageOptions`). */
  readonly imageKey?: Uint8Array;
}

/** One file of the card after the demo, for the report. */
export interface FileSummary {
  /** Depth below the MF (0 = MF). */
  readonly depth: number;
  readonly fid: string;
  /** `DF`, `transparent`, `linear-fixed`, `linear-variable` or `cyclic`. */
  readonly type: string;
  readonly name: string | undefined;
  readonly sfi: number | undefined;
  /** `16 bytes`, `2/4 records of 8 bytes`. */
  readonly size: string | undefined;
  /** `read ALWAYS · update, append PIN(81)`; undefined without security attributes. */
  readonly rules: string | undefined;
}

/** A PIN command of the run, for the report's PIN life cycle. */
export interface PinEvent {
  readonly line: number;
  readonly command: string;
  readonly what: string | undefined;
  readonly sw: number | undefined;
  readonly meaning: string | undefined;
  readonly verdict: StepResult['verdict'];
}

export interface DemoReport {
  readonly serial: string;
  readonly atr: string;
  /** Where the card image was saved (with `dir`). */
  readonly cardPath: string | undefined;
  readonly run: ScriptRun;
  readonly files: readonly FileSummary[];
  /** CREATE FILE commands that succeeded. */
  readonly filesCreated: number;
  /** READ BINARY / READ RECORD commands whose data matched the expectation. */
  readonly readsVerified: number;
  readonly pinEvents: readonly PinEvent[];
  readonly lifeCycle: { readonly before: CardLifeCycle; readonly after: CardLifeCycle };
  /** Personalization commands answered 6985 after the card became operational. */
  readonly refusedAfterActivation: number;
  readonly ok: boolean;
}

/**
 * Runs the demo on a fresh in-memory card (saved to `opts.dir` when given).
 *
 * @example const report = await runFilesystemDemo(); formatDemoReport(report).join('\n')
 */
export async function runFilesystemDemo(opts: DemoOptions = {}): Promise<DemoReport> {
  const script = loadShippedScript(DEMO_SCRIPT);
  const card = createCard();
  const before = card.state.lifeCycle;
  let transport: Transport = new InProcessTransport(card);
  if (opts.trace) transport = new TracingTransport(transport, opts.trace);
  const atr = await transport.connect();
  let run: ScriptRun;
  let cardPath: string | undefined;
  try {
    run = await runApduScript(script, transport, {
      transportKey: { algorithm: '3des', value: DEFAULT_TRANSPORT_KEY },
      secrets: demoSecrets(),
      ...(opts.onStep ? { onStep: opts.onStep } : {}),
    });
  } finally {
    if (card.isPowered) await transport.disconnect();
    if (opts.dir !== undefined) {
      mkdirSync(opts.dir, { recursive: true });
      cardPath = join(opts.dir, 'card.json');
      saveCardImage(card, cardPath, opts.imageKey !== undefined ? { imageKey: opts.imageKey } : {});
    }
  }
  return buildReport(card, run, bytesToHex(atr), cardPath, before);
}

function insOf(r: StepResult): number | undefined {
  if (r.kind !== 'command') return undefined;
  const t = r.command.split(' ')[1];
  return t === undefined ? undefined : parseInt(t, 16);
}

const READS: ReadonlySet<number> = new Set<number>([INS.READ_BINARY, INS.READ_BINARY_ODD, INS.READ_RECORDS, INS.READ_RECORDS_ODD]);
const PERSO_INS: ReadonlySet<number> = new Set<number>([INS.CREATE_FILE, INS.PUT_DATA, INS.PUT_DATA_ODD]);
const PIN_INS: ReadonlySet<number> = new Set<number>([INS.VERIFY, INS.CHANGE_REFERENCE_DATA, INS.RESET_RETRY_COUNTER]);

function buildReport(card: Card, run: ScriptRun, atr: string, cardPath: string | undefined, before: CardLifeCycle): DemoReport {
  let filesCreated = 0;
  let readsVerified = 0;
  const pinEvents: PinEvent[] = [];
  let activated = false;
  let refusedAfterActivation = 0;
  for (const r of run.results) {
    const ins = insOf(r);
    if (ins === undefined) continue;
    if (ins === INS.ACTIVATE_FILE && r.sw === 0x9000) activated = true;
    if (activated && PERSO_INS.has(ins) && r.sw === 0x6985) refusedAfterActivation++;
    if (ins === INS.CREATE_FILE && r.sw === 0x9000) filesCreated++;
    if (READS.has(ins) && r.verdict === 'pass' && r.sw === 0x9000) readsVerified++;
    if (PIN_INS.has(ins)) {
      pinEvents.push({ line: r.line, command: insName(ins), what: r.note, sw: r.sw, meaning: r.meaning, verdict: r.verdict });
    }
  }
  return {
    serial: bytesToHex(card.state.serial),
    atr,
    cardPath,
    run,
    files: summarizeFiles(card.state.mf),
    filesCreated,
    readsVerified,
    pinEvents,
    lifeCycle: { before, after: card.state.lifeCycle },
    refusedAfterActivation,
    ok: run.ok,
  };
}

/** The file tree, depth first, as report rows. */
export function summarizeFiles(mf: DedicatedFile): FileSummary[] {
  const out: FileSummary[] = [];
  const walk = (f: FileNode, depth: number): void => {
    const fid = f.fid.toString(16).toUpperCase().padStart(4, '0');
    const rules = f.rules === undefined ? undefined : formatRules(f);
    if (f.kind === 'DF') {
      out.push({ depth, fid, type: 'DF', name: f.name ? bytesToHex(f.name) : undefined, sfi: undefined, size: undefined, rules });
      for (const c of f.children) walk(c, depth + 1);
      return;
    }
    const size =
      f.structure === 'transparent'
        ? `${f.data.length} bytes`
        : `${f.records.length}/${f.maxRecords} records of ${f.recordSize} bytes`;
    out.push({ depth, fid, type: f.structure, name: undefined, sfi: f.sfi, size, rules });
  };
  walk(mf, 0);
  return out;
}

/** `read ALWAYS · update, append PIN(81)`: operations grouped by condition. */
function formatRules(f: FileNode): string {
  const groups = new Map<string, AccessOp[]>();
  for (const op of ACCESS_OPS) {
    const c = f.rules?.[op];
    if (c === undefined) continue;
    const k = formatCondition(c);
    groups.set(k, [...(groups.get(k) ?? []), op]);
  }
  return [...groups].map(([c, ops]) => `${ops.join(', ')} ${c}`).join(' · ');
}

/** The report as lines of text (what `chipwright demo` prints). */
export function formatDemoReport(r: DemoReport): string[] {
  const lines: string[] = [];
  const total = r.run.results.length + r.run.skipped;
  lines.push(`chipwright demo: ${r.run.source} on a simulated card`);
  lines.push(`  serial ${r.serial}, ATR ${r.atr}`);
  lines.push('');
  lines.push(`Files on the card (${r.filesCreated} created):`);
  for (const f of r.files) {
    const indent = '  '.repeat(f.depth + 1);
    const what =
      f.type === 'DF'
        ? f.depth === 0
          ? 'MF'
          : `DF${f.name ? ` name ${f.name}` : ''}`
        : `${f.type} EF${f.sfi !== undefined ? `, SFI ${f.sfi.toString(16).toUpperCase().padStart(2, '0')}` : ''}, ${f.size}`;
    lines.push(`${indent}${f.fid}  ${what}${f.rules ? `  [${f.rules}]` : ''}`);
  }
  lines.push('');
  lines.push(`Reads verified: ${r.readsVerified} (data read back matched what was written)`);
  lines.push('');
  lines.push('PIN life cycle (PIN 81, PUK 82; values never shown):');
  for (const e of r.pinEvents) {
    const mark = e.verdict === 'pass' ? '✓' : e.verdict === 'fail' || e.verdict === 'error' ? '✗' : '·';
    lines.push(`  ${mark} ${e.command.padEnd(21)} ${(e.what ?? '').padEnd(29)} ${e.meaning ?? '(no answer)'}`);
  }
  lines.push('');
  lines.push(`Card life cycle: ${r.lifeCycle.before} → ${r.lifeCycle.after} (ACTIVATE FILE on the MF)`);
  if (r.refusedAfterActivation > 0) {
    lines.push(`  then ${r.refusedAfterActivation} personalization command${r.refusedAfterActivation === 1 ? '' : 's'} refused with 6985`);
  }
  if (r.cardPath !== undefined) lines.push(`Card image saved to ${r.cardPath}`);
  lines.push('');
  const failed = r.run.results.filter((x) => x.verdict === 'fail' || x.verdict === 'error');
  for (const x of failed) lines.push(`✗ ${r.run.source}:${x.line}: ${x.command} — ${x.message ?? ''}`);
  lines.push(
    r.ok
      ? `All ${total} steps passed.`
      : `${r.run.passed} of ${total} steps passed, ${r.run.failed} failed${r.run.skipped > 0 ? `, ${r.run.skipped} not run` : ''}.`,
  );
  return lines;
}

// --- the main job: a full multi-application card -------------------------------------------------

/** Absolute path of `profiles/<name>` in this installation (searched upwards like `apdu/`). */
export function shippedProfilePath(name: string): string {
  const apdu = shippedScriptPath(DEMO_SCRIPT);
  return join(dirname(dirname(apdu)), 'profiles', name);
}

/** Demo-only operator keys (public test values, like the transport test key). */
export function demoOperatorKeys(): Map<string, Uint8Array> {
  return new Map([
    ['purse-load', hexToBytes('2B7E151628AED2A6ABF7158809CF4F3C')],
    ['purse-purchase', hexToBytes('000102030405060708090A0B0C0D0E0F')],
    ['insurer-master', hexToBytes('303132333435363738393A3B3C3D3E3F')],
  ]);
}

export interface MainDemoOptions {
  /** Save the card image as `<dir>/card.json` and the test PKI's CSCA as `<dir>/csca.pem`. */
  readonly dir?: string;
  readonly onStep?: (p: PersoProgress) => void;
  readonly trace?: (line: string) => void;
  /** With `dir`: wrap the saved image's storage key under this key (`CardImageOptions`). */
  readonly imageKey?: Uint8Array;
}

export interface MainDemoReport {
  readonly profile: string;
  readonly holderId: string;
  readonly holderName: string;
  readonly serial: string;
  readonly atr: string;
  readonly applications: readonly { readonly name: string; readonly aid: string; readonly files: readonly string[] }[];
  readonly perso: { readonly ms: number; readonly apdus: number; readonly bytes: number; readonly filesVerified: number; readonly certificates: readonly string[] };
  readonly readBack: {
    readonly protocol: string;
    readonly pinVerified: boolean;
    readonly filesRead: number;
    /** Passive authentication of every application read: 'valid' when each EF.SOD and every file verified. */
    readonly passiveAuth: string;
    /** Per application: its passive-authentication verdict and the files read. */
    readonly applications: readonly { readonly name: string; readonly passiveAuth: string; readonly files: number }[];
    readonly nameLatin: string;
    readonly nameArabic: string | undefined;
    readonly fingerprints: number;
    readonly faceBytes: number;
    readonly insurance: string | undefined;
    readonly licence: string | undefined;
    readonly accounts: number;
    readonly eServiceKeys: readonly string[];
    /** Chip and Active Authentication with the keys generated on the card. */
    readonly chipAuthentication: string;
    readonly activeAuthentication: string;
    /** readIdCard's verdict over everything: valid, invalid or incomplete. */
    readonly verdict: string;
  };
  /** The whole read, as `chipwright read` reports it. */
  readonly read: IdCardReadResult;
  readonly lifeCycle: string;
  readonly refusedAgain: boolean;
  readonly cardPath: string | undefined;
  readonly ms: number;
  readonly ok: boolean;
}

/**
 * Personalizes a simulated `qatar-id` card for the specimen holder (Arabic and Latin names, a
 * face, ten fingerprints, insurance, licence, accounts, e-services keys) with a fresh test PKI,
 * over the personalization channel; then reads every application back over PACE (CAN, then PIN)
 * with `readIdCard`, runs passive authentication of each (and checks the e-services
 * certificates against the card issuer), and checks that the card now refuses personalization.
 *
 * @example const r = await runMainDemo(); formatMainDemoReport(r).join('\n')
 */
export async function runMainDemo(opts: MainDemoOptions = {}): Promise<MainDemoReport> {
  const t0 = performance.now();
  const profile = loadProfile(shippedProfilePath('qatar-id.yaml'));
  const holder = loadHolder(shippedProfilePath('samples/specimen-full.yaml'));
  const pki = createTestPki();
  const issuer = createTestCardIssuer();
  const operatorKeys = demoOperatorKeys();
  const prepared = prepareCard(profile, holder, { signers: { 'document-signer': pki.documentSigner, 'card-issuer': issuer }, operatorKeys });
  const card = createBlankCard(profile, { operatorKeys, holderId: prepared.holderId });
  let transport: Transport = new InProcessTransport(card);
  if (opts.trace) transport = new TracingTransport(transport, opts.trace);
  const atr = await transport.connect();
  const plan = buildPlan(prepared, { apdu: 'extended' });
  const r = await personalize(transport, plan, { transportKey: profileTransportKey(profile), atr, ...(opts.onStep ? { onStep: opts.onStep } : {}) });
  await transport.disconnect();
  const secret = (name: string): string => new TextDecoder().decode(prepared.pins.find((p) => p.spec.name === name)!.value);
  await transport.connect();
  const read = await readIdCard(transport, { can: secret('CAN'), pin: secret('PIN'), cscas: [pki.csca.certificate, issuer.certificate] });
  await transport.reset();
  const again = await personalize(transport, plan, { transportKey: profileTransportKey(profile) }).catch((e: unknown) => e);
  await transport.disconnect();
  let cardPath: string | undefined;
  if (opts.dir !== undefined) {
    mkdirSync(opts.dir, { recursive: true });
    cardPath = join(opts.dir, 'card.json');
    saveCardImage(card, cardPath, opts.imageKey !== undefined ? { imageKey: opts.imageKey } : {});
  }
  const h = read.holder;
  const id = h?.identity;
  const apps = [read.identity, read.health, read.licence, read.finance, read.eServices].flatMap((a) => (a === undefined ? [] : [a]));
  const perApp = apps.map((a) => ({ name: a.application, passiveAuth: a.passiveAuth?.verdict ?? 'not-checked', files: a.files.filter((f) => f.status === 'read').length }));
  const allValid = perApp.every((a) => a.passiveAuth === 'valid') && apps.every((a) => a.problems.length === 0);
  const certsValid = (read.eServices?.keys ?? []).every((k) => k.certificateCheck.verdict === 'valid');
  const refusedAgain = again instanceof PersoError && again.reason === 'operational' && !again.written;
  const ok = read.verdict === 'valid' && allValid && certsValid && read.aborted === undefined && id?.fullNameArabic === holder.identity.fullNameArabic && card.state.lifeCycle === 'operational' && refusedAgain;
  const ins = h?.healthInsurance;
  const dl = h?.drivingLicence;
  return {
    profile: profile.name,
    holderId: prepared.holderId,
    holderName: prepared.holderName,
    serial: r.serial,
    atr: bytesToHex(atr),
    applications: prepared.applications.map((a) => ({ name: a.spec.name, aid: bytesToHex(a.spec.aid), files: a.files.map((f) => f.spec.name) })),
    perso: { ms: r.ms, apdus: r.apdus, bytes: r.bytes, filesVerified: r.filesVerified, certificates: r.certificates.map((c) => `${c.keyPair} → ${c.file}`) },
    readBack: {
      protocol: `${read.access.protocol} (${read.access.established.toUpperCase()}${read.access.pinVerified ? ', then the PIN' : ''})`,
      pinVerified: read.access.pinVerified,
      filesRead: perApp.reduce((n, a) => n + a.files, 0),
      passiveAuth: allValid ? 'valid' : 'NOT valid',
      applications: perApp,
      nameLatin: `${id?.primaryIdentifier ?? ''}${id?.secondaryIdentifier !== undefined ? `, ${id.secondaryIdentifier}` : ''}`,
      nameArabic: id?.fullNameArabic,
      fingerprints: h?.fingerprints.length ?? 0,
      faceBytes: h?.face?.image.length ?? 0,
      insurance: ins === undefined ? undefined : `${ins.insurer}, member ${ins.memberNumber}, class ${ins.class}, ${ins.dependants.length} dependant(s)`,
      licence: dl === undefined ? undefined : `${dl.number}, categories ${dl.categories.map((c) => c.category).join(', ')}, until ${dl.dateOfExpiry}`,
      accounts: h?.financialAccounts.length ?? 0,
      eServiceKeys: (read.eServices?.keys ?? []).map((k) => `${k.descriptor.label} (certificate ${k.certificateCheck.verdict})`),
      chipAuthentication: read.access.chipAuthentication.verdict,
      activeAuthentication: read.access.activeAuthentication.verdict,
      verdict: read.verdict,
    },
    read,
    lifeCycle: card.state.lifeCycle,
    refusedAgain,
    cardPath,
    ms: performance.now() - t0,
    ok,
  };
}

/** The main demo's report as lines of text. */
export function formatMainDemoReport(r: MainDemoReport): string[] {
  const lines = [
    `chipwright demo: ${r.profile} card for ${r.holderName} (${r.holderId}) on a simulated card`,
    `  serial ${r.serial}, ATR ${r.atr}`,
    '',
    `Personalized in ${r.perso.ms.toFixed(0)} ms: ${r.perso.apdus} APDUs under the personalization channel (SM under the transport key), ${(r.perso.bytes / 1024).toFixed(1)} KB written`,
  ];
  for (const a of r.applications) lines.push(`  ${a.name.padEnd(10)} ${(a.aid || 'MF').padEnd(16)} ${a.files.join(', ') || '(applet state)'}`);
  lines.push(`  ${r.perso.filesVerified} files read back and equal to what was written; keys generated on the card and certified: ${r.perso.certificates.join(', ')}`);
  lines.push('');
  lines.push(`Read back over ${r.readBack.protocol}: ${r.readBack.filesRead} files in ${r.readBack.applications.length} applications`);
  lines.push(`  name ${r.readBack.nameLatin}${r.readBack.nameArabic !== undefined ? ` / ${r.readBack.nameArabic}` : ''}`);
  lines.push(`  face ${r.readBack.faceBytes} bytes, ${r.readBack.fingerprints} fingerprints`);
  if (r.readBack.insurance !== undefined) lines.push(`  health insurance ${r.readBack.insurance}`);
  if (r.readBack.licence !== undefined) lines.push(`  driving licence ${r.readBack.licence}`);
  lines.push(`  ${r.readBack.accounts} financial account(s); e-services keys ${r.readBack.eServiceKeys.join(', ') || 'none'}`);
  lines.push(`  passive authentication: ${r.readBack.applications.map((a) => `${a.name} ${a.passiveAuth}`).join(', ')}`);
  lines.push(`  chip authentication ${r.readBack.chipAuthentication}, active authentication ${r.readBack.activeAuthentication} (keys generated on the card); the card reads as ${r.readBack.verdict.toUpperCase()}`);
  lines.push('');
  lines.push(`Card life cycle: personalization → ${r.lifeCycle}; personalizing it again ${r.refusedAgain ? 'is refused' : 'was NOT refused'}`);
  if (r.cardPath !== undefined) lines.push(`Card image saved to ${r.cardPath}`);
  lines.push('');
  lines.push(r.ok ? `Done in ${(r.ms / 1000).toFixed(1)} s: the card verifies.` : 'The card does NOT verify (see above).');
  return lines;
}
