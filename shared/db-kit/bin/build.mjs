// Compiles src/ to dist/main.cjs, one CommonJS bundle (and dist/preconnect.cjs, a small one), so the CLI starts without compiling TypeScript.
// CommonJS, not ES modules: Node loads it without its ESM loader (~7 ms on a 2-core machine), and bin/db-kit.cjs
// runs it through V8's code cache. Commands stay lazy: esbuild initialises a module on its first import().
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function bundleOnly(bundled) {
  return {
    name: 'bundle-only',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path.startsWith('lazy-builtin:')) return undefined;
        const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
        return bundled.includes(name) ? undefined : { path: args.path, external: true };
      });
    },
  };
}

/**
 * postgres.js imports `tls`, `crypto` and `perf_hooks` at its top, and uses them only to open a TLS connection, to
 * answer a password challenge and to time a reconnect. Loading them costs ~5 ms on every run, most of which need
 * none of it: inside the bundle they resolve to stand-ins that load the real module on first use.
 */
function lazyBuiltins() {
  const lazy = (name) =>
    `export default new Proxy({}, { get: (_, key) => process.getBuiltinModule('node:${name}')[key] });`;
  const standIns = {
    tls: lazy('tls'),
    crypto: lazy('crypto'),
    // Relative times only (a reconnect's delay): the monotonic clock, without loading perf_hooks.
    perf_hooks: 'export const performance = { now: () => Number(process.hrtime.bigint()) / 1e6 };',
  };
  return {
    name: 'lazy-builtins',
    setup(build) {
      build.onResolve({ filter: /^(tls|crypto|perf_hooks)$/ }, (args) =>
        args.importer.includes('/postgres/') ? { path: args.path, namespace: 'lazy-builtin' } : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({
        contents: standIns[args.path],
        loader: 'js',
      }));
    },
  };
}

export async function build() {
  const { build: esbuild } = await import('esbuild');
  const tmp = mkdtempSync(join(root, '.dist-'));
  const shim = join(tmp, 'import-meta-url.js');
  writeFileSync(shim, 'export const importMetaUrl = require("node:url").pathToFileURL(__filename).href;\n');
  try {
    await esbuild({
      // main: the CLI. preconnect: what the launcher runs first for migrate and status (src/preconnect.ts).
      entryPoints: [join(root, 'src/main.ts'), join(root, 'src/preconnect.ts')],
      outdir: tmp,
      outExtension: { '.js': '.cjs' },
      bundle: true,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      // Dependencies stay in node_modules, except postgres.js: every command that talks to the database loads it.
      plugins: [lazyBuiltins(), bundleOnly(['postgres'])],
      // What src/ reads from import.meta.url (paths next to the engine) is the bundle's own location.
      define: { 'import.meta.url': 'importMetaUrl' },
      inject: [shim],
      // Minified: a third of the text to read and decode at every start (errors name themselves explicitly; for
      // DEBUG=1 stack traces in source terms, run with NODE_OPTIONS=--enable-source-maps). ASCII only, so the
      // launcher reads it as latin1, the cheapest decoding.
      minify: true,
      charset: 'ascii',
      legalComments: 'none',
      sourcemap: 'linked',
      logLevel: 'warning',
      // src/dependencies.ts imports a package named at run time, on purpose: it stays outside the bundle.
      logOverride: { 'unsupported-dynamic-import': 'silent' },
    });
    // The launcher reads the bundle as latin1, the cheapest decoding, which only ASCII text survives.
    if (/[^\x00-\x7f]/.test(readFileSync(join(tmp, 'main.cjs'), 'latin1')))
      throw new Error('db-kit build: dist/main.cjs is not ASCII (see charset and minify in bin/build.mjs)');
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
  rmSync(shim);
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
