import type postgres from 'postgres';
import { MIGRATIONS_SCHEMA } from '../workspace';

type Queryable = postgres.Sql | postgres.ReservedSql;

export interface LiveColumn {
  name: string;
  /** As Postgres spells it: `character varying(255)`, `timestamp with time zone`. */
  type: string;
  notNull: boolean;
}

export interface LiveTable {
  /** `public.users` */
  name: string;
  columns: LiveColumn[];
  /** Planner estimate (pg_class.reltuples), else live tuples from the statistics collector. */
  estimatedRows: number;
  /** Table, indexes and TOAST (pg_total_relation_size). */
  bytes: number;
}

export interface LiveSchema {
  tables: LiveTable[];
  /** `public.teamd_task_status` -> values in order */
  enums: Map<string, string[]>;
  /** `public.events_organizer_id_idx` -> `public.events`: indexes that do not back a constraint */
  indexes: Map<string, string>;
  /** `public.users.users_email_unique`: foreign key, unique and check constraints */
  constraints: Set<string>;
  /**
   * `public.events_title_idx` -> `public.events`: indexes Postgres does not use (a failed CREATE INDEX CONCURRENTLY)
   */
  invalidIndexes: Map<string, string>;
}

// User objects only: no system schemas, not our bookkeeping schema, nothing an extension owns.
const USER_SCHEMAS = `n.nspname not in ('pg_catalog', 'information_schema', '${MIGRATIONS_SCHEMA}')
  and n.nspname not like 'pg\\_%'`;
const NOT_FROM_EXTENSION = (oid: string) =>
  `not exists (select 1 from pg_depend d where d.objid = ${oid} and d.deptype = 'e')`;

/**
 * The live schema, in one catalog query per kind of object. The queries are issued together, so
 * postgres.js pipelines them: one round trip however many tables there are.
 */
export async function readLiveSchema(sql: Queryable): Promise<LiveSchema> {
  const [tables, columns, enums, indexes, constraints, invalid] = await Promise.all([
    sql.unsafe(
      `select n.nspname || '.' || c.relname as name, c.reltuples::float8 as reltuples,
              coalesce(s.n_live_tup, 0)::float8 as live, pg_total_relation_size(c.oid)::float8 as bytes
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
         left join pg_stat_user_tables s on s.relid = c.oid
        where c.relkind in ('r', 'p') and not c.relispartition and ${USER_SCHEMAS} and ${NOT_FROM_EXTENSION('c.oid')}
        order by 1`,
    ),
    sql.unsafe(
      `select n.nspname || '.' || c.relname as table, a.attname as name,
              format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as not_null
         from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and not c.relispartition and a.attnum > 0 and not a.attisdropped
          and ${USER_SCHEMAS} and ${NOT_FROM_EXTENSION('c.oid')}
        order by 1, a.attnum`,
    ),
    sql.unsafe(
      `select n.nspname || '.' || t.typname as name, array_agg(e.enumlabel::text order by e.enumsortorder) as values
         from pg_type t join pg_namespace n on n.oid = t.typnamespace join pg_enum e on e.enumtypid = t.oid
        where ${USER_SCHEMAS} and ${NOT_FROM_EXTENSION('t.oid')}
        group by 1`,
    ),
    sql.unsafe(
      `select n.nspname || '.' || i.relname as name, n.nspname || '.' || c.relname as table
         from pg_index x join pg_class i on i.oid = x.indexrelid join pg_class c on c.oid = x.indrelid
         join pg_namespace n on n.oid = i.relnamespace
        where ${USER_SCHEMAS} and c.relkind in ('r', 'p') and ${NOT_FROM_EXTENSION('c.oid')}
          and not exists (select 1 from pg_constraint k where k.conindid = x.indexrelid ` +
        `and k.contype in ('p', 'u', 'x'))`,
    ),
    sql.unsafe(
      `select n.nspname || '.' || c.relname || '.' || k.conname as name
         from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace
        where k.contype in ('f', 'u', 'c') and ${USER_SCHEMAS} and ${NOT_FROM_EXTENSION('c.oid')}`,
    ),
    sql.unsafe(
      `select n.nspname || '.' || i.relname as name, n.nspname || '.' || c.relname as table
         from pg_index x join pg_class i on i.oid = x.indexrelid join pg_class c on c.oid = x.indrelid
         join pg_namespace n on n.oid = i.relnamespace
        where not x.indisvalid and ${USER_SCHEMAS} and ${NOT_FROM_EXTENSION('c.oid')}`,
    ),
  ]);
  const byTable = new Map<string, LiveColumn[]>();
  for (const c of columns) {
    const list = byTable.get(c.table) ?? [];
    list.push({ name: c.name, type: c.type, notNull: c.not_null });
    byTable.set(c.table, list);
  }
  return {
    tables: tables.map((t) => ({
      name: t.name,
      columns: byTable.get(t.name) ?? [],
      // reltuples is -1 until the table is first vacuumed or analyzed.
      estimatedRows: Math.round(t.reltuples >= 0 ? t.reltuples : t.live),
      bytes: t.bytes,
    })),
    enums: new Map(enums.map((e) => [e.name as string, e.values as string[]])),
    indexes: new Map(indexes.map((i) => [i.name as string, i.table as string])),
    constraints: new Set(constraints.map((k) => k.name as string)),
    invalidIndexes: new Map(invalid.map((i) => [i.name as string, i.table as string])),
  };
}
