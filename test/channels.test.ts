/**
 * Logical channels and MANAGE CHANNEL (ISO/IEC 7816-4:2013 §5.4.1 CLA, §11.1.2): opening by the
 * card and by the terminal, the channel limit, closing, and the per-channel current DF / EF.
 *
 *     3F00 MF
 *     ├── 0A01  transparent "AAAA", SFI 1
 *     ├── 0B01  transparent "BBBB", SFI 2
 *     └── 5000  DF
 *         └── 5001  transparent "5001"
 */
import { describe, it, expect, beforeEach } from 'vitest';
import { hexToBytes } from '../src/bytes/index.js';
import type { Card } from '../src/card/os.js';
import { newDf, newTransparentEf, type DedicatedFile, type TransparentEf } from '../src/card/fs/file.js';
import { poweredCard, tx } from './helpers/card.js';
import { addFiles, channelOf, claHex } from './helpers/perso.js';

const h = (s: string): Uint8Array => hexToBytes(s);

interface Files {
  readonly card: Card;
  readonly a: TransparentEf;
  readonly b: TransparentEf;
  readonly df: DedicatedFile;
  readonly inner: TransparentEf;
}

function build(maxChannels?: number): Files {
  const card = poweredCard(maxChannels === undefined ? {} : { maxChannels });
  const [a, b] = addFiles(
    card,
    card.state.mf,
    newTransparentEf(0x0a01, 2, { sfi: 1, data: h('AAAA') }),
    newTransparentEf(0x0b01, 2, { sfi: 2, data: h('BBBB') }),
  );
  const [df] = addFiles(card, card.state.mf, newDf(0x5000));
  const [inner] = addFiles(card, df!, newTransparentEf(0x5001, 2, { data: h('5001') }));
  return { card, a: a!, b: b!, df: df!, inner: inner! };
}

let f: Files;
let card: Card;
beforeEach(() => {
  f = build();
  card = f.card;
});

/** MANAGE CHANNEL open, card assigns (P2=00, Le=01), issued on channel `from`. */
const openByCard = (from = 0) => tx(card, `${claHex(from)}70000001`);

describe('MANAGE CHANNEL open', () => {
  it('the card assigns 01, 02, 03, then the default limit of 4 channels answers 6881', () => {
    expect(openByCard().data).toBe('01');
    expect(openByCard().data).toBe('02');
    const r = openByCard();
    expect([r.data, r.swHex]).toEqual(['03', '9000']);
    const full = openByCard();
    expect([full.data, full.swHex]).toEqual(['', '6881']);
  });

  it('Le 00 works too; without Le the card cannot return the number (6700) and opens nothing', () => {
    expect(tx(card, '0070000000').data).toBe('01');
    expect(tx(card, '00700000').swHex).toBe('6700');
    expect(tx(card, '02A4000C023F00').swHex).toBe('6881');
  });

  it('the terminal names the channel (P2 = 01..13); no data is returned', () => {
    const r = tx(card, '00700003');
    expect([r.data, r.swHex]).toEqual(['', '9000']);
    expect(tx(card, '03A4000C023F00').swHex).toBe('9000');
    expect(tx(card, '00700003').swHex).toBe('6881'); // already open
    expect(tx(card, '00700004').swHex).toBe('6881'); // beyond maxChannels
    expect(tx(card, '00700013').swHex).toBe('6881');
    expect(tx(card, '00700014').swHex).toBe('6A86'); // not a channel number
    // The card then assigns the lowest free number.
    expect(openByCard().data).toBe('01');
  });

  it('channel 0 cannot be "opened"; P1 other than 00/80 → 6A86; data → 6700', () => {
    expect(tx(card, '00700000').swHex).toBe('6700');
    expect(tx(card, '00704000').swHex).toBe('6A86');
    expect(tx(card, '007000010101').swHex).toBe('6700');
    expect(tx(card, '01A4000C023F00').swHex).toBe('6881');
  });

  it('opens from another logical channel', () => {
    expect(openByCard().data).toBe('01');
    expect(openByCard(1).data).toBe('02');
  });
});

describe('MANAGE CHANNEL close', () => {
  beforeEach(() => {
    expect(openByCard().data).toBe('01');
    expect(openByCard().data).toBe('02');
  });

  it('closes the channel named in P2 from another channel', () => {
    expect(tx(card, '00708001').swHex).toBe('9000');
    expect(tx(card, '01A4000C023F00').swHex).toBe('6881');
    expect(tx(card, '02A4000C023F00').swHex).toBe('9000');
  });

  it('P2 = 00 closes the channel the command came on', () => {
    expect(tx(card, '02708000').swHex).toBe('9000');
    expect(tx(card, '02A4000C023F00').swHex).toBe('6881');
    expect(tx(card, '01A4000C023F00').swHex).toBe('9000');
  });

  it('a closed channel number is reused by the next card-assigned open', () => {
    expect(tx(card, '00708001').swHex).toBe('9000');
    expect(openByCard().data).toBe('01');
    expect(openByCard().data).toBe('03');
  });

  it('the basic channel never closes; closing a channel not open → 6881', () => {
    expect(tx(card, '00708000').swHex).toBe('6881');
    expect(tx(card, '00A4000C023F00').swHex).toBe('9000');
    expect(tx(card, '00708003').swHex).toBe('6881');
    expect(tx(card, '00708014').swHex).toBe('6A86');
  });

  it('a closed channel forgets its state: reopened, it starts at the MF', () => {
    expect(tx(card, '01A4080C0450005001').swHex).toBe('9000');
    expect(tx(card, '00708001').swHex).toBe('9000');
    expect(tx(card, '00700001').swHex).toBe('9000');
    expect(channelOf(card, 1).df).toBe(card.state.mf);
    expect(tx(card, '01B0000002').swHex).toBe('6986');
  });

  it('reset closes every channel but the basic one', () => {
    card.reset();
    expect(tx(card, '01A4000C023F00').swHex).toBe('6881');
    expect(tx(card, '02A4000C023F00').swHex).toBe('6881');
    expect(tx(card, '00A4000C023F00').swHex).toBe('9000');
  });
});

describe('commands on channels that are not open', () => {
  it('6881 for every CLA channel not open, first and further interindustry', () => {
    for (const cla of ['01', '02', '03', '40', '4F', '50', '13']) {
      expect(tx(card, `${cla}A4000C023F00`).swHex).toBe('6881');
    }
  });
});

describe('each channel has its own current DF and EF', () => {
  it('SELECT on channel 1 does not move channel 0, READ BINARY reads each channel’s EF', () => {
    expect(openByCard().data).toBe('01');
    expect(tx(card, '00A4000C020A01').swHex).toBe('9000');
    expect(tx(card, '01A4000C020B01').swHex).toBe('9000');
    expect(tx(card, '00B0000002').data).toBe('AAAA');
    expect(tx(card, '01B0000002').data).toBe('BBBB');
    expect(tx(card, '01A4080C0450005001').swHex).toBe('9000');
    expect(tx(card, '00B0000002').data).toBe('AAAA');
    expect(tx(card, '01B0000002').data).toBe('5001');
    expect(channelOf(card, 0).df).toBe(card.state.mf);
    expect(channelOf(card, 1).df).toBe(f.df);
  });

  it('UPDATE BINARY through one channel is seen by the other (one file system)', () => {
    expect(openByCard().data).toBe('01');
    tx(card, '00A4000C020A01');
    tx(card, '01A4000C020A01');
    expect(tx(card, '01D6000001CC').swHex).toBe('9000');
    expect(tx(card, '00B0000002').data).toBe('CCAA');
  });

  it('a channel opened from the basic channel starts at the MF, whatever channel 0 has selected', () => {
    tx(card, '00A4000C025000');
    expect(openByCard().data).toBe('01');
    expect(channelOf(card, 1).df).toBe(card.state.mf);
    expect(tx(card, '01A4020C025001').swHex).toBe('6A82');
    expect(tx(card, '01A4000C020A01').swHex).toBe('9000');
  });

  it('a channel opened from channel 1 inherits channel 1’s current DF (§11.1.2)', () => {
    expect(openByCard().data).toBe('01');
    expect(tx(card, '01A4000C025000').swHex).toBe('9000');
    expect(openByCard(1).data).toBe('02');
    expect(channelOf(card, 2).df).toBe(f.df);
    expect(tx(card, '02A4020C025001').swHex).toBe('9000'); // a child of 5000
    expect(tx(card, '02B0000002').data).toBe('5001');
    // Inherited, not shared: moving channel 2 leaves channel 1 where it was.
    expect(tx(card, '02A4030C').swHex).toBe('9000');
    expect(channelOf(card, 2).df).toBe(card.state.mf);
    expect(channelOf(card, 1).df).toBe(f.df);
  });

  it('SFI addressing uses the channel’s own current DF', () => {
    expect(openByCard().data).toBe('01');
    tx(card, '01A4000C025000');
    expect(tx(card, '00B0810002').data).toBe('AAAA');
    expect(tx(card, '01B0810002').swHex).toBe('6A82');
  });
});

describe('further interindustry classes (channels 4–19, CLA 01xx xxxx)', () => {
  beforeEach(() => {
    f = build(20);
    card = f.card;
  });

  it('the card assigns channels 1..19, then 6881', () => {
    for (let n = 1; n <= 19; n++) expect(openByCard().data).toBe(n.toString(16).padStart(2, '0').toUpperCase());
    expect(openByCard().swHex).toBe('6881');
  });

  it('commands on channels 4 and 19 use CLA 40 and 4F; chaining CLA 5x; SM CLA 6x without a session → 6882', () => {
    expect(tx(card, '00700004').swHex).toBe('9000');
    expect(tx(card, '00700013').swHex).toBe('9000');
    expect(tx(card, '40A4000C020A01').swHex).toBe('9000');
    expect(tx(card, '4FA4000C020B01').swHex).toBe('9000');
    expect(tx(card, '40B0000002').data).toBe('AAAA');
    expect(tx(card, '4FB0000002').data).toBe('BBBB');
    expect(tx(card, '41B0000002').swHex).toBe('6881'); // channel 5 not open
    expect(tx(card, '60B0000002').swHex).toBe('6882');
    // Chained UPDATE on channel 19.
    expect(tx(card, '5FD6000001 11').swHex).toBe('9000');
    expect(tx(card, '4FD6000001 22').swHex).toBe('9000');
    expect(tx(card, '4FB0000002').data).toBe('1122');
  });

  it('MANAGE CHANNEL on channel 19 opens a channel inheriting its DF and closes itself', () => {
    expect(tx(card, '00700013').swHex).toBe('9000');
    expect(tx(card, '4FA4000C025000').swHex).toBe('9000');
    const r = tx(card, '4F70000001');
    expect(r.data).toBe('01');
    expect(channelOf(card, 1).df).toBe(f.df);
    expect(tx(card, '4F708000').swHex).toBe('9000');
    expect(tx(card, '4FA4000C023F00').swHex).toBe('6881');
  });

  it('maxChannels must be 1..20', async () => {
    const { createCard } = await import('../src/card/os.js');
    expect(() => createCard({ maxChannels: 21 })).toThrow(/maxChannels/);
    expect(() => createCard({ maxChannels: 0 })).toThrow(/maxChannels/);
    const single = poweredCard({ maxChannels: 1 });
    expect(tx(single, '0070000001').swHex).toBe('6881');
    expect(tx(single, '00700001').swHex).toBe('6881');
  });
});
