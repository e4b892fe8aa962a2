import type { Command } from '../context';
import { guardText, parse, readSeedOptions, resetOptions, seedOptions } from './common';
import { runRebuild } from './rebuild-flow';

const command: Command = {
  usage: `Usage: db-kit fresh [--yes] [--count <n>] [--seed <n>] [--no-backup] [--force --confirm-name <db>]

reset, then seed: backs up, drops everything our packages own, applies every package's
migrations, and fills every table with deterministic sample data. Asks first.

Options:
${guardText}
      --count <n>          rows per table (default 10)
      --seed <n>           another number gives other (still repeatable) data (default 1)

Exit: 0 done, or declined at the prompt ("Nothing changed."); 1 a migration failed; 2 refused,
usage, backup or connection error.`,

  async run(argv, ctx) {
    const { values } = parse(argv, { ...resetOptions, ...seedOptions });
    return runRebuild(ctx, values, readSeedOptions(values));
  },
};

export default command;
