// Compiles src/ to dist/ so the CLI starts without compiling TypeScript.
// Commands stay in separate chunks, loaded only when they run.
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

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
    packages: 'external',
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
