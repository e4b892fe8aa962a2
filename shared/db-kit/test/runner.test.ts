import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import { columnsOf, query, SHARED, tableExists, fixtureWorkspace } from './helpers';

let ws: FixtureWorkspace;
let db: TestDatabase;
let env: NodeJS.ProcessEnv;
beforeEach(async () => {
  ws = fixtureWorkspace();
  db = await createTestDatabase({ label: 'runner' });
  env = { DATABASE_URL: db.url };
});
afterEach(async () => {
  await db.drop();
  ws.remove();
});

describe('a migration merged after a newer one (late merge)', () => {
  beforeEach(async () => {
    ws.addMigration(SHARED, '20261201_090000_add_phone', 'ALTER TABLE "users" ADD COLUMN "phone" varchar(32);');
    expect((await ws.run(['migrate', '--package', 'shared'], env)).code).toBe(0);
    // Generated on a branch before add_phone, merged after add_phone was applied.
    ws.addMigration(SHARED, '20261130_120000_add_nickname', 'ALTER TABLE "users" ADD COLUMN "nickname" text;');
  });

  it('is applied on the next migrate and reported as out of order', async () => {
    const run = await ws.run(['migrate', '--package', 'shared'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/applied\s+shared\s+20261130_120000_add_nickname .*out of order/);
    expect(run.stdout).toMatch(/Applied 1 migration .*1 out of order/);
    expect(await columnsOf(db.url, 'users')).toEqual(expect.arrayContaining(['phone', 'nickname']));
    const rows = await query(db.url, 'select name, out_of_order from drizzle.__drizzle_migrations order by id');
    expect(rows.map((r) => [r.name, r.out_of_order])).toEqual([
      [expect.stringMatching(/_init$/), false],
      ['20261201_090000_add_phone', false],
      ['20261130_120000_add_nickname', true],
    ]);
  });

  it('is refused by --strict-order, which changes nothing', async () => {
    const run = await ws.run(['migrate', '--package', 'shared', '--strict-order'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^error: --strict-order: 1 pending migration\(s\) are older than an applied one: @large-event\/database: 20261130_120000_add_nickname/,
    );
    expect(await columnsOf(db.url, 'users')).not.toContain('nickname');
  });

  it('is listed by --dry-run as out of order, and nothing runs', async () => {
    const run = await ws.run(['migrate', '--package', 'shared', '--dry-run'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Would apply 1 migration/);
    expect(run.stdout).toMatch(/20261130_120000_add_nickname\.sql\s+\(out of order/);
    expect(await columnsOf(db.url, 'users')).not.toContain('nickname');
    const [count] = await query(db.url, 'select count(*)::int as n from drizzle.__drizzle_migrations');
    expect(count!.n).toBe(2);
  });
});

describe('a migration that fails in its second statement', () => {
  it('leaves no trace of its first statement nor a bookkeeping row, keeps earlier ones, and names the file', async () => {
    ws.addMigration(SHARED, '20261201_080000_add_phone', 'ALTER TABLE "users" ADD COLUMN "phone" varchar(32);');
    ws.addMigration(
      SHARED,
      '20261201_090000_audit_log',
      'CREATE TABLE "audit_log" ("id" serial PRIMARY KEY);\n--> statement-breakpoint\nALTER TABLE "users"\n  ADD COLUMN "mood" no_such_type;',
    );
    const run = await ws.run(['migrate', '--package', 'shared'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^error: \S+\/shared\/database\/drizzle\/20261201_090000_audit_log\.sql:4:21: migration 20261201_090000_audit_log failed at statement 2 of 2 \(ALTER TABLE "users"\): type "no_such_type" does not exist \[42704\]/,
    );
    expect(run.stderr).toMatch(/next: Nothing of this migration was kept/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(await tableExists(db.url, 'public.audit_log')).toBe(false);
    expect(await columnsOf(db.url, 'users')).toContain('phone');
    const names = await query(db.url, 'select name from drizzle.__drizzle_migrations order by id');
    expect(names.map((r) => r.name)).toEqual([expect.stringMatching(/_init$/), '20261201_080000_add_phone']);
  });

  it('is applied once fixed, on the next run', async () => {
    ws.addMigration(
      SHARED,
      '20261201_090000_audit_log',
      'CREATE TABLE "audit_log" ("id" serial PRIMARY KEY);\n--> statement-breakpoint\nSELECT 1/0;',
    );
    expect((await ws.run(['migrate', '--package', 'shared'], env)).code).toBe(1);
    ws.write(
      `${SHARED}/drizzle/20261201_090000_audit_log.sql`,
      'CREATE TABLE "audit_log" ("id" serial PRIMARY KEY);\n--> statement-breakpoint\nSELECT 1;',
    );
    const run = await ws.run(['migrate', '--package', 'shared'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(await tableExists(db.url, 'public.audit_log')).toBe(true);
  });
});

describe('a migration with the no-transaction header', () => {
  it('runs CREATE INDEX CONCURRENTLY and records itself afterwards', async () => {
    ws.addMigration(
      SHARED,
      '20261201_090000_users_created_at_idx',
      '-- db-kit: no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS "users_created_at_idx" ON "users" ("created_at");',
    );
    const run = await ws.run(['migrate', '--package', 'shared'], env);
    expect(run.code, run.stderr).toBe(0);
    const [index] = await query(
      db.url,
      `select i.indisvalid from pg_index i where i.indexrelid = 'public.users_created_at_idx'::regclass`,
    );
    expect(index?.indisvalid).toBe(true);
    const [row] = await query(
      db.url,
      `select execution_ms from drizzle.__drizzle_migrations where name = '20261201_090000_users_created_at_idx'`,
    );
    expect(row?.execution_ms).toBeGreaterThanOrEqual(0);
  });

  it('is needed: without it, CREATE INDEX CONCURRENTLY fails inside the transaction and nothing is recorded', async () => {
    ws.addMigration(
      SHARED,
      '20261201_090000_users_created_at_idx',
      'CREATE INDEX CONCURRENTLY "users_created_at_idx" ON "users" ("created_at");',
    );
    const run = await ws.run(['migrate', '--package', 'shared'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /20261201_090000_users_created_at_idx\.sql:1:1: .*cannot run inside a transaction block/,
    );
    const [count] = await query(
      db.url,
      `select count(*)::int as n from drizzle.__drizzle_migrations where name like '%users_created_at_idx'`,
    );
    expect(count!.n).toBe(0);
  });
});

describe('--single-transaction', () => {
  beforeEach(() => {
    ws.addMigration(SHARED, '20261201_090000_add_phone', 'ALTER TABLE "users" ADD COLUMN "phone" varchar(32);');
  });

  it('applies the whole run and records every migration', async () => {
    const run = await ws.run(['migrate', '--package', 'shared', '--single-transaction'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(await columnsOf(db.url, 'users')).toContain('phone');
    const rows = await query(db.url, 'select name from drizzle.__drizzle_migrations order by id');
    expect(rows.map((r) => r.name)).toEqual([expect.stringMatching(/_init$/), '20261201_090000_add_phone']);
  });

  it('keeps nothing of the run when a later migration fails, and names the file', async () => {
    ws.addMigration(
      SHARED,
      '20261201_100000_broken',
      'ALTER TABLE "users" ADD COLUMN "nickname" text;\n--> statement-breakpoint\nALTER TABLE "no_such_table" ADD COLUMN "x" int;',
    );
    const run = await ws.run(['migrate', '--package', 'shared', '--single-transaction'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/20261201_100000_broken\.sql:\d+:\d+: .*statement 2 of 2/);
    expect(run.stderr).toMatch(/Nothing of this run was kept/);
    expect(await tableExists(db.url, 'users')).toBe(false);
    expect(await tableExists(db.url, 'drizzle.__drizzle_migrations')).toBe(true);
    expect(await query(db.url, 'select name from drizzle.__drizzle_migrations')).toEqual([]);
  });

  it('refuses a run that holds a no-transaction migration, before anything runs', async () => {
    ws.addMigration(
      SHARED,
      '20261201_100000_concurrent_index',
      '-- db-kit: no-transaction\nCREATE INDEX CONCURRENTLY "users_name_idx" ON "users" ("name");',
    );
    const run = await ws.run(['migrate', '--package', 'shared', '--single-transaction'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--single-transaction cannot include 20261201_100000_concurrent_index/);
    expect(await tableExists(db.url, 'users')).toBe(false);
  });
});
