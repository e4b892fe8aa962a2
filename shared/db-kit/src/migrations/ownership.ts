import { type ObjectKind, type ParsedMigration, TABLE_SCOPED } from '../check/sql';
import type { SchemaPackage } from '../workspace';
import { RELEASES_HEADER } from './files';
import { historyOf } from './history';

/**
 * Who owns which object, in one place. An object key is `kind:schema.name` (`table:public.users`), for a
 * constraint, trigger or policy `kind:schema.table.name`, for an extension `extension:name`. Three sources,
 * in this order: the packages' latest snapshots (`ownership`), what their hand-written SQL creates
 * (`addCreatedBySql`: extensions, functions, views, triggers, policies), and a team's name prefix for an
 * object no file names yet (`prefixOwner`). Check's ownership rule, push, status, reset, rollback, scaffold
 * and promote ask here.
 */

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

/**
 * For each migration, the packages that a later-or-same release migration of its package handed tables to
 * (`-- db-kit: releases ... to <package>`, written by promote): up to its release, a package built what the
 * other owns now, which is history, not a trespass.
 */
export function handOvers(migrations: ParsedMigration[]): Map<ParsedMigration, Set<string>> {
  const result = new Map<ParsedMigration, Set<string>>();
  const receivers = new Map<string, Set<string>>();
  for (const migration of [...migrations].reverse()) {
    const received = new Set(receivers.get(migration.pkg.name));
    const release = RELEASES_HEADER.exec(migration.text);
    if (release) received.add(release[2]!);
    receivers.set(migration.pkg.name, received);
    result.set(migration, received);
  }
  return result;
}

/**
 * Adds to `owners` what the migrations' SQL creates and no snapshot records: the first package whose
 * migration creates an object owns it. (A later create, a CREATE OR REPLACE included, changes nothing here:
 * check's ownership rule judges it.)
 *
 * @param migrations every package's migrations, parsed, in journal order
 */
export function addCreatedBySql(
  owners: Map<string, SchemaPackage>,
  migrations: ParsedMigration[],
): Map<string, SchemaPackage> {
  for (const migration of migrations) {
    for (const statement of migration.statements) {
      for (const target of statement.targets) {
        if (target.action !== 'create') continue;
        const key = `${target.kind}:${target.qualifiedName}`;
        if (!owners.has(key)) owners.set(key, migration.pkg);
      }
    }
  }
  return owners;
}

/** The owner of an object by its key; a constraint, trigger or policy belongs to its table's owner first. */
export function ownerOfObject(
  owners: Map<string, SchemaPackage>,
  kind: ObjectKind | string,
  qualifiedName: string,
): SchemaPackage | undefined {
  if ((TABLE_SCOPED as readonly string[]).includes(kind)) {
    const [schema, table] = qualifiedName.split('.');
    return owners.get(`table:${schema}.${table}`) ?? owners.get(`${kind}:${qualifiedName}`);
  }
  return owners.get(`${kind}:${qualifiedName}`);
}

/** The team whose table prefix (`dbKit.tablePrefix`) starts `name`: the owner of a name no file defines yet. */
export function prefixOwner(packages: SchemaPackage[], name: string): SchemaPackage | undefined {
  return packages.find((p) => p.tablePrefix && name.startsWith(p.tablePrefix));
}

/** The team prefixes of the packages (`teamd_`), for the objects they own by name alone. */
export function teamPrefixes(packages: SchemaPackage[]): string[] {
  return packages.map((p) => p.tablePrefix).filter((p): p is string => Boolean(p));
}

/** The owner of `kind:schema.name`, falling back to a team's table prefix for objects no file names yet. */
export function ownerOf(
  owners: Map<string, SchemaPackage>,
  packages: SchemaPackage[],
  kind: string,
  qualified: string,
): SchemaPackage | undefined {
  return owners.get(`${kind}:${qualified}`) ?? prefixOwner(packages, qualified.slice(qualified.indexOf('.') + 1));
}
