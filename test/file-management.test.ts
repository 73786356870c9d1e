/**
 * File management and life cycle (ISO/IEC 7816-9:2017 §7, ISO/IEC 7816-4:2013 §7.4): CREATE FILE
 * from FCP templates, DELETE FILE, ACTIVATE / DEACTIVATE FILE, TERMINATE DF / EF, and the card
 * life cycle riding on the MF. CREATE FILE is a personalization command, opened by a real
 * transport-key authentication (test/helpers/perso.ts).
 */
import { describe, it, expect, beforeEach } from 'vitest';
import fc from 'fast-check';
import { bytesToHex, hexToBytes } from '../src/bytes/index.js';
import { encodeTlv, parseTlv } from '../src/tlv/ber.js';
import type { Card } from '../src/card/os.js';
import {
  LCS,
  newDf,
  newRecordEf,
  newTransparentEf,
  type DedicatedFile,
  type FileNode,
  type RecordEf,
  type TransparentEf,
} from '../src/card/fs/file.js';
import { encodeFcp, fileFromFcp } from '../src/card/fs/fcp.js';
import { childByFid } from '../src/card/fs/tree.js';
import {
  ALWAYS,
  NEVER,
  SM_REQUIRED,
  and,
  decodeAccessRules,
  key,
  or,
  pin,
  type AccessOp,
  type AccessRules,
  type Condition,
} from '../src/card/security/access.js';
import { StatusWordError } from '../src/apdu/status.js';
import { poweredCard, tx } from './helpers/card.js';
import { addFiles, authenticateTransport, channelOf, claHex } from './helpers/perso.js';

const h = (s: string): Uint8Array => hexToBytes(s.replace(/\s/g, ''));
const hex = (b: Uint8Array): string => bytesToHex(b);

/** One BER-TLV as hex. */
const tlv = (tag: number, value: string): string => hex(encodeTlv(tag, h(value)));
/** An FCP template '62' around the given data objects. */
const fcp = (...dos: string[]): string => hex(encodeTlv(0x62, h(dos.join(''))));

const dfFcp = (fid: string, name?: string, ...more: string[]): string =>
  fcp(tlv(0x82, '38'), tlv(0x83, fid), ...(name === undefined ? [] : [tlv(0x84, name)]), ...more);
const efFcp = (fid: string, size: number, ...more: string[]): string =>
  fcp(tlv(0x80, size.toString(16).padStart(4, '0')), tlv(0x82, '0121'), tlv(0x83, fid), ...more);

function create(card: Card, template: string, channel = 0) {
  return tx(card, `${claHex(channel)}E00000${(template.length / 2).toString(16).padStart(2, '0')}${template}`);
}

/** The FCP of a file as the card reports it (SELECT by path from the MF, P2=04), tag → hex value. */
function fcpOf(card: Card, path: string): { sw: string; f: Record<string, string> } {
  const r = tx(card, `00A40804${(path.length / 2).toString(16).padStart(2, '0')}${path}00`);
  const f: Record<string, string> = {};
  if (r.bytes.length > 0) for (const c of parseTlv(r.bytes).children ?? []) f[c.tag.toString(16).toUpperCase()] = hex(c.value);
  return { sw: r.swHex, f };
}

/** A personalization-state card whose basic channel is authenticated with the transport key. */
function persoCard(capacity?: number): Card {
  const card = poweredCard(capacity === undefined ? {} : { capacity });
  authenticateTransport(card);
  return card;
}

/** Moves the card to operational (ACTIVATE FILE on the MF) and checks that it happened. */
function issue(card: Card): void {
  if (!channelOf(card).persoAuthenticated) authenticateTransport(card);
  expect(tx(card, '0044000002 3F00').swHex).toBe('9000');
  expect(card.state.lifeCycle).toBe('operational');
}

describe('CREATE FILE: the personalization gate', () => {
  it('refuses without the transport key (6982) and creates nothing', () => {
    const card = poweredCard();
    expect(create(card, efFcp('0101', 4)).swHex).toBe('6982');
    expect(card.state.mf.children).toEqual([]);
  });

  it('after GET CHALLENGE with a wrong cryptogram the gate stays shut', () => {
    const card = poweredCard();
    tx(card, '0084000008');
    expect(tx(card, '0082000008 0000000000000000').sw).not.toBe(0x9000);
    expect(create(card, efFcp('0101', 4)).swHex).toBe('6982');
  });

  it('the authentication is per channel', () => {
    const card = persoCard();
    expect(tx(card, '0070000001').data).toBe('01');
    expect(create(card, efFcp('0101', 4), 1).swHex).toBe('6982');
    expect(create(card, efFcp('0101', 4), 0).swHex).toBe('9000');
  });

  it('refuses once the card is operational (6985), even after a new authentication attempt', () => {
    const card = persoCard();
    issue(card);
    expect(create(card, efFcp('0101', 4)).swHex).toBe('6985');
    tx(card, '0084000008');
    expect(tx(card, '0082000008 0000000000000000').swHex).toBe('6A88');
    expect(create(card, efFcp('0101', 4)).swHex).toBe('6985');
  });

  it('P1-P2 other than 0000 → 6A86', () => {
    const card = persoCard();
    const t = efFcp('0101', 4);
    expect(tx(card, `00E00100${(t.length / 2).toString(16).padStart(2, '0')}${t}`).swHex).toBe('6A86');
    expect(card.state.mf.children).toEqual([]);
  });
});

describe('CREATE FILE: DF, transparent, linear fixed, linear variable, cyclic', () => {
  let card: Card;
  beforeEach(() => {
    card = persoCard();
  });

  it('a DF with name and security attributes; it becomes the current DF', () => {
    const ab = tlv(0xab, '8001' + '40' + '9000' + '8001' + '06' + 'A406830101950108');
    expect(create(card, dfFcp('DF01', 'A000000077010203', ab)).swHex).toBe('9000');
    const df = channelOf(card).df;
    expect(df.fid).toBe(0xdf01);
    expect(df.parent).toBe(card.state.mf);
    expect(channelOf(card).ef).toBeNull();
    const { sw, f } = fcpOf(card, 'DF01');
    expect(sw).toBe('9000');
    expect(f['82']).toBe('3821');
    expect(f['83']).toBe('DF01');
    expect(f['84']).toBe('A000000077010203');
    expect(f['8A']).toBe('05');
    expect(decodeAccessRules(h(f['AB']!), true)).toEqual({ delete: ALWAYS, create: pin(0x01) });
    // Selectable by name.
    expect(tx(card, '00A4040C08A000000077010203').swHex).toBe('9000');
  });

  it('a transparent EF: zero-filled, becomes the current EF, usable by SFI', () => {
    expect(create(card, efFcp('0101', 0x20, tlv(0x88, '28'))).swHex).toBe('9000');
    const ef = channelOf(card).ef as TransparentEf;
    expect(ef.fid).toBe(0x0101);
    expect(ef.structure).toBe('transparent');
    expect(hex(ef.data)).toBe('00'.repeat(32));
    // UPDATE BINARY without SELECT writes the created (current) EF.
    expect(tx(card, '00D6000003 AABBCC').swHex).toBe('9000');
    expect(tx(card, '00B0850003').data).toBe('AABBCC'); // SFI 5 = 28 >> 3
    const { f } = fcpOf(card, '0101');
    expect(f).toMatchObject({ '80': '0020', '82': '0121', '83': '0101', '88': '28', '8A': '05' });
    expect(f['AB']).toBeUndefined();
  });

  it('a transparent EF without 80 has 0 bytes', () => {
    expect(create(card, fcp(tlv(0x82, '01'), tlv(0x83, '0102'))).swHex).toBe('9000');
    expect((channelOf(card).ef as TransparentEf).data.length).toBe(0);
  });

  it.each([
    ['linear fixed', '02', 'linear-fixed'],
    ['linear variable', '04', 'linear-variable'],
    ['cyclic', '06', 'cyclic'],
  ] as const)('a %s EF from 82 = FDB, 21, 2-byte record size, record count', (_name, fdb, structure) => {
    expect(create(card, fcp(tlv(0x82, `${fdb}21 0012 07`), tlv(0x83, '0201'), tlv(0x88, '10'))).swHex).toBe('9000');
    const ef = channelOf(card).ef as RecordEf;
    expect([ef.fid, ef.structure, ef.recordSize, ef.maxRecords, ef.sfi, ef.records.length]).toEqual([
      0x0201,
      structure,
      0x12,
      7,
      2,
      0,
    ]);
    const { f } = fcpOf(card, '0201');
    expect(f['82']).toBe(`${fdb}21001207`);
    expect(f['80']).toBe((0x12 * 7).toString(16).toUpperCase().padStart(4, '0'));
    // The record EF answers record commands, and refuses binary ones with 6981.
    expect(tx(card, '00B0000001').swHex).toBe('6981');
  });

  it('82 with a two-byte number of records', () => {
    expect(create(card, fcp(tlv(0x82, '0221 0004 00FE'), tlv(0x83, '0202'))).swHex).toBe('9000');
    const ef = channelOf(card).ef as RecordEf;
    expect([ef.recordSize, ef.maxRecords]).toEqual([4, 254]);
  });

  it('82 of 4 bytes is FDB, data coding, 2-byte max record size (ISO/IEC 7816-4 §7.4.5); count from 80', () => {
    // 82 04 02 21 00 0A: records of 10 bytes; 80 = 50 bytes → 5 records.
    expect(create(card, fcp(tlv(0x80, '0032'), tlv(0x82, '0221000A'), tlv(0x83, '0203'))).swHex).toBe('9000');
    const ef = channelOf(card).ef as RecordEf;
    expect([ef.structure, ef.recordSize, ef.maxRecords]).toEqual(['linear-fixed', 10, 5]);
  });

  it('82 of 3 bytes is FDB, data coding, 1-byte max record size; count from 80', () => {
    expect(create(card, fcp(tlv(0x80, '0030'), tlv(0x82, '06210C'), tlv(0x83, '0204'))).swHex).toBe('9000');
    const ef = channelOf(card).ef as RecordEf;
    expect([ef.structure, ef.recordSize, ef.maxRecords]).toEqual(['cyclic', 12, 4]);
  });

  it('a record EF with neither a record count in 82 nor a size in 80 → 6A80', () => {
    expect(create(card, fcp(tlv(0x82, '0221000A'), tlv(0x83, '0203'))).swHex).toBe('6A80');
    expect(create(card, fcp(tlv(0x82, '0221'), tlv(0x83, '0203'))).swHex).toBe('6A80');
    expect(card.state.mf.children).toEqual([]);
  });

  it('a shareable DF (FDB 78) is a DF', () => {
    expect(create(card, fcp(tlv(0x82, '78'), tlv(0x83, 'DF02'))).swHex).toBe('9000');
    expect(channelOf(card).df.fid).toBe(0xdf02);
  });

  it('8A sets the initial life cycle: 04 creates a deactivated file', () => {
    expect(create(card, efFcp('0105', 4, tlv(0x8a, '04'))).swHex).toBe('9000');
    expect(tx(card, '00A4000C020105').swHex).toBe('6283');
  });

  it('the created DF is where the next file goes; an EF leaves the DF current', () => {
    expect(create(card, dfFcp('DF01')).swHex).toBe('9000');
    expect(create(card, efFcp('0101', 2)).swHex).toBe('9000');
    expect(create(card, efFcp('0102', 2)).swHex).toBe('9000');
    expect(create(card, dfFcp('DF02')).swHex).toBe('9000');
    expect(create(card, efFcp('0201', 2)).swHex).toBe('9000');
    for (const p of ['DF010101', 'DF010102', 'DF01DF02', 'DF01DF020201']) expect(fcpOf(card, p).sw).toBe('9000');
    expect(fcpOf(card, '0101').sw).toBe('6A82');
  });

  it('chained CREATE FILE (CLA 10 then 00) takes the concatenated template', () => {
    const t = efFcp('0110', 8, tlv(0x88, '30'));
    const a = t.slice(0, 10);
    const b = t.slice(10);
    expect(tx(card, `10E00000${(a.length / 2).toString(16).padStart(2, '0')}${a}`).swHex).toBe('9000');
    expect(childByFid(card.state.mf, 0x0110)).toBeUndefined();
    expect(tx(card, `00E00000${(b.length / 2).toString(16).padStart(2, '0')}${b}`).swHex).toBe('9000');
    expect((childByFid(card.state.mf, 0x0110) as TransparentEf).data.length).toBe(8);
  });
});

describe('CREATE FILE errors', () => {
  let card: Card;
  beforeEach(() => {
    card = persoCard();
    expect(create(card, dfFcp('DF01', 'A0000000770001')).swHex).toBe('9000');
    expect(create(card, efFcp('0101', 4, tlv(0x88, '08'))).swHex).toBe('9000');
    tx(card, '00A4000C023F00');
  });

  it('duplicate FID among siblings → 6A89; the parent’s FID → 6A89; the same FID elsewhere is fine', () => {
    expect(create(card, dfFcp('DF01')).swHex).toBe('6A89');
    tx(card, '00A4000C02DF01');
    expect(create(card, efFcp('0101', 4)).swHex).toBe('6A89');
    expect(create(card, efFcp('DF01', 4)).swHex).toBe('6A89');
    expect(create(card, efFcp('0102', 4)).swHex).toBe('9000');
    tx(card, '00A4000C023F00');
    expect(create(card, efFcp('0102', 4)).swHex).toBe('9000');
  });

  it('duplicate DF name anywhere on the card → 6A8A', () => {
    tx(card, '00A4000C02DF01');
    expect(create(card, dfFcp('DF02', 'A0000000770001')).swHex).toBe('6A8A');
    tx(card, '00A4000C023F00');
    expect(create(card, dfFcp('DF03', 'A0000000770001')).swHex).toBe('6A8A');
    expect(create(card, dfFcp('DF03', 'A000000077000100')).swHex).toBe('9000'); // a longer name differs
  });

  it('an SFI already used in the DF → 6A89', () => {
    tx(card, '00A4000C02DF01');
    expect(create(card, efFcp('0102', 4, tlv(0x88, '08'))).swHex).toBe('6A89');
  });

  it.each([
    ['not BER-TLV', '6204 8201', '6A85'],
    ['not an FCP template (6F)', hex(encodeTlv(0x6f, h(tlv(0x82, '01') + tlv(0x83, '0199')))), '6A80'],
    ['two templates', fcp(tlv(0x82, '01'), tlv(0x83, '0199')) + fcp(tlv(0x82, '01'), tlv(0x83, '0198')), '6A80'],
    ['no 82', fcp(tlv(0x83, '0199')), '6A80'],
    ['empty 82', fcp(tlv(0x82, ''), tlv(0x83, '0199')), '6A80'],
    ['no 83', fcp(tlv(0x82, '01')), '6A80'],
    ['83 of one byte', fcp(tlv(0x82, '01'), tlv(0x83, '01')), '6A80'],
    ['83 = 3F00', fcp(tlv(0x82, '01'), tlv(0x83, '3F00')), '6A80'],
    ['83 = 3FFF', fcp(tlv(0x82, '01'), tlv(0x83, '3FFF')), '6A80'],
    ['83 = FFFF', fcp(tlv(0x82, '01'), tlv(0x83, 'FFFF')), '6A80'],
    ['repeated 83', fcp(tlv(0x82, '01'), tlv(0x83, '0199'), tlv(0x83, '0198')), '6A80'],
    ['FDB 00', fcp(tlv(0x82, '00'), tlv(0x83, '0199')), '6A80'],
    ['FDB 81 (b8 set)', fcp(tlv(0x82, '81'), tlv(0x83, '0199')), '6A80'],
    ['FDB 11 (category 010)', fcp(tlv(0x82, '11'), tlv(0x83, '0199')), '6A80'],
    ['FDB 39 (DF with b3-b1 set)', fcp(tlv(0x82, '39'), tlv(0x83, '0199')), '6A80'],
    ['FDB B8 (b8 set)', fcp(tlv(0x82, 'B8'), tlv(0x83, '0199')), '6A80'],
    ['8A 07', fcp(tlv(0x82, '01'), tlv(0x83, '0199'), tlv(0x8a, '07')), '6A80'],
    ['8A 0C (terminated)', fcp(tlv(0x82, '01'), tlv(0x83, '0199'), tlv(0x8a, '0C')), '6A80'],
    ['88 with b3-b1 set', fcp(tlv(0x82, '01'), tlv(0x83, '0199'), tlv(0x88, '09')), '6A80'],
    ['88 SFI 0', fcp(tlv(0x82, '01'), tlv(0x83, '0199'), tlv(0x88, '00')), '6A80'],
    ['88 SFI 31', fcp(tlv(0x82, '01'), tlv(0x83, '0199'), tlv(0x88, 'F8')), '6A80'],
    ['80 above 32767', fcp(tlv(0x80, '8000'), tlv(0x82, '01'), tlv(0x83, '0199')), '6A80'],
    ['80 of 4 bytes', fcp(tlv(0x80, '00000010'), tlv(0x82, '01'), tlv(0x83, '0199')), '6A80'],
    ['record size 0', fcp(tlv(0x82, '0221000005'), tlv(0x83, '0199')), '6A80'],
    ['record size 256', fcp(tlv(0x82, '0221010005'), tlv(0x83, '0199')), '6A80'],
    ['0 records', fcp(tlv(0x82, '0221000500'), tlv(0x83, '0199')), '6A80'],
    ['255 records', fcp(tlv(0x82, '02210005FF'), tlv(0x83, '0199')), '6A80'],
    ['84 of 17 bytes', dfFcp('DF09', '11'.repeat(17)), '6A80'],
    ['84 empty', dfFcp('DF09', ''), '6A80'],
    ['AB with an AM byte and no condition', fcp(tlv(0x82, '01'), tlv(0x83, '0199'), tlv(0xab, '800101')), '6A80'],
    ['AB with an unknown condition', fcp(tlv(0x82, '01'), tlv(0x83, '0199'), tlv(0xab, '8001019E00')), '6A80'],
    ['empty data field', '', '6A80'],
  ])('%s → %s, nothing created, current DF unchanged', (_name, template, sw) => {
    const before = card.state.mf.children.length;
    const t = template.replace(/\s/g, '');
    const r = t.length === 0 ? tx(card, '00E00000') : create(card, t);
    expect(r.swHex).toBe(sw);
    expect(card.state.mf.children.length).toBe(before);
    expect(channelOf(card).df).toBe(card.state.mf);
  });

  it('beyond the card capacity → 6A84, nothing created', () => {
    const small = persoCard(200); // MF 32 bytes
    expect(create(small, efFcp('0101', 100)).swHex).toBe('9000'); // 32 + 132 = 164
    expect(create(small, efFcp('0102', 5)).swHex).toBe('6A84'); // + 37 = 201
    expect(create(small, efFcp('0102', 4)).swHex).toBe('9000'); // + 36 = 200
    expect(create(small, dfFcp('DF01')).swHex).toBe('6A84');
    expect(small.state.mf.children.map((c) => c.fid)).toEqual([0x0101, 0x0102]);
    // DELETE FILE gives the space back.
    expect(tx(small, '00E40000020101').swHex).toBe('9000');
    expect(create(small, dfFcp('DF01')).swHex).toBe('9000');
  });

  it('in a deactivated DF → 6985', () => {
    const df = childByFid(card.state.mf, 0xdf01)!;
    df.lcs = LCS.DEACTIVATED;
    expect(tx(card, '00A4000C02DF01').swHex).toBe('6283');
    expect(create(card, efFcp('0111', 4)).swHex).toBe('6985');
  });
});

// --- DELETE FILE --------------------------------------------------------------------------------

describe('DELETE FILE', () => {
  let card: Card;
  let mf: DedicatedFile;
  let df1: DedicatedFile;
  let df2: DedicatedFile;
  let df3: DedicatedFile;
  let deep: TransparentEf;
  beforeEach(() => {
    card = poweredCard();
    mf = card.state.mf;
    [df1, df3] = addFiles(card, mf, newDf(0xdf01, h('A0000000770001')), newDf(0xdf03)) as [DedicatedFile, DedicatedFile];
    addFiles(card, mf, newTransparentEf(0x0101, 4), newTransparentEf(0x0102, 4, { data: h('01020304') }));
    [df2] = addFiles(card, df1, newDf(0xdf02)) as [DedicatedFile];
    addFiles(card, df1, newTransparentEf(0x1001, 4));
    [deep] = addFiles(card, df2, newTransparentEf(0x2001, 2, { data: h('2001') })) as [TransparentEf];
    addFiles(card, df3, newTransparentEf(0x3001, 2, { data: h('3001') }));
    authenticateTransport(card);
  });

  it('the current EF (no data): gone, its parent is current with no EF', () => {
    tx(card, '00A4000C020101');
    expect(tx(card, '00E40000').swHex).toBe('9000');
    expect(childByFid(mf, 0x0101)).toBeUndefined();
    expect(channelOf(card).df).toBe(mf);
    expect(channelOf(card).ef).toBeNull();
    expect(tx(card, '00B0000001').swHex).toBe('6986');
    expect(tx(card, '00A4000C020101').swHex).toBe('6A82');
  });

  it('by FID; the parent becomes the current DF', () => {
    tx(card, '00A4000C02DF01');
    expect(tx(card, '00E40000021001').swHex).toBe('9000');
    expect(childByFid(df1, 0x1001)).toBeUndefined();
    expect(channelOf(card).df).toBe(df1);
    expect(tx(card, '00A4000C021001').swHex).toBe('6A82');
  });

  it('the current DF (no data, no current EF): the DF and its subtree go, the parent is current', () => {
    tx(card, '00A4080C04DF01DF02');
    expect(tx(card, '00E40000').swHex).toBe('9000');
    expect(childByFid(df1, 0xdf02)).toBeUndefined();
    expect(channelOf(card).df).toBe(df1);
  });

  it('a DF with a subtree: channels standing anywhere inside move to its parent; others stay', () => {
    expect(tx(card, '0070000001').data).toBe('01');
    expect(tx(card, '0070000002').data).toBe('02');
    expect(tx(card, '0070000003').data).toBe('03');
    expect(tx(card, '01A4080C06DF01DF022001').swHex).toBe('9000'); // channel 1: deep EF
    expect(tx(card, '02A4080C04DF01DF02').swHex).toBe('9000'); // channel 2: inner DF
    expect(tx(card, '03A4080C04DF033001').swHex).toBe('9000'); // channel 3: elsewhere
    expect(tx(card, '01B0000002').data).toBe('2001');
    expect(tx(card, '00E4000002DF01').swHex).toBe('9000');
    expect(childByFid(mf, 0xdf01)).toBeUndefined();
    for (const n of [1, 2]) {
      expect(channelOf(card, n).df).toBe(mf);
      expect(channelOf(card, n).ef).toBeNull();
    }
    expect(tx(card, '01B0000002').swHex).toBe('6986');
    expect(tx(card, '02A4000C02DF02').swHex).toBe('6A82');
    expect(channelOf(card, 3).df).toBe(df3);
    expect(tx(card, '03B0000002').data).toBe('3001');
    // The DF name is free again.
    expect(tx(card, '00A4040C07A0000000770001').swHex).toBe('6A82');
    void deep;
  });

  it('an EF current on another channel: that channel loses it and stands in the parent', () => {
    expect(tx(card, '0070000001').data).toBe('01');
    expect(tx(card, '01A4000C020102').swHex).toBe('9000');
    expect(tx(card, '00E40000020102').swHex).toBe('9000');
    expect(channelOf(card, 1).ef).toBeNull();
    expect(channelOf(card, 1).df).toBe(mf);
    expect(tx(card, '01B0000001').swHex).toBe('6986');
  });

  it('the MF cannot be deleted (6900), by FID or as the current DF', () => {
    expect(tx(card, '00E40000023F00').swHex).toBe('6900');
    expect(tx(card, '00E40000').swHex).toBe('6900');
  });

  it('errors: unknown FID → 6A82, 1-byte data → 6A87, P1-P2 → 6A86; nothing deleted', () => {
    const before = mf.children.length;
    expect(tx(card, '00E40000029999').swHex).toBe('6A82');
    expect(tx(card, '00E400000101').swHex).toBe('6A87');
    expect(tx(card, '00E40100020101').swHex).toBe('6A86');
    expect(mf.children.length).toBe(before);
  });

  it('without the transport key: a file without security attributes cannot be deleted (6982)', () => {
    const other = poweredCard();
    addFiles(other, other.state.mf, newTransparentEf(0x0101, 4));
    expect(tx(other, '00E40000020101').swHex).toBe('6982');
    expect(childByFid(other.state.mf, 0x0101)).toBeDefined();
  });

  it('operational card: the delete rule decides', () => {
    addFiles(card, mf, newTransparentEf(0x0103, 1, { rules: { read: ALWAYS, delete: ALWAYS } }));
    addFiles(card, mf, newTransparentEf(0x0104, 1, { rules: { read: ALWAYS, delete: NEVER } }));
    issue(card);
    expect(tx(card, '00E40000020104').swHex).toBe('6982');
    expect(tx(card, '00E40000020101').swHex).toBe('6982'); // no attributes: life cycle NEVER
    expect(tx(card, '00E40000020103').swHex).toBe('9000');
    expect(childByFid(mf, 0x0103)).toBeUndefined();
    expect(childByFid(mf, 0x0104)).toBeDefined();
  });

  it('a deactivated file can still be deleted', () => {
    (childByFid(mf, 0x0101) as TransparentEf).lcs = LCS.DEACTIVATED;
    expect(tx(card, '00E40000020101').swHex).toBe('9000');
    expect(childByFid(mf, 0x0101)).toBeUndefined();
  });

  it('the deletion survives a power cycle (it was committed)', () => {
    expect(tx(card, '00E4000002DF03').swHex).toBe('9000');
    card.powerOff();
    card.powerOn();
    expect(tx(card, '00A4000C02DF03').swHex).toBe('6A82');
  });
});

// --- life cycle ----------------------------------------------------------------------------------

describe('ACTIVATE / DEACTIVATE / TERMINATE on an operational card', () => {
  let card: Card;
  let ef: TransparentEf;
  let locked: TransparentEf;
  let df: DedicatedFile;
  let inner: TransparentEf;
  const LIFE: AccessRules = { read: ALWAYS, update: ALWAYS, activate: ALWAYS, deactivate: ALWAYS, terminate: ALWAYS };
  beforeEach(() => {
    card = poweredCard();
    const mf = card.state.mf;
    [ef, locked] = addFiles(
      card,
      mf,
      newTransparentEf(0x0201, 4, { data: h('CAFEBABE'), rules: LIFE }),
      newTransparentEf(0x0202, 4, { rules: { read: ALWAYS } }),
    ) as [TransparentEf, TransparentEf];
    [df] = addFiles(card, mf, newDf(0x0300, undefined, { activate: ALWAYS, deactivate: ALWAYS, terminate: ALWAYS })) as [
      DedicatedFile,
    ];
    [inner] = addFiles(card, df, newTransparentEf(0x0301, 2, { data: h('0301'), rules: LIFE })) as [TransparentEf];
    issue(card);
  });

  it('DEACTIVATE FILE → READ/UPDATE 6985, SELECT 6283; ACTIVATE FILE restores it with its data', () => {
    expect(tx(card, '00040000020201').swHex).toBe('9000');
    expect(ef.lcs).toBe(LCS.DEACTIVATED);
    const sel = tx(card, '00A40004020201' + '00');
    expect(sel.swHex).toBe('6283');
    expect(hex(parseTlv(sel.bytes).children!.find((c) => c.tag === 0x8a)!.value)).toBe('04');
    expect(tx(card, '00B0000004').swHex).toBe('6985');
    expect(tx(card, '00D6000001FF').swHex).toBe('6985');
    expect(tx(card, '00040000').swHex).toBe('9000'); // already deactivated: a no-op
    expect(tx(card, '00440000').swHex).toBe('9000'); // no data: the current EF
    expect(ef.lcs).toBe(LCS.ACTIVATED);
    expect(tx(card, '00B0000004').data).toBe('CAFEBABE');
    expect(tx(card, '00A4000C020201').swHex).toBe('9000');
  });

  it('the life-cycle change is committed (survives a power cycle)', () => {
    expect(tx(card, '00040000020201').swHex).toBe('9000');
    card.powerOff();
    card.powerOn();
    expect(tx(card, '00A4000C020201').swHex).toBe('6283');
  });

  it('DEACTIVATE / ACTIVATE / TERMINATE need their access rule (6982), nothing changes', () => {
    expect(tx(card, '00040000020202').swHex).toBe('6982');
    expect(tx(card, '00E80000020202').swHex).toBe('6982');
    expect(locked.lcs).toBe(LCS.ACTIVATED);
    locked.lcs = LCS.DEACTIVATED;
    expect(tx(card, '00440000020202').swHex).toBe('6982');
    expect(locked.lcs).toBe(LCS.DEACTIVATED);
  });

  it('a deactivated DF: its EFs refuse READ (6985) though they can be selected; ACTIVATE restores', () => {
    expect(tx(card, '0004000002 0300').swHex).toBe('9000');
    expect(df.lcs).toBe(LCS.DEACTIVATED);
    expect(tx(card, '00A4000C020300').swHex).toBe('6283');
    expect(tx(card, '00A4000C020301').swHex).toBe('9000');
    expect(tx(card, '00B0000002').swHex).toBe('6985');
    // ACTIVATE of an EF inside a deactivated DF does not help.
    expect(tx(card, '00440000020301').swHex).toBe('6985');
    tx(card, '00A4030C');
    expect(tx(card, '00440000020300').swHex).toBe('9000');
    tx(card, '00A4080C0403000301');
    expect(tx(card, '00B0000002').data).toBe('0301');
  });

  it('TERMINATE EF is final: SELECT 6285, READ / ACTIVATE / DEACTIVATE / TERMINATE 6985', () => {
    expect(tx(card, '00E80000020201').swHex).toBe('9000');
    expect(ef.lcs).toBe(LCS.TERMINATED);
    expect(tx(card, '00A4000C020201').swHex).toBe('6285');
    expect(tx(card, '00B0000001').swHex).toBe('6985');
    expect(tx(card, '00440000020201').swHex).toBe('6985');
    expect(tx(card, '00040000020201').swHex).toBe('6985');
    expect(tx(card, '00E80000020201').swHex).toBe('6985');
    expect(ef.lcs).toBe(LCS.TERMINATED);
  });

  it('TERMINATE DF makes everything below unusable; ACTIVATE cannot undo it', () => {
    expect(tx(card, '00E6000002 0300').swHex).toBe('9000');
    expect(df.lcs).toBe(LCS.TERMINATED);
    expect(tx(card, '00A4080C0403000301').swHex).toBe('9000');
    expect(tx(card, '00B0000002').swHex).toBe('6985');
    tx(card, '00A4000C023F00');
    expect(tx(card, '00440000020300').swHex).toBe('6985');
    expect(inner.lcs).toBe(LCS.ACTIVATED);
  });

  it('TERMINATE EF on a DF and TERMINATE DF on an EF → 6981', () => {
    expect(tx(card, '00E80000020300').swHex).toBe('6981');
    expect(tx(card, '00E60000020201').swHex).toBe('6981');
    expect(df.lcs).toBe(LCS.ACTIVATED);
    expect(ef.lcs).toBe(LCS.ACTIVATED);
  });

  it('errors: unknown FID 6A82, bad Nc 6A87, P1-P2 6A86', () => {
    expect(tx(card, '00040000029999').swHex).toBe('6A82');
    expect(tx(card, '0004000001 02').swHex).toBe('6A87');
    expect(tx(card, '00040100020201').swHex).toBe('6A86');
    expect(tx(card, '00440001020201').swHex).toBe('6A86');
  });
});

describe('the card life cycle on the MF', () => {
  it('ACTIVATE FILE on the MF: personalization → operational, once, only with the transport key', () => {
    const card = poweredCard();
    expect(tx(card, '00440000023F00').swHex).toBe('6982');
    expect(card.state.lifeCycle).toBe('personalization');
    authenticateTransport(card);
    expect(tx(card, '00440000').swHex).toBe('9000'); // MF current, no EF: the MF
    expect(card.state.lifeCycle).toBe('operational');
    expect(channelOf(card).persoAuthenticated).toBe(false);
    expect(tx(card, '00440000023F00').swHex).toBe('6985');
    expect(create(card, efFcp('0101', 4)).swHex).toBe('6985');
    // Committed: still operational after a power cycle.
    card.powerOff();
    card.powerOn();
    expect(card.state.lifeCycle).toBe('operational');
  });

  it('the MF reports LCS 03 (initialisation) during personalization and 05 once operational', () => {
    const card = poweredCard();
    expect(fcpOf(card, '3F00').f['8A']).toBe('03');
    issue(card);
    expect(fcpOf(card, '3F00').f['8A']).toBe('05');
  });

  it('DEACTIVATE FILE on the MF → 6985', () => {
    const card = poweredCard();
    authenticateTransport(card);
    expect(tx(card, '00040000023F00').swHex).toBe('6985');
    expect(card.state.mf.lcs).not.toBe(LCS.DEACTIVATED);
  });

  it('TERMINATE DF on the MF terminates the card: SELECT MF 6285, every file access 6985', () => {
    const card = poweredCard();
    addFiles(card, card.state.mf, newTransparentEf(0x0101, 2, { sfi: 1, data: h('0101') }));
    authenticateTransport(card);
    expect(tx(card, '00B0810002').data).toBe('0101');
    expect(tx(card, '00E60000023F00').swHex).toBe('9000');
    expect(card.state.lifeCycle).toBe('terminated');
    expect(tx(card, '00A4000C023F00').swHex).toBe('6285');
    expect(tx(card, '00B0810002').swHex).toBe('6985');
    expect(tx(card, '00440000023F00').swHex).toBe('6985');
  });
});

// --- FCP codec round trips ---------------------------------------------------------------------

const condArb: fc.Arbitrary<Condition> = fc.letrec<{ c: Condition }>((tie) => ({
  c: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(ALWAYS),
    fc.constant(NEVER),
    fc.constant(SM_REQUIRED),
    fc.integer({ min: 0, max: 255 }).map(pin),
    fc.integer({ min: 0, max: 255 }).map(key),
    // AND/OR of one condition are the same rule and share an AM byte, so the codec may swap them.
    fc.array(tie('c'), { minLength: 2, maxLength: 3 }).map((of) => and(...of)),
    fc.array(tie('c'), { minLength: 2, maxLength: 3 }).map((of) => or(...of)),
  ),
})).c;

const EF_OPS: readonly AccessOp[] = ['read', 'update', 'erase', 'append', 'deactivate', 'activate', 'terminate', 'delete'];
const DF_OPS: readonly AccessOp[] = ['create', 'deactivate', 'activate', 'terminate', 'delete'];

const rulesArb = (ops: readonly AccessOp[]): fc.Arbitrary<AccessRules | undefined> =>
  fc.option(
    fc.subarray([...ops]).chain((chosen) =>
      fc.tuple(...chosen.map(() => condArb)).map((cs) => Object.fromEntries(chosen.map((op, i) => [op, cs[i]])) as AccessRules),
    ),
    { nil: undefined },
  );

const fidArb = fc.integer({ min: 0, max: 0xffff }).filter((f) => f !== 0x3f00 && f !== 0x3fff && f !== 0xffff);
const lcsArb = fc.constantFrom(LCS.CREATION, LCS.INITIALISATION, LCS.DEACTIVATED, LCS.ACTIVATED);
const sfiArb = fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined });

const fileArb: fc.Arbitrary<FileNode> = fc.oneof(
  fc
    .tuple(fidArb, fc.option(fc.uint8Array({ minLength: 1, maxLength: 16 }), { nil: undefined }), rulesArb(DF_OPS), lcsArb)
    .map(([fid, name, rules, lcs]) => Object.assign(newDf(fid, name, rules), { lcs })),
  fc
    .tuple(fidArb, fc.integer({ min: 0, max: 0x7fff }), sfiArb, rulesArb(EF_OPS), lcsArb)
    .map(([fid, size, sfi, rules, lcs]) =>
      Object.assign(newTransparentEf(fid, size, sfi === undefined ? { rules } : { sfi, rules }), { lcs }),
    ),
  fc
    .tuple(
      fidArb,
      fc.constantFrom('linear-fixed', 'linear-variable', 'cyclic') as fc.Arbitrary<RecordEf['structure']>,
      fc.integer({ min: 1, max: 255 }),
      fc.integer({ min: 1, max: 254 }),
      sfiArb,
      rulesArb(EF_OPS),
      lcsArb,
    )
    .map(([fid, structure, rs, n, sfi, rules, lcs]) =>
      Object.assign(newRecordEf(fid, structure, rs, n, sfi === undefined ? { rules } : { sfi, rules }), { lcs }),
    ),
);

function describeFile(f: FileNode): unknown {
  const rules = f.rules === undefined ? undefined : JSON.parse(JSON.stringify(f.rules));
  if (f.kind === 'DF') return { kind: 'DF', fid: f.fid, name: f.name && hex(f.name), lcs: f.lcs, rules };
  if (f.structure === 'transparent') return { kind: 'EF', s: f.structure, fid: f.fid, size: f.data.length, sfi: f.sfi, lcs: f.lcs, rules };
  return { kind: 'EF', s: f.structure, fid: f.fid, rs: f.recordSize, n: f.maxRecords, sfi: f.sfi, lcs: f.lcs, rules };
}

describe('FCP codec (properties)', () => {
  it('fileFromFcp(encodeFcp(file)) describes the same file', () => {
    fc.assert(
      fc.property(fileArb, (f) => {
        expect(describeFile(fileFromFcp(encodeFcp(f)))).toEqual(describeFile(f));
      }),
      { numRuns: 400 },
    );
  });

  it('encodeFcp(fileFromFcp(bytes)) gives back the bytes of a canonical FCP', () => {
    fc.assert(
      fc.property(fileArb, (f) => {
        const bytes = encodeFcp(f);
        expect(hex(encodeFcp(fileFromFcp(bytes)))).toBe(hex(bytes));
      }),
      { numRuns: 400 },
    );
  });

  it('fileFromFcp fails only with 6A80 / 6A85 on random templates', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (body) => {
        for (const bytes of [body, encodeTlv(0x62, body)]) {
          try {
            fileFromFcp(bytes);
          } catch (e) {
            expect(e).toBeInstanceOf(StatusWordError);
            expect([0x6a80, 0x6a85]).toContain((e as StatusWordError).sw);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});


describe('anti-tearing of file management', () => {
  it('a CREATE FILE cut by power loss leaves no file', () => {
    const card = persoCard();
    card.faults.cutPowerAtWrite(1);
    const t = efFcp('0101', 4);
    expect(card.transmit(h(`00E00000${(t.length / 2).toString(16).padStart(2, '0')}${t}`)).length).toBe(0);
    card.powerOn();
    expect(card.state.mf.children).toEqual([]);
  });

  it('a DELETE FILE cut by power loss leaves the file where it was', () => {
    const card = poweredCard();
    addFiles(card, card.state.mf, newDf(0xdf01), newDf(0xdf02));
    authenticateTransport(card);
    card.faults.cutPowerAtWrite(1);
    expect(card.transmit(h('00E4000002DF01')).length).toBe(0);
    card.powerOn();
    expect(card.state.mf.children.map((c) => c.fid)).toEqual([0xdf01, 0xdf02]);
  });
});
