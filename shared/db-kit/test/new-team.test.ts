import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  dropTemplate,
  listTemplates,
  type FixtureWorkspace,
  type TestDatabase,
} from '../src/testing';
import { TEST_SERVER_ENV } from '../src/testing/server';
import { Workspace } from '../src/workspace';
import { fixtureWorkspace } from './helpers';
import { typecheck } from './typecheck';

const TEAMX = 'teams/teamx/src/database';
const realRoot = Workspace.find().root;

describe('db-kit new-team teamx, then generate, migrate, typecheck and test', () => {
  let ws: FixtureWorkspace;
  let db: TestDatabase;
  let rootBefore: string;
  beforeAll(async () => {
    ws = fixtureWorkspace();
    rootBefore = ws.read('package.json');
    db = await createTestDatabase({ label: 'new_team' });
  });
  afterAll(async () => {
    await db.drop();
    // The fixture's teamx history exists once: its templates would only pile up.
    const admin = postgres(process.env.TEST_DATABASE_URL || process.env[TEST_SERVER_ENV]!, {
      max: 1,
      onnotice: () => {},
    });
    try {
      for (const name of await listTemplates(admin, 'teamx')) await dropTemplate(admin, name);
    } finally {
      await admin.end();
    }
    ws.remove();
  });

  it('scaffolds a full overlay package with its prefix, bookkeeping table and root scripts', () => {
    const run = ws.dbKit(['new-team', 'teamx', '--no-install']); // a process: exit code and what a person reads
    expect(run.code, run.stderr).toBe(0);
    const manifest = JSON.parse(ws.read(`${TEAMX}/package.json`));
    expect(manifest.name).toBe('@teamx/database');
    expect(manifest.dbKit).toEqual({
      role: 'team',
      alias: 'teamx',
      tablePrefix: 'teamx_',
      schema: 'src/overlays/index.ts',
      out: 'drizzle',
      migrationsTable: '__teamx_migrations',
    });
    expect(manifest.dependencies['@large-event/database']).toBe('workspace:*');
    for (const file of [
      'src/overlays/team-specific-tables.ts',
      'src/overlays/extensions.ts',
      'src/overlays/index.ts',
      'src/index.ts',
      'src/scripts/promote-schema.ts',
      'drizzle.config.ts',
      'tsconfig.json',
      'test/overlay.test.ts',
    ]) {
      expect(existsSync(ws.path(`${TEAMX}/${file}`)), file).toBe(true);
    }
    expect(readdirSync(ws.path(`${TEAMX}/drizzle`))).toEqual(['.gitkeep']);

    const scripts = JSON.parse(ws.read('package.json')).scripts;
    for (const command of [
      'generate',
      'migrate',
      'studio',
      'promote',
      'check',
      'push',
      'status',
      'repair',
      'rollback',
    ]) {
      expect(scripts[`teamx:db:${command}`]).toBe(`db-kit ${command} --package teamx`);
    }
    // Only the team's lines were added (and a comma): the file keeps its formatting.
    const lines = (text: string) => text.split('\n').map((line) => line.replace(/,$/, ''));
    expect(lines(ws.read('package.json')).filter((line) => !line.includes('"teamx:db:'))).toEqual(lines(rootBefore));
    expect(Workspace.find(ws.root).resolve('teamx').dir).toBe(ws.path(TEAMX));
  });

  it('typechecks once linked', () => {
    ws.linkDependencies(TEAMX);
    const tsc = typecheck(ws.root, [TEAMX]);
    expect(tsc.code, tsc.stdout + tsc.stderr).toBe(0);
  });

  it('generate --name init writes the first migration of the team tables only', async () => {
    const run = await ws.run(['generate', '--package', 'teamx', '--name', 'init']);
    expect(run.code, run.stderr).toBe(0);
    const files = readdirSync(ws.path(`${TEAMX}/drizzle`)).filter((f) => f.endsWith('.sql'));
    expect(files.sort()).toEqual([
      expect.stringMatching(/^\d{8}_\d{6}_init\.down\.sql$/),
      expect.stringMatching(/^\d{8}_\d{6}_init\.sql$/),
    ]);
    expect(ws.read(`${TEAMX}/drizzle/${files[0]}`)).toMatch(/DROP TABLE "teamx_items"/);
    const text = ws.read(`${TEAMX}/drizzle/${files[1]}`);
    expect(text).toMatch(/CREATE TABLE "teamx_items"/);
    expect(text).toMatch(/CREATE TABLE "teamx_user_settings"/);
    expect(text).not.toMatch(/CREATE TABLE "users"/);
  });

  it('migrate --package teamx puts the team tables in the database, recorded in its own bookkeeping', async () => {
    const run = await ws.run(['migrate', '--package', 'teamx'], { DATABASE_URL: db.url });
    expect(run.code, run.stderr).toBe(0);
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      const tables = await sql<
        { t: string }[]
      >`select table_name as t from information_schema.tables where table_schema = 'public' and table_name like 'teamx%' order by 1`;
      expect(tables.map((r) => r.t)).toEqual(['teamx_items', 'teamx_user_settings']);
      const recorded = await sql<{ name: string }[]>`select name from drizzle.__teamx_migrations`;
      expect(recorded.map((r) => r.name)).toEqual([expect.stringMatching(/_init$/)]);
    } finally {
      await sql.end();
    }
  });

  /**
   * The package's own test script, run from its folder as `pnpm test` there runs it, under the real root's
   * config (its include patterns are what made plain `vitest run` find nothing). One nested vitest, run by
   * whichever of the two tests below comes first: each asserts its part of the same run.
   */
  let packageTest: { status: number | null; stdout: string; stderr: string } | undefined;
  const runPackageTest = () => {
    if (packageTest) return packageTest;
    ws.write('vitest.config.ts', readFileSync(join(realRoot, 'vitest.config.ts'), 'utf8'));
    const script: string = JSON.parse(ws.read(`${TEAMX}/package.json`)).scripts.test;
    const [bin, ...args] = script.split(' ');
    expect(bin).toBe('vitest');
    const vitest = join(realRoot, 'node_modules/vitest/vitest.mjs');
    packageTest = spawnSync(process.execPath, [vitest, ...args], { cwd: ws.path(TEAMX), encoding: 'utf8' });
    return packageTest;
  };

  it("the package's own test script, run from its folder, finds its test under the root's vitest config", () => {
    const run = runPackageTest();
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Test Files\s+.*1 passed/);
  });

  it('the scaffolded test passes', () => {
    const run = runPackageTest();
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Tests\s+.*2 passed/);
  });
});

describe('db-kit new-team refuses', () => {
  let ws: FixtureWorkspace;
  beforeAll(() => {
    ws = fixtureWorkspace();
  });
  afterAll(() => ws.remove());

  it.each([
    ['x', /not a valid team name/],
    ['9lives', /not a valid team name/],
    ['team-x', /not a valid team name/],
    ['team_x', /not a valid team name/],
    ['abcdefghijklmnopqrstuv', /not a valid team name/],
    ['shared', /reserved/],
    ['drizzle', /reserved/],
    ['public', /reserved/],
    ['teamd', /taken: @teamd\/database/],
    ['TeamD', /taken: @teamd\/database/],
    ['users', /collides with the table users/],
  ])('%s, with a reason and exit 2', async (name, reason) => {
    const run = await ws.run(['new-team', name, '--no-install']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(reason);
    expect(run.stderr).toMatch(/\n {2}next: /);
  });

  it('a name whose folder or scripts already exist, and a prefix that collides with a team prefix', async () => {
    ws.write('teams/Billing/README.md', 'leftover');
    expect((await ws.run(['new-team', 'billing', '--no-install'])).stderr).toMatch(
      /taken: teams\/Billing already exists/,
    );
    const root = JSON.parse(ws.read('package.json'));
    root.scripts['ops:db:migrate'] = 'echo';
    ws.write('package.json', JSON.stringify(root, null, 2));
    expect((await ws.run(['new-team', 'ops', '--no-install'])).stderr).toMatch(
      /already has the script "ops:db:migrate"/,
    );
    const teamd = JSON.parse(ws.read('teams/teamD/src/database/package.json'));
    teamd.dbKit.tablePrefix = 'td_';
    ws.write('teams/teamD/src/database/package.json', JSON.stringify(teamd, null, 2));
    const run = await ws.run(['new-team', 'td', '--no-install']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/prefix "td_" collides with @teamd\/database's prefix "td_"/);
    expect(existsSync(ws.path('teams/td'))).toBe(false);
  });
});
