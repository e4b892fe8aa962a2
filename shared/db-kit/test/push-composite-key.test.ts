import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import { columnsOf, fixtureWorkspace, query, snapshotRows } from './helpers';

const OVERLAY = 'teams/teamD/src/database/src/overlays/team-specific-tables.ts';
const USERS = 'shared/database/src/schemas/users.ts';
const MEMBERS = `

/** Who works on a Team D project: one row per (project, user), a composite primary key. */
export const teamdMembers = pgTable(
  'teamd_members',
  {
    projectId: integer('project_id')
      .notNull()
      .references(() => teamdProjects.id),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.userId] })],
);
`;

// drizzle-kit's pushSchema fails on any composite primary key in the database ("there is no
// parameter $1", drizzle-orm #5557): push then diffs against what the migrations and the earlier
// pushes built, so it keeps working push after push (issue 11, item 6).
describe('push on a database where a team table has a composite primary key', () => {
  let ws: FixtureWorkspace;
  let db: TestDatabase;
  beforeAll(async () => {
    ws = fixtureWorkspace();
    ws.write(OVERLAY, ws.read(OVERLAY).replace('serial, text', 'primaryKey, serial, text') + MEMBERS);
    const generated = await ws.run(['generate', '--package', 'teamd', '--name', 'members']);
    expect(generated.code, generated.stdout + generated.stderr).toBe(0);
    db = await createTestDatabase({ label: 'push_composite' });
    const migrated = await ws.run(['migrate', '--all'], { DATABASE_URL: db.url });
    expect(migrated.code, migrated.stdout + migrated.stderr).toBe(0);
    await query(
      db.url,
      `insert into users (email) values ('ada@example.com'), ('bob@example.com');
       insert into teamd_projects (name, lead_id) values ('apollo', 1);
       insert into teamd_members (project_id, user_id) values (1, 1), (1, 2);`,
    );
  }, 120_000);
  afterAll(async () => {
    await db?.drop();
    ws?.remove();
  });

  it("teamd push --dry-run then --yes adds Team D's column; no other table loses a row", async () => {
    ws.write(
      OVERLAY,
      ws.read(OVERLAY).replace("userId: integer('user_id')", "role: text('role'),\n    userId: integer('user_id')"),
    );
    const before = await snapshotRows(db.url);
    const dry = await ws.run(['push', '--package', 'teamd', '--dry-run'], { DATABASE_URL: db.url });
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/Would run 1 statement .*\n {2}ALTER TABLE "teamd_members" ADD COLUMN "role" text/);
    expect(await columnsOf(db.url, 'teamd_members')).not.toContain('role');

    const run = await ws.run(['push', '--package', 'teamd', '--yes'], { DATABASE_URL: db.url });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await columnsOf(db.url, 'teamd_members')).toContain('role');
    const after = await snapshotRows(db.url);
    for (const table of ['users', 'events', 'teamd_projects']) expect(after[table], table).toEqual(before[table]);
    expect(after.teamd_members).toHaveLength(2);
  });

  it('a second teamd push (another column) exits 0 too: it diffs from what the first push built', async () => {
    ws.write(OVERLAY, ws.read(OVERLAY).replace("role: text('role'),", "role: text('role'),\n    note: text('note'),"));
    const before = await snapshotRows(db.url);
    const run = await ws.run(['push', '--package', 'teamd', '--yes'], { DATABASE_URL: db.url });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Plan: 1 statement .*\n {2}ALTER TABLE "teamd_members" ADD COLUMN "note" text/);
    expect(await columnsOf(db.url, 'teamd_members')).toEqual(expect.arrayContaining(['role', 'note']));
    const after = await snapshotRows(db.url);
    for (const table of ['users', 'events', 'teamd_projects', 'teamd_tasks'])
      expect(after[table], table).toEqual(before[table]);
    expect(after.teamd_members).toHaveLength(2);
  });

  it("shared push --dry-run then --yes adds a users column; Team D's rows and pushed columns stay", async () => {
    ws.write(
      USERS,
      ws
        .read(USERS)
        .replace(
          "name: varchar('name', { length: 255 }),",
          "name: varchar('name', { length: 255 }),\n  nickname: varchar('nickname', { length: 40 }),",
        ),
    );
    const dry = await ws.run(['push', '--package', 'shared', '--dry-run'], { DATABASE_URL: db.url });
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/ALTER TABLE "users" ADD COLUMN "nickname" varchar\(40\)/);
    // Team D's pushed columns are what its pushes built: nothing of Team D's to plan, or to leave alone.
    expect(dry.stdout).not.toMatch(/teamd_members/);

    const run = await ws.run(['push', '--package', 'shared', '--yes'], { DATABASE_URL: db.url });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await columnsOf(db.url, 'users')).toContain('nickname');
    const rows = await snapshotRows(db.url);
    expect(rows.teamd_members).toHaveLength(2);
    expect(rows.teamd_projects).toHaveLength(1);
    expect(await columnsOf(db.url, 'teamd_members')).toContain('role'); // Team D's push is not undone
  });

  it('a second shared push (another column) exits 0 too, and leaves Team D alone', async () => {
    ws.write(
      USERS,
      ws
        .read(USERS)
        .replace(
          "nickname: varchar('nickname', { length: 40 }),",
          "$&\n  pronouns: varchar('pronouns', { length: 40 }),",
        ),
    );
    const before = await snapshotRows(db.url);
    const run = await ws.run(['push', '--package', 'shared', '--yes'], { DATABASE_URL: db.url });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Plan: 1 statement .*\n {2}ALTER TABLE "users" ADD COLUMN "pronouns" varchar\(40\)/);
    expect(await columnsOf(db.url, 'users')).toEqual(expect.arrayContaining(['nickname', 'pronouns']));
    const after = await snapshotRows(db.url);
    for (const table of ['events', 'teamd_projects', 'teamd_members', 'teamd_tasks'])
      expect(after[table], table).toEqual(before[table]);
    expect(after.users).toHaveLength(2);
  });

  it('stops, naming the difference, when the database differs from what the migrations built', async () => {
    await query(db.url, 'alter table teamd_tasks add column scratch int');
    // A process, as a person runs it: exit code 2 and one line with a hint, no stack.
    const run = ws.dbKit(['push', '--package', 'teamd', '--dry-run'], { DATABASE_URL: db.url });
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stderr).toMatch(/push cannot plan teamd: .*composite primary key.*earlier pushes.*differs/);
    expect(run.stderr).toMatch(/pnpm teamd:db:status.*pnpm db:reset/);
    expect(run.stderr).not.toMatch(/\n\s+at /); // one line and a hint, no stack
  });

  it("after reset, push diffs from the migrations again: the pushes' record goes with what they built", async () => {
    const reset = await ws.run(['reset', '--yes'], { DATABASE_URL: db.url });
    expect(reset.code, reset.stdout + reset.stderr).toBe(0);
    const migrated = await ws.run(['migrate', '--all'], { DATABASE_URL: db.url });
    expect(migrated.code, migrated.stdout + migrated.stderr).toBe(0);
    const run = await ws.run(['push', '--package', 'teamd', '--dry-run'], { DATABASE_URL: db.url });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/ADD COLUMN "role" text/);
    expect(run.stdout).toMatch(/ADD COLUMN "note" text/);
  });
});

const FOLLOWS = `

/** Who follows whom: one row per (follower, followed), a composite primary key in shared. */
export const userFollows = pgTable(
  'user_follows',
  {
    followerId: integer('follower_id')
      .notNull()
      .references(() => users.id),
    followedId: integer('followed_id')
      .notNull()
      .references(() => users.id),
  },
  (t) => [primaryKey({ columns: [t.followerId, t.followedId] })],
);
`;

describe('teamd push, twice, when shared (another package) has the composite primary key', () => {
  let ws: FixtureWorkspace;
  let db: TestDatabase;
  beforeAll(async () => {
    ws = fixtureWorkspace();
    const imports = /import \{([^}]*)\} from 'drizzle-orm\/pg-core';/;
    ws.write(
      USERS,
      ws.read(USERS).replace(imports, "import {$1, integer, primaryKey } from 'drizzle-orm/pg-core';") + FOLLOWS,
    );
    const generated = await ws.run(['generate', '--package', 'shared', '--name', 'follows']);
    expect(generated.code, generated.stdout + generated.stderr).toBe(0);
    db = await createTestDatabase({ label: 'push_composite_shared' });
    const migrated = await ws.run(['migrate', '--all'], { DATABASE_URL: db.url });
    expect(migrated.code, migrated.stdout + migrated.stderr).toBe(0);
    await query(
      db.url,
      `insert into users (email) values ('ada@example.com'), ('bob@example.com');
       insert into user_follows values (1, 2), (2, 1);
       insert into teamd_projects (name, lead_id) values ('apollo', 1);`,
    );
  }, 120_000);
  afterAll(async () => {
    await db?.drop();
    ws?.remove();
  });

  it('teamd:db:push twice: both exit 0, both columns exist, no shared row changes', async () => {
    const before = await snapshotRows(db.url);
    const withColumn = (name: string) =>
      ws.write(OVERLAY, ws.read(OVERLAY).replace("title: varchar('title'", `${name}: text('${name}'),\n  $&`));
    withColumn('label');
    const first = await ws.run(['push', '--package', 'teamd', '--yes'], { DATABASE_URL: db.url });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    withColumn('remark');
    const second = await ws.run(['push', '--package', 'teamd', '--yes'], { DATABASE_URL: db.url });
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toMatch(/Plan: 1 statement .*\n {2}ALTER TABLE "teamd_tasks" ADD COLUMN "remark" text/);
    expect(await columnsOf(db.url, 'teamd_tasks')).toEqual(expect.arrayContaining(['label', 'remark']));
    const after = await snapshotRows(db.url);
    for (const table of ['users', 'user_follows', 'events', 'teamd_projects'])
      expect(after[table], table).toEqual(before[table]);
  });
});
