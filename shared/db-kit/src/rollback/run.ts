import type postgres from 'postgres';
import { DbKitError } from '../errors';
import { Bookkeeping, bookkeepingTable } from '../migrations/bookkeeping';
import { MigrationLock } from '../migrations/lock';
import { REPAIR_LOG_TABLE, ensureRepairLog } from '../migrations/repair';
import { DEFAULT_LOCK_TIMEOUT_MS } from '../migrations/runner';
import { literal } from '../sql-text';
import type { Workspace } from '../workspace';
import { assertRunnable, planRollback, type RollbackPlan, type RollbackSelection, type RollbackStep } from './plan';

export interface RollbackRunOptions {
  force?: boolean;
  reason?: string;
  /** The operating-system user, for the audit row. */
  osUser: string;
  /** What was asked, for the audit row when no --reason was given: `rollback --steps 1`. */
  asked: string;
  lockTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface RolledBack {
  step: RollbackStep;
  ms: number;
}

/**
 * Runs a plan the user has seen: takes the migration lock (the one migrate and repair take),
 * plans again under it and refuses if the history moved meanwhile, then runs each down, newest
 * first, in its own transaction together with deleting its bookkeeping row and writing its audit
 * row. A failing down keeps nothing of itself; the downs before it stay done.
 */
export async function runRollback(
  sql: postgres.Sql,
  ws: Workspace,
  seen: RollbackPlan,
  selection: RollbackSelection,
  options: RollbackRunOptions,
): Promise<RolledBack[]> {
  const conn = await sql.reserve();
  const lock = new MigrationLock(conn);
  try {
    await lock.acquire({ timeoutMs: options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS, log: options.log });
    try {
      await new Bookkeeping([seen.pkg]).ensure(conn);
      await ensureRepairLog(conn);
      const plan = await planRollback(conn, ws, seen.pkg, selection);
      const ids = (p: RollbackPlan) => p.steps.map((s) => s.rowId).join(',');
      if (ids(plan) !== ids(seen))
        throw new DbKitError(
          `The migration history of ${seen.pkg.name} changed while the rollback waited (another migrate or rollback ` +
            `ran).`,
          'Nothing was rolled back. Run the rollback again to see the new plan.',
          'failure',
        );
      assertRunnable(plan, options);
      const done: RolledBack[] = [];
      for (const step of plan.steps) {
        const started = performance.now();
        await runStep(conn, step, options);
        const ms = performance.now() - started;
        done.push({ step, ms });
        options.log?.(`  rolled back  ${step.pkg.alias.padEnd(8)} ${step.migration}  (${ms.toFixed(0)} ms)`);
      }
      return done;
    } finally {
      await lock.release();
    }
  } finally {
    conn.release();
  }
}

async function runStep(conn: postgres.ReservedSql, step: RollbackStep, options: RollbackRunOptions): Promise<void> {
  const forced = !step.down || step.down.todo || step.down.irreversible.length > 0;
  const reason = options.reason?.trim() || options.asked;
  const bookkeeping = [
    `delete from ${bookkeepingTable(step.pkg)} where id = ${step.rowId}`,
    `insert into ${REPAIR_LOG_TABLE} (os_user, package, bookkeeping_table, ` +
      `migration, action, old_hash, new_hash, reason)
     values (${literal(options.osUser)}, ${literal(step.pkg.name)}, ${literal(bookkeepingTable(step.pkg))},
             ${literal(step.migration)}, ${literal(forced ? 'rollback-forced' : 'rollback')}, ` +
      `${literal(step.hash)}, null,
             ${literal(reason)})`,
  ];
  const statements = step.down?.todo ? [] : (step.down?.statements ?? []);
  if (step.down && !step.down.transactional) {
    // CREATE/DROP INDEX CONCURRENTLY refuse a transaction: statement by statement, then the rows.
    for (let i = 0; i < statements.length; i++) {
      try {
        await conn.unsafe(statements[i]!).simple();
      } catch (error) {
        throw failure(step, i, statements, error, false);
      }
    }
    await conn.unsafe(['begin', ...bookkeeping, 'commit'].join(';\n')).simple();
    return;
  }
  try {
    await conn.unsafe(['begin', ...statements, ...bookkeeping, 'commit'].join('\n;\n')).simple();
  } catch (error) {
    await conn.unsafe('rollback').catch(() => {});
    // Replay statement by statement, always rolled back, to name the failing one.
    let index: number | undefined;
    try {
      await conn.unsafe('begin');
      for (let i = 0; i < statements.length && index === undefined; i++)
        await conn
          .unsafe(statements[i]!)
          .simple()
          .catch(() => {
            index = i;
          });
    } finally {
      await conn.unsafe('rollback').catch(() => {});
    }
    throw failure(step, index, statements, error, true);
  }
}

function failure(
  step: RollbackStep,
  index: number | undefined,
  statements: string[],
  error: unknown,
  transactional: boolean,
): DbKitError {
  const pg = error as { message?: string; code?: string };
  const which =
    index === undefined
      ? ''
      : ` at statement ${index + 1} of ${statements.length} (${statements[index]!.split('\n')[0]!.slice(0, 100)})`;
  return new DbKitError(
    `The down of ${step.pkg.alias} ${step.migration} failed${which}: ` +
      `${pg.message ?? String(error)}${pg.code ? ` [${pg.code}]` : ''}`,
    transactional
      ? 'Nothing of this down was kept (newer downs stay rolled back). Fix its .down.sql, then run the rollback again.'
      : 'This down runs without a transaction: statements before the failing one stay done. Fix it and run again.',
    'failure',
  );
}
