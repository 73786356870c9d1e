/**
 * The model every vector format reads into (`vector-format.ts` for chipwright's own format,
 * `etsi-ts-101-955.ts`, `apdutool.ts`, `scriptor.ts` for the others) and the runner executes: a
 * header saying what the vectors are, where they come from and what card they run on, and a list
 * of steps. The model is richer than any one foreign format, and chipwright's format can write
 * every part of it, so any script can be converted and recorded sessions come out in one format.
 */
import type { BytePattern, SwPattern, Template } from './pattern.js';

/** The formats `chipwright replay` reads. */
export const VECTOR_FORMATS = ['chipwright', 'etsi', 'apdutool', 'scriptor'] as const;
export type VectorFormat = (typeof VECTOR_FORMATS)[number];

/**
 * A vector file that cannot be used: a syntax error, or a header naming something that does not
 * exist (a card image, an applet module). `line` is 1-based; 0 means the file as a whole.
 */
export class VectorError extends Error {
  override readonly name = 'VectorError';
  constructor(
    readonly source: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(line > 0 ? `${source}:${line}: ${reason}` : `${source}: ${reason}`);
  }
}

/**
 * The card a file runs on.
 * - `blank`: a new simulated card (MF only, personalization state, the test transport key).
 * - `image`: a simulated card loaded from a card image (`path` resolved against the vector file).
 * - `profile`: a card personalized from a profile and holder data (`src/perso`) with a test PKI,
 *   once per distinct pair in a replay and cloned for each file; its generated PINs and the test
 *   CSCA are the predefined secrets `{PIN}`, `{CAN}`, `{PUK}`, `{CSCA}` (by the profile's names).
 * - `external`: whatever the runner is given (`--card`, `--reader`); recordings of real cards.
 */
export type CardSpec =
  | { readonly kind: 'blank' }
  | { readonly kind: 'image'; readonly path: string; readonly written: string }
  | { readonly kind: 'profile'; readonly profile: string; readonly data: string; readonly written: string }
  | { readonly kind: 'external' };

/**
 * Capabilities a file may require. The ATR decides the first three when it carries card
 * capabilities (ISO/IEC 7816-4 §12.1.1.9); the others are declarations a run can exclude
 * (`--without`), since no standard object announces them. `one-byte-command` is the path's, not
 * the card's: a 1-byte command APDU (malformed, ISO/IEC 7816-3 §12.1.3) reaches the card as is —
 * not through vsmartcard's vpcd, whose 1-byte frames are power controls (exclude it there).
 */
export const CAPABILITIES = ['extended-length', 'chaining', 'logical-channels', 'personalization', 'bac', 'pace', 'one-byte-command'] as const;
export type CapabilityName = (typeof CAPABILITIES)[number];

export interface Capability {
  readonly name: CapabilityName;
  /** For `logical-channels N`: at least N channels (the basic one included). */
  readonly count?: number;
}

export interface VectorHeader {
  /** What the file tests (one line). */
  readonly name: string;
  /** Publication the vectors come from, and/or the clause they exercise. */
  readonly source: string | undefined;
  readonly clause: string | undefined;
  readonly card: CardSpec;
  /** Line of the `card:` field (0 when defaulted), for errors about the card. */
  readonly cardLine: number;
  readonly requires: readonly Capability[];
  /** Bytes the simulated card's RNG hands out first. */
  readonly rng: Uint8Array | undefined;
  /** Applet modules (absolute paths) the card's applet types come from. */
  readonly applets: readonly string[];
}

/** What a response must look like: data (undefined: must be empty) and acceptable status words. */
export interface Expectation {
  /** `undefined`: no data allowed; a pattern of one `*`: any data. */
  readonly data: BytePattern | undefined;
  /** Acceptable status words; empty: any (formats that check data only). */
  readonly sw: readonly SwPattern[];
}

/** `capture NAME[start..end]`: bytes of the response data kept under a name for later steps. */
export interface Capture {
  readonly name: string;
  readonly start: number;
  /** Exclusive; undefined = to the end of the data. */
  readonly end: number | undefined;
}

interface StepBase {
  /** 1-based line where the step starts. */
  readonly line: number;
  /** The comment line above the step (reports group by it). */
  readonly label: string | undefined;
  /** A trailing comment on the step's line. */
  readonly note: string | undefined;
}

export interface CommandStep extends StepBase {
  readonly kind: 'command';
  readonly apdu: Template;
  /** Undefined: sent and shown, not checked. */
  readonly expect: Expectation | undefined;
  readonly captures: readonly Capture[];
}

/** Cold reset (`power on`) or warm reset (`reset`), optionally checking the ATR. */
export interface ResetStep extends StepBase {
  readonly kind: 'power-on' | 'reset';
  readonly atr: BytePattern | undefined;
}

export interface PowerOffStep extends StepBase {
  readonly kind: 'power-off';
}

/** GET CHALLENGE + EXTERNAL AUTHENTICATE with the transport key (opens personalization). */
export interface TransportAuthStep extends StepBase {
  readonly kind: 'transport-auth';
  /** The key; undefined = the runner's (`--transport-key`, default the test key). */
  readonly key: Template | undefined;
  readonly algorithm: '3des' | 'aes' | undefined;
}

/** `let NAME = …`: a named value for later `{NAME}` references. */
export interface LetStep extends StepBase {
  readonly kind: 'let';
  readonly name: string;
  readonly value: Template;
}

export interface DelayStep extends StepBase {
  readonly kind: 'delay';
  readonly ms: number;
}

export interface EchoStep extends StepBase {
  readonly kind: 'echo';
  readonly text: string;
}

/** A text value as written (`L898902C<369080619406236`), or a `{NAME}` reference to one. */
export type TextValue = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'ref'; readonly name: string };

/** A PACE password (ICAO 9303-11 §4.4.1): the MRZ information, the CAN, the PIN or the PUK. */
export type PacePasswordSpec = { readonly kind: 'mrz' | 'can' | 'pin' | 'puk'; readonly value: TextValue };

export type SessionSpec =
  | { readonly protocol: 'bac'; readonly mrz: TextValue; readonly terminalRandom: Template | undefined }
  | {
      readonly protocol: 'pace';
      readonly password: PacePasswordSpec;
      readonly cardAccess: Template | undefined;
      readonly parameterId: number | undefined;
      readonly oid: string | undefined;
      readonly terminalRandom: Template | undefined;
    };

/**
 * Steps run under secure messaging after BAC or PACE: the commands are written (and checked) in
 * plain, the session protects them on the wire. With `fails`, the handshake itself must be refused
 * with one of those status words and the block is empty.
 */
export interface SessionStep extends StepBase {
  readonly kind: 'session';
  readonly spec: SessionSpec;
  readonly fails: readonly SwPattern[] | undefined;
  readonly steps: readonly Step[];
  /** Line of the closing `end` (the session line for a one-line failing handshake). */
  readonly endLine: number;
}

/** A data group handed to a passive-authentication check: its number and the value's name. */
export interface CheckedFile {
  readonly dataGroup: number;
  readonly name: string;
}

/**
 * `check passive-authentication sod={SOD} dg1={DG1} … [csca={CSCA}] [=> valid|invalid]`: passive
 * authentication (ICAO 9303-11 §5.1) over values captured earlier — EF.SOD and data groups as
 * read — against the CSCA certificate `csca` names (default `{CSCA}`, which a `card: profile`
 * provides). Nothing is sent to the card.
 */
export interface CheckStep extends StepBase {
  readonly kind: 'check';
  readonly check: 'passive-authentication';
  /** Name of the EF.SOD value. */
  readonly sod: string;
  readonly dataGroups: readonly CheckedFile[];
  /** Name of the CSCA certificate (DER) value. */
  readonly csca: string;
  /** Whether `csca=` was written (the default is left out when the step is written back). */
  readonly cscaGiven: boolean;
  /** The verdict the step expects: `valid` (default), or `invalid` for a tampered input. */
  readonly expect: 'valid' | 'invalid';
}

export type Step = CommandStep | ResetStep | PowerOffStep | TransportAuthStep | LetStep | DelayStep | EchoStep | SessionStep | CheckStep;

export interface Vector {
  /** The file as named to people (path as given). */
  readonly source: string;
  readonly format: VectorFormat;
  readonly header: VectorHeader;
  readonly steps: readonly Step[];
  /**
   * `{NAME}` references no earlier `let` or `capture` defines: values the runner must be given
   * (`--secrets`), checked before anything is sent.
   */
  readonly secrets: readonly string[];
}

/** Every step, those inside sessions included, in order. */
export function* allSteps(steps: readonly Step[]): Generator<Step> {
  for (const s of steps) {
    yield s;
    if (s.kind === 'session') yield* allSteps(s.steps);
  }
}
