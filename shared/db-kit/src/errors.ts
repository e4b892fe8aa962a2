import { redact } from './env';

/**
 * An error the user can act on. The CLI prints `message` and `hint` (one line each),
 * never a stack trace unless DEBUG is set, and exits with `exitCode`.
 *
 * @example
 *   throw new DbKitError('DATABASE_URL is not set.', 'Run ./scripts/db-workflow.sh setup, or export DATABASE_URL.');
 */
export class DbKitError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    /** 2: usage or environment; 1: findings or pending work. */
    readonly exitCode: 1 | 2 = 2,
  ) {
    super(message);
    this.name = 'DbKitError';
  }
}

export class UsageError extends DbKitError {
  constructor(message: string, hint = 'Run with --help to see the options.') {
    super(message, hint, 2);
    this.name = 'UsageError';
  }
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
