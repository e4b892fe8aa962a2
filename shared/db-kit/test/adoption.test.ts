import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import { query, SHARED, TEAMD, fixtureWorkspace } from './helpers';

describe("a database migrated by drizzle-kit's own migrate", () => {
  let ws: FixtureWorkspace;
  let db: TestDatabase;
  beforeAll(async () => {
    ws = fixtureWorkspace();
    db = await createTestDatabase({ label: 'adoption' });
    for (const dir of [SHARED, TEAMD]) {
      // Each package's own drizzle.config.ts, hence the same bookkeeping tables we use.
      const run = spawnSync(process.execPath, [ws.path(`${dir}/node_modules/drizzle-kit/bin.cjs`), 'migrate'], {
        cwd: ws.path(dir),
        env: { ...process.env, DATABASE_URL: db.url },
        encoding: 'utf8',
      });
      expect(run.status, run.stdout + run.stderr).toBe(0);
    }
  });
  afterAll(async () => {
    await db.drop();
    ws.remove();
  });

  it('was recorded by drizzle: hash and created_at, no name', async () => {
    const rows = await query(db.url, 'select * from drizzle.__teamd_migrations');
    expect(rows).toHaveLength(1);
    expect(Object.keys(rows[0]!).sort()).toEqual(['created_at', 'hash', 'id']);
  });

  it('is adopted by our next run, which applies nothing and backfills the names', async () => {
    const run = await ws.run(['migrate', '--all'], { DATABASE_URL: db.url });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Adopted 2 migrations recorded by drizzle's migrator/);
    expect(run.stdout).toMatch(/Nothing to migrate/);
    for (const table of ['__drizzle_migrations', '__teamd_migrations']) {
      const rows = await query(db.url, `select id, name from drizzle.${table}`);
      expect(rows).toEqual([{ id: 1, name: expect.stringMatching(/^\d{8}_\d{6}_init$/) }]);
    }
  });

  it('keeps working with drizzle-kit migrate after adoption (same table, drizzle columns intact)', async () => {
    ws.addMigration(SHARED, '20261201_090000_add_phone', 'ALTER TABLE "users" ADD COLUMN "phone" varchar(32);');
    const run = spawnSync(process.execPath, [ws.path(`${SHARED}/node_modules/drizzle-kit/bin.cjs`), 'migrate'], {
      cwd: ws.path(SHARED),
      env: { ...process.env, DATABASE_URL: db.url },
      encoding: 'utf8',
    });
    expect(run.status, run.stdout + run.stderr).toBe(0);
    const again = await ws.run(['migrate', '--all'], { DATABASE_URL: db.url });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/Adopted 1 migration /);
    const rows = await query(db.url, 'select name from drizzle.__drizzle_migrations order by id');
    expect(rows.map((r) => r.name)).toEqual([expect.stringMatching(/_init$/), '20261201_090000_add_phone']);
  });
});
