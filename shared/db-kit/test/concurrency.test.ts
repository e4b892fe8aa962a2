import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATION_LOCK_KEY } from '../src/migrations/lock';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import { query, SHARED, TEAMD, tableExists, fixtureWorkspace } from './helpers';

let ws: FixtureWorkspace;
beforeAll(() => {
  ws = fixtureWorkspace();
  for (let i = 1; i <= 5; i++) {
    ws.addMigration(
      SHARED,
      `2026120${i}_090000_shared_step_${i}`,
      `CREATE TABLE "shared_step_${i}" ("id" serial PRIMARY KEY);`,
    );
    ws.addMigration(
      TEAMD,
      `2026120${i}_093000_teamd_step_${i}`,
      `CREATE TABLE "teamd_step_${i}" ("id" serial PRIMARY KEY);`,
    );
  }
});
afterAll(() => ws.remove());

describe('eight migrate processes on one empty database', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ label: 'concurrency' });
  });
  afterAll(() => db.drop());

  it('all exit 0, and every migration is applied and recorded exactly once', async () => {
    const runs = await Promise.all(
      Array.from({ length: 8 }, () => ws.dbKitAsync(['migrate', '--all'], { DATABASE_URL: db.url })),
    );
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const appliedLines = runs.flatMap((r) => r.stdout.split('\n').filter((l) => /^\s+applied\s/.test(l)));
    expect(appliedLines).toHaveLength(12);
    for (const table of ['__drizzle_migrations', '__teamd_migrations']) {
      const rows = await query(db.url, `select name, count(*)::int as n from drizzle.${table} group by name`);
      expect(rows).toHaveLength(6);
      expect(rows.every((r) => r.n === 1)).toBe(true);
    }
    expect(await tableExists(db.url, 'public.teamd_step_5')).toBe(true);
  });
});

describe('the migration lock', () => {
  let db: TestDatabase;
  let holder: postgres.Sql;
  beforeAll(async () => {
    db = await createTestDatabase({ label: 'lock' });
    holder = postgres(db.url, {
      max: 1,
      onnotice: () => {},
      connection: { application_name: 'deploy-7 (held by a test)' },
    });
  });
  afterAll(async () => {
    await holder.end({ timeout: 0 });
    await db.drop();
  });

  it('makes a migrate that waits longer than --lock-timeout fail, naming who holds it, and run nothing', async () => {
    const [{ pid }] =
      (await holder`select pg_backend_pid() as pid, pg_advisory_lock(${MIGRATION_LOCK_KEY})`) as unknown as [
        { pid: number },
      ];
    try {
      const run = await ws.dbKitAsync(['migrate', '--all', '--lock-timeout', '1'], { DATABASE_URL: db.url });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(
        /^error: Gave up after 1 s waiting for the migration lock, held by "deploy-7 \(held by a test\)" \(pid (\d+), user /,
      );
      expect(run.stderr).toContain(`pid ${pid},`);
      expect(run.stderr).toMatch(/next: .*--lock-timeout/);
      expect(await tableExists(db.url, 'public.users')).toBe(false);
    } finally {
      await holder`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
    }
  });

  it('makes a migrate wait for the holder, then run', async () => {
    await holder`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    const waiting = ws.dbKitAsync(['migrate', '--all', '--lock-timeout', '60'], { DATABASE_URL: db.url });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await tableExists(db.url, 'public.users')).toBe(false);
    await holder`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
    const run = await waiting;
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Waiting for the migration lock, held by "deploy-7/);
    expect(await tableExists(db.url, 'public.teamd_step_5')).toBe(true);
  });
});
