import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Command } from '../context';
import { redact } from '../env';
import { DbKitError, UsageError } from '../errors';
import { ensureServer, recreateDatabase, serverStatus, stopServer } from '../server';
import { parse, type Options } from './common';

const options = { json: { type: 'boolean' }, follow: { type: 'boolean', short: 'f' } } satisfies Options;

const command: Command = {
  usage: `Usage: db-kit server <up|stop|status> [--json]

  up       use DATABASE_URL if you set one; else start the server setup chose before;
           else docker compose when a Docker engine runs; else an embedded PostgreSQL.
           Creates the database if needed and writes DATABASE_URL to .env if .env has none.
  stop     stop the server that setup started (never one you run yourself)
  status   say which server is used and whether it runs
  logs     print the server's log (-f to follow)
  psql     open psql on DATABASE_URL (the password goes through the environment, never the screen)
  reset    drop and recreate the database of a server setup started (not yours: see db:reset)

DB_ENGINE=url|compose|embedded forces the choice. Exit: 0 ok; 1 not running (status); 2 error.`,

  async run(argv, ctx) {
    const { values, positionals } = parse(argv, options);
    const ws = ctx.workspace;
    switch (positionals[0]) {
      case 'up':
      case 'start': {
        const info = await ensureServer(ws.root, (line) => ctx.out.warn(line));
        if (values.json) ctx.out.print(JSON.stringify({ engine: info.engine, url: redact(info.url), note: info.note }));
        else ctx.out.print(`Database: ${redact(info.url)} (${describeEngine(info.engine)}; ${info.note})`);
        return 0;
      }
      case 'stop': {
        const stopped = stopServer(ws.root);
        ctx.out.print(stopped ? `Stopped the ${stopped}.` : 'Nothing to stop: no server started by setup is running.');
        return 0;
      }
      case 'status': {
        const status = serverStatus(ws.root);
        const shown = { ...status, url: status.url ? redact(status.url) : undefined };
        if (values.json) ctx.out.print(JSON.stringify(shown));
        else if (status.engine === 'url')
          ctx.out.print(
            status.url
              ? `Using DATABASE_URL ${redact(status.url)} (not managed by setup).`
              : 'No database configured: run ./scripts/db-workflow.sh setup.',
          );
        else
          ctx.out.print(
            `${describeEngine(status.engine)} on port ${status.port}: ${status.running ? 'running' : 'stopped'}${status.logFile ? ` (log: ${ws.relative(status.logFile)})` : ''}.`,
          );
        return status.engine === 'url' || status.running ? 0 : 1;
      }
      case 'logs': {
        const status = serverStatus(ws.root);
        if (status.engine === 'compose')
          return (
            spawnSync('docker', ['compose', 'logs', ...(values.follow ? ['-f'] : []), 'postgres'], {
              cwd: ws.root,
              stdio: 'inherit',
            }).status ?? 2
          );
        if (status.engine === 'embedded' && status.logFile && existsSync(status.logFile)) {
          return spawnSync('tail', [values.follow ? '-f' : '-n200', status.logFile], { stdio: 'inherit' }).status ?? 2;
        }
        throw new DbKitError(
          'No log to show: the database is not one setup started.',
          'Look in the logs of the server DATABASE_URL points at.',
        );
      }
      case 'psql': {
        const source = ctx.configuredDatabase;
        if (!source) throw new DbKitError('DATABASE_URL is not set.', 'Run ./scripts/db-workflow.sh setup first.');
        const url = new URL(source.url);
        const password = decodeURIComponent(url.password);
        url.password = '';
        const result = spawnSync('psql', [url.toString(), ...positionals.slice(1)], {
          stdio: 'inherit',
          env: { ...process.env, PGPASSWORD: password },
        });
        if (result.error)
          throw new DbKitError(
            'psql is not installed.',
            'Install the PostgreSQL client (apt-get install postgresql-client), or use pnpm db:studio.',
          );
        return result.status ?? 2;
      }
      case 'reset': {
        const status = serverStatus(ws.root);
        if (status.engine === 'url' || !status.url)
          throw new DbKitError(
            'reset only recreates a database that setup started.',
            'For your own DATABASE_URL, use pnpm db:reset.',
          );
        await recreateDatabase(status.url);
        ctx.out.print(`Recreated ${redact(status.url)} (empty).`);
        return 0;
      }
      default:
        throw new UsageError(
          positionals[0]
            ? `Unknown server action "${positionals[0]}".`
            : 'Say what to do: up, stop, status, logs, psql or reset.',
          'Run db-kit server --help.',
        );
    }
  },
};

function describeEngine(engine: string): string {
  return engine === 'embedded'
    ? 'embedded PostgreSQL'
    : engine === 'compose'
      ? 'docker compose PostgreSQL'
      : 'your DATABASE_URL';
}

export default command;
