import type postgres from 'postgres';
import { DbKitError } from '../errors';
import { MIGRATIONS_SCHEMA, type SchemaPackage } from '../workspace';
import { readMigrationFiles, type MigrationFile } from './files';
import { readFileSync } from 'node:fs';

type Sql = postgres.Sql;

/** Every migrate, of any package, takes this one session-level advisory lock. */
export const MIGRATION_LOCK_KEY = 7_265_410_923;

export interface AppliedRow {
  id: number;
  hash: string;
  created_at: string | null;
  name: string | null;
}

export interface PackageState {
  pkg: SchemaPackage;
  files: MigrationFile[];
  applied: Array<{ file: MigrationFile; row: AppliedRow }>;
  /** Applied by drizzle's own migrator: recorded by hash, not yet by name. */
  adoptable: Array<{ file: MigrationFile; row: AppliedRow }>;
  pending: MigrationFile[];
  /** Pending migrations older than the newest applied one of the same package (merged late). */
  outOfOrder: MigrationFile[];
  /** Applied, but the file's text no longer matches the recorded hash. */
  changed: Array<{ file: MigrationFile; row: AppliedRow }>;
  /** Recorded as applied, but no file in the journal matches it. */
  missing: AppliedRow[];
}

export interface MigrateOptions {
  dryRun?: boolean;
  strictOrder?: boolean;
  /** How long to wait for another migrate to finish. */
  lockTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface MigrateResult {
  applied: Array<{ file: MigrationFile; ms: number; outOfOrder: boolean }>;
  adopted: number;
  /** With dryRun: what would run, in order. */
  planned: MigrationFile[];
}

export function bookkeepingTable(pkg: SchemaPackage): string {
  return `"${MIGRATIONS_SCHEMA}"."${pkg.migrationsTable}"`;
}

/**
 * Applies the migrations of several packages as one ordered run.
 *
 * A migration is pending when its name is not recorded, whatever its timestamp, so a
 * branch merged late is applied instead of skipped. All packages share one advisory lock,
 * each migration commits together with its bookkeeping row, and an applied file that was
 * edited stops the run before anything executes.
 *
 * @example
 *   const migrator = new Migrator(sql, ws.migrationOrder(ws.resolve('teamd')));
 *   const { applied } = await migrator.migrate({ log: console.log });
 */
export class Migrator {
  constructor(
    private readonly sql: Sql,
    private readonly packages: SchemaPackage[],
  ) {}

  /** What the database has and what the files say, per package. Takes no lock and writes nothing. */
  async inspect(): Promise<PackageState[]> {
    return inspectPackages(this.sql, this.packages);
  }

  async migrate(options: MigrateOptions = {}): Promise<MigrateResult> {
    const log = options.log ?? (() => {});
    if (options.dryRun) {
      const states = await this.inspect();
      assertIntact(states);
      const planned = pendingInOrder(states);
      if (options.strictOrder) assertInOrder(states);
      return { applied: [], adopted: 0, planned };
    }
    const conn = await this.sql.reserve();
    try {
      await acquireLock(conn, options.lockTimeoutMs ?? 60_000, log);
      try {
        await conn.unsafe('set synchronous_commit = off');
        await ensureBookkeeping(conn, this.packages);
        const states = await inspectPackages(conn, this.packages);
        assertIntact(states);
        if (options.strictOrder) assertInOrder(states);
        const adopted = await adopt(conn, states);
        const applied: MigrateResult['applied'] = [];
        const outOfOrder = new Set(states.flatMap((s) => s.outOfOrder));
        const byName = new Map(this.packages.map((p) => [p.name, p]));
        for (const file of pendingInOrder(states)) {
          const started = performance.now();
          await applyMigration(conn, byName.get(file.packageName)!, file, outOfOrder.has(file));
          const ms = performance.now() - started;
          applied.push({ file, ms, outOfOrder: outOfOrder.has(file) });
          log(`  applied  ${byName.get(file.packageName)!.alias.padEnd(8)} ${file.tag}  (${ms.toFixed(0)} ms)${outOfOrder.has(file) ? '  out of order: older than an applied migration' : ''}`);
        }
        return { applied, adopted, planned: [] };
      } finally {
        await conn.unsafe('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
      }
    } finally {
      conn.release();
    }
  }
}

async function acquireLock(conn: postgres.ReservedSql, timeoutMs: number, log: (line: string) => void): Promise<void> {
  const [first] = await conn.unsafe('select pg_try_advisory_lock($1) as locked', [MIGRATION_LOCK_KEY]);
  if (first?.locked) return;
  log(`Waiting for the migration lock: ${await describeLockHolder(conn)}.`);
  try {
    await conn.unsafe(`set lock_timeout = ${Math.max(1, Math.floor(timeoutMs))}`);
    await conn.unsafe('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
  } catch (error) {
    if ((error as { code?: string }).code === '55P03') {
      throw new DbKitError(
        `Gave up after ${(timeoutMs / 1000).toFixed(0)} s waiting for the migration lock, held by ${await describeLockHolder(conn)}.`,
        'Wait for that migrate to finish, or raise --lock-timeout (seconds).',
      );
    }
    throw error;
  } finally {
    await conn.unsafe('set lock_timeout = 0').catch(() => {});
  }
}

async function describeLockHolder(conn: postgres.ReservedSql): Promise<string> {
  const rows = await conn.unsafe(
    `select a.pid, a.application_name, a.client_addr::text as addr, a.usename,
            extract(epoch from now() - a.query_start)::int as seconds
       from pg_locks l join pg_stat_activity a on a.pid = l.pid
      where l.locktype = 'advisory' and l.granted
        and ((l.classid::bigint << 32) | l.objid::bigint) = $1`,
    [MIGRATION_LOCK_KEY],
  );
  const holder = rows[0];
  if (!holder) return 'another session (Postgres does not say which)';
  const app = holder.application_name ? `"${holder.application_name}"` : 'a session';
  return `${app} (pid ${holder.pid}${holder.usename ? `, user ${holder.usename}` : ''}${holder.addr ? ` from ${holder.addr}` : ''})`;
}

async function ensureBookkeeping(conn: postgres.ReservedSql, packages: SchemaPackage[]): Promise<void> {
  const columns = await conn.unsafe(
    `select table_name, column_name from information_schema.columns where table_schema = $1`,
    [MIGRATIONS_SCHEMA],
  );
  const have = new Set(columns.map((c) => `${c.table_name}.${c.column_name}`));
  for (const pkg of packages) {
    const table = bookkeepingTable(pkg);
    if (!have.has(`${pkg.migrationsTable}.id`)) {
      // drizzle's own columns first, so drizzle-kit migrate keeps working on the same table.
      await conn.unsafe(`create schema if not exists "${MIGRATIONS_SCHEMA}"`);
      await conn.unsafe(`create table if not exists ${table} (id serial primary key, hash text not null, created_at bigint)`);
    }
    if (!have.has(`${pkg.migrationsTable}.name`)) {
      await conn.unsafe(
        `alter table ${table}
           add column if not exists name text,
           add column if not exists applied_at timestamptz default now(),
           add column if not exists execution_ms integer,
           add column if not exists out_of_order boolean not null default false`,
      );
    }
  }
}

async function readApplied(sql: Sql | postgres.ReservedSql, pkg: SchemaPackage): Promise<AppliedRow[] | undefined> {
  const [exists] = await sql.unsafe(`select to_regclass($1) as t`, [bookkeepingTable(pkg)]);
  if (!exists?.t) return undefined;
  const [hasName] = await sql.unsafe(
    `select count(*)::int as n from information_schema.columns where table_schema = $1 and table_name = $2 and column_name = 'name'`,
    [MIGRATIONS_SCHEMA, pkg.migrationsTable],
  );
  const nameColumn = hasName?.n ? 'name' : 'null::text as name';
  return (await sql.unsafe(`select id, hash, created_at::text, ${nameColumn} from ${bookkeepingTable(pkg)} order by id`)) as unknown as AppliedRow[];
}

export async function inspectPackages(sql: Sql | postgres.ReservedSql, packages: SchemaPackage[]): Promise<PackageState[]> {
  const states: PackageState[] = [];
  for (const pkg of packages) {
    const files = readMigrationFiles(pkg);
    const rows = (await readApplied(sql, pkg)) ?? [];
    states.push(classify(pkg, files, rows));
  }
  return states;
}

/** Matches bookkeeping rows to files: by name, else (drizzle-migrated rows) by hash, else by created_at. */
export function classify(pkg: SchemaPackage, files: MigrationFile[], rows: AppliedRow[]): PackageState {
  const state: PackageState = { pkg, files, applied: [], adoptable: [], pending: [], outOfOrder: [], changed: [], missing: [] };
  const unmatched = new Set(rows);
  const byName = new Map(rows.filter((r) => r.name).map((r) => [r.name!, r]));
  for (const file of files) {
    let row = byName.get(file.tag);
    if (!row) {
      row = rows.find((r) => !r.name && unmatched.has(r) && r.hash === file.hash);
      if (row) state.adoptable.push({ file, row });
    }
    if (!row) row = rows.find((r) => !r.name && unmatched.has(r) && r.created_at === String(file.when));
    if (!row) {
      state.pending.push(file);
      continue;
    }
    unmatched.delete(row);
    if (row.hash === file.hash) state.applied.push({ file, row });
    else state.changed.push({ file, row });
  }
  state.missing = [...unmatched];
  const newestApplied = [...state.applied, ...state.changed].map((a) => a.file.orderKey).sort().pop();
  if (newestApplied) state.outOfOrder = state.pending.filter((f) => f.orderKey < newestApplied);
  return state;
}

/** Pending migrations of all packages, by timestamp; at equal timestamps, dependencies first. */
export function pendingInOrder(states: PackageState[]): MigrationFile[] {
  const rank = new Map(states.map((s, i) => [s.pkg.name, i]));
  return states
    .flatMap((s) => s.pending)
    .sort((a, b) => (a.orderKey === b.orderKey ? rank.get(a.packageName)! - rank.get(b.packageName)! : a.orderKey < b.orderKey ? -1 : 1));
}

/** Stops before anything runs when an applied migration was edited or deleted. */
export function assertIntact(states: PackageState[]): void {
  const problems: string[] = [];
  for (const s of states) {
    for (const { file } of s.changed) problems.push(`${s.pkg.name}: ${file.tag}.sql was changed after it was applied (recorded hash differs).`);
    for (const row of s.missing) {
      problems.push(`${s.pkg.name}: ${row.name ? `${row.name}.sql` : `the migration with hash ${row.hash.slice(0, 12)}`} was applied but its file is gone from ${s.pkg.out}/.`);
    }
  }
  if (problems.length) {
    throw new DbKitError(
      `Refusing to migrate: ${problems.join(' ')}`,
      'Restore the original file from git (git log -p -- <file>). If the change is intended, record it with `db-kit repair --package <pkg> --reason "..."`.',
      1,
    );
  }
}

function assertInOrder(states: PackageState[]): void {
  const late = states.flatMap((s) => s.outOfOrder.map((f) => `${s.pkg.name}: ${f.tag}`));
  if (late.length) {
    throw new DbKitError(
      `--strict-order: ${late.length} pending migration(s) are older than an applied one: ${late.join(', ')}.`,
      'Regenerate them on top of the current history, or run without --strict-order to apply them out of order.',
      1,
    );
  }
}

async function adopt(conn: postgres.ReservedSql, states: PackageState[]): Promise<number> {
  let adopted = 0;
  for (const s of states) {
    for (const { file, row } of s.adoptable) {
      await conn.unsafe(`update ${bookkeepingTable(s.pkg)} set name = $1 where id = $2`, [file.tag, row.id]);
      adopted++;
    }
  }
  return adopted;
}

async function applyMigration(conn: postgres.ReservedSql, pkg: SchemaPackage, file: MigrationFile, outOfOrder: boolean): Promise<void> {
  const started = performance.now();
  const record = (ms: number) =>
    conn.unsafe(`insert into ${bookkeepingTable(pkg)} (hash, created_at, name, execution_ms, out_of_order) values ($1, $2, $3, $4, $5)`, [
      file.hash,
      file.when,
      file.tag,
      Math.round(ms),
      outOfOrder,
    ]);
  if (!file.transactional) {
    // Runs statement by statement; the row is written only once all of them succeeded.
    for (let i = 0; i < file.statements.length; i++) await runStatement(conn, file, i);
    await record(performance.now() - started);
    return;
  }
  await conn.unsafe('begin');
  try {
    for (let i = 0; i < file.statements.length; i++) await runStatement(conn, file, i);
    await record(performance.now() - started);
    await conn.unsafe('commit');
  } catch (error) {
    await conn.unsafe('rollback').catch(() => {});
    throw error;
  }
}

async function runStatement(conn: postgres.ReservedSql, file: MigrationFile, index: number): Promise<void> {
  const statement = file.statements[index]!;
  try {
    await conn.unsafe(statement).simple();
  } catch (error) {
    throw migrationFailure(file, index, statement, error);
  }
}

/** `teamd/drizzle/x.sql:12:8, statement 2 (ALTER TABLE ...): column "y" does not exist` */
function migrationFailure(file: MigrationFile, index: number, statement: string, error: unknown): DbKitError {
  const pg = error as { message?: string; position?: string; code?: string; detail?: string };
  const text = readFileSync(file.path, 'utf8');
  const start = Math.max(0, text.indexOf(statement));
  let offset = start;
  if (pg.position) offset += Number(pg.position) - 1;
  const before = text.slice(0, offset).split('\n');
  const line = before.length;
  const column = before[before.length - 1]!.length + 1;
  const firstLine = statement.split('\n')[0]!.slice(0, 100);
  return new DbKitError(
    `${file.path}:${line}:${column}: migration ${file.tag} failed at statement ${index + 1} of ${file.statements.length} (${firstLine}): ${pg.message ?? String(error)}${pg.code ? ` [${pg.code}]` : ''}${pg.detail ? ` ${pg.detail}` : ''}`,
    file.transactional
      ? 'Nothing of this migration was kept; earlier migrations stay applied. Fix the SQL and run migrate again.'
      : 'This migration runs without a transaction: statements before the failing one stay applied. Make them idempotent (IF NOT EXISTS) and run migrate again.',
    1,
  );
}
