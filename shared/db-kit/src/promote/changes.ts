import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { DbKitError } from '../errors';
import { forgetHistory, restoreJournal } from '../migrations/history';
import type { SchemaPackage } from '../workspace';

/** One file a promotion writes: `before` undefined means it is new, `after` undefined that it goes. */
export interface FileChange {
  path: string;
  before: string | undefined;
  after: string | undefined;
  /** Set when the file is this package's journal: written through the one journal writer (history.ts). */
  journalOf?: SchemaPackage;
}

export function changeKind(change: FileChange): 'add' | 'update' | 'delete' {
  return change.before === undefined ? 'add' : change.after === undefined ? 'delete' : 'update';
}

/**
 * Writes a set of file changes as one unit: `write` either writes all of them or, when a step
 * fails, puts every file back as it was. `restore` undoes a write that succeeded (used when a
 * check after writing fails).
 *
 * @example
 *   const written = writeChanges(changes);
 *   try { await verify(); } catch (e) { written.restore(); throw e; }
 */
export function writeChanges(changes: FileChange[]): { restore(): void } {
  const restore = () => {
    for (const change of [...changes].reverse()) {
      if (change.journalOf) restoreJournal(change.journalOf, change.before);
      else if (change.before === undefined) rmSync(change.path, { force: true });
      else {
        mkdirSync(dirname(change.path), { recursive: true });
        writeFileSync(change.path, change.before);
      }
    }
    forgetHistory(); // snapshots and migrations of several packages
  };
  // What is on disk now is what the plan read; anything else means someone wrote in between.
  for (const change of changes) {
    const now = existsSync(change.path) ? readFileSync(change.path, 'utf8') : undefined;
    if (now !== change.before)
      throw new DbKitError(`${change.path} changed while promote was planning.`, 'Run promote again.');
  }
  try {
    for (const change of changes) {
      if (change.journalOf) restoreJournal(change.journalOf, change.after);
      else if (change.after === undefined) rmSync(change.path, { force: true });
      else {
        mkdirSync(dirname(change.path), { recursive: true });
        writeFileSync(change.path, change.after);
      }
    }
    forgetHistory(); // snapshots and migrations of several packages
  } catch (error) {
    restore();
    throw error;
  }
  return { restore };
}

/**
 * Paths among `paths` that git reports as modified, staged, untracked or deleted.
 * Throws when `root` is not inside a git work tree: then nothing can be said.
 */
export function uncommittedEdits(root: string, paths: string[]): string[] {
  const relativePaths = paths.map((p) => relative(root, p));
  const result = spawnSync('git', ['status', '--porcelain', '--untracked-files=all', '--', ...relativePaths], {
    cwd: root,
    encoding: 'utf8',
  });
  if (result.error || result.status !== 0) {
    throw new DbKitError(
      `Cannot tell whether the files promote changes have uncommitted edits: git status failed in ${root} ` +
        `(${(result.stderr || String(result.error)).trim().split('\n')[0]}).`,
      'Run promote inside the git repository, or pass --force to skip this check.',
    );
  }
  return result.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => line.slice(3).replace(/^.* -> /, ''));
}
