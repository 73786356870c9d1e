/**
 * Picking a reader by name, index or substring, and the `--reader` / `--card` choice of the CLI.
 * No PC/SC stack needed.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import { readerLine } from '../../src/cli/commands/readers.js';
import { NoReaderError, pickReader } from '../../src/transport/pcsc.js';

const READERS = ['ACS ACR39U ICC Reader 00 00', 'Virtual PCD 00 00', 'Virtual PCD 00 01'];

describe('pickReader', () => {
  it('takes an exact name, then an index, then a substring matching one reader (any case)', () => {
    expect(pickReader(READERS, 'Virtual PCD 00 01')).toBe('Virtual PCD 00 01');
    expect(pickReader(READERS, '0')).toBe('ACS ACR39U ICC Reader 00 00');
    expect(pickReader(READERS, '2')).toBe('Virtual PCD 00 01');
    expect(pickReader(READERS, 'acr39')).toBe('ACS ACR39U ICC Reader 00 00');
    expect(pickReader(READERS, 'pcd 00 01')).toBe('Virtual PCD 00 01');
  });

  it('without a name: the only reader, or the only one holding a card', () => {
    expect(pickReader(['Only'], undefined)).toBe('Only');
    expect(pickReader(READERS, undefined, (n) => n === 'Virtual PCD 00 01')).toBe('Virtual PCD 00 01');
    expect(() => pickReader(READERS, undefined)).toThrow(/3 readers are connected; pick one by name, substring or index: 0 "ACS/);
  });

  it('refuses ambiguous, unknown and out-of-range choices, listing the readers', () => {
    expect(() => pickReader(READERS, 'virtual')).toThrow(NoReaderError);
    expect(() => pickReader(READERS, 'virtual')).toThrow('reader "virtual" matches 2 readers (0 "Virtual PCD 00 00", 1 "Virtual PCD 00 01"); give more of the name, or its index');
    expect(() => pickReader(READERS, 'gemalto')).toThrow('no reader matches "gemalto"; readers: 0 "ACS ACR39U ICC Reader 00 00", 1 "Virtual PCD 00 00", 2 "Virtual PCD 00 01"');
    expect(() => pickReader(READERS, '3')).toThrow('reader index 3: there are 3 readers');
    expect(() => pickReader([], 'x')).toThrow(/no PC\/SC reader is connected; plug a reader in, or serve a virtual card/);
  });
});

describe('readers output', () => {
  it('one aligned line per reader', () => {
    const atr = Uint8Array.of(0x3b, 0x00);
    expect(readerLine({ index: 1, name: 'Virtual PCD 00 01', card: true, atr, inUse: true, exclusive: false, mute: false }, 20)).toBe(
      ' 1  Virtual PCD 00 01     card   3B 00  (in use)',
    );
    expect(readerLine({ index: 0, name: 'R', card: false, atr: undefined, inUse: false, exclusive: false, mute: false }, 3)).toBe(' 0  R    empty');
  });
});

describe('--reader or --card', () => {
  async function cli(args: string[]): Promise<{ code: number; err: string }> {
    let err = '';
    const io: CliIo = { stdout: () => undefined, stderr: (t) => (err += t), stdin: Readable.from([]), env: {}, stderrIsTTY: false };
    return { code: await main(['node', 'chipwright', ...args], io), err };
  }

  it('exactly one of them, and no image-only options with a reader (exit 2, before any reader is opened)', async () => {
    expect(await cli(['send', '00A4000C023F00'])).toMatchObject({ code: 2, err: expect.stringContaining('give --card FILE (a card image) or --reader NAME') });
    expect(await cli(['send', '--card', 'x.json', '--reader', '0', '00A4000C023F00'])).toMatchObject({ code: 2, err: expect.stringContaining('not both') });
    expect(await cli(['send', '--reader', '0', '--rng', '01', '00A4000C023F00'])).toMatchObject({ code: 2, err: expect.stringContaining('--rng applies to a card image') });
    expect(await cli(['send', '--reader', ' ', '00A4000C023F00'])).toMatchObject({ code: 2, err: expect.stringContaining('--reader: expected a reader name') });
    expect(await cli(['script', 'run', 'apdu/filesystem-demo.apdu', '--reader', '0', '--applet', './x.mjs'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('--applet applies to a card image'),
    });
    expect(await cli(['script', 'run', 'apdu/filesystem-demo.apdu'])).toMatchObject({ code: 2, err: expect.stringContaining('give --card FILE') });
  });
});
