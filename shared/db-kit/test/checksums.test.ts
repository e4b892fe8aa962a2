import { unlinkSync } from 'node:fs';
import { userInfo } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import { columnsOf, query, SHARED, TEAMD, fixtureWorkspace } from './helpers';

let ws: FixtureWorkspace;
let db: TestDatabase;
let env: NodeJS.ProcessEnv;
beforeEach(async () => {
  ws = fixtureWorkspace();
  db = await createTestDatabase({ label: 'checksums' });
  env = { DATABASE_URL: db.url };
  ws.addMigration(TEAMD, '20261201_090000_add_budget', 'ALTER TABLE "teamd_projects" ADD COLUMN "budget" integer;');
  expect((await ws.run(['migrate', '--all'], env)).code).toBe(0);
  // Something pending, to prove that nothing runs.
  ws.addMigration(SHARED, '20261202_090000_add_phone', 'ALTER TABLE "users" ADD COLUMN "phone" varchar(32);');
});
afterEach(async () => {
  await db.drop();
  ws.remove();
});

const BUDGET_FILE = `${TEAMD}/drizzle/20261201_090000_add_budget.sql`;

function forgetBudgetMigration(): void {
  const journalFile = `${TEAMD}/drizzle/meta/_journal.json`;
  const journal = JSON.parse(ws.read(journalFile));
  journal.entries = journal.entries.filter((e: { tag: string }) => e.tag !== '20261201_090000_add_budget');
  ws.write(journalFile, JSON.stringify(journal, null, 2));
  unlinkSync(ws.path(BUDGET_FILE));
  unlinkSync(ws.path(`${TEAMD}/drizzle/meta/0001_snapshot.json`));
}

describe('an applied migration whose file was edited', () => {
  beforeEach(() => ws.write(BUDGET_FILE, 'ALTER TABLE "teamd_projects" ADD COLUMN "budget" bigint;'));

  it('stops migrate before anything runs, naming the file and the way out', async () => {
    const run = ws.dbKit(['migrate', '--all'], env); // a process: its exit code and what a person reads
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^error: Refusing to migrate: @teamd\/database: 20261201_090000_add_budget\.sql was changed after it was applied/,
    );
    // The hint names the pnpm script the user can type (db-kit itself is not on PATH).
    expect(run.stderr).toMatch(/next: Restore the original file from git .*pnpm teamd:db:repair --reason/);
    expect(await columnsOf(db.url, 'users')).not.toContain('phone');
  });

  it('makes status exit 1, naming the file', async () => {
    const run = await ws.run(['status'], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /changed\s+teams\/teamD\/src\/database\/drizzle\/20261201_090000_add_budget\.sql: recorded hash \w{12}, file hash \w{12}/,
    );
    expect(run.stdout).toMatch(/next: .*pnpm teamd:db:repair --reason "<why>"/);
    const json = JSON.parse((await ws.run(['status', '--json'], env)).stdout);
    expect(json.packages[1].changed).toEqual([expect.objectContaining({ migration: '20261201_090000_add_budget' })]);
  });

  it('stops a dry run too', async () => {
    expect((await ws.run(['migrate', '--all', '--dry-run'], env)).code).toBe(1);
  });

  it('is accepted by repair with a reason, audited, and migrate goes on', async () => {
    const refused = await ws.run(['repair', '--package', 'teamd'], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^error: Refusing to repair without a reason/);

    const [before] = await query(
      db.url,
      `select hash from drizzle.__teamd_migrations where name = '20261201_090000_add_budget'`,
    );
    const dry = await ws.run(['repair', '--package', 'teamd', '--reason', 'x', '--dry-run'], env);
    expect(dry.stdout).toMatch(/would teamd\s+20261201_090000_add_budget: accept the edited file/);
    const repair = await ws.run(
      [
        'repair',
        '--package',
        'teamd',
        '--reason',
        'budgets can exceed 2^31',
        '--migration',
        '20261201_090000_add_budget',
      ],
      env,
    );
    expect(repair.code, repair.stderr).toBe(0);
    expect(repair.stdout).toMatch(/Repaired 1 migration; recorded in "drizzle"."db_kit_repairs"/);

    const [after] = await query(
      db.url,
      `select hash from drizzle.__teamd_migrations where name = '20261201_090000_add_budget'`,
    );
    expect(after!.hash).not.toBe(before!.hash);
    const audit = await query(db.url, 'select * from drizzle.db_kit_repairs');
    expect(audit).toEqual([
      expect.objectContaining({
        database_user: 'postgres',
        os_user: userInfo().username,
        package: '@teamd/database',
        bookkeeping_table: '"drizzle"."__teamd_migrations"',
        migration: '20261201_090000_add_budget',
        action: 'accept-changed',
        old_hash: before!.hash,
        new_hash: after!.hash,
        reason: 'budgets can exceed 2^31',
      }),
    ]);
    expect(audit[0]!.repaired_at).toBeInstanceOf(Date);

    const migrate = await ws.run(['migrate', '--all'], env);
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(await columnsOf(db.url, 'users')).toContain('phone');
    // Repair changes bookkeeping only: the edited SQL never ran.
    const [budget] = await query(
      db.url,
      `select data_type from information_schema.columns where table_name = 'teamd_projects' and column_name = 'budget'`,
    );
    expect(budget!.data_type).toBe('integer');
  });

  it('is not touched by a repair of another package', async () => {
    const repair = await ws.run(['repair', '--package', 'shared', '--reason', 'wrong package'], env);
    expect(repair.code).toBe(0);
    expect(repair.stdout).toMatch(/Nothing to repair/);
    expect((await ws.run(['migrate', '--all'], env)).code).toBe(1);
  });
});

describe('an applied migration whose file was deleted', () => {
  beforeEach(forgetBudgetMigration);

  it('stops migrate before anything runs, naming the file', async () => {
    const run = await ws.run(['migrate', '--all'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /@teamd\/database: 20261201_090000_add_budget\.sql was applied but its file is gone from drizzle\//,
    );
    expect(await columnsOf(db.url, 'users')).not.toContain('phone');
    const status = await ws.run(['status'], env);
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/missing\s+20261201_090000_add_budget: applied, but no such file/);
  });

  it('is forgotten by repair, which keeps the schema it built and audits the removal', async () => {
    const repair = await ws.run(['repair', '--all', '--reason', 'squashed into init'], env);
    expect(repair.code, repair.stderr).toBe(0);
    expect(
      await query(db.url, `select * from drizzle.__teamd_migrations where name = '20261201_090000_add_budget'`),
    ).toEqual([]);
    const [audit] = await query(db.url, 'select action, migration, new_hash, reason from drizzle.db_kit_repairs');
    expect(audit).toEqual({
      action: 'forget-missing',
      migration: '20261201_090000_add_budget',
      new_hash: null,
      reason: 'squashed into init',
    });
    expect(await columnsOf(db.url, 'teamd_projects')).toContain('budget');
    expect((await ws.run(['migrate', '--all'], env)).code).toBe(0);
  });
});

it('repair --migration refuses a migration that needs no repair', async () => {
  const run = await ws.run(
    ['repair', '--package', 'teamd', '--reason', 'x', '--migration', '20261201_090000_add_budget'],
    env,
  );
  expect(run.code).toBe(2);
  expect(run.stderr).toMatch(/20261201_090000_add_budget is neither changed nor missing/);
});

describe('the checksum covers statements, not comments', () => {
  const waived = `-- squawk-ignore changing-column-type -- the table held 12 rows when this ran\n${'ALTER TABLE "teamd_projects" ADD COLUMN "budget" integer;'}`;

  it('a waiver added to an applied migration leaves it applied: status is clean, migrate runs on', async () => {
    ws.write(BUDGET_FILE, waived);
    const status = await ws.run(['status', '--json'], env);
    expect(JSON.parse(status.stdout).packages[1].changed).toEqual([]);
    const run = await ws.run(['migrate', '--all'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(await columnsOf(db.url, 'users')).toContain('phone');
  });

  it('a commented file recorded with its whole-text hash (drizzle-kit migrate, older db-kit) still counts as applied', async () => {
    ws.write(BUDGET_FILE, waived);
    const { createHash } = await import('node:crypto');
    const textHash = createHash('sha256').update(waived).digest('hex');
    await query(db.url, `update drizzle.__teamd_migrations set hash = $1 where name = '20261201_090000_add_budget'`, [
      textHash,
    ]);
    expect(JSON.parse((await ws.run(['status', '--json'], env)).stdout).packages[1].changed).toEqual([]);
    expect((await ws.run(['migrate', '--all'], env)).code).toBe(0);
  });

  it('an edited statement is still a change', async () => {
    ws.write(BUDGET_FILE, `-- a note\nALTER TABLE "teamd_projects" ADD COLUMN "budget" bigint;`);
    expect((await ws.run(['migrate', '--all'], env)).code).toBe(1);
  });
});
