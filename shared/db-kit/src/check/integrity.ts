import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { journalPath, journalProblem, MIGRATION_NAME, type Journal } from '../migrations/files';
import { snapshotPath } from '../migrations/snapshots';
import type { SchemaPackage } from '../workspace';
import type { Finding, OwnRuleId } from './findings';

const NO_PARENT = '00000000-0000-0000-0000-000000000000';
const SNAPSHOT_FILE = /^(\d{4})_snapshot\.json$/;

interface SnapshotFile {
  file: string;
  idx: number;
  id: string;
  prevId: string;
  /** The journal entry with this snapshot's index, when there is one. */
  tag?: string;
}

/**
 * Do the journal, the SQL files and the snapshots of one package tell the same story?
 * Also catches two branches that each generated a migration from the same parent snapshot:
 * drizzle-kit prints "collision" for that and still exits 0.
 *
 * @example
 *   integrityFindings(ws.resolve('teamd'), 'pnpm teamd:db:generate'); // [] when all agree
 */
export function integrityFindings(pkg: SchemaPackage, generateCommand: string): Finding[] {
  const findings: Finding[] = [];
  const error = (rule: OwnRuleId, file: string, message: string, next: string) =>
    findings.push({ rule, severity: 'error', file, message, next });
  const journal = readCheckedJournal(pkg, error);
  if (!journal) return findings;
  const tags = entryFindings(pkg, journal, generateCommand, error);
  strayFindings(pkg, tags, generateCommand, error);
  snapshotChainFindings(pkg, journal, generateCommand, findings, error);
  return findings;
}

type ReportError = (rule: OwnRuleId, file: string, message: string, next: string) => void;

/** The journal as JSON (an empty one if there is none), or undefined after reporting why it cannot be read. */
function readCheckedJournal(pkg: SchemaPackage, error: ReportError): Journal | undefined {
  const journalFile = journalPath(pkg);
  let journal: Journal = { version: '7', dialect: 'postgresql', entries: [] };
  if (existsSync(journalFile)) {
    try {
      journal = JSON.parse(readFileSync(journalFile, 'utf8')) as Journal;
    } catch (e) {
      error(
        'journal-invalid',
        journalFile,
        `not valid JSON (${(e as Error).message}); a merge conflict left in it?`,
        `Restore it from git (git checkout -- ${relative(pkg.root, journalFile)}); after a merge keep main's ` +
          "entries, drop your branch's, then run generate again.",
      );
      return undefined;
    }
    const problem = journalProblem(journal);
    if (problem) {
      error(
        'journal-invalid',
        journalFile,
        `${problem}: drizzle-kit and db-kit cannot read it.`,
        `Restore it from git (git checkout -- ${relative(pkg.root, journalFile)}), or take main's version.`,
      );
      return undefined;
    }
  }
  return journal;
}

/** Each entry: numbered in order, its .sql and snapshot present, named by the rule, younger than the one before. */
function entryFindings(pkg: SchemaPackage, journal: Journal, generateCommand: string, error: ReportError): Set<string> {
  const journalFile = journalPath(pkg);
  const tags = new Set<string>();
  let previous: { tag: string; key: string; when: number } | undefined;
  journal.entries.forEach((entry, position) => {
    const sqlFile = join(pkg.migrationsDir, `${entry.tag}.sql`);
    tags.add(entry.tag);
    if (entry.idx !== position) {
      error(
        'journal-index',
        journalFile,
        `entry ${entry.tag} has idx ${entry.idx} but is number ${position} in the journal.`,
        'Number the entries 0, 1, 2... in order, with matching NNNN_snapshot.json files; or regenerate your ' +
          'migration on top of main.',
      );
    }
    if (!existsSync(sqlFile)) {
      error(
        'missing-sql',
        journalFile,
        `the journal lists ${entry.tag} but ${entry.tag}.sql does not exist.`,
        'Restore the file from git, or remove the entry and its snapshot and run generate again.',
      );
    }
    if (!existsSync(snapshotPath(pkg, entry.idx))) {
      error(
        'missing-snapshot',
        existsSync(sqlFile) ? sqlFile : journalFile,
        `${entry.tag} has no snapshot meta/${basename(snapshotPath(pkg, entry.idx))}; the next generate would diff ` +
          `against the wrong state.`,
        `Restore it from git; otherwise delete the migration and its journal entry and run ${generateCommand}.`,
      );
    }
    const named = MIGRATION_NAME.exec(entry.tag);
    if (!named) {
      error(
        'migration-name',
        existsSync(sqlFile) ? sqlFile : journalFile,
        `${entry.tag}.sql does not follow YYYYMMDD_HHMMSS_name.sql.`,
        `Create migrations with ${generateCommand} --name <slug>; rename by hand (file and journal tag) only if it ` +
          `was never applied anywhere.`,
      );
      return;
    }
    const key = `${named[1]}${named[2]}`;
    if (previous && (key < previous.key || entry.when < previous.when)) {
      error(
        'timestamp-order',
        existsSync(sqlFile) ? sqlFile : journalFile,
        `${entry.tag} is older than ${previous.tag}, which comes before it in the journal.`,
        `Regenerate your migration on top of main: delete it (file, snapshot, journal entry) and run ` +
          `${generateCommand}.`,
      );
    }
    previous = { tag: entry.tag, key, when: entry.when };
  });
  return tags;
}

/** A .sql (or .down.sql) in the folder that no journal entry names. */
function strayFindings(pkg: SchemaPackage, tags: Set<string>, generateCommand: string, error: ReportError): void {
  if (existsSync(pkg.migrationsDir)) {
    for (const name of readdirSync(pkg.migrationsDir)
      .filter((f) => f.endsWith('.sql'))
      .sort()) {
      const down = name.endsWith('.down.sql');
      if (!tags.has(name.replace(/(\.down)?\.sql$/, ''))) {
        error(
          'stray-sql',
          join(pkg.migrationsDir, name),
          down
            ? 'this down belongs to no migration in the journal.'
            : 'this file is not in the journal, so no migrator will ever run it.',
          `Delete it and run ${generateCommand}, or add it to meta/_journal.json with a snapshot.`,
        );
      }
    }
  }
}

/** Snapshots chain by prevId: two with one parent are two branches' migrations; a break is a lost snapshot. */
function snapshotChainFindings(
  pkg: SchemaPackage,
  journal: Journal,
  generateCommand: string,
  findings: Finding[],
  error: ReportError,
): void {
  const snapshots = readSnapshots(pkg, journal, findings);
  const tagOf = (s: SnapshotFile) => (s.tag ? `${s.tag}.sql` : basename(s.file));
  const byParent = new Map<string, SnapshotFile[]>();
  for (const snapshot of snapshots) byParent.set(snapshot.prevId, [...(byParent.get(snapshot.prevId) ?? []), snapshot]);
  const collided = new Set<SnapshotFile>();
  for (const siblings of byParent.values()) {
    if (siblings.length < 2) continue;
    const [first, ...others] = siblings;
    for (const other of others) {
      collided.add(other);
      error(
        'branch-collision',
        other.tag ? join(pkg.migrationsDir, `${other.tag}.sql`) : other.file,
        `${tagOf(other)} and ${tagOf(first!)} were both generated from the same parent snapshot (prevId ` +
          `${other.prevId.slice(0, 8)}): two branches each generated a migration.`,
        `Regenerate on top of the merged result: delete your branch's migration (its .sql, ` +
          `meta/${basename(other.file)} and journal entry), merge main, and run ${generateCommand} again.`,
      );
    }
  }
  const inJournal = snapshots.filter((s) => s.tag !== undefined).sort((a, b) => a.idx - b.idx);
  inJournal.forEach((snapshot, i) => {
    if (collided.has(snapshot)) return;
    const expected = i === 0 ? NO_PARENT : inJournal[i - 1]!.id;
    if (snapshot.prevId !== expected) {
      error(
        'snapshot-chain',
        snapshot.file,
        `prevId ${snapshot.prevId.slice(0, 8)} should be ${expected.slice(0, 8)}, the id of the snapshot before it.`,
        `Restore the snapshots from git; otherwise delete the migrations after the break and run ${generateCommand}.`,
      );
    }
  });
}

function readSnapshots(pkg: SchemaPackage, journal: Journal, findings: Finding[]): SnapshotFile[] {
  const metaDir = join(pkg.migrationsDir, 'meta');
  if (!existsSync(metaDir)) return [];
  const tagByIdx = new Map(journal.entries.map((e) => [e.idx, e.tag]));
  const snapshots: SnapshotFile[] = [];
  for (const name of readdirSync(metaDir).sort()) {
    const match = SNAPSHOT_FILE.exec(name);
    if (!match) continue;
    const file = join(metaDir, name);
    const idx = Number(match[1]);
    try {
      const json = JSON.parse(readFileSync(file, 'utf8')) as { id?: string; prevId?: string };
      snapshots.push({ file, idx, id: String(json.id), prevId: String(json.prevId), tag: tagByIdx.get(idx) });
    } catch (e) {
      findings.push({
        rule: 'snapshot-invalid',
        severity: 'error',
        file,
        message: `not valid JSON (${(e as Error).message}); a merge conflict left in it?`,
        next:
          `Restore it from git (git checkout -- ${relative(pkg.root, file)}); after a merge take main's version, ` +
          'then regenerate your migration on top of it.',
      });
      continue;
    }
    if (!tagByIdx.has(idx)) {
      findings.push({
        rule: 'stray-snapshot',
        severity: 'error',
        file,
        message: 'no journal entry has this index, yet drizzle-kit reads it.',
        next: 'Delete it, or restore the journal entry and migration it belongs to.',
      });
    }
  }
  return snapshots;
}
