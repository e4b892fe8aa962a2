import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { SchemaPackage } from '../workspace';
import { readJsonFile } from './files';

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

/** The snapshot file written for journal entry `idx`, if there is one. Read through `historyOf(pkg).snapshotAt`. */
export function readSnapshotFile(pkg: SchemaPackage, idx: number): Snapshot | undefined {
  const file = snapshotPath(pkg, idx);
  return existsSync(file) ? (readJsonFile(pkg, file) as Snapshot) : undefined;
}
