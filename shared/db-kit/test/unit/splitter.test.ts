import { describe, expect, it } from 'vitest';
import { parseMigration, statementSpans } from '../../src/check/sql';
import { commandsIn, STATEMENT_BREAKPOINT } from '../../src/migrations/files';
import type { SchemaPackage } from '../../src/workspace';

const pkg = { name: '@t/db', alias: 't' } as SchemaPackage;
const TEXT = [
  '-- a note',
  'CREATE TABLE "é" (id int, note text DEFAULT \'a;b\');',
  'CREATE INDEX "é_id" ON "é" (id);',
  STATEMENT_BREAKPOINT,
  'DO $$ BEGIN PERFORM 1; END $$;',
].join('\n');

describe('one splitter: the lexer cuts, Postgres reads each command', () => {
  it('cuts at breakpoints and top-level semicolons, never inside literals or dollar quotes', () => {
    const commands = commandsIn(TEXT);
    expect(commands.map((c) => c.text.split('\n').pop())).toEqual([
      'CREATE TABLE "é" (id int, note text DEFAULT \'a;b\');',
      'CREATE INDEX "é_id" ON "é" (id);',
      'DO $$ BEGIN PERFORM 1; END $$;',
    ]);
    for (const c of commands) expect(TEXT.slice(c.offset, c.offset + c.text.length)).toBe(c.text);
  });

  it("gives check the runner's statements, with their lines", async () => {
    const parsed = await parseMigration(pkg, '/x/m.sql', TEXT);
    expect(parsed.statements.map((s) => [s.startLine, s.endLine])).toEqual([
      [2, 2],
      [3, 3],
      [5, 5],
    ]);
    expect(parsed.statements[1]!.targets.map((t) => `${t.action} ${t.kind} ${t.qualifiedName}`)).toEqual([
      'create index public.é_id',
      'alter table public.é',
    ]);
  });

  it('puts a syntax error on its line of the file, past multibyte text before it', async () => {
    const text = `CREATE TABLE "ñ" (id int);\n${STATEMENT_BREAKPOINT}\nCREATE TABLE ok (id int);\nCREATE TABLE b (id int;\n`;
    const parsed = await parseMigration(pkg, '/x/m.sql', text);
    expect(parsed.syntaxError?.line).toBe(4);
    expect(parsed.statements).toEqual([]);
  });

  it('gives promote byte ranges that cover each statement through its semicolon', async () => {
    const bytes = Buffer.from(TEXT, 'utf8');
    const spans = await statementSpans(TEXT);
    expect(spans.map((s) => bytes.subarray(s.startByte, s.endByte).toString('utf8'))).toEqual([
      'CREATE TABLE "é" (id int, note text DEFAULT \'a;b\');',
      'CREATE INDEX "é_id" ON "é" (id);',
      'DO $$ BEGIN PERFORM 1; END $$;',
    ]);
  });
});
