import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ParsedMigration, ParsedText } from '../check/sql';
import type { SchemaPackage } from '../workspace';
import {
  type Journal,
  type JournalEntry,
  journalPath,
  journalText,
  type MigrationFile,
  readJournalFile,
  readMigrationFile,
} from './files';
import { readSnapshotFile, type Snapshot } from './snapshots';

/** Answers for texts parsed before (check/parse-cache.ts), so libpg-query loads only on a miss. */
export interface ParseCacheLike {
  get(text: string): ParsedText | undefined;
  set(text: string, parsed: ParsedText): void;
}

/**
 * A package's migration history as the files on disk hold it: the validated journal, its migration
 * files (text, hashes, statements with offsets, transactional flag, down), the snapshots, and the
 * statements as Postgres's parser reads them. Each part is read on first use and kept.
 *
 * Get one through `historyOf(pkg)`: it is loaded once per package object (one per Context, since
 * each Context finds its own workspace). Whatever writes the history's files (generate, undo,
 * promote, down --backfill, journal writes) calls `forgetHistory` so the next read sees the disk.
 *
 * @example
 *   const history = historyOf(ws.resolve('teamd'));
 *   history.entries.at(-1)?.tag;   // '20261124_081500_add_budget'
 *   history.latestSnapshot()?.tables;
 */
export class History {
  private migrationFiles?: MigrationFile[];
  private readonly onDisk = new Map<string, MigrationFile>();
  private readonly snapshots = new Map<number, Snapshot | undefined>();
  private parsedMigrations?: Promise<ParsedMigration[]>;

  private constructor(
    readonly pkg: SchemaPackage,
    /** The journal, checked for shape (MalformedFile when it is not one). */
    readonly journal: Journal,
  ) {}

  /** Reads the journal now, bypassing the memo (for callers that outlive edits, like the test templates). */
  static load(pkg: SchemaPackage): History {
    return new History(pkg, readJournalFile(pkg));
  }

  get entries(): JournalEntry[] {
    return this.journal.entries;
  }

  /** Every journal entry's migration, in journal order. A journal entry without its file is an error. */
  get files(): MigrationFile[] {
    this.migrationFiles ??= this.journal.entries.map((entry) => this.file(entry));
    return this.migrationFiles;
  }

  /** The migrations whose .sql file exists, in journal order (check reports the missing ones). */
  existingFiles(): MigrationFile[] {
    return this.journal.entries
      .filter((entry) => this.onDisk.has(entry.tag) || existsSync(join(this.pkg.migrationsDir, `${entry.tag}.sql`)))
      .map((entry) => this.file(entry));
  }

  /**
   * The schema as it stands after journal entry `idx`. A hand-written migration may come without
   * a snapshot of its own; it then inherits the nearest earlier one. Undefined before the first.
   */
  snapshotAt(idx: number): Snapshot | undefined {
    if (!this.snapshots.has(idx)) {
      const own = readSnapshotFile(this.pkg, idx);
      this.snapshots.set(idx, own ?? (idx > 0 ? this.snapshotAt(idx - 1) : undefined));
    }
    return this.snapshots.get(idx);
  }

  /** The snapshot after the package's last migration; undefined before its first. */
  latestSnapshot(): Snapshot | undefined {
    const last = this.journal.entries.at(-1);
    return last ? this.snapshotAt(last.idx) : undefined;
  }

  /**
   * The existing migrations as Postgres's parser reads them: statements with lines and the objects they touch,
   * waivers, syntax errors. Parsed once; `cache` answers for unchanged texts, so an unchanged history never
   * loads the parser (WebAssembly).
   */
  async parsed(cache?: ParseCacheLike): Promise<ParsedMigration[]> {
    this.parsedMigrations ??= (async () => {
      const { parseMigration } = await import('../check/sql');
      const parsed: ParsedMigration[] = [];
      for (const file of this.existingFiles()) parsed.push(await parseMigration(this.pkg, file.path, file.text, cache));
      return parsed;
    })();
    // Each caller gets its own waivers: a check marks the ones it used.
    return (await this.parsedMigrations).map((m) => ({ ...m, waivers: m.waivers.map((w) => ({ ...w })) }));
  }

  private file(entry: JournalEntry): MigrationFile {
    let file = this.onDisk.get(entry.tag);
    if (!file || file.idx !== entry.idx) {
      file = readMigrationFile(this.pkg, entry);
      this.onDisk.set(entry.tag, file);
    }
    return file;
  }
}

let loaded = new WeakMap<SchemaPackage, History>();

/** The package's history, read from disk on first use and kept for this package object. */
export function historyOf(pkg: SchemaPackage): History {
  let history = loaded.get(pkg);
  if (!history) {
    history = History.load(pkg);
    loaded.set(pkg, history);
  }
  return history;
}

/**
 * Drops what was read of the package's history (without a package: of every package, for a writer that
 * touches several, like promote): the next `historyOf` reads the disk again.
 */
export function forgetHistory(pkg?: SchemaPackage): void {
  if (pkg) loaded.delete(pkg);
  else loaded = new WeakMap();
}

/** Writes the package's journal: the one writer of journals, so what was read of its history is forgotten. */
export function writeJournal(pkg: SchemaPackage, journal: Journal): void {
  restoreJournal(pkg, journalText(journal));
}

/** Puts the journal back to a text read before (undefined: there was none), as generate does when it fails. */
export function restoreJournal(pkg: SchemaPackage, text: string | undefined): void {
  if (text === undefined) rmSync(journalPath(pkg), { force: true });
  else {
    mkdirSync(dirname(journalPath(pkg)), { recursive: true });
    writeFileSync(journalPath(pkg), text);
  }
  forgetHistory(pkg);
}
