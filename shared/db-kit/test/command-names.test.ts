import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Workspace } from '../src/workspace';

// The names the seed documents and workflow diagrams use must exist, and say the right thing.
const root = Workspace.find().root;
const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
  .scripts;
const bin = join(root, 'shared', 'db-kit', 'bin', 'db-kit.cjs');

describe('command names from the docs', () => {
  it('pnpm db:setup is setup, and pnpm lint exists', () => {
    expect(scripts['db:setup']).toBe('./scripts/db-workflow.sh setup');
    expect(scripts.lint).toMatch(/biome/);
  });

  it('pnpm db:pull says it is not there yet and what to use instead, and never pushes', () => {
    expect(scripts['db:pull']).not.toMatch(/push/);
    const run = spawnSync('pnpm', ['--silent', 'db:pull'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, DATABASE_URL: 'postgresql://u:p@127.0.0.1:1/none' },
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^error: db:pull is not there yet/m);
    expect(run.stderr).toMatch(/next: .*pnpm db:generate.*pnpm db:status/);
    expect(run.stdout + run.stderr).not.toMatch(/did you mean|push/i);
  });

  it('the two resets say when to use which', () => {
    const kit = spawnSync(process.execPath, [bin, 'reset', '--help'], { encoding: 'utf8' }).stdout;
    expect(kit).toContain('./scripts/db-workflow.sh reset drops the whole database');
    const script = spawnSync('bash', [join(root, 'scripts', 'db-workflow.sh'), 'help'], { encoding: 'utf8' }).stdout;
    expect(script).toMatch(/pnpm db:reset instead\s+drops only what the packages own/);
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme).toContain('**Which reset?** `pnpm db:reset` drops only what the packages own');
  });
});
