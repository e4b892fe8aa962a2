// Scale benchmark: a generated workspace of 12 teams x 20 tables, 500 migrations in all.
// Times what a developer and CI run on it (migrate-all from empty, a no-op migrate, status, check),
// against the floor of psql applying the same SQL in one transaction. A quarter-size workspace
// runs first, so the ratio full/quarter shows whether a step grows faster than the history (~4x is linear).
//
// Run: pnpm bench:scale   (BENCH_DATABASE_URL or TEST_DATABASE_URL to use a server of your own;
// else the embedded test server). The workspace is left in .db/bench-scale/ for a look.
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { Workspace } from '@large-event/db-kit';
import { connect } from '../shared/db-kit/src/connection';
import { readMigrationFiles } from '../shared/db-kit/src/migrations/files';
import { classify, pendingInOrder } from '../shared/db-kit/src/migrations/state';
import { startTestServer } from '../shared/db-kit/src/testing/server';

interface Shape {
  teams: number;
  tablesPerTeam: number;
  sharedMigrations: number;
  /** Per team: one migration per table, then alterations up to this count. */
  migrationsPerTeam: number;
}

const FULL: Shape = { teams: 12, tablesPerTeam: 20, sharedMigrations: 20, migrationsPerTeam: 40 };
const QUARTER: Shape = { teams: 3, tablesPerTeam: 20, sharedMigrations: 20, migrationsPerTeam: 35 };
/** Each step runs this many times; the median is reported (the machine may be busy). */
const REPEAT = Number(process.env.REPEAT ?? 3);

function median(times: number, measure: (i: number) => number): number {
  const values = Array.from({ length: times }, (_, i) => measure(i)).sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)]!;
}

const total = (s: Shape) => s.sharedMigrations + s.teams * s.migrationsPerTeam;

const realRoot = Workspace.find().root;
const engineDir = join(realRoot, 'shared', 'db-kit');
const bin = join(engineDir, 'bin', 'db-kit.mjs');

function write(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}

/** `YYYYMMDD_HHMMSS` of base + minutes, UTC. */
function stamp(minutes: number): { tag: string; when: number } {
  const when = Date.UTC(2027, 0, 1) + minutes * 60_000;
  const iso = new Date(when).toISOString();
  return {
    tag: `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}_${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`,
    when,
  };
}

interface TableState {
  columns: string[];
}

/**
 * A schema package's files, written directly: SQL, drizzle's journal, a minimal valid snapshot
 * per migration (tables and columns, no indexes), and the schema module.
 */
class PackageWriter {
  private readonly entries: Array<{ idx: number; version: string; when: number; tag: string; breakpoints: boolean }> =
    [];
  private readonly tables = new Map<string, TableState>();
  private prevId = '00000000-0000-0000-0000-000000000000';

  constructor(
    readonly dir: string,
    readonly manifest: Record<string, unknown>,
  ) {}

  add(minutes: number, slug: string, statements: string[], change: (tables: Map<string, TableState>) => void): void {
    const { tag, when } = stamp(minutes);
    const name = `${tag}_${slug}`;
    write(join(this.dir, 'drizzle', `${name}.sql`), statements.join('--> statement-breakpoint\n'));
    change(this.tables);
    const idx = this.entries.length;
    this.entries.push({ idx, version: '7', when, tag: name, breakpoints: true });
    const id = randomUUID();
    const tables = Object.fromEntries(
      [...this.tables].map(([table, state]) => [
        `public.${table}`,
        {
          name: table,
          schema: '',
          columns: Object.fromEntries(
            state.columns.map((c) => [
              c,
              { name: c, type: c === 'id' ? 'serial' : 'integer', primaryKey: c === 'id', notNull: c === 'id' },
            ]),
          ),
          indexes: {},
          foreignKeys: {},
          compositePrimaryKeys: {},
          uniqueConstraints: {},
          policies: {},
          checkConstraints: {},
          isRLSEnabled: false,
        },
      ]),
    );
    const snapshot = {
      id,
      prevId: this.prevId,
      version: '7',
      dialect: 'postgresql',
      tables,
      enums: {},
      schemas: {},
      sequences: {},
      roles: {},
      policies: {},
      views: {},
      _meta: { columns: {}, schemas: {}, tables: {} },
    };
    write(
      join(this.dir, 'drizzle', 'meta', `${String(idx).padStart(4, '0')}_snapshot.json`),
      JSON.stringify(snapshot, null, 2),
    );
    this.prevId = id;
  }

  finish(dependencies: Record<string, string>): void {
    write(
      join(this.dir, 'drizzle', 'meta', '_journal.json'),
      JSON.stringify({ version: '7', dialect: 'postgresql', entries: this.entries }, null, 2),
    );
    write(
      join(this.dir, 'package.json'),
      JSON.stringify({ ...this.manifest, type: 'module', private: true, dependencies }, null, 2),
    );
    const lines = [`import { integer, pgTable, serial } from 'drizzle-orm/pg-core';`, ''];
    for (const [table, state] of this.tables) {
      const columns = state.columns.map(
        (c) => `  ${c}: ${c === 'id' ? "serial('id').primaryKey()" : `integer('${c}')`},`,
      );
      lines.push(
        `export const ${table.replace(/_(\w)/g, (_, ch: string) => ch.toUpperCase())} = pgTable('${table}', {`,
        ...columns,
        '});',
        '',
      );
    }
    write(join(this.dir, 'src', 'schema.ts'), lines.join('\n'));
    // What pnpm install would link: drizzle-orm for the schema module.
    mkdirSync(join(this.dir, 'node_modules'), { recursive: true });
    symlinkSync(
      join(realRoot, 'shared', 'database', 'node_modules', 'drizzle-orm'),
      join(this.dir, 'node_modules', 'drizzle-orm'),
    );
  }
}

function generateWorkspace(root: string, shape: Shape): void {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  write(join(root, 'package.json'), JSON.stringify({ name: 'bench-scale', private: true, type: 'module' }, null, 2));
  write(join(root, 'pnpm-workspace.yaml'), 'packages:\n  - shared/*\n  - teams/*/src/database\n');
  write(join(root, 'tsconfig.base.json'), '{}');
  symlinkSync(join(realRoot, 'node_modules'), join(root, 'node_modules'));
  mkdirSync(join(root, 'shared'), { recursive: true });
  symlinkSync(engineDir, join(root, 'shared', 'db-kit'));

  const shared = new PackageWriter(join(root, 'shared', 'database'), {
    name: '@bench/database',
    dbKit: {
      role: 'shared',
      alias: 'shared',
      schema: 'src/schema.ts',
      out: 'drizzle',
      migrationsTable: '__drizzle_migrations',
    },
  });
  shared.add(0, 'users', ['CREATE TABLE "users" ("id" serial PRIMARY KEY NOT NULL, "email" integer);'], (t) =>
    t.set('users', { columns: ['id', 'email'] }),
  );
  for (let i = 1; i < shape.sharedMigrations; i++) {
    shared.add(i, `users_c${i}`, [`ALTER TABLE "users" ADD COLUMN "c${i}" integer;`], (t) =>
      t.get('users')!.columns.push(`c${i}`),
    );
  }
  shared.finish({});

  for (let team = 1; team <= shape.teams; team++) {
    const alias = `team${String(team).padStart(2, '0')}`;
    const pkg = new PackageWriter(join(root, 'teams', alias, 'src', 'database'), {
      name: `@${alias}/database`,
      dbKit: {
        role: 'team',
        alias,
        tablePrefix: `${alias}_`,
        schema: 'src/schema.ts',
        out: 'drizzle',
        migrationsTable: `__${alias}_migrations`,
      },
    });
    for (let m = 0; m < shape.migrationsPerTeam; m++) {
      // Teams interleave in time, as merged branches do.
      const minutes = shape.sharedMigrations + m * shape.teams + team;
      const t = m % shape.tablesPerTeam;
      const table = `${alias}_t${String(t).padStart(2, '0')}`;
      if (m < shape.tablesPerTeam) {
        pkg.add(
          minutes,
          `create_t${t}`,
          [
            `CREATE TABLE "${table}" ("id" serial PRIMARY KEY NOT NULL, "user_id" integer, "amount" integer);`,
            `ALTER TABLE "${table}" ADD CONSTRAINT "${table}_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade;`,
            `CREATE INDEX "${table}_user_id_idx" ON "${table}" USING btree ("user_id");`,
          ],
          (tables) => tables.set(table, { columns: ['id', 'user_id', 'amount'] }),
        );
      } else {
        const column = `extra${Math.floor(m / shape.tablesPerTeam)}`;
        pkg.add(minutes, `alter_t${t}`, [`ALTER TABLE "${table}" ADD COLUMN "${column}" integer;`], (tables) =>
          tables.get(table)!.columns.push(column),
        );
      }
    }
    pkg.finish({ '@bench/database': 'workspace:*' });
  }
}

function run(root: string, args: string[], env: NodeJS.ProcessEnv): { ms: number; code: number; output: string } {
  const started = performance.now();
  const result = spawnSync(args[0]!, args.slice(1), { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } });
  const ms = performance.now() - started;
  return { ms, code: result.status ?? 1, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

function availableCommands(): string[] {
  const help = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' }).stdout;
  return [...help.matchAll(/^ {2}(\S+) {2,}/gm)].map((m) => m[1]!);
}

interface StepResult {
  step: string;
  ms: number | undefined;
  note?: string;
}

async function measure(shape: Shape, serverUrl: string): Promise<StepResult[]> {
  const root = join(realRoot, '.db', 'bench-scale');
  const started = performance.now();
  generateWorkspace(root, shape);
  const generatedMs = performance.now() - started;
  const admin = await connect(serverUrl, 'db-kit bench scale');
  const databases: string[] = [];
  const fresh = async () => {
    const name = `bench_scale_${randomBytes(4).toString('hex')}`;
    await admin.unsafe(`create database "${name}"`);
    databases.push(name);
    return Object.assign(new URL(serverUrl), { pathname: `/${name}` }).toString();
  };
  try {
    const results: StepResult[] = [{ step: 'generate workspace files', ms: generatedMs, note: 'not an engine step' }];
    run(root, [process.execPath, bin, '--help'], {}); // warm-up: the launcher rebuilds dist/ when src/ changed
    results.push({
      step: 'db-kit --help (node + launcher)',
      ms: median(REPEAT, () => run(root, [process.execPath, bin, '--help'], {}).ms),
    });

    // The floor: the same SQL, in the order the engine applies it, through psql in one transaction.
    const ws = Workspace.find(root);
    const files = pendingInOrder(ws.allInOrder().map((pkg) => classify(pkg, readMigrationFiles(pkg), [])));
    const script = join(root, 'all.sql');
    writeFileSync(script, files.map((f) => f.statements.join('\n')).join('\n'));
    const urls: string[] = [];
    for (let i = 0; i < REPEAT * 2; i++) urls.push(await fresh());
    const psqlMs = median(REPEAT, (i) => {
      const psql = run(root, ['psql', '-X', '-q', '-1', '-v', 'ON_ERROR_STOP=1', '-f', script, urls[i]!], {});
      if (psql.code !== 0) throw new Error(`psql failed: ${psql.output}`);
      return psql.ms;
    });
    results.push({ step: `psql -1 -f (${files.length} migrations, the floor)`, ms: psqlMs });

    const migrated = urls.slice(REPEAT);
    const migrate = (url: string) => {
      const result = run(root, [process.execPath, bin, 'migrate', '--all', '--quiet'], { DATABASE_URL: url });
      if (result.code !== 0) throw new Error(`migrate failed: ${result.output}`);
      return result;
    };
    results.push({ step: 'migrate --all, from empty', ms: median(REPEAT, (i) => migrate(migrated[i]!).ms) });
    results.push({
      step: 'migrate --all, nothing to do',
      ms: median(REPEAT, (i) => {
        const noop = migrate(migrated[i]!);
        if (!/Nothing to migrate/.test(noop.output)) throw new Error(`no-op migrate applied something: ${noop.output}`);
        return noop.ms;
      }),
    });
    const commands = availableCommands();
    // status reads the database; check reads only files, and --all lints the whole history.
    for (const [command, ...args] of [['status'], ['check', '--all']] as const) {
      if (!commands.includes(command)) {
        results.push({ step: command, ms: undefined, note: 'not on main yet' });
        continue;
      }
      let code = 0;
      const ms = median(REPEAT, (i) => {
        const step = run(root, [process.execPath, bin, command, ...args], { DATABASE_URL: migrated[i]! });
        code = step.code;
        return step.ms;
      });
      results.push({ step: [command, ...args].join(' '), ms, note: `exit ${code}` });
    }
    return results;
  } finally {
    for (const name of databases) await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end({ timeout: 5 });
  }
}

const server = process.env.BENCH_DATABASE_URL
  ? { url: process.env.BENCH_DATABASE_URL, source: 'BENCH_DATABASE_URL', stop: async () => {} }
  : await startTestServer(realRoot);
try {
  console.log(
    `Scale benchmark on ${server.source}: ${FULL.teams} teams x ${FULL.tablesPerTeam} tables, ${total(FULL)} migrations (quarter run: ${QUARTER.teams} teams, ${total(QUARTER)} migrations); median of ${REPEAT} runs per step; load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}\n`,
  );
  const quarter = await measure(QUARTER, server.url);
  const full = await measure(FULL, server.url);
  const floor = full.find((r) => r.step.startsWith('psql'))!.ms!;
  console.log(
    `${'step'.padEnd(44)} ${'quarter'.padStart(9)} ${'full'.padStart(9)}  full/quarter  x psql floor  per migration`,
  );
  for (let i = 0; i < full.length; i++) {
    const f = full[i]!;
    const q = quarter[i]!;
    if (f.ms === undefined) {
      console.log(`${f.step.padEnd(44)} ${'-'.padStart(9)} ${'-'.padStart(9)}  (${f.note})`);
      continue;
    }
    const label = f.step.replace(/\(\d+ migrations/, `(${total(FULL)} migrations`);
    console.log(
      `${label.padEnd(44)} ${`${q.ms!.toFixed(0)} ms`.padStart(9)} ${`${f.ms.toFixed(0)} ms`.padStart(9)}  ${`${(f.ms / q.ms!).toFixed(1)}x`.padStart(12)}  ${`${(f.ms / floor).toFixed(1)}x`.padStart(12)}  ${`${((f.ms / total(FULL)) * 1000).toFixed(0)} us`.padStart(13)}${f.note ? `  (${f.note})` : ''}`,
    );
  }
} finally {
  await server.stop();
}
