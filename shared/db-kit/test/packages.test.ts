import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Workspace } from '../src/workspace';

const ws = Workspace.find();
const resolveHere = createRequire(import.meta.url).resolve;
const tsxCjs = resolveHere('tsx/cjs');
const tsxEsm = pathToFileURL(resolveHere('tsx/esm')).href;

// drizzle-kit loads schema files with require(); our own tools import them as ESM.
describe('schema packages load both ways', () => {
  for (const pkg of ws.packages) {
    it(`${pkg.name} loads through CommonJS require and through ESM import`, () => {
      const probe = `const m = MODULE; const tables = Object.values(m).filter((v) => v && typeof v === 'object' && Symbol.for('drizzle:Name') in v); console.log(tables.length);`;
      const cjs = spawnSync(
        process.execPath,
        ['--require', tsxCjs, '-e', probe.replace('MODULE', `require(${JSON.stringify(pkg.name)})`)],
        {
          cwd: pkg.dir,
          encoding: 'utf8',
        },
      );
      expect(cjs.status, cjs.stderr).toBe(0);
      const esm = spawnSync(
        process.execPath,
        [
          '--import',
          tsxEsm,
          '--input-type=module',
          '-e',
          probe.replace('MODULE', `await import(${JSON.stringify(pkg.name)})`),
        ],
        {
          cwd: pkg.dir,
          encoding: 'utf8',
        },
      );
      expect(esm.status, esm.stderr).toBe(0);
      expect(Number(cjs.stdout.trim())).toBeGreaterThanOrEqual(2);
      expect(esm.stdout.trim()).toBe(cjs.stdout.trim());
    });
  }
});
