/** Test helpers: talk to a simulated card in hex, assert on SW. */
import { bytesToHex, hexToBytes } from '../../src/bytes/index.js';
import { parseResponseApdu } from '../../src/apdu/response.js';
import { createCard, type Card, type CardOptions, DEFAULT_TRANSPORT_KEY } from '../../src/card/os.js';

export interface Reply {
  /** Response data as upper-case hex. */
  readonly data: string;
  /** Status word as a number (0x9000). */
  readonly sw: number;
  /** SW as 4 upper-case hex digits ("9000"). */
  readonly swHex: string;
  readonly bytes: Uint8Array;
}

/** Sends hex (spaces allowed) and splits the answer. */
export function tx(card: Card, hex: string): Reply {
  const out = card.transmit(hexToBytes(hex));
  if (out.length < 2) throw new Error(`card mute after ${hex}`);
  const r = parseResponseApdu(out);
  return { data: bytesToHex(r.data), sw: r.sw, swHex: r.sw.toString(16).toUpperCase().padStart(4, '0'), bytes: r.data.slice() };
}

/** A fresh powered card. */
export function poweredCard(opts: CardOptions = {}): Card {
  const card = createCard(opts);
  card.powerOn();
  return card;
}

export { DEFAULT_TRANSPORT_KEY, hexToBytes, bytesToHex };
