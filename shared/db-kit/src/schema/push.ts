import { drizzle } from 'drizzle-orm/postgres-js';
import { inTransaction, type Sql } from '../connection';
import { DbKitError, describeError, isConnectionLost, markLost } from '../errors';
import type { SchemaPackage } from '../workspace';
import type { LoadedSchema } from './load';
import { unionOf } from './load';
import { ownerOf } from '../migrations/ownership';
import { type SchemaObjects, schemaObjects } from './objects';
import { expectedFrom, findDrift, newestApplied } from './drift';
import { type PushRecord, readPushRecords, writePushRecords } from './pushes';
import { readLiveSchema } from './live';
import { inspectPackages } from '../migrations/runner';
import { historyOf } from '../migrations/history';
import type { Snapshot } from '../migrations/snapshots';
import { plural } from '../commands/common';
import { commandFor, scriptFor } from '../scripts';
import { importDependency } from '../dependencies';

export interface PushStatement {
  sql: string;
  /** `table:public.users`; undefined when the statement names nothing we recognise. */
  target?: string;
  owner?: SchemaPackage;
  /** Drops or rewrites data: a table, column, type or rows. */
  dataLoss: boolean;
}

export interface PushPlan {
  /** What push will run: statements on objects the pushed packages own. */
  statements: PushStatement[];
  /** Differences on objects of other packages (or of nobody): reported, never run. */
  leftAlone: PushStatement[];
  /** Statements whose effect would reach other packages' objects (TRUNCATE ... CASCADE): push stops. */
  refused: PushStatement[];
  /** What applyPush records of the pushed packages, for the next push's own diff (see snapshotDiff). */
  records: PushRecord[];
}

/**
 * Plans a dev-only push. The desired state is the UNION of every package's schema, so a
 * table of another package is never "missing" and never dropped (drizzle-kit push, given one
 * package's schema, drops the others'; its tablesFilter still drops their enums and sequences).
 * Of the resulting statements, only those on objects the pushed packages own are kept.
 *
 * @example
 *   const plan = await planPush(sql, await loadSchemas(ws.allInOrder()), ws.packages, [ws.resolve('teamd')]);
 *   plan.statements.filter((s) => s.dataLoss); // ask before these
 */
export async function planPush(
  sql: Sql,
  loaded: LoadedSchema[],
  packages: SchemaPackage[],
  scope: SchemaPackage[],
  interactive: boolean,
): Promise<PushPlan> {
  const objects = schemaObjects(loaded, packages);
  const { statements, records } = await quietUnlessInteractive(interactive, () =>
    pushStatements(sql, loaded, packages, scope, objects),
  );
  const plan: PushPlan = { statements: [], leftAlone: [], refused: [], records };
  for (const raw of statements) {
    // CASCADE on a DROP would remove other packages' foreign keys and views with it: without it,
    // PostgreSQL stops the push instead, naming what depends on the object.
    const text = raw.replace(
      /^(\s*DROP\s+(?:TABLE|TYPE|SEQUENCE|VIEW|SCHEMA)\b[\s\S]*?)\s+CASCADE\s*(;?)\s*$/i,
      '$1$2',
    );
    const target = statementTarget(text);
    const owner = target ? ownerOf(objects.owners, packages, target.kind, target.name) : undefined;
    const statement: PushStatement = {
      sql: text.trim(),
      target: target && `${target.kind}:${target.name}`,
      owner,
      dataLoss: DATA_LOSS.test(text),
    };
    const creatingSchema = /^\s*CREATE\s+SCHEMA\b/i.test(text);
    const inScope = creatingSchema || Boolean(owner && scope.includes(owner));
    if (inScope && /^\s*TRUNCATE\b[\s\S]*\bCASCADE\b/i.test(text)) plan.refused.push(statement);
    else (inScope ? plan.statements : plan.leftAlone).push(statement);
  }
  return plan;
}

/**
 * The raw statements that make the database match the union of the schemas. drizzle-kit's
 * pushSchema reads the live database, but its reader drops query parameters, so any composite
 * primary key in the database fails it ("there is no parameter $1", drizzle-orm #5557), and it
 * does not see NULLS NOT DISTINCT, so it plans dropping and re-adding such a constraint, and on a
 * table with rows asks whether to truncate it (without a terminal: "Interactive prompts require a
 * TTY"). Such a database is detected up front (and the parameter failure is caught too) and planned
 * by snapshotDiff. Either way the pushed packages' schemas are recorded, so the next push can take
 * snapshotDiff even if this one created the first such key.
 */
async function pushStatements(
  sql: Sql,
  loaded: LoadedSchema[],
  packages: SchemaPackage[],
  scope: SchemaPackage[],
  objects: SchemaObjects,
): Promise<{ statements: string[]; records: PushRecord[] }> {
  const misread = await liveReaderMisreads(sql, objects.schemas);
  if (misread) return snapshotDiff(sql, loaded, packages, scope, misread);
  const { pushSchema } = await importDependency<typeof import('drizzle-kit/api')>('drizzle-kit/api');
  const db = drizzle(sql);
  // drizzle-kit's api expects node-postgres results ({ rows }); postgres.js returns the rows.
  const adapter = { execute: async (query: Parameters<typeof db.execute>[0]) => ({ rows: await db.execute(query) }) };
  try {
    const [result, states] = await Promise.all([
      pushSchema(unionOf(loaded), adapter as never, objects.schemas, objects.tableFilters),
      inspectPackages(sql, scope),
    ]);
    const after = new Map(states.map((state) => [state.pkg.name, newestApplied(state)?.tag ?? '']));
    return { statements: result.statementsToExecute, records: await recordsOf(loaded, scope, after) };
  } catch (error) {
    if (!/there is no parameter \$\d/.test((error as Error).message ?? '')) throw error;
    return snapshotDiff(sql, loaded, packages, scope, 'a composite primary key');
  }
}

/**
 * What in the database drizzle-kit's live reader cannot read right (see pushStatements), for the
 * refusal's wording; undefined when there is none. One query; pg_get_indexdef says NULLS NOT DISTINCT
 * on PostgreSQL 15+ only, and older servers cannot build it, so no version check is needed.
 */
async function liveReaderMisreads(sql: Sql, schemas: string[]): Promise<string | undefined> {
  const [row] = await sql`
    select
      exists (
        select 1 from pg_constraint c join pg_namespace n on n.oid = c.connamespace
        where c.contype = 'p' and array_length(c.conkey, 1) > 1 and n.nspname = any(${schemas})
      ) as composite,
      exists (
        select 1 from pg_index i join pg_class t on t.oid = i.indrelid join pg_namespace n on n.oid = t.relnamespace
        where i.indisunique and n.nspname = any(${schemas})
          and pg_get_indexdef(i.indexrelid) like '% NULLS NOT DISTINCT%'
      ) as nulls_not_distinct`;
  if (row?.composite) return 'a composite primary key';
  if (row?.nulls_not_distinct) return 'a NULLS NOT DISTINCT unique';
  return undefined;
}

/** What applyPush records of the pushed packages: their schemas as pushed, after their newest migration. */
async function recordsOf(
  loaded: LoadedSchema[],
  scope: SchemaPackage[],
  after: Map<string, string>,
): Promise<PushRecord[]> {
  const { generateDrizzleJson } = await importDependency<typeof import('drizzle-kit/api')>('drizzle-kit/api');
  const inScope = new Set(scope.map((p) => p.name));
  return loaded
    .filter(({ pkg }) => inScope.has(pkg.name))
    .map(({ pkg, exports }) => ({
      pkg: pkg.name,
      after: after.get(pkg.name) ?? '',
      snapshot: generateDrizzleJson(exports) as unknown as Snapshot,
    }));
}

/**
 * Push's own path: the "current" side is, per package, what its applied migrations built (its
 * snapshot after its newest applied migration, as status uses), or what the package's last push
 * built if no migration was applied or undone since (recorded by applyPush); the "desired" side is
 * the union of the schema files; drizzle-kit's generateMigration diffs the two. Both sides come
 * from drizzle's own serializer, so they agree on what drizzle-kit's live reader misreads (NULLS
 * NOT DISTINCT, array and function defaults, key columns' NOT NULL). They only stand for the
 * database if it really matches them, so the live catalog is compared first: a difference on a
 * pushed package's object (a manual change) stops the push, since the diff would not see it.
 */
async function snapshotDiff(
  sql: Sql,
  loaded: LoadedSchema[],
  packages: SchemaPackage[],
  scope: SchemaPackage[],
  misread: string,
): Promise<{ statements: string[]; records: PushRecord[] }> {
  const [states, pushed] = await Promise.all([inspectPackages(sql, packages), readPushRecords(sql)]);
  const after = new Map(states.map((state) => [state.pkg.name, newestApplied(state)]));
  const snapshots = states.flatMap((state) => {
    const newest = after.get(state.pkg.name);
    const record = pushed.get(state.pkg.name);
    if (record && record.after === (newest?.tag ?? '')) return [{ pkg: state.pkg, snapshot: record.snapshot }];
    const snapshot = newest && historyOf(state.pkg).snapshotAt(newest.idx);
    return snapshot ? [{ pkg: state.pkg, snapshot }] : [];
  });
  const inScope = new Set(scope.map((p) => p.name));
  const differences = findDrift(await readLiveSchema(sql), expectedFrom(snapshots)).filter(
    (d) => d.owner && inScope.has(d.owner),
  );
  if (differences.length) {
    const first = differences[0]!;
    const names = scope.map((p) => p.alias).join(' + ');
    throw new DbKitError(
      `push cannot plan ${names}: the database has ${misread}, so push diffs against what the ` +
        `migrations and earlier pushes built, and the database differs from that ` +
        `(${plural(differences.length, 'difference')}, first: ${first.object} ${first.problem}). Nothing changed.`,
      `See them with ${scriptFor(scope[0]!, 'status', scope[0]!)}; ${commandFor(scope[0]!, 'reset')} ` +
        'rebuilds the database from the migrations, then push again.',
      'refused',
    );
  }
  const { generateDrizzleJson, generateMigration } =
    await importDependency<typeof import('drizzle-kit/api')>('drizzle-kit/api');
  const empty = generateDrizzleJson({}) as unknown as Snapshot;
  const current: Snapshot = { ...empty, tables: {}, enums: {}, schemas: {}, sequences: {}, views: {} };
  for (const { snapshot } of snapshots) {
    for (const key of ['tables', 'enums', 'schemas', 'sequences', 'views', 'roles', 'policies'] as const)
      current[key] = { ...(current[key] as object), ...((snapshot[key] as object | undefined) ?? {}) };
  }
  const desired = generateDrizzleJson(unionOf(loaded), current.id);
  const tags = new Map([...after].map(([name, newest]) => [name, newest?.tag ?? '']));
  const statements = await generateMigration(current as never, desired);
  return { statements, records: await recordsOf(loaded, scope, tags) };
}

const DATA_LOSS = /\b(DROP\s+(TABLE|COLUMN|TYPE|SEQUENCE|SCHEMA|VIEW)|TRUNCATE|SET\s+DATA\s+TYPE|DELETE\s+FROM)\b/i;

const NAME = String.raw`((?:"[^"]+"\.)?"[^"]+")`;
const TARGETS: Array<[RegExp, string]> = [
  [
    new RegExp(String.raw`^(?:CREATE|ALTER|DROP)\s+TABLE\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?(?:ONLY\s+)?${NAME}`, 'i'),
    'table',
  ],
  [new RegExp(String.raw`^TRUNCATE\s+(?:TABLE\s+)?${NAME}`, 'i'), 'table'],
  [
    new RegExp(
      String.raw`^CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?` +
        String.raw`(?:IF\s+NOT\s+EXISTS\s+)?"[^"]+"\s+ON\s+(?:ONLY\s+)?${NAME}`,
      'i',
    ),
    'table',
  ],
  [new RegExp(String.raw`^DROP\s+INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+EXISTS\s+)?${NAME}`, 'i'), 'index'],
  [new RegExp(String.raw`^(?:CREATE|ALTER|DROP)\s+TYPE\s+(?:IF\s+EXISTS\s+)?${NAME}`, 'i'), 'enum'],
  [new RegExp(String.raw`^(?:CREATE|ALTER|DROP)\s+SEQUENCE\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?${NAME}`, 'i'), 'sequence'],
];

/** The object a drizzle-kit push statement changes: `{ kind: 'table', name: 'public.users' }`. */
export function statementTarget(statement: string): { kind: string; name: string } | undefined {
  const text = statement.trim().replace(/^DO\s+\$\$\s*BEGIN\s+/i, '');
  for (const [pattern, kind] of TARGETS) {
    const match = pattern.exec(text);
    if (!match) continue;
    const parts = match[1]!.split('.').map((p) => p.replace(/^"|"$/g, ''));
    return { kind, name: parts.length === 2 ? `${parts[0]}.${parts[1]}` : `public.${parts[0]}` };
  }
  return undefined;
}

/** Runs the plan in one transaction (`inTransaction`): a failing statement leaves the database as it was. */
export async function applyPush(sql: Sql, plan: PushPlan): Promise<void> {
  let index = 0;
  try {
    await inTransaction(sql, async (conn) => {
      for (index = 0; index < plan.statements.length; index++) await conn.unsafe(plan.statements[index]!.sql);
      await writePushRecords(conn, plan.records);
    });
  } catch (error) {
    if (isConnectionLost(error)) throw lostWhilePushing(error, index < plan.statements.length);
    const statement = plan.statements[index]?.sql.split('\n')[0]?.slice(0, 100) ?? '';
    const pg = error as { message?: string; code?: string };
    throw new DbKitError(
      `Push failed at statement ${index + 1} of ${plan.statements.length} (${statement}): ` +
        `${pg.message ?? String(error)}${pg.code ? ` [${pg.code}]` : ''}. Nothing was changed.`,
      'A package this one builds on may be behind: run its migrate (pnpm db:migrate) first, then push again.',
    );
  }
}

function lostWhilePushing(error: unknown, beforeCommit: boolean): DbKitError {
  const code = (error as { code?: string }).code;
  const lost = new DbKitError(
    `Lost the connection to the database while pushing: ${describeError(error)}` +
      `${code && !/^[A-Z_]+$/.test(code) ? ` [${code}]` : ''}. ` +
      (beforeCommit ? 'Nothing was changed (the push had not committed).' : 'The push may have committed.'),
    'Check the server (./scripts/db-workflow.sh status), see what is there with pnpm db:status, then push again.',
    'environment',
  );
  return markLost(lost);
}

/**
 * drizzle-kit draws a spinner on stdout while it reads the database. On a terminal it stays,
 * because drizzle-kit may also ask there whether a new table or column is a rename.
 */
async function quietUnlessInteractive<T>(interactive: boolean, work: () => Promise<T>): Promise<T> {
  if (interactive) return work();
  const write = process.stdout.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    return await work();
  } finally {
    process.stdout.write = write;
  }
}
