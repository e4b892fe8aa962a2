import type { Command } from '../context';
import { loadSchemas } from '../schema/load';
import { applyPush, planPush, type PushStatement } from '../schema/push';
import { DbKitError, describeError, isConnectionLost } from '../errors';
import { confirmAction, confirmDatabaseName } from '../safety/confirm';
import { assertDevelopmentDatabase } from '../safety/guard';
import { scriptFor } from '../scripts';
import { packageOptions, parse, plural, selectPackages, type Options } from './common';

const options = {
  ...packageOptions,
  yes: { type: 'boolean', short: 'y' },
  force: { type: 'boolean' },
  'confirm-name': { type: 'string' },
  'dry-run': { type: 'boolean' },
} satisfies Options;

const command: Command = {
  usage: `Usage: db-kit push (--package <alias> | --all) [--yes] [--dry-run] [--force]

Development only: makes the database match the package's schema files directly, without a
migration. The desired state is the union of EVERY package's schema, so pushing one package
never drops another's tables; only statements on objects the pushed package owns are run,
in one transaction. The drizzle bookkeeping schema is never touched. Afterwards, generate a
migration for the change (push is for trying things out; migrations are what ship).

Options:
  -p, --package <alias>   shared, teamd, ... (or the package name)
      --all               every package
  -y, --yes               run statements that lose data without asking (required without a terminal)
      --dry-run           print the statements; change nothing
      --force             allow a DATABASE_URL that is not local (127.0.0.1, localhost, ::1);
                          you then type the database's name
      --confirm-name <db> that name, for --force without a terminal

Never run: TRUNCATE ... CASCADE (drizzle-kit's way to add a NOT NULL column to a table with
rows; it would empty every table that references it, other packages' included), and CASCADE
is taken off every DROP, so an object of another package that depends on it stops the push.

A database with a composite primary key or a NULLS NOT DISTINCT unique (which drizzle-kit's
pushSchema cannot read) is diffed against what the applied migrations and the package's earlier
pushes built instead; if the pushed package's objects differ from that (a manual change), push
stops and names the difference.

Exit: 0 pushed, nothing to do, or declined at the prompt ("Nothing changed."); 2 refused,
usage or connection error.`,

  async run(argv, ctx) {
    const { values } = parse(argv, options);
    const ws = ctx.workspace;
    const scope = selectPackages(ws, values);
    const target = assertDevelopmentDatabase(ctx.database, { action: 'push schema changes', force: values.force });
    return ctx.withConnection(`db-kit push (${scope.map((p) => p.alias).join(',')})`, async (sql) => {
      const names = scope.map((p) => p.alias).join(' + ');
      const loaded = await loadSchemas(ws.allInOrder());
      const plan = await planPush(sql, loaded, ws.packages, scope, ctx.terminal.interactive).catch((error) => {
        if (error instanceof DbKitError || isConnectionLost(error)) throw error;
        const reason = describeError(error).split('\n')[0];
        const failure = new DbKitError(
          `push could not plan ${names}'s change: ${reason}. Nothing changed.`,
          `Write it as a migration instead: ${scriptFor(ws, 'generate', scope[0]!)} --name <what_changed>, then ` +
            `${scriptFor(ws, 'migrate', scope[0]!)} (DEBUG=1 shows the details).`,
          'internal',
        );
        // DEBUG=1 prints drizzle-kit's own stack, not this wrapper's.
        if (error instanceof Error && error.stack) failure.stack = error.stack;
        throw failure;
      });
      for (const s of plan.leftAlone)
        ctx.out.print(`  left alone (${s.owner ? `owned by ${s.owner.alias}` : 'owned by no package'}): ${oneLine(s)}`);
      if (!plan.statements.length) {
        ctx.out.print(`Nothing to push: the database matches ${names}'s schema.`);
        return 0;
      }
      ctx.out.print(
        `${values['dry-run'] ? 'Would run' : 'Plan:'} ${plural(plan.statements.length, 'statement')} for ${names} ` +
          `on ${target.redacted}:`,
      );
      for (const s of plan.statements) ctx.out.print(`  ${s.dataLoss ? 'DATA LOSS ' : ''}${oneLine(s)}`);
      for (const s of plan.refused) ctx.out.print(`  REFUSED ${oneLine(s)}`);
      if (plan.refused.length) {
        throw new DbKitError(
          `push will not run ${oneLine(plan.refused[0]!).slice(0, 80)}: CASCADE empties every table that references ` +
            "it, other packages' included. Nothing changed.",
          'Give the new NOT NULL column a default, or add it nullable, fill it, then make it NOT NULL ' +
            `(${scriptFor(ws, 'generate', scope[0]!)} --name <what_changed> writes that as a migration).`,
          'refused',
        );
      }
      if (values['dry-run']) return 0;
      const losing = plan.statements.filter((s) => s.dataLoss);
      // Off a local database (--force), the README's promise: the database's name typed, always.
      if (!target.local)
        await confirmDatabaseName(ctx.terminal, target, values['confirm-name'], `Push ${names}'s schema`);
      else if (losing.length)
        await confirmAction(ctx.terminal, {
          question:
            `${losing.length === 1 ? 'The statement' : `The ${losing.length} statements`} marked DATA LOSS ` +
            `${losing.length === 1 ? 'loses' : 'lose'} data. Run ${losing.length === 1 ? 'it' : 'them'}`,
          yes: values.yes,
        });
      ctx.out.print(`Pushing ${plural(plan.statements.length, 'statement')}...`);
      await applyPush(sql, plan);
      ctx.out.print(
        `Pushed ${names}. Run \`${scriptFor(ws, 'generate', scope[0]!)} --name <what_changed>\` before you commit, ` +
          `so the change ships as a migration.`,
      );
      return 0;
    });
  },
};

function oneLine(statement: PushStatement): string {
  return statement.sql.replace(/\s+/g, ' ').slice(0, 160);
}

export default command;
