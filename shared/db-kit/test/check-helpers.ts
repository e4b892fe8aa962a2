import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import type { JsonReport } from '../src/check/findings';
import { timestampName, type Journal } from '../src/migrations/files';
import type { FixtureWorkspace } from '../src/testing';

export { SHARED, TEAMD } from './helpers';

export function journal(ws: FixtureWorkspace, pkgDir: string): Journal {
  return JSON.parse(ws.read(`${pkgDir}/drizzle/meta/_journal.json`)) as Journal;
}

export function sqlFiles(ws: FixtureWorkspace, pkgDir: string): string[] {
  return readdirSync(ws.path(`${pkgDir}/drizzle`))
    .filter((f) => f.endsWith('.sql'))
    .sort();
}

/**
 * Adds a hand-written migration the way a developer would: the .sql file, a journal entry and a
 * snapshot that continues the chain (a copy of the latest, so the schema still matches).
 */
export function addHandWrittenMigration(ws: FixtureWorkspace, pkgDir: string, tag: string, sql: string): string {
  const meta = `${pkgDir}/drizzle/meta`;
  const j = journal(ws, pkgDir);
  const last = j.entries.at(-1)!;
  const previous = JSON.parse(ws.read(`${meta}/${String(last.idx).padStart(4, '0')}_snapshot.json`)) as {
    id: string;
    prevId: string;
  };
  const idx = last.idx + 1;
  ws.write(
    `${meta}/${String(idx).padStart(4, '0')}_snapshot.json`,
    JSON.stringify({ ...previous, id: randomUUID(), prevId: previous.id }, null, 2),
  );
  j.entries.push({ idx, version: '7', when: last.when + 60_000, tag, breakpoints: true });
  ws.write(`${meta}/_journal.json`, JSON.stringify(j, null, 2));
  const file = `${pkgDir}/drizzle/${tag}.sql`;
  ws.write(file, sql);
  return file;
}

/** A tag one minute after the package's latest migration, so timestamps keep increasing. */
export function nextTag(ws: FixtureWorkspace, pkgDir: string, slug: string): string {
  const last = journal(ws, pkgDir).entries.at(-1)!;
  return `${timestampName(new Date(last.when + 60_000))}_${slug}`;
}

export async function checkJson(
  ws: FixtureWorkspace,
  args: string[] = [],
): Promise<{ code: number; report: JsonReport }> {
  const run = await ws.run(['check', '--json', ...args]);
  return { code: run.code, report: JSON.parse(run.stdout) as JsonReport };
}

/** Every finding with its file, for `expect(...).toContainEqual(expect.objectContaining(...))`. */
export function flat(report: JsonReport): Array<JsonReport['files'][number]['findings'][number] & { file: string }> {
  return report.files.flatMap(({ file, findings }) => findings.map((f) => ({ ...f, file })));
}
