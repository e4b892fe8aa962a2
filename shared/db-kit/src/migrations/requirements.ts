import { DbKitError } from '../errors';
import type { SchemaPackage } from '../workspace';
import type { MigrationFile } from './files';
import type { PackageState } from './state';

/**
 * Widens a run with what its pending migrations require (`-- db-kit: requires <package> <tag>`).
 *
 * promote writes such a header into the migration through which the shared package adopts a
 * team's table: that table must first be built by the team's own history, up to the migration
 * that released it. So a shared-only `migrate` on a database that is behind on that team pulls
 * the team's pending migrations up to the tag into the same locked run. A package outside the
 * run takes part only up to its tag; packages already in the run are only reordered.
 *
 * @example
 *   const states = await withRequiredMigrations(inspectOne, findPackage, await inspect(packages), log);
 *   for (const file of orderByRequirements(pendingInOrder(states), states)) ...
 */
export async function withRequiredMigrations(
  inspectOne: (pkg: SchemaPackage) => Promise<PackageState>,
  findPackage: (name: string) => SchemaPackage | undefined,
  states: PackageState[],
  log: (line: string) => void,
): Promise<PackageState[]> {
  const result = [...states];
  const limits = new Map<string, number>();
  for (let i = 0; i < result.length; i++) {
    const state = result[i]!;
    const limit = limits.get(state.pkg.name);
    for (const file of state.pending) {
      if (limit !== undefined && state.files.indexOf(file) > limit) continue;
      for (const { packageName, tag } of file.requires) {
        const existing = result.find((s) => s.pkg.name === packageName);
        if (existing && !limits.has(packageName)) {
          positionOf(existing, tag, file);
          continue;
        }
        const pkg = existing?.pkg ?? findPackage(packageName);
        if (!pkg) {
          log(
            `  ${file.tag} requires ${packageName}, which is not in this workspace: it runs on its own and creates ` +
              `what is missing.`,
          );
          continue;
        }
        const required = existing ?? (await inspectOne(pkg));
        limits.set(packageName, Math.max(limits.get(packageName) ?? -1, positionOf(required, tag, file)));
        if (!existing) result.push(required);
      }
    }
  }
  for (const state of result) {
    const limit = limits.get(state.pkg.name);
    if (limit === undefined) continue;
    const allowed = new Set(state.files.slice(0, limit + 1));
    state.pending = state.pending.filter((f) => allowed.has(f));
    state.outOfOrder = state.outOfOrder.filter((f) => allowed.has(f));
    if (state.pending.length)
      log(
        `  ${state.pkg.name}: ${state.pending.length} migration(s) up to ${state.files[limit]!.tag} come first ` +
          `(required by a pending migration).`,
      );
  }
  return result;
}

/** Keeps the given order (dependency order), except that a migration's requirements always come before it. */
export function orderByRequirements(inOrder: MigrationFile[], states: PackageState[]): MigrationFile[] {
  const ordered: MigrationFile[] = [];
  const placed = new Set<MigrationFile>();
  const visiting = new Set<MigrationFile>();
  const place = (file: MigrationFile) => {
    if (placed.has(file)) return;
    if (visiting.has(file))
      throw new DbKitError(
        `Migrations require each other in a cycle through ${file.packageName} ${file.tag}.`,
        'Fix the "-- db-kit: requires" headers of the migrations involved.',
      );
    visiting.add(file);
    for (const { packageName, tag } of file.requires) {
      const state = states.find((s) => s.pkg.name === packageName);
      if (!state) continue;
      const limit = state.files.findIndex((f) => f.tag === tag);
      for (const required of state.pending) if (state.files.indexOf(required) <= limit) place(required);
    }
    visiting.delete(file);
    placed.add(file);
    ordered.push(file);
  };
  for (const file of inOrder) place(file);
  return ordered;
}

function positionOf(state: PackageState, tag: string, requiredBy: MigrationFile): number {
  const position = state.files.findIndex((f) => f.tag === tag);
  if (position < 0) {
    throw new DbKitError(
      `${requiredBy.path} requires ${state.pkg.name} ${tag}, which is not in that package's journal.`,
      `Restore ${tag}.sql and its journal entry in ${state.pkg.name} from git.`,
    );
  }
  return position;
}
