import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import { fixtureWorkspace, TEAMD } from './helpers';

const JOURNAL = `${TEAMD}/drizzle/meta/_journal.json`;
const SNAPSHOT = `${TEAMD}/drizzle/meta/0000_snapshot.json`;

let ws: FixtureWorkspace;
let db: TestDatabase;
let env: NodeJS.ProcessEnv;

beforeEach(async () => {
  ws = fixtureWorkspace();
  db = await createTestDatabase({ label: 'malformed' });
  env = { DATABASE_URL: db.url };
});
afterEach(async () => {
  await db.drop();
  ws.remove();
});

/**
 * Every command that reads the file names it and says what to do: status exits 2; generate's history review
 * reports it as a finding (1); migrate exits 2 on a bad journal and only warns on a bad snapshot (it applies
 * no snapshot).
 */
async function expectNamed(file: string, rule: string, migrateCode: number): Promise<void> {
  for (const [args, code] of [
    [['migrate', '--package', 'teamd'], migrateCode],
    [['status', '--package', 'teamd'], 2],
    [['generate', '--package', 'teamd', '--name', 'x'], 1],
  ] as const) {
    const run = await ws.run([...args], env);
    const out = run.stdout + run.stderr;
    expect(run.code, `${args[0]}: ${out}`).toBe(code);
    expect(out, args[0]).toContain(file);
    expect(out, args[0]).toMatch(/git checkout|Restore/);
    expect(out, args[0]).not.toMatch(/reading 'map'|at .*\.ts:\d+|Unexpected end of JSON input\.$/m);
  }
  const check = await ws.run(['check', '--package', 'teamd'], env);
  const out = check.stdout + check.stderr;
  expect(check.code, out).toBe(1);
  expect(out).toMatch(new RegExp(`error +${rule}`));
  expect(out).toContain(file.split('/').pop()!);
  expect(out).not.toMatch(/TypeError|reading 'map'/);
}

describe('a malformed journal or snapshot names the file', () => {
  it('a truncated journal', async () => {
    ws.write(JOURNAL, ws.read(JOURNAL).slice(0, 40));
    await expectNamed('_journal.json', 'journal-invalid', 2);
  });

  it("a journal whose entries is not an array ('reading map' before)", async () => {
    ws.write(JOURNAL, JSON.stringify({ version: '7', dialect: 'postgresql', entries: { tag: 'x' } }));
    await expectNamed('_journal.json', 'journal-invalid', 2);
  });

  it('a truncated snapshot', async () => {
    ws.write(SNAPSHOT, ws.read(SNAPSHOT).slice(0, 100));
    await expectNamed('0000_snapshot.json', 'snapshot-invalid', 0);
  });
});
