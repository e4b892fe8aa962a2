import {
  type Command,
  type Context,
  type ContextOptions,
  createContext,
  type Reporter,
  consoleReporter,
} from './context';
import { redact } from './env';
import { DbKitError, describeError, type ErrorKind, exitCodeFor, isConnectionLost } from './errors';
import { Declined } from './safety/confirm';

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
  rollback: {
    summary: 'undo applied migrations with their downs, newest first, checked before they run',
    load: () => import('./commands/rollback'),
  },
  down: {
    summary: 'write the downs a package history lacks (--backfill), from its snapshots',
    load: () => import('./commands/down'),
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
  pull: { summary: 'not there yet: says what to use instead', load: () => import('./commands/pull') },
};

function mainUsage(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  return [
    'Usage: db-kit <command> [options]',
    '',
    'Commands:',
    ...Object.entries(commands).map(([name, { summary }]) => `  ${name.padEnd(width)}  ${summary}`),
    '',
    "Run `pnpm exec db-kit <command> --help` (or a pnpm script with --help) for a command's options. " +
      'DATABASE_URL comes from the environment, else from .env.',
  ].join('\n');
}

/**
 * Runs one command and returns its exit code; never throws. The context is built here, once;
 * tests pass a captured reporter, an environment and a working directory to run in-process.
 *
 * @example
 *   const out = captureReporter();
 *   const code = await runCli(['status', '--json'], { cwd: ws.root, env: { DATABASE_URL: url }, reporter: out });
 */
export async function runCli(argv: string[], options: ContextOptions = {}): Promise<number> {
  const [name, ...rest] = argv;
  const out = options.reporter ?? consoleReporter();
  const json = rest.includes('--json');
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    out.print(mainUsage());
    return name ? 0 : 2;
  }
  const entry = commands[name];
  if (!entry) {
    out.warn(`db-kit: unknown command "${name}".`);
    out.warn(`Commands: ${Object.keys(commands).join(', ')}. Run db-kit --help.`);
    return 2;
  }
  const ctx = createContext({ ...options, reporter: out, json });
  try {
    const command: Command = (await entry.load()).default;
    if (rest.includes('--help') || rest.includes('-h')) {
      out.print(command.usage);
      return 0;
    }
    return await command.run(rest, ctx);
  } catch (error) {
    if (error instanceof Declined) return reportDeclined(error, out, json);
    if (error instanceof DbKitError && error.name === 'UnexpectedArgument')
      return reportError(await withScriptHint(error, name, ctx), out, json, options.env ?? process.env);
    return reportError(error, out, json, options.env ?? process.env);
  }
}

/**
 * `pnpm db:migrate teamd` must not quietly migrate shared: when the stray word names a package,
 * the hint names the script that does what was meant (`pnpm teamd:db:migrate`).
 */
async function withScriptHint(error: DbKitError, command: string, ctx: Context): Promise<DbKitError> {
  const argument = (error as DbKitError & { argument?: string }).argument;
  try {
    const { scriptFor } = await import('./scripts');
    const ws = ctx.workspace;
    const pkg = ws.packages.find((p) => p.alias === argument || p.name === argument);
    if (pkg) return new DbKitError(error.message, `For ${pkg.alias}, run ${scriptFor(ws, command, pkg)}.`, 'usage');
  } catch {}
  return error;
}

/** A "no" at a prompt: nothing ran, which is not a failure (exit 0, so pnpm stays quiet). */
function reportDeclined(declined: Declined, out: Reporter, json: boolean): number {
  // With --json, stdout holds the command's own document (promote's plan): the words go to stderr.
  const say = json ? out.warn : out.print;
  if (declined.reason) say(declined.reason);
  say('Nothing changed.');
  return 0;
}

interface ReportedError {
  kind: ErrorKind;
  message: string;
  hint: string;
}

/** What the user reads about an error: a kind, one line of what, one line of the next step. */
export function describeFailure(error: unknown): ReportedError {
  if (error instanceof DbKitError)
    return { kind: error.kind, message: redact(error.message), hint: error.hint ? redact(error.hint) : '' };
  const parseArgs = error as { code?: string };
  if (parseArgs.code?.startsWith('ERR_PARSE_ARGS'))
    return {
      kind: 'usage',
      message: describeError(error),
      hint: 'run the command with --help to see its options.',
    };
  // A terminated backend or a crashed server, in a command with nothing more precise to say (migrate and push say
  // what was kept): what happened and where to look, never the driver's "write CONNECTION_CLOSED".
  if (isConnectionLost(error))
    return {
      kind: 'environment',
      message: `Lost the connection to the database: ${describeError(error)}.`,
      hint: 'Check the server (./scripts/db-workflow.sh status), then run the command again.',
    };
  return { kind: 'internal', message: describeError(error), hint: 'run again with DEBUG=1 for details.' };
}

/** Prints an error (stderr; with --json also `{ ok: false, error }` on stdout) and returns its exit code. */
export function reportError(error: unknown, out: Reporter, json = false, env = process.env): number {
  if (env.DEBUG && error instanceof Error && error.stack) out.warn(redact(error.stack));
  const failure = describeFailure(error);
  out.warn(`error: ${failure.message}`);
  if (failure.hint) out.warn(`  next: ${failure.hint}`);
  const details = error instanceof DbKitError ? error.details : undefined;
  if (json) out.print(JSON.stringify({ ok: false, error: failure, ...details }));
  return exitCodeFor(failure.kind);
}
