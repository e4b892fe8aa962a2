import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runDrizzleKit } from '../drizzle-kit';
import { DbKitError, UsageError } from '../errors';
import type { SchemaPackage } from '../workspace';
import { customDownText, downPath, writeDown } from './down';
import { readJournal, timestampName, writeJournal } from './files';

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

/** What a custom migration starts with, in place of drizzle-kit's placeholder line. */
export function customMigrationHeader(pkg: SchemaPackage): string {
  return `-- Hand-written migration of ${pkg.name}: put its SQL below, one statement after another.
-- What it creates (extensions, functions, triggers, views, policies, ...) belongs to ${pkg.name}:
-- db:check reads it with PostgreSQL's parser, and other packages may not change it.
`;
}

/**
 * Runs drizzle-kit generate for one package, then gives the new file its timestamped name.
 * Returns the new file's path, or undefined when the schema has not changed.
 * With `custom`, the file is empty (for hand-written SQL), with drizzle-kit's journal entry and a
 * snapshot that repeats the previous one, as `drizzle-kit generate --custom` writes them.
 */
export async function generateMigration(
  pkg: SchemaPackage,
  options: { name?: string; interactive: boolean; custom?: boolean },
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
  if (options.custom) args.push('--custom');
  // drizzle-kit names its own file (0003_x.sql), which is renamed below: only our name is printed.
  const result = await runDrizzleKit(args, {
    cwd: pkg.dir,
    interactive: options.interactive && !options.custom,
    dropLine: 'Your SQL migration file',
  });
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
    if (options.custom) writeFileSync(path, customMigrationHeader(pkg));
    else reapplicableEnumValues(path);
    entry.tag = tag;
  }
  writeJournal(pkg, journal);
  // Each migration gets its down beside it: computed, or for a custom one the reminder to write it.
  for (const entry of added) {
    if (options.custom) writeFileSync(downPath(pkg, entry.tag), customDownText(entry.tag));
    else await writeDown(pkg, entry.tag, entry.idx);
  }
  return path;
}

/**
 * An added enum value outlives a rollback (PostgreSQL cannot drop it), so the migration must be
 * able to run again after its down: `ADD VALUE IF NOT EXISTS`.
 */
function reapplicableEnumValues(path: string): void {
  const text = readFileSync(path, 'utf8');
  const fixed = text.replace(/(ALTER TYPE [^;]*? ADD VALUE) (?!IF NOT EXISTS)'/g, "$1 IF NOT EXISTS '");
  if (fixed !== text) writeFileSync(path, fixed);
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
