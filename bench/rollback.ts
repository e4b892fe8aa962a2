// Rollback benchmark: check --verify-downs (every down run for real: down, up again, down) for this
// repo's history and for the scale workspace (quarter, then full: 500 migrations), next to
// migrate --all from empty. full/quarter near the ratio of migrations means it grows linearly.
//
// Run: pnpm bench:rollback   (BENCH_DATABASE_URL or TEST_DATABASE_URL to use a server of your own;
// else the embedded test server).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { connect } from '../shared/db-kit/src/connection';
import { parseDatabaseTarget } from '../shared/db-kit/src/target';
import { startTestServer } from '../shared/db-kit/src/testing/server';
import { bin, FULL, generateWorkspace, QUARTER, realRoot, total } from './scale-workspace';

function run(root: string, args: string[], env: NodeJS.ProcessEnv) {
  const started = performance.now();
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { ms: performance.now() - started, code: result.status ?? 1, output: `${result.stdout}${result.stderr}` };
}

interface Row {
  history: string;
  migrations: number;
  migrateMs: number;
  verifyMs: number;
  roundTrips: number;
}

async function measure(history: string, root: string, migrations: number, serverUrl: string): Promise<Row> {
  const admin = await connect(parseDatabaseTarget(serverUrl), 'db-kit bench rollback');
  const name = `bench_rollback_${randomBytes(4).toString('hex')}`;
  try {
    await admin.unsafe(`create database "${name}"`);
    const url = Object.assign(new URL(serverUrl), { pathname: `/${name}` }).toString();
    const migrate = run(root, ['migrate', '--all', '--quiet'], { DATABASE_URL: url });
    if (migrate.code !== 0) throw new Error(`migrate failed: ${migrate.output}`);
    // The verifier makes its own scratch database on the same server and reports its own time.
    const verify = run(root, ['check', '--verify-downs', '--json'], { DATABASE_URL: url });
    const figure = /verify-downs: (\d+) round trips? in ([\d.]+) s/.exec(verify.output);
    if (!figure) throw new Error(`check --verify-downs printed no figure: ${verify.output.slice(-400)}`);
    return {
      history,
      migrations,
      migrateMs: migrate.ms,
      verifyMs: Number(figure[2]) * 1000,
      roundTrips: Number(figure[1]),
    };
  } finally {
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end({ timeout: 5 });
  }
}

const serverUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
const server = serverUrl
  ? { url: serverUrl, source: 'BENCH_DATABASE_URL/TEST_DATABASE_URL', stop: async () => {} }
  : await startTestServer(realRoot);
try {
  console.log(
    `Rollback benchmark on ${server.source}; load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}\n`,
  );
  const rows: Row[] = [];
  const here = spawnSync('git', ['ls-files', '*.down.sql'], { cwd: realRoot, encoding: 'utf8' }).stdout.split('\n');
  rows.push(await measure('this repo', realRoot, here.filter(Boolean).length, server.url));
  for (const [label, shape] of [
    ['scale quarter', QUARTER],
    ['scale full', FULL],
  ] as const) {
    const root = join(realRoot, '.db', 'bench-rollback');
    generateWorkspace(root, shape);
    const backfill = run(root, ['down', '--backfill', '--all'], {});
    if (backfill.code !== 0) throw new Error(`down --backfill failed: ${backfill.output}`);
    rows.push(await measure(label, root, total(shape), server.url));
  }
  console.log(
    `${'history'.padEnd(14)} ${'migrations'.padStart(10)} ${'migrate --all'.padStart(14)} ${'verify-downs'.padStart(13)}  verify/migrate  per migration`,
  );
  for (const r of rows)
    console.log(
      `${r.history.padEnd(14)} ${String(r.migrations).padStart(10)} ${`${(r.migrateMs / 1000).toFixed(2)} s`.padStart(14)} ${`${(r.verifyMs / 1000).toFixed(2)} s`.padStart(13)}  ${(r.verifyMs / r.migrateMs).toFixed(1).padStart(14)}  ${(r.verifyMs / r.roundTrips).toFixed(1)} ms`,
    );
  const [q, f] = [rows[1]!, rows[2]!];
  console.log(
    `\nfull/quarter: ${(f.migrations / q.migrations).toFixed(2)}x the migrations, verify-downs ${(f.verifyMs / q.verifyMs).toFixed(2)}x, migrate ${(f.migrateMs / q.migrateMs).toFixed(2)}x (linear: about the same ratio).`,
  );
} finally {
  await server.stop();
}
