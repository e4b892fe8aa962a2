import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FixtureWorkspace } from '../src/testing';
import { addHandWrittenMigration, checkJson, flat, nextTag, sqlFiles, TEAMD } from './check-helpers';
import { fixtureWorkspace } from './helpers';

const TABLES = `${TEAMD}/src/overlays/team-specific-tables.ts`;

function dropDescription(ws: FixtureWorkspace): void {
  ws.write(TABLES, ws.read(TABLES).replace("  description: text('description'),\n", ''));
}

describe('db-kit check', () => {
  let ws: FixtureWorkspace;
  beforeEach(() => {
    ws = fixtureWorkspace();
  });
  afterEach(() => ws.remove());

  it('passes a clean tree with exit 0', async () => {
    const run = ws.dbKit(['check']); // a process: the exit code and the line a person reads
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/check: clean in 2 packages/);
    const { code, report } = await checkJson(ws, ['--package', 'teamd']);
    expect(code).toBe(0);
    expect(report).toMatchObject({ ok: true, errors: 0, files: [] });
  });

  it('shows a dropped column under the file name in generate and check, and fails both', async () => {
    dropDescription(ws);
    const generate = await ws.run(['generate', '--package', 'teamd', '--name', 'drop_description']);
    const file = sqlFiles(ws, TEAMD).find((f) => f.endsWith('_drop_description.sql'))!;
    expect(file, generate.stderr).toBeDefined();
    expect(generate.code, generate.stdout + generate.stderr).toBe(1);
    expect(generate.stdout).toContain(`${TEAMD}/drizzle/${file}\n  error   ban-drop-column: destructive`);
    expect(generate.stdout).toMatch(/migration is written, with 1 error/);

    const check = await ws.run(['check', '--package', 'teamd']);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(`${TEAMD}/drizzle/${file}\n  error   ban-drop-column:`);
    expect(check.stdout).toContain(`at ${TEAMD}/drizzle/${file}:1:`);
    expect(check.stdout).toMatch(/next: .*-- squawk-ignore ban-drop-column -- <why this is safe>/);
  });

  it('accepts a drop waived with a reason, and refuses a waiver without one', async () => {
    dropDescription(ws);
    await ws.run(['generate', '--package', 'teamd', '--name', 'drop_description']);
    const file = `${TEAMD}/drizzle/${sqlFiles(ws, TEAMD).find((f) => f.endsWith('_drop_description.sql'))}`;
    const generated = ws.read(file);

    ws.write(
      file,
      `-- squawk-ignore ban-drop-column -- the description was never shown and holds no data\n${generated}`,
    );
    const waived = await ws.run(['check']);
    expect(waived.code, waived.stdout).toBe(0);
    expect(waived.stdout).not.toMatch(/ban-drop-column/);

    ws.write(file, `-- squawk-ignore ban-drop-column\n${generated}`);
    const { code, report } = await checkJson(ws);
    expect(code).toBe(1);
    const findings = flat(report);
    expect(findings).toContainEqual(
      expect.objectContaining({ rule: 'waiver-without-reason', severity: 'error', file, line: 1 }),
    );
    expect(findings).toContainEqual(
      expect.objectContaining({ rule: 'ban-drop-column', severity: 'error', file, line: 2 }),
    );
  });

  it('reports a schema change nobody generated, with the statements it would need', async () => {
    ws.write(
      TABLES,
      ws
        .read(TABLES)
        .replace(
          "description: text('description'),",
          "description: text('description'),\n  budget: integer('budget'),",
        ),
    );
    const { code, report } = await checkJson(ws);
    expect(code).toBe(1);
    expect(flat(report)).toEqual([
      expect.objectContaining({
        rule: 'schema-without-migration',
        severity: 'error',
        file: `${TEAMD}/src/overlays/index.ts`,
        message: expect.stringContaining('ALTER TABLE "teamd_projects" ADD COLUMN "budget" integer'),
        next: expect.stringContaining('pnpm teamd:db:generate --name'),
      }),
    ]);
  });

  it('names the schema entry that does not load, and still checks the other package', async () => {
    ws.write(`${TEAMD}/src/overlays/broken.ts`, 'export const broken = ;\n');
    const index = `${TEAMD}/src/overlays/index.ts`;
    ws.write(index, `${ws.read(index)}export * from './broken';\n`);
    const { code, report } = await checkJson(ws);
    expect(code).toBe(1);
    expect(flat(report)).toEqual([
      expect.objectContaining({
        rule: 'schema-load',
        severity: 'error',
        file: index,
        message: expect.stringContaining('@teamd/database'),
      }),
    ]);
  });

  it('lets an index on a table created in the same migration pass, but not one on an existing table', async () => {
    addHandWrittenMigration(
      ws,
      TEAMD,
      nextTag(ws, TEAMD, 'labels'),
      'CREATE TABLE "teamd_labels" ("id" serial PRIMARY KEY NOT NULL, "name" text);\n--> statement-breakpoint\nCREATE INDEX "teamd_labels_name_idx" ON "teamd_labels" ("name");',
    );
    const fresh = await checkJson(ws, ['--package', 'teamd']);
    expect(flat(fresh.report).map((f) => f.rule)).not.toContain('require-concurrent-index-creation');

    const file = addHandWrittenMigration(
      ws,
      TEAMD,
      nextTag(ws, TEAMD, 'task_index'),
      'CREATE INDEX "teamd_tasks_title_idx" ON "teamd_tasks" ("title");',
    );
    const { code, report } = await checkJson(ws, ['--package', 'teamd']);
    expect(code).toBe(1);
    expect(flat(report)).toContainEqual(
      expect.objectContaining({ rule: 'require-concurrent-index-creation', severity: 'error', file, line: 1 }),
    );
  });

  it('prints JSON grouped by file: rule, severity, line, message and next step', async () => {
    dropDescription(ws);
    await ws.run(['generate', '--package', 'teamd', '--name', 'drop_description']);
    const { code, report } = await checkJson(ws);
    expect(code).toBe(1);
    expect(report).toMatchObject({
      ok: false,
      errors: 1,
      warnings: 1,
      scope: expect.stringContaining('migrations linted'),
    });
    // The warning: the down brings the column back without its values.
    expect(report.files).toHaveLength(2);
    expect(report.files[1]!.findings).toEqual([expect.objectContaining({ rule: 'down-irreversible' })]);
    expect(report.files[0]!.file).toMatch(/^teams\/teamD\/src\/database\/drizzle\/\d{8}_\d{6}_drop_description\.sql$/);
    expect(report.files[0]!.findings).toEqual([
      {
        rule: 'ban-drop-column',
        severity: 'error',
        line: 1,
        column: expect.any(Number),
        message: expect.stringContaining('DROP COLUMN "description"'),
        next: expect.any(String),
      },
    ]);
  });

  it('lints only migrations not on main by default; --since and --all widen it', async () => {
    const git = (...args: string[]) =>
      ws.exec('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args]);
    expect(git('init', '-q', '-b', 'main').code).toBe(0);
    git('add', '-A');
    git('commit', '-qm', 'base');
    dropDescription(ws);
    await ws.run(['generate', '--package', 'teamd', '--name', 'drop_description']);

    const pending = await checkJson(ws);
    expect(pending.code).toBe(1);
    expect(pending.report.scope).toMatch(/1 of 3 migrations linted: migrations not on main/);

    git('add', '-A');
    git('commit', '-qm', 'drop description');
    const merged = await checkJson(ws);
    expect(merged.code, JSON.stringify(merged.report)).toBe(0);
    expect(merged.report.scope).toMatch(/^0 of 3 migrations linted/);
    expect((await checkJson(ws, ['--since', 'HEAD~1'])).code).toBe(1);
    expect((await checkJson(ws, ['--all'])).code).toBe(1);

    const badRef = await ws.run(['check', '--since', 'no-such-ref']);
    expect(badRef.code).toBe(2);
    expect(badRef.stderr).toMatch(/--since no-such-ref: no such commit/);
  });

  it('gives a file one verdict in generate, check and check --all; following its advice satisfies all three', async () => {
    const git = (...args: string[]) =>
      ws.exec('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args]);
    git('init', '-q', '-b', 'main');
    git('add', '-A');
    git('commit', '-qm', 'base');
    git('checkout', '-qb', 'labels');
    const labels = `${TEAMD}/src/overlays/labels.ts`;
    const table = `import { pgTable, serial, text } from 'drizzle-orm/pg-core';
export const teamdLabels = pgTable('teamd_labels', { id: serial('id').primaryKey(), name: text('name') });
`;
    ws.write(labels, table);
    const index = `${TEAMD}/src/overlays/index.ts`;
    ws.write(index, `${ws.read(index)}export * from './labels';\n`);
    expect((await ws.run(['generate', '--package', 'teamd', '--name', 'labels'])).code).toBe(0);
    ws.write(
      labels,
      table
        .replace('import { pgTable,', 'import { index, pgTable,')
        .replace("name: text('name') }", "name: text('name') }, (t) => [index('teamd_labels_name_idx').on(t.name)]"),
    );
    const generate = await ws.run(['generate', '--package', 'teamd', '--name', 'label_index']);
    expect(generate.stdout).toContain('require-concurrent-index-creation');
    expect(generate.code).toBe(1);
    const file = `${TEAMD}/drizzle/${sqlFiles(ws, TEAMD).find((f) => f.endsWith('_label_index.sql'))}`;
    const verdict = async (args: string[]) => {
      const { code, report } = await checkJson(ws, args);
      return {
        code,
        findings: flat(report)
          .filter((f) => f.file === file)
          .map((f) => `${f.rule}:${f.line}`),
      };
    };
    expect(await verdict([])).toEqual({ code: 1, findings: ['require-concurrent-index-creation:1'] });
    expect(await verdict(['--all'])).toEqual(await verdict([]));

    ws.write(file, `-- squawk-ignore require-concurrent-index-creation -- teamd_labels ships empty\n${ws.read(file)}`);
    expect(await verdict([])).toEqual({ code: 0, findings: [] });
    expect(await verdict(['--all'])).toEqual({ code: 0, findings: [] });
  });
});
