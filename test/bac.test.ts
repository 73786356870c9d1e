/**
 * Basic Access Control (ICAO 9303-11 §4.3) and 3DES secure messaging on the simulated card:
 *
 * - Appendix D.1–D.3 byte for byte (check digits, Kseed, KEnc/KMac, E_IFD/M_IFD, E_IC/M_IC,
 *   session keys, SSC), both sides.
 * - The Appendix D exchange against a card built with the library: an applet with `bacCommands`
 *   under AID A0000002471001 whose DF holds EF.COM (011E, read = SM), the card RNG fed the
 *   appendix's card randomness and the terminal fed its own: every command and response on the
 *   wire is the published one.
 * - Card against terminal over random MRZs and file sizes; wrong MRZ; challenge rules; SM-only
 *   files refused in plain; a mutation test over protected commands and responses; and traces
 *   and errors that never show the MRZ or any key.
 *
 *     3F00 MF
 *     └── 7F00 DF "A0000002471001" (applet 'mrtd': GET CHALLENGE + BAC EXTERNAL AUTHENTICATE)
 *         ├── 011E EF.COM, SFI 1E, read = SM
 *         ├── 0101 EF.DG1-like, SFI 01, read = SM (random size in properties)
 *         └── 0102 open file (no security attributes)
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { bytesToHex, hexToBytes } from '../src/bytes/index.js';
import { Recorder } from './helpers/asymmetric.js';
import { parseCommandApdu } from '../src/apdu/command.js';
import { createCard, type Card } from '../src/card/os.js';
import type { AppletFactory } from '../src/card/applet.js';
import { newTransparentEf } from '../src/card/fs/file.js';
import { attach } from '../src/card/fs/tree.js';
import { SM_REQUIRED } from '../src/card/security/access.js';
import { bacCommands } from '../src/card/protocols/bac.js';
import {
  bacCardResponse,
  bacCardVerify,
  bacKeySeed,
  bacKeys,
  bacSessionKeys,
  bacTerminalRequest,
  bacTerminalVerify,
  checkDigit,
  mrzInformation,
  type BacKeys,
  type MrzInfo,
} from '../src/crypto/bac.js';
import { SmCodec } from '../src/crypto/sm.js';
import { InProcessTransport } from '../src/transport/in-process.js';
import { TracingTransport } from '../src/transport/trace.js';
import { SecureMessagingError, SecureMessagingTransport } from '../src/transport/secure-messaging.js';
import type { Transport } from '../src/transport/types.js';
import { BacError, performBac } from '../src/terminal/bac.js';
import { tx } from './helpers/card.js';

const D = JSON.parse(readFileSync(new URL('../test-vectors/icao-9303-11-appendix-d.json', import.meta.url), 'utf8')) as AppendixD;

interface D4Step {
  name: string;
  command: string;
  sscCommand: string;
  protectedCommand: string;
  protectedResponse: string;
  sscResponse: string;
  response: string;
}
interface Exchange {
  command: string;
  response: string;
}
interface AppendixD {
  d1: { documentNumberCheckDigit: number; dateOfBirthCheckDigit: number; dateOfExpiryCheckDigit: number; mrzInformation: string; kSeed: string };
  d2: { kEnc: string; kMac: string };
  d3: {
    getChallenge: Exchange;
    externalAuthenticate: Exchange;
    rndIc: string;
    rndIfd: string;
    kIfd: string;
    eIfd: string;
    mIfd: string;
    kIc: string;
    eIc: string;
    mIc: string;
    kSeed: string;
    ksEnc: string;
    ksMac: string;
    ssc: string;
    cardRandom: string;
    terminalRandom: string;
  };
  d4: { aid: string; efCom: { fid: string; content: string }; steps: D4Step[] };
}

const h = (s: string): Uint8Array => hexToBytes(s);
const hex = (b: Uint8Array): string => bytesToHex(b);
const AID = D.d4.aid;
const APPENDIX_MRZ: MrzInfo = { documentNumber: 'L898902C', dateOfBirth: '690806', dateOfExpiry: '940623' };

interface MrtdOptions {
  readonly mrz: MrzInfo | string;
  readonly com?: Uint8Array;
  readonly dg1?: Uint8Array;
}

/** An eMRTD-like applet: BAC keys from the MRZ, EF.COM and a data file readable under SM only. */
function mrtdApplet(o: MrtdOptions): AppletFactory {
  const keys = bacKeys(o.mrz);
  return {
    type: 'mrtd',
    create: () => ({
      install: (ctx) => {
        const com = o.com ?? h(D.d4.efCom.content);
        attach(ctx.nv, ctx.df, newTransparentEf(0x011e, com.length, { sfi: 0x1e, data: com, rules: { read: SM_REQUIRED } }));
        const dg1 = o.dg1 ?? new Uint8Array(0);
        attach(ctx.nv, ctx.df, newTransparentEf(0x0101, dg1.length, { sfi: 0x01, data: dg1, rules: { read: SM_REQUIRED } }));
        attach(ctx.nv, ctx.df, newTransparentEf(0x0102, 4, { sfi: 0x02, data: h('01020304') }));
      },
      commands: bacCommands(() => keys),
    }),
  };
}

function mrtdCard(o: MrtdOptions & { rng?: Uint8Array }): Card {
  const card = createCard({ applets: [mrtdApplet(o)], ...(o.rng ? { rng: o.rng } : {}) });
  card.install(h(AID), 'mrtd');
  card.powerOn();
  return card;
}

async function selectApplet(t: Transport): Promise<void> {
  const r = await t.transmit(h(`00A4040C07${AID}`));
  expect(hex(r)).toBe('9000');
}

describe('ICAO 9303-11 Appendix D.1–D.2: keys from the MRZ', () => {
  it('check digits and MRZ_information (ICAO 9303-3 §4.9)', () => {
    expect(checkDigit('L898902C<')).toBe(D.d1.documentNumberCheckDigit);
    expect(checkDigit('690806')).toBe(D.d1.dateOfBirthCheckDigit);
    expect(checkDigit('940623')).toBe(D.d1.dateOfExpiryCheckDigit);
    expect(mrzInformation(APPENDIX_MRZ)).toBe(D.d1.mrzInformation);
    expect(mrzInformation({ ...APPENDIX_MRZ, documentNumber: 'L898902C<' })).toBe(D.d1.mrzInformation);
    // ICAO 9303-3 §4.9.2 worked example: "520727" → 3; letters count A=10…Z=35, < = 0.
    expect(checkDigit('520727')).toBe(3);
    expect(checkDigit('AB2134<<<')).toBe(5);
  });

  it('Kseed, KEnc and KMac', () => {
    expect(hex(bacKeySeed(APPENDIX_MRZ))).toBe(D.d1.kSeed);
    expect(hex(bacKeySeed(String(D.d1.mrzInformation)))).toBe(D.d1.kSeed);
    const k = bacKeys(APPENDIX_MRZ);
    expect(hex(k.kEnc)).toBe(D.d2.kEnc);
    expect(hex(k.kMac)).toBe(D.d2.kMac);
  });

  it('refuses malformed MRZ input without echoing it', () => {
    const secretish = 'X1234567';
    const cases: (() => unknown)[] = [
      () => bacKeys({ documentNumber: secretish.toLowerCase(), dateOfBirth: '690806', dateOfExpiry: '940623' }),
      () => bacKeys({ documentNumber: secretish, dateOfBirth: '6908', dateOfExpiry: '940623' }),
      () => bacKeys({ documentNumber: secretish, dateOfBirth: '690806', dateOfExpiry: '94O623' }),
      () => bacKeys(`${secretish}<369080619406236`),
      () => bacKeys('L898902C<469080619406236'), // wrong document number check digit
    ];
    for (const c of cases) {
      let message = '';
      try {
        c();
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(/^mrz/);
      expect(message.toUpperCase()).not.toContain(secretish);
      expect(message).not.toContain('690806');
      expect(message).not.toContain('L898902C');
    }
  });
});

describe('ICAO 9303-11 Appendix D.3: mutual authentication', () => {
  const keys: BacKeys = { kEnc: h(D.d2.kEnc), kMac: h(D.d2.kMac) };
  const rndIc = h(D.d3.rndIc);
  const rndIfd = h(D.d3.rndIfd);

  it('terminal: E_IFD ‖ M_IFD', () => {
    expect(hex(bacTerminalRequest(keys, rndIc, rndIfd, h(D.d3.kIfd)))).toBe(D.d3.eIfd + D.d3.mIfd);
  });

  it('card: verifies, answers E_IC ‖ M_IC; terminal verifies; both derive the same session', () => {
    const opened = bacCardVerify(keys, rndIc, h(D.d3.eIfd + D.d3.mIfd));
    expect(opened).toBeDefined();
    expect(hex(opened!.rndIfd)).toBe(D.d3.rndIfd);
    expect(hex(opened!.kIfd)).toBe(D.d3.kIfd);
    const answer = bacCardResponse(keys, rndIc, rndIfd, h(D.d3.kIc));
    expect(hex(answer)).toBe(D.d3.eIc + D.d3.mIc);
    expect(hex(bacTerminalVerify(keys, rndIc, rndIfd, answer)!)).toBe(D.d3.kIc);
    const s = bacSessionKeys(h(D.d3.kIfd), h(D.d3.kIc), rndIc, rndIfd);
    expect(s.cipher).toBe('3des');
    expect(hex(s.kEnc)).toBe(D.d3.ksEnc);
    expect(hex(s.kMac)).toBe(D.d3.ksMac);
    expect(hex(s.ssc)).toBe(D.d3.ssc);
  });

  it('a wrong MAC, a wrong RND.IC, or a wrong RND.IFD is refused', () => {
    const data = h(D.d3.eIfd + D.d3.mIfd);
    const badMac = data.slice();
    badMac[39]! ^= 1;
    expect(bacCardVerify(keys, rndIc, badMac)).toBeUndefined();
    expect(bacCardVerify(keys, h('0000000000000000'), data)).toBeUndefined();
    expect(bacCardVerify(keys, rndIc, data.subarray(0, 39))).toBeUndefined();
    const answer = h(D.d3.eIc + D.d3.mIc);
    expect(bacTerminalVerify(keys, rndIc, h('0000000000000000'), answer)).toBeUndefined();
    const other = bacKeys({ ...APPENDIX_MRZ, dateOfBirth: '690807' });
    expect(bacCardVerify(other, rndIc, data)).toBeUndefined();
  });
});

describe('the Appendix D exchange against a simulated card', () => {
  it('card fed the card randomness, terminal fed the terminal randomness: the published APDUs on the wire', async () => {
    const card = mrtdCard({ mrz: APPENDIX_MRZ, rng: h(D.d3.cardRandom) });
    const wire = new Recorder(new InProcessTransport(card));
    await selectApplet(wire);
    wire.log.length = 0;

    const sm = await performBac(wire, APPENDIX_MRZ, { random: h(D.d3.terminalRandom) });
    expect(wire.log).toEqual([
      { command: D.d3.getChallenge.command, response: D.d3.getChallenge.response },
      { command: D.d3.externalAuthenticate.command, response: D.d3.externalAuthenticate.response },
    ]);
    expect(hex(sm.ssc!)).toBe(D.d3.ssc);

    for (const step of D.d4.steps) {
      wire.log.length = 0;
      const r = await sm.transmit(h(step.command));
      expect(wire.log, step.name).toEqual([{ command: step.protectedCommand, response: step.protectedResponse }]);
      expect(hex(r), step.name).toBe(step.response);
      expect(hex(sm.ssc!), step.name).toBe(step.sscResponse);
    }
    expect(card.rng.remainingFed).toBe(0);
  });

  it('the card answers the published protected commands with the published responses', () => {
    const card = mrtdCard({ mrz: APPENDIX_MRZ, rng: h(D.d3.cardRandom) });
    expect(tx(card, `00A4040C07${AID}`).swHex).toBe('9000');
    expect(hex(card.transmit(h(D.d3.getChallenge.command)))).toBe(D.d3.getChallenge.response);
    expect(hex(card.transmit(h(D.d3.externalAuthenticate.command)))).toBe(D.d3.externalAuthenticate.response);
    for (const step of D.d4.steps) {
      expect(hex(card.transmit(h(step.protectedCommand))), step.name).toBe(step.protectedResponse);
    }
    // Replaying the last protected command: the SSC moved on, so the MAC is wrong → 6988, plain.
    const last = D.d4.steps.at(-1)!;
    expect(hex(card.transmit(h(last.protectedCommand)))).toBe('6988');
    // The session is over: an SM-marked command now finds none (6882).
    expect(hex(card.transmit(h(D.d4.steps[0]!.protectedCommand)))).toBe('6882');
  });
});

describe('BAC rules on the card', () => {
  it('EF.COM (read = SM) is refused in plain, before and after a session', async () => {
    const card = mrtdCard({ mrz: APPENDIX_MRZ });
    const t = new InProcessTransport(card);
    await selectApplet(t);
    expect(tx(card, '00B09E0004').swHex).toBe('6982');
    expect(tx(card, '00B0820004').data).toBe('01020304'); // an open file reads in plain
    const sm = await performBac(t, APPENDIX_MRZ);
    expect(hex(await sm.transmit(h('00B09E0004')))).toBe('60145F019000');
    // A plain command ends the session and its security status (ICAO 9303-11 §9.8.5).
    expect(tx(card, '00B0820004').swHex).toBe('9000');
    expect(tx(card, '00B09E0004').swHex).toBe('6982');
    await expect(sm.transmit(h('00B09E0004'))).rejects.toMatchObject({ name: 'SecureMessagingError', reason: 'card-ended-session', cardSw: 0x6882 });
    expect(sm.active).toBe(false);
    await expect(sm.transmit(h('00B09E0004'))).rejects.toMatchObject({ reason: 'closed' });
  });

  it('GET CHALLENGE wants Le 08; EXTERNAL AUTHENTICATE needs a fresh challenge, 40 bytes, Le 28', () => {
    const card = mrtdCard({ mrz: APPENDIX_MRZ, rng: h(D.d3.cardRandom) });
    tx(card, `00A4040C07${AID}`);
    expect(tx(card, '0084000004').swHex).toBe('6700');
    expect(tx(card, '0084010008').swHex).toBe('6A86');
    const ea = D.d3.externalAuthenticate.command;
    // No challenge yet.
    expect(tx(card, ea).swHex).toBe('6985');
    expect(tx(card, '0084000008').data).toBe(D.d3.rndIc);
    // Wrong lengths consume the challenge too.
    expect(tx(card, ea.slice(0, -2)).swHex).toBe('6700'); // no Le
    expect(tx(card, ea).swHex).toBe('6985');
  });

  it('a wrong MRZ: 6300 from the card, BacError naming the step — never the MRZ', async () => {
    const card = mrtdCard({ mrz: APPENDIX_MRZ });
    const t = new InProcessTransport(card);
    await selectApplet(t);
    const wrong: MrzInfo = { ...APPENDIX_MRZ, dateOfExpiry: '940624' };
    const err = await performBac(t, wrong).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BacError);
    expect(err).toMatchObject({ reason: 'rejected', sw: 0x6300 });
    const msg = (err as Error).message;
    for (const secret of ['L898902C', '690806', '940624', D.d2.kEnc, D.d2.kMac]) expect(msg).not.toContain(secret);
    // The same challenge cannot be retried: each attempt needs a new GET CHALLENGE.
    expect(tx(card, D.d3.externalAuthenticate.command).swHex).toBe('6985');
    // The right MRZ still works afterwards (no retry counter).
    await expect(performBac(t, APPENDIX_MRZ)).resolves.toBeInstanceOf(SecureMessagingTransport);
  });

  it('a chip that is not the one of the MRZ is detected by the terminal', async () => {
    // A fake chip that accepts anything and answers with random bytes.
    const fake: Transport = {
      connect: () => Promise.resolve(new Uint8Array(0)),
      reset: () => Promise.resolve(new Uint8Array(0)),
      disconnect: () => Promise.resolve(),
      transmit: (apdu) =>
        Promise.resolve(apdu[1] === 0x84 ? h('01020304050607089000') : new Uint8Array([...new Uint8Array(40).fill(7), 0x90, 0x00])),
    };
    await expect(performBac(fake, APPENDIX_MRZ)).rejects.toMatchObject({ name: 'BacError', reason: 'card-not-authenticated' });
  });

  it('trace lines of a BAC session contain no MRZ information, Kseed or key', async () => {
    const card = mrtdCard({ mrz: APPENDIX_MRZ, rng: h(D.d3.cardRandom) });
    const lines: string[] = [];
    const t = new TracingTransport(new InProcessTransport(card), (l) => lines.push(l));
    await t.connect();
    await selectApplet(t);
    const sm = await performBac(t, APPENDIX_MRZ, { random: h(D.d3.terminalRandom) });
    for (const step of D.d4.steps) await sm.transmit(h(step.command));
    // Plain above the SM wrapper too: those lines show file data, never keys.
    const plainLines: string[] = [];
    const plain = new TracingTransport(sm, (l) => plainLines.push(l));
    await plain.transmit(h('00B0000004'));
    const text = [...lines, ...plainLines].join('\n').replace(/ /g, '').toUpperCase();
    expect(lines.length).toBeGreaterThan(6);
    const secrets = [
      String(D.d1.mrzInformation),
      Buffer.from(String(D.d1.mrzInformation), 'ascii').toString('hex').toUpperCase(),
      'L898902C',
      D.d1.kSeed,
      D.d2.kEnc,
      D.d2.kMac,
      D.d3.kIfd,
      D.d3.kIc,
      D.d3.kSeed,
      D.d3.ksEnc,
      D.d3.ksMac,
    ];
    for (const s of secrets) expect(text, s).not.toContain(String(s).toUpperCase());
    // The EXTERNAL AUTHENTICATE data is masked; the challenge and ciphertexts are not secrets.
    expect(lines.find((l) => l.includes('EXTERNAL AUTHENTICATE'))).toContain('**');
  });
});

describe('card against terminal', () => {
  const mrzChar = fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<');
  const mrzArb: fc.Arbitrary<MrzInfo> = fc.record({
    documentNumber: fc.array(mrzChar, { minLength: 1, maxLength: 9 }).map((a) => a.join('')),
    dateOfBirth: fc.integer({ min: 0, max: 999_999 }).map((n) => String(n).padStart(6, '0')),
    dateOfExpiry: fc.integer({ min: 0, max: 999_999 }).map((n) => String(n).padStart(6, '0')),
  });

  it('random MRZs and file sizes: BAC, then SM reads of random chunks return the file', async () => {
    await fc.assert(
      fc.asyncProperty(
        mrzArb,
        fc.uint8Array({ minLength: 1, maxLength: 1200 }),
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 8 }),
        async (mrz, dg1, chunks) => {
          const card = mrtdCard({ mrz, dg1 });
          const t = new InProcessTransport(card);
          await selectApplet(t);
          const sm = await performBac(t, mrzInformation(mrz));
          expect(hex(await sm.transmit(h('00A4020C020101')))).toBe('9000');
          const got: number[] = [];
          let i = 0;
          while (got.length < dg1.length) {
            const want = Math.min(chunks[i++ % chunks.length]!, dg1.length - got.length);
            const off = got.length;
            const apdu = want <= 256
              ? h(`00B0${hex(new Uint8Array([off >> 8, off & 0xff]))}${hex(new Uint8Array([want & 0xff]))}`)
              : h(`00B0${hex(new Uint8Array([off >> 8, off & 0xff]))}00${hex(new Uint8Array([want >> 8, want & 0xff]))}`);
            const r = await sm.transmit(apdu);
            expect(hex(r.subarray(r.length - 2))).toBe('9000');
            got.push(...r.subarray(0, r.length - 2));
          }
          expect(hex(Uint8Array.from(got))).toBe(hex(dg1));
          // An error status word comes back protected, and the session survives it.
          expect(hex(await sm.transmit(h('00A4020C020999')))).toBe('6A82');
          expect(hex(await sm.transmit(h('00B0000001')))).toBe(hex(dg1.subarray(0, 1)) + '9000');
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('mutation: every byte of protected APDUs', () => {
  /** A card in an established BAC session (Appendix D), and the terminal codec in step with it. */
  function session(): { card: Card; terminal: SmCodec } {
    const card = mrtdCard({ mrz: APPENDIX_MRZ, rng: h(D.d3.cardRandom) });
    tx(card, `00A4040C07${AID}`);
    card.transmit(h(D.d3.getChallenge.command));
    card.transmit(h(D.d3.externalAuthenticate.command));
    const terminal = new SmCodec({ cipher: '3des', kEnc: h(D.d3.ksEnc), kMac: h(D.d3.ksMac), ssc: h(D.d3.ssc) });
    return { card, terminal };
  }

  const plainCommands = ['00A4020C02011E', '00B0000004', '00B0000412', '00B000000100', '00A4020C020101'];

  it('flipped command bytes: rejected in plain (6987/6988), session ended, nothing leaks', () => {
    let checked = 0;
    for (const plain of plainCommands) {
      const probe = session();
      const wire = probe.terminal.protectCommand(parseCommandApdu(h(plain)));
      for (let i = 0; i < wire.length; i++) {
        for (const mask of [0x01, 0x80, 0xff]) {
          const { card, terminal } = session();
          const good = terminal.protectCommand(parseCommandApdu(h(plain)));
          const bad = good.slice();
          bad[i]! ^= mask;
          const r = card.transmit(bad);
          // No data at all: only a status word, so no plaintext can leak.
          expect(r.length, `${plain} byte ${i} ^ ${mask}`).toBe(2);
          const sw = hex(r);
          const cla = bad[0]!;
          const otherChannel = i === 0 && (cla & 0x40 ? 4 + (cla & 0x0f) : cla & 0x03) !== 0;
          if (otherChannel) {
            // The CLA now names a logical channel that is not open: the OS answers 6881 and the
            // command never reaches channel 0's session.
            expect(sw).toBe('6881');
            continue;
          }
          if (i === 4) {
            // Lc: the OS rejects the inconsistent APDU before secure messaging (see the report).
            expect(['6700', '6987', '6988']).toContain(sw);
          } else {
            expect(['6987', '6988'], `${plain} byte ${i} ^ ${mask}`).toContain(sw);
            // The session is gone: the genuine command now meets no session.
            expect(hex(card.transmit(good))).toBe('6882');
          }
          checked++;
        }
      }
      expect(wire.length).toBeGreaterThan(10);
    }
    expect(checked).toBeGreaterThan(200);
  });

  it('flipped response bytes: the terminal rejects, and closes the session', async () => {
    for (const plain of plainCommands) {
      const probe = session();
      const n = probe.card.transmit(probe.terminal.protectCommand(parseCommandApdu(h(plain)))).length;
      for (let i = 0; i < n; i++) {
        const { card } = session();
        const mangler: Transport = {
          connect: () => Promise.resolve(card.powerOn()),
          reset: () => Promise.resolve(card.reset()),
          disconnect: () => Promise.resolve(card.powerOff()),
          transmit: (apdu) => {
            const r = card.transmit(apdu);
            r[i]! ^= 0x01;
            return Promise.resolve(r);
          },
        };
        const sm = new SecureMessagingTransport(mangler, { cipher: '3des', kEnc: h(D.d3.ksEnc), kMac: h(D.d3.ksMac), ssc: h(D.d3.ssc) });
        const err = await sm.transmit(h(plain)).catch((e: unknown) => e);
        expect(err, `${plain} response byte ${i}`).toBeInstanceOf(SecureMessagingError);
        expect((err as SecureMessagingError).reason).toBe('response-rejected');
        expect(sm.active).toBe(false);
      }
    }
  });
});
