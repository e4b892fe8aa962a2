import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { composeTools } from '../../backup/pg-tools';
import { composeDown, composeRunning, composeUp } from '../compose';
import { claimServer } from '../identity';
import { pickFreePort } from '../ports';
import { DEFAULT_PORTS, ensureDatabase, managedUrl, syncDotenv } from '../provision';
import type { DatabaseSource } from '../source';
import { type ServerState, writeState } from '../state';
import { type DatabaseTarget, parseDatabaseTarget } from '../../target';

/** PostgreSQL 15 in docker compose (the repository's docker-compose.yml), on a port we pick. */
export function composeSource(root: string, previous: ServerState | undefined): DatabaseSource {
  const state = previous?.engine === 'compose' ? previous : undefined;
  const running = () => Boolean(state && composeRunning(root, state.port));
  return {
    engine: 'compose',
    label: 'docker compose PostgreSQL',
    async start(log) {
      let port = state?.port ?? 0;
      if (!state || !composeRunning(root, port)) {
        port = await pickFreePort(Number(process.env.POSTGRES_PORT) || port || DEFAULT_PORTS.compose);
        log(`Starting PostgreSQL 15 with docker compose on 127.0.0.1:${port}...`);
        composeUp(root, port);
      }
      // Marked as this checkout's, so another checkout's commands cannot mistake it for theirs.
      const identity = { checkout: state?.checkout ?? randomUUID(), root };
      const url = await claimServer(managedUrl('compose', port), identity);
      await ensureDatabase(url);
      writeState(root, { engine: 'compose', port, url, checkout: identity.checkout });
      return { engine: 'compose', url, note: syncDotenv(root, url, previous?.url, port) };
    },
    stop() {
      if (!state) return undefined;
      return running() && composeDown(root, state.port) ? `docker compose postgres on port ${state.port}` : undefined;
    },
    status: () => ({ engine: 'compose', url: state?.url, running: running(), port: state?.port }),
    logs(follow) {
      const args = ['compose', 'logs', ...(follow ? ['-f'] : []), 'postgres'];
      return spawnSync('docker', args, { cwd: root, stdio: 'inherit' }).status ?? 2;
    },
    clientTools(target) {
      return state && running() && sameServer(state.url, target) ? composeTools(root) : undefined;
    },
  };
}

function sameServer(started: string, target: DatabaseTarget): boolean {
  const ours = parseDatabaseTarget(started, { source: 'setup' });
  return ours.host === target.host && ours.port === target.port;
}
