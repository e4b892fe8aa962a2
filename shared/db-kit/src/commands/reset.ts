import type { Command } from '../context';
import { backupDatabase } from '../backup/backup';
import { dropOwnedObjects } from '../migrations/reset';
import { Migrator } from '../migrations/runner';
import { loadSchemas } from '../schema/load';
import { schemaObjects } from '../schema/objects';
import { confirmDestructive } from '../safety/confirm';
import { assertDevelopmentDatabase } from '../safety/guard';
import { seedTables } from '../seed/seed';
import type { Context } from '../context';
import { parse, plural, type Options } from './common';
import { readSeedOptions, seedOptions } from './seed';

export const resetOptions = {
  yes: { type: 'boolean', short: 'y' },
  force: { type: 'boolean' },
  'confirm-name': { type: 'string' },
  'no-backup': { type: 'boolean' },
} satisfies Options;

export const guardText = `  -y, --yes                go ahead without asking (required without a terminal)
      --force              allow a DATABASE_URL that is not local (127.0.0.1, localhost, ::1);
                           you then type the database's name
      --confirm-name <db>  that name, for --force without a terminal
      --no-backup          skip the automatic backup (backups/<db>-<timestamp>.dump)`;

const command: Command = {
  usage: `Usage: db-kit reset [--yes] [--no-backup] [--force --confirm-name <db>]

Backs the database up, then drops everything our packages own (their tables, enums,
sequences and migration bookkeeping; nothing else) and applies every package's migrations
again. Asks first.

Options:
${guardText}

Exit: 0 reset; 1 a migration failed; 2 refused, declined, usage, backup or connection error.`,

  run: (argv, ctx) => resetDatabase(argv, ctx, { seed: false }),
};

/** reset and fresh: the same ritual; fresh seeds at the end. */
export async function resetDatabase(argv: string[], ctx: Context, mode: { seed: boolean }): Promise<number> {
  const { values } = parse(argv, { ...resetOptions, ...(mode.seed ? seedOptions : {}) });
  const seedChoice = mode.seed ? readSeedOptions(values as { count?: string; seed?: string }) : undefined;
  const ws = ctx.workspace;
  const packages = ws.allInOrder();
  const target = assertDevelopmentDatabase(ctx.database, {
    action: 'drop and rebuild every table',
    force: values.force,
  });
  const question = `Drop every table of ${packages.map((p) => p.alias).join(', ')} in "${target.database}" and migrate${mode.seed ? ' and seed' : ''} again`;
  if (
    !(await confirmDestructive(ctx.terminal, target, {
      question,
      yes: values.yes,
      confirmName: values['confirm-name'],
    }))
  ) {
    ctx.out.print('Nothing changed.');
    return 2;
  }
  return ctx.withConnection(`db-kit ${mode.seed ? 'fresh' : 'reset'}`, async (sql) => {
    if (!values['no-backup']) {
      const backup = await backupDatabase(sql, target.url, ws.root);
      ctx.out.print(
        `Backed up to ${ws.relative(backup.file)} (restore: ./scripts/db-workflow.sh restore ${ws.relative(backup.file)}).`,
      );
    }
    const dropped = await dropOwnedObjects(sql, packages);
    ctx.out.print(
      `Dropped ${plural(dropped.tables.length, 'table')}, ${plural(dropped.types.length, 'type')}, ${plural(dropped.sequences.length, 'sequence')} and ${plural(dropped.bookkeeping.length, 'bookkeeping table')}.`,
    );
    const result = await new Migrator(sql, packages, ws.packages).migrate();
    ctx.out.print(
      `Applied ${plural(result.applied.length, 'migration')} (${packages.map((p) => p.alias).join(' + ')}) on ${target.redacted}.`,
    );
    if (seedChoice) {
      const seeded = await seedTables(sql, schemaObjects(await loadSchemas(packages), ws.packages).tables, seedChoice);
      ctx.out.print(`Seeded ${seeded.map((t) => `${t.table} ${t.rows}`).join(', ')}.`);
    }
    return 0;
  });
}

export default command;
