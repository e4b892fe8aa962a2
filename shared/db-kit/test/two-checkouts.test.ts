import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pickFreePort } from '../src/server/ports';
import type { FixtureWorkspace } from '../src/testing';
import { query, fixtureWorkspace } from './helpers';

const urlIn = (ws: FixtureWorkspace) => /^DATABASE_URL=(.*)$/m.exec(ws.read('.env'))![1]!;

// After `stop`, checkout A's .env keeps its port. Checkout B's setup may take that port: A's
// commands must then refuse, saying why, and never touch B's database.
describe('two checkouts, one port', () => {
  let a: FixtureWorkspace;
  let b: FixtureWorkspace;
  let env: NodeJS.ProcessEnv;
  let port: number;

  beforeAll(async () => {
    a = fixtureWorkspace();
    b = fixtureWorkspace();
    const bin = mkdtempSync(join(tmpdir(), 'no-docker-'));
    writeFileSync(join(bin, 'docker'), '#!/bin/sh\nexit 1\n');
    chmodSync(join(bin, 'docker'), 0o755);
    port = await pickFreePort(55300);
    env = {
      PATH: `${bin}${delimiter}${process.env.PATH}`,
      DATABASE_URL: '',
      DB_ENGINE: '',
      POSTGRES_PORT: String(port),
    };
    for (const [ws, step] of [
      [a, ['server', 'up']],
      [a, ['migrate', '--all']],
      [a, ['backup']],
      [a, ['server', 'stop']],
      [b, ['server', 'up']],
    ] as const) {
      const run = ws.dbKit([...step], env);
      if (run.code !== 0 && !(step[0] === 'backup')) throw new Error(`${step.join(' ')}: ${run.stderr}`);
    }
    a.write('backups/none.dump', 'x'); // restore looks for the file first, then connects
  }, 120_000);

  afterAll(() => {
    for (const ws of [a, b]) {
      ws.dbKit(['server', 'stop'], env);
      ws.remove();
    }
  });

  it('each checkout has its own generated password, and B really took A’s port', () => {
    const [ua, ub] = [new URL(urlIn(a)), new URL(urlIn(b))];
    expect(ua.port).toBe(String(port));
    expect(ub.port).toBe(String(port));
    expect(ua.password).not.toBe(ub.password);
    expect([ua.password, ub.password]).not.toContain('postgres');
  });

  const commands = [
    ['migrate', '--all'],
    ['migrate', '--package', 'shared'],
    ['status'],
    ['seed', '--yes'],
    ['reset', '--yes', '--no-backup'],
    ['fresh', '--yes', '--no-backup'],
    ['push', '--package', 'shared', '--yes'],
    ['backup'],
    ['restore', 'backups/none.dump', '--yes'],
    ['repair', '--package', 'shared', '--reason', 'test', '--migration', 'x'],
    ['studio', '--package', 'shared'],
    ['server', 'psql', '--', '-c', 'select 1'],
    ['server', 'reset'],
  ];

  it.each(commands.map((args) => [args.join(' '), args] as const))(
    'A refuses `%s` with the reason and the next step',
    (_, args) => {
      const run = a.dbKit(args, env);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stderr).toMatch(/is not the one setup started for this checkout/);
      expect(run.stderr).toMatch(/next: Run \.\/scripts\/db-workflow\.sh start/);
      expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
    },
  );

  it('nothing reached B: its database is as setup left it', async () => {
    const rows = await query<{ n: number }>(
      urlIn(b),
      `select count(*)::int as n from pg_namespace where nspname = 'drizzle'
       union all select count(*)::int from pg_tables where schemaname = 'public'`,
    );
    expect(rows.map((r) => r.n)).toEqual([0, 0]);
  });

  it('A starts its own server on another port, and works again', () => {
    const start = a.dbKit(['server', 'up'], { ...env, POSTGRES_PORT: '' });
    expect(start.code, start.stderr).toBe(0);
    expect(new URL(urlIn(a)).port).not.toBe(String(port));
    const status = a.dbKit(['status'], env);
    expect(status.code, status.stderr).toBe(0);
  });
});
