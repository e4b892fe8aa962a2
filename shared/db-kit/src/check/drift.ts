import { join } from 'node:path';
import { DbKitError } from '../errors';
import { readLatestSnapshot, type Snapshot } from '../migrations/snapshots';
import type { LoadedSchema } from '../schema/load';
import type { SchemaPackage } from '../workspace';
import type { Finding } from './findings';

type DrizzleJson = Parameters<typeof import('drizzle-kit/api').generateMigration>[0];

const EMPTY_SNAPSHOT = {
  id: '00000000-0000-0000-0000-000000000000',
  prevId: '',
  version: '7',
  dialect: 'postgresql',
  tables: {},
  enums: {},
  schemas: {},
  sequences: {},
  roles: {},
  policies: {},
  views: {},
  _meta: { schemas: {}, tables: {}, columns: {} },
};

/**
 * "You changed the schema but did not generate": loads the packages' schema entries (TypeScript,
 * through tsx, in one namespace), turns each into a drizzle snapshot and diffs it with the package's
 * latest committed snapshot. tsx and drizzle-kit's API take about a second to load, so only `check`
 * pays for them.
 */
export async function driftFindings(
  packages: SchemaPackage[],
  generateCommand: (pkg: SchemaPackage) => string,
): Promise<Finding[]> {
  if (!packages.length) return [];
  const [{ loadSchemas }, api] = await Promise.all([import('../schema/load'), import('drizzle-kit/api')]);
  let loaded: LoadedSchema[];
  try {
    loaded = await loadSchemas(packages);
  } catch {
    // One entry does not load: load them one by one to say which, and check the others.
    const findings: Finding[] = [];
    for (const pkg of packages) {
      try {
        findings.push(...(await diff(api, (await loadSchemas([pkg]))[0]!, generateCommand(pkg))));
      } catch (error) {
        const reason = error instanceof DbKitError ? error.message : String(error);
        findings.push({
          rule: 'schema-load',
          severity: 'error',
          file: join(pkg.dir, pkg.schema),
          message: reason,
          next: 'Fix the error (pnpm typecheck shows it), then run check again.',
        });
      }
    }
    return findings;
  }
  const findings: Finding[] = [];
  for (const schema of loaded) findings.push(...(await diff(api, schema, generateCommand(schema.pkg))));
  return findings;
}

async function diff(
  api: typeof import('drizzle-kit/api'),
  { pkg, exports }: LoadedSchema,
  generateCommand: string,
): Promise<Finding[]> {
  const schemaFile = join(pkg.dir, pkg.schema);
  const previous = (readLatestSnapshot(pkg) ?? EMPTY_SNAPSHOT) as unknown as DrizzleJson;
  const current = api.generateDrizzleJson(exports) as unknown as DrizzleJson;
  const ambiguous = renameCandidates(previous as unknown as Snapshot, current as unknown as Snapshot);
  // drizzle-kit asks "renamed or dropped?" when names both vanish and appear; never prompt in a check.
  const statements = ambiguous.length ? ambiguous : await api.generateMigration(previous, current);
  if (!statements.length) return [];
  const shown = statements.slice(0, 4).map((s) => s.replace(/\s+/g, ' ').slice(0, 120));
  const more = statements.length > shown.length ? ` (+${statements.length - shown.length} more)` : '';
  return [
    {
      rule: 'schema-without-migration',
      severity: 'error',
      file: schemaFile,
      message: `you changed the schema but did not generate; a migration would ${ambiguous.length ? 'need answers about' : 'run'}: ${shown.join(' | ')}${more}`,
      next: `Run ${generateCommand} --name <what_changed> and commit the migration with the schema change.`,
    },
  ];
}

/** Tables, columns or enums that both disappeared and appeared: the diff needs a human to say "rename". */
function renameCandidates(previous: Snapshot, current: Snapshot): string[] {
  const changes: string[] = [];
  const diff = (before: string[], after: string[], what: string) => {
    const gone = before.filter((n) => !after.includes(n));
    const added = after.filter((n) => !before.includes(n));
    if (gone.length && added.length) changes.push(`${what}: removed ${gone.join(', ')}; added ${added.join(', ')}`);
  };
  diff(Object.keys(previous.tables ?? {}), Object.keys(current.tables ?? {}), 'tables');
  diff(Object.keys(previous.enums ?? {}), Object.keys(current.enums ?? {}), 'enums');
  for (const [key, table] of Object.entries(current.tables ?? {})) {
    const before = previous.tables?.[key];
    if (before) diff(Object.keys(before.columns ?? {}), Object.keys(table.columns ?? {}), `columns of ${key}`);
  }
  return changes;
}
