import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { createCard, type Card } from '../src/card/os.js';
import { newRecordEf, newTransparentEf } from '../src/card/fs/file.js';
import { attach } from '../src/card/fs/tree.js';
import { CardImageError, loadCard, serializeCard } from '../src/card/image.js';
import type { SecureMessagingSession } from '../src/card/channel.js';
import type { CommandApdu } from '../src/apdu/command.js';
import { encodeResponseApdu } from '../src/apdu/response.js';
import { bytesToHex, hexToBytes } from '../src/bytes/index.js';
import { SealError, seal, unseal } from '../src/crypto/seal.js';
import { tx } from './helpers/card.js';
import { readFileSync } from 'node:fs';
import { formatPath, type DedicatedFile } from '../src/card/fs/file.js';
import { createTestPki } from '../src/lds/index.js';
import { loadHolder } from '../src/holder/index.js';
import { ID_CARD_APPLETS, buildIdCard } from '../src/apps/id-card.js';

/**
 * A stand-in SM session that passes commands through unchanged: enough to show that the OS
 * releases an encrypted file only while a session protects the channel (the SM codecs have their
 * own tests).
 */
class PassThroughSm implements SecureMessagingSession {
  unwrapCommand(cmd: CommandApdu): CommandApdu {
    return { ...cmd, cla: { ...cmd.cla, sm: 'none' } };
  }
  wrapResponse(data: Uint8Array, sw: number): Uint8Array {
    return encodeResponseApdu(data, sw);
  }
}

const SECRET = hexToBytes('5345435245542D42494F4D4554524943'); // "SECRET-BIOMETRIC"
const RECORD = hexToBytes('4143434F554E542D30303031'); // "ACCOUNT-0001"

function cardWithEncryptedFiles(): Card {
  const card = createCard();
  attach(card.nv, card.state.mf, newTransparentEf(0x0103, 64, { sfi: 3, data: SECRET, encrypted: true }));
  attach(card.nv, card.state.mf, newRecordEf(0x0201, 'linear-variable', 32, 4, { sfi: 4, records: [RECORD], encrypted: true }));
  attach(card.nv, card.state.mf, newTransparentEf(0x0104, 8, { sfi: 5, data: hexToBytes('0102030405060708') }));
  card.nv.commit();
  return card;
}

function underSm(card: Card): void {
  (card as unknown as { channels: { sm: SecureMessagingSession | null }[] }).channels[0]!.sm = new PassThroughSm();
}

describe('sealing (AES-256-GCM bound to a context)', () => {
  it('round trips, is deterministic, and refuses another key, another context or any altered byte', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 300 }), fc.string(), (key, data, ctx) => {
        const context = new TextEncoder().encode(ctx);
        const s = seal(key, context, data);
        expect(bytesToHex(unseal(key, context, s))).toBe(bytesToHex(data));
        expect(bytesToHex(seal(key, context, data))).toBe(bytesToHex(s));
        const other = new TextEncoder().encode(`${ctx}!`);
        expect(() => unseal(key, other, s)).toThrow(SealError);
        const flipped = s.slice();
        flipped[s.length >> 1] = flipped[s.length >> 1]! ^ 0x01;
        expect(() => unseal(key, context, flipped)).toThrow(SealError);
      }),
      { numRuns: 60 },
    );
  });
});

describe('encrypted files', () => {
  it('the card image shows none of their plaintext, and reloads them', () => {
    const card = cardWithEncryptedFiles();
    const text = serializeCard(card);
    expect(text).not.toContain(bytesToHex(SECRET));
    expect(text).not.toContain(bytesToHex(RECORD));
    expect(text).not.toContain(bytesToHex(SECRET).toLowerCase());
    const doc = JSON.parse(text) as { keyStore?: { storageKey: string }; mf: { children: Record<string, unknown>[] } };
    expect(doc.keyStore?.storageKey).toMatch(/^[0-9A-F]{64}$/);
    expect(doc.mf.children[0]).toMatchObject({ encrypted: true });
    expect(doc.mf.children[0]).not.toHaveProperty('data');
    expect(doc.mf.children[1]).not.toHaveProperty('records');
    // The plain file is stored as it is.
    expect(doc.mf.children[2]).toMatchObject({ data: '0102030405060708' });
    const again = loadCard(text);
    expect(serializeCard(again)).toBe(text);
    const ef = again.state.mf.children[0]!;
    expect(ef.kind === 'EF' && ef.structure === 'transparent' && bytesToHex(ef.data.subarray(0, 16))).toBe(bytesToHex(SECRET));
  });

  it('every card has a key store: its transport key at least is sealed', () => {
    const doc = JSON.parse(serializeCard(createCard())) as { version: number; keyStore?: { storageKey: string }; transportKey: Record<string, unknown> };
    expect(doc.version).toBe(2);
    expect(doc.keyStore?.storageKey).toMatch(/^[0-9A-F]{64}$/);
    expect(doc.transportKey).toHaveProperty('sealed');
    expect(doc.transportKey).not.toHaveProperty('value');
  });

  it('are released only under secure messaging, whatever the access rule says', () => {
    const card = cardWithEncryptedFiles();
    card.powerOn();
    expect(tx(card, '00B0830010').swHex).toBe('6982');
    expect(tx(card, '00B2012400').swHex).toBe('6982');
    expect(tx(card, '00B0850008').data).toBe('0102030405060708');
    underSm(card);
    expect(tx(card, '0CB0830010').data).toBe(bytesToHex(SECRET));
    expect(tx(card, '0CB2012400').data).toBe(bytesToHex(RECORD));
    // A plain command ends the session, and the file is closed again.
    expect(tx(card, '00B0830010').swHex).toBe('6982');
  });

  it('CREATE FILE takes the flag in FCP DO 85, SELECT reports it, and bad flags are refused', () => {
    const card = createCard();
    card.powerOn();
    (card as unknown as { channels: { persoAuthenticated: boolean }[] }).channels[0]!.persoAuthenticated = true;
    expect(tx(card, '00E00000 11 620F 82020101 83020110 80020020 850101'.replace(/ /g, '')).swHex).toBe('9000');
    const fcp = tx(card, '00A4020402011000');
    expect(fcp.data).toContain('850101');
    expect(tx(card, '00E00000 11 620F 82020101 83020111 80020020 850103'.replace(/ /g, '')).swHex).toBe('6A80');
  });

  it('a sealed file that was altered or moved to another file does not load, naming the field', () => {
    const text = serializeCard(cardWithEncryptedFiles());
    const doc = JSON.parse(text) as { mf: { children: { sealed?: string; fid: string }[] } };
    const altered = structuredClone(doc);
    const s = altered.mf.children[0]!.sealed!;
    altered.mf.children[0]!.sealed = s.slice(0, 40) + (s[40] === '0' ? '1' : '0') + s.slice(41);
    expect(() => loadCard(JSON.stringify(altered))).toThrow(CardImageError);
    try {
      loadCard(JSON.stringify(altered));
    } catch (e) {
      expect((e as CardImageError).field).toBe('mf.children[0].sealed');
      expect((e as Error).message).not.toContain(bytesToHex(SECRET));
    }
    const moved = structuredClone(doc);
    moved.mf.children[0]!.fid = '0105';
    expect(() => loadCard(JSON.stringify(moved))).toThrow(/mf\.children\[0\]\.sealed/);
  });

  it('writes to an encrypted file are atomic like every other write', () => {
    const card = cardWithEncryptedFiles();
    card.powerOn();
    underSm(card);
    const before = serializeCard(card);
    card.faults.cutPowerAtWrite(1);
    expect(card.transmit(hexToBytes('0CD6830004AABBCCDD')).length).toBe(0);
    card.powerOn();
    expect(serializeCard(card)).toBe(before);
  });
});

describe('secrets at rest: PINs, CAN, PUK and symmetric keys are sealed in the card image', () => {
  const hexOf = (s: string): string => bytesToHex(new TextEncoder().encode(s));

  /** Every PIN object's and symmetric key's value on the card, the transport key too. */
  function secretsOf(card: Card): { what: string; value: Uint8Array }[] {
    const out: { what: string; value: Uint8Array }[] = [{ what: 'transport key', value: card.state.transportKey.value }];
    const walk = (df: DedicatedFile): void => {
      for (const p of df.pins) out.push({ what: `${formatPath(df)} ${p.label}`, value: p.value });
      for (const k of df.keys) out.push({ what: `${formatPath(df)} key ${k.ref}`, value: k.value });
      for (const c of df.children) if (c.kind === 'DF') walk(c);
    };
    walk(card.state.mf);
    return out;
  }

  it('the ID card image holds no PIN, CAN, PUK, e-services PIN, insurer key or transport key, and reloads them', () => {
    const pki = createTestPki({ now: new Date('2025-01-01T00:00:00Z') });
    const holder = loadHolder('profiles/samples/specimen-full.yaml');
    const insurerKey = hexToBytes('000102030405060708090A0B0C0D0E0F');
    const card = buildIdCard(holder, {
      pki,
      can: '815243',
      pin: '97531',
      puk: '86420975',
      insurerKey,
      eServices: { authenticationPin: '714285', signaturePin: '57142857' },
      signingTime: new Date('2025-06-01T00:00:00Z'),
    });
    const text = serializeCard(card);
    const secrets = secretsOf(card);
    expect(secrets.length).toBeGreaterThanOrEqual(7);
    for (const s of ['815243', '97531', '86420975', '714285', '57142857']) expect(text).not.toContain(hexOf(s));
    expect(text).not.toContain(bytesToHex(insurerKey));
    for (const { what, value } of secrets) expect(text, what).not.toContain(bytesToHex(value));
    // Nor a "value" field anywhere but data objects (which hold no secrets).
    const doc = JSON.parse(text) as { mf: unknown };
    const valueFields: string[] = [];
    const scan = (v: unknown, path: string): void => {
      if (Array.isArray(v)) v.forEach((x, i) => scan(x, `${path}[${i}]`));
      else if (v !== null && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (k === 'value' && !/dataObjects\[\d+\]$/.test(path)) valueFields.push(path);
          scan(x, `${path}.${k}`);
        }
      }
    };
    scan(doc, '');
    expect(valueFields).toEqual([]);
    const again = loadCard(text, { applets: ID_CARD_APPLETS });
    expect(secretsOf(again).map((x) => `${x.what}=${bytesToHex(x.value)}`)).toEqual(secrets.map((x) => `${x.what}=${bytesToHex(x.value)}`));
  });

  it('migration: a version-1 image (plain values) loads, works, and is written back as version 2 with nothing in plain', () => {
    const v1 = readFileSync('test-vectors/cards/card-os.json', 'utf8');
    expect(JSON.parse(v1)).toMatchObject({ version: 1 });
    const card = loadCard(v1);
    card.powerOn();
    // PIN 01 of the MF is "1234" in that image.
    expect(tx(card, '0020000104' + hexOf('1234')).swHex).toBe('9000');
    card.powerOff();
    const v2 = serializeCard(card);
    expect(JSON.parse(v2)).toMatchObject({ version: 2 });
    // Where the secrets were (the image's files hold counting bytes that contain some of them).
    type Df = { pins: object[]; keys: object[]; children: ({ type: string } & Partial<Df>)[] };
    const doc = JSON.parse(v2) as { transportKey: object; mf: Df };
    const places: object[] = [doc.transportKey];
    const walk = (df: Df): void => {
      places.push(...df.pins, ...df.keys);
      for (const c of df.children) if (c.type === 'DF') walk(c as Df);
    };
    walk(doc.mf);
    expect(places.length).toBe(7);
    for (const o of places) {
      expect(o).toHaveProperty('sealed');
      expect(o).not.toHaveProperty('value');
    }
    const where = JSON.stringify(places);
    for (const s of ['31323334', '3132333435363738', '34333231', '35363738', '404142434445464748494A4B4C4D4E4F', '0123456789ABCDEFFEDCBA9876543210', '2B7E151628AED2A6ABF7158809CF4F3C']) {
      expect(where).not.toContain(s);
    }
    expect(serializeCard(loadCard(v2))).toBe(v2);
  });

  it('a version-1 image with a sealed secret, or an unknown version, is refused naming the field', () => {
    const v1 = JSON.parse(readFileSync('test-vectors/cards/card-os.json', 'utf8')) as { version: number; mf: { pins: Record<string, unknown>[] } };
    const sealedInV1 = structuredClone(v1);
    sealedInV1.mf.pins[0]!.sealed = '00'.repeat(40);
    expect(() => loadCard(JSON.stringify(sealedInV1))).toThrow(/mf\.pins\[0\]\.sealed: unknown field/);
    expect(() => loadCard(JSON.stringify({ ...v1, version: 0 }))).toThrow(/reads versions 1 and 2/);
  });
});
