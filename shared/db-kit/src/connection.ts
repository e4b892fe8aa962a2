import postgres from 'postgres';
import { DbKitError, describeError } from './errors';
import { redact } from './env';

export type Sql = postgres.Sql;

/**
 * Opens a postgres.js client and proves it works with one round trip, so a bad URL fails
 * here with a one-line, password-free message instead of deep inside a command.
 *
 * @example
 *   const sql = await connect(url, 'db-kit migrate');
 *   try { ... } finally { await sql.end(); }
 */
export async function connect(url: string, applicationName: string, max = 1): Promise<Sql> {
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
  } catch (error) {
    await sql.end({ timeout: 0 }).catch(() => {});
    throw new DbKitError(
      `Cannot connect to ${redact(url)}: ${describeError(error)}.`,
      'Start the database with ./scripts/db-workflow.sh start, or fix DATABASE_URL in .env.',
    );
  }
  return sql;
}
