import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { typecheck } from './typecheck';

// The in-process typecheck that stands for `tsc --noEmit -p` in the acceptance tests must fail as tsc does.
// No database; in the db project all the same, whose workers have TypeScript loaded already.
describe('typecheck (the tests’ in-process tsc --noEmit -p)', () => {
  const root = mkdtempSync(join(tmpdir(), 'db-kit-typecheck-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const pkg = (dir: string, source: string, options: object = {}) => {
    mkdirSync(join(root, dir, 'src'), { recursive: true });
    writeFileSync(
      join(root, dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, lib: ['es2022'], types: [], ...options },
        include: ['src'],
      }),
    );
    writeFileSync(join(root, dir, 'src', 'index.ts'), source);
  };

  it('passes clean packages, one program for packages with the same options', () => {
    pkg('a', 'export const a: number = 1;\n');
    pkg('b', 'export const b: string = "b";\n');
    expect(typecheck(root, ['a', 'b'])).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('reports a type error with its file and line, whichever package has it', () => {
    pkg('c', 'export const c: number = "not a number";\n');
    const run = typecheck(root, ['a', 'c']);
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/c\/src\/index\.ts\(1,14\): error TS2322/);
  });

  it('checks each package under its own options', () => {
    pkg('d', 'export function d(x) { return x; }\n', { noImplicitAny: false });
    pkg('e', 'export function e(x) { return x; }\n');
    const run = typecheck(root, ['d', 'e']);
    expect(run.stdout).toMatch(/e\/src\/index\.ts\(1,19\): error TS7006/);
    expect(run.stdout).not.toMatch(/d\/src\/index\.ts/);
  });
});
