import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import { fixtureWorkspace } from './helpers';

async function tables(url: string): Promise<string[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql<{ t: string }[]>`select table_schema || '.' || table_name as t from information_schema.tables
      where table_schema in ('public', 'drizzle') order by 1`;
    return rows.map((r) => r.t);
  } finally {
    await sql.end();
  }
}

describe('migrate on an empty database', () => {
  let ws: FixtureWorkspace;
  let db: TestDatabase;
  beforeAll(async () => {
    ws = fixtureWorkspace();
    db = await createTestDatabase({ label: 'migrate' });
  });
  afterAll(async () => {
    await db.drop();
    ws.remove();
  });

  it('db:migrate applies only the shared package', async () => {
    const run = ws.dbKit(['migrate', '--package', 'shared'], { DATABASE_URL: db.url });
    expect(run.code, run.stderr).toBe(0);
    expect(await tables(db.url)).toEqual(['drizzle.__drizzle_migrations', 'public.events', 'public.users']);
  });

  it("teamd:db:migrate applies Team D's migrations into Team D's own bookkeeping table", async () => {
    const run = await ws.run(['migrate', '--package', 'teamd'], { DATABASE_URL: db.url });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/applied\s+teamd/);
    expect(run.stdout).not.toMatch(/applied\s+shared/);
    expect(await tables(db.url)).toEqual([
      'drizzle.__drizzle_migrations',
      'drizzle.__teamd_migrations',
      'public.events',
      'public.teamd_projects',
      'public.teamd_tasks',
      'public.teamd_user_settings',
      'public.users',
    ]);
    const sql = postgres(db.url, { max: 1 });
    try {
      const shared = await sql`select name from drizzle.__drizzle_migrations`;
      const teamd = await sql`select name from drizzle.__teamd_migrations`;
      expect(shared.map((r) => r.name)).toEqual([expect.stringMatching(/_init$/)]);
      expect(teamd.map((r) => r.name)).toEqual([expect.stringMatching(/_init$/)]);
      expect(shared[0]!.name).not.toBe(teamd[0]!.name);
    } finally {
      await sql.end();
    }
  });

  it('a second run applies nothing', async () => {
    const run = await ws.run(['migrate', '--all'], { DATABASE_URL: db.url });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Nothing to migrate/);
  });

  it("Postgres enforces the overlay's foreign key to users", async () => {
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      await expect(sql`insert into teamd_projects (name, lead_id) values ('orphan', 424242)`).rejects.toMatchObject({
        code: '23503',
      });
      const [user] = await sql`insert into users (email) values ('lead@example.com') returning id`;
      await sql`insert into teamd_projects (name, lead_id) values ('launch', ${user!.id})`;
      await expect(sql`delete from users where id = ${user!.id}`).rejects.toMatchObject({ code: '23503' });
    } finally {
      await sql.end();
    }
  });
});

describe('teamd:db:migrate on an empty database', () => {
  it('applies the pending shared migrations first, then Team D', async () => {
    const ws = fixtureWorkspace();
    const db = await createTestDatabase({ label: 'teamd_first' });
    try {
      const run = await ws.run(['migrate', '--package', 'teamd'], { DATABASE_URL: db.url });
      expect(run.code, run.stderr).toBe(0);
      const order = [...run.stdout.matchAll(/applied\s+(\w+)/g)].map((m) => m[1]);
      expect(order).toEqual(['shared', 'teamd']);
      expect(await tables(db.url)).toContain('public.teamd_user_settings');
    } finally {
      await db.drop();
      ws.remove();
    }
  });

  it('says in one line, without the password, when the database is unreachable', () => {
    const ws = fixtureWorkspace();
    try {
      const run = ws.dbKit(['migrate', '--package', 'teamd'], {
        DATABASE_URL: 'postgresql://app:S3cr3t-Pw@127.0.0.1:1/x',
      });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(
        /^error: Cannot connect to postgresql:\/\/app@127\.0\.0\.1:1\/x \(127\.0\.0\.1:1\): connection refused/,
      );
      expect(run.stderr + run.stdout).not.toContain('S3cr3t-Pw');
      expect(run.stderr).not.toMatch(/\n\s+at /);
    } finally {
      ws.remove();
    }
  });
});
