import * as shared from '@large-event/database';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as overlays from './overlays';

export * from '@large-event/database';
export * from './overlays';

const { createDatabase: _sharedFactory, ...sharedTables } = shared;
export const teamdSchema = { ...sharedTables, ...overlays };
export type TeamdSchema = typeof teamdSchema;
export type TeamdDatabase = PostgresJsDatabase<TeamdSchema> & { $client: postgres.Sql };

/**
 * Team D's client, typed over the shared tables and Team D's overlay tables together.
 *
 * @example
 *   const db = createTeamdDatabase(process.env.DATABASE_URL!);
 *   const [p] = await db.insert(teamdProjects).values({ name: 'Launch' }).returning();
 */
export function createTeamdDatabase(url: string, options: postgres.Options<Record<string, never>> = {}): TeamdDatabase {
  const client = postgres(url, { max: 5, onnotice: () => {}, ...options });
  return drizzle(client, { schema: teamdSchema });
}
