import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SchemaPackage } from '../workspace';
import {
  NO_TRANSACTION_HEADER,
  RELEASES_HEADER,
  REQUIRES_HEADER,
  STATEMENT_BREAKPOINT,
  splitStatements,
} from './files';
import { forgetHistory, historyOf } from './history';
import { EMPTY_SNAPSHOT, type Snapshot, type SnapshotTable } from './snapshots';
import { importDependency } from '../dependencies';

/** `-- db-kit: irreversible <why>`: a part of the migration its down cannot undo. */
export const IRREVERSIBLE_LINE = /^\s*--\s*db-kit:\s*irreversible\s+(.+)$/gim;
/** `-- db-kit: irreversible-accepted <reason>`: review accepted the irreversible parts (silences db:check). */
export const IRREVERSIBLE_ACCEPTED = /^\s*--\s*db-kit:\s*irreversible-accepted\s+\S/im;
/** A down nobody wrote yet (custom migrations): counts as no down at all. */
export const DOWN_TODO = /^\s*--\s*db-kit:\s*todo\b/im;

/** A computed or hand-written down migration, as text and as what it says about itself. */
export interface DownMigration {
  sql: string;
  statements: string[];
  /** What it cannot undo, one reason each (its `irreversible` lines). */
  irreversible: string[];
  /** A todo placeholder: there is no down yet. */
  todo: boolean;
  transactional: boolean;
}

/** `<out>/<tag>.down.sql`, beside the migration. */
export function downPath(pkg: SchemaPackage, tag: string): string {
  return join(pkg.migrationsDir, `${tag}.down.sql`);
}

export function parseDown(sql: string): DownMigration {
  return {
    sql,
    statements: splitStatements(sql),
    irreversible: [...sql.matchAll(IRREVERSIBLE_LINE)].map((m) => m[1]!.trim()),
    todo: DOWN_TODO.test(sql),
    transactional: !NO_TRANSACTION_HEADER.test(sql),
  };
}

export function readDownFile(pkg: SchemaPackage, tag: string): DownMigration | undefined {
  const path = downPath(pkg, tag);
  return existsSync(path) ? parseDown(readFileSync(path, 'utf8')) : undefined;
}

/** Partial: something stays undone (irreversible lines), or nothing was written yet (todo). */
export function isPartial(down: DownMigration): boolean {
  return down.todo || down.irreversible.length > 0;
}

type Json = Parameters<typeof import('drizzle-kit/api').generateMigration>[0];

export interface ComputedDown {
  statements: string[];
  irreversible: string[];
}

/**
 * The down of a migration that took the schema from `before` to `after`: drizzle-kit's own
 * differ, run from `after` back to `before`. Renames the migration recorded (the snapshot's
 * `_meta`) are reversed as renames, first; then the differ sees no ambiguity and never prompts.
 * What the down cannot give back is listed, never faked: an added enum value (PostgreSQL
 * cannot drop one), and the rows of a table or column the migration dropped.
 */
export async function computeDown(before: Snapshot | undefined, after: Snapshot): Promise<ComputedDown> {
  const { generateMigration } = await importDependency<typeof import('drizzle-kit/api')>('drizzle-kit/api');
  const previous = structuredClone(before ?? EMPTY_SNAPSHOT);
  const current = structuredClone(after) as Snapshot;
  const renames = reverseRenames(current);
  const irreversible: string[] = [];

  for (const [key, e] of Object.entries(current.enums ?? {})) {
    const was = previous.enums?.[key];
    if (!was) continue;
    const added = e.values.filter((v) => !was.values.includes(v));
    if (!added.length) continue;
    irreversible.push(
      `enum ${key} keeps ${added.map((v) => `'${v}'`).join(', ')}: PostgreSQL cannot drop an enum value`,
    );
    // The value stays: the differ would otherwise recreate the type, which fails on any row using it.
    was.values = [...was.values, ...added];
  }
  for (const [key, table] of Object.entries(previous.tables)) {
    const now = current.tables[key];
    if (!now) {
      irreversible.push(`table ${key} comes back empty: the migration dropped its rows`);
      continue;
    }
    for (const column of Object.keys(table.columns))
      if (!now.columns[column])
        irreversible.push(`column ${key}.${column} comes back without its values: the migration dropped them`);
  }

  // Whatever still vanishes and appears at once is a drop plus a create (the migration said so):
  // diff in two steps, drops then creates, so drizzle-kit has nothing to ask.
  const steps = ambiguous(current, previous) ? [withoutDropped(current, previous), previous] : [previous];
  const statements = [...renames];
  let from = current;
  for (const to of steps) {
    statements.push(...(await generateMigration(from as unknown as Json, to as unknown as Json)).map((s) => s.trim()));
    from = to;
  }
  return { statements, irreversible };
}

/**
 * Undoes, inside `snapshot`, the renames its migration made, and returns the SQL that does the
 * same in the database: columns first (they are keyed by the renamed table), then tables.
 */
function reverseRenames(snapshot: Snapshot): string[] {
  const meta = (snapshot._meta ?? {}) as { tables?: Record<string, string>; columns?: Record<string, string> };
  const statements: string[] = [];
  for (const [from, to] of Object.entries(meta.columns ?? {})) {
    const [schema, table, oldName] = splitKey(from, 3);
    const [, , newName] = splitKey(to, 3);
    const key = `${schema}.${table}`;
    const t = snapshot.tables[key];
    if (!t?.columns[newName] || t.columns[oldName]) continue;
    statements.push(`ALTER TABLE ${qualified(schema, table)} RENAME COLUMN "${newName}" TO "${oldName}";`);
    renameColumn(snapshot, t, newName, oldName);
  }
  for (const [from, to] of Object.entries(meta.tables ?? {})) {
    const [oldSchema, oldName] = splitKey(from);
    const [schema, newName] = splitKey(to);
    const t = snapshot.tables[`${schema}.${newName}`];
    if (!t || snapshot.tables[`${oldSchema}.${oldName}`] || oldSchema !== schema) continue;
    statements.push(`ALTER TABLE ${qualified(schema, newName)} RENAME TO "${oldName}";`);
    delete snapshot.tables[`${schema}.${newName}`];
    t.name = oldName;
    snapshot.tables[`${schema}.${oldName}`] = t;
    for (const other of Object.values(snapshot.tables)) {
      for (const fk of Object.values(other.foreignKeys ?? {})) {
        if (fk.tableFrom === newName) fk.tableFrom = oldName;
        if (fk.tableTo === newName && (fk.schemaTo || 'public') === schema) fk.tableTo = oldName;
      }
    }
  }
  snapshot._meta = { schemas: {}, tables: {}, columns: {} };
  return statements;
}

function renameColumn(snapshot: Snapshot, table: SnapshotTable, from: string, to: string): void {
  const column = table.columns[from]!;
  delete table.columns[from];
  column.name = to;
  table.columns[to] = column;
  const swap = (names: string[]) => names.map((n) => (n === from ? to : n));
  for (const fk of Object.values(table.foreignKeys ?? {})) fk.columnsFrom = swap(fk.columnsFrom);
  for (const index of Object.values(table.indexes ?? {}) as Array<{ columns?: Array<{ expression: string }> }>)
    for (const c of index.columns ?? []) if (c.expression === from) c.expression = to;
  for (const group of [table.uniqueConstraints, table.compositePrimaryKeys] as Array<
    Record<string, { columns?: string[] }>
  >)
    for (const c of Object.values(group ?? {})) if (c.columns) c.columns = swap(c.columns);
  for (const other of Object.values(snapshot.tables))
    for (const fk of Object.values(other.foreignKeys ?? {}))
      if (fk.tableTo === table.name) fk.columnsTo = swap(fk.columnsTo);
}

/** `"public"."t"."c"` or `"t"."c"` -> ['public', 't', 'c'] (depth 3); a table key (depth 2) likewise. */
function splitKey(key: string, depth: 2 | 3 = 2): [string, string, string] {
  const parts = [...key.matchAll(/"((?:[^"]|"")*)"/g)].map((m) => m[1]!);
  const [schema, a, b] = parts.length < depth ? ['public', ...parts] : parts;
  return [schema || 'public', a ?? '', b ?? ''];
}

function qualified(schema: string, table: string): string {
  return schema && schema !== 'public' ? `"${schema}"."${table}"` : `"${table}"`;
}

/** Do tables, columns or enums both vanish and appear going from `from` to `to`? */
function ambiguous(from: Snapshot, to: Snapshot): boolean {
  const both = (a: string[], b: string[]) => a.some((x) => !b.includes(x)) && b.some((x) => !a.includes(x));
  if (both(Object.keys(from.tables), Object.keys(to.tables))) return true;
  if (both(Object.keys(from.enums ?? {}), Object.keys(to.enums ?? {}))) return true;
  return Object.entries(from.tables).some(
    ([key, t]) => to.tables[key] && both(Object.keys(t.columns), Object.keys(to.tables[key]!.columns)),
  );
}

/** `from` without what `to` lacks (tables, enums, columns, and what refers to dropped columns). */
function withoutDropped(from: Snapshot, to: Snapshot): Snapshot {
  const mid = structuredClone(from);
  const removed = new Set(
    Object.keys(mid.tables)
      .filter((key) => !to.tables[key])
      .map((k) => mid.tables[k]!.name),
  );
  for (const key of Object.keys(mid.tables)) if (!to.tables[key]) delete mid.tables[key];
  for (const key of Object.keys(mid.enums ?? {})) if (!to.enums?.[key]) delete mid.enums[key];
  for (const [key, table] of Object.entries(mid.tables)) {
    const keep = to.tables[key]!.columns;
    for (const c of Object.keys(table.columns)) if (!keep[c]) delete table.columns[c];
    const alive = (names: string[] | undefined) => (names ?? []).every((n) => table.columns[n]);
    for (const [name, fk] of Object.entries(table.foreignKeys ?? {}))
      if (!alive(fk.columnsFrom) || removed.has(fk.tableTo)) delete table.foreignKeys[name];
    const indexes = table.indexes as Record<
      string,
      { columns?: Array<{ expression: string; isExpression?: boolean }> }
    >;
    for (const [name, index] of Object.entries(indexes ?? {}))
      if (!(index.columns ?? []).every((c) => c.isExpression || table.columns[c.expression])) delete indexes[name];
    for (const group of [table.uniqueConstraints, table.compositePrimaryKeys] as Array<
      Record<string, { columns?: string[] }>
    >)
      for (const [name, c] of Object.entries(group ?? {})) if (!alive(c.columns)) delete group[name];
  }
  return mid;
}

/** The text of a computed down file. */
export function formatDown(tag: string, down: ComputedDown): string {
  const lines = [
    `-- db-kit: down of ${tag}, computed from its snapshots by db-kit. Edit it if you edit the migration.`,
  ];
  for (const why of down.irreversible) lines.push(`-- db-kit: irreversible ${why}`);
  if (!down.statements.length) lines.push('-- Nothing in the schema to undo.', 'SELECT 1;');
  else lines.push(down.statements.join(`\n${STATEMENT_BREAKPOINT}\n`));
  return `${lines.join('\n')}\n`;
}

/** A custom migration's down: empty, with the reminder to write it. */
export function customDownText(tag: string): string {
  return [
    `-- db-kit: down of ${tag}, a custom migration: its down cannot be computed.`,
    '-- db-kit: todo write the SQL that undoes it below, then delete this line (db-kit rollback refuses it until ' +
      'then).',
    '',
  ].join('\n');
}

/**
 * promote's adopting migration: it opens with `-- Adopts <tables> from <package> (db-kit promote)`
 * (an older one also had a `requires` header). Its down hands the tables back and never drops them.
 */
export function isAdoptMigration(up: string): boolean {
  return (
    /^--\s*Adopts\s.*\(db-kit promote\)/m.test(up) ||
    ([...up.matchAll(REQUIRES_HEADER)].length > 0 && /^--\s*Adopts\s/m.test(up))
  );
}

/**
 * The down of journal entry `idx`: computed from the snapshots before and after it; for promote's
 * hand-over pair a down that gives the ownership back and leaves the table; for a custom migration
 * (SQL but no schema change) the reminder to write one.
 */
export async function downTextFor(pkg: SchemaPackage, tag: string, idx: number): Promise<string> {
  const up = readFileSync(join(pkg.migrationsDir, `${tag}.sql`), 'utf8');
  const releases = RELEASES_HEADER.exec(up);
  if (releases) {
    return [
      `-- db-kit: down of ${tag}: takes back the hand-over of ${releases[1]} to ${releases[2]}.`,
      '-- The release changed nothing in the database, so neither does its down: removing its bookkeeping row',
      '-- gives the tables back to this package. Roll back the adopting migration first.',
      'SELECT 1;',
      '',
    ].join('\n');
  }
  if (isAdoptMigration(up)) {
    return [
      `-- db-kit: down of ${tag}: gives the adopted tables back; never drops them (their rows stay).`,
      '-- The adopt only created what was missing, so its down removes its bookkeeping row and nothing else.',
      'SELECT 1;',
      '',
    ].join('\n');
  }
  const history = historyOf(pkg);
  const after = history.snapshotAt(idx);
  const before = idx > 0 ? history.snapshotAt(idx - 1) : undefined;
  const custom = !after || (before && sameSchema(before, after));
  if (custom && splitStatements(up).length) return customDownText(tag);
  return formatDown(tag, await computeDown(before, after ?? EMPTY_SNAPSHOT));
}

function sameSchema(a: Snapshot, b: Snapshot): boolean {
  const strip = (s: Snapshot) => JSON.stringify({ ...s, id: '', prevId: '', _meta: undefined });
  return strip(a) === strip(b);
}

/** Writes `<tag>.down.sql` for a journal entry; returns its path. */
export async function writeDown(pkg: SchemaPackage, tag: string, idx: number): Promise<string> {
  const path = downPath(pkg, tag);
  writeFileSync(path, await downTextFor(pkg, tag, idx));
  forgetHistory(pkg); // its migration's downSql
  return path;
}

/**
 * Writes the missing downs of a package's history, each from the snapshots on either side of its
 * migration (`db-kit down --backfill`). Existing downs are left as they are; returns what it wrote.
 */
export async function backfillDowns(pkg: SchemaPackage): Promise<Array<{ tag: string; path: string }>> {
  const written: Array<{ tag: string; path: string }> = [];
  for (const entry of [...historyOf(pkg).entries]) {
    if (existsSync(downPath(pkg, entry.tag))) continue;
    written.push({ tag: entry.tag, path: await writeDown(pkg, entry.tag, entry.idx) });
  }
  return written;
}
