// Scale benchmark: a generated workspace of 12 teams x 20 tables, 500 migrations in all.
// Times what a developer and CI run on it (migrate-all from empty, a no-op migrate, status, check),
// against the floor of psql applying the same SQL in one transaction. A quarter-size workspace
// runs first, so the ratio full/quarter shows whether a step grows faster than the history (~4x is linear).
//
// Run: pnpm bench:scale   (BENCH_DATABASE_URL or TEST_DATABASE_URL to use a server of your own;
// else the embedded test server). The workspace is left in .db/bench-scale/ for a look.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Workspace } from '@large-event/db-kit';
import { connect } from '../shared/db-kit/src/connection';
import { parseDatabaseTarget } from '../shared/db-kit/src/target';
import { readMigrationFiles } from '../shared/db-kit/src/migrations/files';
import { classify, pendingInOrder } from '../shared/db-kit/src/migrations/state';
import { startTestServer } from '../shared/db-kit/src/testing/server';
import { bin, FULL, generateWorkspace, QUARTER, realRoot, type Shape, total } from './scale-workspace';

/** Each step runs this many times; the median is reported (the machine may be busy). */
const REPEAT = Number(process.env.REPEAT ?? 3);

function median(times: number, measure: (i: number) => number): number {
  const values = Array.from({ length: times }, (_, i) => measure(i)).sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)]!;
}

function run(root: string, args: string[], env: NodeJS.ProcessEnv): { ms: number; code: number; output: string } {
  const started = performance.now();
  const result = spawnSync(args[0]!, args.slice(1), { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } });
  const ms = performance.now() - started;
  return { ms, code: result.status ?? 1, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

function availableCommands(): string[] {
  const help = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' }).stdout;
  return [...help.matchAll(/^ {2}(\S+) {2,}/gm)].map((m) => m[1]!);
}

interface StepResult {
  step: string;
  ms: number | undefined;
  note?: string;
}

async function measure(shape: Shape, serverUrl: string): Promise<StepResult[]> {
  const root = join(realRoot, '.db', 'bench-scale');
  const started = performance.now();
  generateWorkspace(root, shape);
  const generatedMs = performance.now() - started;
  const admin = await connect(parseDatabaseTarget(serverUrl), 'db-kit bench scale');
  const databases: string[] = [];
  const fresh = async () => {
    const name = `bench_scale_${randomBytes(4).toString('hex')}`;
    await admin.unsafe(`create database "${name}"`);
    databases.push(name);
    return Object.assign(new URL(serverUrl), { pathname: `/${name}` }).toString();
  };
  try {
    const results: StepResult[] = [{ step: 'generate workspace files', ms: generatedMs, note: 'not an engine step' }];
    run(root, [process.execPath, bin, '--help'], {}); // warm-up: the launcher rebuilds dist/ when src/ changed
    results.push({
      step: 'db-kit --help (node + launcher)',
      ms: median(REPEAT, () => run(root, [process.execPath, bin, '--help'], {}).ms),
    });

    // The floor: the same SQL, in the order the engine applies it, through psql in one transaction.
    const ws = Workspace.find(root);
    const files = pendingInOrder(ws.allInOrder().map((pkg) => classify(pkg, readMigrationFiles(pkg), [])));
    const script = join(root, 'all.sql');
    writeFileSync(script, files.map((f) => f.statements.join('\n')).join('\n'));
    const urls: string[] = [];
    for (let i = 0; i < REPEAT * 2; i++) urls.push(await fresh());
    const psqlMs = median(REPEAT, (i) => {
      const psql = run(root, ['psql', '-X', '-q', '-1', '-v', 'ON_ERROR_STOP=1', '-f', script, urls[i]!], {});
      if (psql.code !== 0) throw new Error(`psql failed: ${psql.output}`);
      return psql.ms;
    });
    results.push({ step: `psql -1 -f (${files.length} migrations, the floor)`, ms: psqlMs });

    const migrated = urls.slice(REPEAT);
    const migrate = (url: string) => {
      const result = run(root, [process.execPath, bin, 'migrate', '--all', '--quiet'], { DATABASE_URL: url });
      if (result.code !== 0) throw new Error(`migrate failed: ${result.output}`);
      return result;
    };
    results.push({ step: 'migrate --all, from empty', ms: median(REPEAT, (i) => migrate(migrated[i]!).ms) });
    results.push({
      step: 'migrate --all, nothing to do',
      ms: median(REPEAT, (i) => {
        const noop = migrate(migrated[i]!);
        if (!/Nothing to migrate/.test(noop.output)) throw new Error(`no-op migrate applied something: ${noop.output}`);
        return noop.ms;
      }),
    });
    const commands = availableCommands();
    // status reads the database; check reads only files, and --all lints the whole history.
    for (const [command, ...args] of [['status'], ['check', '--all']] as const) {
      if (!commands.includes(command)) {
        results.push({ step: command, ms: undefined, note: 'not on main yet' });
        continue;
      }
      let code = 0;
      const ms = median(REPEAT, (i) => {
        const step = run(root, [process.execPath, bin, command, ...args], { DATABASE_URL: migrated[i]! });
        code = step.code;
        return step.ms;
      });
      results.push({ step: [command, ...args].join(' '), ms, note: `exit ${code}` });
    }
    return results;
  } finally {
    for (const name of databases) await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end({ timeout: 5 });
  }
}

const server = process.env.BENCH_DATABASE_URL
  ? { url: process.env.BENCH_DATABASE_URL, source: 'BENCH_DATABASE_URL', stop: async () => {} }
  : await startTestServer(realRoot);
try {
  console.log(
    `Scale benchmark on ${server.source}: ${FULL.teams} teams x ${FULL.tablesPerTeam} tables, ${total(FULL)} migrations (quarter run: ${QUARTER.teams} teams, ${total(QUARTER)} migrations); median of ${REPEAT} runs per step; load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}\n`,
  );
  const quarter = await measure(QUARTER, server.url);
  const full = await measure(FULL, server.url);
  const floor = full.find((r) => r.step.startsWith('psql'))!.ms!;
  console.log(
    `${'step'.padEnd(44)} ${'quarter'.padStart(9)} ${'full'.padStart(9)}  full/quarter  x psql floor  per migration`,
  );
  for (let i = 0; i < full.length; i++) {
    const f = full[i]!;
    const q = quarter[i]!;
    if (f.ms === undefined) {
      console.log(`${f.step.padEnd(44)} ${'-'.padStart(9)} ${'-'.padStart(9)}  (${f.note})`);
      continue;
    }
    const label = f.step.replace(/\(\d+ migrations/, `(${total(FULL)} migrations`);
    console.log(
      `${label.padEnd(44)} ${`${q.ms!.toFixed(0)} ms`.padStart(9)} ${`${f.ms.toFixed(0)} ms`.padStart(9)}  ${`${(f.ms / q.ms!).toFixed(1)}x`.padStart(12)}  ${`${(f.ms / floor).toFixed(1)}x`.padStart(12)}  ${`${((f.ms / total(FULL)) * 1000).toFixed(0)} us`.padStart(13)}${f.note ? `  (${f.note})` : ''}`,
    );
  }
} finally {
  await server.stop();
}
