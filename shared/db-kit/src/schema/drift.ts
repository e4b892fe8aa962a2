import type { PackageState } from '../migrations/state';
import { historyOf } from '../migrations/history';
import type { Snapshot } from '../migrations/snapshots';
import type { SchemaPackage } from '../workspace';
import type { LiveSchema } from './live';

export type DriftKind = 'table' | 'column' | 'enum' | 'index' | 'constraint';

export interface Drift {
  kind: DriftKind;
  /** `public.users.nickname` */
  object: string;
  /** unexpected: live but declared nowhere; missing: declared but not live; differs: both, not alike. */
  problem: 'unexpected' | 'missing' | 'differs';
  /** The package owning the object or its table; undefined when no package declares it. */
  owner?: string;
  expected?: string;
  actual?: string;
}

interface ExpectedTable {
  owner: SchemaPackage;
  columns: Map<string, { type: string; notNull: boolean }>;
}

export interface ExpectedSchema {
  tables: Map<string, ExpectedTable>;
  enums: Map<string, { owner: SchemaPackage; values: string[] }>;
  /** `public.events_organizer_id_idx` -> its table and owner */
  indexes: Map<string, { table: string; owner: SchemaPackage }>;
  constraints: Map<string, SchemaPackage>;
  /**
   * `public.t.t_a_b_key`: a UNIQUE on exactly the primary key's columns. Inside one CREATE TABLE,
   * PostgreSQL folds it into the key and builds nothing; added later, it exists. Either is fine.
   */
  foldable: Set<string>;
}

/** PostgreSQL's NAMEDATALEN - 1: longer identifiers are truncated when an object is created. */
export const MAX_IDENTIFIER_BYTES = 63;

/**
 * The name PostgreSQL stores for `name`: cut to 63 bytes, never inside a multi-byte character
 * (what the server's truncate_identifier does). Drizzle's snapshots keep the name as written.
 */
export function pgIdentifier(name: string): string {
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length <= MAX_IDENTIFIER_BYTES) return name;
  let end = MAX_IDENTIFIER_BYTES;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // back to the start of a character
  return bytes.subarray(0, end).toString('utf8');
}

/**
 * What the migrations applied so far should have built: the union, over all packages, of the
 * snapshot after each package's newest applied migration. Pending migrations are reported as
 * pending, not a second time as drift; with nothing pending this is every package's latest snapshot.
 */
export function expectedSchema(states: PackageState[]): ExpectedSchema {
  return expectedFrom(
    states.flatMap((state) => {
      const newest = newestApplied(state);
      const snapshot = newest && historyOf(state.pkg).snapshotAt(newest.idx);
      return snapshot ? [{ pkg: state.pkg, snapshot }] : [];
    }),
  );
}

/** The package's newest applied migration (an edited one counts: it ran), or undefined. */
export function newestApplied(state: PackageState): { idx: number; tag: string } | undefined {
  const files = [...state.applied, ...state.changed].map((a) => a.file);
  return files.reduce<(typeof files)[number] | undefined>((a, b) => (a && a.idx > b.idx ? a : b), undefined);
}

/** What PostgreSQL builds from each package's snapshot (push passes the ones it recorded). */
export function expectedFrom(snapshots: Array<{ pkg: SchemaPackage; snapshot: Snapshot }>): ExpectedSchema {
  const expected: ExpectedSchema = {
    tables: new Map(),
    enums: new Map(),
    indexes: new Map(),
    constraints: new Map(),
    foldable: new Set(),
  };
  for (const { pkg, snapshot } of snapshots) addSnapshot(expected, pkg, snapshot);
  return expected;
}

/** Adds what PostgreSQL builds from a snapshot: names truncated, key columns NOT NULL, folded keys marked. */
function addSnapshot(expected: ExpectedSchema, owner: SchemaPackage, snapshot: Snapshot): void {
  for (const table of Object.values(snapshot.tables)) {
    const schema = table.schema || 'public';
    const name = `${schema}.${pgIdentifier(table.name)}`;
    // A primary key makes its columns NOT NULL, whatever the column says (drizzle's composite keys do not).
    const keyColumns = Object.values(table.compositePrimaryKeys ?? {}).flatMap((k) => k.columns ?? []);
    const columns = new Map(
      Object.values(table.columns).map((c) => [
        pgIdentifier(c.name),
        { type: canonicalType(c.type), notNull: c.notNull || c.primaryKey || keyColumns.includes(c.name) },
      ]),
    );
    expected.tables.set(name, { owner, columns });
    for (const index of Object.values(table.indexes ?? {}))
      expected.indexes.set(`${schema}.${pgIdentifier(index.name)}`, { table: name, owner });
    for (const group of [table.foreignKeys, table.uniqueConstraints, table.checkConstraints]) {
      for (const constraint of Object.values(group ?? {}))
        expected.constraints.set(`${name}.${pgIdentifier(constraint.name)}`, owner);
    }
    const primaryKey = primaryKeyColumns(table);
    for (const unique of Object.values(table.uniqueConstraints ?? {})) {
      if (primaryKey && sameColumns(unique.columns ?? [], primaryKey))
        expected.foldable.add(`${name}.${pgIdentifier(unique.name)}`);
    }
  }
  for (const e of Object.values(snapshot.enums ?? {}))
    expected.enums.set(`${e.schema || 'public'}.${pgIdentifier(e.name)}`, { owner, values: e.values });
}

function primaryKeyColumns(table: Snapshot['tables'][string]): string[] | undefined {
  const composite = Object.values(table.compositePrimaryKeys ?? {})[0]?.columns;
  if (composite?.length) return composite;
  const single = Object.values(table.columns).filter((c) => c.primaryKey);
  return single.length ? single.map((c) => c.name) : undefined;
}

function sameColumns(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((column, i) => column === b[i]);
}

/** Differences between the live database and the expected schema, tables first. */
export function findDrift(live: LiveSchema, expected: ExpectedSchema): Drift[] {
  return [...tableDrift(live, expected), ...enumDrift(live, expected), ...indexAndConstraintDrift(live, expected)];
}

/** Tables unexpected or missing, and the columns of a table both sides have. */
function tableDrift(live: LiveSchema, expected: ExpectedSchema): Drift[] {
  const drift: Drift[] = [];
  const liveTables = new Map(live.tables.map((t) => [t.name, t]));
  for (const [name, table] of liveTables) {
    const wanted = expected.tables.get(name);
    if (!wanted) {
      drift.push({ kind: 'table', object: name, problem: 'unexpected' });
      continue;
    }
    const owner = wanted.owner.name;
    for (const column of table.columns) {
      const want = wanted.columns.get(column.name);
      const actual = describeColumn(canonicalType(column.type), column.notNull);
      if (!want) drift.push({ kind: 'column', object: `${name}.${column.name}`, problem: 'unexpected', owner, actual });
      else if (want.type !== canonicalType(column.type) || want.notNull !== column.notNull) {
        drift.push({
          kind: 'column',
          object: `${name}.${column.name}`,
          problem: 'differs',
          owner,
          expected: describeColumn(want.type, want.notNull),
          actual,
        });
      }
    }
    const liveColumns = new Set(table.columns.map((c) => c.name));
    for (const [column, want] of wanted.columns) {
      if (!liveColumns.has(column))
        drift.push({
          kind: 'column',
          object: `${name}.${column}`,
          problem: 'missing',
          owner,
          expected: describeColumn(want.type, want.notNull),
        });
    }
  }
  for (const [name, wanted] of expected.tables)
    if (!liveTables.has(name))
      drift.push({ kind: 'table', object: name, problem: 'missing', owner: wanted.owner.name });
  return drift;
}

function enumDrift(live: LiveSchema, expected: ExpectedSchema): Drift[] {
  const drift: Drift[] = [];
  for (const [name, values] of live.enums) {
    const wanted = expected.enums.get(name);
    if (!wanted) drift.push({ kind: 'enum', object: name, problem: 'unexpected', actual: values.join(', ') });
    else if (wanted.values.join('\u0000') !== values.join('\u0000')) {
      drift.push({
        kind: 'enum',
        object: name,
        problem: 'differs',
        owner: wanted.owner.name,
        expected: wanted.values.join(', '),
        actual: values.join(', '),
      });
    }
  }
  for (const [name, wanted] of expected.enums)
    if (!live.enums.has(name))
      drift.push({
        kind: 'enum',
        object: name,
        problem: 'missing',
        owner: wanted.owner.name,
        expected: wanted.values.join(', '),
      });
  return drift;
}

/** Indexes (INVALID ones too) and constraints, on tables both sides have. */
function indexAndConstraintDrift(live: LiveSchema, expected: ExpectedSchema): Drift[] {
  const drift: Drift[] = [];
  const liveTables = new Set(live.tables.map((t) => t.name));
  // Indexes and constraints of a table that is itself missing or unexpected add nothing.
  const bothHave = (table: string) => liveTables.has(table) && expected.tables.has(table);
  const tableOf = (constraint: string) => constraint.split('.').slice(0, 2).join('.');
  for (const [index, table] of live.indexes) {
    if (!expected.indexes.has(index) && bothHave(table))
      drift.push({
        kind: 'index',
        object: index,
        problem: 'unexpected',
        owner: expected.tables.get(table)!.owner.name,
      });
  }
  for (const [index, { table, owner }] of expected.indexes) {
    if (!live.indexes.has(index) && bothHave(table))
      drift.push({ kind: 'index', object: index, problem: 'missing', owner: owner.name });
  }
  // An INVALID index exists by name (IF NOT EXISTS skips it) but Postgres never uses or enforces it.
  for (const [index, table] of live.invalidIndexes) {
    drift.push({
      kind: 'index',
      object: index,
      problem: 'differs',
      owner: expected.tables.get(table)?.owner.name,
      expected: 'a valid index',
      actual: 'INVALID (a CREATE INDEX CONCURRENTLY failed; DROP INDEX CONCURRENTLY it and migrate again)',
    });
  }
  for (const constraint of live.constraints) {
    const table = tableOf(constraint);
    if (!expected.constraints.has(constraint) && !expected.foldable.has(constraint) && bothHave(table))
      drift.push({
        kind: 'constraint',
        object: constraint,
        problem: 'unexpected',
        owner: expected.tables.get(table)!.owner.name,
      });
  }
  for (const [constraint, owner] of expected.constraints) {
    if (!live.constraints.has(constraint) && !expected.foldable.has(constraint) && bothHave(tableOf(constraint)))
      drift.push({ kind: 'constraint', object: constraint, problem: 'missing', owner: owner.name });
  }
  return drift;
}

export function describeColumn(type: string, notNull: boolean): string {
  return `${type}${notNull ? ' not null' : ''}`;
}

const TYPE_ALIASES: Record<string, string> = {
  serial: 'integer',
  serial4: 'integer',
  bigserial: 'bigint',
  serial8: 'bigint',
  smallserial: 'smallint',
  serial2: 'smallint',
  int: 'integer',
  int4: 'integer',
  int8: 'bigint',
  int2: 'smallint',
  bool: 'boolean',
  float8: 'double precision',
  float4: 'real',
  decimal: 'numeric',
  varchar: 'character varying',
  char: 'character',
  bpchar: 'character',
  timestamptz: 'timestamp with time zone',
  timetz: 'time with time zone',
};

/**
 * One spelling for drizzle's snapshot types and Postgres' format_type():
 * `varchar(255)` and `character varying(255)`, `serial` and `integer`, `numeric(10, 2)` and
 * `numeric(10,2)`, `"public"."mood"` and `mood` all compare equal.
 */
export function canonicalType(type: string): string {
  let t = type
    .trim()
    .toLowerCase()
    .replace(/"/g, '')
    .replace(/\s*,\s*/g, ',')
    .replace(/\s*\(\s*/g, '(')
    .replace(/\s*\)/g, ')')
    .replace(/\s+/g, ' ');
  let array = '';
  const arrayMatch = /((?:\[\d*\])+)$/.exec(t);
  if (arrayMatch) {
    array = arrayMatch[1]!.replace(/\d+/g, '');
    t = t.slice(0, -arrayMatch[1]!.length).trim();
  }
  t = t.replace(/^public\./, '');
  const base = /^([a-z0-9_ .]+?)(\(.*\))?( with(?:out)? time zone)?$/.exec(t);
  if (base) {
    let [, name, args = '', zone = ''] = base;
    name = TYPE_ALIASES[name!] ?? name!;
    if (name === 'character' && !args) args = '(1)';
    if (name === 'timestamp' || name === 'time') zone ||= ' without time zone';
    t = `${name}${args}${zone}`;
  }
  return `${t}${array}`;
}
