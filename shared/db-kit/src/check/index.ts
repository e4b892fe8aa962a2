import { DbKitError } from '../errors';
import { MalformedFile } from '../migrations/files';
import { historyOf } from '../migrations/history';
import { scriptFor } from '../scripts';
import type { SchemaPackage, Workspace } from '../workspace';
import { CheckReport, type Finding, type OwnRuleId, type RuleId } from './findings';
import { integrityFindings } from './integrity';
import { type CheckInput, RULES } from './rules';
import { lintScope } from './scope';
import { ParseCache } from './parse-cache';
import { parserIdentity, type ParsedMigration } from './sql';

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
  const migrations = await parseAll(ws);
  const inScope = migrations.filter(
    (m) => options.packages.includes(m.pkg) && (!scope.files || scope.files.has(m.path)),
  );
  const input: CheckInput = {
    ws,
    selected: options.packages,
    migrations,
    inScope,
    intact: options.packages,
    readable: readablePackages(ws),
  };
  const findings: Finding[] = [];
  for (const rule of RULES) {
    findings.push(...(await rule.run(input)));
  }
  const report = new CheckReport(
    `${inScope.length} of ${migrations.filter((m) => options.packages.includes(m.pkg)).length} migrations linted: ` +
      `${scope.description}`,
  );
  report.add(...findings);
  return report;
}

/**
 * The review of one migration that generate has just written: the review rules (syntax, squawk,
 * ownership, names) on that file. Everything else in its folder counts as reviewed already, so
 * tables it creates are new.
 */
export async function checkWrittenMigration(ws: Workspace, pkg: SchemaPackage, path: string): Promise<CheckReport> {
  const migrations = await parseAll(ws);
  const written = migrations.filter((m) => m.path === path);
  const report = new CheckReport(`review of ${ws.relative(path)}`);
  const input: CheckInput = {
    ws,
    selected: [pkg],
    migrations,
    inScope: written,
    intact: [pkg],
    readable: readablePackages(ws),
  };
  for (const rule of RULES.filter((r) => r.review)) report.add(...(await rule.run(input)));
  return report;
}

/** Integrity problems that make drizzle-kit diff against the wrong parent snapshot. */
const GENERATE_BLOCKERS: ReadonlySet<RuleId> = new Set([
  'branch-collision',
  'snapshot-chain',
  'journal-invalid',
  'snapshot-invalid',
  'missing-snapshot',
  'journal-index',
  'stray-snapshot',
] satisfies OwnRuleId[]);

/** What generate must refuse before drizzle-kit runs: on a collision, drizzle-kit prints it and exits 0. */
export function generateBlockers(ws: Workspace, pkg: SchemaPackage): Finding[] {
  return integrityFindings(pkg, scriptFor(ws, 'generate', pkg)).filter((f) => GENERATE_BLOCKERS.has(f.rule));
}

/** The packages whose journal and latest snapshot can be read (see readJsonFile); integrity names the others. */
function readablePackages(ws: Workspace): SchemaPackage[] {
  return ws.packages.filter((pkg) => {
    try {
      historyOf(pkg).latestSnapshot();
      return true;
    } catch (error) {
      if (error instanceof MalformedFile) return false;
      throw error;
    }
  });
}

/** Every package's migrations that exist on disk, in journal order; integrity reports the rest. */
async function parseAll(ws: Workspace): Promise<ParsedMigration[]> {
  const cache = ParseCache.open(ws, parserIdentity());
  const parsed: ParsedMigration[] = [];
  for (const pkg of ws.packages) {
    let history: ReturnType<typeof historyOf>;
    try {
      history = historyOf(pkg);
    } catch (error) {
      if (error instanceof DbKitError) continue; // journal-invalid, reported by integrity
      throw error;
    }
    parsed.push(...(await history.parsed(cache)));
  }
  cache.save();
  return parsed;
}
