import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pickFreePort, portIsFree } from '../src/server/ports';
import { createTestDatabase, type TestDatabase } from '../src/testing';

const bin = join(__dirname, '..', 'bin', 'db-kit.cjs');
const STACK_FRAME = /\n\s+at /;

interface Studio {
  child: ChildProcess;
  output: () => string;
  /** Resolves when the studio said where to open it, or when it exited (with its code). */
  settled: Promise<number | 'ready'>;
}

function startStudio(args: string[], url: string): Studio {
  // Its own process group, so the drizzle-kit it starts ends with it.
  const child = spawn(process.execPath, [bin, 'studio', '--package', 'teamd', ...args], {
    env: { ...process.env, DATABASE_URL: url, DEBUG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const settled = new Promise<number | 'ready'>((resolve) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/Ctrl-C stops it/.test(output)) resolve('ready');
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('close', (code) => resolve(code ?? 1));
  });
  return { child, output: () => output, settled };
}

function stop(studio: Studio): void {
  if (studio.child.exitCode === null) process.kill(-studio.child.pid!, 'SIGTERM');
}

async function init(port: number) {
  return fetch(`http://127.0.0.1:${port}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"type":"init"}',
  }).then((r) => r.json() as Promise<{ dialect?: string; schemaFiles?: Array<{ content: string }> }>);
}

// drizzle-kit studio serves only an API locally; its UI is a web page from local.drizzle.studio,
// which cannot be loaded offline. So we prove the server answers with Team D's whole schema.
describe('teamd:db:studio', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ migrate: 'teamd', label: 'studio' });
  });
  afterAll(() => db.drop());

  it('serves the studio API over the shared and Team D schema files, and says where and how to open it', async () => {
    const port = await pickFreePort(4990);
    const studio = startStudio(['--port', String(port)], db.url);
    try {
      expect(await studio.settled, studio.output()).toBe('ready');
      const out = studio.output();
      expect(out).toContain(`Drizzle Studio API for the shared + teamd tables: 127.0.0.1:${port}`);
      expect(out).toContain(`Open https://local.drizzle.studio/?port=${port} in a browser`);
      expect(out).toContain('with internet access');
      expect(out).not.toMatch(/up and running/);
      const answer = await init(port);
      expect(answer.dialect).toBe('postgresql');
      const files = answer.schemaFiles!.map((f) => f.content).join('\n');
      expect(files).toContain("from './users'");
      expect(files).toContain("from './team-specific-tables'");
    } finally {
      stop(studio);
    }
  });

  it('a second studio: on a free port when none is asked for; a taken --port is refused with where the other runs', async () => {
    // Something on 4983, as a first studio would be (ours, unless another program already holds it).
    let squatter: Server | undefined;
    if (await portIsFree(4983))
      squatter = await new Promise<Server>((resolve) => {
        const server = createServer();
        server.listen(4983, '127.0.0.1', () => resolve(server));
      });
    const second = startStudio([], db.url);
    try {
      expect(await second.settled, second.output()).toBe('ready');
      const out = second.output();
      expect(out).toMatch(/Port 4983 is taken \(another studio runs there\?\): this one uses (\d+)\./);
      const port = Number(/this one uses (\d+)/.exec(out)![1]);
      expect((await init(port)).dialect).toBe('postgresql');

      const third = startStudio(['--port', String(port)], db.url);
      expect(await third.settled).toBe(2);
      expect(third.output()).toContain(`error: Port ${port} is taken: another studio, or another program`);
      expect(third.output()).toContain(`next: If it is a studio, open https://local.drizzle.studio/?port=${port}`);
      expect(third.output()).not.toMatch(/EADDRINUSE|up and running/);
      expect(third.output()).not.toMatch(STACK_FRAME);
    } finally {
      stop(second);
      squatter?.close();
    }
  });

  it('with the database down it says so and exits 2, never "up and running"', async () => {
    const port = await pickFreePort(45_200);
    const studio = startStudio(['--port', String(await pickFreePort(4995))], `postgresql://u:p@127.0.0.1:${port}/x`);
    try {
      expect(await studio.settled).toBe(2);
      expect(studio.output()).toMatch(/^error: Cannot connect to .*connection refused/m);
      expect(studio.output()).not.toMatch(/up and running|Open https/);
    } finally {
      stop(studio);
    }
  });
});
