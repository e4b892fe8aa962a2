import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DbKitError } from '../errors';
import { noTransactionHeader } from '../migrations/files';
import type { Workspace } from '../workspace';
import type { Finding } from './findings';
import { statementAt, type ParsedMigration } from './sql';

const WAIVE_HOW = 'or waive it on the line above the statement: -- squawk-ignore <rule> -- <why this is safe>';

/**
 * Squawk rules that fail the check unless waived: they lose data, block a busy table, or break
 * the code still running against the old schema. Every other squawk rule is a warning.
 */
export const ERROR_RULES: Record<string, { kind: 'destructive' | 'blocking' | 'breaking'; next: string }> = {
  'ban-drop-table': { kind: 'destructive', next: 'Stop using the table first and drop it in a later release' },
  'ban-drop-column': {
    kind: 'destructive',
    next: 'Stop reading and writing the column first and drop it in a later release',
  },
  'ban-drop-database': { kind: 'destructive', next: 'Never drop a database from a migration' },
  'ban-truncate-cascade': { kind: 'destructive', next: 'Truncate the tables you mean, by name' },
  'require-concurrent-index-creation': {
    kind: 'blocking',
    next: 'Use CREATE INDEX CONCURRENTLY in a migration of its own that starts with -- db-kit: no-transaction',
  },
  'require-concurrent-index-deletion': {
    kind: 'blocking',
    next: 'Use DROP INDEX CONCURRENTLY in a migration of its own that starts with -- db-kit: no-transaction',
  },
  'adding-required-field': {
    kind: 'blocking',
    next: 'Give the column a DEFAULT, or add it nullable, backfill, then SET NOT NULL',
  },
  'adding-not-nullable-field': {
    kind: 'blocking',
    next: 'Add a CHECK (col IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL',
  },
  'changing-column-type': {
    kind: 'blocking',
    next: 'Add a column of the new type, backfill, switch readers, then drop the old one',
  },
  'renaming-column': { kind: 'breaking', next: 'Add the new column, write both, move readers, drop the old one later' },
  'renaming-table': {
    kind: 'breaking',
    next: 'Create the new table (or a view under the old name), move readers, drop the old one later',
  },
};

/** Rules about locking a table that already holds rows; a table created in the same migration holds none. */
const EXISTING_TABLE_RULES = new Set([
  'require-concurrent-index-creation',
  'adding-required-field',
  'adding-not-nullable-field',
  'changing-column-type',
  'constraint-missing-not-valid',
  'adding-foreign-key-constraint',
  'disallowed-unique-constraint',
  'adding-field-with-default',
  'adding-serial-primary-key-field',
  'adding-primary-key-constraint',
]);

interface SquawkViolation {
  file: string;
  line: number;
  column: number;
  level: string;
  message: string;
  help: string | null;
  rule_name: string;
}

/**
 * Lints migrations with squawk and applies our waivers. Squawk reads files with waivers from a copy
 * in which its own ignore comments are disarmed, so a waiver without a reason cannot silence
 * anything, and a waiver covers its whole statement rather than one line.
 *
 * @param newTables per migration path, the `table:schema.name` keys that hold no rows yet when it runs
 */
export function squawkFindings(
  ws: Workspace,
  migrations: ParsedMigration[],
  newTables: Map<string, Set<string>>,
): Finding[] {
  const lintable = migrations.filter((m) => !m.syntaxError);
  if (!lintable.length) return [];
  // Only files with waivers need a disarmed copy; squawk reads every other file where it is.
  let workDir: string | undefined;
  const byPath = new Map<string, ParsedMigration>();
  const groups: Record<'transactional' | 'standalone', string[]> = { transactional: [], standalone: [] };
  try {
    lintable.forEach((migration, i) => {
      let path = migration.path;
      if (migration.text.includes('squawk-ignore')) {
        workDir ??= mkdtempSync(join(tmpdir(), 'db-kit-squawk-'));
        path = join(workDir, `${i}.sql`);
        writeFileSync(path, migration.text.replace(/squawk-ignore/g, 'squawk-waived'));
      }
      byPath.set(path, migration);
      groups[noTransactionHeader(migration.text).declared ? 'standalone' : 'transactional'].push(path);
    });
    const violations: Array<SquawkViolation & { migration: ParsedMigration }> = [];
    for (const [group, files] of Object.entries(groups)) {
      if (!files.length) continue;
      // Our runner wraps each migration in a transaction, except those marked no-transaction.
      const flag = group === 'transactional' ? '--assume-in-transaction' : '--no-assume-in-transaction';
      for (const v of runSquawk(ws, [flag, ...files])) violations.push({ ...v, migration: byPath.get(v.file)! });
    }
    return applyWaivers(violations, migrations, newTables);
  } finally {
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  }
}

function applyWaivers(
  violations: Array<SquawkViolation & { migration: ParsedMigration }>,
  migrations: ParsedMigration[],
  newTables: Map<string, Set<string>>,
): Finding[] {
  const findings: Finding[] = [];
  for (const v of violations) {
    const { migration } = v;
    const line = v.line + 1;
    const index = statementAt(migration, line);
    const statement = index === undefined ? undefined : migration.statements[index];
    if (EXISTING_TABLE_RULES.has(v.rule_name)) {
      const table = statement?.targets.find((t) => t.kind === 'table' && t.action !== 'reference');
      if (table && newTables.get(migration.path)?.has(`table:${table.qualifiedName}`)) continue;
    }
    const waiver = migration.waivers.find(
      (w) =>
        w.reason &&
        w.rules.includes(v.rule_name) &&
        (w.scope === 'file' || (index !== undefined && w.statement === index)),
    );
    if (waiver) {
      waiver.used = true;
      continue;
    }
    const errorRule = ERROR_RULES[v.rule_name];
    findings.push({
      rule: v.rule_name,
      severity: errorRule || v.level.toLowerCase() === 'error' ? 'error' : 'warning',
      file: migration.path,
      line,
      column: v.column + 1,
      message:
        `${errorRule ? `${errorRule.kind}: ` : ''}${v.message.replace(/\.$/, '')}` +
        `${statement ? ` (${statement.firstLine.slice(0, 80)})` : ''}.`,
      next: errorRule
        ? `${errorRule.next}; ${WAIVE_HOW.replace('<rule>', v.rule_name)}.`
        : `${v.help ?? 'See the rule'}: https://squawkhq.com/docs/${v.rule_name}`,
    });
  }
  for (const migration of migrations) {
    for (const waiver of migration.waivers) {
      if (!waiver.reason) {
        findings.push({
          rule: 'waiver-without-reason',
          severity: 'error',
          file: migration.path,
          line: waiver.line,
          message: `"${waiver.text}" gives no reason after " -- ", so it waives nothing.`,
          next: `Say why it is safe after " -- ": -- squawk-ignore ${waiver.rules.join(', ') || '<rule>'} -- <reason>.`,
        });
      } else if (!waiver.used) {
        findings.push({
          rule: 'unused-waiver',
          severity: 'warning',
          file: migration.path,
          line: waiver.line,
          message:
            `the waiver for ${waiver.rules.join(', ')} matches no ` +
            `finding${waiver.scope === 'statement' ? ' in the statement below it' : ''}.`,
          next: 'Remove it, or move it to the line above the statement it is meant for.',
        });
      }
    }
  }
  return findings;
}

function runSquawk(ws: Workspace, args: string[]): SquawkViolation[] {
  const config = join(ws.root, '.squawk.toml');
  const fullArgs = ['--reporter', 'json', ...(existsSync(config) ? ['--config', config] : []), ...args];
  const result = spawnSync(squawkBinary(), fullArgs, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error)
    throw new DbKitError(
      `squawk did not start: ${result.error.message}.`,
      'Run pnpm install; squawk-cli ships its binary as an optional dependency.',
    );
  try {
    return JSON.parse(result.stdout || '[]') as SquawkViolation[];
  } catch {
    const reason = (result.stderr || result.stdout).trim().split('\n')[0];
    throw new DbKitError(
      `squawk failed: ${reason}`,
      existsSync(config) ? `Check ${ws.relative(config)} (squawk reads it).` : 'Run with DEBUG=1 for details.',
    );
  }
}

/** The platform binary shipped by squawk-cli's optional dependency; avoids a Node wrapper process. */
function squawkBinary(): string {
  const require = createRequire(createRequire(import.meta.url).resolve('squawk-cli/package.json'));
  const name = process.platform === 'win32' ? 'squawk.exe' : 'squawk';
  try {
    return require.resolve(`@squawk-cli/${process.platform}-${process.arch}/bin/${name}`);
  } catch {
    throw new DbKitError(
      `squawk has no binary for ${process.platform}-${process.arch} here.`,
      'Run pnpm install with optional dependencies enabled.',
    );
  }
}
