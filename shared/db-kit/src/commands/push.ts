import type { Command } from '../cli';
import { connect } from '../connection';
import { redact } from '../env';
import { loadSchemas } from '../schema/load';
import { applyPush, planPush, type PushStatement } from '../schema/push';
import { confirmAction } from '../safety/confirm';
import { assertDevelopmentDatabase } from '../safety/guard';
import { Workspace } from '../workspace';
import { packageOptions, parse, plural, requireDatabaseUrl, selectPackages, type Options } from './common';

const options = {
  ...packageOptions,
  yes: { type: 'boolean', short: 'y' },
  force: { type: 'boolean' },
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
      --force             allow a DATABASE_URL that is not local (127.0.0.1, localhost, ::1)

Exit: 0 pushed or nothing to do; 2 refused, declined, usage or connection error.`,

  async run(argv) {
    const { values } = parse(argv, options);
    const ws = Workspace.find();
    const scope = selectPackages(ws, values);
    const url = requireDatabaseUrl(ws);
    assertDevelopmentDatabase(url, ws.root, { action: 'push schema changes', force: values.force });
    const sql = await connect(url, `db-kit push (${scope.map((p) => p.alias).join(',')})`);
    try {
      const plan = await planPush(sql, await loadSchemas(ws.allInOrder()), ws.packages, scope);
      const names = scope.map((p) => p.alias).join(' + ');
      for (const s of plan.leftAlone)
        console.log(`  left alone (${s.owner ? `owned by ${s.owner.alias}` : 'owned by no package'}): ${oneLine(s)}`);
      if (!plan.statements.length) {
        console.log(`Nothing to push: the database matches ${names}'s schema.`);
        return 0;
      }
      console.log(
        `${values['dry-run'] ? 'Would run' : 'Pushing'} ${plural(plan.statements.length, 'statement')} for ${names} on ${redact(url)}:`,
      );
      for (const s of plan.statements) console.log(`  ${s.dataLoss ? 'DATA LOSS ' : ''}${oneLine(s)}`);
      if (values['dry-run']) return 0;
      const losing = plan.statements.filter((s) => s.dataLoss);
      if (
        losing.length &&
        !(await confirmAction({
          question: `${plural(losing.length, 'statement')} above lose data. Run them`,
          yes: values.yes,
        }))
      ) {
        console.log('Nothing changed.');
        return 2;
      }
      await applyPush(sql, plan);
      console.log(
        `Pushed ${names}. Run \`db-kit generate --package ${scope[0]!.alias}\` before you commit, so the change ships as a migration.`,
      );
      return 0;
    } finally {
      await sql.end({ timeout: 5 });
    }
  },
};

function oneLine(statement: PushStatement): string {
  return statement.sql.replace(/\s+/g, ' ').slice(0, 160);
}

export default command;
