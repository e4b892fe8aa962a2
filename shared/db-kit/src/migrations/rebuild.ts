import { backupDatabase } from '../backup/backup';
import type { Sql } from '../connection';
import { type SeedOptions, type SeedResult, seedTables, selectSeedTables, type UnseededTable } from '../seed/seed';
import type { DatabaseTarget } from '../target';
import type { Workspace } from '../workspace';
import { type DroppedObjects, dropOwnedObjects } from './reset';
import { type MigrateResult, Migrator } from './runner';

/** One finished step of a rebuild, reported as it happens: a later step may still fail. */
export type RebuildStep =
  | { step: 'backup'; file: string }
  | { step: 'drop'; dropped: DroppedObjects }
  | { step: 'migrate'; result: MigrateResult }
  | { step: 'seed'; result: SeedResult; skipped: UnseededTable[] };

export interface RebuildOptions {
  /** The database `sql` is connected to, for pg_dump. */
  target: DatabaseTarget;
  backup: boolean;
  /** Seed after migrating (db:fresh). */
  seed?: SeedOptions;
}

/**
 * reset and fresh: backs the database up, drops everything the workspace's packages own,
 * applies every package's migrations again and, for fresh, seeds. Each step is reported to
 * `onStep` as soon as it is done, so a failure later still leaves the backup's name on screen.
 */
export async function rebuildDatabase(
  sql: Sql,
  ws: Workspace,
  options: RebuildOptions,
  onStep: (step: RebuildStep) => void,
): Promise<void> {
  const packages = ws.allInOrder();
  if (options.backup) onStep({ step: 'backup', file: (await backupDatabase(sql, options.target, ws.root)).file });
  onStep({ step: 'drop', dropped: await dropOwnedObjects(sql, packages) });
  onStep({ step: 'migrate', result: await new Migrator(sql, packages, ws.packages).migrate() });
  if (options.seed) {
    const { tables, skipped, refinements } = await selectSeedTables(ws, packages);
    onStep({ step: 'seed', result: await seedTables(sql, tables, { ...options.seed, refinements }), skipped });
  }
}
