import type postgres from 'postgres';
import { readDotenv, rememberSecret } from './env';
import { DbKitError } from './errors';

/** Hosts that count as a development database unless DB_KIT_LOCAL_HOSTS says otherwise. */
export const DEFAULT_LOCAL_HOSTS = ['localhost', '127.0.0.1', '::1'];

/** Where DATABASE_URL came from: the environment wins over `.env` at the repository root. */
export type UrlSource = 'environment' | '.env' | 'setup';

/**
 * The database a command works on, parsed once from DATABASE_URL. Every connection (the
 * driver, psql, pg_dump, drizzle-kit) is made from these fields and never from the URL again,
 * so the host and port the guard judges are the ones connected to.
 */
export interface DatabaseTarget {
  /**
   * DATABASE_URL as given, to compare with the URL setup wrote. It holds the password and is not
   * enumerable (no JSON or log of a target shows it): never print it, never connect with it.
   */
  readonly url: string;
  /** A host name, an IP address (IPv6 without brackets), or a Unix socket directory. */
  host: string;
  port: number;
  database: string;
  user: string;
  /** The host is a Unix socket directory. */
  socket: boolean;
  /** Where the host came from: the URL's authority, its `?host=` parameter, PGHOST, or the driver's default. */
  hostFrom: 'url' | 'host parameter' | 'PGHOST' | 'default';
  /** Where the URL came from. */
  source: UrlSource;
  /** For every message: `postgresql://user@host:port/database`, never a password. */
  redacted: string;
  /** Query parameters other than host, port, user, password and dbname (sslmode, options, ...). */
  params: Readonly<Record<string, string>>;
  /** True when the host is this machine (or one listed in DB_KIT_LOCAL_HOSTS). */
  local: boolean;
}

/** DATABASE_URL and where it came from, or undefined when neither the environment nor .env sets it. */
export function findDatabaseUrl(
  root: string,
  env: NodeJS.ProcessEnv = process.env,
): { url: string; source: Exclude<UrlSource, 'setup'> } | undefined {
  if (env.DATABASE_URL) return { url: env.DATABASE_URL, source: 'environment' };
  const url = readDotenv(root).DATABASE_URL;
  return url ? { url, source: '.env' } : undefined;
}

const passwords = new WeakMap<DatabaseTarget, string>();

/** The password, kept off the object so that no JSON.stringify or console.log of a target shows it. */
export function passwordOf(target: DatabaseTarget): string {
  return passwords.get(target) ?? '';
}

/**
 * Parses a `postgresql://` URL the way libpq reads it, with PG* environment variables filling
 * what the URL leaves out: a host-less URL means $PGHOST (else localhost), `?host=` wins over
 * the authority, and a host starting with `/` is a Unix socket directory. The user information
 * runs from `://` to the last `@`, so a password may hold an unencoded `/`, space or `@`.
 * A value that is not such a URL is never echoed.
 *
 * @example
 *   const target = parseDatabaseTarget('postgres:///app', { env: { PGHOST: 'db.prod' } });
 *   target.host; // 'db.prod'
 *   target.local; // false
 */
export function parseDatabaseTarget(
  url: string,
  options: { source?: UrlSource; env?: NodeJS.ProcessEnv } = {},
): DatabaseTarget {
  const source = options.source ?? 'environment';
  const env = options.env ?? process.env;
  const invalid = (why: string) => {
    rememberSecret(url);
    return new DbKitError(
      `DATABASE_URL (` +
        `${source === 'setup' ? 'written by setup' : `from ${source === '.env' ? '.env' : 'the environment'}`}` +
        `) is not a usable postgresql:// URL: ${why}.`,
      'Expected postgresql://user:password@host:port/database (encode special characters of the password with %XX).',
      'environment',
    );
  };
  const scheme = /^(postgres(?:ql)?):\/\//i.exec(url.trim());
  if (!scheme) throw invalid('it does not start with postgresql://');
  let rest = url.trim().slice(scheme[0].length);
  let userInfo = '';
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    userInfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
  }
  const colon = userInfo.indexOf(':');
  const rawUser = colon >= 0 ? userInfo.slice(0, colon) : userInfo;
  const rawPassword = colon >= 0 ? userInfo.slice(colon + 1) : '';
  // In context, so that a password that is also a common word ("postgres") does not hide that word everywhere.
  if (rawPassword) rememberSecret(`${userInfo}@`);

  let parsed: URL;
  try {
    parsed = new URL(`postgresql://${rest}`);
  } catch {
    throw invalid('its host, port or path cannot be read');
  }
  if (parsed.host.includes(',') || (parsed.searchParams.get('host') ?? '').includes(','))
    throw invalid('several hosts are not supported; name one');
  const query = Object.fromEntries(parsed.searchParams);
  const { host: hostParam, port: portParam, user: userParam, password: passwordParam, dbname, ...params } = query;

  const authorityHost = decode(parsed.hostname).replace(/^\[|\]$/g, '');
  let host: string;
  let hostFrom: DatabaseTarget['hostFrom'];
  if (hostParam) [host, hostFrom] = [hostParam, 'host parameter'];
  else if (authorityHost) [host, hostFrom] = [authorityHost, 'url'];
  else if (env.PGHOST) [host, hostFrom] = [env.PGHOST, 'PGHOST'];
  else [host, hostFrom] = ['localhost', 'default'];
  if (host.includes(',')) throw invalid('several hosts are not supported; name one');
  const socket = host.startsWith('/');
  if (!socket) host = host.replace(/^\[|\]$/g, '').toLowerCase();

  const portText = portParam || parsed.port || env.PGPORT || '5432';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw invalid(`port "${portText}" is not a number 1-65535`);

  const user = userParam || decode(rawUser) || env.PGUSER || env.USER || 'postgres';
  const database = dbname || decode(parsed.pathname.slice(1)) || env.PGDATABASE || user;
  const password = passwordParam || decode(rawPassword) || env.PGPASSWORD || '';

  const shownHost = socket ? encodeURIComponent(host) : host.includes(':') ? `[${host}]` : host;
  const target = {
    host,
    port,
    database,
    user,
    socket,
    hostFrom,
    source,
    redacted: `postgresql://${encodeURIComponent(user)}@${shownHost}:${port}/${encodeURIComponent(database)}`,
    params,
    local: isLocalHost(host, socket, env),
  } as DatabaseTarget;
  Object.defineProperty(target, 'url', { value: url, enumerable: false });
  passwords.set(target, password);
  return target;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * DB_KIT_LOCAL_HOSTS (comma-separated) replaces the default list: add a team dev VM to it, or
 * set it to `none` to have every host, sockets included, treated as remote (what guard tests do).
 */
function isLocalHost(host: string, socket: boolean, env: NodeJS.ProcessEnv): boolean {
  const configured = env.DB_KIT_LOCAL_HOSTS;
  if (configured === undefined) return socket || DEFAULT_LOCAL_HOSTS.includes(host);
  const hosts = configured
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h && h !== 'none');
  return hosts.includes(host.toLowerCase());
}

/** The same server and credentials, another database (to create or drop the target's own). */
export function withDatabase(target: DatabaseTarget, database: string): DatabaseTarget {
  const other = {
    ...target,
    database,
    redacted: target.redacted.replace(/\/[^/]*$/, `/${encodeURIComponent(database)}`),
  } as DatabaseTarget;
  passwords.set(other, passwordOf(target));
  Object.defineProperty(other, 'url', { value: connectionUrl(other), enumerable: false });
  return other;
}

/** The same server, database and user with another password (after setup changed the login's). */
export function withPassword(target: DatabaseTarget, password: string): DatabaseTarget {
  const other = { ...target } as DatabaseTarget;
  passwords.set(other, password);
  Object.defineProperty(other, 'url', { value: connectionUrl(other), enumerable: false });
  return other;
}

/** Where it is, for a message: `db.prod:5432 (from PGHOST)`. */
export function describeHost(target: DatabaseTarget): string {
  const where = target.socket
    ? `socket ${target.host}/.s.PGSQL.${target.port}`
    : `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
  return target.hostFrom === 'url' || target.hostFrom === 'default' ? where : `${where} (from ${target.hostFrom})`;
}

/**
 * postgres.js options naming every field, so the driver reads no URL and no PG* variable of
 * its own. Hosts go as arrays: postgres.js splits a host string at `:`, which breaks `::1`.
 */
export function driverOptions(target: DatabaseTarget): postgres.Options<Record<string, postgres.PostgresType>> {
  const { sslmode, ...connection } = target.params;
  return {
    host: [target.host] as unknown as string,
    port: [target.port] as unknown as number,
    ...(target.socket ? { path: `${target.host}/.s.PGSQL.${target.port}` } : {}),
    database: target.database,
    username: target.user,
    password: passwordOf(target),
    ...(sslmode ? { ssl: sslmode === 'disable' ? false : (sslmode as 'require') } : {}),
    connection,
  };
}

/** The environment for libpq tools (psql, pg_dump): the password never goes on a command line. */
export function libpqEnv(target: DatabaseTarget, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...base,
    PGHOST: target.host,
    PGPORT: String(target.port),
    PGDATABASE: target.database,
    PGUSER: target.user,
  };
  delete env.PGPASSWORD;
  delete env.PGSERVICE;
  const password = passwordOf(target);
  if (password) env.PGPASSWORD = password;
  if (target.params.sslmode) env.PGSSLMODE = target.params.sslmode;
  return env;
}

/**
 * A URL with everything explicit, for a tool that only takes a URL (drizzle-kit studio). It holds
 * the password: hand it over in the environment, never print it or put it on a command line.
 */
export function connectionUrl(target: DatabaseTarget): string {
  const auth = `${encodeURIComponent(target.user)}:${encodeURIComponent(passwordOf(target))}`;
  const params = new URLSearchParams(target.params);
  if (target.socket) {
    params.set('host', target.host);
    return `postgresql://${auth}@:${target.port}/${encodeURIComponent(target.database)}?${params}`;
  }
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  const query = params.size ? `?${params}` : '';
  return `postgresql://${auth}@${host}:${target.port}/${encodeURIComponent(target.database)}${query}`;
}

/** A URL as it may be shown: its parsed, password-free form, or a placeholder if it cannot be read. */
export function shownUrl(url: string, source?: UrlSource): string {
  try {
    return parseDatabaseTarget(url, { source }).redacted;
  } catch {
    return '(a DATABASE_URL that is not a postgresql:// URL)';
  }
}
