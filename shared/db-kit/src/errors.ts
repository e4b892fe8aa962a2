import { redact } from './env';

/**
 * What went wrong, which decides the exit code: the user fixes a `usage` error by changing the
 * command line, an `environment` one by fixing the setup (DATABASE_URL, a server, a tool); a
 * `refused` command did not run because a guard or a "no" stopped it. `findings` and `failure`
 * are the run's own verdict (CI fails); `interrupted`/`terminated` are Ctrl-C and SIGTERM.
 */
export type ErrorKind =
  | 'usage'
  | 'environment'
  | 'refused'
  | 'findings'
  | 'failure'
  | 'interrupted'
  | 'terminated'
  | 'internal';

const EXIT_CODES: Record<ErrorKind, number> = {
  usage: 2,
  environment: 2,
  refused: 2,
  internal: 2,
  findings: 1,
  failure: 1,
  interrupted: 130,
  terminated: 143,
};

/** The process exit code for an error of this kind. */
export function exitCodeFor(kind: ErrorKind): number {
  return EXIT_CODES[kind];
}

/**
 * An error the user can act on. The CLI prints `message` and `hint` (one line each),
 * never a stack trace unless DEBUG is set, and exits with the code of its `kind`.
 *
 * @example
 *   throw new DbKitError('DATABASE_URL is not set.', 'Run ./scripts/db-workflow.sh setup, or export DATABASE_URL.');
 */
export class DbKitError extends Error {
  /** Machine-readable facts about the failure, printed beside `error` by --json (e.g. what migrate applied). */
  details?: Record<string, unknown>;

  constructor(
    message: string,
    readonly hint?: string,
    readonly kind: ErrorKind = 'environment',
  ) {
    super(message);
    this.name = 'DbKitError';
  }

  get exitCode(): number {
    return exitCodeFor(this.kind);
  }
}

export class UsageError extends DbKitError {
  constructor(message: string, hint = 'Run with --help to see the options.') {
    super(message, hint, 'usage');
    this.name = 'UsageError';
  }
}

/** Marks an error a command made of a lost connection, so `wasConnectionLost` still knows it. */
export function markLost<E extends Error>(error: E): E {
  Object.defineProperty(error, 'lost', { value: true, enumerable: false });
  return error;
}

/** A lost connection, raw from the driver or made into a command's own error (`markLost`). */
export function wasConnectionLost(error: unknown): boolean {
  return isConnectionLost(error) || (error as { lost?: boolean } | undefined)?.lost === true;
}

/** Errors that mean the session is gone: terminated backend, server crash, network. */
export function isConnectionLost(error: unknown): boolean {
  const e = error as { code?: string; message?: string } | undefined;
  if (!e) return false;
  if (['57P01', '57P02', '57P03', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED'].includes(e.code!))
    return true;
  if (['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ETIMEDOUT'].includes(e.code!)) return true;
  // postgres.js writing to a socket it already dropped.
  return error instanceof TypeError && /reading 'write'|of null/.test(e.message ?? '');
}

/** Turns a driver or system error into one redacted line, e.g. `connection refused (127.0.0.1:5999)`. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const e = error as Error & { code?: string; address?: string; port?: number; errors?: unknown[] };
    if (e.code === 'ECONNREFUSED') return `connection refused${e.address ? ` (${e.address}:${e.port})` : ''}`;
    if (e.code === 'ENOTFOUND')
      return `host not found${e.message.includes(' ') ? `: ${e.message.split(' ').pop()}` : ''}`;
    if (!e.message && Array.isArray(e.errors) && e.errors.length) return describeError(e.errors[0]);
    return redact(e.message || String(e.code ?? e.name));
  }
  return redact(String(error));
}
