import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { runCli } from '../cli';
import { captureReporter, type Terminal } from '../context';
import { type Journal, journalText, withEntry } from '../migrations/files';
import { EMPTY_SNAPSHOT } from '../migrations/snapshots';
import { Workspace, workspacePackageDirs } from '../workspace';

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
  /**
   * Runs a command in this process (`runCli` in this copy, with a captured reporter and no terminal):
   * the same exit code and output as `dbKit`, without starting Node and loading the engine again.
   * For tests of what a command does; `dbKit` stays for what a person sees of the process.
   *
   * @example
   *   const run = await ws.run(['migrate', '--all'], { DATABASE_URL: db.url });
   *   expect(run.code, run.stderr).toBe(0);
   */
  run(args: string[], env?: NodeJS.ProcessEnv): Promise<RunOutput>;
  /** Runs the engine's CLI in this copy as a process, as `pnpm <script>` would. */
  dbKit(args: string[], env?: NodeJS.ProcessEnv): RunOutput;
  /** The same, without blocking: for several CLI processes at once. */
  dbKitAsync(args: string[], env?: NodeJS.ProcessEnv): Promise<RunOutput>;
  /**
   * Adds a hand-written migration to a package, as `drizzle-kit generate --custom` would: the SQL
   * file, a journal entry and a copy of the previous snapshot. Returns the tag.
   *
   * @example
   *   ws.addMigration('shared/database', '20261130_120000_backfill', 'UPDATE users SET ...;');
   */
  addMigration(packageDir: string, tag: string, sql: string): string;
  /** Runs any command in this copy. */
  exec(command: string, args: string[], env?: NodeJS.ProcessEnv): RunOutput;
  /**
   * Links a package created inside the copy (by new-team, say) to its dependencies, as
   * `pnpm install` would: workspace packages to their copies here, others to the real install.
   * Running pnpm here is not an option: the copy's node_modules is the real root's.
   */
  linkDependencies(relativeDir: string): void;
  remove(): void;
}

/**
 * A scratch copy of the workspace's schema packages, so a test can edit schemas and
 * generate migrations without touching the real tree. node_modules are linked, not copied.
 * `packages` (directories relative to the root) copies only those: the engine's own tests copy
 * their fixture packages, so a team added to the workspace changes nothing they see.
 *
 * @example
 *   const ws = copyWorkspace();
 *   ws.write('teams/teamD/src/database/src/overlays/extra.ts', '...');
 *   expect(ws.dbKit(['generate', '--package', 'teamd', '--name', 'extra']).code).toBe(0);
 */
export function copyWorkspace(options: { packages?: string[] } = {}): FixtureWorkspace {
  const source = Workspace.find();
  const wanted = options.packages?.map((dir) => join(source.root, dir));
  for (const dir of wanted ?? [])
    if (!source.packages.some((p) => p.dir === dir)) throw new Error(`copyWorkspace: ${dir} is not a schema package`);
  const base = join(source.root, '.db', 'fixtures');
  mkdirSync(base, { recursive: true });
  const root = mkdtempSync(join(base, 'ws-'));
  chmodSync(root, 0o755); // the embedded server's postgres user must be able to enter it
  for (const file of ['package.json', 'pnpm-workspace.yaml', 'tsconfig.base.json'])
    cpSync(join(source.root, file), join(root, file));
  if (wanted)
    dropScriptsOf(
      join(root, 'package.json'),
      source.packages.filter((p) => !wanted.includes(p.dir)),
    );
  symlinkSync(join(source.root, 'node_modules'), join(root, 'node_modules'));
  for (const pkg of source.packages) {
    if (wanted && !wanted.includes(pkg.dir)) continue;
    const target = join(root, source.relative(pkg.dir));
    // Relative symlinks inside node_modules keep pointing at the copy's siblings.
    cpSync(pkg.dir, target, { recursive: true, verbatimSymlinks: true, filter: (src) => !src.includes('/.turbo') });
  }
  const engineDir = join(source.root, 'shared', 'db-kit');
  symlinkSync(engineDir, join(root, 'shared', 'db-kit'));
  const bin = join(engineDir, 'bin', 'db-kit.cjs');
  const exec = (command: string, args: string[], env: NodeJS.ProcessEnv = {}): RunOutput => {
    const result = spawnSync(command, args, {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, ...env },
      timeout: 120_000,
    });
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
    run: async (args, env = {}) => {
      const out = captureReporter();
      const code = await runCli(args, {
        cwd: root,
        env: { ...process.env, ...env },
        reporter: out,
        terminal: NO_TERMINAL,
      });
      return { code, stdout: out.stdout, stderr: out.stderr };
    },
    dbKit: (args, env) => exec(process.execPath, [bin, ...args], env),
    dbKitAsync: (args, env = {}) =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, ...env } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
      }),
    addMigration: (packageDir, tag, sql) => addMigration(join(root, packageDir), tag, sql),
    exec,
    linkDependencies: (relativeDir) => linkDependencies(root, source.root, join(root, relativeDir)),
    remove: () => {
      if (existsSync(root)) rmSync(root, { recursive: true, force: true });
    },
  };
}

/** What a spawned CLI has with piped stdio: nobody to ask, so commands that would ask refuse instead. */
const NO_TERMINAL: Terminal = {
  interactive: false,
  confirm: () => Promise.reject(new Error('no terminal: nothing may be asked')),
  input: () => Promise.reject(new Error('no terminal: nothing may be asked')),
};

/**
 * Removes the root scripts of packages left out of the copy (`<alias>:db:*`), line by line so the
 * file keeps its formatting: a team left out is not there at all, and its alias is free.
 */
function dropScriptsOf(manifest: string, leftOut: Array<{ alias: string }>): void {
  if (!leftOut.length) return;
  const prefixes = leftOut.map((p) => `"${p.alias}:`);
  const lines = readFileSync(manifest, 'utf8').split('\n');
  const kept = lines.filter((line) => !prefixes.some((prefix) => line.trimStart().startsWith(prefix)));
  // A removed last entry leaves a trailing comma before the closing brace.
  const text = kept.join('\n').replace(/,(\s*\n\s*})/g, '$1');
  writeFileSync(manifest, text);
}

function addMigration(packageDir: string, tag: string, sql: string): string {
  const named = /^(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})_/.exec(tag);
  if (!named) throw new Error(`addMigration: "${tag}" is not YYYYMMDD_HHMMSS_name`);
  const [, y, mo, d, h, mi, s] = named;
  const when = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const meta = join(packageDir, 'drizzle', 'meta');
  const journalFile = join(meta, '_journal.json');
  if (!existsSync(journalFile)) {
    // A package's first migration is hand-written (extensions, functions): start the journal as drizzle-kit does.
    mkdirSync(meta, { recursive: true });
    writeFileSync(journalFile, journalText({ version: '7', dialect: 'postgresql', entries: [] }));
  }
  const before = JSON.parse(readFileSync(journalFile, 'utf8')) as Journal;
  const last = before.entries.at(-1);
  const { journal, idx } = withEntry(before, { when, tag });
  writeFileSync(journalFile, journalText(journal));
  writeFileSync(join(packageDir, 'drizzle', `${tag}.sql`), sql);
  const snapshot = last
    ? JSON.parse(readFileSync(join(meta, `${String(last.idx).padStart(4, '0')}_snapshot.json`), 'utf8'))
    : EMPTY_SNAPSHOT;
  writeFileSync(
    join(meta, `${String(idx).padStart(4, '0')}_snapshot.json`),
    JSON.stringify({ ...snapshot, id: randomUUID(), prevId: snapshot.id }, null, 2),
  );
  return tag;
}

function linkDependencies(root: string, sourceRoot: string, packageDir: string): void {
  const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  const workspacePackages = new Map<string, string>();
  for (const dir of workspacePackageDirs(root))
    workspacePackages.set((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string }).name, dir);
  for (const name of Object.keys({ ...manifest.dependencies, ...manifest.devDependencies })) {
    const link = join(packageDir, 'node_modules', name);
    if (existsSync(link)) continue;
    const target = workspacePackages.get(name) ?? installedCopy(sourceRoot, name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(target, link);
  }
}

/** Where the real install has `name`: linked at the root or into a package, or hoisted in pnpm's virtual store. */
function installedCopy(sourceRoot: string, name: string): string {
  const places = [sourceRoot, ...workspacePackageDirs(sourceRoot), join(sourceRoot, 'node_modules', '.pnpm')].map(
    (dir) => join(dir, 'node_modules', name),
  );
  const found = places.find((place) => existsSync(place));
  if (!found) throw new Error(`${name} is not installed anywhere in ${sourceRoot}: run pnpm install.`);
  return realpathSync(found);
}
