import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import type { RunOutput } from '../src/testing/fixture';
import { fixtureWorkspace, query } from './helpers';
import { typecheck } from './typecheck';

// The acceptance test of issue 11: a team's realistic schema through the whole workflow, every
// step exiting 0 with no edit to a generated file. One scratch workspace and database per schema.
// The steps run in-process (`ws.run`: the same exit code and output as the process, without loading the
// engine and drizzle-kit again for each of 26 steps); the process-level runs of each command are elsewhere.
const CORPUS = join(import.meta.dirname, 'fixtures', 'real-schemas');
const schemas = readdirSync(CORPUS, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);

interface CorpusSettings {
  alias: string;
  /** Three related tables the test promotes into shared. */
  promote: string[];
  /** An edit to schema.ts that push --dry-run must plan. */
  edit: { find: string; replace: string };
}

/** Time of each step (in-process), per schema, printed at the end (figures for the issue's closing note). */
const timings: Record<string, Record<string, number>> = {};
/** The team's tables, enums, indexes and foreign keys, counted in the database after migrate. */
const counts: Record<string, Record<string, number>> = {};

/** What migrate built for the team whose names start with `${alias}_`, counted from the catalog. */
async function countObjects(url: string, alias: string): Promise<Record<string, number>> {
  const prefix = `${alias}\\_%`;
  const [row] = await query<Record<string, number>>(
    url,
    `select
       (select count(*)::int from pg_tables where schemaname = 'public' and tablename like '${prefix}') as tables,
       (select count(*)::int from pg_type where typtype = 'e' and typname like '${prefix}') as enums,
       (select count(*)::int from pg_index i join pg_class t on t.oid = i.indrelid
         where t.relname like '${prefix}'
           and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid)) as indexes,
       (select count(*)::int from pg_constraint c join pg_class t on t.oid = c.conrelid
         where c.contype = 'f' and t.relname like '${prefix}') as "foreign keys",
       (select count(*)::int from pg_constraint c join pg_class t on t.oid = c.conrelid
         where c.contype = 'p' and array_length(c.conkey, 1) > 1 and t.relname like '${prefix}') as "composite keys"`,
  );
  return row!;
}

for (const schema of schemas) {
  const settings = JSON.parse(readFileSync(join(CORPUS, schema, 'corpus.json'), 'utf8')) as CorpusSettings;
  const { alias } = settings;
  const dir = `teams/${alias}/src/database`;

  describe(`realistic schema "${schema}": new-team to promote`, () => {
    let ws: FixtureWorkspace;
    let db: TestDatabase;
    const env = () => ({ DATABASE_URL: db.url });
    const step = async (name: string, args: string[]): Promise<RunOutput> => {
      const started = performance.now();
      const run = await ws.run(args, env());
      timings[schema]![name] = Math.round(performance.now() - started);
      return run;
    };
    const expectOk = (run: RunOutput) => expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);

    beforeAll(async () => {
      timings[schema] = {};
      ws = fixtureWorkspace();
      db = await createTestDatabase({ label: `corpus_${alias}` });
    });
    afterAll(async () => {
      await db?.drop();
      ws?.remove();
    });

    it('new-team scaffolds the package; the corpus schema replaces its examples', async () => {
      const run = await step('new-team', ['new-team', alias, '--no-install']);
      expectOk(run);
      ws.linkDependencies(dir);
      rmSync(ws.path(`${dir}/src/overlays`), { recursive: true });
      rmSync(ws.path(`${dir}/test`), { recursive: true });
      ws.write(`${dir}/src/overlays/schema.ts`, readFileSync(join(CORPUS, schema, 'schema.ts'), 'utf8'));
      ws.write(`${dir}/src/overlays/index.ts`, "export * from './schema';\n");
      // The team's own seed refinements, where its check constraints need values of their own.
      if (existsSync(join(CORPUS, schema, 'seed.ts'))) {
        ws.write(`${dir}/src/seed.ts`, readFileSync(join(CORPUS, schema, 'seed.ts'), 'utf8'));
        const manifest = JSON.parse(ws.read(`${dir}/package.json`));
        manifest.dbKit.seed = { refinements: 'src/seed.ts' };
        ws.write(`${dir}/package.json`, `${JSON.stringify(manifest, null, 2)}\n`);
      }
    });

    it('generate: a custom migration for extensions and functions, then the schema, with no finding', async () => {
      const custom = await step('generate --custom', ['generate', '--package', alias, '--custom', '--name', 'prelude']);
      expectOk(custom);
      const file = /Wrote (\S+\.sql)/.exec(custom.stdout)![1]!;
      // A custom migration is the one file written by hand: drizzle cannot declare these objects.
      writeFileSync(ws.path(file), `${ws.read(file)}${readFileSync(join(CORPUS, schema, 'prelude.sql'), 'utf8')}`);
      const init = await step('generate', ['generate', '--package', alias, '--name', 'init']);
      expectOk(init);
      expect(init.stdout).toMatch(/Wrote \S+_init\.sql/);
      expect(init.stdout).not.toMatch(/warning|error/);
    });

    it('migrate applies shared, Team D and the team; status is clean right after', async () => {
      expectOk(await step('migrate', ['migrate', '--all']));
      counts[schema] = await countObjects(db.url, alias);
      const status = await step('status', ['status', '--json']);
      const report = JSON.parse(status.stdout) as { clean: boolean; drift: unknown[] };
      expect(report.drift).toEqual([]);
      expectOk(status);
    });

    it('check --all is clean', async () => {
      expectOk(await step('check --all', ['check', '--all']));
    });

    it('seed fills every table of every package', async () => {
      const run = await step('seed', ['seed', '--count', '20']);
      expectOk(run);
      expect(run.stdout).not.toMatch(/ 0(,|\.)/); // no table left with 0 rows
    });

    // Corpus schemas have composite primary keys, which drizzle-kit's pushSchema cannot read
    // (drizzle-orm #5557): push plans them by its own snapshot diff (issue 11 item 6).
    it('push --dry-run plans an edit to the schema, and only that edit', async () => {
      const file = `${dir}/src/overlays/schema.ts`;
      const before = ws.read(file);
      expect(before).toContain(settings.edit.find);
      ws.write(file, before.replace(settings.edit.find, settings.edit.replace));
      try {
        const run = await step('push --dry-run', ['push', '--package', alias, '--dry-run']);
        expectOk(run);
        // The column the edit adds: the one name in `replace` that `find` does not have.
        const names = (text: string) => [...text.matchAll(/\w+\('(\w+)'/g)].map((m) => m[1]);
        const column = names(settings.edit.replace).find((name) => !names(settings.edit.find).includes(name));
        expect(run.stdout).toMatch(
          new RegExp(`Would run 1 statement [^\\n]*\\n {2}ALTER TABLE "[^"]+" ADD COLUMN "${column}"`),
        );
        expect(run.stdout).not.toMatch(/left alone/);
      } finally {
        ws.write(file, before);
      }
    });

    it('promote moves three related tables into shared; migrate, status and check stay clean', async () => {
      const run = await step('promote', [
        'promote',
        '--package',
        alias,
        '--tables',
        settings.promote.join(','),
        '--yes',
      ]);
      expectOk(run);
      expectOk(await step('migrate after promote', ['migrate', '--all']));
      const status = await step('status after promote', ['status', '--json']);
      expect((JSON.parse(status.stdout) as { drift: unknown[] }).drift).toEqual([]);
      expectOk(status);
      expectOk(await step('check after promote', ['check', '--all']));
    });

    it('typecheck passes for the team and the shared schemas it imports', () => {
      const started = performance.now();
      const run = typecheck(ws.root, [dir]);
      timings[schema]!.typecheck = Math.round(performance.now() - started);
      expectOk(run);
    });
  });
}

// One table, a column per schema: the objects migrate built, then each step's wall time (no assertion).
afterAll(() => {
  const names = Object.keys(timings);
  if (!names.length) return;
  const steps = [...new Set(names.flatMap((name) => Object.keys(timings[name]!)))];
  const kinds = [...new Set(names.flatMap((name) => Object.keys(counts[name] ?? {})))];
  const cell = (value: number | undefined, unit = '') => (value === undefined ? '-' : `${value}${unit}`);
  const rows = [
    ['', ...names],
    ['---', ...names.map(() => '---:')],
    ...kinds.map((kind) => [kind, ...names.map((name) => cell(counts[name]?.[kind]))]),
    ...steps.map((step) => [step, ...names.map((name) => cell(timings[name]![step], ' ms'))]),
    ['total', ...names.map((name) => `${Object.values(timings[name]!).reduce((a, b) => a + b, 0)} ms`)],
  ];
  console.log(`[real-schemas]\n${rows.map((row) => `| ${row.join(' | ')} |`).join('\n')}`);
});
