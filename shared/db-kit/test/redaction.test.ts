import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pickFreePort } from '../src/server/ports';
import type { FixtureWorkspace } from '../src/testing';
import { fixtureWorkspace } from './helpers';

const PASSWORD = 'S3cr3t-Pw';
const STACK_FRAME = /\n\s+at /;

// How to run each command so it reaches the database. A command added later that is not listed
// here still runs (with no arguments) and is still checked for the password and stack traces.
const RUNS: Record<string, string[][]> = {
  generate: [['--package', 'teamd']],
  migrate: [['--all'], ['--package', 'teamd', '--dry-run']],
  status: [[], ['--json']],
  repair: [
    ['--all', '--reason', 'redaction test'],
    ['--package', 'teamd', '--reason', 'x', '--dry-run'],
  ],
  check: [[]],
  push: [
    ['--package', 'teamd', '--yes'],
    ['--package', 'shared', '--dry-run'],
  ],
  reset: [['--yes']],
  fresh: [['--yes']],
  seed: [['--yes']],
  backup: [[]],
  restore: [['backups/old.dump', '--yes']],
  server: [['up'], ['status'], ['psql']],
  promote: [['--package', 'teamd', '--tables', 'teamd_projects', '--dry-run']],
  rollback: [['--package', 'teamd', '--steps', '1', '--yes']],
  down: [['--backfill', '--package', 'teamd']],
  'new-team': [['teamz', '--no-install']],
};
// Commands that need no database, or hand the terminal to another program: checked for the
// password and stack traces only, not for our one-line error.
const NO_DATABASE_ERROR = new Set([
  'generate',
  'check',
  'server status',
  'server psql',
  'studio',
  'promote',
  'new-team',
  'pull',
  'down',
]);

describe('no command prints the password of DATABASE_URL', () => {
  let ws: FixtureWorkspace;
  let env: NodeJS.ProcessEnv;
  let commands: string[];

  beforeAll(async () => {
    ws = fixtureWorkspace();
    const port = await pickFreePort(45_000); // nothing listens there: every connection fails
    env = {
      DATABASE_URL: `postgresql://postgres:${PASSWORD}@127.0.0.1:${port}/large_event_db`,
      DEBUG: '',
      DB_ENGINE: '',
    };
    ws.write('backups/old.dump', 'not a dump');
    const help = ws.dbKit(['--help'], env);
    commands = [...help.stdout.matchAll(/^ {2}([a-z][a-z-]*)\s{2,}/gm)].map((m) => m[1]!);
  });
  afterAll(() => ws.remove());

  it('finds the command table in --help', () => {
    expect(commands).toEqual(
      expect.arrayContaining(['generate', 'migrate', 'push', 'reset', 'fresh', 'seed', 'backup', 'restore', 'server']),
    );
  });

  it('--help of every command', () => {
    for (const name of commands) {
      const run = ws.dbKit([name, '--help'], env);
      expect(run.code, name).toBe(0);
      expect(run.stdout + run.stderr, name).not.toContain(PASSWORD);
    }
  });

  it('every command against a wrong port: no password, no stack trace, a one-line reason', () => {
    for (const name of commands.filter((c) => c !== 'studio')) {
      for (const args of RUNS[name] ?? [[]]) {
        const label = [name, ...args].join(' ');
        const run = ws.dbKit([name, ...args], env);
        const output = run.stdout + run.stderr;
        expect(output, label).not.toContain(PASSWORD);
        expect(output, label).not.toMatch(STACK_FRAME);
        if (NO_DATABASE_ERROR.has(name) || NO_DATABASE_ERROR.has(`${name} ${args[0]}`)) continue;
        expect(run.code, `${label}: ${output}`).toBe(2);
        const lines = run.stderr.trim().split('\n');
        expect(lines[0], label).toMatch(/^error: .*(Cannot connect|connection refused)/);
        expect(lines.length, label).toBeLessThanOrEqual(2);
      }
    }
  });

  it('studio starts without printing it', async () => {
    const port = await pickFreePort(49_830);
    // Its own process group, so the drizzle-kit it starts ends with it.
    const child = spawn(
      process.execPath,
      [join(ws.root, 'shared/db-kit/bin/db-kit.cjs'), 'studio', '--package', 'teamd', '--port', String(port)],
      {
        cwd: ws.root,
        env: { ...process.env, ...env },
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const started = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 60_000);
        const watch = setInterval(() => {
          if (!/up and running|error/i.test(output)) return;
          clearInterval(watch);
          clearTimeout(timer);
          resolve(true);
        }, 100);
      });
      expect(started, output).toBe(true);
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGTERM'); // it ends by itself when the database is down
    }
    expect(output).not.toContain(PASSWORD);
    expect(output).not.toMatch(STACK_FRAME);
  });
});

describe('passwords that break a URL pattern are never printed, DEBUG=1 included', () => {
  let ws: FixtureWorkspace;
  let port: number;
  const commands: string[][] = [
    ['migrate', '--all'],
    ['status', '--json'],
    ['reset', '--yes'],
    ['push', '--package', 'teamd', '--yes'],
    ['seed', '--yes'],
    ['backup'],
    ['server', 'status'],
    ['server', 'up'],
  ];
  beforeAll(async () => {
    ws = fixtureWorkspace();
    port = await pickFreePort(45_500); // nothing listens there
  });
  afterAll(() => ws.remove());

  for (const password of ['pa/ss', 'two words', 'at@sign', 'q?mark#hash']) {
    it(`a password holding ${JSON.stringify(password)}`, () => {
      const env = {
        DATABASE_URL: `postgresql://app:${password}@127.0.0.1:${port}/large_event_db`,
        DEBUG: '1',
        DB_ENGINE: '',
      };
      for (const args of commands) {
        const run = ws.dbKit(args, env);
        const output = run.stdout + run.stderr;
        expect(output, args.join(' ')).not.toContain(password);
        if (args[1] !== 'status') expect(run.code, `${args.join(' ')}: ${output}`).toBe(2);
      }
    });
  }

  it('a DATABASE_URL that is not a URL is never echoed, and says what to write instead', () => {
    const value = 'host=db.internal user=app password=Hunter2-secret dbname=app';
    for (const args of commands) {
      const run = ws.dbKit(args, { DATABASE_URL: value, DEBUG: '1', DB_ENGINE: '' });
      const output = run.stdout + run.stderr;
      expect(output, args.join(' ')).not.toContain('Hunter2-secret');
      expect(output, args.join(' ')).not.toContain(value);
      if (args[0] !== 'server')
        expect(run.stderr, args.join(' ')).toMatch(/error: DATABASE_URL .* is not a usable postgresql:\/\/ URL/);
    }
  });
});
