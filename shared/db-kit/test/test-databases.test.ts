import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createTestDatabase,
  dropTemplate,
  listTemplates,
  TemplateDatabases,
  templateKey,
  type FixtureWorkspace,
  type TestDatabase,
} from '../src/testing';
import { TEST_SERVER_ENV } from '../src/testing/server';
import { Workspace } from '../src/workspace';
import { fixtureWorkspace } from './helpers';

const adminUrl = () => process.env.TEST_DATABASE_URL || process.env[TEST_SERVER_ENV]!;

async function query<T>(url: string, text: string): Promise<T[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return (await sql.unsafe(text)) as unknown as T[];
  } finally {
    await sql.end();
  }
}

async function publicTables(url: string): Promise<string[]> {
  return (
    await query<{ t: string }>(
      url,
      `select table_name as t from information_schema.tables where table_schema = 'public' order by 1`,
    )
  ).map((r) => r.t);
}

/** A copy of the workspace whose shared history differs, so its templates are its own. */
function workspaceWithOwnHistory(): FixtureWorkspace {
  const ws = fixtureWorkspace();
  const file = ws
    .path('shared/database/drizzle')
    .concat('/', JSON.parse(ws.read('shared/database/drizzle/meta/_journal.json')).entries[0].tag, '.sql');
  const relative = file.slice(ws.root.length + 1);
  ws.write(relative, `${ws.read(relative)}\n-- ${ws.root}`);
  return ws;
}

describe('createTestDatabase({ migrate })', () => {
  const databases: TestDatabase[] = [];
  afterAll(async () => {
    for (const db of databases) await db.drop();
  });

  it('hands out a clone that holds the migrated schema and no rows from other tests', async () => {
    const first = await createTestDatabase({ migrate: 'teamd', label: 'clone_first' });
    databases.push(first);
    await query(first.url, `insert into users (email) values ('first@example.com')`);
    await query(first.url, `insert into teamd_projects (name) values ('only in first')`);

    const second = await createTestDatabase({ migrate: 'teamd', label: 'clone_second' });
    databases.push(second);
    expect(await publicTables(second.url)).toEqual([
      'events',
      'teamd_projects',
      'teamd_tasks',
      'teamd_user_settings',
      'users',
    ]);
    expect(await query(second.url, 'select count(*)::int as n from users')).toEqual([{ n: 0 }]);
    expect(await query(second.url, 'select count(*)::int as n from teamd_projects')).toEqual([{ n: 0 }]);
    const recorded = await query<{ name: string }>(second.url, 'select name from drizzle.__teamd_migrations');
    expect(recorded.map((r) => r.name)).toEqual([expect.stringMatching(/_init$/)]);
    // The first database kept its own rows.
    expect(await query(first.url, 'select email from users')).toEqual([{ email: 'first@example.com' }]);

    const key = templateKey(Workspace.find(), 'teamd');
    const [template] = await query<{ datistemplate: boolean }>(
      adminUrl(),
      `select datistemplate from pg_database where datname = '${key.name}'`,
    );
    expect(template?.datistemplate).toBe(true);
  });

  it('drop() removes the clone, and KEEP_TEST_DB keeps it and prints its URL without the password', async () => {
    const db = await createTestDatabase({ migrate: 'shared', label: 'drop_me' });
    await db.drop();
    expect(await query(adminUrl(), `select datname from pg_database where datname = '${db.name}'`)).toEqual([]);

    const kept = await createTestDatabase({ migrate: 'shared', label: 'keep_me' });
    databases.push(kept);
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    vi.stubEnv('KEEP_TEST_DB', '1');
    let printed = '';
    try {
      await kept.drop();
      printed = log.mock.calls.map((c) => String(c[0])).join('\n');
    } finally {
      vi.unstubAllEnvs();
      log.mockRestore();
    }
    expect(printed).toContain(`/${kept.name}`);
    expect(printed).not.toMatch(/:postgres@/);
    expect(await query(adminUrl(), `select datname from pg_database where datname = '${kept.name}'`)).toEqual([
      { datname: kept.name },
    ]);
  });

  it("a run started inside a test (a nested vitest) drops only its own databases at its end, not this run's", async () => {
    const mine = await createTestDatabase({ label: 'outer_run' });
    databases.push(mine);
    // What a nested `vitest run` does in its main process: the global setup, then its teardown,
    // with the environment it inherits from this run's worker.
    const setup = join(Workspace.find().root, 'shared/db-kit/src/testing/global-setup.ts');
    const script = `const { default: setup } = await import(${JSON.stringify(setup)}); await (await setup())();`;
    const nested = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, CI_QUIET: '1' },
    });
    expect(nested.status, nested.stderr).toBe(0);
    expect(await query(adminUrl(), `select datname from pg_database where datname = '${mine.name}'`)).toEqual([
      { datname: mine.name },
    ]);
  });
});

describe('template databases', () => {
  let ws: FixtureWorkspace;
  let admin: postgres.Sql;
  const clones: string[] = [];
  beforeAll(() => {
    ws = workspaceWithOwnHistory();
    admin = postgres(adminUrl(), { max: 1, onnotice: () => {} });
  });
  afterEach(async () => {
    for (const name of clones.splice(0)) await admin.unsafe(`drop database if exists "${name}" with (force)`);
  });
  afterAll(async () => {
    const key = templateKey(Workspace.find(ws.root), 'teamd');
    for (const name of [key.name, templateKey(Workspace.find(ws.root), 'shared').name]) await dropTemplate(admin, name);
    await admin.end();
    ws.remove();
  });

  it('are keyed by every migration file the package builds on: names and contents', () => {
    const fixture = Workspace.find(ws.root);
    const real = Workspace.find();
    expect(templateKey(fixture, 'teamd').name).toMatch(/^tpl_teamd_[0-9a-f]{12}$/);
    // The fixture's shared migration differs by one comment line: both keys move.
    expect(templateKey(fixture, 'shared').name).not.toBe(templateKey(real, 'shared').name);
    expect(templateKey(fixture, 'teamd').name).not.toBe(templateKey(real, 'teamd').name);
    const copy = fixtureWorkspace();
    try {
      const before = {
        shared: templateKey(Workspace.find(copy.root), 'shared').name,
        teamd: templateKey(Workspace.find(copy.root), 'teamd').name,
      };
      const teamdFile = `teams/teamD/src/database/drizzle/${JSON.parse(copy.read('teams/teamD/src/database/drizzle/meta/_journal.json')).entries[0].tag}.sql`;
      copy.write(teamdFile, `${copy.read(teamdFile)}\n-- edited`);
      const after = Workspace.find(copy.root);
      expect(templateKey(after, 'shared').name).toBe(before.shared);
      expect(templateKey(after, 'teamd').name).not.toBe(before.teamd);
    } finally {
      copy.remove();
    }
  });

  it('concurrent workers build one template and each get a full clone', async () => {
    const fixture = Workspace.find(ws.root);
    const key = templateKey(fixture, 'teamd');
    await dropTemplate(admin, key.name);
    const made = await Promise.all(
      [1, 2, 3, 4].map(async (i) => {
        const worker = new TemplateDatabases(adminUrl(), Workspace.find(ws.root));
        const name = `t_tpl_worker_${i}_${process.pid}`;
        clones.push(name);
        try {
          await worker.clone('teamd', name);
        } finally {
          await worker.end();
        }
        return name;
      }),
    );
    for (const name of made) {
      const url = Object.assign(new URL(adminUrl()), { pathname: `/${name}` }).toString();
      expect(await publicTables(url)).toContain('teamd_user_settings');
    }
    expect(await listTemplates(admin, 'teamd')).toContain(key.name);
    expect((await listTemplates(admin, 'teamd')).filter((n) => n === key.name)).toHaveLength(1);
  });

  it('keeps a pool of ready-made clones: the next test gets one by rename, and the pool refills', async () => {
    const fixture = Workspace.find(ws.root);
    const key = templateKey(fixture, 'teamd');
    const pool = async () =>
      (
        await admin.unsafe('select datname from pg_database where datname like $1 order by 1', [
          `tpp_${key.name.slice(4)}\\_%`,
        ])
      ).map((r) => r.datname as string);
    const filled = async (size: number) => {
      for (let waited = 0; waited < 60_000 && (await pool()).length < size; waited += 50)
        await new Promise((resolve) => setTimeout(resolve, 50));
      return pool();
    };
    const templates = new TemplateDatabases(adminUrl(), fixture, { pool: 2 });
    try {
      const first = `t_tpl_pool_a_${process.pid}`;
      const second = `t_tpl_pool_b_${process.pid}`;
      clones.push(first, second);
      await templates.clone('teamd', first);
      const before = await filled(2);
      expect(before).toHaveLength(2);
      await templates.clone('teamd', second);
      const after = await pool();
      expect(before.filter((name) => !after.includes(name))).toHaveLength(1); // renamed into the second clone
      const url = Object.assign(new URL(adminUrl()), { pathname: `/${second}` }).toString();
      expect(await publicTables(url)).toContain('teamd_projects');
      expect(await filled(2)).toHaveLength(2);
    } finally {
      await templates.end();
    }
  });

  it('never clones a half-built template: a database with its name but not marked is rebuilt', async () => {
    const key = templateKey(Workspace.find(ws.root), 'shared');
    await dropTemplate(admin, key.name);
    await admin.unsafe(`create database "${key.name}"`); // as if a build had crashed after CREATE DATABASE
    const templates = new TemplateDatabases(adminUrl(), Workspace.find(ws.root));
    const name = `t_tpl_rebuilt_${process.pid}`;
    clones.push(name);
    try {
      await templates.clone('shared', name);
    } finally {
      await templates.end();
    }
    const url = Object.assign(new URL(adminUrl()), { pathname: `/${name}` }).toString();
    expect(await publicTables(url)).toEqual(['events', 'users']);
  });

  it("drops the package's templates this checkout replaced, and other checkouts' only once they are old", async () => {
    const key = templateKey(Workspace.find(ws.root), 'shared');
    const checkout = createHash('sha256').update(ws.root).digest('hex').slice(0, 12);
    const replaced = {
      name: 'tpl_shared_000000000000',
      comment: `ready ${new Date().toISOString()}, root ${checkout}`,
    };
    const otherRecent = {
      name: 'tpl_shared_111111111111',
      comment: `ready ${new Date().toISOString()}, root 0123456789ab`,
    };
    const otherOld = { name: 'tpl_shared_222222222222', comment: 'ready 2020-01-01T00:00:00.000Z, root 0123456789ab' };
    for (const { name, comment } of [replaced, otherRecent, otherOld]) {
      await dropTemplate(admin, name);
      await admin.unsafe(`create database "${name}"`);
      await admin.unsafe(`comment on database "${name}" is 'db-kit test template, ${comment}'`);
      await admin.unsafe(`alter database "${name}" with is_template true`);
    }
    await dropTemplate(admin, key.name);
    const templates = new TemplateDatabases(adminUrl(), Workspace.find(ws.root));
    try {
      await templates.ensure('shared');
    } finally {
      await templates.end();
    }
    const left = await listTemplates(admin, 'shared');
    expect(left).toContain(key.name);
    expect(left).toContain(otherRecent.name);
    expect(left).not.toContain(replaced.name);
    expect(left).not.toContain(otherOld.name);
    await dropTemplate(admin, otherRecent.name);
  });
});
