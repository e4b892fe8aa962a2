import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureWorkspace, TestDatabase } from '../src/testing';
import { createTestDatabase } from '../src/testing';
import { fixtureWorkspace, query, TEAMD } from './helpers';

const TABLES = `${TEAMD}/src/overlays/team-specific-tables.ts`;

describe('generate --rename: renames without a terminal', () => {
  let ws: FixtureWorkspace;
  let db: TestDatabase;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    ws = fixtureWorkspace();
    db = await createTestDatabase({ label: 'rename' });
    env = { DATABASE_URL: db.url };
    expect((await ws.run(['migrate', '--all'], env)).code).toBe(0);
    await query(db.url, `insert into users (email) values ('ada@example.com')`);
    await query(db.url, `insert into teamd_projects (name, lead_id) values ('p', 1)`);
    await query(
      db.url,
      `insert into teamd_tasks (project_id, title) select 1, 'task ' || i from generate_series(1, 25) i`,
    );
    // The table and one of its columns get new names in the schema.
    ws.write(
      TABLES,
      ws
        .read(TABLES)
        .replace("pgTable('teamd_tasks'", "pgTable('teamd_todos'")
        .replace("varchar('title'", "varchar('label'"),
    );
  });
  afterAll(async () => {
    await db.drop();
    ws.remove();
  });

  it('says why drizzle-kit stopped and how to declare the rename, and writes nothing', async () => {
    const before = readdirSync(ws.path(`${TEAMD}/drizzle`));
    const run = await ws.run(['generate', '--package', 'teamd', '--name', 'todos']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/must ask whether something in @teamd\/database was renamed/);
    expect(run.stderr).toMatch(/Interactive prompts require a TTY/);
    expect(run.stderr).toMatch(/next: Declare it: --rename old_table=new_table/);
    expect(readdirSync(ws.path(`${TEAMD}/drizzle`))).toEqual(before);
  });

  it('refuses a rename of a table the snapshot does not have (exit 2)', async () => {
    const run = await ws.run(['generate', '--package', 'teamd', '--rename', 'teamd_nothing=teamd_todos']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/latest snapshot has no table teamd_nothing/);
  });

  it('with --rename, writes the renames first, keeps the rows, and leaves nothing to generate or drift', async () => {
    const run = await ws.run([
      'generate',
      '--package',
      'teamd',
      '--name',
      'todos',
      '--rename',
      'teamd_tasks=teamd_todos',
      '--rename',
      'teamd_todos.title=teamd_todos.label',
    ]);
    // Renames break running code: squawk's renaming rules make it an error until waived.
    expect(run.stdout).toMatch(/renaming-table/);
    const name = readdirSync(ws.path(`${TEAMD}/drizzle`)).find((f) => f.endsWith('_todos.sql'))!;
    const text = ws.read(`${TEAMD}/drizzle/${name}`);
    expect(text).toMatch(
      /^ALTER TABLE "teamd_tasks" RENAME TO "teamd_todos";\n--> statement-breakpoint\nALTER TABLE "teamd_todos" RENAME COLUMN "title" TO "label";/,
    );
    expect(text).not.toMatch(/DROP TABLE|CREATE TABLE/);
    // Its down renames back, last rename first.
    const down = ws.read(`${TEAMD}/drizzle/${name.replace(/\.sql$/, '.down.sql')}`);
    expect(down).toMatch(
      /ALTER TABLE "teamd_todos" RENAME COLUMN "label" TO "title";\n--> statement-breakpoint\nALTER TABLE "teamd_todos" RENAME TO "teamd_tasks";\n$/,
    );

    const migrate = await ws.run(['migrate', '--package', 'teamd'], env);
    expect(migrate.code, migrate.stderr).toBe(0);
    const [row] = await query<{ n: number }>(db.url, `select count(label)::int as n from teamd_todos`);
    expect(row!.n).toBe(25);
    expect((await ws.run(['generate', '--package', 'teamd'])).stdout).toMatch(/nothing written/);
    const status = await ws.run(['status', '--json'], env);
    expect(JSON.parse(status.stdout).drift).toEqual([]);
  });
});
