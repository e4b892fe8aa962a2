import { randomBytes } from '../crypto';
import { realpathSync } from 'node:fs';
import type postgres from 'postgres';
import { redact } from '../env';
import { DbKitError, describeError } from '../errors';
import { literal, quoteIdent } from '../sql-text';
import { connectionUrl, describeHost, driverOptions, parseDatabaseTarget, withDatabase, withPassword } from '../target';
import { readState } from './state';

// The driver's type, not connection.ts's alias: connection.ts imports this module.
type Sql = postgres.Sql;

/**
 * What makes a server setup started recognisably this checkout's: a random id kept in
 * .db/server.json and set on the server's login role (`db_kit.checkout`, with the checkout's
 * path in `db_kit.checkout_path`), next to a password setup generated for this checkout alone.
 * A stopped checkout's .env keeps its port; if another checkout's server takes that port, every
 * command of the first one refuses instead of working on the other's database.
 */
export interface ServerIdentity {
  checkout: string;
  root: string;
}

/**
 * When `url` is the URL setup wrote for this checkout's server, the identity every connection
 * must find behind it (Context.withConnection hands it to connect()).
 */
export function checkoutIdentity(root: string, url: string): ServerIdentity | undefined {
  const state = readState(root);
  return state?.checkout && state.url === url ? { checkout: state.checkout, root } : undefined;
}

/** A password for one checkout's server (URL-safe, so it needs no encoding in .env). */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

/** Refuses, with the reason, when `sql` (connected to `url`) reached a server other than `want`'s. */
export async function verifyServer(sql: Sql, url: string, want: ServerIdentity): Promise<void> {
  // One simple-protocol message, no statement to prepare: it is the session's first query.
  const [row] = (await sql
    .unsafe(
      `select current_setting('db_kit.checkout', true) as checkout, ` +
        `current_setting('db_kit.checkout_path', true) as path`,
    )
    .simple()) as unknown as { checkout: string | null; path: string | null }[];
  if (row?.checkout !== want.checkout) throw notThisCheckout(url, row?.path || undefined);
}

/** The refusal for a server that is not this checkout's (found by its marker, or by a rejected password). */
export function notThisCheckout(url: string, otherRoot?: string): DbKitError {
  return new DbKitError(
    `The server on ${describeHost(parseDatabaseTarget(url, { source: 'setup', env: {} }))} is not the one setup started for this checkout` +
      `${otherRoot ? ` (setup started it for ${otherRoot})` : ''}: this checkout's server is stopped and ` +
      'another took its port. Nothing was done.',
    "Run ./scripts/db-workflow.sh start: it starts this checkout's server on a free port and updates .env.",
  );
}

/**
 * Marks the server behind `url` (one setup runs) as this checkout's. With `dataDir`, first proves
 * it is that data folder's server; with `newPassword`, replaces the login's password (a server
 * set up before passwords were generated per checkout). Returns the URL to use from now on.
 */
export async function claimServer(
  url: string,
  identity: ServerIdentity,
  options: { dataDir?: string; newPassword?: string } = {},
): Promise<string> {
  const target = parseDatabaseTarget(url, { source: 'setup', env: {} });
  const admin = withDatabase(target, 'postgres');
  // Loaded here: connection.ts imports this module, and loads the driver itself, after its probe is under way.
  const { default: postgres } = await import('postgres');
  const sql = postgres({ ...driverOptions(admin), max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    if (options.dataDir) {
      const [row] = await sql<{ dir: string }[]>`select current_setting('data_directory') as dir`;
      if (realpath(row!.dir) !== realpath(options.dataDir))
        throw new DbKitError(
          `The server on port ${admin.port} is not this checkout's (its data is in ${row!.dir}).`,
          'Stop that server, or run ./scripts/db-workflow.sh setup again to pick another port.',
        );
    }
    const role = quoteIdent(target.user);
    await sql.unsafe(`alter role ${role} set db_kit.checkout = ${literal(identity.checkout)}`);
    await sql.unsafe(`alter role ${role} set db_kit.checkout_path = ${literal(identity.root)}`);
    if (options.newPassword) {
      await sql.unsafe(`alter role ${role} password ${literal(options.newPassword)}`);
      return connectionUrl(withPassword(target, options.newPassword));
    }
    return url;
  } catch (error) {
    if (error instanceof DbKitError) throw error;
    throw new DbKitError(
      `Cannot prepare ${redact(url)}: ${describeError(error)}.`,
      'See ./scripts/db-workflow.sh logs, then run setup again.',
    );
  } finally {
    await sql.end({ timeout: 0 });
  }
}

function realpath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
