import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import { fixtureWorkspace, query } from './helpers';

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
    const refused = ws.dbKit(['reset', '--no-backup'], env);
    expect(refused.code, refused.stderr).toBe(2);
    for (const view of ['public.my_project_names', 'public.my_user_count', 'public.my_on_a_view'])
      expect(refused.stderr).toContain(view);
    expect(refused.stderr).not.toContain('unrelated');
    expect(refused.stderr).toMatch(/materialized view/);
    expect(await views()).toEqual(['my_on_a_view', 'my_project_names', 'my_user_count', 'unrelated']);

    const run = ws.dbKit(['reset', '--yes', '--no-backup'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout + run.stderr).toMatch(/public\.my_project_names/);
    expect(await views()).toEqual(['unrelated']);
  });
});
