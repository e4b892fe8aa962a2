import { existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import { fixtureWorkspace, TEAMD } from './helpers';

const OVERLAY = `${TEAMD}/src/overlays/team-specific-tables.ts`;
const JOURNAL = `${TEAMD}/drizzle/meta/_journal.json`;

let ws: FixtureWorkspace;
let db: TestDatabase;
let env: NodeJS.ProcessEnv;
let before: { journal: string; files: string[] };

function files(): string[] {
  return ws
    .exec('find', [`${TEAMD}/drizzle`, '-type', 'f'])
    .stdout.trim()
    .split('\n')
    .sort();
}

/** A bad generate: a column nobody wanted. */
async function generateBudget(): Promise<string> {
  ws.write(
    OVERLAY,
    ws
      .read(OVERLAY)
      .replace("description: text('description'),", "description: text('description'),\n  budget: integer('budget'),"),
  );
  const run = await ws.run(['generate', '--package', 'teamd', '--name', 'budget']);
  expect(run.code, run.stderr).toBe(0);
  return /(\d{8}_\d{6}_budget)\.sql/.exec(run.stdout)![1]!;
}

beforeEach(async () => {
  ws = fixtureWorkspace();
  db = await createTestDatabase({ label: 'undo' });
  env = { DATABASE_URL: db.url };
  expect((await ws.run(['migrate', '--all'], env)).code).toBe(0);
  before = { journal: ws.read(JOURNAL), files: files() };
});
afterEach(async () => {
  await db.drop();
  ws.remove();
});

describe('generate --undo', () => {
  it('removes the newest unapplied migration with its down, snapshot and journal entry', async () => {
    const tag = await generateBudget();
    expect(existsSync(ws.path(`${TEAMD}/drizzle/${tag}.down.sql`))).toBe(true);
    const run = await ws.run(['generate', '--package', 'teamd', '--undo'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(
        `Removed ${tag} from @teamd/database: .*${tag}\\.sql, .*${tag}\\.down\\.sql, .*0001_snapshot\\.json and its journal entry`,
      ),
    );
    expect(run.stdout).toMatch(/edit them, then pnpm teamd:db:generate --name <what_changed>/);
    expect(files()).toEqual(before.files);
    expect(JSON.parse(ws.read(JOURNAL))).toEqual(JSON.parse(before.journal));
    // The history is whole again: check passes but for the schema change still in the files, and generate writes it anew.
    const again = await ws.run(['generate', '--package', 'teamd', '--name', 'budget_again']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/_budget_again\.sql/);
    expect((await ws.run(['migrate', '--package', 'teamd'], env)).code).toBe(0);
  });

  it('refuses a migration the configured database has applied, naming it and the database, and removes nothing', async () => {
    const tag = await generateBudget();
    expect((await ws.run(['migrate', '--package', 'teamd'], env)).code).toBe(0);
    const withIt = files();
    const run = await ws.run(['generate', '--package', 'teamd', '--undo'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`error: @teamd/database: ${tag} is already applied on "${db.name}" at `));
    expect(run.stderr).toMatch(
      /next: .*pnpm teamd:db:generate --name <what_changed>.*pnpm teamd:db:rollback --steps 1/,
    );
    expect(files()).toEqual(withIt);
  });

  it('refuses when the configured database cannot be reached to tell', async () => {
    await generateBudget();
    const withIt = files();
    const run = await ws.run(['generate', '--package', 'teamd', '--undo'], {
      DATABASE_URL: 'postgresql://postgres:secret@127.0.0.1:1/nowhere',
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/Cannot tell whether \d{8}_\d{6}_budget is applied/);
    expect(run.stderr).not.toContain('secret');
    expect(files()).toEqual(withIt);
  });

  it('says so for a package without migrations', async () => {
    ws.exec('rm', ['-rf', `${TEAMD}/drizzle`]);
    const run = await ws.run(['generate', '--package', 'teamd', '--undo'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/@teamd\/database has no migration: nothing to undo/);
  });
});
