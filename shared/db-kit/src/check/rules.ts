import { commandFor, scriptFor } from '../scripts';
import type { SchemaPackage, Workspace } from '../workspace';
import { downFindings } from './downs';
import { driftFindings } from './drift';
import type { Finding } from './findings';
import { historyFindings } from './history';
import { identifierFindings } from './identifiers';
import { integrityFindings } from './integrity';
import { squawkFindings } from './lint';
import { ownershipFindings } from './ownership';
import type { ParsedMigration } from './sql';

/** What every rule may read: files parsed once, the packages reported on, and which of them are intact. */
export interface CheckInput {
  ws: Workspace;
  /** The packages whose findings are reported. */
  selected: SchemaPackage[];
  /** Every package's migrations, parsed (ownership and names need them all). */
  migrations: ParsedMigration[];
  /** The migrations being reviewed (the lint scope, or the one generate wrote). */
  inScope: ParsedMigration[];
  /**
   * Selected packages whose journal and snapshots agree: the schema diff needs a trustworthy parent.
   * The integrity rule narrows it for the rules after it.
   */
  intact: SchemaPackage[];
  /** Every package whose journal and latest snapshot parse: the rules that read all packages skip the others. */
  readable: SchemaPackage[];
}

/**
 * One family of checks. `scope` says what it reads: `package` (a package's files), `migrations` (the
 * migrations in scope, against all of them), `schema` (schema files against snapshots). `review`
 * rules also run when generate reviews the file it just wrote. Adding a rule: one file, one line below.
 */
export interface CheckRule {
  id: string;
  severity: 'error' | 'warning' | 'both';
  scope: 'package' | 'migrations' | 'schema';
  review: boolean;
  run(input: CheckInput): Finding[] | Promise<Finding[]>;
}

const integrity: CheckRule = {
  id: 'integrity',
  severity: 'error',
  scope: 'package',
  review: false,
  run(input) {
    const findings: Finding[] = [];
    const intact: SchemaPackage[] = [];
    // A malformed journal or snapshot outside the selection would stop ownership: name it too.
    const unreadable = input.ws.packages.filter((p) => !input.readable.includes(p) && !input.selected.includes(p));
    for (const pkg of unreadable) findings.push(...integrityFindings(pkg, scriptFor(input.ws, 'generate', pkg)));
    for (const pkg of input.selected) {
      const found = integrityFindings(pkg, scriptFor(input.ws, 'generate', pkg));
      if (!found.length) intact.push(pkg);
      findings.push(...found);
    }
    // Diffing against a snapshot that two branches both claim would only add noise.
    input.intact = intact;
    return findings;
  },
};

const history: CheckRule = {
  id: 'history',
  severity: 'error',
  scope: 'package',
  review: false,
  run: ({ ws, selected }) => historyFindings(ws, selected),
};

const syntax: CheckRule = {
  id: 'sql-syntax',
  severity: 'error',
  scope: 'migrations',
  review: true,
  run: ({ inScope }) =>
    inScope.flatMap((m) =>
      m.syntaxError
        ? [
            {
              rule: 'sql-syntax',
              severity: 'error',
              file: m.path,
              line: m.syntaxError.line,
              message: `Postgres cannot parse this file: ${m.syntaxError.message}.`,
              next: 'Fix the statement; generated files are never edited except to add waivers.',
            } satisfies Finding,
          ]
        : [],
    ),
};

const squawk: CheckRule = {
  id: 'safety',
  severity: 'both',
  scope: 'migrations',
  review: true,
  run: ({ ws, inScope }) => squawkFindings(ws, inScope, tablesCreatedIn(inScope)),
};

const ownership: CheckRule = {
  id: 'ownership',
  severity: 'error',
  scope: 'migrations',
  review: true,
  run: ({ migrations, inScope, selected, readable }) =>
    ownershipFindings(readable, migrations, new Set(inScope), selected),
};

const identifiers: CheckRule = {
  id: 'identifiers',
  severity: 'error',
  scope: 'migrations',
  review: true,
  run: ({ migrations, inScope }) => identifierFindings(migrations, inScope),
};

const schema: CheckRule = {
  id: 'schema',
  severity: 'error',
  scope: 'schema',
  review: false,
  run: ({ ws, intact }) => driftFindings(ws, intact),
};

const downs: CheckRule = {
  id: 'downs',
  severity: 'warning',
  scope: 'package',
  review: false,
  run: ({ ws, selected, readable }) =>
    selected
      .filter((pkg) => readable.includes(pkg))
      .flatMap((pkg) => downFindings(pkg, commandFor(ws, `down --backfill --package ${pkg.alias}`))),
};

/** Every rule, in the order the report lists their findings. */
export const RULES: readonly CheckRule[] = [integrity, history, syntax, squawk, ownership, identifiers, schema, downs];

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
