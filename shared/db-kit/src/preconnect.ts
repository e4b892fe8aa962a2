import { leaveEarlyProbe } from './probe';
import { driverOptions, findDatabaseUrl, parseDatabaseTarget } from './target';
import { findRoot } from './workspace';

/**
 * The launcher's head start (bin/db-kit.cjs, before it loads the CLI, for migrate and status): a no-op migrate
 * spends most of its time waiting for the server to start a session (a backend forked, then initialised). This
 * small bundle finds the database as the Context will (the workspace root, DATABASE_URL from the environment else
 * .env, parsed by target.ts) and opens the probe's connection, so the server starts while the CLI loads; the
 * first connect() to the same host and port adopts it (probe.ts). Anything unexpected: no head start, no message.
 */
export function preconnect(cwd: string, env: NodeJS.ProcessEnv): void {
  try {
    const found = findDatabaseUrl(findRoot(cwd), env);
    if (!found) return;
    const target = parseDatabaseTarget(found.url, { source: found.source, env });
    leaveEarlyProbe(target, !driverOptions(target).ssl && !env.PGSSL);
  } catch {}
}
