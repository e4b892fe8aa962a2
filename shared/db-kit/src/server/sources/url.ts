import { DbKitError } from '../../errors';
import { findDatabaseUrl } from '../../target';
import { ensureDatabase } from '../provision';
import type { DatabaseSource } from '../source';

/** Your own DATABASE_URL (environment or .env): we create its database if needed, never start or stop it. */
export function urlSource(root: string): DatabaseSource {
  return {
    engine: 'url',
    label: 'your DATABASE_URL',
    async start() {
      const source = findDatabaseUrl(root);
      if (!source)
        throw new DbKitError('DB_ENGINE=url but DATABASE_URL is not set.', 'Export DATABASE_URL or put it in .env.');
      await ensureDatabase(source.url);
      return { engine: 'url', url: source.url, note: `DATABASE_URL from ${source.source}` };
    },
    stop: () => undefined,
    status: () => ({ engine: 'url', url: findDatabaseUrl(root)?.url, running: false }),
    logs: () => undefined,
    clientTools: () => undefined,
  };
}
