import type postgres from 'postgres';
import { DbKitError, UsageError } from '../errors';
import { Bookkeeping, bookkeepingTable } from '../migrations/bookkeeping';
import { type DownMigration, isPartial, parseDown, readDownFile } from '../migrations/down';
import { inspectPackages } from '../migrations/runner';
import { historyOf } from '../migrations/history';
import { ownership } from '../migrations/ownership';
import { missingName } from '../migrations/state';
import { expectedSchema, findDrift, type Drift } from '../schema/drift';
import { readLiveSchema } from '../schema/live';
import { scriptFor } from '../scripts';
import { quoteIdent } from '../sql-text';
import type { SchemaPackage, Workspace } from '../workspace';

type Queryable = postgres.Sql | postgres.ReservedSql;

/** Which applied migrations to roll back: the newest n, everything after a tag, or the phantoms. */
export type RollbackSelection = { steps: number } | { to: string } | { missing: true };

export interface RollbackStep {
  pkg: SchemaPackage;
  /** The migration's name (or, for a row drizzle wrote, its hash). */
  migration: string;
  rowId: number;
  hash: string;
  /** Its file is gone from the tree (a migration applied on another branch). */
  missingFile: boolean;
  /** Where the down comes from: the file beside the migration, else the copy stored when it was applied. */
  source: 'file' | 'stored' | 'none';
  down?: DownMigration;
  /** What the down drops: `public.teamd_projects` (table) or `public.teamd_projects.budget` (column). */
  drops: Array<{ kind: 'table' | 'column'; table: string; column?: string }>;
  /** Tables its statements change (ALTER, DROP), `schema.table`. */
  touches: string[];
}

export interface DataAtStake {
  kind: 'table' | 'column';
  /** `public.teamd_projects` or `public.teamd_projects.budget` */
  object: string;
  table: string;
  /** Rows of a dropped table; non-null values of a dropped column. */
  rows: number;
}

export interface RollbackPlan {
  pkg: SchemaPackage;
  /** Newest first: the order they run in. */
  steps: RollbackStep[];
  atStake: DataAtStake[];
  /** What --force --reason must accept: steps whose down is partial or missing. */
  incomplete: RollbackStep[];
  /** Reasons the plan cannot run at all (another package depends on what it drops). */
  blockers: string[];
  /** Live differences on the tables the downs touch, against the snapshots the migrations left. */
  drift: Drift[];
}

const DROP_TABLE = /^DROP TABLE (?:IF EXISTS )?((?:"[^"]+"\.)?"[^"]+")/i;
const DROP_COLUMN = /^ALTER TABLE (?:ONLY )?((?:"[^"]+"\.)?"[^"]+") DROP COLUMN (?:IF EXISTS )?"([^"]+)"/i;
const TOUCHES = /^(?:ALTER|DROP) TABLE (?:IF EXISTS )?(?:ONLY )?((?:"[^"]+"\.)?"[^"]+")/i;

/** `"public"."users"` or `"users"` -> `public.users` */
function tableName(quoted: string): string {
  const parts = [...quoted.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
  return parts.length === 1 ? `public.${parts[0]}` : parts.join('.');
}

export function quoteTable(table: string): string {
  return table.split('.').map(quoteIdent).join('.');
}

/** What a down's statements drop and touch, read from its SQL (so it works without the migration's file). */
export function readEffects(down: DownMigration | undefined): Pick<RollbackStep, 'drops' | 'touches'> {
  const drops: RollbackStep['drops'] = [];
  const touches = new Set<string>();
  for (const statement of down?.statements ?? []) {
    const text = statement.replace(/^(\s*--[^\n]*\n)+/, '').trim();
    let m = DROP_TABLE.exec(text);
    if (m) drops.push({ kind: 'table', table: tableName(m[1]!) });
    else if ((m = DROP_COLUMN.exec(text))) drops.push({ kind: 'column', table: tableName(m[1]!), column: m[2]! });
    if ((m = TOUCHES.exec(text))) touches.add(tableName(m[1]!));
  }
  return { drops, touches: [...touches] };
}

/**
 * Decides what a rollback would do, reading only: which rows, which downs (file first, else the
 * stored copy), the data they drop, whether a team depends on what a shared down drops, and drift.
 */
export async function planRollback(
  sql: Queryable,
  ws: Workspace,
  pkg: SchemaPackage,
  selection: RollbackSelection,
): Promise<RollbackPlan> {
  const all = ws.allInOrder();
  const states = await inspectPackages(sql, all, new Bookkeeping(all));
  const state = states.find((s) => s.pkg === pkg)!;
  const files = new Map([...state.applied, ...state.changed].map((a) => [a.row.id, a.file]));
  const rows = [...state.applied.map((a) => a.row), ...state.changed.map((a) => a.row), ...state.missing].sort(
    (a, b) => b.id - a.id,
  );
  let chosen: typeof rows;
  if ('steps' in selection) {
    if (selection.steps > rows.length)
      throw new UsageError(
        `--steps ${selection.steps}: ${pkg.name} has only ${rows.length} applied ` +
          `migration${rows.length === 1 ? '' : 's'}.`,
        `Run ${scriptFor(pkg, 'status', pkg)} to see them.`,
      );
    chosen = rows.slice(0, selection.steps);
  } else if ('to' in selection) {
    const wanted = selection.to.replace(/\.sql$/, '');
    const target = rows.find((r) => r.name === wanted);
    if (!target)
      throw new UsageError(
        `--to ${selection.to}: no applied migration of ${pkg.name} has that name.`,
        `Run ${scriptFor(pkg, 'status', pkg)}; --to names the migration to keep, the newest that stays applied.`,
      );
    chosen = rows.filter((r) => r.id > target.id);
  } else {
    const missing = new Set(state.missing);
    chosen = rows.filter((r) => missing.has(r));
  }

  const stored = await storedDowns(
    sql,
    pkg,
    chosen.filter((r) => r.hasDown).map((r) => r.id),
  );
  const steps: RollbackStep[] = chosen.map((row) => {
    const file = files.get(row.id);
    const fromFile = file ? readDownFile(pkg, file.tag) : undefined;
    const fromRow = stored.get(row.id);
    const down = fromFile ?? (fromRow === undefined ? undefined : parseDown(fromRow));
    return {
      pkg,
      migration: file?.tag ?? row.name ?? missingName(row),
      rowId: row.id,
      hash: row.hash,
      missingFile: !file,
      source: fromFile ? 'file' : down ? 'stored' : 'none',
      down,
      ...readEffects(down),
    };
  });

  const atStake = await dataAtStake(sql, steps);
  const blockers = await dependents(sql, ws, pkg, steps);
  // Drift only where a snapshot says what the objects should be: migrations whose files are here.
  const checked = new Set(steps.filter((s) => !s.missingFile).flatMap((s) => s.touches));
  const drift = checked.size
    ? findDrift(await readLiveSchema(sql), expectedSchema(states)).filter((d) =>
        [...checked].some((t) => d.object === t || d.object.startsWith(`${t}.`)),
      )
    : [];
  return {
    pkg,
    steps,
    atStake,
    incomplete: steps.filter((s) => !s.down || isPartial(s.down)),
    blockers,
    drift,
  };
}

async function storedDowns(sql: Queryable, pkg: SchemaPackage, ids: number[]): Promise<Map<number, string>> {
  if (!ids.length) return new Map();
  const rows = await sql.unsafe(`select id, down_sql from ${bookkeepingTable(pkg)} where id = any($1::int[])`, [ids]);
  return new Map(rows.map((r) => [r.id as number, r.down_sql as string]));
}

/** Rows of each table the plan drops, non-null values of each column it drops (tables that exist). */
async function dataAtStake(sql: Queryable, steps: RollbackStep[]): Promise<DataAtStake[]> {
  const found: DataAtStake[] = [];
  const droppedTables = new Set(steps.flatMap((s) => s.drops.filter((d) => d.kind === 'table').map((d) => d.table)));
  for (const drop of steps.flatMap((s) => s.drops)) {
    if (drop.kind === 'column' && droppedTables.has(drop.table)) continue;
    const [exists] = await sql.unsafe('select to_regclass($1) is not null as present', [quoteTable(drop.table)]);
    if (!exists?.present) continue;
    if (drop.kind === 'column') {
      const [column] = await sql.unsafe(
        `select 1 from pg_attribute where attrelid = to_regclass($1) and attname = $2 and not attisdropped`,
        [quoteTable(drop.table), drop.column!],
      );
      if (!column) continue;
    }
    const counted = drop.kind === 'table' ? 'count(*)' : `count(${quoteIdent(drop.column!)})`;
    const [row] = await sql.unsafe(`select ${counted}::bigint as n from ${quoteTable(drop.table)}`);
    found.push({
      kind: drop.kind,
      object: drop.kind === 'table' ? drop.table : `${drop.table}.${drop.column}`,
      table: drop.table,
      rows: Number(row!.n),
    });
  }
  return found;
}

/**
 * Foreign keys of another package's tables that point at a table or column this plan drops:
 * the other package's migration must be rolled back first. Names that migration from its snapshots.
 */
async function dependents(sql: Queryable, ws: Workspace, pkg: SchemaPackage, steps: RollbackStep[]): Promise<string[]> {
  const drops = steps.flatMap((s) => s.drops.map((d) => ({ ...d, step: s })));
  if (!drops.length) return [];
  const rows = await sql.unsafe(
    `select c.conname, src_ns.nspname || '.' || src.relname as from_table,
            dst_ns.nspname || '.' || dst.relname as to_table,
            array(select attname from pg_attribute where attrelid = c.confrelid ` +
      `and attnum = any(c.confkey)) as to_columns
       from pg_constraint c
       join pg_class src on src.oid = c.conrelid join pg_namespace src_ns on src_ns.oid = src.relnamespace
       join pg_class dst on dst.oid = c.confrelid join pg_namespace dst_ns on dst_ns.oid = dst.relnamespace
      where c.contype = 'f' and c.conrelid <> c.confrelid
        and dst_ns.nspname || '.' || dst.relname = any($1::text[])`,
    [[...new Set(drops.map((d) => d.table))]],
  );
  const owners = ownership(ws.packages);
  const droppedTables = new Set(drops.filter((d) => d.kind === 'table').map((d) => d.table));
  const blockers: string[] = [];
  for (const fk of rows) {
    const from = fk.from_table as string;
    if (droppedTables.has(from)) continue;
    const owner = owners.get(`table:${from}`);
    if (!owner || owner === pkg) continue;
    const drop = drops.find(
      (d) => d.table === fk.to_table && (d.kind === 'table' || (fk.to_columns as string[]).includes(d.column!)),
    );
    if (!drop) continue;
    const added = migrationAdding(owner, fk.conname as string);
    const what = drop.kind === 'table' ? `table ${drop.table}` : `column ${drop.table}.${drop.column}`;
    blockers.push(
      `${drop.step.migration} drops ${what}, but ${owner.name}'s foreign key ${fk.conname} (${from}) points at it` +
        (added ? `, added by its migration ${added}` : '') +
        `. Roll that back first: ${scriptFor(owner, 'rollback', owner)} ` +
        `${added ? `--to <the migration before ${added}>` : '--steps <n>'}.`,
    );
  }
  return blockers;
}

/** The first migration of `pkg` whose snapshot has the constraint `name`. */
function migrationAdding(pkg: SchemaPackage, name: string): string | undefined {
  const history = historyOf(pkg);
  for (const entry of history.entries) {
    const snapshot = history.snapshotAt(entry.idx);
    if (Object.values(snapshot?.tables ?? {}).some((t) => t.foreignKeys?.[name])) return entry.tag;
  }
  return undefined;
}

/** Refuses what no flag makes safe; throws before anything runs. */
export function assertRunnable(plan: RollbackPlan, options: { force?: boolean; reason?: string }): void {
  if (plan.blockers.length)
    throw new DbKitError(
      `Refusing to roll back: ${plan.blockers.join(' ')}`,
      'A team builds on what this down drops: roll back its migration first, then this one.',
      'failure',
    );
  if (plan.drift.length)
    throw new DbKitError(
      `Refusing to roll back: the database differs from what the migrations built, ` +
        `on the tables the down touches: ${plan.drift.map(describeDrift).join('; ')}.`,
      'Someone changed them by hand. Undo that (pnpm db:status shows the drift), or write a migration for it, then ' +
        'roll back.',
      'failure',
    );
  if (plan.incomplete.length && !(options.force && options.reason?.trim())) {
    const list = plan.incomplete.map((s) =>
      !s.down
        ? `${s.migration} has no down`
        : s.down.todo
          ? `${s.migration}'s down is not written yet`
          : `${s.migration}'s down is partial (${s.down.irreversible.join('; ')})`,
    );
    throw new DbKitError(
      `Refusing to roll back: ${list.join('; ')}.`,
      'Write the down (<tag>.down.sql), or accept what stays undone: --force --reason "<why>" (audited in ' +
        'drizzle.db_kit_repairs).',
      'failure',
    );
  }
}

export function describeDrift(d: Drift): string {
  if (d.problem === 'unexpected') return `unexpected ${d.kind} ${d.object}${d.actual ? ` (${d.actual})` : ''}`;
  if (d.problem === 'missing') return `missing ${d.kind} ${d.object}${d.expected ? ` (${d.expected})` : ''}`;
  return `${d.kind} ${d.object}: expected ${d.expected}, found ${d.actual}`;
}
