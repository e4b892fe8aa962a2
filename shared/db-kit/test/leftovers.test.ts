import { rmSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StatusReport } from '../src/schema/status';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import { fixtureWorkspace, query, SHARED } from './helpers';

let ws: FixtureWorkspace;
let db: TestDatabase;
let env: NodeJS.ProcessEnv;
beforeEach(async () => {
  ws = fixtureWorkspace();
  db = await createTestDatabase({ label: 'leftovers' });
  env = { DATABASE_URL: db.url };
  expect((await ws.run(['migrate', '--all'], env)).code).toBe(0);
});
afterEach(async () => {
  await db.drop();
  ws.remove();
});

async function status(): Promise<{ code: number; text: string; json: StatusReport }> {
  const text = await ws.run(['status'], env);
  return { code: text.code, text: text.stdout, json: JSON.parse((await ws.run(['status', '--json'], env)).stdout) };
}

describe('status names tables left over from another branch as such', () => {
  it("a table with a team's prefix that no migration here creates", async () => {
    await query(db.url, 'create table teamd_scratch (id int)');
    const { code, text, json } = await status();
    expect(code).toBe(1);
    expect(json.leftovers).toEqual([
      {
        table: 'public.teamd_scratch',
        package: '@teamd/database',
        reason: expect.stringContaining("teamd_ is teamd's prefix"),
      },
    ]);
    expect(json.drift).toEqual([]);
    expect(text).toMatch(
      /leftover table public\.teamd_scratch: left by another branch or a push, not a hand-made change/,
    );
    expect(text).toMatch(/Not clean: 1 leftover table\./);
    expect(text).toMatch(/next: leftover tables: pnpm db:reset drops .*\.\/scripts\/db-workflow\.sh reset recreates/);
    expect(text).not.toMatch(/hand-made change: undo it/);
  });

  it('a table from a migration applied on another branch, whose file this branch lacks', async () => {
    const tag = ws.addMigration(SHARED, '20261201_090000_venues', 'CREATE TABLE "venues" ("id" serial PRIMARY KEY);');
    expect((await ws.run(['migrate', '--package', 'shared'], env)).code).toBe(0);
    // Back on a branch without it: the file and its journal entry are gone, the table stays.
    const journal = JSON.parse(ws.read(`${SHARED}/drizzle/meta/_journal.json`));
    journal.entries = journal.entries.filter((e: { tag: string }) => e.tag !== tag);
    writeFileSync(ws.path(`${SHARED}/drizzle/meta/_journal.json`), JSON.stringify(journal, null, 2));
    rmSync(ws.path(`${SHARED}/drizzle/${tag}.sql`));
    const { json, text } = await status();
    expect(json.leftovers).toEqual([
      { table: 'public.venues', reason: 'the database has migrations this branch lacks (1 of shared)' },
    ]);
    expect(text).toMatch(/leftover table public\.venues/);
  });

  it('a table made by hand, with no prefix and no foreign migration, is still drift', async () => {
    await query(db.url, 'create table scratch (id int)');
    const { json } = await status();
    expect(json.leftovers).toEqual([]);
    expect(json.drift).toEqual([{ kind: 'table', object: 'public.scratch', problem: 'unexpected' }]);
  });
});
