import type { Command } from '../context';
import { guardText, parse, resetOptions } from './common';
import { runRebuild } from './rebuild-flow';

const command: Command = {
  usage: `Usage: db-kit reset [--yes] [--no-backup] [--force --confirm-name <db>]

Backs the database up, then drops everything our packages own (their tables, enums,
sequences and migration bookkeeping; nothing else) and applies every package's migrations
again. Asks first.

Which reset? This one (pnpm db:reset) works on any database you may reset, including your own
DATABASE_URL, and leaves tables no package owns (say, pushed on another branch) in place.
./scripts/db-workflow.sh reset drops the whole database and creates it empty before migrating:
use it for a clean slate on the server setup started (it refuses any other).

Options:
${guardText}

Exit: 0 reset, or declined at the prompt ("Nothing changed."); 1 a migration failed; 2 refused,
usage, backup or connection error.`,

  async run(argv, ctx) {
    const { values } = parse(argv, resetOptions);
    return runRebuild(ctx, values, undefined);
  },
};

export default command;
