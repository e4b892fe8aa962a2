import type { SchemaPackage, Workspace } from '../workspace';
import { historyOf } from './history';

/** A reference from a package's schema to an object of a package it builds on. */
export interface MissingReference {
  /** `teamd_bookings.venue_id -> venues.id` or `teamd_tasks.mood: enum mood` */
  reference: string;
  /** `public.venues` (a table) or `public.venues.id` (a column) or `enum public.mood` */
  missing: string;
  /** The packages the object would have to come from. */
  from: SchemaPackage[];
}

/**
 * Objects `pkg`'s latest snapshot references outside itself (foreign keys to other tables, enum
 * column types) that no package it builds on has in its latest snapshot: the shared change was
 * never generated, so `pkg`'s migration would fail on migrate. Reads snapshots only.
 *
 * @example
 *   missingReferences(ws, ws.resolve('teamd')); // [{ reference: 'teamd_bookings.venue_id -> venues.id', ... }]
 */
export function missingReferences(ws: Workspace, pkg: SchemaPackage): MissingReference[] {
  const own = historyOf(pkg).latestSnapshot();
  const below = ws.migrationOrder(pkg).filter((p) => p !== pkg);
  if (!own || !below.length) return [];
  const tables = new Map<string, Set<string>>();
  const enums = new Set<string>();
  for (const snapshot of [own, ...below.map((p) => historyOf(p).latestSnapshot())]) {
    for (const t of Object.values(snapshot?.tables ?? {}))
      tables.set(`${t.schema || 'public'}.${t.name}`, new Set(Object.values(t.columns).map((c) => c.name)));
    for (const e of Object.values(snapshot?.enums ?? {})) enums.add(`${e.schema || 'public'}.${e.name}`);
  }
  const missing: MissingReference[] = [];
  for (const table of Object.values(own.tables)) {
    for (const fk of Object.values(table.foreignKeys ?? {})) {
      const target = `${fk.schemaTo || 'public'}.${fk.tableTo}`;
      const columns = tables.get(target);
      const reference = `${table.name}.${fk.columnsFrom.join(',')} -> ${fk.tableTo}.${fk.columnsTo.join(',')}`;
      if (!columns) missing.push({ reference, missing: target, from: below });
      else
        for (const column of fk.columnsTo)
          if (!columns.has(column)) missing.push({ reference, missing: `${target}.${column}`, from: below });
    }
    for (const column of Object.values(table.columns)) {
      if (!column.typeSchema) continue; // built-in types carry no schema in drizzle's snapshot
      const type = `${column.typeSchema}.${column.type.replace(/\[\]$/, '')}`;
      if (!enums.has(type))
        missing.push({
          reference: `${table.name}.${column.name}: ${column.type}`,
          missing: `enum ${type}`,
          from: below,
        });
    }
  }
  return missing;
}
