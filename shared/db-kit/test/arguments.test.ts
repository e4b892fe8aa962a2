import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import { fixtureWorkspace, tableExists } from './helpers';

describe('command lines that do not mean what they say are refused before anything runs', () => {
  let ws: FixtureWorkspace;
  let db: TestDatabase;
  beforeAll(async () => {
    ws = fixtureWorkspace();
    db = await createTestDatabase({ label: 'arguments' });
  });
  afterAll(async () => {
    await db.drop();
    ws.remove();
  });

  it('pnpm db:migrate teamd does not migrate shared only: a usage error naming pnpm teamd:db:migrate', async () => {
    const run = ws.dbKit(['migrate', '--package', 'shared', 'teamd'], { DATABASE_URL: db.url });
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stderr).toMatch(/error: Unexpected argument "teamd"/);
    expect(run.stderr).toMatch(/next: For teamd, run pnpm teamd:db:migrate/);
    expect(await tableExists(db.url, 'users')).toBe(false);
  });

  it('an extra word on push, status or check is refused too', () => {
    for (const args of [
      ['push', '--package', 'teamd', 'now'],
      ['status', 'teamd'],
      ['check', 'everything'],
    ]) {
      const run = ws.dbKit(args, { DATABASE_URL: db.url });
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(/Unexpected argument/);
    }
  });

  it('--lock-timeout 1e9 is a usage error, not a raw PostgreSQL error', async () => {
    for (const value of ['1e9', 'soon', '']) {
      const run = ws.dbKit(['migrate', '--all', '--lock-timeout', value], { DATABASE_URL: db.url });
      expect(run.code, value).toBe(2);
      expect(run.stderr, value).toMatch(/error: --lock-timeout takes seconds from 0 to 2147483, got/);
    }
    expect(await tableExists(db.url, 'users')).toBe(false);
  });
});
