/**
 * The card image (src/card/image.ts): `decode(encode(x))` round trips for every kind of
 * non-volatile state, identical behaviour of a reloaded card, atomic saving, strict loading with
 * errors that name the field, and the rule that transient state never reaches the image.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CardImageError,
  loadCard,
  loadCardImage,
  parseCardImage,
  saveCardImage,
  serializeCard,
} from '../src/card/image.js';
import { createCard, type Card } from '../src/card/os.js';
import { LCS } from '../src/card/fs/file.js';
import { buildAtr } from '../src/atr/index.js';
import { concatBytes } from '../src/bytes/index.js';
import { seal, unseal } from '../src/crypto/seal.js';
import { encodeTlv } from '../src/tlv/ber.js';
import { externalAuthCryptogram } from '../src/card/commands/authenticate.js';
import {
  COUNTER_AID,
  COUNTER_APPLET,
  KEY01,
  LAYOUT,
  PIN81,
  PUK83,
  ascii,
  dfDefArb,
  fixtureCard,
  h,
  hex,
  must,
  send,
  swHex,
  transportAuth,
  type DfDef,
} from './helpers/model.js';

// Saving is tested against the real file system; these two are wrapped so a test can make one call
// fail the way a full disk or a crash would.
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  return { ...actual, default: actual, writeFileSync: vi.fn(actual.writeFileSync), renameSync: vi.fn(actual.renameSync) };
});

/** Lc ‖ data as hex. */
const lc = (data: Uint8Array): string => hex(new Uint8Array([data.length])) + hex(data);

const SEED = h('00112233445566778899AABBCCDDEEFF0123456789ABCDEF');

/** The shared layout, every kind of state on top: applet, spent tries, life cycles, names. */
function richCard(): Card {
  const card = fixtureCard({ applets: [COUNTER_APPLET], rng: SEED, maxChannels: 6, capacity: 64 * 1024 });
  card.install(h(COUNTER_AID), 'counter', h('C0DE'));
  card.install(h('F0000000C0FFEF'), 'counter', h(''), 0x7f10);
  const mf = card.state.mf;
  const df1 = mf.children.find((c) => c.fid === 0x1000)!;
  if (df1.kind !== 'DF') throw new Error('layout');
  card.nv.set(df1.pins[0]!, 'tries', 1);
  card.nv.set(df1.keys[0]!, 'tries', 0);
  card.nv.set(mf.children.find((c) => c.fid === 0x0103)!, 'lcs', LCS.DEACTIVATED);
  card.nv.set(mf.children.find((c) => c.fid === 0x0104)!, 'lcs', LCS.TERMINATED);
  card.nv.set(card.state.applets[1]!, 'lifeCycle', 'locked');
  card.nv.commit();
  return card;
}

function roundTrip(card: Card, applets = [COUNTER_APPLET]): { text: string; again: string; loaded: Card } {
  const text = serializeCard(card);
  const loaded = loadCard(text, { applets });
  return { text, again: serializeCard(loaded), loaded };
}

describe('round trip: serialize → loadCard → serialize is byte-identical', () => {
  it('a blank card', () => {
    const card = createCard();
    const { text, again } = roundTrip(card);
    expect(again).toBe(text);
  });

  it('the rich card: every file type, rules, PINs, keys, data objects, applets, life cycles', () => {
    const { text, again, loaded } = roundTrip(richCard());
    expect(again).toBe(text);
    // The document carries what it claims to.
    const doc = JSON.parse(text);
    expect(doc.applets).toHaveLength(2);
    expect(doc.applets[0].store).toEqual({ installed: 'C0DE' });
    expect(doc.applets[1].lifeCycle).toBe('locked');
    expect(doc.maxChannels).toBe(6);
    expect(doc.capacity).toBe(64 * 1024);
    const types = new Set<string>();
    const walk = (f: { type: string; children?: unknown[] }): void => {
      types.add(f.type);
      for (const c of f.children ?? []) walk(c as { type: string });
    };
    walk(doc.mf);
    expect([...types].sort()).toEqual(['DF', 'cyclic', 'linear-fixed', 'linear-variable', 'transparent']);
    expect(loaded.state.lifeCycle).toBe('personalization');
  });

  it('an operational, AES-transport-key card with a custom ATR', () => {
    const card = fixtureCard({
      lifeCycle: 'operational',
      transportKey: h('000102030405060708090A0B0C0D0E0F1011121314151617'),
      transportKeyAlgorithm: 'aes',
      atr: buildAtr({ protocols: [0, 1], ta1: 0x96 }),
      serial: h('01'),
    });
    const { text, again } = roundTrip(card);
    expect(again).toBe(text);
  });

  it('random cards (property): trees, rules, PINs, keys, data objects, applets', () => {
    fc.assert(
      fc.property(
        dfDefArb(0x3f00, 2),
        fc.constantFrom('personalization', 'operational' as const),
        fc.integer({ min: 1, max: 20 }),
        fc.uint8Array({ minLength: 1, maxLength: 32 }),
        fc.array(fc.tuple(fc.uint8Array({ maxLength: 8 }), fc.boolean()), { maxLength: 2 }),
        (layout: DfDef, lifeCycle, maxChannels, serial, applets) => {
          const card = fixtureCard({ layout, lifeCycle, maxChannels, serial, applets: [COUNTER_APPLET] });
          applets.forEach(([params, locked], i) => {
            card.install(h(`F0000000C1${i.toString(16).padStart(4, '0')}`), 'counter', params);
            if (locked) {
              card.nv.set(card.state.applets[i]!, 'lifeCycle', 'locked');
              card.nv.commit();
            }
          });
          const text = serializeCard(card);
          const loaded = loadCard(text, { applets: [COUNTER_APPLET] });
          expect(serializeCard(loaded)).toBe(text);
          // encode(decode(text)) for the document itself: a re-stringified parse changes nothing.
          expect(JSON.stringify(JSON.parse(text), null, 1) + '\n').toBe(text);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('a card changed by commands (PUT DATA, CREATE FILE, records, PIN counters) round-trips', () => {
    const card = fixtureCard({ applets: [COUNTER_APPLET] });
    transportAuth(card);
    for (const a of [
      '00DA5F2D026465', // PUT DATA 5F2D
      '00DA01010C830101800431313131860105', // PUT DATA: PIN 01 = "1111", 5 tries
      '00DA0102' + lc(concatBytes(encodeTlv(0x83, h('02')), encodeTlv(0x89, h('02')), encodeTlv(0x80, h('11'.repeat(16))))), // PUT DATA: AES key 02
      '00E000000E620C820201218302AAAA8002000A', // CREATE FILE: transparent AAAA of 10 bytes
      '00D6000003010203', // UPDATE BINARY on it
      '00A4080C021000',
      '00E2006008' + 'AB'.repeat(8), // APPEND RECORD to the cyclic EF (SFI 12)
      '0020008104' + hex(ascii('4321')), // wrong PIN: a try is spent
    ]) {
      expect(swHex(must(card, a).sw), a).toMatch(/^(9000|63C2)$/);
    }
    const { text, again } = roundTrip(card);
    expect(again).toBe(text);
    expect(JSON.parse(text).mf.dataObjects.some((d: { tag: string }) => d.tag === '5F2D')).toBe(true);
  });
});

/** Read-only commands that touch every file, PIN, key and data object of a layout. */
function probesFor(layout: DfDef): string[] {
  const out: string[] = [];
  const u16h = (n: number): string => n.toString(16).toUpperCase().padStart(4, '0');
  const walk = (df: DfDef, path: number[]): void => {
    const sel = path.length === 0 ? '00A40004023F00' : `00A40804${(path.length * 2).toString(16).padStart(2, '0')}${path.map(u16h).join('')}00`;
    out.push(sel);
    for (const d of df.dataObjects ?? []) out.push(d.tag > 0xff ? `00CA${u16h(d.tag)}00` : `00CA00${u16h(d.tag).slice(2)}00`);
    for (const p of df.pins ?? []) out.push(`002000${u16h(p.ref).slice(2)}`);
    for (const k of df.keys ?? []) out.push(`008200${u16h(k.ref).slice(2)}`);
    for (const c of df.children) {
      const cp = [...path, c.fid];
      if (c.kind === 'DF') {
        walk(c, cp);
        continue;
      }
      out.push(`00A40804${(cp.length * 2).toString(16).padStart(2, '0')}${cp.map(u16h).join('')}00`);
      if (c.structure === 'transparent') out.push('00B0000000');
      else out.push('00B2010400', '00B2020400', '00B2010500');
      if (c.sfi !== undefined) out.push(`00B0${(0x80 | c.sfi).toString(16).toUpperCase()}0000`);
    }
    out.push('00A4000C023F00');
  };
  walk(layout, []);
  return out;
}

describe('a loaded card behaves like the original', () => {
  it('random cards (property): same answers to commands touching every object', () => {
    fc.assert(
      fc.property(dfDefArb(0x3f00, 2), fc.constantFrom('personalization', 'operational' as const), (layout: DfDef, lifeCycle) => {
        const card = fixtureCard({ layout, lifeCycle });
        const loaded = loadCard(serializeCard(card));
        loaded.powerOn();
        for (const p of probesFor(layout)) {
          expect(hex(loaded.transmit(h(p))), p).toBe(hex(card.transmit(h(p))));
        }
        expect(serializeCard(loaded)).toBe(serializeCard(card));
      }),
      { numRuns: 60 },
    );
  });

  /** Commands whose answers depend on every part of the state (RNG seeded alike on both). */
  function script(challengeKey: Uint8Array): ((c: Card) => Uint8Array)[] {
    const raw = (x: string) => (c: Card) => c.transmit(h(x));
    return [
      raw('00A40000023F00'),
      raw('00A4080402' + '0101'),
      raw('00B0810000'),
      raw('00B2010C00'),
      raw('00B2011C00'),
      raw('00B2012400'),
      raw('00CA5F2000'),
      raw('00CA004600'),
      raw('00A4040007A0000000011000'),
      raw('00B0810000'), // protected: 6982
      raw('0020008100'), // tries left
      raw('0020008104' + hex(ascii('0000'))), // wrong
      raw('0020008104' + hex(ascii(PIN81))), // right
      raw('00B0810000'),
      raw('002C018108' + hex(ascii(PUK83))),
      raw('00B20B0C00'),
      raw('00B2015C00'),
      (c) => {
        // GET CHALLENGE + EXTERNAL AUTHENTICATE key 01 with the same seeded challenge on both cards.
        const r = c.transmit(h('0084000008'));
        const crypt = externalAuthCryptogram('3des', challengeKey, r.subarray(0, 8));
        return c.transmit(h('0082000108' + hex(crypt)));
      },
      raw('00B2016C00'),
      raw(`00A4040C07${COUNTER_AID}`),
      raw('0001000000'),
      raw('0003000000'),
      raw('0001000000'),
      raw('0070000001'),
      raw('01A4000C023F00'),
      raw('0070800100'),
      raw('00A4040007F0000000C0FFEF'), // locked applet: not selectable
    ];
  }

  it('same responses to the same commands, and the same image afterwards', () => {
    const original = richCard();
    // The rich card has key 01 blocked; use a fresh fixture so authentication runs too.
    const base = fixtureCard({ applets: [COUNTER_APPLET], rng: SEED });
    base.install(h(COUNTER_AID), 'counter', h('C0DE'));
    for (const card of [original, base]) {
      const text = serializeCard(card);
      const loaded = loadCard(text, { applets: [COUNTER_APPLET], rng: SEED });
      loaded.powerOn();
      card.powerOff();
      card.powerOn();
      const steps = script(h(KEY01));
      steps.forEach((step, i) => {
        const a = hex(step(card));
        const b = hex(step(loaded));
        expect(b, `step ${i}`).toBe(a);
      });
      expect(serializeCard(loaded)).toBe(serializeCard(card));
    }
  });
});

describe('saveCardImage is atomic (temp file in the same directory, then rename)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(join(tmpdir(), 'chipwright-image-'));
  });
  afterEach(() => {
    vi.mocked(fs.writeFileSync).mockReset();
    vi.mocked(fs.renameSync).mockReset();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes the serialized image and leaves no temp file behind', async () => {
    const actual = await vi.importActual<typeof import('node:fs')>('node:fs');
    vi.mocked(fs.writeFileSync).mockImplementation(actual.writeFileSync);
    vi.mocked(fs.renameSync).mockImplementation(actual.renameSync);
    const card = richCard();
    const path = join(dir, 'card.json');
    saveCardImage(card, path);
    expect(fs.readFileSync(path, 'utf8')).toBe(serializeCard(card));
    expect(fs.readdirSync(dir)).toEqual(['card.json']);
    // The temp file was in the same directory (rename is atomic only within one file system).
    const tmp = String(vi.mocked(fs.writeFileSync).mock.calls[0]![0]);
    expect(tmp.startsWith(dir)).toBe(true);
    expect(tmp).not.toBe(path);
    expect(vi.mocked(fs.renameSync).mock.calls[0]).toEqual([tmp, path]);
    // Overwriting an existing image the same way.
    must(card, '00A4080C021000');
    send(card, '0020008104' + hex(ascii('0000')));
    saveCardImage(card, path);
    expect(fs.readFileSync(path, 'utf8')).toBe(serializeCard(card));
    expect(fs.readdirSync(dir)).toEqual(['card.json']);
    const back = loadCardImage(path, { applets: [COUNTER_APPLET] });
    expect(serializeCard(back)).toBe(serializeCard(card));
  });

  it('a failure in the middle of writing leaves the old image intact and no temp file', async () => {
    const actual = await vi.importActual<typeof import('node:fs')>('node:fs');
    vi.mocked(fs.renameSync).mockImplementation(actual.renameSync);
    const card = richCard();
    const path = join(dir, 'card.json');
    vi.mocked(fs.writeFileSync).mockImplementation(actual.writeFileSync);
    saveCardImage(card, path);
    const old = fs.readFileSync(path, 'utf8');

    send(card, '00D6810004DEADBEEF');
    expect(serializeCard(card)).not.toBe(old);
    // Disk full half-way through the temp file.
    vi.mocked(fs.writeFileSync).mockImplementation((file, data) => {
      actual.writeFileSync(file, String(data).slice(0, 200));
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    });
    expect(() => saveCardImage(card, path)).toThrow(/ENOSPC/);
    expect(fs.readFileSync(path, 'utf8')).toBe(old);
    expect(fs.readdirSync(dir)).toEqual(['card.json']);
    expect(() => loadCardImage(path, { applets: [COUNTER_APPLET] })).not.toThrow();
  });

  it('a failing rename leaves the old image intact and no temp file', async () => {
    const actual = await vi.importActual<typeof import('node:fs')>('node:fs');
    vi.mocked(fs.writeFileSync).mockImplementation(actual.writeFileSync);
    vi.mocked(fs.renameSync).mockImplementation(actual.renameSync);
    const card = richCard();
    const path = join(dir, 'card.json');
    saveCardImage(card, path);
    const old = fs.readFileSync(path, 'utf8');
    send(card, '00D6810004DEADBEEF');
    vi.mocked(fs.renameSync).mockImplementation(() => {
      throw Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO' });
    });
    expect(() => saveCardImage(card, path)).toThrow(/EIO/);
    expect(fs.readFileSync(path, 'utf8')).toBe(old);
    expect(fs.readdirSync(dir)).toEqual(['card.json']);
  });

  it('an unwritable temp path (real file system, no mocks) leaves the old image intact', async () => {
    const actual = await vi.importActual<typeof import('node:fs')>('node:fs');
    vi.mocked(fs.writeFileSync).mockImplementation(actual.writeFileSync);
    vi.mocked(fs.renameSync).mockImplementation(actual.renameSync);
    const card = richCard();
    const path = join(dir, 'card.json');
    saveCardImage(card, path);
    const old = fs.readFileSync(path, 'utf8');
    send(card, '00D6810004DEADBEEF');
    // Whatever temp name the saver picks in `dir`, make every write there fail: a directory
    // squatting on the temp name (works even as root, unlike a read-only directory).
    const tmpName = String(vi.mocked(fs.writeFileSync).mock.calls[0]![0]);
    fs.mkdirSync(tmpName);
    expect(() => saveCardImage(card, path)).toThrow();
    expect(fs.readFileSync(path, 'utf8')).toBe(old);
  });

  it('a card with uncommitted writes is not saved', async () => {
    const actual = await vi.importActual<typeof import('node:fs')>('node:fs');
    vi.mocked(fs.writeFileSync).mockImplementation(actual.writeFileSync);
    vi.mocked(fs.renameSync).mockImplementation(actual.renameSync);
    const card = richCard();
    const path = join(dir, 'card.json');
    card.nv.set(card.state, 'capacity', 4096);
    expect(() => saveCardImage(card, path)).toThrow(/uncommitted/);
    expect(fs.readdirSync(dir)).toEqual([]);
    card.nv.rollback();
  });
});

describe('loading is strict: CardImageError naming the field', () => {
  const base = (): string => serializeCard(richCard());
  type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

  function expectImageError(text: string, field: string, message?: RegExp): CardImageError {
    let err: unknown;
    try {
      loadCard(text, { applets: [COUNTER_APPLET] });
    } catch (e) {
      err = e;
    }
    expect(err, `expected a CardImageError for ${field}`).toBeInstanceOf(CardImageError);
    const e = err as CardImageError;
    expect(e.field).toBe(field);
    expect(e.message).toContain(field);
    if (message) expect(e.message).toMatch(message);
    return e;
  }

  /** Seals `value` as the image does, under the document's own storage key, bound to `context`. */
  const sealedHex = (d: Doc, context: string, value: Uint8Array): string => hex(seal(h(d.keyStore.storageKey), ascii(context), value));
  const opened = (d: Doc, context: string, sealed: string): Uint8Array => unseal(h(d.keyStore.storageKey), ascii(context), h(sealed));
  const df5 = (d: Doc): string => `3F00/${d.mf.children[5].fid}`;

  function mutated(mutate: (d: Doc) => void): string {
    const d = JSON.parse(base()) as Doc;
    mutate(d);
    return JSON.stringify(d);
  }

  it('corrupt JSON, truncated text, empty text, not an object', () => {
    const text = base();
    expectImageError('{"format": "chipwright-card-image", "version": ', '(image)', /JSON/);
    for (const cut of [1, 10, text.length >> 1, text.length - 3]) expectImageError(text.slice(0, cut), '(image)', /truncated/);
    expectImageError('', '(image)');
    expectImageError('[]', '(image)', /object/);
    expectImageError('null', '(image)', /object/);
    expectImageError('"chipwright-card-image"', '(image)', /object/);
  });

  it('the source path is named in the message', () => {
    const e = (() => {
      try {
        loadCard('{', {}, 'cards/alice.json');
      } catch (x) {
        return x as CardImageError;
      }
      throw new Error('no error');
    })();
    expect(e.message.startsWith('cards/alice.json: (image):')).toBe(true);
  });

  const cases: readonly [string, (d: Doc) => void, string, RegExp?][] = [
    ['wrong format', (d) => (d.format = 'some-other-image'), 'format', /chipwright-card-image/],
    ['missing format', (d) => delete d.format, 'format'],
    ['wrong version', (d) => (d.version = 3), 'version', /versions 1 and 2 \(writes 2\), the image is version 3/],
    ['version as a string', (d) => (d.version = '1'), 'version'],
    ['unknown top-level field', (d) => (d.colour = 'blue'), 'colour', /unknown field/],
    ['unknown field in an EF', (d) => (d.mf.children[0].colour = 'blue'), 'mf.children[0].colour', /unknown field/],
    ['unknown field in a PIN', (d) => (d.mf.pins[0].hint = '0000'), 'mf.pins[0].hint', /unknown field/],
    ['unknown field in an applet', (d) => (d.applets[0].x = 1), 'applets[0].x', /unknown field/],
    ['bad hex data', (d) => (d.mf.children[0].data = 'XY00'), 'mf.children[0].data', /hex/],
    ['odd-length hex', (d) => (d.mf.children[0].data = '001'), 'mf.children[0].data', /hex/],
    ['bad hex serial', (d) => (d.serial = '01 02'), 'serial', /hex/],
    ['bad hex record', (d) => (d.mf.children[1].records[0] = 'zz'), 'mf.children[1].records[0]', /hex/],
    ['bad hex key', (d) => (d.mf.children[5].keys[0].sealed = 'G'.repeat(88)), 'mf.children[5].keys[0].sealed', /hex/],
    ['bad file type', (d) => (d.mf.children[0].type = 'blob'), 'mf.children[0].type', /transparent/],
    ['number as a string', (d) => (d.mf.children[1].recordSize = '6'), 'mf.children[1].recordSize', /integer/],
    ['capacity not a number', (d) => (d.capacity = 'big'), 'capacity', /integer/],
    ['applets not an array', (d) => (d.applets = {}), 'applets', /array/],
    ['mf missing', (d) => delete d.mf, 'mf', /object/],
    ['children not an array', (d) => (d.mf.children[5].children = null), 'mf.children[5].children', /array/],
    ['life cycle unknown', (d) => (d.lifeCycle = 'dead'), 'lifeCycle', /personalization/],
    ['PIN tries > maxTries', (d) => (d.mf.pins[0].tries = 4), 'mf.pins[0].tries', /0\.\.3/],
    ['PIN tries negative', (d) => (d.mf.children[5].pins[1].tries = -1), 'mf.children[5].pins[1].tries'],
    ['key tries > maxTries', (d) => (d.mf.children[5].keys[0].tries = 4), 'mf.children[5].keys[0].tries'],
    ['transport key tries > maxTries', (d) => (d.transportKey.tries = 16), 'transportKey.tries'],
    ['PIN maxTries 0', (d) => (d.mf.pins[0].maxTries = 0), 'mf.pins[0].maxTries'],
    ['3DES key of 32 bytes', (d) => (d.mf.children[5].keys[0].sealed = sealedHex(d, `chipwright key ${df5(d)} ${d.mf.children[5].keys[0].ref}`, new Uint8Array(32))), 'mf.children[5].keys[0].sealed', /3DES/],
    ['record longer than the record size', (d) => (d.mf.children[1].records[0] = '00'.repeat(7)), 'mf.children[1].records[0]'],
    ['more records than maxRecords', (d) => (d.mf.children[3].records.push('00000000')), 'mf.children[3].records', /maxRecords/],
    ['duplicate FID', (d) => (d.mf.children[1].fid = '0101'), 'mf.children[1].fid', /duplicate/],
    ['MF with another FID', (d) => (d.mf.fid = '3F01'), 'mf', /3F00/],
    ['MF as an EF', (d) => (d.mf = { type: 'transparent', fid: '3F00', lcs: 5, rules: null, sfi: null, data: '' }), 'mf'],
    ['bad security attributes', (d) => (d.mf.children[0].rules = '8001019900'), 'mf.children[0].rules', /security/],
    ['SFI out of range', (d) => (d.mf.children[0].sfi = 31), 'mf.children[0].sfi'],
    ['FID not hex', (d) => (d.mf.children[0].fid = '01G1'), 'mf.children[0].fid'],
    ['ATR too short', (d) => (d.atr = '3B'), 'atr'],
    ['applet AID too short', (d) => (d.applets[0].aid = 'F000'), 'applets[0].aid'],
    ['applet store value not hex', (d) => (d.applets[0].store.installed = 'nope'), 'applets[0].store.installed', /hex/],
    ['applet life cycle', (d) => (d.applets[0].lifeCycle = 'installed'), 'applets[0].lifeCycle'],
    ['data object without value', (d) => delete d.mf.dataObjects[0].value, 'mf.dataObjects[0].value'],
    // Consistency a card relies on, which the JSON types alone do not give.
    ['duplicate SFI in a DF', (d) => (d.mf.children[1].sfi = 1), 'mf.children[1].sfi', /duplicate/],
    ['duplicate DF name', (d) => (d.mf.children[6].name = d.mf.children[5].name), 'mf.children[6].name', /duplicate/],
    [
      'duplicate PIN reference in a DF',
      (d) => {
        const p = d.mf.children[5].pins[1];
        const value = opened(d, `chipwright pin ${df5(d)} ${p.ref}`, p.sealed);
        p.ref = 0x81;
        p.sealed = sealedHex(d, `chipwright pin ${df5(d)} ${p.ref}`, value);
      },
      'mf.children[5].pins[1].ref',
      /duplicate/,
    ],
    ['duplicate key reference in a DF', (d) => d.mf.children[5].keys.push({ ...d.mf.children[5].keys[0] }), 'mf.children[5].keys[1].ref', /duplicate/],
    ['duplicate data object tag', (d) => d.mf.dataObjects.push({ ...d.mf.dataObjects[0] }), 'mf.dataObjects[1].tag', /duplicate/],
    ['PIN shorter than its minLength', (d) => (d.mf.pins[0].sealed = sealedHex(d, `chipwright pin 3F00 ${d.mf.pins[0].ref}`, ascii('00'))), 'mf.pins[0].sealed', /4\.\.12/],
    // Secrets at rest: sealed in a version-2 image, bound to their place, never accepted in plain.
    ['a PIN in plain in a version-2 image', (d) => (d.mf.pins[0].value = '31323334'), 'mf.pins[0].value', /unknown field/],
    ['a key in plain in a version-2 image', (d) => ((d.mf.children[5].keys[0].value = '00'.repeat(16)), delete d.mf.children[5].keys[0].sealed), 'mf.children[5].keys[0].value', /unknown field/],
    ['a sealed PIN moved to another PIN', (d) => (d.mf.children[5].pins[0].sealed = d.mf.children[5].pins[1].sealed), 'mf.children[5].pins[0].sealed', /authentication failed/],
    ['a sealed key moved to the transport key', (d) => (d.transportKey.sealed = d.mf.children[5].keys[0].sealed), 'transportKey.sealed', /authentication failed/],
    ['an altered sealed PIN', (d) => (d.mf.pins[0].sealed = d.mf.pins[0].sealed.slice(0, -2) + (d.mf.pins[0].sealed.endsWith('00') ? '01' : '00')), 'mf.pins[0].sealed', /authentication failed/],
    ['a version-2 image without its key store', (d) => delete d.keyStore, 'keyStore', /object/],
    ['private keys in plain in a version-2 image', (d) => (d.privateKeys = { protection: 'none', keys: [] }), 'privateKeys.protection', /in plain/],
    ['PIN minLength > maxLength', (d) => (d.mf.pins[0].minLength = 13), 'mf.pins[0].maxLength'],
    ['padded length below maxLength', (d) => (d.mf.children[5].pins[1].paddedLength = 6), 'mf.children[5].pins[1].paddedLength'],
    ['life-cycle status byte not one chipwright knows', (d) => (d.mf.children[0].lcs = 2), 'mf.children[0].lcs'],
    ['child with its parent\'s FID', (d) => (d.mf.children[5].children[0].fid = '1000'), 'mf.children[5].children[0].fid', /duplicate/],
    ['duplicate applet AID', (d) => (d.applets[1].aid = d.applets[0].aid), 'applets[1].aid', /duplicate/],
    ['ATR that does not parse', (d) => (d.atr = '3B8F01'), 'atr', /ATR/],
  ];

  for (const [name, mutate, field, message] of cases) {
    it(name, () => {
      expectImageError(mutated(mutate), field, message);
    });
  }

  it('parseCardImage reports the same without building a card', () => {
    expect(() => parseCardImage(mutated((d) => (d.version = 3)))).toThrow(CardImageError);
  });

  it('an image referencing an unregistered applet type is a clear error', () => {
    const text = base();
    let err: unknown;
    try {
      loadCard(text); // no factories registered
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CardImageError);
    const e = err as CardImageError;
    expect(e.field).toBe('applets[0].type');
    expect(e.message).toMatch(/"counter"/);
    expect(e.message).toMatch(/CardOptions\.applets/);
    // With the factory it loads.
    expect(() => loadCard(text, { applets: [COUNTER_APPLET] })).not.toThrow();
  });
});

describe('transient state never reaches the image', () => {
  it('verified PINs, authenticated keys, current files, open channels, pending data, challenges', () => {
    const card = fixtureCard({ applets: [COUNTER_APPLET] });
    card.install(h(COUNTER_AID), 'counter', h('C0DE'));
    const before = serializeCard(card);
    // Everything below changes only transient state (a right PIN spends a try and restores it).
    transportAuth(card);
    for (const a of [
      '00A4080C021000',
      '0020008104' + hex(ascii(PIN81)),
      '0070000001',
      '01A4080C0410001011',
      '0084000008',
      '00A4080C0410001001',
    ]) {
      must(card, a);
    }
    // No Le: the record waits for GET RESPONSE (61XX).
    expect(swHex(must(card, '00B2015C').sw)).toMatch(/^61/);
    const auth = (() => {
      const r = must(card, '0084000008');
      return '0082000108' + hex(externalAuthCryptogram('3des', h(KEY01), r.data));
    })();
    expect(swHex(must(card, auth).sw)).toBe('9000');
    must(card, `00A4040C07${COUNTER_AID}`);
    const during = serializeCard(card);
    expect(during).toBe(before);
    for (const word of ['"verified', '"channel', '"current', '"challenge', '"pending', '"persoAuth', '"selected', '"sm"']) {
      expect(during).not.toContain(word);
    }
    // And a card loaded from it starts with none of it: PIN not verified, no channel 1.
    const loaded = loadCard(during, { applets: [COUNTER_APPLET] });
    loaded.powerOn();
    expect(swHex(must(loaded, '00A4080C021000').sw)).toBe('9000');
    expect(swHex(must(loaded, '0020008100').sw)).toBe('63C3');
    expect(swHex(must(loaded, '01A4000C023F00').sw)).toBe('6881');
    expect(swHex(must(loaded, '00C0000000').sw)).toBe('6985');
  });

  it('the layout is what the tests expect (guards the mutation paths above)', () => {
    const d = JSON.parse(serializeCard(richCard()));
    expect(d.mf.children.map((c: { fid: string }) => c.fid).slice(0, 7)).toEqual(['0101', '0102', '0103', '0104', '0105', '1000', '2000']);
    expect(d.mf.children[5].pins.map((p: { ref: number }) => p.ref)).toEqual([0x81, 0x82, 0x83]);
    expect(LAYOUT.children).toHaveLength(7);
  });
});

describe('an image key keeps the storage key out of the image', () => {
  const KEY = h('A1'.repeat(32));
  const OTHER = h('B2'.repeat(32));

  it('the image holds only the wrapped storage key; with the key it loads and behaves as the original', () => {
    const card = richCard();
    const plain = serializeCard(card);
    const storageKey = (JSON.parse(plain) as { keyStore: { storageKey: string } }).keyStore.storageKey;
    const text = serializeCard(card, { imageKey: KEY });
    const doc = JSON.parse(text) as { keyStore: Record<string, string> };
    expect(Object.keys(doc.keyStore)).toEqual(['wrappedStorageKey']);
    expect(text).not.toContain(storageKey);
    expect(text).not.toContain(hex(KEY));
    const loaded = loadCard(text, { applets: [COUNTER_APPLET], imageKey: KEY });
    const again = JSON.parse(serializeCard(loaded)) as { keyStore: Record<string, string> };
    expect(Object.keys(again.keyStore)).toEqual(['wrappedStorageKey']); // saved as it was loaded
    const loadedPlain = loadCard(plain, { applets: [COUNTER_APPLET] });
    expect(loadedPlain.state.storageKey).toEqual(loaded.state.storageKey);
    expect(serializeCard(loadedPlain)).toBe(plain);
  });

  it('without the key, or with another, loading fails naming the field; the message holds no key', () => {
    const text = serializeCard(richCard(), { imageKey: KEY });
    const missing = (() => {
      try {
        loadCard(text, { applets: [COUNTER_APPLET] });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(missing).toBeInstanceOf(CardImageError);
    expect((missing as CardImageError).field).toBe('keyStore.wrappedStorageKey');
    expect((missing as Error).message).toMatch(/wrapped under an image key; give that key \(CHIPWRIGHT_IMAGE_KEY/);
    expect(() => loadCard(text, { applets: [COUNTER_APPLET], imageKey: OTHER })).toThrow(/does not open with the image key given/);
    expect(() => loadCard(text, { applets: [COUNTER_APPLET], imageKey: KEY.subarray(0, 16) })).toThrow(/32 bytes/);
    // A changed wrapped key does not open either (AES-GCM).
    const d = JSON.parse(text) as { keyStore: { wrappedStorageKey: string } };
    const w = d.keyStore.wrappedStorageKey;
    d.keyStore.wrappedStorageKey = w.slice(0, -2) + (w.endsWith('00') ? '01' : '00');
    expect(() => loadCard(JSON.stringify(d), { applets: [COUNTER_APPLET], imageKey: KEY })).toThrow(/does not open/);
    const both = JSON.parse(text) as { keyStore: Record<string, string> };
    both.keyStore.storageKey = '00'.repeat(32);
    expect(() => loadCard(JSON.stringify(both), { applets: [COUNTER_APPLET], imageKey: KEY })).toThrow(/both plain and wrapped/);
  });

  it('a plain image loaded with a key is saved wrapped from then on', () => {
    const plain = serializeCard(richCard());
    const loaded = loadCard(plain, { applets: [COUNTER_APPLET], imageKey: KEY });
    const text = serializeCard(loaded);
    expect(Object.keys((JSON.parse(text) as { keyStore: object }).keyStore)).toEqual(['wrappedStorageKey']);
    expect(serializeCard(loadCard(text, { applets: [COUNTER_APPLET], imageKey: KEY }))).not.toContain('"storageKey"');
  });
});
