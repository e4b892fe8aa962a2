import { spawnSync } from 'node:child_process';
import type { Command, Context } from '../context';
import { redact } from '../env';
import { DbKitError, UsageError } from '../errors';
import { currentSource, sourceToStart, stopServer } from '../server';
import { connect } from '../connection';
import { checkoutIdentity } from '../server/identity';
import { recreateDatabase } from '../server/provision';
import { parse, type Options } from './common';
import { libpqEnv, parseDatabaseTarget, shownUrl } from '../target';

const options = { json: { type: 'boolean' }, follow: { type: 'boolean', short: 'f' } } satisfies Options;

const command: Command = {
  usage: `Usage: db-kit server <up|stop|status> [--json]

  up       use DATABASE_URL if you set one; else start the server setup chose before;
           else docker compose when a Docker engine runs; else an embedded PostgreSQL.
           Creates the database if needed and writes DATABASE_URL to .env if .env has none.
  stop     stop the server that setup started (never one you run yourself)
  status   say which server is used and whether it answers (exit 1, with the next step, if not)
  logs     print the server's log (-f to follow)
  psql     open psql on DATABASE_URL (the password goes through the environment, never the screen)
  reset    drop and recreate the database of a server setup started (not yours: see db:reset)

DB_ENGINE=url|compose|embedded forces the choice. Exit: 0 ok; 1 not running (status); 2 error.`,

  async run(argv, ctx) {
    const { values, positionals } = parse(argv, options, { positionals: true });
    const action = positionals[0];
    switch (action) {
      case 'up':
      case 'start':
        return up(ctx, Boolean(values.json));
      case 'stop': {
        const stopped = stopServer(ctx.workspace.root);
        ctx.out.print(stopped ? `Stopped the ${stopped}.` : 'Nothing to stop: no server started by setup is running.');
        return 0;
      }
      case 'status':
        return status(ctx, Boolean(values.json));
      case 'logs': {
        const shown = currentSource(ctx.workspace.root, ctx.env).logs(Boolean(values.follow));
        if (shown !== undefined) return shown;
        throw new DbKitError(
          'No log to show: the database is not one setup started.',
          'Look in the logs of the server DATABASE_URL points at.',
        );
      }
      case 'psql':
        await ctx.withConnection('db-kit psql', async () => {}); // refuses another checkout's server, says why
        return psql(ctx, positionals.slice(1));
      case 'reset': {
        const { engine, url } = currentSource(ctx.workspace.root, ctx.env).status();
        if (engine === 'url' || !url)
          throw new DbKitError(
            'reset only recreates a database that setup started.',
            'For your own DATABASE_URL, use pnpm db:reset.',
          );
        const own = await connect(
          parseDatabaseTarget(url, { source: 'setup' }),
          'db-kit server reset',
          1,
          checkoutIdentity(ctx.workspace.root, url),
        );
        await own.end(); // this checkout's server only
        await recreateDatabase(url);
        ctx.out.print(`Recreated ${shownUrl(url, 'setup')} (empty).`);
        return 0;
      }
      default:
        throw new UsageError(
          action ? `Unknown server action "${action}".` : 'Say what to do: up, stop, status, logs, psql or reset.',
          'Run pnpm exec db-kit server --help.',
        );
    }
  },
};

async function up(ctx: Context, json: boolean): Promise<number> {
  const source = sourceToStart(ctx.workspace.root, ctx.env);
  const info = await source.start((line) => ctx.out.warn(line));
  if (json) ctx.out.print(JSON.stringify({ engine: info.engine, url: shownUrl(info.url), note: info.note }));
  else ctx.out.print(`Database: ${shownUrl(info.url)} (${source.label}; ${info.note})`);
  return 0;
}

/** Which server, and whether it answers: exit 1 with the next step when it does not. */
async function status(ctx: Context, json: boolean): Promise<number> {
  const source = currentSource(ctx.workspace.root, ctx.env);
  const status = source.status();
  const url = status.url ? shownUrl(status.url) : undefined;
  // Your own DATABASE_URL: say whether it answers (one round trip), not just what it is.
  let unreachable: string | undefined;
  if (status.engine === 'url' && status.url)
    unreachable = await ctx
      .withConnection('db-kit server status', async () => undefined)
      .then(
        () => undefined,
        (error: Error) => error.message,
      );
  const running = status.engine === 'url' ? Boolean(status.url) && !unreachable : status.running;
  if (json) ctx.out.print(JSON.stringify({ ...status, url, running }));
  else if (status.engine === 'url') {
    if (!url) ctx.out.print('No database configured.');
    else if (unreachable) ctx.out.print(`Using DATABASE_URL ${url} (not managed by setup): ${redact(unreachable)}`);
    else ctx.out.print(`Using DATABASE_URL ${url} (not managed by setup): it answers.`);
  } else {
    const log = status.logFile ? ` (log: ${ctx.workspace.relative(status.logFile)})` : '';
    ctx.out.print(`${source.label} on port ${status.port}: ${status.running ? 'running' : 'stopped'}${log}.`);
  }
  if (running) return 0;
  if (!json)
    ctx.out.warn(
      !url
        ? '  next: run ./scripts/db-workflow.sh setup (or export DATABASE_URL).'
        : status.engine === 'url'
          ? '  next: start that server, or fix DATABASE_URL (environment or .env).'
          : '  next: ./scripts/db-workflow.sh start',
    );
  return 1;
}

/** psql on DATABASE_URL; the password goes through PGPASSWORD, never onto the command line. */
function psql(ctx: Context, args: string[]): number {
  const target = ctx.configuredDatabase;
  if (!target) throw new DbKitError('DATABASE_URL is not set.', 'Run ./scripts/db-workflow.sh setup first.');
  const result = spawnSync('psql', args, { stdio: 'inherit', env: libpqEnv(target) });
  if (result.error)
    throw new DbKitError(
      'psql is not installed.',
      'Install the PostgreSQL client (apt-get install postgresql-client), or use pnpm db:studio.',
    );
  return result.status ?? 2;
}

export default command;
