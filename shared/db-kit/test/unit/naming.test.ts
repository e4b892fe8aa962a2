import { describe, expect, it } from 'vitest';
import { checksum, hashMigration, MIGRATION_NAME, recordsFile, timestampName } from '../../src/migrations/files';
import { toSlug } from '../../src/migrations/generate';
import { exitCodeFor } from '../../src/errors';

describe('migration names', () => {
  it('turns a --name into a lower-case slug', () => {
    expect(toSlug('Add-Budget')).toBe('add_budget');
    expect(toSlug('  add budget column!! ')).toBe('add_budget_column');
    expect(toSlug('v2_Tasks')).toBe('v2_tasks');
  });

  it('refuses a --name with no letters or digits, as a usage error', () => {
    expect(() => toSlug('--!!')).toThrow(/has no letters or digits/);
    try {
      toSlug('   ');
    } catch (error) {
      expect((error as { kind: string }).kind).toBe('usage');
    }
  });

  it('stamps YYYYMMDD_HHMMSS in UTC, whatever the local zone', () => {
    expect(timestampName(new Date(Date.UTC(2026, 10, 24, 8, 15, 0)))).toBe('20261124_081500');
    expect(timestampName(new Date('2027-01-01T23:59:59.999Z'))).toBe('20270101_235959');
  });

  it('recognises our names and not drizzle-kit default ones', () => {
    expect(MIGRATION_NAME.test('20261124_081500_add_budget')).toBe(true);
    expect(MIGRATION_NAME.test('0001_brave_wolverine')).toBe(false);
    expect(MIGRATION_NAME.test('20261124_081500_Add-Budget')).toBe(false);
  });
});

describe('checksums', () => {
  const sql = 'CREATE TABLE a (id int);\n--> statement-breakpoint\nCREATE TABLE b (id int);';

  it('ignore plain comment lines (waivers, notes) but not directives or breakpoints', () => {
    expect(checksum(`-- squawk-ignore ban-drop-table -- reason\n${sql}`)).toBe(checksum(sql));
    expect(checksum(`-- db-kit: no-transaction\n${sql}`)).not.toBe(checksum(sql));
    expect(checksum(sql.replace('--> statement-breakpoint\n', ''))).not.toBe(checksum(sql));
  });

  it("accept a row recorded with drizzle's whole-text hash", () => {
    const text = `-- note\n${sql}`;
    const file = { hash: checksum(text), textHash: hashMigration(text) };
    expect(recordsFile(hashMigration(text), file)).toBe(true);
    expect(recordsFile(checksum(text), file)).toBe(true);
    expect(recordsFile(hashMigration('something else'), file)).toBe(false);
  });
});

describe('error kinds', () => {
  it('give the exit code: usage and environment 2, findings and failures 1, signals 130/143', () => {
    expect(exitCodeFor('usage')).toBe(2);
    expect(exitCodeFor('environment')).toBe(2);
    expect(exitCodeFor('refused')).toBe(2);
    expect(exitCodeFor('findings')).toBe(1);
    expect(exitCodeFor('failure')).toBe(1);
    expect(exitCodeFor('interrupted')).toBe(130);
    expect(exitCodeFor('terminated')).toBe(143);
  });
});
