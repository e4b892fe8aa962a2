import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restorePrelude } from '../src/backup/backup';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import { fixtureWorkspace, query, snapshotRows } from './helpers';

describe('restore of an older backup', () => {
  let ws: FixtureWorkspace;
  let db: TestDatabase;
  const env = () => ({ DATABASE_URL: db.url });

  beforeAll(async () => {
    ws = fixtureWorkspace();
    db = await createTestDatabase({ migrate: 'teamd', label: 'restore_old' });
    await query(
      db.url,
      `insert into users (email, name) values ('ada@example.com', 'Ada'), ('bob@example.com', 'Bob')`,
    );
  });
  afterAll(async () => {
    await db.drop();
    ws.remove();
  });

  it('works after the schema grew a table that depends on a restored one, and backs up what it replaces', async () => {
    const backup = await ws.run(['backup', '--json'], env());
    expect(backup.code, backup.stderr).toBe(0);
    const { file } = JSON.parse(backup.stdout) as { file: string };
    const before = await snapshotRows(db.url);

    // Since the backup: a newer migration's table with a foreign key to users, and more rows.
    await query(
      db.url,
      `create table later_notes (id int primary key, user_id int not null references users (id));
       insert into users (email, name) values ('cy@example.com', 'Cy');
       insert into later_notes values (1, 3);`,
    );

    const restore = await ws.run(['restore', file, '--yes'], env());
    expect(restore.code, restore.stderr).toBe(0);
    expect(restore.stderr).not.toMatch(/Is the file a db-kit backup/);
    const safety = /Backed up what the restore replaces to (backups\/\S+\.dump) first\./.exec(restore.stdout)?.[1];
    expect(safety, restore.stdout).toBeDefined();

    const after = await snapshotRows(db.url);
    expect(after.users).toEqual(before.users);
    expect(after.later_notes).toEqual([{ id: 1, user_id: 3 }]); // not in the backup: stays
    expect((await ws.run(['migrate', '--all'], env())).stdout).toMatch(/Nothing to migrate/);

    // The safety backup holds what was replaced: restoring it brings Cy back.
    const list = execFileSync('pg_restore', ['--list', ws.path(safety!)], { encoding: 'utf8' });
    expect(list).toMatch(/TABLE public later_notes/);
    const undo = await ws.run(['restore', safety!, '--yes', '--no-backup'], env());
    expect(undo.code, undo.stderr).toBe(0);
    expect((await snapshotRows(db.url)).users).toHaveLength(3);
  });

  it('a file that is not a backup: says so, and nothing changed (no safety backup either)', async () => {
    ws.write('backups/not-a-dump.dump', 'hello');
    const before = await snapshotRows(db.url);
    const run = await ws.run(['restore', 'backups/not-a-dump.dump', '--yes', '--no-backup'], env());
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: backups\/not-a-dump\.dump is not a backup pg_restore can read/m);
    expect(await snapshotRows(db.url)).toEqual(before);
  });

  it('clears the way from the table of contents: schemas whole, public objects by name', () => {
    const toc = [
      '6; 2615 311213 SCHEMA - drizzle postgres',
      '846; 1247 311227 TYPE public role postgres',
      '215; 1259 311214 TABLE drizzle m postgres',
      '217; 1259 311218 TABLE public users postgres',
      '3352; 0 311218 TABLE DATA public users postgres',
      '3207; 2606 311225 CONSTRAINT public users users_pkey postgres',
    ].join('\n');
    expect(restorePrelude(toc).split('\n')).toEqual([
      'DROP SCHEMA IF EXISTS "drizzle" CASCADE;',
      'DROP TYPE IF EXISTS "public"."role" CASCADE;',
      'DROP TABLE IF EXISTS "public"."users" CASCADE;',
    ]);
  });
});

describe('backups/ rotation', () => {
  let ws: FixtureWorkspace;
  let db: TestDatabase;
  beforeAll(async () => {
    ws = fixtureWorkspace();
    db = await createTestDatabase({ migrate: 'shared', label: 'rotation' });
  });
  afterAll(async () => {
    await db.drop();
    ws.remove();
  });

  it('keeps the last N backups of the database (DB_KIT_KEEP_BACKUPS), and nothing else is touched', () => {
    for (let i = 10; i < 22; i++) ws.write(`backups/${db.name}-20200101_0000${i}.dump`, 'old');
    ws.write(`backups/${db.name}-20200101_000021-2.dump`, 'old'); // same second, made after the one above
    ws.write(`backups/${db.name}-tables-20200101_000000.dump`, 'a table backup');
    ws.write('backups/other_db-20200101_000000.dump', 'another database');
    const run = ws.dbKit(['backup'], { DATABASE_URL: db.url, DB_KIT_KEEP_BACKUPS: '3' });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Removed 11 older backups of .*, keeping the last 3 \(DB_KIT_KEEP_BACKUPS\)\./);
    const left = readdirSync(ws.path('backups')).sort();
    expect(left).toHaveLength(5);
    expect(left).toEqual(
      expect.arrayContaining([
        `${db.name}-20200101_000021.dump`,
        `${db.name}-20200101_000021-2.dump`,
        `${db.name}-tables-20200101_000000.dump`,
        'other_db-20200101_000000.dump',
      ]),
    );
    const bad = ws.dbKit(['backup'], { DATABASE_URL: db.url, DB_KIT_KEEP_BACKUPS: 'lots' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/DB_KIT_KEEP_BACKUPS must be a whole number/);
  });
});
