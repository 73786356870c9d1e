/**
 * `chipwright record --out FILE [--secrets-out FILE] -- <chipwright command…>`: runs any other
 * chipwright command and writes what passed between it and the card as a vector file
 * (`src/conformance/recorder.ts`) that `chipwright replay` replays: exact responses as
 * expectations, timings as comments, secrets redacted into `{NAME}` references whose values go to
 * `--secrets-out` (mode 600) or nowhere.
 *
 * When the command talks to a simulated card, the card as it was before the first command is saved
 * beside the recording (`FILE.card.json`, or `--card-out`) and named in its `card:` header, and the
 * command's `--rng` becomes its `rng:`, so the recording replays as is on a fresh identical card.
 * The command's own arguments are not written anywhere: they may hold secrets (APDUs with a PIN).
 */
import { dirname, relative } from 'node:path';
import type { Command } from 'commander';
import { hexToBytes, ByteInputError } from '../../bytes/index.js';
import { serializeCard } from '../../card/image.js';
import type { Card } from '../../card/os.js';
import { InProcessTransport } from '../../transport/in-process.js';
import { VectorRecorder } from '../../conformance/recorder.js';
import { interceptTransports, type TransportClass } from '../../conformance/intercept.js';
import { imageKeyOption } from '../card-file.js';
import { UsageError } from '../errors.js';
import { checkOutputPath, snapshotPathOf, writeOutputFile } from '../output-file.js';
import type { CliContext } from '../context.js';
import type { CliIo } from '../io.js';

interface RawOptions {
  out: string;
  secretsOut?: string;
  cardOut?: string;
  cardSnapshot?: boolean;
  name?: string;
  force?: boolean;
}

export interface RecordContext {
  readonly out: string;
  readonly secretsOut: string | undefined;
  /** Where the simulated card's starting image goes; undefined = no snapshot. */
  readonly cardOut: string | undefined;
  readonly name: string | undefined;
  readonly force: boolean;
  /** The command to run, without the program name. */
  readonly command: readonly string[];
}

export function recordContext(command: readonly string[], o: RawOptions): RecordContext {
  if (command.length === 0) throw new UsageError('record: give the command to record after "--", e.g. chipwright record --out s.vec -- send --card c.json 00A4000C023F00');
  if (command[0] === 'record') throw new UsageError('record: cannot record a record command');
  const force = o.force === true;
  const cardOut = o.cardSnapshot === false ? undefined : (o.cardOut ?? snapshotPathOf(o.out));
  for (const [opt, path] of [['--out', o.out], ['--secrets-out', o.secretsOut], ['--card-out', cardOut]] as const) {
    if (path !== undefined) checkOutputPath(opt, path, force);
  }
  return { out: o.out, secretsOut: o.secretsOut, cardOut, name: o.name, force, command };
}

/** The `--rng` the recorded command gives its simulated card, if it gives one. */
function rngOf(command: readonly string[]): Uint8Array | undefined {
  for (let i = 0; i < command.length; i++) {
    const a = command[i]!;
    const v = a === '--rng' ? command[i + 1] : a.startsWith('--rng=') ? a.slice(6) : undefined;
    if (v === undefined) continue;
    try {
      return hexToBytes(v, '--rng');
    } catch (e) {
      // The command itself reports a bad --rng.
      if (e instanceof ByteInputError) return undefined;
      throw e;
    }
  }
  return undefined;
}

/** The transport classes whose traffic is recorded: the simulator's, and PC/SC's when it loads. */
async function transportClasses(): Promise<TransportClass[]> {
  const classes: TransportClass[] = [InProcessTransport];
  try {
    const pcsc = await import('../../transport/pcsc.js');
    classes.push(pcsc.PcscTransport);
  } catch {
    // Without the PC/SC module nothing can talk to a reader, so nothing is missed.
  }
  return classes;
}

export async function runRecord(ctx: RecordContext, io: CliIo): Promise<number> {
  let snapshot: string | undefined;
  let cards = 0;
  const seen = new Set<Card>();
  const rng = rngOf(ctx.command);
  const cardPath = ctx.cardOut;
  const recorder = new VectorRecorder({
    name: ctx.name ?? `recorded: chipwright ${ctx.command[0]}`,
    ...(rng !== undefined ? { rng } : {}),
    preamble: [
      `Recorded by "chipwright record -- ${ctx.command[0]} …" (the command's arguments are not kept: they may hold secrets).`,
      'Replay: chipwright replay THIS_FILE [--secrets FILE]',
    ],
  });
  const restore = interceptTransports(recorder, await transportClasses(), {
    onCard: (card) => {
      if (seen.has(card)) return;
      seen.add(card);
      cards++;
      if (snapshot === undefined && ctx.cardOut !== undefined) {
        try {
          // Wrapped under CHIPWRIGHT_IMAGE_KEY when set, like every image the CLI writes.
          snapshot = serializeCard(card, imageKeyOption(io));
        } catch {
          // A card with uncommitted writes cannot be saved; the recording then names no card.
        }
      }
    },
  });
  let code: number;
  try {
    // Imported here: main.js registers this command, so a static import would be circular.
    const { main } = await import('../main.js');
    code = await main(['node', 'chipwright', ...ctx.command], io);
  } finally {
    restore();
  }
  const rec = recorder.recording({
    card: snapshot !== undefined && cardPath !== undefined ? { kind: 'image', path: cardPath, written: relative(dirname(ctx.out), cardPath) } : { kind: 'external' },
  });
  writeOutputFile(ctx.out, rec.text, 'recording', 0o644);
  const names = Object.keys(rec.secrets);
  if (ctx.secretsOut !== undefined) writeOutputFile(ctx.secretsOut, JSON.stringify(rec.secrets, null, 2) + '\n', 'secrets file', 0o600);
  if (snapshot !== undefined && ctx.cardOut !== undefined) writeOutputFile(ctx.cardOut, snapshot, 'card image', 0o644);
  const notes = [
    names.length > 0 ? `${names.length} secret value${names.length === 1 ? '' : 's'} redacted${ctx.secretsOut !== undefined ? ` (values in ${ctx.secretsOut})` : ' (values not kept)'}` : '',
    snapshot !== undefined ? `starting card saved to ${ctx.cardOut}` : '',
    cards > 1 ? `the command used ${cards} cards; the recording interleaves them and names the first` : '',
  ].filter((n) => n !== '');
  io.stderr(`chipwright record: ${rec.steps} step${rec.steps === 1 ? '' : 's'} written to ${ctx.out}${notes.length > 0 ? `; ${notes.join('; ')}` : ''}\n`);
  return code;
}

export function registerRecord(program: Command, cli: CliContext): Command {
  return program
    .command('record')
    .description('run a chipwright command and record what passed to and from the card as a vector file for replay')
    .argument('<command...>', 'the chipwright command to run, after "--" (e.g. -- send --card c.json 00A4000C023F00)')
    .requiredOption('--out <file>', 'the vector file to write')
    .option('--secrets-out <file>', 'write the redacted values (PINs, keys, cryptograms) here, mode 600; without it they are not kept')
    .option('--card-out <file>', 'where to save the simulated card as it was before the command (default FILE.card.json)')
    .option('--no-card-snapshot', 'do not save the starting card; the recording says "card: external"')
    .option('--name <text>', 'the recording\'s "name:" header')
    .option('--force', 'overwrite existing output files')
    .addHelpText(
      'after',
      '\nExample:\n' +
        '  chipwright record --out session.vec --secrets-out session.secrets.json -- \\\n' +
        '      send --card card.json --rng 0102030405060708 00A4000C023F00 002000810431323334\n' +
        '  chipwright replay session.vec --secrets session.secrets.json\n' +
        'The exit code is the recorded command\'s.',
    )
    .action(async (command: string[], opts: RawOptions) => {
      cli.exit(await runRecord(recordContext(command, opts), cli.io));
    });
}
