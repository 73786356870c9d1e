/**
 * SELECT (ISO/IEC 7816-4:2013 §11.2.2): every P1, every response type of P2, occurrences of a
 * partial DF name, paths, and the errors — with the FCP decoded field by field.
 *
 * The tree (built with the library, so these tests do not depend on CREATE FILE):
 *
 *     3F00 MF
 *     ├── 2F00  transparent EF, 5 bytes, SFI 1, read ALWAYS / update PIN(81)
 *     ├── 5000  DF "A0000001510001"
 *     │   ├── 5001  transparent EF, 3 bytes
 *     │   └── 5100  DF "A0000001510002"
 *     │       └── 5101  transparent EF, 2 bytes
 *     ├── 6000  DF "A0000001510003"
 *     │   ├── 6001  linear fixed EF, 4 records of 10 bytes, SFI 2
 *     │   └── 5001  transparent EF (same FID as under 5000)
 *     └── 7000  DF "B000000001", no EF
 */
import { describe, it, expect, beforeEach } from 'vitest';
import fc from 'fast-check';
import { hexToBytes, bytesToHex } from '../src/bytes/index.js';
import { parseTlv, type Tlv } from '../src/tlv/ber.js';
import type { Card } from '../src/card/os.js';
import {
  LCS,
  newDf,
  newRecordEf,
  newTransparentEf,
  type DedicatedFile,
  type RecordEf,
  type TransparentEf,
} from '../src/card/fs/file.js';
import { ALWAYS, and, decodeAccessRules, pin, SM_REQUIRED } from '../src/card/security/access.js';
import { poweredCard, tx } from './helpers/card.js';
import { addFiles, channelOf } from './helpers/perso.js';

const h = (s: string): Uint8Array => hexToBytes(s);

interface Tree {
  readonly card: Card;
  readonly mf: DedicatedFile;
  readonly ef2f00: TransparentEf;
  readonly df5000: DedicatedFile;
  readonly ef5001: TransparentEf;
  readonly df5100: DedicatedFile;
  readonly ef5101: TransparentEf;
  readonly df6000: DedicatedFile;
  readonly ef6001: RecordEf;
  readonly ef6000_5001: TransparentEf;
  readonly df7000: DedicatedFile;
}

const NAME = {
  A1: 'A0000001510001',
  A2: 'A0000001510002',
  A3: 'A0000001510003',
  B: 'B000000001',
} as const;

function build(): Tree {
  const card = poweredCard();
  const mf = card.state.mf;
  const [ef2f00] = addFiles(
    card,
    mf,
    newTransparentEf(0x2f00, 5, { sfi: 1, data: h('0102030405'), rules: { read: ALWAYS, update: pin(0x81) } }),
  );
  const [df5000, df6000, df7000] = addFiles(card, mf, newDf(0x5000, h(NAME.A1)), newDf(0x6000, h(NAME.A3)), newDf(0x7000, h(NAME.B)));
  const [ef5001] = addFiles(card, df5000!, newTransparentEf(0x5001, 3, { data: h('500150') }));
  const [df5100] = addFiles(card, df5000!, newDf(0x5100, h(NAME.A2)));
  const [ef5101] = addFiles(card, df5100!, newTransparentEf(0x5101, 2, { data: h('5101') }));
  const [ef6001] = addFiles(card, df6000!, newRecordEf(0x6001, 'linear-fixed', 10, 4, { sfi: 2 }));
  const [ef6000_5001] = addFiles(card, df6000!, newTransparentEf(0x5001, 3, { data: h('600150') }));
  // Order matters for occurrences: 5100 is attached under 5000, which comes before 6000 in pre-order.
  return {
    card,
    mf,
    ef2f00: ef2f00!,
    df5000: df5000!,
    ef5001: ef5001!,
    df5100: df5100!,
    ef5101: ef5101!,
    df6000: df6000!,
    ef6001: ef6001!,
    ef6000_5001: ef6000_5001!,
    df7000: df7000!,
  };
}

/** The children of a decoded FCP/FCI as tag → hex value (tags must not repeat). */
function fields(t: Tlv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of t.children ?? []) {
    const tag = c.tag.toString(16).toUpperCase();
    expect(out[tag], `tag ${tag} repeated`).toBeUndefined();
    out[tag] = bytesToHex(c.value);
  }
  return out;
}

/** SELECT with the given P1/P2 and data; Le 00 unless P2 asks for no response data. */
function select(card: Card, p1: number, p2: number, data: string, channel = 0) {
  const hp = (n: number): string => n.toString(16).padStart(2, '0');
  const d = data.replace(/\s/g, '');
  const lc = d.length === 0 ? '' : hp(d.length / 2) + d;
  const le = (p2 & 0x0c) === 0x0c ? '' : '00';
  return tx(card, `${hp(channel)}A4${hp(p1)}${hp(p2)}${lc}${le}`);
}

let t: Tree;
let card: Card;
beforeEach(() => {
  t = build();
  card = t.card;
});

const cur = (): { df: DedicatedFile; ef: unknown } => {
  const ch = channelOf(card);
  return { df: ch.df, ef: ch.ef };
};

describe('SELECT P1=00 (by FID: MF, DF or EF)', () => {
  it('3F00 and an empty data field select the MF', () => {
    select(card, 0x01, 0x0c, '5000');
    expect(select(card, 0x00, 0x0c, '3F00').swHex).toBe('9000');
    expect(cur().df).toBe(t.mf);
    select(card, 0x01, 0x0c, '5000');
    expect(tx(card, '00A4000C').swHex).toBe('9000');
    expect(cur().df).toBe(t.mf);
  });

  it('finds a child DF, a child EF, the current DF itself, the parent and a sibling', () => {
    expect(select(card, 0x00, 0x0c, '5000').swHex).toBe('9000');
    expect(cur()).toEqual({ df: t.df5000, ef: null });
    expect(select(card, 0x00, 0x0c, '5100').swHex).toBe('9000');
    expect(cur().df).toBe(t.df5100);
    expect(select(card, 0x00, 0x0c, '5100').swHex).toBe('9000'); // the current DF's own FID
    expect(cur().df).toBe(t.df5100);
    // From 5100: 5001 is a child of the parent (a sibling), so it is reachable.
    expect(select(card, 0x00, 0x0c, '5001').swHex).toBe('9000');
    expect(cur()).toEqual({ df: t.df5000, ef: t.ef5001 });
    select(card, 0x00, 0x0c, '5100');
    expect(select(card, 0x00, 0x0c, '5000').swHex).toBe('9000'); // the parent
    expect(cur()).toEqual({ df: t.df5000, ef: null });
  });

  it('resolves an ambiguous-looking FID by the current DF (5001 exists under 5000 and 6000)', () => {
    select(card, 0x00, 0x0c, '6000');
    select(card, 0x00, 0x0c, '5001');
    expect(cur().ef).toBe(t.ef6000_5001);
    expect(tx(card, '00B0000003').data).toBe('600150');
    select(card, 0x00, 0x0c, '3F00');
    select(card, 0x00, 0x0c, '5000');
    select(card, 0x00, 0x0c, '5001');
    expect(tx(card, '00B0000003').data).toBe('500150');
  });

  it('does not reach grandchildren or cousins: 6A82, current file unchanged', () => {
    select(card, 0x00, 0x0c, '2F00');
    expect(select(card, 0x00, 0x0c, '5101').swHex).toBe('6A82'); // grandchild of the MF
    expect(select(card, 0x00, 0x0c, '6001').swHex).toBe('6A82');
    expect(select(card, 0x00, 0x0c, 'ABCD').swHex).toBe('6A82');
    expect(cur()).toEqual({ df: t.mf, ef: t.ef2f00 });
    select(card, 0x00, 0x0c, '5000');
    select(card, 0x00, 0x0c, '5100');
    expect(select(card, 0x00, 0x0c, '6000').swHex).toBe('6A82'); // child of the grandparent
    expect(cur().df).toBe(t.df5100);
  });

  it('wrong Nc → 6A87', () => {
    expect(select(card, 0x00, 0x0c, '50').swHex).toBe('6A87');
    expect(select(card, 0x00, 0x0c, '500000').swHex).toBe('6A87');
  });
});

describe('SELECT P1=01 / 02 / 03 (child DF, child EF, parent)', () => {
  it('P1=01 selects only child DFs', () => {
    expect(select(card, 0x01, 0x0c, '5000').swHex).toBe('9000');
    expect(cur().df).toBe(t.df5000);
    expect(select(card, 0x01, 0x0c, '5001').swHex).toBe('6A82'); // an EF
    expect(select(card, 0x01, 0x0c, '5000').swHex).toBe('6A82'); // itself is not its own child
    expect(select(card, 0x01, 0x0c, '6000').swHex).toBe('6A82'); // a sibling is not a child
    expect(select(card, 0x01, 0x0c, '').swHex).toBe('6A87');
    expect(select(card, 0x01, 0x0c, '510000').swHex).toBe('6A87');
    expect(cur().df).toBe(t.df5000);
  });

  it('P1=02 selects only child EFs and makes the DF their parent', () => {
    expect(select(card, 0x02, 0x0c, '2F00').swHex).toBe('9000');
    expect(cur()).toEqual({ df: t.mf, ef: t.ef2f00 });
    expect(select(card, 0x02, 0x0c, '5000').swHex).toBe('6A82'); // a DF
    expect(select(card, 0x02, 0x0c, '5001').swHex).toBe('6A82'); // not a child of the MF
    expect(select(card, 0x02, 0x0c, '2F').swHex).toBe('6A87');
  });

  it('P1=03 selects the parent of the current DF; the MF has none (6A82); data → 6A87', () => {
    select(card, 0x00, 0x0c, '5000');
    select(card, 0x00, 0x0c, '5100');
    select(card, 0x00, 0x0c, '5101');
    expect(cur()).toEqual({ df: t.df5100, ef: t.ef5101 });
    expect(tx(card, '00A4030C').swHex).toBe('9000');
    expect(cur()).toEqual({ df: t.df5000, ef: null });
    expect(tx(card, '00A4030C').swHex).toBe('9000');
    expect(cur().df).toBe(t.mf);
    expect(tx(card, '00A4030C').swHex).toBe('6A82');
    expect(select(card, 0x03, 0x0c, '3F00').swHex).toBe('6A87');
  });
});

describe('SELECT P1=04 (by DF name) and occurrences', () => {
  it('selects by full name and by a unique partial name', () => {
    expect(select(card, 0x04, 0x0c, NAME.B).swHex).toBe('9000');
    expect(cur().df).toBe(t.df7000);
    expect(select(card, 0x04, 0x0c, 'B0').swHex).toBe('9000');
    expect(cur().df).toBe(t.df7000);
    expect(select(card, 0x04, 0x0c, NAME.A3).swHex).toBe('9000');
    expect(cur().df).toBe(t.df6000);
  });

  it('unknown name → 6A82; name longer than 16 bytes → 6A87', () => {
    expect(select(card, 0x04, 0x0c, 'A0000001510004').swHex).toBe('6A82');
    expect(select(card, 0x04, 0x0c, 'A000000151000100').swHex).toBe('6A82'); // longer than any name
    expect(select(card, 0x04, 0x0c, '11'.repeat(17)).swHex).toBe('6A87');
    expect(cur().df).toBe(t.mf);
  });

  it('first, next, next, next over three DFs sharing "A000000151" (pre-order), then 6A82', () => {
    const partial = 'A000000151';
    expect(select(card, 0x04, 0x0c, partial).swHex).toBe('9000'); // P2 b2b1 = 00 first
    expect(cur().df).toBe(t.df5000);
    expect(select(card, 0x04, 0x0e, partial).swHex).toBe('9000'); // 10 next
    expect(cur().df).toBe(t.df5100);
    expect(select(card, 0x04, 0x0e, partial).swHex).toBe('9000');
    expect(cur().df).toBe(t.df6000);
    expect(select(card, 0x04, 0x0e, partial).swHex).toBe('6A82');
    expect(cur().df).toBe(t.df6000);
  });

  it('last, previous, previous, previous, then 6A82', () => {
    const partial = 'A000000151';
    expect(select(card, 0x04, 0x0d, partial).swHex).toBe('9000'); // 01 last
    expect(cur().df).toBe(t.df6000);
    expect(select(card, 0x04, 0x0f, partial).swHex).toBe('9000'); // 11 previous
    expect(cur().df).toBe(t.df5100);
    expect(select(card, 0x04, 0x0f, partial).swHex).toBe('9000');
    expect(cur().df).toBe(t.df5000);
    expect(select(card, 0x04, 0x0f, partial).swHex).toBe('6A82');
    expect(cur().df).toBe(t.df5000);
  });

  it('occurrence bits also work with a response (P2=06: FCP, next)', () => {
    select(card, 0x04, 0x0c, 'A000000151');
    const r = select(card, 0x04, 0x06, 'A000000151');
    expect(r.swHex).toBe('9000');
    expect(fields(parseTlv(r.bytes))['84']).toBe(NAME.A2);
  });

  it('next from a DF that does not match the name starts at the first match', () => {
    select(card, 0x04, 0x0c, NAME.B);
    expect(select(card, 0x04, 0x0e, 'A000000151').swHex).toBe('9000');
    expect(cur().df).toBe(t.df5000);
  });

  it('the current DF as next-occurrence anchor also works when an EF is current', () => {
    select(card, 0x04, 0x0c, 'A000000151');
    select(card, 0x00, 0x0c, '5001');
    expect(select(card, 0x04, 0x0e, 'A000000151').swHex).toBe('9000');
    expect(cur().df).toBe(t.df5100);
  });
});

describe('SELECT P1=08 / 09 (path)', () => {
  it('path from the MF, with and without the leading 3F00', () => {
    expect(select(card, 0x08, 0x0c, '5000 5100 5101').swHex).toBe('9000');
    expect(cur()).toEqual({ df: t.df5100, ef: t.ef5101 });
    expect(tx(card, '00B0000002').data).toBe('5101');
    select(card, 0x00, 0x0c, '3F00');
    expect(select(card, 0x08, 0x0c, '3F00 6000 5001').swHex).toBe('9000');
    expect(cur()).toEqual({ df: t.df6000, ef: t.ef6000_5001 });
    expect(select(card, 0x08, 0x0c, '3F00').swHex).toBe('9000');
    expect(cur()).toEqual({ df: t.mf, ef: null });
  });

  it('P1=08 starts at the MF whatever the current DF', () => {
    select(card, 0x08, 0x0c, '6000');
    expect(select(card, 0x08, 0x0c, '5000 5001').swHex).toBe('9000');
    expect(cur().ef).toBe(t.ef5001);
  });

  it('path through an EF, to a missing file, or skipping a level → 6A82', () => {
    expect(select(card, 0x08, 0x0c, '2F00 0001').swHex).toBe('6A82');
    expect(select(card, 0x08, 0x0c, '5000 9999').swHex).toBe('6A82');
    expect(select(card, 0x08, 0x0c, '5100').swHex).toBe('6A82');
    expect(select(card, 0x08, 0x0c, '3F00 3F00').swHex).toBe('6A82');
    expect(cur().df).toBe(t.mf);
  });

  it('odd-length or empty path → 6A87', () => {
    expect(select(card, 0x08, 0x0c, '500051').swHex).toBe('6A87');
    expect(select(card, 0x08, 0x0c, '').swHex).toBe('6A87');
    expect(select(card, 0x09, 0x0c, '50').swHex).toBe('6A87');
    expect(select(card, 0x09, 0x0c, '').swHex).toBe('6A87');
  });

  it('P1=09 is relative to the current DF', () => {
    expect(select(card, 0x09, 0x0c, '5100 5101').swHex).toBe('6A82'); // from the MF
    select(card, 0x00, 0x0c, '5000');
    expect(select(card, 0x09, 0x0c, '5100 5101').swHex).toBe('9000');
    expect(cur()).toEqual({ df: t.df5100, ef: t.ef5101 });
    expect(select(card, 0x09, 0x0c, '5000').swHex).toBe('6A82'); // not a path upwards
  });
});

describe('SELECT P1/P2 errors', () => {
  it.each([0x05, 0x07, 0x0a, 0x10, 0x80, 0xff])('P1=%i → 6A86', (p1) => {
    expect(select(card, p1, 0x0c, '5000').swHex).toBe('6A86');
  });

  it.each([0x10, 0x40, 0x80, 0xf0])('P2 b8-b5 not zero (P2=%i) → 6A86', (p2) => {
    expect(select(card, 0x00, p2, '5000').swHex).toBe('6A86');
  });

  it.each([0x00, 0x01, 0x02, 0x03, 0x08, 0x09])('occurrence bits with P1=%i → 6A86', (p1) => {
    expect(select(card, p1, 0x0e, '5000').swHex).toBe('6A86');
  });

  it('a failed SELECT leaves the current DF and EF as they were', () => {
    select(card, 0x08, 0x0c, '5000 5001');
    for (const [p1, p2, d] of [
      [0x00, 0x0c, '9999'],
      [0x04, 0x0c, 'C0C0C0'],
      [0x05, 0x0c, '5000'],
      [0x08, 0x0c, '6000 6002'],
      [0x00, 0x0c, '50'],
    ] as const) {
      expect(select(card, p1, p2, d).sw).not.toBe(0x9000);
      expect(cur()).toEqual({ df: t.df5000, ef: t.ef5001 });
    }
  });
});

describe('SELECT response data (P2 b4-b3): FCI 6F, FCP 62, FMD 64, none', () => {
  it('FCP of a transparent EF, field by field', () => {
    const r = select(card, 0x00, 0x04, '2F00');
    expect(r.swHex).toBe('9000');
    const fcp = parseTlv(r.bytes);
    expect(fcp.tag).toBe(0x62);
    const f = fields(fcp);
    expect(f).toEqual({
      '80': '0005', // data bytes
      '82': '0121', // FDB transparent working EF, data coding 21
      '83': '2F00',
      '88': '08', // SFI 1 in b8-b4
      '8A': '05', // activated
      AB: f['AB'],
    });
    const rules = decodeAccessRules(hexToBytes(f['AB']!), false);
    expect(rules).toEqual({ read: ALWAYS, update: pin(0x81) });
  });

  it('FCP of a DF with a name and no security attributes', () => {
    const f = fields(parseTlv(select(card, 0x00, 0x04, '5000').bytes));
    expect(f).toEqual({ '82': '3821', '83': '5000', '84': NAME.A1, '8A': '05' });
  });

  it('FCP of a linear fixed record EF: size, FDB 02, max record size and number of records', () => {
    select(card, 0x00, 0x0c, '6000');
    const f = fields(parseTlv(select(card, 0x00, 0x04, '6001').bytes));
    expect(f).toEqual({ '80': '0028', '82': '0221000A04', '83': '6001', '88': '10', '8A': '05' });
  });

  it('FCP of linear variable and cyclic EFs and of rules with AND/SM', () => {
    addFiles(
      card,
      t.df7000,
      newRecordEf(0x7001, 'linear-variable', 0x20, 3),
      newRecordEf(0x7002, 'cyclic', 5, 0x10, { sfi: 30, rules: { read: and(pin(0x01), SM_REQUIRED), append: ALWAYS } }),
    );
    select(card, 0x00, 0x0c, '7000');
    expect(fields(parseTlv(select(card, 0x00, 0x04, '7001').bytes))['82']).toBe('0421002003');
    const f = fields(parseTlv(select(card, 0x00, 0x04, '7002').bytes));
    expect(f['82']).toBe('0621000510');
    expect(f['80']).toBe('0050');
    expect(f['88']).toBe('F0');
    expect(decodeAccessRules(hexToBytes(f['AB']!), false)).toEqual({ read: and(pin(0x01), SM_REQUIRED), append: ALWAYS });
  });

  it('FCP of the MF', () => {
    const f = fields(parseTlv(select(card, 0x00, 0x04, '3F00').bytes));
    expect(f['82']).toBe('3821');
    expect(f['83']).toBe('3F00');
    expect(f['84']).toBeUndefined();
  });

  it('FCI 6F carries the FCP data objects side by side, the DF name once', () => {
    const r = select(card, 0x00, 0x00, '5000');
    expect(r.swHex).toBe('9000');
    const fci = parseTlv(r.bytes);
    expect(fci.tag).toBe(0x6f);
    const f = fields(fci);
    expect(f['82']).toBe('3821');
    expect(f['83']).toBe('5000');
    expect(f['84']).toBe(NAME.A1);
    expect(f['64']).toBeUndefined();
    expect(f['4F']).toBeUndefined();
    // The FCI's objects are exactly what P2=04 returns inside 62.
    const fcp = parseTlv(select(card, 0x00, 0x04, '5000').bytes);
    expect(bytesToHex(fci.value)).toBe(bytesToHex(fcp.value));
  });

  it('FMD 64: the DF name as application identifier 4F; empty for an EF', () => {
    const r = select(card, 0x04, 0x08, NAME.B);
    expect(r.data).toBe(`64074F05${NAME.B}`);
    expect(select(card, 0x00, 0x08, '3F00').data).toBe('6400');
    expect(select(card, 0x00, 0x08, '2F00').data).toBe('6400');
  });

  it('P2=0C: no response data, even with Le', () => {
    const r = tx(card, '00A4000C025000' + '00');
    expect(r.swHex).toBe('9000');
    expect(r.data).toBe('');
  });
});

describe('SELECT and life cycle (ISO/IEC 7816-9)', () => {
  it('a deactivated file is selected with 6283 and becomes current', () => {
    t.ef2f00.lcs = LCS.DEACTIVATED;
    const r = select(card, 0x00, 0x04, '2F00');
    expect(r.swHex).toBe('6283');
    expect(fields(parseTlv(r.bytes))['8A']).toBe('04');
    expect(cur().ef).toBe(t.ef2f00);
    expect(select(card, 0x00, 0x0c, '2F00').swHex).toBe('6283');
    // ... and refuses to be read (6985).
    expect(tx(card, '00B0000001').swHex).toBe('6985');
  });

  it('a terminated file is selected with 6285', () => {
    t.df7000.lcs = LCS.TERMINATED;
    const r = select(card, 0x04, 0x04, NAME.B);
    expect(r.swHex).toBe('6285');
    expect(fields(parseTlv(r.bytes))['8A']).toBe('0C');
    expect(cur().df).toBe(t.df7000);
  });
});

describe('SELECT sets the current files', () => {
  it('selecting an EF makes its parent the current DF', () => {
    select(card, 0x08, 0x0c, '5000 5100');
    select(card, 0x00, 0x0c, '5001'); // a child of 5000, the parent of the current DF
    expect(cur()).toEqual({ df: t.df5000, ef: t.ef5001 });
    // 5100 is now reachable as a child, and P1=03 goes to the MF.
    expect(select(card, 0x01, 0x0c, '5100').swHex).toBe('9000');
    select(card, 0x00, 0x0c, '5000');
    expect(tx(card, '00A4030C').swHex).toBe('9000');
    expect(cur().df).toBe(t.mf);
  });

  it('selecting a DF clears the current EF (READ BINARY → 6986)', () => {
    select(card, 0x00, 0x0c, '2F00');
    expect(tx(card, '00B0000005').data).toBe('0102030405');
    select(card, 0x00, 0x0c, '5000');
    expect(tx(card, '00B0000001').swHex).toBe('6986');
    // Reselecting the same DF also clears the EF.
    select(card, 0x00, 0x0c, '5001');
    select(card, 0x00, 0x0c, '5000');
    expect(tx(card, '00B0000001').swHex).toBe('6986');
  });

  it('READ BINARY by SFI resolves in the DF SELECT made current (SFIs are per DF)', () => {
    select(card, 0x00, 0x0c, '5000');
    expect(tx(card, '00B0810001').swHex).toBe('6A82');
    select(card, 0x00, 0x0c, '3F00');
    expect(tx(card, '00B0810001').data).toBe('01');
  });
});

// --- properties over random trees ---------------------------------------------------------------

interface NodeSpec {
  readonly fid: number;
  readonly name: Uint8Array | undefined;
  readonly children: readonly NodeSpec[] | undefined; // undefined: an EF
}

/** FIDs from a small pool so that siblings, parents and cousins collide often. */
const fidPool = fc.constantFrom(0x0001, 0x0002, 0x0003, 0x1000, 0x2000, 0x3000);
const namePool = fc.option(
  fc.constantFrom('A001', 'A00102', 'A0010203', 'A002', 'B0', 'A0').map((s) => hexToBytes(s)),
  { nil: undefined },
);
const nodeArb: fc.Arbitrary<NodeSpec> = fc.letrec<{ node: NodeSpec }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    fc.record({ fid: fidPool, name: fc.constant(undefined), children: fc.constant(undefined) }),
    fc.record({ fid: fidPool, name: namePool, children: fc.array(tie('node'), { maxLength: 4 }) }),
  ),
})).node;

/** Builds what attach accepts (duplicates are skipped) and returns every file with its FID path. */
function grow(c: Card, specs: readonly NodeSpec[]): { file: DedicatedFile | TransparentEf; path: number[] }[] {
  const out: { file: DedicatedFile | TransparentEf; path: number[] }[] = [];
  const walk = (parent: DedicatedFile, list: readonly NodeSpec[], path: number[]): void => {
    for (const s of list) {
      const f = s.children === undefined ? newTransparentEf(s.fid, 1) : newDf(s.fid, s.name);
      try {
        addFiles(c, parent, f);
      } catch {
        continue;
      }
      out.push({ file: f, path: [...path, s.fid] });
      if (f.kind === 'DF') walk(f, s.children ?? [], [...path, s.fid]);
    }
  };
  walk(c.state.mf, specs, []);
  return out;
}

const fidHex = (n: number): string => n.toString(16).toUpperCase().padStart(4, '0');

describe('SELECT over random trees (properties)', () => {
  it('every file: by path from the MF (P1=08), by FID from its parent (P1=00), back up with P1=03', () => {
    fc.assert(
      fc.property(fc.array(nodeArb, { maxLength: 5 }), (specs) => {
        const c = poweredCard();
        const files = grow(c, specs);
        for (const { file, path } of files) {
          const p = path.map(fidHex).join('');
          const r = select(c, 0x08, 0x04, p);
          expect(r.swHex).toBe('9000');
          expect(fields(parseTlv(r.bytes))['83']).toBe(fidHex(file.fid));
          const ch = channelOf(c);
          const parent = file.parent!;
          expect(ch.df).toBe(file.kind === 'DF' ? file : parent);
          expect(ch.ef).toBe(file.kind === 'DF' ? null : file);
          // From the parent DF, by FID.
          expect(select(c, 0x08, 0x0c, ['3F00', ...path.slice(0, -1).map(fidHex)].join('')).swHex).toBe('9000');
          expect(select(c, 0x00, 0x0c, fidHex(file.fid)).swHex).toBe('9000');
          expect(ch.df).toBe(file.kind === 'DF' ? file : parent);
          // Relative path from the MF equals the absolute path.
          tx(c, '00A4000C');
          expect(select(c, 0x09, 0x0c, p).swHex).toBe('9000');
          expect(ch.ef === null ? ch.df : ch.ef).toBe(file);
          // P1=03 from a DF goes to its parent.
          if (file.kind === 'DF') {
            select(c, 0x08, 0x0c, p);
            expect(tx(c, '00A4030C').swHex).toBe('9000');
            expect(ch.df).toBe(parent);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('first/next and last/previous enumerate exactly the DFs whose name starts with the partial name, in pre-order', () => {
    fc.assert(
      fc.property(fc.array(nodeArb, { maxLength: 5 }), fc.constantFrom('A0', 'A001', 'A00102', 'B0', 'C0'), (specs, partial) => {
        const c = poweredCard();
        const files = grow(c, specs);
        const expected = files
          .map((x) => x.file)
          .filter((x): x is DedicatedFile => x.kind === 'DF' && x.name !== undefined && bytesToHex(x.name).startsWith(partial));
        const forward: DedicatedFile[] = [];
        let r = select(c, 0x04, 0x0c, partial);
        while (r.swHex === '9000') {
          forward.push(channelOf(c).df);
          expect(forward.length).toBeLessThanOrEqual(expected.length);
          r = select(c, 0x04, 0x0e, partial);
        }
        expect(r.swHex).toBe('6A82');
        expect(forward).toEqual(expected);
        const backward: DedicatedFile[] = [];
        r = select(c, 0x04, 0x0d, partial);
        while (r.swHex === '9000') {
          backward.push(channelOf(c).df);
          expect(backward.length).toBeLessThanOrEqual(expected.length);
          r = select(c, 0x04, 0x0f, partial);
        }
        expect(backward).toEqual([...expected].reverse());
      }),
      { numRuns: 200 },
    );
  });
});
