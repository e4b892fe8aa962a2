import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workspace } from '../src/workspace';

// A real checkout, installed the way setup installs it (frozen lockfile), with an empty pnpm
// metadata cache: what a fresh machine has right after ./scripts/db-workflow.sh setup. The store is
// the real one, so nothing is downloaded (--offline proves it).
const realRoot = Workspace.find().root;

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  const result = spawnSync(command, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 300_000 });
  return { code: result.status ?? 1, output: `${result.stdout}${result.stderr}` };
}

describe('db:new-team right after a frozen-lockfile install, with no pnpm metadata cache', () => {
  let root: string;
  let env: NodeJS.ProcessEnv;
  let lockBefore: string;
  beforeAll(() => {
    const base = join(realRoot, '.db', 'fixtures');
    mkdirSync(base, { recursive: true });
    root = mkdtempSync(join(base, 'checkout-'));
    chmodSync(root, 0o755);
    const files = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: realRoot,
      encoding: 'utf8',
    })
      .stdout.split('\0')
      .filter((file) => file && existsSync(join(realRoot, file)));
    for (const file of files) {
      mkdirSync(dirname(join(root, file)), { recursive: true });
      cpSync(join(realRoot, file), join(root, file));
    }
    const cache = join(root, '.cache');
    mkdirSync(cache);
    env = { XDG_CACHE_HOME: cache, CI: '1', npm_config_cache: join(cache, 'npm') };
    const install = run('pnpm', ['install', '--frozen-lockfile', '--offline'], root, env);
    expect(install.code, install.output).toBe(0);
    lockBefore = readFileSync(join(root, 'pnpm-lock.yaml'), 'utf8');
  });
  afterAll(() => {
    if (root && !process.env.KEEP_TEST_DB) rmSync(root, { recursive: true, force: true });
  });

  it('links the new package (exit 0), and pnpm-lock.yaml gains exactly its importer', () => {
    const created = run(process.execPath, [join(root, 'shared/db-kit/bin/db-kit.mjs'), 'new-team', 'payx'], root, env);
    expect(created.code, created.output).toBe(0);
    expect(existsSync(join(root, 'teams/payx/src/database/node_modules/@large-event/database/package.json'))).toBe(
      true,
    );

    const lockAfter = readFileSync(join(root, 'pnpm-lock.yaml'), 'utf8');
    const importer = /\n {2}teams\/payx\/src\/database:\n(?: {4}.*\n)+\n/;
    expect(lockAfter).toMatch(importer);
    expect(lockAfter.replace(importer, '\n')).toBe(lockBefore);

    // pnpm agrees the lockfile is complete: a frozen install (offline) accepts it as it is.
    const frozen = run('pnpm', ['install', '--frozen-lockfile', '--offline'], root, env);
    expect(frozen.code, frozen.output).toBe(0);
    expect(readFileSync(join(root, 'pnpm-lock.yaml'), 'utf8')).toBe(lockAfter);
  });
});
