import { readDotenv } from '../env';
import { DbKitError } from '../errors';
import { dockerEngineRunning } from './compose';
import type { DatabaseSource, Engine } from './source';
import { composeSource } from './sources/compose';
import { embeddedSource } from './sources/embedded';
import { urlSource } from './sources/url';
import { readState, type ServerState } from './state';
import { type DatabaseTarget, parseDatabaseTarget } from '../target';

export type { DatabaseSource, Engine, ServerInfo, ServerStatus } from './source';

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

/** Inputs for chooseEngine from this checkout's environment, .env and state file. */
export function engineInputs(root: string, env: NodeJS.ProcessEnv = process.env): EngineInputs {
  const state = readState(root);
  const dotenvUrl = readDotenv(root).DATABASE_URL;
  return {
    environmentUrl: env.DATABASE_URL || undefined,
    userDotenvUrl: dotenvUrl && dotenvUrl !== state?.url ? dotenvUrl : undefined,
    state,
    forced: env.DB_ENGINE || undefined,
    dockerRunning: dockerEngineRunning,
  };
}

/** The one place that maps an engine to its source. */
export function sourceFor(engine: Engine, root: string, state: ServerState | undefined): DatabaseSource {
  switch (engine) {
    case 'url':
      return urlSource(root);
    case 'compose':
      return composeSource(root, state);
    case 'embedded':
      return embeddedSource(root, state);
  }
}

/** The source `server up` uses: chooseEngine's pick (may probe for a Docker engine). */
export function sourceToStart(root: string, env: NodeJS.ProcessEnv = process.env): DatabaseSource {
  const inputs = engineInputs(root, env);
  return sourceFor(chooseEngine(inputs), root, inputs.state);
}

/**
 * The source in use now, without probing anything: your DATABASE_URL when you set one (or when
 * setup never ran), else the server setup started.
 */
export function currentSource(root: string, env: NodeJS.ProcessEnv = process.env): DatabaseSource {
  const inputs = engineInputs(root, env);
  if (inputs.environmentUrl || inputs.userDotenvUrl || !inputs.state) return urlSource(root);
  return sourceFor(inputs.state.engine, root, inputs.state);
}

/**
 * The source behind a target already parsed (no second read of the environment or .env):
 * the server setup started when the URL is the one setup wrote, else your own URL.
 */
export function sourceOf(target: DatabaseTarget, root: string): DatabaseSource {
  const state = readState(root);
  if (!state || target.source === 'environment' || !sameDatabase(target, state.url)) return urlSource(root);
  return sourceFor(state.engine, root, state);
}

function sameDatabase(target: DatabaseTarget, url: string): boolean {
  const ours = parseDatabaseTarget(url, { source: 'setup' });
  return ours.host === target.host && ours.port === target.port && ours.database === target.database;
}

/** Stops what setup started. Returns a description, or undefined when nothing of ours runs. */
export function stopServer(root: string): string | undefined {
  const state = readState(root);
  return state ? sourceFor(state.engine, root, state).stop() : undefined;
}
