/**
 * Response fitting and command chaining in the card OS pipeline: Ne and 61XX (ISO/IEC 7816-4 §5.1,
 * §5.6), GET RESPONSE (§11.7.1) with 6CXX, and command chaining (§5.3.3, CLA b5) with 6883 / 6884.
 *
 *     3F00 MF
 *     ├── 0101  transparent, 64 bytes 00..3F, SFI 1
 *     ├── 0102  transparent, 4 bytes, update NEVER, SFI 2
 *     ├── 0103  transparent, 8 bytes, SFI 3, deactivated
 *     └── 0104  transparent, 600 bytes, SFI 4, rules so long that its FCP exceeds 256 bytes
 */
import { describe, it, expect, beforeEach } from 'vitest';
import { bytesToHex, hexToBytes } from '../src/bytes/index.js';
import { parseTlv } from '../src/tlv/ber.js';
import type { Card } from '../src/card/os.js';
import { LCS, newTransparentEf, type TransparentEf } from '../src/card/fs/file.js';
import { ALWAYS, NEVER, or, pin } from '../src/card/security/access.js';
import { poweredCard, tx } from './helpers/card.js';
import { addFiles, counting, send } from './helpers/perso.js';

const h = (s: string): Uint8Array => hexToBytes(s);
const hex = (b: Uint8Array): string => bytesToHex(b);
const b2 = (n: number): string => n.toString(16).toUpperCase().padStart(2, '0');

let card: Card;
let ef: TransparentEf;
let locked: TransparentEf;

beforeEach(() => {
  card = poweredCard();
  const pins = Array.from({ length: 40 }, (_, i) => pin(i));
  [ef, locked] = addFiles(
    card,
    card.state.mf,
    newTransparentEf(0x0101, 64, { sfi: 1, data: counting(64) }),
    newTransparentEf(0x0102, 4, { sfi: 2, data: h('01020304'), rules: { read: ALWAYS, update: NEVER } }),
    Object.assign(newTransparentEf(0x0103, 8, { sfi: 3 }), { lcs: LCS.DEACTIVATED }),
    newTransparentEf(0x0104, 600, { sfi: 4, rules: { read: or(...pins), update: ALWAYS } }),
  ) as TransparentEf[] as [TransparentEf, TransparentEf, TransparentEf, TransparentEf];
});

/** The full FCI / FCP of a file, fetched with Le 0000 (no 61XX involved). */
function full(p2: number, fid: string): string {
  const r = tx(card, `00A400${b2(p2)}000002${fid}0000`);
  expect(r.swHex).toBe('9000');
  return r.data;
}

describe('Ne and 61XX (ISO/IEC 7816-4 §5.1)', () => {
  it('SELECT with P2=00 and no Le → 61XX without data; GET RESPONSE with Le=XX returns the FCI', () => {
    const fci = full(0x00, '0101');
    const n = fci.length / 2;
    expect(n).toBeLessThan(256);
    const r = tx(card, '00A40000020101');
    expect([r.data, r.swHex]).toEqual(['', `61${b2(n)}`]);
    const g = tx(card, `00C00000${b2(n)}`);
    expect([g.data, g.swHex]).toEqual([fci, '9000']);
    expect(parseTlv(g.bytes).tag).toBe(0x6f);
  });

  it('Le smaller than the FCI → the first Le bytes and 61XX; the rest comes with GET RESPONSE', () => {
    const fci = full(0x00, '0101');
    const n = fci.length / 2;
    const r = tx(card, '00A4000002010105');
    expect([r.data, r.swHex]).toEqual([fci.slice(0, 10), `61${b2(n - 5)}`]);
    const g = tx(card, `00C00000${b2(n - 5)}`);
    expect([g.data, g.swHex]).toEqual([fci.slice(10), '9000']);
  });

  it('GET RESPONSE in pieces of 3 bytes, each announcing the rest, gives back the whole FCP', () => {
    const fcp = full(0x04, '0101');
    const r = tx(card, '00A40004020101');
    let left = fcp.length / 2;
    expect(r.swHex).toBe(`61${b2(left)}`);
    let got = '';
    while (left > 0) {
      const k = Math.min(3, left);
      const g = tx(card, `00C00000${b2(k)}`);
      left -= k;
      expect([g.bytes.length, g.swHex]).toEqual([k, left > 0 ? `61${b2(left)}` : '9000']);
      got += g.data;
    }
    expect(got).toBe(fcp);
  });

  it('GET RESPONSE with an explicit short Le beyond what is left → 6CXX; the retry with XX works', () => {
    const fci = full(0x00, '0101');
    const n = fci.length / 2;
    tx(card, '00A40000020101');
    const wrong = tx(card, `00C00000${b2(n + 1)}`);
    expect([wrong.data, wrong.swHex]).toEqual(['', `6C${b2(n)}`]);
    const right = tx(card, `00C00000${b2(n)}`);
    expect([right.data, right.swHex]).toEqual([fci, '9000']);
  });

  it('GET RESPONSE with Le 00 returns what is left (up to 256) with 9000', () => {
    const fci = full(0x00, '0101');
    tx(card, '00A40000020101');
    const g = tx(card, '00C0000000');
    expect([g.data, g.swHex]).toEqual([fci, '9000']);
  });

  it('GET RESPONSE with an extended Le is an upper bound like any Ne: what is left, 9000', () => {
    const fci = full(0x00, '0101');
    tx(card, '00A40000020101');
    const g = tx(card, '00C00000000200'); // Ne 512
    expect([g.data, g.swHex]).toEqual([fci, '9000']);
  });

  it('nothing pending → 6985; the pending data is served once only', () => {
    expect(tx(card, '00C0000010').swHex).toBe('6985');
    tx(card, '00A40000020101');
    expect(tx(card, '00C0000000').swHex).toBe('9000');
    expect(tx(card, '00C0000000').swHex).toBe('6985');
  });

  it('any other command discards the pending data', () => {
    tx(card, '00A40000020101');
    expect(tx(card, '00B0000001').data).toBe('00');
    expect(tx(card, '00C0000000').swHex).toBe('6985');
    // Also a failing command.
    tx(card, '00A40000020101');
    expect(tx(card, '00B0009001').swHex).toBe('6B00');
    expect(tx(card, '00C0000000').swHex).toBe('6985');
    // Also an unknown instruction.
    tx(card, '00A40000020101');
    expect(tx(card, '0050000000').swHex).toBe('6D00');
    expect(tx(card, '00C0000000').swHex).toBe('6985');
  });

  it('a malformed command (6700) or an invalid class (6E00) also discards the pending data', () => {
    tx(card, '00A40000020101');
    expect(tx(card, '00A4').swHex).toBe('6700');
    expect(tx(card, '00C0000000').swHex).toBe('6985');
    tx(card, '00A40000020101');
    expect(tx(card, 'FFA40000020101').swHex).toBe('6E00');
    expect(tx(card, '00C0000000').swHex).toBe('6985');
  });

  it('GET RESPONSE on another channel does not see this channel’s data', () => {
    expect(tx(card, '0070000001').data).toBe('01');
    tx(card, '00A40000020101');
    expect(tx(card, '01C0000000').swHex).toBe('6985');
  });

  it('GET RESPONSE P1-P2 other than 0000 → 6A86; without Le → 6700', () => {
    tx(card, '00A40000020101');
    expect(tx(card, '00C0010000').swHex).toBe('6A86');
    tx(card, '00A40000020101');
    expect(tx(card, '00C00000').swHex).toBe('6700');
  });

  it('a warning status survives GET RESPONSE: deactivated file → 61XX, then the FCI with 6283', () => {
    const r = tx(card, '00A40004020103');
    expect(r.swHex.startsWith('61')).toBe(true);
    const g = tx(card, `00C00000${r.swHex.slice(2)}`);
    expect(g.swHex).toBe('6283');
    expect(parseTlv(g.bytes).tag).toBe(0x62);
  });

  it('more than 256 bytes: 6100, then 256 + 61XX, then the rest (short Le), or all at once (extended)', () => {
    const fcp = full(0x04, '0104');
    const n = fcp.length / 2;
    expect(n).toBeGreaterThan(256 + 2);
    expect(n).toBeLessThan(512);
    const r = tx(card, '00A40004020104');
    expect([r.data, r.swHex]).toEqual(['', '6100']);
    const g1 = tx(card, '00C0000000');
    expect([g1.bytes.length, g1.swHex]).toEqual([256, `61${b2(n - 256)}`]);
    const g2 = tx(card, `00C00000${b2(n - 256)}`);
    expect(g2.swHex).toBe('9000');
    expect(g1.data + g2.data).toBe(fcp);
    // Short Le 00 on the SELECT itself: 256 bytes and 61XX.
    const s = tx(card, '00A4000402010400');
    expect([s.bytes.length, s.swHex]).toEqual([256, `61${b2(n - 256)}`]);
    // GET RESPONSE with extended Le 0000: everything at once.
    tx(card, '00A40004020104');
    const all = tx(card, '00C00000000000');
    expect([all.data, all.swHex]).toEqual([fcp, '9000']);
  });
});

describe('command chaining (ISO/IEC 7816-4 §5.3.3)', () => {
  beforeEach(() => {
    expect(tx(card, '00A4000C020101').swHex).toBe('9000');
  });

  it('UPDATE BINARY in chained parts (CLA 10) then the last (CLA 00) writes the concatenation once', () => {
    expect(tx(card, '10D6000403 AABBCC').swHex).toBe('9000');
    expect(hex(ef.data.subarray(4, 7))).toBe('040506'); // nothing written yet
    expect(tx(card, '10D6000402 DDEE').swHex).toBe('9000');
    expect(tx(card, '00D6000401 FF').swHex).toBe('9000');
    expect(hex(ef.data.subarray(0, 12))).toBe('00010203' + 'AABBCCDDEEFF' + '0A0B');
  });

  it('chained parts with extended lengths', () => {
    const a = new Uint8Array(30).fill(0x11);
    const b = new Uint8Array(20).fill(0x22);
    expect(send(card, { cla: 0x10, ins: 0xd6, data: a, extended: true }).swHex).toBe('9000');
    expect(send(card, { cla: 0x00, ins: 0xd6, data: b, extended: true }).swHex).toBe('9000');
    expect(hex(ef.data.subarray(0, 52))).toBe('11'.repeat(30) + '22'.repeat(20) + '3233');
  });

  it('a different INS mid-chain → 6883, the chain is dropped', () => {
    expect(tx(card, '10D6000002 AAAA').swHex).toBe('9000');
    expect(tx(card, '00B0000002').swHex).toBe('6883');
    expect(tx(card, '00D6000001 BB').swHex).toBe('9000');
    expect(hex(ef.data.subarray(0, 3))).toBe('BB0102');
  });

  it('different P1-P2 mid-chain → 6883, in a chained or the last part', () => {
    expect(tx(card, '10D6000001 AA').swHex).toBe('9000');
    expect(tx(card, '10D6000101 BB').swHex).toBe('6883');
    expect(tx(card, '10D6000001 AA').swHex).toBe('9000');
    expect(tx(card, '00D6000101 BB').swHex).toBe('6883');
    expect(hex(ef.data.subarray(0, 2))).toBe('0001');
  });

  it('chains are per logical channel: a command on another channel neither joins nor breaks it', () => {
    expect(tx(card, '0070000001').data).toBe('01');
    expect(tx(card, '01A4000C020101').swHex).toBe('9000');
    expect(tx(card, '10D6000001 AA').swHex).toBe('9000');
    // A stand-alone UPDATE on channel 1 is its own command.
    expect(tx(card, '01D6000001 BB').swHex).toBe('9000');
    expect(ef.data[0]).toBe(0xbb);
    // Channel 0's chain is still open and completes with its last part.
    expect(tx(card, '00D6000001 CC').swHex).toBe('9000');
    expect(Array.from(ef.data.subarray(0, 2))).toEqual([0xaa, 0xcc]);
  });

  it('chaining on a command that does not support it (SELECT, READ BINARY) → 6884', () => {
    expect(tx(card, '10A4000C023F00').swHex).toBe('6884');
    expect(tx(card, '10B0000001').swHex).toBe('6884');
  });

  it('a chained command that does not support chaining also interrupts a chain', () => {
    expect(tx(card, '10D6000002 AAAA').swHex).toBe('9000');
    expect(tx(card, '10A4000C020101').sw).not.toBe(0x9000);
    // The UPDATE chain did not survive the interruption: this command stands alone.
    expect(tx(card, '00D6000001 BB').swHex).toBe('9000');
    expect(hex(ef.data.subarray(0, 3))).toBe('BB0102');
  });

  it('an unknown INS mid-chain → 6D00 and the chain is dropped', () => {
    expect(tx(card, '10D6000002 AAAA').swHex).toBe('9000');
    expect(tx(card, '1050000000').swHex).toBe('6D00');
    expect(tx(card, '00D6000001 BB').swHex).toBe('9000');
    expect(hex(ef.data.subarray(0, 3))).toBe('BB0102');
  });

  it('access is checked on the last part: update NEVER → 6982 and nothing written', () => {
    expect(tx(card, '10D6820002 AAAA').swHex).toBe('9000');
    expect(tx(card, '00D6820002 BBBB').swHex).toBe('6982');
    expect(hex(locked.data)).toBe('01020304');
  });

  it('the concatenation beyond the end of the EF → 6A84, nothing written', () => {
    const part = 'CC'.repeat(40);
    expect(tx(card, `10D6000028${part}`).swHex).toBe('9000');
    expect(tx(card, `00D6000028${part}`).swHex).toBe('6A84');
    expect(hex(ef.data)).toBe(hex(counting(64)));
  });

  it('a reset drops a chain in progress', () => {
    expect(tx(card, '10D6000002 AAAA').swHex).toBe('9000');
    card.reset();
    tx(card, '00A4000C020101');
    expect(tx(card, '00D6000001 BB').swHex).toBe('9000');
    expect(hex(ef.data.subarray(0, 3))).toBe('BB0102');
  });

  it('more than 65535 chained bytes → 6700', () => {
    const data = new Uint8Array(40000);
    expect(send(card, { cla: 0x10, ins: 0xd6, data }).swHex).toBe('9000');
    expect(send(card, { cla: 0x10, ins: 0xd6, data }).swHex).toBe('6700');
    // The chain is gone: a standalone write works again.
    expect(tx(card, '00D6000001 BB').swHex).toBe('9000');
  });
});
