import { createHash } from '../crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DbKitError } from '../errors';
import { MalformedFile } from '../migrations/files';
import { historyOf } from '../migrations/history';
import { EMPTY_SNAPSHOT, type Snapshot } from '../migrations/snapshots';
import type { SchemaPackage, Workspace } from '../workspace';
import { importDependency } from '../dependencies';

type DrizzleJson = Parameters<typeof import('drizzle-kit/api').generateMigration>[0];

/** What a package's schema files declare beyond its latest snapshot: a generate nobody ran. */
export interface UnrecordedChange {
  pkg: SchemaPackage;
  /** The SQL a migration would run, or, when names both vanished and appeared, what needs an answer. */
  statements: string[];
  /** Renames or drops: generate will ask. */
  needsAnswers: boolean;
  /** The schema entry did not load; `statements` is empty. */
  loadError?: string;
}

/**
 * Diffs each package's schema entry (TypeScript, loaded through tsx, all in one namespace) with the
 * package's latest snapshot. tsx and drizzle-kit's API take about a second to load; see
 * `cachedUnrecordedChanges` for the commands that must stay fast. Returns only packages with changes.
 */
export async function unrecordedChanges(packages: SchemaPackage[]): Promise<UnrecordedChange[]> {
  if (!packages.length) return [];
  const [{ loadSchemas }, api] = await Promise.all([
    import('./load'),
    importDependency<typeof import('drizzle-kit/api')>('drizzle-kit/api'),
  ]);
  const changes: UnrecordedChange[] = [];
  try {
    for (const schema of await loadSchemas(packages)) changes.push(await diff(api, schema.pkg, schema.exports));
  } catch {
    // One entry does not load: load them one by one to say which, and diff the others.
    changes.length = 0;
    for (const pkg of packages) {
      try {
        changes.push(await diff(api, pkg, (await loadSchemas([pkg]))[0]!.exports));
      } catch (error) {
        if (error instanceof MalformedFile) throw error;
        const reason = error instanceof DbKitError ? error.message : String(error);
        changes.push({ pkg, statements: [], needsAnswers: false, loadError: reason });
      }
    }
  }
  return changes.filter((c) => c.statements.length || c.loadError);
}

async function diff(
  api: typeof import('drizzle-kit/api'),
  pkg: SchemaPackage,
  exports: Record<string, unknown>,
): Promise<UnrecordedChange> {
  // A copy: drizzle-kit may change what it is given, and the history keeps its snapshots.
  const previous = structuredClone(historyOf(pkg).latestSnapshot() ?? EMPTY_SNAPSHOT) as unknown as DrizzleJson;
  const current = api.generateDrizzleJson(exports) as unknown as DrizzleJson;
  const ambiguous = renameCandidates(previous as unknown as Snapshot, current as unknown as Snapshot);
  // drizzle-kit asks "renamed or dropped?" when names both vanish and appear; never prompt here.
  const statements = ambiguous.length ? ambiguous : await api.generateMigration(previous, current);
  return { pkg, statements, needsAnswers: ambiguous.length > 0 };
}

/** Tables, columns or enums that both disappeared and appeared: the diff needs a human to say "rename". */
function renameCandidates(previous: Snapshot, current: Snapshot): string[] {
  const changes: string[] = [];
  const diff = (before: string[], after: string[], what: string) => {
    const gone = before.filter((n) => !after.includes(n));
    const added = after.filter((n) => !before.includes(n));
    if (gone.length && added.length) changes.push(`${what}: removed ${gone.join(', ')}; added ${added.join(', ')}`);
  };
  diff(Object.keys(previous.tables ?? {}), Object.keys(current.tables ?? {}), 'tables');
  diff(Object.keys(previous.enums ?? {}), Object.keys(current.enums ?? {}), 'enums');
  for (const [key, table] of Object.entries(current.tables ?? {})) {
    const before = previous.tables?.[key];
    if (before) diff(Object.keys(before.columns ?? {}), Object.keys(table.columns ?? {}), `columns of ${key}`);
  }
  return changes;
}

// ---- the cache: status and migrate must not pay a second for tsx on every run ----

interface CacheEntry {
  key: string;
  statements: string[];
  needsAnswers: boolean;
  /** The entry did not load under this key: retried only once an input changes. */
  loadError?: string;
}

const CACHE_VERSION = 1;
const SOURCE_FILE = /\.(c|m)?(t|j)s$/;
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'test', 'tests', '__tests__']);

function cacheFile(ws: Workspace): string {
  return join(ws.root, '.db', 'schema-changes.json');
}

/**
 * What decides a package's diff, hashed: the engine's drizzle-kit version, the package's latest
 * snapshot, and the source files (and package.json) of the package and of every package it builds on,
 * since a team's schema imports shared's tables. Tests and the migration folder do not count.
 * Reading a few dozen small files takes about a millisecond.
 */
export function schemaKey(ws: Workspace, pkg: SchemaPackage, sources = readSources): string {
  const hash = createHash('sha256');
  hash.update(`v${CACHE_VERSION} drizzle-kit ${drizzleKitVersion()}\n`);
  hash.update(`snapshot ${JSON.stringify(historyOf(pkg).latestSnapshot() ?? null)}\n`);
  for (const p of ws.migrationOrder(pkg)) {
    for (const { file, bytes } of sources(p)) {
      hash.update(`${relative(ws.root, file)}\n`);
      hash.update(bytes);
    }
  }
  return hash.digest('hex');
}

function readSources(pkg: SchemaPackage): Array<{ file: string; bytes: Buffer }> {
  return sourceFiles(pkg).map((file) => ({ file, bytes: readFileSync(file) }));
}

/** readSources, each package read once: every team's key covers shared's files (12 teams read them 12 times). */
function readSourcesOnce(): typeof readSources {
  const read = new Map<SchemaPackage, Array<{ file: string; bytes: Buffer }>>();
  return (pkg) => {
    let found = read.get(pkg);
    if (!found) {
      found = readSources(pkg);
      read.set(pkg, found);
    }
    return found;
  };
}

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function sourceFiles(pkg: SchemaPackage): string[] {
  const files: string[] = [join(pkg.dir, 'package.json')];
  const out = pkg.migrationsDir;
  const walk = (dir: string) => {
    // By code point: localeCompare's first call starts ICU's collator, ~10 ms of a no-op migrate.
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => byCodePoint(a.name, b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!entry.name.startsWith('.') && !SKIPPED_DIRS.has(entry.name) && path !== out) walk(path);
      } else if (SOURCE_FILE.test(entry.name) && !/\.(test|spec)\.[cm]?[tj]s$/.test(entry.name)) files.push(path);
    }
  };
  walk(pkg.dir);
  return files;
}

/**
 * A dependency's package.json, found as Node would, by walking up from this module. Not through
 * require(): that starts Node's CommonJS loader (~20 ms), which the no-op migrate never needs otherwise.
 */
function installedManifest(name: string): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, 'node_modules', name, 'package.json');
    if (existsSync(file)) return file;
    if (dirname(dir) === dir) throw new Error(`${name} is not installed`);
  }
}

let kitVersion: string | undefined;
function drizzleKitVersion(): string {
  if (kitVersion) return kitVersion;
  try {
    kitVersion = (JSON.parse(readFileSync(installedManifest('drizzle-kit'), 'utf8')) as { version: string }).version;
  } catch {
    kitVersion = 'unknown';
  }
  return kitVersion;
}

function readCache(ws: Workspace): Record<string, CacheEntry> {
  try {
    const data = JSON.parse(readFileSync(cacheFile(ws), 'utf8')) as {
      version?: number;
      entries?: Record<string, CacheEntry>;
    };
    return data.version === CACHE_VERSION ? (data.entries ?? {}) : {};
  } catch {
    return {};
  }
}

function writeCache(ws: Workspace, entries: Record<string, CacheEntry>): void {
  try {
    const file = cacheFile(ws);
    mkdirSync(join(ws.root, '.db'), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ version: CACHE_VERSION, entries }, null, 2));
    renameSync(tmp, file); // atomic: a concurrent reader sees the old or the new file
  } catch {
    // a cache that cannot be written only costs time
  }
}

/** Records what a fresh diff found (or, after generate, that nothing is left), keyed by the inputs' hash. */
export function rememberChanges(ws: Workspace, found: UnrecordedChange[], checked: SchemaPackage[]): void {
  const entries = readCache(ws);
  for (const pkg of checked) {
    const change = found.find((c) => c.pkg === pkg);
    // A load error is remembered too: its key changes with the next edit, and retrying it on every
    // run would load tsx each time (a no-op migrate went from ~0.3 s to ~3 s on a workspace whose
    // schema entry is missing).
    entries[pkg.name] = {
      key: schemaKey(ws, pkg),
      statements: change?.statements ?? [],
      needsAnswers: change?.needsAnswers ?? false,
      ...(change?.loadError ? { loadError: change.loadError } : {}),
    };
  }
  writeCache(ws, entries);
}

/**
 * `unrecordedChanges`, answered from `.db/schema-changes.json` when the schema files, the latest
 * snapshot and drizzle-kit are unchanged since the last diff. A hit costs about a millisecond; only
 * packages whose inputs changed are loaded and diffed (then remembered). With `diffStale: false` those
 * are left out instead: the answer holds only what the cache knows (migrate without a terminal).
 */
export async function cachedUnrecordedChanges(
  ws: Workspace,
  packages: SchemaPackage[],
  options: { diffStale?: boolean } = {},
): Promise<UnrecordedChange[]> {
  const entries = readCache(ws);
  const sources = readSourcesOnce();
  const known: UnrecordedChange[] = [];
  const stale: SchemaPackage[] = [];
  for (const pkg of packages) {
    const entry = entries[pkg.name];
    // The key is worked out even without an entry: it reads the latest snapshot, so a malformed one is named.
    const key = schemaKey(ws, pkg, sources);
    if (entry && entry.key === key) {
      const { statements, needsAnswers, loadError } = entry;
      if (statements.length || loadError)
        known.push({ pkg, statements, needsAnswers, ...(loadError ? { loadError } : {}) });
    } else stale.push(pkg);
  }
  if (!stale.length || options.diffStale === false) return known;
  const found = await unrecordedChanges(stale);
  rememberChanges(ws, found, stale);
  return packages.flatMap((pkg) => [...known, ...found].filter((c) => c.pkg === pkg));
}

/** One line for a person: `@teamd/database: the schema files have changes no migration records; ...`. */
export function describeUnrecorded(
  packageName: string,
  change: Pick<UnrecordedChange, 'statements' | 'needsAnswers' | 'loadError'>,
): string {
  if (change.loadError) return `${packageName}: its schema does not load: ${change.loadError}`;
  const shown = change.statements.slice(0, 3).map((s) => s.replace(/\s+/g, ' ').slice(0, 100));
  const more = change.statements.length > shown.length ? ` (+${change.statements.length - shown.length} more)` : '';
  const what = change.needsAnswers ? 'a migration would need answers about' : 'a migration would run';
  return `${packageName}: the schema files have changes no migration records; ${what}: ${shown.join(' | ')}${more}`;
}
