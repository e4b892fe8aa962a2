import type { Terminal } from '../context';
import { DbKitError, UsageError } from '../errors';
import type { DatabaseTarget } from '../target';

/**
 * The person said no. Not a failure: runCli prints the reason (if any) and "Nothing changed."
 * and exits 0, so pnpm prints no ELIFECYCLE. Thrown by the confirm helpers below, never caught
 * by a command.
 */
export class Declined extends Error {
  constructor(readonly reason?: string) {
    super(reason ?? 'Declined.');
    this.name = 'Declined';
  }
}

export interface ConfirmOptions {
  /** The question, ending without a question mark. */
  question: string;
  /** --yes was given. */
  yes?: boolean;
  /** The flag that answers in scripts, for the error without a terminal. */
  flag?: string;
}

/**
 * Asks a yes/no question and returns when the answer is yes; a no throws Declined (exit 0,
 * "Nothing changed."). Without a terminal the answer must come from --yes, otherwise this throws
 * a refusal (exit 2) rather than guess.
 */
export async function confirmAction(terminal: Terminal, options: ConfirmOptions): Promise<void> {
  if (options.yes) return;
  if (!terminal.interactive) {
    throw new DbKitError(
      `${options.question}? There is no terminal to ask.`,
      `Run it again with ${options.flag ?? '--yes'} to confirm.`,
      'refused',
    );
  }
  if (!(await terminal.confirm(`${options.question}?`, false))) throw new Declined();
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
): Promise<void> {
  if (confirmName !== undefined) {
    if (confirmName === target.database) return;
    throw new UsageError(
      `--confirm-name "${confirmName}" does not match the database "${target.database}".`,
      'Give the name of the database DATABASE_URL points at.',
    );
  }
  if (!terminal.interactive) {
    throw new DbKitError(
      `"${target.database}" at ${target.host} is not a local database: confirming needs its name typed, and there ` +
        `is no terminal to ask.`,
      `Pass --confirm-name ${target.database} if you really mean it.`,
      'refused',
    );
  }
  const typed = await terminal.input(
    `${what} on "${target.database}" at ${target.host}. Type the database name to confirm:`,
  );
  if (typed.trim() !== target.database)
    throw new Declined(`"${typed.trim()}" is not "${target.database}", so nothing ran.`);
}

/**
 * The whole ritual of a destructive command: local or --force; on a remote database the typed
 * name; else a yes/no (skipped by --yes). Throws Declined when the user said no.
 */
export async function confirmDestructive(
  terminal: Terminal,
  target: DatabaseTarget,
  options: { question: string; yes?: boolean; confirmName?: string },
): Promise<void> {
  if (!target.local) return confirmDatabaseName(terminal, target, options.confirmName, options.question);
  return confirmAction(terminal, { question: options.question, yes: options.yes });
}
