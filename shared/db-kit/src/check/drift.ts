import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readLatestSnapshot, type Snapshot } from '../migrations/snapshots';
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
 * "You changed the schema but did not generate": loads the package's schema entry (TypeScript,
 * through tsx), turns it into a drizzle snapshot and diffs it with the latest committed snapshot.
 * tsx and drizzle-kit's API take about a second to load, so only `check` pays for them.
 */
export async function driftFindings(pkg: SchemaPackage, generateCommand: string): Promise<Finding[]> {
  const schemaFile = join(pkg.dir, pkg.schema);
  const [{ tsImport }, api] = await Promise.all([import('tsx/esm/api'), import('drizzle-kit/api')]);
  let exports: Record<string, unknown>;
  try {
    exports = { ...((await tsImport(pathToFileURL(schemaFile).href, import.meta.url)) as Record<string, unknown>) };
  } catch (error) {
    const first = ((error as Error).message ?? String(error)).split('\n')[0];
    return [{ rule: 'schema-load', severity: 'error', file: schemaFile, message: `the schema entry does not load: ${first}`, next: 'Fix the error (pnpm typecheck shows it), then run check again.' }];
  }
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
