/**
 * A line protocol over any transport, as `chipwright sim --stdio` speaks it: one command APDU in
 * hex per input line, one response line (upper-case hex, SW1-SW2 included) per command.
 *
 * - Blank lines and lines starting with `#` are ignored (so an `.apdu` file without expectations
 *   can be piped in); text after a `#` on a command line is a comment.
 * - A line that is not hex never reaches the card (hex that is not a valid APDU does: the card
 *   answers it with its status word, 6700 for fewer than four bytes, as a real card would):
 *   `onReject` is told why, and the session answers it with an **empty line** so requests and
 *   answers stay in lock-step for a program driving the session over a pipe (an empty answer is
 *   also what a mute card gives). The session goes on.
 */
import { bytesToHex, hexToBytes, ByteInputError } from '../bytes/index.js';
import type { Transport } from '../transport/types.js';

export interface LineSessionHandlers {
  /** One output line (without the line end): a response, or empty for a rejected line. */
  readonly respond: (line: string) => void;
  /** Why input line `lineNo` (1-based) was rejected. */
  readonly onReject: (lineNo: number, reason: string) => void;
  /** After each command the card answered (e.g. to save the card when its state changed). */
  readonly afterCommand?: () => void;
}

export interface LineSessionResult {
  /** Commands sent to the card. */
  readonly commands: number;
  /** Input lines rejected (not hex). */
  readonly rejected: number;
}

/**
 * Serves `lines` until they end. A transport failure is thrown (after the lines so far were
 * answered).
 *
 * @example await serveLines(transport, readLines(process.stdin), { respond: console.log, onReject: ... })
 */
export async function serveLines(transport: Transport, lines: AsyncIterable<string>, h: LineSessionHandlers): Promise<LineSessionResult> {
  let lineNo = 0;
  let commands = 0;
  let rejected = 0;
  for await (const raw of lines) {
    lineNo++;
    const hash = raw.indexOf('#');
    const text = (hash < 0 ? raw : raw.slice(0, hash)).trim();
    if (text.length === 0) continue;
    let apdu: Uint8Array;
    try {
      apdu = hexToBytes(text, 'APDU');
    } catch (e) {
      if (!(e instanceof ByteInputError)) throw e;
      rejected++;
      h.onReject(lineNo, e.message);
      h.respond('');
      continue;
    }
    const resp = await transport.transmit(apdu);
    commands++;
    h.afterCommand?.();
    h.respond(bytesToHex(resp));
  }
  return { commands, rejected };
}
