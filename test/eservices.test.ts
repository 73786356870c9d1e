/**
 * The e-services (PKI) application: key records (fast-check round trips), the access matrix of its
 * files and keys, and the three flows — e-government login and building access verify with the
 * authentication certificate's key; document signing needs the signature PIN for each signature.
 * Keys are generated on the card and never leave it.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { parseResponseApdu } from '../src/apdu/response.js';
import { bytesToHex, hexToBytes } from '../src/bytes/index.js';
import type { Card } from '../src/card/os.js';
import { dfByExactName } from '../src/card/fs/tree.js';
import { decodeSubjectPublicKeyInfo } from '../src/crypto/asymmetric.js';
import { performBac } from '../src/terminal/bac.js';
import { performPace } from '../src/terminal/pace.js';
import { InProcessTransport } from '../src/transport/in-process.js';
import { TracingTransport } from '../src/transport/trace.js';
import type { Transport } from '../src/transport/types.js';
import { holderMrz, loadHolder, type Holder } from '../src/holder/index.js';
import { createTestPki, parseTd1 } from '../src/lds/index.js';
import { buildIdCard } from '../src/apps/id-card.js';
import { IDENTITY_AID } from '../src/apps/identity/layout.js';
import { HEALTH_AID, authenticateInsurer } from '../src/apps/health/index.js';
import {
  ESERVICES_AID,
  EServicesError,
  buildingAccess,
  checkEServiceCertificate,
  createEServicesCa,
  decodeKeyRecord,
  eGovernmentLogin,
  eServicesFiles,
  encodeKeyRecord,
  readEServices,
  signDocument,
  verifyBuildingAccess,
  verifyDocumentSignature,
  verifyLogin,
  type KeyDescriptor,
} from '../src/apps/eservices/index.js';

const NOW = new Date('2026-01-15T12:00:00Z');
const pki = createTestPki({ now: new Date('2025-01-01T00:00:00Z') });
const ca = createEServicesCa({ now: new Date('2025-01-01T00:00:00Z') });
const holder = loadHolder('profiles/samples/specimen-full.yaml');
const CAN = '123456';
const AUTH_PIN = '1357';
const SIGN_PIN = '135791';
const MRZ_INFO = parseTd1(holderMrz(holder)).mrzInformation;
const INSURER_KEY = new Uint8Array(16).fill(0x5a);

describe('key records', () => {
  const descriptor: fc.Arbitrary<KeyDescriptor> = fc.record(
    {
      label: fc.stringMatching(/^[a-z][a-z0-9-]{0,31}$/),
      usage: fc.constantFrom('authentication' as const, 'signature' as const, 'encryption' as const),
      algorithm: fc.constantFrom('ecdsa-p256' as const, 'ecdsa-p384' as const, 'rsa-2048' as const, 'rsa-3072' as const),
      keyRef: fc.nat(255),
      certificateFid: fc.nat(0xffff),
      pinRef: fc.nat(255),
    },
    { requiredKeys: ['label', 'usage', 'algorithm', 'keyRef', 'pinRef'] },
  );
  it('decode(encode(x)) = x and encode(decode(b)) = b', () => {
    fc.assert(
      fc.property(descriptor, (d) => {
        const b = encodeKeyRecord(d);
        expect(decodeKeyRecord(b)).toEqual(d);
        expect(encodeKeyRecord(decodeKeyRecord(b))).toEqual(b);
      }),
      { numRuns: 300 },
    );
  });
  it('bytes as specified', () => {
    expect(bytesToHex(encodeKeyRecord({ label: 'auth', usage: 'authentication', algorithm: 'ecdsa-p256', keyRef: 1, certificateFid: 0xc001, pinRef: 0x81 }))).toBe('E41680046175746881010182010183010184' + '02C001' + '850181');
    expect(() => decodeKeyRecord(hexToBytes('E4098004617574688101 04'.replace(/ /g, '')))).toThrow(/usage/);
  });
});

function card(h: Holder = holder): Card {
  return buildIdCard(h, { pki, can: CAN, pin: '2468', puk: '12345678', insurerKey: INSURER_KEY, eServices: { authenticationPin: AUTH_PIN, signaturePin: SIGN_PIN, ca } });
}

async function tx(t: Transport, hex: string): Promise<{ data: Uint8Array; sw: string }> {
  const r = parseResponseApdu(await t.transmit(hexToBytes(hex)));
  return { data: r.data, sw: r.sw.toString(16).toUpperCase().padStart(4, '0') };
}

async function pace(c: Card, below?: (t: Transport) => Transport): Promise<Transport> {
  c.powerOff();
  const plain = new InProcessTransport(c);
  await plain.connect();
  return performPace(below ? below(plain) : plain, { kind: 'can', password: CAN, parameterId: 13 });
}

const ascii = (s: string): string => bytesToHex(new TextEncoder().encode(s));
const verify = (ref: number, pin: string): string => `002000${ref.toString(16).toUpperCase()}${pin.length.toString(16).padStart(2, '0')}${ascii(pin)}`;
const HASH = '11'.repeat(32);

describe('access matrix of the e-services application', () => {
  const c = card();
  const files = eServicesFiles(holder.eServices!.keyPairs);

  it('files: EF.KEYS, one certificate per key, EF.SOD; read SM; never written', async () => {
    expect(files.map((f) => f.name)).toEqual(['EF.KEYS', 'EF.CERT.authentication', 'EF.CERT.signature', 'EF.SOD']);
    for (const state of ['none', 'BAC', 'PACE-CAN', 'PACE-PIN', 'PACE-CAN+insurer'] as const) {
      c.powerOff();
      const plain = new InProcessTransport(c);
      await plain.connect();
      let t: Transport = plain;
      if (state === 'BAC') {
        await tx(plain, `00A4040C07${bytesToHex(IDENTITY_AID)}`);
        t = await performBac(plain, MRZ_INFO);
      } else if (state.startsWith('PACE-CAN')) t = await performPace(plain, { kind: 'can', password: CAN, parameterId: 13 });
      else if (state === 'PACE-PIN') t = await performPace(plain, { kind: 'pin', password: '2468', parameterId: 13 });
      if (state === 'PACE-CAN+insurer') {
        await tx(t, `00A4040C06${bytesToHex(HEALTH_AID)}`);
        await authenticateInsurer(t, INSURER_KEY);
      }
      expect((await tx(t, `00A4040C06${bytesToHex(ESERVICES_AID)}`)).sw).toBe('9000');
      for (const f of files) {
        const want = state === 'none' ? '6982' : '9000';
        const read = f.structure === 'transparent' ? `00B0${(0x80 | f.sfi).toString(16).toUpperCase()}0004` : `00B2010C00`;
        expect((await tx(t, read)).sw, `${f.name} in ${state}`).toBe(want);
        const upd = f.structure === 'transparent' ? `00D6${(0x80 | f.sfi).toString(16).toUpperCase()}000100` : '00DC010C0100';
        expect((await tx(t, upd)).sw, `update ${f.name} in ${state}`).toBe('6982');
      }
    }
  });

  it('keys: authentication needs PIN 81 under SM; signature needs PIN 82 for each signature', async () => {
    const t = await pace(c);
    await tx(t, `00A4040C06${bytesToHex(ESERVICES_AID)}`);
    // Authentication key 01: not without its PIN, not with the signature PIN.
    expect((await tx(t, '002241A406840101800104')).sw).toBe('9000');
    expect((await tx(t, `0088000020${HASH}00`)).sw).toBe('6982');
    expect((await tx(t, verify(0x82, SIGN_PIN))).sw).toBe('9000');
    expect((await tx(t, `0088000020${HASH}00`)).sw).toBe('6982');
    expect((await tx(t, verify(0x81, AUTH_PIN))).sw).toBe('9000');
    expect((await tx(t, `0088000020${HASH}00`)).sw).toBe('9000');
    expect((await tx(t, `0088000020${HASH}00`)).sw).toBe('9000'); // a login session: the PIN holds
    // Signature key 02: PIN 82 per signature (PIN 82 was verified above; used once).
    expect((await tx(t, '002241B606840102800104')).sw).toBe('9000');
    expect((await tx(t, `002A9E9A20${HASH}00`)).sw).toBe('9000');
    expect((await tx(t, `002A9E9A20${HASH}00`)).sw).toBe('6982');
    expect((await tx(t, verify(0x82, SIGN_PIN))).sw).toBe('9000');
    expect((await tx(t, `002A9E9A20${HASH}00`)).sw).toBe('9000');
    // The authentication key does not sign documents, nor the signature key log in.
    expect((await tx(t, '002241B606840101800104')).sw).toBe('6A80');
    // In plain, nothing: the session ends and SM is required.
    const plain = new InProcessTransport(c);
    expect((await tx(plain, verify(0x81, AUTH_PIN))).sw).toBe('9000');
    expect((await tx(plain, '002241A406840101800104')).sw).toBe('9000');
    expect((await tx(plain, `0088000020${HASH}00`)).sw).toBe('6982');
  });

  it('PACE with the card PIN still runs while the application is selected', async () => {
    const t = await pace(c);
    expect((await tx(t, `00A4040C06${bytesToHex(ESERVICES_AID)}`)).sw).toBe('9000');
    const pinSm = await performPace(t, { kind: 'pin', password: '2468', parameterId: 13 });
    expect((await tx(pinSm, '00B2010C00')).sw).toBe('9000');
  });

  it('key pairs were generated on the card; generation is closed after issuance; the private key never comes out', async () => {
    const t = await pace(c);
    await tx(t, `00A4040C06${bytesToHex(ESERVICES_AID)}`);
    expect((await tx(t, '0046000003840101' + '00')).sw).toBe('6982');
    const pub = await tx(t, '0046800003840101' + '00');
    expect(pub.sw).toBe('9000');
    expect(pub.data[0]).toBe(0x7f);
    const df = dfByExactName(c.state.mf, ESERVICES_AID)!;
    const key = df.asymmetricKeys!.find((k) => k.ref === 1)!;
    expect(bytesToHex(pub.data)).not.toContain(bytesToHex(key.privateKey!));
    const r = await readEServices(t, { cscas: [ca.certificate], now: NOW });
    expect(r.keys.map((k) => [k.descriptor.label, k.certificateCheck.verdict])).toEqual([
      ['authentication', 'valid'],
      ['signature', 'valid'],
    ]);
    expect(bytesToHex(decodeSubjectPublicKeyInfo(key.publicKey!).type === 'ec' ? (decodeSubjectPublicKeyInfo(key.publicKey!) as { point: Uint8Array }).point : new Uint8Array())).toBe(
      bytesToHex((r.keys[0]!.publicKey as { point: Uint8Array }).point),
    );
  });
});

describe('e-government login, building access, document signing', () => {
  const c = card();

  it('login: the portal verifies the signature over its challenge with the certificate key', async () => {
    const challenge = new Uint8Array(randomBytes(32));
    const r = await eGovernmentLogin(await pace(c), { pin: AUTH_PIN, challenge });
    expect(verifyLogin(r.certificate, challenge, r.signature)).toBe(true);
    expect(verifyLogin(r.certificate, new Uint8Array(randomBytes(32)), r.signature)).toBe(false);
    expect(checkEServiceCertificate(r.certificate, { anchors: [ca.certificate], now: NOW }).verdict).toBe('not-checked'); // no card key to compare
    // A login signature does not open a door, and the other way round.
    expect(verifyBuildingAccess(r.certificate, 'door', challenge, r.signature)).toBe(false);
  });

  it('building access: bound to the door and the challenge', async () => {
    const challenge = new Uint8Array(randomBytes(16));
    const r = await buildingAccess(await pace(c), { pin: AUTH_PIN, doorId: 'HQ-B2-017', challenge });
    expect(verifyBuildingAccess(r.certificate, 'HQ-B2-017', challenge, r.signature)).toBe(true);
    expect(verifyBuildingAccess(r.certificate, 'HQ-B2-018', challenge, r.signature)).toBe(false);
    expect(verifyLogin(r.certificate, challenge, r.signature)).toBe(false);
  });

  it('a wrong PIN is refused with the tries left, and the right one restores them', async () => {
    const t = await pace(c);
    await expect(eGovernmentLogin(t, { pin: '0000', challenge: new Uint8Array(16) })).rejects.toMatchObject({ name: 'EServicesError', reason: 'pin', triesLeft: 2 });
    await expect(eGovernmentLogin(t, { pin: AUTH_PIN, challenge: new Uint8Array(16) })).resolves.toBeDefined();
    const df = dfByExactName(c.state.mf, ESERVICES_AID)!;
    expect(df.pins.find((p) => p.ref === 0x81)?.tries).toBe(3);
  });

  it('document signing: the signature PIN for each signature, verified with the signature certificate', async () => {
    const t = await pace(c);
    const doc = new TextEncoder().encode('I, the holder, agree.');
    const a = await signDocument(t, { signaturePin: SIGN_PIN, document: doc });
    expect(verifyDocumentSignature(a.certificate, doc, a.signature)).toBe(true);
    expect(verifyDocumentSignature(a.certificate, new TextEncoder().encode('I do not.'), a.signature)).toBe(false);
    // The same session, no new PIN: the card refuses the second signature.
    expect((await tx(t, '002241B606840102800104')).sw).toBe('9000');
    expect((await tx(t, `002A9E9A20${HASH}00`)).sw).toBe('6982');
    const b = await signDocument(t, { signaturePin: SIGN_PIN, document: doc });
    expect(verifyDocumentSignature(b.certificate, doc, b.signature)).toBe(true);
    // The authentication PIN is not the signature PIN.
    await expect(signDocument(t, { signaturePin: AUTH_PIN, document: doc })).rejects.toBeInstanceOf(EServicesError);
  });

  it('the PINs never appear in a trace (they travel only inside secure messaging)', async () => {
    const lines: string[] = [];
    const t = await pace(c, (plain) => new TracingTransport(plain, (l) => lines.push(l)));
    await eGovernmentLogin(t, { pin: AUTH_PIN, challenge: new Uint8Array(16) });
    await signDocument(t, { signaturePin: SIGN_PIN, document: new Uint8Array(3) });
    const text = lines.join('\n').replace(/ /g, '');
    // Outside the hex, where a PIN could only be plain text (a 4-digit run inside random SM
    // cryptograms is chance: about one trace in twenty would show "1357" somewhere).
    const words = lines.join('\n').replace(/\b[0-9A-F*]{2,}\b/g, ' ');
    expect(lines.some((l) => l.includes('VERIFY'))).toBe(true);
    for (const p of [AUTH_PIN, SIGN_PIN]) {
      expect(text).not.toContain(ascii(p));
      expect(words).not.toContain(p);
    }
  });

  it('RSA keys work the same way (rsa-2048, generated on the card)', async () => {
    const rsa: Holder = { ...holder, eServices: { keyPairs: [{ label: 'authentication', usage: 'authentication', algorithm: 'rsa-2048' }, { label: 'signature', usage: 'signature', algorithm: 'rsa-2048' }] } };
    const rc = card(rsa);
    const challenge = new Uint8Array(randomBytes(32));
    const login = await eGovernmentLogin(await pace(rc), { pin: AUTH_PIN, challenge });
    expect(verifyLogin(login.certificate, challenge, login.signature)).toBe(true);
    const s = await signDocument(await pace(rc), { signaturePin: SIGN_PIN, document: challenge });
    expect(s.signature).toHaveLength(256);
    expect(verifyDocumentSignature(s.certificate, challenge, s.signature)).toBe(true);
    const r = await readEServices(await pace(rc), { cscas: [ca.certificate], now: NOW });
    expect(r.keys.map((k) => k.certificateCheck.verdict)).toEqual(['valid', 'valid']);
  });

  it('a certificate for another key, or from an unknown CA, is invalid', async () => {
    const r = await readEServices(await pace(c), { cscas: [ca.certificate], now: NOW });
    const [auth, sig] = r.keys;
    expect(checkEServiceCertificate(auth!.certificate!, { anchors: [ca.certificate], now: NOW, cardKey: sig!.publicKey! })).toMatchObject({ verdict: 'invalid', detail: expect.stringContaining('another key') });
    expect(checkEServiceCertificate(auth!.certificate!, { anchors: [pki.csca.certificate], now: NOW, cardKey: auth!.publicKey! })).toMatchObject({ verdict: 'invalid', detail: expect.stringContaining('none of the 1 trust anchor') });
    expect(checkEServiceCertificate(auth!.certificate!, { anchors: [ca.certificate], now: new Date('2040-01-01'), cardKey: auth!.publicKey! }).verdict).toBe('invalid');
  });
});
