import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMigrationFiles } from '../src/migrations/files';
import { ownership } from '../src/migrations/ownership';
import { applyPromotion, planPromotion, sharedPackage, TableGraph } from '../src/promote';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import { TEST_SERVER_ENV } from '../src/testing/server';
import { Workspace } from '../src/workspace';
import { fixtureWorkspace } from './helpers';
import { typecheck } from './typecheck';

const TEAMD = 'teams/teamD/src/database';
const TABLES_FILE = `${TEAMD}/src/overlays/team-specific-tables.ts`;

/** A scratch workspace that is also a git repository with everything committed. */
function gitWorkspace(): FixtureWorkspace {
  const ws = fixtureWorkspace();
  ws.write('.gitignore', 'node_modules\n');
  git(ws, 'init', '-q');
  commitAll(ws, 'fixture');
  return ws;
}

function git(ws: FixtureWorkspace, ...args: string[]): string {
  const run = ws.exec('git', ['-c', 'user.email=test@example.com', '-c', 'user.name=test', ...args]);
  if (run.code !== 0) throw new Error(`git ${args.join(' ')}: ${run.stderr}`);
  return run.stdout;
}

function commitAll(ws: FixtureWorkspace, message: string): void {
  git(ws, 'add', '-A');
  git(ws, 'commit', '-q', '--allow-empty', '-m', message);
}

async function dbKit(ws: FixtureWorkspace, args: string[], url?: string) {
  const run = await ws.run(args, url ? { DATABASE_URL: url } : {});
  if (run.code !== 0) throw new Error(`db-kit ${args.join(' ')} exited ${run.code}: ${run.stderr}${run.stdout}`);
  return run;
}

async function query<T extends object>(url: string, text: string): Promise<T[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return (await sql.unsafe(text)) as unknown as T[];
  } finally {
    await sql.end();
  }
}

const rowsHash = async (url: string) =>
  (
    await query<{ n: number; hash: string }>(
      url,
      `select count(*)::int as n, md5(string_agg(p::text, '|' order by id)) as hash from teamd_projects p`,
    )
  )[0]!;

/** `pg_dump --schema-only`, without comments, SET lines, psql meta-commands and blank lines, statements sorted. */
function schemaOf(url: string, table?: string): string {
  const args = ['--schema-only', '--no-owner', '--no-privileges', ...(table ? ['-t', table] : []), url];
  const dump = spawnSync('pg_dump', args, { encoding: 'utf8' });
  if (dump.status !== 0) throw new Error(`pg_dump failed: ${dump.stderr || dump.error}`);
  return dump.stdout
    .split('\n')
    .filter(
      (line) =>
        line.trim() &&
        !line.startsWith('--') &&
        !line.startsWith('\\') &&
        !/^SET /.test(line) &&
        !/^SELECT pg_catalog\.set_config/.test(line),
    )
    .join('\n')
    .split(/;\n/)
    .map((s) => s.trim())
    .sort()
    .join(';\n');
}

/** The same, blind to column order: the adopt declares a column where the schema does, a history appends it. */
function schemaLines(url: string, table?: string): string[] {
  return schemaOf(url, table)
    .split('\n')
    .map((l) => l.trim().replace(/,$/, ''))
    .sort();
}

/** drizzle-kit's own migrator, as a project without db-kit would run it. */
function drizzleKitMigrate(ws: FixtureWorkspace, packageDir: string, url: string) {
  const run = spawnSync(process.execPath, [ws.path(`${TEAMD}/node_modules/drizzle-kit/bin.cjs`), 'migrate'], {
    cwd: ws.path(packageDir),
    env: { ...process.env, DATABASE_URL: url },
    encoding: 'utf8',
  });
  return { code: run.status ?? 1, stdout: run.stdout ?? '', stderr: run.stderr ?? '' };
}

describe('promote teamd_projects on databases in every state', () => {
  let ws: FixtureWorkspace;
  const db: Record<'a' | 'b' | 'c' | 'd' | 'e' | 'f', TestDatabase> = {} as never;
  let hashesBefore: string[];
  let rowsBefore: { n: number; hash: string };
  let rowsBeforeC: { n: number; hash: string };
  let promote: ReturnType<FixtureWorkspace['dbKit']>;

  beforeAll(async () => {
    ws = gitWorkspace();
    for (const state of ['a', 'b', 'c', 'd', 'e', 'f'] as const)
      db[state] = await createTestDatabase({ label: `promote_${state}` });
    // (a) and (c): Team D's first migration applied, with rows; (d) shared only; (b) empty.
    await dbKit(ws, ['migrate', '--all'], db.a.url);
    await dbKit(ws, ['migrate', '--all'], db.c.url);
    await dbKit(ws, ['migrate', '--package', 'shared'], db.d.url);
    for (const url of [db.a.url, db.c.url]) {
      await query(url, `insert into users (email) select 'user' || i || '@example.com' from generate_series(1, 20) i`);
      await query(
        url,
        `insert into teamd_projects (name, description, lead_id, created_at)
         select 'project ' || i, repeat('x', i % 50), 1 + i % 20, timestamptz '2026-01-01' + i * interval '1 minute' from generate_series(1, 1000) i`,
      );
      await query(
        url,
        `insert into teamd_tasks (project_id, title, status) select i, 'task ' || i, 'doing' from generate_series(1, 100) i`,
      );
    }
    // A Team D migration that touches the table: applied in (a), still pending in (c).
    ws.write(
      TABLES_FILE,
      ws
        .read(TABLES_FILE)
        .replace(
          "description: text('description'),",
          "description: text('description'),\n  budget: integer('budget'),",
        ),
    );
    await dbKit(ws, ['generate', '--package', 'teamd', '--name', 'add_budget']);
    commitAll(ws, 'add budget');
    await dbKit(ws, ['migrate', '--all'], db.a.url);
    rowsBefore = await rowsHash(db.a.url);
    rowsBeforeC = await rowsHash(db.c.url);

    hashesBefore = readMigrationFiles(Workspace.find(ws.root).resolve('teamd')).map((f) => f.hash);
    // The CLI as a process, as a person runs it: the tests below read its exit code and output.
    promote = ws.dbKit(['promote', '--package', 'teamd', '--tables', 'teamd_projects', '--yes']);
  }, 300_000);
  afterAll(async () => {
    for (const d of Object.values(db)) await d?.drop();
    ws?.remove();
  });

  it('moves the table definition into the shared schema and re-points Team D at it', () => {
    expect(promote.code, promote.stderr).toBe(0);
    expect(promote.stdout).toMatch(/Promoted teamd_projects/);
    const moved = ws.read('shared/database/src/schemas/teamd-projects.ts');
    expect(moved).toMatch(/export const teamdProjects = pgTable\('teamd_projects'/);
    expect(moved).toMatch(/import \{ users \} from '\.\/users';/);
    expect(moved).toMatch(/export type TeamdProject = typeof teamdProjects\.\$inferSelect;/);
    expect(ws.read('shared/database/src/schemas/index.ts')).toMatch(/export \* from '\.\/teamd-projects';/);
    const team = ws.read(TABLES_FILE);
    expect(team).not.toMatch(/pgTable\('teamd_projects'/);
    expect(team).toMatch(/import \{[^}]*\bteamdProjects\b[^}]*\} from '@large-event\/database';/);
    expect(team).toMatch(/\.references\(\(\) => teamdProjects\.id, \{ onDelete: 'cascade' \}\)/);
  });

  it('writes an adopting shared migration and a releasing Team D migration, both chained in drizzle format', async () => {
    const root = Workspace.find(ws.root);
    const [adopt] = readMigrationFiles(root.resolve('shared')).slice(-1);
    const [release] = readMigrationFiles(root.resolve('teamd')).slice(-1);
    expect(adopt!.tag).toMatch(/^\d{8}_\d{6}_adopt_teamd_projects$/);
    expect(release!.tag).toMatch(/^\d{8}_\d{6}_release_teamd_projects$/);
    // Self-contained: it requires none of Team D's history.
    expect(adopt!.requires).toEqual([]);
    expect(adopt!.statements.join('\n')).toMatch(/CREATE TABLE IF NOT EXISTS "teamd_projects"/);
    expect(adopt!.statements.join('\n')).not.toMatch(/DROP |INSERT INTO "(?!drizzle)/);
    // Team D's earlier statements on teamd_projects are guarded, and their checksums did not change.
    const teamFiles = readMigrationFiles(root.resolve('teamd'));
    expect(teamFiles[0]!.statements.join('\n')).toMatch(/\$db_kit_adopted\$[\s\S]*CREATE TABLE "teamd_projects"/);
    expect(teamFiles[0]!.statements.join('\n')).toMatch(/^CREATE TABLE "teamd_tasks"/m);
    expect(teamFiles.slice(0, hashesBefore.length).map((f) => f.hash)).toEqual(hashesBefore);
    expect(release!.statements).toEqual([expect.stringMatching(/SELECT 1;$/)]);
    // db:check reads Team D's history up to the release as Team D's, and the result as shared's.
    const check = await ws.run(['check', '--all']);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    for (const dir of ['shared/database/drizzle', `${TEAMD}/drizzle`]) {
      const check = ws.exec(process.execPath, [
        ws.path(`${TEAMD}/node_modules/drizzle-kit/bin.cjs`),
        'check',
        '--dialect',
        'postgresql',
        '--out',
        `./${dir}`,
      ]);
      expect(check.code, check.stdout + check.stderr).toBe(0);
    }
  });

  it('(a) a fully migrated database keeps its 1,000 rows unchanged, and shared owns the table', async () => {
    const shared = await dbKit(ws, ['migrate', '--package', 'shared'], db.a.url);
    expect(shared.stdout).toMatch(/applied\s+shared\s+\d+_\d+_adopt_teamd_projects/);
    expect(shared.stdout).not.toMatch(/release_teamd_projects/);
    // The rewritten Team D files count as the ones applied: only the release is new.
    const teamd = await dbKit(ws, ['migrate', '--package', 'teamd'], db.a.url);
    expect(teamd.stdout).toMatch(/applied\s+teamd\s+\d+_\d+_release_teamd_projects/);
    expect(teamd.stdout).not.toMatch(/_init|add_budget/);
    expect(await rowsHash(db.a.url)).toEqual(rowsBefore);
    expect(rowsBefore.n).toBe(1000);
    const owners = ownership(Workspace.find(ws.root).packages);
    expect(owners.get('table:public.teamd_projects')?.name).toBe('@large-event/database');
    expect(owners.get('table:public.teamd_tasks')?.name).toBe('@teamd/database');
    expect(owners.get('constraint:public.teamd_tasks.teamd_tasks_project_id_teamd_projects_id_fk')?.name).toBe(
      '@teamd/database',
    );
    // db:status agrees, and finds no drift and nothing pending (exit 0).
    const status = await ws.run(['status', '--json'], { DATABASE_URL: db.a.url });
    expect(status.code, status.stdout + status.stderr).toBe(0);
    const tables = (JSON.parse(status.stdout) as { tables: Array<{ name: string; ownerAlias: string | null }> }).tables;
    expect(tables.find((t) => t.name.endsWith('teamd_projects'))?.ownerAlias).toBe('shared');
    expect(tables.find((t) => t.name.endsWith('teamd_tasks'))?.ownerAlias).toBe('teamd');
  });

  it('leaves nothing for generate to write in either package', async () => {
    const sqlCount = (dir: string) => readdirSync(ws.path(dir)).filter((f) => f.endsWith('.sql')).length;
    const before = [sqlCount('shared/database/drizzle'), sqlCount(`${TEAMD}/drizzle`)];
    expect((await dbKit(ws, ['generate', '--package', 'shared'])).stdout).toMatch(/nothing written/);
    expect((await dbKit(ws, ['generate', '--package', 'teamd'])).stdout).toMatch(/nothing written/);
    expect([sqlCount('shared/database/drizzle'), sqlCount(`${TEAMD}/drizzle`)]).toEqual(before);
  });

  it('(b) an empty database set up after the promotion ends with the same schema', async () => {
    await dbKit(ws, ['migrate', '--all'], db.b.url);
    expect(schemaLines(db.b.url)).toEqual(schemaLines(db.a.url));
  });

  it("(c) a database behind on Team D's history: the adopt leaves the table to it, Team D's migrate finishes it", async () => {
    const shared = await dbKit(ws, ['migrate', '--package', 'shared'], db.c.url);
    expect(shared.stdout).toMatch(/applied\s+shared\s+\d+_\d+_adopt_teamd_projects/);
    expect(shared.stdout).not.toMatch(/add_budget/);
    const teamd = await dbKit(ws, ['migrate', '--package', 'teamd'], db.c.url);
    expect(teamd.stdout).toMatch(/applied\s+teamd\s+\d+_\d+_add_budget[\s\S]*release_teamd_projects/);
    expect(schemaOf(db.c.url)).toBe(schemaOf(db.a.url));
    const after = await query<{ n: number }>(
      db.c.url,
      `select count(*)::int as n from teamd_projects where budget is null`,
    );
    expect(after[0]!.n).toBe(rowsBeforeC.n);
  });

  it('(d) a shared-only database gets the promoted table and nothing else of Team D, then Team D later, and ends the same', async () => {
    await dbKit(ws, ['migrate', '--package', 'shared'], db.d.url);
    const tables = await query<{ t: string }>(
      db.d.url,
      `select table_name as t from information_schema.tables where table_schema = 'public' and table_name like 'teamd%' order by 1`,
    );
    expect(tables.map((r) => r.t)).toEqual(['teamd_projects']);
    const [teamdBookkeeping] = await query<{ t: string | null }>(
      db.d.url,
      `select to_regclass('drizzle.__teamd_migrations')::text as t`,
    );
    expect(teamdBookkeeping!.t).toBeNull();
    const teamd = await dbKit(ws, ['migrate', '--package', 'teamd'], db.d.url);
    expect(teamd.stdout).toMatch(/_init[\s\S]*add_budget[\s\S]*release_teamd_projects/);
    expect(schemaLines(db.d.url)).toEqual(schemaLines(db.a.url));
    expect((await ws.run(['status'], { DATABASE_URL: db.d.url })).code).toBe(0);
  });

  it("(e) a database migrated by drizzle-kit's own migrate, shared first, converges to the same schema", async () => {
    for (const dir of ['shared/database', TEAMD]) {
      const run = drizzleKitMigrate(ws, dir, db.e.url);
      expect(run.code, `${dir}: ${run.stdout}${run.stderr}`).toBe(0);
    }
    // db-kit adopts that database (nothing runs again, its bookkeeping gets our columns), status is clean.
    expect((await dbKit(ws, ['migrate', '--all'], db.e.url)).stdout).not.toMatch(/applied /);
    expect(schemaLines(db.e.url)).toEqual(schemaLines(db.a.url));
    expect((await ws.run(['status'], { DATABASE_URL: db.e.url })).code).toBe(0);
  });

  it('(f) shared alone still migrates in one transaction (--single-transaction)', async () => {
    const run = await dbKit(ws, ['migrate', '--package', 'shared', '--single-transaction'], db.f.url);
    expect(run.stdout).toMatch(/adopt_teamd_projects/);
    const [found] = await query<{ projects: string | null; tasks: string | null }>(
      db.f.url,
      `select to_regclass('teamd_projects')::text as projects, to_regclass('teamd_tasks')::text as tasks`,
    );
    expect(found).toEqual({ projects: 'teamd_projects', tasks: null });
  });

  it('the adopting migration alone, run twice, builds the table as Team D left it (where Team D never ran)', async () => {
    const alone = await createTestDatabase({ label: 'promote_alone' });
    try {
      const root = Workspace.find(ws.root);
      const [init] = readMigrationFiles(root.resolve('shared'));
      const adopt = readMigrationFiles(root.resolve('shared')).at(-1)!;
      for (const statement of [...init!.statements, ...adopt.statements, ...adopt.statements])
        await query(alone.url, statement);
      // The same columns, types, defaults and constraints. Only the column order may differ: Team D's
      // history appended budget with ALTER TABLE, the adopt declares it where the schema does.
      const lines = (dump: string) =>
        dump
          .split('\n')
          .map((l) => l.trim().replace(/,$/, ''))
          .sort();
      expect(lines(schemaOf(alone.url, 'teamd_projects'))).toEqual(lines(schemaOf(db.a.url, 'teamd_projects')));
    } finally {
      await alone.drop();
    }
  });

  it('the promoted workspace typechecks, and a Team D test inserting through @teamd/database passes', () => {
    const run = typecheck(ws.root, ['shared/database', TEAMD]);
    expect(run.code, run.stdout).toBe(0);
    const adminUrl = process.env.TEST_DATABASE_URL || process.env[TEST_SERVER_ENV];
    const vitest = ws.exec(
      process.execPath,
      [ws.path('node_modules/vitest/vitest.mjs'), 'run', `${TEAMD}/test/overlay.test.ts`],
      { TEST_DATABASE_URL: adminUrl },
    );
    expect(vitest.code, vitest.stdout + vitest.stderr).toBe(0);
    expect(vitest.stdout).toMatch(/2 passed/);
  }, 300_000);
});

describe('promote refuses, plans and restores', () => {
  let ws: FixtureWorkspace;
  const status = () => git(ws, 'status', '--porcelain');
  beforeAll(() => {
    ws = gitWorkspace();
  });
  afterAll(() => ws?.remove());

  it('refuses a table whose foreign key points at a Team D table left behind, naming it', async () => {
    const run = await ws.run(['promote', '--package', 'teamd', '--tables', 'teamd_tasks', '--yes']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/teamd_tasks has a foreign key to teamd_projects/);
    expect(run.stderr).toMatch(/--tables teamd_tasks,teamd_projects/);
    expect(status()).toBe('');
  });

  it('--dry-run prints files and SQL per package and leaves git status clean', async () => {
    const run = await ws.run(['promote', '--package', 'teamd', '--tables', 'teamd_projects', '--dry-run']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /@large-event\/database \(shared\):[\s\S]*add\s+shared\/database\/src\/schemas\/teamd-projects\.ts/,
    );
    expect(run.stdout).toMatch(/CREATE TABLE IF NOT EXISTS "teamd_projects"/);
    expect(run.stdout).toMatch(/@teamd\/database \(teamd\):[\s\S]*SELECT 1;/);
    expect(status()).toBe('');
  });

  it('without a terminal and without --yes, says how to run it and changes nothing', async () => {
    // A process with no terminal: what a person sees in CI.
    const run = ws.dbKit(['promote', '--package', 'teamd', '--tables', 'teamd_projects']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/next: Pass --tables a,b --yes/);
    expect(status()).toBe('');
  });

  it('refuses to start when a file it would change has uncommitted edits, and points at --force', async () => {
    ws.write(TABLES_FILE, `${ws.read(TABLES_FILE)}// work in progress\n`);
    const run = await ws.run(['promote', '--package', 'teamd', '--tables', 'teamd_projects', '--yes']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /Uncommitted edits in files promote would change: teams\/teamD\/src\/database\/src\/overlays\/team-specific-tables\.ts/,
    );
    expect(run.stderr).toMatch(/--force/);
    expect(status().trim()).toBe(`M ${TABLES_FILE}`);
    git(ws, 'checkout', '--', TABLES_FILE);
  });

  it('refuses a schema with a change no migration records, naming it and the generate to run', async () => {
    const file = 'teams/teamD/src/database/src/overlays/extensions.ts';
    const text = ws.read(file);
    ws.write(
      file,
      text.replace("emailDigest: boolean('email_digest')", "theme: varchar('theme', { length: 16 }),\n  $&"),
    );
    const run = await ws.run(['promote', '--package', 'teamd', '--tables', 'teamd_projects', '--dry-run']);
    git(ws, 'checkout', '--', file);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /The schema has changes no migration records yet: @teamd\/database \(ALTER TABLE "teamd_user_settings" ADD COLUMN "theme" varchar\(16\)/,
    );
    expect(run.stderr).toMatch(/next: Run pnpm teamd:db:generate, commit, then promote\./);
    expect(status()).toBe('');
  });

  it('restores every file when the check after writing fails', async () => {
    const root = Workspace.find(ws.root);
    const graph = TableGraph.of(root.resolve('teamd'));
    const plan = await planPromotion(graph, sharedPackage(root), ['teamd_projects']);
    expect(plan.changes.length).toBeGreaterThan(6);
    await expect(
      applyPromotion(plan, async () => {
        expect(existsSync(ws.path('shared/database/src/schemas/teamd-projects.ts'))).toBe(true);
        throw new Error('check failed');
      }),
    ).rejects.toThrow('check failed');
    expect(status()).toBe('');
  });

  it('promotes a table with the team table it references, moving their enum and emptying the team file', async () => {
    const run = await ws.run(['promote', '--package', 'teamd', '--tables', 'teamd_tasks,teamd_projects', '--yes']);
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(ws.path(TABLES_FILE))).toBe(false);
    expect(ws.read(`${TEAMD}/src/overlays/index.ts`)).not.toMatch(/team-specific-tables/);
    expect(ws.read('shared/database/src/schemas/teamd-tasks.ts')).toMatch(/export const teamdTaskStatus = pgEnum/);
    const owners = ownership(Workspace.find(ws.root).packages);
    expect(owners.get('enum:public.teamd_task_status')?.name).toBe('@large-event/database');
    expect(owners.get('table:public.teamd_user_settings')?.name).toBe('@teamd/database');
    expect((await ws.run(['generate', '--package', 'teamd'])).stdout).toMatch(/nothing written/);
    const tsc = typecheck(ws.root, [TEAMD]);
    expect(tsc.code, tsc.stdout).toBe(0);
  }, 300_000);
});
