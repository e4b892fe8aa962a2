import { basename } from 'node:path';
import type { Command, Context } from '../context';
import { DbKitError, UsageError, describeError } from '../errors';
import { downPath, readDownFile } from '../migrations/down';
import { generateMigration, parseRename, toSlug } from '../migrations/generate';
import { missingReferences } from '../migrations/references';
import { applyUndo, assertNotApplied, planUndo } from '../migrations/undo';
import type { SchemaPackage } from '../workspace';
import { rememberChanges } from '../schema/unrecorded';
import { scriptFor } from '../scripts';
import { parse, plural, type Options } from './common';

const options = {
  package: { type: 'string', short: 'p' },
  name: { type: 'string', short: 'n' },
  custom: { type: 'boolean' },
  undo: { type: 'boolean' },
  rename: { type: 'string', multiple: true },
} satisfies Options;

const command: Command = {
  usage: `Usage: db-kit generate --package <alias> [--name <slug>] [--custom] [--rename old=new ...]
       db-kit generate --package <alias> --undo

Compares the package's schema (the "dbKit.schema" entry) with its latest snapshot and
writes <out>/YYYYMMDD_HHMMSS_<slug>.sql (UTC) plus drizzle's journal and snapshot, and its
down, <slug>.down.sql: the same differ run from the new snapshot back to the previous one
(what it cannot undo is marked "-- db-kit: irreversible"; see db-kit rollback --help).
A team's migration only ever covers the team's own tables. No database is needed.

Options:
  -p, --package <alias>   shared, teamd, ... (or the package name)
  -n, --name <slug>       the migration's name (a-z, 0-9, _); default: drizzle's random name
      --custom            write an empty migration for hand-written SQL (extensions, functions,
                          triggers, views, policies): timestamped, journaled, with a snapshot that
                          repeats the previous one, like drizzle-kit generate --custom
      --undo              remove the package's newest migration: its SQL file, its down, its
                          snapshot and its journal entry (drizzle-kit drop, for the newest one).
                          Refused when the database DATABASE_URL names has applied it (or
                          cannot be reached to tell); the schema files are left as they are
      --rename <old=new>  answer drizzle-kit's "created or renamed?" question without a terminal:
                          old_table=new_table, or table.old_column=table.new_column (the table
                          as the schema names it now); repeat it for several. The migration
                          starts with the ALTER TABLE ... RENAME statements

After writing, it reviews the new file with db-kit check's lint and ownership rules and
prints the findings under the file name. Before running drizzle-kit, it refuses a migration
history that two branches both extended (branch-collision).

Exit: 0 written (warnings allowed), undone, or nothing changed; 1 written with error-level findings,
or nothing written because of a branch collision; 2 usage error, drizzle-kit failed, or an undo
refused (applied, or no database to tell).`,

  async run(argv, ctx) {
    const { values } = parse(argv, options);
    if (!values.package) throw new UsageError('Say which package: --package <alias>.');
    const ws = ctx.workspace;
    const pkg = ws.resolve(values.package);
    if (values.undo) {
      if (values.name || values.custom) throw new UsageError('--undo takes no --name or --custom.');
      return undoNewest(ctx, pkg);
    }
    const slug = values.name === undefined ? undefined : toSlug(values.name);
    const check = await import('../check');
    // drizzle-kit prints "collision" for two branches' snapshots and still exits 0: stop before it runs.
    const blocking = check.generateBlockers(ws, pkg);
    if (blocking.length) {
      const report = new check.CheckReport();
      report.add(...blocking);
      ctx.out.warn(report.format(ws));
      ctx.out.warn(
        `generate: ${plural(blocking.length, 'problem')} in ${pkg.name}'s migration history; nothing written.`,
      );
      return 1;
    }
    if (values.custom && !slug)
      throw new UsageError('A custom migration needs a name.', 'Example: --custom --name add_pg_trgm.');
    const renames = (values.rename ?? []).map(parseRename);
    if (renames.length && values.custom)
      throw new UsageError('--rename and --custom do not go together.', 'Run them as two generates.');
    const written = await generateMigration(pkg, {
      name: slug,
      interactive: ctx.terminal.interactive,
      custom: values.custom,
      renames,
    });
    if (written && values.custom) {
      const migrate = scriptFor(ws, 'migrate', pkg);
      ctx.out.print(`Wrote ${ws.relative(written)}: an empty migration. Put your SQL in it, then run ${migrate}.`);
      ctx.out.print(
        `Wrote ${ws.relative(downPath(pkg, basename(written, '.sql')))}: write the SQL that undoes it there (db-kit ` +
          `rollback runs it).`,
      );
      return 0;
    }
    // drizzle-kit has just diffed the schema with the (new) latest snapshot: nothing is left unrecorded.
    rememberChanges(ws, [], [pkg]);
    if (!written) {
      ctx.out.print(`No schema changes in ${pkg.name}: nothing written.`);
      return 0;
    }
    ctx.out.print(`Wrote ${ws.relative(written)}`);
    warnMissingReferences(ctx, pkg);
    const down = readDownFile(pkg, basename(written, '.sql'));
    if (down) {
      const note = down.irreversible.length ? ` (partial: ${down.irreversible.join('; ')})` : '';
      ctx.out.print(`Wrote ${ws.relative(downPath(pkg, basename(written, '.sql')))}${note}`);
    }
    // The review step, made automatic: the same lint and ownership rules as db-kit check.
    const review = await check.checkWrittenMigration(ws, pkg, written);
    if (!review.findings.length) return 0;
    ctx.out.print(`\n${review.format(ws)}`);
    if (!review.errors) return 0;
    ctx.out.print(
      `generate: the migration is written, with ${plural(review.errors, 'error')}. Change the schema and ` +
        `regenerate, or waive with a reason; CI runs db:check.`,
    );
    return 1;
  },
};

/** The packages this one builds on lack what its schema references: their generate was forgotten. */
function warnMissingReferences(ctx: Context, pkg: SchemaPackage): void {
  const ws = ctx.workspace;
  for (const m of missingReferences(ws, pkg)) {
    const from = m.from.map((p) => p.name).join(' or ');
    ctx.out.warn(
      `warning: ${pkg.name} references ${m.missing} (${m.reference}), which the latest snapshot of ${from} lacks: ` +
        'this migration fails on migrate until that package has a migration creating it.',
    );
    ctx.out.warn(
      `  next: ${m.from.map((p) => `${scriptFor(ws, 'generate', p)} --name <what_changed>`).join(' or ')}, ` +
        'then migrate; commit both migrations together.',
    );
  }
}

/** generate --undo: the newest migration goes, unless a database we can reach has applied it. */
async function undoNewest(ctx: Context, pkg: SchemaPackage): Promise<number> {
  const ws = ctx.workspace;
  const plan = planUndo(pkg);
  const target = ctx.configuredDatabase;
  if (target) {
    const where = `"${target.database}" at ${target.redacted}`;
    try {
      await ctx.withConnection('db-kit generate --undo', (sql) =>
        assertNotApplied(
          sql,
          plan,
          where,
          `Write a new migration that changes it instead (edit the schema, then ` +
            `${scriptFor(ws, 'generate', pkg)} --name <what_changed>), ` +
            `or roll it back first (${scriptFor(ws, 'rollback', pkg)} --steps 1).`,
        ),
      );
    } catch (error) {
      if (error instanceof DbKitError && error.kind === 'refused') throw error;
      throw new DbKitError(
        `Cannot tell whether ${plan.tag} is applied: ${where} is not reachable (${describeError(error)}).`,
        'Start the database (./scripts/db-workflow.sh start) and run it again; undo never guesses.',
        'environment',
      );
    }
  }
  applyUndo(plan);
  ctx.out.print(
    `Removed ${plan.tag} from ${pkg.name}: ${plan.files.map((f) => ws.relative(f)).join(', ')} and its journal entry.`,
  );
  ctx.out.print(
    `The schema files still hold the change: edit them, then ${scriptFor(ws, 'generate', pkg)} --name <what_changed>.`,
  );
  return 0;
}

export default command;
