import { is } from 'drizzle-orm';
import { getTableConfig, isPgEnum, isPgSequence, PgTable } from 'drizzle-orm/pg-core';
import { ownership, teamPrefixes } from '../migrations/ownership';
import type { SchemaPackage } from '../workspace';
import type { LoadedSchema } from './load';

export interface SchemaObjects {
  /** `table:public.users`, `enum:public.x`, `sequence:public.x`, `index:public.x` -> owner. */
  owners: Map<string, SchemaPackage>;
  /** Table names push may look at: every table a package defines or owns, plus team prefixes (`teamd_*`). */
  tableFilters: string[];
  /** Postgres schemas the packages use (never `drizzle`, where bookkeeping lives). */
  schemas: string[];
  tables: Array<{ key: string; table: PgTable; pkg: SchemaPackage }>;
}

/**
 * What every package defines, from its live schema (what the developer is editing) and its
 * latest snapshot (what its migrations built): the map push asks `ownerOf` (migrations/ownership.ts) about.
 */
export function schemaObjects(loaded: LoadedSchema[], packages: SchemaPackage[]): SchemaObjects {
  const owners = new Map<string, SchemaPackage>(ownership(packages));
  const tables: SchemaObjects['tables'] = [];
  const schemas = new Set<string>(['public']);
  for (const { pkg, exports } of loaded) {
    for (const [name, value] of Object.entries(exports)) {
      if (is(value, PgTable)) {
        const config = getTableConfig(value);
        const schema = config.schema ?? 'public';
        schemas.add(schema);
        owners.set(`table:${schema}.${config.name}`, pkg);
        for (const index of config.indexes)
          if (index.config.name) owners.set(`index:${schema}.${index.config.name}`, pkg);
        tables.push({ key: `${pkg.alias}.${name}`, table: value, pkg });
      } else if (isPgEnum(value)) {
        const schema = value.schema ?? 'public';
        schemas.add(schema);
        owners.set(`enum:${schema}.${value.enumName}`, pkg);
      } else if (isPgSequence(value)) {
        const schema = value.schema ?? 'public';
        schemas.add(schema);
        owners.set(`sequence:${schema}.${value.seqName}`, pkg);
      }
    }
  }
  const tableNames = [...owners.keys()].filter((k) => k.startsWith('table:')).map((k) => k.slice(k.indexOf('.') + 1));
  const prefixes = teamPrefixes(packages).map((prefix) => `${prefix}*`);
  schemas.delete('drizzle');
  return { owners, tableFilters: [...new Set([...tableNames, ...prefixes])], schemas: [...schemas], tables };
}
