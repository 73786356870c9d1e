/**
 * Chip Authentication version 1 (ICAO 9303-11 §6.2) on the simulated card and the terminal:
 *
 * - DG14 of the BSI TR-03105-5 reference data set and the ETSI prototype platform decoded and
 *   re-encoded byte for byte (ChipAuthenticationInfo, ChipAuthenticationPublicKeyInfo with an
 *   explicit brainpoolP224r1 key).
 * - RFC 7027 A.1 (brainpoolP256r1 ECDH) as chip static key and terminal ephemeral key: the MSE and
 *   GENERAL AUTHENTICATE commands byte for byte, and the session keys KDF(x(Z), 1/2) in force.
 * - After CA the old keys fail (6988, session ended), the new ones work, the SSC restarts at 0; the
 *   security status (PIN verified by PACE) carries over.
 * - Card ↔ terminal over curves × protocols (3DES by MSE:Set KAT or Set AT, AES-128/192/256 by Set
 *   AT + GENERAL AUTHENTICATE) under BAC and under PACE (fast-check); a chip whose key is not the
 *   one in DG14 is caught on the first protected answer; errors; no private key in any trace.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { bytesToHex, concatBytes, hexToBytes } from '../src/bytes/index.js';
import { parseResponseApdu } from '../src/apdu/response.js';
import { createCard, type Card } from '../src/card/os.js';
import type { AppletFactory } from '../src/card/applet.js';
import { newTransparentEf } from '../src/card/fs/file.js';
import { attach } from '../src/card/fs/tree.js';
import { SM_REQUIRED, pin as pinRule } from '../src/card/security/access.js';
import { newAsymmetricKey, newPin } from '../src/card/security/objects.js';
import { addKeySlot, generateInSlot, storeAsymmetricKey } from '../src/card/protocols/key-store.js';
import { chipAuthCommands, chipAuthSecurityInfos, type ChipAuthConfig } from '../src/card/protocols/chip-auth.js';
import { PaceSmSession, paceCardAccess, paceCommands, pacePasswordInForce, pacePasswords } from '../src/card/protocols/pace.js';
import { bacCommands } from '../src/card/protocols/bac.js';
import { CardSmSession } from '../src/card/protocols/secure-messaging.js';
import { composeTables } from '../src/card/route.js';
import { bacKeys } from '../src/crypto/bac.js';
import { caSessionKeys, caSuite, dg14Content, dg14SecurityInfos } from '../src/crypto/ca.js';
import { decodeSubjectPublicKeyInfo, ecPublicPoint, ecdhSharedSecret, encodeSubjectPublicKeyInfo, type EcCurveName } from '../src/crypto/asymmetric.js';
import { bytesToBigint, randomScalar } from '../src/crypto/curves.js';
import { CA_OID, PACE_OID, chipAuthenticationInfos, chipAuthenticationPublicKeyInfos } from '../src/crypto/security-infos.js';
import type { SmKeys } from '../src/crypto/sm.js';
import { InProcessTransport } from '../src/transport/in-process.js';
import { SecureMessagingError, SecureMessagingTransport } from '../src/transport/secure-messaging.js';
import { TracingTransport } from '../src/transport/trace.js';
import type { Transport } from '../src/transport/types.js';
import { performBac } from '../src/terminal/bac.js';
import { performPace } from '../src/terminal/pace.js';
import { ChipAuthError, chooseChipAuthentication, performChipAuthentication } from '../src/terminal/chip-auth.js';
import { leaks, readEf } from './helpers/asymmetric.js';
import { tx } from './helpers/card.js';
import { channelOf } from './helpers/perso.js';

const h = (s: string): Uint8Array => hexToBytes(s);
const hex = (b: Uint8Array): string => bytesToHex(b);
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const vector = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../test-vectors/${name}`, import.meta.url), 'utf8')) as T;

interface Rfc7027 {
  curve: 'brainpoolP256r1';
  dA: string;
  qA: string;
  dB: string;
  qB: string;
  zX: string;
}
interface Dg14Vectors {
  dg14: { name: string; content: string }[];
  expected: { protocols: string[]; chipAuthenticationInfo: { protocol: string; version: number }; publicKeyFieldLength: number; curveP: string };
}

const R = vector<Rfc7027>('rfc7027-ecdh-brainpool.json');
const D = vector<Dg14Vectors>('bsi-tr-03105-5-dg14.json');
const AID = 'A0000002471001';
const MRZ = 'L898902C<369080619406236';
const CAN = '123456';
const PIN = '654321';
const DATA = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
const PACE_PROTOCOLS = [{ protocol: PACE_OID.ECDH_GM_AES_128, parameterId: 13 }];

interface CaSlot {
  readonly ref: number;
  readonly curve: EcCurveName;
  readonly d?: Uint8Array;
}

/** An eMRTD applet with BAC, PACE (CAN, PIN) and Chip Authentication composed; DG14 (SFI 0E), data (01), PIN-protected (02). */
function mrtdCard(slots: readonly CaSlot[], config: ChipAuthConfig, o: { explicit?: boolean } = {}): Card {
  const applet: AppletFactory = {
    type: 'mrtd',
    create: () => ({
      install: (ctx) => {
        for (const s of slots) {
          const key = addKeySlot(ctx.nv, ctx.df, newAsymmetricKey({ ref: s.ref, type: 'ec', curve: s.curve, usage: ['chip-authentication'], use: SM_REQUIRED, label: 'CA key' }));
          if (s.d) storeAsymmetricKey(ctx.nv, key, { type: 'ec', curve: s.curve, d: s.d });
          else generateInSlot(ctx.nv, key, ctx.rng);
        }
        const dg14 = dg14Content(chipAuthSecurityInfos(ctx.df, config, o.explicit === undefined ? {} : { explicit: o.explicit }));
        attach(ctx.nv, ctx.df, newTransparentEf(0x010e, dg14.length, { sfi: 0x0e, data: dg14, rules: { read: SM_REQUIRED } }));
        attach(ctx.nv, ctx.df, newTransparentEf(0x0101, DATA.length, { sfi: 0x01, data: DATA, rules: { read: SM_REQUIRED } }));
        attach(ctx.nv, ctx.df, newTransparentEf(0x0102, 4, { sfi: 0x02, data: h('CAFEBABE'), rules: { read: pinRule(0x03) } }));
        ctx.nv.splice(
          ctx.df.pins,
          0,
          0,
          newPin({ ref: 0x02, value: ascii(CAN), label: 'CAN', minLength: 6, maxLength: 6, maxTries: 15 }),
          newPin({ ref: 0x03, value: ascii(PIN), label: 'PIN', minLength: 6, maxLength: 6, maxTries: 3 }),
        );
      },
      commands: composeTables(
        paceCommands(pacePasswords({ protocols: PACE_PROTOCOLS, can: { pin: 0x02 }, pin: 0x03 })),
        bacCommands(() => bacKeys(MRZ)),
        chipAuthCommands(config),
      ),
    }),
  };
  const card = createCard({ applets: [applet] });
  card.install(h(AID), 'mrtd');
  const ca = paceCardAccess(PACE_PROTOCOLS);
  attach(card.nv, card.state.mf, newTransparentEf(0x011c, ca.length, { sfi: 0x1c, data: ca }));
  card.nv.commit();
  card.powerOn();
  return card;
}

/** SELECT the applet in plain, then BAC or PACE; returns the SM transport. */
async function open(card: Card, base: 'bac' | 'pace' | 'pace-pin', below: Transport = new InProcessTransport(card)): Promise<SecureMessagingTransport> {
  expect(hex(await below.transmit(h('00A4000C023F00')))).toBe('9000');
  const cardAccess = await readEf(below, 0x1c);
  expect(hex(await below.transmit(h(`00A4040C07${AID}`)))).toBe('9000');
  if (base === 'bac') return performBac(below, MRZ);
  return performPace(below, base === 'pace' ? { kind: 'can', password: CAN, cardAccess } : { kind: 'pin', password: PIN, cardAccess });
}

/** A known session installed on both sides (a test seam: the keys are the test's). */
class PlainLog extends SecureMessagingTransport {
  readonly log: string[] = [];
  override transmit(apdu: Uint8Array): Promise<Uint8Array> {
    this.log.push(hex(apdu));
    return super.transmit(apdu);
  }
}

const K0: SmKeys = { cipher: 'aes', kEnc: h('00112233445566778899AABBCCDDEEFF'), kMac: h('FFEEDDCCBBAA99887766554433221100'), ssc: new Uint8Array(16) };

function knownSession(card: Card): PlainLog {
  expect(tx(card, `00A4040C07${AID}`).swHex).toBe('9000');
  channelOf(card).sm = new CardSmSession(K0);
  return new PlainLog(new InProcessTransport(card), K0);
}

function sscOf(n: number, len = 16): Uint8Array {
  const b = new Uint8Array(len);
  b[len - 1] = n;
  return b;
}

describe('DG14 from the BSI TR-03105-5 reference data set and the ETSI prototype platform', () => {
  for (const v of D.dg14) {
    it(`${v.name}: decoded and re-encoded byte for byte`, () => {
      const infos = dg14SecurityInfos(h(v.content));
      expect(infos.map((i) => i.protocol)).toEqual(D.expected.protocols);
      expect(hex(dg14Content(infos, { sort: false }))).toBe(v.content);
      expect(chipAuthenticationInfos(infos)).toEqual([{ type: 'ChipAuthenticationInfo', ...D.expected.chipAuthenticationInfo }]);
      const [pk] = chipAuthenticationPublicKeyInfos(infos);
      expect(pk!.keyId).toBeUndefined();
      const key = decodeSubjectPublicKeyInfo(pk!.subjectPublicKeyInfo);
      if (key.type !== 'ec') throw new Error('expected EC');
      expect(key.curve).toBeUndefined(); // brainpoolP224r1: explicit, not a named curve here
      expect(key.fieldLength).toBe(D.expected.publicKeyFieldLength);
      expect(key.parameters.p.toString(16).toUpperCase()).toBe(D.expected.curveP);
      expect(hex(encodeSubjectPublicKeyInfo(key, { explicit: true }))).toBe(hex(pk!.subjectPublicKeyInfo));
      // The terminal can run CA on such a key: an explicit group, 3DES (ChipAuthenticationInfo).
      const choice = chooseChipAuthentication(h(v.content));
      expect(choice.suite.name).toBe('id-CA-ECDH-3DES-CBC-CBC');
      expect(choice.group.fieldLength).toBe(28);
      const sk = randomScalar(choice.group, (n) => new Uint8Array(n).fill(0x42));
      expect(choice.group.sharedX(sk, choice.group.decodePoint(key.point)).length).toBe(28);
    });
  }

  it('a tampered DG14 is refused with a parameters error', () => {
    const b = h(D.dg14[0]!.content);
    b[b.length - 1] = 0x05; // TerminalAuthenticationInfo version → still decodes (other entry) …
    expect(chooseChipAuthentication(b).suite.cipher).toBe('3des');
    const c = h(D.dg14[0]!.content);
    c[6] = 0x31; // the first SecurityInfo's SEQUENCE tag → SET: not a SecurityInfo
    expect(() => chooseChipAuthentication(c)).toThrow(ChipAuthError);
  });
});

describe('RFC 7027 A.1 (brainpoolP256r1) as the CA key agreement', () => {
  it('points and the shared secret x(Z), both ways', () => {
    expect(hex(ecPublicPoint(R.curve, h(R.dA)))).toBe(R.qA);
    expect(hex(ecPublicPoint(R.curve, h(R.dB)))).toBe(R.qB);
    expect(hex(ecdhSharedSecret(R.curve, h(R.dA), h(R.qB)))).toBe(R.zX);
    expect(hex(ecdhSharedSecret(R.curve, h(R.dB), h(R.qA)))).toBe(R.zX);
  });

  for (const [protocol, command, expectedMse] of [
    [CA_OID.ECDH_AES_128, 'at', `002241A40F800A04007F0007020203020284010100`.slice(0, -2)],
    [CA_OID.ECDH_3DES, 'kat', `002241A6469141${R.qA}840101`],
    [CA_OID.ECDH_3DES, 'at', `002241A40F800A04007F0007020203020184010100`.slice(0, -2)],
  ] as const) {
    it(`${caSuite(protocol)!.name} by ${command === 'kat' ? 'MSE:Set KAT' : 'MSE:Set AT + GENERAL AUTHENTICATE'}: commands and session keys byte for byte`, async () => {
      const config = { keys: [{ key: 0x02, protocol, keyId: 1 }] };
      const card = mrtdCard([{ ref: 0x02, curve: R.curve, d: h(R.dB) }], config);
      const sm = knownSession(card);
      const dg14 = await readEf(sm, 0x0e);
      const ca = await performChipAuthentication(sm, { dg14, random: h(R.dA), command });
      const cmds = sm.log.slice(-((command === 'kat') ? 1 : 2));
      expect(cmds[0]).toBe(expectedMse);
      if (command === 'at') expect(cmds[1]).toBe(`008600004 57C438041${R.qA}00`.replace(' ', ''));
      // The chip's new keys are KDF(x(Z), 1) and KDF(x(Z), 2) of the protocol's cipher.
      const expected = new SecureMessagingTransport(new InProcessTransport(card), caSessionKeys(caSuite(protocol)!, h(R.zX)));
      expect(hex(await readEf(expected, 0x01))).toBe(hex(DATA));
      ca.close();
    });
  }
});

describe('secure messaging after Chip Authentication', () => {
  const config = { keys: [{ key: 0x02, protocol: CA_OID.ECDH_AES_128 }] };

  it('the new keys work and both SSCs restart at 0; the session is the chip\'s new one', async () => {
    const card = mrtdCard([{ ref: 0x02, curve: 'P-256' }], config);
    const sm = knownSession(card);
    const dg14 = await readEf(sm, 0x0e);
    const before = channelOf(card).sm;
    const ca = await performChipAuthentication(sm, { dg14 });
    expect(sm.active).toBe(false);
    expect(hex(ca.ssc!)).toBe(hex(new Uint8Array(16)));
    const after = channelOf(card).sm as CardSmSession;
    expect(after).not.toBe(before);
    expect(after).toBeInstanceOf(CardSmSession);
    expect(hex(after.ssc)).toBe(hex(new Uint8Array(16)));
    expect(hex(parseResponseApdu(await ca.transmit(h('00B0810004'))).data)).toBe(hex(DATA.subarray(0, 4)));
    expect(hex(ca.ssc!)).toBe(hex(sscOf(2)));
    expect(hex(after.ssc)).toBe(hex(sscOf(2)));
    expect(hex(await readEf(ca, 0x01))).toBe(hex(DATA));
  });

  it('the old keys fail: 6988 in plain, the session and the security status end', async () => {
    for (const oldSsc of [4, 0, 5]) {
      const card = mrtdCard([{ ref: 0x02, curve: 'P-256' }], config);
      const sm = knownSession(card);
      const dg14 = await readEf(sm, 0x0e); // 2 exchanges: SSC 4 afterwards
      expect(hex(sm.ssc!)).toBe(hex(sscOf(4)));
      await performChipAuthentication(sm, { dg14 }); // 2 more: the old session would be at 8
      const old = new SecureMessagingTransport(new InProcessTransport(card), { ...K0, ssc: sscOf(oldSsc + 4) });
      const e = await old.transmit(h('00B0810004')).then(() => undefined, (x: unknown) => x);
      expect(e).toBeInstanceOf(SecureMessagingError);
      expect((e as SecureMessagingError).cardSw).toBe(0x6988);
      expect(channelOf(card).sm).toBeNull();
      expect(tx(card, '00B0810004').swHex).toBe('6982');
    }
  });

  it('a chained GENERAL AUTHENTICATE (the JMRTD fallback) is collected and answered once', async () => {
    const card = mrtdCard([{ ref: 0x02, curve: 'brainpoolP256r1', d: h(R.dB) }], { keys: [{ key: 0x02, protocol: CA_OID.ECDH_AES_128 }] });
    const sm = knownSession(card);
    expect(hex(await sm.transmit(h('002241A40C800A04007F00070202030202')))).toBe('9000');
    const data = h(`7C438041${R.qA}`);
    expect(hex(await sm.transmit(concatBytes(h('10860000'), new Uint8Array([30]), data.subarray(0, 30))))).toBe('9000');
    expect(hex(await sm.transmit(concatBytes(h('00860000'), new Uint8Array([data.length - 30]), data.subarray(30), h('00'))))).toBe('7C009000');
    const next = new SecureMessagingTransport(new InProcessTransport(card), caSessionKeys(caSuite(CA_OID.ECDH_AES_128)!, h(R.zX)));
    expect(hex(await readEf(next, 0x01))).toBe(hex(DATA));
  });

  it('under PACE with the PIN: the PIN stays verified and the PACE password stays in force', async () => {
    const card = mrtdCard([{ ref: 0x02, curve: 'P-256' }], config);
    const sm = await open(card, 'pace-pin');
    expect(hex(await sm.transmit(h('00B0820004')))).toBe('CAFEBABE9000');
    const dg14 = await readEf(sm, 0x0e);
    const ca = await performChipAuthentication(sm, { dg14 });
    expect(channelOf(card).sm).toBeInstanceOf(PaceSmSession);
    expect(pacePasswordInForce(channelOf(card))).toBe('pin');
    expect(hex(await ca.transmit(h('00B0820004')))).toBe('CAFEBABE9000');
  });
});

type Base = 'bac' | 'pace';
const CURVES: readonly EcCurveName[] = ['P-256', 'brainpoolP256r1', 'P-384', 'brainpoolP384r1', 'P-521', 'brainpoolP512r1'];
const PROTOCOLS = [CA_OID.ECDH_3DES, CA_OID.ECDH_AES_128, CA_OID.ECDH_AES_192, CA_OID.ECDH_AES_256] as const;

describe('card ↔ terminal round trips', () => {
  it('curves × protocols × command forms × BAC/PACE, explicit or named DG14 keys', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...CURVES),
        fc.constantFrom(...PROTOCOLS),
        fc.constantFrom<'kat' | 'at' | undefined>('kat', 'at', undefined),
        fc.constantFrom<Base>('bac', 'pace'),
        fc.boolean(),
        fc.integer({ min: 1, max: 255 }),
        async (curve, protocol, command, base, explicit, keyId) => {
          const useKat = command === 'kat' || (command === undefined && protocol === CA_OID.ECDH_3DES);
          if (useKat && protocol !== CA_OID.ECDH_3DES) return; // ICAO: KAT is for 3DES only (tested below)
          const config = { keys: [{ key: 0x02, protocol, keyId }] };
          const card = mrtdCard([{ ref: 0x02, curve }], config, { explicit });
          const sm = await open(card, base);
          const dg14 = await readEf(sm, 0x0e);
          const ca = await performChipAuthentication(sm, { dg14, ...(command ? { command } : {}) });
          expect(ca.cipher).toBe(protocol === CA_OID.ECDH_3DES ? '3des' : 'aes');
          expect(hex(await readEf(ca, 0x01))).toBe(hex(DATA));
        },
      ),
      { numRuns: 16 },
    );
  });

  it('several CA keys: the terminal picks the strongest, keyIds select, DO 84 is required when ambiguous', async () => {
    const config = {
      keys: [
        { key: 0x02, protocol: CA_OID.ECDH_3DES, keyId: 7 },
        { key: 0x03, protocol: CA_OID.ECDH_AES_256, keyId: 9 },
      ],
    };
    const card = mrtdCard([{ ref: 0x02, curve: 'P-256' }, { ref: 0x03, curve: 'brainpoolP384r1' }], config);
    const sm = await open(card, 'bac');
    const dg14 = await readEf(sm, 0x0e);
    expect(chooseChipAuthentication(dg14).keyId).toBe(9);
    expect(chooseChipAuthentication(dg14, { keyId: 7 }).suite.cipher).toBe('3des');
    const ca = await performChipAuthentication(sm, { dg14, keyId: 7 });
    expect(ca.cipher).toBe('3des');
    expect(hex(await readEf(ca, 0x01))).toBe(hex(DATA));
    // Without DO 84 the AT protocol names one key here (AES-256): accepted; unknown keyId: 6A88.
    expect(hex(await ca.transmit(h('002241A40F800A04007F0007020203020484010800')).then((r) => r.subarray(r.length - 2)))).toBe('6A88');
  });

  it('a chip whose key is not DG14\'s is caught on the first protected answer', async () => {
    const config = { keys: [{ key: 0x02, protocol: CA_OID.ECDH_AES_128 }] };
    const genuine = mrtdCard([{ ref: 0x02, curve: 'P-256' }], config);
    const clone = mrtdCard([{ ref: 0x02, curve: 'P-256' }], config);
    const dg14 = await readEf(await open(genuine, 'bac'), 0x0e);
    const sm = await open(clone, 'bac');
    const ca = await performChipAuthentication(sm, { dg14 });
    const e = await ca.transmit(h('00B0810004')).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(SecureMessagingError);
  });
});

describe('Chip Authentication errors', () => {
  const config = { keys: [{ key: 0x02, protocol: CA_OID.ECDH_AES_128 }] };
  const pkHex = (curve: EcCurveName): string => hex(ecPublicPoint(curve, new Uint8Array(curve === 'P-256' ? 32 : 32).fill(0x11)));

  it('without secure messaging: 6982', () => {
    const card = mrtdCard([{ ref: 0x02, curve: 'P-256' }], config);
    tx(card, `00A4040C07${AID}`);
    expect(tx(card, '002241A40C800A04007F00070202030202').swHex).toBe('6982');
    expect(tx(card, `002241A6439141${pkHex('P-256')}`).swHex).not.toBe('9000');
  });

  it('MSE:Set KAT for an AES-only chip: 6A80; GENERAL AUTHENTICATE without a CA MSE goes to PACE (6985)', async () => {
    const card = mrtdCard([{ ref: 0x02, curve: 'P-256' }], config);
    const sm = knownSession(card);
    const sw = async (apdu: string): Promise<string> => {
      const r = await sm.transmit(h(apdu));
      return hex(r.subarray(r.length - 2));
    };
    expect(await sw(`002241A6439141${pkHex('P-256')}`)).toBe('6A80');
    expect(await sw(`0086000045 7C438041${pkHex('P-256')}00`.replace(' ', ''))).toBe('6985');
    // MSE:Set AT for a protocol the chip does not offer, or malformed: 6A80.
    expect(await sw('002241A40C800A04007F00070202030204')).toBe('6A80');
    expect(await sw('002241A40C800A04007F00070202030299')).toBe('6A80');
    expect(await sw('002241A40F800A04007F00070202030202990101')).toBe('6A80');
  });

  it('a point not on the curve: 6A80, and the old session carries on', async () => {
    const card = mrtdCard([{ ref: 0x02, curve: 'P-256' }], config);
    const sm = knownSession(card);
    expect(hex(await sm.transmit(h('002241A40C800A04007F00070202030202')))).toBe('9000');
    const bad = h(pkHex('P-256'));
    bad[64]! ^= 0x01;
    const r = await sm.transmit(concatBytes(h('0086000045 7C438041'.replace(' ', '')), bad, h('00')));
    expect(hex(r.subarray(r.length - 2))).toBe('6A80');
    expect(hex(await readEf(sm, 0x01))).toBe(hex(DATA));
  });

  it('the chip\'s private key appears in no trace, response or card event', async () => {
    const d = new Uint8Array(32).fill(0x5a);
    const card = mrtdCard([{ ref: 0x02, curve: 'P-256', d }], config);
    const lines: string[] = [];
    const below = new TracingTransport(new InProcessTransport(card), (l) => lines.push(l));
    const sm = await open(card, 'pace', below);
    const dg14 = await readEf(sm, 0x0e);
    const ca = await performChipAuthentication(sm, { dg14, command: 'at' });
    await readEf(ca, 0x01);
    expect(leaks(lines.join('\n'), [hex(d)])).toBe(false);
    expect(leaks(hex(dg14), [hex(d)])).toBe(false);
    expect(leaks(JSON.stringify(card.events), [hex(d)])).toBe(false);
    expect(bytesToBigint(d)).toBeGreaterThan(0n);
  });
});
