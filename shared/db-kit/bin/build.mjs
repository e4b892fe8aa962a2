// Compiles src/ to dist/ so the CLI starts without compiling TypeScript.
// Commands stay in separate chunks, loaded only when they run.
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function bundleOnly(bundled) {
  return {
    name: 'bundle-only',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
        return bundled.includes(name) ? undefined : { path: args.path, external: true };
      });
    },
  };
}

export async function build() {
  const { build: esbuild } = await import('esbuild');
  const tmp = mkdtempSync(join(root, '.dist-'));
  await esbuild({
    entryPoints: [join(root, 'src/main.ts')],
    outdir: tmp,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Dependencies stay in node_modules, except postgres.js: every command that talks to the
    // database loads it, and one bundled chunk starts faster than its dozen modules.
    plugins: [bundleOnly(['postgres'])],
    // .mjs, not .js: Node knows an .mjs file is ESM from its name, where for each .js module it walks up the
    // folders to the nearest package.json to read its "type" (~2 ms over a no-op's 18 modules).
    outExtension: { '.js': '.mjs' },
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  writeFileSync(join(tmp, '.built'), new Date().toISOString());
  const dist = join(root, 'dist');
  const old = `${dist}-old-${process.pid}`;
  if (existsSync(dist)) renameSync(dist, old);
  try {
    renameSync(tmp, dist);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another process built it at the same moment
  }
  rmSync(old, { recursive: true, force: true });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await build();
