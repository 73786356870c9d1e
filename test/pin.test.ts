/**
 * VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER (ISO/IEC 7816-4:2013 §11.5.6, §11.5.7,
 * §11.5.10): every status word, the PIN life cycle, the decrement-first rule under power cuts, and
 * access rules PIN(ref) on a real file.
 */
import { describe, it, expect, beforeEach } from 'vitest';
import fc from 'fast-check';
import { encodeCommandApdu } from '../src/apdu/command.js';
import { parseResponseApdu } from '../src/apdu/response.js';
import { bytesToHex, hexToBytes } from '../src/bytes/index.js';
import type { Card } from '../src/card/os.js';
import { newDf, newTransparentEf } from '../src/card/fs/file.js';
import { attach } from '../src/card/fs/tree.js';
import { pin as pinRule } from '../src/card/security/access.js';
import { newPin, type PinObject, type PinSpec } from '../src/card/security/objects.js';
import { poweredCard } from './helpers/card.js';

// --- helpers ------------------------------------------------------------------------------------

const VERIFY = 0x20;
const CHANGE = 0x24;
const RESET = 0x2c;

const ascii = (s: string): string => bytesToHex(new TextEncoder().encode(s));

interface Answer {
  readonly data: string;
  readonly sw: string;
}

/** Sends one command built from fields (Lc computed), on logical channel `ch`. */
function send(card: Card, ins: number, p1: number, p2: number, data?: string, ne?: number, ch = 0): Answer {
  const apdu = encodeCommandApdu({ cla: ch, ins, p1, p2, data: data === undefined ? undefined : hexToBytes(data), ne });
  const out = card.transmit(apdu);
  if (out.length < 2) throw new Error('card mute');
  const r = parseResponseApdu(out);
  return { data: bytesToHex(r.data), sw: r.sw.toString(16).toUpperCase().padStart(4, '0') };
}

const verify = (card: Card, ref: number, pin?: string, ch = 0): string => send(card, VERIFY, 0x00, ref, pin, undefined, ch).sw;
const status = (card: Card, ref: number, ch = 0): string => verify(card, ref, undefined, ch);

/** Installs a PIN directly in a DF (default: the MF), committed. */
function installPin(card: Card, spec: PinSpec, df = card.state.mf): PinObject {
  const p = newPin(spec);
  card.nv.splice(df.pins, df.pins.length, 0, p);
  card.nv.commit();
  return p;
}

const PIN = ascii('1234');
const PUK = ascii('87654321');

/** PIN 81 ("1234", 4..8 digits, 3 tries, PUK 82) and PUK 82 ("87654321", 8 digits, 3 tries). */
function standardCard(opts: { unblocks?: number; pinPadding?: 'ff' } = {}): { card: Card; pin: PinObject; puk: PinObject } {
  const card = poweredCard();
  const pin = installPin(card, {
    ref: 0x81,
    value: hexToBytes(PIN),
    minLength: 4,
    maxLength: 8,
    maxTries: 3,
    pukRef: 0x82,
    ...(opts.pinPadding ? { padding: opts.pinPadding, paddedLength: 8 } : {}),
  });
  const puk = installPin(card, {
    ref: 0x82,
    label: 'PUK',
    value: hexToBytes(PUK),
    minLength: 8,
    maxLength: 8,
    maxTries: 3,
    ...(opts.unblocks !== undefined ? { unblocks: opts.unblocks } : {}),
  });
  return { card, pin, puk };
}

function openChannel(card: Card): number {
  const r = send(card, 0x70, 0x00, 0x00, undefined, 1);
  expect(r.sw).toBe('9000');
  return parseInt(r.data, 16);
}

// --- VERIFY -------------------------------------------------------------------------------------

describe('VERIFY (INS 20)', () => {
  let card: Card;
  let pin: PinObject;
  beforeEach(() => {
    ({ card, pin } = standardCard());
  });

  it('accepts the right PIN; the status query then answers 9000', () => {
    expect(status(card, 0x81)).toBe('63C3');
    expect(verify(card, 0x81, PIN)).toBe('9000');
    expect(status(card, 0x81)).toBe('9000');
    expect(pin.tries).toBe(3);
  });

  it('life cycle: 63C2, 63C1, 63C0, then 6983 even with the right PIN', () => {
    expect(verify(card, 0x81, ascii('0000'))).toBe('63C2');
    expect(status(card, 0x81)).toBe('63C2');
    expect(verify(card, 0x81, ascii('0000'))).toBe('63C1');
    expect(verify(card, 0x81, ascii('0000'))).toBe('63C0');
    expect(verify(card, 0x81, PIN)).toBe('6983');
    expect(status(card, 0x81)).toBe('6983');
    expect(pin.tries).toBe(0);
  });

  it('a right PIN after wrong ones restores the counter', () => {
    expect(verify(card, 0x81, ascii('0000'))).toBe('63C2');
    expect(verify(card, 0x81, ascii('9999'))).toBe('63C1');
    expect(verify(card, 0x81, PIN)).toBe('9000');
    expect(pin.tries).toBe(3);
  });

  it('a failed VERIFY drops an earlier verification on the channel', () => {
    expect(verify(card, 0x81, PIN)).toBe('9000');
    expect(verify(card, 0x81, ascii('0000'))).toBe('63C2');
    expect(status(card, 0x81)).toBe('63C2');
  });

  it('6A80 for a length no PIN of this object can have, without using a try', () => {
    expect(verify(card, 0x81, ascii('123'))).toBe('6A80');
    expect(verify(card, 0x81, ascii('123456789'))).toBe('6A80');
    expect(status(card, 0x81)).toBe('63C3');
  });

  it('6A88 for a reference not in scope, 6A86 for P1 other than 00/FF', () => {
    expect(verify(card, 0x85, PIN)).toBe('6A88');
    expect(status(card, 0x01)).toBe('6A88');
    expect(send(card, VERIFY, 0x01, 0x81, PIN).sw).toBe('6A86');
    expect(send(card, VERIFY, 0x80, 0x81).sw).toBe('6A86');
  });

  it('P1=FF resets the verification status (ISO/IEC 7816-4:2013 §11.5.6)', () => {
    expect(verify(card, 0x81, PIN)).toBe('9000');
    expect(send(card, VERIFY, 0xff, 0x81).sw).toBe('9000');
    expect(status(card, 0x81)).toBe('63C3');
    expect(send(card, VERIFY, 0xff, 0x81, PIN).sw).toBe('6700');
    expect(send(card, VERIFY, 0xff, 0x85).sw).toBe('6A88');
  });

  it('padded PINs verify bare or padded to the padded length', () => {
    ({ card, pin } = standardCard({ pinPadding: 'ff' }));
    expect(verify(card, 0x81, PIN)).toBe('9000');
    expect(verify(card, 0x81, PIN + 'FFFFFFFF')).toBe('9000');
    expect(verify(card, 0x81, ascii('1235') + 'FFFFFFFF')).toBe('63C2');
    expect(verify(card, 0x81, PIN + 'FFFF')).toBe('63C1'); // 6 bytes: a PIN "1234\xFF\xFF", wrong
  });

  it('the status is per logical channel', () => {
    const ch = openChannel(card);
    expect(verify(card, 0x81, PIN)).toBe('9000');
    expect(status(card, 0x81, ch)).toBe('63C3');
    expect(verify(card, 0x81, PIN, ch)).toBe('9000');
    expect(status(card, 0x81, ch)).toBe('9000');
  });

  it('a specific PIN (b8=1) lives in its DF: 6A88 from the MF, found from below', () => {
    const df = newDf(0xdf01);
    attach(card.nv, card.state.mf, df);
    card.nv.commit();
    installPin(card, { ref: 0x83, value: hexToBytes(PIN) }, df);
    expect(verify(card, 0x83, PIN)).toBe('6A88');
    expect(send(card, 0xa4, 0x00, 0x0c, 'DF01').sw).toBe('9000');
    expect(verify(card, 0x83, PIN)).toBe('9000');
    expect(verify(card, 0x81, PIN)).toBe('9000'); // the global PIN stays reachable
  });

  it('the decrement survives a power cut between the comparison and the counter reset', () => {
    // Write 1 is the decrement (committed), write 2 the reset to max after the match.
    card.faults.cutPowerAtWrite(2);
    expect(card.transmit(encodeCommandApdu({ ins: VERIFY, p2: 0x81, data: hexToBytes(PIN) })).length).toBe(0);
    expect(card.isPowered).toBe(false);
    card.powerOn();
    expect(status(card, 0x81)).toBe('63C2');
    expect(pin.tries).toBe(2);
    expect(verify(card, 0x81, PIN)).toBe('9000');
    expect(pin.tries).toBe(3);
  });

  it('a power cut at the decrement itself leaves the counter unchanged (nothing was compared)', () => {
    card.faults.cutPowerAtWrite(1);
    expect(card.transmit(encodeCommandApdu({ ins: VERIFY, p2: 0x81, data: hexToBytes(ascii('0000')) })).length).toBe(0);
    card.powerOn();
    expect(status(card, 0x81)).toBe('63C3');
  });

  it('a wrong PIN writes once (the decrement), and that try stays spent across power-off', () => {
    card.faults.cutPowerAtWrite(2); // a mismatch has no second write: this cut never fires
    expect(verify(card, 0x81, ascii('0000'))).toBe('63C2');
    card.faults.cutPowerAtWrite(0);
    card.powerOff();
    card.powerOn();
    expect(status(card, 0x81)).toBe('63C2');
  });
});

// --- access rules -------------------------------------------------------------------------------

describe('access rule PIN(81) on a file', () => {
  it('READ BINARY is allowed only after VERIFY on the same channel', () => {
    const { card } = standardCard();
    const ef = newTransparentEf(0x0101, 4, { rules: { read: pinRule(0x81) }, data: hexToBytes('CAFEBABE') });
    attach(card.nv, card.state.mf, ef);
    card.nv.commit();
    const ch = openChannel(card);
    expect(send(card, 0xa4, 0x02, 0x0c, '0101').sw).toBe('9000');
    expect(send(card, 0xa4, 0x02, 0x0c, '0101', undefined, ch).sw).toBe('9000');
    expect(send(card, 0xb0, 0, 0, undefined, 4).sw).toBe('6982');
    expect(verify(card, 0x81, ascii('0000'))).toBe('63C2');
    expect(send(card, 0xb0, 0, 0, undefined, 4).sw).toBe('6982');
    expect(verify(card, 0x81, PIN)).toBe('9000');
    expect(send(card, 0xb0, 0, 0, undefined, 4)).toEqual({ data: 'CAFEBABE', sw: '9000' });
    // Another channel has its own security status.
    expect(send(card, 0xb0, 0, 0, undefined, 4, ch).sw).toBe('6982');
    // VERIFY P1=FF withdraws it again; so does a reset.
    expect(send(card, VERIFY, 0xff, 0x81).sw).toBe('9000');
    expect(send(card, 0xb0, 0, 0, undefined, 4).sw).toBe('6982');
    expect(verify(card, 0x81, PIN)).toBe('9000');
    card.reset();
    expect(send(card, 0xa4, 0x02, 0x0c, '0101').sw).toBe('9000');
    expect(send(card, 0xb0, 0, 0, undefined, 4).sw).toBe('6982');
  });
});

// --- CHANGE REFERENCE DATA ----------------------------------------------------------------------

describe('CHANGE REFERENCE DATA (INS 24)', () => {
  let card: Card;
  let pin: PinObject;
  const NEW = ascii('246810');
  beforeEach(() => {
    ({ card, pin } = standardCard());
  });

  it('P1=00 old‖new: replaces the value, and the PIN counts as verified', () => {
    expect(send(card, CHANGE, 0x00, 0x81, PIN + NEW).sw).toBe('9000');
    expect(status(card, 0x81)).toBe('9000');
    expect(send(card, VERIFY, 0xff, 0x81).sw).toBe('9000');
    expect(verify(card, 0x81, PIN)).toBe('63C2');
    expect(verify(card, 0x81, NEW)).toBe('9000');
  });

  it('P1=00 with a wrong current PIN: 63CX, value unchanged, status dropped', () => {
    expect(verify(card, 0x81, PIN)).toBe('9000');
    expect(send(card, CHANGE, 0x00, 0x81, ascii('4321') + NEW).sw).toBe('63C2');
    expect(status(card, 0x81)).toBe('63C2');
    expect(verify(card, 0x81, PIN)).toBe('9000');
  });

  it('P1=00 length errors answer 6A80 and use no try', () => {
    expect(send(card, CHANGE, 0x00, 0x81, PIN).sw).toBe('6A80'); // no new PIN
    expect(send(card, CHANGE, 0x00, 0x81, ascii('12')).sw).toBe('6A80');
    expect(send(card, CHANGE, 0x00, 0x81, PIN + ascii('12')).sw).toBe('6A80'); // new too short
    expect(send(card, CHANGE, 0x00, 0x81, PIN + ascii('123456789')).sw).toBe('6A80'); // new too long
    expect(status(card, 0x81)).toBe('63C3');
    expect(pin.value).toEqual(hexToBytes(PIN));
  });

  it('P1=00 on a padded PIN: each part is padded to the padded length', () => {
    ({ card, pin } = standardCard({ pinPadding: 'ff' }));
    expect(send(card, CHANGE, 0x00, 0x81, PIN + 'FFFFFFFF' + NEW + 'FFFF').sw).toBe('9000');
    expect(bytesToHex(pin.value)).toBe(NEW);
  });

  it('P1=01 new only: 6982 unless verified on this channel', () => {
    expect(send(card, CHANGE, 0x01, 0x81, NEW).sw).toBe('6982');
    expect(verify(card, 0x81, PIN)).toBe('9000');
    const ch = openChannel(card);
    expect(send(card, CHANGE, 0x01, 0x81, NEW, undefined, ch).sw).toBe('6982');
    expect(send(card, CHANGE, 0x01, 0x81, ascii('12')).sw).toBe('6A80');
    expect(send(card, CHANGE, 0x01, 0x81, NEW).sw).toBe('9000');
    expect(status(card, 0x81)).toBe('9000');
    expect(bytesToHex(pin.value)).toBe(NEW);
  });

  it('6983 when blocked, 6A88 unknown reference, 6A86 bad P1', () => {
    for (let i = 0; i < 3; i++) verify(card, 0x81, ascii('0000'));
    expect(send(card, CHANGE, 0x00, 0x81, PIN + NEW).sw).toBe('6983');
    expect(send(card, CHANGE, 0x00, 0x85, PIN + NEW).sw).toBe('6A88');
    expect(send(card, CHANGE, 0x02, 0x81, NEW).sw).toBe('6A86');
  });

  it('last try: a wrong current PIN answers 63C0 and blocks', () => {
    verify(card, 0x81, ascii('0000'));
    verify(card, 0x81, ascii('0000'));
    expect(send(card, CHANGE, 0x00, 0x81, ascii('0000') + NEW).sw).toBe('63C0');
    expect(send(card, CHANGE, 0x00, 0x81, PIN + NEW).sw).toBe('6983');
  });

  it('a power cut after the comparison keeps the old value and the spent try', () => {
    card.faults.cutPowerAtWrite(2);
    expect(card.transmit(encodeCommandApdu({ ins: CHANGE, p2: 0x81, data: hexToBytes(PIN + NEW) })).length).toBe(0);
    card.powerOn();
    expect(status(card, 0x81)).toBe('63C2');
    expect(bytesToHex(pin.value)).toBe(PIN);
  });
});

// --- RESET RETRY COUNTER ------------------------------------------------------------------------

describe('RESET RETRY COUNTER (INS 2C)', () => {
  let card: Card;
  let pin: PinObject;
  let puk: PinObject;
  const NEW = ascii('5555');
  const block = (c: Card): void => {
    for (let i = 0; i < 3; i++) verify(c, 0x81, ascii('0000'));
    expect(status(c, 0x81)).toBe('6983');
  };
  beforeEach(() => {
    ({ card, pin, puk } = standardCard());
  });

  it('P1=01 PUK only: unblocks and keeps the value; the PIN is not left verified', () => {
    block(card);
    expect(send(card, RESET, 0x01, 0x81, PUK).sw).toBe('9000');
    expect(status(card, 0x81)).toBe('63C3');
    expect(verify(card, 0x81, PIN)).toBe('9000');
  });

  it('P1=00 PUK‖new PIN: unblocks with a new value', () => {
    block(card);
    expect(send(card, RESET, 0x00, 0x81, PUK + NEW).sw).toBe('9000');
    expect(verify(card, 0x81, PIN)).toBe('63C2');
    expect(verify(card, 0x81, NEW)).toBe('9000');
  });

  it('P1=02 new PIN and P1=03 no data need the PUK verified on this channel', () => {
    block(card);
    expect(send(card, RESET, 0x02, 0x81, NEW).sw).toBe('6982');
    expect(send(card, RESET, 0x03, 0x81).sw).toBe('6982');
    expect(verify(card, 0x82, PUK)).toBe('9000');
    expect(send(card, RESET, 0x03, 0x81, NEW).sw).toBe('6700');
    expect(send(card, RESET, 0x03, 0x81).sw).toBe('9000');
    expect(status(card, 0x81)).toBe('63C3');
    block(card);
    expect(send(card, RESET, 0x02, 0x81, ascii('12')).sw).toBe('6A80');
    expect(send(card, RESET, 0x02, 0x81, NEW).sw).toBe('9000');
    expect(verify(card, 0x81, NEW)).toBe('9000');
  });

  it('a wrong PUK spends a PUK try: 63C2, 63C1, 63C0, then 6983 even with the right PUK', () => {
    block(card);
    const wrong = ascii('00000000');
    expect(send(card, RESET, 0x01, 0x81, wrong).sw).toBe('63C2');
    expect(send(card, RESET, 0x00, 0x81, wrong + NEW).sw).toBe('63C1');
    expect(send(card, RESET, 0x01, 0x81, wrong).sw).toBe('63C0');
    expect(send(card, RESET, 0x01, 0x81, PUK).sw).toBe('6983');
    expect(status(card, 0x82)).toBe('6983');
    expect(status(card, 0x81)).toBe('6983');
  });

  it('a right PUK after wrong ones restores the PUK counter', () => {
    expect(send(card, RESET, 0x01, 0x81, ascii('00000000')).sw).toBe('63C2');
    expect(send(card, RESET, 0x01, 0x81, PUK).sw).toBe('9000');
    expect(puk.tries).toBe(3);
  });

  it('length errors answer 6A80 without using a PUK try', () => {
    expect(send(card, RESET, 0x01, 0x81, ascii('1234567')).sw).toBe('6A80');
    expect(send(card, RESET, 0x01, 0x81).sw).toBe('6A80');
    expect(send(card, RESET, 0x00, 0x81, PUK).sw).toBe('6A80');
    expect(send(card, RESET, 0x00, 0x81, PUK + ascii('12')).sw).toBe('6A80');
    expect(puk.tries).toBe(3);
  });

  it('6A88 when the PIN, its PUK reference or the PUK is missing; 6A86 for P1 > 03', () => {
    expect(send(card, RESET, 0x01, 0x85, PUK).sw).toBe('6A88');
    installPin(card, { ref: 0x01, value: hexToBytes(PIN) });
    expect(send(card, RESET, 0x01, 0x01, PUK).sw).toBe('6A88');
    installPin(card, { ref: 0x02, value: hexToBytes(PIN), pukRef: 0x8f });
    expect(send(card, RESET, 0x01, 0x02, PUK).sw).toBe('6A88');
    expect(send(card, RESET, 0x04, 0x81, PUK).sw).toBe('6A86');
  });

  it('unblocksLeft: each unblock counts down, at 0 the PUK answers 6983 without spending a try', () => {
    ({ card, pin, puk } = standardCard({ unblocks: 2 }));
    block(card);
    expect(send(card, RESET, 0x01, 0x81, PUK).sw).toBe('9000');
    expect(puk.unblocksLeft).toBe(1);
    block(card);
    expect(send(card, RESET, 0x00, 0x81, PUK + NEW).sw).toBe('9000');
    expect(puk.unblocksLeft).toBe(0);
    block(card);
    expect(send(card, RESET, 0x01, 0x81, PUK).sw).toBe('6983');
    expect(send(card, RESET, 0x01, 0x81, ascii('00000000')).sw).toBe('6983');
    expect(puk.tries).toBe(3);
    expect(pin.tries).toBe(0);
  });

  it('a failed unblock does not touch the unblock count; unlimited stays -1', () => {
    block(card);
    expect(send(card, RESET, 0x01, 0x81, ascii('00000000')).sw).toBe('63C2');
    expect(send(card, RESET, 0x01, 0x81, PUK).sw).toBe('9000');
    expect(puk.unblocksLeft).toBe(-1);
  });

  it('a power cut after the PUK comparison keeps the PIN blocked and the PUK try spent', () => {
    block(card);
    card.faults.cutPowerAtWrite(2);
    expect(card.transmit(encodeCommandApdu({ ins: RESET, p1: 0x01, p2: 0x81, data: hexToBytes(PUK) })).length).toBe(0);
    card.powerOn();
    expect(status(card, 0x81)).toBe('6983');
    expect(status(card, 0x82)).toBe('63C2');
  });
});

// --- property: counters never go up except by a successful comparison or unblock ---------------

type Op =
  | { readonly kind: 'verify'; readonly right: boolean; readonly ref: 0x81 | 0x82 }
  | { readonly kind: 'change'; readonly p1: 0 | 1; readonly right: boolean; readonly next: string }
  | { readonly kind: 'reset'; readonly p1: 0 | 1 | 2 | 3; readonly right: boolean; readonly next: string }
  | { readonly kind: 'query'; readonly ref: 0x81 | 0x82 }
  | { readonly kind: 'statusReset'; readonly ref: 0x81 | 0x82 };

const digits = fc.stringMatching(/^[0-9]{4,8}$/).map(ascii);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('verify' as const), right: fc.boolean(), ref: fc.constantFrom(0x81 as const, 0x82 as const) }),
  fc.record({ kind: fc.constant('change' as const), p1: fc.constantFrom(0 as const, 1 as const), right: fc.boolean(), next: digits }),
  fc.record({
    kind: fc.constant('reset' as const),
    p1: fc.constantFrom(0 as const, 1 as const, 2 as const, 3 as const),
    right: fc.boolean(),
    next: digits,
  }),
  fc.record({ kind: fc.constant('query' as const), ref: fc.constantFrom(0x81 as const, 0x82 as const) }),
  fc.record({ kind: fc.constant('statusReset' as const), ref: fc.constantFrom(0x81 as const, 0x82 as const) }),
);
const stepArb = fc.record({ op: opArb, cut: fc.option(fc.integer({ min: 1, max: 4 }), { freq: 4 }) });

/** A wrong value of the same length as `right` (so it reaches the comparison). */
function wrongOf(right: Uint8Array): string {
  const w = right.slice();
  w[0] = w[0] === 0x30 ? 0x31 : 0x30;
  return bytesToHex(w);
}

describe('property: retry counters', () => {
  it('never increase except after a successful comparison of that object or an unblock', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 40 }), (steps) => {
        const { card, pin, puk } = standardCard({ unblocks: 3 });
        for (const { op, cut } of steps) {
          const before = { pin: pin.tries, puk: puk.tries, unblocks: puk.unblocksLeft };
          const value = (p: PinObject, right: boolean): string => (right ? bytesToHex(p.value) : wrongOf(p.value));
          let apdu: Uint8Array;
          switch (op.kind) {
            case 'verify': {
              const target = op.ref === 0x81 ? pin : puk;
              apdu = encodeCommandApdu({ ins: VERIFY, p2: op.ref, data: hexToBytes(value(target, op.right)) });
              break;
            }
            case 'change':
              apdu = encodeCommandApdu({
                ins: CHANGE,
                p1: op.p1,
                p2: 0x81,
                data: hexToBytes(op.p1 === 0 ? value(pin, op.right) + op.next : op.next),
              });
              break;
            case 'reset': {
              const data = op.p1 === 0 ? value(puk, op.right) + op.next : op.p1 === 1 ? value(puk, op.right) : op.p1 === 2 ? op.next : '';
              apdu = encodeCommandApdu({ ins: RESET, p1: op.p1, p2: 0x81, data: hexToBytes(data) });
              break;
            }
            case 'query':
              apdu = encodeCommandApdu({ ins: VERIFY, p2: op.ref });
              break;
            case 'statusReset':
              apdu = encodeCommandApdu({ ins: VERIFY, p1: 0xff, p2: op.ref });
              break;
          }
          if (cut !== null) card.faults.cutPowerAtWrite(cut);
          const out = card.transmit(apdu);
          card.faults.cutPowerAtWrite(0);
          const sw = out.length >= 2 ? bytesToHex(out.subarray(out.length - 2)) : 'mute';
          if (sw === 'mute') card.powerOn();
          const ok = sw === '9000';

          // Bounds.
          expect(pin.tries).toBeGreaterThanOrEqual(0);
          expect(pin.tries).toBeLessThanOrEqual(pin.maxTries);
          expect(puk.tries).toBeGreaterThanOrEqual(0);
          expect(puk.tries).toBeLessThanOrEqual(puk.maxTries);
          // Unblock count never goes up, and only down on a successful unblock.
          expect(puk.unblocksLeft).toBeLessThanOrEqual(before.unblocks);
          if (puk.unblocksLeft < before.unblocks) expect(ok && op.kind === 'reset').toBe(true);

          const comparedPin = (op.kind === 'verify' && op.ref === 0x81) || (op.kind === 'change' && op.p1 === 0);
          const comparedPuk = (op.kind === 'verify' && op.ref === 0x82) || (op.kind === 'reset' && op.p1 <= 1);
          if (pin.tries > before.pin) expect(ok && (comparedPin || op.kind === 'reset')).toBe(true);
          if (puk.tries > before.puk) expect(ok && comparedPuk).toBe(true);
          // A comparison that ran and failed, or was cut after the comparison, costs exactly one try.
          if (/^63C/.test(sw)) {
            if (comparedPin) expect(pin.tries).toBe(before.pin - 1);
            if (comparedPuk) expect(puk.tries).toBe(before.puk - 1);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
