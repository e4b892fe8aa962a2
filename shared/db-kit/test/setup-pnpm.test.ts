import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Workspace } from '../src/workspace';

// setup on a machine without pnpm: after it, `pnpm test` typed in a NEW shell must find pnpm.
// The scripts run from a scratch folder holding only scripts/db-workflow.sh (its ROOT), with a
// PATH that has everything of /usr/bin and /bin except pnpm. They install pnpm with npm.
const SCRIPT = join(Workspace.find().root, 'scripts', 'db-workflow.sh');
const PNPM = /^10\.\d+\.\d+$/m;
const isRoot = process.getuid?.() === 0;

const scratch = mkdtempSync(join(tmpdir(), 'setup-pnpm-'));
chmodSync(scratch, 0o755);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** /usr/bin and /bin without pnpm: a machine where it was never installed. */
function pathWithoutPnpm(): string {
  const dir = join(scratch, 'no-pnpm-bin');
  if (existsSync(dir)) return dir;
  mkdirSync(dir);
  for (const from of ['/usr/local/bin', '/usr/bin', '/bin'])
    for (const name of existsSync(from) ? readdirSync(from) : [])
      if (!/^(pnpm|pnpx|corepack)$/.test(name) && !existsSync(join(dir, name)))
        symlinkSync(join(from, name), join(dir, name));
  return dir;
}

function checkout(name: string): string {
  const root = join(scratch, name);
  mkdirSync(join(root, 'scripts'), { recursive: true });
  cpSync(SCRIPT, join(root, 'scripts', 'db-workflow.sh'));
  mkdirSync(join(root, 'home'));
  return root;
}

/** Runs `script` in a new bash: the environment of this machine (certificates, proxies), minus what
 * pnpm running vitest put there, plus `env`; as `nobody` when `asNobody`. */
function bash(root: string, script: string, env: Record<string, string>, asNobody = false) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|pnpm_|PNPM)/i.test(k)));
  const command = asNobody ? 'setpriv' : 'bash';
  const args = ['-c', script];
  if (asNobody) args.unshift('--reuid=nobody', '--regid=nogroup', '--clear-groups', 'bash');
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8', env: { ...base, ...env }, timeout: 180_000 });
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

const ENSURE = 'source scripts/db-workflow.sh && ensure_pnpm && echo "HINT=$PNPM_PATH_HINT"';

describe('setup installs pnpm where a new shell finds it', () => {
  it('npm global bin not on PATH: links pnpm into ~/.local/bin, which is', () => {
    const root = checkout('global-off-path');
    mkdirSync(join(root, 'home', '.local', 'bin'), { recursive: true });
    const env = {
      HOME: join(root, 'home'),
      PATH: `${join(root, 'home', '.local', 'bin')}:${pathWithoutPnpm()}`,
      npm_config_prefix: join(root, 'npm-global'), // like nvm or a custom prefix: its bin is not on PATH
      npm_config_cache: join(homedir(), '.npm'),
    };
    expect(bash(root, 'command -v pnpm', env).code).not.toBe(0);
    const setup = bash(root, ENSURE, env);
    expect(setup.code, setup.out).toBe(0);
    const fresh = bash(root, 'pnpm --version', env); // a new shell, as the README's next command
    expect(fresh.code, fresh.out).toBe(0);
    expect(fresh.out).toMatch(PNPM);
  });

  it('no folder on PATH to link into: setup prints the exact line, and `db-workflow.sh test` finds pnpm', () => {
    const root = checkout('nowhere-to-link');
    const env = {
      HOME: join(root, 'home'),
      PATH: pathWithoutPnpm(),
      npm_config_prefix: join(root, 'npm-global'),
      npm_config_cache: join(homedir(), '.npm'),
    };
    const setup = bash(root, ENSURE, env);
    expect(setup.code, setup.out).toBe(0);
    expect(setup.out).toContain(`HINT=export PATH="${join(root, 'npm-global', 'bin')}:$PATH"`);
    const line = /HINT=(.*)/.exec(setup.out)![1]!;
    expect(bash(root, `${line} && pnpm --version`, env).out).toMatch(PNPM);
    // What `./scripts/db-workflow.sh test` does before running pnpm test: find it, install nothing.
    const again = bash(root, 'source scripts/db-workflow.sh && ensure_pnpm --no-link && pnpm --version', env);
    expect(again.out).not.toMatch(/Installing pnpm/);
    expect(again.out).toMatch(PNPM);
  });

  it.skipIf(!isRoot)(
    'a user who may not install globally gets pnpm in .tools/ of the checkout, found by a new shell',
    () => {
      const root = checkout('no-global-rights');
      mkdirSync(join(root, 'home', '.local', 'bin'), { recursive: true });
      pathWithoutPnpm();
      spawnSync('chown', ['-R', 'nobody', root]);
      chownSync(scratch, 0, 0);
      const env = {
        HOME: join(root, 'home'),
        PATH: `${join(root, 'home', '.local', 'bin')}:${pathWithoutPnpm()}`,
        npm_config_prefix: '/nonwritable', // a distribution's Node: the global folder is root's
        npm_config_cache: join(root, 'npm-cache'),
      };
      const setup = bash(root, ENSURE, env, true);
      expect(setup.code, setup.out).toBe(0);
      expect(existsSync(join(root, '.tools', 'node_modules', '.bin', 'pnpm'))).toBe(true);
      const fresh = bash(root, 'command -v pnpm && pnpm --version', env, true);
      expect(fresh.code, fresh.out).toBe(0);
      expect(fresh.out).toMatch(PNPM);
    },
  );
});
