import { getTableColumns, sql as drizzleSql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import { getTableConfig, type PgTable } from 'drizzle-orm/pg-core';
import type { Sql } from '../connection';
import { DbKitError, describeError } from '../errors';
import type { SchemaObjects } from '../schema/objects';
import { literal, quoteIdent as quote } from '../sql-text';

export interface SeedOptions {
  /** Rows per table (side tables get at most one per row they extend). */
  count: number;
  /** drizzle-seed's seed: the same number gives the same rows. */
  seed: number;
}

export interface SeededTable {
  table: string;
  rows: number;
}

type SeedTable = SchemaObjects['tables'][number];

/** Estimated rows in `public` (from the statistics, no scan): zero means seeding loses nothing. */
export async function countPublicRows(sql: Sql): Promise<number> {
  const [row] =
    await sql`select coalesce(sum(n_live_tup), 0)::int as rows from pg_stat_user_tables where schemaname = 'public'`;
  return (row?.rows as number | undefined) ?? 0;
}

/**
 * Replaces the rows of every package's tables with deterministic sample data from drizzle-seed.
 * The tables are emptied first (TRUNCATE ... RESTART IDENTITY), so a second run gives exactly
 * the same rows, ids included; sequences then continue after the seeded ids. All of it runs in
 * one transaction.
 *
 * drizzle-seed picks foreign keys from the referenced table's rows, but for a 1:1 side table
 * (its primary key is a foreign key, like teamd_user_settings.user_id) it would repeat keys:
 * those tables are seeded in a second pass, one row per referenced row.
 *
 * @example
 *   await seedTables(sql, schemaObjects(loaded, ws.packages).tables, { count: 10, seed: 1 });
 */
export async function seedTables(sql: Sql, tables: SeedTable[], options: SeedOptions): Promise<SeededTable[]> {
  const { seed } = await import('drizzle-seed');
  const sideTables = tables.filter((t) => sideTableKey(t.table));
  const mainTables = tables.filter((t) => !sideTables.includes(t));
  try {
    await drizzle(sql).transaction(async (db) => {
      const run = (text: string) => db.execute(drizzleSql.raw(text));
      await run(`truncate ${tables.map((t) => qualifiedName(t.table)).join(', ')} restart identity`);
      await seed(db, Object.fromEntries(mainTables.map((t) => [t.key, t.table])), options);
      for (const side of sideTables) {
        const key = sideTableKey(side.table)!;
        const keys = await run(
          `select distinct ${quote(key.referencedColumn)} as k from ${key.referencedTable} order by 1`,
        );
        const values = keys.map((r) => r.k as string | number).slice(0, options.count);
        if (!values.length) continue;
        await seed(db, { [side.key]: side.table }, options).refine((f) => ({
          [side.key]: {
            count: values.length,
            columns: { [key.property]: f.valuesFromArray({ values, isUnique: true }) },
          },
        }));
      }
      // drizzle-seed writes serial ids itself; move each sequence past them, or the app's next insert collides.
      for (const t of tables) {
        const name = qualifiedName(t.table);
        for (const column of getTableConfig(t.table).columns) {
          const [owned] = await run(`select pg_get_serial_sequence(${literal(name)}, ${literal(column.name)}) as seq`);
          if (!owned?.seq) continue;
          const max = `(select max(${quote(column.name)}) from ${name})`;
          await run(`select setval(${literal(owned.seq as string)}, coalesce(${max}, 1), ${max} is not null)`);
        }
      }
    });
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause ?? error;
    throw new DbKitError(
      `Seeding failed: ${describeError(cause).split('\n')[0]}. Nothing was changed.`,
      seedHint(cause),
    );
  }
  const counted: SeededTable[] = [];
  for (const t of tables) {
    const [row] = await sql.unsafe(`select count(*)::int as n from ${qualifiedName(t.table)}`);
    counted.push({ table: getTableConfig(t.table).name, rows: row!.n as number });
  }
  return counted;
}

function seedHint(error: unknown): string {
  const code = (error as { code?: string }).code;
  if (code === '0A000')
    return 'A table outside our packages references one we seed: empty it yourself first, or drop its foreign key.';
  if (code === '42P01' || code === '42703')
    return 'The database is behind the schema files: run migrate (or push) first, then seed again.';
  return 'Run migrate first; if the schema has a constraint drizzle-seed cannot satisfy, seed that table yourself.';
}

/** A table whose single-column primary key is also a foreign key: a 1:1 extension of another row. */
function sideTableKey(
  table: PgTable,
): { property: string; referencedTable: string; referencedColumn: string } | undefined {
  const config = getTableConfig(table);
  const primary = config.columns.filter((c) => c.primary);
  if (primary.length !== 1) return undefined;
  for (const fk of config.foreignKeys) {
    const reference = fk.reference();
    if (reference.columns.length !== 1 || reference.columns[0] !== primary[0]) continue;
    const property = Object.entries(getTableColumns(table)).find(([, column]) => column === primary[0])?.[0];
    if (!property) continue;
    return {
      property,
      referencedTable: qualifiedName(reference.foreignTable),
      referencedColumn: reference.foreignColumns[0]!.name,
    };
  }
  return undefined;
}

function qualifiedName(table: PgTable): string {
  const config = getTableConfig(table);
  return `${config.schema ? `${quote(config.schema)}.` : ''}${quote(config.name)}`;
}
