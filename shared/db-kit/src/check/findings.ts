import type { Workspace } from '../workspace';

export type Severity = 'error' | 'warning';

/** The finding ids of our own rules; squawk's findings carry squawk's rule name (`ban-drop-column`). */
export type OwnRuleId =
  // integrity: journal, files and snapshots agree
  | 'journal-invalid'
  | 'journal-index'
  | 'migration-name'
  | 'missing-sql'
  | 'missing-snapshot'
  | 'snapshot-invalid'
  | 'snapshot-chain'
  | 'branch-collision'
  | 'stray-sql'
  | 'stray-snapshot'
  | 'timestamp-order'
  // history: merged migrations stay as merged
  | 'merged-migration-edited'
  | 'merged-migration-deleted'
  // migrations
  | 'sql-syntax'
  | 'waiver-without-reason'
  | 'unused-waiver'
  // ownership and names
  | 'foreign-object'
  | 'shared-references-team'
  | 'duplicate-name'
  | 'team-prefix'
  | 'name-too-long'
  | 'name-collision'
  // schema files against the latest snapshot
  | 'schema-load'
  | 'schema-without-migration'
  // down migrations
  | 'down-missing'
  | 'down-irreversible';

/** A squawk rule name, as squawk reports it. */
export type SquawkRuleId = string & { readonly squawk?: never };

export type RuleId = OwnRuleId | SquawkRuleId;

/** One thing `db-kit check` found: what, where, and what to do about it. */
export interface Finding {
  /** Squawk's rule name (`ban-drop-column`) or one of ours (`branch-collision`, `foreign-object`, ...). */
  rule: RuleId;
  severity: Severity;
  /** Absolute path of the file the finding is about. */
  file: string;
  /** 1-based line in `file`, when the finding points at a statement. */
  line?: number;
  column?: number;
  message: string;
  /** The next step, in one line. */
  next: string;
}

export interface JsonReport {
  ok: boolean;
  errors: number;
  warnings: number;
  scope: string;
  files: Array<{ file: string; findings: Array<Omit<Finding, 'file'>> }>;
}

/**
 * The findings of one check run, grouped by file in the order the files were checked.
 *
 * @example
 *   const report = new CheckReport();
 *   report.add({ rule: 'stray-sql', severity: 'error', file, message: 'not in the journal', next: 'delete it' });
 *   report.errors; // 1
 */
export class CheckReport {
  readonly findings: Finding[] = [];

  constructor(readonly scope = '') {}

  add(...findings: Finding[]): void {
    this.findings.push(...findings);
  }

  get errors(): number {
    return this.findings.filter((f) => f.severity === 'error').length;
  }

  get warnings(): number {
    return this.findings.filter((f) => f.severity === 'warning').length;
  }

  byFile(): Map<string, Finding[]> {
    const groups = new Map<string, Finding[]>();
    for (const finding of this.findings) {
      const group = groups.get(finding.file) ?? [];
      group.push(finding);
      groups.set(finding.file, group);
    }
    for (const group of groups.values())
      group.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || severityRank(a) - severityRank(b));
    return groups;
  }

  toJson(ws: Workspace): JsonReport {
    return {
      ok: this.errors === 0,
      errors: this.errors,
      warnings: this.warnings,
      scope: this.scope,
      files: [...this.byFile()].map(([file, findings]) => ({
        file: ws.relative(file),
        findings: findings.map(({ file: _file, ...rest }) => rest),
      })),
    };
  }

  /** Text for a terminal: a file name, then each finding with its place and next step. */
  format(ws: Workspace): string {
    const lines: string[] = [];
    for (const [file, findings] of this.byFile()) {
      lines.push(ws.relative(file));
      for (const f of findings) {
        const where = f.line ? `${ws.relative(file)}:${f.line}${f.column ? `:${f.column}` : ''}` : ws.relative(file);
        lines.push(`  ${f.severity.padEnd(7)} ${f.rule}: ${f.message}`);
        lines.push(`          at ${where}`);
        lines.push(`          next: ${f.next}`);
      }
      lines.push('');
    }
    return lines.join('\n');
  }
}

function severityRank(f: Finding): number {
  return f.severity === 'error' ? 0 : 1;
}
