import { describe, expect, it } from 'vitest';
import type { AppliedRow } from '../../src/migrations/bookkeeping';
import { hashMigration, type MigrationFile } from '../../src/migrations/files';
import { classify, integrityProblems } from '../../src/migrations/state';
import type { SchemaPackage } from '../../src/workspace';

const pkg = { name: '@t/db', alias: 't', out: 'drizzle' } as SchemaPackage;

function file(tag: string, text = `create table ${tag} (id int);`): MigrationFile {
  const hash = hashMigration(text);
  return {
    packageName: pkg.name,
    tag,
    idx: 0,
    path: `/x/${tag}.sql`,
    text,
    when: 0,
    orderKey: tag.slice(0, 15).replace('_', ''),
    hash,
    textHash: hash,
    statements: [text],
    statementOffsets: [0],
    transactional: true,
    requires: [],
  };
}

let id = 0;
const row = (f: MigrationFile, overrides: Partial<AppliedRow> = {}): AppliedRow => ({
  id: ++id,
  hash: f.hash,
  created_at: null,
  name: f.tag,
  ...overrides,
});

describe('classifying migrations against bookkeeping rows', () => {
  const a = file('20260101_000000_a');
  const b = file('20260102_000000_b');
  const c = file('20260103_000000_c');

  it('a file without a row is pending; with its row, applied', () => {
    const state = classify(pkg, [a, b], [row(a)]);
    expect(state.applied.map((x) => x.file)).toEqual([a]);
    expect(state.pending).toEqual([b]);
    expect(state.outOfOrder).toEqual([]);
  });

  it('a pending migration older than an applied one is out of order, and still pending', () => {
    const state = classify(pkg, [a, b, c], [row(a), row(c)]);
    expect(state.pending).toEqual([b]);
    expect(state.outOfOrder).toEqual([b]);
  });

  it('an edited applied file is changed; a row without its file is missing', () => {
    const gone = file('20251231_000000_gone');
    const state = classify(pkg, [a], [row(a, { hash: 'f'.repeat(64) }), row(gone)]);
    expect(state.changed.map((x) => x.file)).toEqual([a]);
    expect(state.missing.map((r) => r.name)).toEqual([gone.tag]);
    expect(integrityProblems([state]).join('\n')).toMatch(/changed after it was applied[\s\S]*is gone from drizzle/);
  });

  it("matches drizzle's nameless rows by hash (to adopt them), and a renamed file by its content", () => {
    const adopted = classify(pkg, [a], [row(a, { name: null })]);
    expect(adopted.adoptable.map((x) => x.file)).toEqual([a]);
    expect(adopted.pending).toEqual([]);

    const renamed = file('20260101_000000_a_renamed', a.statements[0]);
    const state = classify(pkg, [renamed], [row(a)]);
    expect(state.renamed.map((x) => x.file)).toEqual([renamed]);
    expect(state.pending).toEqual([]);
    expect(state.missing).toEqual([]);
  });
});
