import type postgres from 'postgres';
import { MIGRATIONS_SCHEMA, type SchemaPackage } from '../workspace';
import type { MigrationFile } from './files';
import { literal } from '../sql-text';
import { isConnectionLost } from '../errors';

type Queryable = postgres.Sql | postgres.ReservedSql;
type Layout = Map<string, { hasName: boolean; hasDown: boolean }>;

function layoutOf(rows: readonly postgres.Row[]): Layout {
  return new Map(
    rows.map((r) => [r.table as string, { hasName: r.has_name as boolean, hasDown: r.has_down as boolean }]),
  );
}

/** One row of a package's bookkeeping table. `id`, `hash`, `created_at` are drizzle's; `name` is ours. */
export interface AppliedRow {
  id: number;
  hash: string;
  created_at: string | null;
  name: string | null;
  /** A down migration is stored in the row (`down_sql`), so rollback works without the file. */
  hasDown?: boolean;
}

export function bookkeepingTable(pkg: SchemaPackage): string {
  return `"${MIGRATIONS_SCHEMA}"."${pkg.migrationsTable}"`;
}

/**
 * The bookkeeping tables of several packages (`drizzle.__drizzle_migrations`, `drizzle.__teamd_migrations`):
 * drizzle's own columns, so drizzle-kit migrate keeps working on the same table, plus the
 * migration's name, when it ran, how long it took and whether it ran out of order.
 *
 * @example
 *   const books = new Bookkeeping(packages);
 *   const applied = await books.read(sql); // Map: package name -> rows
 */
export class Bookkeeping {
  constructor(private readonly packages: SchemaPackage[]) {}

  /**
   * Which tables exist and which of them already have our columns, in one catalog query. The names
   * are literals, not parameters: one round trip instead of two (parse, then bind), and no array
   * parameter, so it also runs on a connection without the driver's array types (migrate's).
   */
  private layoutQuery(): string {
    const tables = this.packages.map((p) => literal(p.migrationsTable)).join(', ');
    return `select c.relname as table, exists (
                select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'name' and not a.attisdropped
              ) as has_name, exists (
                select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'down_sql' and not a.attisdropped
              ) as has_down
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = ${literal(MIGRATIONS_SCHEMA)} and c.relkind in ('r', 'p')
          and c.relname in (${tables || 'null'})`;
  }

  private async layout(sql: Queryable): Promise<Layout> {
    return layoutOf(await sql.unsafe(this.layoutQuery()).simple());
  }

  /** Creates missing tables and adds our columns to tables drizzle's migrator created. */
  async ensure(conn: postgres.ReservedSql): Promise<void> {
    const layout = await this.layout(conn);
    const changes: string[] = [];
    for (const pkg of this.packages) {
      const table = bookkeepingTable(pkg);
      const found = layout.get(pkg.migrationsTable);
      if (!found) {
        changes.push(`create schema if not exists "${MIGRATIONS_SCHEMA}"`);
        changes.push(
          `create table if not exists ${table} (id serial primary key, hash text not null, created_at bigint)`,
        );
      }
      if (!found?.hasName) {
        changes.push(
          `alter table ${table}
             add column if not exists name text,
             add column if not exists applied_at timestamptz default now(),
             add column if not exists execution_ms integer,
             add column if not exists out_of_order boolean not null default false`,
        );
      }
      // The down SQL of each applied migration (db-kit rollback), added to tables of older db-kit versions.
      if (!found?.hasDown) changes.push(`alter table ${table} add column if not exists down_sql text`);
    }
    if (changes.length) await conn.unsafe(changes.join(';\n')).simple();
  }

  /** Every package's rows (see readWithLayout). A package whose table does not exist yet has no rows. */
  async read(sql: Queryable): Promise<Map<string, AppliedRow[]>> {
    return (await this.readWithLayout(sql)).applied;
  }

  /**
   * The rows, and whether every table already has our columns (then `ensure` would change nothing). The usual
   * database has them all: the rows query that names every column of every table is sent alone, one round trip,
   * and its success proves the layout (`ensure` adds name with the other columns of ours, and down_sql). Where it
   * fails (a table or a column missing: a first migrate, or drizzle's own migrator's), the layout is read first.
   * Only on the pool: a reserved session may be inside a transaction, which a failed guess would abort.
   */
  async readWithLayout(sql: Queryable): Promise<{ applied: Map<string, AppliedRow[]>; complete: boolean }> {
    const full: Layout = new Map(this.packages.map((p) => [p.migrationsTable, { hasName: true, hasDown: true }]));
    const assumed = this.rowsQuery(full);
    if (assumed && !('release' in sql)) {
      try {
        return { applied: this.appliedFrom(await sql.unsafe(assumed).simple()), complete: true };
      } catch (error) {
        if (isConnectionLost(error)) throw error;
      }
    }
    const layout = await this.layout(sql);
    const query = this.rowsQuery(layout);
    return {
      applied: this.appliedFrom(query ? await sql.unsafe(query).simple() : []),
      complete: this.isComplete(layout),
    };
  }

  private isComplete(layout: Layout): boolean {
    return this.packages.every((p) => layout.get(p.migrationsTable)?.hasName && layout.get(p.migrationsTable)?.hasDown);
  }

  /** One query over every package's table the layout has, or undefined when none exists. */
  private rowsQuery(layout: Layout): string | undefined {
    const parts = this.packages
      .filter((p) => layout.has(p.migrationsTable))
      .map((p) => {
        const found = layout.get(p.migrationsTable)!;
        const name = found.hasName ? 'name' : 'null::text';
        const down = found.hasDown ? 'down_sql is not null' : 'false';
        return (
          `select ${literal(p.name)} as package, id, hash, created_at::text as created_at, ${name} as name, ` +
          `${down} as has_down from ${bookkeepingTable(p)}`
        );
      });
    return parts.length ? `${parts.join('\nunion all\n')}\norder by package, id` : undefined;
  }

  private appliedFrom(rows: readonly postgres.Row[]): Map<string, AppliedRow[]> {
    const applied = new Map<string, AppliedRow[]>(this.packages.map((p) => [p.name, []]));
    for (const row of rows)
      applied.get(row.package)!.push({
        id: row.id,
        hash: row.hash,
        created_at: row.created_at,
        name: row.name,
        hasDown: row.has_down,
      });
    return applied;
  }

  /**
   * The insert recording `file` as applied, as plain SQL so it travels in the migration's own
   * round trip. Without `executionMs`, Postgres measures it: `now()` is the transaction's start.
   */
  static recordStatement(pkg: SchemaPackage, file: MigrationFile, outOfOrder: boolean, executionMs?: number): string {
    const ms =
      executionMs === undefined
        ? '(extract(epoch from clock_timestamp() - now()) * 1000)::int'
        : String(Math.round(executionMs));
    const down = file.downSql === undefined ? 'null' : literal(file.downSql);
    return `insert into ${bookkeepingTable(pkg)} (hash, created_at, name, execution_ms, out_of_order, down_sql)
      values (${literal(file.hash)}, ${Math.trunc(file.when)}, ${literal(file.tag)}, ${ms}, ${outOfOrder}, ${down})`;
  }
}
