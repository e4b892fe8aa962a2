import type { Socket } from 'node:net';
import type postgres from 'postgres';
import { DbKitError, describeError, isConnectionLost } from './errors';
import { adoptEarlySession, CONNECT_TIMEOUT_S, cannotConnect, probePostgres } from './probe';
import { type DatabaseTarget, driverOptions } from './target';
import { notThisCheckout, type ServerIdentity, verifyServer } from './server/identity';

export type Sql = postgres.Sql;

/**
 * `fn` in one transaction on `conn`: BEGIN, fn, COMMIT, and ROLLBACK when it fails. Not sql.begin: on a session
 * that is gone nothing more is sent (postgres.js writing ROLLBACK to a dropped socket crashes with a TypeError
 * outside any promise); the server rolls such a transaction back by itself.
 */
export async function transaction<T>(conn: postgres.ReservedSql, fn: (tx: postgres.ReservedSql) => Promise<T>) {
  await conn.unsafe('begin');
  try {
    const result = await fn(conn);
    await conn.unsafe('commit');
    return result;
  } catch (error) {
    if (!isConnectionLost(error)) await conn.unsafe('rollback').catch(() => {});
    throw error;
  }
}

/** `transaction` on a session reserved from `sql` for it. */
export async function inTransaction<T>(sql: Sql, fn: (tx: postgres.ReservedSql) => Promise<T>): Promise<T> {
  const conn = await sql.reserve();
  try {
    return await transaction(conn, fn);
  } finally {
    conn.release();
  }
}

/**
 * Opens a postgres.js client on the target and proves it works with one round trip, so a bad
 * target fails here with a one-line, password-free message instead of deep inside a command.
 * First it asks the server the one question every PostgreSQL answers with one byte (the SSL
 * request): something else on that port (an HTTP server, say) fails at once, where the driver
 * would wait forever for a message that never parses. Without TLS the driver then starts its
 * session on that same socket (after an "N" the server waits for the startup message, as libpq's
 * sslmode=prefer relies on), so the server starts one backend per connection, not two.
 *
 * @example
 *   const sql = await connect(target, 'db-kit migrate');
 *   try { ... } finally { await sql.end(); }
 */
export async function connect(
  target: DatabaseTarget,
  applicationName: string,
  max = 1,
  /** The checkout whose server the target must reach (see server/identity.ts). */
  expected?: ServerIdentity,
  settings: ConnectSettings = {},
): Promise<Sql> {
  const options = driverOptions(target);
  const plain = !options.ssl && !process.env.PGSSL;
  // The probe's connection (and the server's new backend) gets under way while the driver loads (~5 ms); the
  // launcher may have opened it already, before the CLI itself loaded (see preconnect.ts).
  const probing =
    adoptEarlySession(target, plain, applicationName) ?? probePostgres(target, CONNECT_TIMEOUT_S * 1000, plain);
  probing.catch(() => {});
  const { default: postgres } = await import('postgres');
  let probed = await probing;
  // Decided now: the driver may take the probed socket (and clear `probed`) as soon as the first query is made.
  const onProbedSocket = probed !== undefined;
  const sql = postgres({
    ...options,
    max,
    onnotice: () => {},
    connect_timeout: CONNECT_TIMEOUT_S,
    idle_timeout: 0,
    ...(settings.arrayTypes === false ? { fetch_types: false } : {}),
    // The probed socket for the first connection; every later one (a pool's second, a reconnect) is probed too.
    ...(probed
      ? {
          socket: async () => {
            const first = probed;
            const socket = first ?? (await probePostgres(target, CONNECT_TIMEOUT_S * 1000, true));
            probed = undefined;
            if (!socket) throw cannotConnect(target, 'the server now asks for TLS on a connection made without it');
            if (first && settings.meanwhile) afterFirstWrite(socket, settings.meanwhile);
            return socket;
          },
        }
      : {}),
    connection: { application_name: applicationName, ...options.connection },
  });
  try {
    // The identity check is the proof when there is one: one round trip either way.
    const proof = expected ? verifyServer(sql, target.url, expected) : sql.unsafe('select 1').simple().execute();
    // On the probed socket, `meanwhile` runs once the startup message is written (see the socket above); on a
    // connection the driver makes itself (TLS), two loop turns from now.
    if (settings.meanwhile && !onProbedSocket) setImmediate(() => setImmediate(settings.meanwhile!));
    await proof;
  } catch (error) {
    await sql.end({ timeout: 0 }).catch(() => {});
    if (error instanceof DbKitError) throw error;
    // A password this checkout's server was made with, rejected: another checkout's server took the port.
    if ((error as { code?: string }).code === '28P01' && expected) throw notThisCheckout(target.url);
    throw cannotConnect(target, describeError(error));
  }
  return sql;
}

/**
 * Runs `fn` just after the driver's first write on `socket`, its startup message: the server starts the session
 * while `fn` works. Scheduled by loop turns instead, `fn` could run before the driver wrote (it writes from a promise
 * chain and a setImmediate of its own), and the server would wait for `fn`.
 */
function afterFirstWrite(socket: Socket, fn: () => void): void {
  const write = socket.write;
  socket.write = function (this: Socket, ...args: Parameters<Socket['write']>) {
    socket.write = write;
    const written = write.apply(this, args);
    setImmediate(fn);
    return written;
  } as Socket['write'];
}

export interface ConnectSettings {
  /**
   * false: skip the driver's lookup of array types, a round trip and ~7 KB of rows at every
   * connect. Queries on such a connection must neither send nor read arrays (a JS array parameter
   * would not serialise): the no-op migrate's path, whose few queries spell their lists as literals.
   */
  arrayTypes?: boolean;
  /**
   * Work that needs no database, run while the server starts the session (its backend authenticates and
   * loads its caches, and this process would only wait). It must not throw, and the caller must not rely
   * on it having run: it may finish after fn started.
   */
  meanwhile?: () => void;
}
