import type { Command } from '../context';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { BACKUP_DIR, backupDatabase, restoreDatabase } from '../backup/backup';
import { UsageError } from '../errors';
import { confirmDestructive } from '../safety/confirm';
import { assertDevelopmentDatabase } from '../safety/guard';
import { parse, type Options } from './common';

const options = {
  yes: { type: 'boolean', short: 'y' },
  force: { type: 'boolean' },
  'confirm-name': { type: 'string' },
  'no-backup': { type: 'boolean' },
} satisfies Options;

const command: Command = {
  usage: `Usage: db-kit restore <file> [--yes] [--no-backup] [--force --confirm-name <db>]

Restores a backup made by db-kit backup (or by reset, restore, rollback) into the database
DATABASE_URL points at, however old: the schemas it has besides public (drizzle's bookkeeping)
are replaced whole, and its tables, views, sequences and types in public are dropped (with what
depends on them, such as a newer table's foreign key to them) and recreated with the backup's
rows. Tables the backup does not have stay. One transaction. First it backs up what it replaces
(backups/<db>-<timestamp>.dump). Asks first.

Options:
  -y, --yes                overwrite without asking (required without a terminal)
      --force              allow a DATABASE_URL that is not local; then also type its name
      --confirm-name <db>  the database's name, for --force without a terminal
      --no-backup          skip the safety backup of what the restore replaces

Exit: 0 restored, or declined at the prompt ("Nothing changed."); 2 refused, usage, tool or
connection error.`,

  async run(argv, ctx) {
    const { values, positionals } = parse(argv, options, { positionals: true });
    const file = positionals[0];
    if (!file || positionals.length > 1)
      throw new UsageError(
        'Say which backup to restore.',
        'Example: ./scripts/db-workflow.sh restore backups/<file>.dump (or pnpm exec db-kit restore <file>).',
      );
    const ws = ctx.workspace;
    // Relative to where the command runs (the context's cwd), as a person typing the path means it.
    if (!existsSync(resolve(ctx.cwd, file)))
      throw new UsageError(`No backup at ${file}.`, `Backups are in ${BACKUP_DIR}/: ls ${BACKUP_DIR}`);
    const target = assertDevelopmentDatabase(ctx.database, {
      action: 'overwrite the database with a backup',
      force: values.force,
    });
    await confirmDestructive(ctx.terminal, target, {
      question: `Overwrite "${target.database}" with ${file}`,
      yes: values.yes,
      confirmName: values['confirm-name'],
    });
    const { where } = await ctx.withConnection('db-kit restore', async (sql) => {
      if (!values['no-backup']) {
        const safety = await backupDatabase(sql, target, ws.root);
        ctx.out.print(`Backed up what the restore replaces to ${ws.relative(safety.file)} first.`);
      }
      return restoreDatabase(sql, target, ws.root, file, ctx.cwd);
    });
    ctx.out.print(`Restored ${file} into ${target.redacted} (${where}).`);
    return 0;
  },
};

export default command;
