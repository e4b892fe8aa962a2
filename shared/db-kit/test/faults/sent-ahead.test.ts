import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Migrator } from '../../src/migrations/runner';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../../src/testing';
import { Workspace } from '../../src/workspace';
import { fixtureWorkspace, query, SHARED, tableExists } from '../helpers';

// The runner sends each migration while the one before it still runs (one round trip less per migration). What
// was sent ahead must never run unless the migration before it committed: after a failed statement, a COMMIT that
// fails, a cancel, or a lock timeout that is retried. A sequence tells: nextval is never rolled back, so a
// statement of the migration sent ahead that ran at all would have moved it.
let ws: FixtureWorkspace;
let db: TestDatabase;
let env: NodeJS.ProcessEnv;
beforeEach(async () => {
  ws = fixtureWorkspace();
  db = await createTestDatabase({ migrate: 'shared', label: 'faults_ahead' });
  env = { DATABASE_URL: db.url };
  ws.addMigration(SHARED, '20261201_080000_counter', 'CREATE SEQUENCE "ahead_counter";');
  expect((await ws.run(['migrate', '--package', 'shared'], env)).code).toBe(0);
});
afterEach(async () => {
  await db.drop();
  ws.remove();
});

/** The migration that comes after the failing one: bumps the counter and creates a table. */
function addFollower(): void {
  ws.addMigration(
    SHARED,
    '20261201_090001_after',
    'SELECT nextval(\'"ahead_counter"\');\n--> statement-breakpoint\nCREATE TABLE "after_t" ("id" int);',
  );
}

async function counterMoved(): Promise<boolean> {
  const [row] = await query<{ moved: boolean }>(db.url, 'select is_called as moved from "ahead_counter"');
  return row!.moved;
}

async function recorded(suffix: string): Promise<number> {
  const [row] = await query<{ n: number }>(
    db.url,
    `select count(*)::int as n from drizzle.__drizzle_migrations where name like '%${suffix}'`,
  );
  return row!.n;
}

describe('a migration sent ahead of one that fails', () => {
  it('does not run when the one before fails at COMMIT (its guard stops it)', async () => {
    ws.addMigration(
      SHARED,
      '20261201_090000_deferred',
      'CREATE TABLE "d_parent" ("id" int PRIMARY KEY);\n--> statement-breakpoint\n' +
        'CREATE TABLE "d_child" ("parent_id" int REFERENCES "d_parent" ("id") DEFERRABLE INITIALLY DEFERRED);\n' +
        '--> statement-breakpoint\nINSERT INTO "d_child" VALUES (1);',
    );
    addFollower();
    const run = await ws.run(['migrate', '--package', 'shared'], env);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/migration 20261201_090000_deferred failed at commit: .*\[23503\]/);
    expect(run.stderr).not.toMatch(/division by zero|after/);
    expect(run.stdout).not.toMatch(/applied/);
    expect(await counterMoved()).toBe(false);
    expect(await tableExists(db.url, 'public.after_t')).toBe(false);
    expect(await recorded('_after')).toBe(0);
    // The next run applies the follower once the failing migration is fixed.
    writeFileSync(
      join(ws.root, SHARED, 'drizzle', '20261201_090000_deferred.sql'),
      'CREATE TABLE "d_parent" ("id" int);',
    );
    const again = await ws.run(['migrate', '--package', 'shared'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(await recorded('_after')).toBe(1);
  });

  it('does not run when a statement of the one before fails', async () => {
    ws.addMigration(SHARED, '20261201_090000_broken', 'ALTER TABLE "no_such_table" ADD COLUMN "x" int;');
    addFollower();
    const run = await ws.run(['migrate', '--package', 'shared'], env);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/20261201_090000_broken\.sql:1:\d+: migration 20261201_090000_broken failed/);
    expect(await counterMoved()).toBe(false);
    expect(await recorded('_after')).toBe(0);
  });

  it('--single-transaction: keeps nothing and runs nothing after the failure', async () => {
    ws.addMigration(SHARED, '20261201_090000_broken', 'ALTER TABLE "no_such_table" ADD COLUMN "x" int;');
    addFollower();
    const run = await ws.run(['migrate', '--package', 'shared', '--single-transaction'], env);
    expect(run.code, run.stderr).toBe(1);
    expect(await counterMoved()).toBe(false);
    expect(await recorded('_after')).toBe(0);
  });
});

describe('a migration sent ahead, in-process runs of the runner', () => {
  async function startMigrator(): Promise<{ migrator: Migrator; sql: postgres.Sql }> {
    const workspace = Workspace.find(ws.root);
    const sql = postgres(db.url, { max: 2, onnotice: () => {} });
    return { migrator: new Migrator(sql, workspace.migrationOrder(workspace.resolve('shared'))), sql };
  }

  it('does not run when the one before is cancelled; the cancelled one is rolled back', async () => {
    ws.addMigration(
      SHARED,
      '20261201_090000_slow',
      'CREATE TABLE "slow_t" ("id" int);\n--> statement-breakpoint\nSELECT pg_sleep(30);',
    );
    addFollower();
    const { migrator, sql } = await startMigrator();
    const cancel = new AbortController();
    try {
      const running = migrator.migrate({ signal: cancel.signal }).then(
        () => undefined,
        (error: Error) => error,
      );
      for (let i = 0; i < 200; i++) {
        const rows =
          await sql`select 1 from pg_stat_activity where query like '%pg_sleep(30)%' and state = 'active' and pid <> pg_backend_pid()`;
        if (rows.length) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      cancel.abort('SIGINT');
      const error = await running;
      expect(error?.message).toMatch(/Cancelled by SIGINT: 20261201_090000_slow was rolled back/);
    } finally {
      await sql.end({ timeout: 0 });
    }
    expect(await tableExists(db.url, 'public.slow_t')).toBe(false);
    expect(await counterMoved()).toBe(false);
    expect(await recorded('_slow')).toBe(0);
    expect(await recorded('_after')).toBe(0);
  });

  it('runs once after the one before is retried on a lock timeout', async () => {
    ws.addMigration(SHARED, '20261201_090000_add_phone', 'ALTER TABLE "users" ADD COLUMN "phone" text;');
    addFollower();
    const holder = postgres(db.url, { max: 1, onnotice: () => {} });
    const tx = await holder.reserve();
    await tx.unsafe('begin; lock table "users" in access exclusive mode');
    const { migrator, sql } = await startMigrator();
    const lines: string[] = [];
    try {
      const result = await migrator.migrate({
        statementLockTimeoutMs: 300,
        log: (line) => {
          lines.push(line);
          if (/retry 1 of/.test(line)) tx.unsafe('commit').catch(() => {});
        },
      });
      expect(result.applied.map((a) => a.file.tag)).toEqual(['20261201_090000_add_phone', '20261201_090001_after']);
    } finally {
      tx.release();
      await holder.end({ timeout: 0 });
      await sql.end({ timeout: 0 });
    }
    expect(lines.join('\n')).toMatch(/retry 1 of 2/);
    const [row] = await query<{ value: string }>(db.url, 'select last_value::text as value from "ahead_counter"');
    expect(row!.value).toBe('1');
    expect(await recorded('_after')).toBe(1);
  });
});
