import { DbKitError, describeError } from './errors';
import { redact } from './env';

/** A command module: parses its own flags, prints, and returns an exit code. */
export interface Command {
  usage: string;
  run(argv: string[]): Promise<number>;
}

// One line per command. Lazy: a command's module, and what it imports, loads only when it runs.
const commands: Record<string, { summary: string; load: () => Promise<{ default: Command }> }> = {
  generate: { summary: 'write a timestamped migration from schema changes', load: () => import('./commands/generate') },
  migrate: {
    summary: 'apply pending migrations (with the packages it builds on)',
    load: () => import('./commands/migrate'),
  },
  repair: {
    summary: 'accept an edited or deleted applied migration, with an audited reason',
    load: () => import('./commands/repair'),
  },
  status: {
    summary: 'migrations, tables and drift of the database, per package (--json)',
    load: () => import('./commands/status'),
  },
  check: {
    summary: 'review migrations: integrity, schema drift, safety lint, ownership',
    load: () => import('./commands/check'),
  },
  studio: {
    summary: 'open Drizzle Studio over a package and what it builds on',
    load: () => import('./commands/studio'),
  },
  push: {
    summary: "dev only: make the database match a package's schema, never dropping others'",
    load: () => import('./commands/push'),
  },
  seed: {
    summary: "replace every package's rows with deterministic sample data",
    load: () => import('./commands/seed'),
  },
  reset: {
    summary: 'back up, drop everything our packages own, migrate again',
    load: () => import('./commands/reset'),
  },
  fresh: { summary: 'reset, then seed', load: () => import('./commands/fresh') },
  backup: { summary: 'dump the database to backups/<db>-<timestamp>.dump', load: () => import('./commands/backup') },
  restore: { summary: 'restore a backup into the database (asks first)', load: () => import('./commands/restore') },
  promote: {
    summary: "move a team's stable tables into the shared schema, rows untouched",
    load: () => import('./commands/promote'),
  },
  'new-team': {
    summary: "scaffold a team's overlay package and its root scripts",
    load: () => import('./commands/new-team'),
  },
  server: { summary: 'start, stop or describe the development database', load: () => import('./commands/server') },
};

function mainUsage(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  return [
    'Usage: db-kit <command> [options]',
    '',
    'Commands:',
    ...Object.entries(commands).map(([name, { summary }]) => `  ${name.padEnd(width)}  ${summary}`),
    '',
    "Run `db-kit <command> --help` for a command's options. DATABASE_URL comes from the environment, else from .env.",
  ].join('\n');
}

/** Runs one command and returns its exit code; never throws. */
export async function runCli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(mainUsage());
    return name ? 0 : 2;
  }
  const entry = commands[name];
  if (!entry) {
    console.error(`db-kit: unknown command "${name}".`);
    console.error(`Commands: ${Object.keys(commands).join(', ')}. Run db-kit --help.`);
    return 2;
  }
  try {
    const command = (await entry.load()).default;
    if (rest.includes('--help') || rest.includes('-h')) {
      console.log(`${command.usage}`);
      return 0;
    }
    return await command.run(rest);
  } catch (error) {
    return reportError(error);
  }
}

export function reportError(error: unknown): number {
  if (process.env.DEBUG && error instanceof Error && error.stack) console.error(redact(error.stack));
  if (error instanceof DbKitError) {
    console.error(`error: ${redact(error.message)}`);
    if (error.hint) console.error(`  next: ${redact(error.hint)}`);
    return error.exitCode;
  }
  const parseArgs = error as { code?: string };
  if (parseArgs.code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(`error: ${describeError(error)}`);
    console.error('  next: run the command with --help to see its options.');
    return 2;
  }
  console.error(`error: ${describeError(error)}`);
  console.error('  next: run again with DEBUG=1 for details.');
  return 2;
}
