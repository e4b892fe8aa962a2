import { userInfo } from 'node:os';
import { backupDatabase } from '../backup/backup';
import type { Command } from '../context';
import { UsageError } from '../errors';
import { REPAIR_LOG_TABLE } from '../migrations/repair';
import { DEFAULT_LOCK_TIMEOUT_MS } from '../migrations/runner';
import { assertRunnable, planRollback, type RollbackPlan, type RollbackSelection } from '../rollback/plan';
import { runRollback } from '../rollback/run';
import { confirmAction, confirmDatabaseName } from '../safety/confirm';
import { assertDevelopmentDatabase } from '../safety/guard';
import { parse, plural, secondsFlag, type Options } from './common';

const options = {
  package: { type: 'string', short: 'p' },
  steps: { type: 'string', short: 'n' },
  to: { type: 'string' },
  missing: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
  force: { type: 'boolean' },
  reason: { type: 'string' },
  'confirm-name': { type: 'string' },
  'no-backup': { type: 'boolean' },
  'lock-timeout': { type: 'string' },
} satisfies Options;

const command: Command = {
  usage: `Usage: db-kit rollback --package <alias> (--steps <n> | --to <tag> | --missing) [options]

Undoes applied migrations of one package, newest first, by running their downs
(<tag>.down.sql beside the migration; when the file is gone, the copy stored in the
bookkeeping row when it was applied). Each down runs in its own transaction together
with removing its bookkeeping row; each is audited in ${REPAIR_LOG_TABLE}.

Which migrations:
  -n, --steps <n>        the newest n applied
      --to <tag>         every one applied after <tag> (<tag> stays applied)
      --missing          those whose files are gone (applied on another branch)

Before anything runs it prints the plan and what the downs drop ("drops column
public.teamd_projects.budget: 1,204 non-null values"), and refuses when:
  - another package's foreign key points at a table or column a down drops (roll that
    package's migration back first);
  - the tables a down touches differ from what the migrations built (drift);
  - a down is partial (-- db-kit: irreversible ...) or missing, unless --force --reason.
With data at stake it asks (or needs --yes) and first backs up exactly the affected tables
(pg_dump -t, to backups/<db>-tables-<timestamp>.dump).

Options:
      --dry-run            print the plan and the data at stake; change nothing
  -y, --yes                go ahead without asking (required without a terminal)
      --force              run partial or missing downs (with --reason), or allow a
                           DATABASE_URL that is not local (then type the database's name)
      --reason "<why>"     why, stored in the audit table (required with --force for partial downs)
      --confirm-name <db>  the database's name, for --force on a non-local database without a terminal
      --no-backup          skip the backup of the affected tables
      --lock-timeout <s>   seconds to wait for a running migrate (default ${DEFAULT_LOCK_TIMEOUT_MS / 1000})

Exit: 0 rolled back, nothing to do, dry run, or declined at the prompt ("Nothing changed."); 1 refused
or a down failed; 2 usage or connection error.`,

  async run(argv, ctx) {
    const { values } = parse(argv, options);
    if (!values.package) throw new UsageError('Say which package: --package <alias>.');
    const selection = readSelection(values);
    const lockTimeout = secondsFlag(values['lock-timeout'], '--lock-timeout', DEFAULT_LOCK_TIMEOUT_MS / 1000);
    const ws = ctx.workspace;
    const pkg = ws.resolve(values.package);
    const dryRun = Boolean(values['dry-run']);
    const target = dryRun
      ? ctx.database
      : assertDevelopmentDatabase(ctx.database, { action: 'roll back migrations', force: values.force });
    return ctx.withConnection(`db-kit rollback (${pkg.alias})`, async (sql) => {
      const plan = await planRollback(sql, ws, pkg, selection);
      if (!plan.steps.length) {
        ctx.out.print(`Nothing to roll back in ${pkg.name}${'missing' in selection ? ': no missing migrations' : ''}.`);
        return 0;
      }
      ctx.out.print(formatPlan(plan, target.redacted));
      assertRunnable(plan, { force: values.force, reason: values.reason });
      if (dryRun) {
        ctx.out.print('Dry run: nothing changed.');
        return 0;
      }
      const atStake = plan.atStake.filter((d) => d.rows > 0);
      const question =
        `Roll back ${plural(plan.steps.length, 'migration')} of ${pkg.alias} in ` +
        `"${target.database}"${atStake.length ? ', losing the data above' : ''}`;
      // A "no" throws Declined: runCli prints "Nothing changed." and exits 0.
      if (!target.local) await confirmDatabaseName(ctx.terminal, target, values['confirm-name'], question);
      else if (atStake.length) await confirmAction(ctx.terminal, { question, yes: values.yes });
      // Exactly the tables whose rows or values a down drops.
      const tables = [...new Set(atStake.map((d) => d.table))];
      if (tables.length && !values['no-backup']) {
        const backup = await backupDatabase(sql, target, ws.root, undefined, tables);
        ctx.out.print(
          `Backed up ${tables.join(', ')} to ${ws.relative(backup.file)} (restore: pg_restore --data-only -d <db> ` +
            `${ws.relative(backup.file)}).`,
        );
      }
      const done = await runRollback(sql, ws, plan, selection, {
        force: values.force,
        reason: values.reason,
        osUser: osUser(),
        asked: `db-kit ${['rollback', ...argv.filter((a) => a !== '--yes' && a !== '-y')].join(' ')}`,
        lockTimeoutMs: lockTimeout * 1000,
        log: (line) => ctx.out.print(line),
      });
      ctx.out.print(`Rolled back ${plural(done.length, 'migration')} of ${pkg.name}; recorded in ${REPAIR_LOG_TABLE}.`);
      return 0;
    });
  },
};

function readSelection(values: { steps?: string; to?: string; missing?: boolean }): RollbackSelection {
  const given = [values.steps !== undefined, values.to !== undefined, Boolean(values.missing)].filter(Boolean).length;
  if (given !== 1)
    throw new UsageError(
      'Say which migrations: exactly one of --steps <n>, --to <tag> or --missing.',
      'db-kit rollback --package <alias> --steps 1 undoes the newest applied migration.',
    );
  if (values.steps !== undefined) {
    const steps = Number(values.steps);
    if (!Number.isInteger(steps) || steps < 1)
      throw new UsageError(`--steps takes a whole number of migrations (1 or more), got "${values.steps}".`);
    return { steps };
  }
  if (values.to !== undefined) return { to: values.to };
  return { missing: true };
}

/** The plan as a person reads it: the downs in order, then what they drop. */
export function formatPlan(plan: RollbackPlan, database: string): string {
  const out = [`Rollback of ${plan.pkg.name} on ${database}, newest first:`];
  for (const step of plan.steps) {
    const source =
      step.source === 'file' ? 'its .down.sql' : step.source === 'stored' ? 'the down stored when it was applied' : '';
    const state = !step.down
      ? 'NO DOWN'
      : step.down.todo
        ? 'down not written yet'
        : step.down.irreversible.length
          ? `partial: ${step.down.irreversible.join('; ')}`
          : '';
    out.push(
      `  down  ${step.migration}${step.missingFile ? '  (file gone)' : ''}` +
        `${source ? `  from ${source}` : ''}${state ? `  [${state}]` : ''}`,
    );
  }
  out.push('Pre-checks:');
  for (const d of plan.atStake)
    out.push(
      `  drops ${d.kind} ${d.object}: ${d.rows.toLocaleString('en-US')} ` +
        `${d.kind === 'table' ? (d.rows === 1 ? 'row' : 'rows') : d.rows === 1 ? 'non-null value' : 'non-null values'}`,
    );
  if (!plan.atStake.length) out.push('  drops no table or column with data');
  return out.join('\n');
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? 'unknown';
  }
}

export default command;
