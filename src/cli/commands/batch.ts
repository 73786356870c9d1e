/**
 * `chipwright batch --profile P --data holders.csv|jsonl --journal FILE [--journal-format sqlite|jsonl]
 * [--audit FILE] (--reader NAME... | --sim N [--out DIR]) [--signer …] [--mailer FILE] [--retry-failed]
 * [--limit N]`: many holders, one
 * worker per reader (the next card on insertion), every step journaled before it is sent, one
 * result line per card. Re-running with the same journal continues with the holders left and
 * reports the cards the last run left mid-write. `--sim N`: N simulated readers with endless
 * blank cards (saved to `--out DIR/<serial>.json`). The journal is SQLite (holder states) with a
 * JSON Lines audit log beside it (`--audit`, default `FILE.audit.jsonl`); `--journal-format jsonl`
 * keeps both in one JSON Lines file.
 *
 * Exit 0 when every holder taken was verified, 1 when some failed (the journal says which, where
 * and why).
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { profileTransportKey } from '../../perso/applications.js';
import { pcscReader, runBatch, simReader, type BatchReader } from '../../perso/batch.js';
import { FileJournal, type Journal } from '../../perso/journal.js';
import { SqliteJournal } from '../../perso/journal-sqlite.js';
import { InputFileError, UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { BatchProgress } from '../progress.js';
import { intOption } from '../options.js';
import type { CliContext } from '../context.js';
import { untilStopped, type CliIo } from '../io.js';
import { addInputOptions, asInputError, persoInputs, type PersoInputOptions } from './perso.js';
import { imageKeyOption } from '../card-file.js';

interface RawOptions extends PersoInputOptions {
  data: string;
  journal: string;
  journalFormat?: 'sqlite' | 'jsonl';
  audit?: string;
  reader?: string[];
  sim?: string;
  out?: string;
  mailer?: string;
  retryFailed?: boolean;
  limit?: string;
  json?: boolean;
}

export async function runBatchCommand(o: RawOptions, io: CliIo, stop?: AbortSignal): Promise<number> {
  const readersGiven = (o.reader ?? []).length;
  if ((readersGiven === 0) === (o.sim === undefined)) throw new UsageError('give --reader NAME (repeatable) or --sim N (simulated readers), not both');
  const inputs = persoInputs(o, io);
  // Reader problems (a card that does not answer) go above the progress bars once they exist.
  let problem = (m: string): void => io.stderr(`chipwright: ${m}\n`);
  const readers: BatchReader[] =
    o.sim !== undefined
      ? Array.from({ length: intOption(o.sim, '--sim', 1, 64) }, (_v, i) => simReader(`sim-${i}`, inputs.profile, { operatorKeys: inputs.operatorKeys, ...(o.out !== undefined ? { outDir: o.out, ...imageKeyOption(io) } : {}) }))
      : o.reader!.map((r) => pcscReader(r, { ...(stop !== undefined ? { stop } : {}), onProblem: (m) => problem(m) }));
  if (o.audit !== undefined && o.journalFormat === 'jsonl') throw new UsageError('--audit applies to the SQLite journal; a JSON Lines journal is its own audit log');
  let journal: Journal;
  try {
    journal = o.journalFormat === 'jsonl' ? new FileJournal(o.journal) : new SqliteJournal(o.journal, o.audit !== undefined ? { audit: o.audit } : {});
  } catch (e) {
    // A journal that cannot be opened (not SQLite, damaged, another run's audit log) is bad input.
    throw e instanceof Error ? new InputFileError(e.message) : e;
  }
  // Bars on a terminal only (and not with --json, whose reader is a program).
  const progress = new BatchProgress(o.json === true ? { ...io, stderrIsTTY: false } : io);
  problem = (m) => progress.log(`chipwright: ${m}`, io.stderr);
  try {
    for (const x of journal.interrupted) {
      io.stderr(`chipwright: last run stopped while writing holder ${x.id} to card ${x.serial} (step ${x.step}): that card is ${x.step.endsWith('/activate') ? 'possibly complete — check it' : 'spoiled'}\n`);
    }
    const summary = await runBatch({
      profile: inputs.profile,
      data: o.data,
      journal,
      readers,
      prepare: { signers: inputs.signers, operatorKeys: inputs.operatorKeys },
      transportKey: profileTransportKey(inputs.profile, inputs.operatorKeys),
      apdu: inputs.profile.channel.apdu,
      ...(o.mailer !== undefined ? { mailer: o.mailer } : {}),
      retryFailed: o.retryFailed === true,
      ...(o.limit !== undefined ? { limit: intOption(o.limit, '--limit', 1, 10_000_000) } : {}),
      onStep: (reader, holderId, step, of) => progress.step(reader, holderId, step, of),
      ...(stop !== undefined ? { stop } : {}),
      onResult: (r) => {
        progress.result(r.outcome === 'verified');
        if (o.json === true) progress.log(JSON.stringify(r), io.stdout);
        else if (r.outcome === 'verified') progress.log(`${r.serial} ${r.holderId} ${Math.round(r.ms ?? 0)} ms ${r.reader}`, io.stdout);
        else progress.log(`${r.serial ?? '-'} ${r.holderId} ${r.outcome.toUpperCase()} ${r.reader}${r.step !== undefined ? ` at ${r.step}` : ''}: ${(r.reason ?? '').split('\n')[0]}`, io.stdout);
      },
    });
    progress.end();
    io.stderr(
      `batch: ${summary.verified} verified, ${summary.failed} failed, ${summary.skipped} settled before${summary.interrupted.length > 0 ? `, ${summary.interrupted.length} spoiled by the last run` : ''}${summary.refusedCards.length > 0 ? `, ${summary.refusedCards.length} cards refused` : ''}; journal ${o.journal}\n`,
    );
    if (summary.stopped) io.stderr(`batch: stopped by a signal; the remaining holders stay queued: run the same command again to continue\n`);
    return summary.failed > 0 ? EXIT.CHECK_FAILED : EXIT.OK;
  } catch (e) {
    throw asInputError(e);
  } finally {
    progress.end();
    journal.close();
  }
}

export function registerBatch(program: Command, cli: CliContext): Command {
  const c = program.command('batch').description('personalize many holders on one or more readers, journaled and resumable');
  addInputOptions(c)
    .requiredOption('--data <file>', 'holders: JSON Lines or CSV (streamed), or YAML/JSON')
    .requiredOption('--journal <file>', 'the journal (created, or continued when it exists)')
    .addOption(new Option('--journal-format <format>', 'sqlite: holder states in SQLite plus a JSON Lines audit log; jsonl: one JSON Lines file').choices(['sqlite', 'jsonl']).default('sqlite'))
    .option('--audit <file>', 'with the SQLite journal: the JSON Lines audit log (default: JOURNAL.audit.jsonl)')
    .addOption(new Option('--reader <name>', 'PC/SC reader; repeat for one worker per reader').argParser((v: string, p: string[] | undefined) => [...(p ?? []), v]))
    .option('--sim <n>', 'N simulated readers with blank cards of the profile')
    .option('--out <dir>', 'with --sim: save each card as DIR/<serial>.json')
    .option('--mailer <file>', 'PIN mailer output (JSON Lines, mode 0600)')
    .option('--retry-failed', 'requeue holders an earlier run failed (on new cards)')
    .option('--limit <n>', 'take at most N holders this run')
    .option('--json', 'one JSON result per line')
    .addHelpText(
      'after',
      '\nSIGINT or SIGTERM stops the run between cards: the cards being written are finished and journaled, the\n' +
        'rest stays queued; run the same command again to continue. With --sim --out, CHIPWRIGHT_IMAGE_KEY (64 hex\n' +
        'digits) wraps each saved image\'s storage key. Exit codes: 0 every card written (or stopped with none\n' +
        'failed), 1 a card or holder failed (see the journal), 2 bad options, 3 unreadable profile, data, keys or\n' +
        'journal, 4 no PC/SC service or reader, 5 an output that cannot be written.',
    )
    .action(async (opts: RawOptions) => {
      cli.exit(await untilStopped((stop) => runBatchCommand(opts, cli.io, stop)));
    });
  return c;
}
