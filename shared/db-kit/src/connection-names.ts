/** How a client names itself in application_name, so a later run can tell that its process is gone. */
export function clientTag(): string {
  return `[client ${process.pid}]`;
}

/**
 * The application_name of the commands whose every run connects (pg_stat_activity, the migration lock's holder).
 * The launcher's early connection (preconnect.ts) starts its session under the same name, so that the command can
 * take that session over: the name depends on nothing the command works out later.
 */
export const CONNECTION_NAMES = {
  migrate: () => `db-kit migrate ${clientTag()}`,
  status: () => 'db-kit status',
} as const;

export type ConnectingCommand = keyof typeof CONNECTION_NAMES;
