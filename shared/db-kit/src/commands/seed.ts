import type { Command, Terminal } from '../context';
import type { Sql } from '../connection';
import { loadSchemas } from '../schema/load';
import { schemaObjects } from '../schema/objects';
import { confirmDestructive } from '../safety/confirm';
import { assertDevelopmentDatabase } from '../safety/guard';
import { countPublicRows, seedTables } from '../seed/seed';
import type { DatabaseTarget } from '../target';

import { parse, readSeedOptions, seedOptions, type Options } from './common';

const options = {
  ...seedOptions,
  yes: { type: 'boolean', short: 'y' },
  force: { type: 'boolean' },
  'confirm-name': { type: 'string' },
} satisfies Options;

const command: Command = {
  usage: `Usage: db-kit seed [--count <n>] [--seed <n>] [--yes] [--force --confirm-name <db>]

Fills every package's tables (shared and every team's overlay) with deterministic sample
data from drizzle-seed, respecting foreign keys. The tables are emptied first, so running
seed twice gives the same rows, ids included. Run migrate first.

Options:
      --count <n>          rows per table (default 10)
      --seed <n>           another number gives other (still repeatable) data (default 1)
  -y, --yes                replace existing rows without asking (required without a terminal)
      --force              allow a DATABASE_URL that is not local; then also --confirm-name <db>

Exit: 0 seeded; 2 refused, declined, usage or connection error.`,

  async run(argv, ctx) {
    const { values } = parse(argv, options);
    const ws = ctx.workspace;
    const target = assertDevelopmentDatabase(ctx.database, {
      action: "replace every table's rows with sample data",
      force: values.force,
    });
    const seedOptionsGiven = readSeedOptions(values);
    return ctx.withConnection('db-kit seed', async (sql) => {
      const tables = schemaObjects(await loadSchemas(ws.allInOrder()), ws.packages).tables;
      if (!(await confirmReplacingRows(ctx.terminal, sql, target, tables.length, values))) {
        ctx.out.print('Nothing changed.');
        return 2;
      }
      const seeded = await seedTables(sql, tables, seedOptionsGiven);
      ctx.out.print(`Seeded ${target.redacted}: ${seeded.map((t) => `${t.table} ${t.rows}`).join(', ')}.`);
      return 0;
    });
  },
};

/** Asks only when there is something to lose: a table that already has rows, or a remote database. */
async function confirmReplacingRows(
  terminal: Terminal,
  sql: Sql,
  target: DatabaseTarget,
  tableCount: number,
  values: { yes?: boolean; 'confirm-name'?: string },
): Promise<boolean> {
  if (target.local && !(await countPublicRows(sql)) && tableCount) return true;
  return confirmDestructive(terminal, target, {
    question: `Replace the rows of ${tableCount} tables in "${target.database}" with sample data`,
    yes: values.yes,
    confirmName: values['confirm-name'],
  });
}

export default command;
