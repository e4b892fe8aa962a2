import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureWorkspace } from '../../src/testing';
import { fixtureWorkspace, SHARED } from '../helpers';
import { FaultServer } from './server';

let server: FaultServer;
let ws: FixtureWorkspace;
beforeAll(async () => {
  server = await FaultServer.start();
  ws = fixtureWorkspace();
  ws.addMigration(SHARED, '20261201_090000_add_phone', 'ALTER TABLE "users" ADD COLUMN "phone" varchar(32);');
  ws.addMigration(SHARED, '20261201_100000_add_city', 'ALTER TABLE "users" ADD COLUMN "city" text;');
});
afterAll(() => {
  server?.stop();
  ws?.remove();
});

describe('exit 0 means durable (D3)', () => {
  it('keeps every migration it reported as applied through a server crash right after the run', async () => {
    const url = await server.createDatabase('durable');
    const run = await ws.dbKitAsync(['migrate', '--package', 'shared'], { DATABASE_URL: url });
    expect(run.code, run.stderr).toBe(0);
    const reported = run.stdout.split('\n').filter((l) => /^\s+applied\s/.test(l)).length;
    expect(reported).toBe(3);
    server.crash();
    server.restart();
    const rows = await server.query<{ name: string }>(
      'select name from drizzle.__drizzle_migrations order by id',
      'durable',
    );
    expect(rows.map((r) => r.name)).toEqual([
      expect.stringMatching(/_init$/),
      '20261201_090000_add_phone',
      '20261201_100000_add_city',
    ]);
    const columns = await server.query<{ column_name: string }>(
      `select column_name from information_schema.columns where table_name = 'users' and column_name = 'city'`,
      'durable',
    );
    expect(columns).toHaveLength(1);
  });

  it('keeps a --single-transaction run through a crash right after it', async () => {
    const url = await server.createDatabase('durable_group');
    const run = await ws.dbKitAsync(['migrate', '--package', 'shared', '--single-transaction'], { DATABASE_URL: url });
    expect(run.code, run.stderr).toBe(0);
    server.crash();
    server.restart();
    const rows = await server.query('select name from drizzle.__drizzle_migrations', 'durable_group');
    expect(rows).toHaveLength(3);
  });
});
