import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATION_LOCK_KEY } from '../../src/migrations/lock';
import type { FixtureWorkspace } from '../../src/testing';
import { fixtureWorkspace, SHARED } from '../helpers';
import { FaultServer, startDbKit, until } from './server';

// A cancelled run leaves nothing: Ctrl-C and SIGTERM cancel the statement in flight and roll it
// back; after kill -9 the next run says the earlier run's backend still works, and waits for it.
let server: FaultServer;
let ws: FixtureWorkspace;
let url: string;
let n = 0;
beforeAll(async () => {
  server = await FaultServer.start();
});
afterAll(() => server?.stop());
beforeEach(async () => {
  ws?.remove();
  ws = fixtureWorkspace();
  url = await server.createDatabase(`signals_${n++}`);
  // Everything up to users exists; the next migration is the slow one.
  expect(ws.dbKit(['migrate', '--package', 'shared'], { DATABASE_URL: url }).code).toBe(0);
});
afterAll(() => ws?.remove());

const backendOf = async (database: string, what: string) =>
  server.query<{ pid: number }>(
    `select pid from pg_stat_activity where datname = '${database}' and application_name like 'db-kit migrate%' and query like '%${what}%' and state = 'active'`,
  );

for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  describe(`${signal} during a migration (D6)`, () => {
    it(`cancels the statement in flight, rolls back, says so and exits ${code}`, async () => {
      const database = `signals_${n - 1}`;
      ws.addMigration(
        SHARED,
        '20261201_090000_slow',
        'CREATE TABLE "slow_a" ("id" int);\n--> statement-breakpoint\nSELECT pg_sleep(60);',
      );
      const run = startDbKit(ws, ['migrate', '--package', 'shared'], { DATABASE_URL: url });
      await until(async () => (await backendOf(database, 'pg_sleep')).length > 0);
      run.child.kill(signal);
      const out = await run.done;
      expect(out.code, out.stderr).toBe(code);
      expect(out.stderr).toMatch(new RegExp(`Cancelled by ${signal}: 20261201_090000_slow was rolled back`));
      expect(out.stderr).not.toMatch(/\n\s+at /);
      const rows = await server.query(
        `select to_regclass('public.slow_a') as t, (select count(*)::int from drizzle.__drizzle_migrations where name like '%slow') as n`,
        database,
      );
      expect(rows[0]).toEqual({ t: null, n: 0 });
      // Nothing of the run still works or holds the lock.
      expect(await backendOf(database, 'pg_sleep')).toHaveLength(0);
      const [lock] = await server.query<{ locked: boolean }>(
        `select pg_try_advisory_lock(${MIGRATION_LOCK_KEY}) as locked`,
        database,
      );
      expect(lock!.locked).toBe(true);
    });
  });
}

describe('kill -9 during a migration (D6)', () => {
  it("makes the next run say the earlier run's backend is still working, wait for it, and apply nothing twice", async () => {
    const database = `signals_${n - 1}`;
    ws.addMigration(SHARED, '20261201_090000_blocked', 'ALTER TABLE "users" ADD COLUMN "phone" text;');
    // The test holds the table, so the killed run's backend keeps waiting after its client is gone.
    const blocker = postgres(server.url(database), { max: 1, onnotice: () => {} });
    const tx = await blocker.reserve();
    await tx.unsafe('begin; lock table "users" in access exclusive mode');
    try {
      const first = startDbKit(ws, ['migrate', '--package', 'shared', '--lock-timeout-statement', '0'], {
        DATABASE_URL: url,
      });
      await until(async () => (await backendOf(database, 'ALTER TABLE')).length > 0);
      first.child.kill('SIGKILL');
      await first.done;
      const second = startDbKit(ws, ['migrate', '--package', 'shared'], { DATABASE_URL: url });
      await second.waitFor(/an earlier run's backend is still working on "ALTER TABLE "users" ADD COLUMN "phone"/);
      await tx.unsafe('commit');
      const out = await second.done;
      expect(out.code, out.stderr).toBe(0);
      expect(out.stdout).toMatch(/its process \(pid \d+\) is gone/);
      const rows = await server.query<{ n: number }>(
        `select count(*)::int as n from drizzle.__drizzle_migrations where name = '20261201_090000_blocked'`,
        database,
      );
      expect(rows[0]!.n).toBe(1);
    } finally {
      tx.release();
      await blocker.end({ timeout: 0 });
    }
  });
});
