/**
 * What a command handler (OS or applet) is given besides the parsed command: the file system,
 * the channel's security status, transactions (the journalled NV memory), randomness and the
 * card's life cycle. One context exists per logical channel and is reused for every command.
 */
import { SW, StatusWordError } from '../apdu/status.js';
import type { NvMemory } from './nv.js';
import type { CardRng } from './rng.js';
import type { Channel, SelectedApplet } from './channel.js';
import type { CardLifeCycle, CardState, AppletRecord } from './state.js';
import {
  LCS,
  isTerminated,
  owningDf,
  type DedicatedFile,
  type ElementaryFile,
  type FileNode,
} from './fs/file.js';
import { isWithin } from './fs/tree.js';
import { ruleFor, satisfies, type AccessOp, type SecurityFacts } from './security/access.js';
import type { KeyObject, PinObject } from './security/objects.js';
import { pacePasswordInForce } from './protocols/pace.js';
import type { PacePasswordKind } from '../crypto/pace.js';

/** Events the card reports to its host (never containing secrets). */
export type CardEvent =
  | { readonly type: 'internal-error'; readonly ins: number; readonly error: string }
  | { readonly type: 'power-loss'; readonly writeIndex: number };

/** The card internals a context reaches; implemented by the card OS. */
export interface CardInternals {
  readonly state: CardState;
  readonly nv: NvMemory;
  readonly rng: CardRng;
  emit(event: CardEvent): void;
  /** The applet whose DF is `df` or the nearest DF above it. */
  appletAt(df: DedicatedFile): SelectedApplet | null;
  /** Opens a logical channel (MANAGE CHANNEL); returns its number. */
  openChannel(from: Channel, requested: number): number;
  closeChannel(n: number): void;
  /** After DELETE FILE: forget applets under it, move channels that stood in it to its parent. */
  fileDeleted(f: FileNode, parent: DedicatedFile): void;
}

export class CommandContext implements SecurityFacts {
  /** DF against which PIN/KEY references are resolved during a rule evaluation. */
  private scope: DedicatedFile;

  constructor(
    readonly card: CardInternals,
    readonly channel: Channel,
  ) {
    this.scope = card.state.mf;
  }

  get nv(): NvMemory {
    return this.card.nv;
  }
  get rng(): CardRng {
    return this.card.rng;
  }
  get state(): CardState {
    return this.card.state;
  }
  get lifeCycle(): CardLifeCycle {
    return this.card.state.lifeCycle;
  }
  get mf(): DedicatedFile {
    return this.card.state.mf;
  }

  // --- security facts (for access rules) -------------------------------------------------------

  pinVerified(ref: number): boolean {
    const p = findPin(this.scope, ref);
    return p !== undefined && this.channel.pins.has(p);
  }
  keyAuthenticated(ref: number): boolean {
    const k = findKey(this.scope, ref);
    return k !== undefined && this.channel.keys.has(k);
  }
  get secureMessaging(): boolean {
    return this.channel.sm !== null;
  }
  /**
   * The PACE condition's fact. PACE sets it when its last step succeeds: the channel's SM session
   * becomes a `PaceSmSession` naming the password (`protocols/pace.ts`, ICAO 9303-11 §4.4); it ends
   * with that session (plain command, SM error, reset, BAC replacing it) and survives Chip
   * Authentication, which re-keys inside a `PaceSmSession` (ICAO 9303-11 §6.2).
   */
  get pacePassword(): PacePasswordKind | undefined {
    return pacePasswordInForce(this.channel);
  }

  /**
   * Checks that `op` may be done on `file` now: the life cycle of the file and its DFs (6985 when
   * deactivated or terminated, ISO/IEC 7816-9), then the access rule (6982). During
   * personalization a channel authenticated with the transport key may do everything.
   */
  checkAccess(file: FileNode, op: AccessOp): void {
    for (let x: FileNode | null = file; x !== null; x = x.parent) {
      if (x.lcs === LCS.ACTIVATED) continue;
      const self = x === file;
      // ISO/IEC 7816-9 §8: a terminated file can only be deleted; a deactivated one only
      // (re)activated, deactivated again (no-op), terminated or deleted.
      if (isTerminated(x)) {
        if (self && op === 'delete') continue;
        throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, 'file terminated');
      }
      if (x.lcs === LCS.DEACTIVATED) {
        if (!(self && (op === 'activate' || op === 'deactivate' || op === 'delete' || op === 'terminate'))) {
          throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, 'file deactivated');
        }
      }
    }
    // An encrypted file's content leaves the card only under secure messaging, whatever its
    // rule says and whoever asks (issue: encrypted storage).
    if (op === 'read' && file.kind === 'EF' && file.encrypted === true && this.channel.sm === null) {
      throw new StatusWordError(SW.SECURITY_STATUS_NOT_SATISFIED, 'encrypted file: secure messaging required');
    }
    if (this.card.state.lifeCycle === 'personalization' && this.channel.persoAuthenticated) return;
    this.scope = owningDf(file);
    if (!satisfies(ruleFor(file.rules, op), this)) {
      throw new StatusWordError(SW.SECURITY_STATUS_NOT_SATISFIED, `${op} not allowed`);
    }
  }

  /**
   * True when the PIN `ref`, resolved from `df` upwards as access rules resolve it, is verified on
   * this channel — for handlers that gate an operation on a PIN themselves.
   */
  pinVerifiedIn(df: DedicatedFile, ref: number): boolean {
    const p = findPin(df, ref);
    return p !== undefined && this.channel.pins.has(p);
  }

  // --- current files ----------------------------------------------------------------------------

  /**
   * Makes `df` the current DF (EF and record cleared). Specific security status of DFs that are no
   * longer on the path is dropped (ISO/IEC 7816-4 §7.5.2: status scoped to the DF that owns it).
   */
  setCurrentDf(df: DedicatedFile): void {
    const ch = this.channel;
    if (ch.df !== df) {
      for (const p of ch.pins) if (!pinStillInScope(p, df)) ch.pins.delete(p);
      for (const k of ch.keys) if (!keyStillInScope(k, df)) ch.keys.delete(k);
      const applet = this.card.appletAt(df);
      if (applet !== ch.applet) {
        ch.applet?.applet.deselect?.(this);
        ch.applet = applet;
        ch.df = df;
        applet?.applet.select?.(this);
      }
    }
    ch.df = df;
    ch.ef = null;
    ch.record = 0;
  }

  setCurrentEf(ef: ElementaryFile): void {
    if (ef.parent && ef.parent !== this.channel.df) this.setCurrentDf(ef.parent);
    if (this.channel.ef !== ef) this.channel.record = 0;
    this.channel.ef = ef;
  }

  /** The current EF or 6986 (ISO/IEC 7816-4: command not allowed, no current EF). */
  currentEf(): ElementaryFile {
    const ef = this.channel.ef;
    if (ef === null) throw new StatusWordError(SW.COMMAND_NOT_ALLOWED_NO_EF);
    return ef;
  }

  /** The applet record selected on this channel, if any. */
  get appletRecord(): AppletRecord | undefined {
    return this.channel.applet?.record;
  }
}

/** Finds a PIN by reference from `df` upwards (specific refs stay in their DF, global in MF). */
export function findPin(df: DedicatedFile, ref: number): PinObject | undefined {
  for (let x: DedicatedFile | null = df; x !== null; x = x.parent) {
    const ps = x.pins;
    for (let i = 0; i < ps.length; i++) if (ps[i]!.ref === ref) return ps[i];
    if ((ref & 0x80) === 0 && x.parent === null) return undefined;
  }
  return undefined;
}

export function findKey(df: DedicatedFile, ref: number): KeyObject | undefined {
  for (let x: DedicatedFile | null = df; x !== null; x = x.parent) {
    const ks = x.keys;
    for (let i = 0; i < ks.length; i++) if (ks[i]!.ref === ref) return ks[i];
  }
  return undefined;
}

/** The DF that owns a PIN object, found by walking from `df` (transient lookups only). */
function ownerOf<T>(df: DedicatedFile, obj: T, pick: (d: DedicatedFile) => readonly T[]): DedicatedFile | undefined {
  for (let x: DedicatedFile | null = df; x !== null; x = x.parent) if (pick(x).includes(obj)) return x;
  return undefined;
}

function pinStillInScope(p: PinObject, df: DedicatedFile): boolean {
  const owner = ownerOf(df, p, (d) => d.pins);
  return owner !== undefined && isWithin(df, owner);
}

function keyStillInScope(k: KeyObject, df: DedicatedFile): boolean {
  const owner = ownerOf(df, k, (d) => d.keys);
  return owner !== undefined && isWithin(df, owner);
}

/** Given to {@link Applet.install}: the applet's DF and the journalled memory to build it with. */
export interface InstallContext {
  readonly df: DedicatedFile;
  readonly nv: NvMemory;
  readonly rng: CardRng;
  readonly record: AppletRecord;
}
