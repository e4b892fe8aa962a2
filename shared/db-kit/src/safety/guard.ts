import { DbKitError } from '../errors';
import { type DatabaseTarget, describeHost } from '../target';

export interface GuardOptions {
  /** What would happen, for the message: `reset drops every table`. */
  action: string;
  force?: boolean;
}

/**
 * Refuses to touch a database that is not local, before connecting to it, unless --force. It
 * judges the parsed target: the host and port the driver will connect to, wherever they came from.
 * Returns the target so the caller can ask for the database name when it is remote.
 */
export function assertDevelopmentDatabase(target: DatabaseTarget, options: GuardOptions): DatabaseTarget {
  if (!target.local && !options.force) {
    throw new DbKitError(
      `Refusing to ${options.action} on ${target.redacted}: ` +
        `${describeHost(target)} is not a local development database.`,
      'Point DATABASE_URL at your local database (./scripts/db-workflow.sh setup), or pass --force if you really ' +
        'mean that server.',
      'refused',
    );
  }
  return target;
}
