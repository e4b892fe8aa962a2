import type postgres from 'postgres';
import type { Sql } from '../connection';
import type { SchemaPackage } from '../workspace';
import { ADOPTIONS_TABLE } from './files';
import { bookkeepingTable } from './runner';
import { ownership, readLatestSnapshot } from './snapshots';
import { quoteIdent } from '../sql-text';

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
  const owned = [...ownership(packages).keys()];
  const named = (kind: string) => owned.filter((k) => k.startsWith(`${kind}:`)).map((k) => k.slice(kind.length + 1));
  const sequences = packages.flatMap((p) =>
    Object.values((readLatestSnapshot(p)?.sequences ?? {}) as Record<string, { name: string; schema?: string }>).map(
      (s) => `${s.schema || 'public'}.${s.name}`,
    ),
  );
  const prefixes = packages.map((p) => p.tablePrefix).filter((p): p is string => Boolean(p));
  return sql.begin(async (tx) => {
    const prefixed = prefixes.length
      ? await tx.unsafe(
          `select schemaname || '.' || tablename as name from pg_tables where schemaname <> 'drizzle' and (${prefixes.map((_, i) => `starts_with(tablename, $${i + 1})`).join(' or ')})`,
          prefixes,
        )
      : [];
    const tables = await existing(tx, 'to_regclass', [
      ...new Set([...named('table'), ...prefixed.map((r) => r.name as string)]),
    ]);
    const types = await existing(tx, 'to_regtype', named('enum'));
    // The adoption records go with the bookkeeping: they describe what the dropped migrations built.
    const bookkeeping = await existing(tx, 'to_regclass', [
      ...packages.map((p) => bookkeepingTable(p).replace(/"/g, '')),
      ADOPTIONS_TABLE.replace(/"/g, ''),
    ]);
    if (tables.length) await tx.unsafe(`drop table if exists ${tables.map(quoteQualified).join(', ')} cascade`);
    if (types.length) await tx.unsafe(`drop type if exists ${types.map(quoteQualified).join(', ')} cascade`);
    const sequencesLeft = await existing(tx, 'to_regclass', sequences);
    if (sequencesLeft.length)
      await tx.unsafe(`drop sequence if exists ${sequencesLeft.map(quoteQualified).join(', ')} cascade`);
    if (bookkeeping.length) await tx.unsafe(`drop table if exists ${bookkeeping.map(quoteQualified).join(', ')}`);
    return { tables, types, sequences: sequencesLeft, bookkeeping };
  }) as Promise<DroppedObjects>;
}

async function existing(
  tx: postgres.TransactionSql,
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
