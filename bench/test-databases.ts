// Template clones versus migrating an empty database, for this repo's own migration history.
// Run: pnpm bench:test-db   (TEST_DATABASE_URL=... to use a server of your own; else the embedded test server)
import { randomBytes } from 'node:crypto';
import { Migrator, Workspace } from '@large-event/db-kit';
import { createTestDatabase, TemplateDatabases } from '@large-event/db-kit/testing';
import { connect } from '../shared/db-kit/src/connection';
import { readMigrationFiles } from '../shared/db-kit/src/migrations/files';
import { startTestServer, TEST_SERVER_ENV } from '../shared/db-kit/src/testing/server';

const ROUNDS = Number(process.env.ROUNDS ?? 15);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function p90(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.9))]!;
}

async function time(action: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await action();
  return performance.now() - started;
}

const ws = Workspace.find();
const server = await startTestServer(ws.root);
process.env[TEST_SERVER_ENV] = server.url;
const admin = await connect(server.url, 'db-kit bench');
const scratch: string[] = [];
const fresh = (tag: string) => {
  const name = `bench_${tag}_${randomBytes(4).toString('hex')}`;
  scratch.push(name);
  return name;
};
const urlOf = (name: string) => Object.assign(new URL(server.url), { pathname: `/${name}` }).toString();

try {
  console.log(`test databases on ${server.source}, ${ROUNDS} rounds each (median / p90)\n`);
  console.log('package   migrations  migrate empty db   clone (open conn)  createTestDatabase()   speed-up (migrate / clone)');
  for (const pkg of ws.packages) {
    const packages = ws.migrationOrder(pkg);
    const templates = new TemplateDatabases(server.url, ws);
    await templates.ensure(pkg.alias); // built once, outside the timings, as after a first run
    const migrateMs: number[] = [];
    const cloneMs: number[] = [];
    const helperMs: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const empty = fresh('migrate');
      migrateMs.push(
        await time(async () => {
          await admin.unsafe(`create database "${empty}"`);
          const sql = await connect(urlOf(empty), 'db-kit bench');
          try {
            await new Migrator(sql, packages).migrate();
          } finally {
            await sql.end({ timeout: 0 });
          }
        }),
      );
      const clone = fresh('clone');
      cloneMs.push(await time(() => templates.clone(pkg.alias, clone)));
      let made: { name: string } | undefined;
      helperMs.push(await time(async () => (made = await createTestDatabase({ migrate: pkg.alias, label: 'bench' }))));
      scratch.push(made!.name);
    }
    await templates.end();
    const migrations = packages.reduce((n, p) => n + readMigrationFiles(p).length, 0);
    const m = median(migrateMs);
    const c = median(cloneMs);
    const h = median(helperMs);
    console.log(
      `${pkg.alias.padEnd(9)} ${String(migrations).padStart(10)}  ${`${m.toFixed(0)} / ${p90(migrateMs).toFixed(0)} ms`.padEnd(17)}  ${`${c.toFixed(0)} / ${p90(cloneMs).toFixed(0)} ms`.padEnd(17)}  ${`${h.toFixed(0)} / ${p90(helperMs).toFixed(0)} ms`.padEnd(21)}  ${(m / c).toFixed(1)}x (helper: ${(m / h).toFixed(1)}x)`,
    );
  }
} finally {
  for (const name of scratch) await admin.unsafe(`drop database if exists "${name}" with (force)`);
  await admin.end({ timeout: 0 });
  await server.stop();
}
