/**
 * Benchmark helpers: repeated rounds, medians, and side-by-side peers. Figures are measured, never
 * asserted; every ratio compares two measurements taken in the same run, rounds alternated.
 */
import { cpus, totalmem } from 'node:os';

export interface Figure {
  readonly name: string;
  readonly unit: string;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly rounds: number;
  readonly peer?: { readonly name: string; readonly median: number; readonly min: number; readonly max: number };
  /** chipwright / peer (higher is better for rates). */
  readonly ratio?: number;
  readonly note?: string;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs `body` (which performs `opsPerCall` operations) for about `ms`, returns ops/s. */
export function rate(body: () => void, opsPerCall: number, ms: number): number {
  // Warm-up so the JIT has compiled the hot path before the clock starts.
  for (let i = 0; i < 20_000; i++) body();
  let calls = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(ms * 1e6));
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 100; i++) body();
    calls += 100;
    now = process.hrtime.bigint();
  }
  const secs = Number(now - start) / 1e9;
  return (calls * opsPerCall) / secs;
}

/** Repeats a measurement `rounds` times and summarizes it. */
export function summarize(name: string, unit: string, samples: readonly number[], note?: string): Figure {
  return {
    name,
    unit,
    median: median(samples),
    min: Math.min(...samples),
    max: Math.max(...samples),
    rounds: samples.length,
    ...(note ? { note } : {}),
  };
}

/** A peer measured beside chipwright: `measure` performs one round and returns its rate. */
export interface PeerRound {
  readonly name: string;
  readonly measure: () => number | Promise<number>;
}

/**
 * Measures chipwright and a peer side by side in `rounds` alternating rounds (ours, peer, ours,
 * peer, …) so that load drifting on the machine hits both alike, then summarizes both by their
 * medians; the ratio is chipwright / peer. Rounds never overlap: the other side sits idle.
 */
export async function compare(
  name: string,
  unit: string,
  rounds: number,
  ours: () => number,
  peer: PeerRound,
  note?: string,
): Promise<Figure> {
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < rounds; i++) {
    a.push(ours());
    b.push(await peer.measure());
  }
  const f = summarize(name, unit, a, note);
  const p = { name: peer.name, median: median(b), min: Math.min(...b), max: Math.max(...b) };
  return { ...f, peer: p, ratio: f.median / p.median };
}

export function machine(): string {
  const c = cpus();
  return `${c.length} × ${c[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

export function fmt(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(1);
}

/**
 * Wall-clock and CPU milliseconds per call of `once` over about `ms` (at least 3 calls), after
 * `warmup` calls. CPU time is the process's (user + system), so on a shared machine the two
 * together show whether a slow round was this code or a neighbour.
 */
export async function msPerCall(once: () => Promise<void> | void, ms: number, warmup = 3): Promise<{ wall: number; cpu: number }> {
  for (let i = 0; i < warmup; i++) await once();
  let n = 0;
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(ms * 1e6));
  let now = start;
  while (now < deadline || n < 3) {
    await once();
    n++;
    now = process.hrtime.bigint();
  }
  const cpu = process.cpuUsage(cpu0);
  return { wall: Number(now - start) / 1e6 / n, cpu: (cpu.user + cpu.system) / 1e3 / n };
}
