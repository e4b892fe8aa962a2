import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { MIGRATION_LOCK_KEY } from '../../src/migrations/lock';
import { SHARED } from '../helpers';
import { faultStage, startDbKit } from './server';

// Lock timeouts: the session's own lock_timeout survives the wait for the migration lock (D8), a
// statement that hits its lock timeout is retried, status never hangs on a locked table (D22), and
// the hints say what happened instead of "Fix the SQL" (D23).
const stage = faultStage('locks', async () => {
  expect(stage.ws.dbKit(['migrate', '--package', 'shared'], { DATABASE_URL: stage.url }).code).toBe(0);
  stage.ws.addMigration(SHARED, '20261201_090000_add_phone', 'ALTER TABLE "users" ADD COLUMN "phone" text;');
});

/** A session that holds `users` in ACCESS EXCLUSIVE mode until `release`. */
async function holdUsers(): Promise<{ release(): Promise<void> }> {
  const sql = postgres(stage.server.url(stage.database), { max: 1, onnotice: () => {} });
  const tx = await sql.reserve();
  await tx.unsafe('begin; lock table "users" in access exclusive mode');
  return {
    async release() {
      await tx.unsafe('commit').catch(() => {});
      tx.release();
      await sql.end({ timeout: 0 });
    },
  };
}

describe('the lock_timeout of the role or database (D8)', () => {
  it('still applies after waiting for the migration lock: the blocked ALTER gives up, retried, with a lock hint', async () => {
    await stage.server.query(`alter database "${stage.database}" set lock_timeout = '1s'`);
    const holder = postgres(stage.server.url(stage.database), { max: 1, onnotice: () => {} });
    const table = await holdUsers();
    try {
      await holder`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
      const run = startDbKit(stage.ws, ['migrate', '--package', 'shared'], { DATABASE_URL: stage.url });
      await run.waitFor(/Waiting for the migration lock/);
      await holder`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
      const out = await run.done;
      expect(out.code, out.stderr).toBe(1);
      expect(out.stdout).toMatch(/retry 2 of 2/);
      expect(out.stderr).toMatch(/canceling statement due to lock timeout \[55P03\]/);
      expect(out.stderr).toMatch(/next: Nothing of this migration was kept; .*held a lock .*--lock-timeout-statement/);
      expect(out.stderr).not.toMatch(/Fix the SQL/);
    } finally {
      await table.release();
      await holder.end({ timeout: 0 });
    }
  });
});

describe('--lock-timeout-statement (D8)', () => {
  it('retries a migration whose statement hit it, and applies it once the table is free', async () => {
    const table = await holdUsers();
    let released = false;
    try {
      const run = startDbKit(stage.ws, ['migrate', '--package', 'shared', '--lock-timeout-statement', '0.5'], {
        DATABASE_URL: stage.url,
      });
      await run.waitFor(/waiting {2}20261201_090000_add_phone: a statement hit its lock timeout; retry 1 of 2/);
      await table.release();
      released = true;
      const out = await run.done;
      expect(out.code, out.stderr).toBe(0);
      expect(out.stdout).toMatch(/applied\s+shared\s+20261201_090000_add_phone/);
    } finally {
      if (!released) await table.release();
    }
  });
});

describe('status while a table is locked (D22)', () => {
  it('gives up after a short lock timeout and names the table and who holds it', async () => {
    const table = await holdUsers();
    try {
      const out = await stage.ws.dbKitAsync(['status', '--package', 'shared'], { DATABASE_URL: stage.url });
      expect(out.code, out.stderr).toBe(2);
      expect(out.stderr, out.stderr).toMatch(
        /status waited 3 s for a lock on users \(pid \d+, .*for \d+ s: .*lock table/,
      );
      expect(out.stderr).toMatch(/next: Run pnpm db:status again once that transaction ends/);
    } finally {
      await table.release();
    }
  });
});

describe('a permission error (D23)', () => {
  it('says the user lacks a privilege, not "Fix the SQL"', async () => {
    // A database of its own, where the role may create the bookkeeping schema but not tables in public.
    await stage.server.query(`create role "faults_app" login`);
    await stage.server.createDatabase('locks_grants');
    await stage.server.query(`grant create on database "locks_grants" to "faults_app"`);
    const limited = stage.server.url('locks_grants').replace('postgres@', 'faults_app@');
    const out = await stage.ws.dbKitAsync(['migrate', '--package', 'shared'], { DATABASE_URL: limited });
    expect(out.code, out.stderr).toBe(1);
    expect(out.stderr).toMatch(/\[42501\]/);
    expect(out.stderr).toMatch(/next: .*lacks a privilege/);
    expect(out.stderr).not.toMatch(/Fix the SQL/);
  });
});
