import type { Command } from '../context';
import { guardText, parse, resetOptions } from './common';
import { runRebuild } from './rebuild-flow';

const command: Command = {
  usage: `Usage: db-kit reset [--yes] [--no-backup] [--force --confirm-name <db>]

Backs the database up, then drops everything our packages own (their tables, enums,
sequences and migration bookkeeping; nothing else) and applies every package's migrations
again. Asks first.

Options:
${guardText}

Exit: 0 reset; 1 a migration failed; 2 refused, declined, usage, backup or connection error.`,

  async run(argv, ctx) {
    const { values } = parse(argv, resetOptions);
    return runRebuild(ctx, values, undefined);
  },
};

export default command;
