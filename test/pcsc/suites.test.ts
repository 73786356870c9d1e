/**
 * The card-OS conformance suite (test-vectors/card-os/) through the real PC/SC stack: for every
 * file, a fresh card from that file's `card:` header is served on vpcd slot 0 by an in-process
 * {@link VpcdCardServer}, and the library runner replays the file over {@link PcscTransport}
 * through pcscd — as `chipwright replay --reader` does. Every step must pass: `power on`,
 * `reset` and `power off` become PC/SC connect, SCARD_RESET_CARD and SCARD_UNPOWER_CARD, which
 * pcscd turns into vpcd's power controls, so the power cycles the files contain run for real.
 *
 * The one thing vpcd cannot carry is a one-byte command APDU (its one-byte frames are the power
 * controls): those steps live in `apdu-one-byte.vec`, which `requires: one-byte-command`, and the
 * run excludes that capability as `replay --reader --without one-byte-command` would.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readVectorFile } from '../../src/conformance/read.js';
import { prepareReplay, runReplay } from '../../src/conformance/replay.js';
import type { StepResult } from '../../src/conformance/runner.js';
import type { Vector } from '../../src/conformance/vector.js';
import { PcscTransport } from '../../src/transport/pcsc.js';
import { VpcdCardServer } from '../../src/transport/vpcd.js';
import { describeWithStack, pcscStack, stackReady, waitForSlot } from './helpers.js';

const SUITE = fileURLToPath(new URL('../../test-vectors/card-os/', import.meta.url));
const FILES = readdirSync(SUITE)
  .filter((f) => f.endsWith('.vec'))
  .sort();

/** What vpcd lacks (see `CAPABILITIES` in src/conformance/vector.ts). */
const WITHOUT: readonly string[] = ['one-byte-command'];

describeWithStack('the card-OS suite through pcscd + vpcd', () => {
  let transport: PcscTransport | undefined;
  let server: VpcdCardServer | undefined;
  let vectors: Vector[] = [];

  beforeAll(async () => {
    if (!stackReady()) return;
    await waitForSlot(0, false);
    vectors = FILES.map((f) => readVectorFile(`${SUITE}${f}`));
  });

  afterAll(async () => {
    await transport?.close();
    await server?.close();
    if (server !== undefined) await waitForSlot(0, false).catch(() => undefined);
  });

  it('ships card-OS vector files', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(10);
  });

  it.each(FILES)('%s: every step passes through PC/SC', async (file) => {
    const vector = vectors.find((v) => v.source.endsWith(file))!;
    // The simulator plan makes the file's own fresh card; the transport plan runs it on the reader.
    const sim = await prepareReplay([vector], { target: { kind: 'simulator' } });
    const onReader = await prepareReplay([vector], { target: { kind: 'transport' } });
    expect([...sim.errors, ...onReader.errors]).toEqual([]);
    const card = sim.plan.files[0]!.makeCard!();

    // Swap the card in slot 0: the previous one leaves, this file's fresh card goes in.
    if (server !== undefined) {
      await server.close();
      await waitForSlot(0, false);
    }
    server = new VpcdCardServer(card, { port: pcscStack().ports[0]!, retryMs: { min: 20, max: 200 } }).start();
    await server.connected();
    const reader = await waitForSlot(0, true);
    transport ??= await PcscTransport.open(reader.name, { cardTimeoutMs: 5000 });

    const steps: StepResult[] = [];
    const r = await runReplay(onReader.plan, { target: { kind: 'transport', transport, name: reader.name }, without: WITHOUT, onStep: (s) => steps.push(s) });
    const failed = steps
      .filter((s) => s.verdict === 'fail' || s.verdict === 'error')
      .map((s) => `${file}:${s.line} ${s.shown}: ${s.message ?? ''}`);
    expect(failed).toEqual([]);
    expect(r.aborted).toBeUndefined();
    if (vector.header.requires.some((c) => WITHOUT.includes(c.name))) {
      // Runs on the simulator and real readers (test/conformance-suites.test.ts), not via vpcd.
      expect(r.files[0]!.verdict).toBe('skipped');
      return;
    }
    expect(r.files[0]!.verdict).toBe('pass');
    expect(r.steps.passed).toBeGreaterThan(0);
  });
});
