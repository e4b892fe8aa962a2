import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { runDrizzleKit } from '../drizzle-kit';
import { DbKitError, UsageError } from '../errors';
import type { SchemaPackage } from '../workspace';
import { quoteIdent } from '../sql-text';
import { customDownText, downPath, writeDown } from './down';
import { type Journal, type JournalEntry, journalPath, STATEMENT_BREAKPOINT, timestampName } from './files';
import { forgetHistory, historyOf, restoreJournal, writeJournal } from './history';
import { snapshotPath, type Snapshot } from './snapshots';

/** The longest slug: `<timestamp>_<slug>.down.sql` stays far below a file name's 255 bytes. */
const MAX_NAME = 100;

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
  if (slug.length > MAX_NAME)
    throw new UsageError(
      `--name is ${slug.length} characters; a migration name has at most ${MAX_NAME} (file names stop at 255 bytes).`,
      'Use a short description such as --name add_budget; say the rest in a comment in the migration.',
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
  options: { name?: string; interactive: boolean; custom?: boolean; renames?: Rename[] },
): Promise<string | undefined> {
  // drizzle-kit writes the journal and snapshots behind the history's back: read them afresh, and forget after.
  forgetHistory(pkg);
  try {
    if (options.renames?.length) return await generateWithRenames(pkg, { ...options, renames: options.renames });
    return await runGenerate(pkg, options);
  } finally {
    forgetHistory(pkg);
  }
}

async function runGenerate(
  pkg: SchemaPackage,
  options: { name?: string; interactive: boolean; custom?: boolean },
): Promise<string | undefined> {
  const before = historyOf(pkg).entries.length;
  const journalBefore = existsSync(journalPath(pkg)) ? readFileSync(journalPath(pkg), 'utf8') : undefined;
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
  forgetHistory(pkg);
  const journal = structuredClone(historyOf(pkg).journal);
  const added = journal.entries.slice(before);
  if (result.code !== 0 || /collision|malformed|Error/.test(result.output)) {
    if (added.length === 0 && /Interactive prompts require a TTY/i.test(result.output)) {
      const question = cleanLines(result.output).find((line) => /renamed|created or/i.test(line));
      throw new DbKitError(
        `drizzle-kit generate must ask whether something in ${pkg.name} was renamed` +
          `${question ? ` ("${question}")` : ''}, ` +
          `and there is no terminal to ask (Interactive prompts require a TTY).`,
        'Declare it: --rename old_table=new_table, ' +
          'or --rename table.old_column=table.new_column (repeatable); or run generate in a terminal.',
      );
    }
    if (added.length === 0) {
      throw new DbKitError(
        `drizzle-kit generate failed for ${pkg.name}: ${drizzleKitReason(result.output) || `exit code ${result.code}`}`,
        'Fix the schema error above, then run generate again.',
      );
    }
  }
  if (added.length === 0) return undefined;
  const drizzleTags = added.map((entry) => entry.tag);
  try {
    return await nameMigrations(pkg, journal, added, Boolean(options.custom));
  } catch (error) {
    // Half a migration (a journal entry and a snapshot without their .sql) would hide the change from
    // the next generate ("No schema changes"): put the folder back as it was, whatever failed.
    added.forEach((entry, i) => {
      const renamed = entry.tag !== drizzleTags[i]; // only then are the timestamped files ours to remove
      const files = [join(pkg.migrationsDir, `${drizzleTags[i]}.sql`), snapshotPath(pkg, entry.idx)];
      if (renamed) files.push(join(pkg.migrationsDir, `${entry.tag}.sql`), downPath(pkg, entry.tag));
      for (const file of files) rmSync(file, { force: true });
    });
    restoreJournal(pkg, journalBefore);
    throw error;
  }
}

/** Gives drizzle-kit's new files their timestamped names, then writes the journal and the downs. */
async function nameMigrations(
  pkg: SchemaPackage,
  journal: Journal,
  added: JournalEntry[],
  custom: boolean,
): Promise<string | undefined> {
  let path: string | undefined;
  for (const entry of added) {
    const slug = entry.tag.replace(/^\d+_/, '');
    const tag = `${timestampName(new Date(entry.when))}_${slug}`;
    path = join(pkg.migrationsDir, `${tag}.sql`);
    if (existsSync(path)) throw new DbKitError(`${path} already exists.`, 'Wait a second and run generate again.');
    renameSync(join(pkg.migrationsDir, `${entry.tag}.sql`), path);
    entry.tag = tag;
    if (custom) writeFileSync(path, customMigrationHeader(pkg));
    else reapplicableEnumValues(path);
  }
  writeJournal(pkg, journal);
  // Each migration gets its down beside it: computed, or for a custom one the reminder to write it.
  for (const entry of added) {
    if (custom) writeFileSync(downPath(pkg, entry.tag), customDownText(entry.tag));
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

function cleanLines(output: string): string[] {
  return output
    .replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/** drizzle-kit's own chatter around an error: config banners, progress lines, its stack frames. */
const DRIZZLE_NOISE = [
  /^No config path provided/,
  /^Reading config file/,
  /^Using '[^']*' driver/,
  /^\[[^\]]{1,2}\] /, // [✓] Your SQL migration file..., [⣷] Pulling schema...
  /^at .*node_modules/, // frames inside drizzle-kit/drizzle-orm; frames in the schema files stay
  /^at .*\(node:/,
  /^at (async )?\S*\s*\(?<anonymous>\)?$/,
  /^Node\.js v\d/,
];

/**
 * The part of drizzle-kit's output that says what went wrong, whole (the error and where in the schema
 * files it was thrown), without its banners and progress lines or its own stack frames.
 *
 * @example
 *   drizzleKitReason("Reading config file '/x/drizzle.config.ts'\nTypeError: boom\n    at f (bin.cjs:1)")
 *   // 'TypeError: boom' (when bin.cjs lives under node_modules)
 */
export function drizzleKitReason(output: string): string {
  const lines = cleanLines(output).filter((line) => !DRIZZLE_NOISE.some((noise) => noise.test(line)));
  const shown = lines.slice(0, 12);
  return [...shown, ...(lines.length > shown.length ? [`(+${lines.length - shown.length} more lines)`] : [])].join(
    '\n  ',
  );
}

/** A rename drizzle-kit would ask about: a table (`from`/`to` are table names) or a column of `table`. */
export type Rename =
  | { kind: 'table'; from: string; to: string }
  | { kind: 'column'; table: string; from: string; to: string };

const IDENT = /^[A-Za-z_][A-Za-z0-9_$]*$/;

/**
 * `old=new` renames a table; `table.old=table.new` a column of the table as the schema names it now.
 *
 * @example
 *   parseRename('teamd_tasks=teamd_todos'); // { kind: 'table', from: 'teamd_tasks', to: 'teamd_todos' }
 *   parseRename('teamd_tasks.title=teamd_tasks.name');
 *   // { kind: 'column', table: 'teamd_tasks', from: 'title', to: 'name' }
 */
export function parseRename(text: string): Rename {
  const [from = '', to = '', ...extra] = text.split('=').map((s) => s.trim());
  const usage = new UsageError(
    `--rename "${text}" is not old=new.`,
    'Tables: --rename old_table=new_table. Columns: --rename table.old_column=table.new_column.',
  );
  if (extra.length || !from || !to) throw usage;
  const a = from.split('.');
  const b = to.split('.');
  if (a.length === 1 && b.length === 1 && IDENT.test(from) && IDENT.test(to)) return { kind: 'table', from, to };
  if (a.length === 2 && b.length === 2 && a.every((p) => IDENT.test(p)) && b.every((p) => IDENT.test(p))) {
    if (a[0] !== b[0])
      throw new UsageError(
        `--rename "${text}" names two tables: a column rename keeps its table.`,
        'Rename the table with its own --rename old=new, and name the column by the new table name.',
      );
    return { kind: 'column', table: a[0]!, from: a[1]!, to: b[1]! };
  }
  throw usage;
}

/**
 * generate with renames declared up front, doing what drizzle-kit's prompt does: the latest snapshot
 * is read as if the renames had happened (names, and every column list and foreign key that names
 * them), so drizzle-kit sees no created-or-renamed question; the rename statements open the migration.
 * The snapshot file itself is put back: the chain stays as it was.
 */
async function generateWithRenames(
  pkg: SchemaPackage,
  options: { name?: string; interactive: boolean; custom?: boolean; renames: Rename[] },
): Promise<string> {
  const last = historyOf(pkg).entries.at(-1);
  if (!last)
    throw new UsageError(
      `${pkg.name} has no migration yet, so nothing can have been renamed.`,
      'Run generate without --rename.',
    );
  const file = snapshotPath(pkg, last.idx);
  const original = readFileSync(file, 'utf8');
  const renamed = applyRenames(JSON.parse(original) as Snapshot, options.renames, pkg);
  let written: string | undefined;
  let onlyRenames = false;
  writeFileSync(file, JSON.stringify(renamed, null, 2));
  forgetHistory(pkg);
  try {
    written = await runGenerate(pkg, { ...options, custom: false, interactive: false });
    // Nothing but the renames changed: an empty migration (its snapshot repeats the renamed one) to hold them.
    if (!written) {
      onlyRenames = true;
      written = await runGenerate(pkg, { ...options, custom: true, interactive: false });
    }
  } finally {
    writeFileSync(file, original);
    forgetHistory(pkg);
  }
  if (!written) throw new DbKitError(`drizzle-kit generate wrote nothing for ${pkg.name}.`, 'Run generate again.');
  const statements = options.renames.map((r) =>
    r.kind === 'table'
      ? `ALTER TABLE ${quoteIdent(r.from)} RENAME TO ${quoteIdent(r.to)};`
      : `ALTER TABLE ${quoteIdent(r.table)} RENAME COLUMN ${quoteIdent(r.from)} TO ${quoteIdent(r.to)};`,
  );
  const generated = onlyRenames ? '' : readFileSync(written, 'utf8').trim();
  writeFileSync(written, `${[...statements, ...(generated ? [generated] : [])].join(`\n${STATEMENT_BREAKPOINT}\n`)}\n`);
  // The down undoes the other changes (computed against the renamed snapshot), then renames back.
  const undo = [...options.renames]
    .reverse()
    .map((r) =>
      r.kind === 'table'
        ? `ALTER TABLE ${quoteIdent(r.to)} RENAME TO ${quoteIdent(r.from)};`
        : `ALTER TABLE ${quoteIdent(r.table)} RENAME COLUMN ${quoteIdent(r.to)} TO ${quoteIdent(r.from)};`,
    );
  const down = downPath(pkg, basename(written, '.sql'));
  const computed = onlyRenames || !existsSync(down) ? '' : readFileSync(down, 'utf8').trim();
  writeFileSync(down, `${[...(computed ? [computed] : []), ...undo].join(`\n${STATEMENT_BREAKPOINT}\n`)}\n`);
  return written;
}

/** The snapshot as it would read had the renames been made: keys, names, column lists, foreign keys. */
export function applyRenames(snapshot: Snapshot, renames: Rename[], pkg: SchemaPackage): Snapshot {
  const next = structuredClone(snapshot);
  const keyOf = (name: string) => Object.keys(next.tables).find((k) => next.tables[k]!.name === name);
  for (const r of renames.filter((r) => r.kind === 'table')) {
    const key = keyOf(r.from);
    if (!key)
      throw new UsageError(
        `--rename ${r.from}=${r.to}: ${pkg.name}'s latest snapshot has no table ${r.from}.`,
        `Its tables: ${
          Object.values(next.tables)
            .map((t) => t.name)
            .join(', ') || 'none'
        }.`,
      );
    if (keyOf(r.to))
      throw new UsageError(`--rename ${r.from}=${r.to}: ${r.to} exists already.`, 'Rename into a free name.');
    const table = next.tables[key]!;
    delete next.tables[key];
    table.name = r.to;
    next.tables[`${table.schema || 'public'}.${r.to}`] = table;
    for (const t of Object.values(next.tables))
      for (const fk of Object.values(t.foreignKeys ?? {})) {
        if (fk.tableFrom === r.from) fk.tableFrom = r.to;
        if (fk.tableTo === r.from) fk.tableTo = r.to;
      }
  }
  for (const r of renames) {
    if (r.kind !== 'column') continue;
    const key = keyOf(r.table);
    const table = key ? next.tables[key] : undefined;
    const column = table?.columns[r.from];
    if (!table || !column)
      throw new UsageError(
        `--rename ${r.table}.${r.from}=${r.table}.${r.to}: ` +
          `${pkg.name}'s latest snapshot has no column ${r.from} in ${r.table}.`,
        'Name the table as the schema names it now (after a table rename), and the column as it was.',
      );
    if (table.columns[r.to])
      throw new UsageError(
        `--rename ${r.table}.${r.from}: ${r.table}.${r.to} exists already.`,
        'Rename into a free name.',
      );
    const swap = (names: string[] | undefined) => names?.map((n) => (n === r.from ? r.to : n));
    table.columns = Object.fromEntries(
      Object.entries(table.columns).map(([k, c]) => (k === r.from ? [r.to, { ...c, name: r.to }] : [k, c])),
    );
    for (const group of [table.compositePrimaryKeys, table.uniqueConstraints] as Array<
      Record<string, { columns?: string[] }>
    >)
      for (const c of Object.values(group ?? {})) c.columns = swap(c.columns);
    for (const index of Object.values(table.indexes ?? {}) as Array<{
      columns?: Array<{ expression: string; isExpression?: boolean }>;
    }>)
      for (const c of index.columns ?? []) if (!c.isExpression && c.expression === r.from) c.expression = r.to;
    for (const t of Object.values(next.tables))
      for (const fk of Object.values(t.foreignKeys ?? {})) {
        if (fk.tableFrom === r.table) fk.columnsFrom = swap(fk.columnsFrom)!;
        if (fk.tableTo === r.table) fk.columnsTo = swap(fk.columnsTo)!;
      }
  }
  return next;
}
