import { describe, expect, it } from 'vitest';
import { SHARED } from '../helpers';
import { faultStage, startDbKit, until } from './server';

// A lost session (terminated backend, crashed server) is one line, a hint and exit 2: no stack trace.
const stage = faultStage('conn', async () => {
  stage.ws.addMigration(
    SHARED,
    '20261201_090000_slow',
    'CREATE TABLE "slow_a" ("id" int);\n--> statement-breakpoint\nSELECT pg_sleep(60);',
  );
});

const sleeping = async () =>
  (
    await stage.server.query(
      `select pid from pg_stat_activity where datname = '${stage.database}' and query like '%pg_sleep%' and state = 'active' and pid <> pg_backend_pid()`,
    )
  ).length > 0;

function expectOneLineLoss(out: { code: number; stderr: string }) {
  expect(out.code, out.stderr).toBe(2);
  expect(out.stderr).toMatch(/^error: Lost the connection to the database while applying 20261201_090000_slow: /);
  expect(out.stderr).toMatch(/\n {2}next: Nothing of it was kept .*pnpm db:status/);
  expect(out.stderr).not.toMatch(/TypeError|\n\s+at /);
  expect(out.stderr.trim().split('\n')).toHaveLength(2);
}

describe('a lost connection during a migration (D5)', () => {
  it('reports a terminated backend in one line and exits 2', async () => {
    const run = startDbKit(stage.ws, ['migrate', '--package', 'shared'], { DATABASE_URL: stage.url });
    await until(sleeping);
    await stage.server.query(
      `select pg_terminate_backend(pid) from pg_stat_activity where datname = '${stage.database}' and query like '%pg_sleep%' and pid <> pg_backend_pid()`,
    );
    expectOneLineLoss(await run.done);
    const [row] = await stage.server.query(`select to_regclass('public.slow_a') as t`, stage.database);
    expect(row!.t).toBeNull();
  });

  it('reports a server crash in one line and exits 2; after restart nothing of the migration is there', async () => {
    const run = startDbKit(stage.ws, ['migrate', '--package', 'shared'], { DATABASE_URL: stage.url });
    await until(sleeping);
    stage.server.crash();
    const out = await run.done;
    stage.server.restart();
    expectOneLineLoss(out);
    const [row] = await stage.server.query(`select to_regclass('public.slow_a') as t`, stage.database);
    expect(row!.t).toBeNull();
  });
});
