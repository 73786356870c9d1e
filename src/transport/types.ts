/**
 * The one small interface every tool talks to a card through (in-process simulator, PC/SC reader,
 * recorded session). Wrappers (GET RESPONSE handling, tracing, recording) implement it too and
 * compose (STYLE principle 9; the apdu4j model).
 */
export interface Transport {
  /** Powers the card (or connects to the reader) and returns the ATR. */
  connect(): Promise<Uint8Array>;
  /** Sends one command APDU, returns the response APDU (data + SW1-SW2). */
  transmit(apdu: Uint8Array): Promise<Uint8Array>;
  /** Warm reset; returns the ATR. */
  reset(): Promise<Uint8Array>;
  /** Powers the card down / releases the reader. */
  disconnect(): Promise<void>;
}

/** The card stopped answering (power lost, card removed). */
export class CardMuteError extends Error {
  override readonly name: string = 'CardMuteError';
}
