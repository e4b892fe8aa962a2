import { readDotenv, redact } from './env';
import { DbKitError } from './errors';
import { readState } from './server/state';

/** Hosts that count as a development database unless DB_KIT_LOCAL_HOSTS says otherwise. */
export const DEFAULT_LOCAL_HOSTS = ['localhost', '127.0.0.1', '::1'];

/** Where DATABASE_URL came from: the environment wins over `.env` at the repository root. */
export type UrlSource = 'environment' | '.env';

/** The database a run talks to: DATABASE_URL parsed once, for every command and guard. */
export interface DatabaseTarget {
  url: string;
  /** The URL with its password hidden: the only form that is ever printed. */
  redacted: string;
  host: string;
  port: string;
  database: string;
  source: UrlSource;
  /** True when the URL points at this machine (or a host listed in DB_KIT_LOCAL_HOSTS). */
  local: boolean;
}

/** DATABASE_URL and where it came from, or undefined when neither the environment nor .env sets it. */
export function findDatabaseUrl(
  root: string,
  env: NodeJS.ProcessEnv = process.env,
): { url: string; source: UrlSource } | undefined {
  if (env.DATABASE_URL) return { url: env.DATABASE_URL, source: 'environment' };
  const url = readDotenv(root).DATABASE_URL;
  return url ? { url, source: '.env' } : undefined;
}

/**
 * Where a connection string points, and whether that is a local development database.
 * DB_KIT_LOCAL_HOSTS (comma-separated) replaces the default list: add a team dev VM to it,
 * or set it to `none` to have every host treated as remote (what the guard tests do).
 *
 * @example
 *   parseDatabaseTarget('postgresql://u:p@db.prod.internal/app', { root }).local; // false
 */
export function parseDatabaseTarget(
  url: string,
  options: { root: string; source?: UrlSource; env?: NodeJS.ProcessEnv },
): DatabaseTarget {
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
  const env = options.env ?? process.env;
  return {
    url,
    redacted: redact(url),
    host,
    port,
    database,
    source: options.source ?? 'environment',
    local: isLocalHost(host, port, options.root, env),
  };
}

function isLocalHost(host: string, port: string, root: string, env: NodeJS.ProcessEnv): boolean {
  const configured = env.DB_KIT_LOCAL_HOSTS;
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
