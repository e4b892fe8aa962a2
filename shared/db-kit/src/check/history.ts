import { spawnSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { checksum } from '../migrations/files';
import type { SchemaPackage, Workspace } from '../workspace';
import type { Finding } from './findings';

/**
 * Migrations merged on `main` are history: a database somewhere has applied them. Without a
 * database, compare the working tree with main's version of every migration file, as atlas.sum
 * and graphile-migrate's hash chain do: an edited file (its statements, not its comments, as
 * migrate compares them) or a deleted one fails check before a deploy meets it.
 * Nothing to compare when the workspace is not a git work tree or there is no main branch.
 *
 * @example
 *   historyFindings(ws, [ws.resolve('teamd')]); // [] when every merged migration is as on main
 */
export function historyFindings(ws: Workspace, packages: SchemaPackage[]): Finding[] {
  const git = (...args: string[]) => {
    const result = spawnSync('git', args, { cwd: ws.root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    return result.status === 0 ? result.stdout : undefined;
  };
  const top = git('rev-parse', '--show-toplevel')?.trim();
  if (!top || realpathSync(top) !== realpathSync(ws.root)) return [];
  const mainRef = ['main', 'origin/main'].find((ref) => git('rev-parse', '--verify', '--quiet', `${ref}^{commit}`));
  if (!mainRef) return [];
  const dirs = packages.map((p) => ws.relative(p.migrationsDir));
  // Working tree against main's tip: M for an edited file, D for a deleted one.
  const changes = (git('diff', '--name-status', '--no-renames', mainRef, '--', ...dirs) ?? '')
    .split('\n')
    .map((line) => line.split('\t') as [string, string])
    .filter(([status, file]) => file?.endsWith('.sql') && (status === 'M' || status === 'D'));
  const findings: Finding[] = [];
  const deleted = new Map<string, string>();
  for (const [status, file] of changes) {
    const onMain = git('show', `${mainRef}:${file}`) ?? '';
    const path = join(ws.root, file);
    if (status === 'D') {
      deleted.set(checksum(onMain.replace(/\r\n/g, '\n')), file);
      continue;
    }
    const now = readFileSync(path, 'utf8');
    if (checksum(now.replace(/\r\n/g, '\n')) === checksum(onMain.replace(/\r\n/g, '\n'))) continue;
    findings.push({
      rule: 'merged-migration-edited',
      severity: 'error',
      file: path,
      message:
        `this migration is on ${mainRef} and was edited since: ` +
        `databases that applied it will refuse to migrate (its checksum changed).`,
      next: `Restore it (git checkout ${mainRef} -- ${file}) and put the change in a new migration (pnpm db:generate).`,
    });
  }
  for (const [hash, file] of deleted) {
    findings.push({
      rule: 'merged-migration-deleted',
      severity: 'error',
      file: join(ws.root, file),
      message:
        `this migration is on ${mainRef} and was deleted or renamed since ` +
        `(checksum ${hash.slice(0, 12)}): databases that applied it will refuse to migrate.`,
      next: `Restore it (git checkout ${mainRef} -- ${file}); undo a schema change with a new migration instead.`,
    });
  }
  return findings;
}
