/** The simulator behind the {@link Transport} interface. */
import type { Card } from '../card/os.js';
import { CardMuteError, type Transport } from './types.js';

export class InProcessTransport implements Transport {
  constructor(readonly card: Card) {}

  connect(): Promise<Uint8Array> {
    return Promise.resolve(this.card.powerOn());
  }

  transmit(apdu: Uint8Array): Promise<Uint8Array> {
    const r = this.card.transmit(apdu);
    if (r.length < 2) return Promise.reject(new CardMuteError('the simulated card did not answer (no power)'));
    return Promise.resolve(r);
  }

  reset(): Promise<Uint8Array> {
    return Promise.resolve(this.card.reset());
  }

  disconnect(): Promise<void> {
    this.card.powerOff();
    return Promise.resolve();
  }
}
