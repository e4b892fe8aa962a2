import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FixtureWorkspace } from '../src/testing';
import { fixtureWorkspace, TEAMD } from './helpers';

function addOverlay(ws: FixtureWorkspace, source: string): void {
  ws.write(`${TEAMD}/src/overlays/names.ts`, source);
  ws.write(`${TEAMD}/src/overlays/index.ts`, `${ws.read(`${TEAMD}/src/overlays/index.ts`)}export * from './names';\n`);
}

describe('generate refuses names PostgreSQL would not keep', () => {
  let ws: FixtureWorkspace;
  beforeEach(() => {
    ws = fixtureWorkspace();
  });
  afterEach(() => ws.remove());

  it('a name over 63 bytes (drizzle-derived foreign key) is an error that gives the name to write', async () => {
    addOverlay(
      ws,
      `import { integer, pgTable, serial } from 'drizzle-orm/pg-core';
import { teamdProjects } from './team-specific-tables';
export const teamdProjectMilestoneDependencies = pgTable('teamd_project_milestone_dependencies', {
  id: serial('id').primaryKey(),
  blockingProjectId: integer('blocking_project_id').references(() => teamdProjects.id),
});
`,
    );
    const run = await ws.run(['generate', '--package', 'teamd', '--name', 'long']);
    expect(run.code).toBe(1);
    const out = run.stdout + run.stderr;
    expect(out).toMatch(
      /error +name-too-long: "teamd_project_milestone_dependencies_blocking_project_id_teamd_projects_id_fk" is 77 bytes/,
    );
    expect(out).toMatch(/foreignKey\(\{ name: 'teamd_project_milestone_dependencies_blocking_project_id_fk'/);
    expect(out).not.toMatch(/identifier-too-long/); // one finding per name, not squawk's warning too
    // The suggested name fits: 63 bytes at most.
    expect('teamd_project_milestone_dependencies_blocking_project_id_fk'.length).toBeLessThanOrEqual(63);
  });

  it("two tables' automatic key names that are one name are an error before migrate meets them", async () => {
    addOverlay(
      ws,
      `import { pgTable, serial, varchar } from 'drizzle-orm/pg-core';
export const teamdBadge = pgTable('teamd_badge', { id: serial('id').primaryKey(), kindCode: varchar('kind_code').unique() });
export const teamdBadgeKind = pgTable('teamd_badge_kind', { id: serial('id').primaryKey(), code: varchar('code').unique() });
`,
    );
    const run = await ws.run(['generate', '--package', 'teamd', '--name', 'collide']);
    expect(run.code).toBe(1);
    expect(run.stdout + run.stderr).toMatch(
      /error +name-collision: "teamd_badge_kind_code_unique" is already the name/,
    );
  });
});
