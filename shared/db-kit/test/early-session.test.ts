import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECTION_NAMES } from '../src/connection-names';
import { startupMessage } from '../src/probe';
import { driverOptions, parseDatabaseTarget } from '../src/target';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import { fixtureWorkspace } from './helpers';

// The launcher starts migrate's and status's session before the CLI loads (preconnect.ts): the command must take
// that session over, not open a second one, and the StartupMessage it sent must be the driver's own, byte for byte.

/** A TCP proxy in front of the test database that counts the connections made through it. */
async function countingProxy(url: string): Promise<{ url: string; connections: () => number; close(): void }> {
  const target = parseDatabaseTarget(url, { source: 'environment', env: {} });
  let connections = 0;
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    connections++;
    const upstream = netConnect({ host: target.host, port: target.port });
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => open.delete(socket));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxied = new URL(url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String((server.address() as AddressInfo).port);
  return {
    url: proxied.toString(),
    connections: () => connections,
    close: () => {
      for (const socket of open) socket.destroy();
      server.close();
    },
  };
}

describe('the launcher starts the session early', () => {
  let ws: FixtureWorkspace;
  let db: TestDatabase;
  beforeAll(async () => {
    ws = fixtureWorkspace();
    db = await createTestDatabase({ migrate: 'shared', label: 'early_session' });
  });
  afterAll(async () => {
    await db.drop();
    ws.remove();
  });

  for (const args of [
    ['migrate', '--package', 'shared'],
    ['status', '--package', 'shared'],
  ]) {
    it(`${args[0]}: one connection, the launcher's, taken over by the command`, async () => {
      const proxy = await countingProxy(db.url);
      try {
        const run = await ws.dbKitAsync(args, { DATABASE_URL: proxy.url });
        expect(run.code, run.stderr).toBe(0);
        expect(run.stdout).toMatch(args[0] === 'migrate' ? /Nothing to migrate/ : /up to date/);
        expect(proxy.connections()).toBe(1);
      } finally {
        proxy.close();
      }
    });
  }
});

describe('startupMessage', () => {
  it("is the driver's own StartupMessage for the same settings, URL parameters included", async () => {
    let received: Buffer | undefined;
    const server = createServer((socket) => {
      socket.once('data', (chunk) => {
        received = chunk;
        socket.destroy();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const target = parseDatabaseTarget(
      `postgresql://someone:secret@127.0.0.1:${port}/somedb?options=-c%20search_path%3Dx&sslmode=disable`,
      { source: 'environment', env: {} },
    );
    const name = CONNECTION_NAMES.migrate();
    // As connect() builds its client (connection.ts).
    const options = driverOptions(target);
    const sql = postgres({
      ...options,
      max: 1,
      connect_timeout: 2,
      onnotice: () => {},
      connection: { application_name: name, ...options.connection },
    });
    const query = sql`select 1`.execute();
    query.catch(() => {});
    try {
      for (let i = 0; i < 200 && !received; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    } finally {
      await sql.end({ timeout: 0 });
      server.close();
    }
    expect(received).toBeDefined();
    expect(received!.toString('latin1')).toContain('search_path');
    expect(startupMessage(target, name).equals(received!)).toBe(true);
  });
});
