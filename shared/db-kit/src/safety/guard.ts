import { redact } from '../env';
import { DbKitError } from '../errors';
import { readState } from '../server';

/** Hosts that count as a development database unless DB_KIT_LOCAL_HOSTS says otherwise. */
export const DEFAULT_LOCAL_HOSTS = ['localhost', '127.0.0.1', '::1'];

export interface DatabaseTarget {
  url: string;
  host: string;
  port: string;
  database: string;
  /** True when the URL points at this machine (or a host listed in DB_KIT_LOCAL_HOSTS). */
  local: boolean;
}

/**
 * Where a connection string points, and whether that is a local development database.
 * DB_KIT_LOCAL_HOSTS (comma-separated) replaces the default list: add a team dev VM to it,
 * or set it to `none` to have every host treated as remote (what the guard tests do).
 *
 * @example
 *   describeTarget('postgresql://u:p@db.prod.internal/app', root).local; // false
 */
export function describeTarget(url: string, root: string): DatabaseTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DbKitError(
      `DATABASE_URL is not a valid connection string (${redact(url)}).`,
      'Expected postgresql://user:password@host:port/database.',
    );
  }
  // A host= query parameter (libpq style) wins over the URL's host part: judge the host actually used.
  const host = (parsed.searchParams.get('host') ?? parsed.hostname).replace(/^\[|\]$/g, '').toLowerCase();
  const port = parsed.port || '5432';
  const database = decodeURIComponent(parsed.pathname.slice(1)) || decodeURIComponent(parsed.username) || 'postgres';
  return { url, host, port, database, local: isLocalHost(host, port, root) };
}

function isLocalHost(host: string, port: string, root: string): boolean {
  const configured = process.env.DB_KIT_LOCAL_HOSTS;
  const hosts =
    configured === undefined
      ? DEFAULT_LOCAL_HOSTS
      : configured
          .split(',')
          .map((h) => h.trim().toLowerCase())
          .filter((h) => h && h !== 'none');
  if (configured === undefined) {
    if (host === '' || host.startsWith('/')) return true; // default host or a Unix socket: this machine
    const started = readState(root);
    if (started) {
      const ours = new URL(started.url);
      if (ours.hostname === host && (ours.port || '5432') === port) return true;
    }
  }
  return hosts.includes(host);
}

export interface GuardOptions {
  /** What would happen, for the message: `reset drops every table`. */
  action: string;
  force?: boolean;
}

/**
 * Refuses to touch a database that is not local, before connecting to it, unless --force.
 * Returns the target so the caller can ask for the database name when it is remote.
 */
export function assertDevelopmentDatabase(url: string, root: string, options: GuardOptions): DatabaseTarget {
  const target = describeTarget(url, root);
  if (!target.local && !options.force) {
    throw new DbKitError(
      `Refusing to ${options.action} on ${redact(url)}: host "${target.host}" is not a local development database.`,
      'Point DATABASE_URL at your local database (./scripts/db-workflow.sh setup), or pass --force if you really mean that server.',
    );
  }
  return target;
}
