import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DbKitError } from '../errors';
import { readJournal } from '../migrations/files';
import { commandFor, scriptFor } from '../scripts';
import type { SchemaPackage, Workspace } from '../workspace';
import { downFindings } from './downs';
import { driftFindings } from './drift';
import { CheckReport, type Finding } from './findings';
import { identifierFindings } from './identifiers';
import { historyFindings } from './history';
import { integrityFindings } from './integrity';
import { squawkFindings } from './lint';
import { ownershipFindings } from './ownership';
import { lintScope } from './scope';
import { ParseCache } from './parse-cache';
import { parseMigration, parserIdentity, type ParsedMigration } from './sql';

export { CheckReport, type Finding } from './findings';

export interface CheckOptions {
  /** The packages whose findings are reported; ownership still reads every package. */
  packages: SchemaPackage[];
  /** Lint migrations changed since this git ref (default: the merge-base with main). */
  since?: string;
  /** Lint every migration. */
  all?: boolean;
}

/**
 * Everything `db-kit check` looks at, without a database: integrity of journal, files and
 * snapshots (with branch collisions), schema changes nobody generated, squawk's safety lint with
 * waivers, and ownership between packages.
 *
 * @example
 *   const report = await runCheck(ws, { packages: ws.packages });
 *   process.exitCode = report.errors ? 1 : 0;
 */
export async function runCheck(ws: Workspace, options: CheckOptions): Promise<CheckReport> {
  const scope = lintScope(ws, options.packages, options);
  const findings: Finding[] = [];
  const broken = new Set<SchemaPackage>();
  for (const pkg of options.packages) {
    const integrity = integrityFindings(pkg, scriptFor(ws, 'generate', pkg));
    if (integrity.length) broken.add(pkg);
    findings.push(...integrity);
  }
  findings.push(...historyFindings(ws, options.packages));
  const migrations = await parseAll(ws);
  const inScope = migrations.filter(
    (m) => options.packages.includes(m.pkg) && (!scope.files || scope.files.has(m.path)),
  );
  findings.push(...reviewMigrations(ws, migrations, inScope, options.packages));
  // Diffing against a snapshot that two branches both claim would only add noise.
  const intact = options.packages.filter((pkg) => !broken.has(pkg));
  findings.push(...(await driftFindings(ws, intact)));
  for (const pkg of options.packages)
    findings.push(...downFindings(pkg, commandFor(ws, `down --backfill --package ${pkg.alias}`)));
  const report = new CheckReport(
    `${inScope.length} of ${migrations.filter((m) => options.packages.includes(m.pkg)).length} migrations linted: ` +
      `${scope.description}`,
  );
  report.add(...findings);
  return report;
}

/**
 * The review of one migration that generate has just written: squawk and ownership on that file.
 * Everything else in its folder counts as reviewed already, so tables it creates are new.
 */
export async function checkWrittenMigration(ws: Workspace, pkg: SchemaPackage, path: string): Promise<CheckReport> {
  const migrations = await parseAll(ws);
  const written = migrations.filter((m) => m.path === path);
  const report = new CheckReport(`review of ${ws.relative(path)}`);
  report.add(...reviewMigrations(ws, migrations, written, [pkg]));
  return report;
}

/** Integrity problems that make drizzle-kit diff against the wrong parent snapshot. */
const GENERATE_BLOCKERS = new Set([
  'branch-collision',
  'snapshot-chain',
  'journal-invalid',
  'snapshot-invalid',
  'missing-snapshot',
  'journal-index',
  'stray-snapshot',
]);

/** What generate must refuse before drizzle-kit runs: on a collision, drizzle-kit prints it and exits 0. */
export function generateBlockers(ws: Workspace, pkg: SchemaPackage): Finding[] {
  return integrityFindings(pkg, scriptFor(ws, 'generate', pkg)).filter((f) => GENERATE_BLOCKERS.has(f.rule));
}

/**
 * Tables that hold no rows yet when each migration runs, so locking them blocks nobody: those
 * created in the same file. Only the file decides, never the scope: a table created by an earlier
 * migration may hold rows by the time this one runs, and a verdict that depended on which files
 * are linted together would differ between generate, check and check --all. Keyed by migration path.
 */
function tablesCreatedIn(migrations: ParsedMigration[]): Map<string, Set<string>> {
  const result = new Map<string, Set<string>>();
  for (const m of migrations) {
    const own = new Set<string>();
    for (const s of m.statements)
      for (const t of s.targets) if (t.kind === 'table' && t.action === 'create') own.add(`table:${t.qualifiedName}`);
    result.set(m.path, own);
  }
  return result;
}

function reviewMigrations(
  ws: Workspace,
  migrations: ParsedMigration[],
  inScope: ParsedMigration[],
  selected: SchemaPackage[],
): Finding[] {
  const findings: Finding[] = [];
  for (const m of inScope) {
    if (m.syntaxError) {
      findings.push({
        rule: 'sql-syntax',
        severity: 'error',
        file: m.path,
        line: m.syntaxError.line,
        message: `Postgres cannot parse this file: ${m.syntaxError.message}.`,
        next: 'Fix the statement; generated files are never edited except to add waivers.',
      });
    }
  }
  findings.push(...squawkFindings(ws, inScope, tablesCreatedIn(inScope)));
  findings.push(...ownershipFindings(ws.packages, migrations, new Set(inScope), selected));
  findings.push(...identifierFindings(migrations, inScope));
  return findings;
}

/** Every package's migrations that exist on disk, in journal order; integrity reports the rest. */
async function parseAll(ws: Workspace): Promise<ParsedMigration[]> {
  const cache = ParseCache.open(ws, parserIdentity());
  const parsed: ParsedMigration[] = [];
  for (const pkg of ws.packages) {
    let entries: ReturnType<typeof readJournal>['entries'];
    try {
      entries = readJournal(pkg).entries;
    } catch (error) {
      if (error instanceof DbKitError) continue; // journal-invalid, reported by integrity
      throw error;
    }
    for (const entry of entries) {
      const path = join(pkg.migrationsDir, `${entry.tag}.sql`);
      if (existsSync(path)) parsed.push(await parseMigration(pkg, path, cache));
    }
  }
  cache.save();
  return parsed;
}
