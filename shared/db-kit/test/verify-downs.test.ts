import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import { fixtureWorkspace, TEAMD } from './helpers';

const TABLES = `${TEAMD}/src/overlays/team-specific-tables.ts`;

interface JsonFinding {
  rule: string;
  severity: string;
  message: string;
}

/** Every kind of change the issue lists, each as its own migration, generated where drizzle-kit can. */
describe('check --verify-downs', async () => {
  let ws: FixtureWorkspace;
  let db: TestDatabase;
  let env: NodeJS.ProcessEnv;
  let tags: string[] = [];

  function edit(from: string, to: string): void {
    const text = ws.read(TABLES);
    expect(text).toContain(from);
    ws.write(TABLES, text.replace(from, to));
  }
  async function generate(name: string): Promise<void> {
    const run = await ws.run(['generate', '--package', 'teamd', '--name', name], env);
    expect(run.code === 0 || run.code === 1, run.stdout + run.stderr).toBe(true);
    expect(run.stdout).toMatch(`_${name}.down.sql`);
  }
  async function verify(): Promise<{ code: number; findings: JsonFinding[]; stderr: string }> {
    const run = await ws.run(['check', '--package', 'teamd', '--verify-downs', '--json'], env);
    const report = JSON.parse(run.stdout) as { files: Array<{ findings: JsonFinding[] }> };
    expect(report.files, `check --verify-downs exited ${run.code}: ${run.stdout}${run.stderr}`).toBeDefined();
    return { code: run.code, findings: report.files.flatMap((f) => f.findings), stderr: run.stderr };
  }

  beforeAll(async () => {
    ws = fixtureWorkspace();
    db = await createTestDatabase({ label: 'verify_downs' });
    env = { DATABASE_URL: db.url };
    edit(
      "import { integer, pgEnum, pgTable, serial, text, timestamp, varchar } from 'drizzle-orm/pg-core';",
      "import { bigint, index, integer, pgEnum, pgTable, serial, text, timestamp, varchar } from 'drizzle-orm/pg-core';",
    );
    edit("description: text('description'),", "description: text('description'),\n  budget: integer('budget'),");
    await generate('add_column');
    edit("  description: text('description'),\n", '');
    await generate('drop_column');
    ws.write(
      TABLES,
      `${ws.read(TABLES)}
export const teamdMilestones = pgTable('teamd_milestones', {
  id: serial('id').primaryKey(),
  title: varchar('title', { length: 255 }).notNull(),
  ownerId: integer('owner_id').references(() => users.id),
});
export const teamdPriority = pgEnum('teamd_priority', ['low', 'high']);
`,
    );
    await generate('table_with_fk_to_shared_and_enum');
    edit("['todo', 'doing', 'done']", "['todo', 'doing', 'done', 'archived']");
    await generate('add_enum_value');
    edit(
      "  assigneeId: integer('assignee_id').references(() => users.id),\n});",
      "  assigneeId: integer('assignee_id').references(() => users.id),\n}, (t) => [index('teamd_tasks_title_idx').on(t.title)]);",
    );
    await generate('add_index');
    edit("budget: integer('budget'),", "budget: bigint('budget', { mode: 'number' }),");
    await generate('change_type');
    edit(
      "leadId: integer('lead_id').references(() => users.id),",
      "leadId: integer('lead_id').notNull().references(() => users.id),",
    );
    await generate('not_null');
    const promote = await ws.run(['promote', '--package', 'teamd', '--tables', 'teamd_projects', '--yes'], env);
    expect(promote.code, promote.stdout + promote.stderr).toBe(0);
    // Hand-written: an index built concurrently, with the down its author wrote.
    ws.addMigration(
      TEAMD,
      '20991230_000000_index_concurrently',
      '-- db-kit: no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS "teamd_milestones_title_idx" ON "teamd_milestones" ("title");\n',
    );
    ws.write(
      `${TEAMD}/drizzle/20991230_000000_index_concurrently.down.sql`,
      '-- db-kit: no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS "teamd_milestones_title_idx";\n',
    );
    // A column rename, recorded in the snapshot's _meta as drizzle-kit writes it after its prompt.
    ws.addMigration(
      TEAMD,
      '20991231_000000_rename_column',
      'ALTER TABLE "teamd_milestones" RENAME COLUMN "title" TO "name";',
    );
    const meta = `${TEAMD}/drizzle/meta`;
    const last = readdirSync(ws.path(meta))
      .filter((f) => f.endsWith('_snapshot.json'))
      .sort()
      .at(-1)!;
    const snapshot = JSON.parse(ws.read(`${meta}/${last}`));
    const table = snapshot.tables['public.teamd_milestones'];
    table.columns.name = { ...table.columns.title, name: 'name' };
    delete table.columns.title;
    snapshot._meta = {
      schemas: {},
      tables: {},
      columns: { '"public"."teamd_milestones"."title"': '"public"."teamd_milestones"."name"' },
    };
    ws.write(`${meta}/${last}`, JSON.stringify(snapshot, null, 2));
    const backfill = await ws.run(['down', '--backfill', '--all'], env);
    expect(backfill.code, backfill.stderr).toBe(0);
    tags = readdirSync(ws.path(`${TEAMD}/drizzle`)).filter((f) => f.endsWith('.down.sql'));
  }, 600_000);
  afterAll(async () => {
    await db?.drop();
    ws?.remove();
  });

  it('writes a down for every kind of change, renames reversed as renames', () => {
    expect(tags).toHaveLength(11);
    const down = (slug: string) => ws.read(`${TEAMD}/drizzle/${tags.find((t) => t.includes(slug))!}`);
    expect(down('_add_column')).toMatch(/ALTER TABLE "teamd_projects" DROP COLUMN "budget";/);
    expect(down('_drop_column')).toMatch(
      /-- db-kit: irreversible column public\.teamd_projects\.description comes back/,
    );
    expect(down('_drop_column')).toMatch(/ADD COLUMN "description" text;/);
    expect(down('_add_enum_value')).toMatch(/-- db-kit: irreversible enum public\.teamd_task_status keeps 'archived'/);
    expect(down('_add_enum_value')).not.toMatch(/DROP TYPE|CREATE TYPE/);
    expect(down('_rename_column')).toMatch(/RENAME COLUMN "name" TO "title";/);
    expect(down('_rename_column')).not.toMatch(/DROP COLUMN|ADD COLUMN/);
    expect(down('_change_type')).toMatch(/SET DATA TYPE integer/);
    expect(down('_not_null')).toMatch(/DROP NOT NULL/);
    const adopt = readdirSync(ws.path('shared/database/drizzle')).find(
      (f) => f.includes('_adopt_') && f.endsWith('.down.sql'),
    )!;
    expect(ws.read(`shared/database/drizzle/${adopt}`) + down('_release_')).not.toMatch(/DROP/);
  });

  it('round-trips every migration of the package cleanly, reporting the irreversible ones as warnings', async () => {
    const { findings, stderr } = await verify();
    expect(findings.filter((f) => f.rule === 'down-roundtrip')).toEqual([]);
    // Team D's 11 and the 2 of shared it builds on (init and the adopt).
    expect(stderr).toMatch(/verify-downs: 13 round trips/);
    const irreversible = findings.filter((f) => f.rule === 'down-irreversible').map((f) => f.message);
    expect(irreversible).toEqual(expect.arrayContaining([expect.stringMatching(/teamd_task_status keeps 'archived'/)]));
  });

  it('names the migration and the object when a down does not undo its migration', async () => {
    const file = `${TEAMD}/drizzle/${tags.find((t) => t.includes('_add_index'))!}`;
    const good = ws.read(file);
    ws.write(file, 'SELECT 1;\n');
    try {
      const { code, findings } = await verify();
      expect(code).toBe(1);
      const roundTrip = findings.filter((f) => f.rule === 'down-roundtrip');
      expect(roundTrip).toHaveLength(1);
      expect(roundTrip[0]!.message).toMatch(
        /_add_index, after its down: index public\.teamd_tasks\.teamd_tasks_title_idx should not exist/,
      );
    } finally {
      ws.write(file, good);
    }
  });
});
