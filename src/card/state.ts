/**
 * The card's non-volatile state: everything a card image holds. Transient state (current files,
 * security status, channels, SM sessions) lives in {@link Channel} and is never persisted.
 */
import type { DedicatedFile } from './fs/file.js';
import type { KeyObject } from './security/objects.js';

/**
 * Card life cycle (ISO/IEC 7816-4 §7.4.10 applied to the MF): `personalization` (MF in
 * initialisation state, LCS 03) until ACTIVATE FILE on the MF moves it to `operational` (LCS 05),
 * irreversibly; `terminated` after TERMINATE DF on the MF.
 */
export const CARD_LIFE_CYCLES = ['personalization', 'operational', 'terminated'] as const;
export type CardLifeCycle = (typeof CARD_LIFE_CYCLES)[number];

/** An installed applet: which factory made it, its parameters, and its own life cycle. */
export interface AppletRecord {
  readonly aid: Uint8Array;
  /** Name of the {@link AppletFactory} that builds it (resolved again when an image loads). */
  readonly type: string;
  readonly params: Uint8Array;
  /** GlobalPlatform-style: `selectable` answers SELECT, `locked` does not (6A82). */
  lifeCycle: 'selectable' | 'locked';
  /** The applet's own non-volatile key/value store (journalled like every other write). */
  store: { key: string; value: Uint8Array }[];
}

export interface CardState {
  serial: Uint8Array;
  atr: Uint8Array;
  lifeCycle: CardLifeCycle;
  /**
   * The card-unique AES-256 storage key of the protected key store, sealing encrypted files (and
   * private keys) in the card image. Never leaves the card through any command. Created when the
   * card first has something to seal (a chip gets it at manufacture; a simulated card lazily, so
   * images without sealed content stay as they were).
   */
  storageKey: Uint8Array | undefined;
  /**
   * The image key the storage key is wrapped under in the card image (given when the image was
   * loaded or is saved; never written itself). Absent: the image holds the storage key as it is.
   */
  imageKey?: Uint8Array | undefined;
  /** Key used with EXTERNAL AUTHENTICATE P2=00 during personalization (never after). */
  transportKey: KeyObject;
  mf: DedicatedFile;
  applets: AppletRecord[];
  /** Bytes of non-volatile memory for files (CREATE FILE answers 6A84 beyond it). */
  capacity: number;
  maxChannels: number;
}
