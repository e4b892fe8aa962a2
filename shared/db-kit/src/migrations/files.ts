import { createHash } from '../crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DbKitError } from '../errors';
import type { SchemaPackage } from '../workspace';
import { codeOnly, commandTexts } from './statements';

/** `20261124_081500_add_budget`: UTC date, UTC time, slug. */
export const MIGRATION_NAME = /^(\d{8})_(\d{6})_([a-z0-9_]+)$/;
export const STATEMENT_BREAKPOINT = '--> statement-breakpoint';
/**
 * A migration that must not run inside a transaction (CREATE INDEX CONCURRENTLY) says so in a line of
 * its leading comments (the first line, or any line before its first statement).
 */
export const NO_TRANSACTION_HEADER = /^\s*--\s*db-kit:\s*no-transaction\b/im;
/**
 * `-- db-kit: requires @teamd/database 20261124_101500_release_teamd_projects`: this migration runs only
 * after that package's history up to that tag (written by promote into an adopting migration).
 */
export const REQUIRES_HEADER = /^\s*--\s*db-kit:\s*requires\s+(\S+)\s+(\S+)\s*$/gim;
/**
 * `-- db-kit: releases teamd_projects to @large-event/database`: from this migration on, the named
 * package owns what this package's earlier migrations built for those tables (written by promote).
 */
export const RELEASES_HEADER = /^\s*--\s*db-kit:\s*releases\s+(.+?)\s+to\s+(@?[a-z0-9][\w.-]*(?:\/[\w.-]+)?)/im;

export interface JournalEntry {
  idx: number;
  version: string;
  when: number;
  tag: string;
  breakpoints: boolean;
}

export interface Journal {
  version: string;
  dialect: string;
  entries: JournalEntry[];
}

export interface MigrationFile {
  packageName: string;
  tag: string;
  /** Position in the journal; the snapshot after this migration is `meta/<idx>_snapshot.json`. */
  idx: number;
  /** Absolute path of the .sql file. */
  path: string;
  /** The file's text as read. */
  text: string;
  /** The journal's `when`: what drizzle's migrator records as created_at. */
  when: number;
  /** Sort key across packages: the UTC timestamp of the name, `YYYYMMDDHHMMSS`. */
  orderKey: string;
  /**
   * What we record and compare: the checksum of its statements, not its comments (`checksum`), so a
   * waiver or a comment added to an applied migration changes nothing that ran.
   */
  hash: string;
  /** sha256 of the whole text: what drizzle-kit's migrator (and db-kit before comments were left out) records. */
  textHash: string;
  /**
   * sha256 of the bytes as they are, when they differ from the LF text (a CRLF checkout): a row recorded so still
   * matches.
   */
  rawHash?: string;
  statements: string[];
  /** Where each statement starts in the file's text. */
  statementOffsets: number[];
  transactional: boolean;
  /** The line of a `-- db-kit: no-transaction` written after the first statement, where it means nothing. */
  misplacedNoTransaction?: number;
  /** Other packages' migrations that must be applied before this one (its `requires` headers). */
  requires: Array<{ packageName: string; tag: string }>;
  /** The text of `<tag>.down.sql` beside it, when there is one: stored in the bookkeeping row on apply. */
  downSql?: string;
}

export function journalPath(pkg: SchemaPackage): string {
  return join(pkg.migrationsDir, 'meta', '_journal.json');
}

/** The journal on disk, checked for shape. Read it through `historyOf(pkg).journal` (history.ts), which keeps it. */
export function readJournalFile(pkg: SchemaPackage): Journal {
  const file = journalPath(pkg);
  if (!existsSync(file)) return { version: '7', dialect: 'postgresql', entries: [] };
  const journal = readJsonFile(pkg, file);
  const problem = journalProblem(journal);
  if (problem) throw malformedFile(pkg, file, problem);
  return journal as Journal;
}

/** What is wrong with a parsed journal's shape (drizzle-kit's: `entries` an array of {idx, tag, when}), if anything. */
export function journalProblem(journal: unknown): string | undefined {
  const entries = (journal as { entries?: unknown } | null)?.entries;
  if (!Array.isArray(entries)) return "its 'entries' is not a list";
  const bad = entries.findIndex(
    (e) => typeof e !== 'object' || e === null || typeof e.tag !== 'string' || typeof e.idx !== 'number',
  );
  return bad === -1 ? undefined : `its entry number ${bad} has no tag or idx`;
}

/**
 * A migration-history JSON file (journal, snapshot) parsed, or an error that names it and says how to get it
 * back: these files are generated, so git holds the good version.
 */
export function readJsonFile(pkg: SchemaPackage, file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw malformedFile(pkg, file, `not valid JSON (${(error as Error).message})`);
  }
}

/** A journal or snapshot that cannot be read: the message names the file, the hint how to get it back. */
export class MalformedFile extends DbKitError {}

function malformedFile(pkg: SchemaPackage, file: string, problem: string): MalformedFile {
  const shown = relative(pkg.root, file) || file;
  return new MalformedFile(
    `${shown} is malformed: ${problem}.`,
    `Restore it from git (git checkout -- ${shown}), or after a merge take main's version and run generate again.`,
  );
}

/** A journal as drizzle-kit writes it (two-space JSON, no final newline): the one way the engine writes journals. */
export function journalText(journal: Journal): string {
  return JSON.stringify(journal, null, 2);
}

/** The journal with one more entry, numbered after its last one, as drizzle-kit generate appends it. */
export function withEntry(journal: Journal, entry: { when: number; tag: string }): { journal: Journal; idx: number } {
  const idx = (journal.entries.at(-1)?.idx ?? -1) + 1;
  const added: JournalEntry = {
    idx,
    version: journal.version ?? '7',
    when: entry.when,
    tag: entry.tag,
    breakpoints: true,
  };
  return { journal: { ...journal, entries: [...journal.entries, added] }, idx };
}

/** sha256 of a migration's text, line ends normalised to LF (a CRLF checkout hashes as the LF file git stores). */
export function hashMigration(text: string): string {
  return createHash('sha256').update(text.replace(/\r\n/g, '\n')).digest('hex');
}

/**
 * Where a shared migration that adopts a team's objects (db-kit promote) records, per object,
 * whether it built it (the object was missing) or found it built by the team's history.
 */
export const ADOPTIONS_TABLE = '"drizzle"."db_kit_adoptions"';

/**
 * The wrapper promote puts around a team statement on an object shared adopted: the statement
 * skips where the adopt built the object, and runs as before everywhere else. It reads
 * ADOPTIONS_TABLE dynamically, so it also runs where that table does not exist (yet).
 */
export function adoptedGuardStart(objects: string[]): string {
  const list = objects.map((o) => `''${o.replace(/'/g, "''''")}''`).join(', ');
  return (
    `DO $db_kit_adopted$ DECLARE skip boolean := false; BEGIN
IF to_regclass('${ADOPTIONS_TABLE}') IS NOT NULL THEN ` +
    `EXECUTE 'SELECT EXISTS (SELECT 1 FROM ${ADOPTIONS_TABLE} WHERE built AND object IN (${list}))' ` +
    `INTO skip; END IF;
IF NOT skip THEN`
  );
}
export const ADOPTED_GUARD_END = 'END IF; END $db_kit_adopted$;';
const ADOPTED_GUARD =
  /DO \$db_kit_adopted\$ DECLARE skip boolean := false; BEGIN\n[^\n]*\nIF NOT skip THEN\n([\s\S]*?)\nEND IF; END \$db_kit_adopted\$;/g;

/** A whole-line comment that does not steer the run: not a `-- db-kit:` directive, not a statement breakpoint. */
const PLAIN_COMMENT_LINE = /^[ \t]*--(?!>\s*statement-breakpoint)(?!\s*db-kit:).*(?:\n|$)/gim;

/**
 * The checksum of a migration's statements: sha256 of its text without whole-line comments (waivers,
 * notes), keeping `-- db-kit:` directives and breakpoints, and with promote's adopted-object guards
 * unwrapped (the statement inside is what was applied). A generated file has neither, so its checksum
 * equals drizzle's hash of the text. (A line that starts with `--` inside a multi-line string literal
 * would count as a comment: migrations do not hold such literals.)
 */
export function checksum(text: string): string {
  return hashMigration(text.replace(ADOPTED_GUARD, '$1').replace(PLAIN_COMMENT_LINE, ''));
}

/** Whether a bookkeeping row's hash records this file: the statements' checksum, or drizzle's hash of the text. */
export function recordsFile(recordedHash: string, file: Pick<MigrationFile, 'hash' | 'textHash' | 'rawHash'>): boolean {
  return recordedHash === file.hash || recordedHash === file.textHash || recordedHash === file.rawHash;
}

/** `YYYYMMDD_HHMMSS` for a moment, in UTC. */
export function timestampName(date: Date): string {
  const iso = date.toISOString(); // 2026-11-24T08:15:00.000Z
  return (
    `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}` +
    `_${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`
  );
}

function orderKeyOf(tag: string, when: number): string {
  const named = MIGRATION_NAME.exec(tag);
  return named ? `${named[1]}${named[2]}` : timestampName(new Date(when)).replace('_', '');
}

/** Splits a migration into the statements drizzle would run, dropping empty chunks. */
export function splitStatements(text: string): string[] {
  return splitStatementsAt(text).map((s) => s.text);
}

/** The statements with where each starts in `text`, so an error's position maps to the file's line. */
export function splitStatementsAt(text: string): Array<{ text: string; offset: number }> {
  const statements: Array<{ text: string; offset: number }> = [];
  let offset = 0;
  for (const chunk of text.split(STATEMENT_BREAKPOINT)) {
    const trimmed = chunk.trim();
    if (trimmed.replace(/--[^\n]*/g, '').trim().length > 0)
      statements.push({ text: trimmed, offset: offset + chunk.indexOf(trimmed) });
    offset += chunk.length + STATEMENT_BREAKPOINT.length;
  }
  return statements;
}

/**
 * The commands of a migration's text, one per top-level `;` within each breakpoint chunk (see commandTexts),
 * with where each starts in the text: what the runner sends, one message each, and what check hands to
 * Postgres's parser. The one statement splitter.
 */
export function commandsIn(text: string): Array<{ text: string; offset: number }> {
  return commandsOfStatements(splitStatementsAt(text));
}

/** `commandsIn` for statements split already (a MigrationFile's `statements` and `statementOffsets`). */
export function commandsOfStatements(
  statements: Array<{ text: string; offset: number }>,
): Array<{ text: string; offset: number }> {
  return statements.flatMap((s) => commandTexts(s.text).map((c) => ({ text: c.text, offset: s.offset + c.offset })));
}

/**
 * Whether the leading comments declare `-- db-kit: no-transaction`, and the line of one written after
 * the first statement (ignored, so the runner refuses the file rather than guess).
 */
export function noTransactionHeader(text: string): { declared: boolean; misplacedLine?: number } {
  // Most files have no such line at all: then there is nothing to place (and no need to blank the code).
  if (!NO_TRANSACTION_HEADER.test(text)) return { declared: false, misplacedLine: undefined };
  const lines = text.split('\n');
  const code = codeOnly(text).split('\n');
  const firstCode = code.findIndex((l) => l.trim().length > 0);
  const headerEnd = firstCode === -1 ? lines.length : firstCode;
  let declared = false;
  let misplacedLine: number | undefined;
  lines.forEach((line, i) => {
    if (!NO_TRANSACTION_HEADER.test(line)) return;
    if (i < headerEnd) declared = true;
    else misplacedLine ??= i + 1;
  });
  return { declared, misplacedLine };
}

/** One journal entry's migration file, read and hashed. A journal entry without its file is an error. */
export function readMigrationFile(pkg: SchemaPackage, entry: JournalEntry): MigrationFile {
  const path = join(pkg.migrationsDir, `${entry.tag}.sql`);
  if (!existsSync(path)) {
    throw new DbKitError(
      `${pkg.name}: the journal lists ${entry.tag} but ${path} does not exist.`,
      'Restore the file from git, or regenerate the migration.',
    );
  }
  const text = readFileSync(path, 'utf8');
  const statements = splitStatementsAt(text);
  const header = noTransactionHeader(text);
  // Hashed as the LF text git stores, whatever the checkout's line ends.
  const lf = text.replace(/\r\n/g, '\n');
  const textHash = hashMigration(lf);
  const rawHash = lf === text ? textHash : createHash('sha256').update(text).digest('hex');
  const downFile = join(pkg.migrationsDir, `${entry.tag}.down.sql`);
  return {
    packageName: pkg.name,
    tag: entry.tag,
    idx: entry.idx,
    path,
    when: entry.when,
    orderKey: orderKeyOf(entry.tag, entry.when),
    text,
    hash: checksum(lf),
    textHash,
    ...(rawHash !== textHash && { rawHash }),
    statements: statements.map((s) => s.text),
    statementOffsets: statements.map((s) => s.offset),
    transactional: !header.declared,
    ...(header.misplacedLine !== undefined && { misplacedNoTransaction: header.misplacedLine }),
    requires: [...text.matchAll(REQUIRES_HEADER)].map((m) => ({ packageName: m[1]!, tag: m[2]! })),
    downSql: existsSync(downFile) ? readFileSync(downFile, 'utf8') : undefined,
  };
}

/**
 * The package's migrations in journal order, read now and kept nowhere: for tools outside a Context (bench,
 * tests). The engine reads them through `historyOf(pkg).files` (history.ts).
 */
export function readMigrationFiles(pkg: SchemaPackage): MigrationFile[] {
  return readJournalFile(pkg).entries.map((entry) => readMigrationFile(pkg, entry));
}
