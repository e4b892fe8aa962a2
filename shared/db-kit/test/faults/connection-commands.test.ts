import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { TEAMD } from '../helpers';
import { faultStage, type RunningCli, startDbKit, until } from './server';

// D5 beyond migrate: a backend terminated, or the server stopped `-m immediate`, while status, push or
// seed waits on the database is one line, a hint and exit 2, never the driver's TypeError and stack.
const stage = faultStage('conncmd', async () => {
  const migrated = stage.ws.dbKit(['migrate', '--all'], { DATABASE_URL: stage.url });
  expect(migrated.code, migrated.stdout + migrated.stderr).toBe(0);
});

const OVERLAY = `${TEAMD}/src/overlays/team-specific-tables.ts`;

/**
 * A session that holds `table` in `mode` until `release`: what the command under test waits on.
 * After a crash its session is gone too, and nothing is sent on it (postgres.js would crash writing).
 */
async function hold(table: string, mode: string): Promise<{ release(crashed: boolean): Promise<void> }> {
  const sql = postgres(stage.server.url(stage.database), { max: 1, onnotice: () => {} });
  const tx = await sql.reserve();
  await tx.unsafe(`begin; lock table ${table} in ${mode} mode`);
  return {
    async release(crashed) {
      if (!crashed) await tx.unsafe('commit');
      tx.release();
      await sql.end({ timeout: 0 });
    },
  };
}

/** The pids of the command's backends that wait: on a lock, or in pg_sleep (a trigger's, verify-downs' scratch). */
async function waiting(): Promise<number[]> {
  const rows = await stage.server.query<{ pid: number }>(
    `select pid from pg_stat_activity where pid <> pg_backend_pid()
       and (datname = '${stage.database}' and application_name like 'db-kit%' or datname like 'dbkit_verify_%')
       and (wait_event_type = 'Lock' or wait_event = 'PgSleep')`,
  );
  return rows.map((r) => r.pid);
}

type Fault = 'terminate' | 'crash';

/** Waits until the command waits on the database, then takes its session away. */
async function cut(run: RunningCli, fault: Fault) {
  await until(async () => (await waiting()).length > 0);
  if (fault === 'crash') {
    stage.server.crash();
    const out = await run.done;
    stage.server.restart();
    return out;
  }
  for (const pid of await waiting()) await stage.server.query(`select pg_terminate_backend(${pid})`);
  return run.done;
}

function expectOneLineLoss(out: { code: number; stdout: string; stderr: string }) {
  expect(out.code, out.stdout + out.stderr).toBe(2);
  expect(out.stderr).toMatch(/^error: Lost the connection to the database/);
  expect(out.stderr).toMatch(/\n {2}next: .*db-workflow\.sh status/);
  expect(out.stderr).not.toMatch(/TypeError|\n\s+at /);
  expect(out.stderr.trim().split('\n')).toHaveLength(2);
}

describe('a lost connection in status, push, seed, reset and check --verify-downs (D5)', () => {
  for (const fault of ['terminate', 'crash'] as const) {
    it(`status: ${fault} while it waits on a locked bookkeeping table`, async () => {
      const table = await hold('drizzle.__drizzle_migrations', 'access exclusive');
      try {
        const run = startDbKit(stage.ws, ['status'], { DATABASE_URL: stage.url });
        expectOneLineLoss(await cut(run, fault));
      } finally {
        await table.release(fault === 'crash');
      }
    });

    it(`push: ${fault} while its ALTER waits on a locked table; the column is not there`, async () => {
      stage.ws.write(
        OVERLAY,
        stage.ws
          .read(OVERLAY)
          .replace(
            "description: text('description'),",
            "description: text('description'),\n  budget: integer('budget'),",
          ),
      );
      const table = await hold('teamd_projects', 'access share');
      try {
        const run = startDbKit(stage.ws, ['push', '--package', 'teamd', '--yes'], { DATABASE_URL: stage.url });
        expectOneLineLoss(await cut(run, fault));
      } finally {
        await table.release(fault === 'crash');
      }
      const columns = await stage.server.query(
        `select 1 from information_schema.columns where table_name = 'teamd_projects' and column_name = 'budget'`,
        stage.database,
      );
      expect(columns).toEqual([]);
    });

    it(`seed: ${fault} while a row's insert sleeps in a trigger; no table keeps a seeded row`, async () => {
      await stage.server.query(
        `create function slow_insert() returns trigger language plpgsql
           as 'begin perform pg_sleep(60); return new; end';
         create trigger slow_insert before insert on teamd_tasks
           for each statement execute function slow_insert();`,
        stage.database,
      );
      const run = startDbKit(stage.ws, ['seed', '--yes'], { DATABASE_URL: stage.url });
      expectOneLineLoss(await cut(run, fault));
      const [row] = await stage.server.query<{ n: string }>(
        'select (select count(*) from users) + (select count(*) from teamd_tasks) as n',
        stage.database,
      );
      expect(Number(row!.n)).toBe(0);
    });

    it(`reset: ${fault} while its DROP waits on a locked table; nothing is dropped`, async () => {
      const table = await hold('teamd_projects', 'access share');
      try {
        const run = startDbKit(stage.ws, ['reset', '--yes', '--no-backup'], { DATABASE_URL: stage.url });
        expectOneLineLoss(await cut(run, fault));
      } finally {
        await table.release(fault === 'crash');
      }
      const left = await stage.server.query<{ t: string | null }>(
        "select to_regclass('public.teamd_projects')::text as t",
        stage.database,
      );
      expect(left).toEqual([{ t: 'teamd_projects' }]);
    });

    it(`check --verify-downs: ${fault} while an up sleeps on the scratch database`, async () => {
      const sleeping = 'CREATE TABLE "teamd_slow" ("id" int);\n--> statement-breakpoint\nSELECT pg_sleep(60);';
      const tag = stage.ws.addMigration(TEAMD, '20261201_090000_slow', sleeping);
      stage.ws.write(`${TEAMD}/drizzle/${tag}.down.sql`, 'DROP TABLE "teamd_slow";\n');
      const run = startDbKit(stage.ws, ['check', '--package', 'teamd', '--verify-downs'], { DATABASE_URL: stage.url });
      expectOneLineLoss(await cut(run, fault));
    });
  }
});
