import type { Command, Context, Terminal } from '../context';
import { DbKitError, UsageError } from '../errors';
import { Declined } from '../safety/confirm';
import { commandFor } from '../scripts';
import {
  applyPromotion,
  assertNothingToGenerate,
  changeKind,
  planPromotion,
  sharedPackage,
  TableGraph,
  uncommittedEdits,
  type PromotionPlan,
} from '../promote';
import type { Workspace } from '../workspace';
import { parse, plural, type Options } from './common';
import { importDependency } from '../dependencies';

const options = {
  package: { type: 'string', short: 'p' },
  tables: { type: 'string', short: 't' },
  yes: { type: 'boolean', short: 'y' },
  'dry-run': { type: 'boolean' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
} satisfies Options;

const command: Command = {
  usage:
    `Usage: db-kit promote --package <team> [--tables a,b] [--yes] [--dry-run] [--force]

Moves stable team tables into the shared package without touching a row: their TypeScript
(with the enums and helpers they use) goes to the shared schemas, the shared package gets a
migration that adopts them, self-contained (builds only what a database lacks), and the team one
that releases them (changes nothing). The team's earlier statements on those tables skip where
the adopt built them. Both snapshots are updated, so the next generate writes nothing.
Without --tables it asks which tables, shows the plan and asks to confirm.

Options:
  -p, --package <team>    the team package (alias or name), e.g. teamd
  -t, --tables <a,b>      tables to promote; a table goes only with the team tables it references
  -y, --yes               apply without asking (needed without a terminal)
      --dry-run           print the plan (files, SQL per package) and change nothing
      --force             go ahead although files it changes have uncommitted edits
      --json              with --dry-run: the plan as JSON

Exit: 0 promoted, planned, or declined at a prompt ("Nothing changed."); ` +
    `1 the result failed its check (files restored); 2 usage error, refused.`,

  async run(argv, ctx) {
    const { values } = parse(argv, options);
    if (!values.package) throw new UsageError('Say which team: --package <alias>, e.g. --package teamd.');
    const ws = ctx.workspace;
    const team = ws.resolve(values.package);
    if (team.role !== 'team')
      throw new UsageError(`${team.name} is the shared package; promote moves tables from a team package into it.`);
    const dryRun = Boolean(values['dry-run']);
    const interactive = ctx.terminal.interactive && !values.yes;
    if (!values.yes && !dryRun && !interactive) {
      throw new UsageError(
        'promote asks before it changes anything, and there is no terminal to ask.',
        'Pass --tables a,b --yes, or --dry-run to see the plan.',
      );
    }
    const shared = sharedPackage(ws);
    const graph = TableGraph.of(team);

    const tables = await selectTables(ctx, graph, values.tables, interactive);
    if (!tables.length) {
      ctx.out.print('No table chosen: nothing changed.');
      return 0;
    }

    await assertNothingToGenerate([shared, team], 'before');
    const plan = await planPromotion(graph, shared, tables);
    if (!dryRun && !values.force)
      assertCommitted(
        ws.root,
        plan.changes.map((c) => c.path),
      );
    if (values.json) ctx.out.print(JSON.stringify(planJson(ws, plan), null, 2));
    else ctx.out.print(describePlan(ws, plan));
    if (dryRun) {
      if (!values.json) ctx.out.print('\nDry run: nothing was changed.');
      return 0;
    }
    if (interactive) {
      if (!(await ctx.terminal.confirm(`Promote ${plan.tables.join(', ')} now?`, false))) throw new Declined();
    }
    await applyPromotion(plan);
    ctx.out.print(
      `\nPromoted ${plan.tables.join(', ')}: ${plural(plan.changes.length, 'file')} changed; generate finds nothing ` +
        `to do in either package.`,
    );
    ctx.out.print(`Next: review \`git diff\`, run \`${commandFor(ws, 'migrate --all')}\`, run the tests, commit.`);
    return 0;
  },
};

/** The tables named by --tables (canonical names), or chosen at the terminal; with their dependencies settled. */
async function selectTables(
  ctx: Context,
  graph: TableGraph,
  flag: string | undefined,
  interactive: boolean,
): Promise<string[]> {
  let tables = flag
    ?.split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  if (!tables?.length) {
    if (!interactive)
      throw new UsageError(
        'Say which tables: --tables a,b.',
        `${graph.pkg.name} has: ${graph.tables.map((t) => t.name).join(', ')}.`,
      );
    tables = await chooseTables(graph);
    if (!tables.length) return [];
  }
  tables = tables.map((t) => graph.get(t).name);
  if (interactive) return offerDependencies(ctx.terminal, graph, tables);
  graph.assertSelfContained(tables);
  return tables;
}

/** Promote must be easy to review and undo: it refuses to change a file with uncommitted edits. */
function assertCommitted(root: string, paths: string[]): void {
  const dirty = uncommittedEdits(root, paths);
  if (dirty.length) {
    throw new DbKitError(
      `Uncommitted edits in files promote would change: ${dirty.join(', ')}.`,
      'Commit or stash them first (promote must be easy to review and undo), or pass --force.',
    );
  }
}

async function chooseTables(graph: TableGraph): Promise<string[]> {
  const { checkbox } = await importDependency<typeof import('@inquirer/prompts')>('@inquirer/prompts');
  const width = Math.max(...graph.tables.map((t) => t.name.length));
  return checkbox({
    message: `Which ${graph.pkg.name} tables move into the shared schema?`,
    choices: graph.tables.map((t) => ({
      value: t.name,
      name: `${t.name.padEnd(width)}  ${relations(t)}`,
      short: t.name,
    })),
  });
}

function relations(t: TableGraph['tables'][number]): string {
  const needs = [...t.dependsOn, ...t.references];
  return [`needs: ${needs.join(', ') || '-'}`, `used by: ${t.dependedOnBy.join(', ') || '-'}`].join('  ·  ');
}

/** Asks to add the team tables a chosen table references; declining stops. */
async function offerDependencies(terminal: Terminal, graph: TableGraph, tables: string[]): Promise<string[]> {
  const chosen = [...tables];
  for (let missing = graph.missingDependencies(chosen); missing.length; missing = graph.missingDependencies(chosen)) {
    const { table, needs } = missing[0]!;
    const include = await terminal.confirm(
      `${table} has a foreign key to ${needs}, which would stay in ${graph.pkg.name}. Promote ${needs} too?`,
      true,
    );
    if (!include)
      throw new Declined(
        `${table} cannot move without ${needs} (a foreign key); to promote them together: --tables ` +
          `${[...chosen, needs].join(',')}.`,
      );
    chosen.push(needs);
  }
  return chosen;
}

function describePlan(ws: Workspace, plan: PromotionPlan): string {
  const lines = [
    `Promote ${plan.tables.join(', ')} from ${plan.team.name} to ${plan.shared.name}` +
      `${plan.enums.length ? ` (with enum ${plan.enums.join(', ')})` : ''}.`,
    '',
  ];
  lines.push('Code moves (ts-morph):');
  for (const move of plan.moves) {
    lines.push(
      `  ${move.names.join(', ')}: ${move.from.map((f) => ws.relative(f)).join(', ')} -> ${ws.relative(move.target)}`,
    );
    if (move.copied.length)
      lines.push(`    copied, unexported (the team still uses them, and keeps them): ${move.copied.join(', ')}`);
  }
  for (const [pkg, migration, note] of [
    [plan.shared, plan.adopt, 'builds only what is missing; where the tables exist it changes nothing'],
    [plan.team, plan.release, 'changes nothing in the database; records the hand-over'],
  ] as const) {
    lines.push('', `${pkg.name} (${pkg.alias}):`);
    for (const change of plan.changes.filter((c) => c.path.startsWith(`${pkg.dir}/`)))
      lines.push(`  ${changeKind(change).padEnd(6)} ${ws.relative(change.path)}`);
    lines.push(`  SQL (${note}):`);
    for (const line of migration.sql.trimEnd().split('\n')) lines.push(`    | ${line}`);
  }
  if (plan.dependents.length)
    lines.push(
      '',
      `Stay in ${plan.team.name} and keep their foreign keys to the promoted tables: ${plan.dependents.join(', ')}.`,
    );
  if (plan.guarded.length)
    lines.push(
      '',
      `${plan.team.name}'s earlier statements on the promoted objects now skip where the adopt built them ` +
        `(same checksum): ${plan.guarded.map((p) => ws.relative(p)).join(', ')}.`,
    );
  lines.push(
    '',
    `Databases: the adopt needs none of ${plan.team.name}'s history; every database converges, ` +
      'whatever it has applied; no row is copied or dropped.',
  );
  return lines.join('\n');
}

function planJson(ws: Workspace, plan: PromotionPlan) {
  return {
    team: plan.team.name,
    shared: plan.shared.name,
    tables: plan.tables,
    enums: plan.enums,
    dependents: plan.dependents,
    moves: plan.moves.map((m) => ({ ...m, target: ws.relative(m.target), from: m.from.map((f) => ws.relative(f)) })),
    packages: [plan.shared, plan.team].map((pkg) => {
      const migration = pkg === plan.shared ? plan.adopt : plan.release;
      return {
        name: pkg.name,
        files: plan.changes
          .filter((c) => c.path.startsWith(`${pkg.dir}/`))
          .map((c) => ({ path: ws.relative(c.path), change: changeKind(c) })),
        migration: { tag: migration.tag, sql: migration.sql },
      };
    }),
  };
}

export default command;
