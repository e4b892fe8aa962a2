import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schemas';

export type SharedSchema = typeof schema;
export type SharedDatabase = PostgresJsDatabase<SharedSchema> & { $client: postgres.Sql };

/**
 * A typed drizzle client over the shared schema.
 *
 * @example
 *   const db = createDatabase(process.env.DATABASE_URL!);
 *   await db.insert(users).values({ email: 'ada@example.com' });
 *   await db.$client.end();
 */
export function createDatabase(url: string, options: postgres.Options<Record<string, never>> = {}): SharedDatabase {
  const client = postgres(url, { max: 5, onnotice: () => {}, ...options });
  return drizzle(client, { schema });
}
