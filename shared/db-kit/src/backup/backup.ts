import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Sql } from '../connection';
import { readDotenv } from '../env';
import { DbKitError } from '../errors';
import { timestampName } from '../migrations/files';
import { sourceOf } from '../server';
import { quoteIdent } from '../sql-text';
import type { DatabaseTarget } from '../target';
import { findPgTools } from './pg-tools';

/** Git-ignored folder for dumps, at the repository root. */
export const BACKUP_DIR = 'backups';

export interface BackupResult {
  file: string;
  bytes: number;
  where: string;
  /** Older backups of the same database removed to keep the last `keepBackups(root)`. */
  removed: string[];
}

/**
 * How many backups per database `backups/` keeps: DB_KIT_KEEP_BACKUPS (environment or .env), default 10; 0 keeps all.
 */
export function keepBackups(root: string): number {
  const raw = process.env.DB_KIT_KEEP_BACKUPS || readDotenv(root).DB_KIT_KEEP_BACKUPS || undefined;
  if (raw === undefined) return 10;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw new DbKitError(
      `DB_KIT_KEEP_BACKUPS must be a whole number (0 keeps every backup), not "${raw}".`,
      'Fix it in the environment or .env.',
      'usage',
    );
  return n;
}

/**
 * Removes the oldest of `dir`'s backups named `<name>-YYYYMMDD_HHMMSS[-n].dump` beyond the newest
 * `keep` (0: none removed). Other files, other databases' and table backups (`<db>-tables-...`) stay.
 */
export function rotateBackups(dir: string, name: string, keep: number): string[] {
  if (keep === 0 || !existsSync(dir)) return [];
  const pattern = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d{8}_\\d{6})(?:-(\\d+))?\\.dump$`);
  const backups = readdirSync(dir)
    .map((file) => ({ file, match: pattern.exec(file) }))
    .filter((b): b is { file: string; match: RegExpExecArray } => b.match !== null)
    .sort((a, b) => a.match[1]!.localeCompare(b.match[1]!) || Number(a.match[2] ?? 1) - Number(b.match[2] ?? 1));
  const removed = backups.slice(0, Math.max(0, backups.length - keep)).map((b) => join(dir, b.file));
  for (const file of removed) rmSync(file, { force: true });
  return removed;
}

async function serverMajor(sql: Sql): Promise<number> {
  const [row] = await sql`select current_setting('server_version_num')::int as n`;
  return Math.floor((row!.n as number) / 10_000);
}

/**
 * Dumps the whole database (custom format: compressed, restorable with pg_restore) to
 * backups/<database>-YYYYMMDD_HHMMSS.dump.
 *
 * @example
 *   const { file } = await backupDatabase(sql, ctx.database, ws.root); // backups/large_event_db-20250101_120000.dump
 */
export async function backupDatabase(
  sql: Sql,
  target: DatabaseTarget,
  root: string,
  dir = join(root, BACKUP_DIR),
  /** Only these tables (`schema.table`), structure and rows, as `pg_dump -t` (rollback's backup); the file says so. */
  tables?: string[],
): Promise<BackupResult> {
  const { database } = target;
  const tools = findPgTools(sourceOf(target, root), target, await serverMajor(sql));
  mkdirSync(dir, { recursive: true });
  const name = tables ? `${database}-tables` : database;
  let file = join(dir, `${name}-${timestampName(new Date())}.dump`);
  for (let n = 2; existsSync(file); n++) file = join(dir, `${name}-${timestampName(new Date())}-${n}.dump`);
  const only = (tables ?? []).map(
    (t) =>
      `--table=${t
        .split('.')
        .map((p) => `"${p.replaceAll('"', '""')}"`)
        .join('.')}`,
  );
  const { code, stderr } = tools.run('pg_dump', target, ['--format=custom', '--no-owner', '--no-privileges', ...only], {
    stdoutTo: file,
  });
  if (code !== 0) {
    rmSync(file, { force: true });
    throw new DbKitError(
      `pg_dump failed (${tools.where}): ${lastLine(stderr)}`,
      'Fix the cause above and run the backup again; nothing was written.',
    );
  }
  const removed = rotateBackups(dir, name, keepBackups(root));
  return { file, bytes: statSync(file).size, where: tools.where, removed };
}

/**
 * Puts the dump's content back, in one transaction (psql --single-transaction), whatever was
 * added since the backup: a schema the dump has besides public (drizzle's bookkeeping, say) is
 * dropped and recreated whole; its tables, views, sequences and types in public are dropped with
 * CASCADE first, so a newer object that depends on one (a foreign key of a table created after
 * the backup) cannot block the restore: what depends on them goes with them. Tables the dump
 * does not have stay. Callers take a safety backup first (restore does). `file` is relative to `cwd`.
 */
export async function restoreDatabase(
  sql: Sql,
  target: DatabaseTarget,
  root: string,
  file: string,
  cwd: string = process.cwd(),
): Promise<{ where: string }> {
  const path = resolve(cwd, file);
  if (!existsSync(path))
    throw new DbKitError(`No backup at ${file}.`, `Backups are in ${BACKUP_DIR}/: ls ${BACKUP_DIR}`);
  const tools = findPgTools(sourceOf(target, root), target, await serverMajor(sql));
  const work = mkdtempSync(join(tmpdir(), 'db-kit-restore-'));
  try {
    const toc = join(work, 'toc');
    const listed = tools.run('pg_restore', target, ['--list'], { stdinFrom: path, stdoutTo: toc, offline: true });
    if (listed.code !== 0)
      throw new DbKitError(
        `${file} is not a backup pg_restore can read: ${lastLine(listed.stderr)}`,
        'Pick a db-kit backup (pg_dump custom format) from backups/; nothing was changed.',
      );
    const script = join(work, 'restore.sql');
    const args = ['--clean', '--if-exists', '--no-owner', '--no-privileges', '--file=-'];
    const made = tools.run('pg_restore', target, args, { stdinFrom: path, stdoutTo: script, offline: true });
    if (made.code !== 0)
      throw new DbKitError(`pg_restore cannot read ${file}: ${lastLine(made.stderr)}`, 'Nothing was changed.');
    const all = join(work, 'all.sql');
    writeFileSync(all, `${restorePrelude(readFileSync(toc, 'utf8'))}\n${readFileSync(script, 'utf8')}`, {
      mode: 0o600,
    });
    const run = tools.run('psql', target, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-f', '-'], {
      stdinFrom: all,
    });
    if (run.code !== 0)
      throw new DbKitError(
        `The restore failed (${tools.where}): ${lastLine(run.stderr)}`,
        'Nothing was changed (the restore runs in one transaction). Fix the cause above and restore again.',
      );
    return { where: tools.where };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const DROPPED_KINDS = ['TABLE', 'VIEW', 'MATERIALIZED VIEW', 'SEQUENCE', 'TYPE', 'DOMAIN'];

/**
 * The statements that clear the way for a dump, from its table of contents (`pg_restore --list`):
 * `DROP SCHEMA ... CASCADE` for each schema it creates, `DROP <kind> IF EXISTS ... CASCADE` for each
 * relation or type it has elsewhere.
 *
 * @example
 *   restorePrelude('6; 2615 1 SCHEMA - drizzle postgres\n217; 1259 2 TABLE public users postgres')
 *   // DROP SCHEMA IF EXISTS "drizzle" CASCADE;\nDROP TABLE IF EXISTS "public"."users" CASCADE;
 */
export function restorePrelude(toc: string): string {
  const schemas = new Set<string>();
  const objects: Array<[string, string, string]> = [];
  for (const line of toc.split('\n')) {
    const entry = /^\d+; \d+ \d+ ([A-Z ]+?) (\S+) (\S+) (\S+)$/.exec(line.trim());
    if (!entry) continue;
    const [, kind, schema, name] = entry as unknown as [string, string, string, string];
    if (kind === 'SCHEMA' && schema === '-') schemas.add(name);
    else if (DROPPED_KINDS.includes(kind)) objects.push([kind, schema, name]);
  }
  return [
    ...[...schemas].map((name) => `DROP SCHEMA IF EXISTS ${quoteIdent(name)} CASCADE;`),
    ...objects
      .filter(([, schema]) => !schemas.has(schema))
      .map(([kind, schema, name]) => `DROP ${kind} IF EXISTS ${quoteIdent(schema)}.${quoteIdent(name)} CASCADE;`),
  ].join('\n');
}

function lastLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const error = lines.find((l) => /error:/i.test(l)) ?? lines.at(-1) ?? 'no message';
  return error.replace(/^pg_(dump|restore): (error: )?/, '');
}
