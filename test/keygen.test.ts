/**
 * GENERATE ASYMMETRIC KEY PAIR (ISO/IEC 7816-8 §5.1): the public key in a `7F49` template (RSA 81
 * modulus / 82 exponent; EC 86 point, with P1 = 01 the domain parameters 81–87), a signature by the
 * new key verifies with exactly that public key, the private key never leaves the card, the
 * slot's `generate` condition gates it (the transport key passes in personalization), the card RNG
 * makes EC generation replayable, a power cut leaves the old key pair, and the image keeps it.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { verify as nodeVerify } from 'node:crypto';
import { bytesToHex, concatBytes, hexToBytes } from '../src/bytes/index.js';
import { createCard, type Card } from '../src/card/os.js';
import type { AppletFactory } from '../src/card/applet.js';
import type { DedicatedFile } from '../src/card/fs/file.js';
import { pin as pinRule } from '../src/card/security/access.js';
import { newAsymmetricKey, newPin, type AsymmetricKeySpec } from '../src/card/security/objects.js';
import { addKeySlot, findAsymmetricKey } from '../src/card/protocols/key-store.js';
import { keyStoreCommands } from '../src/card/protocols/on-card-keys.js';
import { loadCard, serializeCard } from '../src/card/image.js';
import { decodePublicKeyTemplate, decodeSubjectPublicKeyInfo, digest, ecGroup, encodePublicKeyTemplate, publicKeyObject, type EcCurveName, type PublicKeyInfo } from '../src/crypto/asymmetric.js';
import { parseTlv } from '../src/tlv/ber.js';
import { leaks, rsaSecrets } from './helpers/asymmetric.js';
import { tx, type Reply } from './helpers/card.js';
import { authenticateTransport } from './helpers/perso.js';

const h = (s: string): Uint8Array => hexToBytes(s);
const hex = (b: Uint8Array): string => bytesToHex(b);
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

const AID = 'F0000000CA01';
const PIN = '2468';
const CURVES: readonly EcCurveName[] = ['P-256', 'P-384', 'P-521', 'brainpoolP256r1', 'brainpoolP384r1', 'brainpoolP512r1'];

const SPECS: readonly AsymmetricKeySpec[] = [
  ...CURVES.map((curve, i): AsymmetricKeySpec => ({ ref: 0x10 + i, type: 'ec', curve, usage: ['sign'], use: pinRule(0x81), generate: pinRule(0x81), label: `${curve} key` })),
  { ref: 0x20, type: 'rsa', bits: 2048, usage: ['sign'], use: pinRule(0x81), generate: pinRule(0x81), label: 'RSA-2048 key' },
  { ref: 0x21, type: 'ec', curve: 'P-256', usage: ['sign'], use: pinRule(0x81), label: 'personalization-only key' }, // generate: NEVER
];

const APPLET: AppletFactory = {
  type: 'keys',
  create: () => ({
    install: (ctx) => {
      ctx.nv.splice(ctx.df.pins, 0, 0, newPin({ ref: 0x81, value: ascii(PIN) }));
      for (const s of SPECS) addKeySlot(ctx.nv, ctx.df, newAsymmetricKey(s));
    },
    commands: keyStoreCommands(),
  }),
};

function keyCard(rng?: Uint8Array, select = true): Card {
  const card = createCard({ applets: [APPLET], ...(rng ? { rng } : {}) });
  card.install(h(AID), 'keys');
  card.powerOn();
  if (select) expect(tx(card, `00A4040C06${AID}`).swHex).toBe('9000');
  return card;
}

const ref2 = (ref: number): string => ref.toString(16).toUpperCase().padStart(2, '0');
/** Extended Le: with domain parameters (P1 = 01) an EC answer exceeds 256 bytes. */
const generate = (card: Card, ref: number, p1 = '00'): Reply => tx(card, `0046${p1}00000005B6038401${ref2(ref)}0000`);
const login = (card: Card): void => expect(tx(card, `0020008104${hex(ascii(PIN))}`).swHex).toBe('9000');

function appletDf(card: Card): DedicatedFile {
  return card.state.mf.children.find((c) => c.kind === 'DF') as DedicatedFile;
}

/** Signs `m` (hashed here) with key `ref` through MSE:SET DST + PSO COMPUTE DIGITAL SIGNATURE. */
function signWith(card: Card, ref: number, alg: number, hash: 'sha256' | 'sha384', m: Uint8Array): Uint8Array {
  expect(tx(card, `002241B6068401${ref2(ref)}8001${ref2(alg)}`).swHex).toBe('9000');
  const d = digest(hash, m);
  const r = tx(card, `002A9E9A${ref2(d.length)}${hex(d)}00`);
  expect(r.swHex).toBe('9000');
  return r.bytes;
}

describe('GENERATE ASYMMETRIC KEY PAIR: EC', () => {
  for (const curve of CURVES) {
    it(`${curve}: 7F49 { 86 point }; a signature verifies with it (OpenSSL)`, () => {
      const card = keyCard();
      login(card);
      const ref = 0x10 + CURVES.indexOf(curve);
      const r = generate(card, ref);
      expect(r.swHex).toBe('9000');
      const t = parseTlv(r.bytes);
      expect(t.tag).toBe(0x7f49);
      expect(t.children!.map((c) => c.tag)).toEqual([0x86]);
      const g = ecGroup(curve);
      expect(t.children![0]!.value.length).toBe(1 + 2 * g.fieldLength);
      const info = decodePublicKeyTemplate(r.bytes, { curve });
      // The slot's stored public key is the one answered.
      const stored = decodeSubjectPublicKeyInfo(findAsymmetricKey(appletDf(card), ref)!.key.publicKey!);
      expect(stored.type === 'ec' && hex(stored.point)).toBe(hex(t.children![0]!.value));
      const m = ascii(`message signed by a fresh ${curve} key`);
      const sig = signWith(card, ref, 0x04, 'sha256', m);
      expect(nodeVerify('sha256', m, { key: publicKeyObject(info), dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
    });
  }

  it('P1 = 01: the domain parameters 81–87 come along and name the curve', () => {
    const card = keyCard();
    login(card);
    for (const curve of ['P-256', 'brainpoolP384r1'] as const) {
      const r = generate(card, 0x10 + CURVES.indexOf(curve), '01');
      expect(r.swHex).toBe('9000');
      expect(parseTlv(r.bytes).children!.map((c) => c.tag)).toEqual([0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87]);
      const info = decodePublicKeyTemplate(r.bytes);
      expect(info.type === 'ec' && info.curve).toBe(curve);
      expect(hex(encodePublicKeyTemplate(info, { domainParameters: true }))).toBe(hex(r.bytes));
    }
  });

  it('P1 = 80 / 81 read the public key back without generating; a new GENERATE replaces it', () => {
    const card = keyCard();
    login(card);
    expect(generate(card, 0x10, '80').swHex).toBe('6984'); // empty slot
    const first = generate(card, 0x10);
    expect(generate(card, 0x10, '80').data).toBe(first.data);
    const withParameters = decodePublicKeyTemplate(generate(card, 0x10, '81').bytes);
    expect(withParameters.type === 'ec' && withParameters.curve).toBe('P-256');
    expect(withParameters.type === 'ec' && hex(withParameters.point)).toBe(first.data.slice(10)); // 7F49 43 86 41 ‖ point
    const second = generate(card, 0x10);
    expect(second.data).not.toBe(first.data);
    expect(generate(card, 0x10, '80').data).toBe(second.data);
    expect(findAsymmetricKey(appletDf(card), 0x10)!.key.uses).toBe(0);
  });

  it('the card RNG feeds EC generation: the same bytes give the same key (a replay)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((b) => b.some((x) => x !== 0) && b[0]! < 0xff), (seed) => {
        const a = keyCard(seed);
        const b = keyCard(seed);
        login(a);
        login(b);
        expect(generate(a, 0x10).data).toBe(generate(b, 0x10).data);
      }),
      { numRuns: 5 },
    );
  });
});

describe('GENERATE ASYMMETRIC KEY PAIR: RSA-2048', () => {
  it('7F49 { 81 modulus, 82 exponent } (extended length, or 61XX and GET RESPONSE); PKCS#1 and PSS signatures verify', () => {
    const card = keyCard();
    login(card);
    const r = tx(card, '00460000000005B6038401200000');
    expect(r.swHex).toBe('9000');
    const info = decodePublicKeyTemplate(r.bytes) as PublicKeyInfo & { type: 'rsa' };
    expect(info.type).toBe('rsa');
    expect(info.bits).toBe(2048);
    expect(hex(info.exponent)).toBe('010001');
    // A short Le: the answer comes in two parts.
    const short = tx(card, '0046800005B603840120FF');
    const rest = r.bytes.length - 255;
    expect(short.swHex).toBe(`61${ref2(rest)}`);
    expect(hex(concatBytes(short.bytes, tx(card, `00C00000${ref2(rest)}`).bytes))).toBe(r.data);
    const m = ascii('signed with an on-card RSA key');
    const pkcs1 = signWith(card, 0x20, 0x12, 'sha256', m);
    expect(nodeVerify('sha256', m, publicKeyObject(info), pkcs1)).toBe(true);
    const pss = signWith(card, 0x20, 0x05, 'sha384', m);
    expect(nodeVerify('sha384', m, { key: publicKeyObject(info), padding: 6, saltLength: 48 }, pss)).toBe(true);
    // The private key is in the store and nowhere in the answers.
    const secrets = rsaSecrets(findAsymmetricKey(appletDf(card), 0x20)!.key.privateKey!);
    expect(leaks(r.data + short.data + hex(pkcs1) + hex(pss), secrets)).toBe(false);
    // The image keeps it: a reloaded card signs with the same key.
    const again = loadCard(serializeCard(card), { applets: [APPLET] });
    again.powerOn();
    tx(again, `00A4040C06${AID}`);
    login(again);
    expect(nodeVerify('sha256', m, publicKeyObject(info), signWith(again, 0x20, 0x12, 'sha256', m))).toBe(true);
  });
});

describe('conditions, errors, tearing', () => {
  it('the generate condition: 6982 without the PIN; NEVER keys only by the personalizer', () => {
    const card = keyCard(undefined, false);
    expect(tx(card, `00A4040C06${AID}`).swHex).toBe('9000');
    expect(generate(card, 0x10).swHex).toBe('6982');
    expect(generate(card, 0x21).swHex).toBe('6982');
    authenticateTransport(card);
    expect(generate(card, 0x21).swHex).toBe('9000'); // personalization: the transport key passes
    expect(generate(card, 0x10).swHex).toBe('9000');
  });

  it('malformed commands', () => {
    const card = keyCard();
    login(card);
    expect(tx(card, '0046000105B60384011000').swHex).toBe('6A86');
    expect(tx(card, '0046020005B60384011000').swHex).toBe('6A86');
    expect(tx(card, '0046000005B60384017700').swHex).toBe('6A88');
    expect(tx(card, '0046000005B603830110 00'.replace(' ', '')).swHex).toBe('6A80');
    expect(tx(card, '00460000048401 10 00'.replace(/ /g, '')).swHex).toBe('6A80');
    expect(tx(card, '0046000003840110 00'.replace(' ', '')).swHex).toBe('9000'); // DO 84 alone
    expect(tx(card, '0046000008B606840110800112 00'.replace(' ', '')).swHex).toBe('6A80'); // RSA algorithm for an EC slot
    expect(tx(card, '0046000008B606840110800104 00'.replace(' ', '')).swHex).toBe('9000');
  });

  it('a power cut during generation leaves the old key pair', () => {
    const card = keyCard();
    login(card);
    const first = generate(card, 0x11);
    card.faults.cutPowerAtWrite(2);
    expect(card.transmit(h('0046000005B60384011100'))).toHaveLength(0);
    card.powerOn();
    tx(card, `00A4040C06${AID}`);
    expect(generate(card, 0x11, '80').data).toBe(first.data);
  });
});
