import type { Command } from '../cli';
import { backupDatabase } from '../backup/backup';
import { connect } from '../connection';
import { redact } from '../env';
import { dropOwnedObjects } from '../migrations/reset';
import { Migrator } from '../migrations/runner';
import { loadSchemas } from '../schema/load';
import { schemaObjects } from '../schema/objects';
import { confirmDestructive } from '../safety/confirm';
import { assertDevelopmentDatabase } from '../safety/guard';
import { seedTables } from '../seed/seed';
import { Workspace } from '../workspace';
import { parse, plural, requireDatabaseUrl, type Options } from './common';
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

  run: (argv) => resetDatabase(argv, { seed: false }),
};

/** reset and fresh: the same ritual; fresh seeds at the end. */
export async function resetDatabase(argv: string[], mode: { seed: boolean }): Promise<number> {
  const { values } = parse(argv, { ...resetOptions, ...(mode.seed ? seedOptions : {}) });
  const seedChoice = mode.seed ? readSeedOptions(values as { count?: string; seed?: string }) : undefined;
  const ws = Workspace.find();
  const packages = ws.allInOrder();
  const url = requireDatabaseUrl(ws);
  const target = assertDevelopmentDatabase(url, ws.root, {
    action: 'drop and rebuild every table',
    force: values.force,
  });
  const question = `Drop every table of ${packages.map((p) => p.alias).join(', ')} in "${target.database}" and migrate${mode.seed ? ' and seed' : ''} again`;
  if (!(await confirmDestructive(target, { question, yes: values.yes, confirmName: values['confirm-name'] }))) {
    console.log('Nothing changed.');
    return 2;
  }
  const sql = await connect(url, `db-kit ${mode.seed ? 'fresh' : 'reset'}`);
  try {
    if (!values['no-backup']) {
      const backup = await backupDatabase(sql, url, ws.root);
      console.log(
        `Backed up to ${ws.relative(backup.file)} (restore: ./scripts/db-workflow.sh restore ${ws.relative(backup.file)}).`,
      );
    }
    const dropped = await dropOwnedObjects(sql, packages);
    console.log(
      `Dropped ${plural(dropped.tables.length, 'table')}, ${plural(dropped.types.length, 'type')}, ${plural(dropped.sequences.length, 'sequence')} and ${plural(dropped.bookkeeping.length, 'bookkeeping table')}.`,
    );
    const result = await new Migrator(sql, packages).migrate();
    console.log(
      `Applied ${plural(result.applied.length, 'migration')} (${packages.map((p) => p.alias).join(' + ')}) on ${redact(url)}.`,
    );
    if (seedChoice) {
      const seeded = await seedTables(sql, schemaObjects(await loadSchemas(packages), ws.packages).tables, seedChoice);
      console.log(`Seeded ${seeded.map((t) => `${t.table} ${t.rows}`).join(', ')}.`);
    }
    return 0;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export default command;
