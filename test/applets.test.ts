import { describe, it, expect } from 'vitest';
import { createCard } from '../src/card/os.js';
import { defineInsTable } from '../src/card/dispatch.js';
import type { AppletFactory } from '../src/card/applet.js';
import { StatusWordError } from '../src/apdu/status.js';
import { newTransparentEf } from '../src/card/fs/file.js';
import { attach } from '../src/card/fs/tree.js';
import { serializeCard, loadCard } from '../src/card/image.js';
import { hexToBytes } from '../src/bytes/index.js';
import { tx } from './helpers/card.js';

/** A counter applet: INS 01 echoes, INS 02 increments a persistent counter, INS 03 reads it. */
function counterFactory(log: string[] = []): AppletFactory {
  return {
    type: 'counter',
    create: (params) => ({
      install: (ctx) => {
        attach(ctx.nv, ctx.df, newTransparentEf(0x0101, 4, { sfi: 1, data: params }));
        ctx.nv.splice(ctx.record.store, 0, 0, { key: 'count', value: new Uint8Array([0]) });
      },
      select: (ctx) => {
        log.push(`select@${ctx.channel.id}`);
      },
      deselect: (ctx) => {
        log.push(`deselect@${ctx.channel.id}`);
      },
      commands: defineInsTable(
        [0x01, { name: 'ECHO', run: (cmd) => cmd.data.slice() }],
        [
          0x02,
          {
            name: 'INCREMENT',
            run: (_cmd, ctx) => {
              const entry = ctx.appletRecord!.store.find((e) => e.key === 'count')!;
              if (entry.value[0] === 0xff) throw new StatusWordError(0x6a84);
              ctx.nv.set(entry, 'value', new Uint8Array([entry.value[0]! + 1]));
            },
          },
        ],
        [0x03, { name: 'GET COUNT', run: (_cmd, ctx) => ctx.appletRecord!.store.find((e) => e.key === 'count')!.value.slice() }],
        [0x04, { name: 'BUG', run: () => { throw new TypeError('boom'); } }],
      ),
    }),
  };
}

const AID = 'F0000001020304';

describe('applets', () => {
  it('install and talk to an applet in five lines', () => {
    const card = createCard({ applets: [counterFactory()] });
    card.install(hexToBytes(AID), 'counter', hexToBytes('CAFEBABE'));
    card.powerOn();
    expect(tx(card, `00A4040C07${AID}`).swHex).toBe('9000');
    expect(tx(card, '8001000003AABBCC00').data).toBe('AABBCC');
  });

  it('applet commands are only reachable while the applet is selected', () => {
    const card = createCard({ applets: [counterFactory()] });
    card.install(hexToBytes(AID), 'counter', hexToBytes('00000000'));
    card.powerOn();
    expect(tx(card, '8001000001AA00').swHex).toBe('6D00');
    tx(card, `00A4040C07${AID}`);
    expect(tx(card, '8001000001AA00').swHex).toBe('9000');
    // OS commands still work inside the applet: its file by SFI.
    expect(tx(card, '00B0810004').data).toBe('00000000');
    tx(card, '00A4000C023F00');
    expect(tx(card, '8001000001AA00').swHex).toBe('6D00');
  });

  it('selects by partial AID with next occurrence and calls select/deselect hooks', () => {
    const log: string[] = [];
    const card = createCard({ applets: [counterFactory(log)] });
    card.install(hexToBytes('F000000102030401'), 'counter');
    card.install(hexToBytes('F000000102030402'), 'counter');
    card.powerOn();
    const first = tx(card, '00A4040007F000000102030400');
    expect(first.swHex).toBe('9000');
    expect(first.data).toContain('F000000102030401');
    const next = tx(card, '00A4040207F000000102030400');
    expect(next.data).toContain('F000000102030402');
    expect(tx(card, '00A4040207F000000102030400').swHex).toBe('6A82');
    expect(log).toEqual(['select@0', 'deselect@0', 'select@0']);
  });

  it('applet state persists through the journal and the image', () => {
    const card = createCard({ applets: [counterFactory()] });
    card.install(hexToBytes(AID), 'counter');
    card.powerOn();
    tx(card, `00A4040C07${AID}`);
    tx(card, '80020000');
    tx(card, '80020000');
    expect(tx(card, '8003000000').data).toBe('02');
    card.powerOff();
    const again = loadCard(serializeCard(card), { applets: [counterFactory()] });
    again.powerOn();
    tx(again, `00A4040C07${AID}`);
    expect(tx(again, '8003000000').data).toBe('02');
  });

  it('a power cut inside an applet command leaves the old state', () => {
    const card = createCard({ applets: [counterFactory()] });
    card.install(hexToBytes(AID), 'counter');
    card.powerOn();
    tx(card, `00A4040C07${AID}`);
    card.faults.cutPowerAtWrite(1);
    expect(card.transmit(hexToBytes('80020000')).length).toBe(0);
    card.powerOn();
    tx(card, `00A4040C07${AID}`);
    expect(tx(card, '8003000000').data).toBe('00');
  });

  it('an exception inside an applet becomes 6F00 and an event, and the card keeps working', () => {
    const card = createCard({ applets: [counterFactory()] });
    card.install(hexToBytes(AID), 'counter');
    card.powerOn();
    tx(card, `00A4040C07${AID}`);
    expect(tx(card, '80040000').swHex).toBe('6F00');
    expect(card.events.at(-1)).toMatchObject({ type: 'internal-error', ins: 0x04 });
    expect(tx(card, '8003000000').swHex).toBe('9000');
  });

  it('a locked applet does not answer SELECT', () => {
    const card = createCard({ applets: [counterFactory()] });
    card.install(hexToBytes(AID), 'counter');
    card.nv.set(card.state.applets[0]!, 'lifeCycle', 'locked');
    card.nv.commit();
    card.rebuildApplets();
    card.powerOn();
    expect(tx(card, `00A4040C07${AID}`).swHex).toBe('6A82');
  });

  it('loading an image with an unregistered applet type is a clear error', () => {
    const card = createCard({ applets: [counterFactory()] });
    card.install(hexToBytes(AID), 'counter');
    expect(() => loadCard(serializeCard(card))).toThrow(/applet type "counter".*not registered/);
  });

  it('each channel has its own selected applet', () => {
    const log: string[] = [];
    const card = createCard({ applets: [counterFactory(log)] });
    card.install(hexToBytes(AID), 'counter');
    card.powerOn();
    expect(tx(card, '0070000001').data).toBe('01');
    tx(card, `01A4040C07${AID}`);
    expect(tx(card, '8101000001AA00').data).toBe('AA');
    expect(tx(card, '8001000001AA00').swHex).toBe('6D00');
    tx(card, '00708001');
    expect(log).toEqual(['select@1', 'deselect@1']);
  });
});

describe('card-level applet (installed in the MF)', () => {
  const cardLevel: AppletFactory = {
    type: 'card-level',
    create: () => ({
      install: (ctx) => attach(ctx.nv, ctx.df, newTransparentEf(0x011c, 2, { data: hexToBytes('C0DE') })),
      commands: defineInsTable(
        [0x10, { name: 'WHO', run: () => hexToBytes('4D46') }],
        [0x01, { name: 'SHADOWED', run: () => hexToBytes('FF') }],
      ),
    }),
  };

  it('answers in the MF and below, behind a nearer applet that defines the same INS', () => {
    const card = createCard({ applets: [cardLevel, counterFactory()] });
    card.install(new Uint8Array(0), 'card-level');
    card.install(hexToBytes(AID), 'counter');
    card.powerOn();
    expect(tx(card, '8010000000').data).toBe('4D46');
    // Its install created EF 011C in the MF.
    expect(tx(card, '00A4020C02011C').swHex).toBe('9000');
    expect(tx(card, '00B0000002').data).toBe('C0DE');
    tx(card, `00A4040C07${AID}`);
    // The counter applet's own INS 01 wins; INS 10 still reaches the card-level applet.
    expect(tx(card, '8001000001AA00').data).toBe('AA');
    expect(tx(card, '8010000000').data).toBe('4D46');
  });

  it('survives the image and is unique', () => {
    const card = createCard({ applets: [cardLevel] });
    card.install(new Uint8Array(0), 'card-level');
    expect(() => card.install(new Uint8Array(0), 'card-level')).toThrow(/already installed/);
    const again = loadCard(serializeCard(card), { applets: [cardLevel] });
    again.powerOn();
    expect(tx(again, '8010000000').data).toBe('4D46');
  });
});

describe('applet hooks at reset', () => {
  it('power-off and reset deselect the applets selected on every channel', () => {
    const log: string[] = [];
    const card = createCard({ applets: [counterFactory(log)] });
    card.install(hexToBytes(AID), 'counter');
    card.powerOn();
    tx(card, `00A4040C07${AID}`);
    expect(tx(card, '0070000001').data).toBe('01');
    tx(card, `01A4040C07${AID}`);
    card.reset();
    expect(log).toEqual(['select@0', 'select@1', 'deselect@0', 'deselect@1']);
    tx(card, `00A4040C07${AID}`);
    card.powerOff();
    expect(log.slice(4)).toEqual(['select@0', 'deselect@0']);
  });
});
