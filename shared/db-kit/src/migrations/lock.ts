import type postgres from 'postgres';
import { DbKitError } from '../errors';

/** Every migrate and repair, of any package, takes this one session-level advisory lock. */
export const MIGRATION_LOCK_KEY = 7_265_410_923;

/** Thrown by `acquire` when its `signal` aborts while it waits. */
export class LockWaitAborted extends Error {}

/**
 * The database-wide migration lock. Concurrent runs queue on it instead of racing; a run that
 * waits too long says who holds it. A waiter polls `pg_try_advisory_lock` with backoff instead of
 * blocking in `pg_advisory_lock`: a blocked statement holds a snapshot, and a CREATE INDEX
 * CONCURRENTLY in the run holding the lock waits for every snapshot, so it would wait for its own
 * waiters (a deadlock). Between polls a waiter holds nothing. The session's lock_timeout is not touched.
 * Reused by every command that changes history (migrate, repair, rollback).
 *
 * @example
 *   const lock = new MigrationLock(conn);
 *   await lock.acquire({ timeoutMs: 60_000 });
 *   try { ... } finally { await lock.release(); }
 */
export class MigrationLock {
  constructor(private readonly conn: postgres.ReservedSql) {}

  /**
   * Takes the lock. `prelude` (e.g. session settings) travels in the same round trip as the
   * first attempt, which is all a run pays when nobody else migrates; its last result comes back.
   */
  async acquire(options: {
    timeoutMs: number;
    log?: (line: string) => void;
    prelude?: string;
    signal?: AbortSignal;
  }): Promise<void> {
    const attempt =
      `${options.prelude ? `${options.prelude};\n` : ''}` +
      `select pg_try_advisory_lock(${MIGRATION_LOCK_KEY}) as locked`;
    const results = (await this.conn.unsafe(attempt).simple()) as unknown as
      | Array<{ locked?: boolean }>
      | Array<Array<{ locked?: boolean }>>;
    const last = results.at(-1);
    if (Array.isArray(last) ? last[0]?.locked : last?.locked) return;
    options.log?.(`Waiting for the migration lock, held by ${await this.describeHolder()}.`);
    const deadline = performance.now() + options.timeoutMs;
    let pause = 50;
    for (;;) {
      if (options.signal?.aborted) throw new LockWaitAborted();
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new DbKitError(
          `Gave up after ${formatSeconds(options.timeoutMs)} waiting for the migration lock, held by ` +
            `${await this.describeHolder()}.`,
          'Wait for that run to finish (or end that session), or raise --lock-timeout <seconds>.',
        );
      }
      await sleep(Math.min(left, pause * (0.75 + Math.random() / 2)), options.signal);
      pause = Math.min(pause * 1.5, 1000);
      if (options.signal?.aborted) throw new LockWaitAborted();
      const [row] = await this.conn.unsafe(`select pg_try_advisory_lock(${MIGRATION_LOCK_KEY}) as locked`);
      if (row?.locked) return;
    }
  }

  async release(): Promise<void> {
    await this.conn.unsafe(`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`).catch(() => {});
  }

  /** `"db-kit migrate (teamd)" (pid 4242, user app from 10.0.0.3, for 12 s)`, as far as Postgres can tell. */
  async describeHolder(): Promise<string> {
    // A bigint advisory key shows in pg_locks as classid (high 32 bits) and objid (low 32 bits).
    const rows = await this.conn.unsafe(
      `select a.pid, a.application_name, a.client_addr::text as addr, a.usename, a.state,
              left(regexp_replace(a.query, '\\s+', ' ', 'g'), 80) as query,
              extract(epoch from now() - coalesce(a.query_start, a.backend_start))::int as query_seconds,
              extract(epoch from now() - coalesce(a.xact_start, a.backend_start))::int as seconds
         from pg_locks l join pg_stat_activity a on a.pid = l.pid
        where l.locktype = 'advisory' and l.granted and l.objsubid = 1
          and ((l.classid::bigint << 32) | l.objid::bigint) = ${MIGRATION_LOCK_KEY}`,
    );
    const holder = rows[0];
    if (!holder) return 'another session (Postgres does not say which)';
    const app = holder.application_name ? `"${holder.application_name}"` : 'a session without application_name';
    const details = [
      `pid ${holder.pid}`,
      holder.usename && `user ${holder.usename}`,
      holder.addr && `from ${holder.addr}`,
    ]
      .filter(Boolean)
      .join(', ');
    const gone = clientGone(holder.application_name, holder.addr);
    if (gone && holder.state === 'active') {
      return (
        `${app} (${details}): its process (pid ${gone}) is gone, but an earlier run's backend is still working ` +
        `on "${holder.query}" (for ${holder.query_seconds} s); waiting for it to finish`
      );
    }
    return `${app} (${details})`;
  }
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

/** The client's pid when `application_name` names a local db-kit process that no longer exists. */
function clientGone(applicationName: string | null, addr: string | null): number | undefined {
  const pid = Number(/\[client (\d+)\]/.exec(applicationName ?? '')?.[1]);
  if (!pid || (addr && !/^(127\.|::1)/.test(addr))) return undefined;
  try {
    process.kill(pid, 0);
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code === 'ESRCH' ? pid : undefined;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
