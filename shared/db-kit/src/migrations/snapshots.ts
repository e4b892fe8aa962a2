import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { SchemaPackage } from '../workspace';
import { readJournal, readJsonFile } from './files';

/** The parts of a drizzle-kit (v7) postgres snapshot we read. Keys are `schema.name`. */
export interface Snapshot {
  id: string;
  prevId: string;
  version: string;
  tables: Record<string, SnapshotTable>;
  enums: Record<string, { name: string; schema: string; values: string[] }>;
  sequences?: Record<string, unknown>;
  views?: Record<string, { name: string; schema: string }>;
  [key: string]: unknown;
}

/** drizzle-kit's snapshot of an empty PostgreSQL schema: the "before" of a package's first migration. */
export const EMPTY_SNAPSHOT: Snapshot = {
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

export interface SnapshotTable {
  name: string;
  schema: string;
  columns: Record<
    string,
    { name: string; type: string; typeSchema?: string; primaryKey: boolean; notNull: boolean; default?: unknown }
  >;
  indexes: Record<string, { name: string }>;
  foreignKeys: Record<
    string,
    { name: string; tableFrom: string; tableTo: string; schemaTo?: string; columnsFrom: string[]; columnsTo: string[] }
  >;
  compositePrimaryKeys: Record<string, { name: string; columns?: string[] }>;
  uniqueConstraints: Record<string, { name: string; columns?: string[]; nullsNotDistinct?: boolean }>;
  checkConstraints?: Record<string, { name: string }>;
  policies?: Record<string, { name: string }>;
}

export function snapshotPath(pkg: SchemaPackage, idx: number): string {
  return join(pkg.migrationsDir, 'meta', `${String(idx).padStart(4, '0')}_snapshot.json`);
}

/** The snapshot after the package's last migration; undefined before its first. */
export function readLatestSnapshot(pkg: SchemaPackage): Snapshot | undefined {
  const last = readJournal(pkg).entries.at(-1);
  return last ? readSnapshotAt(pkg, last.idx) : undefined;
}

/**
 * The schema as it stands after journal entry `idx`. A hand-written migration may come without
 * a snapshot of its own; it then inherits the nearest earlier one.
 */
export function readSnapshotAt(pkg: SchemaPackage, idx: number): Snapshot | undefined {
  for (let i = idx; i >= 0; i--) {
    const file = snapshotPath(pkg, i);
    if (existsSync(file)) return readJsonFile(pkg, file) as Snapshot;
  }
  return undefined;
}

/**
 * Who owns what, from each package's latest snapshot: `table:public.users` -> @large-event/database.
 * Snapshots are what the migrations built, so this needs no database and no TypeScript loading.
 *
 * @example
 *   ownership(ws.packages).get('table:public.teamd_projects')?.name; // '@teamd/database'
 */
export function ownership(packages: SchemaPackage[]): Map<string, SchemaPackage> {
  const owners = new Map<string, SchemaPackage>();
  for (const pkg of packages) {
    const snapshot = readLatestSnapshot(pkg);
    if (!snapshot) continue;
    for (const table of Object.values(snapshot.tables)) {
      const schema = table.schema || 'public';
      owners.set(`table:${schema}.${table.name}`, pkg);
      for (const index of Object.values(table.indexes ?? {})) owners.set(`index:${schema}.${index.name}`, pkg);
      for (const group of [
        table.foreignKeys,
        table.uniqueConstraints,
        table.compositePrimaryKeys,
        table.checkConstraints ?? {},
      ]) {
        for (const constraint of Object.values(group ?? {}))
          owners.set(`constraint:${schema}.${table.name}.${constraint.name}`, pkg);
      }
      for (const policy of Object.values(table.policies ?? {}))
        owners.set(`policy:${schema}.${table.name}.${policy.name}`, pkg);
    }
    for (const view of Object.values(snapshot.views ?? {}))
      owners.set(`view:${view.schema || 'public'}.${view.name}`, pkg);
    for (const e of Object.values(snapshot.enums ?? {})) owners.set(`enum:${e.schema || 'public'}.${e.name}`, pkg);
  }
  return owners;
}
