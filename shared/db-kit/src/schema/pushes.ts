import type postgres from 'postgres';
import type { Sql } from '../connection';
import type { Snapshot } from '../migrations/snapshots';

/**
 * What a push built, per package: the package's schema as pushed, and the newest migration that was
 * applied then. Every push records it; push's own diff (composite keys, NULLS NOT DISTINCT; see
 * push.ts) takes it as the package's current state while no migration has been applied or undone
 * since; reset forgets it with the bookkeeping.
 */
export const PUSHES_TABLE = '"drizzle"."db_kit_pushes"';

export interface PushRecord {
  /** The package's name (`@large-event/database`). */
  pkg: string;
  /** Tag of the package's newest applied migration when it was pushed; '' when none was. */
  after: string;
  snapshot: Snapshot;
}

type Queryable = Sql | postgres.TransactionSql;

/** The recorded pushes by package name; empty when nothing was ever pushed this way. */
export async function readPushRecords(sql: Queryable): Promise<Map<string, PushRecord>> {
  const [row] = await sql.unsafe(`select to_regclass('${PUSHES_TABLE}') is not null as present`);
  if (!row?.present) return new Map();
  const rows = await sql.unsafe(`select package, after_migration, snapshot::text as snapshot from ${PUSHES_TABLE}`);
  return new Map(
    rows.map((r) => [
      r.package as string,
      { pkg: r.package as string, after: r.after_migration as string, snapshot: JSON.parse(r.snapshot as string) },
    ]),
  );
}

/** Records what a push built, in the push's own transaction. */
export async function writePushRecords(tx: Queryable, records: PushRecord[]): Promise<void> {
  if (!records.length) return;
  await tx.unsafe('create schema if not exists "drizzle"');
  await tx.unsafe(
    `create table if not exists ${PUSHES_TABLE} (package text primary key, after_migration text not null, ` +
      'snapshot jsonb not null, pushed_at timestamptz not null default now())',
  );
  for (const record of records)
    await tx.unsafe(
      `insert into ${PUSHES_TABLE} (package, after_migration, snapshot) values ($1, $2, $3::text::jsonb) ` +
        'on conflict (package) do update set after_migration = excluded.after_migration, ' +
        'snapshot = excluded.snapshot, pushed_at = now()',
      // Sent as text: drizzle(sql) (pushSchema's adapter) turns postgres.js's jsonb serialiser off on
      // this connection, and a string sent as jsonb would be stored as one JSON string.
      [record.pkg, record.after, JSON.stringify(record.snapshot)],
    );
}

/** Forgets the packages' pushes (reset drops what they built). */
export async function forgetPushRecords(tx: Queryable, packages: string[]): Promise<void> {
  const [row] = await tx.unsafe(`select to_regclass('${PUSHES_TABLE}') is not null as present`);
  if (row?.present) await tx.unsafe(`delete from ${PUSHES_TABLE} where package = any($1)`, [packages]);
}
