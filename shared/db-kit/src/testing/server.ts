import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { dockerEngineRunning } from '../server/compose';
import { EmbeddedServer, embeddedHome, startOnFreePort } from '../server/embedded';

/** The env var through which the global setup hands the test server's admin URL to every worker. */
export const TEST_SERVER_ENV = 'DB_KIT_TEST_SERVER_URL';

export interface TestServer {
  /** Admin URL (maintenance database) of a server tests may create databases on. */
  url: string;
  source: 'TEST_DATABASE_URL' | 'testcontainers' | 'embedded';
  stop(): Promise<void>;
}

/**
 * A PostgreSQL for the test run: TEST_DATABASE_URL if set, else a testcontainers postgres:15
 * where a Docker engine runs, else the embedded server (kept in .db/test-embedded between runs).
 */
export async function startTestServer(root: string): Promise<TestServer> {
  if (process.env.TEST_DATABASE_URL)
    return { url: process.env.TEST_DATABASE_URL, source: 'TEST_DATABASE_URL', stop: async () => {} };
  if (dockerEngineRunning()) {
    const { GenericContainer, Wait } = await import('testcontainers');
    const container = await new GenericContainer('postgres:15')
      .withEnvironment({ POSTGRES_USER: 'postgres', POSTGRES_PASSWORD: 'postgres', POSTGRES_DB: 'postgres' })
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
      .start();
    const url = `postgresql://postgres:postgres@${container.getHost()}:${container.getMappedPort(5432)}/postgres`;
    return { url, source: 'testcontainers', stop: async () => void (await container.stop()) };
  }
  const home = embeddedHome(join(root, '.db', 'test-embedded'));
  mkdirSync(home, { recursive: true });
  const probe = new EmbeddedServer({ home, port: 0, user: 'postgres', password: 'postgres' });
  const running = probe.runningPort();
  // Test databases are thrown away: durability costs time (CREATE DATABASE fsyncs every file it copies) and buys
  // nothing.
  const settings = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' };
  const serverOn = (port: number) =>
    new EmbeddedServer({ home, port, user: 'postgres', password: 'postgres', settings });
  const port = running ?? (await startOnFreePort((free) => serverOn(free).start(), 54400));
  const server = serverOn(port);
  return {
    url: `postgresql://postgres:postgres@127.0.0.1:${port}/postgres`,
    source: 'embedded',
    // A server that was already running belongs to another test run: leave it up.
    stop: async () => void (running ? undefined : server.stop()),
  };
}
