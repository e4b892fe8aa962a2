import type postgres from 'postgres';
import { DbKitError } from '../errors';

/** Every migrate and repair, of any package, takes this one session-level advisory lock. */
export const MIGRATION_LOCK_KEY = 7_265_410_923;

/**
 * The database-wide migration lock. Concurrent runs queue on it instead of racing; a run that
 * waits too long says who holds it.
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
   * first attempt, which is all a run pays when nobody else migrates.
   */
  async acquire(options: { timeoutMs: number; log?: (line: string) => void; prelude?: string }): Promise<void> {
    const attempt = `${options.prelude ? `${options.prelude};\n` : ''}select pg_try_advisory_lock(${MIGRATION_LOCK_KEY}) as locked`;
    const results = (await this.conn.unsafe(attempt).simple()) as unknown as
      | Array<{ locked?: boolean }>
      | Array<Array<{ locked?: boolean }>>;
    const last = results.at(-1);
    const locked = Array.isArray(last) ? last[0]?.locked : last?.locked;
    if (locked) return;
    options.log?.(`Waiting for the migration lock, held by ${await this.describeHolder()}.`);
    try {
      await this.conn.unsafe(`set lock_timeout = ${Math.max(1, Math.floor(options.timeoutMs))}`);
      await this.conn.unsafe(`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`);
    } catch (error) {
      if ((error as { code?: string }).code === '55P03') {
        throw new DbKitError(
          `Gave up after ${formatSeconds(options.timeoutMs)} waiting for the migration lock, held by ${await this.describeHolder()}.`,
          'Wait for that run to finish (or end that session), or raise --lock-timeout <seconds>.',
        );
      }
      throw error;
    } finally {
      await this.conn.unsafe('set lock_timeout = 0').catch(() => {});
    }
  }

  async release(): Promise<void> {
    await this.conn.unsafe(`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`).catch(() => {});
  }

  /** `"db-kit migrate (teamd)" (pid 4242, user app from 10.0.0.3, for 12 s)`, as far as Postgres can tell. */
  async describeHolder(): Promise<string> {
    // A bigint advisory key shows in pg_locks as classid (high 32 bits) and objid (low 32 bits).
    const rows = await this.conn.unsafe(
      `select a.pid, a.application_name, a.client_addr::text as addr, a.usename,
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
    return `${app} (${details})`;
  }
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}
