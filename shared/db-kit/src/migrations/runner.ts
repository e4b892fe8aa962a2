import type postgres from 'postgres';
import { readFileSync } from 'node:fs';
import { DbKitError } from '../errors';
import type { SchemaPackage } from '../workspace';
import { Bookkeeping, bookkeepingTable } from './bookkeeping';
import { readMigrationFiles, type MigrationFile } from './files';
import { MigrationLock } from './lock';
import { orderByRequirements, withRequiredMigrations } from './requirements';
import { assertInOrder, assertIntact, classify, pendingInOrder, type PackageState } from './state';

type Sql = postgres.Sql;
type Queryable = Sql | postgres.ReservedSql;

export type { PackageState } from './state';
export { bookkeepingTable } from './bookkeeping';

export interface MigrateOptions {
  dryRun?: boolean;
  strictOrder?: boolean;
  /**
   * Apply the whole run in one transaction (Flyway's `group`): a failure keeps nothing of the
   * run. Faster for long histories, but every lock is held until the end; for fresh databases and CI.
   */
  singleTransaction?: boolean;
  /** How long to wait for another migrate to finish. */
  lockTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface MigrateResult {
  applied: Array<{ file: MigrationFile; ms: number; outOfOrder: boolean }>;
  adopted: number;
  /** With dryRun: what would run, in order. */
  planned: MigrationFile[];
  /** With dryRun: the pending migrations among `planned` that are older than an applied one. */
  plannedOutOfOrder: MigrationFile[];
}

export const DEFAULT_LOCK_TIMEOUT_MS = 60_000;

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
  private readonly bookkeeping: Bookkeeping;

  /**
   * @param known every package of the workspace: a pending migration may require one of a
   *   package outside `packages` (see requirements.ts). Defaults to `packages`.
   */
  constructor(
    private readonly sql: Sql,
    private readonly packages: SchemaPackage[],
    private readonly known: SchemaPackage[] = packages,
  ) {
    this.bookkeeping = new Bookkeeping(packages);
  }

  /** What the database has and what the files say, per package. Takes no lock and writes nothing. */
  async inspect(): Promise<PackageState[]> {
    return this.inspectWith(this.sql);
  }

  async migrate(options: MigrateOptions = {}): Promise<MigrateResult> {
    const log = options.log ?? (() => {});
    if (options.dryRun) {
      const states = await this.withRequirements(this.sql, await this.inspect(), log);
      assertIntact(states);
      if (options.strictOrder) assertInOrder(states);
      return {
        applied: [],
        adopted: 0,
        planned: orderByRequirements(pendingInOrder(states), states),
        plannedOutOfOrder: states.flatMap((s) => s.outOfOrder),
      };
    }
    // Nothing to do is the common case (every deploy, every setup): decide it without the lock.
    // Committed state is all we can see, so "nothing pending" cannot miss a run in progress.
    const files = this.packages.map((pkg) => readMigrationFiles(pkg));
    const { states: seen, complete } = await this.inspectWithLayout(this.sql, files);
    assertIntact(seen);
    if (complete && !pendingInOrder(seen).length && !seen.some((s) => s.adoptable.length))
      return { applied: [], adopted: 0, planned: [], plannedOutOfOrder: [] };

    const conn = await this.sql.reserve();
    const lock = new MigrationLock(conn);
    try {
      // Commits of bookkeeping rows need not wait for the disk one by one: a crash loses at most
      // the last few, whose migrations were rolled back with them.
      await lock.acquire({
        timeoutMs: options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS,
        log,
        prelude: 'set synchronous_commit = off',
      });
      try {
        await this.bookkeeping.ensure(conn);
        const states = await this.withRequirements(conn, (await this.inspectWithLayout(conn, files)).states, log);
        const pulled = states.map((s) => s.pkg).filter((p) => !this.packages.includes(p));
        if (pulled.length) await new Bookkeeping(pulled).ensure(conn);
        assertIntact(states);
        if (options.strictOrder) assertInOrder(states);
        const adopted = await adopt(conn, states);
        const applied: MigrateResult['applied'] = [];
        const outOfOrder = new Set(states.flatMap((s) => s.outOfOrder));
        const byName = new Map(states.map((s) => [s.pkg.name, s.pkg]));
        const pending = orderByRequirements(pendingInOrder(states), states);
        const group = options.singleTransaction ? await RunTransaction.begin(conn, pending) : undefined;
        for (const file of pending) {
          const pkg = byName.get(file.packageName)!;
          const late = outOfOrder.has(file);
          const started = performance.now();
          if (group) await group.apply(pkg, file, late);
          else await applyMigration(conn, pkg, file, late);
          const ms = performance.now() - started;
          applied.push({ file, ms, outOfOrder: late });
          log(
            `  applied  ${pkg.alias.padEnd(8)} ${file.tag}  (${ms.toFixed(0)} ms)${late ? '  out of order: older than an applied migration' : ''}`,
          );
        }
        await group?.commit();
        return { applied, adopted, planned: [], plannedOutOfOrder: [] };
      } finally {
        await lock.release();
      }
    } finally {
      conn.release();
    }
  }

  /** Adds the migrations of other packages that pending ones require (see requirements.ts). */
  private withRequirements(
    sql: Queryable,
    states: PackageState[],
    log: (line: string) => void,
  ): Promise<PackageState[]> {
    const findPackage = (name: string) => this.known.find((p) => p.name === name);
    return withRequiredMigrations(async (pkg) => (await inspectPackages(sql, [pkg]))[0]!, findPackage, states, log);
  }

  private async inspectWith(sql: Queryable): Promise<PackageState[]> {
    return inspectPackages(sql, this.packages, this.bookkeeping);
  }

  private async inspectWithLayout(
    sql: Queryable,
    files: MigrationFile[][],
  ): Promise<{ states: PackageState[]; complete: boolean }> {
    const { applied, complete } = await this.bookkeeping.readWithLayout(sql);
    return { states: this.packages.map((pkg, i) => classify(pkg, files[i]!, applied.get(pkg.name) ?? [])), complete };
  }
}

/** Reads every package's state without a Migrator, e.g. for status. */
export async function inspectPackages(
  sql: Queryable,
  packages: SchemaPackage[],
  bookkeeping = new Bookkeeping(packages),
): Promise<PackageState[]> {
  const files = packages.map((pkg) => readMigrationFiles(pkg));
  const rows = await bookkeeping.read(sql);
  return packages.map((pkg, i) => classify(pkg, files[i]!, rows.get(pkg.name) ?? []));
}

async function adopt(conn: postgres.ReservedSql, states: PackageState[]): Promise<number> {
  const updates = states.flatMap((s) =>
    s.adoptable.map(({ file, row }) => ({ table: bookkeepingTable(s.pkg), tag: file.tag, id: row.id })),
  );
  for (const { table, tag, id } of updates) await conn.unsafe(`update ${table} set name = $1 where id = $2`, [tag, id]);
  return updates.length;
}

/**
 * A transactional migration travels as one simple-protocol query: BEGIN, its statements, its
 * bookkeeping row, COMMIT. Postgres stops at the first error and the session is left in the
 * failed transaction, which we roll back; only then is the migration replayed statement by
 * statement, inside a transaction that is always rolled back, to name the failing statement.
 */
async function applyMigration(
  conn: postgres.ReservedSql,
  pkg: SchemaPackage,
  file: MigrationFile,
  outOfOrder: boolean,
): Promise<void> {
  if (!file.transactional) {
    // Statement by statement (CREATE INDEX CONCURRENTLY refuses a transaction block);
    // the row is written only once all of them succeeded.
    const started = performance.now();
    for (let i = 0; i < file.statements.length; i++) {
      try {
        await conn.unsafe(file.statements[i]!).simple();
      } catch (error) {
        throw migrationFailure(file, i, error);
      }
    }
    await conn.unsafe(Bookkeeping.recordStatement(pkg, file, outOfOrder, performance.now() - started)).simple();
    return;
  }
  // On lines of their own: a statement may end in a `--` comment that would swallow a `;`.
  const script = ['begin', ...file.statements, Bookkeeping.recordStatement(pkg, file, outOfOrder), 'commit'].join(
    '\n;\n',
  );
  try {
    await conn.unsafe(script).simple();
  } catch (error) {
    await conn.unsafe('rollback').catch(() => {});
    throw await locateFailure(conn, file, error);
  }
}

/** `--single-transaction`: every pending migration inside one transaction, committed at the end. */
class RunTransaction {
  /** What this run already executed: replayed to reach the failing migration's starting point. */
  private readonly done: string[] = [];

  private constructor(private readonly conn: postgres.ReservedSql) {}

  static async begin(conn: postgres.ReservedSql, pending: MigrationFile[]): Promise<RunTransaction> {
    const outside = pending.find((f) => !f.transactional);
    if (outside) {
      throw new DbKitError(
        `--single-transaction cannot include ${outside.tag}: it declares "-- db-kit: no-transaction".`,
        'Run migrate without --single-transaction.',
        'usage',
      );
    }
    await conn.unsafe('begin');
    return new RunTransaction(conn);
  }

  async apply(pkg: SchemaPackage, file: MigrationFile, outOfOrder: boolean): Promise<void> {
    const script = [...file.statements, Bookkeeping.recordStatement(pkg, file, outOfOrder)].join('\n;\n');
    try {
      await this.conn.unsafe(script).simple();
      this.done.push(script);
    } catch (error) {
      await this.conn.unsafe('rollback').catch(() => {});
      const failure = await locateFailure(this.conn, file, error, this.done);
      throw new DbKitError(
        failure.message,
        'Nothing of this run was kept (--single-transaction). Fix the SQL and run migrate again.',
        'failure',
      );
    }
  }

  commit(): Promise<unknown> {
    return this.conn.unsafe('commit');
  }
}

async function locateFailure(
  conn: postgres.ReservedSql,
  file: MigrationFile,
  original: unknown,
  before: string[] = [],
): Promise<DbKitError> {
  try {
    await conn.unsafe('begin');
    for (const script of before) await conn.unsafe(script).simple();
    for (let i = 0; i < file.statements.length; i++) {
      try {
        await conn.unsafe(file.statements[i]!).simple();
      } catch (error) {
        return migrationFailure(file, i, error);
      }
    }
  } catch {
    // fall through to the error of the real run
  } finally {
    await conn.unsafe('rollback').catch(() => {});
  }
  return migrationFailure(file, undefined, original);
}

/** `teamd/drizzle/x.sql:12:8: migration x failed at statement 2 of 3 (ALTER TABLE ...): column "y" does not exist` */
function migrationFailure(file: MigrationFile, index: number | undefined, error: unknown): DbKitError {
  const pg = error as { message?: string; position?: string; code?: string; detail?: string };
  let where = file.path;
  let which = '';
  if (index !== undefined) {
    const statement = file.statements[index]!;
    const text = readFileSync(file.path, 'utf8');
    const offset = Math.max(0, text.indexOf(statement)) + (pg.position ? Number(pg.position) - 1 : 0);
    const before = text.slice(0, offset).split('\n');
    where = `${file.path}:${before.length}:${before[before.length - 1]!.length + 1}`;
    which = ` at statement ${index + 1} of ${file.statements.length} (${statement.split('\n')[0]!.slice(0, 100)})`;
  }
  return new DbKitError(
    `${where}: migration ${file.tag} failed${which}: ${pg.message ?? String(error)}${pg.code ? ` [${pg.code}]` : ''}${pg.detail ? ` ${pg.detail}` : ''}`,
    file.transactional
      ? 'Nothing of this migration was kept; earlier migrations stay applied. Fix the SQL and run migrate again.'
      : 'This migration runs without a transaction: statements before the failing one stay applied. Make them idempotent (IF NOT EXISTS) and run migrate again.',
    'failure',
  );
}
