import { join } from 'node:path';
import { MalformedFile } from '../migrations/files';
import { cachedUnrecordedChanges, type UnrecordedChange } from '../schema/unrecorded';
import { scriptFor } from '../scripts';
import type { SchemaPackage, Workspace } from '../workspace';
import type { Finding } from './findings';

/**
 * "You changed the schema but did not generate": each package's schema entry diffed with its
 * latest committed snapshot (see schema/unrecorded.ts). The diff is cached by a content hash of
 * everything it depends on (the schema files, the snapshot, drizzle-kit's version), so a check
 * over unchanged schemas skips loading tsx and drizzle-kit (about a second); any edit misses.
 */
export async function driftFindings(ws: Workspace, packages: SchemaPackage[]): Promise<Finding[]> {
  const changes = await cachedUnrecordedChanges(ws, packages).catch(async (error: unknown) => {
    if (!(error instanceof MalformedFile)) throw error;
    // A package whose journal or snapshot is malformed has no diff to report: integrity names the file.
    const readable: UnrecordedChange[] = [];
    for (const pkg of packages) {
      try {
        readable.push(...(await cachedUnrecordedChanges(ws, [pkg])));
      } catch (e) {
        if (!(e instanceof MalformedFile)) throw e;
      }
    }
    return readable;
  });
  return changes.map(({ pkg, statements, needsAnswers, loadError }) => {
    if (loadError) {
      return {
        rule: 'schema-load',
        severity: 'error',
        file: join(pkg.dir, pkg.schema),
        message: loadError,
        next: 'Fix the error (pnpm typecheck shows it), then run check again.',
      } satisfies Finding;
    }
    const shown = statements.slice(0, 4).map((s) => s.replace(/\s+/g, ' ').slice(0, 120));
    const more = statements.length > shown.length ? ` (+${statements.length - shown.length} more)` : '';
    return {
      rule: 'schema-without-migration',
      severity: 'error',
      file: join(pkg.dir, pkg.schema),
      message:
        `you changed the schema but did not generate; a migration would ` +
        `${needsAnswers ? 'need answers about' : 'run'}: ${shown.join(' | ')}${more}`,
      next:
        `Run ${scriptFor(ws, 'generate', pkg)} --name <what_changed> and commit the migration with the schema ` +
        `change.`,
    } satisfies Finding;
  });
}
