import { configDefaults, defineConfig } from 'vitest/config';
import { isCi, missingParts, runningPcscd } from './test/pcsc/stack.js';

/**
 * Files made only of suites that need the PC/SC stack. Outside CI, on a machine that cannot have
 * the stack (parts missing, or pcscd not running and no root to start it), they are left out of
 * the run rather than reported as skipped tests; test/pcsc/global-setup.ts says so and how to run
 * them. Under CI they always run, and fail without the stack.
 */
const PCSC_STACK_FILES = ['test/pcsc/interop.test.ts', 'test/pcsc/transport.test.ts', 'test/pcsc/suites.test.ts', 'test/pcsc/feed-batch.test.ts', 'test/pcsc/batch-reader.test.ts'];
const pcscStackUnavailable =
  !isCi() &&
  (missingParts().length > 0 ||
    (runningPcscd() === undefined && (process.getuid?.() !== 0 || process.env.CHIPWRIGHT_PCSCD_START === '0')));

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 20_000,
    // Projects extend this config, and array options merge: `include` is set per project only.
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, 'test/pcsc/**'] } },
      {
        extends: true,
        test: {
          // The PC/SC tests share pcscd's vpcd reader slots, so their files run one at a time;
          // the global setup finds or starts pcscd and stops what it started (test/pcsc/stack.ts).
          name: 'pcsc',
          include: ['test/pcsc/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...(pcscStackUnavailable ? PCSC_STACK_FILES : [])],
          globalSetup: ['test/pcsc/global-setup.ts'],
          fileParallelism: false,
        },
      },
    ],
  },
});
