import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import { query, snapshotRows, fixtureWorkspace } from './helpers';

// DB_KIT_LOCAL_HOSTS=none makes the guard treat the test server (127.0.0.1) as a remote one,
// while the command could still reach it: "untouched" below is proven, not implied by a bad host.
const REMOTE = { DB_KIT_LOCAL_HOSTS: 'none' };

describe('db:reset', () => {
  let ws: FixtureWorkspace;
  let db: TestDatabase;
  const env = () => ({ DATABASE_URL: db.url });

  beforeAll(async () => {
    ws = fixtureWorkspace();
    db = await createTestDatabase({ migrate: 'teamd', label: 'reset' });
    await query(
      db.url,
      `insert into users (email, name) values ('ada@example.com', 'Ada'), ('bob@example.com', 'Bob');
       insert into teamd_projects (name, lead_id) values ('apollo', 1);
       insert into teamd_tasks (project_id, title, status) values (1, 'launch', 'doing');
       create table not_ours (id int primary key); insert into not_ours values (7);`,
    );
  });
  afterAll(async () => {
    await db.drop();
    ws.remove();
  });

  it('against a non-local database without --force refuses, and the database is untouched', async () => {
    const before = await snapshotRows(db.url);
    const run = ws.dbKit(['reset', '--yes'], { ...env(), ...REMOTE });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/Refusing to drop and rebuild every table .* is not a local development database/);
    expect(await snapshotRows(db.url)).toEqual(before);
  });

  it('with --force but without the database name typed, refuses and changes nothing', async () => {
    const before = await snapshotRows(db.url);
    const noName = ws.dbKit(['reset', '--yes', '--force'], { ...env(), ...REMOTE });
    expect(noName.code).toBe(2);
    expect(noName.stderr).toMatch(new RegExp(`--confirm-name ${db.name}`));
    const wrongName = ws.dbKit(['reset', '--force', '--confirm-name', 'production'], { ...env(), ...REMOTE });
    expect(wrongName.code).toBe(2);
    expect(wrongName.stderr).toMatch(/does not match the database/);
    expect(await snapshotRows(db.url)).toEqual(before);
  });

  it('without a terminal and without --yes, refuses and changes nothing', async () => {
    const before = await snapshotRows(db.url);
    const run = ws.dbKit(['reset'], env());
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/no terminal to ask[\s\S]*--yes/);
    expect(await snapshotRows(db.url)).toEqual(before);
  });

  it('backup, then reset, then restore brings back the same rows', async () => {
    const before = await snapshotRows(db.url);
    const backup = await ws.run(['backup', '--json'], env());
    expect(backup.code, backup.stderr).toBe(0);
    const { file } = JSON.parse(backup.stdout) as { file: string };
    expect(file).toMatch(new RegExp(`^backups/${db.name}-\\d{8}_\\d{6}\\.dump$`));

    const reset = await ws.run(['reset', '--yes'], env());
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout).toMatch(/Backed up to backups\//); // reset took its own backup first
    expect(reset.stdout).toMatch(/Applied 2 migrations/);
    const emptied = await snapshotRows(db.url);
    expect(emptied.users).toEqual([]);
    expect(emptied.teamd_tasks).toEqual([]);
    expect(emptied.not_ours).toEqual([{ id: 7 }]); // not ours: left alone
    expect(readdirSync(ws.path('backups'))).toHaveLength(2);

    const refused = await ws.run(['restore', file], env());
    expect(refused.code).toBe(2);
    expect((await snapshotRows(db.url)).users).toEqual([]);

    const restore = await ws.run(['restore', file, '--yes'], env());
    expect(restore.code, restore.stderr).toBe(0);
    expect(await snapshotRows(db.url)).toEqual(before);

    const migrate = await ws.run(['migrate', '--all'], env());
    expect(migrate.stdout).toMatch(/Nothing to migrate/); // the bookkeeping came back too
  });

  it('with --force and the database name, a non-local reset goes ahead', async () => {
    const run = ws.dbKit(['reset', '--force', '--confirm-name', db.name, '--no-backup'], { ...env(), ...REMOTE });
    expect(run.code, run.stderr).toBe(0);
    expect((await snapshotRows(db.url)).users).toEqual([]);
  });
});
