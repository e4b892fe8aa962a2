import { is, SQL } from 'drizzle-orm';
import { getTableConfig, type PgColumn, type PgTable } from 'drizzle-orm/pg-core';
import { inTransaction, type Sql } from '../connection';

type Queryable = Pick<Sql, 'unsafe'>;
import { DbKitError, describeError, isConnectionLost, markLost } from '../errors';
import type { SchemaObjects } from '../schema/objects';
import { literal, quoteIdent as quote } from '../sql-text';
import { loadSchemas } from '../schema/load';
import { schemaObjects } from '../schema/objects';
import type { SchemaPackage, Workspace } from '../workspace';
import { type ColumnValues, generatorFor, loadRefinements, type Refinements, rng, seedFunctions } from './values';

export interface SeedOptions {
  /** Rows per table (side tables get at most one per row they extend). */
  count: number;
  /** The same number gives the same rows. */
  seed: number;
  /** A package's own generators, by table then column (see `loadRefinements`). */
  refinements?: Refinements;
}

export interface SeededTable {
  table: string;
  rows: number;
}

/** A table seed leaves out, or could not fill, and why. */
export interface UnseededTable {
  table: string;
  reason: string;
}

export interface SeedResult {
  seeded: SeededTable[];
  /** Tables it tried and could not fill: each left empty, the others seeded all the same. */
  failed: UnseededTable[];
}

type SeedTable = SchemaObjects['tables'][number];

interface ForeignKey {
  columns: string[];
  table: string;
  foreignColumns: string[];
  nullable: boolean;
}

interface TablePlan {
  entry: SeedTable;
  name: string;
  /** `"schema"."name"` */
  qualified: string;
  columns: PgColumn[];
  primaryKey: string[];
  foreignKeys: ForeignKey[];
  /** Columns that must hold distinct values: primary key, unique columns, unique constraint members. */
  unique: Set<string>;
}

/**
 * Replaces the rows of the given tables with deterministic sample data. The tables are emptied
 * first (TRUNCATE ... RESTART IDENTITY), so a second run gives exactly the same rows, ids included.
 *
 * Each table is filled in its own savepoint, parents before children, with values drizzle-seed's
 * generators give (emails look like emails, names like names, an `ends_at` follows its `starts_at`,
 * enum and `text({ enum })` columns get their values). Foreign keys, composite ones included, take
 * whole rows of the referenced table; a primary key that is a foreign key takes each referenced
 * row once; a self-reference points at an earlier row. Generated, identity and serial columns are
 * left to the database. A table that still fails (a check constraint the values miss) is left
 * empty and reported with PostgreSQL's reason; so are the tables that need its rows. It never
 * stops another table, or another package, from being seeded.
 *
 * @example
 *   const { seeded, failed } = await seedTables(sql, objects.tables, { count: 10, seed: 1 });
 */
export async function seedTables(sql: Sql, tables: SeedTable[], options: SeedOptions): Promise<SeedResult> {
  const plans = orderByDependencies(tables.map(planTable));
  const seeded: SeededTable[] = [];
  const failed: UnseededTable[] = [];
  const functions = await seedFunctions();
  // The savepoints are ours too, not sql.begin's: a lost session gets nothing more (see inTransaction).
  try {
    await inTransaction(sql, async (tx) => {
      const emptied = [...plans.map((p) => p.qualified), ...(await emptyDependents(tx, plans))];
      if (plans.length) await tx.unsafe(`truncate ${emptied.join(', ')} restart identity`);
      const filled = new Set<string>();
      for (const [index, plan] of plans.entries()) {
        const missing = plan.foreignKeys.find(
          (fk) => !fk.nullable && fk.table !== plan.qualified && !filled.has(fk.table) && isSeeded(plans, fk.table),
        );
        if (missing) {
          failed.push({ table: plan.name, reason: `it needs rows of ${bare(missing.table)}, which has none` });
          continue;
        }
        await tx.unsafe('savepoint seed_table');
        try {
          const rows = await fillTable(tx, plan, options, functions, index);
          await tx.unsafe('release savepoint seed_table');
          seeded.push({ table: plan.name, rows });
          filled.add(plan.qualified);
        } catch (error) {
          if (isConnectionLost(error)) throw error;
          await tx.unsafe('rollback to savepoint seed_table');
          failed.push({ table: plan.name, reason: describeError(error).split('\n')[0]! });
        }
      }
    });
  } catch (error) {
    if (isConnectionLost(error))
      throw markLost(
        new DbKitError(
          `Lost the connection to the database while seeding: ${describeError(error)}. Nothing was changed ` +
            '(the seed had not committed).',
          'Check the server (./scripts/db-workflow.sh status), then seed again.',
          'environment',
        ),
      );
    if (error instanceof DbKitError) throw error;
    const cause = (error as { cause?: unknown }).cause ?? error;
    throw new DbKitError(
      `Seeding failed: ${describeError(cause).split('\n')[0]}. Nothing was changed.`,
      seedHint(cause),
    );
  }
  return { seeded, failed };
}

/**
 * Tables outside the seeded set whose foreign keys point into it: TRUNCATE needs them in the same
 * statement. An empty one costs nothing; one with rows would lose them, so seed refuses and says which.
 */
async function emptyDependents(sql: Queryable, plans: TablePlan[]): Promise<string[]> {
  const seeded = plans.map((p) => literal(p.qualified));
  const rows = await sql.unsafe(
    `select distinct format('%I.%I', n.nspname, c.relname) as name
       from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace
      where k.contype = 'f' and k.confrelid in (${seeded.map((s) => `${s}::regclass`).join(', ')})
        and k.conrelid not in (${seeded.map((s) => `${s}::regclass`).join(', ')})`,
  );
  const dependents: string[] = [];
  for (const { name } of rows as unknown as Array<{ name: string }>) {
    const [row] = await sql.unsafe(`select exists (select 1 from ${name}) as filled`);
    if (row?.filled)
      throw new DbKitError(
        `${name.replaceAll('"', '')} is not seeded, has rows, and references a table seed would empty. Nothing was ` +
          `changed.`,
        'Seed its package too (leave out --package / --skip-table), or empty that table first.',
      );
    dependents.push(name);
  }
  return dependents;
}

function isSeeded(plans: TablePlan[], qualified: string): boolean {
  return plans.some((p) => p.qualified === qualified);
}

function bare(qualified: string): string {
  return qualified.replace(/^"public"\./, '').replaceAll('"', '');
}

function seedHint(error: unknown): string {
  const code = (error as { code?: string }).code;
  if (code === '0A000')
    return (
      'A table outside those seeded references one of them: seed it too (drop --package / --skip-table), or ' +
      'empty it first.'
    );
  if (code === '42P01' || code === '42703')
    return 'The database is behind the schema files: run migrate (or push) first, then seed again.';
  return 'Run migrate first; leave a table out with --skip-table <name> and seed it yourself.';
}

function planTable(entry: SeedTable): TablePlan {
  const config = getTableConfig(entry.table);
  const qualified = qualifiedName(entry.table);
  const byColumn = new Map(config.columns.map((c) => [c, c.name]));
  const nameOf = (column: unknown) => byColumn.get(column as PgColumn) ?? (column as PgColumn).name;
  const composite = config.primaryKeys[0]?.columns.map(nameOf);
  const primaryKey = composite ?? config.columns.filter((c) => c.primary).map((c) => c.name);
  const foreignKeys = config.foreignKeys.map((fk) => {
    const reference = fk.reference();
    const columns = reference.columns.map(nameOf);
    return {
      columns,
      table: qualifiedName(reference.foreignTable),
      foreignColumns: reference.foreignColumns.map((c) => c.name),
      nullable: columns.every((name) => !config.columns.find((c) => c.name === name)?.notNull),
    };
  });
  const unique = new Set<string>(primaryKey.length === 1 ? primaryKey : []);
  for (const column of config.columns) if (column.isUnique) unique.add(column.name);
  for (const constraint of config.uniqueConstraints) for (const c of constraint.columns) unique.add(c.name);
  for (const index of config.indexes) {
    if (!index.config.unique) continue;
    for (const c of index.config.columns) if (!is(c, SQL) && 'name' in c) unique.add((c as PgColumn).name);
  }
  return { entry, name: config.name, qualified, columns: config.columns, primaryKey, foreignKeys, unique };
}

/** Parents before children; a cycle (or a self-reference) does not order anything. */
function orderByDependencies(plans: TablePlan[]): TablePlan[] {
  const byName = new Map(plans.map((p) => [p.qualified, p]));
  const ordered: TablePlan[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (plan: TablePlan) => {
    if (state.get(plan.qualified)) return;
    state.set(plan.qualified, 'visiting');
    for (const fk of plan.foreignKeys) {
      const parent = byName.get(fk.table);
      if (parent && parent !== plan) visit(parent);
    }
    state.set(plan.qualified, 'done');
    ordered.push(plan);
  };
  for (const plan of plans) visit(plan);
  return ordered;
}

/** Left to the database: generated columns, identity and serial columns. */
function databaseFills(column: PgColumn): boolean {
  const c = column as PgColumn & { generated?: unknown; generatedIdentity?: unknown };
  if (c.generated || c.generatedIdentity) return true;
  return /serial$/.test(column.getSQLType());
}

async function fillTable(
  sql: Queryable,
  plan: TablePlan,
  options: SeedOptions,
  functions: Awaited<ReturnType<typeof seedFunctions>>,
  tableIndex: number,
): Promise<number> {
  const next = rng(options.seed * 7919 + tableIndex);
  // A key that references its own columns (a primary key "references" itself) holds whatever they hold.
  const selfReferences = plan.foreignKeys.filter(
    (fk) => fk.table === plan.qualified && !sameSet(fk.columns, fk.foreignColumns),
  );
  const outward = plan.foreignKeys.filter((fk) => fk.table !== plan.qualified);
  // The referenced rows of each foreign key; an empty or unseeded parent leaves a nullable key null.
  const parents: Array<{ fk: ForeignKey; rows: unknown[][] }> = [];
  for (const fk of outward) parents.push({ fk, rows: await keyRows(sql, fk) });
  let count = options.count;
  // A foreign key inside a unique key can use each referenced row only so often.
  const keyed = parents.filter((p) => p.fk.columns.some((c) => plan.unique.has(c) || plan.primaryKey.includes(c)));
  const oneToOne = keyed.find((p) => sameSet(p.fk.columns, plan.primaryKey));
  if (oneToOne) count = Math.min(count, oneToOne.rows.length);
  const fkColumns = new Set(plan.foreignKeys.flatMap((fk) => fk.columns));
  const columns = plan.columns.filter(
    (c) => !databaseFills(c) && !selfReferences.some((fk) => fk.columns.includes(c.name)),
  );
  const values = new Map<string, ColumnValues>();
  const refinements = options.refinements?.get(plan.name) ?? {};
  for (const column of columns) {
    if (fkColumns.has(column.name) && !refinements[column.name]) continue;
    values.set(
      column.name,
      generatorFor(column, plan, { functions, count, seed: options.seed + tableIndex, refinements }),
    );
  }
  const rows: Array<Record<string, unknown>> = [];
  for (let i = 0; i < count; i++) {
    const row: Record<string, unknown> = {};
    for (const [name, generate] of values) row[name] = generate(i, row);
    // Rows of a unique key's foreign keys are combined in mixed radix, so no two rows repeat them.
    let radix = i;
    for (const { fk, rows: choices } of parents) {
      if (fk.columns.some((c) => c in row)) continue; // refined by the package
      if (!choices.length) {
        if (!fk.nullable) throw new Error(`${bare(fk.table)} has no rows to reference`);
        for (const c of fk.columns) row[c] = null;
        continue;
      }
      let pick: number;
      if (keyed.some((k) => k.fk === fk)) {
        pick = radix % choices.length;
        radix = Math.floor(radix / choices.length);
      } else pick = Math.floor(next() * choices.length);
      fk.columns.forEach((c, k) => {
        row[c] = choices[pick]![k];
      });
    }
    rows.push(row);
  }
  if (!rows.length) return 0;
  const names = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const tuples = rows.map((r) => `(${names.map((n) => toLiteral(r[n])).join(', ')})`);
  const insert = names.length
    ? `insert into ${plan.qualified} (${names.map(quote).join(', ')}) values ${tuples.join(', ')}`
    : `insert into ${plan.qualified} select from generate_series(1, ${rows.length})`;
  await sql.unsafe(insert);
  for (const fk of selfReferences) await linkToEarlierRows(sql, plan, fk);
  return rows.length;
}

async function keyRows(sql: Queryable, fk: ForeignKey): Promise<unknown[][]> {
  const columns = fk.foreignColumns.map(quote).join(', ');
  const rows = await sql.unsafe(`select distinct ${columns} from ${fk.table} order by ${columns}`).values();
  return rows as unknown[][];
}

/** A self-reference: row n points at row floor((n - 1) / 2), a tree; the first row at none. */
async function linkToEarlierRows(sql: Queryable, plan: TablePlan, fk: ForeignKey): Promise<void> {
  if (!plan.primaryKey.length) return;
  const key = plan.primaryKey.map(quote);
  const carried = [...new Set([...plan.primaryKey, ...fk.foreignColumns])].map(quote).join(', ');
  const target = fk.columns.map(quote).join(', ');
  const source = fk.foreignColumns.map((c) => `p.${quote(c)}`).join(', ');
  await sql.unsafe(
    `with numbered as (select ${carried}, row_number() over (order by ${key.join(', ')}) - 1 as n
                         from ${plan.qualified})
     update ${plan.qualified} t set (${target}) = (select ${source} from numbered p where p.n = (c.n - 1) / 2)
       from numbered c where c.n > 0 and ${key.map((k) => `t.${k} = c.${k}`).join(' and ')}`,
  );
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

function toLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof Date) return literal(value.toISOString());
  if (Array.isArray(value))
    return literal(`{${value.map((v) => `"${String(v).replace(/["\\]/g, '\\$&')}"`).join(',')}}`);
  if (typeof value === 'object') return literal(JSON.stringify(value));
  return literal(String(value));
}

export interface SeedSelection {
  tables: SeedTable[];
  /** Left out by name, with who asked. */
  skipped: UnseededTable[];
  refinements: Refinements;
}

/**
 * What seed fills: every table of `packages` (schemas loaded from the workspace) but those left out
 * by `--skip-table` or the package's `dbKit.seed.skip`, with the packages' refinements.
 */
export async function selectSeedTables(
  ws: Workspace,
  packages: SchemaPackage[],
  skipTables: string[] = [],
): Promise<SeedSelection> {
  const all = schemaObjects(await loadSchemas(ws.allInOrder()), ws.packages).tables;
  const { tables, skipped } = tablesToSeed(all, packages, skipTables);
  return { tables, skipped, refinements: await loadRefinements(packages, await seedFunctions()) };
}

/** What a person reads after seeding: lines for stdout, warnings with the next step, and the exit code. */
export function describeSeeding(
  result: SeedResult,
  skipped: UnseededTable[],
  database: string,
  seedScript = 'pnpm db:seed',
): { lines: string[]; warnings: string[]; code: number } {
  const lines = [`Seeded ${database}: ${result.seeded.map((t) => `${t.table} ${t.rows}`).join(', ') || 'no tables'}.`];
  if (skipped.length) lines.push(`Left out: ${skipped.map((t) => `${t.table} (${t.reason})`).join(', ')}.`);
  const warnings = result.failed.map((t) => `Could not fill ${t.table}: ${t.reason}. It is left empty.`);
  if (result.failed.length)
    warnings.push(
      `  next: give its columns values in "dbKit.seed.refinements", or leave it out: ${seedScript} --skip-table ` +
        `${result.failed[0]!.table}`,
    );
  return { lines, warnings, code: result.failed.length ? 1 : 0 };
}

/** The tables of these packages, minus those left out by name (`--skip-table`, `dbKit.seed.skip`). */
export function tablesToSeed(
  tables: SeedTable[],
  packages: SchemaPackage[],
  skipTables: string[],
): { tables: SeedTable[]; skipped: UnseededTable[] } {
  const chosen = new Set(packages.map((p) => p.name));
  const skipped: UnseededTable[] = [];
  const kept: SeedTable[] = [];
  for (const entry of tables) {
    if (!chosen.has(entry.pkg.name)) continue;
    const name = getTableConfig(entry.table).name;
    if (skipTables.includes(name)) skipped.push({ table: name, reason: '--skip-table' });
    else if (entry.pkg.seed?.skip?.includes(name))
      skipped.push({ table: name, reason: `"dbKit.seed.skip" of ${entry.pkg.name}` });
    else kept.push(entry);
  }
  return { tables: kept, skipped };
}

export function qualifiedName(table: PgTable): string {
  const config = getTableConfig(table);
  return `${quote(config.schema ?? 'public')}.${quote(config.name)}`;
}

export type { TablePlan };
