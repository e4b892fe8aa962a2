import { CONNECTION_NAMES, type ConnectingCommand } from './connection-names';
import { leaveEarlySession } from './probe';
import { driverOptions, findDatabaseUrl, parseDatabaseTarget } from './target';
import { findRoot } from './workspace';

/**
 * The launcher's head start (bin/db-kit.cjs, before it loads the CLI, for migrate and status): a no-op migrate
 * spends most of its time waiting for the server to start a session (a backend forked, then initialised). This
 * small bundle finds the database as the Context will (the workspace root, DATABASE_URL from the environment else
 * .env, parsed by target.ts), connects, and sends the StartupMessage the command's own connection would send, so
 * the server starts the session while the CLI loads; the command's connect() takes that session over when its
 * settings are the same (probe.ts). A TLS connection gets no head start; anything unexpected: none, no message.
 */
export function preconnect(cwd: string, env: NodeJS.ProcessEnv, command: string): void {
  try {
    if (!(command in CONNECTION_NAMES)) return;
    const found = findDatabaseUrl(findRoot(cwd), env);
    if (!found) return;
    const target = parseDatabaseTarget(found.url, { source: found.source, env });
    if (driverOptions(target).ssl || env.PGSSL) return;
    leaveEarlySession(target, CONNECTION_NAMES[command as ConnectingCommand]());
  } catch {}
}
