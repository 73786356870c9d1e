/**
 * Secure messaging (ISO/IEC 7816-4 §10, ICAO 9303-11 §9.8): the codec against ICAO 9303-11
 * Appendix D.4 byte for byte, in both directions; round trips over random commands, responses,
 * keys and counters for 3DES and AES-128/192/256 (AES sessions come from PACE later, so they are
 * set up directly here); the status word for every kind of broken protected APDU; and the card OS
 * with an SM session: access rules, extended length, command chaining, odd INS, logical
 * channels, GET RESPONSE under SM, and sessions ending.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { bytesToHex, concatBytes, hexToBytes } from '../src/bytes/index.js';
import { encodeCommandApdu, parseCommandApdu } from '../src/apdu/command.js';
import { createCard, type Card } from '../src/card/os.js';
import { newTransparentEf } from '../src/card/fs/file.js';
import { SM_REQUIRED } from '../src/card/security/access.js';
import { CardSmSession } from '../src/card/protocols/secure-messaging.js';
import { aesCmac, retailMac } from '../src/crypto/mac.js';
import { cbcEncrypt, ecbEncryptBlock, pad2 } from '../src/crypto/cipher.js';
import { SmCodec, SmError, protectedResponseLength, type SmKeys } from '../src/crypto/sm.js';
import { InProcessTransport } from '../src/transport/in-process.js';
import { SecureMessagingError, SecureMessagingTransport } from '../src/transport/secure-messaging.js';
import { tx } from './helpers/card.js';
import { addFiles, channelOf, counting } from './helpers/perso.js';

const h = (s: string): Uint8Array => hexToBytes(s);
const hex = (b: Uint8Array): string => bytesToHex(b);

interface D4Step {
  name: string;
  command: string;
  sscCommand: string;
  protectedCommand: string;
  protectedResponse: string;
  sscResponse: string;
  response: string;
}
const D = JSON.parse(readFileSync(new URL('../test-vectors/icao-9303-11-appendix-d.json', import.meta.url), 'utf8')) as {
  d3: { ksEnc: string; ksMac: string; ssc: string };
  d4: { efCom: { content: string }; steps: D4Step[] };
};
const D4_KEYS: SmKeys = { cipher: '3des', kEnc: h(D.d3.ksEnc), kMac: h(D.d3.ksMac), ssc: h(D.d3.ssc) };

/** The plain data each Appendix D.4 response carries (EF.COM bytes), by step. */
const D4_DATA = ['', '60145F01', '04303130365F36063034303030305C026175'];

describe('ICAO 9303-11 Appendix D.4 with the codec', () => {
  it('terminal: protected commands, SSC values and unprotected responses', () => {
    const t = new SmCodec(D4_KEYS);
    for (const step of D.d4.steps) {
      expect(hex(t.protectCommand(parseCommandApdu(h(step.command)))), step.name).toBe(step.protectedCommand);
      expect(hex(t.ssc)).toBe(step.sscCommand);
      const r = t.unprotectResponse(h(step.protectedResponse));
      expect(hex(r.data) + r.sw.toString(16).toUpperCase(), step.name).toBe(step.response);
      expect(hex(t.ssc)).toBe(step.sscResponse);
    }
  });

  it('card: unprotected commands and protected responses', () => {
    const c = new SmCodec(D4_KEYS);
    D.d4.steps.forEach((step, i) => {
      const plain = c.unprotectCommand(parseCommandApdu(h(step.protectedCommand)));
      const expected = parseCommandApdu(h(step.command));
      expect({ cla: plain.cla.raw, ins: plain.ins, p1: plain.p1, p2: plain.p2, data: hex(plain.data), ne: plain.ne, case: plain.case }).toEqual({
        cla: expected.cla.raw,
        ins: expected.ins,
        p1: expected.p1,
        p2: expected.p2,
        data: hex(expected.data),
        ne: expected.ne,
        case: expected.case,
      });
      expect(hex(c.protectResponse(h(D4_DATA[i]!), 0x9000)), step.name).toBe(step.protectedResponse);
    });
  });
});

// --- round trips --------------------------------------------------------------------------------

const cipherArb = fc.constantFrom<'3des' | 'aes-128' | 'aes-192' | 'aes-256'>('3des', 'aes-128', 'aes-192', 'aes-256');

function keysArb(): fc.Arbitrary<SmKeys> {
  return cipherArb.chain((c) => {
    const kl = c === '3des' ? 16 : c === 'aes-128' ? 16 : c === 'aes-192' ? 24 : 32;
    const sl = c === '3des' ? 8 : 16;
    const ssc = fc.oneof(
      fc.uint8Array({ minLength: sl, maxLength: sl }),
      // Near the wrap-around of the counter.
      fc.integer({ min: 0, max: 4 }).map((k) => {
        const s = new Uint8Array(sl).fill(0xff);
        s[sl - 1] = 0xff - k;
        return s;
      }),
    );
    return fc.record({
      cipher: fc.constant<'3des' | 'aes'>(c === '3des' ? '3des' : 'aes'),
      kEnc: fc.uint8Array({ minLength: kl, maxLength: kl }),
      kMac: fc.uint8Array({ minLength: kl, maxLength: kl }),
      ssc,
    });
  });
}

/** Plain commands: channels 0–19 (with and without chaining), any INS, all seven cases. */
const commandArb: fc.Arbitrary<Uint8Array> = fc
  .record({
    channel: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 19 }) }),
    proprietary: fc.boolean(),
    chaining: fc.boolean(),
    ins: fc.integer({ min: 0, max: 255 }),
    p1: fc.integer({ min: 0, max: 255 }),
    p2: fc.integer({ min: 0, max: 255 }),
    data: fc.oneof(
      { weight: 3, arbitrary: fc.uint8Array({ maxLength: 40 }) },
      { weight: 1, arbitrary: fc.uint8Array({ minLength: 200, maxLength: 600 }) },
    ),
    ne: fc.oneof(
      { weight: 2, arbitrary: fc.constant(0) },
      { weight: 3, arbitrary: fc.integer({ min: 1, max: 256 }) },
      { weight: 1, arbitrary: fc.integer({ min: 257, max: 65536 }) },
    ),
  })
  .map((c) => {
    let cla = c.channel < 4 ? c.channel : 0x40 | (c.channel - 4);
    if (c.chaining) cla |= 0x10;
    if (c.proprietary && c.channel < 4) cla |= 0x80;
    return encodeCommandApdu({ cla, ins: c.ins, p1: c.p1, p2: c.p2, data: c.data, ne: c.ne });
  });

describe('round trips over random keys, counters, commands and responses', () => {
  it('terminal → card → terminal gives back the command and the response, counters in step', () => {
    fc.assert(
      fc.property(
        keysArb(),
        fc.array(fc.tuple(commandArb, fc.uint8Array({ maxLength: 700 }), fc.integer({ min: 0x6000, max: 0x9fff })), { minLength: 1, maxLength: 4 }),
        (keys, exchanges) => {
          const terminal = new SmCodec(keys);
          const card = new SmCodec(keys);
          for (const [bytes, data, sw] of exchanges) {
            const wire = terminal.protectCommand(parseCommandApdu(bytes));
            const outer = parseCommandApdu(wire);
            expect(outer.cla.sm).not.toBe('none');
            expect(outer.ne === 256 || outer.ne === 65536).toBe(true);
            if (parseCommandApdu(bytes).data.length > 0) expect(outer.data[0]).toBe((outer.ins & 1) === 1 ? 0x85 : 0x87);
            const plain = card.unprotectCommand(outer);
            // encode(decode): the card's view of the command encodes to the original bytes.
            expect(hex(encodeCommandApdu({ cla: plain.cla.raw, ins: plain.ins, p1: plain.p1, p2: plain.p2, data: plain.data, ne: plain.ne, extended: plain.extended }))).toBe(hex(bytes));
            const odd = (plain.ins & 1) === 1;
            const resp = card.protectResponse(data, sw, odd);
            if (data.length > 0) expect(resp[0]).toBe(odd ? 0x85 : 0x87);
            const back = terminal.unprotectResponse(resp);
            expect(hex(back.data)).toBe(hex(data));
            expect(back.sw).toBe(sw);
            expect(hex(terminal.ssc)).toBe(hex(card.ssc));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('the counter wraps around to zero on both sides', () => {
    const keys: SmKeys = { cipher: 'aes', kEnc: randomBytes(16), kMac: randomBytes(16), ssc: new Uint8Array(16).fill(0xff) };
    const t = new SmCodec(keys);
    const c = new SmCodec(keys);
    c.unprotectCommand(parseCommandApdu(t.protectCommand(parseCommandApdu(h('00B0000010')))));
    expect(hex(t.ssc)).toBe('00'.repeat(16));
    expect(hex(c.ssc)).toBe('00'.repeat(16));
    expect(t.unprotectResponse(c.protectResponse(counting(16), 0x9000)).data).toEqual(counting(16));
    expect(hex(t.ssc)).toBe(`${'00'.repeat(15)}01`);
  });

  it('extended length: the protected command goes extended when the plain one is, or when the answer could not fit', () => {
    const aes = new SmCodec({ cipher: 'aes', kEnc: randomBytes(16), kMac: randomBytes(16), ssc: new Uint8Array(16) });
    const tdes = new SmCodec({ cipher: '3des', kEnc: randomBytes(16), kMac: randomBytes(16), ssc: new Uint8Array(8) });
    const isExtended = (w: Uint8Array): boolean => parseCommandApdu(w).extended;
    // 223 bytes fit a short response under both ciphers; 256 do not (291 bytes with AES).
    expect(protectedResponseLength(256, 16)).toBe(291);
    expect(isExtended(aes.protectCommand(parseCommandApdu(h('00B00000DF'))))).toBe(false);
    expect(isExtended(tdes.protectCommand(parseCommandApdu(h('00B00000DF'))))).toBe(false);
    expect(isExtended(aes.protectCommand(parseCommandApdu(h('00B0000000'))))).toBe(true);
    // Extended plain command: DO'97' carries two bytes.
    const w = aes.protectCommand(parseCommandApdu(h('00B00000000400')));
    expect(isExtended(w)).toBe(true);
    expect(hex(w).includes('97020400')).toBe(true);
    // Data above 255 bytes.
    expect(isExtended(tdes.protectCommand(parseCommandApdu(encodeCommandApdu({ ins: 0xd6, data: new Uint8Array(250) }))))).toBe(true);
  });
});

// --- broken protected APDUs ----------------------------------------------------------------------

/**
 * Builds a protected command by hand under the Appendix D session (SSC 887022120C06C226 + 1):
 * header, a list of raw DOs, and a correct MAC over them unless `mac` is given.
 */
function handMade(dos: string, opts: { cla?: string; mac?: string; le?: string; withMac?: boolean } = {}): Uint8Array {
  const cla = opts.cla ?? '0C';
  const header = `${cla}B00000`;
  const ssc = '887022120C06C227';
  const n = h(ssc + header + '80000000' + dos);
  const mac = opts.mac ?? hex(retailMac(h(D.d3.ksMac), n));
  const field = dos + (opts.withMac === false ? '' : `8E08${mac}`);
  const lc = (field.length / 2).toString(16).padStart(2, '0');
  return h(header + lc + field + (opts.le ?? '00'));
}

function cardError(apdu: Uint8Array): number {
  try {
    new SmCodec(D4_KEYS).unprotectCommand(parseCommandApdu(apdu));
  } catch (e) {
    expect(e).toBeInstanceOf(SmError);
    return (e as SmError).sw;
  }
  return 0x9000;
}

describe('AES secure messaging against an independent reference (one-shot OpenSSL CBC, ECB and CMAC)', () => {
  /** SSC + 1, big-endian (ICAO 9303-11 §9.8.5). */
  const next = (ssc: Uint8Array): Uint8Array => {
    const s = ssc.slice();
    for (let i = s.length - 1; i >= 0; i--) if ((s[i] = (s[i]! + 1) & 0xff) !== 0) break;
    return s;
  };
  const tlv = (tag: number, value: Uint8Array): Uint8Array => {
    const n = value.length;
    const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >>> 8, n & 0xff];
    return concatBytes(new Uint8Array([tag, ...len]), value);
  };
  /** DO'87' (01 ‖ cryptogram) or DO'85', IV = E(KSenc, SSC) (ICAO 9303-11 §9.8.3), or nothing. */
  const cryptDo = (kEnc: Uint8Array, ssc: Uint8Array, data: Uint8Array, odd: boolean): Uint8Array => {
    if (data.length === 0) return new Uint8Array(0);
    const ct = cbcEncrypt('aes', kEnc, pad2(data, 16), ecbEncryptBlock('aes', kEnc, ssc));
    return odd ? tlv(0x85, ct) : tlv(0x87, concatBytes(new Uint8Array([1]), ct));
  };

  it('protected commands (even and odd INS, header MACed) and responses, byte for byte, AES-128/192/256', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(16, 24, 32).chain((n) => fc.tuple(fc.uint8Array({ minLength: n, maxLength: n }), fc.uint8Array({ minLength: n, maxLength: n }))),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.uint8Array({ maxLength: 300 }),
        fc.integer({ min: 0x6000, max: 0x9fff }),
        fc.boolean(),
        ([kEnc, kMac], ssc0, cmdData, respData, sw, odd) => {
          const terminal = new SmCodec({ cipher: 'aes', kEnc, kMac, ssc: ssc0 });
          const card = new SmCodec({ cipher: 'aes', kEnc, kMac, ssc: ssc0 });
          // Command: 00 D6/D7 01 02 Lc data (case 3, or case 1 without data).
          const ins = odd ? 0xd7 : 0xd6;
          const plain = encodeCommandApdu({ cla: 0x00, ins, p1: 0x01, p2: 0x02, data: cmdData });
          const sscC = next(ssc0);
          const dos = cryptDo(kEnc, sscC, cmdData, odd);
          const header = new Uint8Array([0x0c, ins, 0x01, 0x02]);
          const cc = aesCmac(kMac, pad2(concatBytes(sscC, pad2(header, 16), dos), 16), 8);
          const field = concatBytes(dos, tlv(0x8e, cc));
          const expectedCommand = concatBytes(header, new Uint8Array([field.length]), field, new Uint8Array([0]));
          const wire = terminal.protectCommand(parseCommandApdu(plain));
          expect(hex(wire)).toBe(hex(expectedCommand));
          expect(hex(card.unprotectCommand(parseCommandApdu(wire)).data)).toBe(hex(cmdData));
          // Response: [DO'87'|DO'85'] DO'99' DO'8E' SW.
          const sscR = next(sscC);
          const respDos = concatBytes(cryptDo(kEnc, sscR, respData, odd), tlv(0x99, new Uint8Array([sw >>> 8, sw & 0xff])));
          const rc = aesCmac(kMac, pad2(concatBytes(sscR, respDos), 16), 8);
          const expectedResponse = concatBytes(respDos, tlv(0x8e, rc), new Uint8Array([sw >>> 8, sw & 0xff]));
          const resp = card.protectResponse(respData, sw, odd);
          expect(hex(resp)).toBe(hex(expectedResponse));
          const back = terminal.unprotectResponse(resp);
          expect(hex(back.data)).toBe(hex(respData));
          expect(back.sw).toBe(sw);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('what the codec hands out (the hot path shares and reuses memory internally)', () => {
  it('results are plain Uint8Arrays that stay intact while the session goes on, for every cipher', () => {
    for (const keys of [
      { cipher: 'aes', kEnc: randomBytes(16), kMac: randomBytes(16), ssc: new Uint8Array(16) },
      { cipher: 'aes', kEnc: randomBytes(32), kMac: randomBytes(24), ssc: new Uint8Array(16) },
      { cipher: '3des', kEnc: randomBytes(16), kMac: randomBytes(16), ssc: new Uint8Array(8) },
    ] as const) {
      const terminal = new SmCodec(keys);
      const card = new SmCodec(keys);
      const kept: { wire: Uint8Array; wireHex: string; resp: Uint8Array; respHex: string; data: Uint8Array; dataHex: string }[] = [];
      // Enough messages to run through several output slabs.
      for (let i = 0; i < 200; i++) {
        const len = (i * 37) % 300;
        const wire = terminal.protectCommand(parseCommandApdu(h(i % 2 === 0 ? '00B0000000' : '00D6000004' + '01020304')));
        const wireHex = hex(wire);
        card.unprotectCommand(parseCommandApdu(wire));
        const resp = card.protectResponse(counting(len), 0x9000);
        const respHex = hex(resp);
        const data = terminal.unprotectResponse(resp).data;
        expect(Buffer.isBuffer(data) || Buffer.isBuffer(resp) || Buffer.isBuffer(wire)).toBe(false);
        expect(hex(data)).toBe(hex(counting(len)));
        kept.push({ wire, wireHex, resp, respHex, data, dataHex: hex(data) });
      }
      for (const k of kept) {
        expect(hex(k.wire)).toBe(k.wireHex);
        expect(hex(k.resp)).toBe(k.respHex);
        expect(hex(k.data)).toBe(k.dataHex);
      }
    }
  });

  it('a decrypted result does not expose other plaintext through its buffer', () => {
    const keys: SmKeys = { cipher: 'aes', kEnc: randomBytes(16), kMac: randomBytes(16), ssc: new Uint8Array(16) };
    const terminal = new SmCodec(keys);
    const card = new SmCodec(keys);
    card.unprotectCommand(parseCommandApdu(terminal.protectCommand(parseCommandApdu(h('00B0000000')))));
    const data = terminal.unprotectResponse(card.protectResponse(counting(200), 0x9000)).data;
    // The view's buffer holds this plaintext and its padding (80 00..), nothing of other messages.
    const all = new Uint8Array(data.buffer);
    expect(all.length).toBe(208);
    expect(hex(all)).toBe(hex(concatBytes(counting(200), h('8000000000000000'))));
  });
});

describe('broken protected commands: which status word (ICAO 9303-11 §9.8.6, ISO/IEC 7816-4 §10)', () => {
  const encryptedUnpadded = hex(cbcEncrypt('3des', h(D.d3.ksEnc), h('0102030405060708')));
  const encryptedPadded = hex(cbcEncrypt('3des', h(D.d3.ksEnc), h('0102038000000000')));

  it('a well-formed hand-made command is accepted (the harness is right)', () => {
    expect(cardError(handMade('970104'))).toBe(0x9000);
    expect(cardError(handMade(`870901${encryptedPadded}970104`))).toBe(0x9000);
  });

  const cases: [string, () => Uint8Array, number][] = [
    ['no DO 8E', () => handMade('970104', { withMac: false }), 0x6987],
    ['no DO at all', () => h('0CB0000000'), 0x6987],
    ['wrong MAC', () => handMade('970104', { mac: '0000000000000000' }), 0x6988],
    ['DO 8E of 4 bytes', () => h('0CB000000997010 48E04 01020304 00'.replace(/ /g, '')), 0x6988],
    ['DO 97 twice', () => handMade('970104970104'), 0x6988],
    ['DO 97 after 8E', () => concatBytes(handMade('').subarray(0, -1), h('97010400')).map((b, i) => (i === 4 ? b + 3 : b)), 0x6988],
    ['DO 87 after DO 97', () => handMade(`970104870901${encryptedPadded}`), 0x6988],
    ['DO 85 and DO 87', () => handMade(`8508${encryptedPadded}870901${encryptedPadded}`), 0x6988],
    ['unknown DO 81 (plain data)', () => handMade('810101'), 0x6988],
    ['DO 99 in a command', () => handMade('99029000'), 0x6988],
    ['DO 97 of 3 bytes', () => handMade('9703000100'), 0x6988],
    ['padding indicator 02', () => handMade(`870902${encryptedPadded}`), 0x6988],
    ['cryptogram not a multiple of the block', () => handMade(`870801${encryptedPadded.slice(0, 14)}`), 0x6988],
    ['bad padding inside a correctly MACed cryptogram', () => handMade(`870901${encryptedUnpadded}`), 0x6988],
    ['TLV length past the end', () => h('0CB000000497058E0800'), 0x6988],
    ['outer Le not 00', () => handMade('970104', { le: '04' }), 0x6988],
    ['outer Le absent', () => handMade('970104').subarray(0, -1), 0x6988],
    ['CLA with proprietary SM (b4-b3 = 01)', () => handMade('970104', { cla: '04' }), 0x6882],
    ['header changed after MACing (CLA 0C → 08 drops it from the MAC)', () => handMade('970104', { cla: '0C' }).map((b, i) => (i === 0 ? 0x08 : b)), 0x6988],
  ];
  for (const [name, make, sw] of cases) {
    it(`${name} → ${sw.toString(16).toUpperCase()}`, () => {
      expect(cardError(make())).toBe(sw);
    });
  }

  it('a replayed command → 6988 (the counter moved on)', () => {
    const c = new SmCodec(D4_KEYS);
    const first = h(D.d4.steps[0]!.protectedCommand);
    c.unprotectCommand(parseCommandApdu(first));
    c.protectResponse(new Uint8Array(0), 0x9000);
    expect(() => c.unprotectCommand(parseCommandApdu(first))).toThrow(expect.objectContaining({ sw: 0x6988 }));
  });

  it('terminal side: no SM, missing DO 99, a status word that differs from DO 99', () => {
    const t = (): SmCodec => {
      const c = new SmCodec(D4_KEYS);
      c.protectCommand(parseCommandApdu(h('00A4020C02011E')));
      return c;
    };
    expect(() => t().unprotectResponse(h('6988'))).toThrow(expect.objectContaining({ sw: 0x6987, cardSw: 0x6988 }));
    // Appendix D's first response with its DO'99' removed.
    expect(() => t().unprotectResponse(h('8E08FA855A5D4C50A8ED9000'))).toThrow(expect.objectContaining({ sw: 0x6987 }));
    expect(() => t().unprotectResponse(h('990290008E08FA855A5D4C50A8ED6A82'))).toThrow(expect.objectContaining({ sw: 0x6988 }));
    expect(() => t().unprotectResponse(h('990290008E08FA855A5D4C50A8EE9000'))).toThrow(/MAC/);
    expect(t().unprotectResponse(h(D.d4.steps[0]!.protectedResponse)).sw).toBe(0x9000);
  });

  it('errors name DOs, never key or data bytes', () => {
    try {
      new SmCodec(D4_KEYS).unprotectCommand(parseCommandApdu(handMade(`870901${encryptedUnpadded}`)));
    } catch (e) {
      const m = (e as Error).message;
      expect(m).toMatch(/DO'87'/);
      for (const s of [D.d3.ksEnc, D.d3.ksMac, encryptedUnpadded, '0102030405060708']) expect(m.toUpperCase()).not.toContain(s);
    }
  });
});

// --- the card OS under secure messaging ---------------------------------------------------------

/**
 *     3F00 MF
 *     ├── 0101  transparent, 1000 bytes counting, SFI 1, read/update = SM
 *     └── 0102  transparent, 16 bytes, SFI 2, no security attributes
 */
function smCard(maxChannels = 4): Card {
  const card = createCard({ maxChannels });
  addFiles(
    card,
    card.state.mf,
    newTransparentEf(0x0101, 1000, { sfi: 1, data: counting(1000), rules: { read: SM_REQUIRED, update: SM_REQUIRED } }),
    newTransparentEf(0x0102, 16, { sfi: 2, data: counting(16, 0x40) }),
  );
  card.powerOn();
  return card;
}

/** Starts a session on the card's channel `n` directly (what BAC/PACE do on success) and the terminal side. */
function startSession(card: Card, keys: SmKeys, n = 0): SecureMessagingTransport {
  channelOf(card, n).sm = new CardSmSession(keys);
  return new SecureMessagingTransport(new InProcessTransport(card), keys);
}

const aesKeys = (): SmKeys => ({ cipher: 'aes', kEnc: randomBytes(16), kMac: randomBytes(16), ssc: new Uint8Array(16) });

describe('the card OS with a secure messaging session', () => {
  it('SM-only files: 6982 in plain, readable and writable under AES SM, 256 bytes and extended Le', async () => {
    const card = smCard();
    expect(tx(card, '00B0810010').swHex).toBe('6982');
    const sm = startSession(card, aesKeys());
    const r256 = await sm.transmit(h('00B0810000'));
    expect(hex(r256)).toBe(hex(counting(256)) + '9000');
    // Extended Le 0000: the whole file (1000 bytes) in one protected response.
    const rAll = await sm.transmit(h('00B00000000000'));
    expect(hex(rAll)).toBe(hex(counting(1000)) + '9000');
    // An explicit Le past the end: the bytes there are, with the 6282 warning, protected.
    expect(hex(await sm.transmit(h('00B003E0000020')))).toBe(hex(counting(1000).subarray(0x3e0)) + '6282');
    expect(hex(await sm.transmit(encodeCommandApdu({ ins: 0xd6, p1: 0x00, p2: 0x10, data: new Uint8Array(300).fill(0xab) })))).toBe('9000');
    expect(hex(await sm.transmit(h('00B0000F03')))).toBe('0FABAB9000');
  });

  it('error status words come back protected; the session survives them', async () => {
    const card = smCard();
    const keys = aesKeys();
    channelOf(card).sm = new CardSmSession(keys);
    const t = new SmCodec(keys);
    const raw = card.transmit(t.protectCommand(parseCommandApdu(h('00A4000C020999'))));
    expect(raw.length).toBe(16); // 99 02 6A 82 8E 08 .. 6A 82
    expect(hex(raw.subarray(0, 4))).toBe('99026A82');
    expect(t.unprotectResponse(raw).sw).toBe(0x6a82);
    expect(t.unprotectResponse(card.transmit(t.protectCommand(parseCommandApdu(h('00B0820001'))))).data).toEqual(h('40'));
  });

  it('a plain command ends the session; an SM command then meets none (6882); a failure answers in plain', async () => {
    const card = smCard();
    const keys = aesKeys();
    const sm = startSession(card, keys);
    expect(hex(await sm.transmit(h('00B0810001')))).toBe('009000');
    expect(tx(card, '00B0820001').swHex).toBe('9000');
    expect(channelOf(card).sm).toBeNull();
    await expect(sm.transmit(h('00B0810001'))).rejects.toMatchObject({ reason: 'card-ended-session', cardSw: 0x6882 });

    // A corrupted MAC: 6988 in plain, security status cleared.
    const card2 = smCard();
    channelOf(card2).sm = new CardSmSession(keys);
    const t = new SmCodec(keys);
    const bad = t.protectCommand(parseCommandApdu(h('00B0810001')));
    bad[bad.length - 2]! ^= 0x55;
    expect(hex(card2.transmit(bad))).toBe('6988');
    expect(channelOf(card2).sm).toBeNull();
  });

  it('GET RESPONSE under SM: a protected 61XX is completed with protected GET RESPONSE', async () => {
    const card = smCard();
    const fci = tx(card, '00A4000002010100'); // plain SELECT with FCI, for reference
    expect(fci.swHex).toBe('9000');
    const sm = startSession(card, aesKeys());
    // Le 04 is less than the FCI: the card answers 61XX inside the protected response.
    const r = await sm.transmit(h('00A400000201010400'.slice(0, 14) + '04'));
    expect(hex(r)).toBe(fci.data + '9000');
    expect(sm.active).toBe(true);
  });

  it('command chaining, odd INS (DO 85) and logical channels 1 and 5 (header not MACed) under SM', async () => {
    const card = smCard(8);
    const keys = aesKeys();
    const sm = startSession(card, keys);
    // UPDATE BINARY in two chained parts (CLA 10 then 00).
    expect(hex(await sm.transmit(encodeCommandApdu({ cla: 0x10, ins: 0xd6, p1: 0x81, p2: 0x00, data: h('A1A2') })))).toBe('9000');
    expect(hex(await sm.transmit(encodeCommandApdu({ cla: 0x00, ins: 0xd6, p1: 0x81, p2: 0x00, data: h('A3') })))).toBe('9000');
    expect(hex(await sm.transmit(h('00B0810003')))).toBe('A1A2A39000');
    // READ BINARY with odd INS: offset DO'54', answer in DO'53' (Le 06: 4 data bytes) — the
    // cryptograms travel in DO'85' both ways.
    expect(hex(await sm.transmit(h('00B101010354010006')))).toBe('5304A1A2A3039000');

    for (const ch of [1, 5]) {
      const cla = ch < 4 ? ch : 0x40 | (ch - 4);
      const open = card.transmit(encodeCommandApdu({ ins: 0x70, p1: 0x00, p2: ch }));
      expect(hex(open.subarray(-2))).toBe('9000');
      const k = aesKeys();
      const smc = startSession(card, k, ch);
      expect(hex(await smc.transmit(encodeCommandApdu({ cla, ins: 0xb0, p1: 0x82, p2: 0, ne: 2 })))).toBe('40419000');
    }
  });

  it('a terminal whose keys differ is refused, and the card session ends', async () => {
    const card = smCard();
    channelOf(card).sm = new CardSmSession(aesKeys());
    const sm = new SecureMessagingTransport(new InProcessTransport(card), aesKeys());
    const err = await sm.transmit(h('00B0810001')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecureMessagingError);
    expect(err).toMatchObject({ reason: 'card-ended-session', cardSw: 0x6988 });
    expect(channelOf(card).sm).toBeNull();
  });
});
