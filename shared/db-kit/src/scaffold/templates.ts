// The files of a new team's schema package. Every name comes from the arguments: the engine
// knows no team. The result mirrors an existing overlay package (overlays, factory, thin entries).
// The examples extend the shared `users` table, the core row every team builds on; the
// scaffolder refuses to run when the shared package does not own it.

export interface TeamTemplateInput {
  /** Lower-case alias: `teamx`. */
  alias: string;
  /** npm name of the new package: `@teamx/database`. */
  packageName: string;
  /** npm name of the shared package: `@large-event/database`. */
  sharedPackage: string;
  /** Import path whose exports are exactly the shared tables: `@large-event/database/schemas`. */
  sharedSchemaImport: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  /** Relative path from the package to tsconfig.base.json: `../../../../tsconfig.base.json`. */
  baseTsconfig: string;
  /** Relative path from the package to the workspace root, whose vitest config lists the test folders. */
  workspaceRoot: string;
  /** The package's folder relative to the workspace root: `teams/teamx/src/database`. */
  packagePath: string;
}

/** `teamx` -> `Teamx`, for type and function names. */
function pascal(alias: string): string {
  return alias.charAt(0).toUpperCase() + alias.slice(1);
}

/** `Payments` -> `Payments'`, `Teamx` -> `Teamx's`. */
export function possessive(name: string): string {
  return /s$/i.test(name) ? `${name}'` : `${name}'s`;
}

/** The package's files, keyed by path relative to the package directory. */
export function teamPackageFiles(input: TeamTemplateInput): Record<string, string> {
  const { alias, packageName, sharedPackage, sharedSchemaImport } = input;
  const Alias = pascal(alias);
  const ownerOf = possessive(Alias);
  const items = `${alias}Items`;
  const extension = `${alias}UserSettings`;
  const migrationsTable = `__${alias}_migrations`;

  const packageJson = {
    name: packageName,
    version: '0.1.0',
    private: true,
    type: 'module',
    description: `${ownerOf} overlay: team tables and side tables over the shared core.`,
    main: './src/index.ts',
    exports: { '.': { types: './src/index.ts', import: './src/index.ts', require: './src/index.ts' } },
    dbKit: {
      role: 'team',
      alias,
      tablePrefix: `${alias}_`,
      schema: 'src/overlays/index.ts',
      out: 'drizzle',
      migrationsTable,
    },
    // The root's vitest config holds the include patterns and the test database setup; from the
    // package's folder plain `vitest run` would find that config but no test under its own root.
    scripts: { typecheck: 'tsc --noEmit', test: `vitest run --root ${input.workspaceRoot} ${input.packagePath}/` },
    dependencies: input.dependencies,
    devDependencies: input.devDependencies,
  };
  const tsconfig = { extends: input.baseTsconfig, include: ['src', 'scripts', 'test', '*.ts'] };

  return {
    'package.json': `${JSON.stringify(packageJson, null, 2)}\n`,

    'tsconfig.json': `${JSON.stringify(tsconfig, null, 2)}\n`,

    'drizzle.config.ts': `// For drizzle-kit's own commands (check, studio). The engine reads the same settings
// from the "dbKit" field of package.json; keep the two in step.
// Only ${ownerOf} overlay tables are listed: shared tables belong to ${sharedPackage}.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/overlays/index.ts',
  out: './drizzle',
  migrations: { schema: 'drizzle', table: '${migrationsTable}' },
  dbCredentials: { url: process.env.DATABASE_URL ?? '' },
});
`,

    // drizzle-kit writes the journal on the first generate; the engine creates the bookkeeping table on the first
    // migrate.
    'drizzle/.gitkeep': '',

    'src/overlays/team-specific-tables.ts': `import { users } from '${sharedPackage}';
import { integer, pgTable, serial, text, timestamp, varchar } from 'drizzle-orm/pg-core';

// Every table ${Alias} owns starts with "${alias}_" (dbKit.tablePrefix in package.json).

/** An example ${Alias} table: rename or replace it, then run \`pnpm ${alias}:db:generate --name init\`. */
export const ${items} = pgTable('${alias}_items', {
  id: serial('id').primaryKey(),
  name: varchar('name', { length: 255 }).notNull(),
  notes: text('notes'),
  ownerId: integer('owner_id').references(() => users.id),
  createdAt: timestamp('created_at', { withTimezone: true }).defaultNow().notNull(),
});

export type ${Alias}Item = typeof ${items}.$inferSelect;
export type New${Alias}Item = typeof ${items}.$inferInsert;
`,

    'src/overlays/extensions.ts': `import { users } from '${sharedPackage}';
import { integer, pgTable, varchar } from 'drizzle-orm/pg-core';

/**
 * ${ownerOf} side table for a core user: one row per user, keyed by the user's id.
 * Teams never alter shared tables; they extend a core row like this instead.
 */
export const ${extension} = pgTable('${alias}_user_settings', {
  userId: integer('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  displayName: varchar('display_name', { length: 255 }),
});

export type ${Alias}UserSettings = typeof ${extension}.$inferSelect;
`,

    'src/overlays/index.ts':
      `// ${ownerOf} own tables. ` +
      `The engine generates ${ownerOf} migrations from what this file exports.
export * from './team-specific-tables';
export * from './extensions';
`,

    'src/index.ts':
      `import * as sharedTables from '${sharedSchemaImport}';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as overlays from './overlays';

export * from '${sharedPackage}';
export * from './overlays';

export const ${alias}Schema = { ...sharedTables, ...overlays };
export type ${Alias}Schema = typeof ${alias}Schema;
export type ${Alias}Database = PostgresJsDatabase<${Alias}Schema> & { $client: postgres.Sql };

/**
 * ${ownerOf} client, typed over the shared tables and ${ownerOf} overlay tables together.
 *
 * @example
 *   const db = create${Alias}Database(process.env.DATABASE_URL!);
 *   const [item] = await db.insert(${items}).values({ name: 'First' }).returning();
 */
export function create${Alias}Database(url: string, ` +
      `options: postgres.Options<Record<string, never>> = {}): ${Alias}Database {
  const client = postgres(url, { max: 5, onnotice: () => {}, ...options });
  return drizzle(client, { schema: ${alias}Schema });
}
`,

    'src/scripts/promote-schema.ts': `/** Thin entry: the engine's promote, for ${Alias}. */
import { runCli } from '@large-event/db-kit';

process.exitCode = await runCli(['promote', '--package', '${packageName}', ...process.argv.slice(2)]);
`,

    'test/overlay.test.ts':
      `import { readdirSync } from 'node:fs';
import { createTestDatabase, type TestDatabase } from '@large-event/db-kit/testing';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create${Alias}Database, ${items}, ${extension}, users, type ${Alias}Database } from '../src';

// Until the first \`pnpm ${alias}:db:generate\`, the overlay has no migration and its tables do not exist yet.
const hasMigrations = readdirSync(new URL('../drizzle', import.meta.url)).some((f) => f.endsWith('.sql'));

describe('${packageName}', () => {
  let testDb: TestDatabase;
  let db: ${Alias}Database;
  beforeAll(async () => {
    testDb = await createTestDatabase({ migrate: '${alias}', label: '${alias}_overlay' });
    db = create${Alias}Database(testDb.url);
  });
  afterAll(async () => {
    await db?.$client.end();
    await testDb?.drop();
  });

  it('migrates into its own bookkeeping table, next to the shared tables', async () => {
    const [row] = await db.execute<{ bookkeeping: string | null; core: string | null }>(
      sql\`select to_regclass('drizzle.${migrationsTable}')::text as bookkeeping, ` +
      `to_regclass('public.users')::text as core\`,
    );
    expect(row).toEqual({ bookkeeping: 'drizzle.${migrationsTable}', core: 'users' });
  });

  it.runIf(hasMigrations)('stores an item owned by a shared user and ` +
      `reads it back through one typed client', async () => {
    const [owner] = await db.insert(users).values({ email: 'ada@example.com' }).returning();
    await db.insert(${items}).values({ name: 'First', ownerId: owner!.id });
    await db.insert(${extension}).values({ userId: owner!.id, displayName: 'Ada L.' });
    const rows = await db
      .select({ item: ${items}.name, owner: users.email, displayName: ${extension}.displayName })
      .from(${items})
      .innerJoin(users, eq(users.id, ${items}.ownerId))
      .innerJoin(${extension}, eq(${extension}.userId, users.id));
    expect(rows).toEqual([{ item: 'First', owner: 'ada@example.com', displayName: 'Ada L.' }]);
  });
});
`,
  };
}
