import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureWorkspace } from '../../src/testing';
import { fixtureWorkspace, SHARED } from '../helpers';
import { FaultServer } from './server';

// No waiter blocks a concurrent index: runs waiting for the migration lock hold no snapshot, so a
// CREATE INDEX CONCURRENTLY in the run holding it never waits for them (B1).
let server: FaultServer;
let ws: FixtureWorkspace;
beforeAll(async () => {
  server = await FaultServer.start();
  ws = fixtureWorkspace();
});
afterAll(() => {
  server?.stop();
  ws?.remove();
});

describe('eight concurrent runs, one of whose migrations builds an index concurrently (B1)', () => {
  it('all exit 0; the index is valid and the migration recorded once', async () => {
    const url = await server.createDatabase('cic');
    // The slow migration keeps the lock long enough for every other run to queue behind it.
    ws.addMigration(SHARED, '20261201_090000_slow', 'SELECT pg_sleep(2);');
    ws.addMigration(
      SHARED,
      '20261201_100000_users_name_idx',
      '-- db-kit: no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS "users_name_idx" ON "users" ("name");',
    );
    const runs = await Promise.all(
      Array.from({ length: 8 }, () => ws.dbKitAsync(['migrate', '--package', 'shared'], { DATABASE_URL: url })),
    );
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const [index] = await server.query<{ valid: boolean }>(
      `select indisvalid as valid from pg_index where indexrelid = 'public.users_name_idx'::regclass`,
      'cic',
    );
    expect(index!.valid).toBe(true);
    const [row] = await server.query<{ n: number }>(
      `select count(*)::int as n from drizzle.__drizzle_migrations where name = '20261201_100000_users_name_idx'`,
      'cic',
    );
    expect(row!.n).toBe(1);
  });
});

describe('a no-transaction migration whose index ends INVALID (B1)', () => {
  it('fails and is not recorded, also when IF NOT EXISTS skips the invalid index; status reports it as drift', async () => {
    const url = await server.createDatabase('invalid');
    const local = fixtureWorkspace();
    try {
      expect(local.dbKit(['migrate', '--package', 'shared'], { DATABASE_URL: url }).code).toBe(0);
      await server.query(`insert into users (email, name) values ('a@x', 'same'), ('b@x', 'same')`, 'invalid');
      local.addMigration(
        SHARED,
        '20261201_100000_users_name_uniq',
        '-- db-kit: no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "users_name_uniq" ON "users" ("name");',
      );
      const first = local.dbKit(['migrate', '--package', 'shared'], { DATABASE_URL: url });
      expect(first.code).toBe(1);
      const second = local.dbKit(['migrate', '--package', 'shared'], { DATABASE_URL: url });
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(/left index "?users_name_uniq"? INVALID/);
      expect(second.stderr).toMatch(/next: Drop it \(DROP INDEX CONCURRENTLY/);
      const [row] = await server.query<{ n: number }>(
        `select count(*)::int as n from drizzle.__drizzle_migrations where name = '20261201_100000_users_name_uniq'`,
        'invalid',
      );
      expect(row!.n).toBe(0);
      const status = local.dbKit(['status', '--package', 'shared'], { DATABASE_URL: url });
      expect(status.code).toBe(1);
      expect(status.stdout).toMatch(/index public\.users_name_uniq differs: expected a valid index, found INVALID/);
    } finally {
      local.remove();
    }
  });
});
