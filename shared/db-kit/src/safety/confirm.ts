import type { Terminal } from '../context';
import { DbKitError, UsageError } from '../errors';
import type { DatabaseTarget } from '../target';

export interface ConfirmOptions {
  /** The question, ending without a question mark. */
  question: string;
  /** --yes was given. */
  yes?: boolean;
  /** The flag that answers in scripts, for the error without a terminal. */
  flag?: string;
}

/**
 * Asks a yes/no question; true means go ahead. Without a terminal the answer must come from
 * --yes, otherwise this throws (exit 2) rather than guess.
 */
export async function confirmAction(terminal: Terminal, options: ConfirmOptions): Promise<boolean> {
  if (options.yes) return true;
  if (!terminal.interactive) {
    throw new DbKitError(
      `${options.question}? There is no terminal to ask.`,
      `Run it again with ${options.flag ?? '--yes'} to confirm.`,
      'refused',
    );
  }
  return terminal.confirm(`${options.question}?`, false);
}

/**
 * Off a local database, yes is not enough: the user types the database's name, on the
 * terminal or with --confirm-name for scripts.
 */
export async function confirmDatabaseName(
  terminal: Terminal,
  target: DatabaseTarget,
  confirmName: string | undefined,
  what: string,
): Promise<boolean> {
  if (confirmName !== undefined) {
    if (confirmName === target.database) return true;
    throw new UsageError(
      `--confirm-name "${confirmName}" does not match the database "${target.database}".`,
      'Give the name of the database DATABASE_URL points at.',
    );
  }
  if (!terminal.interactive) {
    throw new DbKitError(
      `"${target.database}" at ${target.host} is not a local database: confirming needs its name typed, and there is no terminal to ask.`,
      `Pass --confirm-name ${target.database} if you really mean it.`,
      'refused',
    );
  }
  const typed = await terminal.input(
    `${what} on "${target.database}" at ${target.host}. Type the database name to confirm:`,
  );
  return typed.trim() === target.database;
}

/**
 * The whole ritual of a destructive command: local or --force; on a remote database the typed
 * name; else a yes/no (skipped by --yes). Returns false when the user said no.
 */
export async function confirmDestructive(
  terminal: Terminal,
  target: DatabaseTarget,
  options: { question: string; yes?: boolean; confirmName?: string },
): Promise<boolean> {
  if (!target.local) return confirmDatabaseName(terminal, target, options.confirmName, options.question);
  return confirmAction(terminal, { question: options.question, yes: options.yes });
}
