import type { Command } from '../context';
import { runCheck } from '../check';
import { parse, plural, type Options } from './common';

const options = {
  package: { type: 'string', short: 'p' },
  since: { type: 'string' },
  all: { type: 'boolean' },
  json: { type: 'boolean' },
  'verify-downs': { type: 'boolean' },
} satisfies Options;

const command: Command = {
  usage: `Usage: db-kit check [--package <alias>] [--since <git ref> | --all] [--json]

Reviews migrations without a database and prints findings grouped by file:
  integrity   journal, .sql files and snapshots agree; names are YYYYMMDD_HHMMSS_name.sql;
              timestamps increase; two branches generating from one parent (branch-collision)
  history     a migration that is on main was edited (its statements) or deleted since: the
              databases that applied it would refuse to migrate (git's main, or origin/main)
  schema      the schema differs from the latest snapshot: a change nobody generated
  safety      squawk's lint (config: .squawk.toml at the root); dropping, blocking and renaming
              statements are errors unless waived on the line above the statement with a reason:
                -- squawk-ignore ban-drop-column -- nobody reads it since the 2.3 release
  ownership   a package changes only its own objects; shared never references a team's table;
              no name is defined twice; a team's tables, enums and indexes start with its prefix
  downs       every migration has a down (<tag>.down.sql); one that leaves something undone
              ("-- db-kit: irreversible ...") is a warning until "-- db-kit: irreversible-accepted <why>"

Options:
  -p, --package <alias>   check one package (default: every package)
      --since <ref>       lint migrations added or changed since this git ref
                          (default: the merge-base with main; uncommitted files always count)
      --all               lint every migration, history included
      --json              print the report as JSON
      --verify-downs      also run every down for real, on a scratch database of DATABASE_URL's
                          server: apply the history, then newest first down, up again, down, comparing
                          the catalog (tables, columns, types, constraints, indexes, enums) each time

Exit: 0 clean or warnings only; 1 an error-level finding; 2 usage error.`,

  async run(argv, ctx) {
    const { values } = parse(argv, options);
    const ws = ctx.workspace;
    const packages = values.package ? [ws.resolve(values.package)] : ws.allInOrder();
    const report = await runCheck(ws, { packages, since: values.since, all: values.all });
    if (values['verify-downs']) {
      const { verifyDowns } = await import('../rollback/verify');
      // The scratch database lives on the same server; the packages they build on come along.
      const order = [...new Set(packages.flatMap((p) => ws.migrationOrder(p)))];
      const verified = await verifyDowns(ctx.database, ws, order);
      report.add(...verified.findings);
      ctx.out.warn(`verify-downs: ${plural(verified.verified, 'round trip')} in ${(verified.ms / 1000).toFixed(1)} s.`);
    }
    if (values.json) {
      ctx.out.print(JSON.stringify(report.toJson(ws), null, 2));
      return report.errors ? 1 : 0;
    }
    const text = report.format(ws);
    if (text) ctx.out.print(text);
    const counts = report.findings.length
      ? `${plural(report.errors, 'error')}, ${plural(report.warnings, 'warning')}`
      : 'clean';
    ctx.out.print(`check: ${counts} in ${plural(packages.length, 'package')} (${report.scope}).`);
    return report.errors ? 1 : 0;
  },
};

export default command;
