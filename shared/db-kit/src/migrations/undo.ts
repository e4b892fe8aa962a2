import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Sql } from '../connection';
import { DbKitError, UsageError } from '../errors';
import type { SchemaPackage } from '../workspace';
import { downPath } from './down';
import { forgetHistory, historyOf, writeJournal } from './history';
import { inspectPackages } from './runner';
import { snapshotPath } from './snapshots';

/** The newest migration of a package and the files that make it: SQL, down, snapshot, journal entry. */
export interface UndoPlan {
  pkg: SchemaPackage;
  tag: string;
  /** Files to delete, those that exist. */
  files: string[];
}

/**
 * What `generate --undo` would remove: the package's newest journal entry with its SQL file, its
 * `.down.sql` (when there is one) and its snapshot. Nothing is read from a database here.
 */
export function planUndo(pkg: SchemaPackage): UndoPlan {
  const last = historyOf(pkg).entries.at(-1);
  if (!last)
    throw new UsageError(`${pkg.name} has no migration: nothing to undo.`, 'generate --undo removes the newest one.');
  const candidates = [join(pkg.migrationsDir, `${last.tag}.sql`), downPath(pkg, last.tag), snapshotPath(pkg, last.idx)];
  return { pkg, tag: last.tag, files: candidates.filter((file) => existsSync(file)) };
}

/**
 * Refuses when `database` has applied the migration (by name, or by hash for rows drizzle's own
 * migrator wrote): removing it there would leave a row no file explains. `where` names the database.
 */
export async function assertNotApplied(sql: Sql, plan: UndoPlan, where: string, hint: string): Promise<void> {
  const [state] = await inspectPackages(sql, [plan.pkg]);
  const applied = [...state!.applied, ...state!.changed, ...state!.adoptable].some((a) => a.file.tag === plan.tag);
  if (applied)
    throw new DbKitError(
      `${plan.pkg.name}: ${plan.tag} is already applied on ${where}; generate --undo refuses it.`,
      hint,
      'refused',
    );
}

/** Deletes the migration's files and drops its journal entry. */
export function applyUndo(plan: UndoPlan): void {
  forgetHistory(plan.pkg); // the journal as it is now, not as planned
  const journal = structuredClone(historyOf(plan.pkg).journal);
  const index = journal.entries.findIndex((e) => e.tag === plan.tag);
  if (index !== journal.entries.length - 1)
    throw new DbKitError(
      `${plan.tag} is no longer the newest migration of ${plan.pkg.name}.`,
      'Run generate --undo again.',
    );
  journal.entries.pop();
  writeJournal(plan.pkg, journal);
  for (const file of plan.files) rmSync(file, { force: true });
  forgetHistory(plan.pkg);
}
