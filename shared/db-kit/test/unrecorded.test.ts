import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli';
import { captureReporter } from '../src/context';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import type { StatusReport } from '../src/schema/status';
import { SHARED, TEAMD, fixtureWorkspace } from './helpers';

const USERS = `${SHARED}/src/schemas/users.ts`;
const OVERLAY = `${TEAMD}/src/overlays/team-specific-tables.ts`;

/** A command run in-process as at a terminal (a person could answer; none is asked here). */
async function atTerminal(ws: FixtureWorkspace, args: string[], env: NodeJS.ProcessEnv) {
  const out = captureReporter();
  const terminal = { interactive: true, confirm: async () => false, input: async () => '' };
  const code = await runCli(args, { cwd: ws.root, env: { ...process.env, ...env }, reporter: out, terminal });
  return { code, stdout: out.stdout, stderr: out.stderr };
}

/** A schema change nobody generated a migration for. */
function forgetToGenerate(ws: FixtureWorkspace): void {
  ws.write(
    USERS,
    ws
      .read(USERS)
      .replace(
        "name: varchar('name', { length: 255 }),",
        "name: varchar('name', { length: 255 }),\n  nickname: varchar('nickname', { length: 40 }),",
      ),
  );
}

describe('a schema change without a generate', () => {
  let ws: FixtureWorkspace;
  let db: TestDatabase;
  let env: NodeJS.ProcessEnv;
  let pristine: { users: string; overlay: string };
  beforeAll(async () => {
    ws = fixtureWorkspace();
    db = await createTestDatabase({ label: 'unrecorded' });
    env = { DATABASE_URL: db.url };
    expect((await ws.run(['migrate', '--all'], env)).code).toBe(0);
    pristine = { users: ws.read(USERS), overlay: ws.read(OVERLAY) };
  });
  beforeEach(() => {
    ws.write(USERS, pristine.users);
    ws.write(OVERLAY, pristine.overlay);
  });
  afterAll(async () => {
    await db.drop();
    ws.remove();
  });

  it('makes status say so, naming the package and the generate script, and exit 1', async () => {
    forgetToGenerate(ws);
    const text = await ws.run(['status'], env);
    expect(text.code, text.stderr).toBe(1);
    expect(text.stdout).toMatch(
      /Schema files vs migrations\n {2}@large-event\/database: the schema files have changes no migration records; a migration would run: ALTER TABLE "users" ADD COLUMN "nickname" varchar\(40\)/,
    );
    expect(text.stdout).toMatch(/Drift \(live database vs the applied migrations' snapshots\)\n {2}none/);
    expect(text.stdout).not.toMatch(/^Clean/m);
    expect(text.stdout).toMatch(/Not clean: schema changes not generated in shared\./);
    expect(text.stdout).toMatch(/next: pnpm db:generate --name <what_changed>, then migrate\./);

    const json = JSON.parse((await ws.run(['status', '--json'], env)).stdout) as StatusReport;
    expect(json.clean).toBe(false);
    expect(json.unrecorded).toEqual([
      {
        package: '@large-event/database',
        alias: 'shared',
        statements: [expect.stringContaining('ADD COLUMN "nickname"')],
        needsAnswers: false,
      },
    ]);
  });

  it('makes migrate at a terminal warn on stderr, still exit 0, and apply nothing', async () => {
    forgetToGenerate(ws);
    const run = await atTerminal(ws, ['migrate', '--package', 'shared'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Nothing to migrate: shared up to date\./);
    expect(run.stderr).toMatch(
      /^warning: @large-event\/database: the schema files have changes no migration records; a migration would run: ALTER TABLE "users" ADD COLUMN "nickname"/m,
    );
    expect(run.stderr).toMatch(/next: pnpm db:generate --name <what_changed>, then migrate again\./);
  });

  it('makes migrate without a terminal answer from the cache only: a miss is not diffed, a hit warns', async () => {
    // An edit no earlier test made, so no cached answer has its key.
    ws.write(
      USERS,
      pristine.users.replace("name: varchar('name', { length: 255 }),", "name: varchar('name', { length: 200 }),"),
    );
    const cacheFile = join(ws.root, '.db', 'schema-changes.json');
    const before = readFileSync(cacheFile, 'utf8');
    // A miss (CI, a deploy: a fresh clone): no schema load (1 to 4 s), no warning, nothing remembered.
    const cold = await ws.run(['migrate', '--package', 'shared'], env);
    expect(cold.code, cold.stderr).toBe(0);
    expect(cold.stdout).toMatch(/Nothing to migrate: shared up to date\./);
    expect(cold.stderr).toBe('');
    expect(readFileSync(cacheFile, 'utf8')).toBe(before);
    // Once status (which a developer runs) has diffed the edit, the cached answer is reported.
    expect((await ws.run(['status'], env)).code).toBe(1);
    const warm = await ws.run(['migrate', '--package', 'shared'], env);
    expect(warm.stderr).toMatch(
      /^warning: @large-event\/database: the schema files have changes no migration records/m,
    );
  });

  it("names the team for a change in the team's overlay, with the team's generate script", async () => {
    ws.write(
      OVERLAY,
      pristine.overlay.replace(
        "description: text('description'),",
        "description: text('description'),\n  budget: integer('budget'),",
      ),
    );
    const run = await ws.run(['status', '--package', 'teamd'], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/@teamd\/database: the schema files have changes no migration records/);
    expect(run.stdout).not.toMatch(/@large-event\/database: the schema files/);
    expect(run.stdout).toMatch(/next: pnpm teamd:db:generate --name <what_changed>/);
    const migrate = await ws.run(['migrate', '--package', 'teamd'], env);
    expect(migrate.stderr).toMatch(/warning: @teamd\/database: the schema files have changes/);
  });

  it('is answered from a cache keyed by the schema files, which an edit invalidates', async () => {
    expect((await ws.run(['status'], env)).code).toBe(0);
    const cacheFile = join(ws.root, '.db', 'schema-changes.json');
    const cache = JSON.parse(readFileSync(cacheFile, 'utf8')) as {
      entries: Record<string, { key: string; statements: string[] }>;
    };
    expect(Object.keys(cache.entries).sort()).toEqual(['@large-event/database', '@teamd/database']);
    // A planted answer under the current key is believed: status did not load the schema again.
    cache.entries['@large-event/database']!.statements = ['-- planted'];
    writeFileSync(cacheFile, JSON.stringify(cache));
    expect((await ws.run(['status'], env)).stdout).toMatch(/a migration would run: -- planted/);
    // Any edit to the schema files changes the key: the diff runs again and the planted answer is gone.
    ws.write(USERS, `${pristine.users}\n// a comment\n`);
    const after = await ws.run(['status'], env);
    expect(after.code, after.stdout).toBe(0);
    expect(after.stdout).toMatch(/Schema files vs migrations\n {2}every change is in a migration/);
  });

  it('remembers a schema entry that does not load, so the next runs do not load it again', async () => {
    ws.write(USERS, `${pristine.users}\nexport const broken = ;\n`);
    const first = await ws.run(['status'], env);
    expect(first.stdout).toMatch(/@large-event\/database: its schema does not load/);
    const cacheFile = join(ws.root, '.db', 'schema-changes.json');
    const cache = JSON.parse(readFileSync(cacheFile, 'utf8')) as {
      entries: Record<string, { key: string; loadError?: string }>;
    };
    const entry = cache.entries['@large-event/database'];
    expect(entry?.loadError).toBeTruthy();
    // Planted under the current key and believed: the broken entry was not loaded a second time.
    entry!.loadError = 'planted load error';
    writeFileSync(cacheFile, JSON.stringify(cache));
    expect((await ws.run(['migrate', '--package', 'shared'], env)).stderr).toMatch(/its schema does not load: planted/);
  });

  it('is gone once generated and migrated', async () => {
    forgetToGenerate(ws);
    expect((await ws.run(['generate', '--package', 'shared', '--name', 'nickname'], env)).code).toBe(0);
    const run = await ws.run(['migrate', '--package', 'shared'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toMatch(/warning/);
    const status = await ws.run(['status'], env);
    expect(status.code, status.stdout).toBe(0);
    expect(status.stdout).toMatch(/Clean: every migration applied, every schema change in a migration, no drift\./);
  });
});
