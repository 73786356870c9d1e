/**
 * GET DATA / PUT DATA (ISO/IEC 7816-4:2013 §11.4): P1-P2 decoding, built-in objects, the DF chain,
 * chaining, and chipwright's PIN/key templates (PUT DATA 0101 / 0102).
 */
import { describe, it, expect, beforeEach } from 'vitest';
import { encodeCommandApdu, parseCommandApdu } from '../src/apdu/command.js';
import { parseResponseApdu } from '../src/apdu/response.js';
import { StatusWordError } from '../src/apdu/status.js';
import { bytesToHex, hexToBytes } from '../src/bytes/index.js';
import { parseAtr } from '../src/atr/index.js';
import type { Card } from '../src/card/os.js';
import { Channel } from '../src/card/channel.js';
import { CommandContext } from '../src/card/context.js';
import { newDf } from '../src/card/fs/file.js';
import { attach } from '../src/card/fs/tree.js';
import { DATA_OBJECT_COMMANDS } from '../src/card/commands/data-objects.js';
import { externalAuthCryptogram } from '../src/card/commands/authenticate.js';
import { DEFAULT_TRANSPORT_KEY, poweredCard } from './helpers/card.js';

const GET = 0xca;
const PUT = 0xda;

interface Answer {
  readonly data: string;
  readonly sw: string;
}

function send(card: Card, ins: number, p1: number, p2: number, data?: string, ne?: number, cla = 0): Answer {
  const apdu = encodeCommandApdu({ cla, ins, p1, p2, data: data === undefined ? undefined : hexToBytes(data), ne });
  const out = card.transmit(apdu);
  if (out.length < 2) throw new Error('card mute');
  const r = parseResponseApdu(out);
  return { data: bytesToHex(r.data), sw: r.sw.toString(16).toUpperCase().padStart(4, '0') };
}

const get = (card: Card, tag: number): Answer => send(card, GET, tag >>> 8, tag & 0xff, undefined, 256);
const put = (card: Card, p1p2: number, data: string): string => send(card, PUT, p1p2 >>> 8, p1p2 & 0xff, data).sw;

function persoAuth(card: Card): void {
  const c = hexToBytes(send(card, 0x84, 0, 0, undefined, 8).data);
  const crypt = externalAuthCryptogram('3des', DEFAULT_TRANSPORT_KEY, c);
  expect(send(card, 0x82, 0, 0, bytesToHex(crypt)).sw).toBe('9000');
}

const ascii = (s: string): string => bytesToHex(new TextEncoder().encode(s));
const tlv = (tag: string, value: string): string => tag + (value.length / 2).toString(16).padStart(2, '0').toUpperCase() + value;

function selectDf(card: Card, fid: string): void {
  expect(send(card, 0xa4, 0x00, 0x0c, fid).sw).toBe('9000');
}

// --- GET DATA -----------------------------------------------------------------------------------

describe('GET DATA (INS CA)', () => {
  it('46: pre-issuing data = the chip serial, as a whole TLV', () => {
    const card = poweredCard({ serial: hexToBytes('0011223344556677') });
    expect(get(card, 0x46)).toEqual({ data: '46080011223344556677', sw: '9000' });
  });

  it('5F52: the historical bytes of the ATR', () => {
    const card = poweredCard();
    const hist = bytesToHex(parseAtr(card.atr).historical);
    expect(hist.length).toBeGreaterThan(0);
    expect(get(card, 0x5f52)).toEqual({ data: tlv('5F52', hist), sw: '9000' });
  });

  it('6A88 for an object that does not exist', () => {
    const card = poweredCard();
    expect(get(card, 0x5f20).sw).toBe('6A88');
    expect(get(card, 0x42).sw).toBe('6A88');
  });

  it('6A86 for P1-P2 outside the tag ranges or not a valid tag of that size', () => {
    const card = poweredCard();
    for (const p1p2 of [0x0000, 0x003f, 0x005f, 0x00ff, 0x009f, 0x0200, 0x02ff, 0x3fff, 0x4001, 0x5f80, 0x7fff]) {
      expect(get(card, p1p2).sw, p1p2.toString(16)).toBe('6A86');
    }
  });

  it('the proprietary range (keys, PINs) is never readable: 6A88', () => {
    const card = poweredCard();
    persoAuth(card);
    expect(put(card, 0x0101, tlv('83', '81') + tlv('80', ascii('1234')))).toBe('9000');
    expect(get(card, 0x0101).sw).toBe('6A88');
    expect(get(card, 0x0102).sw).toBe('6A88');
  });

  it('6700 with a data field', () => {
    const card = poweredCard();
    expect(send(card, GET, 0x00, 0x46, '00', 256).sw).toBe('6700');
  });

  it('without Le the object waits for GET RESPONSE (61XX)', () => {
    const card = poweredCard({ serial: hexToBytes('0011223344556677') });
    expect(send(card, GET, 0x00, 0x46).sw).toBe('610A');
    expect(send(card, 0xc0, 0, 0, undefined, 10)).toEqual({ data: '46080011223344556677', sw: '9000' });
  });
});

// --- PUT DATA: plain data objects ---------------------------------------------------------------

describe('PUT DATA (INS DA): data objects', () => {
  let card: Card;
  beforeEach(() => {
    card = poweredCard();
  });

  it('is a personalization command: 6982 before the transport key, 6985 once operational', () => {
    expect(put(card, 0x5f20, ascii('DOE'))).toBe('6982');
    persoAuth(card);
    expect(put(card, 0x5f20, ascii('DOE'))).toBe('9000');
    card.nv.set(card.state, 'lifeCycle', 'operational');
    card.nv.commit();
    expect(put(card, 0x5f20, ascii('ROE'))).toBe('6985');
    expect(get(card, 0x5f20).data).toBe(tlv('5F20', ascii('DOE')));
  });

  it('adds, replaces and (with empty data) deletes an object in the current DF', () => {
    persoAuth(card);
    expect(put(card, 0x5f20, ascii('DOE'))).toBe('9000');
    expect(get(card, 0x5f20)).toEqual({ data: tlv('5F20', ascii('DOE')), sw: '9000' });
    expect(put(card, 0x5f20, ascii('SMITH'))).toBe('9000');
    expect(get(card, 0x5f20).data).toBe(tlv('5F20', ascii('SMITH')));
    expect(card.state.mf.dataObjects).toHaveLength(1);
    expect(send(card, PUT, 0x5f, 0x20).sw).toBe('9000');
    expect(get(card, 0x5f20).sw).toBe('6A88');
    expect(send(card, PUT, 0x5f, 0x20).sw).toBe('9000');
  });

  it('one-byte tags in P2 (0040–00FF)', () => {
    persoAuth(card);
    expect(put(card, 0x0042, 'ABCD')).toBe('9000');
    expect(get(card, 0x42).data).toBe('4202ABCD');
  });

  it('built-in objects 46 and 5F52 are read-only: 6985', () => {
    persoAuth(card);
    expect(put(card, 0x0046, '00')).toBe('6985');
    expect(put(card, 0x5f52, '00')).toBe('6985');
  });

  it('a constructed tag needs a BER-TLV value (6A80 otherwise)', () => {
    persoAuth(card);
    expect(put(card, 0x7f21, '5F')).toBe('6A80');
    expect(put(card, 0x0065, tlv('5F20', '41'))).toBe('9000');
    expect(get(card, 0x65).data).toBe(tlv('65', tlv('5F20', '41')));
  });

  it('6A86 for a bad P1-P2 and for proprietary values other than 0101/0102', () => {
    persoAuth(card);
    expect(put(card, 0x0000, '00')).toBe('6A86');
    expect(put(card, 0x4001, '00')).toBe('6A86');
    expect(put(card, 0x0103, '00')).toBe('6A86');
    expect(put(card, 0x0100, '00')).toBe('6A86');
  });

  it('objects are looked up from the current DF up to the MF; a DF object shadows the MF one', () => {
    const df = newDf(0xdf01);
    attach(card.nv, card.state.mf, df);
    card.nv.commit();
    persoAuth(card);
    expect(put(card, 0x5f20, ascii('MF'))).toBe('9000');
    expect(put(card, 0x5f21, ascii('ONLY-MF'))).toBe('9000');
    selectDf(card, 'DF01');
    expect(get(card, 0x5f21).data).toBe(tlv('5F21', ascii('ONLY-MF')));
    expect(get(card, 0x5f20).data).toBe(tlv('5F20', ascii('MF')));
    expect(put(card, 0x5f20, ascii('DF'))).toBe('9000');
    expect(put(card, 0x5f22, ascii('ONLY-DF'))).toBe('9000');
    expect(get(card, 0x5f20).data).toBe(tlv('5F20', ascii('DF')));
    selectDf(card, '3F00');
    expect(get(card, 0x5f20).data).toBe(tlv('5F20', ascii('MF')));
    expect(get(card, 0x5f22).sw).toBe('6A88');
  });

  it('accepts command chaining: the value is the concatenation of the parts', () => {
    persoAuth(card);
    expect(send(card, PUT, 0x5f, 0x2e, 'AABB', undefined, 0x10).sw).toBe('9000');
    expect(send(card, PUT, 0x5f, 0x2e, 'CCDD', undefined, 0x10).sw).toBe('9000');
    expect(send(card, PUT, 0x5f, 0x2e, 'EE').sw).toBe('9000');
    expect(get(card, 0x5f2e).data).toBe('5F2E05AABBCCDDEE');
  });

  it('a power cut while storing leaves the previous object', () => {
    persoAuth(card);
    expect(put(card, 0x5f20, ascii('OLD'))).toBe('9000');
    card.faults.cutPowerAtWrite(1);
    expect(card.transmit(encodeCommandApdu({ ins: PUT, p1: 0x5f, p2: 0x20, data: hexToBytes(ascii('NEW')) })).length).toBe(0);
    card.powerOn();
    expect(get(card, 0x5f20).data).toBe(tlv('5F20', ascii('OLD')));
  });
});

// --- PUT DATA 0101: PIN objects -----------------------------------------------------------------

describe('PUT DATA 0101: PIN objects', () => {
  let card: Card;
  beforeEach(() => {
    card = poweredCard();
    persoAuth(card);
  });

  const verify = (ref: number, pin?: string): string => send(card, 0x20, 0x00, ref, pin).sw;

  it('transport key → PUT DATA loads a PIN that VERIFY then accepts', () => {
    expect(put(card, 0x0101, tlv('83', '81') + tlv('80', ascii('1234')) + tlv('86', '05'))).toBe('9000');
    expect(verify(0x81)).toBe('63C5');
    expect(verify(0x81, ascii('1234'))).toBe('9000');
  });

  it('the full template: padding, lengths, tries, PUK and unblock count', () => {
    const pinT =
      tlv('83', '81') +
      tlv('80', ascii('123456')) +
      tlv('81', '06') +
      tlv('82', '08') +
      tlv('84', 'FF') +
      tlv('85', '08') +
      tlv('86', '03') +
      tlv('87', '82');
    const pukT = tlv('83', '82') + tlv('80', ascii('87654321')) + tlv('81', '08') + tlv('82', '08') + tlv('88', '02');
    expect(put(card, 0x0101, pinT)).toBe('9000');
    expect(put(card, 0x0101, pukT)).toBe('9000');
    const [pin, puk] = card.state.mf.pins;
    expect(pin).toMatchObject({ ref: 0x81, minLength: 6, maxLength: 8, padding: 'ff', paddedLength: 8, maxTries: 3, pukRef: 0x82 });
    expect(puk).toMatchObject({ ref: 0x82, unblocksLeft: 2, pukRef: undefined, padding: 'none' });
    expect(verify(0x81, ascii('123456') + 'FFFF')).toBe('9000');
    for (let i = 0; i < 3; i++) verify(0x81, ascii('000000'));
    expect(send(card, 0x2c, 0x01, 0x81, ascii('87654321')).sw).toBe('9000');
    expect(verify(0x81, ascii('123456'))).toBe('9000');
  });

  it('88 FF (or absent) is unlimited; 84 00 pads with 00', () => {
    expect(put(card, 0x0101, tlv('83', '82') + tlv('80', ascii('1234')) + tlv('88', 'FF') + tlv('84', '00'))).toBe('9000');
    expect(card.state.mf.pins[0]).toMatchObject({ unblocksLeft: -1, padding: '00', paddedLength: 12 });
  });

  it('replaces an object with the same reference (and its status on this channel)', () => {
    expect(put(card, 0x0101, tlv('83', '81') + tlv('80', ascii('1234')))).toBe('9000');
    expect(verify(0x81, ascii('1234'))).toBe('9000');
    expect(put(card, 0x0101, tlv('83', '81') + tlv('80', ascii('9999')))).toBe('9000');
    expect(card.state.mf.pins).toHaveLength(1);
    expect(verify(0x81)).toBe('63C3');
    expect(verify(0x81, ascii('9999'))).toBe('9000');
  });

  it('a global reference (b8=0) goes to the MF, a specific one (b8=1) to the current DF', () => {
    const df = newDf(0xdf01);
    attach(card.nv, card.state.mf, df);
    card.nv.commit();
    selectDf(card, 'DF01');
    expect(put(card, 0x0101, tlv('83', '01') + tlv('80', ascii('1111')))).toBe('9000');
    expect(put(card, 0x0101, tlv('83', '81') + tlv('80', ascii('2222')))).toBe('9000');
    expect(card.state.mf.pins.map((p) => p.ref)).toEqual([0x01]);
    expect(df.pins.map((p) => p.ref)).toEqual([0x81]);
    selectDf(card, '3F00');
    expect(verify(0x01, ascii('1111'))).toBe('9000');
    expect(verify(0x81, ascii('2222'))).toBe('6A88');
  });

  it.each([
    ['missing 83', tlv('80', ascii('1234')), '83 (reference)'],
    ['missing 80', tlv('83', '81'), '80 (value)'],
    ['reference 00', tlv('83', '00') + tlv('80', ascii('1234')), '83 (reference)'],
    ['two-byte reference', tlv('83', '0081') + tlv('80', ascii('1234')), '83 (reference)'],
    ['value too short', tlv('83', '81') + tlv('80', ascii('123')), '80 (value)'],
    ['value longer than 82', tlv('83', '81') + tlv('82', '06') + tlv('80', ascii('1234567')), '80 (value)'],
    ['min length 0', tlv('83', '81') + tlv('81', '00') + tlv('80', ascii('1234')), '81 (min length)'],
    ['max length below min', tlv('83', '81') + tlv('81', '06') + tlv('82', '04') + tlv('80', ascii('123456')), '82 (max length)'],
    ['max length above 64', tlv('83', '81') + tlv('82', '41') + tlv('80', ascii('1234')), '82 (max length)'],
    ['padding 01', tlv('83', '81') + tlv('80', ascii('1234')) + tlv('84', '01'), '84 (padding)'],
    ['padded length without padding', tlv('83', '81') + tlv('80', ascii('1234')) + tlv('85', '0C'), '85 (padded length)'],
    ['padded length below max', tlv('83', '81') + tlv('80', ascii('1234')) + tlv('84', 'FF') + tlv('85', '04'), '85 (padded length)'],
    ['max tries 0', tlv('83', '81') + tlv('80', ascii('1234')) + tlv('86', '00'), '86 (max tries)'],
    ['max tries 16', tlv('83', '81') + tlv('80', ascii('1234')) + tlv('86', '10'), '86 (max tries)'],
    ['own PUK', tlv('83', '81') + tlv('80', ascii('1234')) + tlv('87', '81'), '87 (PUK reference)'],
    ['unblock count of 2 bytes', tlv('83', '82') + tlv('80', ascii('1234')) + tlv('88', '0001'), '88 (unblock count)'],
    ['duplicate 80', tlv('83', '81') + tlv('80', ascii('1234')) + tlv('80', ascii('5678')), '80 (value)'],
    ['unknown tag', tlv('83', '81') + tlv('80', ascii('1234')) + tlv('8F', '00'), 'unexpected data object'],
    ['malformed TLV', '8301818004313233', 'malformed'],
    ['empty', '', '83 (reference)'],
  ])('6A80: %s', (_name, template, field) => {
    expect(put(card, 0x0101, template)).toBe('6A80');
    expect(card.state.mf.pins).toHaveLength(0);
    // The trace detail names the field and never shows the PIN.
    const e = runDirect(card, 0x0101, template);
    expect(e.sw).toBe(0x6a80);
    expect(e.detail).toContain(field);
    for (const secret of ['31323334', '1234', '123', '5678', '313233']) expect(e.detail ?? '').not.toContain(secret);
  });

  it('an unknown tag made of PIN bytes is not echoed in the detail', () => {
    // 80 01 31 then "32 00": a well-formed object with tag 32 — a PIN digit, not a tag.
    const e = runDirect(card, 0x0101, '830181' + '800131' + '3200');
    expect(e.detail).not.toMatch(/32/);
  });
});

// --- PUT DATA 0102: keys ------------------------------------------------------------------------

describe('PUT DATA 0102: symmetric keys', () => {
  let card: Card;
  const AES = '2B7E151628AED2A6ABF7158809CF4F3C';
  beforeEach(() => {
    card = poweredCard();
    persoAuth(card);
  });

  it('loads an AES key that EXTERNAL AUTHENTICATE then accepts', () => {
    expect(put(card, 0x0102, tlv('83', '01') + tlv('89', '02') + tlv('80', AES) + tlv('86', '05'))).toBe('9000');
    expect(card.state.mf.keys[0]).toMatchObject({ ref: 1, algorithm: 'aes', maxTries: 5, tries: 5 });
    const c = hexToBytes(send(card, 0x84, 0, 0, undefined, 8).data);
    expect(send(card, 0x82, 0, 0x01, bytesToHex(externalAuthCryptogram('aes', hexToBytes(AES), c))).sw).toBe('9000');
  });

  it('loads 3DES keys of 16 and 24 bytes; replaces the same reference', () => {
    expect(put(card, 0x0102, tlv('83', '02') + tlv('89', '01') + tlv('80', AES))).toBe('9000');
    expect(put(card, 0x0102, tlv('83', '02') + tlv('89', '01') + tlv('80', AES + '0011223344556677'))).toBe('9000');
    expect(card.state.mf.keys).toHaveLength(1);
    expect(card.state.mf.keys[0]).toMatchObject({ algorithm: '3des', maxTries: 10 });
    expect(card.state.mf.keys[0]!.value).toHaveLength(24);
  });

  it.each([
    ['missing 83', tlv('89', '02') + tlv('80', AES), '83 (reference)'],
    ['reference 00', tlv('83', '00') + tlv('89', '02') + tlv('80', AES), '83 (reference)'],
    ['missing 89', tlv('83', '01') + tlv('80', AES), '89 (algorithm)'],
    ['algorithm 03', tlv('83', '01') + tlv('89', '03') + tlv('80', AES), '89 (algorithm)'],
    ['missing 80', tlv('83', '01') + tlv('89', '02'), '80 (value)'],
    ['3DES of 32 bytes', tlv('83', '01') + tlv('89', '01') + tlv('80', AES + AES), '80 (value)'],
    ['AES of 15 bytes', tlv('83', '01') + tlv('89', '02') + tlv('80', AES.slice(2)), '80 (value)'],
    ['max tries 0', tlv('83', '01') + tlv('89', '02') + tlv('80', AES) + tlv('86', '00'), '86 (max tries)'],
    ['PIN field 84', tlv('83', '01') + tlv('89', '02') + tlv('80', AES) + tlv('84', 'FF'), 'unexpected data object'],
  ])('6A80: %s', (_name, template, field) => {
    expect(put(card, 0x0102, template)).toBe('6A80');
    expect(card.state.mf.keys).toHaveLength(0);
    const e = runDirect(card, 0x0102, template);
    expect(e.detail).toContain(field);
    expect(e.detail ?? '').not.toContain(AES.slice(0, 8));
  });
});

/** Runs PUT DATA's handler directly to see the trace detail of its StatusWordError. */
function runDirect(card: Card, p1p2: number, template: string): StatusWordError {
  const handler = DATA_OBJECT_COMMANDS[PUT];
  if (handler === undefined) throw new Error('PUT DATA not registered');
  const ctx = new CommandContext(card, new Channel(0, card.state.mf));
  const cmd = parseCommandApdu(encodeCommandApdu({ ins: PUT, p1: p1p2 >>> 8, p2: p1p2 & 0xff, data: hexToBytes(template) }));
  try {
    handler.run(cmd, ctx, undefined);
  } catch (e) {
    card.nv.rollback();
    if (e instanceof StatusWordError) return e;
    throw e;
  }
  card.nv.rollback();
  throw new Error('expected a StatusWordError');
}
