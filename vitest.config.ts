import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Temporal workers hold native resources: run every file in its own forked process.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 180_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/contract/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: [
            'test/workflow/**/*.test.ts',
            'test/integration/**/*.test.ts',
            'test/e2e/**/*.test.ts',
            'test/attacks/**/*.test.ts',
            // Schemathesis against the API on the test stack (test/fuzz/schemathesis.test.ts).
            'test/fuzz/**/*.test.ts',
          ],
          // Starts (or installs, then starts) the Temporal dev server and a MongoDB-compatible server once per run.
          globalSetup: ['test/support/global-setup.ts'],
          // Two cores: files that each run a worker would only fight over them.
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          // The fault suite (`npm run test:faults`, not yet in `npm test`): workers, Temporal, MongoDB and
          // the stand-ins broken while a crowd runs every process.
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          fileParallelism: false,
        },
      },
    ],
  },
});
