/**
 * The instruction dispatch table. The card OS owns one frozen table of interindustry commands;
 * applets bring their own frozen tables, consulted first while the applet is selected. Nothing
 * patches a table after it is built.
 */
import type { CommandApdu } from '../apdu/command.js';
import type { ResponseApdu } from '../apdu/response.js';
import type { FileNode } from './fs/file.js';
import type { AccessOp } from './security/access.js';
import type { CommandContext } from './context.js';

/** What a handler returns: data with 9000, a full response (warnings), or nothing (9000). */
export type HandlerResult = Uint8Array | ResponseApdu | void;

/** The object a command acts on and the operation, checked against its access rule first. */
export interface AccessTarget {
  readonly file: FileNode;
  readonly op: AccessOp;
}

export interface CommandHandler {
  /** Command name for traces ("READ BINARY"). */
  readonly name: string;
  /**
   * Resolves the file the command acts on and the operation, without side effects, so the OS
   * checks lifecycle and access rules before `run` (STYLE principle 5). Throws StatusWordError
   * for a bad reference (6A82, 6986...).
   */
  readonly access?: (cmd: CommandApdu, ctx: CommandContext) => AccessTarget | undefined;
  /** Does the work. Runs only when `access` (if any) was satisfied. */
  readonly run: (cmd: CommandApdu, ctx: CommandContext, target: FileNode | undefined) => HandlerResult;
  /**
   * Whether this handler is meant for the command in the channel's state (e.g. an MSE:SET for its
   * protocol). When present and false, the OS looks further — the card-level applet, then its own
   * table — so an application's Chip Authentication does not hide PACE run inside it.
   */
  readonly when?: (cmd: CommandApdu, ctx: CommandContext) => boolean;
  /** Accepts command chaining (ISO/IEC 7816-4 §5.3.3); otherwise a chained CLA answers 6884. */
  readonly chaining?: boolean;
  /**
   * Each command of a chain is a protocol step with its own response — GENERAL AUTHENTICATE in
   * PACE and Chip Authentication (ICAO 9303-11 §4.4.4.2, BSI TR-03110-3 §B.1). The OS does not
   * collect such a chain: every command reaches `run` as it comes, `cmd.cla.chaining` telling
   * whether more follow.
   */
  readonly stepChaining?: boolean;
  /**
   * A personalization command: needs the transport key while the card is in personalization,
   * refused with 6985 for ever once it is operational.
   */
  readonly personalization?: boolean;
}

export type InsTable = Readonly<Partial<Record<number, CommandHandler>>>;

/** Builds a frozen INS table; a duplicate INS is a programming error. */
export function defineInsTable(...entries: readonly (readonly [number, CommandHandler])[]): InsTable {
  const t: Partial<Record<number, CommandHandler>> = {};
  for (const [ins, h] of entries) {
    if (t[ins] !== undefined) throw new Error(`INS ${ins.toString(16)} defined twice (${h.name})`);
    t[ins] = Object.freeze(h);
  }
  return Object.freeze(t);
}

/** Merges tables into a new frozen one (later tables may not redefine an INS). */
export function mergeInsTables(...tables: readonly InsTable[]): InsTable {
  const entries: [number, CommandHandler][] = [];
  for (const t of tables) {
    for (const [k, v] of Object.entries(t)) if (v) entries.push([Number(k), v]);
  }
  return defineInsTable(...entries);
}
