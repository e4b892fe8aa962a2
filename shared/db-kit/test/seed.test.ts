import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import { query, snapshotRows, fixtureWorkspace } from './helpers';

describe('db:seed and db:fresh', () => {
  let ws: FixtureWorkspace;
  let db: TestDatabase;
  const env = () => ({ DATABASE_URL: db.url });

  beforeAll(async () => {
    ws = fixtureWorkspace();
    db = await createTestDatabase({ migrate: 'teamd', label: 'seed' });
  });
  afterAll(async () => {
    await db.drop();
    ws.remove();
  });

  it('fills shared and overlay tables, and running it twice gives the same rows', async () => {
    const first = await ws.run(['seed', '--count', '8'], env());
    expect(first.code, first.stderr).toBe(0); // an empty database needs no confirmation
    const once = await snapshotRows(db.url);
    for (const table of ['users', 'events', 'teamd_projects', 'teamd_tasks', 'teamd_user_settings'])
      expect(once[table], table).toHaveLength(8);

    const refused = await ws.run(['seed', '--count', '8'], env());
    expect(refused.code).toBe(2); // rows exist now: replacing them needs --yes without a terminal

    const second = await ws.run(['seed', '--count', '8', '--yes'], env());
    expect(second.code, second.stderr).toBe(0);
    expect(await snapshotRows(db.url)).toEqual(once);
  });

  it('respects foreign keys: side tables get one row per user, tasks point at real projects', async () => {
    const orphans = await query<{ n: number }>(
      db.url,
      `select (select count(*) from teamd_tasks t left join teamd_projects p on p.id = t.project_id where p.id is null)
            + (select count(*) from teamd_user_settings s left join users u on u.id = s.user_id where u.id is null) as n`,
    );
    expect(Number(orphans[0]!.n)).toBe(0);
    const duplicates = await query(db.url, 'select user_id from teamd_user_settings group by 1 having count(*) > 1');
    expect(duplicates).toEqual([]);
  });

  it("after seeding, the app's next insert gets the next id", async () => {
    const [row] = await query<{ id: number }>(
      db.url,
      "insert into users (email) values ('new@example.com') returning id",
    );
    expect(row!.id).toBe(9);
    await query(db.url, "delete from users where email = 'new@example.com'");
  });

  it('db:fresh resets, migrates and seeds: the same rows again', async () => {
    const seeded = await snapshotRows(db.url);
    await query(db.url, "insert into users (email) values ('extra@example.com')");
    const run = await ws.run(['fresh', '--yes', '--count', '8', '--no-backup'], env());
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Dropped 5 tables[\s\S]*Applied 2 migrations[\s\S]*Seeded/);
    expect(await snapshotRows(db.url)).toEqual(seeded);
  });
});
