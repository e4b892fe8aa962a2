import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DbKitError } from '../errors';
import type { SchemaPackage } from '../workspace';
import { importDependency } from '../dependencies';

export interface LoadedSchema {
  pkg: SchemaPackage;
  /** Everything the package's schema entry exports: tables, enums, sequences, types. */
  exports: Record<string, unknown>;
}

/**
 * Imports each package's schema entry (TypeScript) with tsx, only when a command needs the
 * live schema (push, seed); generate and migrate never pay for it. All entries load in one tsx
 * namespace (what tsImport does per call), so a team's reference to `users` is the very table
 * shared exports and drizzle-orm loads once.
 *
 * @example
 *   const schemas = await loadSchemas(ws.allInOrder());
 *   const tables = unionOf(schemas); // { 'shared.users': PgTable, 'teamd.teamdProjects': PgTable, ... }
 */
let loads = 0;

export async function loadSchemas(packages: SchemaPackage[]): Promise<LoadedSchema[]> {
  const { register } = await importDependency<typeof import('tsx/esm/api')>('tsx/esm/api');
  // A namespace per load: a second load in the same process (in-process tests) sees edited files.
  const tsx = register({ namespace: `db-kit-schemas-${process.pid}-${++loads}` });
  const loaded: LoadedSchema[] = [];
  try {
    for (const pkg of packages) {
      const entry = join(pkg.dir, pkg.schema);
      try {
        const module = (await tsx.import(pathToFileURL(entry).href, import.meta.url)) as Record<string, unknown>;
        loaded.push({ pkg, exports: { ...module } });
      } catch (error) {
        const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
        throw new DbKitError(
          `Cannot load the schema of ${pkg.name} (${pkg.schema}): ${reason}`,
          'Fix the error in that file (pnpm typecheck shows it), then run the command again.',
        );
      }
    }
  } finally {
    await tsx.unregister();
  }
  return loaded;
}

/** Every package's exports in one object, keyed `alias.exportName` so equal export names never collide. */
export function unionOf(schemas: LoadedSchema[]): Record<string, unknown> {
  const union: Record<string, unknown> = {};
  for (const { pkg, exports } of schemas)
    for (const [name, value] of Object.entries(exports)) union[`${pkg.alias}.${name}`] = value;
  return union;
}
