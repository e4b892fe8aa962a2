import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { MIGRATION_LOCK_KEY } from '../../src/migrations/lock';
import { SHARED } from '../helpers';
import { faultStage, startDbKit, until } from './server';

// A cancelled run leaves nothing: Ctrl-C and SIGTERM cancel the statement in flight and roll it
// back; after kill -9 the next run says the earlier run's backend still works, and waits for it.
// Everything up to users exists; the next migration is the slow one.
const stage = faultStage('signals', async ({ ws, url }) => {
  expect(ws.dbKit(['migrate', '--package', 'shared'], { DATABASE_URL: url }).code).toBe(0);
});

const backendOf = async (what: string) =>
  stage.server.query<{ pid: number }>(
    `select pid from pg_stat_activity where datname = '${stage.database}' and application_name like 'db-kit migrate%' and query like '%${what}%' and state = 'active'`,
  );

for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  describe(`${signal} during a migration (D6)`, () => {
    it(`cancels the statement in flight, rolls back, says so and exits ${code}`, async () => {
      stage.ws.addMigration(
        SHARED,
        '20261201_090000_slow',
        'CREATE TABLE "slow_a" ("id" int);\n--> statement-breakpoint\nSELECT pg_sleep(60);',
      );
      const run = startDbKit(stage.ws, ['migrate', '--package', 'shared'], { DATABASE_URL: stage.url });
      await until(async () => (await backendOf('pg_sleep')).length > 0);
      run.child.kill(signal);
      const out = await run.done;
      expect(out.code, out.stderr).toBe(code);
      expect(out.stderr).toMatch(new RegExp(`Cancelled by ${signal}: 20261201_090000_slow was rolled back`));
      expect(out.stderr).not.toMatch(/\n\s+at /);
      const rows = await stage.server.query(
        `select to_regclass('public.slow_a') as t, (select count(*)::int from drizzle.__drizzle_migrations where name like '%slow') as n`,
        stage.database,
      );
      expect(rows[0]).toEqual({ t: null, n: 0 });
      // Nothing of the run still works or holds the lock.
      expect(await backendOf('pg_sleep')).toHaveLength(0);
      const [lock] = await stage.server.query<{ locked: boolean }>(
        `select pg_try_advisory_lock(${MIGRATION_LOCK_KEY}) as locked`,
        stage.database,
      );
      expect(lock!.locked).toBe(true);
    });
  });
}

describe('kill -9 during a migration (D6)', () => {
  it("makes the next run say the earlier run's backend is still working, wait for it, and apply nothing twice", async () => {
    stage.ws.addMigration(SHARED, '20261201_090000_blocked', 'ALTER TABLE "users" ADD COLUMN "phone" text;');
    // The test holds the table, so the killed run's backend keeps waiting after its client is gone.
    const blocker = postgres(stage.server.url(stage.database), { max: 1, onnotice: () => {} });
    const tx = await blocker.reserve();
    await tx.unsafe('begin; lock table "users" in access exclusive mode');
    try {
      const first = startDbKit(stage.ws, ['migrate', '--package', 'shared', '--lock-timeout-statement', '0'], {
        DATABASE_URL: stage.url,
      });
      await until(async () => (await backendOf('ALTER TABLE')).length > 0);
      first.child.kill('SIGKILL');
      await first.done;
      const second = startDbKit(stage.ws, ['migrate', '--package', 'shared'], { DATABASE_URL: stage.url });
      await second.waitFor(/an earlier run's backend is still working on "ALTER TABLE "users" ADD COLUMN "phone"/);
      await tx.unsafe('commit');
      const out = await second.done;
      expect(out.code, out.stderr).toBe(0);
      expect(out.stdout).toMatch(/its process \(pid \d+\) is gone/);
      const rows = await stage.server.query<{ n: number }>(
        `select count(*)::int as n from drizzle.__drizzle_migrations where name = '20261201_090000_blocked'`,
        stage.database,
      );
      expect(rows[0]!.n).toBe(1);
    } finally {
      tx.release();
      await blocker.end({ timeout: 0 });
    }
  });
});
