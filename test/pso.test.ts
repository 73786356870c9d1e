/**
 * The key store's e-service commands: MSE:SET (DST, CT, AT), PSO COMPUTE DIGITAL SIGNATURE, PSO
 * DECIPHER, INTERNAL AUTHENTICATE for client authentication — and the image section that keeps
 * the keys.
 *
 * - RFC 6979 A.2.5/A.2.6: PSO COMPUTE DIGITAL SIGNATURE with the published P-256 and P-384 keys
 *   answers the published r ‖ s byte for byte.
 * - RSA-2048 PKCS#1 v1.5 byte for byte against OpenSSL's own signature; PSS, OAEP, ECDH and ECDSA
 *   checked by OpenSSL (Node), independent of the card's code paths.
 * - "PIN always": a signature consumes the signature PIN's verification; refused without it,
 *   refused a second time until VERIFY again; refused commands consume nothing.
 * - Errors of MSE and PSO; INS 88 shared by client authentication and Active Authentication.
 * - No private key in any response, trace line, card event or image error; the image holds them in
 *   its `privateKeys` section, checked on load; tearing rolls the use counter back.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { constants, createECDH, createHash, createPrivateKey, createPublicKey, publicDecrypt, publicEncrypt, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { bytesToHex, concatBytes, hexToBytes } from '../src/bytes/index.js';
import { createCard, type Card } from '../src/card/os.js';
import type { AppletFactory } from '../src/card/applet.js';
import type { DedicatedFile } from '../src/card/fs/file.js';
import { ALWAYS, and, pin as pinRule, SM_REQUIRED } from '../src/card/security/access.js';
import { newAsymmetricKey, newPin, type AsymmetricKeySpec } from '../src/card/security/objects.js';
import { addKeySlot, findAsymmetricKey, generateInSlot, storeAsymmetricKey, type PrivateKeyMaterial } from '../src/card/protocols/key-store.js';
import { keyStoreCommands } from '../src/card/protocols/on-card-keys.js';
import { activeAuthCommands } from '../src/card/protocols/active-auth.js';
import { composeTables } from '../src/card/route.js';
import { CardImageError, loadCard, serializeCard } from '../src/card/image.js';
import { decodeSubjectPublicKeyInfo, digestInfo, ecPublicPoint, publicKeyObject, type EcCurveName } from '../src/crypto/asymmetric.js';
import { InProcessTransport } from '../src/transport/in-process.js';
import { TracingTransport } from '../src/transport/trace.js';
import { leaks, rsaKey, rsaSecrets } from './helpers/asymmetric.js';
import { tx, type Reply } from './helpers/card.js';

const h = (s: string): Uint8Array => hexToBytes(s);
const hex = (b: Uint8Array): string => bytesToHex(b);
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const sha = (alg: string, m: string | Uint8Array): Uint8Array => new Uint8Array(createHash(alg).update(m).digest());

interface Rfc6979 {
  vectors: { curve: EcCurveName; hash: string; privateKey: string; publicKey: string; message: string; signature: string }[];
}
const RFC6979 = JSON.parse(readFileSync(new URL('../test-vectors/rfc6979-ecdsa.json', import.meta.url), 'utf8')) as Rfc6979;
const P256 = RFC6979.vectors.filter((v) => v.curve === 'P-256');
const P384 = RFC6979.vectors.find((v) => v.curve === 'P-384')!;

const AID = 'E80704007F00070302'; // an e-service applet
const SIG_PIN = '123456';
const USER_PIN = '4321';
const RSA = rsaKey(2048);

interface Slot {
  readonly spec: AsymmetricKeySpec;
  readonly material?: PrivateKeyMaterial | 'generate';
}

const SLOTS: readonly Slot[] = [
  { spec: { ref: 0x01, type: 'ec', curve: 'P-256', usage: ['sign'], use: pinRule(0x81), pinAlways: true, label: 'qualified signature key' }, material: { type: 'ec', curve: 'P-256', d: h(P256[0]!.privateKey) } },
  { spec: { ref: 0x02, type: 'ec', curve: 'P-384', usage: ['sign'], use: pinRule(0x82), label: 'advanced signature key' }, material: { type: 'ec', curve: 'P-384', d: h(P384.privateKey) } },
  { spec: { ref: 0x03, type: 'rsa', bits: 2048, usage: ['sign'], use: pinRule(0x82), label: 'RSA signature key' }, material: { type: 'rsa', pkcs8: RSA.pkcs8 } },
  { spec: { ref: 0x04, type: 'rsa', bits: 2048, usage: ['decipher'], use: pinRule(0x82), label: 'RSA decipher key' }, material: { type: 'rsa', pkcs8: RSA.pkcs8 } },
  { spec: { ref: 0x05, type: 'ec', curve: 'P-256', usage: ['key-agreement'], use: pinRule(0x82), label: 'ECDH key' }, material: 'generate' },
  { spec: { ref: 0x06, type: 'ec', curve: 'P-256', usage: ['authenticate'], use: pinRule(0x82), label: 'EC authentication key' }, material: 'generate' },
  { spec: { ref: 0x07, type: 'rsa', bits: 2048, usage: ['authenticate'], use: pinRule(0x82), label: 'RSA authentication key' }, material: { type: 'rsa', pkcs8: RSA.pkcs8 } },
  { spec: { ref: 0x08, type: 'ec', curve: 'brainpoolP256r1', usage: ['sign'], algorithms: [0x04], use: and(pinRule(0x82), SM_REQUIRED), label: 'SM-only key' }, material: 'generate' },
  { spec: { ref: 0x09, type: 'ec', curve: 'P-256', usage: ['active-authentication'], use: ALWAYS, label: 'AA key' }, material: 'generate' },
  { spec: { ref: 0x0a, type: 'rsa', bits: 2048, usage: ['sign'], use: ALWAYS, label: 'empty slot' } },
];

const ESIGN: AppletFactory = {
  type: 'esign',
  create: () => ({
    install: (ctx) => {
      ctx.nv.splice(
        ctx.df.pins,
        0,
        0,
        newPin({ ref: 0x81, value: ascii(SIG_PIN), label: 'signature PIN', minLength: 6, maxLength: 6 }),
        newPin({ ref: 0x82, value: ascii(USER_PIN), label: 'user PIN', minLength: 4, maxLength: 8 }),
      );
      for (const s of SLOTS) {
        const key = addKeySlot(ctx.nv, ctx.df, newAsymmetricKey(s.spec));
        if (s.material === 'generate') generateInSlot(ctx.nv, key, ctx.rng);
        else if (s.material !== undefined) storeAsymmetricKey(ctx.nv, key, s.material);
      }
    },
    commands: composeTables(keyStoreCommands(), activeAuthCommands({ key: 0x09 })),
  }),
};

function esignCard(rng?: Uint8Array): Card {
  const card = createCard({ applets: [ESIGN], ...(rng ? { rng } : {}) });
  card.install(h(AID), 'esign');
  card.powerOn();
  expect(tx(card, `00A4040C${hexLen(h(AID))}${AID}`).swHex).toBe('9000');
  return card;
}

function hexLen(b: Uint8Array): string {
  return b.length.toString(16).toUpperCase().padStart(2, '0');
}

function appletDf(card: Card): DedicatedFile {
  return card.state.mf.children.find((c) => c.kind === 'DF') as DedicatedFile;
}

function publicOf(card: Card, ref: number): ReturnType<typeof decodeSubjectPublicKeyInfo> {
  return decodeSubjectPublicKeyInfo(findAsymmetricKey(appletDf(card), ref)!.key.publicKey!);
}

/** A short or extended case-4 APDU as hex. */
function apdu(header: string, data: Uint8Array, le = true): string {
  if (data.length <= 255) return `${header}${hexLen(data)}${hex(data)}${le ? '00' : ''}`;
  const lc = data.length.toString(16).toUpperCase().padStart(4, '0');
  return `${header}00${lc}${hex(data)}${le ? '0000' : ''}`;
}

const verifyPin = (card: Card, ref: number, value: string): Reply => tx(card, `002000${ref.toString(16).toUpperCase()}${hexLen(ascii(value))}${hex(ascii(value))}`);
const mse = (card: Card, p2: string, key: number, alg?: number): Reply =>
  tx(card, `002241${p2}${alg === undefined ? '03' : '06'}8401${key.toString(16).padStart(2, '0')}${alg === undefined ? '' : `8001${alg.toString(16).padStart(2, '0')}`}`);
const cds = (card: Card, input: Uint8Array): Reply => tx(card, apdu('002A9E9A', input));

describe('PSO COMPUTE DIGITAL SIGNATURE: ECDSA (RFC 6979 byte for byte)', () => {
  it('P-256 with the published key: r ‖ s of "sample" and "test"; the signature PIN is consumed each time', () => {
    const card = esignCard();
    expect(hex(publicOf(card, 0x01).type === 'ec' ? (publicOf(card, 0x01) as { point: Uint8Array }).point : new Uint8Array())).toBe(P256[0]!.publicKey);
    expect(mse(card, 'B6', 0x01, 0x04).swHex).toBe('9000');
    expect(cds(card, sha('sha256', 'sample')).swHex).toBe('6982'); // no VERIFY yet
    for (const v of P256) {
      expect(verifyPin(card, 0x81, SIG_PIN).swHex).toBe('9000');
      const r = cds(card, sha('sha256', v.message));
      expect(r.swHex).toBe('9000');
      expect(r.data).toBe(v.signature);
      // PIN always: the next signature needs a new VERIFY.
      expect(tx(card, '0020008100').swHex).toBe('63C3');
      expect(cds(card, sha('sha256', v.message)).swHex).toBe('6982');
    }
    expect(findAsymmetricKey(appletDf(card), 0x01)!.key.uses).toBe(2);
  });

  it('P-384 with the published key; a key without "PIN always" signs repeatedly after one VERIFY', () => {
    const card = esignCard();
    expect(mse(card, 'B6', 0x02).swHex).toBe('9000'); // default algorithm for EC: ECDSA (04)
    expect(verifyPin(card, 0x82, USER_PIN).swHex).toBe('9000');
    for (let i = 0; i < 3; i++) expect(cds(card, sha('sha384', P384.message)).data).toBe(P384.signature);
  });

  it('refused commands consume nothing: a bad input keeps the PIN verified', () => {
    const card = esignCard();
    mse(card, 'B6', 0x01, 0x04);
    verifyPin(card, 0x81, SIG_PIN);
    expect(cds(card, new Uint8Array(31)).swHex).toBe('6A80');
    expect(tx(card, '002A9E9A00').swHex).toBe('6A80');
    expect(cds(card, sha('sha256', 'x')).swHex).toBe('9000');
    expect(cds(card, sha('sha256', 'x')).swHex).toBe('6982');
  });

  it('random hashes of every length verify with OpenSSL (ieee-p1363) — P-256, P-384, brainpoolP256r1 under SM only', () => {
    const card = esignCard();
    verifyPin(card, 0x82, USER_PIN);
    mse(card, 'B6', 0x02, 0x04);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 100 }), fc.constantFrom('sha1', 'sha224', 'sha256', 'sha384', 'sha512'), (m, alg) => {
        const r = cds(card, sha(alg, m));
        expect(r.swHex).toBe('9000');
        expect(nodeVerify(alg, m, { key: publicKeyObject(publicOf(card, 0x02)), dsaEncoding: 'ieee-p1363' }, r.bytes)).toBe(true);
      }),
      { numRuns: 15 },
    );
    // Key 08's use condition is PIN(82) AND SM: in plain it is refused even with the PIN.
    expect(mse(card, 'B6', 0x08).swHex).toBe('9000');
    expect(cds(card, sha('sha256', 'm')).swHex).toBe('6982');
  });
});

describe('PSO COMPUTE DIGITAL SIGNATURE: RSA-2048', () => {
  const priv = createPrivateKey({ key: Buffer.from(RSA.pkcs8), format: 'der', type: 'pkcs8' });
  const pub = createPublicKey(priv);

  it('PKCS#1 v1.5 from a hash (12) and from a DigestInfo (02): byte for byte what OpenSSL signs', () => {
    const card = esignCard();
    verifyPin(card, 0x82, USER_PIN);
    for (const alg of ['sha1', 'sha224', 'sha256', 'sha384', 'sha512'] as const) {
      const m = ascii(`message for ${alg}`);
      const expected = hex(new Uint8Array(nodeSign(alg, m, priv)));
      expect(mse(card, 'B6', 0x03, 0x12).swHex).toBe('9000');
      expect(cds(card, sha(alg, m)).data).toBe(expected);
      expect(mse(card, 'B6', 0x03, 0x02).swHex).toBe('9000');
      expect(cds(card, digestInfo(alg, sha(alg, m))).data).toBe(expected);
    }
    // Algorithm 02 takes a DigestInfo only; 12 a hash only.
    mse(card, 'B6', 0x03, 0x02);
    expect(cds(card, sha('sha256', 'm')).swHex).toBe('6A80');
    mse(card, 'B6', 0x03, 0x12);
    expect(cds(card, digestInfo('sha256', sha('sha256', 'm'))).swHex).toBe('6A80');
  });

  it('PSS (05): salt from the card RNG, salt length = hash length; OpenSSL verifies', () => {
    const card = esignCard();
    verifyPin(card, 0x82, USER_PIN);
    expect(mse(card, 'B6', 0x03, 0x05).swHex).toBe('9000');
    for (const alg of ['sha1', 'sha256', 'sha384', 'sha512'] as const) {
      const m = ascii(`PSS ${alg}`);
      const r = cds(card, sha(alg, m));
      expect(r.swHex).toBe('9000');
      expect(r.bytes.length).toBe(256);
      expect(nodeVerify(alg, m, { key: pub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: createHash(alg).digest().length }, r.bytes)).toBe(true);
      expect(nodeVerify(alg, ascii('other'), { key: pub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: createHash(alg).digest().length }, r.bytes)).toBe(false);
    }
  });

  it('an RNG-fed salt makes PSS reproducible', () => {
    // Installing draws the four generated EC keys (4 × 32 bytes) first, then the salt is drawn.
    const rng = concatBytes(new Uint8Array(128).fill(0x11), new Uint8Array(32).fill(0xa5));
    const sigs = [0, 1].map(() => {
      const card = esignCard(rng);
      verifyPin(card, 0x82, USER_PIN);
      mse(card, 'B6', 0x03, 0x05);
      return cds(card, sha('sha256', 'abc')).data;
    });
    expect(sigs[0]).toBe(sigs[1]);
  });
});

describe('PSO DECIPHER', () => {
  it('RSA-OAEP SHA-256 (1A) and SHA-1 (0A): an extended APDU and command chaining', () => {
    const card = esignCard();
    verifyPin(card, 0x82, USER_PIN);
    const pub = publicKeyObject(publicOf(card, 0x04));
    for (const [alg, oaepHash] of [[0x1a, 'sha256'], [0x0a, 'sha1']] as const) {
      expect(mse(card, 'B8', 0x04, alg).swHex).toBe('9000');
      const secret = ascii('a 32-byte session key for e-ID!!');
      // A ciphertext whose first byte is 00 would read as "padding indicator + 255 bytes" of the
      // same integer below; draw until it is not, so the no-indicator check is meaningful.
      let c = new Uint8Array(publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, secret));
      while (c[0] === 0) c = new Uint8Array(publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, secret));
      const data = concatBytes(h('00'), c);
      expect(tx(card, apdu('002A8086', data)).data).toBe(hex(secret));
      // The same 257 bytes in a chain of short commands.
      expect(tx(card, `102A8086${hexLen(data.subarray(0, 200))}${hex(data.subarray(0, 200))}`).swHex).toBe('9000');
      expect(tx(card, `002A8086${hexLen(data.subarray(200))}${hex(data.subarray(200))}00`).data).toBe(hex(secret));
      const bad = c.slice();
      bad[100]! ^= 0x01;
      expect(tx(card, apdu('002A8086', concatBytes(h('00'), bad))).swHex).toBe('6A80');
      expect(tx(card, apdu('002A8086', c)).swHex).toBe('6A80'); // no padding indicator
    }
  });

  it('ECDH (0B): the shared secret is what OpenSSL computes; a point off the curve is 6A80', () => {
    const card = esignCard();
    verifyPin(card, 0x82, USER_PIN);
    expect(mse(card, 'B8', 0x05).swHex).toBe('9000'); // default for EC: ECDH
    const point = (publicOf(card, 0x05) as { point: Uint8Array }).point;
    for (let i = 0; i < 3; i++) {
      const peer = createECDH('prime256v1');
      peer.generateKeys();
      const r = tx(card, apdu('002A8086', concatBytes(h('00'), new Uint8Array(peer.getPublicKey()))));
      expect(r.swHex).toBe('9000');
      expect(r.data).toBe(hex(new Uint8Array(peer.computeSecret(point))));
    }
    const off = point.slice();
    off[40]! ^= 0x01;
    expect(tx(card, apdu('002A8086', concatBytes(h('00'), off))).swHex).toBe('6A80');
  });
});

describe('INTERNAL AUTHENTICATE: client authentication beside Active Authentication', () => {
  it('MSE:SET AT, then ECDSA over a hash and RSA PKCS#1 over raw data (TLS 1.1 MD5 ‖ SHA-1)', () => {
    const card = esignCard();
    verifyPin(card, 0x82, USER_PIN);
    expect(mse(card, 'A4', 0x06, 0x04).swHex).toBe('9000');
    const m = ascii('handshake messages');
    const r = tx(card, apdu('00880000', sha('sha256', m)));
    expect(nodeVerify('sha256', m, { key: publicKeyObject(publicOf(card, 0x06)), dsaEncoding: 'ieee-p1363' }, r.bytes)).toBe(true);
    expect(mse(card, 'A4', 0x07, 0x02).swHex).toBe('9000');
    const md5sha1 = concatBytes(sha('md5', m), sha('sha1', m));
    const s = tx(card, apdu('00880000', md5sha1));
    expect(s.swHex).toBe('9000');
    expect(hex(new Uint8Array(publicDecrypt({ key: publicKeyObject(publicOf(card, 0x07)), padding: constants.RSA_PKCS1_PADDING }, s.bytes)))).toBe(hex(md5sha1));
  });

  it('P1 = algorithm, P2 = key reference, without MSE', () => {
    const card = esignCard();
    verifyPin(card, 0x82, USER_PIN);
    const r = tx(card, apdu('00880406', sha('sha384', 'x')));
    expect(nodeVerify('sha384', ascii('x'), { key: publicKeyObject(publicOf(card, 0x06)), dsaEncoding: 'ieee-p1363' }, r.bytes)).toBe(true);
    expect(tx(card, apdu('00881206', sha('sha384', 'x'))).swHex).toBe('6A86'); // RSA algorithm for an EC key
    expect(tx(card, apdu('00880466', sha('sha384', 'x'))).swHex).toBe('6A88');
  });

  it('INS 88 with P1-P2 0000 is Active Authentication until an AT of the key store is set', () => {
    const card = esignCard();
    const rnd = h('0102030405060708');
    const aa = tx(card, apdu('00880000', rnd));
    expect(aa.swHex).toBe('9000');
    expect(nodeVerify('sha256', rnd, { key: publicKeyObject(publicOf(card, 0x09)), dsaEncoding: 'ieee-p1363' }, aa.bytes)).toBe(true);
    verifyPin(card, 0x82, USER_PIN);
    mse(card, 'A4', 0x06, 0x04);
    expect(tx(card, apdu('00880000', rnd)).swHex).toBe('6A80'); // now client authentication: 8 bytes are no hash
    expect(tx(card, apdu('00880000', sha('sha256', rnd))).swHex).toBe('9000');
  });
});

describe('MSE:SET and PSO errors', () => {
  it('references, usages, algorithms, missing templates', () => {
    const card = esignCard();
    verifyPin(card, 0x82, USER_PIN);
    expect(tx(card, '002241B603800104').swHex).toBe('6A80'); // no DO 84
    expect(mse(card, 'B6', 0x42).swHex).toBe('6A88'); // no such key
    expect(mse(card, 'B6', 0x04).swHex).toBe('6A80'); // a decipher key for signing
    expect(mse(card, 'B8', 0x03).swHex).toBe('6A80'); // a signing key for deciphering
    expect(mse(card, 'B6', 0x03, 0x1a).swHex).toBe('6A80'); // OAEP in a DST
    expect(mse(card, 'B6', 0x03, 0x04).swHex).toBe('6A80'); // ECDSA with an RSA key
    expect(mse(card, 'B6', 0x08, 0x04).swHex).toBe('9000');
    expect(mse(card, 'B6', 0x01, 0x33).swHex).toBe('6A80'); // unknown algorithm
    expect(tx(card, '002241B6058401018401').swHex).toBe('6A80'); // malformed TLV
    expect(tx(card, '002241B60684010199 0101'.replace(' ', '')).swHex).toBe('6A80'); // unknown DO
    expect(cds(card, sha('sha256', 'x')).swHex).toBe('6985'); // the refused MSE unset the DST
    expect(tx(card, apdu('002A8086', h('0001'))).swHex).toBe('6985'); // no CT
    expect(tx(card, apdu('002A9E9B', h('00'))).swHex).toBe('6A86');
    expect(mse(card, 'B6', 0x0a).swHex).toBe('9000'); // the empty slot is a valid reference …
    expect(cds(card, sha('sha256', 'x')).swHex).toBe('6984'); // … without a key pair
  });
});

describe('secrets and the card image', () => {
  const ecSecrets = (card: Card): string[] =>
    SLOTS.filter((s) => s.spec.type === 'ec').map((s) => hex(findAsymmetricKey(appletDf(card), s.spec.ref)!.key.privateKey!));

  it('no private key in any response, trace line or card event', async () => {
    const card = esignCard();
    const secrets = [...rsaSecrets(RSA.pkcs8), ...ecSecrets(card)];
    for (const s of ecSecrets(card)) expect(s.length).toBeGreaterThanOrEqual(64);
    const lines: string[] = [];
    const t = new TracingTransport(new InProcessTransport(card), (l) => lines.push(l));
    const send = async (a: string): Promise<void> => {
      await t.transmit(h(a));
    };
    await send(`0020008204${hex(ascii(USER_PIN))}`);
    for (const [p2, key, alg] of [['B6', 3, 0x12], ['B6', 2, 0x04], ['B8', 4, 0x1a], ['B8', 5, 0x0b], ['A4', 6, 0x04]] as const) {
      await send(`002241${p2}068401${key.toString(16).padStart(2, '0')}8001${alg.toString(16).padStart(2, '0')}`);
      await send(apdu('002A9E9A', sha('sha256', 'leak?')));
      await send(apdu('002A8086', concatBytes(h('00'), new Uint8Array(256).fill(7))));
      await send(apdu('00880000', sha('sha256', 'leak?')));
      await send(apdu('00460000', h(`B6038401${key.toString(16).padStart(2, '0')}`)));
      await send(apdu('00468000', h(`8401${key.toString(16).padStart(2, '0')}`)));
    }
    await send('002A9E9A');
    await send('FF2A9E9A00');
    expect(lines.length).toBeGreaterThan(50);
    expect(leaks(lines.join('\n'), secrets)).toBe(false);
    expect(leaks(JSON.stringify(card.events), secrets)).toBe(false);
  });

  it('the image keeps the keys sealed in a clearly named section; a reloaded card signs the same', () => {
    const card = esignCard();
    const text = serializeCard(card);
    const doc = JSON.parse(text) as { privateKeys: { protection: string; keys: { df: string; ref: number; sealed: string }[] }; mf: { children: { asymmetricKeys?: { ref: number; publicKey: string | null }[] }[] } };
    expect(doc.privateKeys.protection).toBe('aes-256-gcm');
    // Sealed under the card's storage key: no private key material anywhere in the image.
    expect(leaks(text, [...rsaSecrets(RSA.pkcs8), ...ecSecrets(card)])).toBe(false);
    expect(doc.privateKeys.keys.map((k) => k.ref)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(doc.privateKeys.keys[0]!.df).toMatch(/^3F00\/7F00$/);
    const slots = doc.mf.children.find((c) => c.asymmetricKeys)!.asymmetricKeys!;
    expect(slots.find((k) => k.ref === 0x0a)!.publicKey).toBeNull();
    // No private key material outside the privateKeys section.
    const withoutSection = JSON.stringify({ ...doc, privateKeys: undefined });
    expect(leaks(withoutSection, [...rsaSecrets(RSA.pkcs8), ...ecSecrets(card)])).toBe(false);
    const again = loadCard(text, { applets: [ESIGN] });
    expect(serializeCard(again)).toBe(text);
    again.powerOn();
    tx(again, `00A4040C09${AID}`);
    verifyPin(again, 0x81, SIG_PIN);
    mse(again, 'B6', 0x01, 0x04);
    expect(cds(again, sha('sha256', 'sample')).data).toBe(P256[0]!.signature);
  });

  it('loading checks the private keys against the slots, naming the field and never the value', () => {
    const text = serializeCard(esignCard());
    const fail = (mutate: (d: Record<string, unknown> & { privateKeys: { keys: { df: string; ref: number; sealed: string }[] } }) => void, field: RegExp): void => {
      const d = JSON.parse(text);
      mutate(d);
      let err: unknown;
      try {
        loadCard(JSON.stringify(d), { applets: [ESIGN] });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CardImageError);
      expect((err as CardImageError).field).toMatch(field);
      expect(leaks((err as Error).message, [...rsaSecrets(RSA.pkcs8), P256[0]!.privateKey])).toBe(false);
    };
    // A sealed key moved to another slot, or altered, does not open (bound to DF and reference).
    fail((d) => (d.privateKeys.keys[0]!.sealed = d.privateKeys.keys[1]!.sealed), /^privateKeys\.keys\[0\]\.sealed$/);
    fail((d) => (d.privateKeys.keys[2]!.sealed = d.privateKeys.keys[2]!.sealed.slice(0, -2) + '00'), /^privateKeys\.keys\[2\]\.sealed$/);
    fail((d) => d.privateKeys.keys.splice(1, 1), /asymmetricKeys\[1\]\.publicKey$/);
    fail((d) => d.privateKeys.keys.push({ ...d.privateKeys.keys[0]! }), /^privateKeys\.keys\[9\]\.ref$/);
    fail((d) => d.privateKeys.keys.push({ df: '3F00/7F00', ref: 0x0a, sealed: '00' }), /^privateKeys\.keys\[9\]\.ref$/);
    fail((d) => (d.privateKeys.keys[0]!.df = '3F00/7F01'), /^privateKeys\.keys\[0\]\.df$/);
    fail((d) => ((d.privateKeys as unknown as { protection: string }).protection = 'aes'), /^privateKeys\.protection$/);
    fail((d) => {
      const slots = (d.mf as { children: { asymmetricKeys?: { curve: string | null }[] }[] }).children.find((c) => c.asymmetricKeys)!.asymmetricKeys!;
      slots[0]!.curve = 'secp256k1';
    }, /asymmetricKeys\[0\]\.curve$/);
    fail((d) => {
      const slots = (d.mf as { children: { asymmetricKeys?: { use: string }[] }[] }).children.find((c) => c.asymmetricKeys)!.asymmetricKeys!;
      slots[0]!.use = 'PIN(81) XOR SM';
    }, /asymmetricKeys\[0\]\.use$/);
  });

  it('a power cut during a signature rolls the use counter back', () => {
    const card = esignCard();
    verifyPin(card, 0x82, USER_PIN);
    mse(card, 'B6', 0x02, 0x04);
    card.faults.cutPowerAtWrite(1);
    expect(card.transmit(h(apdu('002A9E9A', sha('sha384', 'x'))))).toHaveLength(0);
    expect(findAsymmetricKey(appletDf(card), 0x02)!.key.uses).toBe(0);
    card.powerOn();
    tx(card, `00A4040C09${AID}`);
    verifyPin(card, 0x82, USER_PIN);
    mse(card, 'B6', 0x02, 0x04);
    expect(cds(card, sha('sha384', 'x')).swHex).toBe('9000');
    expect(findAsymmetricKey(appletDf(card), 0x02)!.key.uses).toBe(1);
  });

  it('loaded EC keys give the public key of the published vector', () => {
    expect(hex(ecPublicPoint('P-384', h(P384.privateKey)))).toBe(P384.publicKey);
  });
});

describe('PSO DECIPHER strictness', () => {
  it('an RSA cryptogram one byte short (leading zero dropped) is refused, not deciphered', () => {
    const card = esignCard();
    verifyPin(card, 0x82, USER_PIN);
    const pub = publicKeyObject(publicOf(card, 0x04));
    expect(mse(card, 'B8', 0x04, 0x1a).swHex).toBe('9000');
    const secret = ascii('a 32-byte session key for e-ID!!');
    let c = new Uint8Array(publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, secret));
    while (c[0] !== 0) c = new Uint8Array(publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, secret));
    expect(tx(card, apdu('002A8086', concatBytes(h('00'), c.subarray(1)))).swHex).toBe('6A80');
    expect(tx(card, apdu('002A8086', concatBytes(h('00'), c))).data).toBe(hex(secret));
  });
});
