import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import { statementTarget } from '../src/schema/push';
import { query, snapshotRows, fixtureWorkspace } from './helpers';

const SHARED_TABLES = ['events', 'users'];

describe('push on a migrated database with rows', () => {
  let ws: FixtureWorkspace;
  let db: TestDatabase;
  beforeAll(async () => {
    ws = fixtureWorkspace();
    db = await createTestDatabase({ migrate: 'teamd', label: 'push' });
    await query(
      db.url,
      `insert into users (email) values ('ada@example.com'), ('bob@example.com');
       insert into events (title, starts_at, organizer_id) values ('launch', now(), 1);
       insert into teamd_projects (name, lead_id) values ('apollo', 1);`,
    );
  });
  afterAll(async () => {
    await db.drop();
    ws.remove();
  });

  it('teamd:db:push --yes leaves users and every shared table intact, rows included', async () => {
    const before = await snapshotRows(db.url);
    const run = await ws.run(['push', '--package', 'teamd', '--yes'], { DATABASE_URL: db.url });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Nothing to push/);
    const after = await snapshotRows(db.url);
    for (const table of SHARED_TABLES) expect(after[table], table).toEqual(before[table]);
    expect(after.users).toHaveLength(2);
  });

  it("pushes a Team D schema change, and only Team D's part of the difference", async () => {
    const overlay = 'teams/teamD/src/database/src/overlays/team-specific-tables.ts';
    ws.write(
      overlay,
      ws
        .read(overlay)
        .replace(
          "description: text('description'),",
          "description: text('description'),\n  budget: integer('budget'),",
        ),
    );
    await query(db.url, 'alter table users add column nickname text'); // drift in a shared table: not Team D's to fix
    const run = await ws.run(['push', '--package', 'teamd', '--yes'], { DATABASE_URL: db.url });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/left alone \(owned by shared\): ALTER TABLE "users" DROP COLUMN "nickname"/);
    const columns = await query<{ table_name: string; column_name: string }>(
      db.url,
      `select table_name, column_name from information_schema.columns where column_name in ('budget', 'nickname') order by 1`,
    );
    expect(columns).toEqual([
      { table_name: 'teamd_projects', column_name: 'budget' },
      { table_name: 'users', column_name: 'nickname' },
    ]);
    expect((await snapshotRows(db.url)).teamd_projects).toHaveLength(1);
  });

  it('asks before a statement that loses data, and without a terminal refuses unless --yes', async () => {
    await query(db.url, 'create table teamd_scratch (id int); insert into teamd_scratch values (1)');
    const refused = await ws.run(['push', '--package', 'teamd'], { DATABASE_URL: db.url });
    expect(refused.code).toBe(2);
    expect(refused.stdout).toMatch(/DATA LOSS DROP TABLE "teamd_scratch"/);
    expect(refused.stderr).toMatch(/no terminal to ask[\s\S]*--yes/);
    expect(await query(db.url, 'select * from teamd_scratch')).toHaveLength(1);

    const confirmed = await ws.run(['push', '--package', 'teamd', '--yes'], { DATABASE_URL: db.url });
    expect(confirmed.code, confirmed.stderr).toBe(0);
    expect(await query(db.url, "select to_regclass('teamd_scratch') as t")).toEqual([{ t: null }]);
  });

  it('db:push never drops a Team D table, and never touches tables no package owns or the bookkeeping', async () => {
    await query(db.url, 'create table someone_elses (id int)');
    const run = await ws.run(['push', '--package', 'shared', '--yes'], { DATABASE_URL: db.url });
    expect(run.code, run.stderr).toBe(0);
    const tables = await query<{ t: string }>(
      db.url,
      `select schemaname || '.' || tablename as t from pg_tables where schemaname in ('public', 'drizzle') order by 1`,
    );
    expect(tables.map((r) => r.t)).toEqual([
      'drizzle.__drizzle_migrations',
      'drizzle.__teamd_migrations',
      'drizzle.db_kit_pushes', // what each push built, for push's own path (src/schema/pushes.ts)
      'public.events',
      'public.someone_elses',
      'public.teamd_projects',
      'public.teamd_tasks',
      'public.teamd_user_settings',
      'public.users',
    ]);
    expect(await query(db.url, "select 1 from pg_type where typname = 'teamd_task_status'")).toHaveLength(1);
  });

  it('refuses a non-local DATABASE_URL without --force, before connecting', async () => {
    const url = 'postgresql://dev:pw@db.example.invalid:5432/large_event_db';
    const run = await ws.run(['push', '--package', 'teamd', '--yes'], { DATABASE_URL: url });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /Refusing to push schema changes .* db\.example\.invalid:5432 is not a local development database/,
    );
    expect(run.stderr).toMatch(/--force/);
    expect(run.stderr).not.toMatch(/host not found|Cannot connect/); // it never tried

    const forced = await ws.run(['push', '--package', 'teamd', '--yes', '--force'], { DATABASE_URL: url });
    expect(forced.code).toBe(2);
    expect(forced.stderr).toMatch(/Cannot connect/); // with --force it goes on, and fails only at connecting
  });
});

describe('which object a push statement changes', () => {
  it('reads the target of the statements drizzle-kit writes', () => {
    expect(statementTarget('ALTER TABLE "users" DROP COLUMN "x";')).toEqual({ kind: 'table', name: 'public.users' });
    expect(statementTarget('CREATE TABLE "app"."teamd_a" (\n"id" int)')).toEqual({
      kind: 'table',
      name: 'app.teamd_a',
    });
    expect(statementTarget('CREATE INDEX "i" ON "teamd_tasks" USING btree ("x")')).toEqual({
      kind: 'table',
      name: 'public.teamd_tasks',
    });
    expect(statementTarget('DROP TYPE "public"."teamd_task_status";')).toEqual({
      kind: 'enum',
      name: 'public.teamd_task_status',
    });
    expect(statementTarget('truncate table "teamd_tasks" cascade;')).toEqual({
      kind: 'table',
      name: 'public.teamd_tasks',
    });
    expect(statementTarget('GRANT ALL ON x TO y')).toBeUndefined();
  });
});

describe('push never reaches other packages, and off a local database needs the name', () => {
  let ws: FixtureWorkspace;
  let db: TestDatabase;
  const USERS = 'shared/database/src/schemas/users.ts';
  beforeAll(async () => {
    ws = fixtureWorkspace();
    db = await createTestDatabase({ migrate: 'teamd', label: 'push_cascade' });
    await query(
      db.url,
      `insert into users (email) values ('ada@example.com'), ('bob@example.com');
       insert into events (title, starts_at, organizer_id) values ('launch', now(), 1);
       insert into teamd_projects (name, lead_id) values ('apollo', 1);`,
    );
  });
  afterAll(async () => {
    await db.drop();
    ws.remove();
  });

  it('a NOT NULL column on users is refused, not done by TRUNCATE users CASCADE: no table loses a row', async () => {
    ws.write(
      USERS,
      ws
        .read(USERS)
        .replace(
          "name: varchar('name', { length: 255 }),",
          "name: varchar('name', { length: 255 }),\n  nickname: varchar('nickname', { length: 40 }).notNull(),",
        ),
    );
    try {
      const before = await snapshotRows(db.url);
      const run = await ws.run(['push', '--package', 'shared', '--yes'], { DATABASE_URL: db.url });
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stdout).toMatch(/REFUSED truncate table "users" cascade/i);
      expect(run.stderr).toMatch(/push will not run .*CASCADE empties every table that references it/);
      expect(run.stdout).not.toMatch(/Pushing/); // nothing announced that did not happen
      expect(await snapshotRows(db.url)).toEqual(before);
      expect(before.teamd_projects).toHaveLength(1);
    } finally {
      ws.write(USERS, ws.read(USERS).replace("\n  nickname: varchar('nickname', { length: 40 }).notNull(),", ''));
    }
  });

  it('with --force on a database that is not local, --yes is not enough: --confirm-name is required', async () => {
    await query(db.url, 'create table teamd_scratch (id int); insert into teamd_scratch values (1)');
    const remote = { DATABASE_URL: db.url, DB_KIT_LOCAL_HOSTS: 'none' };
    const refused = await ws.run(['push', '--package', 'teamd', '--yes', '--force'], remote);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--confirm-name/);
    expect(refused.stdout).not.toMatch(/Pushing/);
    expect(await query(db.url, 'select * from teamd_scratch')).toHaveLength(1);

    const named = await ws.run(['push', '--package', 'teamd', '--yes', '--force', '--confirm-name', db.name], remote);
    expect(named.code, named.stderr).toBe(0);
    expect(await query(db.url, "select to_regclass('teamd_scratch') as t")).toEqual([{ t: null }]);
  });
});
