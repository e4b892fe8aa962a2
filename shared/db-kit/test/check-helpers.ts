import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import type { FixtureWorkspace } from '../src/testing';

export const TEAMD = 'teams/teamD/src/database';
export const SHARED = 'shared/database';

interface Journal {
  entries: Array<{ idx: number; version: string; when: number; tag: string; breakpoints: boolean }>;
}

export function journal(ws: FixtureWorkspace, pkgDir: string): Journal {
  return JSON.parse(ws.read(`${pkgDir}/drizzle/meta/_journal.json`)) as Journal;
}

export function sqlFiles(ws: FixtureWorkspace, pkgDir: string): string[] {
  return readdirSync(ws.path(`${pkgDir}/drizzle`)).filter((f) => f.endsWith('.sql')).sort();
}

/**
 * Adds a hand-written migration the way a developer would: the .sql file, a journal entry and a
 * snapshot that continues the chain (a copy of the latest, so the schema still matches).
 */
export function addHandWrittenMigration(ws: FixtureWorkspace, pkgDir: string, tag: string, sql: string): string {
  const meta = `${pkgDir}/drizzle/meta`;
  const j = journal(ws, pkgDir);
  const last = j.entries.at(-1)!;
  const previous = JSON.parse(ws.read(`${meta}/${String(last.idx).padStart(4, '0')}_snapshot.json`)) as { id: string; prevId: string };
  const idx = last.idx + 1;
  ws.write(`${meta}/${String(idx).padStart(4, '0')}_snapshot.json`, JSON.stringify({ ...previous, id: randomUUID(), prevId: previous.id }, null, 2));
  j.entries.push({ idx, version: '7', when: last.when + 60_000, tag, breakpoints: true });
  ws.write(`${meta}/_journal.json`, JSON.stringify(j, null, 2));
  const file = `${pkgDir}/drizzle/${tag}.sql`;
  ws.write(file, sql);
  return file;
}

/** A tag one minute after the package's latest migration, so timestamps keep increasing. */
export function nextTag(ws: FixtureWorkspace, pkgDir: string, slug: string): string {
  const last = journal(ws, pkgDir).entries.at(-1)!;
  const iso = new Date(last.when + 60_000).toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}_${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}_${slug}`;
}

export interface JsonFinding {
  rule: string;
  severity: 'error' | 'warning';
  line?: number;
  column?: number;
  message: string;
  next: string;
}

export interface JsonReport {
  ok: boolean;
  errors: number;
  warnings: number;
  scope: string;
  files: Array<{ file: string; findings: JsonFinding[] }>;
}

export function checkJson(ws: FixtureWorkspace, args: string[] = []): { code: number; report: JsonReport } {
  const run = ws.dbKit(['check', '--json', ...args]);
  return { code: run.code, report: JSON.parse(run.stdout) as JsonReport };
}

/** Every finding with its file, for `expect(...).toContainEqual(expect.objectContaining(...))`. */
export function flat(report: JsonReport): Array<JsonFinding & { file: string }> {
  return report.files.flatMap(({ file, findings }) => findings.map((f) => ({ ...f, file })));
}
