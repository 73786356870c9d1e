/**
 * In-process card OS throughput (issue: card operating system): APDUs per second for
 * (SELECT by FID + READ BINARY 256 bytes) and (VERIFY + GET CHALLENGE), one core.
 */
import { hexToBytes } from '../src/bytes/index.js';
import { createCard, type Card } from '../src/card/os.js';
import { newTransparentEf } from '../src/card/fs/file.js';
import { attach } from '../src/card/fs/tree.js';
import { newPin } from '../src/card/security/objects.js';
import { rate, summarize, type Figure } from './lib.js';

export function benchCard(): Card {
  const card = createCard();
  const data = new Uint8Array(1024).map((_, i) => i & 0xff);
  attach(card.nv, card.state.mf, newTransparentEf(0x0101, 1024, { sfi: 1, data }));
  card.nv.splice(card.state.mf.pins, 0, 0, newPin({ ref: 0x01, value: new TextEncoder().encode('123456'), minLength: 4, maxLength: 8 }));
  card.nv.commit();
  card.powerOn();
  return card;
}

function check(card: Card, apdu: Uint8Array, sw: number): void {
  const r = card.transmit(apdu);
  const got = (r[r.length - 2]! << 8) | r[r.length - 1]!;
  if (got !== sw) throw new Error(`bench setup: ${Buffer.from(apdu).toString('hex')} answered ${got.toString(16)}`);
}

export function cardOsFigures(opts: { ms: number; rounds: number }): Figure[] {
  const card = benchCard();
  const select = hexToBytes('00A4000C020101');
  const read = hexToBytes('00B0000000');
  const verify = hexToBytes('0020000106313233343536');
  const challenge = hexToBytes('0084000008');
  check(card, select, 0x9000);
  check(card, read, 0x9000);
  check(card, verify, 0x9000);
  check(card, challenge, 0x9000);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < opts.rounds; i++) {
    a.push(rate(() => {
      card.transmit(select);
      card.transmit(read);
    }, 2, opts.ms));
    b.push(rate(() => {
      card.transmit(verify);
      card.transmit(challenge);
    }, 2, opts.ms));
  }
  return [
    summarize('in-process SELECT by FID + READ BINARY 256', 'APDU/s', a),
    summarize('in-process VERIFY + GET CHALLENGE', 'APDU/s', b),
  ];
}
