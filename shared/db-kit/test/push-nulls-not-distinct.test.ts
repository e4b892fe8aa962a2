import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import { columnsOf, fixtureWorkspace, query, snapshotRows } from './helpers';

const OVERLAY = 'teams/teamD/src/database/src/overlays/team-specific-tables.ts';
const LABELS = `

/** A label per Team D project; at most one label without a project (NULLS NOT DISTINCT). */
export const teamdLabels = pgTable(
  'teamd_labels',
  {
    id: serial('id').primaryKey(),
    projectId: integer('project_id').references(() => teamdProjects.id),
    name: text('name').notNull(),
  },
  (t) => [unique('teamd_labels_project_name_key').on(t.projectId, t.name).nullsNotDistinct()],
);
`;

function withLabels(ws: FixtureWorkspace): void {
  ws.write(OVERLAY, ws.read(OVERLAY).replace('serial, text', 'serial, text, unique') + LABELS);
}

function withLabelColumn(ws: FixtureWorkspace, name: string): void {
  ws.write(OVERLAY, ws.read(OVERLAY).replace("name: text('name').notNull(),", `$&\n    ${name}: text('${name}'),`));
}

async function nullsNotDistinct(url: string): Promise<unknown[]> {
  return query(
    url,
    `select conname, pg_get_constraintdef(oid) as def from pg_constraint
     where conrelid = 'teamd_labels'::regclass and contype = 'u'`,
  );
}

const UNIQUE = [{ conname: 'teamd_labels_project_name_key', def: 'UNIQUE NULLS NOT DISTINCT (project_id, name)' }];

// drizzle-kit's live reader does not see NULLS NOT DISTINCT: pushSchema planned dropping and re-adding
// the constraint, then asked "Do you want to truncate ...?" for a table with rows, which without a
// terminal is "Interactive prompts require a TTY" (exit 2). No composite key anywhere here (issue 11).
describe('push on a database with a unique().nullsNotDistinct() team table that has rows', () => {
  let ws: FixtureWorkspace;
  let db: TestDatabase;
  beforeAll(async () => {
    ws = fixtureWorkspace();
    withLabels(ws);
    const generated = await ws.run(['generate', '--package', 'teamd', '--name', 'labels']);
    expect(generated.code, generated.stdout + generated.stderr).toBe(0);
    db = await createTestDatabase({ label: 'push_nnd' });
    const migrated = await ws.run(['migrate', '--all'], { DATABASE_URL: db.url });
    expect(migrated.code, migrated.stdout + migrated.stderr).toBe(0);
    await query(
      db.url,
      `insert into users (email) values ('ada@example.com');
       insert into teamd_projects (name, lead_id) values ('apollo', 1);
       insert into teamd_labels (project_id, name) values (1, 'urgent'), (null, 'global');`,
    );
  }, 120_000);
  afterAll(async () => {
    await db?.drop();
    ws?.remove();
  });

  it('right after migrate, push plans nothing', async () => {
    const run = await ws.run(['push', '--package', 'teamd', '--dry-run'], { DATABASE_URL: db.url });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Nothing to push/);
  });

  it('push --yes without a terminal adds a nullable column, keeps the rows, plans nothing on the unique', async () => {
    const before = await snapshotRows(db.url);
    withLabelColumn(ws, 'color');
    // A process with no terminal, where drizzle-kit's prompt failed: what a person (or CI) sees.
    const run = ws.dbKit(['push', '--package', 'teamd', '--yes'], { DATABASE_URL: db.url });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Plan: 1 statement .*\n {2}ALTER TABLE "teamd_labels" ADD COLUMN "color" text/);
    expect(run.stdout + run.stderr).not.toMatch(/teamd_labels_project_name_key|truncate/i);
    expect(await columnsOf(db.url, 'teamd_labels')).toContain('color');
    expect(await nullsNotDistinct(db.url)).toEqual(UNIQUE);
    const after = await snapshotRows(db.url);
    for (const table of ['users', 'events', 'teamd_projects']) expect(after[table], table).toEqual(before[table]);
    expect(after.teamd_labels).toEqual(before.teamd_labels!.map((row) => ({ ...(row as object), color: null })));
  });

  it('shared push leaves the team table and its unique alone', async () => {
    const run = await ws.run(['push', '--package', 'shared', '--yes'], { DATABASE_URL: db.url });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Nothing to push/);
    expect(await nullsNotDistinct(db.url)).toEqual(UNIQUE);
  });
});

// The first NULLS NOT DISTINCT constraint can come from a push: the next push then reads the database
// through push's own path, which must know what that first push built.
describe('push after a push that created the first unique().nullsNotDistinct()', () => {
  let ws: FixtureWorkspace;
  let db: TestDatabase;
  beforeAll(async () => {
    ws = fixtureWorkspace();
    db = await createTestDatabase({ migrate: 'teamd', label: 'push_nnd_first' });
  }, 120_000);
  afterAll(async () => {
    await db?.drop();
    ws?.remove();
  });

  it('both pushes exit 0; the rows the first one made room for stay', async () => {
    withLabels(ws);
    const first = await ws.run(['push', '--package', 'teamd', '--yes'], { DATABASE_URL: db.url });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(await nullsNotDistinct(db.url)).toEqual(UNIQUE);
    await query(db.url, "insert into teamd_labels (name) values ('global')");
    withLabelColumn(ws, 'color');
    const second = await ws.run(['push', '--package', 'teamd', '--yes'], { DATABASE_URL: db.url });
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toMatch(/Plan: 1 statement .*\n {2}ALTER TABLE "teamd_labels" ADD COLUMN "color" text/);
    expect(await query(db.url, 'select name, color from teamd_labels')).toEqual([{ name: 'global', color: null }]);
    expect(await nullsNotDistinct(db.url)).toEqual(UNIQUE);
  });
});
