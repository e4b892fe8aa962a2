import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseEngine } from '../src/server';
import { pickFreePort } from '../src/server/ports';
import type { FixtureWorkspace } from '../src/testing';
import { Workspace } from '../src/workspace';
import { fixtureWorkspace } from './helpers';

describe('where the database comes from', () => {
  const noDocker = () => false;
  const docker = () => true;
  const state = {
    engine: 'embedded' as const,
    port: 54329,
    url: 'postgresql://postgres:x@127.0.0.1:54329/large_event_db',
  };

  it('uses a DATABASE_URL you gave, from the environment or .env, before anything else', () => {
    expect(chooseEngine({ environmentUrl: 'postgresql://a@h/db', dockerRunning: docker })).toBe('url');
    expect(chooseEngine({ userDotenvUrl: 'postgresql://a@h/db', state, dockerRunning: docker })).toBe('url');
  });

  it('keeps the server an earlier setup chose', () => {
    expect(chooseEngine({ state, dockerRunning: docker })).toBe('embedded');
  });

  it('prefers docker compose where a Docker engine runs, else the embedded server', () => {
    expect(chooseEngine({ dockerRunning: docker })).toBe('compose');
    expect(chooseEngine({ dockerRunning: noDocker })).toBe('embedded');
  });

  it('honours DB_ENGINE and rejects a wrong value', () => {
    expect(chooseEngine({ forced: 'embedded', environmentUrl: 'postgresql://a@h/db', dockerRunning: docker })).toBe(
      'embedded',
    );
    expect(() => chooseEngine({ forced: 'sqlite', dockerRunning: docker })).toThrow(
      /DB_ENGINE must be url, compose or embedded/,
    );
  });
});

describe('server up on a machine without Docker', () => {
  let ws: FixtureWorkspace;
  let squatter: Server | undefined;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    ws = fixtureWorkspace();
    // A `docker` client whose engine does not answer, as on this machine and many laptops.
    const bin = mkdtempSync(join(tmpdir(), 'no-docker-'));
    writeFileSync(join(bin, 'docker'), '#!/bin/sh\necho "Cannot connect to the Docker daemon" >&2\nexit 1\n');
    chmodSync(join(bin, 'docker'), 0o755);
    env = { PATH: `${bin}${delimiter}${process.env.PATH}`, DATABASE_URL: '', DB_ENGINE: '' };
    // Someone else's server on our preferred port: setup must move aside, not connect to it.
    squatter = await new Promise<Server | undefined>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(undefined)); // already taken by another server: same situation
      server.listen(54329, '127.0.0.1', () => resolve(server));
    });
  });

  afterAll(async () => {
    ws.dbKit(['server', 'stop'], env);
    squatter?.close();
    ws.remove();
  });

  it('starts the embedded PostgreSQL on a free port, writes .env, and the database answers', async () => {
    const run = ws.dbKit(['server', 'up', '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    const info = JSON.parse(run.stdout);
    expect(info.engine).toBe('embedded');
    expect(info.url).not.toContain(':postgres@'); // redacted on screen
    const dotenv = readFileSync(ws.path('.env'), 'utf8');
    const url = /^DATABASE_URL=(.*)$/m.exec(dotenv)![1]!;
    const port = Number(new URL(url).port);
    expect(port).not.toBe(5432);
    expect(port).not.toBe(54329);
    const sql = postgres(url, { max: 1 });
    try {
      const [row] = await sql`select current_database() as db, current_setting('server_version_num')::int as version`;
      expect(row).toEqual({ db: 'large_event_db', version: expect.any(Number) });
    } finally {
      await sql.end();
    }
  });

  it('is safe to run again: same server, same .env, migrations not re-run', () => {
    const dotenv = readFileSync(ws.path('.env'), 'utf8');
    const first = ws.dbKit(['migrate', '--all'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/Applied 2 migrations/);
    const again = ws.dbKit(['server', 'up'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/Starting/);
    expect(readFileSync(ws.path('.env'), 'utf8')).toBe(dotenv);
    expect(ws.dbKit(['migrate', '--all'], env).stdout).toMatch(/Nothing to migrate/);
  });

  it('status and stop manage only the server setup started', () => {
    expect(ws.dbKit(['server', 'status'], env).stdout).toMatch(/embedded PostgreSQL on port \d+: running/);
    expect(ws.dbKit(['server', 'stop'], env).stdout).toMatch(/Stopped the embedded PostgreSQL/);
    const after = ws.dbKit(['server', 'status'], env);
    expect(after.stdout).toMatch(/stopped/);
    expect(after.code).toBe(1);
  });

  it('db-workflow.sh status exits non-zero while the server is stopped, naming the next step', () => {
    ws.write('scripts/db-workflow.sh', readFileSync(join(Workspace.find().root, 'scripts', 'db-workflow.sh'), 'utf8'));
    const run = ws.exec('bash', ['scripts/db-workflow.sh', 'status'], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/stopped/);
    expect(run.stderr).toContain('next: ./scripts/db-workflow.sh start');
  });

  it('db-workflow.sh status exits non-zero when your DATABASE_URL does not answer', async () => {
    const port = await pickFreePort(45_100);
    const run = ws.exec('bash', ['scripts/db-workflow.sh', 'status'], {
      ...env,
      DATABASE_URL: `postgresql://me:secret@127.0.0.1:${port}/app`,
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/connection refused/);
    expect(run.stderr).toMatch(/next: start that server, or fix DATABASE_URL/);
    expect(run.stdout + run.stderr).not.toContain('secret');
  });
});
