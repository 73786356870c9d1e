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

  it('cards without encrypted files or keys get no key store (images stay as they were)', () => {
    const card = createCard();
    expect(JSON.parse(serializeCard(card))).not.toHaveProperty('keyStore');
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
