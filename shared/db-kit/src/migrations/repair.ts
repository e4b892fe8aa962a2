import type postgres from 'postgres';
import { transaction } from '../connection';
import { UsageError } from '../errors';
import { commandFor } from '../scripts';
import { MIGRATIONS_SCHEMA, type SchemaPackage } from '../workspace';
import { Bookkeeping, bookkeepingTable } from './bookkeeping';
import { MigrationLock } from './lock';
import { DEFAULT_LOCK_TIMEOUT_MS, inspectPackages } from './runner';
import { missingName, type PackageState } from './state';

/** Every repair leaves a row here: who, when, which migration, old and new hash, and why. */
export const REPAIR_LOG_TABLE = `"${MIGRATIONS_SCHEMA}"."db_kit_repairs"`;

/** The audit table of repair and rollback, created on first use. */
export async function ensureRepairLog(conn: postgres.ReservedSql | postgres.Sql): Promise<void> {
  await conn.unsafe(
    `create table if not exists ${REPAIR_LOG_TABLE} (
       id serial primary key,
       repaired_at timestamptz not null default now(),
       database_user text not null default current_user,
       os_user text,
       package text not null,
       bookkeeping_table text not null,
       migration text not null,
       action text not null,
       old_hash text,
       new_hash text,
       reason text not null
     )`,
  );
}

export interface RepairOptions {
  reason: string;
  /** Only this migration (its name, or the start of its recorded hash); default: every changed or missing one. */
  migration?: string;
  /** The operating-system user, recorded next to the database user. */
  osUser: string;
  dryRun?: boolean;
  lockTimeoutMs?: number;
}

export interface Repair {
  pkg: SchemaPackage;
  migration: string;
  /**
   * accept-changed: the file's new hash is recorded; forget-missing: the row of a deleted file is removed;
   * record-rename: the row of a file renamed with its content unchanged takes the new name (it never runs again).
   */
  action: 'accept-changed' | 'forget-missing' | 'record-rename';
  oldHash: string;
  newHash: string | null;
}

/**
 * The audited way out when an applied migration was edited or deleted on purpose (Flyway's
 * repair, Prisma's resolve). It changes bookkeeping only, never the schema: an edited file's
 * new SQL is not run.
 *
 * @example
 * const repairs = await new Repairer(sql, [ws.resolve('teamd')]).repair({
 *   reason: 'fixed a typo in a comment',
 *   osUser: 'ana',
 * });
 */
export class Repairer {
  constructor(
    private readonly sql: postgres.Sql,
    private readonly packages: SchemaPackage[],
  ) {}

  async repair(options: RepairOptions): Promise<Repair[]> {
    if (!options.reason.trim())
      throw new UsageError(
        'A repair needs a reason: --reason "<why the file changed>".',
        'The reason is stored in the audit table with your name.',
      );
    const conn = await this.sql.reserve();
    const lock = new MigrationLock(conn);
    try {
      await lock.acquire({ timeoutMs: options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS });
      try {
        const bookkeeping = new Bookkeeping(this.packages);
        if (!options.dryRun) await bookkeeping.ensure(conn);
        const states = await inspectPackages(conn, this.packages, bookkeeping);
        const repairs = this.selected(repairsOf(states), options.migration);
        if (!options.dryRun && repairs.length) await record(conn, repairs, options);
        return repairs;
      } finally {
        await lock.release();
      }
    } finally {
      conn.release();
    }
  }

  /** The repairs `--migration` names (by tag, or by a hash prefix of 8 or more), else all of them. */
  private selected(repairs: PlannedRepair[], migration: string | undefined): PlannedRepair[] {
    if (!migration) return repairs;
    const wanted = migration.replace(/\.sql$/, '');
    const chosen = repairs.filter(
      (r) => r.migration === wanted || (wanted.length >= 8 && r.oldHash.startsWith(wanted)),
    );
    if (!chosen.length) {
      throw new UsageError(
        `${migration} is neither changed nor missing in ${this.packages.map((p) => p.name).join(', ')}: ` +
          'nothing to repair.',
        `Run ${commandFor(this.packages[0]!, 'status')} to see which migrations need a repair.`,
      );
    }
    return chosen;
  }
}

type PlannedRepair = Repair & { rowId: number; tag?: string };

/** What each changed, missing or renamed migration needs: accept its new hash, forget its row, record its name. */
function repairsOf(states: PackageState[]): PlannedRepair[] {
  return states.flatMap((s) => [
    ...s.changed.map(({ file, row }) => ({
      pkg: s.pkg,
      migration: file.tag,
      tag: file.tag,
      action: 'accept-changed' as const,
      oldHash: row.hash,
      newHash: file.hash,
      rowId: row.id,
    })),
    ...s.missing.map((row) => ({
      pkg: s.pkg,
      migration: row.name ?? missingName(row),
      action: 'forget-missing' as const,
      oldHash: row.hash,
      newHash: null,
      rowId: row.id,
    })),
    ...s.renamed.map(({ file, row }) => ({
      pkg: s.pkg,
      migration: file.tag,
      tag: file.tag,
      action: 'record-rename' as const,
      oldHash: row.hash,
      newHash: row.hash,
      rowId: row.id,
    })),
  ]);
}

/** Changes the bookkeeping rows and writes the audit rows, all in one transaction. */
async function record(conn: postgres.ReservedSql, repairs: PlannedRepair[], options: RepairOptions): Promise<void> {
  await transaction(conn, async () => {
    await ensureRepairLog(conn);
    for (const r of repairs) {
      const table = bookkeepingTable(r.pkg);
      if (r.action === 'accept-changed')
        await conn.unsafe(`update ${table} set hash = $1, name = $2 where id = $3`, [r.newHash!, r.tag!, r.rowId]);
      else if (r.action === 'record-rename')
        await conn.unsafe(`update ${table} set name = $1 where id = $2`, [r.tag!, r.rowId]);
      else await conn.unsafe(`delete from ${table} where id = $1`, [r.rowId]);
      await conn.unsafe(
        `insert into ${REPAIR_LOG_TABLE} (os_user, package, bookkeeping_table, ` +
          `migration, action, old_hash, new_hash, reason)
         values ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [options.osUser, r.pkg.name, table, r.migration, r.action, r.oldHash, r.newHash, options.reason],
      );
    }
  });
}
