import { readFileSync } from 'node:fs';
import { RELEASES_HEADER, readJournal } from '../migrations/files';
import { ownership, snapshotPath } from '../migrations/snapshots';
import type { SchemaPackage } from '../workspace';
import type { Finding } from './findings';
import type { ObjectKind, ObjectRef, ParsedMigration } from './sql';

interface Definition {
  pkg: SchemaPackage;
  file: string;
  line?: number;
}

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
  const findings: Finding[] = [];
  const owners = ownership(packages);
  const handedOver = handOvers(migrations);
  // Up to its release (db-kit promote), a package built what another package owns now: that is history, not a trespass.
  const historical = (migration: ParsedMigration, owner: SchemaPackage | undefined) =>
    Boolean(owner && handedOver.get(migration)?.has(owner.name));
  const definitions = new Map<string, Map<string, Definition>>();
  const define = (key: string, definition: Definition, overwrite: boolean) => {
    const byPackage = definitions.get(key) ?? new Map<string, Definition>();
    if (overwrite || !byPackage.has(definition.pkg.name)) byPackage.set(definition.pkg.name, definition);
    definitions.set(key, byPackage);
  };

  for (const pkg of packages) {
    const last = readJournal(pkg).entries.at(-1);
    if (!last) continue;
    for (const key of ownership([pkg]).keys()) define(nameKey(key), { pkg, file: snapshotPath(pkg, last.idx) }, false);
  }
  for (const migration of migrations) {
    for (const statement of migration.statements) {
      for (const target of statement.targets) {
        const key = `${target.kind}:${target.qualifiedName}`;
        if (target.action === 'create') {
          if (historical(migration, owners.get(key))) continue;
          if (!owners.has(key)) owners.set(key, migration.pkg);
          define(nameKey(key), { pkg: migration.pkg, file: migration.path, line: statement.startLine }, true);
        } else if (target.action === 'drop') {
          definitions.get(nameKey(key))?.delete(migration.pkg.name);
        }
      }
    }
  }

  const ownerOf = (target: ObjectRef): SchemaPackage | undefined => {
    if (target.kind === 'constraint') {
      const [schema, table] = target.qualifiedName.split('.');
      return owners.get(`table:${schema}.${table}`) ?? owners.get(`constraint:${target.qualifiedName}`);
    }
    return owners.get(`${target.kind}:${target.qualifiedName}`);
  };

  for (const migration of inScope) {
    const { pkg } = migration;
    if (!selected.includes(pkg)) continue;
    for (const statement of migration.statements) {
      const reported = new Set<string>();
      for (const target of statement.targets) {
        const owner = ownerOf(target);
        if (!owner || owner.name === pkg.name || historical(migration, owner)) continue;
        const where = { file: migration.path, line: statement.startLine };
        if ((target.action === 'alter' || target.action === 'drop') && !reported.has(target.qualifiedName)) {
          reported.add(target.qualifiedName);
          findings.push({
            rule: 'foreign-object',
            severity: 'error',
            ...where,
            message: `${verb(target)} ${target.kind} ${target.name}, owned by ${describe(owner)}: ${statement.firstLine.slice(0, 80)}`,
            next:
              owner.role === 'shared' && pkg.role === 'team'
                ? 'A team never changes a shared object: keep the data in a side table of your own keyed by the core row (like extensions.ts), or propose the change in the shared package.'
                : `Make the change in ${owner.name} instead, through its own migration.`,
          });
        }
        if (target.action === 'reference' && pkg.role === 'shared' && owner.role === 'team') {
          findings.push({
            rule: 'shared-references-team',
            severity: 'error',
            ...where,
            message: `a foreign key points at ${owner.name}'s table ${target.name}; shared must not depend on a team.`,
            next: 'Turn it around: the team table references the shared row, or promote the team table into shared first.',
          });
        }
      }
    }
  }

  for (const [key, byPackage] of definitions) {
    const definers = [...byPackage.values()];
    const [kind, qualifiedName] = splitKey(key);
    const name = qualifiedName.split('.').pop()!;
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
          next: `Rename it in ${d.pkg.name}${d.pkg.tablePrefix ? ` (with the prefix ${d.pkg.tablePrefix})` : ''} and run generate again.`,
        });
      }
    }
    for (const d of definers) {
      const prefix = d.pkg.tablePrefix;
      if (!prefix || !selected.includes(d.pkg) || kind === 'constraint' || name.startsWith(prefix)) continue;
      findings.push({
        rule: 'team-prefix',
        severity: 'error',
        file: d.file,
        line: d.line,
        message: `${kind} ${name} does not start with ${prefix}, the prefix of ${d.pkg.name} ("dbKit.tablePrefix").`,
        next: `Name it ${prefix}${name} in the schema (pgTable / pgEnum / index) and run generate again.`,
      });
    }
  }
  return findings;
}

/** For each migration, the packages that a later-or-same release migration of its package handed tables to. */
function handOvers(migrations: ParsedMigration[]): Map<ParsedMigration, Set<string>> {
  const result = new Map<ParsedMigration, Set<string>>();
  const receivers = new Map<string, Set<string>>();
  for (const migration of [...migrations].reverse()) {
    const received = new Set(receivers.get(migration.pkg.name));
    const release = RELEASES_HEADER.exec(readFileSync(migration.path, 'utf8'));
    if (release) received.add(release[2]!);
    receivers.set(migration.pkg.name, received);
    result.set(migration, received);
  }
  return result;
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
