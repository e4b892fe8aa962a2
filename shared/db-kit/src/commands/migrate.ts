import type { Command, Context } from '../context';
import { UsageError } from '../errors';
import { clientTag } from '../migrations/lock';
import {
  DEFAULT_LOCK_TIMEOUT_MS,
  DEFAULT_STATEMENT_LOCK_TIMEOUT_MS,
  LOCK_TIMEOUT_ATTEMPTS,
  Migrator,
} from '../migrations/runner';
import { cachedUnrecordedChanges, describeUnrecorded, type UnrecordedChange } from '../schema/unrecorded';
import { scriptFor } from '../scripts';
import { packageOptions, parse, plural, selectPackages, type Options } from './common';

const options = {
  ...packageOptions,
  'dry-run': { type: 'boolean' },
  'strict-order': { type: 'boolean' },
  'single-transaction': { type: 'boolean' },
  'lock-timeout': { type: 'string' },
  'lock-timeout-statement': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
} satisfies Options;

const command: Command = {
  usage: `Usage: db-kit migrate (--package <alias> | --all) [options]

Applies the package's pending migrations and those of the packages it builds on
in dependency order: every pending migration of the packages a package builds on
first (a team's migrate applies pending shared ones before its own), each package's
by timestamp. The one exception is a "-- db-kit: requires <package> <tag>" header
(written by promote): the required migrations run before it. All in one run, under
one database-wide lock; each migration commits with its record. A pending migration
older than an applied one (merged late) is applied and reported as out of order. A file starting with "-- db-kit: no-transaction" runs outside a transaction,
statement by statement. An applied file that changed or vanished stops the run before
anything executes (see db-kit repair).

Options:
  -p, --package <alias>   shared, teamd, ... (or the package name)
      --all               every package in the workspace
      --dry-run           print what would run; change nothing
      --strict-order      fail instead of applying a migration older than an applied one
      --single-transaction
                          the whole run in one transaction: all or nothing, faster on long
                          histories, but holds every lock to the end (fresh databases, CI)
      --lock-timeout <s>  seconds to wait for another migrate or repair (default ${DEFAULT_LOCK_TIMEOUT_MS / 1000})
      --lock-timeout-statement <s>
                          seconds a statement waits for a table lock before its migration is
                          rolled back and retried (${LOCK_TIMEOUT_ATTEMPTS} attempts; 0: wait forever). Default: the
                          role's own lock_timeout, else ${DEFAULT_STATEMENT_LOCK_TIMEOUT_MS / 1000}
  -q, --quiet             print only the summary

Ctrl-C (SIGINT) or SIGTERM cancels the statement in flight and rolls its migration back.
An "applied" line is printed once that migration is on disk: it survives a server crash.

When a package's schema files have changes that no migration records (a generate
nobody ran), it warns on stderr and names the generate script; the exit code stays.

Exit: 0 done or nothing to do; 1 a migration failed or an applied file changed; 2 usage or connection error;
130/143 cancelled by SIGINT/SIGTERM.`,

  async run(argv, ctx) {
    const { values } = parse(argv, options);
    const ws = ctx.workspace;
    const selected = selectPackages(ws, values);
    const packages = ws.withDependencies(selected);
    const lockTimeout =
      values['lock-timeout'] === undefined ? DEFAULT_LOCK_TIMEOUT_MS / 1000 : Number(values['lock-timeout']);
    if (!Number.isFinite(lockTimeout) || lockTimeout < 0)
      throw new UsageError(`--lock-timeout takes seconds, got "${values['lock-timeout']}".`);
    const statementTimeout =
      values['lock-timeout-statement'] === undefined ? undefined : Number(values['lock-timeout-statement']);
    if (statementTimeout !== undefined && (!Number.isFinite(statementTimeout) || statementTimeout < 0))
      throw new UsageError(`--lock-timeout-statement takes seconds, got "${values['lock-timeout-statement']}".`);
    const database = ctx.database.redacted;
    const cancel = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => {
      if (cancel.signal.aborted) process.exit(signal === 'SIGTERM' ? 143 : 130);
      ctx.out.warn(`Cancelling (${signal}): rolling back the migration in flight...`);
      cancel.abort(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    // Two connections: the run's, and one a cancel (Ctrl-C) goes through. The client tag lets a
    // later run tell that this one's process is gone while its backend still works.
    const name = `db-kit migrate (${selected.map((p) => p.alias).join(',')}) ${clientTag()}`;
    return ctx
      .withConnection(
        name,
        async (sql) => {
          const log = values.quiet ? () => {} : (line: string) => ctx.out.print(line);
          const started = performance.now();
          // Read while the migrations run; a warning only, so a failure to diff costs nothing but the warning.
          const unrecorded = cachedUnrecordedChanges(ws, packages).catch(() => []);
          const result = await new Migrator(sql, packages, ws.packages).migrate({
            dryRun: values['dry-run'],
            strictOrder: values['strict-order'],
            singleTransaction: values['single-transaction'],
            lockTimeoutMs: lockTimeout * 1000,
            statementLockTimeoutMs: statementTimeout === undefined ? undefined : statementTimeout * 1000,
            signal: cancel.signal,
            log,
          });
          // A `requires` header can pull another package's migrations into the run: name it too.
          const touched = [...result.planned, ...result.applied.map((a) => a.file)].map((f) => f.packageName);
          const pulled = ws.packages.filter((p) => touched.includes(p.name) && !packages.includes(p));
          const scope = [...packages, ...pulled].map((p) => p.alias).join(' + ');
          if (values['dry-run']) {
            if (!result.planned.length) ctx.out.print(`Nothing to migrate (${scope}) on ${database}.`);
            else {
              ctx.out.print(`Would apply ${plural(result.planned.length, 'migration')} (${scope}) on ${database}:`);
              const late = new Set(result.plannedOutOfOrder);
              for (const f of result.planned)
                ctx.out.print(
                  `  ${ws.relative(f.path)}${late.has(f) ? '  (out of order: older than an applied migration)' : ''}`,
                );
            }
            warnUnrecorded(ctx, await unrecorded);
            return 0;
          }
          if (result.adopted)
            ctx.out.print(`Adopted ${plural(result.adopted, 'migration')} recorded by drizzle's migrator.`);
          const seconds = ((performance.now() - started) / 1000).toFixed(1);
          if (!result.applied.length) ctx.out.print(`Nothing to migrate: ${scope} up to date.`);
          else {
            const late = result.applied.filter((a) => a.outOfOrder).length;
            ctx.out.print(
              `Applied ${plural(result.applied.length, 'migration')} (${scope}) in ${seconds} s${late ? `, ${late} out of order` : ''}.`,
            );
          }
          warnUnrecorded(ctx, await unrecorded);
          return 0;
        },
        { connections: 2 },
      )
      .finally(() => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      });
  },
};

/** A forgotten generate: the run is done, but the schema files say more than the migrations. */
function warnUnrecorded(ctx: Context, changes: UnrecordedChange[]): void {
  for (const change of changes) {
    ctx.out.warn(`warning: ${describeUnrecorded(change.pkg.name, change)}`);
    if (!change.loadError)
      ctx.out.warn(
        `  next: ${scriptFor(ctx.workspace, 'generate', change.pkg)} --name <what_changed>, then migrate again.`,
      );
  }
}

export default command;
