import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { redact } from '../env';
import { Workspace } from '../workspace';
import { TEST_SERVER_ENV } from './server';
import { TemplateDatabases } from './templates';

export { copyWorkspace, type FixtureWorkspace } from './fixture';
export {
  TemplateDatabases,
  templateKey,
  dropTemplate,
  listTemplates,
  TEMPLATE_PREFIX,
  type TemplateKey,
} from './templates';

export interface TestDatabase {
  /** Connection string of this test's own database. */
  url: string;
  name: string;
  /** Drops the database. Set KEEP_TEST_DB=1 to keep it (its URL is printed). */
  drop(): Promise<void>;
}

function adminUrl(): string {
  const url = process.env.TEST_DATABASE_URL || process.env[TEST_SERVER_ENV];
  if (!url)
    throw new Error(
      'No test PostgreSQL: run tests through vitest (its global setup starts one), or set TEST_DATABASE_URL.',
    );
  return url;
}

export function databaseUrlFor(name: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Identifies this test run's databases, so the run's teardown drops exactly those. The global setup
 * starts a new run (`startTestRun`) and the workers inherit its id; read when needed, not at import.
 */
export const TEST_RUN_ENV = 'DB_KIT_TEST_RUN';
const currentRun = () => (process.env[TEST_RUN_ENV] ??= randomBytes(3).toString('hex'));

/**
 * Gives this vitest run its own id, even when it inherited one: a run started inside a test (the
 * scaffolded package's test, promote's) would otherwise drop the outer run's databases at its end.
 */
export function startTestRun(): string {
  process.env[TEST_RUN_ENV] = randomBytes(3).toString('hex');
  return process.env[TEST_RUN_ENV];
}

/** Every database a run creates is named `t_<run>_<label>_<random>`. */
export function testDatabasePattern(run = currentRun()): string {
  return `t\\_${run}\\_%`;
}

/**
 * A database of its own for one test file. With `migrate`, it is a copy of the package's
 * migrated template (its migrations and those it builds on), made by `CREATE DATABASE ... TEMPLATE`:
 * the migrations run once per change of the migration files, not once per test file.
 * Without `migrate`, it is empty.
 *
 * @example
 *   const db = await createTestDatabase({ migrate: 'teamd' });
 *   afterAll(() => db.drop());
 */
export async function createTestDatabase(
  options: { migrate?: string; label?: string; workspace?: Workspace } = {},
): Promise<TestDatabase> {
  const label = (options.label ?? 'test')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 30);
  const name = `t_${currentRun()}_${label}_${randomBytes(4).toString('hex')}`;
  if (options.migrate) {
    const templates = new TemplateDatabases(adminUrl(), options.workspace ?? Workspace.find());
    try {
      await templates.clone(options.migrate, name);
    } finally {
      await templates.end();
    }
  } else {
    const admin = postgres(adminUrl(), { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe(`create database "${name}"`);
    } finally {
      await admin.end({ timeout: 0 });
    }
  }
  const url = databaseUrlFor(name);
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

/**
 * Drops what a run left behind: every database named for `run` that a test did not drop
 * (a crashed or forgetful test). With KEEP_TEST_DB set, keeps them: each test's drop() printed its URL.
 */
export async function dropRunDatabases(run = currentRun()): Promise<string[]> {
  if (process.env.KEEP_TEST_DB) return [];
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => {} });
  try {
    const rows = await admin.unsafe('select datname from pg_database where datname like $1 order by 1', [
      testDatabasePattern(run),
    ]);
    const names = rows.map((r) => r.datname as string);
    for (const name of names) await admin.unsafe(`drop database if exists "${name}" with (force)`);
    return names;
  } finally {
    await admin.end({ timeout: 0 });
  }
}
