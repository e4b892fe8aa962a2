import type { Command } from '../context';
import { UsageError } from '../errors';
import { DEFAULT_LOCK_TIMEOUT_MS, Migrator } from '../migrations/runner';
import { packageOptions, parse, plural, selectPackages, type Options } from './common';

const options = {
  ...packageOptions,
  'dry-run': { type: 'boolean' },
  'strict-order': { type: 'boolean' },
  'single-transaction': { type: 'boolean' },
  'lock-timeout': { type: 'string' },
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
  -q, --quiet             print only the summary

Exit: 0 done or nothing to do; 1 a migration failed or an applied file changed; 2 usage or connection error.`,

  async run(argv, ctx) {
    const { values } = parse(argv, options);
    const ws = ctx.workspace;
    const selected = selectPackages(ws, values);
    const packages = ws.withDependencies(selected);
    const lockTimeout =
      values['lock-timeout'] === undefined ? DEFAULT_LOCK_TIMEOUT_MS / 1000 : Number(values['lock-timeout']);
    if (!Number.isFinite(lockTimeout) || lockTimeout < 0)
      throw new UsageError(`--lock-timeout takes seconds, got "${values['lock-timeout']}".`);
    const database = ctx.database.redacted;
    return ctx.withConnection(`db-kit migrate (${selected.map((p) => p.alias).join(',')})`, async (sql) => {
      const log = values.quiet ? () => {} : (line: string) => ctx.out.print(line);
      const started = performance.now();
      const result = await new Migrator(sql, packages, ws.packages).migrate({
        dryRun: values['dry-run'],
        strictOrder: values['strict-order'],
        singleTransaction: values['single-transaction'],
        lockTimeoutMs: lockTimeout * 1000,
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
      return 0;
    });
  },
};

export default command;
