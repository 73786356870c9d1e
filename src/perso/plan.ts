/**
 * The personalization plan: a prepared card → the ordered steps and their APDUs, each with the
 * response it must get — a write's read-back carries the expected bytes, so "read back and compare
 * every written file" is part of the plan, not an afterthought. Pure. {@link renderScript} prints
 * it in `apdu/`'s script format (one command a line, a comment naming each step, secrets as
 * `{NAME:N}` placeholders); `runner.ts` sends it.
 *
 * Order: MF (card-wide PINs, PUKs first, and keys) → each application in profile order (SELECT by
 * AID, or CREATE FILE of a plain DF; CREATE FILE + UPDATE BINARY / APPEND RECORD + read-back of
 * each file; its PINs and keys; key pairs generated on the card and their certificates) →
 * ACTIVATE FILE on the MF when the profile ends operational.
 *
 * Few APDUs: with extended length (ISO/IEC 7816-4 §5.1; the ATR's third software function byte)
 * a file is one CREATE FILE, one UPDATE BINARY and one READ BINARY whatever its size; without,
 * writes and reads go in 223-byte pieces, which still fit a short APDU once secure messaging has
 * wrapped them.
 *
 * @example
 * const plan = buildPlan(prepareCard(profile, holder, opts), { apdu: 'extended' });
 * writeFileSync('card.apdu', renderScript(plan));
 */
import { encodeCommandApdu, type CommandSpec } from '../apdu/command.js';
import { INS } from '../apdu/ins.js';
import { bytesToHex, concatBytes, u16 } from '../bytes/index.js';
import { encodeTlv } from '../tlv/ber.js';
import { fcpContents } from '../card/fs/fcp.js';
import { newDf, newRecordEf, newTransparentEf } from '../card/fs/file.js';
import { PERSO_SM_CLA, PERSO_SM_INS } from '../card/protocols/perso-sm.js';
import type { KeyPairSpec } from './profile.js';
import type { PreparedApplication, PreparedCard, PreparedFile, PreparedPin, PreparedKey } from './prepare.js';

/** Plain bytes, or a secret the script shows as `{NAME:N}` (its bytes stay in the plan, never printed). */
export type PlanPart = { readonly kind: 'bytes'; readonly bytes: Uint8Array } | { readonly kind: 'secret'; readonly name: string; readonly value: Uint8Array };

export interface PlanCommand {
  readonly parts: readonly PlanPart[];
  /** Expected response data (read-back); undefined = no data expected. `'any'` accepts anything. */
  readonly expectData?: Uint8Array | 'any';
  readonly expectSw: readonly number[];
  /** Shown as a trailing comment. */
  readonly note?: string;
}

export const STEP_KINDS = ['select', 'pins', 'keys', 'create-df', 'file', 'generate-key', 'activate'] as const;
export type StepKind = (typeof STEP_KINDS)[number];

export interface PlanStep {
  /** `identity/DG2`, `MF/pins`: stable, for journals and progress. */
  readonly id: string;
  /** The comment line in the script: what the step does. */
  readonly label: string;
  readonly kind: StepKind;
  readonly commands: readonly PlanCommand[];
  /** Payload bytes written by the step (progress). */
  readonly bytes: number;
  /** For a key generated on the card: what the runner does with the answer. */
  readonly generate?: { readonly app: PreparedApplication; readonly keyPair: KeyPairSpec; readonly certificate: PreparedFile | undefined };
  /** A security object over files made at run time: the runner signs, creates, writes and reads it back. */
  readonly sign?: { readonly app: PreparedApplication; readonly file: PreparedFile };
  /** A file made at run time from the keys generated above (DG14, DG15): the runner encodes, creates, writes and reads it back. */
  readonly derive?: { readonly app: PreparedApplication; readonly file: PreparedFile };
}

export interface Plan {
  readonly card: PreparedCard;
  readonly apdu: 'extended' | 'short';
  readonly steps: readonly PlanStep[];
}

export interface PlanOptions {
  /** Extended length or short APDUs (resolve 'auto' from the ATR first). */
  readonly apdu: 'extended' | 'short';
}

/** Largest plain data per short command/response so that the AES-SM-wrapped APDU stays short. */
export const SHORT_CHUNK = 223;

const bytes = (b: Uint8Array): PlanPart => ({ kind: 'bytes', bytes: b });
const OK: readonly number[] = [0x9000];

function cmd(spec: CommandSpec, extra: Partial<PlanCommand> = {}): PlanCommand {
  return { parts: [bytes(encodeCommandApdu(spec))], expectSw: OK, ...extra };
}

const selectMf = (): PlanCommand => cmd({ ins: INS.SELECT, p1: 0x00, p2: 0x0c, data: u16(0x3f00) }, { note: 'MF' });
const selectAid = (aid: Uint8Array): PlanCommand => cmd({ ins: INS.SELECT, p1: 0x04, p2: 0x0c, data: aid });
const selectFid = (fid: number): PlanCommand => cmd({ ins: INS.SELECT, p1: 0x02, p2: 0x0c, data: u16(fid) });

/** FCP of a file as CREATE FILE takes it (ISO/IEC 7816-9 §7.1.1). */
function fcpOf(f: PreparedFile): Uint8Array {
  const s = f.spec;
  const attrs = { ...(s.sfi !== undefined ? { sfi: s.sfi } : {}), ...(s.rules !== undefined ? { rules: s.rules } : {}), ...(s.encrypted ? { encrypted: true } : {}) };
  const node = s.type === 'transparent' ? newTransparentEf(s.fid, f.size, attrs) : newRecordEf(s.fid, s.type, s.recordLength!, s.records!, attrs);
  return encodeTlv(0x62, fcpContents(node));
}

/** UPDATE BINARY of `data` from offset 0: one extended command, or short pieces. */
export function writeCommands(data: Uint8Array, mode: 'extended' | 'short'): PlanCommand[] {
  if (data.length === 0) return [];
  if (mode === 'extended' || data.length <= SHORT_CHUNK) return [cmd({ ins: INS.UPDATE_BINARY, data })];
  const out: PlanCommand[] = [];
  for (let o = 0; o < data.length; o += SHORT_CHUNK) {
    out.push(cmd({ ins: INS.UPDATE_BINARY, p1: o >>> 8, p2: o & 0xff, data: data.subarray(o, Math.min(data.length, o + SHORT_CHUNK)) }));
  }
  return out;
}

/** READ BINARY of the whole file with the expected bytes. */
export function readBackCommands(data: Uint8Array, mode: 'extended' | 'short'): PlanCommand[] {
  if (data.length === 0) return [];
  if (mode === 'extended') return [cmd({ ins: INS.READ_BINARY, ne: data.length, extended: data.length > 256 }, { expectData: data, note: 'read back' })];
  const out: PlanCommand[] = [];
  for (let o = 0; o < data.length; o += SHORT_CHUNK) {
    const part = data.subarray(o, Math.min(data.length, o + SHORT_CHUNK));
    out.push(cmd({ ins: INS.READ_BINARY, p1: o >>> 8, p2: o & 0xff, ne: part.length }, { expectData: part, note: 'read back' }));
  }
  return out;
}

function fileStep(app: PreparedApplication, f: PreparedFile, mode: 'extended' | 'short'): PlanStep {
  const s = f.spec;
  const commands: PlanCommand[] = [];
  if (s.existing) commands.push(selectFid(s.fid));
  else commands.push(cmd({ ins: INS.CREATE_FILE, data: fcpOf(f) }, { note: 'the new file becomes the current EF' }));
  let n = 0;
  if (f.records !== undefined) {
    for (const r of f.records) commands.push(cmd({ ins: INS.APPEND_RECORD, data: r }));
    // Read back by record number: cyclic files number the newest 1 (ISO/IEC 7816-4 §7.3.2).
    const recs = f.records;
    const inOrder = s.type === 'cyclic' ? [...recs].reverse() : recs;
    const total = recs.reduce((a, r) => a + r.length, 0);
    if (mode === 'extended' && recs.length > 1) {
      // READ RECORD(S) P2 b3-b1 = 101, "from P1 up to the last" (ISO/IEC 7816-4 §11.3.3): every
      // record in one response, concatenated, checked byte for byte — one APDU instead of one
      // per record.
      commands.push(cmd({ ins: INS.READ_RECORDS, p1: 1, p2: 0x05, ne: total, extended: total > 256 }, { expectData: concatBytes(...inOrder), note: 'read back every record' }));
    } else {
      inOrder.forEach((expect, i) => {
        commands.push(cmd({ ins: INS.READ_RECORDS, p1: i + 1, p2: 0x04, ne: expect.length }, { expectData: expect, note: 'read back' }));
      });
    }
    n = recs.reduce((a, r) => a + r.length, 0);
  } else if (f.data !== undefined) {
    commands.push(...writeCommands(f.data, mode), ...readBackCommands(f.data, mode));
    n = f.data.length;
  }
  const what = s.type === 'transparent' ? `${n} bytes` : `${f.records?.length ?? 0} record${f.records?.length === 1 ? '' : 's'}`;
  const from = s.content !== undefined ? ` from ${s.content.from.length > 0 ? s.content.from.join(', ') : 'the profile'} (${s.content.encoder})` : '';
  return {
    id: `${app.spec.name}/${s.name}`,
    label: `${app.spec.name}: ${s.existing ? 'write' : 'create and write'} ${s.name} (FID ${hex4(s.fid)}${s.sfi !== undefined ? `, SFI ${hex2(s.sfi)}` : ''}), ${what}${from}, read back`,
    kind: 'file',
    commands,
    bytes: n,
  };
}

const hex2 = (n: number): string => n.toString(16).toUpperCase().padStart(2, '0');
const hex4 = (n: number): string => n.toString(16).toUpperCase().padStart(4, '0');

/** PUT DATA 0101 template (README "PINs, keys and data objects"). */
function pinCommand(p: PreparedPin, pukRef: number | undefined): PlanCommand {
  const s = p.spec;
  const head = concatBytes(encodeTlv(0x83, Uint8Array.of(s.ref)));
  const tail = concatBytes(
    encodeTlv(0x81, Uint8Array.of(s.minLength)),
    encodeTlv(0x82, Uint8Array.of(s.maxLength)),
    encodeTlv(0x86, Uint8Array.of(s.tries)),
    ...(pukRef !== undefined ? [encodeTlv(0x87, Uint8Array.of(pukRef))] : []),
    ...(s.unblocks !== undefined ? [encodeTlv(0x88, Uint8Array.of(s.unblocks))] : []),
  );
  const valueHeader = Uint8Array.of(0x80, p.value.length);
  const body = concatBytes(head, valueHeader, p.value, tail);
  const header = Uint8Array.of(0x00, INS.PUT_DATA, 0x01, 0x01, body.length);
  return {
    parts: [bytes(concatBytes(header, head, valueHeader)), { kind: 'secret', name: `PIN_${s.name}`, value: p.value }, bytes(tail)],
    expectSw: OK,
    note: `${s.name}, reference ${hex2(s.ref)}, ${s.tries} tries`,
  };
}

function keyCommand(k: PreparedKey): PlanCommand {
  const s = k.spec;
  const head = concatBytes(encodeTlv(0x83, Uint8Array.of(s.ref)), encodeTlv(0x89, Uint8Array.of(s.algorithm === '3des' ? 0x01 : 0x02)), Uint8Array.of(0x80, k.value.length));
  const tail = encodeTlv(0x86, Uint8Array.of(s.tries));
  const len = head.length + k.value.length + tail.length;
  return {
    parts: [bytes(concatBytes(Uint8Array.of(0x00, INS.PUT_DATA, 0x01, 0x02, len), head)), { kind: 'secret', name: `KEY_${s.name}`, value: k.value }, bytes(tail)],
    expectSw: OK,
    note: `${s.name}, reference ${hex2(s.ref)}, ${s.algorithm.toUpperCase()}`,
  };
}

function secretsStep(id: string, label: string, kind: 'pins' | 'keys', commands: PlanCommand[]): PlanStep {
  return { id, label, kind, commands, bytes: 0 };
}

/** GENERATE ASYMMETRIC KEY PAIR (ISO/IEC 7816-8 §5.1) into the slot. */
function generateCommand(k: KeyPairSpec, mode: 'extended' | 'short'): PlanCommand {
  const crt = encodeTlv(0xb6, encodeTlv(0x84, Uint8Array.of(k.ref)));
  return cmd({ ins: INS.GENERATE_ASYMMETRIC_KEY_PAIR, data: crt, ne: mode === 'extended' ? 65536 : 256 }, { expectData: 'any', note: 'answers the public key (7F49)' });
}

/**
 * The plan for a prepared card.
 *
 * @example buildPlan(prepared, { apdu: 'extended' }).steps.length
 */
export function buildPlan(card: PreparedCard, opts: PlanOptions): Plan {
  const mode = opts.apdu;
  const steps: PlanStep[] = [];
  const pinsIn = (app: string | undefined): PreparedPin[] => card.pins.filter((p) => p.spec.application === app);
  const keysIn = (app: string | undefined): PreparedKey[] => card.keys.filter((k) => k.spec.application === app);
  const pukRef = (p: PreparedPin): number | undefined => (p.spec.puk === undefined ? undefined : card.pins.find((x) => x.spec.name === p.spec.puk)?.spec.ref);
  const secrets = (scope: string, app: string | undefined): void => {
    const pins = pinsIn(app);
    if (pins.length > 0) {
      steps.push(secretsStep(`${scope}/pins`, `${scope}: load ${pins.map((p) => p.spec.name).join(', ')} (PUT DATA 0101; values are placeholders)`, 'pins', pins.map((p) => pinCommand(p, pukRef(p)))));
    }
    const keys = keysIn(app);
    if (keys.length > 0) steps.push(secretsStep(`${scope}/keys`, `${scope}: load keys ${keys.map((k) => k.spec.name).join(', ')} (PUT DATA 0102)`, 'keys', keys.map(keyCommand)));
  };

  steps.push({ id: 'MF/select', label: 'MF: select', kind: 'select', commands: [selectMf()], bytes: 0 });
  secrets('MF', undefined);
  for (const app of card.applications) {
    const a = app.spec;
    if (a.aid.length === 0) {
      steps.push({ id: `${a.name}/select`, label: `${a.name}: in the MF`, kind: 'select', commands: [selectMf()], bytes: 0 });
    } else if (a.applet === 'none') {
      const df = newDf(app.dfFid, a.aid, a.rules);
      steps.push({
        id: `${a.name}/create`,
        label: `${a.name}: create the application DF ${hex4(app.dfFid)} named ${bytesToHex(a.aid)}`,
        kind: 'create-df',
        commands: [selectMf(), cmd({ ins: INS.CREATE_FILE, data: encodeTlv(0x62, fcpContents(df)) }, { note: 'the new DF becomes the current DF' })],
        bytes: 0,
      });
    } else {
      steps.push({ id: `${a.name}/select`, label: `${a.name}: select application ${bytesToHex(a.aid)} (${a.applet})`, kind: 'select', commands: [selectMf(), selectAid(a.aid)], bytes: 0 });
    }
    for (const f of app.files) if (f.certificateOf === undefined && f.signLater === undefined && f.runtime !== true) steps.push(fileStep(app, f, mode));
    secrets(a.name, a.name);
    for (const k of app.keyPairs) {
      const certificate = k.certify === undefined ? undefined : app.files.find((f) => f.spec.name === k.certify!.file);
      steps.push({
        id: `${a.name}/key-${k.name}`,
        label: `${a.name}: generate key pair ${k.name} (reference ${hex2(k.ref)}, ${k.type === 'ec' ? k.curve : `RSA-${k.bits}`}) on the card${certificate ? `, certify it (${k.certify!.signer}) into ${certificate.spec.name} (FID ${hex4(certificate.spec.fid)}), read back` : ''}`,
        kind: 'generate-key',
        commands: [generateCommand(k, mode)],
        bytes: 0,
        generate: { app, keyPair: k, certificate },
      });
    }
    for (const f of app.files) {
      if (f.runtime !== true) continue;
      steps.push({
        id: `${a.name}/${f.spec.name}`,
        label: `${a.name}: ${f.spec.name} (FID ${hex4(f.spec.fid)}) from the public keys generated above (${f.spec.content!.encoder}), create, write, read back`,
        kind: 'file',
        commands: [],
        bytes: 0,
        derive: { app, file: f },
      });
    }
    for (const f of app.files) {
      if (f.signLater === undefined) continue;
      const so = f.signLater.securityObject;
      steps.push({
        id: `${a.name}/${f.spec.name}`,
        label: `${a.name}: sign ${f.spec.name} (${so.signer}, ${so.hash}) over ${[...so.covers.keys()].join(', ')} with the files made above, create it (FID ${hex4(f.spec.fid)}), write, read back`,
        kind: 'file',
        commands: [],
        bytes: 0,
        sign: { app, file: f },
      });
    }
  }
  if (card.profile.finalState === 'operational') {
    steps.push({
      id: 'MF/activate',
      label: 'MF: ACTIVATE FILE ends personalization (operational)',
      kind: 'activate',
      commands: [selectMf(), cmd({ ins: INS.ACTIVATE_FILE, data: u16(0x3f00) })],
      bytes: 0,
    });
  }
  return { card, apdu: mode, steps };
}

/** Total APDUs of a plan (GET RESPONSE and the channel opening not included). */
export function planApduCount(plan: Plan): number {
  // A run-time file (certificate, security object) takes CREATE FILE, UPDATE BINARY and a
  // read-back: 3 extended APDUs, or about 2 + 2 × 223-byte pieces of a ~1–2 KB file when short.
  const runtime = plan.apdu === 'extended' ? 3 : 4;
  return plan.steps.reduce((n, s) => n + s.commands.length + (s.generate?.certificate !== undefined || s.sign !== undefined || s.derive !== undefined ? runtime : 0), 0);
}

/** A command's bytes with secrets filled in (for sending). */
export function commandBytes(c: PlanCommand): Uint8Array {
  return c.parts.length === 1 && c.parts[0]!.kind === 'bytes' ? c.parts[0]!.bytes : concatBytes(...c.parts.map((p) => (p.kind === 'bytes' ? p.bytes : p.value)));
}

function spaced(b: Uint8Array): string {
  return bytesToHex(b, ' ');
}

function commandLine(c: PlanCommand): string {
  const text = c.parts.map((p) => (p.kind === 'bytes' ? spaced(p.bytes) : `{${p.name}:${p.value.length}}`)).join(' ');
  const data = c.expectData === undefined ? '' : c.expectData === 'any' ? '* ' : `${bytesToHex(c.expectData)} `;
  const sw = c.expectSw.map((s) => s.toString(16).toUpperCase().padStart(4, '0')).join(' | ');
  return `${text} => ${data}${sw}${c.note !== undefined ? `  # ${c.note}` : ''}`;
}

/**
 * The plan as an APDU script (apdu/README.md). Runnable with `chipwright script run` against a
 * card that accepts the commands in plain (the simulator does, once `@auth-transport` has run):
 * `chipwright perso` sends the same commands under the personalization channel's SM.
 *
 * @example renderScript(plan).split('\n')[0] // '# chipwright personalization script: profile qatar-id, holder 29963400001'
 */
export function renderScript(plan: Plan): string {
  const c = plan.card;
  const out: string[] = [
    `# chipwright personalization script: profile ${c.profile.name}, holder ${c.holderId}`,
    `# ${plan.steps.length} steps, ${planApduCount(plan)} commands, ${plan.apdu === 'extended' ? 'extended length' : 'short APDUs'}; secrets are {NAME:N} placeholders`,
    '',
    '# Open personalization with the transport key',
    '@auth-transport',
  ];
  if (c.profile.channel.secureMessaging) {
    out.push(
      `# chipwright perso then sends ${spaced(Uint8Array.of(PERSO_SM_CLA, PERSO_SM_INS, 0, 0, 0x10))} RND.IFD 00 (OPEN PERSONALIZATION CHANNEL,`,
      '# src/card/protocols/perso-sm.ts) and every command below under AES secure messaging keyed from the transport key.',
    );
  }
  for (const s of plan.steps) {
    out.push('', `# ${s.label}`);
    for (const cm of s.commands) out.push(commandLine(cm));
    if (s.generate?.certificate !== undefined) {
      const f = s.generate.certificate.spec;
      out.push(
        `#   the runner issues an X.509 certificate for the public key above (${s.generate.keyPair.certify!.signer}),`,
        `#   creates ${f.name} (FID ${hex4(f.fid)}) with CREATE FILE, writes it with UPDATE BINARY and reads it back.`,
      );
    }
    if (s.derive !== undefined) {
      out.push(`#   the runner encodes this file from the public keys generated above, creates ${s.derive.file.spec.name} with CREATE FILE, writes it with UPDATE BINARY and reads it back.`);
    }
    if (s.sign !== undefined) {
      out.push(`#   the runner signs this security object once the certificates above exist, creates ${s.sign.file.spec.name} with CREATE FILE, writes it with UPDATE BINARY and reads it back.`);
    }
  }
  return out.join('\n') + '\n';
}
