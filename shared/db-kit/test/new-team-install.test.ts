import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workspace } from '../src/workspace';

// A real checkout, installed the way setup installs it (frozen lockfile), with an empty pnpm
// metadata cache: what a fresh machine has right after ./scripts/db-workflow.sh setup. In the first
// case the store is the real one, so nothing is downloaded (--offline proves it); in the second the
// store is empty too.
const realRoot = Workspace.find().root;

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  const result = spawnSync(command, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 300_000 });
  return { code: result.status ?? 1, output: `${result.stdout}${result.stderr}` };
}

/** A copy of the real checkout's files (tracked and new, not ignored ones) in a scratch folder. */
function copyCheckout(): string {
  const base = join(realRoot, '.db', 'fixtures');
  mkdirSync(base, { recursive: true });
  const root = mkdtempSync(join(base, 'checkout-'));
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
  return root;
}

/** new-team exits 0, links the package, and pnpm-lock.yaml gains exactly its importer. */
function expectNewTeamLinks(root: string, env: NodeJS.ProcessEnv, lockBefore: string): void {
  const created = run(process.execPath, [join(root, 'shared/db-kit/bin/db-kit.cjs'), 'new-team', 'payx'], root, env);
  expect(created.code, created.output).toBe(0);
  expect(existsSync(join(root, 'teams/payx/src/database/node_modules/@large-event/database/package.json'))).toBe(true);

  const lockAfter = readFileSync(join(root, 'pnpm-lock.yaml'), 'utf8');
  const importer = /\n {2}teams\/payx\/src\/database:\n(?: {4}.*\n)+\n/;
  expect(lockAfter).toMatch(importer);
  expect(lockAfter.replace(importer, '\n')).toBe(lockBefore);

  // pnpm agrees the lockfile is complete: a frozen install (offline) accepts it as it is.
  const frozen = run('pnpm', ['install', '--frozen-lockfile', '--offline'], root, env);
  expect(frozen.code, frozen.output).toBe(0);
  expect(readFileSync(join(root, 'pnpm-lock.yaml'), 'utf8')).toBe(lockAfter);
}

describe('db:new-team right after a frozen-lockfile install, with no pnpm metadata cache', () => {
  let root: string;
  let env: NodeJS.ProcessEnv;
  let lockBefore: string;
  beforeAll(() => {
    root = copyCheckout();
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
    expectNewTeamLinks(root, env, lockBefore);
  });
});

// A machine that never ran pnpm: the metadata cache AND the store are empty, so setup's install
// downloads every package (about 420 MB) from the registry, and new-team's offline install must
// then find all it needs in that fresh store. Needs the registry: skipped, saying so, offline.
const registry = spawnSync('pnpm', ['config', 'get', 'registry'], { encoding: 'utf8' }).stdout.trim();
const online =
  spawnSync(
    process.execPath,
    [
      '-e',
      'fetch(process.argv[1], { method: "HEAD" }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))',
      registry,
    ],
    { timeout: 15_000 },
  ).status === 0;
if (!online) console.warn(`[new-team-install] ${registry} is not reachable: the empty-store case is skipped.`);

describe.skipIf(!online)(
  "db:new-team right after setup's install into an empty pnpm store and cache (registry)",
  () => {
    let root: string;
    let env: NodeJS.ProcessEnv;
    let lockBefore: string;
    beforeAll(() => {
      root = copyCheckout();
      const cache = join(root, '.cache');
      const store = join(root, '.pnpm-store');
      mkdirSync(cache);
      mkdirSync(store);
      env = { XDG_CACHE_HOME: cache, npm_config_store_dir: store, CI: '1', npm_config_cache: join(cache, 'npm') };
      // What setup runs (pnpm install; frozen, as pnpm does under CI), here with nothing on the machine.
      const install = run('pnpm', ['install', '--frozen-lockfile'], root, env);
      expect(install.code, install.output).toBe(0);
      expect(readdirSync(store).length, 'the install used the empty store').toBeGreaterThan(0);
      lockBefore = readFileSync(join(root, 'pnpm-lock.yaml'), 'utf8');
    }, 600_000);
    afterAll(() => {
      if (root && !process.env.KEEP_TEST_DB) rmSync(root, { recursive: true, force: true });
    });

    it('links the new package (exit 0) from that store, and pnpm-lock.yaml gains exactly its importer', () => {
      expectNewTeamLinks(root, env, lockBefore);
    });
  },
);
