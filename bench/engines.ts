// The engine before and after, side by side in one run: a baseline checkout's db-kit (default
// /work/baseline, or BASELINE=<checkout>) against this one, on the same machine, interleaved round by
// round, medians. Times `check --all` on the 500-migration scale workspace and a no-op migrate (this
// repository and the scale workspace) against `node -e 0`.
//
// Run: pnpm bench:engines   (ROUNDS=9; BENCH_DATABASE_URL or TEST_DATABASE_URL, else the embedded test server)
// The baseline is compiled by esbuild into shared/db-kit/.bench-baseline/ (git-ignored) so that it
// resolves the same node_modules; nothing is written into the baseline checkout.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { connect } from '../shared/db-kit/src/connection';
import { parseDatabaseTarget } from '../shared/db-kit/src/target';
import { startTestServer } from '../shared/db-kit/src/testing/server';
import { bin, engineDir, FULL, generateWorkspace, realRoot, total } from './scale-workspace';

const ROUNDS = Number(process.env.ROUNDS ?? 9);
const baselineRoot = process.env.BASELINE ?? '/work/baseline';
const baselineMain = join(engineDir, '.bench-baseline', 'main.js');

/** The part of esbuild's API used here (esbuild is the engine's dependency, not the bench's). */
interface Esbuild {
  build(options: Record<string, unknown>): Promise<unknown>;
}
interface PluginBuild {
  onResolve(
    options: { filter: RegExp },
    callback: (args: { path: string }) => { path: string; external: boolean } | undefined,
  ): void;
}

async function buildBaseline(): Promise<void> {
  const entry = join(baselineRoot, 'shared', 'db-kit', 'src', 'main.ts');
  if (!existsSync(entry)) throw new Error(`No engine at ${entry}: set BASELINE to a checkout of this repository.`);
  const esbuild = (await import(createRequire(join(engineDir, 'package.json')).resolve('esbuild'))) as Esbuild;
  rmSync(join(engineDir, '.bench-baseline'), { recursive: true, force: true });
  // As bin/build.mjs builds ours: commands in lazy chunks, postgres.js bundled, other packages external.
  await esbuild.build({
    entryPoints: [entry],
    outdir: join(engineDir, '.bench-baseline'),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
    plugins: [
      {
        name: 'bundle-only-postgres',
        setup(build: PluginBuild) {
          build.onResolve({ filter: /^[^./]/ }, (args) =>
            args.path === 'postgres' || args.path.startsWith('postgres/')
              ? undefined
              : { path: args.path, external: true },
          );
        },
      },
    ],
  });
}

function time(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): { ms: number; code: number; out: string } {
  const started = performance.now();
  const result = spawnSync(args[0]!, args.slice(1), { cwd, encoding: 'utf8', env: { ...process.env, ...env } });
  return { ms: performance.now() - started, code: result.status ?? 1, out: `${result.stdout}${result.stderr}` };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const server = process.env.BENCH_DATABASE_URL
  ? { url: process.env.BENCH_DATABASE_URL, source: 'BENCH_DATABASE_URL', stop: async () => {} }
  : await startTestServer(realRoot);
const admin = await connect(parseDatabaseTarget(server.url), 'db-kit bench engines');
const databases: string[] = [];
const fresh = async () => {
  const name = `bench_engines_${randomBytes(4).toString('hex')}`;
  await admin.unsafe(`create database "${name}"`);
  databases.push(name);
  return Object.assign(new URL(server.url), { pathname: `/${name}` }).toString();
};

try {
  await buildBaseline();
  const scale = join(realRoot, '.db', 'bench-scale');
  generateWorkspace(scale, FULL);
  const engines = { before: [process.execPath, baselineMain], after: [process.execPath, bin] };
  time(realRoot, [...engines.after, '--help']); // the launcher rebuilds dist/ when src/ changed

  // Each engine migrates its own databases first, so each no-op reads the bookkeeping it wrote.
  const db: Record<string, { repo: string; scale: string }> = {};
  for (const [name, engine] of Object.entries(engines)) {
    db[name] = { repo: await fresh(), scale: await fresh() };
    for (const [cwd, url] of [
      [realRoot, db[name]!.repo],
      [scale, db[name]!.scale],
    ] as const) {
      const run = time(cwd, [...engine, 'migrate', '--all', '--quiet'], { DATABASE_URL: url });
      if (run.code !== 0) throw new Error(`${name} migrate failed: ${run.out}`);
    }
    time(scale, [...engine, 'check', '--all']); // warm: a first run fills what later runs may reuse
  }

  const steps = {
    'node -e 0': { before: [] as number[], after: [] as number[] },
    [`check --all (${total(FULL)} migrations)`]: { before: [] as number[], after: [] as number[] },
    'no-op migrate --all (this repo)': { before: [] as number[], after: [] as number[] },
    [`no-op migrate --all (${total(FULL)} migrations)`]: { before: [] as number[], after: [] as number[] },
  };
  const names = Object.keys(steps);
  for (let round = 0; round < ROUNDS; round++) {
    for (const which of ['before', 'after'] as const) {
      const engine = engines[which];
      steps[names[0]!]![which].push(time(realRoot, [process.execPath, '-e', '0']).ms);
      const check = time(scale, [...engine, 'check', '--all']);
      if (check.code !== 0) throw new Error(`${which} check --all: exit ${check.code}: ${check.out}`);
      steps[names[1]!]![which].push(check.ms);
      for (const [i, cwd, url] of [
        [2, realRoot, db[which]!.repo],
        [3, scale, db[which]!.scale],
      ] as const) {
        const noop = time(cwd, [...engine, 'migrate', '--all', '--quiet'], { DATABASE_URL: url });
        if (!/Nothing to migrate/.test(noop.out)) throw new Error(`${which} no-op migrate: ${noop.out}`);
        steps[names[i]!]![which].push(noop.ms);
      }
    }
  }

  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  console.log(`Engines on ${server.source}, ${ROUNDS} interleaved rounds, medians; load average ${load}`);
  console.log(`before: ${baselineRoot} (${gitHead(baselineRoot)})   after: ${realRoot} (${gitHead(realRoot)})\n`);
  const node = { before: median(steps[names[0]!]!.before), after: median(steps[names[0]!]!.after) };
  console.log(
    `${'step'.padEnd(36)} ${'before'.padStart(9)} ${'after'.padStart(9)}  after/before  x node -e 0 (before -> after)`,
  );
  for (const [step, { before, after }] of Object.entries(steps)) {
    const b = median(before);
    const a = median(after);
    const ratio = `${(b / node.before).toFixed(2)}x -> ${(a / node.after).toFixed(2)}x`;
    console.log(
      `${step.padEnd(36)} ${`${b.toFixed(0)} ms`.padStart(9)} ${`${a.toFixed(0)} ms`.padStart(9)}  ${`${(a / b).toFixed(2)}x`.padStart(12)}  ${ratio}`,
    );
  }
} finally {
  for (const name of databases) await admin.unsafe(`drop database if exists "${name}" with (force)`);
  await admin.end({ timeout: 5 });
  await server.stop();
}

function gitHead(dir: string): string {
  return spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: dir, encoding: 'utf8' }).stdout.trim();
}
