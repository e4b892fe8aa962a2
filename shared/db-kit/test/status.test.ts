import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import type { StatusReport } from '../src/schema/status';
import { query, TEAMD, fixtureWorkspace } from './helpers';

async function status(
  ws: FixtureWorkspace,
  db: TestDatabase,
  args: string[] = [],
): Promise<{ code: number; report: StatusReport; stderr: string }> {
  const run = await ws.run(['status', '--json', ...args], { DATABASE_URL: db.url });
  return { code: run.code, report: run.stdout ? JSON.parse(run.stdout) : undefined, stderr: run.stderr };
}

describe('status', () => {
  let ws: FixtureWorkspace;
  let db: TestDatabase;
  beforeAll(async () => {
    ws = fixtureWorkspace();
    db = await createTestDatabase({ label: 'status' });
    expect((await ws.run(['migrate', '--all'], { DATABASE_URL: db.url })).code).toBe(0);
  });
  afterAll(async () => {
    await db.drop();
    ws.remove();
  });

  it('is clean and exits 0 on a fully migrated database, for every package and for each alone', async () => {
    const all = await status(ws, db);
    expect(all.code, all.stderr).toBe(0);
    expect(all.report.clean).toBe(true);
    expect(all.report.drift).toEqual([]);
    // Team D's view: the shared tables it builds on are not drift.
    expect((await status(ws, db, ['--package', 'teamd'])).code).toBe(0);
    expect((await status(ws, db, ['--package', 'shared'])).code).toBe(0);
  });

  it('lists every table with its owner, columns, estimated rows and size', async () => {
    await query(db.url, `insert into users (email) select 'u' || g || '@example.com' from generate_series(1, 500) g`);
    await query(db.url, 'analyze users');
    const { report } = await status(ws, db);
    const users = report.tables.find((t) => t.name === 'public.users')!;
    expect(users).toMatchObject({ owner: '@large-event/database', ownerAlias: 'shared', estimatedRows: 500 });
    expect(users.bytes).toBeGreaterThan(8192);
    expect(users.columns).toContainEqual({ name: 'email', type: 'character varying(255)', notNull: true });
    expect(report.tables.find((t) => t.name === 'public.teamd_tasks')?.owner).toBe('@teamd/database');
    expect(report.tables.map((t) => t.name)).not.toContain('drizzle.__drizzle_migrations');
  });

  it('reports a pending Team D migration and a hand-made column, and exits 1', async () => {
    const file = `${TEAMD}/src/overlays/team-specific-tables.ts`;
    ws.write(
      file,
      ws
        .read(file)
        .replace(
          "description: text('description'),",
          "description: text('description'),\n  budget: integer('budget'),",
        ),
    );
    const generated = await ws.run(['generate', '--package', 'teamd', '--name', 'add_budget']);
    expect(generated.code, generated.stderr).toBe(0);
    await query(db.url, 'alter table users add column nickname text');

    const { code, report } = await status(ws, db);
    expect(code).toBe(1);
    expect(report.clean).toBe(false);
    const teamd = report.packages.find((p) => p.alias === 'teamd')!;
    expect(teamd.pending).toEqual([expect.stringMatching(/^\d{8}_\d{6}_add_budget$/)]);
    expect(report.packages.find((p) => p.alias === 'shared')!.pending).toEqual([]);
    // The pending migration is reported as pending, not a second time as drift.
    expect(report.drift).toEqual([
      {
        kind: 'column',
        object: 'public.users.nickname',
        problem: 'unexpected',
        owner: '@large-event/database',
        actual: 'text',
      },
    ]);

    const text = ws.dbKit(['status'], { DATABASE_URL: db.url });
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/pending\s+\d{8}_\d{6}_add_budget/);
    expect(text.stdout).toMatch(/unexpected column public\.users\.nickname \(text\) \[@large-event\/database\]/);
    expect(text.stdout).toMatch(/Not clean: 1 pending in teamd, 1 drift finding\./);

    // Once migrated, only the hand-made column remains.
    const migrated = await ws.run(['migrate', '--package', 'teamd'], { DATABASE_URL: db.url });
    expect(migrated.code, migrated.stdout + migrated.stderr).toBe(0);
    const after = await status(ws, db);
    expect(after.report.packages.every((p) => p.pending.length === 0)).toBe(true);
    expect(after.report.drift.map((d) => d.object)).toEqual(['public.users.nickname']);
    await query(db.url, 'alter table users drop column nickname');
    expect((await status(ws, db)).code).toBe(0);
  });

  it('reports tables no package declares, changed types and nullability, enum values, indexes and constraints', async () => {
    await query(
      db.url,
      `create table scratch (id int);
       alter table teamd_projects alter column description type varchar(20), alter column description set not null;
       alter type teamd_task_status add value 'blocked';
       create index users_name_idx on users (name);
       alter table events drop constraint events_organizer_id_users_id_fk;
       drop index events_organizer_id_idx`,
    );
    const { code, report } = await status(ws, db);
    expect(code).toBe(1);
    expect(report.drift).toEqual(
      expect.arrayContaining([
        { kind: 'table', object: 'public.scratch', problem: 'unexpected' },
        {
          kind: 'column',
          object: 'public.teamd_projects.description',
          problem: 'differs',
          owner: '@teamd/database',
          expected: 'text',
          actual: 'character varying(20) not null',
        },
        {
          kind: 'enum',
          object: 'public.teamd_task_status',
          problem: 'differs',
          owner: '@teamd/database',
          expected: 'todo, doing, done',
          actual: 'todo, doing, done, blocked',
        },
        { kind: 'index', object: 'public.users_name_idx', problem: 'unexpected', owner: '@large-event/database' },
        { kind: 'index', object: 'public.events_organizer_id_idx', problem: 'missing', owner: '@large-event/database' },
        {
          kind: 'constraint',
          object: 'public.events.events_organizer_id_users_id_fk',
          problem: 'missing',
          owner: '@large-event/database',
        },
      ]),
    );
    expect(report.drift).toHaveLength(6);
    // The shared package's view leaves out Team D's drift, but not the table nobody declares.
    const sharedOnly = await status(ws, db, ['--package', 'shared']);
    expect(sharedOnly.code).toBe(1);
    expect(sharedOnly.report.drift.map((d) => d.object).sort()).toEqual([
      'public.events.events_organizer_id_users_id_fk',
      'public.events_organizer_id_idx',
      'public.scratch',
      'public.users_name_idx',
    ]);
    expect(sharedOnly.report.tables.map((t) => t.name)).not.toContain('public.teamd_tasks');
    expect((await status(ws, db, ['--package', 'teamd'])).report.drift).toHaveLength(6);
  });

  it('exits 2 with one redacted line when the database is unreachable', () => {
    const run = ws.dbKit(['status'], { DATABASE_URL: 'postgresql://app:S3cr3t@127.0.0.1:1/x' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: Cannot connect to postgresql:\/\/app@127\.0\.0\.1:1\/x/);
  });
});
