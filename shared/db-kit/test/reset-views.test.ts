import { readdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import { fixtureWorkspace, query, TEAMD } from './helpers';

let ws: FixtureWorkspace;
let db: TestDatabase;
let env: NodeJS.ProcessEnv;

async function views(): Promise<string[]> {
  const rows = await query<{ name: string }>(
    db.url,
    `select relname as name from pg_class where relkind in ('v', 'm') and relnamespace = 'public'::regnamespace
     order by 1`,
  );
  return rows.map((r) => r.name);
}

beforeEach(async () => {
  ws = fixtureWorkspace();
  db = await createTestDatabase({ migrate: 'teamd', label: 'reset_views' });
  env = { DATABASE_URL: db.url };
  await query(
    db.url,
    `create view my_project_names as select name from teamd_projects;
     create materialized view my_user_count as select count(*) as n from users;
     create view my_on_a_view as select * from my_project_names;
     create view unrelated as select 1 as one;`,
  );
});
afterEach(async () => {
  await db.drop();
  ws.remove();
});

describe('reset and the views CASCADE would take with it (D21)', () => {
  it('without a terminal and without --yes, refuses naming the views; with --yes, says it dropped them', async () => {
    const refused = await ws.run(['reset', '--no-backup'], env);
    expect(refused.code, refused.stderr).toBe(2);
    for (const view of ['public.my_project_names', 'public.my_user_count', 'public.my_on_a_view'])
      expect(refused.stderr).toContain(view);
    expect(refused.stderr).not.toContain('unrelated');
    expect(refused.stderr).toMatch(/materialized view/);
    expect(await views()).toEqual(['my_on_a_view', 'my_project_names', 'my_user_count', 'unrelated']);

    const run = await ws.run(['reset', '--yes', '--no-backup'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout + run.stderr).toMatch(/public\.my_project_names/);
    expect(await views()).toEqual(['unrelated']);
  });

  it("a view a package's migration creates is not asked about: migrating again brings it back", async () => {
    await query(db.url, 'drop view my_on_a_view; drop view my_project_names; drop materialized view my_user_count;');
    const custom = await ws.run(['generate', '--package', 'teamd', '--custom', '--name', 'project_names_view']);
    expect(custom.code, custom.stderr).toBe(0);
    const name = readdirSync(ws.path(`${TEAMD}/drizzle`)).find((f) => f.endsWith('_project_names_view.sql'))!;
    ws.write(
      `${TEAMD}/drizzle/${name}`,
      `${ws.read(`${TEAMD}/drizzle/${name}`)}CREATE VIEW teamd_project_names AS SELECT name FROM teamd_projects;\n`,
    );
    expect((await ws.run(['migrate', '--package', 'teamd'], env)).code).toBe(0);
    const run = await ws.run(['reset', '--no-backup'], env);
    expect(run.stderr).not.toContain('teamd_project_names');
    const yes = await ws.run(['reset', '--yes', '--no-backup'], env);
    expect(yes.code, yes.stderr).toBe(0);
    expect(yes.stderr).not.toMatch(/Dropping .*view/);
    expect(await views()).toEqual(['teamd_project_names', 'unrelated']);
  });
});
