import postgres from 'postgres';
import { DbKitError, describeError } from './errors';
import { redact } from './env';
import { notThisCheckout, type ServerIdentity, verifyServer } from './server/identity';

export type Sql = postgres.Sql;

/**
 * Opens a postgres.js client and proves it works with one round trip, so a bad URL fails
 * here with a one-line, password-free message instead of deep inside a command.
 *
 * @example
 *   const sql = await connect(url, 'db-kit migrate');
 *   try { ... } finally { await sql.end(); }
 */
export async function connect(
  url: string,
  applicationName: string,
  max = 1,
  /** The checkout whose server `url` must reach (see server/identity.ts). */
  expected?: ServerIdentity,
): Promise<Sql> {
  let sql: Sql;
  try {
    sql = postgres(url, {
      max,
      onnotice: () => {},
      connect_timeout: 10,
      idle_timeout: 0,
      connection: { application_name: applicationName },
    });
  } catch (error) {
    throw new DbKitError(
      `DATABASE_URL is not a valid connection string (${redact(url)}): ${describeError(error)}.`,
      'Expected postgresql://user:password@host:port/database.',
    );
  }
  try {
    await sql`select 1`;
    if (expected) await verifyServer(sql, url, expected);
  } catch (error) {
    await sql.end({ timeout: 0 }).catch(() => {});
    if (error instanceof DbKitError) throw error;
    // A password this checkout's server was made with, rejected: another checkout's server took the port.
    if ((error as { code?: string }).code === '28P01' && expected) throw notThisCheckout(url);
    throw new DbKitError(
      `Cannot connect to ${redact(url)}: ${describeError(error)}.`,
      'Start the database with ./scripts/db-workflow.sh start, or fix DATABASE_URL in .env.',
    );
  }
  return sql;
}
