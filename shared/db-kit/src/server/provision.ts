import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { readDotenv } from '../env';
import { probePostgres } from '../probe';
import {
  describeHost,
  driverOptions,
  parseDatabaseTarget,
  passwordOf as passwordOfTarget,
  withDatabase,
} from '../target';
import { DbKitError, describeError } from '../errors';
import { quoteIdent } from '../sql-text';
import type { ManagedEngine } from './state';

export const DATABASE_NAME = 'large_event_db';
/** The logins of the servers setup starts. The embedded one's password is generated per checkout
 * (identity.ts); LEGACY_PASSWORD is what a data folder made before that has. */
const CREDENTIALS: Record<ManagedEngine, { user: string; password: string }> = {
  compose: { user: 'user', password: 'password' },
  embedded: { user: 'postgres', password: '' },
};
export const LEGACY_PASSWORD = 'postgres';
export const DEFAULT_PORTS = { compose: 5432, embedded: 54329 } as const;

export function credentialsFor(engine: ManagedEngine): { user: string; password: string } {
  return CREDENTIALS[engine];
}

/** The URL of the database on a server setup started (`password` overrides the engine's). */
export function managedUrl(engine: ManagedEngine, port: number, password = CREDENTIALS[engine].password): string {
  const { user } = CREDENTIALS[engine];
  return `postgresql://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE_NAME}`;
}

/** The password in a URL setup wrote, if any. */
export function passwordOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return passwordOfTarget(parseDatabaseTarget(url, { source: 'setup', env: {} })) || undefined;
  } catch {
    return undefined;
  }
}

/** Writes DATABASE_URL into .env when absent, or when it is the URL we wrote earlier and the port moved. */
export function syncDotenv(
  root: string,
  url: string,
  ourPreviousUrl: string | undefined,
  composePort?: number,
): string {
  const file = join(root, '.env');
  const current = readDotenv(root).DATABASE_URL;
  if (current === url) return '.env already points here';
  if (current && current !== ourPreviousUrl) return '.env keeps its own DATABASE_URL';
  let text = existsSync(file)
    ? readFileSync(file, 'utf8')
    : '# Written by ./scripts/db-workflow.sh setup. See .env.example.\n';
  const lines: Array<[string, string]> = [['DATABASE_URL', url]];
  if (composePort) lines.push(['POSTGRES_PORT', String(composePort)]);
  for (const [key, value] of lines) {
    const pattern = new RegExp(`^${key}=.*$`, 'm');
    text = pattern.test(text)
      ? text.replace(pattern, `${key}=${value}`)
      : `${text.replace(/\n?$/, '\n')}${key}=${value}\n`;
  }
  writeFileSync(file, text, { mode: 0o600 }); // it holds the password
  return current ? 'updated DATABASE_URL in .env' : 'wrote DATABASE_URL to .env';
}

/** Creates the URL's database when the server is up but the database is not there yet. */
export async function ensureDatabase(url: string): Promise<void> {
  const target = parseDatabaseTarget(url, { source: 'setup' });
  const name = target.database;
  await probePostgres(target);
  const probe = postgres({ ...driverOptions(target), max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    await probe`select 1`;
    return;
  } catch (error) {
    if ((error as { code?: string }).code !== '3D000') {
      throw new DbKitError(
        `Cannot connect to ${target.redacted} (${describeHost(target)}): ${describeError(error)}.`,
        'Start that server or fix DATABASE_URL (environment or .env).',
      );
    }
  } finally {
    await probe.end({ timeout: 0 });
  }
  const admin = postgres({
    ...driverOptions(withDatabase(target, 'postgres')),
    max: 1,
    onnotice: () => {},
    connect_timeout: 10,
  });
  try {
    await admin.unsafe(`create database ${quoteIdent(name)}`);
  } catch (error) {
    if ((error as { code?: string }).code !== '42P04')
      throw new DbKitError(
        `Cannot create database "${name}": ${describeError(error)}.`,
        'Create it yourself, or use a role allowed to CREATE DATABASE.',
      );
  } finally {
    await admin.end({ timeout: 0 });
  }
}

/** Drops and creates the URL's database: only for servers setup runs. */
export async function recreateDatabase(url: string): Promise<void> {
  const target = parseDatabaseTarget(url, { source: 'setup' });
  const name = target.database;
  const admin = postgres({
    ...driverOptions(withDatabase(target, 'postgres')),
    max: 1,
    onnotice: () => {},
    connect_timeout: 10,
  });
  try {
    const quoted = quoteIdent(name);
    await admin.unsafe(`drop database if exists ${quoted} with (force)`);
    await admin.unsafe(`create database ${quoted}`);
  } catch (error) {
    throw new DbKitError(
      `Cannot recreate ${target.redacted}: ${describeError(error)}.`,
      'Is the server running? ./scripts/db-workflow.sh status',
    );
  } finally {
    await admin.end({ timeout: 0 });
  }
}
