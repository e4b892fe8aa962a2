import { createServer as createHttpServer, type Server } from 'node:http';
import { connect as netConnect, createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redact } from '../src/env';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import { connectionUrl, driverOptions, libpqEnv, parseDatabaseTarget, passwordOf } from '../src/target';
import { fixtureWorkspace, query, snapshotRows } from './helpers';

const NO_PG_ENV = { PGHOST: undefined, PGPORT: undefined, PGUSER: undefined, PGDATABASE: undefined };

describe('parseDatabaseTarget: the one reading of DATABASE_URL', () => {
  const parse = (url: string, env: NodeJS.ProcessEnv = {}) => parseDatabaseTarget(url, { env: { USER: 'me', ...env } });

  it('a host-less URL is $PGHOST and $PGPORT, as the driver would connect', () => {
    const target = parse('postgres:///app_prod', { PGHOST: 'db.prod.internal', PGPORT: '6432' });
    expect([target.host, target.port, target.database, target.hostFrom]).toEqual([
      'db.prod.internal',
      6432,
      'app_prod',
      'PGHOST',
    ]);
    expect(target.local).toBe(false);
    expect(target.redacted).toBe('postgresql://me@db.prod.internal:6432/app_prod');
  });

  it('a host-less URL without $PGHOST is localhost, which is local', () => {
    const target = parse('postgres:///app');
    expect([target.host, target.port, target.local]).toEqual(['localhost', 5432, true]);
  });

  it('?host= wins over the authority, for the guard and for the driver alike', () => {
    const target = parse('postgresql://u:pw@localhost/app?host=db.prod.internal&port=7000');
    expect([target.host, target.port, target.local, target.hostFrom]).toEqual([
      'db.prod.internal',
      7000,
      false,
      'host parameter',
    ]);
    const options = driverOptions(target) as { host: unknown; port: unknown; connection: object };
    expect(options.host).toEqual(['db.prod.internal']);
    expect(options.port).toEqual([7000]);
    expect(options.connection).toEqual({}); // host and port are not passed on as server settings
  });

  it('a socket directory, in ?host= or percent-encoded in the authority, is a socket', () => {
    for (const url of ['postgresql:///app?host=/var/run/postgresql', 'postgresql://%2Fvar%2Frun%2Fpostgresql/app']) {
      const target = parse(url);
      expect([target.host, target.socket, target.local], url).toEqual(['/var/run/postgresql', true, true]);
      expect((driverOptions(target) as { path?: string }).path).toBe('/var/run/postgresql/.s.PGSQL.5432');
    }
    expect(parse('postgresql:///app?host=/tmp', { DB_KIT_LOCAL_HOSTS: 'none' }).local).toBe(false);
  });

  it('[::1] is an IPv6 host, handed to the driver without brackets', () => {
    const target = parse('postgresql://u@[::1]:5433/app');
    expect([target.host, target.port, target.local]).toEqual(['::1', 5433, true]);
    expect((driverOptions(target) as { host: unknown }).host).toEqual(['::1']);
    expect(target.redacted).toBe('postgresql://u@[::1]:5433/app');
  });

  it('the user information runs to the last @: a password may hold /, space and @', () => {
    const target = parse('postgresql://app:pa/ss w@rd@db.internal:5432/app');
    expect([target.user, passwordOf(target), target.host, target.database]).toEqual([
      'app',
      'pa/ss w@rd',
      'db.internal',
      'app',
    ]);
    expect(JSON.stringify(target)).not.toContain('pa/ss');
    expect(libpqEnv(target, {}).PGPASSWORD).toBe('pa/ss w@rd');
    expect(parseDatabaseTarget(connectionUrl(target), { env: {} })).toMatchObject({
      host: 'db.internal',
      user: 'app',
      database: 'app',
    });
  });

  it('refuses a value that is not a URL, a bad port or several hosts, without echoing the value', () => {
    for (const url of [
      'host=db user=app password=hunter2secret',
      'postgresql://u:hunter2secret@db:99999/app',
      'postgresql://u:hunter2secret@db1,db2/app',
    ]) {
      let message = '';
      try {
        parse(url);
      } catch (error) {
        message = (error as Error).message + String((error as { hint?: string }).hint);
      }
      expect(message, url).toMatch(/DATABASE_URL \(from the environment\) is not a usable postgresql:\/\/ URL/);
      expect(message, url).not.toContain('hunter2secret');
    }
  });

  it('redact hides everything between :// and the last @, and what the parser saw', () => {
    expect(redact('at postgresql://app:pa/ss@db/app now')).toBe('at postgresql://app:***@db/app now');
    expect(redact('at postgresql://app:p@ss@db/app now')).toBe('at postgresql://app:***@db/app now');
    parse('postgresql://app:two words@db/app');
    expect(redact('url postgresql://app:two words@db/app')).not.toContain('two words');
    try {
      parse('not a url but secret-ish');
    } catch {}
    expect(redact('value: not a url but secret-ish.')).toBe('value: ***.');
  });
});

describe('the guard judges, and the driver connects to, the same host', () => {
  let ws: FixtureWorkspace;
  let db: TestDatabase;
  let host: string;
  let port: string;
  /** `user:password@` of the test server, for URLs built by hand. */
  let auth: string;
  beforeAll(async () => {
    ws = fixtureWorkspace();
    db = await createTestDatabase({ migrate: 'teamd', label: 'target' });
    await query(db.url, `insert into users (email) values ('ada@example.com')`);
    const parsed = new URL(db.url);
    ({ hostname: host, port } = parsed);
    port ||= '5432';
    auth = `${parsed.username}${parsed.password ? `:${parsed.password}` : ''}@`;
  });
  afterAll(async () => {
    await db.drop();
    ws.remove();
  });

  it('reset on a host-less URL whose $PGHOST is not local refuses, names that host, and keeps the rows', async () => {
    // 127.0.0.2 is not a local host to the guard, yet reaches the test server through a relay.
    const relay = await startRelay('127.0.0.2', host, Number(port));
    if (!relay) return; // no 127.0.0.2 on this machine
    try {
      const before = await snapshotRows(db.url);
      const run = await ws.dbKitAsync(['reset', '--yes', '--no-backup'], {
        DATABASE_URL: `postgres:///${db.name}`,
        PGHOST: '127.0.0.2',
        PGPORT: String(relay.port),
        PGUSER: 'postgres',
        DB_KIT_LOCAL_HOSTS: undefined,
      });
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stderr).toContain(
        `Refusing to drop and rebuild every table on postgresql://postgres@127.0.0.2:${relay.port}/${db.name}`,
      );
      expect(run.stderr).toContain(`127.0.0.2:${relay.port} (from PGHOST) is not a local development database`);
      expect(await snapshotRows(db.url)).toEqual(before);
    } finally {
      relay.close();
    }
  });

  it('a ?host= parameter is where the driver connects, not the authority', () => {
    const run = ws.dbKit(['status', '--json'], {
      ...NO_PG_ENV,
      DATABASE_URL: `postgresql://${auth}nowhere.invalid:${port}/${db.name}?host=${host}`,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).database).toBe(`postgresql://postgres@${host}:${port}/${db.name}`);
  });

  it('a ?host= naming a remote host is refused though the authority says localhost', async () => {
    const before = await snapshotRows(db.url);
    const run = ws.dbKit(['reset', '--yes', '--no-backup'], {
      DATABASE_URL: `postgresql://${auth}localhost:${port}/${db.name}?host=${host}`,
      DB_KIT_LOCAL_HOSTS: 'localhost',
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${host}:${port} (from host parameter) is not a local development database`);
    expect(await snapshotRows(db.url)).toEqual(before);
  });

  it('an [::1] URL connects', async () => {
    // The test server may listen on IPv4 only: a relay on [::1] in front of it is the same server.
    const relay = await startRelay('::1', host, Number(port));
    if (!relay) return; // no IPv6 loopback on this machine
    try {
      const relayPort = relay.port;
      const run = await ws.dbKitAsync(['status', '--json'], {
        ...NO_PG_ENV,
        DATABASE_URL: `postgresql://${auth}[::1]:${relayPort}/${db.name}`,
      });
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout).database).toBe(`postgresql://postgres@[::1]:${relayPort}/${db.name}`);
    } finally {
      relay.close();
    }
  });

  it('a Unix socket URL is judged local and connects through the socket', () => {
    const socketDir = '/var/run/postgresql';
    const run = ws.dbKit(['status', '--json'], {
      ...NO_PG_ENV,
      DATABASE_URL: `postgresql://postgres@/${db.name}?host=${socketDir}&port=${port}`,
    });
    if (/ENOENT|No such file/.test(run.stderr)) return; // the test server has no socket there
    expect(run.code, run.stderr).toBe(0);
    const refused = ws.dbKit(['reset', '--yes'], {
      DATABASE_URL: `postgresql://postgres@/${db.name}?host=${socketDir}&port=${port}`,
      DB_KIT_LOCAL_HOSTS: 'none',
    });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`socket ${socketDir}/.s.PGSQL.${port} (from host parameter) is not a local`);
  });
});

describe('a DATABASE_URL on a port that is not PostgreSQL', () => {
  let ws: FixtureWorkspace;
  let http: Server;
  let port: number;
  beforeAll(async () => {
    ws = fixtureWorkspace();
    http = createHttpServer((_, response) => response.end('hello'));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    port = (http.address() as AddressInfo).port;
  });
  afterAll(() => {
    http.close();
    ws.remove();
  });

  it('fails at once with one line that says so, and a hint', async () => {
    const run = await ws.dbKitAsync(['status'], { DATABASE_URL: `postgresql://u:pw1234@127.0.0.1:${port}/app` });
    expect(run.code).toBe(2);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/not a PostgreSQL server/);
    expect(lines[1]).toMatch(/next: .*port/);
  }, 30_000);
});

/** A TCP relay listening on `listenHost` in front of a server: the same PostgreSQL under another address. */
async function startRelay(
  listenHost: string,
  host: string,
  port: number,
): Promise<{ port: number; close: () => void } | undefined> {
  const relay = createServer((client) => {
    const upstream = netConnect({ host, port });
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  const listening = await new Promise<boolean>((resolve) => {
    relay.once('error', () => resolve(false));
    relay.listen(0, listenHost, () => resolve(true));
  });
  if (!listening) return undefined;
  return { port: (relay.address() as AddressInfo).port, close: () => relay.close() };
}
