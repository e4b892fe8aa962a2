import type postgres from 'postgres';
import { DbKitError } from '../errors';
import { bookkeepingTable } from '../migrations/bookkeeping';
import { inspectPackages } from '../migrations/runner';
import { ownership, prefixOwner } from '../migrations/ownership';
import { missingName, type PackageState } from '../migrations/state';
import type { SchemaPackage, Workspace } from '../workspace';
import { expectedSchema, findDrift, type Drift } from './drift';
import { readLiveSchema, type LiveColumn } from './live';
import { cachedUnrecordedChanges } from './unrecorded';

export interface PackageStatus {
  package: string;
  alias: string;
  bookkeepingTable: string;
  applied: string[];
  pending: string[];
  /** Pending and older than an applied migration: a late merge. */
  outOfOrder: string[];
  changed: Array<{ migration: string; file: string; recordedHash: string; fileHash: string }>;
  /** `storedDown`: its down is in the bookkeeping row, so `rollback --missing` can undo it. */
  missing: Array<{ migration: string; recordedHash: string; storedDown: boolean }>;
  /** Applied under `from`, now in the journal as `to` with the same content: repair records the new name. */
  renamed: Array<{ from: string; to: string }>;
  /** Applied by drizzle's own migrator; the next migrate records their names. */
  adoptable: string[];
}

export interface TableStatus {
  name: string;
  owner: string | null;
  ownerAlias: string | null;
  estimatedRows: number;
  bytes: number;
  columns: LiveColumn[];
}

/** A package whose schema files declare changes that no migration records (a forgotten generate). */
export interface UnrecordedStatus {
  package: string;
  alias: string;
  /** What a migration would run; with needsAnswers, the renames or drops generate will ask about. */
  statements: string[];
  needsAnswers: boolean;
  /** The schema entry did not load. */
  loadError?: string;
}

export interface StatusReport {
  clean: boolean;
  packages: PackageStatus[];
  /** Schema files vs migration files: changes nobody generated. */
  unrecorded: UnrecordedStatus[];
  tables: TableStatus[];
  /** Live database vs what the applied migrations built (their snapshots). */
  drift: Drift[];
  /** Tables no package declares that another branch (or a push) left behind, taken out of `drift`. */
  leftovers: LeftoverTable[];
}

export interface LeftoverTable {
  /** `public.teamd_scratch` */
  table: string;
  /** The package whose table prefix it carries, if any. */
  package?: string;
  /** Why it looks left over rather than made by hand. */
  reason: string;
}

/**
 * The truth about one database: each package's migrations, schema changes no migration records,
 * each table with its owner, size and columns, and drift against the union of every package's
 * snapshots. `scope` narrows what is reported, never what drift is measured against, so no package
 * sees another's tables as drift.
 *
 * @example
 *   const report = await readStatus(sql, ws, ws.migrationOrder(ws.resolve('teamd')));
 *   if (!report.clean) process.exitCode = 1;
 */
export async function readStatus(
  sql: postgres.Sql,
  ws: Workspace,
  scope: SchemaPackage[] = ws.allInOrder(),
): Promise<StatusReport> {
  const all = ws.allInOrder();
  // Issued together: postgres.js pipelines them on the one connection.
  const [states, live, changes] = await Promise.all([
    inspectPackages(sql, all),
    readLiveSchema(sql),
    cachedUnrecordedChanges(ws, scope),
  ]);
  const unrecorded = changes.map(({ pkg, statements, needsAnswers, loadError }) => ({
    package: pkg.name,
    alias: pkg.alias,
    statements,
    needsAnswers,
    ...(loadError ? { loadError } : {}),
  }));
  const inScope = new Set(scope.map((p) => p.name));
  const owners = ownership(all);
  const { drift, leftovers } = separateLeftovers(
    findDrift(live, expectedSchema(states)).filter((d) => !d.owner || inScope.has(d.owner)),
    states,
  );
  const packages = states.filter((s) => inScope.has(s.pkg.name)).map(packageStatus);
  const tables = live.tables
    .map((t) => {
      const owner = owners.get(`table:${t.name}`);
      return {
        name: t.name,
        owner: owner?.name ?? null,
        ownerAlias: owner?.alias ?? null,
        estimatedRows: t.estimatedRows,
        bytes: t.bytes,
        columns: t.columns,
      };
    })
    .filter((t) => !t.owner || inScope.has(t.owner));
  const clean =
    drift.length === 0 &&
    leftovers.length === 0 &&
    unrecorded.length === 0 &&
    packages.every((p) => !p.pending.length && !p.changed.length && !p.missing.length && !p.renamed.length);
  return { clean, packages, unrecorded, tables, drift, leftovers };
}

/**
 * A table no package declares is left over, not a hand-made change, when it carries a team's
 * prefix (a team's tables come from its migrations or a push, never by hand), or when the database
 * holds migrations this branch does not have (applied on another branch: their tables stay).
 */
function separateLeftovers(found: Drift[], states: PackageState[]): { drift: Drift[]; leftovers: LeftoverTable[] } {
  const foreign = states.filter((s) => s.missing.length);
  const leftovers: LeftoverTable[] = [];
  const drift = found.filter((d) => {
    if (d.kind !== 'table' || d.problem !== 'unexpected') return true;
    const name = d.object.split('.').pop()!;
    const team = prefixOwner(
      states.map((s) => s.pkg),
      name,
    );
    if (team) {
      leftovers.push({
        table: d.object,
        package: team.name,
        reason: `${team.tablePrefix} is ${team.alias}'s prefix, but no ${team.alias} migration here creates it`,
      });
      return false;
    }
    if (foreign.length) {
      const missing = foreign.map((s) => `${s.missing.length} of ${s.pkg.alias}`).join(', ');
      leftovers.push({ table: d.object, reason: `the database has migrations this branch lacks (${missing})` });
      return false;
    }
    return true;
  });
  return { drift, leftovers };
}

function packageStatus(s: PackageState): PackageStatus {
  return {
    package: s.pkg.name,
    alias: s.pkg.alias,
    bookkeepingTable: bookkeepingTable(s.pkg).replaceAll('"', ''),
    applied: [...s.applied, ...s.changed].sort((a, b) => a.row.id - b.row.id).map((a) => a.file.tag),
    pending: s.pending.map((f) => f.tag),
    outOfOrder: s.outOfOrder.map((f) => f.tag),
    changed: s.changed.map(({ file, row }) => ({
      migration: file.tag,
      file: file.path,
      recordedHash: row.hash,
      fileHash: file.hash,
    })),
    missing: s.missing.map((row) => ({
      migration: row.name ?? missingName(row),
      recordedHash: row.hash,
      storedDown: Boolean(row.hasDown),
    })),
    renamed: s.renamed.map(({ file, row }) => ({ from: row.name!, to: file.tag })),
    adoptable: s.adoptable.map((a) => a.file.tag),
  };
}

/** The error for a status that waited too long on a lock: which tables are locked, by whom, doing what. */
export async function lockedTablesError(sql: postgres.Sql, waitedMs: number): Promise<DbKitError> {
  const rows = await sql.unsafe(
    `select distinct l.relation::regclass::text as table, a.pid, a.application_name as app,
            extract(epoch from now() - coalesce(a.xact_start, a.query_start))::int as seconds,
            left(regexp_replace(a.query, '\\s+', ' ', 'g'), 60) as query
       from pg_locks l join pg_stat_activity a on a.pid = l.pid
      where l.locktype = 'relation' and l.granted and l.mode = 'AccessExclusiveLock'
        and l.database = (select oid from pg_database where datname = current_database())
        and l.pid <> pg_backend_pid()
      order by 1`,
  );
  const holders = rows.map(
    (r) => `${r.table} (pid ${r.pid}${r.app ? `, "${r.app}"` : ''}, for ${r.seconds} s: ${r.query})`,
  );
  return new DbKitError(
    `status waited ${waitedMs / 1000} s for a lock on ` +
      `${holders.length ? holders.join(', ') : 'a table another session holds'}.`,
    `Run pnpm db:status again once that transaction ends` +
      `${rows[0] ? ` (or end it: SELECT pg_terminate_backend(${rows[0].pid}))` : ''}.`,
  );
}
