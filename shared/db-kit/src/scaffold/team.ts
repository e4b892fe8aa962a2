import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { DbKitError, UsageError } from '../errors';
import { ownership } from '../migrations/ownership';
import { workspaceGlobs, type SchemaPackage, type Workspace } from '../workspace';
import { addLockfileImporter } from './lockfile';
import { teamPackageFiles } from './templates';

/**
 * A team name, after lower-casing: a letter, then 1 to 20 letters or digits. It becomes the alias and the table
 * prefix.
 */
export const TEAM_NAME = /^[a-z][a-z0-9]{1,20}$/;

/** Names that would read as something other than a team on the command line, in SQL or in the layout. */
export const RESERVED_TEAM_NAMES = [
  'shared',
  'db',
  'drizzle',
  'public',
  'database',
  'all',
  'pg',
  'team',
  'teams',
  'test',
  'bench',
  'schema',
];

/** Where team packages live; pnpm-workspace.yaml must glob it. */
export const TEAMS_GLOB = 'teams/*/src/database';

/** The root scripts every team gets, `<alias>:db:<command>`, each calling the engine directly. */
export const TEAM_COMMANDS = [
  'generate',
  'migrate',
  'studio',
  'promote',
  'check',
  'push',
  'status',
  'repair',
  'rollback',
] as const;

export interface TeamPlan {
  /** As typed, which keeps its case for the folder: `teamX` -> teams/teamX. */
  name: string;
  alias: string;
  packageName: string;
  dir: string;
  tablePrefix: string;
  migrationsTable: string;
  scripts: Record<string, string>;
}

export function teamScripts(alias: string): Record<string, string> {
  return Object.fromEntries(
    TEAM_COMMANDS.map((command) => [`${alias}:db:${command}`, `db-kit ${command} --package ${alias}`]),
  );
}

/**
 * Decides what `new-team <name>` creates, or refuses with the reason (exit 2).
 *
 * @example
 *   planTeam(ws, 'teamX'); // { alias: 'teamx', dir: '<root>/teams/teamX/src/database', tablePrefix: 'teamx_', ... }
 */
export function planTeam(ws: Workspace, name: string): TeamPlan {
  const alias = name.trim().toLowerCase();
  if (!TEAM_NAME.test(alias)) {
    throw new UsageError(
      `"${name}" is not a valid team name: it must start with a letter and have 2 to 21 letters or digits (no ` +
        `dashes or underscores).`,
      'Pick a short name such as teamx or payments.',
    );
  }
  if (RESERVED_TEAM_NAMES.includes(alias)) {
    throw new UsageError(`"${alias}" is reserved (${RESERVED_TEAM_NAMES.join(', ')}).`, 'Pick another team name.');
  }
  if (!workspaceGlobs(ws.root).includes(TEAMS_GLOB)) {
    throw new DbKitError(
      `pnpm-workspace.yaml does not list ${TEAMS_GLOB}, so a new team would not be found.`,
      `Add "  - ${TEAMS_GLOB}" under packages: in pnpm-workspace.yaml.`,
    );
  }
  const packageName = `@${alias}/database`;
  const tablePrefix = `${alias}_`;
  const migrationsTable = `__${alias}_migrations`;
  const scripts = teamScripts(alias);

  const taken = ws.packages.find(
    (p) => p.alias === alias || p.name === packageName || p.migrationsTable === migrationsTable,
  );
  if (taken)
    throw new UsageError(
      `Team "${alias}" is taken: ${taken.name} (${ws.relative(taken.dir)}) already uses it.`,
      'Pick another name.',
    );
  const teamsDir = join(ws.root, 'teams');
  const folder = existsSync(teamsDir)
    ? readdirSync(teamsDir).find((entry) => entry.toLowerCase() === alias)
    : undefined;
  if (folder)
    throw new UsageError(
      `Team "${alias}" is taken: teams/${folder} already exists.`,
      'Pick another name, or remove the folder if it is a leftover.',
    );
  const rootScripts = readRootPackage(ws).json.scripts ?? {};
  const script = Object.keys(scripts).find((s) => s in rootScripts);
  if (script)
    throw new UsageError(
      `Team "${alias}" is taken: the root package.json already has the script "${script}".`,
      'Pick another name, or remove the stale scripts.',
    );

  for (const team of ws.teams) {
    const other = team.tablePrefix ?? `${team.alias}_`;
    if (other.startsWith(tablePrefix) || tablePrefix.startsWith(other)) {
      throw new UsageError(
        `The table prefix "${tablePrefix}" collides with ${team.name}'s prefix "${other}": the check could not tell ` +
          `their tables apart.`,
        'Pick a name that neither starts nor is the start of an existing team prefix.',
      );
    }
  }
  for (const [key, owner] of ownership(ws.packages)) {
    const table = /^table:public\.(.+)$/.exec(key)?.[1];
    if (!table) continue;
    if (table === alias || table.startsWith(tablePrefix)) {
      throw new UsageError(
        `"${alias}" collides with the table ${table}, owned by ${owner.name}.`,
        'Pick another team name.',
      );
    }
  }
  return {
    name: name.trim(),
    alias,
    packageName,
    dir: join(teamsDir, name.trim(), 'src', 'database'),
    tablePrefix,
    migrationsTable,
    scripts,
  };
}

/**
 * Writes the team's package and adds its root scripts. Returns the written files, relative to the root.
 * Linking the package (pnpm install) is the caller's step.
 */
export function scaffoldTeam(ws: Workspace, plan: TeamPlan): string[] {
  const shared = onlySharedPackage(ws);
  const sharedJson = JSON.parse(readFileSync(join(shared.dir, 'package.json'), 'utf8')) as PackageJson;
  const files = teamPackageFiles({
    alias: plan.alias,
    packageName: plan.packageName,
    sharedPackage: shared.name,
    sharedSchemaImport: schemaImportPath(shared, sharedJson),
    dependencies: sortKeys({ [shared.name]: 'workspace:*', ...sharedJson.dependencies }),
    devDependencies: sortKeys({ ...sharedJson.devDependencies }),
    baseTsconfig: relative(plan.dir, join(ws.root, 'tsconfig.base.json')),
    workspaceRoot: relative(plan.dir, ws.root),
    packagePath: ws.relative(plan.dir),
  });
  const written: string[] = [];
  for (const [path, text] of Object.entries(files)) {
    const file = join(plan.dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    written.push(ws.relative(file));
  }
  addRootScripts(ws, plan.scripts);
  if (addLockfileImporter(ws.root, plan.dir, JSON.parse(files['package.json']!) as PackageJson))
    written.push('pnpm-lock.yaml');
  return written;
}

interface PackageJson {
  name: string;
  exports?: Record<string, string | Record<string, string>>;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

function onlySharedPackage(ws: Workspace): SchemaPackage {
  const [shared, ...more] = ws.shared;
  if (!shared || more.length) {
    throw new DbKitError(
      `A team is scaffolded over exactly one shared package; found ${ws.shared.length}.`,
      'Mark exactly one package with "dbKit": { "role": "shared", ... }.',
    );
  }
  if (!ownership([shared]).has('table:public.users')) {
    throw new DbKitError(
      `${shared.name} owns no "users" table, which the team templates extend.`,
      'Generate and commit the shared migration that creates users first.',
    );
  }
  return shared;
}

/**
 * The import path whose exports are exactly the shared tables: the export entry pointing at dbKit.schema, else the
 * main entry.
 */
function schemaImportPath(shared: SchemaPackage, json: PackageJson): string {
  for (const [subpath, target] of Object.entries(json.exports ?? {})) {
    const file = typeof target === 'string' ? target : (target.import ?? target.default);
    if (subpath !== '.' && file?.replace(/^\.\//, '') === shared.schema)
      return `${shared.name}/${subpath.replace(/^\.\//, '')}`;
  }
  return shared.name;
}

function sortKeys(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

function readRootPackage(ws: Workspace): { file: string; text: string; json: PackageJson } {
  const file = join(ws.root, 'package.json');
  const text = readFileSync(file, 'utf8');
  return { file, text, json: JSON.parse(text) as PackageJson };
}

/** Inserts the scripts after the last team script (`x:db:...`), keeping the file's indentation and final newline. */
function addRootScripts(ws: Workspace, scripts: Record<string, string>): void {
  const { file, text, json } = readRootPackage(ws);
  const existing = Object.entries(json.scripts ?? {});
  let at = existing.length;
  for (let i = 0; i < existing.length; i++) if (/^[a-z0-9]+:db:/.test(existing[i]![0])) at = i + 1;
  json.scripts = Object.fromEntries([...existing.slice(0, at), ...Object.entries(scripts), ...existing.slice(at)]);
  const indent = /^([ \t]+)"/m.exec(text)?.[1] ?? '  ';
  writeFileSync(file, JSON.stringify(json, null, indent) + (text.endsWith('\n') ? '\n' : ''));
}
