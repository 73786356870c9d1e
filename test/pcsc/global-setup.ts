/**
 * Global setup of the `pcsc` vitest project: makes the PC/SC stack usable for the end-to-end
 * tests (starting pcscd with the TCP_NODELAY preload when it is installed but not running, we
 * are root, and CHIPWRIGHT_PCSCD_START is not 0), hands what it found to the tests (`inject('pcscStack')`), and stops what it
 * started, by PID, when the run ends.
 *
 * Without the stack: under CI the stack-dependent tests fail with the reason; elsewhere they are
 * left out, and this says which and how to run them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { ensurePcscStack, isCi, PCSC_APT_PACKAGES, type PcscStackInfo } from './stack.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pcscStack: PcscStackInfo;
  }
}

const HERE = dirname(fileURLToPath(import.meta.url));

/** Test files that need the stack (they use `describeWithStack`). */
function stackTestFiles(): string[] {
  return readdirSync(HERE)
    .filter((f) => f.endsWith('.test.ts') && readFileSync(join(HERE, f), 'utf8').includes('describeWithStack('))
    .map((f) => relative(process.cwd(), join(HERE, f)));
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // CHIPWRIGHT_PCSCD_START=0: use a running pcscd, never start one.
  const { info, stop } = await ensurePcscStack({ start: process.env.CHIPWRIGHT_PCSCD_START !== '0', nodelay: true });
  project.provide('pcscStack', info);
  if (info.ready) {
    const how = info.started ? `started pcscd (pid ${info.pcscdPid})` : `using the running pcscd${info.pcscdPid !== undefined ? ` (pid ${info.pcscdPid})` : ''}`;
    const nd = info.nodelay === true ? 'with' : info.nodelay === false ? 'WITHOUT (each APDU ~40 ms)' : 'with or without (unknown)';
    process.stdout.write(`PC/SC tests: ${how}, ${nd} the TCP_NODELAY preload; vpcd ports ${info.ports.join(', ')}\n`);
  } else if (!isCi()) {
    const files = stackTestFiles();
    process.stdout.write(
      [
        '',
        `PC/SC tests LEFT OUT (${info.reason}):`,
        ...files.map((f) => `  ${f}`),
        'To run them:',
        `  sudo apt-get install --no-install-recommends ${PCSC_APT_PACKAGES.join(' ')}   (then npm install, for the pcsclite package)`,
        '  then, as root, npm test -- test/pcsc   (the tests start and stop pcscd themselves),',
        '  or start pcscd yourself (sudo pcscd --foreground &) and run npm test; .ci/run does all of it.',
        '',
      ].join('\n'),
    );
  }
  return stop;
}
