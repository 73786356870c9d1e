/**
 * GET CHALLENGE and EXTERNAL AUTHENTICATE (ISO/IEC 7816-4:2013 §11.5.3, §11.5.4): challenge
 * handling, the transport key that opens personalization, key retry counters, and access rules
 * KEY(ref).
 */
import { describe, it, expect, beforeEach } from 'vitest';
import { encodeCommandApdu } from '../src/apdu/command.js';
import { parseResponseApdu } from '../src/apdu/response.js';
import { bytesToHex, hexToBytes } from '../src/bytes/index.js';
import type { Card } from '../src/card/os.js';
import { newTransparentEf } from '../src/card/fs/file.js';
import { attach } from '../src/card/fs/tree.js';
import { key as keyRule } from '../src/card/security/access.js';
import { newKey, type KeyAlgorithm, type KeyObject } from '../src/card/security/objects.js';
import { externalAuthCryptogram } from '../src/card/commands/authenticate.js';
import { DEFAULT_TRANSPORT_KEY, poweredCard } from './helpers/card.js';

const GET_CHALLENGE = 0x84;
const EXT_AUTH = 0x82;

interface Answer {
  readonly data: string;
  readonly sw: string;
}

function send(
  card: Card,
  ins: number,
  p1: number,
  p2: number,
  data?: string,
  ne?: number,
  opts: { ch?: number; extended?: boolean } = {},
): Answer {
  const apdu = encodeCommandApdu({
    cla: opts.ch ?? 0,
    ins,
    p1,
    p2,
    data: data === undefined ? undefined : hexToBytes(data),
    ne,
    extended: opts.extended,
  });
  const out = card.transmit(apdu);
  if (out.length < 2) throw new Error('card mute');
  const r = parseResponseApdu(out);
  return { data: bytesToHex(r.data), sw: r.sw.toString(16).toUpperCase().padStart(4, '0') };
}

const challenge = (card: Card, n = 8, ch = 0): Uint8Array => {
  const r = send(card, GET_CHALLENGE, 0, 0, undefined, n, { ch });
  expect(r.sw).toBe('9000');
  return hexToBytes(r.data);
};

/** GET CHALLENGE then EXTERNAL AUTHENTICATE with the right cryptogram (or a corrupted one). */
function authenticate(
  card: Card,
  p2: number,
  alg: KeyAlgorithm,
  key: Uint8Array,
  opts: { wrong?: boolean; p1?: number; ch?: number; n?: number } = {},
): string {
  const c = challenge(card, opts.n ?? 8, opts.ch ?? 0);
  const crypt = externalAuthCryptogram(alg, key, c);
  if (opts.wrong === true) crypt[0]! ^= 0x01;
  return send(card, EXT_AUTH, opts.p1 ?? 0, p2, bytesToHex(crypt), undefined, { ch: opts.ch ?? 0 }).sw;
}

const transportAuth = (card: Card, opts: { wrong?: boolean; ch?: number } = {}): string =>
  authenticate(card, 0x00, '3des', DEFAULT_TRANSPORT_KEY, opts);

/** PUT DATA 5F20 — a personalization command, to observe persoAuthenticated. */
const putData = (card: Card, ch = 0): string => send(card, 0xda, 0x5f, 0x20, '41', undefined, { ch }).sw;

function installKey(card: Card, ref: number, algorithm: KeyAlgorithm, value: Uint8Array, maxTries = 3): KeyObject {
  const k = newKey({ ref, algorithm, value, maxTries });
  card.nv.splice(card.state.mf.keys, card.state.mf.keys.length, 0, k);
  card.nv.commit();
  return k;
}

const AES_KEY = hexToBytes('2B7E151628AED2A6ABF7158809CF4F3C');
const TDES_KEY = hexToBytes('AB94FDECF2674FDFB9B391F85D7F76F2');

function operational(card: Card): void {
  card.nv.set(card.state, 'lifeCycle', 'operational');
  card.nv.commit();
}

// --- GET CHALLENGE ------------------------------------------------------------------------------

describe('GET CHALLENGE (INS 84)', () => {
  it('returns Ne bytes from the card RNG (fed bytes replay exactly)', () => {
    const card = poweredCard({ rng: hexToBytes('0102030405060708090A') });
    expect(send(card, GET_CHALLENGE, 0, 0, undefined, 8)).toEqual({ data: '0102030405060708', sw: '9000' });
    const r = send(card, GET_CHALLENGE, 0, 0, undefined, 4);
    expect(r.sw).toBe('9000');
    expect(r.data.slice(0, 4)).toBe('090A');
    expect(r.data).toHaveLength(8);
  });

  it('Le=00 gives 256 bytes; an extended Le of 256 too', () => {
    const card = poweredCard();
    expect(send(card, GET_CHALLENGE, 0, 0, undefined, 256).data).toHaveLength(512);
    expect(send(card, GET_CHALLENGE, 0, 0, undefined, 256, { extended: true }).data).toHaveLength(512);
  });

  it('6700 without Le, with data, or above 256 bytes', () => {
    const card = poweredCard();
    expect(send(card, GET_CHALLENGE, 0, 0).sw).toBe('6700');
    expect(send(card, GET_CHALLENGE, 0, 0, '00', 8).sw).toBe('6700');
    expect(send(card, GET_CHALLENGE, 0, 0, undefined, 257).sw).toBe('6700');
    expect(send(card, GET_CHALLENGE, 0, 0, undefined, 65536).sw).toBe('6700');
  });

  it('6A86 for P1-P2 other than 0000', () => {
    const card = poweredCard();
    expect(send(card, GET_CHALLENGE, 1, 0, undefined, 8).sw).toBe('6A86');
    expect(send(card, GET_CHALLENGE, 0, 1, undefined, 8).sw).toBe('6A86');
  });

  it('two challenges differ (secure RNG)', () => {
    const card = poweredCard();
    expect(bytesToHex(challenge(card, 16))).not.toBe(bytesToHex(challenge(card, 16)));
  });
});

// --- the cryptogram scheme ----------------------------------------------------------------------

describe('external-authentication cryptogram', () => {
  it('is CBC with a zero IV: the ICAO 9303-11 Appendix D.3 BAC vector (E_IFD = 3DES-CBC(K_Enc, S))', () => {
    const s = hexToBytes('781723860C06C2264608F919887022120B795240CB7049B01C19B33E32804F0B');
    expect(bytesToHex(externalAuthCryptogram('3des', TDES_KEY, s))).toBe(
      '72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2',
    );
  });

  it('pads with ISO/IEC 9797-1 method 2 only when the challenge is not whole blocks', () => {
    // NIST SP 800-38A F.1.1 block 1 as a 16-byte challenge under AES-128: no padding, one block.
    expect(bytesToHex(externalAuthCryptogram('aes', AES_KEY, hexToBytes('6BC1BEE22E409F96E93D7E117393172A')))).toBe(
      '3AD77BB40D7A3660A89ECAF32466EF97',
    );
    const eight = hexToBytes('0011223344556677');
    expect(externalAuthCryptogram('3des', TDES_KEY, eight)).toHaveLength(8);
    const aes8 = externalAuthCryptogram('aes', AES_KEY, eight);
    expect(aes8).toHaveLength(16);
    expect(bytesToHex(aes8)).toBe(bytesToHex(externalAuthCryptogram('aes', AES_KEY, hexToBytes('00112233445566778000000000000000'))));
  });
});

// --- EXTERNAL AUTHENTICATE ----------------------------------------------------------------------

describe('EXTERNAL AUTHENTICATE with the transport key (P2=00)', () => {
  let card: Card;
  beforeEach(() => {
    card = poweredCard();
  });

  it('personalization commands are refused with 6982 until the transport key is authenticated', () => {
    expect(putData(card)).toBe('6982');
    expect(transportAuth(card)).toBe('9000');
    expect(putData(card)).toBe('9000');
  });

  it('a wrong cryptogram: 63CE (15 tries), and personalization stays closed', () => {
    expect(transportAuth(card, { wrong: true })).toBe('63CE');
    expect(send(card, EXT_AUTH, 0, 0).sw).toBe('63CE');
    expect(putData(card)).toBe('6982');
    expect(transportAuth(card)).toBe('9000');
    expect(card.state.transportKey.tries).toBe(15);
  });

  it('a failed attempt drops an earlier authentication on the channel', () => {
    expect(transportAuth(card)).toBe('9000');
    expect(transportAuth(card, { wrong: true })).toBe('63CE');
    expect(putData(card)).toBe('6982');
  });

  it('the status query (no data) answers 9000 once authenticated, and needs no challenge', () => {
    expect(send(card, EXT_AUTH, 0, 0).sw).toBe('63CF');
    expect(transportAuth(card)).toBe('9000');
    expect(send(card, EXT_AUTH, 0, 0).sw).toBe('9000');
  });

  it('is per channel and cleared by a reset', () => {
    const ch = parseInt(send(card, 0x70, 0, 0, undefined, 1).data, 16);
    expect(transportAuth(card)).toBe('9000');
    expect(putData(card, ch)).toBe('6982');
    card.reset();
    expect(putData(card)).toBe('6982');
  });

  it('after personalization, P2=00 names nothing: 6A88 (and PUT DATA answers 6985)', () => {
    expect(transportAuth(card)).toBe('9000');
    operational(card);
    expect(transportAuth(card)).toBe('6A88');
    expect(send(card, EXT_AUTH, 0, 0).sw).toBe('6A88');
    expect(putData(card)).toBe('6985');
  });
});

describe('EXTERNAL AUTHENTICATE: challenge, lengths, P1', () => {
  let card: Card;
  beforeEach(() => {
    card = poweredCard();
  });

  it('6985 without a pending challenge', () => {
    const crypt = externalAuthCryptogram('3des', DEFAULT_TRANSPORT_KEY, new Uint8Array(8));
    expect(send(card, EXT_AUTH, 0, 0, bytesToHex(crypt)).sw).toBe('6985');
    expect(card.state.transportKey.tries).toBe(15);
  });

  it('the challenge is consumed by every attempt: success, failure, wrong length, bad reference', () => {
    const replay = (c: Uint8Array): string =>
      send(card, EXT_AUTH, 0, 0, bytesToHex(externalAuthCryptogram('3des', DEFAULT_TRANSPORT_KEY, c))).sw;

    let c = challenge(card);
    expect(replay(c)).toBe('9000');
    expect(replay(c)).toBe('6985');

    c = challenge(card);
    expect(send(card, EXT_AUTH, 0, 0, '0000000000000000').sw).toBe('63CE');
    expect(replay(c)).toBe('6985');

    c = challenge(card);
    expect(send(card, EXT_AUTH, 0, 0, '00').sw).toBe('6700');
    expect(replay(c)).toBe('6985');

    c = challenge(card);
    expect(send(card, EXT_AUTH, 0, 0x55, '0000000000000000').sw).toBe('6A88');
    expect(replay(c)).toBe('6985');
  });

  it('a challenge from another channel does not count', () => {
    const ch = parseInt(send(card, 0x70, 0, 0, undefined, 1).data, 16);
    const c = challenge(card, 8, ch);
    const crypt = externalAuthCryptogram('3des', DEFAULT_TRANSPORT_KEY, c);
    expect(send(card, EXT_AUTH, 0, 0, bytesToHex(crypt)).sw).toBe('6985');
    expect(send(card, EXT_AUTH, 0, 0, bytesToHex(crypt), undefined, { ch }).sw).toBe('9000');
  });

  it('6700 for a cryptogram of the wrong length, without using a try', () => {
    challenge(card);
    expect(send(card, EXT_AUTH, 0, 0, '00000000000000000000000000000000').sw).toBe('6700');
    expect(card.state.transportKey.tries).toBe(15);
  });

  it('any challenge length works (padded when not whole blocks)', () => {
    expect(authenticate(card, 0, '3des', DEFAULT_TRANSPORT_KEY, { n: 16 })).toBe('9000');
    expect(authenticate(card, 0, '3des', DEFAULT_TRANSPORT_KEY, { n: 5 })).toBe('9000');
    expect(authenticate(card, 0, '3des', DEFAULT_TRANSPORT_KEY, { n: 256 })).toBe('9000');
  });

  it('P1: 00 implicit, 01 (3DES) matches the transport key, 02 (AES) and unknown codes answer 6A86', () => {
    expect(authenticate(card, 0, '3des', DEFAULT_TRANSPORT_KEY, { p1: 0x01 })).toBe('9000');
    expect(authenticate(card, 0, '3des', DEFAULT_TRANSPORT_KEY, { p1: 0x02 })).toBe('6A86');
    expect(authenticate(card, 0, '3des', DEFAULT_TRANSPORT_KEY, { p1: 0x07 })).toBe('6A86');
  });

  it('6A88 for a key reference not in scope', () => {
    expect(authenticate(card, 0x42, '3des', TDES_KEY)).toBe('6A88');
    expect(send(card, EXT_AUTH, 0, 0x42).sw).toBe('6A88');
  });
});

describe('EXTERNAL AUTHENTICATE with an application key', () => {
  let card: Card;
  let aes: KeyObject;
  beforeEach(() => {
    card = poweredCard();
    aes = installKey(card, 0x01, 'aes', AES_KEY, 3);
    installKey(card, 0x02, '3des', TDES_KEY, 3);
  });

  it('AES and 3DES keys authenticate; P1=02 fits the AES key', () => {
    expect(authenticate(card, 0x01, 'aes', AES_KEY)).toBe('9000');
    expect(authenticate(card, 0x01, 'aes', AES_KEY, { p1: 0x02, n: 16 })).toBe('9000');
    expect(authenticate(card, 0x02, '3des', TDES_KEY)).toBe('9000');
    expect(send(card, EXT_AUTH, 0, 0x01).sw).toBe('9000');
  });

  it('key life cycle: 63C2, 63C1, 63C0, then 6983 even with the right cryptogram', () => {
    expect(authenticate(card, 0x01, 'aes', AES_KEY, { wrong: true })).toBe('63C2');
    expect(send(card, EXT_AUTH, 0, 0x01).sw).toBe('63C2');
    expect(authenticate(card, 0x01, 'aes', AES_KEY, { wrong: true })).toBe('63C1');
    expect(authenticate(card, 0x01, 'aes', AES_KEY, { wrong: true })).toBe('63C0');
    expect(authenticate(card, 0x01, 'aes', AES_KEY)).toBe('6983');
    expect(send(card, EXT_AUTH, 0, 0x01).sw).toBe('6983');
    expect(aes.tries).toBe(0);
  });

  it('a right cryptogram after wrong ones restores the counter', () => {
    expect(authenticate(card, 0x01, 'aes', AES_KEY, { wrong: true })).toBe('63C2');
    expect(authenticate(card, 0x01, 'aes', AES_KEY)).toBe('9000');
    expect(aes.tries).toBe(3);
  });

  it('the decrement survives a power cut after the comparison', () => {
    const c = challenge(card);
    const crypt = externalAuthCryptogram('aes', AES_KEY, c);
    card.faults.cutPowerAtWrite(2);
    expect(card.transmit(encodeCommandApdu({ ins: EXT_AUTH, p2: 0x01, data: crypt })).length).toBe(0);
    card.powerOn();
    expect(send(card, EXT_AUTH, 0, 0x01).sw).toBe('63C2');
  });

  it('access rule KEY(01): READ BINARY only after EXTERNAL AUTHENTICATE on this channel', () => {
    const ef = newTransparentEf(0x0102, 2, { rules: { read: keyRule(0x01) }, data: hexToBytes('BEEF') });
    attach(card.nv, card.state.mf, ef);
    card.nv.commit();
    expect(send(card, 0xa4, 0x02, 0x0c, '0102').sw).toBe('9000');
    expect(send(card, 0xb0, 0, 0, undefined, 2).sw).toBe('6982');
    expect(authenticate(card, 0x02, '3des', TDES_KEY)).toBe('9000'); // another key does not do
    expect(send(card, 0xb0, 0, 0, undefined, 2).sw).toBe('6982');
    expect(authenticate(card, 0x01, 'aes', AES_KEY)).toBe('9000');
    expect(send(card, 0xb0, 0, 0, undefined, 2)).toEqual({ data: 'BEEF', sw: '9000' });
    expect(authenticate(card, 0x01, 'aes', AES_KEY, { wrong: true })).toBe('63C2');
    expect(send(card, 0xb0, 0, 0, undefined, 2).sw).toBe('6982');
  });
});
