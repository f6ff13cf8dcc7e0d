/**
 * The history recorder's own vitest config: the same Temporal dev server, FerretDB and workflow bundle as the
 * integration tests (`global-setup.ts`), but a file `npm test` never includes. Run it with
 * `npx vitest run --config test/support/record-histories.config.ts`.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// eslint-disable-next-line no-restricted-exports -- vitest reads its config from the default export.
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    pool: 'forks',
    include: ['test/support/record-histories.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
