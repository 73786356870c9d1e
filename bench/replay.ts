/**
 * Conformance replay throughput (issue: conformance vectors; target ≥ 100 000 steps/s in-process):
 * steps per second of `runReplay` on simulated cards, files parsed once, each run on a fresh card
 * loaded from its image (as `chipwright replay` does).
 *
 * - "replay in-process, SELECT + READ BINARY": one file of 2 000 steps, every one checked against
 *   an exact expectation — the runner's own cost over the card's cheapest commands.
 * - "replay in-process, shipped card-OS suites": the 11 files of test-vectors/card-os as they are
 *   (all command families, error paths, captures, transport-key authentication, card loading).
 */
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { expandVectorPaths, readVectorFile } from '../src/conformance/read.js';
import { parseVectorText } from '../src/conformance/vector-format.js';
import { prepareReplay, runReplay, type ReplayOptions, type ReplayPlan } from '../src/conformance/replay.js';
import type { Vector } from '../src/conformance/vector.js';
import { summarize, type Figure } from './lib.js';

/** The repository root, from bench/ (vitest, tsx) or dist/bench/ (npm run bench). */
function root(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    try {
      readFileSync(join(dir, 'test-vectors/cards/card-os.json'));
      return dir;
    } catch {
      dir = dirname(dir);
    }
  }
  throw new Error('bench/replay: test-vectors/ not found above the benchmark');
}

/** A file of `pairs` × (SELECT EF 0101 by FID, READ BINARY 4 bytes), all with exact expectations. */
export function selectReadVector(cardImage: string, pairs: number): Vector {
  const lines = [`name: bench`, `source: bench/replay.ts`, `card: image ${cardImage}`, ''];
  for (let i = 0; i < pairs; i++) {
    lines.push('00 A4 02 0C 02 01 01 => 9000');
    lines.push(`00 B0 00 0${i % 8} 04 => ${[0, 1, 2, 3].map((k) => ((i % 8) + k).toString(16).toUpperCase().padStart(2, '0')).join(' ')} 9000`);
  }
  return parseVectorText(lines.join('\n'), join(dirname(cardImage), 'bench.vec'));
}

const SIM: ReplayOptions = { target: { kind: 'simulator' } };

async function plan(vectors: readonly Vector[]): Promise<ReplayPlan> {
  const { plan: p, errors } = await prepareReplay(vectors, SIM);
  if (errors.length > 0) throw errors[0]!;
  return p;
}

/** Runs the plan repeatedly for about `ms`; returns steps per second. Every step must pass. */
async function stepsPerSecond(p: ReplayPlan, ms: number): Promise<number> {
  // Warm-up: compile the hot paths before the clock starts.
  for (let i = 0; i < 3; i++) {
    const r = await runReplay(p, SIM);
    if (!r.ok || r.steps.failed + r.steps.errors + r.steps.skipped > 0) throw new Error('bench/replay: the vectors do not pass');
  }
  let steps = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    const r = await runReplay(p, SIM);
    steps += r.steps.passed + r.steps.sent;
    now = performance.now();
  }
  return (steps * 1000) / (now - start);
}

/**
 * The replay figures, in {@link Figure} shape for `bench/run.ts`.
 *
 * @example const figures = await replayFigures({ ms: 1000, rounds: 7 });
 */
export async function replayFigures(opts: { ms: number; rounds: number }): Promise<Figure[]> {
  const dir = root();
  const image = join(dir, 'test-vectors/cards/card-os.json');
  const simple = await plan([selectReadVector(image, 1000)]);
  const suites = await plan(expandVectorPaths([join(dir, 'test-vectors/card-os')]).map((f) => readVectorFile(f)));
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < opts.rounds; i++) {
    a.push(await stepsPerSecond(simple, opts.ms));
    b.push(await stepsPerSecond(suites, opts.ms));
  }
  return [
    summarize('replay in-process, SELECT + READ BINARY (exact expectations, fresh card per file)', 'steps/s', a, 'target ≥ 100 000 steps/s'),
    summarize('replay in-process, shipped card-OS suites (11 files, fresh card each)', 'steps/s', b),
  ];
}
