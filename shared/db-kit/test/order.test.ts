import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import { query, SHARED, TEAMD, tableExists, fixtureWorkspace } from './helpers';

let ws: FixtureWorkspace;
let db: TestDatabase;
let env: NodeJS.ProcessEnv;
beforeEach(async () => {
  ws = fixtureWorkspace();
  db = await createTestDatabase({ label: 'order' });
  env = { DATABASE_URL: db.url };
  expect((await ws.run(['migrate', '--all'], env)).code).toBe(0);
  // Team D generated its migration first (older timestamp), on top of a shared table merged later.
  ws.addMigration(
    TEAMD,
    '20261201_100000_bookings',
    'CREATE TABLE "teamd_bookings" ("id" serial PRIMARY KEY, "venue_id" integer REFERENCES "venues"("id"));',
  );
  ws.addMigration(SHARED, '20261201_110000_venues', 'CREATE TABLE "venues" ("id" serial PRIMARY KEY, "name" text);');
});
afterEach(async () => {
  await db.drop();
  ws.remove();
});

describe('pending migrations of several packages', () => {
  it('apply in dependency order: the shared package first, whatever the timestamps', async () => {
    const run = await ws.run(['migrate', '--package', 'teamd'], env);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.split('\n').filter((l) => l.includes('applied '));
    expect(lines[0]).toMatch(/applied\s+shared\s+20261201_110000_venues/);
    expect(lines[1]).toMatch(/applied\s+teamd\s+20261201_100000_bookings/);
    expect(await tableExists(db.url, 'teamd_bookings')).toBe(true);
    // The summary names both packages, not just "(shared)".
    expect(run.stdout).toMatch(/Applied 2 migrations \(shared \+ teamd\)/);
  });

  it('are listed in that order by --dry-run, and by migrate --all', async () => {
    const dry = await ws.run(['migrate', '--all', '--dry-run'], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout.indexOf('20261201_110000_venues')).toBeLessThan(dry.stdout.indexOf('20261201_100000_bookings'));
    const run = await ws.run(['migrate', '--all'], env);
    expect(run.code, run.stderr).toBe(0);
    const [row] = await query<{ n: number }>(db.url, 'select count(*)::int as n from drizzle.__teamd_migrations');
    expect(row!.n).toBeGreaterThan(1);
  });
});

describe('a shared migration that requires a team migration (the one exception)', () => {
  it('pulls the team migration in first, and the summary names the team too', async () => {
    ws.addMigration(
      SHARED,
      '20261201_120000_adopt_bookings',
      '-- db-kit: requires @teamd/database 20261201_100000_bookings\nCOMMENT ON TABLE "teamd_bookings" IS \'adopted\';',
    );
    const run = await ws.run(['migrate', '--package', 'shared'], env);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.split('\n').filter((l) => l.includes('applied '));
    expect(lines.map((l) => /applied\s+(\S+)\s+(\S+)/.exec(l)!.slice(1).join(' '))).toEqual([
      'shared 20261201_110000_venues',
      'teamd 20261201_100000_bookings',
      'shared 20261201_120000_adopt_bookings',
    ]);
    expect(run.stdout).toMatch(/Applied 3 migrations \(shared \+ teamd\)/);
  });
});
