/**
 * `chipwright readers [--json]`: the PC/SC readers, each with its index (what `--reader 0`
 * picks), whether it holds a card, and the card's ATR. Also home of what `--reader NAME` means
 * for the commands that take it (`send`, `script run`): {@link readerOrCard} validates the choice
 * and {@link withReader} opens, connects, runs and always releases the reader.
 */
import type { Command } from 'commander';
import { bytesToHex } from '../../bytes/index.js';
import { listReaders, PcscTransport, type PcscReaderInfo } from '../../transport/pcsc.js';
import { TracingTransport } from '../../transport/trace.js';
import type { Transport } from '../../transport/types.js';
import { EXIT } from '../exit-codes.js';
import { UsageError } from '../errors.js';
import type { CliContext } from '../context.js';
import type { CliIo } from '../io.js';

interface RawOptions {
  json?: boolean;
}

export interface ReadersContext {
  readonly json: boolean;
}

export function readersContext(o: RawOptions): ReadersContext {
  return { json: o.json === true };
}

/** One reader as `--json` prints it (ATR as upper-case hex, null without a card). */
export function readerJson(r: PcscReaderInfo): object {
  return { index: r.index, name: r.name, card: r.card, atr: r.atr === undefined ? null : bytesToHex(r.atr), inUse: r.inUse, exclusive: r.exclusive, mute: r.mute };
}

/** `0  Virtual PCD 00 00  card   3B 85 01 80 73 F6 21 DB 7B  (in use)`. */
export function readerLine(r: PcscReaderInfo, nameWidth: number): string {
  const flags = [r.exclusive ? 'exclusive' : r.inUse ? 'in use' : '', r.mute ? 'mute' : ''].filter((f) => f !== '');
  const atr = r.atr === undefined ? '' : `  ${bytesToHex(r.atr, ' ')}`;
  return `${String(r.index).padStart(2)}  ${r.name.padEnd(nameWidth)}  ${r.card ? 'card ' : 'empty'}${atr}${flags.length > 0 ? `  (${flags.join(', ')})` : ''}`.trimEnd();
}

export async function runReaders(ctx: ReadersContext, io: CliIo): Promise<number> {
  const readers = await listReaders();
  if (ctx.json) {
    io.stdout(JSON.stringify(readers.map(readerJson), null, 2) + '\n');
  } else if (readers.length === 0) {
    io.stdout('no PC/SC readers\n');
  } else {
    const width = Math.max(...readers.map((r) => r.name.length));
    io.stdout(readers.map((r) => readerLine(r, width)).join('\n') + '\n');
  }
  return EXIT.OK;
}

export function registerReaders(program: Command, cli: CliContext): Command {
  return program
    .command('readers')
    .description('list PC/SC readers: index, name, card present, ATR')
    .option('--json', 'print [{index, name, card, atr, inUse, exclusive, mute}]')
    .addHelpText(
      'after',
      '\nNeeds a PC/SC service (pcscd) and the optional package "pcsclite". `--reader` on other\n' +
        'commands takes a reader\'s full name, its index, or a part of its name that matches one reader.',
    )
    .action(async (opts: RawOptions) => {
      cli.exit(await runReaders(readersContext(opts), cli.io));
    });
}

// --- `--reader NAME` for other commands ----------------------------------------------------------

/** What `--card FILE` / `--reader NAME` chose: a card image, or a PC/SC reader. */
export type CardTarget = { readonly kind: 'image'; readonly path: string } | { readonly kind: 'reader'; readonly reader: string };

/**
 * Exactly one of `--card` and `--reader`; image-only options (`--rng`, `--applet`) with a reader
 * are a usage error, since a real card's generator and applets are its own.
 */
export function readerOrCard(o: { card?: string; reader?: string; rng?: string; applet?: readonly string[] }): CardTarget {
  if (o.card !== undefined && o.reader !== undefined) throw new UsageError('give --card FILE (a card image) or --reader NAME (a PC/SC reader), not both');
  if (o.reader !== undefined) {
    if (o.reader.trim() === '') throw new UsageError('--reader: expected a reader name, part of one, or an index (see chipwright readers)');
    for (const [name, given] of [['--rng', o.rng !== undefined], ['--applet', (o.applet ?? []).length > 0]] as const) {
      if (given) throw new UsageError(`${name} applies to a card image (--card), not to a card in a reader`);
    }
    return { kind: 'reader', reader: o.reader };
  }
  if (o.card === undefined) throw new UsageError('give --card FILE (a card image) or --reader NAME (a PC/SC reader; see chipwright readers)');
  return { kind: 'image', path: o.card };
}

/**
 * Opens the reader, connects to its card (exclusively), runs `body` over it (traced on standard
 * error with `--trace`), then powers the card down and ends the PC/SC session, whatever happened.
 */
export async function withReader<T>(reader: string, io: CliIo, trace: boolean, body: (t: Transport) => Promise<T>): Promise<T> {
  const pcsc = await PcscTransport.open(reader);
  try {
    const transport: Transport = trace ? new TracingTransport(pcsc, (line) => io.stderr(`${line}\n`)) : pcsc;
    if (trace) io.stderr(`reader "${pcsc.readerName}"\n`);
    await transport.connect();
    return await body(transport);
  } finally {
    await pcsc.close();
  }
}
