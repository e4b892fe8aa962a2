import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FixtureWorkspace } from '../src/testing';
import { fixtureWorkspace } from './helpers';
import { addHandWrittenMigration, checkJson, flat, nextTag, SHARED, sqlFiles, TEAMD } from './check-helpers';

describe('db-kit check: ownership', () => {
  let ws: FixtureWorkspace;
  beforeEach(() => {
    ws = fixtureWorkspace();
  });
  afterEach(() => ws.remove());

  it('reports a hand-written Team D migration that alters the shared users table', async () => {
    const file = addHandWrittenMigration(
      ws,
      TEAMD,
      nextTag(ws, TEAMD, 'touch_users'),
      'ALTER TABLE "users" ADD COLUMN "teamd_flag" boolean;',
    );
    const run = await ws.run(['check', '--package', 'teamd']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      `${file}\n  error   foreign-object: alters table users, owned by @large-event/database (shared)`,
    );
    expect(run.stdout).toContain(`at ${file}:1`);
    expect(run.stdout).toMatch(/next: A team never changes a shared object/);
  });

  it('reports a Team D index on a shared table and a drop of one', async () => {
    const file = addHandWrittenMigration(
      ws,
      TEAMD,
      nextTag(ws, TEAMD, 'shared_things'),
      'CREATE INDEX CONCURRENTLY "teamd_events_title_idx" ON "events" ("title");\n--> statement-breakpoint\nDROP TABLE "public"."events";',
    );
    const findings = flat((await checkJson(ws, ['--package', 'teamd'])).report).filter(
      (f) => f.rule === 'foreign-object',
    );
    expect(findings).toEqual([
      expect.objectContaining({ file, line: 1, message: expect.stringMatching(/^alters table events/) }),
      expect.objectContaining({ file, line: 3, message: expect.stringMatching(/^drops table events/) }),
    ]);
  });

  it('reports a team table without the team prefix, in generate and in check', async () => {
    ws.write(
      `${TEAMD}/src/overlays/badges.ts`,
      `import { pgTable, serial, varchar } from 'drizzle-orm/pg-core';
export const badges = pgTable('badges', { id: serial('id').primaryKey(), label: varchar('label', { length: 64 }).notNull() });
`,
    );
    const index = `${TEAMD}/src/overlays/index.ts`;
    ws.write(index, `${ws.read(index)}export * from './badges';\n`);
    const generate = await ws.run(['generate', '--package', 'teamd', '--name', 'badges']);
    const file = `${TEAMD}/drizzle/${sqlFiles(ws, TEAMD).find((f) => f.endsWith('_badges.sql'))}`;
    expect(generate.code, generate.stdout + generate.stderr).toBe(1);
    expect(generate.stdout).toContain(`${file}\n  error   team-prefix: table badges does not start with teamd_`);

    const { code, report } = await checkJson(ws);
    expect(code).toBe(1);
    expect(flat(report)).toEqual([
      expect.objectContaining({ rule: 'team-prefix', file, line: 1, next: expect.stringContaining('teamd_badges') }),
    ]);
  });

  it('reports constraint names without the team prefix, once each, with the exact rename in the schema', async () => {
    ws.write(
      `${TEAMD}/src/overlays/badges.ts`,
      `import { sql } from 'drizzle-orm';
import { check, pgTable, serial, unique, varchar } from 'drizzle-orm/pg-core';
import { fixtureWorkspace } from './helpers';
export const teamdBadges = pgTable(
  'teamd_badges',
  { id: serial('id').primaryKey(), label: varchar('label', { length: 64 }).notNull() },
  (t) => [unique('badge_label_unique').on(t.label), check('label_not_empty', sql\`\${t.label} <> ''\`)],
);
`,
    );
    const index = `${TEAMD}/src/overlays/index.ts`;
    ws.write(index, `${ws.read(index)}export * from './badges';\n`);
    const generate = await ws.run(['generate', '--package', 'teamd', '--name', 'badges']);
    expect(generate.code, generate.stdout + generate.stderr).toBe(1);
    expect(generate.stdout).toContain('team-prefix: unique constraint badge_label_unique (on teamd_badges)');
    expect(generate.stdout).toMatch(/constraint names included/);

    const prefix = flat((await checkJson(ws)).report).filter((f) => f.rule === 'team-prefix');
    expect(prefix).toEqual([
      expect.objectContaining({
        message: expect.stringMatching(/^unique constraint badge_label_unique/),
        next: expect.stringContaining("unique('teamd_badge_label_unique')"),
      }),
      expect.objectContaining({
        message: expect.stringMatching(/^check constraint label_not_empty/),
        next: expect.stringContaining("check('teamd_label_not_empty'"),
      }),
    ]);
  });

  it('owns extensions, functions, views, triggers and policies by the package whose SQL creates them', async () => {
    addHandWrittenMigration(
      ws,
      SHARED,
      nextTag(ws, SHARED, 'search'),
      [
        'CREATE EXTENSION IF NOT EXISTS pg_trgm;',
        'CREATE FUNCTION public.normalize_title(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT lower(t) $$;',
        'CREATE VIEW public.upcoming_events AS SELECT * FROM events;',
      ].join('\n--> statement-breakpoint\n'),
    );
    const file = addHandWrittenMigration(
      ws,
      TEAMD,
      nextTag(ws, TEAMD, 'search'),
      [
        'CREATE EXTENSION IF NOT EXISTS pg_trgm;',
        'CREATE OR REPLACE FUNCTION public.normalize_title(t text) RETURNS text LANGUAGE sql AS $$ SELECT t $$;',
        'DROP VIEW public.upcoming_events;',
        'CREATE FUNCTION public.project_rank(n integer) RETURNS integer LANGUAGE sql AS $$ SELECT n $$;',
        'CREATE FUNCTION public.teamd_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;',
        'CREATE TRIGGER touch BEFORE UPDATE ON teamd_projects FOR EACH ROW EXECUTE FUNCTION teamd_touch();',
        'CREATE POLICY own_rows ON teamd_projects USING (true);',
      ].join('\n--> statement-breakpoint\n'),
    );
    // Its missing down is a warning of its own (down-missing), not an ownership finding.
    const findings = flat((await checkJson(ws, ['--package', 'teamd'])).report).filter(
      (f) => f.file === file && f.rule !== 'down-missing',
    );
    expect(findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          rule: 'duplicate-name',
          line: 1,
          message: expect.stringMatching(/^extension pg_trgm is also defined by @large-event\/database/),
          next: expect.stringMatching(/created by the shared package.*remove this CREATE EXTENSION/),
        }),
        expect.objectContaining({
          rule: 'foreign-object',
          line: 3,
          message: expect.stringMatching(/function normalize_title, owned by @large-event\/database/),
        }),
        expect.objectContaining({
          rule: 'foreign-object',
          line: 5,
          message: expect.stringMatching(/^drops view upcoming_events, owned by @large-event\/database/),
        }),
        expect.objectContaining({
          rule: 'team-prefix',
          line: 7,
          message: expect.stringMatching(/^function project_rank does not start with teamd_/),
        }),
      ]),
    );
    // The trigger and the policy live on Team D's own table, and teamd_touch carries the prefix.
    expect(findings.filter((f) => f.line !== undefined && f.line >= 9)).toEqual([]);
    expect(findings).toHaveLength(4);
  });

  it('reports a shared foreign key to a team table', async () => {
    const file = addHandWrittenMigration(
      ws,
      SHARED,
      nextTag(ws, SHARED, 'event_project'),
      'ALTER TABLE "events" ADD COLUMN "project_id" integer;--> statement-breakpoint\nALTER TABLE "events" ADD CONSTRAINT "events_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."teamd_projects"("id");',
    );
    const findings = flat((await checkJson(ws, ['--package', 'shared'])).report);
    expect(findings).toContainEqual(
      expect.objectContaining({ rule: 'shared-references-team', severity: 'error', file, line: 2 }),
    );
  });

  it('reports the same index name defined by two packages', async () => {
    addHandWrittenMigration(
      ws,
      SHARED,
      nextTag(ws, SHARED, 'title_index'),
      'CREATE INDEX CONCURRENTLY "teamd_title_idx" ON "events" ("title");',
    );
    const teamFile = addHandWrittenMigration(
      ws,
      TEAMD,
      nextTag(ws, TEAMD, 'title_index'),
      'CREATE INDEX CONCURRENTLY "teamd_title_idx" ON "teamd_tasks" ("title");',
    );
    const { code, report } = await checkJson(ws);
    expect(code).toBe(1);
    expect(flat(report)).toContainEqual(
      expect.objectContaining({
        rule: 'duplicate-name',
        file: teamFile,
        line: 1,
        message: 'index teamd_title_idx is also defined by @large-event/database; one name, one owner.',
      }),
    );
  });
});
