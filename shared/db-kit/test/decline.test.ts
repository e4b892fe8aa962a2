import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli';
import { captureReporter, type Terminal } from '../src/context';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import { columnsOf, fixtureWorkspace, query, TEAMD, tableExists } from './helpers';

/** A person at a terminal who answers no to everything (and types a wrong name). */
const asked: string[] = [];
const sayNo: Terminal = {
  interactive: true,
  confirm: async (message) => {
    asked.push(message);
    return false;
  },
  input: async () => 'not-the-name',
};

describe('declining a prompt', () => {
  let ws: FixtureWorkspace;
  let db: TestDatabase;
  let run: (argv: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;
  beforeAll(async () => {
    ws = fixtureWorkspace();
    db = await createTestDatabase({ migrate: 'teamd', label: 'decline' });
    await query(db.url, `insert into users (email) values ('ada@example.com')`);
    run = async (argv) => {
      const out = captureReporter();
      const code = await runCli(argv, {
        cwd: ws.root,
        env: { ...process.env, DATABASE_URL: db.url },
        reporter: out,
        terminal: sayNo,
      });
      return { code, stdout: out.stdout, stderr: out.stderr };
    };
  });
  afterAll(async () => {
    await db.drop();
    ws.remove();
  });

  it('exits 0 with "Nothing changed." for reset and fresh, and drops nothing', async () => {
    for (const command of ['reset', 'fresh']) {
      const result = await run([command, '--no-backup']);
      expect(result.code, `${command}: ${result.stderr}`).toBe(0);
      expect(result.stdout.trim()).toBe('Nothing changed.');
      expect(result.stderr).toBe('');
    }
    expect(await tableExists(db.url, 'users')).toBe(true);
    expect(await query(db.url, 'select email from users')).toEqual([{ email: 'ada@example.com' }]);
  });

  it('exits 0 with "Nothing changed." for seed over existing rows', async () => {
    const result = await run(['seed']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe('Nothing changed.');
    expect(await query(db.url, 'select email from users')).toEqual([{ email: 'ada@example.com' }]);
  });

  it('exits 0 with "Nothing changed." for restore', async () => {
    const file = join(ws.root, 'some.dump');
    writeFileSync(file, 'not read: the answer was no');
    const result = await run(['restore', file]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe('Nothing changed.');
  });

  it('exits 0 with "Nothing changed." for a push that loses data, and keeps the column', async () => {
    const overlay = `${TEAMD}/src/overlays/team-specific-tables.ts`;
    const before = ws.read(overlay);
    ws.write(overlay, before.replace(/\n\s*description: text\('description'\),/, ''));
    try {
      const result = await run(['push', '--package', 'teamd']);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/DATA LOSS .*DROP COLUMN "description"/);
      // One statement: "loses", not "1 statement above lose data".
      expect(asked.at(-1)).toBe('The statement marked DATA LOSS loses data. Run it?');
      expect(result.stdout.trim().split('\n').at(-1)).toBe('Nothing changed.');
      expect(await columnsOf(db.url, 'teamd_projects')).toContain('description');
    } finally {
      ws.write(overlay, before);
    }
  });

  it('exits 0 with "Nothing changed." for promote, at the dependency offer and at the final question', async () => {
    const pristine = ws.exec('git', ['status', '--porcelain']).stdout;
    const offer = await run(['promote', '--package', 'teamd', '--tables', 'teamd_tasks']);
    expect(offer.code, offer.stderr).toBe(0);
    expect(offer.stdout).toMatch(
      /teamd_tasks cannot move without teamd_projects .*--tables teamd_tasks,teamd_projects/,
    );
    expect(offer.stdout.trim().split('\n').at(-1)).toBe('Nothing changed.');
    const final = await run(['promote', '--package', 'teamd', '--tables', 'teamd_projects,teamd_tasks']);
    expect(final.code, final.stderr).toBe(0);
    expect(final.stdout.trim().split('\n').at(-1)).toBe('Nothing changed.');
    expect(ws.exec('git', ['status', '--porcelain']).stdout).toBe(pristine);
  });

  it('exits 0 with "Nothing changed." for a rollback that loses data', async () => {
    const overlay = `${TEAMD}/src/overlays/team-specific-tables.ts`;
    ws.write(
      overlay,
      ws
        .read(overlay)
        .replace(
          "description: text('description'),",
          "description: text('description'),\n  budget: integer('budget'),",
        ),
    );
    expect((await run(['generate', '--package', 'teamd', '--name', 'budget'])).code).toBe(0);
    expect((await run(['migrate', '--package', 'teamd'])).code).toBe(0);
    await query(db.url, `insert into teamd_projects (name, budget) values ('apollo', 5)`);
    const result = await run(['rollback', '--package', 'teamd', '--steps', '1', '--no-backup']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim().split('\n').at(-1)).toBe('Nothing changed.');
    expect(await columnsOf(db.url, 'teamd_projects')).toContain('budget');
  });
});
