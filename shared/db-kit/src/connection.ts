import { connect as netConnect } from 'node:net';
import postgres from 'postgres';
import { DbKitError, describeError } from './errors';
import { type DatabaseTarget, describeHost, driverOptions } from './target';
import { notThisCheckout, type ServerIdentity, verifyServer } from './server/identity';

export type Sql = postgres.Sql;

/** Seconds to wait for a server to connect and answer. */
export const CONNECT_TIMEOUT_S = 10;

/**
 * Opens a postgres.js client on the target and proves it works with one round trip, so a bad
 * target fails here with a one-line, password-free message instead of deep inside a command.
 * First it asks the server the one question every PostgreSQL answers with one byte (the SSL
 * request): something else on that port (an HTTP server, say) fails at once, where the driver
 * would wait forever for a message that never parses.
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
): Promise<Sql> {
  await probePostgres(target);
  const options = driverOptions(target);
  const sql = postgres({
    ...options,
    max,
    onnotice: () => {},
    connect_timeout: CONNECT_TIMEOUT_S,
    idle_timeout: 0,
    connection: { application_name: applicationName, ...options.connection },
  });
  try {
    await sql`select 1`;
    if (expected) await verifyServer(sql, target.url, expected);
  } catch (error) {
    await sql.end({ timeout: 0 }).catch(() => {});
    if (error instanceof DbKitError) throw error;
    // A password this checkout's server was made with, rejected: another checkout's server took the port.
    if ((error as { code?: string }).code === '28P01' && expected) throw notThisCheckout(target.url);
    throw cannotConnect(target, describeError(error));
  }
  return sql;
}

function cannotConnect(target: DatabaseTarget, reason: string, hint?: string): DbKitError {
  return new DbKitError(
    `Cannot connect to ${target.redacted} (${describeHost(target)}): ${reason}.`,
    hint ?? 'Start the database with ./scripts/db-workflow.sh start, or fix DATABASE_URL in .env.',
    'environment',
  );
}

/**
 * Sends PostgreSQL's SSLRequest and reads the first byte of the answer: `S` or `N` (or `E` from
 * a very old server) is PostgreSQL; anything else, or a peer that closes, is not.
 */
export function probePostgres(target: DatabaseTarget, timeoutMs = CONNECT_TIMEOUT_S * 1000): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = target.socket
      ? netConnect({ path: `${target.host}/.s.PGSQL.${target.port}` })
      : netConnect({ host: target.host, port: target.port });
    let settled = false;
    const finish = (error?: DbKitError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve();
    };
    const notPostgres = (what: string) =>
      cannotConnect(
        target,
        `${what}: that port is not a PostgreSQL server`,
        'Check the port in DATABASE_URL (PostgreSQL listens on 5432 unless told otherwise); ' +
          './scripts/db-workflow.sh status shows ours.',
      );
    const timer = setTimeout(
      () => finish(cannotConnect(target, `no answer within ${Math.round(timeoutMs / 1000)} s`)),
      timeoutMs,
    );
    socket.once('connect', () => socket.write(Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])));
    socket.once('data', (chunk: Buffer) => {
      const first = String.fromCharCode(chunk[0] ?? 0);
      if (first === 'S' || first === 'N' || first === 'E') finish();
      else finish(notPostgres(`it answered ${JSON.stringify(chunk.subarray(0, 12).toString('latin1'))}`));
    });
    socket.once('end', () => finish(notPostgres('it closed the connection')));
    socket.once('error', (error) => finish(cannotConnect(target, describeError(error))));
  });
}
