import { drizzle } from 'drizzle-orm/postgres-js';
import type { Sql } from '../connection';
import { DbKitError } from '../errors';
import type { SchemaPackage } from '../workspace';
import type { LoadedSchema } from './load';
import { unionOf } from './load';
import { ownerOf, schemaObjects } from './objects';

export interface PushStatement {
  sql: string;
  /** `table:public.users`; undefined when the statement names nothing we recognise. */
  target?: string;
  owner?: SchemaPackage;
  /** Drops or rewrites data: a table, column, type or rows. */
  dataLoss: boolean;
}

export interface PushPlan {
  /** What push will run: statements on objects the pushed packages own. */
  statements: PushStatement[];
  /** Differences on objects of other packages (or of nobody): reported, never run. */
  leftAlone: PushStatement[];
  /** Statements whose effect would reach other packages' objects (TRUNCATE ... CASCADE): push stops. */
  refused: PushStatement[];
}

/**
 * Plans a dev-only push. The desired state is the UNION of every package's schema, so a
 * table of another package is never "missing" and never dropped (drizzle-kit push, given one
 * package's schema, drops the others'; its tablesFilter still drops their enums and sequences).
 * Of the resulting statements, only those on objects the pushed packages own are kept.
 *
 * @example
 *   const plan = await planPush(sql, await loadSchemas(ws.allInOrder()), ws.packages, [ws.resolve('teamd')]);
 *   plan.statements.filter((s) => s.dataLoss); // ask before these
 */
export async function planPush(
  sql: Sql,
  loaded: LoadedSchema[],
  packages: SchemaPackage[],
  scope: SchemaPackage[],
  interactive: boolean,
): Promise<PushPlan> {
  const objects = schemaObjects(loaded, packages);
  const { pushSchema } = await import('drizzle-kit/api');
  const db = drizzle(sql);
  // drizzle-kit's api expects node-postgres results ({ rows }); postgres.js returns the rows.
  const adapter = { execute: async (query: Parameters<typeof db.execute>[0]) => ({ rows: await db.execute(query) }) };
  const result = await quietUnlessInteractive(interactive, () =>
    pushSchema(unionOf(loaded), adapter as never, objects.schemas, objects.tableFilters),
  );
  const plan: PushPlan = { statements: [], leftAlone: [], refused: [] };
  for (const raw of result.statementsToExecute) {
    // CASCADE on a DROP would remove other packages' foreign keys and views with it: without it,
    // PostgreSQL stops the push instead, naming what depends on the object.
    const text = raw.replace(
      /^(\s*DROP\s+(?:TABLE|TYPE|SEQUENCE|VIEW|SCHEMA)\b[\s\S]*?)\s+CASCADE\s*(;?)\s*$/i,
      '$1$2',
    );
    const target = statementTarget(text);
    const owner = target ? ownerOf(objects, packages, target.kind, target.name) : undefined;
    const statement: PushStatement = {
      sql: text.trim(),
      target: target && `${target.kind}:${target.name}`,
      owner,
      dataLoss: DATA_LOSS.test(text),
    };
    const creatingSchema = /^\s*CREATE\s+SCHEMA\b/i.test(text);
    const inScope = creatingSchema || Boolean(owner && scope.includes(owner));
    if (inScope && /^\s*TRUNCATE\b[\s\S]*\bCASCADE\b/i.test(text)) plan.refused.push(statement);
    else (inScope ? plan.statements : plan.leftAlone).push(statement);
  }
  return plan;
}

const DATA_LOSS = /\b(DROP\s+(TABLE|COLUMN|TYPE|SEQUENCE|SCHEMA|VIEW)|TRUNCATE|SET\s+DATA\s+TYPE|DELETE\s+FROM)\b/i;

const NAME = String.raw`((?:"[^"]+"\.)?"[^"]+")`;
const TARGETS: Array<[RegExp, string]> = [
  [
    new RegExp(String.raw`^(?:CREATE|ALTER|DROP)\s+TABLE\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?(?:ONLY\s+)?${NAME}`, 'i'),
    'table',
  ],
  [new RegExp(String.raw`^TRUNCATE\s+(?:TABLE\s+)?${NAME}`, 'i'), 'table'],
  [
    new RegExp(
      String.raw`^CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?"[^"]+"\s+ON\s+(?:ONLY\s+)?${NAME}`,
      'i',
    ),
    'table',
  ],
  [new RegExp(String.raw`^DROP\s+INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+EXISTS\s+)?${NAME}`, 'i'), 'index'],
  [new RegExp(String.raw`^(?:CREATE|ALTER|DROP)\s+TYPE\s+(?:IF\s+EXISTS\s+)?${NAME}`, 'i'), 'enum'],
  [new RegExp(String.raw`^(?:CREATE|ALTER|DROP)\s+SEQUENCE\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?${NAME}`, 'i'), 'sequence'],
];

/** The object a drizzle-kit push statement changes: `{ kind: 'table', name: 'public.users' }`. */
export function statementTarget(statement: string): { kind: string; name: string } | undefined {
  const text = statement.trim().replace(/^DO\s+\$\$\s*BEGIN\s+/i, '');
  for (const [pattern, kind] of TARGETS) {
    const match = pattern.exec(text);
    if (!match) continue;
    const parts = match[1]!.split('.').map((p) => p.replace(/^"|"$/g, ''));
    return { kind, name: parts.length === 2 ? `${parts[0]}.${parts[1]}` : `public.${parts[0]}` };
  }
  return undefined;
}

/** Runs the plan in one transaction: a failing statement leaves the database as it was. */
export async function applyPush(sql: Sql, plan: PushPlan): Promise<void> {
  let index = 0;
  try {
    await sql.begin(async (tx) => {
      for (index = 0; index < plan.statements.length; index++) await tx.unsafe(plan.statements[index]!.sql);
    });
  } catch (error) {
    const statement = plan.statements[index]?.sql.split('\n')[0]?.slice(0, 100) ?? '';
    const pg = error as { message?: string; code?: string };
    throw new DbKitError(
      `Push failed at statement ${index + 1} of ${plan.statements.length} (${statement}): ${pg.message ?? String(error)}${pg.code ? ` [${pg.code}]` : ''}. Nothing was changed.`,
      'A package this one builds on may be behind: run its migrate (pnpm db:migrate) first, then push again.',
    );
  }
}

/**
 * drizzle-kit draws a spinner on stdout while it reads the database. On a terminal it stays,
 * because drizzle-kit may also ask there whether a new table or column is a rename.
 */
async function quietUnlessInteractive<T>(interactive: boolean, work: () => Promise<T>): Promise<T> {
  if (interactive) return work();
  const write = process.stdout.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    return await work();
  } finally {
    process.stdout.write = write;
  }
}
