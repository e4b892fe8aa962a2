import { spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors';
import type { SchemaPackage, Workspace } from '../workspace';

/**
 * Which migration files the per-file rules (squawk, ownership of statements) look at.
 * History is not linted by default: what is on the base branch was reviewed when it landed.
 */
export interface LintScope {
  /** Absolute paths, or every migration when undefined. */
  files?: Set<string>;
  /** One line for the summary: `since main (merge-base 1a2b3c4)`. */
  description: string;
}

/**
 * `--all`: every migration. `--since <ref>`: migrations added or changed since that ref, plus
 * uncommitted and untracked ones. Default: since the merge-base with `main` (or `origin/main`).
 * Fallbacks, each named in the description: no `main` branch -> files not committed yet;
 * not a git work tree, or the workspace is not its root (a scratch copy) -> every migration.
 */
export function lintScope(
  ws: Workspace,
  packages: SchemaPackage[],
  options: { since?: string; all?: boolean },
): LintScope {
  if (options.all) return { description: 'all migrations (--all)' };
  const git = (...args: string[]) => {
    const result = spawnSync('git', args, { cwd: ws.root, encoding: 'utf8' });
    return result.status === 0 ? result.stdout.trim() : undefined;
  };
  const top = git('rev-parse', '--show-toplevel');
  if (!top || realpathSync(top) !== realpathSync(ws.root)) {
    if (options.since)
      throw new UsageError(`--since needs a git work tree at ${ws.root}.`, 'Use --all to lint every migration.');
    return { description: 'all migrations (no git work tree at the workspace root)' };
  }
  let base: string | undefined;
  let description: string;
  if (options.since) {
    base = git('rev-parse', '--verify', '--quiet', `${options.since}^{commit}`);
    if (!base)
      throw new UsageError(
        `--since ${options.since}: no such commit.`,
        'Give a branch, tag or commit, e.g. --since main, or use --all.',
      );
    description = `migrations changed since ${options.since} (${base.slice(0, 7)})`;
  } else {
    const mainRef = ['main', 'origin/main'].find((ref) => git('rev-parse', '--verify', '--quiet', `${ref}^{commit}`));
    base = mainRef ? git('merge-base', 'HEAD', mainRef) : undefined;
    if (base) description = `migrations not on ${mainRef} (merge-base ${base.slice(0, 7)})`;
    else {
      base = git('rev-parse', '--verify', '--quiet', 'HEAD^{commit}');
      if (!base) return { description: 'all migrations (no commit yet)' };
      description = 'migrations not committed yet (no main branch)';
    }
  }
  const dirs = packages.map((p) => ws.relative(p.migrationsDir));
  const changed = [
    ...(git('diff', '--name-only', '--no-renames', base, '--', ...dirs) ?? '').split('\n'),
    ...(git('ls-files', '--others', '--exclude-standard', '--', ...dirs) ?? '').split('\n'),
  ];
  const files = new Set(changed.filter((f) => f.endsWith('.sql')).map((f) => join(ws.root, f)));
  return { files, description };
}
