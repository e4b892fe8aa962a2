import { DbKitError } from '../errors';
import { commandFor, scriptFor } from '../scripts';
import type { SchemaPackage } from '../workspace';
import type { AppliedRow } from './bookkeeping';
import { recordsFile, type MigrationFile } from './files';

export interface PackageState {
  pkg: SchemaPackage;
  files: MigrationFile[];
  applied: Array<{ file: MigrationFile; row: AppliedRow }>;
  /** Applied by drizzle's own migrator: recorded by hash, not yet by name. */
  adoptable: Array<{ file: MigrationFile; row: AppliedRow }>;
  pending: MigrationFile[];
  /** Pending migrations older than the newest applied one of the same package (merged late). */
  outOfOrder: MigrationFile[];
  /** Applied, but the file's text no longer matches the recorded hash. */
  changed: Array<{ file: MigrationFile; row: AppliedRow }>;
  /** Recorded as applied, but no file in the journal matches it. */
  missing: AppliedRow[];
  /**
   * Recorded under another name, with this file's exact content: the file was renamed after it was
   * applied. Neither pending (it must not run again) nor missing; repair records the new name.
   */
  renamed: Array<{ file: MigrationFile; row: AppliedRow }>;
}

/** Matches bookkeeping rows to files: by name, else (drizzle-migrated rows) by hash, else by created_at. */
export function classify(pkg: SchemaPackage, files: MigrationFile[], rows: AppliedRow[]): PackageState {
  const state: PackageState = {
    pkg,
    files,
    applied: [],
    adoptable: [],
    pending: [],
    outOfOrder: [],
    changed: [],
    missing: [],
    renamed: [],
  };
  const unmatched = new Set(rows);
  const byName = new Map(rows.filter((r) => r.name).map((r) => [r.name!, r]));
  for (const file of files) {
    let row = byName.get(file.tag);
    if (!row) {
      row = rows.find((r) => !r.name && unmatched.has(r) && recordsFile(r.hash, file));
      if (row) state.adoptable.push({ file, row });
    }
    if (!row) row = rows.find((r) => !r.name && unmatched.has(r) && r.created_at === String(file.when));
    if (!row) {
      state.pending.push(file);
      continue;
    }
    unmatched.delete(row);
    if (recordsFile(row.hash, file)) state.applied.push({ file, row });
    else state.changed.push({ file, row });
  }
  // A named row no file claims, and a pending file with its exact content: a rename, not new work.
  for (const row of [...unmatched]) {
    const file = row.name ? state.pending.find((f) => recordsFile(row.hash, f)) : undefined;
    if (!file) continue;
    unmatched.delete(row);
    state.pending.splice(state.pending.indexOf(file), 1);
    state.renamed.push({ file, row });
  }
  state.missing = [...unmatched];
  const newestApplied = [...state.applied, ...state.changed, ...state.renamed]
    .map((a) => a.file.orderKey)
    .sort()
    .pop();
  if (newestApplied) state.outOfOrder = state.pending.filter((f) => f.orderKey < newestApplied);
  return state;
}

/**
 * Pending migrations of all packages in dependency order: every pending migration of a package
 * before those of the packages that build on it (`states` comes dependencies first), each
 * package's by timestamp. Interleaving by timestamp would run a team migration generated before
 * the shared migration it builds on ahead of it. The one exception, a `requires` header, is
 * applied on top of this order by orderByRequirements.
 */
export function pendingInOrder(states: PackageState[]): MigrationFile[] {
  return states.flatMap((s) =>
    [...s.pending].sort((a, b) => (a.orderKey < b.orderKey ? -1 : a.orderKey > b.orderKey ? 1 : 0)),
  );
}

/** `@teamd/database: 20261124_082024_init.sql was changed after it was applied (...)`, one line per problem. */
export function integrityProblems(states: PackageState[]): string[] {
  const problems: string[] = [];
  for (const s of states) {
    for (const { file, row } of s.changed) {
      problems.push(
        `${s.pkg.name}: ${file.tag}.sql was changed after it was applied (recorded hash ${row.hash.slice(0, 12)}, ` +
          `file hash ${file.hash.slice(0, 12)}).`,
      );
    }
    for (const row of s.missing) {
      problems.push(`${s.pkg.name}: ${missingName(row)} was applied but its file is gone from ${s.pkg.out}/.`);
    }
    for (const { file, row } of s.renamed) {
      problems.push(
        `${s.pkg.name}: ${row.name}.sql was renamed to ${file.tag}.sql after it was applied (same content, hash ` +
          `${row.hash.slice(0, 12)}); it must not run again.`,
      );
    }
  }
  return problems;
}

export function missingName(row: AppliedRow): string {
  return row.name ? `${row.name}.sql` : `the migration with hash ${row.hash.slice(0, 12)}`;
}

/** Stops before anything runs when an applied migration was edited or deleted. */
export function assertIntact(states: PackageState[]): void {
  const problems = integrityProblems(states);
  if (problems.length) {
    const troubled = states.filter((s) => s.changed.length || s.missing.length || s.renamed.length);
    const aliases = [...new Set(troubled.map((s) => s.pkg.alias))];
    const repair = commandFor(troubled[0]!.pkg, `repair ${aliases.length === 1 ? `--package ${aliases[0]}` : '--all'}`);
    const onlyRenames = troubled.every((s) => !s.changed.length && !s.missing.length);
    const phantoms = states.filter(
      (s) => s.missing.length && s.missing.every((r) => r.hasDown) && !s.changed.length && !s.renamed.length,
    );
    if (phantoms.length === troubled.length) {
      // Every problem is a migration applied on another branch whose down is stored: roll it back.
      throw new DbKitError(
        `Refusing to migrate: ${problems.join(' ')}`,
        `Applied on another branch? Their downs are stored: ` +
          `${phantoms.map((s) => `${scriptFor(s.pkg, 'rollback', s.pkg)} --missing`).join(', then ')}` +
          ` (or switch back to that branch).`,
        'failure',
      );
    }
    throw new DbKitError(
      `Refusing to migrate: ${problems.join(' ')}`,
      onlyRenames
        ? `Record the new name (nothing runs again): ${repair} --reason "renamed". Or rename the file back.`
        : `Restore the original file from git (git log -p -- <file>). If the change is intended, record it: ` +
            `${repair} --reason "<why>".`,
      'failure',
    );
  }
}

export function assertInOrder(states: PackageState[]): void {
  const late = states.flatMap((s) => s.outOfOrder.map((f) => `${s.pkg.name}: ${f.tag}`));
  if (late.length) {
    throw new DbKitError(
      `--strict-order: ${late.length} pending migration(s) are older than an applied one: ${late.join(', ')}.`,
      'Regenerate them on top of the current history, or run without --strict-order to apply them out of order.',
      'failure',
    );
  }
}
