import { userInfo } from 'node:os';
import { UsageError } from '../errors';
import { REPAIR_LOG_TABLE, Repairer } from '../migrations/repair';
import { DEFAULT_LOCK_TIMEOUT_MS } from '../migrations/runner';
import type { Command } from '../context';
import { packageOptions, parse, plural, secondsFlag, selectPackages, type Options } from './common';

const options = {
  ...packageOptions,
  reason: { type: 'string' },
  migration: { type: 'string', short: 'm' },
  'dry-run': { type: 'boolean' },
  'lock-timeout': { type: 'string' },
} satisfies Options;

const command: Command = {
  usage: `Usage: db-kit repair (--package <alias> | --all) --reason "<why>" [options]

When an applied migration's file was edited or deleted on purpose, migrate and status
refuse to go on. Repair makes the bookkeeping agree with the files again:
  changed file   its new hash is recorded (its new SQL is NOT run: put real schema
                 changes in a new migration)
  missing file   its bookkeeping row is removed (the schema it built stays)
  renamed file   (same content, new name) its row takes the new name; it never runs again
Each repair is recorded in ${REPAIR_LOG_TABLE}: database and OS user, time,
package, migration, old and new hash, and the reason.

Options:
  -p, --package <alias>    the package whose bookkeeping to repair (only that one)
      --all                every package
      --reason "<why>"     required; stored in the audit table
  -m, --migration <name>   only this migration (name, or the first 8+ characters of its recorded hash)
      --dry-run            print what would be repaired; change nothing
      --lock-timeout <s>   seconds to wait for a running migrate (default ${DEFAULT_LOCK_TIMEOUT_MS / 1000})

Exit: 0 repaired or nothing to repair; 2 usage or connection error.`,

  async run(argv, ctx) {
    const { values } = parse(argv, options);
    const ws = ctx.workspace;
    const packages = selectPackages(ws, values);
    const reason = values.reason;
    if (!reason?.trim()) {
      throw new UsageError(
        'Refusing to repair without a reason: add --reason "<why the file changed>".',
        'The reason is stored in the audit table, with your database and OS user.',
      );
    }
    const lockTimeout = secondsFlag(values['lock-timeout'], '--lock-timeout', DEFAULT_LOCK_TIMEOUT_MS / 1000);
    return ctx.withConnection(`db-kit repair (${packages.map((p) => p.alias).join(',')})`, async (sql) => {
      const repairs = await new Repairer(sql, packages).repair({
        reason,
        migration: values.migration,
        osUser: osUser(),
        dryRun: values['dry-run'],
        lockTimeoutMs: lockTimeout * 1000,
      });
      if (!repairs.length) {
        ctx.out.print(
          `Nothing to repair: every applied migration of ${packages.map((p) => p.alias).join(', ')} matches its file.`,
        );
        return 0;
      }
      for (const r of repairs) {
        const what =
          r.action === 'accept-changed'
            ? `accept the edited file (hash ${r.oldHash.slice(0, 12)} -> ${r.newHash!.slice(0, 12)})`
            : r.action === 'record-rename'
              ? `record the new name of a renamed file (same content, hash ${r.oldHash.slice(0, 12)}; it does not ` +
                `run again)`
              : `forget the deleted file (hash ${r.oldHash.slice(0, 12)})`;
        ctx.out.print(`  ${values['dry-run'] ? 'would ' : ''}${r.pkg.alias.padEnd(8)} ${r.migration}: ${what}`);
      }
      if (values['dry-run']) ctx.out.print(`Would repair ${plural(repairs.length, 'migration')}; nothing changed.`);
      else
        ctx.out.print(
          `Repaired ${plural(repairs.length, 'migration')}; recorded in ${REPAIR_LOG_TABLE}. Edited SQL was not run.`,
        );
      return 0;
    });
  },
};

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? 'unknown';
  }
}

export default command;
