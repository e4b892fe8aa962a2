import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import { fixtureWorkspace } from './helpers';

// check --verify-downs connects the way every command does (target.ts, issue 10 D1): to the host
// and port the guard judged. A `?host=` parameter wins over the URL's authority, as in libpq; the
// driver, given the raw URL, connected to the authority instead.
describe('check --verify-downs connects where DATABASE_URL resolves to', () => {
  let ws: FixtureWorkspace;
  let db: TestDatabase;
  beforeAll(async () => {
    ws = fixtureWorkspace();
    db = await createTestDatabase({ label: 'verify_target' });
  });
  afterAll(async () => {
    await db?.drop();
    ws?.remove();
  });

  it('follows ?host= and ?port= (not the authority, which names no server): round trips run, exit 0', async () => {
    const real = new URL(db.url);
    const url =
      // The credentials stay: the suite's embedded server wants its password (a system server may trust).
      `postgresql://${real.username}${real.password ? `:${real.password}` : ''}@nowhere.invalid:1${real.pathname}` +
      `?host=${real.hostname}&port=${real.port || '5432'}`;
    const run = await ws.run(['check', '--package', 'teamd', '--verify-downs'], { DATABASE_URL: url });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stderr).toMatch(/verify-downs: [1-9]\d* round trips?/);
    expect(run.stdout + run.stderr).not.toMatch(/nowhere\.invalid|ENOTFOUND/);
  });
});
