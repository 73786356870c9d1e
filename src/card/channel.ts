/**
 * A logical channel's transient state (ISO/IEC 7816-4 §5.4.1, §7.1.3): current DF, current EF,
 * current record, the selected applet, the security status and the secure-messaging session.
 * Each channel has its own; none of it is persisted, and power-off or reset clears it.
 */
import type { CommandApdu } from '../apdu/command.js';
import type { DedicatedFile, ElementaryFile } from './fs/file.js';
import type { KeyObject, PinObject } from './security/objects.js';
import type { Applet } from './applet.js';
import type { AppletRecord } from './state.js';

/**
 * The seam for secure messaging (ISO/IEC 7816-4 §10; built in the secure-messaging issue). A
 * session set on a channel unwraps every SM-marked command and wraps its response. Any failure
 * throws StatusWordError(6987/6988); the OS then ends the session and clears the security status.
 */
export interface SecureMessagingSession {
  unwrapCommand(cmd: CommandApdu): CommandApdu;
  wrapResponse(data: Uint8Array, sw: number): Uint8Array;
  /** Called when the session ends for any reason: wipe keys and counters. */
  end?(): void;
}

export interface SelectedApplet {
  readonly record: AppletRecord;
  readonly applet: Applet;
  readonly df: DedicatedFile;
}

/** Command chaining in progress on a channel (ISO/IEC 7816-4 §5.3.3). */
export interface Chain {
  readonly ins: number;
  readonly p1: number;
  readonly p2: number;
  readonly parts: Uint8Array[];
  total: number;
}

export class Channel {
  df: DedicatedFile;
  ef: ElementaryFile | null = null;
  /** Current record number in the current EF (1-based; 0 = none), ISO/IEC 7816-4 §7.3.1. */
  record = 0;
  applet: SelectedApplet | null = null;
  /** PIN objects verified on this channel (identity of the object scopes it to its DF). */
  readonly pins = new Set<PinObject>();
  /** Keys used successfully with EXTERNAL AUTHENTICATE on this channel. */
  readonly keys = new Set<KeyObject>();
  /** Transport key authenticated (personalization state only). */
  persoAuthenticated = false;
  /** Last GET CHALLENGE, consumed by the next authentication. */
  challenge: Uint8Array | null = null;
  sm: SecureMessagingSession | null = null;
  chain: Chain | null = null;

  constructor(
    readonly id: number,
    mf: DedicatedFile,
  ) {
    this.df = mf;
  }

  /** Clears the whole security status (reset, SM failure, channel close). */
  clearSecurity(): void {
    this.pins.clear();
    this.keys.clear();
    this.persoAuthenticated = false;
    this.challenge = null;
    this.sm?.end?.();
    this.sm = null;
  }
}
