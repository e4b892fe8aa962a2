// Template clones versus migrating an empty database, for this repo's own migration history.
// Run: pnpm bench:test-db   (TEST_DATABASE_URL=... to use a server of your own; else the embedded test server)
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { Migrator, Workspace } from '@large-event/db-kit';
import { createTestDatabase, TemplateDatabases } from '@large-event/db-kit/testing';
import { connect } from '../shared/db-kit/src/connection';
import { parseDatabaseTarget } from '../shared/db-kit/src/target';
import { readMigrationFiles } from '../shared/db-kit/src/migrations/files';
import { startTestServer, TEST_SERVER_ENV } from '../shared/db-kit/src/testing/server';

const ROUNDS = Number(process.env.ROUNDS ?? 15);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function fastest(values: number[]): number {
  return Math.min(...values);
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
const admin = await connect(parseDatabaseTarget(server.url), 'db-kit bench');
const scratch: string[] = [];
const fresh = (tag: string) => {
  const name = `bench_${tag}_${randomBytes(4).toString('hex')}`;
  scratch.push(name);
  return name;
};
const urlOf = (name: string) => Object.assign(new URL(server.url), { pathname: `/${name}` }).toString();

try {
  console.log(
    `test databases on ${server.source}, ${ROUNDS} rounds each (fastest / median / p90); load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}\n`,
  );
  console.log(
    '                        migrate an          CREATE DATABASE     claim a pooled      createTestDatabase  migrate / (median)',
  );
  console.log(
    'package   migrations  empty database      ... TEMPLATE        clone (rename)      (connect + claim)   clone claim helper',
  );
  for (const pkg of ws.packages) {
    const packages = ws.migrationOrder(pkg);
    const direct = new TemplateDatabases(server.url, ws, { pool: 0 });
    const pooled = new TemplateDatabases(server.url, ws);
    const key = await direct.ensure(pkg.alias); // built once, outside the timings, as after a first run
    const poolReady = async () => {
      for (let waited = 0; waited < 5000; waited += 20) {
        const [row] = await admin.unsafe(`select count(*)::int as n from pg_database where datname like $1`, [
          `tpp_${key.name.slice(4)}\\_%`,
        ]);
        if (row!.n > 0) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const migrateMs: number[] = [];
    const cloneMs: number[] = [];
    const claimMs: number[] = [];
    const helperMs: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const empty = fresh('migrate');
      migrateMs.push(
        await time(async () => {
          await admin.unsafe(`create database "${empty}"`);
          const sql = await connect(parseDatabaseTarget(urlOf(empty)), 'db-kit bench');
          try {
            await new Migrator(sql, packages).migrate();
          } finally {
            await sql.end({ timeout: 0 });
          }
        }),
      );
      cloneMs.push(await time(() => direct.clone(pkg.alias, fresh('clone'))));
      // In a test run the pool refills while tests run; here we wait for it, outside the timing.
      await poolReady();
      claimMs.push(await time(() => pooled.clone(pkg.alias, fresh('claim'))));
      await poolReady();
      let made: { name: string } | undefined;
      helperMs.push(await time(async () => (made = await createTestDatabase({ migrate: pkg.alias, label: 'bench' }))));
      scratch.push(made!.name);
    }
    await direct.end();
    await pooled.end();
    const migrations = packages.reduce((n, p) => n + readMigrationFiles(p).length, 0);
    const cell = (values: number[]) =>
      `${fastest(values).toFixed(0)} / ${median(values).toFixed(0)} / ${p90(values).toFixed(0)} ms`.padEnd(19);
    const ratio = (of: number[]) => `${(median(migrateMs) / median(of)).toFixed(0)}x`.padStart(5);
    console.log(
      `${pkg.alias.padEnd(9)} ${String(migrations).padStart(10)}  ${cell(migrateMs)}  ${cell(cloneMs)}  ${cell(claimMs)}  ${cell(helperMs)}  ${ratio(cloneMs)} ${ratio(claimMs)} ${ratio(helperMs)}`,
    );
  }
} finally {
  for (const name of scratch) await admin.unsafe(`drop database if exists "${name}" with (force)`);
  await admin.end({ timeout: 0 });
  await server.stop();
}
