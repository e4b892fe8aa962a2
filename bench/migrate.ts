// pnpm bench:migrate [--migrations 300] [--rounds 3] [--noop-runs 9]
//
// Measures, side by side in one run, on databases of its own (created and dropped here):
//  (a) applying N synthetic migrations to an empty database: db-kit migrate, drizzle-kit migrate,
//      and the floor, psql -1 -f of the same SQL concatenated;
//  (b) a no-op migrate (nothing pending) against a bare `node -e 0`.
// Every figure is the wall time of a fresh process, as a developer or a deploy sees it.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { readDotenv, redact } from '../shared/db-kit/src/env';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DB_KIT = join(ROOT, 'shared/db-kit/bin/db-kit.cjs');
const DRIZZLE_KIT = join(ROOT, 'shared/db-kit/node_modules/drizzle-kit/bin.cjs');
const GOAL_APPLY = 1.15;
const GOAL_NOOP = 2.5;
/** Durable migrate against what any process pays: the psql floor plus a bare node start. */
const GOAL_DURABLE = 1.1;

const { values: args } = parseArgs({
  options: {
    migrations: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '3' },
    'noop-runs': { type: 'string', default: '9' },
  },
});
const MIGRATIONS = Number(args.migrations);
const ROUNDS = Number(args.rounds);
const NOOP_RUNS = Number(args['noop-runs']);

function serverUrl(): { url: string; from: string } {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, from: 'DATABASE_URL' };
  if (process.env.TEST_DATABASE_URL) return { url: process.env.TEST_DATABASE_URL, from: 'TEST_DATABASE_URL' };
  const fromFile = readDotenv(ROOT).DATABASE_URL;
  if (fromFile) return { url: fromFile, from: '.env' };
  return { url: 'postgresql://postgres@127.0.0.1:5432/postgres', from: 'the system PostgreSQL' };
}

function urlFor(base: string, database: string): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

function psqlPath(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v psql'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/** A throwaway workspace with one schema package holding `count` migrations in drizzle's format. */
function syntheticWorkspace(count: number): { root: string; pkgDir: string; concatenated: string } {
  const root = join(ROOT, '.db', 'bench', `ws-${randomBytes(3).toString('hex')}`);
  const pkgDir = join(root, 'bench-schema');
  mkdirSync(join(pkgDir, 'drizzle', 'meta'), { recursive: true });
  writeFileSync(join(root, 'pnpm-workspace.yaml'), 'packages:\n  - bench-schema\n');
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'bench-root', private: true }));
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
  writeFileSync(
    join(pkgDir, 'package.json'),
    JSON.stringify({
      name: '@bench/schema',
      private: true,
      dbKit: {
        role: 'shared',
        alias: 'bench',
        schema: 'src/schema.ts',
        out: 'drizzle',
        migrationsTable: '__drizzle_migrations',
      },
    }),
  );
  writeFileSync(
    join(pkgDir, 'drizzle.config.ts'),
    `export default { dialect: 'postgresql', out: './drizzle', migrations: { schema: 'drizzle', table: '__drizzle_migrations' }, dbCredentials: { url: process.env.DATABASE_URL } };\n`,
  );
  const entries = [];
  const all: string[] = [];
  const start = Date.UTC(2026, 0, 1);
  for (let i = 0; i < count; i++) {
    const when = start + i * 60_000;
    const iso = new Date(when).toISOString();
    const tag = `${iso.slice(0, 10).replaceAll('-', '')}_${iso.slice(11, 19).replaceAll(':', '')}_step_${i}`;
    const statements = [
      `CREATE TABLE "bench_t${i}" (\n\t"id" serial PRIMARY KEY NOT NULL,\n\t"name" varchar(255) NOT NULL,\n\t"score" integer DEFAULT 0,\n\t"parent_id" integer,\n\t"created_at" timestamp with time zone DEFAULT now() NOT NULL\n);`,
      `CREATE INDEX "bench_t${i}_name_idx" ON "bench_t${i}" USING btree ("name");`,
    ];
    if (i > 0)
      statements.push(
        `ALTER TABLE "bench_t${i}" ADD CONSTRAINT "bench_t${i}_parent_fk" FOREIGN KEY ("parent_id") REFERENCES "public"."bench_t${i - 1}"("id");`,
      );
    writeFileSync(join(pkgDir, 'drizzle', `${tag}.sql`), statements.join('--> statement-breakpoint\n'));
    entries.push({ idx: i, version: '7', when, tag, breakpoints: true });
    all.push(...statements);
  }
  writeFileSync(
    join(pkgDir, 'drizzle', 'meta', '_journal.json'),
    JSON.stringify({ version: '7', dialect: 'postgresql', entries }, null, 2),
  );
  return { root, pkgDir, concatenated: all.join('\n') };
}

function timed(command: string, argv: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): number {
  const started = performance.now();
  const run = spawnSync(command, argv, { cwd: options.cwd, env: { ...process.env, ...options.env }, encoding: 'utf8' });
  const ms = performance.now() - started;
  if (run.status !== 0)
    throw new Error(`${[command, ...argv].join(' ')} failed (${run.status}):\n${run.stdout}${run.stderr}`);
  return ms;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function row(label: string, ms: number, base: number, goal?: number): string {
  const ratio = ms / base;
  const verdict =
    goal === undefined
      ? ''
      : `   goal ${goal === GOAL_NOOP ? '<' : '<='} ${goal}x: ${ratio <= goal ? 'met' : 'MISSED'}`;
  return `  ${label.padEnd(40)} ${ms.toFixed(0).padStart(6)} ms   ${ratio.toFixed(2)}x${verdict}`;
}

async function main(): Promise<void> {
  const server = serverUrl();
  const admin = postgres(server.url, { max: 1, onnotice: () => {} });
  const created: string[] = [];
  const ws = syntheticWorkspace(MIGRATIONS);
  const freshDatabase = async (label: string) => {
    const name = `bench_${label}_${randomBytes(3).toString('hex')}`;
    // FILE_COPY checkpoints first, so no run pays for the previous one's dirty buffers.
    await admin.unsafe(`create database "${name}" strategy file_copy`);
    created.push(name);
    return urlFor(server.url, name);
  };
  try {
    const [{ version }] = (await admin`select current_setting('server_version') as version`) as unknown as [
      { version: string },
    ];
    const psql = psqlPath();
    console.log(
      `bench:migrate: PostgreSQL ${version} at ${redact(server.url)} (from ${server.from}), Node ${process.version}`,
    );
    console.log(psql ? `psql: ${psql}` : 'psql: not found on PATH; the psql floor column is skipped.');
    console.log(`load average at the start: ${loadAverage()}`);
    const sqlFile = join(ws.root, 'all.sql');
    writeFileSync(sqlFile, ws.concatenated);

    const dbKitApply = (url: string, ...flags: string[]) =>
      timed(process.execPath, [DB_KIT, 'migrate', '--package', 'bench', '--quiet', ...flags], {
        cwd: ws.root,
        env: { DATABASE_URL: url },
      });
    const drizzleApply = (url: string) =>
      timed(process.execPath, [DRIZZLE_KIT, 'migrate'], { cwd: ws.pkgDir, env: { DATABASE_URL: url } });
    const psqlApply = (url: string) =>
      timed(psql!, ['-X', '-q', '-1', '-v', 'ON_ERROR_STOP=1', '-d', url, '-f', sqlFile], { cwd: ws.root });

    // Warm-up: builds db-kit's dist/ if src/ changed, fills the OS file cache. Not counted.
    dbKitApply(await freshDatabase('warm'));
    drizzleApply(await freshDatabase('warm'));

    const apply = {
      dbKit: [] as number[],
      dbKitGrouped: [] as number[],
      drizzle: [] as number[],
      psql: [] as number[],
    };
    for (let round = 0; round < ROUNDS; round++) {
      if (psql) apply.psql.push(psqlApply(await freshDatabase('psql')));
      apply.dbKit.push(dbKitApply(await freshDatabase('dbkit')));
      apply.dbKitGrouped.push(dbKitApply(await freshDatabase('dbkit1'), '--single-transaction'));
      apply.drizzle.push(drizzleApply(await freshDatabase('drizzle')));
    }
    const statements = ws.concatenated.split(/;\n/).length;
    console.log(
      `\n(a) apply ${MIGRATIONS} synthetic migrations (${statements} statements) to an empty database, median of ${ROUNDS}`,
    );
    const floor = psql ? median(apply.psql) : median(apply.dbKit);
    if (psql) console.log(row('psql -1 -f (floor, no bookkeeping)', floor, floor));
    console.log(row('db-kit migrate (a transaction each)', median(apply.dbKit), floor, psql ? GOAL_APPLY : undefined));
    console.log(
      row('db-kit migrate --single-transaction', median(apply.dbKitGrouped), floor, psql ? GOAL_APPLY : undefined),
    );
    console.log(row('drizzle-kit migrate', median(apply.drizzle), floor));

    // (b) No-op: nothing pending. On the synthetic workspace (hashes 300 files) and on this repository.
    const syntheticUrl = await freshDatabase('noop');
    dbKitApply(syntheticUrl);
    drizzleApply(syntheticUrl); // adopts nothing new: drizzle sees its high-water mark
    const repoUrl = await freshDatabase('noop_repo');
    timed(process.execPath, [DB_KIT, 'migrate', '--all', '--quiet'], { cwd: ROOT, env: { DATABASE_URL: repoUrl } });
    const noop = { node: [] as number[], repo: [] as number[], synthetic: [] as number[], drizzle: [] as number[] };
    for (let i = 0; i < NOOP_RUNS; i++) {
      noop.node.push(timed(process.execPath, ['-e', '0'], { cwd: ROOT }));
      noop.repo.push(
        timed(process.execPath, [DB_KIT, 'migrate', '--all', '--quiet'], { cwd: ROOT, env: { DATABASE_URL: repoUrl } }),
      );
      noop.synthetic.push(dbKitApply(syntheticUrl));
      noop.drizzle.push(drizzleApply(syntheticUrl));
    }
    const node = median(noop.node);
    console.log(`\n(b) no-op migrate (nothing pending), median of ${NOOP_RUNS}`);
    console.log(row('node -e 0', node, node));
    console.log(row('db-kit migrate --all (this repo)', median(noop.repo), node, GOAL_NOOP));
    console.log(row(`db-kit migrate (${MIGRATIONS} migrations)`, median(noop.synthetic), node, GOAL_NOOP));
    console.log(row(`drizzle-kit migrate (${MIGRATIONS} migrations)`, median(noop.drizzle), node));

    // Where (a)'s gap comes from: a db-kit run is a fixed start (node, connect, read and hash the
    // files, check the database: exactly the no-op run) plus the SQL work. psql has no such start.
    if (psql) {
      const fixed = median(noop.synthetic);
      console.log(`\n(a - b) the SQL work alone, net of db-kit's fixed start (${fixed.toFixed(0)} ms, the no-op run)`);
      console.log(row('db-kit migrate (a transaction each)', median(apply.dbKit) - fixed, floor));
      console.log(row('db-kit migrate --single-transaction', median(apply.dbKitGrouped) - fixed, floor));
      // Every reported migration is durable (see the runner): the goal counts a node start against psql's none.
      const base = floor + node;
      console.log(`\n(a vs floor + node) durable db-kit against psql -1 -f plus node -e 0 (${base.toFixed(0)} ms)`);
      console.log(row('db-kit migrate (a transaction each)', median(apply.dbKit), base, GOAL_DURABLE));
      console.log(row('db-kit migrate --single-transaction', median(apply.dbKitGrouped), base, GOAL_DURABLE));
    }
    console.log(`\nload average at the end: ${loadAverage()}`);
  } finally {
    for (const name of created) await admin.unsafe(`drop database if exists "${name}" with (force)`).catch(() => {});
    await admin.end({ timeout: 5 });
    if (!process.env.BENCH_KEEP) rmSync(ws.root, { recursive: true, force: true }); // BENCH_KEEP=1 keeps it for profiling
  }
}

/** The 1, 5 and 15 minute load averages: figures taken on a busy machine say so. */
function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
}

main().catch((error) => {
  console.error(`error: ${redact(error instanceof Error ? error.message : String(error))}`);
  console.error('  next: set DATABASE_URL (or TEST_DATABASE_URL) to a server where this user may create databases.');
  process.exit(2);
});
