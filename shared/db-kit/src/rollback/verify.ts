import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import type { Finding } from '../check/findings';
import { type DownMigration, downPath, isAdoptMigration, readDownFile } from '../migrations/down';
import type { MigrationFile } from '../migrations/files';
import { isConnectionLost } from '../errors';
import { Migrator } from '../migrations/runner';
import { commandFor } from '../scripts';
import { quoteIdent } from '../sql-text';
import { type DatabaseTarget, driverOptions, withDatabase } from '../target';
import type { SchemaPackage, Workspace } from '../workspace';

export interface VerifyResult {
  findings: Finding[];
  /** Migrations whose round trip ran (down, up, down). */
  verified: number;
  ms: number;
}

/** What a migration's SQL names: `schema.table` and `schema.enum`. Its round trip compares these. */
export interface Touched {
  tables: Set<string>;
  enums: Set<string>;
}

const NAME = String.raw`(?:"([^"]+)"\.)?"([^"]+)"`;
// Not the target of REFERENCES: a foreign key lives on its own table, which is touched; following
// every reference to users would make each step read every table that points at it (quadratic).
const TABLE_REFS = [
  new RegExp(`(?:CREATE|ALTER|DROP) TABLE (?:IF (?:NOT )?EXISTS )?(?:ONLY )?${NAME}`, 'gi'),
  new RegExp(String.raw`\bON (?:ONLY )?${NAME}`, 'gi'),
  /\bRENAME TO "([^"]+)"()/gi,
];
const TYPE_REFS = new RegExp(`(?:CREATE|ALTER|DROP) TYPE (?:IF EXISTS )?${NAME}`, 'gi');

export function touchedBy(...texts: string[]): Touched {
  const touched: Touched = { tables: new Set(), enums: new Set() };
  for (const text of texts) {
    for (const re of TABLE_REFS)
      for (const m of text.matchAll(re)) {
        // RENAME TO names a table (or a type): the groups differ, so normalise.
        const [schema, name] = m[2] === '' ? [undefined, m[1]] : [m[1], m[2]];
        touched.tables.add(`${schema ?? 'public'}.${name}`);
      }
    for (const m of text.matchAll(TYPE_REFS)) touched.enums.add(`${m[1] ?? 'public'}.${m[2]}`);
  }
  return touched;
}

/** The catalog of the touched objects as sorted lines, one object each: what a round trip compares. */
async function catalog(sql: postgres.Sql, touched: Touched): Promise<Map<string, string>> {
  const tables = [...touched.tables];
  const enums = [...touched.enums];
  const rows = await sql.unsafe(
    `with t as (
       select c.oid, n.nspname || '.' || c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and n.nspname || '.' || c.relname = any($1::text[])
     )
     select 'table ' || t.name as key, 'exists' as value from t
     union all
     select 'column ' || t.name || '.' || a.attname, format_type(a.atttypid, a.atttypmod)
            || case when a.attnotnull then ' not null' else '' end
            || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
       from t join pg_attribute a on a.attrelid = t.oid and a.attnum > 0 and not a.attisdropped
       left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
     union all
     select 'constraint ' || cn.nspname || '.' || cr.relname || '.' || co.conname, pg_get_constraintdef(co.oid)
       from pg_constraint co join pg_class cr on cr.oid = co.conrelid join pg_namespace cn on cn.oid = cr.relnamespace
      where co.conrelid in (select oid from t) or co.confrelid in (select oid from t)
     union all
     select 'index ' || t.name || '.' || i.relname, pg_get_indexdef(i.oid)
       from t join pg_index x on x.indrelid = t.oid join pg_class i on i.oid = x.indexrelid
     union all
     select 'enum ' || n.nspname || '.' || ty.typname,
            (select string_agg(e.enumlabel, ', ' order by e.enumsortorder) from pg_enum e where e.enumtypid = ty.oid)
       from pg_type ty join pg_namespace n on n.oid = ty.typnamespace
      where ty.typtype = 'e' and n.nspname || '.' || ty.typname = any($2::text[])`,
    [tables, enums],
  );
  return new Map(rows.map((r) => [r.key as string, r.value as string]));
}

/** Differences between two catalogs, skipping objects an irreversible line accepts. */
function differences(expected: Map<string, string>, actual: Map<string, string>, excused: Set<string>): string[] {
  const out: string[] = [];
  const isExcused = (key: string) =>
    [...excused].some((o) => key === o || key.startsWith(`${o}.`) || key.endsWith(` ${o}`) || key.includes(` ${o}.`));
  for (const [key, value] of expected) {
    if (isExcused(key)) continue;
    const found = actual.get(key);
    if (found === undefined) out.push(`${key} is missing (expected ${value})`);
    else if (found !== value) out.push(`${key}: expected ${value}, found ${found}`);
  }
  for (const [key, value] of actual)
    if (!expected.has(key) && !isExcused(key)) out.push(`${key} should not exist (${value})`);
  return out;
}

/** `enum public.x keeps 'a'` -> `enum public.x`: what an irreversible line says stays different. */
function excusedBy(down: DownMigration): string[] {
  return down.irreversible.map((why) => why.split(/\s+/).slice(0, 2).join(' '));
}

/**
 * The transaction is ours, not sql.begin's (the scratch client has one connection): on a session that
 * is gone nothing more is sent, since postgres.js writing ROLLBACK to the dropped socket crashes with a
 * TypeError outside any promise. A lost session is rethrown by the callers, never made a finding.
 */
async function run(sql: postgres.Sql, statements: string[], transactional: boolean): Promise<void> {
  if (!transactional) {
    for (const s of statements) await sql.unsafe(s).simple();
    return;
  }
  await sql.unsafe('begin').simple();
  try {
    for (const s of statements) await sql.unsafe(s).simple();
    await sql.unsafe('commit').simple();
  } catch (error) {
    if (!isConnectionLost(error)) await sql.unsafe('rollback').simple();
    throw error;
  }
}

/**
 * The round trip of every down, on a scratch database of the target's server (connected to exactly
 * as every other command connects, target.ts: the host the guard judged, never the URL again): applies
 * the whole history in migrate's order, remembering the catalog of what each migration touches
 * before and after it; then, newest first, runs its down (the catalog must equal the "before"),
 * its up again (must equal the "after"), and its down once more to reach the previous migration.
 * Only touched objects are read, so the work grows with the history, not with its square.
 */
export async function verifyDowns(
  target: DatabaseTarget,
  ws: Workspace,
  packages: SchemaPackage[],
): Promise<VerifyResult> {
  const started = performance.now();
  const name = `dbkit_verify_${randomBytes(4).toString('hex')}`;
  const admin = postgres({ ...driverOptions(target), max: 1, onnotice: () => {} });
  const findings: Finding[] = [];
  let verified = 0;
  // On a lost connection nothing is left to finish: the clients end at once, not after end's 5 s.
  let lost = false;
  try {
    await admin.unsafe(`create database ${quoteIdent(name)}`);
    const sql = postgres({ ...driverOptions(withDatabase(target, name)), max: 1, onnotice: () => {} });
    try {
      const steps = await applyHistory(sql, ws, packages, findings);
      if (steps) verified = await roundTrips(sql, steps, findings);
    } catch (error) {
      lost = isConnectionLost(error);
      throw error;
    } finally {
      await sql.end({ timeout: lost ? 0 : 5 });
    }
  } catch (error) {
    lost ||= isConnectionLost(error);
    throw error;
  } finally {
    await admin.unsafe(`drop database if exists ${quoteIdent(name)} with (force)`).catch(() => {});
    await admin.end({ timeout: lost ? 0 : 5 });
  }
  return { findings, verified, ms: performance.now() - started };
}

/** One migration of the history, with the catalog of what it touches before and after its up. */
interface Step {
  pkg: SchemaPackage;
  file: MigrationFile;
  down?: DownMigration;
  touched: Touched;
  before: Map<string, string>;
  after: Map<string, string>;
}

/** Applies the whole history, in migrate's order, reading the catalog around each up; undefined if an up fails. */
async function applyHistory(
  sql: postgres.Sql,
  ws: Workspace,
  packages: SchemaPackage[],
  findings: Finding[],
): Promise<Step[] | undefined> {
  const order = (await new Migrator(sql, packages, ws.packages).migrate({ dryRun: true })).planned;
  const byName = new Map(ws.packages.map((p) => [p.name, p]));
  const steps: Step[] = [];
  for (const file of order) {
    const pkg = byName.get(file.packageName)!;
    const down = readDownFile(pkg, file.tag);
    const touched = touchedBy(file.statements.join('\n'), down?.statements.join('\n') ?? '');
    const before = await catalog(sql, touched);
    try {
      await run(sql, file.statements, file.transactional);
    } catch (error) {
      if (isConnectionLost(error)) throw error;
      findings.push(finding(pkg, file, 'its up failed while applying the history', error));
      return undefined;
    }
    steps.push({ pkg, file, down, touched, before, after: await catalog(sql, touched) });
  }
  return steps;
}

/** Newest first: down, up again, down again, each compared with the catalog; stops at the first failure. */
async function roundTrips(sql: postgres.Sql, steps: Step[], findings: Finding[]): Promise<number> {
  let verified = 0;
  const excused = new Set<string>();
  for (const step of [...steps].reverse()) {
    const { pkg, file, down } = step;
    if (!down || down.todo) {
      findings.push({
        rule: 'down-roundtrip',
        severity: 'error',
        file: file.path,
        message:
          `${file.tag} has no down${down?.todo ? ' written yet' : ''}: ` +
          `the round trip stops here (older migrations are not verified).`,
        next:
          `Write ${pkg.out}/${file.tag}.down.sql ` +
          `(${commandFor(pkg, `down --backfill --package ${pkg.alias}`)} computes one).`,
      });
      break;
    }
    for (const o of excusedBy(down)) excused.add(o);
    // An adopt's down hands its tables back and never drops them: where the adopt built them
    // (shared applied before the team), they stay after it, by design, with the adoptions record.
    if (isAdoptMigration(file.text))
      for (const table of [...step.touched.tables, ...step.touched.enums]) excused.add(table);
    if (!(await roundTrip(sql, step, down, excused, findings))) break;
    verified++;
  }
  return verified;
}

/** One migration's round trip; false (with its finding) when a phase fails or leaves the catalog different. */
async function roundTrip(
  sql: postgres.Sql,
  { pkg, file, touched, before, after }: Step,
  down: DownMigration,
  excused: Set<string>,
  findings: Finding[],
): Promise<boolean> {
  const phases: Array<[string, string[], boolean, Map<string, string>]> = [
    ['after its down', down.statements, down.transactional, before],
    ['after its up again', file.statements, file.transactional, after],
    ['after its down again', down.statements, down.transactional, before],
  ];
  for (const [phase, statements, transactional, expected] of phases) {
    try {
      await run(sql, statements, transactional);
    } catch (error) {
      if (isConnectionLost(error)) throw error;
      findings.push(finding(pkg, file, `${phase.replace('after its', 'its')} failed`, error));
      return false;
    }
    const diff = differences(expected, await catalog(sql, touched), excused);
    if (diff.length) {
      findings.push({
        rule: 'down-roundtrip',
        severity: 'error',
        file: downPath(pkg, file.tag),
        message:
          `${file.tag}, ${phase}: ${diff.slice(0, 5).join('; ')}` +
          `${diff.length > 5 ? ` (+${diff.length - 5} more)` : ''}`,
        next: `Fix ${file.tag}.down.sql so that it undoes exactly what the migration does.`,
      });
      return false;
    }
  }
  return true;
}

function finding(pkg: SchemaPackage, file: MigrationFile, what: string, error: unknown): Finding {
  const pg = error as { message?: string; code?: string };
  return {
    rule: 'down-roundtrip',
    severity: 'error',
    file: what.startsWith('its up') ? file.path : downPath(pkg, file.tag),
    message: `${file.tag}: ${what}: ${pg.message ?? String(error)}${pg.code ? ` [${pg.code}]` : ''}`,
    next: what.includes('up again')
      ? 'The migration must run again after its down (e.g. ADD VALUE IF NOT EXISTS, CREATE ... IF NOT EXISTS).'
      : `Fix ${file.tag}.down.sql, then run ${commandFor(pkg, 'check --verify-downs')} again.`,
  };
}
