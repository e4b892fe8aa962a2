import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { readDotenv, redact } from '../env';
import { DbKitError, describeError } from '../errors';
import { composeDown, composeRunning, composeUp, dockerEngineRunning } from './compose';
import { EmbeddedServer, embeddedHome } from './embedded';
import { pickFreePort } from './ports';
import { quoteIdent } from '../sql-text';
import { readState, writeState, type ServerState } from './state';
import { findDatabaseUrl } from '../target';

export type Engine = 'url' | 'compose' | 'embedded';

export const DATABASE_NAME = 'large_event_db';
const COMPOSE_CREDENTIALS = { user: 'user', password: 'password' };
const EMBEDDED_CREDENTIALS = { user: 'postgres', password: 'postgres' };
export const DEFAULT_PORTS = { compose: 5432, embedded: 54329 } as const;

export interface EngineInputs {
  /** DATABASE_URL set in the environment (wins over everything). */
  environmentUrl?: string;
  /** DATABASE_URL in .env that setup did not write. */
  userDotenvUrl?: string;
  /** What an earlier setup started. */
  state?: ServerState;
  /** DB_ENGINE=compose|embedded|url forces a choice. */
  forced?: string;
  dockerRunning: () => boolean;
}

/**
 * Where the database comes from, in order: a DATABASE_URL you gave us, what setup started
 * before, a Docker engine (docker compose), else the embedded server.
 */
export function chooseEngine(inputs: EngineInputs): Engine {
  if (inputs.forced) {
    if (!['url', 'compose', 'embedded'].includes(inputs.forced))
      throw new DbKitError(`DB_ENGINE must be url, compose or embedded, not "${inputs.forced}".`);
    return inputs.forced as Engine;
  }
  if (inputs.environmentUrl || inputs.userDotenvUrl) return 'url';
  if (inputs.state) return inputs.state.engine;
  return inputs.dockerRunning() ? 'compose' : 'embedded';
}

export function embeddedServer(root: string, port: number): EmbeddedServer {
  return new EmbeddedServer({ home: embeddedHome(join(root, '.db', 'embedded')), port, ...EMBEDDED_CREDENTIALS });
}

function urlFor(engine: ServerState['engine'], port: number): string {
  const { user, password } = engine === 'compose' ? COMPOSE_CREDENTIALS : EMBEDDED_CREDENTIALS;
  return `postgresql://${user}:${password}@127.0.0.1:${port}/${DATABASE_NAME}`;
}

export interface ServerInfo {
  engine: Engine;
  url: string;
  /** Where DATABASE_URL came from or went to. */
  note: string;
}

/** Inputs for chooseEngine from this checkout's environment, .env and state file. */
export function engineInputs(root: string): EngineInputs {
  const state = readState(root);
  const dotenvUrl = readDotenv(root).DATABASE_URL;
  return {
    environmentUrl: process.env.DATABASE_URL || undefined,
    userDotenvUrl: dotenvUrl && dotenvUrl !== state?.url ? dotenvUrl : undefined,
    state,
    forced: process.env.DB_ENGINE || undefined,
    dockerRunning: dockerEngineRunning,
  };
}

/**
 * Makes sure a database is up: uses the given DATABASE_URL, or starts (and if needed creates)
 * ours, and writes DATABASE_URL to .env when .env has none. Safe to run again.
 */
export async function ensureServer(root: string, log: (line: string) => void = () => {}): Promise<ServerInfo> {
  const inputs = engineInputs(root);
  const engine = chooseEngine(inputs);
  if (engine === 'url') {
    const source = findDatabaseUrl(root);
    if (!source)
      throw new DbKitError('DB_ENGINE=url but DATABASE_URL is not set.', 'Export DATABASE_URL or put it in .env.');
    await ensureDatabase(source.url);
    return { engine, url: source.url, note: `DATABASE_URL from ${source.source}` };
  }
  const previous = inputs.state?.engine === engine ? inputs.state : undefined;
  let port = previous?.port ?? 0;
  if (engine === 'embedded') {
    const server = embeddedServer(root, port || DEFAULT_PORTS.embedded);
    const running = server.runningPort();
    if (running) port = running;
    else {
      // The recorded port may have been taken meanwhile by someone else's server: never share it.
      port = await pickFreePort(port || DEFAULT_PORTS.embedded);
      log(`Starting the embedded PostgreSQL on 127.0.0.1:${port} (data in ${server.dataDir})...`);
      await embeddedServer(root, port).start();
    }
  } else {
    if (!previous || !composeRunning(root, port)) {
      port = await pickFreePort(Number(process.env.POSTGRES_PORT) || port || DEFAULT_PORTS.compose);
      log(`Starting PostgreSQL 15 with docker compose on 127.0.0.1:${port}...`);
      composeUp(root, port);
    }
  }
  const url = urlFor(engine, port);
  await ensureDatabase(url);
  writeState(root, { engine, port, url });
  const note = syncDotenv(root, url, inputs.state?.url, engine === 'compose' ? port : undefined);
  return { engine, url, note };
}

/** Writes DATABASE_URL into .env when absent, or when it is the URL we wrote earlier and the port moved. */
function syncDotenv(root: string, url: string, ourPreviousUrl: string | undefined, composePort?: number): string {
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
  writeFileSync(file, text);
  return current ? 'updated DATABASE_URL in .env' : 'wrote DATABASE_URL to .env';
}

/** Creates the URL's database when the server is up but the database is not there yet. */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1)) || 'postgres';
  const probe = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    await probe`select 1`;
    return;
  } catch (error) {
    if ((error as { code?: string }).code !== '3D000') {
      throw new DbKitError(
        `Cannot connect to ${redact(url)}: ${describeError(error)}.`,
        'Start that server or fix DATABASE_URL (environment or .env).',
      );
    }
  } finally {
    await probe.end({ timeout: 0 });
  }
  target.pathname = '/postgres';
  const admin = postgres(target.toString(), { max: 1, onnotice: () => {}, connect_timeout: 10 });
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

/** Stops what setup started. Returns a description, or undefined when nothing of ours runs. */
export function stopServer(root: string): string | undefined {
  const state = readState(root);
  if (!state) return undefined;
  if (state.engine === 'embedded')
    return embeddedServer(root, state.port).stop() ? `embedded PostgreSQL on port ${state.port}` : undefined;
  return composeRunning(root, state.port) && composeDown(root, state.port)
    ? `docker compose postgres on port ${state.port}`
    : undefined;
}

export interface ServerStatus {
  engine: Engine;
  url?: string;
  running: boolean;
  port?: number;
  logFile?: string;
}

export function serverStatus(root: string): ServerStatus {
  const inputs = engineInputs(root);
  const state = inputs.state;
  if (inputs.environmentUrl || inputs.userDotenvUrl || !state) {
    const source = findDatabaseUrl(root);
    return { engine: 'url', url: source?.url, running: false };
  }
  if (state.engine === 'embedded') {
    const server = embeddedServer(root, state.port);
    const port = server.runningPort();
    return {
      engine: 'embedded',
      url: state.url,
      running: Boolean(port),
      port: port ?? state.port,
      logFile: server.logFile,
    };
  }
  return { engine: 'compose', url: state.url, running: composeRunning(root, state.port), port: state.port };
}

/** Drops and creates the URL's database: only for servers setup runs. */
export async function recreateDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  target.pathname = '/postgres';
  const admin = postgres(target.toString(), { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    const quoted = quoteIdent(name);
    await admin.unsafe(`drop database if exists ${quoted} with (force)`);
    await admin.unsafe(`create database ${quoted}`);
  } catch (error) {
    throw new DbKitError(
      `Cannot recreate ${redact(url)}: ${describeError(error)}.`,
      'Is the server running? ./scripts/db-workflow.sh status',
    );
  } finally {
    await admin.end({ timeout: 0 });
  }
}
