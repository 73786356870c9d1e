/**
 * `npm run bench` — runs the benchmark suite, writes bench/results.json and bench/RESULTS.md.
 * `--smoke`: a few seconds with small counts (CI keeps the suite from rotting; figures meaningless).
 * `--out DIR`: where to write the results (default: bench/).
 * `--only GROUP,...`: just these groups (card-os, vsmartcard, sm, pace, replay, asymmetric, purse,
 *   perso, read, pcsc, perso-readers); results then hold only those figures.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cardOsFigures } from './card-os.js';
import { vsmartcardFigures } from './vsmartcard.js';
import { smFigures } from './sm.js';
import { paceFigures } from './pace.js';
import { pcscFigures } from './pcsc.js';
import { replayFigures } from './replay.js';
import { purseFigures } from './purse.js';
import { asymmetricFigures } from './asymmetric.js';
import { persoFigures } from './perso.js';
import { persoReaderFigures } from './perso-readers.js';
import { readFigures } from './read.js';
import { fmt, machine, type Figure } from './lib.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const smoke = process.argv.includes('--smoke');
const here = dirname(fileURLToPath(import.meta.url));
// Compiled to dist/bench; results belong in the source tree's bench/.
const outDir = arg('--out') ?? join(here, '..', '..', 'bench');
const opts = smoke ? { ms: 50, rounds: 2, smoke } : { ms: 1000, rounds: 7, smoke };

/** `--only sm,pace`: just these groups (by hand, while working on one figure). */
const only = arg('--only')?.split(',');
const groups: readonly [string, () => Figure[] | Promise<Figure[]>][] = [
  ['card-os', () => cardOsFigures(opts)],
  ['vsmartcard', () => vsmartcardFigures(opts)],
  ['sm', () => smFigures(opts)],
  ['pace', () => paceFigures(opts)],
  ['replay', () => replayFigures(opts)],
  ['asymmetric', () => asymmetricFigures(opts)],
  ['purse', () => purseFigures(opts)],
  ['perso', () => persoFigures(opts)],
  ['read', () => readFigures(opts)],
  ['pcsc', () => pcscFigures(opts)],
  ['perso-readers', () => persoReaderFigures({ rounds: smoke ? 1 : 3, smoke })],
];
const unknown = only?.filter((g) => !groups.some(([n]) => n === g)) ?? [];
if (unknown.length > 0) throw new Error(`--only: unknown group(s) ${unknown.join(', ')}; groups: ${groups.map(([n]) => n).join(', ')}`);
const figures: Figure[] = [];
for (const [name, run] of groups) if (only === undefined || only.includes(name)) figures.push(...(await run()));

const date = new Date().toISOString();
const doc = { date, machine: machine(), mode: smoke ? 'smoke' : 'full', figures };
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'results.json'), JSON.stringify(doc, null, 2) + '\n');
const rows = figures.map((f) =>
  `| ${f.name} | ${fmt(f.median)} ${f.unit} | ${fmt(f.min)} – ${fmt(f.max)} | ${f.peer ? `${f.peer.name}: ${fmt(f.peer.median)}` : '—'} | ${f.ratio !== undefined ? `${f.ratio.toFixed(2)}×` : '—'} |`,
);
const md = [
  `# Benchmark results`,
  ``,
  `${date} · ${machine()} · mode: ${doc.mode} · medians of ${opts.rounds} rounds`,
  ``,
  `| figure | chipwright (median) | min – max | peer (median) | ratio |`,
  `|---|---|---|---|---|`,
  ...rows,
  ``,
].join('\n');
writeFileSync(join(outDir, 'RESULTS.md'), md);
process.stdout.write(md);
