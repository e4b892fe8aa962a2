import { existsSync, readdirSync, unlinkSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import { columnsOf, fixtureWorkspace, query, tableExists, TEAMD } from './helpers';

const TABLES = `${TEAMD}/src/overlays/team-specific-tables.ts`;

let ws: FixtureWorkspace;
let db: TestDatabase;
let env: NodeJS.ProcessEnv;
beforeEach(async () => {
  ws = fixtureWorkspace();
  db = await createTestDatabase({ label: 'rollback' });
  env = { DATABASE_URL: db.url };
});
afterEach(async () => {
  await db.drop();
  ws.remove();
});

function git(...args: string[]) {
  const run = ws.exec('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args]);
  expect(run.code, run.stderr).toBe(0);
  return run.stdout;
}

function addBudgetColumn(): void {
  ws.write(
    TABLES,
    ws
      .read(TABLES)
      .replace("description: text('description'),", "description: text('description'),\n  budget: integer('budget'),"),
  );
}

function addMilestonesTable(): void {
  ws.write(
    TABLES,
    `${ws.read(TABLES)}
export const teamdMilestones = pgTable('teamd_milestones', {
  id: serial('id').primaryKey(),
  projectId: integer('project_id').notNull().references(() => teamdProjects.id),
  title: varchar('title', { length: 255 }).notNull(),
  ownerId: integer('owner_id').references(() => users.id),
});
`,
  );
}

async function generate(name: string): Promise<string> {
  const run = await ws.run(['generate', '--package', 'teamd', '--name', name], env);
  expect(run.code, run.stdout + run.stderr).toBe(0);
  const file = readdirSync(ws.path(`${TEAMD}/drizzle`)).find(
    (f) => f.endsWith(`_${name}.sql`) && !f.includes('.down.'),
  );
  return file!.replace(/\.sql$/, '');
}

async function schemaDump(url: string): Promise<string> {
  const run = ws.exec('pg_dump', ['--schema-only', '--no-owner', '--exclude-table=drizzle.db_kit_repairs*', url]);
  expect(run.code, run.stderr).toBe(0);
  return run.stdout.replace(/^\\(un)?restrict .*$/gm, '');
}

describe('generate writes the down beside the migration', () => {
  it('computes it by diffing the new snapshot back to the previous one', async () => {
    addBudgetColumn();
    const tag = await generate('add_budget');
    expect(ws.read(`${TEAMD}/drizzle/${tag}.down.sql`)).toMatch(
      /^-- db-kit: down of \d{8}_\d{6}_add_budget.*\nALTER TABLE "teamd_projects" DROP COLUMN "budget";\n$/,
    );
    // check treats the down as belonging to its migration, not as a stray file.
    const check = await ws.run(['check', '--package', 'teamd', '--json'], env);
    const findings = JSON.parse(check.stdout).files.flatMap((f: { findings: Array<{ rule: string }> }) => f.findings);
    expect(findings.map((f: { rule: string }) => f.rule)).not.toContain('stray-sql');
  });
});

describe('migrate stores the down in the bookkeeping row', () => {
  it('adds the down_sql column to an older bookkeeping table and records the down', async () => {
    expect((await ws.run(['migrate', '--package', 'teamd'], env)).code).toBe(0);
    // A bookkeeping table from before rollback existed.
    await query(db.url, 'alter table drizzle.__teamd_migrations drop column down_sql');
    addBudgetColumn();
    const tag = await generate('add_budget');
    const run = await ws.run(['migrate', '--package', 'teamd'], env);
    expect(run.code, run.stderr).toBe(0);
    const rows = await query<{ name: string; down_sql: string | null }>(
      db.url,
      'select name, down_sql from drizzle.__teamd_migrations order by id',
    );
    expect(rows.at(-1)).toEqual({ name: tag, down_sql: ws.read(`${TEAMD}/drizzle/${tag}.down.sql`) });
    expect(rows[0]!.down_sql).toBeNull();
  });
});

describe('rollback', () => {
  beforeEach(async () => {
    expect((await ws.run(['migrate', '--package', 'teamd'], env)).code).toBe(0);
  });

  it('rolls back the newest migration, with its row, and audits it', async () => {
    addBudgetColumn();
    const tag = await generate('add_budget');
    expect((await ws.run(['migrate', '--package', 'teamd'], env)).code).toBe(0);
    expect(await columnsOf(db.url, 'teamd_projects')).toContain('budget');
    const run = await ws.run(['rollback', '--package', 'teamd', '--steps', '1'], env);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(`down  ${tag}  from its .down.sql`);
    expect(run.stdout).toMatch('drops column public.teamd_projects.budget: 0 non-null values');
    expect(await columnsOf(db.url, 'teamd_projects')).not.toContain('budget');
    expect(await query(db.url, 'select name from drizzle.__teamd_migrations where name = $1', [tag])).toEqual([]);
    const [audit] = await query(db.url, 'select package, migration, action from drizzle.db_kit_repairs');
    expect(audit).toEqual({ package: '@teamd/database', migration: tag, action: 'rollback' });
    // And migrate applies it again.
    expect((await ws.run(['migrate', '--package', 'teamd'], env)).code).toBe(0);
    expect(await columnsOf(db.url, 'teamd_projects')).toContain('budget');
  });

  it('refuses a migration without a down, and runs it with --force --reason', async () => {
    ws.addMigration(TEAMD, '20261201_090000_add_note', 'ALTER TABLE "teamd_projects" ADD COLUMN "note" text;');
    expect((await ws.run(['migrate', '--package', 'teamd'], env)).code).toBe(0);
    const refused = await ws.run(['rollback', '--package', 'teamd', '--steps', '1', '--yes'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/Refusing to roll back: 20261201_090000_add_note has no down/);
    expect(refused.stderr).toMatch(/--force --reason/);
    const forced = await ws.run(
      ['rollback', '--package', 'teamd', '--steps', '1', '--force', '--reason', 'the column stays, row goes'],
      env,
    );
    expect(forced.code, forced.stderr).toBe(0);
    expect(await columnsOf(db.url, 'teamd_projects')).toContain('note');
    const [audit] = await query(db.url, 'select action, reason from drizzle.db_kit_repairs');
    expect(audit).toEqual({ action: 'rollback-forced', reason: 'the column stays, row goes' });
  });

  it('stops on drift of the tables the down touches, showing the difference', async () => {
    addBudgetColumn();
    await generate('add_budget');
    expect((await ws.run(['migrate', '--package', 'teamd'], env)).code).toBe(0);
    await query(db.url, 'alter table teamd_projects alter column budget type bigint');
    const run = await ws.run(['rollback', '--package', 'teamd', '--steps', '1', '--yes'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/column public\.teamd_projects\.budget: expected integer, found bigint/);
    expect(await columnsOf(db.url, 'teamd_projects')).toContain('budget');
  });

  it("refuses a shared migration that a team's applied migration builds on, naming it", async () => {
    const shared = 'shared/database';
    ws.write(
      `${shared}/src/schemas/events.ts`,
      `${ws.read(`${shared}/src/schemas/events.ts`)}
export const venues = pgTable('venues', { id: serial('id').primaryKey(), name: varchar('name', { length: 100 }) });
`,
    );
    const gen = await ws.run(['generate', '--package', 'shared', '--name', 'add_venues'], env);
    expect(gen.code, gen.stdout + gen.stderr).toBe(0);
    ws.write(
      TABLES,
      `${ws.read(TABLES).replace("import { users } from '@large-event/database';", "import { users, venues } from '@large-event/database';")}
export const teamdVenueNotes = pgTable('teamd_venue_notes', {
  id: serial('id').primaryKey(),
  venueId: integer('venue_id').references(() => venues.id),
});
`,
    );
    const teamTag = await generate('venue_notes');
    expect((await ws.run(['migrate', '--package', 'teamd'], env)).code).toBe(0);
    const run = await ws.run(['rollback', '--package', 'shared', '--steps', '1', '--yes'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(
        `drops table public\\.venues, but @teamd/database's foreign key \\S+ \\(public\\.teamd_venue_notes\\) points at it, added by its migration ${teamTag}`,
      ),
    );
    expect(await tableExists(db.url, 'venues')).toBe(true);
  });
});

describe('after a branch switch', () => {
  it("rolls back the other branch's migrations from their stored downs", async () => {
    ws.write('.gitignore', 'node_modules\nshared/db-kit\nbackups\n.db\n');
    git('init', '-q', '-b', 'main');
    git('add', '-A');
    git('commit', '-q', '-m', 'main');
    git('checkout', '-q', '-b', 'feature');
    addMilestonesTable();
    await generate('add_milestones');
    addBudgetColumn();
    await generate('add_budget');
    expect((await ws.run(['migrate', '--all'], env)).code).toBe(0);
    await query(db.url, `insert into teamd_projects (name) values ('p')`);
    await query(
      db.url,
      `insert into teamd_milestones (project_id, title) select id, 'm' || g from teamd_projects, generate_series(1, 3) g`,
    );
    git('add', '-A');
    git('commit', '-q', '-m', 'feature');
    git('checkout', '-q', 'main');

    const status = await ws.run(['status', '--package', 'teamd'], env);
    expect(status.code).toBe(1);
    expect(status.stdout.match(/missing .*its down is stored/g)).toHaveLength(2);
    expect(status.stdout).toMatch(
      /2 missing migrations of teamd have their down stored.*pnpm teamd:db:rollback --missing/,
    );

    const run = ws.exec('pnpm', ['-s', 'teamd:db:rollback', '--missing', '--yes'], env);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch('drops table public.teamd_milestones: 3 rows');
    // Exactly the tables with data at stake: budget had no values.
    expect(run.stdout).toMatch(/Backed up public\.teamd_milestones to backups\//);
    expect(run.stdout).toMatch(/Rolled back 2 migrations/);
    expect(readdirSync(ws.path('backups')).some((f) => f.includes('-tables-'))).toBe(true);

    expect((await ws.run(['status', '--package', 'teamd'], env)).code).toBe(0);
    const mainOnly = await createTestDatabase({ label: 'rollback_main' });
    try {
      expect((await ws.run(['migrate', '--all'], { DATABASE_URL: mainOnly.url })).code).toBe(0);
      expect(await schemaDump(db.url)).toBe(await schemaDump(mainOnly.url));
    } finally {
      await mainOnly.drop();
    }
  });
});

describe('an emergency rollback', () => {
  it('plans with --dry-run, changing nothing, then rolls back with --yes: schema back, backup, audit', async () => {
    expect((await ws.run(['migrate', '--package', 'teamd'], env)).code).toBe(0);
    await query(db.url, `insert into teamd_projects (name) select 'p' || g from generate_series(1, 10000) g`);
    addBudgetColumn();
    const tag = await generate('add_budget');
    expect((await ws.run(['migrate', '--package', 'teamd'], env)).code).toBe(0);
    await query(db.url, 'update teamd_projects set budget = id where id % 2 = 0');
    const before = await schemaDump(db.url);

    const dry = await ws.run(['rollback', '--package', 'teamd', '--steps', '1', '--dry-run'], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(`down  ${tag}`);
    expect(dry.stdout).toMatch('drops column public.teamd_projects.budget: 5,000 non-null values');
    expect(dry.stdout).toMatch('Dry run: nothing changed.');
    expect(await schemaDump(db.url)).toBe(before);
    expect(existsSync(ws.path('backups'))).toBe(false);

    // A process with no terminal, as CI runs it: refuses and says how to go ahead.
    const noTerminal = ws.dbKit(['rollback', '--package', 'teamd', '--steps', '1'], env);
    expect(noTerminal.code).toBe(2);
    expect(noTerminal.stderr).toMatch(/no terminal to ask/);

    const run = await ws.run(['rollback', '--package', 'teamd', '--steps', '1', '--yes'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(await columnsOf(db.url, 'teamd_projects')).not.toContain('budget');
    expect(readdirSync(ws.path('backups')).filter((f) => f.endsWith('.dump'))).toHaveLength(1);
    const [audit] = await query(db.url, 'select migration, action from drizzle.db_kit_repairs');
    expect(audit).toEqual({ migration: tag, action: 'rollback' });
    const [count] = await query<{ n: string }>(db.url, 'select count(*)::text as n from teamd_projects');
    expect(count!.n).toBe('10000');
  });
});

describe('rollback and migrate at the same time', () => {
  it('serialise on the migration lock and leave a consistent state', async () => {
    addBudgetColumn();
    await generate('add_budget');
    expect((await ws.run(['migrate', '--package', 'teamd'], env)).code).toBe(0);
    ws.addMigration(TEAMD, '20991231_000000_add_note', 'ALTER TABLE "teamd_projects" ADD COLUMN "note" text;');
    ws.write(`${TEAMD}/drizzle/20991231_000000_add_note.down.sql`, 'ALTER TABLE "teamd_projects" DROP COLUMN "note";');
    const [rollback, migrate] = await Promise.all([
      ws.dbKitAsync(['rollback', '--package', 'teamd', '--steps', '1', '--yes'], env),
      ws.dbKitAsync(['migrate', '--package', 'teamd'], env),
    ]);
    expect(migrate.code, migrate.stderr).toBe(0);
    // The rollback either ran before or after the migrate, or saw the history move and did nothing.
    expect([0, 1], rollback.stderr).toContain(rollback.code);
    const applied = (
      await query<{ name: string }>(db.url, 'select name from drizzle.__teamd_migrations order by id')
    ).map((r) => r.name);
    const columns = await columnsOf(db.url, 'teamd_projects');
    expect(columns.includes('budget')).toBe(applied.some((n) => n.endsWith('_add_budget')));
    expect(columns.includes('note')).toBe(applied.includes('20991231_000000_add_note'));
    expect(new Set(applied).size).toBe(applied.length);
  });
});

describe('down --backfill', () => {
  it("writes downs for existing history; promote's pair gets downs that hand the table back, never drop it", async () => {
    for (const dir of ['shared/database/drizzle', `${TEAMD}/drizzle`])
      for (const f of readdirSync(ws.path(dir))) if (f.endsWith('.down.sql')) unlinkSync(ws.path(`${dir}/${f}`));
    const backfill = await ws.run(['down', '--backfill', '--all'], env);
    expect(backfill.code, backfill.stderr).toBe(0);
    expect(backfill.stdout).toMatch(/Wrote 2 downs/);
    expect(ws.read(`${TEAMD}/drizzle/20261124_082024_init.down.sql`)).toMatch(/DROP TABLE "teamd_projects" CASCADE;/);
    expect((await ws.run(['down', '--backfill', '--all'], env)).stdout).toMatch(/Every migration has its down/);

    expect((await ws.run(['migrate', '--all'], env)).code).toBe(0);
    await query(db.url, `insert into teamd_projects (name) select 'p' || g from generate_series(1, 50) g`);
    const promote = await ws.run(['promote', '--package', 'teamd', '--tables', 'teamd_projects', '--yes'], env);
    expect(promote.code, promote.stdout + promote.stderr).toBe(0);
    expect((await ws.run(['down', '--backfill', '--all'], env)).stdout).toMatch(/Wrote 2 downs/);
    const adopt = readdirSync(ws.path('shared/database/drizzle')).find((f) =>
      f.endsWith('_adopt_teamd_projects.down.sql'),
    )!;
    const release = readdirSync(ws.path(`${TEAMD}/drizzle`)).find((f) =>
      f.endsWith('_release_teamd_projects.down.sql'),
    )!;
    for (const down of [ws.read(`shared/database/drizzle/${adopt}`), ws.read(`${TEAMD}/drizzle/${release}`)]) {
      expect(down).not.toMatch(/DROP|irreversible|todo/);
      expect(down).toMatch(/^SELECT 1;$/m);
    }
    expect((await ws.run(['migrate', '--all'], env)).code).toBe(0);
    const shared = await ws.run(['rollback', '--package', 'shared', '--steps', '1'], env);
    expect(shared.code, shared.stdout + shared.stderr).toBe(0);
    expect(shared.stdout).toMatch('drops no table or column with data');
    expect((await ws.run(['rollback', '--package', 'teamd', '--steps', '1'], env)).code).toBe(0);
    const [count] = await query<{ n: string }>(db.url, 'select count(*)::text as n from teamd_projects');
    expect(count!.n).toBe('50');
  });
});
