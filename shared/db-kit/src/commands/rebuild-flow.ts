import type { Context } from '../context';
import { type RebuildStep, rebuildDatabase } from '../migrations/rebuild';
import { dependentViews } from '../migrations/reset';
import { confirmDestructive } from '../safety/confirm';
import { assertDevelopmentDatabase } from '../safety/guard';
import { describeSeeding, type SeedOptions } from '../seed/seed';
import { plural } from './common';

/**
 * Not a command: the ritual reset and fresh share once each has parsed its flags. The guard,
 * the question, then the core rebuild, printing each step as it finishes.
 */
export async function runRebuild(
  ctx: Context,
  values: { yes?: boolean; force?: boolean; 'confirm-name'?: string; 'no-backup'?: boolean },
  seed: SeedOptions | undefined,
): Promise<number> {
  const ws = ctx.workspace;
  const packages = ws.allInOrder();
  const target = assertDevelopmentDatabase(ctx.database, {
    action: 'drop and rebuild every table',
    force: values.force,
  });
  const aliases = packages.map((p) => p.alias);
  const question =
    `Drop every table of ${aliases.join(', ')} in "${target.database}" and ` +
    `migrate${seed ? ' and seed' : ''} again`;
  // CASCADE takes the views built on our tables with them; those no migration creates are gone for good.
  const views = await ctx.withConnection('db-kit reset (views)', (sql) => dependentViews(sql, packages));
  const viewList = views.map((v) => `${v.name} (${v.kind})`).join(', ');
  const lost = views.length
    ? `, which also drops ${plural(views.length, 'view')} that no migration recreates: ${viewList}`
    : '';
  const confirmName = values['confirm-name'];
  await confirmDestructive(ctx.terminal, target, { question: question + lost, yes: values.yes, confirmName });
  if (views.length) ctx.out.warn(`Dropping ${plural(views.length, 'view')} no migration recreates: ${viewList}.`);
  const describe = (step: RebuildStep): string => {
    switch (step.step) {
      case 'backup': {
        const file = ws.relative(step.file);
        return `Backed up to ${file} (restore: ./scripts/db-workflow.sh restore ${file}).`;
      }
      case 'drop': {
        const { tables, types, sequences, bookkeeping } = step.dropped;
        return (
          `Dropped ${plural(tables.length, 'table')}, ${plural(types.length, 'type')}, ` +
          `${plural(sequences.length, 'sequence')} and ${plural(bookkeeping.length, 'bookkeeping table')}.`
        );
      }
      case 'migrate':
        return (
          `Applied ${plural(step.result.applied.length, 'migration')} (${aliases.join(' + ')}) on ` +
          `${target.redacted}.`
        );
      case 'seed': {
        const report = describeSeeding(step.result, step.skipped, target.redacted);
        for (const line of report.warnings) ctx.out.warn(line);
        code = report.code;
        return report.lines.join('\n');
      }
    }
  };
  let code = 0;
  await ctx.withConnection(`db-kit ${seed ? 'fresh' : 'reset'}`, (sql) =>
    rebuildDatabase(sql, ws, { target, backup: !values['no-backup'], seed }, (step) => ctx.out.print(describe(step))),
  );
  return code;
}
