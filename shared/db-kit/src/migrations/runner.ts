import type postgres from 'postgres';
import type { SchemaPackage } from '../workspace';
import { Bookkeeping, bookkeepingTable } from './bookkeeping';
import type { MigrationFile } from './files';
import { historyOf } from './history';
import { type Applied, assertNoDuplicates, assertRunnable, Run } from './apply';
import { isConnectionLost } from '../errors';
import { LockWaitAborted, MigrationLock } from './lock';
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
  /**
   * lock_timeout of each statement of a transactional migration (0: none). Default: the session's
   * own lock_timeout when the role or database sets one, else DEFAULT_STATEMENT_LOCK_TIMEOUT_MS.
   */
  statementLockTimeoutMs?: number;
  /** Aborting it (with the signal's name as reason) cancels the statement in flight and rolls it back. */
  signal?: AbortSignal;
  log?: (line: string) => void;
  /**
   * Work that needs no database, run once the first query (what the database has applied) is on its way, so the
   * server answers while it runs. It must not throw.
   */
  whileChecking?: () => void;
}

/**
 * What a run did, as Kysely's MigrationResultSet: which migrations were applied, which one failed,
 * which never ran. Returned by a run that succeeds, and attached to the error of one that does not
 * (`outcomeOf(error)`), so a failure in the middle never loses the list of what was applied.
 */
export interface MigrateOutcome {
  applied: Applied[];
  failed: MigrationFile | undefined;
  notRun: MigrationFile[];
}

const OUTCOME = Symbol('migrate outcome');

/** The outcome a failed run attached to its error, if it got as far as running migrations. */
export function outcomeOf(error: unknown): MigrateOutcome | undefined {
  return (error as { [OUTCOME]?: MigrateOutcome } | undefined)?.[OUTCOME];
}

export interface MigrateResult {
  applied: Applied[];
  adopted: number;
  /** With dryRun: what would run, in order. */
  planned: MigrationFile[];
  /** With dryRun: the pending migrations among `planned` that are older than an applied one. */
  plannedOutOfOrder: MigrationFile[];
}

export const DEFAULT_LOCK_TIMEOUT_MS = 60_000;
/** A DDL statement waits this long for a table lock (so it does not queue every query behind it), then retries. */
export const DEFAULT_STATEMENT_LOCK_TIMEOUT_MS = 5_000;
/** Attempts of a transactional migration whose statement hit its lock timeout, with backoff between. */
export const LOCK_TIMEOUT_ATTEMPTS = 3;
/** Applied lines wait at most this long for the durable flush that makes them true after a crash. */
const RUN_LIMITS = {
  defaultStatementLockTimeoutMs: DEFAULT_STATEMENT_LOCK_TIMEOUT_MS,
  lockTimeoutAttempts: LOCK_TIMEOUT_ATTEMPTS,
  reportEveryMs: 250,
};

/**
 * Applies the migrations of several packages as one ordered run.
 *
 * A migration is pending when its name is not recorded, whatever its timestamp, so a
 * branch merged late is applied instead of skipped. All packages share one advisory lock,
 * each migration commits together with its bookkeeping row, and an applied file that was
 * edited stops the run before anything executes.
 *
 * Durability: commits of a run do not wait for the disk one by one (synchronous_commit is off in
 * the run's session), but no migration is reported before a synchronous commit after it has
 * flushed the WAL up to it: every "applied" line, and exit 0, survive a server crash.
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
   * `sql` must allow a second connection: a cancel (Ctrl-C) goes through it.
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
    const files = this.packages.map((pkg) => historyOf(pkg).files);
    assertNoDuplicates(this.packages, files);
    if (options.dryRun) {
      const states = await this.withRequirements(this.sql, await this.inspect(), log);
      assertIntact(states);
      if (options.strictOrder) assertInOrder(states);
      const planned = orderByRequirements(pendingInOrder(states), states);
      assertRunnable(planned, options);
      return { applied: [], adopted: 0, planned, plannedOutOfOrder: states.flatMap((s) => s.outOfOrder) };
    }
    // Nothing to do is the common case (every deploy, every setup): decide it without the lock.
    // Committed state is all we can see, so "nothing pending" cannot miss a run in progress.
    const checking = this.inspectWithLayout(this.sql, files);
    if (options.whileChecking) {
      // Two loop turns first: the driver takes the query in a promise job and writes it from a setImmediate of its own.
      await new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
      options.whileChecking();
    }
    const { states: seen, complete } = await checking;
    assertIntact(seen);
    if (complete && !pendingInOrder(seen).length && !seen.some((s) => s.adoptable.length))
      return { applied: [], adopted: 0, planned: [], plannedOutOfOrder: [] };
    assertRunnable(pendingInOrder(seen), options);

    const conn = await this.sql.reserve();
    const lock = new MigrationLock(conn);
    // Without a log nobody reads "applied" lines as they come: one durable flush at the end (or at a failure)
    // instead of one every reportEveryMs.
    const limits = options.log ? RUN_LIMITS : { ...RUN_LIMITS, reportEveryMs: Number.POSITIVE_INFINITY };
    const run = new Run(conn, this.sql, options, limits, log);
    let pending: MigrationFile[] = [];
    try {
      try {
        await lock.acquire({
          timeoutMs: options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS,
          log,
          prelude: 'set synchronous_commit = off',
          signal: options.signal,
        });
      } catch (error) {
        if (error instanceof LockWaitAborted) throw run.cancelled(undefined);
        throw error;
      }
      try {
        await run.start();
        await this.bookkeeping.ensure(conn);
        const states = await this.withRequirements(conn, (await this.inspectWithLayout(conn, files)).states, log);
        const pulled = states.map((s) => s.pkg).filter((p) => !this.packages.includes(p));
        if (pulled.length) await new Bookkeeping(pulled).ensure(conn);
        assertIntact(states);
        if (options.strictOrder) assertInOrder(states);
        const adopted = await adopt(conn, states);
        const outOfOrder = new Set(states.flatMap((s) => s.outOfOrder));
        const byName = new Map(states.map((s) => [s.pkg.name, s.pkg]));
        pending = orderByRequirements(pendingInOrder(states), states);
        assertRunnable(pending, options);
        const applied = await run.applyAll(
          pending.map((file) => ({ file, pkg: byName.get(file.packageName)!, outOfOrder: outOfOrder.has(file) })),
        );
        return { applied, adopted, planned: [], plannedOutOfOrder: [] };
      } catch (error) {
        if (isConnectionLost(error)) run.sessionLost = true;
        throw error;
      } finally {
        if (!run.sessionLost) await lock.release();
      }
    } catch (error) {
      throw withOutcome(run.explain(error), run, pending);
    } finally {
      run.stop();
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

function withOutcome(error: unknown, run: Run, pending: MigrationFile[]): unknown {
  if (!error || typeof error !== 'object' || !pending.length) return error;
  const { applied, inFlight } = run.progress();
  const done = new Set(applied.map((a) => a.file));
  const outcome: MigrateOutcome = {
    applied,
    failed: inFlight,
    notRun: pending.filter((f) => !done.has(f) && f !== inFlight),
  };
  Object.defineProperty(error, OUTCOME, { value: outcome, enumerable: false });
  return error;
}

/** Reads every package's state without a Migrator, e.g. for status. */
export async function inspectPackages(
  sql: Queryable,
  packages: SchemaPackage[],
  bookkeeping = new Bookkeeping(packages),
): Promise<PackageState[]> {
  const files = packages.map((pkg) => historyOf(pkg).files);
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
