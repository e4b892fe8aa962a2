import type { PgTable } from 'drizzle-orm/pg-core';
import type { Command } from '../context';
import type { Sql } from '../connection';
import { confirmDestructive } from '../safety/confirm';
import { assertDevelopmentDatabase } from '../safety/guard';
import { describeSeeding, qualifiedName, seedTables, selectSeedTables } from '../seed/seed';
import type { DatabaseTarget } from '../target';
import type { Terminal } from '../context';
import { parse, readSeedOptions, seedOptions, type Options } from './common';

const options = {
  ...seedOptions,
  package: { type: 'string', short: 'p', multiple: true },
  'skip-table': { type: 'string', multiple: true },
  yes: { type: 'boolean', short: 'y' },
  force: { type: 'boolean' },
  'confirm-name': { type: 'string' },
} satisfies Options;

const command: Command = {
  usage: `Usage: db-kit seed [--package <alias>]... [--skip-table <name>]... [--count <n>] [--seed <n>] [--yes]

Fills the tables of every package (shared and every team's overlay), or of the packages
named, with deterministic sample data: drizzle-seed's generators by column name and type
(emails, names, an ends_at after its starts_at, enum values), foreign keys (composite ones
too) taken from the referenced rows, self-references pointing at earlier rows. Generated,
identity and serial columns are left to the database. The tables are emptied first, so
running seed twice gives the same rows, ids included. Run migrate first.

A table seed cannot fill (a check constraint its values miss) is left empty and named with
PostgreSQL's reason; every other table is still seeded. A package leaves tables out with
"dbKit.seed.skip" and gives its own generators with "dbKit.seed.refinements" (README, Seeding).

Options:
  -p, --package <alias>      seed only this package's tables (repeatable)
      --skip-table <name>    leave this table out (repeatable)
      --count <n>            rows per table (default 10)
      --seed <n>             another number gives other (still repeatable) data (default 1)
  -y, --yes                  replace existing rows without asking (required without a terminal)
      --force                allow a DATABASE_URL that is not local; then also --confirm-name <db>

Exit: 0 seeded, or declined at the prompt ("Nothing changed."); 1 a table could not be filled;
2 refused, usage or connection error.`,

  async run(argv, ctx) {
    const { values } = parse(argv, options);
    const ws = ctx.workspace;
    const target = assertDevelopmentDatabase(ctx.database, {
      action: "replace every table's rows with sample data",
      force: values.force,
    });
    const seedOptionsGiven = readSeedOptions(values);
    const packages = values.package?.length ? values.package.map((alias) => ws.resolve(alias)) : ws.allInOrder();
    return ctx.withConnection('db-kit seed', async (sql) => {
      const { tables, skipped, refinements } = await selectSeedTables(ws, packages, values['skip-table']);
      await confirmReplacingRows(ctx.terminal, sql, target, tables, values);
      const result = await seedTables(sql, tables, { ...seedOptionsGiven, refinements });
      const report = describeSeeding(result, skipped, target.redacted);
      for (const line of report.lines) ctx.out.print(line);
      for (const line of report.warnings) ctx.out.warn(line);
      return report.code;
    });
  },
};

/**
 * Asks only when there is something to lose: a table that already has rows, or a remote database.
 * Rows are looked for (EXISTS per table), never estimated: statistics are empty after a restart or
 * pg_stat_reset(), and an estimate of 0 would throw real rows away unasked.
 */
async function confirmReplacingRows(
  terminal: Terminal,
  sql: Sql,
  target: DatabaseTarget,
  tables: Array<{ table: PgTable }>,
  values: { yes?: boolean; 'confirm-name'?: string },
): Promise<void> {
  const names = tables.map((t) => qualifiedName(t.table));
  const [row] = names.length
    ? await sql.unsafe(`select ${names.map((n) => `exists (select 1 from ${n})`).join(' or ')} as filled`)
    : [{ filled: false }];
  if (target.local && !row?.filled && tables.length) return;
  await confirmDestructive(terminal, target, {
    question: `Replace the rows of ${tables.length} tables in "${target.database}" with sample data`,
    yes: values.yes,
    confirmName: values['confirm-name'],
  });
}

export default command;
