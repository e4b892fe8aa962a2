import { historyOf } from '../migrations/history';
import { addCreatedBySql, handOvers, ownerOfObject, ownership } from '../migrations/ownership';
import { snapshotPath } from '../migrations/snapshots';
import type { SchemaPackage } from '../workspace';
import type { Finding } from './findings';
import { TABLE_SCOPED, type ConstraintType, type ObjectKind, type ObjectRef, type ParsedMigration } from './sql';

interface Definition {
  pkg: SchemaPackage;
  file: string;
  line?: number;
  /** The table a constraint belongs to, and what kind of constraint it is (or made the index). */
  table?: string;
  constraintType?: ConstraintType;
}

/**
 * Kinds whose names must carry a team's prefix: everything in a schema's namespace. Triggers and
 * policies live in their table's namespace, and an extension's name is not ours to choose.
 */
const PREFIXED: readonly ObjectKind[] = ['table', 'enum', 'index', 'constraint', 'view', 'function'];

/**
 * Who may touch what. Every table, enum, index and constraint belongs to one package: the one whose
 * snapshot or SQL creates it. A package's migration changes only its own objects; shared never points
 * a foreign key at a team's table; no name is defined twice; a team's names carry its prefix.
 *
 * @param migrations every migration of every package, in journal order (ownership needs the whole picture)
 * @param inScope    the migrations whose statements are judged (see `lintScope`)
 * @param selected   the packages whose findings are reported
 */
export function ownershipFindings(
  packages: SchemaPackage[],
  migrations: ParsedMigration[],
  inScope: Set<ParsedMigration>,
  selected: SchemaPackage[],
): Finding[] {
  const handedOver = handOvers(migrations);
  const owners = addCreatedBySql(ownership(packages), migrations);
  // Up to its release (db-kit promote), a package built what another package owns now: that is history, not a trespass.
  const historical: Historical = (migration, owner) => Boolean(owner && handedOver.get(migration)?.has(owner.name));
  const definitions = definitionsOf(packages, migrations, owners, historical);
  return [...trespassFindings(inScope, selected, owners, historical), ...nameFindings(definitions, selected)];
}

type Historical = (migration: ParsedMigration, owner: SchemaPackage | undefined) => boolean;
type Owners = ReturnType<typeof ownership>;
/** name key -> package name -> where that package defines it */
type Definitions = Map<string, Map<string, Definition>>;

/** Who defines each name: every package's latest snapshot, then what the migrations create (and drop). */
function definitionsOf(
  packages: SchemaPackage[],
  migrations: ParsedMigration[],
  owners: Owners,
  historical: Historical,
): Definitions {
  const definitions: Definitions = new Map();
  const define = (key: string, definition: Definition, overwrite: boolean) => {
    const byPackage = definitions.get(key) ?? new Map<string, Definition>();
    if (overwrite || !byPackage.has(definition.pkg.name)) byPackage.set(definition.pkg.name, definition);
    definitions.set(key, byPackage);
  };
  for (const pkg of packages) {
    const last = historyOf(pkg).entries.at(-1);
    if (!last) continue;
    const constraintTypes = snapshotConstraintTypes(pkg);
    for (const key of ownership([pkg]).keys()) {
      const file = snapshotPath(pkg, last.idx);
      define(nameKey(key), { pkg, file, ...constraintTypes.get(key) }, false);
    }
  }
  for (const migration of migrations) {
    for (const statement of migration.statements) {
      for (const target of statement.targets) {
        const key = `${target.kind}:${target.qualifiedName}`;
        if (target.action === 'create') {
          const owner = owners.get(key);
          if (historical(migration, owner)) continue;
          // CREATE OR REPLACE of another package's object changes it: judged below, defines nothing.
          if (target.replace && owner && owner.name !== migration.pkg.name) continue;
          const table = TABLE_SCOPED.includes(target.kind) ? target.qualifiedName.split('.')[1] : undefined;
          define(
            nameKey(key),
            {
              pkg: migration.pkg,
              file: migration.path,
              line: statement.startLine,
              table,
              constraintType: target.constraintType,
            },
            true,
          );
        } else if (target.action === 'drop') {
          definitions.get(nameKey(key))?.delete(migration.pkg.name);
        }
      }
    }
  }
  return definitions;
}

/** A package's statements that change another package's object, or (shared) point a foreign key at a team. */
function trespassFindings(
  inScope: Set<ParsedMigration>,
  selected: SchemaPackage[],
  owners: Owners,
  historical: Historical,
): Finding[] {
  const findings: Finding[] = [];
  for (const migration of inScope) {
    const { pkg } = migration;
    if (!selected.includes(pkg)) continue;
    for (const statement of migration.statements) {
      const reported = new Set<string>();
      for (const target of statement.targets) {
        const owner = ownerOfObject(owners, target.kind, target.qualifiedName);
        if (!owner || owner.name === pkg.name || historical(migration, owner)) continue;
        const where = { file: migration.path, line: statement.startLine };
        const changes = target.action === 'alter' || target.action === 'drop' || Boolean(target.replace);
        if (changes && !reported.has(target.qualifiedName)) {
          reported.add(target.qualifiedName);
          findings.push({
            rule: 'foreign-object',
            severity: 'error',
            ...where,
            message:
              `${verb(target)} ${target.kind} ${target.name}, owned by ${describe(owner)}: ` +
              `${statement.firstLine.slice(0, 80)}`,
            next:
              owner.role === 'shared' && pkg.role === 'team'
                ? 'A team never changes a shared object: keep the data in a side table of your own keyed by the ' +
                  'core row (like extensions.ts), or propose the change in the shared package.'
                : `Make the change in ${owner.name} instead, through its own migration.`,
          });
        }
        if (target.action === 'reference' && pkg.role === 'shared' && owner.role === 'team') {
          findings.push({
            rule: 'shared-references-team',
            severity: 'error',
            ...where,
            message: `a foreign key points at ${owner.name}'s table ${target.name}; shared must not depend on a team.`,
            next:
              'Turn it around: the team table references the shared row, or promote the team table into shared ' +
              'first.',
          });
        }
      }
    }
  }
  return findings;
}

/** Per name: defined by two packages, or a team's name without its prefix. */
function nameFindings(definitions: Definitions, selected: SchemaPackage[]): Finding[] {
  const findings: Finding[] = [];
  const prefixReported = new Set<string>();
  for (const [key, byPackage] of definitions) {
    const definers = [...byPackage.values()];
    const [kind, qualifiedName] = splitKey(key);
    const name = qualifiedName.split('.').pop()!;
    duplicateFindings(kind, name, definers, selected, findings);
    prefixFindings(kind, name, definers, selected, prefixReported, findings);
  }
  return findings;
}

/** One name, one owner: a name two packages define (shared's own definition is not reported). */
function duplicateFindings(
  kind: ObjectKind,
  name: string,
  definers: Definition[],
  selected: SchemaPackage[],
  findings: Finding[],
): void {
  if (definers.length > 1) {
    const sharedDefines = definers.some((d) => d.pkg.role === 'shared');
    for (const d of definers) {
      if (!selected.includes(d.pkg) || (sharedDefines && d.pkg.role === 'shared')) continue;
      const others = definers.filter((o) => o !== d).map((o) => o.pkg.name);
      findings.push({
        rule: 'duplicate-name',
        severity: 'error',
        file: d.file,
        line: d.line,
        message: `${kind} ${name} is also defined by ${others.join(', ')}; one name, one owner.`,
        next:
          kind === 'extension'
            ? sharedDefines
              ? `${name} is created by the shared package, which every team builds on: remove this CREATE EXTENSION.`
              : `Create ${name} once, in a shared custom migration (pnpm db:generate --custom --name ` +
                `add_${name}), and remove it from the teams.`
            : `Rename it in ${d.pkg.name}` +
              `${d.pkg.tablePrefix ? ` (with the prefix ${d.pkg.tablePrefix})` : ''} and run generate again.`,
      });
    }
  }
}

/** Every name a team defines carries its prefix; a primary key or unique constraint's index is the same name. */
function prefixFindings(
  kind: ObjectKind,
  name: string,
  definers: Definition[],
  selected: SchemaPackage[],
  prefixReported: Set<string>,
  findings: Finding[],
): void {
  for (const d of definers) {
    const prefix = d.pkg.tablePrefix;
    if (!prefix || !selected.includes(d.pkg) || !PREFIXED.includes(kind) || name.startsWith(prefix)) continue;
    // A primary key or unique constraint is also an index of the same name: one finding for the name.
    const once = `${d.pkg.name}:${d.file}:${d.line ?? ''}:${name}`;
    if (prefixReported.has(once)) continue;
    prefixReported.add(once);
    const what = d.constraintType ? `${d.constraintType} constraint` : kind;
    findings.push({
      rule: 'team-prefix',
      severity: 'error',
      file: d.file,
      line: d.line,
      message:
        `${what} ${name}${d.table ? ` (on ${d.table})` : ''} ` +
        `does not start with ${prefix}, the prefix of ${d.pkg.name} ("dbKit.tablePrefix"): ` +
        `every name a team defines carries it, constraint names included.`,
      next: renameHint(kind, d.constraintType, name, `${prefix}${name}`),
    });
  }
}

/** Where the name is written in a drizzle schema (or in hand-written SQL), with the exact rename. */
function renameHint(kind: ObjectKind, constraintType: ConstraintType | undefined, from: string, to: string): string {
  const where: Record<string, string> = {
    table: `pgTable('${to}', ...)`,
    enum: `pgEnum('${to}', [...])`,
    index: `index('${to}').on(...) / uniqueIndex('${to}')`,
    view: `pgView('${to}')`,
    function: `CREATE FUNCTION ${to}(...) in its custom migration`,
    'primary key': `primaryKey({ name: '${to}', columns: [...] })`,
    unique: `unique('${to}').on(...), or .unique('${to}') on the column`,
    'foreign key': `foreignKey({ name: '${to}', columns: [...], foreignColumns: [...] })`,
    check: `check('${to}', sql\`...\`)`,
    exclusion: `the EXCLUDE constraint's name`,
  };
  const spot = where[constraintType ?? kind] ?? `the ${kind}'s name`;
  return `Rename ${from} to ${to}: ${spot} in the schema, then run generate again.`;
}

/** `constraint:schema.table.name` -> the constraint's table and type, from the package's latest snapshot. */
function snapshotConstraintTypes(pkg: SchemaPackage): Map<string, { table: string; constraintType: ConstraintType }> {
  const types = new Map<string, { table: string; constraintType: ConstraintType }>();
  for (const table of Object.values(historyOf(pkg).latestSnapshot()?.tables ?? {})) {
    const schema = table.schema || 'public';
    const groups: Array<[Record<string, { name: string }> | undefined, ConstraintType]> = [
      [table.compositePrimaryKeys, 'primary key'],
      [table.uniqueConstraints, 'unique'],
      [table.foreignKeys, 'foreign key'],
      [table.checkConstraints, 'check'],
    ];
    for (const [group, constraintType] of groups) {
      for (const constraint of Object.values(group ?? {})) {
        const entry = { table: table.name, constraintType };
        types.set(`constraint:${schema}.${table.name}.${constraint.name}`, entry);
        if (constraintType === 'primary key' || constraintType === 'unique')
          types.set(`index:${schema}.${constraint.name}`, entry);
      }
    }
  }
  return types;
}

/** Constraint names are compared per schema: a unique or primary key constraint is also an index there. */
function nameKey(key: string): string {
  const [kind, qualifiedName] = splitKey(key);
  if (kind !== 'constraint') return key;
  const parts = qualifiedName.split('.');
  return `constraint:${parts[0]}.${parts.at(-1)}`;
}

function splitKey(key: string): [ObjectKind, string] {
  const colon = key.indexOf(':');
  return [key.slice(0, colon) as ObjectKind, key.slice(colon + 1)];
}

function verb(target: ObjectRef): string {
  return target.action === 'drop' ? 'drops' : 'alters';
}

function describe(pkg: SchemaPackage): string {
  return `${pkg.name} (${pkg.role})`;
}
