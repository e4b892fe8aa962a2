import type { Command, Context } from '../context';
import { DbKitError } from '../errors';
import type { Applied } from '../migrations/apply';
import { type MigrationFile, MalformedFile } from '../migrations/files';
import { historyOf } from '../migrations/history';
import { CONNECTION_NAMES } from '../connection-names';
import {
  DEFAULT_LOCK_TIMEOUT_MS,
  DEFAULT_STATEMENT_LOCK_TIMEOUT_MS,
  LOCK_TIMEOUT_ATTEMPTS,
  type MigrateOptions,
  type MigrateOutcome,
  type MigrateResult,
  Migrator,
  outcomeOf,
} from '../migrations/runner';
import { cachedUnrecordedChanges, describeUnrecorded, type UnrecordedChange } from '../schema/unrecorded';
import { scriptFor } from '../scripts';
import { packageOptions, parse, secondsFlag, plural, selectPackages, type Options } from './common';

const options = {
  ...packageOptions,
  'dry-run': { type: 'boolean' },
  'strict-order': { type: 'boolean' },
  'single-transaction': { type: 'boolean' },
  'lock-timeout': { type: 'string' },
  'lock-timeout-statement': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  json: { type: 'boolean' },
} satisfies Options;

const command: Command = {
  usage:
    `Usage: db-kit migrate (--package <alias> | --all) [options]

Applies the package's pending migrations and those of the packages it builds on
in dependency order: every pending migration of the packages a package builds on
first (a team's migrate applies pending shared ones before its own), each package's
by timestamp. The one exception is a "-- db-kit: requires <package> <tag>" header
(written by promote): the required migrations run before it. All in one run, under
one database-wide lock; each migration commits with its record. A pending migration
older than an applied one (merged late) is applied and reported as out of order. ` +
    `A file starting with "-- db-kit: no-transaction" runs outside a transaction,
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
      --json              print {ok, database, packages, applied | planned} instead; a failure prints
                          {ok: false, error, applied, failed, notRun}: what committed, what did not run

Ctrl-C (SIGINT) or SIGTERM cancels the statement in flight and rolls its migration back.
An "applied" line is printed once that migration is on disk: it survives a server crash.

When a package's schema files have changes that no migration records (a generate
nobody ran), it warns on stderr and names the generate script; the exit code stays.
Without a terminal (CI, a deploy) it only reports what .db/schema-changes.json already
knows: diffing a changed schema takes seconds, and status and check report it too.

Exit: 0 done or nothing to do; 1 a migration failed or an applied file changed; 2 usage or connection error;
130/143 cancelled by SIGINT/SIGTERM.`,

  async run(argv, ctx) {
    const { values } = parse(argv, options);
    const ws = ctx.workspace;
    const selected = selectPackages(ws, values);
    const packages = ws.withDependencies(selected);
    const settings = runSettings(values);
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
    const name = CONNECTION_NAMES.migrate();
    const json = Boolean(values.json);
    // Schema changes no migration records (a generate nobody ran): a warning only, so a failure to diff costs
    // nothing but the warning. A cache miss costs 1 to 4 s (tsx and drizzle-kit load the schema): without a person
    // at the terminal (CI, a deploy: a fresh clone always misses) nobody would read it here, and status and check
    // report it; such a run answers from the cache only.
    let unrecorded: Promise<UnrecordedChange[] | MalformedFile> | undefined;
    const readUnrecorded = () =>
      (unrecorded ??= cachedUnrecordedChanges(ws, packages, { diffStale: ctx.terminal.interactive }).catch(
        (error: unknown) => (error instanceof MalformedFile ? error : []),
      ));
    // While the server starts the session: what needs no database and the run needs first (the histories). The
    // schema-change answer is worked out while the server answers the run's first query (whileChecking).
    const meanwhile = () => {
      for (const pkg of packages) {
        try {
          historyOf(pkg).files;
        } catch {
          // the run reads it again and reports it
        }
      }
    };
    return ctx
      .withConnection(
        name,
        async (sql) => {
          const log = values.quiet || json ? undefined : (line: string) => ctx.out.print(line);
          const started = performance.now();
          const result = await new Migrator(sql, packages, ws.packages)
            .migrate({ ...settings, signal: cancel.signal, log, whileChecking: readUnrecorded })
            .catch((error: unknown) => {
              if (json && error instanceof DbKitError) error.details = outcomeJson(ctx, outcomeOf(error));
              throw error;
            });
          // A `requires` header can pull another package's migrations into the run: name it too.
          const touched = [...result.planned, ...result.applied.map((a) => a.file)].map((f) => f.packageName);
          const pulled = ws.packages.filter((p) => touched.includes(p.name) && !packages.includes(p));
          const scope = [...packages, ...pulled].map((p) => p.alias);
          const seconds = (performance.now() - started) / 1000;
          if (json) printJson(ctx, result, scope, Boolean(settings.dryRun));
          else if (settings.dryRun) printPlan(ctx, result, scope.join(' + '));
          else printApplied(ctx, result, scope.join(' + '), seconds);
          const changes = await readUnrecorded();
          if (changes instanceof MalformedFile) ctx.out.warn(`warning: ${changes.message}\n  next: ${changes.hint}`);
          else warnUnrecorded(ctx, changes);
          return 0;
        },
        // Its queries spell lists as literals: no array types to fetch at connect.
        { connections: 2, arrayTypes: false, meanwhile },
      )
      .finally(() => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      });
  },
};

function runSettings(values: {
  'dry-run'?: boolean;
  'strict-order'?: boolean;
  'single-transaction'?: boolean;
  'lock-timeout'?: string;
  'lock-timeout-statement'?: string;
}): MigrateOptions {
  const lockTimeout = secondsFlag(values['lock-timeout'], '--lock-timeout', DEFAULT_LOCK_TIMEOUT_MS / 1000);
  const statementTimeout = secondsFlag(values['lock-timeout-statement'], '--lock-timeout-statement');
  return {
    dryRun: values['dry-run'],
    strictOrder: values['strict-order'],
    singleTransaction: values['single-transaction'],
    lockTimeoutMs: lockTimeout * 1000,
    statementLockTimeoutMs: statementTimeout === undefined ? undefined : statementTimeout * 1000,
  };
}

function printPlan(ctx: Context, result: MigrateResult, scope: string): void {
  const database = ctx.database.redacted;
  if (!result.planned.length) {
    ctx.out.print(`Nothing to migrate (${scope}) on ${database}.`);
    return;
  }
  ctx.out.print(`Would apply ${plural(result.planned.length, 'migration')} (${scope}) on ${database}:`);
  const late = new Set(result.plannedOutOfOrder);
  for (const f of result.planned) {
    const note = late.has(f) ? '  (out of order: older than an applied migration)' : '';
    ctx.out.print(`  ${ctx.workspace.relative(f.path)}${note}`);
  }
}

function printApplied(ctx: Context, result: MigrateResult, scope: string, seconds: number): void {
  if (result.adopted) ctx.out.print(`Adopted ${plural(result.adopted, 'migration')} recorded by drizzle's migrator.`);
  if (!result.applied.length) {
    ctx.out.print(`Nothing to migrate: ${scope} up to date.`);
    return;
  }
  const late = result.applied.filter((a) => a.outOfOrder).length;
  const count = plural(result.applied.length, 'migration');
  ctx.out.print(`Applied ${count} (${scope}) in ${seconds.toFixed(1)} s${late ? `, ${late} out of order` : ''}.`);
}

/** `migrate --json`: what was applied (or, with --dry-run, planned); a failure adds what failed and what never ran. */
function printJson(ctx: Context, result: MigrateResult, scope: string[], dryRun: boolean): void {
  const migration = (f: MigrationFile) => ({ package: f.packageName, migration: f.tag });
  const late = new Set(result.plannedOutOfOrder);
  const body = {
    ok: true,
    database: ctx.database.redacted,
    packages: scope,
    ...(dryRun
      ? { planned: result.planned.map((f) => ({ ...migration(f), outOfOrder: late.has(f) })) }
      : { applied: result.applied.map(appliedJson), adopted: result.adopted }),
  };
  ctx.out.print(JSON.stringify(body, null, 2));
}

function appliedJson(a: Applied) {
  return { package: a.file.packageName, migration: a.file.tag, ms: Math.round(a.ms), outOfOrder: a.outOfOrder };
}

function outcomeJson(ctx: Context, outcome: MigrateOutcome | undefined): Record<string, unknown> {
  const migration = (f: MigrationFile) => ({ package: f.packageName, migration: f.tag });
  return {
    database: ctx.database.redacted,
    applied: outcome?.applied.map(appliedJson) ?? [],
    failed: outcome?.failed ? migration(outcome.failed) : null,
    notRun: outcome?.notRun.map(migration) ?? [],
  };
}

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
