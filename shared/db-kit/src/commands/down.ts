import type { Command } from '../context';
import { UsageError } from '../errors';
import { backfillDowns, readDownFile } from '../migrations/down';
import { packageOptions, parse, plural, selectPackages, type Options } from './common';

const options = {
  ...packageOptions,
  backfill: { type: 'boolean' },
} satisfies Options;

const command: Command = {
  usage: `Usage: db-kit down --backfill (--package <alias> | --all)

Writes <tag>.down.sql for every migration of the package's history that has none, each
computed from the snapshots before and after it (as generate does for new migrations).
promote's release and adopt pair get downs that give the ownership back and never drop a
table; a hand-written migration (no schema change in its snapshot) gets an empty down with
a reminder to write it. Existing downs are left alone. No database is needed.

Options:
  -p, --package <alias>   the package whose history to complete
      --all               every package
      --backfill          required: what this command does

Exit: 0 written or nothing to write; 2 usage error.`,

  async run(argv, ctx) {
    const { values } = parse(argv, options);
    if (!values.backfill) throw new UsageError('Say what to do: db-kit down --backfill --package <alias>.');
    const ws = ctx.workspace;
    let total = 0;
    for (const pkg of selectPackages(ws, values)) {
      const written = await backfillDowns(pkg);
      total += written.length;
      for (const { tag, path } of written) {
        const down = readDownFile(pkg, tag)!;
        const note = down.todo
          ? '  (hand-written migration: write its down)'
          : down.irreversible.length
            ? `  (partial: ${down.irreversible.join('; ')})`
            : '';
        ctx.out.print(`  wrote  ${ws.relative(path)}${note}`);
      }
    }
    ctx.out.print(total ? `Wrote ${plural(total, 'down')}; review and commit them.` : 'Every migration has its down.');
    return 0;
  },
};

export default command;
