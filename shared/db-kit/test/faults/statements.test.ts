import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../../src/testing';
import { columnsOf, fixtureWorkspace, query, SHARED, tableExists } from '../helpers';

// Malformed or unusual migration files: located, refused or run as written, never half-applied.
let ws: FixtureWorkspace;
let db: TestDatabase;
let env: NodeJS.ProcessEnv;
beforeEach(async () => {
  ws = fixtureWorkspace();
  db = await createTestDatabase({ label: 'faults_sql' });
  env = { DATABASE_URL: db.url };
});
afterEach(async () => {
  await db.drop();
  ws.remove();
});

const recorded = async (name: string) =>
  (await query(db.url, 'select count(*)::int as n from drizzle.__drizzle_migrations where name = $1', [name]))[0]!.n;

describe('a COMMIT inside a transactional migration (D12)', () => {
  it('is refused before anything runs, naming its line', async () => {
    ws.addMigration(
      SHARED,
      '20261201_090000_half',
      'CREATE TABLE "half_a" ("id" int);\nCOMMIT;\n--> statement-breakpoint\nCREATE TABLE "half_b" ("id" int);',
    );
    const run = ws.dbKit(['migrate', '--package', 'shared'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/20261201_090000_half\.sql:2:1: COMMIT inside 20261201_090000_half/);
    expect(run.stderr).toMatch(/nothing ran/);
    expect(await tableExists(db.url, 'public.half_a')).toBe(false);
    expect(await tableExists(db.url, 'public.users')).toBe(false);
  });

  it('is not confused by BEGIN/COMMIT inside a function body or a string', async () => {
    ws.addMigration(
      SHARED,
      '20261201_090000_fn',
      'CREATE FUNCTION "f"() RETURNS void LANGUAGE plpgsql AS $$ BEGIN PERFORM 1; END; $$;\n--> statement-breakpoint\nSELECT \'COMMIT;\';',
    );
    const run = ws.dbKit(['migrate', '--package', 'shared'], env);
    expect(run.code, run.stderr).toBe(0);
  });
});

describe('COPY ... FROM stdin (D19)', () => {
  it('is refused before anything runs: a migration has no input to send', async () => {
    ws.addMigration(SHARED, '20261201_090000_load', 'COPY "users" ("email") FROM stdin;\na@example.com\n\\.\n');
    const run = ws.dbKit(['migrate', '--package', 'shared'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/copies FROM STDIN/);
    expect(run.stdout).not.toMatch(/applied/);
    expect(await tableExists(db.url, 'public.users')).toBe(false);
  });
});

describe('--single-transaction with a failing migration (D19)', () => {
  it('prints no "applied" line for migrations that were rolled back with the run', async () => {
    ws.addMigration(SHARED, '20261201_090000_ok', 'ALTER TABLE "users" ADD COLUMN "phone" text;');
    ws.addMigration(SHARED, '20261201_100000_bad', 'SELECT 1/0;');
    const run = ws.dbKit(['migrate', '--package', 'shared', '--single-transaction'], env);
    expect(run.code).toBe(1);
    expect(run.stdout).not.toMatch(/applied/);
    expect(await tableExists(db.url, 'public.users')).toBe(false);
  });
});

describe('locating the failing statement (D7, D18, 14a)', () => {
  it('runs the work once: a sequence bumped before the failure moved once, not twice', async () => {
    await query(db.url, 'create sequence probe_seq');
    ws.addMigration(
      SHARED,
      '20261201_090000_probe',
      "SELECT nextval('probe_seq');\n--> statement-breakpoint\nSELECT 1/0;",
    );
    const run = ws.dbKit(['migrate', '--package', 'shared'], env);
    expect(run.code).toBe(1);
    const [seq] = await query(db.url, 'select last_value::int as v from probe_seq');
    expect(seq!.v).toBe(1);
  });

  it('runs a --single-transaction run once too, earlier migrations included', async () => {
    await query(db.url, 'create sequence probe_seq');
    ws.addMigration(SHARED, '20261201_090000_bump', "SELECT nextval('probe_seq');");
    ws.addMigration(SHARED, '20261201_100000_bad', 'SELECT 1/0;');
    const run = ws.dbKit(['migrate', '--package', 'shared', '--single-transaction'], env);
    expect(run.code).toBe(1);
    const [seq] = await query(db.url, 'select last_value::int as v from probe_seq');
    expect(seq!.v).toBe(1);
  });

  it('names the second of two identical statements when that one fails', async () => {
    ws.addMigration(
      SHARED,
      '20261201_090000_twice',
      'CREATE TABLE "once" ("id" int PRIMARY KEY);\n--> statement-breakpoint\nINSERT INTO "once" VALUES (1);\n--> statement-breakpoint\nINSERT INTO "once" VALUES (1);',
    );
    const run = ws.dbKit(['migrate', '--package', 'shared'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/20261201_090000_twice\.sql:5:1: migration \S+ failed at statement 3 of 3/);
  });

  it('names the line and column in a migration without breakpoints', async () => {
    ws.addMigration(
      SHARED,
      '20261201_090000_plain',
      'CREATE TABLE "plain" ("id" int);\nALTER TABLE "no_such_table" ADD COLUMN "x" int;\nSELECT "nope" FROM "plain";',
    );
    const run = ws.dbKit(['migrate', '--package', 'shared'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /20261201_090000_plain\.sql:2:1: migration \S+ failed at statement 2 of 3 \(ALTER TABLE/,
    );
    expect(await tableExists(db.url, 'public.plain')).toBe(false);
  });

  it('uses the error position inside a statement of a file without breakpoints', async () => {
    ws.addMigration(SHARED, '20261201_090000_pos', 'CREATE TABLE "p" ("id" int);\nSELECT "nope" FROM "p";');
    const run = ws.dbKit(['migrate', '--package', 'shared'], env);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/20261201_090000_pos\.sql:2:8: /);
  });

  it('quotes the statement, not the comment above it', async () => {
    ws.addMigration(
      SHARED,
      '20261201_090000_commented',
      '-- Adds the mood column\nALTER TABLE "users" ADD COLUMN "mood" no_such_type;',
    );
    const run = ws.dbKit(['migrate', '--package', 'shared'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/failed at statement 1 of 1 \(ALTER TABLE "users" ADD COLUMN "mood" no_such_type;\)/);
    expect(run.stderr).toMatch(/_commented\.sql:2:39: /);
  });
});

describe('a no-transaction header (D23)', () => {
  it('counts on line 2, under a comment', async () => {
    ws.addMigration(
      SHARED,
      '20261201_090000_idx',
      '-- Speeds up login\n-- db-kit: no-transaction\nCREATE INDEX CONCURRENTLY "users_created_idx" ON "users" ("created_at");',
    );
    const run = ws.dbKit(['migrate', '--package', 'shared'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(await recorded('20261201_090000_idx')).toBe(1);
  });

  it('is refused after the first statement, where it would be ignored', async () => {
    ws.addMigration(
      SHARED,
      '20261201_090000_late',
      'SELECT 1;\n-- db-kit: no-transaction\nCREATE INDEX CONCURRENTLY "users_created_idx" ON "users" ("created_at");',
    );
    const run = ws.dbKit(['migrate', '--package', 'shared'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/_late\.sql:2:1: "-- db-kit: no-transaction" only counts before the first statement/);
    expect(await tableExists(db.url, 'public.users')).toBe(false);
  });
});

describe('a duplicate journal entry (D14)', () => {
  it('is refused by migrate; nothing runs twice', async () => {
    const tag = ws.addMigration(SHARED, '20261201_090000_dup', 'ALTER TABLE "users" ADD COLUMN "phone" text;');
    const journalFile = `${SHARED}/drizzle/meta/_journal.json`;
    const journal = JSON.parse(ws.read(journalFile));
    journal.entries.push({ ...journal.entries.at(-1), idx: journal.entries.length });
    ws.write(journalFile, JSON.stringify(journal, null, 2));
    const run = ws.dbKit(['migrate', '--package', 'shared'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`lists ${tag} twice`));
    expect(await tableExists(db.url, 'public.users')).toBe(false);
  });
});

describe('a CRLF checkout (D20)', () => {
  it('reads applied migrations as unchanged, and new ones apply', async () => {
    const tag = ws.addMigration(SHARED, '20261201_090000_crlf', 'ALTER TABLE "users"\n  ADD COLUMN "phone" text;');
    expect(ws.dbKit(['migrate', '--package', 'shared'], env).code).toBe(0);
    const file = `${SHARED}/drizzle/${tag}.sql`;
    ws.write(file, ws.read(file).replace(/\n/g, '\r\n'));
    const status = ws.dbKit(['status', '--package', 'shared'], env);
    expect(status.stdout).not.toMatch(/changed/);
    const run = ws.dbKit(['migrate', '--package', 'shared'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Nothing to migrate/);
  });
});

describe('a renamed applied migration (D11)', () => {
  it('is refused, never re-run, and repair records the new name', async () => {
    const tag = ws.addMigration(SHARED, '20261201_090000_add_phone', 'ALTER TABLE "users" ADD COLUMN "phone" text;');
    expect(ws.dbKit(['migrate', '--package', 'shared'], env).code).toBe(0);
    const renamed = '20261201_090000_add_phone_number';
    const journalFile = `${SHARED}/drizzle/meta/_journal.json`;
    ws.write(journalFile, ws.read(journalFile).replace(`"${tag}"`, `"${renamed}"`));
    ws.write(`${SHARED}/drizzle/${renamed}.sql`, ws.read(`${SHARED}/drizzle/${tag}.sql`));
    ws.exec('rm', [ws.path(`${SHARED}/drizzle/${tag}.sql`)]);
    const refused = ws.dbKit(['migrate', '--package', 'shared'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`${tag}\\.sql was renamed to ${renamed}\\.sql`));
    expect(refused.stderr).toMatch(/next: Record the new name .*pnpm db:repair --reason "renamed"/);
    const repair = ws.dbKit(['repair', '--package', 'shared', '--reason', 'renamed'], env);
    expect(repair.code, repair.stderr).toBe(0);
    const run = ws.dbKit(['migrate', '--package', 'shared'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Nothing to migrate/);
    expect(await recorded(renamed)).toBe(1);
    expect(await recorded(tag)).toBe(0);
    expect(await columnsOf(db.url, 'users')).toContain('phone');
  });
});
