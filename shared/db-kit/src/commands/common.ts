import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors';
import type { Workspace, SchemaPackage } from '../workspace';

export type Options = NonNullable<ParseArgsConfig['options']>;

export const packageOptions = {
  package: { type: 'string', short: 'p' },
  all: { type: 'boolean' },
} satisfies Options;

/** A word on the command line that is no flag, given to a command that takes none (`db:migrate teamd`). */
export class UnexpectedArgument extends UsageError {
  constructor(readonly argument: string) {
    super(`Unexpected argument "${argument}": this command takes flags only.`);
    this.name = 'UnexpectedArgument';
  }
}

/** Parses flags; a positional argument is refused unless the command takes some (restore's file). */
export function parse<O extends Options>(argv: string[], options: O, takes: { positionals?: boolean } = {}) {
  const parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  if (!takes.positionals && parsed.positionals.length) throw new UnexpectedArgument(parsed.positionals[0]!);
  return parsed;
}

/** The numeric value of a seconds flag, within what PostgreSQL's timeouts take (up to 2147483 s). */
export function secondsFlag(value: string | undefined, flag: string, fallback: number): number;
export function secondsFlag(value: string | undefined, flag: string, fallback?: number): number | undefined;
export function secondsFlag(value: string | undefined, flag: string, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const seconds = Number(value);
  if (value.trim() === '' || !Number.isFinite(seconds) || seconds < 0 || seconds * 1000 > 2_147_483_647)
    throw new UsageError(
      `${flag} takes seconds from 0 to 2147483, got "${value}".`,
      `For example ${flag} 30. Run with --help to see the options.`,
    );
  return seconds;
}

/** The package named by --package, or all of them with --all. */
export function selectPackages(ws: Workspace, values: { package?: string; all?: boolean }): SchemaPackage[] {
  if (values.all) return ws.allInOrder();
  if (!values.package)
    throw new UsageError(
      'Say which package: --package <alias> or --all.',
      `Packages: ${ws.packages.map((p) => p.alias).join(', ')}.`,
    );
  return [ws.resolve(values.package)];
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The flags of every command that destroys data: reset, fresh (seed and restore have their own subset). */
export const resetOptions = {
  yes: { type: 'boolean', short: 'y' },
  force: { type: 'boolean' },
  'confirm-name': { type: 'string' },
  'no-backup': { type: 'boolean' },
} satisfies Options;

export const guardText = `  -y, --yes                go ahead without asking (required without a terminal)
      --force              allow a DATABASE_URL that is not local (127.0.0.1, localhost, ::1);
                           you then type the database's name
      --confirm-name <db>  that name, for --force without a terminal
      --no-backup          skip the automatic backup (backups/<db>-<timestamp>.dump)`;

export const seedOptions = {
  count: { type: 'string' },
  seed: { type: 'string' },
} satisfies Options;

export function readSeedOptions(values: { count?: string; seed?: string }): { count: number; seed: number } {
  const count = values.count === undefined ? 10 : Number(values.count);
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (!Number.isInteger(count) || count < 1)
    throw new UsageError(`--count takes a positive whole number, got "${values.count}".`);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed takes a whole number, got "${values.seed}".`);
  return { count, seed };
}
