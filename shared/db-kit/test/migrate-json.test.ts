import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli';
import { captureReporter } from '../src/context';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import { fixtureWorkspace, SHARED, tableExists } from './helpers';

// In-process: runCli with a captured reporter, no CLI process.
describe('migrate --json', () => {
  let ws: FixtureWorkspace;
  let db: TestDatabase;
  const migrate = async (...args: string[]) => {
    const out = captureReporter();
    const code = await runCli(['migrate', ...args], { cwd: ws.root, env: { DATABASE_URL: db.url }, reporter: out });
    return { code, out };
  };
  beforeAll(async () => {
    ws = fixtureWorkspace();
    db = await createTestDatabase({ label: 'migrate-json' });
  });
  afterAll(async () => {
    await db.drop();
    ws.remove();
  });

  it('lists what it applied, and with --dry-run what it would apply', async () => {
    const plan = await migrate('--package', 'shared', '--dry-run', '--json');
    expect(plan.code, plan.out.stderr).toBe(0);
    const planned = JSON.parse(plan.out.stdout);
    expect(planned).toMatchObject({ ok: true, packages: ['shared'] });
    expect(planned.planned).toEqual([
      { package: '@large-event/database', migration: expect.stringMatching(/_init$/), outOfOrder: false },
    ]);

    const run = await migrate('--package', 'shared', '--json');
    expect(run.code, run.out.stderr).toBe(0);
    const result = JSON.parse(run.out.stdout);
    expect(result.applied.map((a: { migration: string }) => a.migration)).toEqual([expect.stringMatching(/_init$/)]);
    expect(run.out.stdout).not.toMatch(/^ {2}applied/m); // no progress lines in the JSON
  });

  it('a failure in the middle keeps the list of what was applied, what failed and what did not run', async () => {
    ws.addMigration(SHARED, '20270101_000001_good', 'CREATE TABLE json_good (id integer);');
    ws.addMigration(SHARED, '20270101_000002_bad', 'ALTER TABLE no_such_table ADD COLUMN x integer;');
    ws.addMigration(SHARED, '20270101_000003_later', 'CREATE TABLE json_later (id integer);');
    const run = await migrate('--package', 'shared', '--json');
    expect(run.code).toBe(1);
    expect(run.out.stderr).toMatch(/^error: .*20270101_000002_bad/m);
    const result = JSON.parse(run.out.stdout);
    expect(result).toMatchObject({
      ok: false,
      error: { kind: 'failure' },
      applied: [{ package: '@large-event/database', migration: '20270101_000001_good' }],
      failed: { package: '@large-event/database', migration: '20270101_000002_bad' },
      notRun: [{ package: '@large-event/database', migration: '20270101_000003_later' }],
    });
    expect(await tableExists(db.url, 'json_good')).toBe(true);
    expect(await tableExists(db.url, 'json_later')).toBe(false);
  });
});
