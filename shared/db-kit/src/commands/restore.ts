import type { Command } from '../context';
import { restoreDatabase } from '../backup/backup';
import { UsageError } from '../errors';
import { confirmDestructive } from '../safety/confirm';
import { assertDevelopmentDatabase } from '../safety/guard';
import { parse, type Options } from './common';

const options = {
  yes: { type: 'boolean', short: 'y' },
  force: { type: 'boolean' },
  'confirm-name': { type: 'string' },
} satisfies Options;

const command: Command = {
  usage: `Usage: db-kit restore <file> [--yes] [--force --confirm-name <db>]

Restores a backup made by db-kit backup into the database DATABASE_URL points at. Every
table, type and row the backup contains is replaced by the backup's; this runs in one
transaction. Asks first.

Options:
  -y, --yes                overwrite without asking (required without a terminal)
      --force              allow a DATABASE_URL that is not local; then also type its name
      --confirm-name <db>  the database's name, for --force without a terminal

Exit: 0 restored, or declined at the prompt ("Nothing changed."); 2 refused, usage, tool or
connection error.`,

  async run(argv, ctx) {
    const { values, positionals } = parse(argv, options);
    const file = positionals[0];
    if (!file || positionals.length > 1)
      throw new UsageError(
        'Say which backup to restore.',
        'Example: ./scripts/db-workflow.sh restore backups/<file>.dump (or pnpm exec db-kit restore <file>).',
      );
    const ws = ctx.workspace;
    const target = assertDevelopmentDatabase(ctx.database, {
      action: 'overwrite the database with a backup',
      force: values.force,
    });
    await confirmDestructive(ctx.terminal, target, {
      question: `Overwrite "${target.database}" with ${file}`,
      yes: values.yes,
      confirmName: values['confirm-name'],
    });
    const { where } = await ctx.withConnection('db-kit restore', (sql) => restoreDatabase(sql, target, ws.root, file));
    ctx.out.print(`Restored ${file} into ${target.redacted} (${where}).`);
    return 0;
  },
};

export default command;
