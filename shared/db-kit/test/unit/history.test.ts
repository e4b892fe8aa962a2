import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ParsedText } from '../../src/check/sql';
import { writeChanges } from '../../src/promote/changes';
import { journalText, MalformedFile, STATEMENT_BREAKPOINT, withEntry } from '../../src/migrations/files';
import { forgetHistory, History, historyOf, writeJournal } from '../../src/migrations/history';
import { EMPTY_SNAPSHOT } from '../../src/migrations/snapshots';
import type { SchemaPackage } from '../../src/workspace';

const root = mkdtempSync(join(tmpdir(), 'db-kit-history-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A package folder with the given migrations (tag -> SQL), a journal listing them, and snapshots at `snapshots`. */
function packageWith(migrations: Record<string, string>, snapshots: number[] = []): SchemaPackage {
  const dir = mkdtempSync(join(root, 'pkg-'));
  const migrationsDir = join(dir, 'drizzle');
  mkdirSync(join(migrationsDir, 'meta'), { recursive: true });
  let journal = {
    version: '7',
    dialect: 'postgresql',
    entries: [] as ReturnType<typeof withEntry>['journal']['entries'],
  };
  for (const [tag, sql] of Object.entries(migrations)) {
    journal = withEntry(journal, { when: 1_764_000_000_000, tag }).journal;
    writeFileSync(join(migrationsDir, `${tag}.sql`), sql);
  }
  writeFileSync(join(migrationsDir, 'meta', '_journal.json'), journalText(journal));
  for (const idx of snapshots) {
    const snapshot = { ...EMPTY_SNAPSHOT, id: `snap-${idx}` };
    writeFileSync(
      join(migrationsDir, 'meta', `${String(idx).padStart(4, '0')}_snapshot.json`),
      JSON.stringify(snapshot),
    );
  }
  return { name: '@t/db', alias: 't', root: dir, dir, migrationsDir } as SchemaPackage;
}

const A = `CREATE TABLE a (id int);\n${STATEMENT_BREAKPOINT}\nCREATE INDEX a_id ON a (id);\n`;
const B = '-- db-kit: no-transaction\nCREATE INDEX CONCURRENTLY b ON a (id);\n';

describe('a package history, read from its files', () => {
  it('holds the journal and each migration: text, hashes, statements with offsets, transactional flag', () => {
    const pkg = packageWith({ '20261124_081500_a': A, '20261124_091500_b': B });
    const history = History.load(pkg);
    expect(history.entries.map((e) => [e.idx, e.tag])).toEqual([
      [0, '20261124_081500_a'],
      [1, '20261124_091500_b'],
    ]);
    const [a, b] = history.files;
    expect(a!.text).toBe(A);
    expect(a!.statements).toEqual(['CREATE TABLE a (id int);', 'CREATE INDEX a_id ON a (id);']);
    expect(a!.statementOffsets.map((o, i) => A.slice(o).startsWith(a!.statements[i]!))).toEqual([true, true]);
    expect(a!.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(a!.transactional).toBe(true);
    expect(b!.transactional).toBe(false);
    expect(a!.orderKey < b!.orderKey).toBe(true);
  });

  it('is loaded once per package: the disk is read again only after forgetHistory or a journal write', () => {
    const pkg = packageWith({ '20261124_081500_a': A });
    const first = historyOf(pkg);
    expect(historyOf(pkg)).toBe(first);
    const journalFile = join(pkg.migrationsDir, 'meta', '_journal.json');
    const grown = withEntry(first.journal, { when: 1, tag: '20261124_091500_b' }).journal;
    writeFileSync(join(pkg.migrationsDir, '20261124_091500_b.sql'), B);
    writeFileSync(journalFile, journalText(grown));
    expect(historyOf(pkg).entries).toHaveLength(1); // kept, as read
    forgetHistory(pkg);
    expect(historyOf(pkg).entries).toHaveLength(2);

    writeJournal(pkg, first.journal); // the one writer forgets for its callers
    expect(historyOf(pkg).entries).toHaveLength(1);
  });

  it("sees promote's journal change, written and restored through the one journal writer", () => {
    const pkg = packageWith({ '20261124_081500_a': A });
    const journalFile = join(pkg.migrationsDir, 'meta', '_journal.json');
    const before = historyOf(pkg).journal;
    const sqlFile = join(pkg.migrationsDir, '20261124_091500_b.sql');
    const written = writeChanges([
      { path: sqlFile, before: undefined, after: B },
      {
        path: journalFile,
        before: journalText(before),
        after: journalText(withEntry(before, { when: 1, tag: '20261124_091500_b' }).journal),
        journalOf: pkg,
      },
    ]);
    expect(historyOf(pkg).files.map((f) => f.tag)).toEqual(['20261124_081500_a', '20261124_091500_b']);
    written.restore();
    expect(historyOf(pkg).entries.map((e) => e.tag)).toEqual(['20261124_081500_a']);
  });

  it('forgets every package at once for a writer that touches several', () => {
    const one = packageWith({ '20261124_081500_a': A });
    const two = packageWith({ '20261124_081500_a': A });
    const [h1, h2] = [historyOf(one), historyOf(two)];
    forgetHistory();
    expect(historyOf(one)).not.toBe(h1);
    expect(historyOf(two)).not.toBe(h2);
  });

  it('gives the snapshot after an entry, inheriting the nearest earlier one when a migration has none', () => {
    const pkg = packageWith(
      { '20261124_081500_a': A, '20261124_091500_b': B, '20261124_101500_c': 'SELECT 1;' },
      [0, 2],
    );
    const history = History.load(pkg);
    expect(history.snapshotAt(0)?.id).toBe('snap-0');
    expect(history.snapshotAt(1)?.id).toBe('snap-0');
    expect(history.latestSnapshot()?.id).toBe('snap-2');
    expect(History.load(packageWith({})).latestSnapshot()).toBeUndefined();
  });

  it('names a journal entry without its file, and still lists the migrations that exist', () => {
    const pkg = packageWith({ '20261124_081500_a': A, '20261124_091500_b': B });
    rmSync(join(pkg.migrationsDir, '20261124_091500_b.sql'));
    const history = History.load(pkg);
    expect(() => history.files).toThrow(/the journal lists 20261124_091500_b but .* does not exist/);
    expect(history.existingFiles().map((f) => f.tag)).toEqual(['20261124_081500_a']);
  });

  it('refuses a malformed journal, and keeps nothing of it', () => {
    const pkg = packageWith({ '20261124_081500_a': A });
    const journalFile = join(pkg.migrationsDir, 'meta', '_journal.json');
    writeFileSync(journalFile, '{ "entries": ');
    expect(() => historyOf(pkg)).toThrow(MalformedFile);
    writeFileSync(journalFile, journalText({ version: '7', dialect: 'postgresql', entries: [] }));
    expect(historyOf(pkg).entries).toEqual([]);
  });

  it('parses statements through the cache: an unchanged text is not parsed again', async () => {
    const pkg = packageWith({ '20261124_081500_a': A });
    const answer: ParsedText = {
      statements: [{ startLine: 1, endLine: 1, firstLine: 'from the cache', targets: [] }],
    };
    const asked: string[] = [];
    const cache = {
      get: (text: string) => {
        asked.push(text);
        return answer;
      },
      set: () => {
        throw new Error('nothing should be parsed');
      },
    };
    const history = History.load(pkg);
    const [parsed] = await history.parsed(cache);
    expect(parsed!.statements[0]!.firstLine).toBe('from the cache');
    expect(parsed!.text).toBe(A);
    expect(asked).toEqual([A]);
    // A second reader gets the same parse, with waivers of its own (a check marks the ones it used).
    const again = await history.parsed(cache);
    expect(asked).toHaveLength(1);
    expect(again[0]!.waivers).not.toBe(parsed!.waivers);
  });
});
