import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import type { Command, Context } from '../context';
import { drizzleKitBin } from '../drizzle-kit';
import { redact } from '../env';
import { pickFreePort, portIsFree } from '../server/ports';
import { DbKitError, UsageError } from '../errors';
import { MIGRATIONS_SCHEMA } from '../workspace';
import { connectionUrl } from '../target';
import { parse, type Options } from './common';

const options = {
  package: { type: 'string', short: 'p' },
  port: { type: 'string' },
  host: { type: 'string' },
} satisfies Options;

const command: Command = {
  usage: `Usage: db-kit studio --package <alias> [--port <n>] [--host 127.0.0.1]

Starts drizzle-kit studio over the package's tables and those of the packages it builds
on (Team D's studio shows shared and Team D tables together), once the database answers.
drizzle-kit serves only an API on this machine; its page loads from https://local.drizzle.studio,
so it needs a browser with internet access. It prints the API's address and the URL to open.

Options:
      --port <n>   the API's port; without it 4983, or the next free one when a studio runs there
      --host <h>   where the API listens (default 127.0.0.1)

Exit: 0 stopped; 2 database down, port taken, usage; 130/143 interrupted.`,

  async run(argv, ctx) {
    const { values } = parse(argv, options);
    const ws = ctx.workspace;
    if (!values.package) throw new DbKitError('Say which package: --package <alias>.', undefined, 'usage');
    const pkg = ws.resolve(values.package);
    const target = ctx.database;
    // drizzle-kit says "up and running" whether or not the database answers: ask it first.
    await ctx.withConnection('db-kit studio', async () => {});
    const packages = ws.migrationOrder(pkg);
    // A throwaway config: drizzle-kit studio takes its schema list only from a config file.
    // The URL stays out of it (it holds the password); the config reads it from the environment,
    // spelled out from the parsed target so studio connects where every other command does.
    const dir = join(ws.root, 'node_modules', '.cache', 'db-kit');
    mkdirSync(dir, { recursive: true });
    const config = join(dir, `studio.${pkg.alias}.config.cjs`);
    writeFileSync(
      config,
      `module.exports = ${JSON.stringify({
        dialect: 'postgresql',
        schema: packages.map((p) => join(p.dir, p.schema)),
        migrations: { schema: MIGRATIONS_SCHEMA, table: pkg.migrationsTable },
      })};\nmodule.exports.dbCredentials = { url: process.env.DATABASE_URL };\n`,
    );
    const host = values.host ?? '127.0.0.1';
    const port = await studioPort(ctx, host, values.port);
    const args = ['studio', '--config', config, '--port', String(port), '--host', host];
    const tables = packages.map((p) => p.alias).join(' + ');
    return runStudio(ctx, args, { cwd: pkg.dir, env: { ...process.env, DATABASE_URL: connectionUrl(target) } }, () => {
      const query = [port !== 4983 && `port=${port}`, host !== '127.0.0.1' && `host=${host}`].filter(Boolean);
      ctx.out.print(`Drizzle Studio API for the ${tables} tables: ${host}:${port} (this machine only).`);
      ctx.out.print(`Open https://local.drizzle.studio/${query.length ? `?${query.join('&')}` : ''} in a browser`);
      ctx.out.print('with internet access: the page loads from there and talks to this API. Ctrl-C stops it.');
    });
  },
};

const DEFAULT_PORT = 4983;

/** --port when it is free; without it, 4983 or the next free port (a second studio runs beside the first). */
async function studioPort(ctx: Context, host: string, asked: string | undefined): Promise<number> {
  if (asked !== undefined) {
    const port = Number(asked);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new UsageError(`--port takes a port number, got "${asked}".`);
    if (host === '127.0.0.1' && !(await portIsFree(port)))
      throw new DbKitError(
        `Port ${port} is taken: another studio, or another program, listens on 127.0.0.1:${port}.`,
        `If it is a studio, open https://local.drizzle.studio/?port=${port}; else leave out --port to use a free one.`,
      );
    return port;
  }
  const port = await pickFreePort(DEFAULT_PORT);
  if (port !== DEFAULT_PORT)
    ctx.out.warn(`Port ${DEFAULT_PORT} is taken (another studio runs there?): this one uses ${port}.`);
  return port;
}

/**
 * Runs drizzle-kit studio with its output filtered: its banner ("up and running") is replaced
 * by `ready`, said once the server listens; everything else it prints is passed on.
 */
function runStudio(
  ctx: Context,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
  ready: () => void,
): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [drizzleKitBin(), ...args], {
      ...options,
      stdio: ['inherit', 'pipe', 'pipe'],
    });
    const relay = (stream: NodeJS.ReadableStream) => {
      let pending = '';
      stream.on('data', (chunk: Buffer) => {
        pending += chunk.toString();
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          if (/up and running/.test(line)) ready();
          else if (/EADDRINUSE/.test(line))
            ctx.out.warn(
              'error: the studio port was taken meanwhile.\n  next: run the studio again: it picks a free port.',
            );
          else if (line.trim() && !/Drizzle Studio is currently in Beta|^\s+at /.test(line)) ctx.out.warn(redact(line));
        }
      });
    };
    relay(child.stdout);
    relay(child.stderr);
    child.on('error', (error) => {
      ctx.out.warn(`error: cannot start drizzle-kit studio: ${error.message}`);
      resolve(2);
    });
    child.on('close', (code, signal) =>
      resolve(signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : code === 0 ? 0 : 2),
    );
  });
}

export default command;
