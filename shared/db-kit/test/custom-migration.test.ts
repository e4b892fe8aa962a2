import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import { query, TEAMD, fixtureWorkspace } from './helpers';

const SEARCH_SQL = `CREATE EXTENSION IF NOT EXISTS pg_trgm;
--> statement-breakpoint
CREATE FUNCTION teamd_project_search(name text, description text) RETURNS tsvector
  LANGUAGE sql IMMUTABLE AS $$ SELECT to_tsvector('simple', coalesce(name, '') || ' ' || coalesce(description, '')) $$;
`;

describe('generate --custom: a hand-written migration for extensions and functions', () => {
  let ws: FixtureWorkspace;
  let db: TestDatabase;
  let file: string;
  beforeAll(async () => {
    ws = fixtureWorkspace();
    db = await createTestDatabase({ label: 'custom_migration' });
  });
  afterAll(async () => {
    await db.drop();
    ws.remove();
  });

  it('writes an empty, timestamped, journaled migration with a snapshot that repeats the previous one', async () => {
    const journalBefore = JSON.parse(ws.read(`${TEAMD}/drizzle/meta/_journal.json`));
    const run = await ws.run(['generate', '--package', 'teamd', '--custom', '--name', 'project search']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const name = readdirSync(ws.path(`${TEAMD}/drizzle`)).find((f) => f.endsWith('_project_search.sql'));
    expect(name).toMatch(/^\d{8}_\d{6}_project_search\.sql$/);
    file = `${TEAMD}/drizzle/${name}`;
    expect(run.stdout).toContain(`Wrote ${file}: an empty migration. Put your SQL in it, then run`);
    expect(ws.read(file)).toMatch(/^-- Hand-written migration of @teamd\/database/);

    const journal = JSON.parse(ws.read(`${TEAMD}/drizzle/meta/_journal.json`));
    expect(journal.entries).toHaveLength(journalBefore.entries.length + 1);
    const entry = journal.entries.at(-1);
    expect(`${entry.tag}.sql`).toBe(name);
    const snapshot = (idx: number) => {
      const { id, prevId, ...rest } = JSON.parse(
        ws.read(`${TEAMD}/drizzle/meta/${String(idx).padStart(4, '0')}_snapshot.json`),
      );
      return { id, prevId, rest };
    };
    const previous = snapshot(entry.idx - 1);
    const written = snapshot(entry.idx);
    expect(written.prevId).toBe(previous.id);
    expect(written.rest).toEqual(previous.rest);
    // The schema still has no change of its own to generate.
    expect((await ws.run(['generate', '--package', 'teamd'])).stdout).toMatch(/nothing written/);
  });

  it('refuses a custom migration without a name (exit 2)', async () => {
    const run = await ws.run(['generate', '--package', 'teamd', '--custom']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/needs a name/);
  });

  it("migrates the hand-written SQL, and check counts its extension and function as Team D's", async () => {
    ws.write(file, `${ws.read(file)}${SEARCH_SQL}`);
    const migrate = await ws.run(['migrate', '--package', 'teamd'], { DATABASE_URL: db.url });
    expect(migrate.code, migrate.stderr).toBe(0);
    const [found] = await query<{ ext: string; fn: string }>(
      db.url,
      `select (select extname from pg_extension where extname = 'pg_trgm') as ext,
              to_regprocedure('teamd_project_search(text,text)')::text as fn`,
    );
    expect(found).toEqual({ ext: 'pg_trgm', fn: 'teamd_project_search(text,text)' });

    const check = await ws.run(['check', '--all']);
    expect(check.code, check.stdout).toBe(0);
    // Shared may not drop Team D's function.
    const shared = await ws.run(['generate', '--package', 'shared', '--custom', '--name', 'take_search']);
    expect(shared.code).toBe(0);
    const sharedFile = readdirSync(ws.path('shared/database/drizzle')).find((f) => f.endsWith('_take_search.sql'));
    ws.write(`shared/database/drizzle/${sharedFile}`, 'DROP FUNCTION teamd_project_search(text, text);');
    const foreign = await ws.run(['check', '--all']);
    expect(foreign.code).toBe(1);
    expect(foreign.stdout).toMatch(/foreign-object: drops function teamd_project_search, owned by @teamd\/database/);
  });
});
