import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseMigration, statementAt } from '../../src/check/sql';
import type { SchemaPackage } from '../../src/workspace';

const dir = mkdtempSync(join(tmpdir(), 'db-kit-waivers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const pkg = { name: '@t/db', alias: 't' } as SchemaPackage;

async function parse(text: string) {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.sql`);
  writeFileSync(path, text);
  return parseMigration(pkg, path, text);
}

describe('waivers and statements, parsed by PostgreSQL', () => {
  it('ties a statement waiver to the statement below it, with its rules and reason', async () => {
    const m = await parse(
      [
        'CREATE TABLE a (id int);',
        '--> statement-breakpoint',
        '-- squawk-ignore ban-drop-column, renaming-column -- nobody reads it since 2.3',
        'ALTER TABLE a',
        '  DROP COLUMN id;',
      ].join('\n'),
    );
    expect(m.statements.map((s) => [s.startLine, s.endLine])).toEqual([
      [1, 1],
      [4, 5],
    ]);
    expect(m.waivers).toEqual([
      expect.objectContaining({
        rules: ['ban-drop-column', 'renaming-column'],
        reason: 'nobody reads it since 2.3',
        scope: 'statement',
        statement: 1,
        line: 3,
      }),
    ]);
    expect(statementAt(m, 5)).toBe(1);
    expect(m.statements[1]!.targets).toContainEqual(expect.objectContaining({ kind: 'table', name: 'a' }));
  });

  it('reads a file waiver, and a waiver without a reason has an empty one', async () => {
    const m = await parse(
      '-- squawk-ignore-file changing-column-type -- 12 rows\n-- squawk-ignore ban-drop-table\nDROP TABLE a;',
    );
    expect(m.waivers.map((w) => [w.scope, w.reason])).toEqual([
      ['file', '12 rows'],
      ['statement', ''],
    ]);
  });

  it('reports the line where the parser stops', async () => {
    const m = await parse('CREATE TABLE a (id int);\n\nCREATE TABLEE b (id int);');
    expect(m.syntaxError?.line).toBe(3);
  });

  it('starts a statement at its first token, after comments and blank lines', async () => {
    const m = await parse('SELECT 1;\n\n-- a note\n/* block\n comment */\nSELECT 2;');
    expect(m.statements.map((s) => s.startLine)).toEqual([1, 6]);
    expect(m.statements[1]!.firstLine).toBe('SELECT 2;');
  });
});
