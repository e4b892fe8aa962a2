import { describe, expect, it } from 'vitest';
import type { ObjectRef, ParsedMigration } from '../../src/check/sql';
import {
  addCreatedBySql,
  handOvers,
  ownerOf,
  ownerOfObject,
  ownership,
  prefixOwner,
  teamPrefixes,
} from '../../src/migrations/ownership';
import type { SchemaPackage } from '../../src/workspace';
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

describe('who owns an object: snapshots, then SQL, then the prefix', () => {
  const core = { name: '@t/core', alias: 'core', role: 'shared' } as SchemaPackage;
  const team = { name: '@t/teamx', alias: 'teamx', role: 'team', tablePrefix: 'teamx_' } as SchemaPackage;
  const migration = (pkg: SchemaPackage, targets: ObjectRef[], text = ''): ParsedMigration => ({
    pkg,
    path: `/x/${pkg.alias}/${Math.random()}.sql`,
    text,
    statements: [{ startLine: 1, endLine: 1, firstLine: '', targets }],
    waivers: [],
  });
  const create = (kind: ObjectRef['kind'], qualifiedName: string, replace = false): ObjectRef => ({
    kind,
    qualifiedName,
    name: qualifiedName.split('.').pop()!,
    action: 'create',
    replace,
  });

  it('gives what SQL creates to the first package creating it, and keeps what a snapshot gave', () => {
    const owners = new Map([['table:public.users', core]]);
    addCreatedBySql(owners, [
      migration(core, [create('extension', 'pg_trgm')]),
      migration(team, [create('extension', 'pg_trgm'), create('function', 'public.teamx_touch')]),
      migration(team, [create('table', 'public.users')]),
      migration(core, [create('function', 'public.teamx_touch', true)]),
    ]);
    expect(owners.get('extension:pg_trgm')).toBe(core);
    expect(owners.get('function:public.teamx_touch')).toBe(team);
    expect(owners.get('table:public.users')).toBe(core);
  });

  it("gives a constraint, trigger or policy to its table's owner", () => {
    const owners = new Map([
      ['table:public.users', core],
      ['policy:public.teamx_notes.teamx_own', team],
    ]);
    expect(ownerOfObject(owners, 'constraint', 'public.users.teamx_users_fk')).toBe(core);
    expect(ownerOfObject(owners, 'trigger', 'public.users.t')).toBe(core);
    expect(ownerOfObject(owners, 'policy', 'public.teamx_notes.teamx_own')).toBe(team);
    expect(ownerOfObject(owners, 'table', 'public.nobody')).toBeUndefined();
  });

  it('gives a name no file defines yet to the team whose prefix it carries', () => {
    const owners = new Map([['table:public.users', core]]);
    expect(prefixOwner([core, team], 'teamx_budget')).toBe(team);
    expect(prefixOwner([core, team], 'budget')).toBeUndefined();
    expect(ownerOf(owners, [core, team], 'table', 'public.users')).toBe(core);
    expect(ownerOf(owners, [core, team], 'table', 'public.teamx_budget')).toBe(team);
    expect(teamPrefixes([core, team])).toEqual(['teamx_']);
  });

  it('marks the migrations before a release as built for the package that received the tables', () => {
    const before = migration(team, []);
    const release = migration(team, [], '-- db-kit: releases teamx_projects to @t/core\nSELECT 1;');
    const after = migration(team, []);
    const shared = migration(core, []);
    const handed = handOvers([before, release, after, shared]);
    expect([...handed.get(before)!]).toEqual(['@t/core']);
    expect([...handed.get(release)!]).toEqual(['@t/core']);
    expect([...handed.get(after)!]).toEqual([]);
    expect([...handed.get(shared)!]).toEqual([]);
  });
});
