import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Sql } from '../connection';
import { DbKitError } from '../errors';
import { timestampName } from '../migrations/files';
import { sourceOf } from '../server';
import type { DatabaseTarget } from '../target';
import { findPgTools } from './pg-tools';

/** Git-ignored folder for dumps, at the repository root. */
export const BACKUP_DIR = 'backups';

export interface BackupResult {
  file: string;
  bytes: number;
  where: string;
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
  const { url, database } = target;
  const tools = findPgTools(sourceOf(target, root), url, await serverMajor(sql));
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
  const { code, stderr } = tools.run('pg_dump', url, ['--format=custom', '--no-owner', '--no-privileges', ...only], {
    stdoutTo: file,
  });
  if (code !== 0) {
    rmSync(file, { force: true });
    throw new DbKitError(
      `pg_dump failed (${tools.where}): ${lastLine(stderr)}`,
      'Fix the cause above and run the backup again; nothing was written.',
    );
  }
  return { file, bytes: statSync(file).size, where: tools.where };
}

/**
 * Replaces what the dump contains with the dump's content, in one transaction: objects the
 * dump has are dropped and recreated; objects created after the backup stay.
 */
export async function restoreDatabase(
  sql: Sql,
  target: DatabaseTarget,
  root: string,
  file: string,
): Promise<{ where: string }> {
  const { url } = target;
  const path = resolve(file);
  if (!existsSync(path))
    throw new DbKitError(`No backup at ${file}.`, `Backups are in ${BACKUP_DIR}/: ls ${BACKUP_DIR}`);
  const tools = findPgTools(sourceOf(target, root), url, await serverMajor(sql));
  const args = ['--clean', '--if-exists', '--no-owner', '--no-privileges', '--single-transaction', '--exit-on-error'];
  const { code, stderr } = tools.run('pg_restore', url, args, { stdinFrom: path });
  if (code !== 0)
    throw new DbKitError(
      `pg_restore failed (${tools.where}): ${lastLine(stderr)}`,
      'Nothing was changed (the restore runs in one transaction). Is the file a db-kit backup (pg_dump custom format)?',
    );
  return { where: tools.where };
}

function lastLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const error = lines.find((l) => /error:/i.test(l)) ?? lines.at(-1) ?? 'no message';
  return error.replace(/^pg_(dump|restore): (error: )?/, '');
}
