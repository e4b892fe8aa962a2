import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import { fixtureWorkspace } from './helpers';

const TEAMX = 'teams/teamx/src/database';
const TEAMD = 'teams/teamD/src/database';

/** Adds a migration by writing its file and journal entry, as generate would. */
function addMigration(ws: FixtureWorkspace, pkgDir: string, tag: string, text: string): void {
  const journalFile = `${pkgDir}/drizzle/meta/_journal.json`;
  let journal = { version: '7', dialect: 'postgresql', entries: [] as Array<Record<string, unknown>> };
  try {
    journal = JSON.parse(ws.read(journalFile));
  } catch {}
  const stamp = /^(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})/.exec(tag)!;
  const when = Date.UTC(+stamp[1]!, +stamp[2]! - 1, +stamp[3]!, +stamp[4]!, +stamp[5]!, +stamp[6]!);
  journal.entries.push({ idx: journal.entries.length, version: '7', when, tag, breakpoints: true });
  ws.write(journalFile, JSON.stringify(journal, null, 2));
  ws.write(`${pkgDir}/drizzle/${tag}.sql`, text);
}

async function bookkeeping(url: string): Promise<Record<string, string[]>> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const tables = await sql<
      { t: string }[]
    >`select table_name as t from information_schema.tables where table_schema = 'drizzle' order by 1`;
    const result: Record<string, string[]> = {};
    for (const { t } of tables)
      result[t] = (await sql.unsafe(`select name from drizzle."${t}" order by id`)).map((r) => r.name as string);
    return result;
  } finally {
    await sql.end();
  }
}

describe('two teams migrating the same database', () => {
  let ws: FixtureWorkspace;
  const databases: TestDatabase[] = [];
  let shared: string[];
  let teamd: string[];
  const teamx = ['20261125_090000_init', '20261125_110000_add_due'];

  beforeAll(() => {
    ws = fixtureWorkspace();
    expect(ws.dbKit(['new-team', 'teamx', '--no-install']).code).toBe(0);
    addMigration(
      ws,
      TEAMX,
      teamx[0]!,
      'CREATE TABLE "teamx_items" ("id" serial PRIMARY KEY, "owner_id" integer REFERENCES "public"."users"("id"));',
    );
    addMigration(ws, TEAMX, teamx[1]!, 'ALTER TABLE "teamx_items" ADD COLUMN "due" date;');
    // Team D gets one migration timestamped between Team X's two, so a combined run interleaves them.
    addMigration(ws, TEAMD, '20261125_100000_add_budget', 'ALTER TABLE "teamd_projects" ADD COLUMN "budget" integer;');
    const tags = (dir: string) =>
      JSON.parse(ws.read(`${dir}/drizzle/meta/_journal.json`)).entries.map((e: { tag: string }) => e.tag);
    shared = tags('shared/database');
    teamd = tags(TEAMD);
  });
  afterAll(async () => {
    for (const db of databases) await db.drop();
    ws.remove();
  });

  async function freshDatabase(label: string): Promise<string> {
    const db = await createTestDatabase({ label });
    databases.push(db);
    return db.url;
  }

  function migrate(url: string, pkg: string) {
    const run = ws.dbKit(['migrate', '--package', pkg], { DATABASE_URL: url });
    expect(run.code, run.stderr).toBe(0);
    return run;
  }

  it("Team D's migrate leaves no trace in Team X's bookkeeping, and Team X's leaves Team D's rows as they were", async () => {
    const url = await freshDatabase('iso_d_then_x');
    migrate(url, 'teamd');
    expect(await bookkeeping(url)).toEqual({ __drizzle_migrations: shared, __teamd_migrations: teamd });
    const sql = postgres(url, { max: 1 });
    const before = await sql`select id, name, applied_at from drizzle.__teamd_migrations order by id`;
    migrate(url, 'teamx');
    expect(await sql`select id, name, applied_at from drizzle.__teamd_migrations order by id`).toEqual(before);
    await sql.end();
    expect(await bookkeeping(url)).toEqual({
      __drizzle_migrations: shared,
      __teamd_migrations: teamd,
      __teamx_migrations: teamx,
    });
  });

  it('Team X first, then Team D, gives each team only its own rows', async () => {
    const url = await freshDatabase('iso_x_then_d');
    const run = migrate(url, 'teamx');
    expect(run.stdout).not.toMatch(/applied\s+teamd/);
    expect(await bookkeeping(url)).toEqual({ __drizzle_migrations: shared, __teamx_migrations: teamx });
    migrate(url, 'teamd');
    expect(await bookkeeping(url)).toEqual({
      __drizzle_migrations: shared,
      __teamd_migrations: teamd,
      __teamx_migrations: teamx,
    });
  });

  it('both at the same time: one waits for the other, each records only its own', async () => {
    const url = await freshDatabase('iso_concurrent');
    const runs = await Promise.all(
      ['teamd', 'teamx', 'teamd', 'teamx'].map((pkg) =>
        ws.dbKitAsync(['migrate', '--package', pkg], { DATABASE_URL: url }),
      ),
    );
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    expect(await bookkeeping(url)).toEqual({
      __drizzle_migrations: shared,
      __teamd_migrations: teamd,
      __teamx_migrations: teamx,
    });
  });

  it('migrate --all applies the teams in dependency order, each by timestamp, and files each row with its team', async () => {
    const url = await freshDatabase('iso_all');
    const run = ws.dbKit(['migrate', '--all'], { DATABASE_URL: url });
    expect(run.code, run.stderr).toBe(0);
    const order = [...run.stdout.matchAll(/applied\s+(\w+)\s+(\S+)/g)]
      .map((m) => `${m[1]} ${m[2]}`)
      .filter((line) => /2026112[5]/.test(line));
    // Teams build on shared only, so they come in alias order: every teamd migration before teamx's.
    expect(order).toEqual(['teamd 20261125_100000_add_budget', `teamx ${teamx[0]}`, `teamx ${teamx[1]}`]);
    expect(await bookkeeping(url)).toEqual({
      __drizzle_migrations: shared,
      __teamd_migrations: teamd,
      __teamx_migrations: teamx,
    });
  });
});

describe('workspace isolation', () => {
  it('refuses two packages that share a bookkeeping table', () => {
    const ws = fixtureWorkspace();
    try {
      expect(ws.dbKit(['new-team', 'teamx', '--no-install']).code).toBe(0);
      const manifest = JSON.parse(ws.read(`${TEAMX}/package.json`));
      manifest.dbKit.migrationsTable = '__teamd_migrations';
      ws.write(`${TEAMX}/package.json`, JSON.stringify(manifest, null, 2));
      const run = ws.dbKit(['migrate', '--package', 'teamx'], { DATABASE_URL: 'postgresql://nobody@127.0.0.1:1/none' });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(
        /@teamd\/database and @teamx\/database .* both declare "dbKit.migrationsTable": "__teamd_migrations"/,
      );
    } finally {
      ws.remove();
    }
  });
});
