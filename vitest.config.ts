import { configDefaults, defineConfig } from 'vitest/config';

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
          globalSetup: ['test/pcsc/global-setup.ts'],
          fileParallelism: false,
        },
      },
    ],
  },
});
