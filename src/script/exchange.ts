/**
 * Sending APDUs and describing the answers, for tools that show them (`chipwright send`): each
 * exchange keeps the command redacted (`src/transport/trace.ts`), the response as upper-case hex
 * with the status word, and the status word's ISO meaning.
 */
import { bytesToHex, u16Hex } from '../bytes/index.js';
import { parseResponseApdu } from '../apdu/response.js';
import { describeSw } from '../apdu/status.js';
import { redactCommandHex } from '../transport/trace.js';
import type { Transport } from '../transport/types.js';

/** One command and its answer, safe to print or store. */
export interface DescribedExchange {
  /** Spaced hex, secret data masked with `**`. */
  readonly command: string;
  /** Response data and SW1-SW2, upper-case hex without spaces. */
  readonly response: string;
  /** Status word, four upper-case hex digits. */
  readonly sw: string;
  /** ISO/IEC 7816-4 meaning of the status word. */
  readonly meaning: string;
}

/**
 * Sends the APDUs in order over a connected transport. A transport failure (the card stopped
 * answering) is thrown after the exchanges so far were handed to `onExchange`.
 *
 * @example await sendApdus(transport, [hexToBytes('00A4000C023F00')]) // [{ response: '9000', sw: '9000', ... }]
 */
export async function sendApdus(
  transport: Transport,
  apdus: readonly Uint8Array[],
  onExchange?: (x: DescribedExchange, index: number) => void,
): Promise<DescribedExchange[]> {
  const out: DescribedExchange[] = [];
  for (const apdu of apdus) {
    const x = describeExchange(apdu, await transport.transmit(apdu));
    out.push(x);
    onExchange?.(x, out.length - 1);
  }
  return out;
}

/** Describes one exchange (the response must hold at least SW1-SW2). */
export function describeExchange(apdu: Uint8Array, response: Uint8Array): DescribedExchange {
  const r = parseResponseApdu(response);
  return { command: redactCommandHex(apdu), response: bytesToHex(response), sw: u16Hex(r.sw), meaning: describeSw(r.sw) };
}
