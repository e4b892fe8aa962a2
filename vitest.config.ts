import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure functions and in-process commands, no database, no server; seconds)
// and `db` (real PostgreSQL: every test gets its own database from the global setup's server).
// `pnpm test` runs both; `pnpm test:unit` only the first.
export default defineConfig({
  test: {
    // vitest's default is one worker per core less one: a single worker on a 2-core machine. The db files
    // wait on PostgreSQL and on child processes as much as on the CPU, and each has its own databases and
    // workspace copy (the global setup's template pool serves clones to several workers at once). Set here,
    // not per project: projects with different maxWorkers would need their own sequence.groupOrder.
    maxWorkers: 3,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['shared/*/test/unit/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'db',
          include: ['shared/*/test/**/*.test.ts', 'teams/*/src/database/test/**/*.test.ts'],
          exclude: ['shared/*/test/unit/**', '**/node_modules/**'],
          globalSetup: ['shared/db-kit/src/testing/global-setup.ts'],
          // Tests run commands (in-process or as processes) on real PostgreSQL work; slow, never flaky by timing.
          testTimeout: 120_000,
          hookTimeout: 120_000,
          pool: 'forks',
          // A worker keeps its modules from one file to the next: the engine, drizzle-kit's API, tsx and the
          // SQL parser load once per worker instead of once per file. Nothing a test changes is global
          // (its workspace copy, its databases, vi.stubEnv undone).
          isolate: false,
        },
      },
    ],
  },
});
