import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { DbKitError, UsageError } from './errors';

/** What a schema package declares in the "dbKit" field of its package.json. */
export interface DbKitManifest {
  role: 'shared' | 'team';
  /** Short name used on the command line: `--package teamd`. */
  alias: string;
  /** Entry module whose exports are the tables this package owns. */
  schema: string;
  /** Migration folder, relative to the package. */
  out: string;
  /** Bookkeeping table in the `drizzle` schema. */
  migrationsTable: string;
  /** Teams only: every table name the team owns starts with this. */
  tablePrefix?: string;
  /** What db-kit seed does with this package: tables to leave out, a module of refinements. */
  seed?: { skip?: string[]; refinements?: string };
}

export interface SchemaPackage extends DbKitManifest {
  name: string;
  dir: string;
  /** Absolute migration folder. */
  migrationsDir: string;
  /** The workspace's root folder, where the root package.json with the pnpm scripts lives. */
  root: string;
  /** Names of the schema packages this one builds on (from its package.json dependencies). */
  dependsOn: string[];
}

export const MIGRATIONS_SCHEMA = 'drizzle';

/**
 * The schema packages of a pnpm workspace, found through pnpm-workspace.yaml.
 *
 * @example
 *   const ws = Workspace.find(process.cwd());
 *   ws.resolve('teamd').migrationsDir; // .../teams/teamD/src/database/drizzle
 *   ws.migrationOrder(ws.resolve('teamd')).map((p) => p.alias); // ['shared', 'teamd']
 */
export class Workspace {
  private constructor(
    readonly root: string,
    readonly packages: SchemaPackage[],
  ) {}

  static find(from = process.cwd()): Workspace {
    const root = findRoot(from);
    return new Workspace(root, discoverPackages(root));
  }

  /** Looks a package up by alias (`teamd`) or package name (`@teamd/database`). */
  resolve(nameOrAlias: string): SchemaPackage {
    const wanted = nameOrAlias.toLowerCase();
    const found = this.packages.find((p) => p.alias.toLowerCase() === wanted || p.name.toLowerCase() === wanted);
    if (!found) {
      const known = this.packages.map((p) => p.alias).join(', ');
      throw new UsageError(`No schema package named "${nameOrAlias}".`, `Known packages: ${known}.`);
    }
    return found;
  }

  get shared(): SchemaPackage[] {
    return this.packages.filter((p) => p.role === 'shared');
  }

  get teams(): SchemaPackage[] {
    return this.packages.filter((p) => p.role === 'team');
  }

  /** `pkg` and everything it depends on, dependencies first. */
  migrationOrder(pkg: SchemaPackage): SchemaPackage[] {
    const ordered: SchemaPackage[] = [];
    const visit = (p: SchemaPackage, trail: string[]) => {
      if (ordered.includes(p)) return;
      if (trail.includes(p.name))
        throw new DbKitError(`Schema packages depend on each other in a cycle: ${[...trail, p.name].join(' -> ')}.`);
      for (const dep of p.dependsOn) visit(this.resolve(dep), [...trail, p.name]);
      ordered.push(p);
    };
    visit(pkg, []);
    return ordered;
  }

  /** Every package, dependencies first: shared before teams. */
  allInOrder(): SchemaPackage[] {
    return this.withDependencies(this.packages);
  }

  /** `selected` and everything they build on, each once, dependencies first. */
  withDependencies(selected: SchemaPackage[]): SchemaPackage[] {
    const ordered: SchemaPackage[] = [];
    for (const p of selected) for (const q of this.migrationOrder(p)) if (!ordered.includes(q)) ordered.push(q);
    return ordered;
  }

  relative(path: string): string {
    return relative(this.root, path) || '.';
  }
}

export function findRoot(from: string): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new DbKitError(
        `No pnpm-workspace.yaml found above ${from}.`,
        'Run this command inside the large-event repository.',
      );
    }
    dir = parent;
  }
}

/** Reads the `packages:` globs of pnpm-workspace.yaml. Supports `dir/*` and plain paths, which is all we use. */
export function workspaceGlobs(root: string): string[] {
  const text = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8');
  const globs: string[] = [];
  let inPackages = false;
  for (const line of text.split(/\r?\n/)) {
    if (/^packages\s*:/.test(line)) {
      inPackages = true;
      continue;
    }
    if (inPackages && /^\S/.test(line)) break;
    const item = /^\s*-\s*['"]?([^'"#]+?)['"]?\s*(#.*)?$/.exec(line);
    if (inPackages && item) globs.push(item[1]!.trim());
  }
  return globs;
}

function expandGlob(root: string, glob: string): string[] {
  const parts = glob.split('/');
  let dirs = [root];
  for (const part of parts) {
    const next: string[] = [];
    for (const dir of dirs) {
      if (part === '*') {
        if (!existsSync(dir)) continue;
        for (const entry of readdirSync(dir, { withFileTypes: true })) {
          if (entry.isDirectory() && entry.name !== 'node_modules' && !entry.name.startsWith('.'))
            next.push(join(dir, entry.name));
        }
      } else {
        next.push(join(dir, part));
      }
    }
    dirs = next;
  }
  return dirs.filter((d) => existsSync(join(d, 'package.json')));
}

/** Every package folder of the workspace (schema packages and others), from pnpm-workspace.yaml. */
export function workspacePackageDirs(root: string): string[] {
  return workspaceGlobs(root).flatMap((glob) => expandGlob(root, glob));
}

function discoverPackages(root: string): SchemaPackage[] {
  const manifests: Array<{ name: string; dir: string; kit: DbKitManifest; deps: string[] }> = [];
  for (const dir of workspacePackageDirs(root)) {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      name: string;
      dbKit?: DbKitManifest;
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    if (!pkg.dbKit) continue;
    validateManifest(pkg.name, dir, pkg.dbKit);
    manifests.push({ name: pkg.name, dir, kit: pkg.dbKit, deps: Object.keys({ ...pkg.dependencies }) });
  }
  assertDistinct(manifests);
  const names = new Set(manifests.map((m) => m.name));
  const packages = manifests.map(({ name, dir, kit, deps }) => ({
    ...kit,
    name,
    dir,
    migrationsDir: join(dir, kit.out),
    root,
    dependsOn: deps.filter((d) => names.has(d)),
  }));
  // Shared first, then teams by alias: a stable order for status, check and migrate-all.
  return packages.sort((a, b) => (a.role === b.role ? compareAliases(a.alias, b.alias) : a.role === 'shared' ? -1 : 1));
}

const PLAIN_ALIAS = /^[a-z0-9]*$/;

/**
 * localeCompare's order, without its cost where it cannot differ: for lower-case letters and digits it is the
 * code-point order, and the first localeCompare of a process starts ICU's collator (~10 ms of every command).
 */
function compareAliases(a: string, b: string): number {
  if (PLAIN_ALIAS.test(a) && PLAIN_ALIAS.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  return a.localeCompare(b);
}

/**
 * Teams are isolated by their alias and bookkeeping table: two packages sharing one would read and write each other's
 * history.
 */
function assertDistinct(manifests: Array<{ name: string; dir: string; kit: DbKitManifest }>): void {
  for (const key of ['alias', 'migrationsTable'] as const) {
    const seen = new Map<string, string>();
    for (const { name, dir, kit } of manifests) {
      const value = kit[key].toLowerCase();
      const other = seen.get(value);
      if (other) {
        throw new DbKitError(
          `${other} and ${name} (${join(dir, 'package.json')}) both declare "dbKit.${key}": "${kit[key]}".`,
          `Give each package its own ${key}; a team's is "${key === 'alias' ? '<alias>' : '__<alias>_migrations'}".`,
        );
      }
      seen.set(value, name);
    }
  }
}

function validateManifest(name: string, dir: string, kit: DbKitManifest): void {
  const where = `${name} (${join(dir, 'package.json')})`;
  for (const key of ['role', 'alias', 'schema', 'out', 'migrationsTable'] as const) {
    if (typeof kit[key] !== 'string' || !kit[key])
      throw new DbKitError(
        `"dbKit.${key}" is missing in ${where}.`,
        'Every schema package declares role, alias, schema, out and migrationsTable.',
      );
  }
  if (kit.role !== 'shared' && kit.role !== 'team')
    throw new DbKitError(`"dbKit.role" must be "shared" or "team" in ${where}.`);
  if (!/^[a-z_][a-z0-9_]*$/.test(kit.migrationsTable))
    throw new DbKitError(`"dbKit.migrationsTable" must be a plain lower-case identifier in ${where}.`);
}
