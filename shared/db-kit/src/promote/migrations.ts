import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DbKitError } from '../errors';
import {
  ADOPTED_GUARD_END,
  ADOPTIONS_TABLE,
  adoptedGuardStart,
  journalPath,
  journalText,
  STATEMENT_BREAKPOINT,
  timestampName,
  withEntry,
} from '../migrations/files';
import { statementSpans } from '../check/sql';
import { historyOf } from '../migrations/history';
import { snapshotPath, type Snapshot } from '../migrations/snapshots';
import { scriptFor } from '../scripts';
import type { SchemaPackage } from '../workspace';
import type { FileChange } from './changes';
import type { TableGraph } from './tables';
import { literal } from '../sql-text';
import { importDependency } from '../dependencies';

export interface PackageMigration {
  pkg: SchemaPackage;
  tag: string;
  path: string;
  sql: string;
}

export interface MigrationPlan {
  /** The team's migration that hands the tables over; changes nothing in the database. */
  release: PackageMigration;
  /** The shared migration that takes them: builds what is missing, leaves what exists. */
  adopt: PackageMigration;
  /** The team's earlier migrations whose statements on the adopted objects now skip where the adopt built them. */
  guarded: string[];
  changes: FileChange[];
}

/**
 * The migrations, snapshots and journal entries that move ownership of `tables` from a team
 * package to the shared one. No row is copied or dropped: the release changes nothing, and the
 * adopt migration only creates what a database does not have yet.
 *
 * Both snapshots are written the way drizzle-kit would write them after the code move, so the
 * next generate of either package finds nothing to do.
 */
export async function planMigrations(
  graph: TableGraph,
  shared: SchemaPackage,
  tables: string[],
  now = Date.now(),
): Promise<MigrationPlan> {
  const team = graph.pkg;
  const keys = tables.map((name) => graph.get(name).key);
  const enums = graph.enumsOf(tables);
  const teamSnapshot = graph.snapshot;
  const sharedSnapshot = historyOf(shared).latestSnapshot();
  if (!sharedSnapshot)
    throw new DbKitError(
      `${shared.name} has no migration yet, so there is no schema to promote into.`,
      `Run ${scriptFor(shared, 'generate', shared)} first.`,
    );
  for (const key of [...keys.map((k) => `table ${k}`), ...enums.map((k) => `enum ${k}`)]) {
    const [kind, name] = key.split(' ') as ['table' | 'enum', string];
    if ((kind === 'table' ? sharedSnapshot.tables : sharedSnapshot.enums)[name]) {
      throw new DbKitError(
        `${shared.name} already has a ${kind} ${name} in its snapshot.`,
        'Two packages cannot own the same object: rename one of them first.',
      );
    }
  }

  const slug = slugFor(tables);
  const releaseWhen = Math.max(now, lastWhen(team) + 1000);
  // One second later than the release, and after every shared migration: the adopt sorts after it.
  const adoptWhen = Math.max(releaseWhen + 1000, lastWhen(shared) + 1000);
  const releaseTag = `${timestampName(new Date(releaseWhen))}_release_${slug}`;
  const adoptTag = `${timestampName(new Date(adoptWhen))}_adopt_${slug}`;

  const releaseSql = [
    `-- db-kit: releases ${tables.join(', ')} to ${shared.name}`,
    '-- Written by db-kit promote. Nothing changes in the database: the tables, their rows and constraints stay.',
    `-- From here on ${shared.name}'s migrations own them; this file records the hand-over in ${team.name}'s history.`,
    'SELECT 1;',
    '',
  ].join('\n');

  const objects = [...keys.map((k) => `table:${k}`), ...enums.map((k) => `enum:${k}`)];
  const statements = await createStatements(teamSnapshot, keys, enums);
  const adoptSql = [
    `-- Adopts ${tables.join(', ')} from ${team.name} (db-kit promote). Ownership moves, rows stay.`,
    `-- Self-contained: it needs none of ${team.name}'s history. Where that history built a table, this`,
    `-- changes nothing for it and ${team.name}'s own migrations finish it. Where the table is missing, this`,
    `-- builds it as that history left it, records so in ${ADOPTIONS_TABLE}, and ${team.name}'s earlier`,
    '-- statements on it skip (they read that record). drizzle-kit migrate runs the same SQL: it converges too.',
    [
      'CREATE SCHEMA IF NOT EXISTS "drizzle";',
      `CREATE TABLE IF NOT EXISTS ${ADOPTIONS_TABLE} (adoption text NOT NULL, object text NOT NULL, ` +
        `built boolean NOT NULL, PRIMARY KEY (adoption, object));`,
      `INSERT INTO ${ADOPTIONS_TABLE} (adoption, object, built) VALUES\n${objects
        .map((object) => `  (${literal(adoptTag)}, ${literal(object)}, ${missingTest(object)})`)
        .join(',\n')}\nON CONFLICT (adoption, object) DO NOTHING;`,
      ...statements.map((statement) => builtOnly(adoptTag, governingObject(statement), idempotent(statement))),
    ].join(`\n${STATEMENT_BREAKPOINT}\n`),
    '',
  ].join('\n');

  const guarded = await guardTeamHistory(team, objects, teamSnapshot, keys);

  const teamNext: Snapshot = { ...structuredClone(teamSnapshot), id: randomUUID(), prevId: teamSnapshot.id };
  for (const key of keys) delete teamNext.tables[key];
  for (const key of enums) delete teamNext.enums[key];
  const sharedNext: Snapshot = { ...structuredClone(sharedSnapshot), id: randomUUID(), prevId: sharedSnapshot.id };
  for (const key of keys) sharedNext.tables[key] = structuredClone(teamSnapshot.tables[key]!);
  for (const key of enums) sharedNext.enums[key] = structuredClone(teamSnapshot.enums[key]!);

  const release = { pkg: team, tag: releaseTag, path: join(team.migrationsDir, `${releaseTag}.sql`), sql: releaseSql };
  const adopt = { pkg: shared, tag: adoptTag, path: join(shared.migrationsDir, `${adoptTag}.sql`), sql: adoptSql };
  return {
    release,
    adopt,
    guarded: guarded.map((change) => change.path),
    changes: [
      ...guarded,
      ...migrationChanges(release, releaseWhen, teamNext),
      ...migrationChanges(adopt, adoptWhen, sharedNext),
    ],
  };
}

/** The .sql file, the next NNNN_snapshot.json and the journal entry, as drizzle-kit generate writes them. */
function migrationChanges(migration: PackageMigration, when: number, snapshot: Snapshot): FileChange[] {
  const { pkg } = migration;
  const { journal: next, idx } = withEntry(historyOf(pkg).journal, { when, tag: migration.tag });
  const journalFile = journalPath(pkg);
  const snapshotFile = snapshotPath(pkg, idx);
  for (const path of [migration.path, snapshotFile]) {
    if (existsSync(path))
      throw new DbKitError(
        `${path} already exists.`,
        'Someone generated a migration at the same moment: commit or remove it, then run promote again.',
      );
  }
  return [
    { path: migration.path, before: undefined, after: migration.sql },
    { path: snapshotFile, before: undefined, after: JSON.stringify(snapshot, null, 2) },
    {
      path: journalFile,
      before: existsSync(journalFile) ? readFileSync(journalFile, 'utf8') : undefined,
      after: journalText(next),
      journalOf: pkg,
    },
  ];
}

/** drizzle-kit's own CREATE statements for the tables and enums, as a fresh database would get them. */
async function createStatements(snapshot: Snapshot, tableKeys: string[], enumKeys: string[]): Promise<string[]> {
  const { generateMigration } = await importDependency<typeof import('drizzle-kit/api')>('drizzle-kit/api');
  const empty = { ...snapshot, tables: {}, enums: {}, schemas: {}, sequences: {}, roles: {}, policies: {}, views: {} };
  const wanted = {
    ...empty,
    tables: Object.fromEntries(tableKeys.map((k) => [k, snapshot.tables[k]])),
    enums: Object.fromEntries(enumKeys.map((k) => [k, snapshot.enums[k]])),
  };
  type Json = Parameters<typeof generateMigration>[0];
  return (await generateMigration(empty as unknown as Json, wanted as unknown as Json)).map((s) => s.trim());
}

const CREATE_TABLE = /^CREATE TABLE ("[^"]+"(?:\."[^"]+")?)/;
const CREATE_INDEX = /^CREATE (UNIQUE )?INDEX ("[^"]+")/;
const CREATE_TYPE = /^CREATE TYPE "([^"]+)"\."([^"]+)"/;
const ADD_CONSTRAINT = /^ALTER TABLE ("[^"]+"(?:\."[^"]+")?) ADD CONSTRAINT "([^"]+)"/;
const CREATE_SEQUENCE = /^CREATE SEQUENCE ("[^"]+"(?:\."[^"]+")?)/;
const ENABLE_RLS = /^ALTER TABLE "[^"]+"(?:\."[^"]+")? ENABLE ROW LEVEL SECURITY;$/;

/** Rewrites one of drizzle-kit's CREATE statements so that it does nothing where the object exists. */
export function idempotent(statement: string): string {
  let m: RegExpExecArray | null;
  if ((m = CREATE_TABLE.exec(statement))) return statement.replace(CREATE_TABLE, `CREATE TABLE IF NOT EXISTS ${m[1]}`);
  if ((m = CREATE_INDEX.exec(statement)))
    return statement.replace(CREATE_INDEX, `CREATE ${m[1] ?? ''}INDEX IF NOT EXISTS ${m[2]}`);
  if ((m = CREATE_SEQUENCE.exec(statement)))
    return statement.replace(CREATE_SEQUENCE, `CREATE SEQUENCE IF NOT EXISTS ${m[1]}`);
  if ((m = CREATE_TYPE.exec(statement))) {
    return guarded(
      `SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = ${literal(m[1]!)} ` +
        `AND t.typname = ${literal(m[2]!)}`,
      statement,
    );
  }
  if ((m = ADD_CONSTRAINT.exec(statement))) {
    const table = m[1]!.includes('.') ? m[1]! : `"public".${m[1]}`;
    return guarded(
      `SELECT 1 FROM pg_constraint WHERE conname = ${literal(m[2]!)} AND conrelid = to_regclass(${literal(table)})`,
      statement,
    );
  }
  if (ENABLE_RLS.test(statement)) return statement;
  throw new DbKitError(
    `promote cannot make this statement safe to run on a database that already has the table: ` +
      `${statement.split('\n')[0]}`,
    'Promote the table by hand (an adopting migration with IF NOT EXISTS guards), or simplify what it declares.',
  );
}

/** SQL that is true when the object (`table:public.x`, `enum:public.e`) does not exist yet. */
function missingTest(object: string): string {
  const [kind, key] = [object.slice(0, object.indexOf(':')), object.slice(object.indexOf(':') + 1)];
  const [schema, name] = key.split('.') as [string, string];
  if (kind === 'table') return `to_regclass(${literal(`"${schema}"."${name}"`)}) IS NULL`;
  return (
    `NOT EXISTS (SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace ` +
    `WHERE n.nspname = ${literal(schema)} AND t.typname = ${literal(name)})`
  );
}

/** The adopted table or enum a drizzle-kit CREATE statement belongs to. */
function governingObject(statement: string): string {
  const table = /^(?:CREATE TABLE|ALTER TABLE|CREATE (?:UNIQUE )?INDEX "[^"]+" ON)\s+("[^"]+"(?:\."[^"]+")?)/.exec(
    statement,
  )?.[1];
  if (table) {
    const parts = table.replace(/"/g, '').split('.');
    return `table:${parts.length > 1 ? parts.join('.') : `public.${parts[0]}`}`;
  }
  const type = CREATE_TYPE.exec(statement);
  if (type) return `enum:${type[1]}.${type[2]}`;
  throw new DbKitError(
    `promote cannot tell which adopted object this statement builds: ${statement.split('\n')[0]}`,
    'Promote the table by hand, or simplify what it declares.',
  );
}

/** Runs the statement only where this adoption built the object (it was missing when the adopt began). */
function builtOnly(adoption: string, object: string, statement: string): string {
  return (
    `DO $db_kit_adopt$ BEGIN\n\tIF EXISTS (SELECT 1 FROM ${ADOPTIONS_TABLE} WHERE adoption = ${literal(adoption)} ` +
    `AND object = ${literal(object)} AND built) THEN` +
    `\n\t\t${statement.replace(/\n/g, '\n\t\t')}\n\tEND IF;\nEND $db_kit_adopt$;`
  );
}

/**
 * Rewrites the team's migrations so that each statement on an adopted object skips where the adopt
 * built that object (read from ADOPTIONS_TABLE), and runs as before everywhere else. Only those
 * statements change, each wrapped whole, so the checksum (which unwraps them) stays what was applied.
 */
async function guardTeamHistory(
  team: SchemaPackage,
  objects: string[],
  snapshot: Snapshot,
  tableKeys: string[],
): Promise<FileChange[]> {
  const adopted = new Set(objects);
  const indexTable = new Map<string, string>();
  for (const key of tableKeys) {
    const schema = key.split('.')[0];
    for (const index of Object.values(snapshot.tables[key]?.indexes ?? {}))
      indexTable.set(`index:${schema}.${index.name}`, `table:${key}`);
  }
  const changes: FileChange[] = [];
  // A down undoes what its migration did, so where the adopt built the object and the migration's
  // statements skip, the down's statements on that object must skip too.
  const files = historyOf(team).entries.flatMap((entry) => [`${entry.tag}.sql`, `${entry.tag}.down.sql`]);
  for (const file of files) {
    const path = join(team.migrationsDir, file);
    if (!existsSync(path)) continue;
    const text = readFileSync(path, 'utf8');
    const bytes = Buffer.from(text, 'utf8');
    let spans: Awaited<ReturnType<typeof statementSpans>>;
    try {
      spans = await statementSpans(text);
    } catch (error) {
      throw new DbKitError(
        `${path} does not parse (${(error as Error).message}), ` +
          `so promote cannot tell which statements build the tables.`,
        'Fix the file (pnpm db:check shows where), then promote again.',
      );
    }
    const pieces: Buffer[] = [];
    let at = 0;
    for (const span of spans) {
      const touched = new Set<string>();
      const others: string[] = [];
      for (const target of span.targets) {
        if (target.action === 'reference') continue;
        const key = `${target.kind}:${target.qualifiedName}`;
        const object = adopted.has(key) ? key : indexTable.get(key);
        if (object) touched.add(object);
        else if (target.kind === 'table' || target.kind === 'enum') others.push(key);
      }
      if (!touched.size) continue;
      const statement = bytes.subarray(span.startByte, span.endByte).toString('utf8');
      if (others.length || /\bCONCURRENTLY\b/i.test(statement)) {
        throw new DbKitError(
          `${path}: a statement builds an adopted object together with ` +
            `${others[0] ?? 'a concurrent index'}: ${statement.split('\n')[0]}`,
          'Split it in two statements (one per table), commit, then promote again.',
        );
      }
      pieces.push(bytes.subarray(at, span.startByte));
      const body = statement.trimEnd().endsWith(';') ? statement : `${statement};`;
      pieces.push(Buffer.from(`${adoptedGuardStart([...touched].sort())}\n${body}\n${ADOPTED_GUARD_END}`, 'utf8'));
      at = span.endByte;
    }
    if (!pieces.length) continue;
    pieces.push(bytes.subarray(at));
    changes.push({ path, before: text, after: Buffer.concat(pieces).toString('utf8') });
  }
  return changes;
}

function guarded(existsQuery: string, statement: string): string {
  return (
    `DO $db_kit$ BEGIN\n\tIF NOT EXISTS (${existsQuery}) ` +
    `THEN\n\t\t${statement.replace(/\n/g, '\n\t\t')}\n\tEND IF;\nEND $db_kit$;`
  );
}

function lastWhen(pkg: SchemaPackage): number {
  return historyOf(pkg).entries.reduce((max, e) => Math.max(max, e.when), 0);
}

function slugFor(tables: string[]): string {
  const joined = tables.join('_');
  return joined.length <= 48 ? joined : `${tables[0]}_and_${tables.length - 1}_more`;
}
