import { DbKitError, UsageError } from '../errors';
import { historyOf } from '../migrations/history';
import type { Snapshot, SnapshotTable } from '../migrations/snapshots';
import { scriptFor } from '../scripts';
import type { SchemaPackage } from '../workspace';

export interface TeamTable {
  /** Snapshot key, `public.teamd_projects`. */
  key: string;
  name: string;
  /** Team tables this one has a foreign key to (they must be promoted with it). */
  dependsOn: string[];
  /** Tables outside the team this one references (shared tables). */
  references: string[];
  /** Team tables with a foreign key to this one (they keep working after a promotion). */
  dependedOnBy: string[];
  /** Enum keys (`public.teamd_task_status`) its columns use. */
  enums: string[];
}

/**
 * The tables a team owns and how they reference each other, from the team's latest snapshot:
 * what its migrations built, so no database and no TypeScript loading are needed.
 *
 * @example
 *   const graph = TableGraph.of(ws.resolve('teamd'));
 *   graph.missingDependencies(['teamd_tasks']); // [{ table: 'teamd_tasks', needs: 'teamd_projects' }]
 */
export class TableGraph {
  private constructor(
    readonly pkg: SchemaPackage,
    readonly snapshot: Snapshot,
    readonly tables: TeamTable[],
  ) {}

  static of(pkg: SchemaPackage): TableGraph {
    const snapshot = historyOf(pkg).latestSnapshot();
    if (!snapshot || Object.keys(snapshot.tables).length === 0) {
      throw new UsageError(
        `${pkg.name} owns no tables yet: nothing to promote.`,
        `Generate and commit its first migration (${scriptFor(pkg, 'generate', pkg)} --name init).`,
      );
    }
    const owned = new Set(Object.values(snapshot.tables).map((t) => t.name));
    const tables: TeamTable[] = Object.entries(snapshot.tables).map(([key, table]) => {
      const targets = [...new Set(Object.values(table.foreignKeys ?? {}).map((fk) => fk.tableTo))];
      return {
        key,
        name: table.name,
        dependsOn: targets.filter((t) => owned.has(t) && t !== table.name).sort(),
        references: targets.filter((t) => !owned.has(t)).sort(),
        dependedOnBy: [],
        enums: enumsUsedBy(table, snapshot),
      };
    });
    for (const table of tables)
      for (const target of table.dependsOn) tables.find((t) => t.name === target)!.dependedOnBy.push(table.name);
    return new TableGraph(
      pkg,
      snapshot,
      tables.sort((a, b) => a.name.localeCompare(b.name)),
    );
  }

  get(name: string): TeamTable {
    const table = this.tables.find((t) => t.name === name || t.key === name);
    if (!table) {
      throw new UsageError(
        `${this.pkg.name} has no table "${name}".`,
        `Its tables: ${this.tables.map((t) => t.name).join(', ')}. A table another package owns cannot be promoted ` +
          `from here.`,
      );
    }
    return table;
  }

  /** Selected tables with a foreign key to a team table that is not selected. */
  missingDependencies(selected: string[]): Array<{ table: string; needs: string }> {
    const chosen = new Set(selected.map((name) => this.get(name).name));
    return [...chosen].flatMap((name) =>
      this.get(name)
        .dependsOn.filter((d) => !chosen.has(d))
        .map((needs) => ({ table: name, needs })),
    );
  }

  /** Refuses, naming them, when selected tables reference team tables that are not selected. */
  assertSelfContained(selected: string[]): void {
    const missing = this.missingDependencies(selected);
    if (!missing.length) return;
    throw new DbKitError(
      `Cannot promote ${missing.map((m) => `${m.table} without ${m.needs}`).join(', ')}: ` +
        `${missing.map((m) => `${m.table} has a foreign key to ${m.needs}`).join('; ')}` +
        `, which would stay in ${this.pkg.name}.`,
      `Promote them together: --tables ${[...new Set([...selected, ...missing.map((m) => m.needs)])].join(',')}.`,
    );
  }

  /** Enums the selected tables use; they move with them. */
  enumsOf(selected: string[]): string[] {
    return [...new Set(selected.flatMap((name) => this.get(name).enums))].sort();
  }
}

function enumsUsedBy(table: SnapshotTable, snapshot: Snapshot): string[] {
  const used = new Set<string>();
  for (const column of Object.values(table.columns) as Array<{ type: string; typeSchema?: string }>) {
    const key = `${column.typeSchema || 'public'}.${column.type.replace(/(\[\])+$/, '')}`;
    if (snapshot.enums?.[key]) used.add(key);
  }
  return [...used];
}
