/**
 * Active Authentication (ICAO 9303-11 §6.1) and ISO/IEC 9796-2 scheme 1:
 *
 * - Published representatives byte for byte (ISO/IEC 9796-2:2002 examples, ICAO 9303-11 Appendix
 *   F), and the Appendix F exchange on the simulated card: RNG fed M1, the public operation on the
 *   answer gives F back byte for byte.
 * - A published INTERNAL AUTHENTICATE answer with its private key (bouncyCastle doTest13) replayed
 *   by the card byte for byte; answers of real passports verified and M1 recovered.
 * - Card ↔ terminal with RSA (SHA-1 / trailer BC, SHA-256 / trailer 34CC) and ECDSA (P-256,
 *   P-384, brainpoolP256r1, P-521; hash from DG14's ActiveAuthenticationInfo), over random
 *   challenges (fast-check), plain and under PACE; the terminal verifies in OpenSSL.
 * - Every tampered signature byte, a wrong challenge and a wrong key are rejected; command errors;
 *   no private key in any response, trace or error.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { createHash, createPrivateKey, verify as nodeVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { bytesToHex, concatBytes, hexToBytes } from '../src/bytes/index.js';
import { createCard, type Card } from '../src/card/os.js';
import type { AppletFactory } from '../src/card/applet.js';
import { newTransparentEf } from '../src/card/fs/file.js';
import { attach } from '../src/card/fs/tree.js';
import { ALWAYS, SM_REQUIRED } from '../src/card/security/access.js';
import { newAsymmetricKey, type AsymmetricKeySpec } from '../src/card/security/objects.js';
import { addKeySlot, generateInSlot, storeAsymmetricKey, type PrivateKeyMaterial } from '../src/card/protocols/key-store.js';
import { activeAuthCommands, activeAuthDg15, activeAuthPublicKeyInfo, activeAuthSecurityInfo } from '../src/card/protocols/active-auth.js';
import { paceCardAccess, paceCommands, pacePasswords } from '../src/card/protocols/pace.js';
import { composeTables } from '../src/card/route.js';
import { decodeScheme1, encodeScheme1, scheme1Capacity, verifyScheme1, Iso9796Error, type Iso9796Hash } from '../src/crypto/iso9796-2.js';
import { ECDSA_PLAIN_OID, aaNonceLength, dg15Content, dg15PublicKeyInfo, verifyActiveAuthentication } from '../src/crypto/aa.js';
import { decodeSubjectPublicKeyInfo, publicKeyObject, rsaPublicRaw, type EcCurveName, type HashName } from '../src/crypto/asymmetric.js';
import { dg14Content, dg14SecurityInfos } from '../src/crypto/ca.js';
import { PACE_OID, activeAuthenticationInfos } from '../src/crypto/security-infos.js';
import { InProcessTransport } from '../src/transport/in-process.js';
import { TracingTransport } from '../src/transport/trace.js';
import { performPace } from '../src/terminal/pace.js';
import { ActiveAuthError, performActiveAuthentication } from '../src/terminal/active-auth.js';
import { Tamper, leaks, readEf, rsaKey, rsaPkcs8FromExponents, rsaSecrets } from './helpers/asymmetric.js';
import { tx } from './helpers/card.js';

const h = (s: string): Uint8Array => hexToBytes(s);
const hex = (b: Uint8Array): string => bytesToHex(b);
const vector = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../test-vectors/${name}`, import.meta.url), 'utf8')) as T;

interface AppendixF {
  modulusBits: number;
  hash: 'sha1';
  rndIfd: string;
  m1: string;
  m: string;
  h: string;
  f: string;
}
interface Iso9796Vectors {
  representatives: { name: string; modulusBits: number; hash: Iso9796Hash; trailer: 'implicit' | 'explicit'; message: string; m2: string; partial: boolean; f: string }[];
  cardReplay: { modulus: string; publicExponent: string; privateExponent: string; challenge: string; m1: string; signature: string };
  passports: { name: string; dg15: string; exchanges: { challenge: string; signature: string; m1?: string }[] }[];
}

const F = vector<AppendixF>('icao-9303-11-appendix-f.json');
const V = vector<Iso9796Vectors>('iso9796-2-active-authentication.json');
const AID = 'A0000002471001';
const AA_REF = 0x01;

interface AaCardOptions {
  readonly slot: Omit<AsymmetricKeySpec, 'ref' | 'usage'> & { usage?: AsymmetricKeySpec['usage'] };
  readonly material?: PrivateKeyMaterial;
  readonly hash?: Iso9796Hash;
  readonly rng?: Uint8Array;
  readonly pace?: boolean;
}

/** An eMRTD-like applet: the AA key, EF.DG15 (SFI 0F) and, for ECDSA, EF.DG14 (SFI 0E). */
function aaCard(o: AaCardOptions): Card {
  const config = { key: AA_REF, ...(o.hash ? { hash: o.hash } : {}) };
  const protocols = [{ protocol: PACE_OID.ECDH_GM_AES_128, parameterId: 13 }];
  const aa = activeAuthCommands(config);
  const applet: AppletFactory = {
    type: 'aa',
    create: () => ({
      install: (ctx) => {
        const key = addKeySlot(ctx.nv, ctx.df, newAsymmetricKey({ usage: ['active-authentication'], ...o.slot, ref: AA_REF }));
        if (o.material) storeAsymmetricKey(ctx.nv, key, o.material);
        else generateInSlot(ctx.nv, key, ctx.rng);
        const dg15 = activeAuthDg15(ctx.df, config);
        attach(ctx.nv, ctx.df, newTransparentEf(0x010f, dg15.length, { sfi: 0x0f, data: dg15 }));
        const info = activeAuthSecurityInfo(ctx.df, config);
        if (info !== undefined) {
          const dg14 = dg14Content([info]);
          attach(ctx.nv, ctx.df, newTransparentEf(0x010e, dg14.length, { sfi: 0x0e, data: dg14 }));
        }
      },
      commands: o.pace ? composeTables(paceCommands(pacePasswords({ protocols, can: new TextEncoder().encode('123456') })), aa) : aa,
    }),
  };
  const card = createCard({ applets: [applet], ...(o.rng ? { rng: o.rng } : {}) });
  card.install(h(AID), 'aa');
  if (o.pace) {
    const ca = paceCardAccess(protocols);
    attach(card.nv, card.state.mf, newTransparentEf(0x011c, ca.length, { sfi: 0x1c, data: ca }));
    card.nv.commit();
  }
  card.powerOn();
  expect(tx(card, `00A4040C07${AID}`).swHex).toBe('9000');
  return card;
}

async function dgs(card: Card): Promise<{ dg15: Uint8Array; dg14?: Uint8Array }> {
  const t = new InProcessTransport(card);
  const dg15 = await readEf(t, 0x0f);
  const r = card.transmit(h('00B08E0000'));
  const sw = hex(r.subarray(r.length - 2));
  return sw === '9000' || sw === '6282' ? { dg15, dg14: r.subarray(0, r.length - 2).slice() } : { dg15 };
}

describe('ISO/IEC 9796-2 scheme 1: published representatives', () => {
  for (const r of V.representatives) {
    it(r.name, () => {
      const e = encodeScheme1(h(r.message), r.modulusBits, { hash: r.hash, trailer: r.trailer });
      expect(hex(e.representative)).toBe(r.f);
      expect(e.partial).toBe(r.partial);
      expect(hex(e.nonRecovered)).toBe(r.m2);
      const d = decodeScheme1(h(r.f));
      expect(d.hash).toBe(r.hash);
      expect(d.trailer).toBe(r.trailer);
      expect(d.partial).toBe(r.partial);
      expect(hex(concatBytes(d.recovered, h(r.m2)))).toBe(r.message);
      expect(verifyScheme1(d, h(r.m2))).toBe(true);
      expect(verifyScheme1(d, concatBytes(h(r.m2), h('00')))).toBe(false);
    });
  }

  it('ICAO 9303-11 Appendix F: c = 852 bits, M1 = 106 bytes, H and F byte for byte', () => {
    expect(scheme1Capacity(1024, { hash: 'sha1' })).toBe(106);
    expect(aaNonceLength(1024, 'sha1')).toBe(106);
    expect(h(F.m1).length).toBe(106);
    expect(hex(concatBytes(h(F.m1), h(F.rndIfd)))).toBe(F.m);
    expect(hex(new Uint8Array(createHash('sha1').update(h(F.m)).digest()))).toBe(F.h);
    const e = encodeScheme1(h(F.m), 1024, { hash: 'sha1' });
    expect(hex(e.representative)).toBe(F.f);
    expect(hex(e.recovered)).toBe(F.m1);
    expect(hex(e.nonRecovered)).toBe(F.rndIfd);
  });

  it('decode refuses a wrong header, trailer or padding', () => {
    const f = h(F.f);
    const bad = (mut: (b: Uint8Array) => void): void => {
      const b = f.slice();
      mut(b);
      expect(() => decodeScheme1(b)).toThrow(Iso9796Error);
    };
    bad((b) => (b[0] = 0x2a));
    bad((b) => (b[b.length - 1] = 0xbd));
    bad((b) => {
      b[b.length - 1] = 0xcc;
      b[b.length - 2] = 0x30;
    });
    bad((b) => (b[0] = 0x6c));
    expect(() => encodeScheme1(h('00'), 1024, { hash: 'sha256', trailer: 'implicit' })).toThrow(/implicit/);
  });

  it('SHA-256 uses trailer 34CC, SHA-1 explicit 33CC; round trips over random messages', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.constantFrom<Iso9796Hash>('sha1', 'sha256', 'sha384', 'sha512', 'sha224'), (m, hash) => {
        const e = encodeScheme1(m, 2048, { hash, trailer: 'explicit' });
        expect(e.representative.length).toBe(256);
        const d = decodeScheme1(e.representative);
        expect(d.hash).toBe(hash);
        expect(hex(e.representative.subarray(254))).toBe(hex(new Uint8Array([{ sha1: 0x33, sha256: 0x34, sha512: 0x35, sha384: 0x36, sha224: 0x38 }[hash as 'sha1']!, 0xcc])));
        expect(verifyScheme1(d, e.nonRecovered)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});

describe('published Active Authentication answers', () => {
  it('the card replays bouncyCastle doTest13 byte for byte (its key loaded, RNG fed M1)', async () => {
    const r = V.cardReplay;
    const pkcs8 = rsaPkcs8FromExponents(r.modulus, r.publicExponent, r.privateExponent);
    const card = aaCard({ slot: { type: 'rsa', bits: 1024 }, material: { type: 'rsa', pkcs8 }, rng: h(r.m1) });
    const reply = tx(card, `0088000008${r.challenge}00`);
    expect(reply.swHex).toBe('9000');
    expect(reply.data).toBe(r.signature);
    const { dg15 } = await dgs(card);
    const v = verifyActiveAuthentication(dg15PublicKeyInfo(dg15), h(r.challenge), h(r.signature));
    expect(v).toMatchObject({ valid: true, algorithm: 'rsa-iso9796-2', hash: 'sha1' });
    expect(hex(v.recovered!)).toBe(r.m1);
  });

  it('ICAO 9303-11 Appendix F on the card: s^e mod n is F byte for byte', () => {
    const key = rsaKey(1024);
    const card = aaCard({ slot: { type: 'rsa', bits: 1024 }, material: { type: 'rsa', pkcs8: key.pkcs8 }, rng: h(F.m1) });
    const reply = tx(card, `0088000008${F.rndIfd}00`);
    expect(reply.swHex).toBe('9000');
    expect(reply.bytes.length).toBe(128);
    expect(hex(rsaPublicRaw(key.publicKey, reply.bytes))).toBe(F.f);
  });

  for (const p of V.passports) {
    it(`terminal: ${p.name}`, () => {
      const spki = dg15PublicKeyInfo(h(p.dg15));
      expect(hex(dg15Content(spki))).toBe(p.dg15);
      for (const x of p.exchanges) {
        const v = verifyActiveAuthentication(spki, h(x.challenge), h(x.signature));
        expect(v.valid).toBe(true);
        if (x.m1 !== undefined) expect(hex(v.recovered!)).toBe(x.m1);
        // Every tampered byte of the signature, and a changed challenge, are rejected.
        const sig = h(x.signature);
        for (let i = 0; i < sig.length; i += 7) {
          const t = sig.slice();
          t[i]! ^= 0x01;
          expect(verifyActiveAuthentication(spki, h(x.challenge), t).valid).toBe(false);
        }
        const c = h(x.challenge);
        c[7]! ^= 0x80;
        expect(verifyActiveAuthentication(spki, c, sig).valid).toBe(false);
      }
    });
  }
});

interface Algo {
  readonly name: string;
  readonly slot: AaCardOptions['slot'];
  readonly material?: () => PrivateKeyMaterial;
  readonly hash?: Iso9796Hash;
  readonly expected: { algorithm: 'rsa-iso9796-2' | 'ecdsa'; hash: string; length: number };
}

const ALGOS: readonly Algo[] = [
  { name: 'RSA-1024, SHA-1, trailer BC', slot: { type: 'rsa', bits: 1024 }, material: () => ({ type: 'rsa', pkcs8: rsaKey(1024).pkcs8 }), expected: { algorithm: 'rsa-iso9796-2', hash: 'sha1', length: 128 } },
  { name: 'RSA-2048, SHA-256, trailer 34CC', slot: { type: 'rsa', bits: 2048 }, material: () => ({ type: 'rsa', pkcs8: rsaKey(2048).pkcs8 }), hash: 'sha256', expected: { algorithm: 'rsa-iso9796-2', hash: 'sha256', length: 256 } },
  { name: 'ECDSA P-256, SHA-256', slot: { type: 'ec', curve: 'P-256' }, expected: { algorithm: 'ecdsa', hash: 'sha256', length: 64 } },
  { name: 'ECDSA P-384, SHA-384', slot: { type: 'ec', curve: 'P-384' }, hash: 'sha384', expected: { algorithm: 'ecdsa', hash: 'sha384', length: 96 } },
  { name: 'ECDSA brainpoolP256r1, SHA-1', slot: { type: 'ec', curve: 'brainpoolP256r1' }, hash: 'sha1', expected: { algorithm: 'ecdsa', hash: 'sha1', length: 64 } },
  { name: 'ECDSA P-521, SHA-512', slot: { type: 'ec', curve: 'P-521' }, hash: 'sha512', expected: { algorithm: 'ecdsa', hash: 'sha512', length: 132 } },
];

describe('card ↔ terminal, each algorithm', () => {
  for (const a of ALGOS) {
    it(`${a.name}: random challenges verify (OpenSSL), a tampered signature is rejected`, async () => {
      const card = aaCard({ slot: a.slot, ...(a.material ? { material: a.material() } : {}), ...(a.hash ? { hash: a.hash } : {}) });
      const { dg15, dg14 } = await dgs(card);
      if (a.slot.type === 'ec') {
        const info = activeAuthenticationInfos(dg14SecurityInfos(dg14!))[0]!;
        expect(info.signatureAlgorithm).toBe(ECDSA_PLAIN_OID[a.expected.hash as HashName]);
      } else {
        expect(dg14).toBeUndefined();
      }
      const t = new Tamper(new InProcessTransport(card));
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ minLength: 8, maxLength: 8 }), async (challenge) => {
          const r = await performActiveAuthentication(t, { dg15, ...(dg14 ? { dg14 } : {}), challenge });
          expect(r.algorithm).toBe(a.expected.algorithm);
          expect(r.hash).toBe(a.expected.hash);
          expect(r.signature.length).toBe(a.expected.length);
          if (a.slot.type === 'ec') {
            // The chip signs with @noble/curves; OpenSSL (Node) accepts the signature over RND.IFD.
            const key = publicKeyObject(decodeSubjectPublicKeyInfo(dg15PublicKeyInfo(dg15)));
            expect(nodeVerify(a.expected.hash, challenge, { key, dsaEncoding: 'ieee-p1363' }, r.signature)).toBe(true);
          }
        }),
        { numRuns: 4 },
      );
      for (const at of [0, a.expected.length >> 1, a.expected.length - 1]) {
        t.mutate = (resp) => {
          const b = resp.slice();
          if (b.length > 2) b[at]! ^= 0x01;
          return b;
        };
        const e = await performActiveAuthentication(t, { dg15, ...(dg14 ? { dg14 } : {}) }).then(() => undefined, (x: unknown) => x);
        expect(e).toBeInstanceOf(ActiveAuthError);
        expect((e as ActiveAuthError).reason).toBe('card-not-authenticated');
      }
      t.mutate = null;
    });
  }

  it('another chip (a different key) is not authenticated', async () => {
    const one = aaCard({ slot: { type: 'ec', curve: 'P-256' } });
    const other = aaCard({ slot: { type: 'ec', curve: 'P-256' } });
    const { dg15, dg14 } = await dgs(one);
    const e = await performActiveAuthentication(new InProcessTransport(other), { dg15, dg14: dg14! }).then(() => undefined, (x: unknown) => x);
    expect((e as ActiveAuthError).reason).toBe('card-not-authenticated');
  });

  it('under PACE: the AA key with use = SM answers only under secure messaging', async () => {
    const card = aaCard({ slot: { type: 'ec', curve: 'P-256', use: SM_REQUIRED }, pace: true });
    expect(tx(card, '0088000008010203040506070800').swHex).toBe('6982');
    const t = new InProcessTransport(card);
    expect(hex(await t.transmit(h('00A4000C023F00')))).toBe('9000');
    const cardAccess = await readEf(t, 0x1c);
    expect(hex(await t.transmit(h(`00A4040C07${AID}`)))).toBe('9000');
    const sm = await performPace(t, { kind: 'can', password: '123456', cardAccess });
    const dg15 = await readEf(sm, 0x0f);
    const dg14 = await readEf(sm, 0x0e);
    const r = await performActiveAuthentication(sm, { dg15, dg14 });
    expect(r.algorithm).toBe('ecdsa');
  });

  it('ECDSA without DG14 or a hash is a parameters error; with opts.hash it verifies', async () => {
    const card = aaCard({ slot: { type: 'ec', curve: 'P-256' } });
    const { dg15 } = await dgs(card);
    const t = new InProcessTransport(card);
    const e = await performActiveAuthentication(t, { dg15 }).then(() => undefined, (x: unknown) => x);
    expect((e as ActiveAuthError).reason).toBe('parameters');
    expect((await performActiveAuthentication(t, { dg15, hash: 'sha256' })).algorithm).toBe('ecdsa');
  });
});

describe('INTERNAL AUTHENTICATE errors', () => {
  it('P1-P2 and challenge length', () => {
    const card = aaCard({ slot: { type: 'ec', curve: 'P-256' } });
    expect(tx(card, '0088000108010203040506070800').swHex).toBe('6A86');
    expect(tx(card, '00880000070102030405060700').swHex).toBe('6700');
    expect(tx(card, '008800000901020304050607080900').swHex).toBe('6700');
    const twoUsages = aaCard({ slot: { type: 'ec', curve: 'P-256', usage: ['sign', 'active-authentication'] } });
    expect(tx(twoUsages, '0088000008010203040506070800').swHex).toBe('9000');
  });

  it('a key of another usage answers 6985, a slot without a key 6984, a missing slot 6A88', () => {
    const applet = (usage: AsymmetricKeySpec['usage'], fill: boolean, ref = AA_REF): AppletFactory => ({
      type: 'x',
      create: () => ({
        install: (ctx) => {
          const k = addKeySlot(ctx.nv, ctx.df, newAsymmetricKey({ ref, type: 'ec', curve: 'P-256', usage, use: ALWAYS }));
          if (fill) generateInSlot(ctx.nv, k, ctx.rng);
        },
        commands: activeAuthCommands({ key: AA_REF }),
      }),
    });
    const cases: [AppletFactory, string][] = [
      [applet(['sign'], true), '6985'],
      [applet(['active-authentication'], false), '6984'],
      [applet(['active-authentication'], true, 0x02), '6A88'],
    ];
    for (const [f, sw] of cases) {
      const card = createCard({ applets: [f] });
      card.install(h(AID), 'x');
      card.powerOn();
      tx(card, `00A4040C07${AID}`);
      expect(tx(card, '0088000008010203040506070800').swHex).toBe(sw);
    }
  });

  it('the Active Authentication key never appears in a response, trace line or card event', async () => {
    const key = rsaKey(1024);
    const card = aaCard({ slot: { type: 'rsa', bits: 1024 }, material: { type: 'rsa', pkcs8: key.pkcs8 } });
    const secrets = rsaSecrets(key.pkcs8);
    const lines: string[] = [];
    const t = new TracingTransport(new InProcessTransport(card), (l) => lines.push(l));
    const { dg15 } = await dgs(card);
    for (let i = 0; i < 5; i++) await performActiveAuthentication(t, { dg15 });
    for (const bad of ['0088000107010203040506070800', '00880000', '0088000008']) await t.transmit(h(bad));
    expect(lines.length).toBeGreaterThan(10);
    expect(leaks(lines.join('\n'), secrets)).toBe(false);
    expect(leaks(JSON.stringify(card.events), secrets)).toBe(false);
    // The public key is exported as DG15, the private one nowhere.
    const pub = activeAuthPublicKeyInfo(card.state.mf.children.find((c) => c.kind === 'DF')! as never, { key: AA_REF });
    expect(leaks(hex(pub), secrets)).toBe(false);
    const priv = createPrivateKey({ key: Buffer.from(key.pkcs8), format: 'der', type: 'pkcs8' });
    expect(priv.asymmetricKeyType).toBe('rsa');
  });
});

describe('EC curves for AA', () => {
  it.each<EcCurveName>(['P-256', 'P-384', 'brainpoolP384r1'])('%s: DG15 holds a namedCurve SubjectPublicKeyInfo Node can read', async (curve) => {
    const card = aaCard({ slot: { type: 'ec', curve } });
    const { dg15 } = await dgs(card);
    const info = decodeSubjectPublicKeyInfo(dg15PublicKeyInfo(dg15));
    expect(info.type === 'ec' && info.curve).toBe(curve);
    expect(publicKeyObject(info).asymmetricKeyType).toBe('ec');
  });
});
