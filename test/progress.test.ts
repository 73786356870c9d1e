/**
 * The progress bars (cli-progress behind src/cli/progress.ts): drawn on standard error when it is
 * a terminal, nothing at all otherwise; batch result lines go above the bars when both outputs
 * share the terminal, to standard output otherwise.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CliIo } from '../src/cli/io.js';
import { BatchProgress, PersoProgressLine } from '../src/cli/progress.js';
import type { PersoProgress } from '../src/perso/runner.js';

function fakeIo(tty: { stderr: boolean; stdout?: boolean }): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (t) => out.push(t), stderr: (t) => err.push(t), stdin: new PassThrough(), env: {}, stderrIsTTY: tty.stderr, ...(tty.stdout !== undefined ? { stdoutIsTTY: tty.stdout } : {}) };
}

const step = (index: number, total: number): PersoProgress => ({ step: { id: `identity/DG${index}` } as PersoProgress['step'], index, total, apdus: 3 * index, bytes: 1024 * index, totalBytes: 1024 * total });

describe('PersoProgressLine', () => {
  it('draws steps, bytes and APDUs on a terminal and clears the line at the end', () => {
    const io = fakeIo({ stderr: true });
    const bar = new PersoProgressLine(io, 'qatar-id');
    for (let i = 0; i < 10; i++) bar.update(step(i, 10));
    bar.end();
    const text = io.err.join('');
    expect(text).toMatch(/qatar-id \[[=\- ]*\] step 1\/10 identity\/DG0/);
    expect(text).toContain('step 10/10 identity/DG9 · 9.0 KB/10.0 KB · 27 APDUs');
    expect(io.out).toEqual([]);
  });

  it('writes nothing when standard error is not a terminal', () => {
    const io = fakeIo({ stderr: false });
    const bar = new PersoProgressLine(io, 'qatar-id');
    bar.update(step(0, 3));
    bar.end();
    expect(io.err).toEqual([]);
  });
});

describe('BatchProgress', () => {
  it('one bar per reader and a total; result lines to standard output when it is piped', () => {
    const io = fakeIo({ stderr: true, stdout: false });
    const p = new BatchProgress(io);
    p.step('Virtual PCD 00 00', '29963400001', 4, 20);
    p.step('Virtual PCD 00 01', '29963400002', 7, 20);
    p.result(true);
    p.log('0BC8 29963400001 120 ms Virtual PCD 00 00', io.stdout);
    p.end();
    expect(io.out).toEqual(['0BC8 29963400001 120 ms Virtual PCD 00 00\n']);
    const text = io.err.join('');
    expect(text).toContain('cards: 1 verified, 0 failed');
    expect(text).toMatch(/Virtual PCD 00 01 \[[=\- ]*\] 29963400002 step 7\/20/);
  });

  it('result lines go above the bars when both outputs are the terminal; nothing drawn off a terminal', () => {
    const shared = fakeIo({ stderr: true, stdout: true });
    const p = new BatchProgress(shared);
    p.step('r0', 'h1', 1, 5);
    p.log('line above', shared.stdout);
    p.end();
    expect(shared.out).toEqual([]);
    expect(shared.err.join('')).toContain('line above');

    const piped = fakeIo({ stderr: false });
    const q = new BatchProgress(piped);
    q.step('r0', 'h1', 1, 5);
    q.log('result', piped.stdout);
    q.end();
    expect(piped.err).toEqual([]);
    expect(piped.out).toEqual(['result\n']);
  });
});
