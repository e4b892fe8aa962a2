import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Workspace } from '../workspace';

export interface RunOutput {
  code: number;
  stdout: string;
  stderr: string;
}

export interface FixtureWorkspace {
  root: string;
  path(relative: string): string;
  read(relative: string): string;
  write(relative: string, text: string): void;
  /** Runs the engine's CLI in this copy, as `pnpm <script>` would. */
  dbKit(args: string[], env?: NodeJS.ProcessEnv): RunOutput;
  /** Runs any command in this copy. */
  exec(command: string, args: string[], env?: NodeJS.ProcessEnv): RunOutput;
  remove(): void;
}

/**
 * A scratch copy of the workspace's schema packages, so a test can edit schemas and
 * generate migrations without touching the real tree. node_modules are linked, not copied.
 *
 * @example
 *   const ws = copyWorkspace();
 *   ws.write('teams/teamD/src/database/src/overlays/extra.ts', '...');
 *   expect(ws.dbKit(['generate', '--package', 'teamd', '--name', 'extra']).code).toBe(0);
 */
export function copyWorkspace(): FixtureWorkspace {
  const source = Workspace.find();
  const base = join(source.root, '.db', 'fixtures');
  mkdirSync(base, { recursive: true });
  const root = mkdtempSync(join(base, 'ws-'));
  chmodSync(root, 0o755); // the embedded server's postgres user must be able to enter it
  for (const file of ['package.json', 'pnpm-workspace.yaml', 'tsconfig.base.json']) cpSync(join(source.root, file), join(root, file));
  symlinkSync(join(source.root, 'node_modules'), join(root, 'node_modules'));
  for (const pkg of source.packages) {
    const target = join(root, source.relative(pkg.dir));
    // Relative symlinks inside node_modules keep pointing at the copy's siblings.
    cpSync(pkg.dir, target, { recursive: true, verbatimSymlinks: true, filter: (src) => !src.includes('/.turbo') });
  }
  const engineDir = join(source.root, 'shared', 'db-kit');
  symlinkSync(engineDir, join(root, 'shared', 'db-kit'));
  const bin = join(engineDir, 'bin', 'db-kit.mjs');
  const exec = (command: string, args: string[], env: NodeJS.ProcessEnv = {}): RunOutput => {
    const result = spawnSync(command, args, { cwd: root, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
    return { code: result.status ?? 1, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
  };
  return {
    root,
    path: (relative) => join(root, relative),
    read: (relative) => readFileSync(join(root, relative), 'utf8'),
    write: (relative, text) => {
      const file = join(root, relative);
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(file, text);
    },
    dbKit: (args, env) => exec(process.execPath, [bin, ...args], env),
    exec,
    remove: () => {
      if (existsSync(root)) rmSync(root, { recursive: true, force: true });
    },
  };
}
