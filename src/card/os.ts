/**
 * The simulated chip: power, ATR, the APDU pipeline and the one place where failures become
 * status words. Layering follows PersoSim: I/O → chaining / GET RESPONSE → secure messaging →
 * command dispatch (access rules first) → handlers.
 *
 * @example A test in five lines
 * const card = createCard();
 * const atr = card.powerOn();
 * const r = card.transmit(hexToBytes('00A4000C023F00')); // → 9000
 * card.powerOff();
 * saveCardImage(card, 'card.json');
 */
import { SW, StatusWordError, isSuccessSw } from '../apdu/status.js';
import { decodeCla, parseCommandApdu, type CommandApdu } from '../apdu/command.js';
import { encodeResponseApdu, swBytes } from '../apdu/response.js';
import { INS } from '../apdu/ins.js';
import { concatBytes, hexToBytes } from '../bytes/index.js';
import { DEFAULT_CAPABILITIES, buildAtr, parseAtr } from '../atr/index.js';
import { NvMemory, PowerLoss } from './nv.js';
import { CardRng } from './rng.js';
import { Channel, type SelectedApplet } from './channel.js';
import { CommandContext, type CardEvent, type CardInternals } from './context.js';
import type { Applet, AppletFactory } from './applet.js';
import type { AppletRecord, CardState } from './state.js';
import { LCS, newDf, type DedicatedFile, type FileNode } from './fs/file.js';
import { attach, dfByExactName, isWithin } from './fs/tree.js';
import { NEVER } from './security/access.js';
import { newKey } from './security/objects.js';
import type { CommandHandler, HandlerResult } from './dispatch.js';
import { OS_COMMANDS } from './commands/index.js';

/**
 * The documented default transport key of test cards (the well-known GlobalPlatform test key
 * 40..4F). Real cards get their own with `--transport-key` / {@link CardOptions.transportKey}.
 */
export const DEFAULT_TRANSPORT_KEY: Uint8Array = hexToBytes('404142434445464748494A4B4C4D4E4F');

export interface CardOptions {
  /** ATR to answer with; default: T=1, historical bytes announcing this OS's capabilities. */
  readonly atr?: Uint8Array;
  /** 3DES (16/24 bytes) or AES (16/24/32 bytes, with `transportKeyAlgorithm: 'aes'`). */
  readonly transportKey?: Uint8Array;
  readonly transportKeyAlgorithm?: '3des' | 'aes';
  /** Bytes the RNG hands out first (conformance replay); then it continues securely. */
  readonly rng?: Uint8Array;
  /** Non-volatile capacity for files in bytes (default 1 MiB). */
  readonly capacity?: number;
  /** Logical channels, 1–20 (default 4). */
  readonly maxChannels?: number;
  /** Applet types this card can install and reload from an image. */
  readonly applets?: readonly AppletFactory[];
  /** Receives internal errors and power losses (never secrets). Default: none. */
  readonly onEvent?: (e: CardEvent) => void;
  /** AES-256 storage key sealing encrypted files in the image (default: drawn when first needed). */
  readonly storageKey?: Uint8Array;
  /** Chip serial number (default: 8 random bytes). */
  readonly serial?: Uint8Array;
}

interface Pending {
  readonly channel: number;
  readonly data: Uint8Array;
  readonly sw: number;
}

const EMPTY = new Uint8Array(0);
const MAX_CHAIN = 65535;

export class Card implements CardInternals {
  readonly nv = new NvMemory();
  readonly rng: CardRng;
  readonly events: CardEvent[] = [];
  private powered = false;
  private readonly channels: (Channel | undefined)[] = [];
  private readonly contexts: (CommandContext | undefined)[] = [];
  private pending: Pending | null = null;
  private readonly factories = new Map<string, AppletFactory>();
  private readonly appletByDf = new Map<DedicatedFile, SelectedApplet>();
  private readonly onEvent: ((e: CardEvent) => void) | undefined;

  /** Use {@link createCard} or `loadCardImage`. */
  constructor(
    readonly state: CardState,
    opts: Pick<CardOptions, 'rng' | 'applets' | 'onEvent'> = {},
  ) {
    this.rng = new CardRng(opts.rng);
    this.onEvent = opts.onEvent;
    for (const f of opts.applets ?? []) this.factories.set(f.type, f);
    this.rebuildApplets();
  }

  /** The ATR this card answers with. */
  get atr(): Uint8Array {
    return this.state.atr;
  }

  get isPowered(): boolean {
    return this.powered;
  }

  /** Test hooks: cut power at the N-th non-volatile write from now. */
  get faults(): { cutPowerAtWrite(n: number): void } {
    return this.nv;
  }

  emit(e: CardEvent): void {
    if (this.events.length >= 100) this.events.shift();
    this.events.push(e);
    this.onEvent?.(e);
  }

  // --- power ---------------------------------------------------------------------------------

  /**
   * Cold reset: recovers an interrupted transaction (rolls the journal back), opens the basic
   * channel with the MF current, and returns the ATR (ISO/IEC 7816-3 §6.2).
   */
  powerOn(): Uint8Array {
    this.nv.rollback();
    this.clearTransient();
    this.powered = true;
    return this.state.atr.slice();
  }

  /** Warm reset (ISO/IEC 7816-3 §6.2.3): same effect on state as a cold reset here. */
  reset(): Uint8Array {
    return this.powerOn();
  }

  /** Deactivation: transient state is lost, non-volatile state stays. */
  powerOff(): void {
    this.nv.rollback();
    this.clearTransient();
    this.powered = false;
  }

  private clearTransient(): void {
    // Applets hear about the end of their selection (power-off, reset, power loss) so they can
    // wipe transient secrets such as session keys; a failing hook must not stop the reset.
    for (let i = 0; i < this.channels.length; i++) {
      const ch = this.channels[i];
      const ctx = this.contexts[i];
      if (ch?.applet && ctx) {
        try {
          ch.applet.applet.deselect?.(ctx);
        } catch (e) {
          this.emit({ type: 'internal-error', ins: -1, error: `deselect at reset: ${e instanceof Error ? e.message : String(e)}` });
        }
      }
      ch?.clearSecurity();
    }
    this.channels.length = 0;
    this.contexts.length = 0;
    this.pending = null;
    this.openChannelAt(0);
  }

  private openChannelAt(n: number): Channel {
    const ch = new Channel(n, this.state.mf);
    // A channel starts in the MF, inside the card-level applet if there is one (no select hook:
    // nothing was selected).
    ch.applet = this.appletAt(this.state.mf);
    this.channels[n] = ch;
    const ctx = new CommandContext(this, ch);
    this.contexts[n] = ctx;
    return ch;
  }

  // --- logical channels (used by MANAGE CHANNEL) ------------------------------------------------

  /**
   * Opens a channel (ISO/IEC 7816-4 §11.1.2). `requested` 0 = the card assigns. The new channel's
   * current DF is the MF when opened from the basic channel, else the issuing channel's DF.
   */
  openChannel(from: Channel, requested: number): number {
    let n = requested;
    if (n === 0) {
      n = -1;
      for (let i = 1; i < this.state.maxChannels; i++) {
        if (this.channels[i] === undefined) {
          n = i;
          break;
        }
      }
      if (n < 0) throw new StatusWordError(SW.LOGICAL_CHANNEL_NOT_SUPPORTED, 'no free channel');
    } else if (n >= this.state.maxChannels || this.channels[n] !== undefined) {
      throw new StatusWordError(SW.LOGICAL_CHANNEL_NOT_SUPPORTED, `channel ${n} unavailable`);
    }
    this.openChannelAt(n);
    if (from.id !== 0) {
      const ctx = this.contexts[n]!;
      ctx.setCurrentDf(from.df);
      if (from.ef) ctx.setCurrentEf(from.ef);
    }
    return n;
  }

  closeChannel(n: number): void {
    const ch = this.channels[n];
    if (n === 0 || ch === undefined) {
      throw new StatusWordError(SW.LOGICAL_CHANNEL_NOT_SUPPORTED, `channel ${n} not open`);
    }
    const ctx = this.contexts[n]!;
    ch.applet?.applet.deselect?.(ctx);
    ch.clearSecurity();
    this.channels[n] = undefined;
    this.contexts[n] = undefined;
  }

  // --- applets --------------------------------------------------------------------------------

  /** The applet whose DF is `df` or the nearest DF above it, if any. */
  appletAt(df: DedicatedFile): SelectedApplet | null {
    if (this.appletByDf.size === 0) return null;
    for (let x: DedicatedFile | null = df; x !== null; x = x.parent) {
      const a = this.appletByDf.get(x);
      if (a) return a;
    }
    return null;
  }

  /**
   * Installs an applet of a registered type under `aid`: creates its DF under the MF (FID given or
   * the next free one from 0x7F00) and runs its `install`. Commits on success.
   *
   * An empty `aid` installs the card-level applet, which lives in the MF itself (at most one):
   * its commands answer wherever no nearer applet defines the same INS — the place for protocols
   * that run before any application is selected, like PACE with EF.CardAccess in the MF
   * (ICAO 9303-11 §4.4) — and its `install` may create files in the MF.
   */
  install(aid: Uint8Array, type: string, params: Uint8Array = EMPTY, fid?: number): void {
    const factory = this.factories.get(type);
    if (!factory) throw new Error(`applet type "${type}" is not registered with this card`);
    const cardLevel = aid.length === 0;
    if (!cardLevel && (aid.length < 5 || aid.length > 16)) {
      throw new Error(`aid: expected 5..16 bytes (or none for the card-level applet), got ${aid.length}`);
    }
    if (cardLevel && this.state.applets.some((r) => r.aid.length === 0)) {
      throw new Error('a card-level applet is already installed');
    }
    const mf = this.state.mf;
    const record: AppletRecord = { aid: aid.slice(), type, params: params.slice(), lifeCycle: 'selectable', store: [] };
    try {
      let df = mf;
      if (!cardLevel) {
        let f = fid ?? 0x7f00;
        if (fid === undefined) while (mf.children.some((c) => c.fid === f)) f++;
        df = newDf(f, aid.slice(), { delete: NEVER, terminate: NEVER, create: NEVER, activate: NEVER, deactivate: NEVER });
        attach(this.nv, mf, df);
      }
      this.nv.splice(this.state.applets, this.state.applets.length, 0, record);
      const applet = factory.create(record.params);
      applet.install?.({ df, nv: this.nv, rng: this.rng, record });
      this.nv.commit();
    } catch (e) {
      this.nv.rollback();
      throw e;
    }
    this.rebuildApplets();
    // Channels standing in the MF see the new card-level applet at once.
    if (cardLevel) for (const ch of this.channels) if (ch && ch.applet === null) ch.applet = this.appletAt(ch.df);
  }

  /** Rebuilds the DF → applet map (after install, load or a DELETE FILE). */
  private readonly appletOfRecord = new WeakMap<AppletRecord, Applet>();

  rebuildApplets(): void {
    this.appletByDf.clear();
    for (const record of this.state.applets) {
      const df = record.aid.length === 0 ? this.state.mf : dfByExactName(this.state.mf, record.aid);
      if (!df || record.lifeCycle !== 'selectable') continue;
      const factory = this.factories.get(record.type);
      if (!factory) {
        throw new Error(
          `applet type "${record.type}" (AID ${Buffer.from(record.aid).toString('hex').toUpperCase()}) is not registered; pass its factory in CardOptions.applets`,
        );
      }
      // An applet already made for this very record is kept: installing a second applet must
      // not re-create (and re-parse the parameters of) every one before it.
      let applet = this.appletOfRecord.get(record);
      if (applet === undefined) {
        applet = factory.create(record.params);
        this.appletOfRecord.set(record, applet);
      }
      this.appletByDf.set(df, { record, df, applet });
    }
  }

  /** Removes an applet record whose DF was deleted (called by DELETE FILE). */
  forgetAppletsUnder(df: DedicatedFile): void {
    for (let i = this.state.applets.length - 1; i >= 0; i--) {
      const r = this.state.applets[i]!;
      if (r.aid.length === 0) continue;
      const adf = dfByExactName(this.state.mf, r.aid);
      if (adf === undefined || isWithin(adf, df)) this.nv.splice(this.state.applets, i, 1);
    }
  }

  fileDeleted(f: FileNode, parent: DedicatedFile): void {
    if (f.kind === 'DF') {
      this.forgetAppletsUnder(f);
      this.rebuildApplets();
    }
    for (let i = 0; i < this.channels.length; i++) {
      const ch = this.channels[i];
      if (ch === undefined) continue;
      if (isWithin(ch.df, f as DedicatedFile) || (ch.ef !== null && isWithin(ch.ef, f as DedicatedFile))) {
        this.contexts[i]!.setCurrentDf(parent);
      }
    }
  }

  // --- the APDU pipeline ----------------------------------------------------------------------

  /**
   * Sends one command APDU and returns the response APDU (data + SW). Never throws: malformed
   * input gets its ISO status word, anything unexpected 6F00 (and an `internal-error` event).
   * Without power, or when power is cut during the command, the card is mute (empty result).
   */
  transmit(apdu: Uint8Array): Uint8Array {
    if (!this.powered) return EMPTY;
    try {
      const out = this.process(apdu);
      this.nv.commit();
      return out;
    } catch (e) {
      this.nv.rollback();
      if (e instanceof PowerLoss) {
        this.emit({ type: 'power-loss', writeIndex: e.writeIndex });
        this.powered = false;
        this.clearTransient();
        return EMPTY;
      }
      return swBytes(this.errorToSw(e, apdu[1] ?? 0));
    }
  }

  /**
   * The one place where failures become status words: `StatusWordError` gives its SW, anything
   * else is a bug that becomes 6F00 and is reported as an event. Power loss is rethrown.
   */
  private errorToSw(e: unknown, ins: number): number {
    if (e instanceof PowerLoss) throw e;
    if (e instanceof StatusWordError) return e.sw;
    this.emit({ type: 'internal-error', ins, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
    return SW.UNKNOWN;
  }

  private process(bytes: Uint8Array): Uint8Array {
    // Pending GET RESPONSE data survives only until the next command, whatever that command is.
    const pending = this.pending;
    this.pending = null;
    let cmd: CommandApdu;
    try {
      cmd = parseCommandApdu(bytes);
    } catch (e) {
      // A malformed APDU marked as SM on a channel with a session is an SM failure (its Lc is
      // covered by the MAC): the session ends and the answer is 6988 (ICAO 9303-11 §9.8.6).
      const cla = bytes.length > 0 ? decodeCla(bytes[0]!) : undefined;
      const ch = cla !== undefined && cla.sm !== 'none' ? this.channels[cla.channel] : undefined;
      if (ch?.sm) {
        ch.clearSecurity();
        throw new StatusWordError(SW.SM_DO_INCORRECT, 'malformed SM command');
      }
      throw e;
    }
    const chNo = cmd.cla.channel;
    const channel = chNo < this.state.maxChannels ? this.channels[chNo] : undefined;
    if (channel === undefined) {
      throw new StatusWordError(SW.LOGICAL_CHANNEL_NOT_SUPPORTED, `channel ${chNo} not open`);
    }
    const ctx = this.contexts[chNo]!;

    // Secure messaging (ISO/IEC 7816-4 §10): unwrap, or end the session on a plain command.
    let plain = cmd;
    const sm = channel.sm;
    if (cmd.cla.sm !== 'none') {
      if (sm === null) throw new StatusWordError(SW.SM_NOT_SUPPORTED);
      try {
        plain = sm.unwrapCommand(cmd);
      } catch (e) {
        channel.clearSecurity();
        throw e;
      }
    } else if (sm !== null) {
      // ICAO 9303-11 §9.8.5: a plain command ends the SM session and its security status.
      channel.clearSecurity();
    }

    let data: Uint8Array;
    let sw: number;
    try {
      const r = this.execute(plain, channel, ctx, pending);
      data = r.data;
      sw = r.sw;
    } catch (e) {
      // Changes of a failed command are undone before its status word is sent.
      this.nv.rollback();
      data = EMPTY;
      sw = this.errorToSw(e, plain.ins);
    }
    // The response to an SM command is protected by the session that unwrapped it — also when
    // the handler has just installed new keys (Chip Authentication, PACE re-run), which take effect
    // from the next command. Only a session ended by an SM error answers in plain.
    if (sm !== null && cmd.cla.sm !== 'none' && channel.sm !== null) return sm.wrapResponse(data, sw);
    return encodeResponseApdu(data, sw);
  }

  private execute(
    cmd: CommandApdu,
    channel: Channel,
    ctx: CommandContext,
    pending: Pending | null,
  ): { data: Uint8Array; sw: number } {
    // GET RESPONSE (ISO/IEC 7816-4 §11.7.1) is served from the pending buffer. Hosts commonly
    // repeat the previous command's class byte, so a proprietary CLA is accepted here too.
    if (cmd.ins === INS.GET_RESPONSE) return this.getResponse(cmd, channel, pending);

    const handler = this.lookup(cmd, channel, ctx);
    if (handler === undefined) {
      channel.chain = null;
      throw new StatusWordError(
        cmd.cla.kind === 'proprietary' && OS_COMMANDS[cmd.ins] !== undefined ? SW.CLA_NOT_SUPPORTED : SW.INS_NOT_SUPPORTED,
      );
    }

    // Command chaining (ISO/IEC 7816-4 §5.3.3). A step-chained handler (GENERAL AUTHENTICATE)
    // answers every command of its chain itself.
    let c = cmd;
    if (cmd.cla.chaining && handler.stepChaining !== true) {
      if (handler.chaining !== true) {
        channel.chain = null;
        throw new StatusWordError(SW.CHAINING_NOT_SUPPORTED);
      }
      const ch = channel.chain;
      if (ch !== null && (ch.ins !== cmd.ins || ch.p1 !== cmd.p1 || ch.p2 !== cmd.p2)) {
        channel.chain = null;
        throw new StatusWordError(SW.LAST_COMMAND_OF_CHAIN_EXPECTED);
      }
      const chain = ch ?? { ins: cmd.ins, p1: cmd.p1, p2: cmd.p2, parts: [], total: 0 };
      chain.total += cmd.data.length;
      if (chain.total > MAX_CHAIN) {
        channel.chain = null;
        throw new StatusWordError(SW.WRONG_LENGTH, 'chained data exceeds 65535 bytes');
      }
      chain.parts.push(cmd.data.slice());
      channel.chain = chain;
      return { data: EMPTY, sw: SW.OK };
    }
    if (channel.chain !== null) {
      const ch = channel.chain;
      channel.chain = null;
      if (ch.ins !== cmd.ins || ch.p1 !== cmd.p1 || ch.p2 !== cmd.p2) {
        throw new StatusWordError(SW.LAST_COMMAND_OF_CHAIN_EXPECTED);
      }
      c = { ...cmd, data: concatBytes(...ch.parts, cmd.data) };
    }

    if (handler.personalization === true) {
      if (this.state.lifeCycle !== 'personalization') {
        throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, 'card is not in personalization state');
      }
      if (!channel.persoAuthenticated) {
        throw new StatusWordError(SW.SECURITY_STATUS_NOT_SATISFIED, 'transport key not authenticated');
      }
    }
    let target = undefined;
    if (handler.access !== undefined) {
      const t = handler.access(c, ctx);
      if (t !== undefined) {
        ctx.checkAccess(t.file, t.op);
        target = t.file;
      }
    }
    return this.finish(c, channel, handler.run(c, ctx, target));
  }

  /**
   * The selected applet's table first, then the OS's. The OS's interindustry commands answer only
   * interindustry classes: a proprietary class (b8 = 1) means a proprietary command (ISO/IEC
   * 7816-4 §5.4.1), e.g. GlobalPlatform's 80 E4 DELETE must never reach DELETE FILE.
   */
  private lookup(cmd: CommandApdu, channel: Channel, ctx: CommandContext): CommandHandler | undefined {
    const mine = channel.applet?.applet.commands?.[cmd.ins];
    if (mine !== undefined && (mine.when === undefined || mine.when(cmd, ctx))) return mine;
    const cardLevel = this.appletByDf.get(this.state.mf);
    const atCard = cardLevel !== undefined && cardLevel !== channel.applet ? cardLevel.applet.commands?.[cmd.ins] : undefined;
    if (atCard !== undefined && (atCard.when === undefined || atCard.when(cmd, ctx))) return atCard;
    const os = cmd.cla.kind === 'proprietary' ? undefined : OS_COMMANDS[cmd.ins];
    // Nobody claims it: the nearest handler answers (with its own "not for me" status word).
    return os ?? mine ?? atCard;
  }


  /**
   * Fits response data to Ne (ISO/IEC 7816-4 §5.1, §11.7.1): data beyond Ne — or any data when
   * Le was absent — is kept for GET RESPONSE and announced with 61XX.
   */
  private finish(cmd: CommandApdu, channel: Channel, r: HandlerResult): { data: Uint8Array; sw: number } {
    let data: Uint8Array;
    let sw: number;
    if (r === undefined) return { data: EMPTY, sw: SW.OK };
    if (r instanceof Uint8Array) {
      data = r;
      sw = SW.OK;
    } else {
      data = r.data;
      sw = r.sw;
    }
    if (data.length === 0 || data.length <= cmd.ne || !isSuccessSw(sw)) return { data, sw };
    const first = data.subarray(0, cmd.ne);
    const rest = data.slice(cmd.ne);
    this.pending = { channel: channel.id, data: rest, sw };
    return { data: first, sw: 0x6100 | (rest.length > 255 ? 0 : rest.length) };
  }

  private getResponse(cmd: CommandApdu, channel: Channel, p: Pending | null): { data: Uint8Array; sw: number } {
    if (p === null || p.channel !== channel.id) {
      throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, 'no response data pending');
    }
    // Errors below keep the data pending, so the host can retry with a correct command.
    this.pending = p;
    if (cmd.p1 !== 0 || cmd.p2 !== 0) throw new StatusWordError(SW.INCORRECT_P1P2);
    const n = p.data.length;
    if (cmd.ne === 0) throw new StatusWordError(SW.WRONG_LENGTH, 'GET RESPONSE needs Le');
    // An explicit short Le larger than what is left is answered 6CXX (SW2 = exact length); an
    // extended Le, or 00, is an upper bound.
    if (!cmd.extended && cmd.ne > n && cmd.ne !== 256) {
      return { data: EMPTY, sw: SW.WRONG_LE | n };
    }
    if (cmd.ne >= n) {
      this.pending = null;
      return { data: p.data, sw: p.sw };
    }
    const rest = p.data.subarray(cmd.ne);
    this.pending = { channel: p.channel, data: rest, sw: p.sw };
    return { data: p.data.subarray(0, cmd.ne), sw: 0x6100 | (rest.length > 255 ? 0 : rest.length) };
  }
}

/** A blank card: MF only, in personalization state. */
export function createCard(opts: CardOptions = {}): Card {
  const algorithm = opts.transportKeyAlgorithm ?? '3des';
  const rng = new CardRng();
  const mf = newDf(0x3f00, undefined, {
    create: NEVER,
    delete: NEVER,
    activate: NEVER,
    deactivate: NEVER,
    terminate: NEVER,
  });
  // ISO/IEC 7816-4 §7.4.10: the MF is in initialisation (03) until ACTIVATE FILE ends personalization.
  mf.lcs = LCS.INITIALISATION;
  const maxChannels = opts.maxChannels ?? 4;
  if (!Number.isInteger(maxChannels) || maxChannels < 1 || maxChannels > 20) {
    throw new Error(`maxChannels: expected 1..20, got ${maxChannels}`);
  }
  const state: CardState = {
    serial: opts.serial?.slice() ?? rng.bytes(8),
    atr: opts.atr ? checkedAtr(opts.atr) : atrFor(maxChannels),
    lifeCycle: 'personalization',
    storageKey: opts.storageKey?.slice(),
    transportKey: newKey({
      ref: 0,
      algorithm,
      value: opts.transportKey ?? DEFAULT_TRANSPORT_KEY,
      label: 'transport key',
      maxTries: 15,
    }),
    mf,
    applets: [],
    capacity: opts.capacity ?? 1 << 20,
    maxChannels,
  };
  return new Card(state, opts);
}

/** The default ATR, announcing this OS's capabilities with the card's number of channels. */
function atrFor(maxChannels: number): Uint8Array {
  return buildAtr({
    protocols: [1],
    capabilities: {
      ...DEFAULT_CAPABILITIES,
      logicalChannels: { ...DEFAULT_CAPABILITIES.logicalChannels, max: Math.min(8, maxChannels) },
    },
  });
}

/** A caller's ATR must parse (ISO/IEC 7816-3 §8): a host would choke on anything else. */
function checkedAtr(atr: Uint8Array): Uint8Array {
  parseAtr(atr);
  return atr.slice();
}
