import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FixtureWorkspace } from '../src/testing';
import { addHandWrittenMigration, checkJson, flat, journal, nextTag, sqlFiles, TEAMD } from './check-helpers';
import { fixtureWorkspace } from './helpers';

const TABLES = `${TEAMD}/src/overlays/team-specific-tables.ts`;
const META = `${TEAMD}/drizzle/meta`;

describe('db-kit check: integrity', () => {
  let ws: FixtureWorkspace;
  beforeEach(() => {
    ws = fixtureWorkspace();
  });
  afterEach(() => ws.remove());

  it('reports two branches that generated from the same parent, in check and in generate', async () => {
    const original = ws.read(TABLES);
    const journalBefore = ws.read(`${META}/_journal.json`);
    // Branch A adds a budget column.
    ws.write(
      TABLES,
      original.replace(
        "description: text('description'),",
        "description: text('description'),\n  budget: integer('budget'),",
      ),
    );
    expect(ws.dbKit(['generate', '--package', 'teamd', '--name', 'budget']).code).toBe(0);
    const branchA = { entry: journal(ws, TEAMD).entries.at(-1)!, snapshot: ws.read(`${META}/0001_snapshot.json`) };
    const fileA = sqlFiles(ws, TEAMD).find((f) => f.endsWith('_budget.sql'))!;
    const sqlA = ws.read(`${TEAMD}/drizzle/${fileA}`);
    // Branch B starts from the same parent and adds a priority column.
    ws.write(`${META}/_journal.json`, journalBefore);
    ws.exec('rm', [ws.path(`${TEAMD}/drizzle/${fileA}`), ws.path(`${META}/0001_snapshot.json`)]);
    ws.write(
      TABLES,
      original.replace(
        "title: varchar('title', { length: 255 }).notNull(),",
        "title: varchar('title', { length: 255 }).notNull(),\n  priority: integer('priority'),",
      ),
    );
    expect(ws.dbKit(['generate', '--package', 'teamd', '--name', 'priority']).code).toBe(0);
    // The merge keeps both: A's migration becomes entry 2 with snapshot 0002.
    ws.write(`${TEAMD}/drizzle/${fileA}`, sqlA);
    ws.write(`${META}/0002_snapshot.json`, branchA.snapshot);
    const merged = journal(ws, TEAMD);
    merged.entries.push({ ...branchA.entry, idx: 2, when: merged.entries.at(-1)!.when + 1000, tag: branchA.entry.tag });
    ws.write(`${META}/_journal.json`, JSON.stringify(merged, null, 2));

    const { code, report } = await checkJson(ws, ['--package', 'teamd']);
    expect(code).toBe(1);
    const collisions = flat(report).filter((f) => f.rule === 'branch-collision');
    expect(collisions).toHaveLength(1);
    expect(collisions[0]!.message).toMatch(/were both generated from the same parent snapshot/);
    expect(collisions[0]!.next).toMatch(
      /Regenerate on top of the merged result: delete your branch's migration .* merge main, and run pnpm teamd:db:generate again/,
    );

    const generate = ws.dbKit(['generate', '--package', 'teamd', '--name', 'after_merge']);
    expect(generate.code).toBe(1);
    expect(generate.stderr).toMatch(/branch-collision/);
    expect(generate.stderr).toMatch(/nothing written/);
    expect(sqlFiles(ws, TEAMD).some((f) => f.endsWith('_after_merge.sql'))).toBe(false);
  });

  it('reports a missing snapshot, a stray .sql file and a badly named migration', async () => {
    const badTag = '0001_hand_written';
    addHandWrittenMigration(ws, TEAMD, badTag, 'ALTER TABLE "teamd_projects" ADD COLUMN "x" integer;');
    ws.exec('rm', [ws.path(`${META}/0001_snapshot.json`)]);
    ws.write(`${TEAMD}/drizzle/${nextTag(ws, TEAMD, 'forgotten')}.sql`, 'SELECT 1;');
    const { code, report } = await checkJson(ws, ['--package', 'teamd']);
    expect(code).toBe(1);
    const rules = flat(report).map((f) => `${f.rule} ${f.file.split('/').pop()}`);
    expect(rules).toEqual(
      expect.arrayContaining([
        `missing-snapshot ${badTag}.sql`,
        `migration-name ${badTag}.sql`,
        expect.stringMatching(/^stray-sql \d{8}_\d{6}_forgotten\.sql$/),
      ]),
    );
  });

  it('reports timestamps that go backwards within a folder', async () => {
    const first = journal(ws, TEAMD).entries[0]!.tag;
    addHandWrittenMigration(ws, TEAMD, `20200101_000000_too_old`, 'SELECT 1;');
    const findings = flat((await checkJson(ws, ['--package', 'teamd'])).report);
    expect(findings).toContainEqual(
      expect.objectContaining({
        rule: 'timestamp-order',
        message: `20200101_000000_too_old is older than ${first}, which comes before it in the journal.`,
      }),
    );
  });
});
