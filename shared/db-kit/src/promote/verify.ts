import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { runDrizzleKit } from '../drizzle-kit';
import type { SchemaPackage } from '../workspace';

/**
 * What `generate` would write for the package now, without writing it: drizzle-kit runs against
 * a scratch copy of the migration folder. Undefined when the schema matches the latest snapshot.
 *
 * @example
 *   const sql = await pendingSchemaChanges(ws.resolve('teamd'));
 *   if (sql) console.log(`teamd:db:generate would write:\n${sql}`);
 */
export async function pendingSchemaChanges(pkg: SchemaPackage): Promise<string | undefined> {
  // Inside the package, so drizzle-kit resolves the same node_modules; removed in any case.
  const scratch = mkdtempSync(join(pkg.dir, '.db-kit-check-'));
  try {
    if (existsSync(pkg.migrationsDir)) cpSync(pkg.migrationsDir, scratch, { recursive: true });
    const before = new Set(readdirSync(scratch).filter((f) => f.endsWith('.sql')));
    const out = `./${relative(pkg.dir, scratch)}`;
    const result = await runDrizzleKit(
      ['generate', '--dialect', 'postgresql', '--schema', `./${pkg.schema}`, '--out', out, '--prefix', 'index'],
      {
        cwd: pkg.dir,
        interactive: false,
      },
    );
    const added = readdirSync(scratch).filter((f) => f.endsWith('.sql') && !before.has(f));
    if (added.length) return added.map((f) => readFileSync(join(scratch, f), 'utf8')).join('\n');
    if (result.code !== 0 || /Error/.test(result.output))
      return `drizzle-kit generate failed: ${result.output
        .replace(/\x1b\[[0-9;]*m/g, '')
        .trim()
        .split('\n')
        .slice(-3)
        .join(' ')}`;
    return undefined;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
