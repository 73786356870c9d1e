/**
 * PACE (ICAO 9303-11 §4.4, BSI TR-03110) on the simulated card and the terminal:
 *
 * - ICAO 9303-11 Appendix G (ECDH Generic Mapping, brainpoolP256r1, MRZ) byte for byte: every
 *   intermediate value from the pure functions, and the whole APDU exchange with the card RNG fed
 *   the chip's nonce and ephemeral keys and the terminal fed its own.
 * - Card against terminal over random CANs and MRZs on P-256, brainpoolP256r1, brainpoolP384r1
 *   (fast-check), AES-128/192/256, and an explicit curve announced in EF.CardAccess.
 * - Wrong passwords (6300, no session); PIN retry counter (decrement committed before the token
 *   check, kept across a power cut), suspension at one try (CAN first), blocking (6983), unblock
 *   with a PUK; SM after PACE and an SM-only file; MSE:Set AT and GENERAL AUTHENTICATE errors; a
 *   mutation test of one GENERAL AUTHENTICATE step, both directions; no secret in a trace, an
 *   error or a card event.
 *
 *     3F00 MF
 *     ├── 011C EF.CardAccess, SFI 1C (PACEInfos)
 *     └── 7F00 DF "A0000002471001" (applet 'pace': MSE:Set AT + GENERAL AUTHENTICATE)
 *         ├── PIN 03 "123456" (3 tries, PUK 04), PUK 04 "1234567890", CAN as PIN object 02
 *         ├── 0101 SFI 01, read = SM
 *         └── 0102 SFI 02, read = PIN(03)
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { bytesToHex, hexToBytes } from '../src/bytes/index.js';
import { Recorder } from './helpers/asymmetric.js';
import { createCard, type Card } from '../src/card/os.js';
import type { AppletFactory } from '../src/card/applet.js';
import { newTransparentEf } from '../src/card/fs/file.js';
import { attach } from '../src/card/fs/tree.js';
import { SM_REQUIRED, pin as pinRule } from '../src/card/security/access.js';
import { newPin, type PinObject } from '../src/card/security/objects.js';
import { findPin } from '../src/card/context.js';
import { paceCardAccess, paceCommands, pacePasswords, type PaceProtocol } from '../src/card/protocols/pace.js';
import { customGroup, standardizedGroup, bytesToBigint, type EcGroup } from '../src/crypto/curves.js';
import {
  PACE_SUITES,
  authenticationToken,
  encryptNonce,
  mapGenerator,
  mappedPublicKey,
  mrzPassword,
  nonceLength,
  paceSuite,
  passwordKey,
  passwordSecret,
  sessionKeys,
  sharedSecret,
  tokenInput,
} from '../src/crypto/pace.js';
import { mrzInformation, type MrzInfo } from '../src/crypto/bac.js';
import { PACE_OID, decodeSecurityInfos } from '../src/crypto/security-infos.js';
import { InProcessTransport } from '../src/transport/in-process.js';
import { TracingTransport } from '../src/transport/trace.js';
import { SecureMessagingTransport } from '../src/transport/secure-messaging.js';
import type { Transport } from '../src/transport/types.js';
import { PaceError, performPace, type PaceOptions } from '../src/terminal/pace.js';
import { tx } from './helpers/card.js';

interface AppendixG {
  protocol: string;
  parameterId: number;
  password: { kind: 'mrz'; documentNumber: string; dateOfBirth: string; dateOfExpiry: string; mrzInformation: string; k: string; kPi: string };
  nonce: { s: string; z: string };
  mapping: { skMapIfd: string; pkMapIfd: string; skMapIc: string; pkMapIc: string; h: string; mappedGenerator: string };
  keyAgreement: { skDhIfd: string; pkDhIfd: string; skDhIc: string; pkDhIc: string; sharedSecret: string; ksEnc: string; ksMac: string };
  tokens: { tIfd: string; tIc: string };
  cardRandom: string;
  terminalRandom: string;
  exchange: { step: string; command: string; response: string }[];
}

const G = JSON.parse(readFileSync(new URL('../test-vectors/icao-9303-11-appendix-g.json', import.meta.url), 'utf8')) as AppendixG;

const h = (s: string): Uint8Array => hexToBytes(s);
const hex = (b: Uint8Array): string => bytesToHex(b);
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const AID = 'A0000002471001';
const G_MRZ: MrzInfo = { documentNumber: G.password.documentNumber, dateOfBirth: G.password.dateOfBirth, dateOfExpiry: G.password.dateOfExpiry };
const BP256 = standardizedGroup(13)!;
const AES128: PaceProtocol = { protocol: PACE_OID.ECDH_GM_AES_128, parameterId: 13 };

const PIN = '123456';
const PUK = '1234567890';
const CAN = '500540';

interface PaceCardOptions {
  readonly protocols?: readonly PaceProtocol[];
  readonly mrz?: MrzInfo | string;
  readonly can?: string;
  readonly pinTries?: number;
  readonly rng?: Uint8Array;
  readonly data?: Uint8Array;
}

/** An applet offering PACE with the MRZ (value), the CAN (PIN object 02), the PIN 03 and the PUK 04. */
function paceApplet(o: PaceCardOptions): AppletFactory {
  const protocols = o.protocols ?? [AES128];
  const mrz = o.mrz === undefined ? undefined : mrzPassword(o.mrz);
  return {
    type: 'pace',
    create: () => ({
      install: (ctx) => {
        const data = o.data ?? h('0102030405060708');
        attach(ctx.nv, ctx.df, newTransparentEf(0x0101, data.length, { sfi: 0x01, data, rules: { read: SM_REQUIRED } }));
        attach(ctx.nv, ctx.df, newTransparentEf(0x0102, 4, { sfi: 0x02, data: h('CAFEBABE'), rules: { read: pinRule(0x03) } }));
        const pins: PinObject[] = [
          newPin({ ref: 0x02, value: ascii(o.can ?? CAN), label: 'CAN', minLength: 6, maxLength: 6, maxTries: 15 }),
          newPin({ ref: 0x03, value: ascii(PIN), label: 'PIN', minLength: 6, maxLength: 6, maxTries: 3, pukRef: 0x04 }),
          newPin({ ref: 0x04, value: ascii(PUK), label: 'PUK', minLength: 10, maxLength: 10, maxTries: 10 }),
        ];
        if (o.pinTries !== undefined) pins[1]!.tries = o.pinTries;
        ctx.nv.splice(ctx.df.pins, 0, 0, ...pins);
      },
      commands: paceCommands(pacePasswords({ protocols, ...(mrz ? { mrz } : {}), can: { pin: 0x02 }, pin: 0x03, puk: 0x04 })),
    }),
  };
}

function paceCard(o: PaceCardOptions = {}): Card {
  const card = createCard({ applets: [paceApplet(o)], ...(o.rng ? { rng: o.rng } : {}) });
  card.install(h(AID), 'pace');
  const cardAccess = paceCardAccess(o.protocols ?? [AES128]);
  attach(card.nv, card.state.mf, newTransparentEf(0x011c, cardAccess.length, { sfi: 0x1c, data: cardAccess }));
  card.nv.commit();
  card.powerOn();
  return card;
}

function pinOf(card: Card, ref: number): PinObject {
  const df = card.state.mf.children.find((c) => c.kind === 'DF' && c.name !== undefined)!;
  return findPin(df as never, ref)!;
}

/** Reads EF.CardAccess (MF) and selects the applet, as an inspection system would. */
async function prepare(t: Transport): Promise<Uint8Array> {
  expect(hex(await t.transmit(h('00A4000C023F00')))).toBe('9000');
  const r = await t.transmit(h('00B09C00000000'));
  expect(hex(r.subarray(r.length - 2))).toBe('9000');
  expect(hex(await t.transmit(h(`00A4040C07${AID}`)))).toBe('9000');
  return r.subarray(0, r.length - 2);
}

async function pace(card: Card, opts: Omit<PaceOptions, 'cardAccess'>, t: Transport = new InProcessTransport(card)): Promise<SecureMessagingTransport> {
  const cardAccess = await prepare(t);
  return performPace(t, { ...opts, cardAccess });
}

async function paceError(p: Promise<unknown>): Promise<PaceError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(PaceError);
  return e as PaceError;
}

describe('ICAO 9303-11 Appendix G.1: the worked example, value by value', () => {
  const suite = paceSuite(G.protocol)!;

  it('password, Kπ, nonce', () => {
    const pw = mrzPassword(G_MRZ);
    expect(new TextDecoder().decode(pw)).toBe(G.password.mrzInformation);
    expect(hex(mrzPassword(G.password.mrzInformation))).toBe(hex(pw));
    expect(mrzInformation(G_MRZ)).toBe(G.password.mrzInformation);
    expect(hex(passwordSecret('mrz', pw))).toBe(G.password.k);
    const kPi = passwordKey(suite, 'mrz', pw);
    expect(hex(kPi)).toBe(G.password.kPi);
    expect(nonceLength(suite)).toBe(16);
    expect(hex(encryptNonce(suite, kPi, h(G.nonce.s)))).toBe(G.nonce.z);
  });

  it('Generic Mapping: PK_Map, H, G\'', () => {
    const skIfd = bytesToBigint(h(G.mapping.skMapIfd));
    const skIc = bytesToBigint(h(G.mapping.skMapIc));
    expect(hex(BP256.encodePoint(BP256.baseMultiply(skIfd)))).toBe(G.mapping.pkMapIfd);
    expect(hex(BP256.encodePoint(BP256.baseMultiply(skIc)))).toBe(G.mapping.pkMapIc);
    const pkIc = BP256.decodePoint(h(G.mapping.pkMapIc));
    const pkIfd = BP256.decodePoint(h(G.mapping.pkMapIfd));
    expect(hex(BP256.encodePoint(BP256.multiply(skIfd, pkIc)))).toBe(G.mapping.h);
    expect(hex(BP256.encodePoint(BP256.multiply(skIc, pkIfd)))).toBe(G.mapping.h);
    expect(hex(BP256.encodePoint(mapGenerator(BP256, h(G.nonce.s), skIfd, pkIc)))).toBe(G.mapping.mappedGenerator);
    expect(hex(BP256.encodePoint(mapGenerator(BP256, h(G.nonce.s), skIc, pkIfd)))).toBe(G.mapping.mappedGenerator);
  });

  it('key agreement on G\', session keys, tokens', () => {
    const s = h(G.nonce.s);
    const gHat = BP256.decodePoint(h(G.mapping.mappedGenerator));
    const skDhIfd = bytesToBigint(h(G.keyAgreement.skDhIfd));
    const skDhIc = bytesToBigint(h(G.keyAgreement.skDhIc));
    // SK_DH·G' directly, and through the one-multiplication form the protocol uses.
    expect(hex(BP256.encodePoint(BP256.multiply(skDhIfd, gHat)))).toBe(G.keyAgreement.pkDhIfd);
    expect(hex(BP256.encodePoint(BP256.multiply(skDhIc, gHat)))).toBe(G.keyAgreement.pkDhIc);
    const pkMapIc = BP256.decodePoint(h(G.mapping.pkMapIc));
    const pkMapIfd = BP256.decodePoint(h(G.mapping.pkMapIfd));
    const pkIfd = mappedPublicKey(BP256, s, bytesToBigint(h(G.mapping.skMapIfd)), pkMapIc, skDhIfd);
    const pkIc = mappedPublicKey(BP256, s, bytesToBigint(h(G.mapping.skMapIc)), pkMapIfd, skDhIc);
    expect(hex(BP256.encodePoint(pkIfd))).toBe(G.keyAgreement.pkDhIfd);
    expect(hex(BP256.encodePoint(pkIc))).toBe(G.keyAgreement.pkDhIc);
    const k1 = sharedSecret(BP256, skDhIfd, pkIc, pkIfd);
    const k2 = sharedSecret(BP256, skDhIc, pkIfd, pkIc);
    expect(hex(k1)).toBe(G.keyAgreement.sharedSecret);
    expect(hex(k2)).toBe(G.keyAgreement.sharedSecret);
    const keys = sessionKeys(suite, k1);
    expect(hex(keys.kEnc)).toBe(G.keyAgreement.ksEnc);
    expect(hex(keys.kMac)).toBe(G.keyAgreement.ksMac);
    expect(hex(tokenInput(suite, h(G.keyAgreement.pkDhIc)))).toBe(`7F494F060A${hex(suite.oidBytes)}8641${G.keyAgreement.pkDhIc}`);
    expect(hex(authenticationToken(suite, keys.kMac, h(G.keyAgreement.pkDhIc)))).toBe(G.tokens.tIfd);
    expect(hex(authenticationToken(suite, keys.kMac, h(G.keyAgreement.pkDhIfd)))).toBe(G.tokens.tIc);
    expect(() => sharedSecret(BP256, skDhIfd, pkIfd, pkIfd)).toThrow(/own ephemeral public key/);
  });
});

describe('ICAO 9303-11 Appendix G.1: the exchange byte for byte', () => {
  it('terminal and card reproduce every APDU and response; SM works afterwards', async () => {
    const card = paceCard({ mrz: G_MRZ, rng: h(G.cardRandom) });
    const t = new InProcessTransport(card);
    expect(hex(await t.transmit(h(`00A4040C07${AID}`)))).toBe('9000');
    const wire = new Recorder(t);
    const sm = await performPace(wire, { kind: 'mrz', password: G_MRZ, parameterId: G.parameterId, random: h(G.terminalRandom) });
    expect(wire.log).toEqual(G.exchange.map(({ command, response }) => ({ command, response })));
    expect(card.rng.remainingFed).toBe(0);
    expect(hex(sm.ssc!)).toBe('00000000000000000000000000000000');
    expect(hex(await sm.transmit(h('00B0810008')))).toBe('01020304050607089000');
  });

  it('the card answers the published commands with the published responses', () => {
    const card = paceCard({ mrz: G.password.mrzInformation, rng: h(G.cardRandom) });
    tx(card, `00A4040C07${AID}`);
    for (const step of G.exchange) expect(hex(card.transmit(h(step.command))), step.step).toBe(step.response);
    // Afterwards plain commands end the fresh session; the SM-only file is refused.
    expect(tx(card, '00B0810008').swHex).toBe('6982');
  });

  it('the terminal sends DO 84 when asked, and the card accepts it', async () => {
    const card = paceCard({ mrz: G_MRZ, rng: h(G.cardRandom) });
    const t = new InProcessTransport(card);
    await t.transmit(h(`00A4040C07${AID}`));
    const wire = new Recorder(t);
    await performPace(wire, { kind: 'mrz', password: G_MRZ, parameterId: 13, sendParameterId: true, random: h(G.terminalRandom) });
    expect(wire.log[0]).toEqual({ command: '0022C1A412800A04007F0007020204020283010184010D', response: '9000' });
    expect(wire.log.slice(1)).toEqual(G.exchange.slice(1).map(({ command, response }) => ({ command, response })));
  });
});

describe('suites and curves', () => {
  it('the PACE OIDs of TR-03110-3 and which are implemented', () => {
    expect(PACE_SUITES).toHaveLength(19);
    expect(paceSuite(PACE_OID.ECDH_GM_AES_128)).toMatchObject({ name: 'id-PACE-ECDH-GM-AES-CBC-CMAC-128', supported: true, kdf: 'aes-128' });
    expect(paceSuite(PACE_OID.ECDH_GM_AES_256)).toMatchObject({ name: 'id-PACE-ECDH-GM-AES-CBC-CMAC-256', supported: true });
    expect(paceSuite(h('04007F00070202040204'))?.name).toBe('id-PACE-ECDH-GM-AES-CBC-CMAC-256');
    expect(PACE_SUITES.filter((s) => s.supported).map((s) => s.name)).toEqual([
      'id-PACE-ECDH-GM-AES-CBC-CMAC-128',
      'id-PACE-ECDH-GM-AES-CBC-CMAC-192',
      'id-PACE-ECDH-GM-AES-CBC-CMAC-256',
    ]);
    expect(paceSuite(PACE_OID.DH_GM_AES_128)?.supported).toBe(false);
    expect(paceSuite(PACE_OID.ECDH_IM_AES_128)?.supported).toBe(false);
    expect(paceSuite(PACE_OID.ECDH_CAM_AES_128)?.name).toBe('id-PACE-ECDH-CAM-AES-CBC-CMAC-128');
    expect(nonceLength(paceSuite(PACE_OID.ECDH_GM_AES_256)!)).toBe(32);
    expect(paceSuite('1.2.3')).toBeUndefined();
  });

  it('standardized domain parameters: IDs and names (ICAO 9303-11 §9.5.1)', () => {
    expect(standardizedGroup(12)?.name).toBe('NIST P-256');
    expect(standardizedGroup(13)?.name).toBe('brainpoolP256r1');
    expect(standardizedGroup(15)?.name).toBe('NIST P-384');
    expect(standardizedGroup(16)?.name).toBe('brainpoolP384r1');
    expect(standardizedGroup(17)?.name).toBe('brainpoolP512r1');
    expect(standardizedGroup(18)?.name).toBe('NIST P-521');
    for (const id of [0, 1, 2, 8, 9, 10, 11, 14, 19, 32]) expect(standardizedGroup(id)).toBeUndefined();
  });

  it('OpenSSL-assisted multiplication equals the pure-JavaScript one', () => {
    fc.assert(
      fc.property(fc.constantFrom(12, 13, 16), fc.bigInt({ min: 2n, max: 2n ** 250n }), fc.bigInt({ min: 2n, max: 2n ** 250n }), (id, a, b) => {
        const g = standardizedGroup(id)!;
        const noble = customGroup(g.curve);
        const pn = noble.baseMultiply(a);
        const p = g.decodePoint(noble.encodePoint(pn));
        expect(hex(g.encodePoint(g.multiply(b, p)))).toBe(hex(noble.encodePoint(noble.multiply(b, pn))));
        expect(hex(g.encodePoint(g.baseMultiply(b)))).toBe(hex(noble.encodePoint(noble.baseMultiply(b))));
        expect(hex(g.sharedX(b, p))).toBe(hex(noble.sharedX(b, pn)));
      }),
      { numRuns: 12 },
    );
  });

  it('points from outside are validated: encoding, on the curve, not infinity', () => {
    const good = h(G.mapping.pkMapIc);
    expect(() => BP256.decodePoint(good.subarray(0, 33))).toThrow(/uncompressed/);
    const off = good.slice();
    off[64]! ^= 0x01;
    expect(() => BP256.decodePoint(off)).toThrow(/not a point on brainpoolP256r1/);
    const compressed = good.slice();
    compressed[0] = 0x02;
    expect(() => BP256.decodePoint(compressed)).toThrow(/uncompressed/);
    expect(() => BP256.decodePoint(new Uint8Array(65).fill(0, 1).map((_, i) => (i === 0 ? 4 : 0)))).toThrow();
  });
});

describe('card against terminal', () => {
  const curves: readonly PaceProtocol[] = [
    { protocol: PACE_OID.ECDH_GM_AES_128, parameterId: 12 },
    { protocol: PACE_OID.ECDH_GM_AES_128, parameterId: 13 },
    { protocol: PACE_OID.ECDH_GM_AES_256, parameterId: 16 },
    { protocol: PACE_OID.ECDH_GM_AES_192, parameterId: 13 },
  ];
  const digits = (n: number): fc.Arbitrary<string> => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: n, maxLength: n }).map((a) => a.join(''));
  const mrzChar = fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<');
  const mrzArb: fc.Arbitrary<MrzInfo> = fc.record({
    documentNumber: fc.array(mrzChar, { minLength: 1, maxLength: 9 }).map((a) => a.join('')),
    dateOfBirth: digits(6),
    dateOfExpiry: digits(6),
  });

  it('random CANs on every curve and key size: PACE, then the SM-only file reads', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...curves), digits(6), fc.uint8Array({ minLength: 1, maxLength: 300 }), async (protocol, can, data) => {
        const card = paceCard({ protocols: [protocol], can, data });
        const sm = await pace(card, { kind: 'can', password: can });
        const r = await sm.transmit(h(`00B0810000${data.length.toString(16).padStart(4, '0')}`));
        expect(hex(r)).toBe(hex(data) + '9000');
        expect(sm.cipher).toBe('aes');
      }),
      { numRuns: 10 },
    );
  });

  it('random MRZs: PACE with the MRZ on brainpoolP256r1 and P-256', async () => {
    await fc.assert(
      fc.asyncProperty(mrzArb, fc.constantFrom(12, 13), async (mrz, parameterId) => {
        const card = paceCard({ protocols: [{ protocol: PACE_OID.ECDH_GM_AES_128, parameterId }], mrz });
        const sm = await pace(card, { kind: 'mrz', password: mrz });
        expect(hex(await sm.transmit(h('00B0810008')))).toBe('01020304050607089000');
      }),
      { numRuns: 8 },
    );
  });

  it('several parameter sets in EF.CardAccess: the terminal sends DO 84; the card requires it', async () => {
    const protocols = [AES128, { protocol: PACE_OID.ECDH_GM_AES_128, parameterId: 12 }];
    const card = paceCard({ protocols });
    const t = new InProcessTransport(card);
    const cardAccess = await prepare(t);
    const wire = new Recorder(t);
    await performPace(wire, { kind: 'can', password: CAN, cardAccess, parameterId: 12 });
    expect(wire.log[0]!.command).toBe('0022C1A412800A04007F0007020204020283010284010C');
    tx(card, `00A4040C07${AID}`);
    expect(tx(card, '0022C1A40F800A04007F00070202040202830102').swHex).toBe('6A80');
  });

  it('an explicit (proprietary) curve announced in a PACEDomainParameterInfo', async () => {
    const protocol: PaceProtocol = { protocol: PACE_OID.ECDH_GM_AES_128, parameterId: 32, curve: BP256.curve };
    const card = paceCard({ protocols: [protocol] });
    const t = new InProcessTransport(card);
    const cardAccess = await prepare(t);
    const infos = decodeSecurityInfos(cardAccess);
    expect(infos.map((i) => i.type).sort()).toEqual(['PACEDomainParameterInfo', 'PACEInfo']);
    const sm = await performPace(t, { kind: 'can', password: CAN, cardAccess });
    expect(hex(await sm.transmit(h('00B0810008')))).toBe('01020304050607089000');
  });
});

describe('wrong passwords and the PIN retry counter (TR-03110-2 §3.5)', () => {
  it('a wrong CAN or MRZ: token mismatch → 6300, no session', async () => {
    const card = paceCard({ mrz: G_MRZ });
    const t = new InProcessTransport(card);
    const cardAccess = await prepare(t);
    const e1 = await paceError(performPace(t, { kind: 'can', password: '000000', cardAccess }));
    expect(e1).toMatchObject({ reason: 'rejected', sw: 0x6300 });
    expect(e1.message).toContain('the CAN does not match this chip');
    const e2 = await paceError(performPace(t, { kind: 'mrz', password: { ...G_MRZ, dateOfExpiry: '101032' }, cardAccess }));
    expect(e2).toMatchObject({ reason: 'rejected', sw: 0x6300 });
    // No session: protected commands find none, the SM-only file stays closed.
    expect(card.transmit(h('0CB0810008'))).toEqual(h('6882'));
    expect(tx(card, '00B0810008').swHex).toBe('6982');
    // The right CAN still works: CAN and MRZ are not retry-counted.
    await expect(performPace(t, { kind: 'can', password: CAN, cardAccess })).resolves.toBeInstanceOf(SecureMessagingTransport);
  });

  it('PIN: each wrong PACE costs a try (63CX), MSE:Set AT reports it, the right PIN restores it', async () => {
    const card = paceCard();
    const t = new InProcessTransport(card);
    const cardAccess = await prepare(t);
    const e = await paceError(performPace(t, { kind: 'pin', password: '654321', cardAccess }));
    expect(e).toMatchObject({ reason: 'rejected', sw: 0x63c2, triesLeft: 2 });
    expect(pinOf(card, 0x03).tries).toBe(2);
    expect(tx(card, '0022C1A40F800A04007F00070202040202830103').swHex).toBe('63C2');
    const sm = await performPace(t, { kind: 'pin', password: PIN, cardAccess });
    expect(pinOf(card, 0x03).tries).toBe(3);
    // PACE with the PIN counts as the PIN verified on the channel: PIN(03) files read.
    expect(hex(await sm.transmit(h('00B0820004')))).toBe('CAFEBABE9000');
    expect(hex(await sm.transmit(h('0020000300')))).toBe('9000');
  });

  it('the try is spent and committed before the token check: a power cut keeps it', async () => {
    const card = paceCard();
    const t = new InProcessTransport(card);
    const cardAccess = await prepare(t);
    // The right PIN, but power fails at the write that would restore the counter (write 2 of
    // step 4: write 1 is the decrement, committed at once).
    const wire: Transport = {
      connect: () => t.connect(),
      reset: () => t.reset(),
      disconnect: () => t.disconnect(),
      transmit: (apdu) => {
        if (apdu[0] === 0x00 && apdu[1] === 0x86) card.faults.cutPowerAtWrite(2);
        return t.transmit(apdu);
      },
    };
    await expect(performPace(wire, { kind: 'pin', password: PIN, cardAccess })).rejects.toMatchObject({ name: 'CardMuteError' });
    expect(card.events.at(-1)).toMatchObject({ type: 'power-loss' });
    card.powerOn();
    expect(pinOf(card, 0x03).tries).toBe(2);
    // A cut at the decrement itself tears it: the journal rolls it back, nothing was compared.
    await prepare(t);
    const wire1: Transport = { ...wire, transmit: (apdu) => {
      if (apdu[0] === 0x00 && apdu[1] === 0x86) card.faults.cutPowerAtWrite(1);
      return t.transmit(apdu);
    } };
    await expect(performPace(wire1, { kind: 'pin', password: '000000', cardAccess })).rejects.toMatchObject({ name: 'CardMuteError' });
    card.powerOn();
    expect(pinOf(card, 0x03).tries).toBe(2);
  });

  it('suspended at one try: 6985 without the CAN; CAN first, then the PIN resumes it', async () => {
    const card = paceCard({ pinTries: 1 });
    const t = new InProcessTransport(card);
    const cardAccess = await prepare(t);
    expect(tx(card, '0022C1A40F800A04007F00070202040202830103').swHex).toBe('63C1');
    const e = await paceError(performPace(t, { kind: 'pin', password: PIN, cardAccess }));
    expect(e).toMatchObject({ reason: 'step', sw: 0x6985 });
    expect(pinOf(card, 0x03).tries).toBe(1);
    // PACE with the CAN, then PACE with the PIN inside that session.
    const canSession = await performPace(t, { kind: 'can', password: CAN, cardAccess });
    const pinSession = await performPace(canSession, { kind: 'pin', password: PIN, cardAccess });
    expect(canSession.active).toBe(false);
    expect(pinOf(card, 0x03).tries).toBe(3);
    expect(hex(await pinSession.transmit(h('00B0820004')))).toBe('CAFEBABE9000');
  });

  it('a resumed PIN that is wrong again is blocked (6983); the PUK unblocks it', async () => {
    const card = paceCard({ pinTries: 1 });
    const t = new InProcessTransport(card);
    const cardAccess = await prepare(t);
    const canSession = await performPace(t, { kind: 'can', password: CAN, cardAccess });
    const e = await paceError(performPace(canSession, { kind: 'pin', password: '111111', cardAccess }));
    expect(e).toMatchObject({ reason: 'rejected', sw: 0x63c0, triesLeft: 0 });
    expect(pinOf(card, 0x03).tries).toBe(0);
    // Blocked: MSE:Set AT warns 63C0, GENERAL AUTHENTICATE refuses with 6983 — even the right PIN.
    await prepare(t);
    expect(tx(card, '0022C1A40F800A04007F00070202040202830103').swHex).toBe('63C0');
    expect(tx(card, '10860000027C0000').swHex).toBe('6983');
    const blocked = await paceError(performPace(t, { kind: 'pin', password: PIN, cardAccess }));
    expect(blocked).toMatchObject({ reason: 'step', sw: 0x6983 });
    // PACE with the PUK, then RESET RETRY COUNTER P1=03 for the PIN under SM (TR-03110-2 §3.5.2).
    const puk = await performPace(t, { kind: 'puk', password: PUK, cardAccess });
    expect(hex(await puk.transmit(h('002C0303')))).toBe('9000');
    expect(pinOf(card, 0x03).tries).toBe(3);
    const sm = await performPace(t, { kind: 'pin', password: PIN, cardAccess });
    expect(hex(await sm.transmit(h('00B0820004')))).toBe('CAFEBABE9000');
  });

  it('a wrong PUK is counted like a wrong PIN', async () => {
    const card = paceCard();
    const t = new InProcessTransport(card);
    const cardAccess = await prepare(t);
    const e = await paceError(performPace(t, { kind: 'puk', password: '0000000000', cardAccess }));
    expect(e).toMatchObject({ reason: 'rejected', sw: 0x63c9 });
    expect(pinOf(card, 0x04).tries).toBe(9);
  });
});

describe('after PACE: secure messaging and the security status', () => {
  it('SM commands work, the SM-only file reads, PIN files need the PIN, a plain command ends it all', async () => {
    const card = paceCard();
    const sm = await pace(card, { kind: 'can', password: CAN });
    expect(hex(await sm.transmit(h('00B0810008')))).toBe('01020304050607089000');
    expect(hex(await sm.transmit(h('00A4020C020101')))).toBe('9000');
    expect(hex(await sm.transmit(h('00B0820004')))).toBe('6982'); // PIN(03): the CAN is not the PIN
    expect(hex(await sm.transmit(h('00A4020C029999')))).toBe('6A82');
    expect(tx(card, '00B0810008').swHex).toBe('6982');
    await expect(sm.transmit(h('00B0810008'))).rejects.toMatchObject({ name: 'SecureMessagingError' });
  });
});

describe('MSE:Set AT and GENERAL AUTHENTICATE errors', () => {
  const SET_AT = (data: string): string => `0022C1A4${(data.length / 2).toString(16).padStart(2, '0').toUpperCase()}${data}`;
  const OID128 = '800A04007F00070202040202';

  it('MSE:Set AT', () => {
    const card = paceCard({ protocols: [AES128, { protocol: PACE_OID.ECDH_GM_AES_256, parameterId: 16 }] });
    tx(card, `00A4040C07${AID}`);
    expect(tx(card, SET_AT(`${OID128}830102`)).swHex).toBe('9000');
    expect(tx(card, `0022C1A6${SET_AT(`${OID128}830102`).slice(8)}`).swHex).toBe('6A86');
    expect(tx(card, SET_AT('800A04007F00070202040102830102')).swHex).toBe('6A80'); // DH GM: not implemented
    expect(tx(card, SET_AT('800A04007F00070202040203830102')).swHex).toBe('6A80'); // AES-192: not offered
    expect(tx(card, SET_AT('8003010203830102')).swHex).toBe('6A80'); // not a PACE OID
    expect(tx(card, SET_AT(OID128)).swHex).toBe('6A80'); // no DO 83
    expect(tx(card, SET_AT(`${OID128}830105`)).swHex).toBe('6A80');
    expect(tx(card, SET_AT(`${OID128}830101`)).swHex).toBe('6A88'); // this card has no MRZ
    expect(tx(card, SET_AT(`${OID128}83010284010C`)).swHex).toBe('6A88'); // P-256 not offered for it
    expect(tx(card, SET_AT(`${OID128}830102830102`)).swHex).toBe('6A80'); // DO twice
    expect(tx(card, SET_AT(`${OID128}830102AA00`)).swHex).toBe('6A80'); // unknown DO
    expect(tx(card, SET_AT(`${OID128}8301027F4C0E060904007F000703010202530100`)).swHex).toBe('9000'); // CHAT accepted
  });

  it('GENERAL AUTHENTICATE order, chaining and data', () => {
    const card = paceCard();
    tx(card, `00A4040C07${AID}`);
    expect(tx(card, '10860000027C0000').swHex).toBe('6985'); // no MSE:Set AT
    tx(card, SET_AT(`${OID128}830102`));
    expect(tx(card, '00860000027C0000').swHex).toBe('6985'); // step 1 must be chained; run ended
    expect(tx(card, '10860000027C0000').swHex).toBe('6985');
    tx(card, SET_AT(`${OID128}830102`));
    expect(tx(card, '10860000047C02800000').swHex).toBe('6A80'); // step 1 with data
    tx(card, SET_AT(`${OID128}830102`));
    expect(tx(card, '10860100027C0000').swHex).toBe('6A86');
    tx(card, SET_AT(`${OID128}830102`));
    expect(tx(card, '10860000027C0000').swHex).toBe('9000');
    expect(tx(card, `10860000457C4383410${G.mapping.pkMapIfd.slice(1)}00`).swHex).toBe('6A80'); // 83 at step 2
    tx(card, SET_AT(`${OID128}830102`));
    tx(card, '10860000027C0000');
    const offCurve = h(G.mapping.pkMapIfd);
    offCurve[10]! ^= 1;
    expect(tx(card, `10860000457C438141${hex(offCurve)}00`).swHex).toBe('6A80');
    expect(tx(card, `10860000457C438141${G.mapping.pkMapIfd}00`).swHex).toBe('6985'); // run ended
  });
});

describe('mutation: one GENERAL AUTHENTICATE step', () => {
  /** Runs PACE with the CAN through a transport that flips one byte of the `n`-th APDU or answer. */
  async function mutated(apduIndex: number, byte: number, side: 'command' | 'response'): Promise<{ card: Card; err: unknown }> {
    const card = paceCard();
    const t = new InProcessTransport(card);
    const cardAccess = await prepare(t);
    let n = 0;
    const mangler: Transport = {
      connect: () => t.connect(),
      reset: () => t.reset(),
      disconnect: () => t.disconnect(),
      transmit: async (apdu) => {
        const i = n++;
        const a = apdu.slice();
        if (i === apduIndex && side === 'command') a[byte]! ^= 0x01;
        const r = await t.transmit(a);
        if (i === apduIndex && side === 'response') r[byte]! ^= 0x01;
        return r;
      },
    };
    const err = await performPace(mangler, { kind: 'can', password: CAN, cardAccess }).then(
      () => undefined,
      (e: unknown) => e,
    );
    return { card, err };
  }

  it('each flipped data byte of the key-agreement command (PK_DH,IFD): refused, no session', async () => {
    // Exchange: 0 MSE:Set AT, 1 nonce, 2 map, 3 key agreement, 4 tokens. Command 3 is
    // 10 86 00 00 45 7C 43 83 41 04 x y 00: flip every byte after the header.
    for (let byte = 5; byte < 5 + 0x45; byte++) {
      const { card, err } = await mutated(3, byte, 'command');
      expect(err, `byte ${byte}`).toBeInstanceOf(PaceError);
      expect(['step', 'rejected']).toContain((err as PaceError).reason);
      expect([0x6a80, 0x6300]).toContain((err as PaceError).sw);
      expect(card.transmit(h('0CB0810008')), `byte ${byte}`).toEqual(h('6882'));
    }
  });

  it('each flipped byte of the card\'s mapping answer (PK_Map,IC): the terminal refuses', async () => {
    for (let byte = 0; byte < 4 + 65; byte++) {
      const { err } = await mutated(2, byte, 'response');
      expect(err, `byte ${byte}`).toBeInstanceOf(PaceError);
      expect(['card-not-authenticated', 'rejected', 'step']).toContain((err as PaceError).reason);
    }
  });
});

describe('secrets stay out of traces, errors and events', () => {
  it('a PACE run with the PIN, then a wrong one: no password, π, nonce, key or private key shown', async () => {
    const card = paceCard({ rng: h(G.cardRandom) });
    const lines: string[] = [];
    const t = new TracingTransport(new InProcessTransport(card), (l) => lines.push(l));
    await t.connect();
    const cardAccess = await prepare(t);
    const sm = await performPace(t, { kind: 'pin', password: PIN, cardAccess, random: h(G.terminalRandom) });
    const above: string[] = [];
    await new TracingTransport(sm, (l) => above.push(l)).transmit(h('00B0810008'));
    const err = await paceError(performPace(t, { kind: 'pin', password: '987654', cardAccess }));

    // What a PIN run with this randomness derives (recomputed here from the inputs).
    const suite = paceSuite(PACE_OID.ECDH_GM_AES_128)!;
    const kPi = passwordKey(suite, 'pin', ascii(PIN));
    const s = h(G.nonce.s);
    const skMapIc = bytesToBigint(h(G.mapping.skMapIc));
    const skMapIfd = bytesToBigint(h(G.mapping.skMapIfd));
    const pkMapIc = BP256.baseMultiply(skMapIc);
    const pkIfd = mappedPublicKey(BP256, s, skMapIfd, pkMapIc, bytesToBigint(h(G.keyAgreement.skDhIfd)));
    const pkIc = mappedPublicKey(BP256, s, skMapIc, BP256.baseMultiply(skMapIfd), bytesToBigint(h(G.keyAgreement.skDhIc)));
    const k = sharedSecret(BP256, bytesToBigint(h(G.keyAgreement.skDhIfd)), pkIc, pkIfd);
    const keys = sessionKeys(suite, k);
    const secrets = [
      hex(ascii(PIN)),
      hex(ascii('987654')),
      hex(kPi),
      G.nonce.s,
      hex(k),
      hex(keys.kEnc),
      hex(keys.kMac),
      G.mapping.skMapIc,
      G.mapping.skMapIfd,
      G.keyAgreement.skDhIc,
      G.keyAgreement.skDhIfd,
    ];
    const text = [...lines, ...above, err.message, JSON.stringify(card.events)].join('\n').replace(/ /g, '').toUpperCase();
    expect(lines.length).toBeGreaterThan(10);
    for (const secret of secrets) expect(text, secret).not.toContain(secret);
    expect(text).not.toContain(PIN);
    // GENERAL AUTHENTICATE data is masked in both directions.
    for (const l of lines.filter((x) => x.includes('GENERAL AUTHENTICATE'))) expect(l).toContain('**');
    expect(lines.filter((l) => l.startsWith('←') && !l.includes('**') && /[0-9A-F]{2} [0-9A-F]{2} [0-9A-F]{2}/.test(l)).length).toBeGreaterThan(0);
    expect(card.events.filter((e) => e.type === 'internal-error')).toEqual([]);
  });

  it('password errors on the terminal never echo the password', async () => {
    for (const bad of ['T2200012X364081251010318', 'T22000129364081251010319']) {
      const err = await performPace(new InProcessTransport(paceCard()), { kind: 'mrz', password: bad, parameterId: 13 }).catch((e: unknown) => e as Error);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).not.toContain('T2200012');
      expect((err as Error).message).not.toContain('640812');
    }
  });
});

describe('explicit groups behave like the named ones', () => {
  it('a full PACE on the noble-only path agrees with the OpenSSL path (same randomness)', async () => {
    const run = async (protocol: PaceProtocol): Promise<string[]> => {
      const card = paceCard({ protocols: [protocol], mrz: G_MRZ, rng: h(G.cardRandom) });
      const t = new InProcessTransport(card);
      await t.transmit(h(`00A4040C07${AID}`));
      const cardAccess = paceCardAccess([protocol]);
      const wire = new Recorder(t);
      await performPace(wire, { kind: 'mrz', password: G_MRZ, cardAccess, random: h(G.terminalRandom) });
      return wire.log.slice(1).map((e) => e.command + e.response);
    };
    const named = await run(AES128);
    const explicit = await run({ protocol: PACE_OID.ECDH_GM_AES_128, parameterId: 40, curve: BP256.curve });
    expect(explicit).toEqual(named);
    expect(named).toEqual(G.exchange.slice(1).map((e) => e.command + e.response));
    const g: EcGroup = customGroup(BP256.curve);
    expect(g.name).toBe('explicit');
  });
});
