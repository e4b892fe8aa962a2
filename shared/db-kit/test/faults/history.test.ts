import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FixtureWorkspace } from '../../src/testing';
import { fixtureWorkspace, SHARED } from '../helpers';

// check, without a database, compares every migration merged on main with the working tree (D14b).
let ws: FixtureWorkspace;
let init: string;
beforeEach(() => {
  ws = fixtureWorkspace();
  const git = (...args: string[]) => {
    const run = ws.exec('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args]);
    expect(run.code, run.stderr).toBe(0);
  };
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'main');
  git('checkout', '-q', '-b', 'feature');
  init = ws.exec('sh', ['-c', `ls ${SHARED}/drizzle/*_init.sql`]).stdout.trim();
});
afterEach(() => ws.remove());

describe('check and the migrations merged on main (D14b)', () => {
  it('fails on a merged migration edited since, naming the file and the way back', () => {
    ws.write(init, `${ws.read(init)}\n--> statement-breakpoint\nALTER TABLE "users" ADD COLUMN "phone" text;`);
    const run = ws.dbKit(['check', '--package', 'shared']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/merged-migration-edited/);
    expect(run.stdout).toMatch(/git checkout main -- shared\/database\/drizzle\/\S+_init\.sql/);
  });

  it('fails on a merged migration deleted since', () => {
    ws.exec('rm', [ws.path(init)]);
    const run = ws.dbKit(['check', '--package', 'shared']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/merged-migration-deleted/);
  });

  it('accepts a comment added to a merged migration, as migrate does', () => {
    ws.write(init, `-- reviewed in the 2.3 release\n${ws.read(init)}`);
    const run = ws.dbKit(['check', '--package', 'shared']);
    expect(run.stdout).not.toMatch(/merged-migration/);
  });
});
