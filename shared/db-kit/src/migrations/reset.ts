import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type postgres from 'postgres';
import { inTransaction, type Sql } from '../connection';
import type { SchemaPackage } from '../workspace';
import { ADOPTIONS_TABLE } from './files';
import { bookkeepingTable } from './runner';
import { historyOf } from './history';
import { ownership, teamPrefixes } from './ownership';
import { quoteIdent } from '../sql-text';
import { forgetPushRecords } from '../schema/pushes';

export interface DroppedObjects {
  tables: string[];
  types: string[];
  sequences: string[];
  bookkeeping: string[];
}

/**
 * Drops, in one transaction, everything the packages own: the tables, enums and sequences of
 * their latest snapshots, tables carrying a team's prefix that no migration made yet (pushed
 * ones), and their bookkeeping tables. Anything else in the database stays. CASCADE also
 * removes foreign keys (only the constraints) that other tables hold on ours.
 *
 * @example
 *   const dropped = await dropOwnedObjects(sql, ws.allInOrder());
 *   await new Migrator(sql, ws.allInOrder()).migrate();
 */
export async function dropOwnedObjects(sql: Sql, packages: SchemaPackage[]): Promise<DroppedObjects> {
  const sequences = packages.flatMap((p) =>
    Object.values(
      (historyOf(p).latestSnapshot()?.sequences ?? {}) as Record<string, { name: string; schema?: string }>,
    ).map((s) => `${s.schema || 'public'}.${s.name}`),
  );
  return inTransaction(sql, async (conn) => {
    const { tables, types } = await droppedRelations(conn, packages);
    // The adoption records go with the bookkeeping: they describe what the dropped migrations built.
    const bookkeeping = await existing(conn, 'to_regclass', [
      ...packages.map((p) => bookkeepingTable(p).replace(/"/g, '')),
      ADOPTIONS_TABLE.replace(/"/g, ''),
    ]);
    if (tables.length) await conn.unsafe(`drop table if exists ${tables.map(quoteQualified).join(', ')} cascade`);
    if (types.length) await conn.unsafe(`drop type if exists ${types.map(quoteQualified).join(', ')} cascade`);
    const sequencesLeft = await existing(conn, 'to_regclass', sequences);
    if (sequencesLeft.length)
      await conn.unsafe(`drop sequence if exists ${sequencesLeft.map(quoteQualified).join(', ')} cascade`);
    if (bookkeeping.length) await conn.unsafe(`drop table if exists ${bookkeeping.map(quoteQualified).join(', ')}`);
    // What their pushes built is gone too: the next push diffs from the migrations again.
    await forgetPushRecords(
      conn,
      packages.map((p) => p.name),
    );
    return { tables, types, sequences: sequencesLeft, bookkeeping };
  });
}

/** The tables (owned or team-prefixed) and enum types reset drops, those that exist. */
async function droppedRelations(
  tx: postgres.ReservedSql | Sql,
  packages: SchemaPackage[],
): Promise<{ tables: string[]; types: string[] }> {
  const owned = [...ownership(packages).keys()];
  const named = (kind: string) => owned.filter((k) => k.startsWith(`${kind}:`)).map((k) => k.slice(kind.length + 1));
  const prefixes = teamPrefixes(packages);
  const prefixed = prefixes.length
    ? await tx.unsafe(
        `select schemaname || '.' || tablename as name from pg_tables where schemaname <> 'drizzle' and ` +
          `(${prefixes.map((_, i) => `starts_with(tablename, $${i + 1})`).join(' or ')})`,
        prefixes,
      )
    : [];
  const tables = await existing(tx, 'to_regclass', [
    ...new Set([...named('table'), ...prefixed.map((r) => r.name as string)]),
  ]);
  return { tables, types: await existing(tx, 'to_regtype', named('enum')) };
}

export interface DependentView {
  /** schema.name */
  name: string;
  kind: 'view' | 'materialized view';
}

/**
 * The views and materialized views that reset's DROP ... CASCADE would take with it (directly, or through
 * another such view) and that no package's migrations create, so migrating again will not bring them back.
 *
 * @example
 *   await dependentViews(sql, ws.allInOrder()); // [{ name: 'public.my_report', kind: 'view' }]
 */
export async function dependentViews(sql: Sql, packages: SchemaPackage[]): Promise<DependentView[]> {
  const { tables, types } = await droppedRelations(sql, packages);
  if (!tables.length && !types.length) return [];
  const rows = await sql.unsafe(
    `with recursive dropped(oid) as (
       select unnest($1::text[])::regclass::oid union select unnest($2::text[])::regtype::oid
     ), dependents(oid) as (
       select r.ev_class from pg_depend d join pg_rewrite r on r.oid = d.objid
        where d.classid = 'pg_rewrite'::regclass and d.refobjid in (select oid from dropped)
       union
       select r.ev_class from pg_depend d join pg_rewrite r on r.oid = d.objid
        join dependents v on d.refobjid = v.oid where d.classid = 'pg_rewrite'::regclass
     )
     select distinct n.nspname || '.' || c.relname as name, c.relkind::text as relkind
       from dependents v join pg_class c on c.oid = v.oid join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('v', 'm') and c.oid not in (select oid from dropped)
      order by 1`,
    [tables.map(quoteQualified), types.map(quoteQualified)],
  );
  const ours = viewsInMigrations(packages);
  return rows
    .filter((r) => !ours.has(String(r.name)) && !ours.has(String(r.name).replace(/^public\./, '')))
    .map((r) => ({ name: String(r.name), kind: r.relkind === 'm' ? 'materialized view' : 'view' }));
}

/** Views the packages' snapshots or migration SQL create: migrating again brings them back. */
function viewsInMigrations(packages: SchemaPackage[]): Set<string> {
  const names = new Set<string>();
  for (const key of ownership(packages).keys()) if (key.startsWith('view:')) names.add(key.slice(5));
  const create = /create\s+(?:or\s+replace\s+)?(?:materialized\s+)?view\s+(?:if\s+not\s+exists\s+)?([\w".]+)/gi;
  for (const pkg of packages) {
    if (!existsSync(pkg.migrationsDir)) continue;
    for (const file of readdirSync(pkg.migrationsDir).filter((f) => f.endsWith('.sql') && !f.endsWith('.down.sql')))
      for (const m of readFileSync(join(pkg.migrationsDir, file), 'utf8').matchAll(create))
        names.add(m[1]!.replace(/"/g, '').toLowerCase());
  }
  return names;
}

async function existing(
  tx: postgres.ReservedSql | Sql,
  lookup: 'to_regclass' | 'to_regtype',
  names: string[],
): Promise<string[]> {
  const found: string[] = [];
  for (const name of names) {
    const [row] = await tx.unsafe(`select ${lookup}($1) is not null as present`, [quoteQualified(name)]);
    if (row?.present) found.push(name);
  }
  return found;
}

function quoteQualified(name: string): string {
  return name.split('.').map(quoteIdent).join('.');
}
