import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { redact } from '../env';
import { Migrator } from '../migrations/runner';
import { Workspace } from '../workspace';
import { TEST_SERVER_ENV } from './server';

export { copyWorkspace, type FixtureWorkspace } from './fixture';

export interface TestDatabase {
  /** Connection string of this test's own database. */
  url: string;
  name: string;
  /** Drops the database. Set KEEP_TEST_DB=1 to keep it (its URL is printed). */
  drop(): Promise<void>;
}

function adminUrl(): string {
  const url = process.env.TEST_DATABASE_URL || process.env[TEST_SERVER_ENV];
  if (!url) throw new Error('No test PostgreSQL: run tests through vitest (its global setup starts one), or set TEST_DATABASE_URL.');
  return url;
}

export function databaseUrlFor(name: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * A fresh, empty database of its own for one test file; `migrate` applies a package's
 * migrations (and those it builds on) first.
 *
 * @example
 *   const db = await createTestDatabase({ migrate: 'teamd' });
 *   afterAll(() => db.drop());
 */
export async function createTestDatabase(options: { migrate?: string; label?: string } = {}): Promise<TestDatabase> {
  const label = (options.label ?? 'test').toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 30);
  const name = `t_${label}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end({ timeout: 0 });
  }
  const url = databaseUrlFor(name);
  if (options.migrate) {
    const ws = Workspace.find();
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await new Migrator(sql, ws.migrationOrder(ws.resolve(options.migrate))).migrate();
    } finally {
      await sql.end({ timeout: 0 });
    }
  }
  return {
    url,
    name,
    async drop() {
      if (process.env.KEEP_TEST_DB) {
        console.log(`[db-kit] kept test database ${redact(url)}`);
        return;
      }
      const admin = postgres(adminUrl(), { max: 1, onnotice: () => {} });
      try {
        await admin.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await admin.end({ timeout: 0 });
      }
    },
  };
}
