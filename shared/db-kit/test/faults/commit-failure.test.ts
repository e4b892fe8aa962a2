import { afterEach, beforeEach, expect, it } from 'vitest';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../../src/testing';
import { fixtureWorkspace, query, SHARED, tableExists } from '../helpers';

// A migration whose statements all succeed but whose COMMIT fails (a deferred constraint): the record and the
// COMMIT travel in one message, so the failure reads "at commit", nothing of it is kept, and it is not recorded.
let ws: FixtureWorkspace;
let db: TestDatabase;
beforeEach(async () => {
  ws = fixtureWorkspace();
  db = await createTestDatabase({ label: 'faults_commit' });
});
afterEach(async () => {
  await db.drop();
  ws.remove();
});

it('a deferred constraint that fails at COMMIT: located "at commit", rolled back, not recorded', async () => {
  ws.addMigration(
    SHARED,
    '20261201_090000_deferred',
    'CREATE TABLE "d_parent" ("id" int PRIMARY KEY);\n--> statement-breakpoint\n' +
      'CREATE TABLE "d_child" ("parent_id" int REFERENCES "d_parent" ("id") DEFERRABLE INITIALLY DEFERRED);\n' +
      '--> statement-breakpoint\nINSERT INTO "d_child" VALUES (1);',
  );
  const run = await ws.run(['migrate', '--package', 'shared'], { DATABASE_URL: db.url });
  expect(run.code, run.stderr).toBe(1);
  expect(run.stderr).toMatch(
    /20261201_090000_deferred\.sql: migration 20261201_090000_deferred failed at commit: .*violates foreign key constraint.*\[23503\]/,
  );
  expect(run.stderr).toMatch(/Nothing of this migration was kept; earlier migrations stay applied\./);
  expect(await tableExists(db.url, 'public.d_parent')).toBe(false);
  const rows = await query(
    db.url,
    "select count(*)::int as n from drizzle.__drizzle_migrations where name like '%deferred'",
  );
  expect(rows[0]!.n).toBe(0);
  // The migrations before it committed and stay recorded.
  expect(await tableExists(db.url, 'public.users')).toBe(true);
});
