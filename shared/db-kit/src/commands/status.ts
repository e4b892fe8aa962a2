import { describeColumn, canonicalType, type Drift } from '../schema/drift';
import { lockedTablesError, readStatus, type StatusReport } from '../schema/status';
import { describeUnrecorded } from '../schema/unrecorded';
import { commandFor, scriptFor } from '../scripts';
import type { Workspace } from '../workspace';
import { CONNECTION_NAMES } from '../connection-names';
import type { Command } from '../context';
import { parse, plural, type Options } from './common';

const options = {
  package: { type: 'string', short: 'p' },
  json: { type: 'boolean' },
} satisfies Options;

/** How long status waits for a table another session locked, before it says who holds it. */
const STATUS_LOCK_TIMEOUT_MS = 3000;

const command: Command = {
  usage: `Usage: db-kit status [--package <alias>] [--json]

Tells the truth about the database:
  migrations  per package: applied, pending, out of order (merged late), changed and
              missing (applied, but the file was edited or deleted)
  schema      per package: changes in the schema files that no migration records
              (a generate nobody ran), as db-kit check reports them; cached by a hash
              of the schema files in .db/schema-changes.json
  tables      owner package, estimated rows, size, columns
  drift       what differs in the live database from what the applied migrations built
              (the union of every package's snapshots): tables, columns (type,
              nullability), enums, indexes, foreign key/unique/check constraints; tables
              no package declares.

Options:
  -p, --package <alias>   report only this package and what it builds on (default: every package)
      --json              machine-readable output

Exit: 0 clean; 1 something pending, changed, missing, not generated or drifted; 2 usage or
connection error.`,

  async run(argv, ctx) {
    const { values } = parse(argv, options);
    const ws = ctx.workspace;
    const scope = values.package ? ws.migrationOrder(ws.resolve(values.package)) : ws.allInOrder();
    const database = ctx.database.redacted;
    const report = await ctx.withConnection(CONNECTION_NAMES.status(), async (sql) => {
      // A table locked by someone else (an ALTER in flight) must not hang status: it says who holds it.
      await sql.unsafe(`set lock_timeout = '${STATUS_LOCK_TIMEOUT_MS}ms'`);
      try {
        return await readStatus(sql, ws, scope);
      } catch (error) {
        if ((error as { code?: string }).code === '55P03') throw await lockedTablesError(sql, STATUS_LOCK_TIMEOUT_MS);
        throw error;
      }
    });
    if (values.json) ctx.out.print(JSON.stringify({ database, ...report }, null, 2));
    else ctx.out.print(formatReport(report, database, ws));
    return report.clean ? 0 : 1;
  },
};

function formatReport(report: StatusReport, database: string, ws: Workspace): string {
  return [
    `Database ${database}`,
    '',
    'Migrations',
    ...report.packages.flatMap((p) => migrationLines(p, ws)),
    '',
    'Schema files vs migrations',
    ...(report.unrecorded.length
      ? report.unrecorded.map((u) => `  ${describeUnrecorded(u.package, u)}`)
      : ['  every change is in a migration']),
    '',
    'Tables',
    ...tableLines(report.tables),
    '',
    "Drift (live database vs the applied migrations' snapshots)",
    ...driftLines(report),
    '',
    ...verdictLines(report, ws),
  ].join('\n');
}

type PackageReport = StatusReport['packages'][number];

/** A package's summary line, then one line per pending, changed, missing or renamed migration. */
function migrationLines(p: PackageReport, ws: Workspace): string[] {
  const counts = [
    `${p.applied.length} applied`,
    p.pending.length && `${p.pending.length} pending`,
    p.changed.length && `${p.changed.length} changed`,
    p.missing.length && `${p.missing.length} missing`,
    p.renamed.length && `${p.renamed.length} renamed`,
  ];
  const upToDate = !p.pending.length && !p.changed.length && !p.missing.length && !p.renamed.length;
  const out = [
    `  ${p.alias.padEnd(8)} ${p.package} (${p.bookkeepingTable}): ` +
      `${counts.filter(Boolean).join(', ')}${upToDate ? ', up to date' : ''}`,
  ];
  const late = new Set(p.outOfOrder);
  for (const tag of p.pending)
    out.push(`    pending   ${tag}${late.has(tag) ? '  (out of order: older than an applied migration)' : ''}`);
  for (const c of p.changed)
    out.push(
      `    changed   ${ws.relative(c.file)}: recorded hash ${c.recordedHash.slice(0, 12)}, file hash ` +
        `${c.fileHash.slice(0, 12)}`,
    );
  for (const m of p.missing)
    out.push(
      `    missing   ${m.migration}: applied, but no such file in the journal; ` +
        `${m.storedDown ? 'its down is stored (rollback --missing undoes it)' : 'no down stored'}`,
    );
  for (const r of p.renamed)
    out.push(`    renamed   ${r.from} -> ${r.to}: applied under its old name, same content (it will not run again)`);
  if (p.adoptable.length)
    out.push(
      `    ${plural(p.adoptable.length, 'migration')} applied by drizzle's migrator; the next migrate records ` +
        `their names`,
    );
  return out;
}

/** One line per table (owner, estimated rows, size), then its columns wrapped to the status width. */
function tableLines(tables: StatusReport['tables']): string[] {
  const width = Math.max(5, ...tables.map((t) => t.name.length));
  const out = [`  ${'table'.padEnd(width)}  ${'owner'.padEnd(8)}  ${'~rows'.padStart(9)}  ${'size'.padStart(8)}`];
  for (const t of tables) {
    out.push(
      `  ${t.name.padEnd(width)}  ${(t.ownerAlias ?? '(none)').padEnd(8)}  ${String(t.estimatedRows).padStart(9)}  ` +
        `${formatBytes(t.bytes).padStart(8)}`,
    );
    const columns = t.columns.map((c) => `${c.name} ${describeColumn(canonicalType(c.type), c.notNull)}`);
    out.push(...wrap(columns, '    ', STATUS_WIDTH));
  }
  if (!tables.length) out.push('  (no tables)');
  return out;
}

function driftLines(report: StatusReport): string[] {
  const out = report.drift.map((d) => `  ${describeDrift(d)}`);
  for (const l of report.leftovers)
    out.push(`  leftover table ${l.table}: left by another branch or a push, not a hand-made change (${l.reason})`);
  return out.length ? out : ['  none'];
}

/** "Clean", or "Not clean" with what is wrong and the next step for each kind of problem. */
function verdictLines(report: StatusReport, ws: Workspace): string[] {
  if (report.clean) return ['Clean: every migration applied, every schema change in a migration, no drift.'];
  const problems = report.packages.flatMap((p) => [
    p.pending.length && `${p.pending.length} pending in ${p.alias}`,
    p.changed.length && `${p.changed.length} changed in ${p.alias}`,
    p.missing.length && `${p.missing.length} missing in ${p.alias}`,
    p.renamed.length && `${p.renamed.length} renamed in ${p.alias}`,
  ]);
  for (const u of report.unrecorded) problems.push(`schema changes not generated in ${u.alias}`);
  if (report.drift.length) problems.push(plural(report.drift.length, 'drift finding'));
  if (report.leftovers.length) problems.push(plural(report.leftovers.length, 'leftover table'));
  return [`Not clean: ${problems.filter(Boolean).join(', ')}.`, ...nextSteps(report, ws)];
}

function nextSteps(report: StatusReport, ws: Workspace): string[] {
  const out: string[] = [];
  for (const p of report.packages.filter((p) => p.missing.some((m) => m.storedDown))) {
    const n = p.missing.filter((m) => m.storedDown).length;
    out.push(
      `  next: ${plural(n, 'missing migration')} of ${p.alias} ${n === 1 ? 'has its' : 'have their'} down stored ` +
        `(applied on another branch?): ${scriptFor(ws, 'rollback', ws.resolve(p.alias))} --missing`,
    );
  }
  const troubled = report.packages.filter(
    (p) => p.changed.length || p.renamed.length || p.missing.some((m) => !m.storedDown),
  );
  const pending = report.packages.filter((p) => p.pending.length);
  if (troubled.length) {
    const repairs = troubled.map((p) => `${scriptFor(ws, 'repair', ws.resolve(p.alias))} --reason "<why>"`);
    out.push(
      `  next: restore edited or deleted migration files from git, or record the change: ${repairs.join('; ')}.`,
    );
  } else if (pending.length) {
    const migrate =
      pending.length > 1 ? commandFor(ws, 'migrate --all') : scriptFor(ws, 'migrate', ws.resolve(pending[0]!.alias));
    out.push(`  next: apply the pending migrations: ${migrate}.`);
  }
  for (const u of report.unrecorded)
    out.push(
      u.loadError
        ? `  next: fix ${u.package}'s schema (pnpm typecheck shows the error), then run status again.`
        : `  next: ${scriptFor(ws, 'generate', ws.resolve(u.alias))} --name <what_changed>, then migrate.`,
    );
  if (report.leftovers.length)
    out.push(
      `  next: leftover tables: ${commandFor(ws, 'reset')} drops what the packages own and team-prefixed tables, ` +
        'and keeps others; ./scripts/db-workflow.sh reset recreates the whole database. Or drop them by hand.',
    );
  if (report.drift.length)
    out.push(
      '  next: drift after a hand-made change: undo it, or keep it by changing the schema and running generate.',
      '  next: drift on a database only ever migrated: leave the schema alone, db-kit misread it; report it with ' +
        '--json.',
    );
  return out;
}

/** Lines of status output stay readable in a terminal and a CI log. */
const STATUS_WIDTH = 120;

/** `items` joined with ", " into lines of at most `width` characters, each starting with `indent`. */
export function wrap(items: string[], indent: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const [i, item] of items.entries()) {
    const piece = i < items.length - 1 ? `${item},` : item;
    if (line && indent.length + line.length + 1 + piece.length > width) {
      lines.push(`${indent}${line}`);
      line = piece;
    } else line = line ? `${line} ${piece}` : piece;
  }
  if (line) lines.push(`${indent}${line}`);
  return lines;
}

function describeDrift(d: Drift): string {
  const owner = d.owner ? ` [${d.owner}]` : ' [no package declares it]';
  if (d.problem === 'unexpected') return `unexpected ${d.kind} ${d.object}${d.actual ? ` (${d.actual})` : ''}${owner}`;
  if (d.problem === 'missing') return `missing ${d.kind} ${d.object}${d.expected ? ` (${d.expected})` : ''}${owner}`;
  return `${d.kind} ${d.object} differs: expected ${d.expected}, found ${d.actual}${owner}`;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

export default command;
