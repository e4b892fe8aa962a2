import { DbKitError } from '../errors';
import { STATEMENT_BREAKPOINT } from '../migrations/files';
import { unrecordedChanges } from '../schema/unrecorded';
import { scriptFor } from '../scripts';
import type { SchemaPackage, Workspace } from '../workspace';
import { writeChanges, type FileChange } from './changes';
import { planCodeMove, type CodeMove } from './code';
import { planMigrations, type PackageMigration } from './migrations';
import type { TableGraph } from './tables';

export { TableGraph } from './tables';
export { changeKind, uncommittedEdits, type FileChange } from './changes';

/** Everything one promotion changes, computed before a file is written. */
export interface PromotionPlan {
  team: SchemaPackage;
  shared: SchemaPackage;
  tables: string[];
  enums: string[];
  /** Team tables that keep a foreign key to a promoted one (they stay, and keep working). */
  dependents: string[];
  moves: CodeMove[];
  release: PackageMigration;
  adopt: PackageMigration;
  /** Team migrations whose statements on the promoted objects were wrapped to skip where the adopt built them. */
  guarded: string[];
  changes: FileChange[];
}

/** The one package every team builds on. */
export function sharedPackage(ws: Workspace): SchemaPackage {
  const [shared, ...others] = ws.shared;
  if (!shared || others.length) {
    throw new DbKitError(
      `promote needs exactly one package with "dbKit.role": "shared", found ${ws.shared.length}.`,
      'Fix the "dbKit" fields of the schema packages.',
    );
  }
  return shared;
}

/**
 * Plans moving `tables` from a team package into the shared one: code, migrations, snapshots.
 * Refuses a table whose foreign key points at a team table left behind, naming it.
 *
 * @example
 *   const plan = await planPromotion(graph, sharedPackage(ws), ['teamd_projects']);
 *   plan.changes.map((c) => c.path); // files it would write
 */
export async function planPromotion(
  graph: TableGraph,
  shared: SchemaPackage,
  tables: string[],
  now = Date.now(),
): Promise<PromotionPlan> {
  const wanted = new Set(tables.map((t) => graph.get(t).name));
  const selected = graph.tables.filter((t) => wanted.has(t.name)).map((t) => t.name);
  graph.assertSelfContained(selected);
  const code = planCodeMove(graph.pkg, shared, selected);
  const migrations = await planMigrations(graph, shared, selected, now);
  const dependents = [...new Set(selected.flatMap((t) => graph.get(t).dependedOnBy))]
    .filter((t) => !selected.includes(t))
    .sort();
  return {
    team: graph.pkg,
    shared,
    tables: selected,
    enums: graph.enumsOf(selected),
    dependents,
    moves: code.moves,
    release: migrations.release,
    adopt: migrations.adopt,
    guarded: migrations.guarded,
    changes: [...code.changes, ...migrations.changes],
  };
}

/**
 * Refuses to plan on a schema that has changes no migration records yet: the snapshots would
 * not describe the code that moves. Asked as migrate, status and check ask whether generate would write
 * something (schema/unrecorded.ts): drizzle-kit's differ on the schema files against the latest snapshot.
 */
export async function assertNothingToGenerate(packages: SchemaPackage[], when: 'before' | 'after'): Promise<void> {
  const drifted = (await unrecordedChanges(packages)).map((change) => ({
    pkg: change.pkg,
    sql: change.loadError
      ? `drizzle-kit generate failed: ${change.loadError}`
      : change.statements.join(`\n${STATEMENT_BREAKPOINT}\n`),
  }));
  if (!drifted.length) return;
  const described = drifted
    .map(
      (p) =>
        `${p.pkg.name} (${p
          .sql!.split('\n')
          .find((l) => l.trim() && !l.startsWith('--'))
          ?.slice(0, 120)})`,
    )
    .join('; ');
  if (when === 'before') {
    throw new DbKitError(
      `The schema has changes no migration records yet: ${described}.`,
      `Run ${drifted.map((p) => scriptFor(p.pkg, 'generate', p.pkg)).join(' and ')}, commit, then promote.`,
    );
  }
  throw new DbKitError(
    `After the move, generate would still write a migration for ${described}; every file was restored.`,
    'The code move did not reproduce the snapshots. Run with DEBUG=1 and promote the table by hand, or report the ' +
      'table definition.',
    'failure',
  );
}

/**
 * Writes the plan, then checks that neither package has anything left to generate. Any failure,
 * while writing or in that check, restores every file it wrote.
 */
export async function applyPromotion(
  plan: PromotionPlan,
  verify: (plan: PromotionPlan) => Promise<void> = (p) => assertNothingToGenerate([p.shared, p.team], 'after'),
): Promise<void> {
  const written = writeChanges(plan.changes);
  try {
    await verify(plan);
  } catch (error) {
    written.restore();
    throw error;
  }
}
