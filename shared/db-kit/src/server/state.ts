import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A source setup starts and stops itself (a plain DATABASE_URL is yours). */
export type ManagedEngine = 'compose' | 'embedded';

/** What setup started, kept in .db/server.json so start/stop/status know it later. */
export interface ServerState {
  engine: ManagedEngine;
  port: number;
  url: string;
  /** This checkout's id, also set on the server (see identity.ts); absent in a state from before. */
  checkout?: string;
}

function statePath(root: string): string {
  return join(root, '.db', 'server.json');
}

export function readState(root: string): ServerState | undefined {
  const file = statePath(root);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ServerState;
  } catch {
    return undefined;
  }
}

export function writeState(root: string, state: ServerState): void {
  mkdirSync(join(root, '.db'), { recursive: true });
  writeFileSync(statePath(root), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 }); // the URL has the password
}
