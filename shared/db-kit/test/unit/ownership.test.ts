import { describe, expect, it } from 'vitest';
import { ownership } from '../../src/migrations/ownership';
import { TableGraph } from '../../src/promote/tables';
import { idempotent } from '../../src/promote/migrations';
import { Workspace } from '../../src/workspace';

// The repository's own packages, read-only: snapshots and schema sources, no database.
const ws = Workspace.find();
const shared = ws.resolve('shared');
const teamd = ws.resolve('teamd');

describe('who owns what (from the latest snapshots)', () => {
  it('gives each table and enum to the package whose migrations built it', () => {
    const owners = ownership(ws.packages);
    expect(owners.get('table:public.users')).toBe(shared);
    expect(owners.get('table:public.teamd_projects')).toBe(teamd);
    expect([...owners.values()].every((p) => ws.packages.includes(p))).toBe(true);
  });
});

describe('promote planning', () => {
  it('knows which team tables a table needs', () => {
    const graph = TableGraph.of(teamd);
    expect(graph.tables.map((t) => t.name)).toContain('teamd_projects');
    expect(graph.missingDependencies(['teamd_tasks'])).toEqual([{ table: 'teamd_tasks', needs: 'teamd_projects' }]);
    expect(() => graph.assertSelfContained(['teamd_tasks'])).toThrow(/teamd_projects/);
    expect(graph.missingDependencies(['teamd_projects', 'teamd_tasks'])).toEqual([]);
  });

  it('makes an adopting statement create only what a database lacks', () => {
    expect(idempotent('CREATE TABLE "x" (id int)')).toMatch(/^CREATE TABLE IF NOT EXISTS "x"/);
    expect(idempotent('CREATE INDEX "i" ON "x" ("id")')).toMatch(/IF NOT EXISTS/);
  });
});
