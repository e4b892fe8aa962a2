#!/usr/bin/env node
'use strict';
// The engine's CLI. Runs the compiled dist/main.cjs and rebuilds it first when src/ (or bin/build.mjs) is newer,
// so the common path (e.g. a no-op migrate) never compiles TypeScript. The bundle runs through V8's code cache,
// one per command (dist/<command>.v8-cache, written by the command's first run): V8 then neither parses the bundle
// nor compiles the functions that command ran before, about a third of a no-op migrate's own CPU time.
const { readdir, readFileSync, renameSync, stat, statSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const vm = require('node:vm');

const root = `${__dirname}/..`;
const bundle = `${root}/dist/main.cjs`;

/**
 * Whether dist/ is older than src/ or the build recipe. The ~120 stats run in libuv's thread pool while this thread
 * reads and deserialises the bundle. Paths by concatenation, not path.join: join's normalising costs more.
 */
function staleness() {
  return new Promise((resolve) => {
    let builtAt = 0;
    let newest = 0;
    try {
      builtAt = statSync(`${root}/dist/.built`).mtimeMs;
      statSync(bundle); // a dist/ an older build recipe wrote (main.mjs and chunks) is rebuilt
      // The build recipe counts as source: a changed bin/build.mjs rebuilds dist/ too.
      newest = statSync(`${__dirname}/build.mjs`).mtimeMs;
    } catch {
      resolve(true);
      return;
    }
    let pending = 0;
    const done = () => {
      if (--pending === 0) resolve(builtAt < newest);
    };
    const visit = (dir) => {
      pending++;
      readdir(dir, { withFileTypes: true }, (error, entries) => {
        if (error) newest = Number.POSITIVE_INFINITY;
        for (const entry of entries ?? []) {
          const path = `${dir}/${entry.name}`;
          if (entry.isDirectory()) visit(path);
          else {
            pending++;
            stat(path, (failed, stats) => {
              newest = failed ? Number.POSITIVE_INFINITY : Math.max(newest, stats.mtimeMs);
              done();
            });
          }
        }
        done();
      });
    };
    visit(`${root}/src`);
  });
}

const command = /^[a-z][a-z-]{0,30}$/.test(process.argv[2] ?? '') ? process.argv[2] : 'default';

/**
 * First of all, even before the freshness check: migrate and status start their session now, while the CLI loads
 * (src/preconnect.ts decides which commands, and does nothing for the others). A dist/ about to be rebuilt still has
 * a preconnect; a session the rebuilt CLI does not recognise is closed, not used (src/probe.ts).
 */
function preconnect() {
  if (process.argv.includes('--help') || process.argv.includes('-h')) return;
  try {
    require(`${root}/dist/preconnect.cjs`).preconnect(process.cwd(), process.env, command);
  } catch {}
}

/** The bundle, compiled from V8's code cache when this command has one. */
function load() {
  const cacheFile = `${root}/dist/${command}.v8-cache`;
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {}
  const script = new vm.Script(Module.wrap(readFileSync(bundle, 'latin1')), { filename: bundle, cachedData });
  return { script, cacheFile, cached: Boolean(cachedData) && !script.cachedDataRejected };
}

function run({ script, cacheFile, cached }) {
  if (!cached) {
    // At exit the cache holds every function this run compiled. A dist/ nobody may write to keeps no cache.
    process.once('exit', () => {
      try {
        const tmp = `${cacheFile}.${process.pid}`;
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, cacheFile);
      } catch {}
    });
  }
  // A vm.Script's own import() needs an experimental flag: the bundle imports dependencies (drizzle-kit, tsx, ...)
  // through this one (src/dependencies.ts), which resolves from here as from dist/: the same package.
  globalThis[Symbol.for('db-kit.import')] = (specifier) => import(specifier);
  const module = { exports: {} };
  script.runInThisContext()(module.exports, Module.createRequire(bundle), module, bundle, `${root}/dist`);
}

preconnect();
const checking = staleness();
// One turn of the event loop: the early connection, just made, sends its first messages now, and the server works on
// them while the CLI loads.
setImmediate(() => {
  let loaded;
  try {
    loaded = load();
  } catch {
    // no dist/ yet: built below
  }
  checking.then((stale) => {
    if (!stale && loaded) run(loaded);
    else import('./build.mjs').then((recipe) => recipe.build()).then(() => run(load()));
  });
});
