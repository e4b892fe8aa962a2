import type { SchemaPackage } from '../workspace';
import { historyOf } from './history';

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
    const snapshot = historyOf(pkg).latestSnapshot();
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
