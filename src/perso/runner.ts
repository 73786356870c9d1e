/**
 * Sending a plan (the separate step after pure preparation): over any {@link Transport} — the
 * in-process simulator, a PC/SC reader, a vpcd virtual card.
 *
 * 1. SELECT MF with its FCP: an MF whose life-cycle status is operational (05) is refused before
 *    anything is sent that could change the card; GET DATA 46 gives the chip serial.
 * 2. The personalization channel: transport key, then SM under it (`channel.ts`).
 * 3. Every step's commands, each response checked against the plan — status word and, for
 *    read-backs, the bytes written. Keys generated on the card are certified and the certificate
 *    written and read back like any file.
 * 4. The last step (ACTIVATE FILE on the MF) makes the card operational.
 *
 * Failures are {@link PersoError}s naming the step, the command and the status word; the card is
 * then spoiled unless nothing was written yet (`written` false).
 *
 * @example
 * const r = await personalize(new InProcessTransport(card), plan, { transportKey });
 * `${r.serial} ${r.holderId} ${r.ms.toFixed(0)} ms`
 */
import { encodeCommandApdu } from '../apdu/command.js';
import { INS } from '../apdu/ins.js';
import { parseResponseApdu } from '../apdu/response.js';
import { bytesToHex, equalBytes, u16 } from '../bytes/index.js';
import { parseAtr } from '../atr/index.js';
import { findTlv, parseTlv } from '../tlv/ber.js';
import { decodePublicKeyTemplate, encodeSubjectPublicKeyInfo, type EcCurveName, type PublicKeyInfo } from '../crypto/asymmetric.js';
import { getEncoder, type EncoderContext } from './encoders.js';
import { CardMuteError, type Transport } from '../transport/types.js';
import type { TransportKey } from '../script/transport-auth.js';
import { openPersoChannel, PersoChannelError } from './channel.js';
import { commandBytes, readBackCommands, writeCommands, type Plan, type PlanCommand, type PlanStep } from './plan.js';
import type { PreparedFile } from './prepare.js';
import { issueCertificate } from './signers.js';
import { buildSod } from '../lds/sod.js';
import { encodeTlv } from '../tlv/ber.js';
import { fcpContents } from '../card/fs/fcp.js';
import { newTransparentEf } from '../card/fs/file.js';

export type PersoFailure =
  /** The card is operational (or terminated): refused, nothing sent that changes it. */
  | 'operational'
  /** The transport key or the personalization channel failed. */
  | 'channel'
  /** A command answered another status word than the plan expects. */
  | 'status'
  /** A read-back differs from what was written. */
  | 'mismatch'
  /** The card stopped answering (removed, power lost). */
  | 'card-removed'
  /** Something else (certificate issuing, a malformed answer). */
  | 'error';

export class PersoError extends Error {
  override readonly name = 'PersoError';
  constructor(
    readonly reason: PersoFailure,
    message: string,
    /** The step that failed (`identity/DG2`), if any. */
    readonly step: string | undefined,
    /** True when the card may have been changed (it is spoiled). */
    readonly written: boolean,
    readonly sw?: number,
    readonly serial?: string,
  ) {
    super(message);
  }
}

export interface PersoProgress {
  readonly step: PlanStep;
  readonly index: number;
  readonly total: number;
  /** APDUs sent so far (the channel opening included). */
  readonly apdus: number;
  readonly bytes: number;
  readonly totalBytes: number;
}

export interface PersoRunOptions {
  readonly transportKey: TransportKey;
  /** The ATR, to check extended length against the plan (when known). */
  readonly atr?: Uint8Array;
  /** Before a step is sent (journals record "writing step N" here). */
  readonly onStepStart?: (step: PlanStep, index: number, serial: string) => void | Promise<void>;
  /** After a step passed. */
  readonly onStep?: (p: PersoProgress) => void | Promise<void>;
  /** Once the serial is known, before anything is written. */
  readonly onSerial?: (serial: string) => void | Promise<void>;
}

export interface CertificateIssued {
  readonly application: string;
  readonly keyPair: string;
  readonly file: string;
  readonly certificate: Uint8Array;
}

export interface PersoResult {
  readonly serial: string;
  readonly holderId: string;
  readonly ms: number;
  readonly apdus: number;
  readonly bytes: number;
  readonly steps: number;
  /** Files read back and equal to what was written. */
  readonly filesVerified: number;
  readonly certificates: readonly CertificateIssued[];
  readonly lifeCycle: 'operational' | 'personalization';
}

const swHex = (sw: number): string => sw.toString(16).toUpperCase().padStart(4, '0');

/** MF life-cycle status from SELECT MF with FCP (P2 04), ISO/IEC 7816-4 §7.4.10; undefined if not told. */
async function mfLifeCycle(t: Transport): Promise<number | undefined> {
  const r = parseResponseApdu(await t.transmit(encodeCommandApdu({ ins: INS.SELECT, p1: 0x00, p2: 0x04, data: u16(0x3f00), ne: 256 })));
  if (r.sw !== 0x9000) return undefined;
  try {
    const fcp = parseTlv(r.data);
    const lcs = findTlv(fcp.children ?? [], 0x8a);
    return lcs?.value[0];
  } catch {
    return undefined;
  }
}

async function chipSerial(t: Transport): Promise<string> {
  const r = parseResponseApdu(await t.transmit(encodeCommandApdu({ ins: INS.GET_DATA, p1: 0x00, p2: 0x46, ne: 256 })));
  if (r.sw !== 0x9000) return 'unknown';
  try {
    return bytesToHex(parseTlv(r.data).value);
  } catch {
    return bytesToHex(r.data);
  }
}

/**
 * Personalizes the card behind `transport` (connected) with `plan`.
 */
export async function personalize(transport: Transport, plan: Plan, opts: PersoRunOptions): Promise<PersoResult> {
  const start = performance.now();
  const holderId = plan.card.holderId;
  let apdus = 0;
  let written = false;
  let serial = 'unknown';
  let stepId: string | undefined;
  const fail = (reason: PersoFailure, message: string, sw?: number): PersoError => new PersoError(reason, message, stepId, written, sw, serial);

  if (opts.atr !== undefined && plan.apdu === 'extended' && parseAtr(opts.atr).capabilities?.extendedLength !== true) {
    throw fail('channel', "the plan uses extended length, which the card's ATR does not offer; set channel.apdu: short in the profile");
  }
  try {
    const lcs = await mfLifeCycle(transport);
    apdus++;
    if (lcs !== undefined && lcs !== 0x03 && lcs !== 0x01) {
      serial = await chipSerial(transport);
      throw fail('operational', `card ${serial} is ${lcs === 0x05 ? 'operational' : `in life-cycle state ${lcs.toString(16).padStart(2, '0')}`}: already personalized, refused`);
    }
    serial = await chipSerial(transport);
    apdus++;
    await opts.onSerial?.(serial);
    let channel: Transport;
    try {
      channel = await openPersoChannel(transport, opts.transportKey, { secureMessaging: plan.card.profile.channel.secureMessaging });
    } catch (e) {
      if (e instanceof PersoChannelError) throw fail(e.reason === 'operational' ? 'operational' : 'channel', `card ${serial}: ${e.message}`, e.sw);
      throw e;
    }
    apdus += plan.card.profile.channel.secureMessaging ? 3 : 2;

    const send = async (c: PlanCommand | Uint8Array, what: string): Promise<Uint8Array> => {
      const bytes = c instanceof Uint8Array ? c : commandBytes(c);
      const r = parseResponseApdu(await channel.transmit(bytes));
      apdus++;
      const expectSw = c instanceof Uint8Array ? [0x9000] : c.expectSw;
      if (!expectSw.includes(r.sw)) {
        const hint = r.sw === 0x6a89 ? ' (the file exists already: the card was personalized before)' : r.sw === 0x6a84 ? ' (the card is full)' : '';
        throw fail('status', `${what}: the card answered ${swHex(r.sw)}, expected ${expectSw.map(swHex).join(' or ')}${hint}`, r.sw);
      }
      if (!(c instanceof Uint8Array) && c.expectData !== undefined && c.expectData !== 'any' && !equalBytes(r.data, c.expectData)) {
        throw fail('mismatch', `${what}: read back ${r.data.length} bytes that differ from the ${c.expectData.length} written`);
      }
      return r.data;
    };

    let bytes = 0;
    const totalBytes = plan.steps.reduce((n, s) => n + s.bytes, 0);
    let filesVerified = 0;
    const certificates: CertificateIssued[] = [];
    // Public keys generated on the card (application → key pair → key) and files made during the run (application/file → bytes).
    const publicKeys = new Map<string, Map<string, PublicKeyInfo>>();
    const made = new Map<string, Uint8Array>();
    for (const [i, step] of plan.steps.entries()) {
      stepId = step.id;
      await opts.onStepStart?.(step, i, serial);
      if (step.kind !== 'select') written = true;
      for (const [j, c] of step.commands.entries()) {
        const data = await send(c, `${step.id} command ${j + 1}`);
        if (step.generate !== undefined && j === step.commands.length - 1) {
          const g = step.generate;
          const info = decodePublicKeyTemplate(data, g.keyPair.curve !== undefined ? { curve: g.keyPair.curve as EcCurveName } : {});
          const keys = publicKeys.get(g.app.spec.name) ?? new Map<string, PublicKeyInfo>();
          publicKeys.set(g.app.spec.name, keys.set(g.keyPair.name, info));
          const issued = await certify(step, info, plan, send);
          if (issued !== undefined) {
            certificates.push(issued);
            made.set(`${issued.application}/${issued.file}`, issued.certificate);
            filesVerified++;
          }
        }
      }
      if (step.derive !== undefined) {
        const { app, file } = step.derive;
        const content = file.spec.content!;
        const ctx: EncoderContext = { holder: plan.card.holder, holderId: plan.card.holderId, application: app.spec, file: file.spec, present: new Set(app.files.map((f) => f.spec.name)), now: plan.card.now, earlier: () => undefined };
        const bytes = getEncoder(content.encoder)!.runtime!(ctx, content, publicKeys.get(app.spec.name) ?? new Map());
        await writeRuntimeFile(step, file.spec, bytes, plan, send);
        made.set(`${app.spec.name}/${file.spec.name}`, bytes);
      }
      if (step.sign !== undefined) await signLater(step, made, plan, send);
      // Every file step — prepared, derived (DG14, DG15) or signed at run time — writes one file and reads it back.
      if (step.kind === 'file') filesVerified++;
      bytes += step.bytes;
      await opts.onStep?.({ step, index: i, total: plan.steps.length, apdus, bytes, totalBytes });
    }
    stepId = undefined;
    return {
      serial,
      holderId,
      ms: performance.now() - start,
      apdus,
      bytes,
      steps: plan.steps.length,
      filesVerified,
      certificates,
      lifeCycle: plan.card.profile.finalState,
    };
  } catch (e) {
    if (e instanceof PersoError) throw e;
    if (e instanceof CardMuteError || (e instanceof Error && /removed|no card|did not answer|mute/i.test(e.message))) {
      throw fail('card-removed', `card ${serial}: ${e.message}${stepId !== undefined ? ` (during ${stepId})` : ''}`);
    }
    throw fail('error', `${e instanceof Error ? e.message : String(e)}${stepId !== undefined ? ` (during ${stepId})` : ''}`);
  }
}

/** Creates a transparent EF for bytes made at run time, writes them and reads them back. */
async function writeRuntimeFile(
  step: PlanStep,
  spec: PreparedFile['spec'],
  data: Uint8Array,
  plan: Plan,
  send: (c: PlanCommand | Uint8Array, what: string) => Promise<Uint8Array>,
): Promise<void> {
  const size = spec.size === 'fit' ? data.length : spec.size;
  if (data.length > size) throw new Error(`${step.id}: ${spec.name} is ${data.length} bytes, the file holds ${size}`);
  const attrs = { ...(spec.sfi !== undefined ? { sfi: spec.sfi } : {}), ...(spec.rules !== undefined ? { rules: spec.rules } : {}), ...(spec.encrypted ? { encrypted: true } : {}) };
  const fcp = encodeTlv(0x62, fcpContents(newTransparentEf(spec.fid, size, attrs)));
  await send(encodeCommandApdu({ ins: INS.CREATE_FILE, data: fcp }), `${step.id} CREATE FILE ${spec.name}`);
  for (const c of writeCommands(data, plan.apdu)) await send(c, `${step.id} UPDATE BINARY ${spec.name}`);
  for (const c of readBackCommands(data, plan.apdu)) await send(c, `${step.id} read back ${spec.name}`);
}

/**
 * A security object over certificates issued during this run (ICAO 9303-10 §4.6.2 EF.SOD, as the
 * e-services application keeps one): signed now that their bytes exist, then written.
 */
async function signLater(
  step: PlanStep,
  made: ReadonlyMap<string, Uint8Array>,
  plan: Plan,
  send: (c: PlanCommand | Uint8Array, what: string) => Promise<Uint8Array>,
): Promise<void> {
  const { app, file } = step.sign!;
  const later = file.signLater!;
  const dgs = new Map(later.known);
  for (const [name, n] of later.later) {
    const bytes = made.get(`${app.spec.name}/${name}`);
    if (bytes === undefined) throw new Error(`${step.id}: ${name} was not made, ${file.spec.name} cannot cover it`);
    dgs.set(n, bytes);
  }
  const sod = buildSod(dgs, later.signer, { hashAlgorithm: later.securityObject.hash, signingTime: plan.card.now });
  await writeRuntimeFile(step, file.spec, sod, plan, send);
}

/** After GENERATE ASYMMETRIC KEY PAIR: the certificate issued and written (create, write, read back). */
async function certify(
  step: PlanStep,
  info: PublicKeyInfo,
  plan: Plan,
  send: (c: PlanCommand | Uint8Array, what: string) => Promise<Uint8Array>,
): Promise<CertificateIssued | undefined> {
  const g = step.generate!;
  const k = g.keyPair;
  const f: PreparedFile | undefined = g.certificate;
  if (f === undefined || k.certify === undefined) return undefined;
  const issuer = plan.card.cardIssuer;
  if (issuer === undefined) throw new Error(`${step.id}: no card-issuer signer to certify the key`);
  const usageBits = k.usage.includes('decipher') || k.usage.includes('key-agreement') ? (k.type === 'ec' ? 0x08 : 0x20) : 0x80;
  const certificate = issueCertificate({
    issuer,
    subject: { commonName: `${plan.card.holderName} ${k.name}`.slice(0, 64), serialNumber: plan.card.holderId },
    publicKey: encodeSubjectPublicKeyInfo(info),
    keyUsage: usageBits,
    now: new Date(plan.card.now.getTime() - 60_000),
  });
  const spec = f.spec;
  await writeRuntimeFile(step, spec, certificate, plan, send);
  return { application: g.app.spec.name, keyPair: k.name, file: spec.name, certificate };
}
