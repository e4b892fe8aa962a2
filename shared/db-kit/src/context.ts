import { writeSync } from 'node:fs';
import type { ConnectSettings, Sql } from './connection';
import { DbKitError, wasConnectionLost } from './errors';
import { findDatabaseUrl, parseDatabaseTarget, type DatabaseTarget } from './target';
import { Workspace } from './workspace';
import { importDependency } from './dependencies';

/**
 * A command module: parses its own flags, calls the core with the context, prints the result
 * through `ctx.out` and returns an exit code. Errors it throws carry a kind (see errors.ts).
 */
export interface Command {
  usage: string;
  run(argv: string[], ctx: Context): Promise<number>;
}

/** Where a command's output goes: the terminal, or a buffer in tests. */
export interface Reporter {
  /** Lines for the person, on stdout. */
  print(text: string): void;
  /** Progress, warnings and errors, on stderr, so stdout stays the result. */
  warn(text: string): void;
}

/** Asking the person at the terminal; without one, `interactive` is false and nothing may be asked. */
export interface Terminal {
  readonly interactive: boolean;
  confirm(message: string, defaultAnswer: boolean): Promise<boolean>;
  input(message: string): Promise<string>;
}

export interface Clock {
  now(): Date;
}

/**
 * Everything a command needs from the world, built once by runCli: the workspace (found once),
 * the database target (DATABASE_URL read and parsed once), connections, output, the terminal
 * and the clock. Found lazily, so `--help` or a usage error needs neither a workspace nor a URL.
 *
 * @example
 *   const ctx = createContext({ cwd: repo, env: { DATABASE_URL: url }, reporter: captureReporter() });
 *   await ctx.withConnection('db-kit status', (sql) => readStatus(sql, ctx.workspace, ctx.workspace.allInOrder()));
 */
export interface Context {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly workspace: Workspace;
  /** The database DATABASE_URL names; throws the "DATABASE_URL is not set" error when there is none. */
  readonly database: DatabaseTarget;
  /** The same, or undefined when DATABASE_URL is not set. */
  readonly configuredDatabase: DatabaseTarget | undefined;
  /**
   * Connects to `database` (proving it with one round trip), runs `fn`, and always closes.
   * `arrayTypes` and `meanwhile`: see ConnectSettings (connection.ts).
   */
  withConnection<T>(
    applicationName: string,
    fn: (sql: Sql) => Promise<T>,
    options?: { connections?: number } & ConnectSettings,
  ): Promise<T>;
  readonly out: Reporter;
  /** --json was given: results are JSON on stdout, and so is a failure (besides its text on stderr). */
  readonly json: boolean;
  readonly terminal: Terminal;
  readonly clock: Clock;
}

export interface ContextOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  reporter?: Reporter;
  json?: boolean;
  terminal?: Terminal;
  clock?: Clock;
}

export function createContext(options: ContextOptions = {}): Context {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  let workspace: Workspace | undefined;
  let database: { target: DatabaseTarget | undefined } | undefined;
  const ctx: Context = {
    cwd,
    env,
    get workspace() {
      workspace ??= Workspace.find(cwd);
      return workspace;
    },
    get configuredDatabase() {
      if (!database) {
        const root = ctx.workspace.root;
        const found = findDatabaseUrl(root, env);
        database = { target: found && parseDatabaseTarget(found.url, { source: found.source, env }) };
      }
      return database.target;
    },
    get database() {
      const target = ctx.configuredDatabase;
      if (!target) {
        throw new DbKitError(
          'DATABASE_URL is not set, in the environment or in .env.',
          'Run ./scripts/db-workflow.sh setup, or export DATABASE_URL=postgresql://...',
        );
      }
      return target;
    },
    async withConnection(applicationName, fn, options) {
      const target = ctx.database;
      // Loaded here: commands that never connect (check, generate) do not pay for the driver.
      const { connect } = await import('./connection');
      const { checkoutIdentity } = await import('./server/identity');
      // A URL setup wrote for this checkout's server must reach that server, not another checkout's.
      const sql = await connect(
        target,
        applicationName,
        options?.connections,
        checkoutIdentity(ctx.workspace.root, target.url),
        { arrayTypes: options?.arrayTypes, meanwhile: options?.meanwhile },
      );
      let result: Awaited<ReturnType<typeof fn>>;
      try {
        result = await fn(sql);
      } catch (error) {
        // Queries fn left in flight get 5 s to finish; on a lost connection nothing will, and the user
        // would wait those 5 s for the error.
        await sql.end({ timeout: wasConnectionLost(error) ? 0 : 5 });
        throw error;
      }
      // fn has awaited its queries: Terminate is sent, without waiting for the server to close its end (~1 ms).
      await sql.end({ timeout: 0 });
      return result;
    },
    out: options.reporter ?? consoleReporter(),
    json: options.json ?? false,
    terminal: options.terminal ?? processTerminal(),
    clock: options.clock ?? { now: () => new Date() },
  };
  return ctx;
}

export function consoleReporter(): Reporter {
  return { print: lineWriter(1, () => process.stdout), warn: lineWriter(2, () => process.stderr) };
}

/**
 * Lines written straight to the file descriptor. Creating process.stdout's stream costs ~2 ms, a tenth of what a
 * no-op migrate adds to Node's own start; and a line written so is out before process.exit, on any platform. A
 * descriptor that cannot take a write now (EAGAIN: a non-blocking pipe that is full) hands the rest of the line,
 * and every later one, to the stream, so the order holds. A reader that went away (EPIPE) gets nothing more.
 */
function lineWriter(fd: number, stream: () => NodeJS.WriteStream): (text: string) => void {
  let streaming = false;
  return (text) => {
    const line = Buffer.from(`${text}\n`);
    if (streaming) {
      stream().write(line);
      return;
    }
    let written = 0;
    try {
      while (written < line.length) written += writeSync(fd, line, written);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') return;
      if (code !== 'EAGAIN') throw error;
      streaming = true;
      stream().write(line.subarray(written));
    }
  };
}

/** A reporter that keeps what it is given: for in-process command tests. */
export interface CapturedReporter extends Reporter {
  readonly stdout: string;
  readonly stderr: string;
}

export function captureReporter(): CapturedReporter {
  let stdout = '';
  let stderr = '';
  return {
    print: (text) => {
      stdout += `${text}\n`;
    },
    warn: (text) => {
      stderr += `${text}\n`;
    },
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
  };
}

/** The process's own terminal: a person is there when both stdin and stdout are TTYs. */
export function processTerminal(): Terminal {
  return {
    // A getter, and isatty rather than process.stdin.isTTY: touching process.stdin creates its stream, which a
    // command that never reads it should not pay for.
    get interactive() {
      const { isatty } = process.getBuiltinModule('node:tty') as typeof import('node:tty');
      return isatty(0) && isatty(1);
    },
    async confirm(message, defaultAnswer) {
      const { confirm } = await importDependency<typeof import('@inquirer/prompts')>('@inquirer/prompts');
      return confirm({ message, default: defaultAnswer });
    },
    async input(message) {
      const { input } = await importDependency<typeof import('@inquirer/prompts')>('@inquirer/prompts');
      return input({ message });
    },
  };
}
