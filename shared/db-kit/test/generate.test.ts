import { readdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FixtureWorkspace } from '../src/testing';
import { fixtureWorkspace } from './helpers';

const TEAMD = 'teams/teamD/src/database';
const TIMESTAMPED = /^\d{8}_\d{6}_[a-z0-9_]+\.sql$/;

function sqlFiles(ws: FixtureWorkspace, pkgDir: string): string[] {
  return readdirSync(ws.path(`${pkgDir}/drizzle`))
    .filter((f) => f.endsWith('.sql') && !f.endsWith('.down.sql'))
    .sort();
}

describe('generate', () => {
  let ws: FixtureWorkspace;
  beforeEach(() => {
    ws = fixtureWorkspace();
  });
  afterEach(() => ws.remove());

  it('writes nothing and says so when the schema has not changed', async () => {
    const before = sqlFiles(ws, TEAMD);
    const run = await ws.run(['generate', '--package', 'teamd']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/No schema changes in @teamd\/database: nothing written/);
    expect(sqlFiles(ws, TEAMD)).toEqual(before);
    expect((await ws.run(['generate', '--package', 'shared'])).stdout).toMatch(/nothing written/);
  });

  it('names the file YYYYMMDD_HHMMSS_<slug>.sql in UTC and keeps drizzle-kit check passing', async () => {
    const file = `${TEAMD}/src/overlays/team-specific-tables.ts`;
    ws.write(
      file,
      ws
        .read(file)
        .replace(
          "description: text('description'),",
          "description: text('description'),\n  budget: integer('budget'),",
        ),
    );
    const startedUtc = new Date().toISOString().slice(0, 10).replaceAll('-', '');
    const run = await ws.run(['generate', '--package', 'teamd', '--name', 'add-budget']);
    expect(run.code, run.stderr).toBe(0);
    const added = sqlFiles(ws, TEAMD).filter((f) => f.endsWith('_add_budget.sql'));
    expect(added).toHaveLength(1);
    expect(added[0]).toMatch(TIMESTAMPED);
    expect(added[0]!.slice(0, 8)).toBe(startedUtc);
    const sql = ws.read(`${TEAMD}/drizzle/${added[0]}`);
    expect(sql).toBe('ALTER TABLE "teamd_projects" ADD COLUMN "budget" integer;');
    const journal = JSON.parse(ws.read(`${TEAMD}/drizzle/meta/_journal.json`));
    expect(journal.entries.at(-1).tag).toBe(added[0]!.replace(/\.sql$/, ''));
    const check = ws.exec(process.execPath, [
      ws.path(`${TEAMD}/node_modules/drizzle-kit/bin.cjs`),
      'check',
      '--dialect',
      'postgresql',
      '--out',
      `./${TEAMD}/drizzle`,
    ]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/Everything's fine/);
    // The shared package saw no change.
    expect((await ws.run(['generate', '--package', 'shared'])).stdout).toMatch(/nothing written/);
  });

  it("uses drizzle's random name when --name is not given", async () => {
    const file = `${TEAMD}/src/overlays/extensions.ts`;
    ws.write(
      file,
      ws
        .read(file)
        .replace(
          "emailDigest: boolean('email_digest').default(true).notNull(),",
          "emailDigest: boolean('email_digest').default(true).notNull(),\n  locale: varchar('locale', { length: 16 }),",
        ),
    );
    expect((await ws.run(['generate', '--package', 'teamd'])).code).toBe(0);
    const names = sqlFiles(ws, TEAMD);
    expect(names).toHaveLength(2);
    expect(names[1]).toMatch(/^\d{8}_\d{6}_[a-z]+_[a-z_]+\.sql$/);
  });

  it("never lets Team D's migration create, alter or drop a shared table", async () => {
    ws.write(
      `${TEAMD}/src/overlays/badges.ts`,
      `import { events, users } from '@large-event/database';
import { integer, pgTable, serial, varchar } from 'drizzle-orm/pg-core';
import { fixtureWorkspace } from './helpers';
export const teamdBadges = pgTable('teamd_badges', {
  id: serial('id').primaryKey(),
  userId: integer('user_id').notNull().references(() => users.id),
  eventId: integer('event_id').references(() => events.id),
  label: varchar('label', { length: 64 }).notNull(),
});
`,
    );
    const index = `${TEAMD}/src/overlays/index.ts`;
    ws.write(index, `${ws.read(index)}export * from './badges';\n`);
    const run = await ws.run(['generate', '--package', 'teamd', '--name', 'badges']);
    expect(run.code, run.stderr).toBe(0);
    const sql = ws.read(`${TEAMD}/drizzle/${sqlFiles(ws, TEAMD).find((f) => f.endsWith('_badges.sql'))}`);
    expect(sql).toMatch(/CREATE TABLE "teamd_badges"/);
    expect(sql).not.toMatch(/(CREATE|ALTER|DROP) TABLE "(users|events)"/);
    expect(sql).toMatch(/REFERENCES "public"."users"\("id"\)/);
  });

  it('refuses an unknown package with the list of known ones', async () => {
    const run = await ws.run(['generate', '--package', 'nope']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/No schema package named "nope"/);
    expect(run.stderr).toMatch(/shared, teamd/);
  });
});
