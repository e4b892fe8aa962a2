import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['shared/*/test/**/*.test.ts', 'teams/*/src/database/test/**/*.test.ts'],
    globalSetup: ['shared/db-kit/src/testing/global-setup.ts'],
    // Tests spawn the CLI and wait on real PostgreSQL work; they are slow, never flaky by timing.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
