import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '../context';
import { runDrizzleKit } from '../drizzle-kit';
import { DbKitError, UsageError } from '../errors';
import { journalPath, readJournal, timestampName } from '../migrations/files';
import type { SchemaPackage } from '../workspace';
import { parse, plural, type Options } from './common';

const options = {
  package: { type: 'string', short: 'p' },
  name: { type: 'string', short: 'n' },
} satisfies Options;

const command: Command = {
  usage: `Usage: db-kit generate --package <alias> [--name <slug>]

Compares the package's schema (the "dbKit.schema" entry) with its latest snapshot and
writes <out>/YYYYMMDD_HHMMSS_<slug>.sql (UTC) plus drizzle's journal and snapshot.
A team's migration only ever covers the team's own tables. No database is needed.

Options:
  -p, --package <alias>   shared, teamd, ... (or the package name)
  -n, --name <slug>       the migration's name (a-z, 0-9, _); default: drizzle's random name

After writing, it reviews the new file with db-kit check's lint and ownership rules and
prints the findings under the file name. Before running drizzle-kit, it refuses a migration
history that two branches both extended (branch-collision).

Exit: 0 written (warnings allowed) or nothing changed; 1 written with error-level findings,
or nothing written because of a branch collision; 2 usage error or drizzle-kit failed.`,

  async run(argv, ctx) {
    const { values } = parse(argv, options);
    if (!values.package) throw new UsageError('Say which package: --package <alias>.');
    const ws = ctx.workspace;
    const pkg = ws.resolve(values.package);
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
    const written = await generateMigration(pkg, {
      name: slug,
      interactive: ctx.terminal.interactive,
    });
    if (!written) {
      ctx.out.print(`No schema changes in ${pkg.name}: nothing written.`);
      return 0;
    }
    ctx.out.print(`Wrote ${ws.relative(written)}`);
    // The review step, made automatic: the same lint and ownership rules as db-kit check.
    const review = await check.checkWrittenMigration(ws, pkg, written);
    if (!review.findings.length) return 0;
    ctx.out.print(`\n${review.format(ws)}`);
    if (!review.errors) return 0;
    ctx.out.print(
      `generate: the migration is written, with ${plural(review.errors, 'error')}. Change the schema and regenerate, or waive with a reason; CI runs db:check.`,
    );
    return 1;
  },
};

/** Lower-case slug: `Add-Budget` -> `add_budget`. */
export function toSlug(name: string): string {
  const slug = name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (!slug)
    throw new UsageError(
      `--name "${name}" has no letters or digits.`,
      'Use a short description such as --name add_budget.',
    );
  return slug;
}

/**
 * Runs drizzle-kit generate for one package, then gives the new file its timestamped name.
 * Returns the new file's path, or undefined when the schema has not changed.
 */
export async function generateMigration(
  pkg: SchemaPackage,
  options: { name?: string; interactive: boolean },
): Promise<string | undefined> {
  const before = readJournal(pkg).entries.length;
  // drizzle-kit wants paths relative to its working directory.
  const args = [
    'generate',
    '--dialect',
    'postgresql',
    '--schema',
    `./${pkg.schema}`,
    '--out',
    `./${pkg.out}`,
    '--prefix',
    'index',
  ];
  if (options.name) args.push('--name', options.name);
  const result = await runDrizzleKit(args, { cwd: pkg.dir, interactive: options.interactive });
  const journal = readJournal(pkg);
  const added = journal.entries.slice(before);
  if (result.code !== 0 || /collision|malformed|Error/.test(result.output)) {
    if (added.length === 0) {
      throw new DbKitError(
        `drizzle-kit generate failed for ${pkg.name}: ${lastLines(result.output) || `exit code ${result.code}`}`,
        'Fix the schema error above, then run generate again.',
      );
    }
  }
  if (added.length === 0) return undefined;
  let path: string | undefined;
  for (const entry of added) {
    const slug = entry.tag.replace(/^\d+_/, '');
    const tag = `${timestampName(new Date(entry.when))}_${slug}`;
    path = join(pkg.migrationsDir, `${tag}.sql`);
    if (existsSync(path)) throw new DbKitError(`${path} already exists.`, 'Wait a second and run generate again.');
    renameSync(join(pkg.migrationsDir, `${entry.tag}.sql`), path);
    entry.tag = tag;
  }
  writeFileSync(journalPath(pkg), JSON.stringify(journal, null, 2));
  return path;
}

function lastLines(output: string): string {
  return output
    .replace(/\x1b\[[0-9;]*m/g, '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-2)
    .join(' ');
}

export default command;
