import type { Command } from '../context';
import { backupDatabase, keepBackups } from '../backup/backup';
import { parse, type Options } from './common';

const options = { json: { type: 'boolean' } } satisfies Options;

const command: Command = {
  usage: `Usage: db-kit backup [--json]

Dumps the database DATABASE_URL points at to backups/<database>-YYYYMMDD_HHMMSS.dump
(git-ignored; pg_dump custom format). Uses pg_dump inside the docker compose container when
that is the server, else the PostgreSQL client tools installed here (version >= the server's).
The password goes to pg_dump through PGPASSWORD, never on a command line.

Options:
      --json   print {"file", "bytes", "removed"}

backups/ keeps the last 10 backups of each database (reset, restore and rollback take them too);
older ones are removed after a backup. DB_KIT_KEEP_BACKUPS=<n> (environment or .env) changes
the number; 0 keeps every backup.

Exit: 0 written; 2 no client tools, connection or dump error.`,

  async run(argv, ctx) {
    const { values } = parse(argv, options);
    const ws = ctx.workspace;
    const target = ctx.database;
    const result = await ctx.withConnection('db-kit backup', (sql) => backupDatabase(sql, target, ws.root));
    const removed = result.removed.map((f) => ws.relative(f));
    if (values.json) ctx.out.print(JSON.stringify({ file: ws.relative(result.file), bytes: result.bytes, removed }));
    else {
      const size = `${(result.bytes / 1024).toFixed(0)} KiB`;
      ctx.out.print(`Backed up ${target.redacted} to ${ws.relative(result.file)} (${size}, ${result.where}).`);
      if (removed.length)
        ctx.out.print(
          `Removed ${removed.length} older backup${removed.length === 1 ? '' : 's'} of ${target.database}, ` +
            `keeping the last ${keepBackups(ws.root)} (DB_KIT_KEEP_BACKUPS).`,
        );
    }
    return 0;
  },
};

export default command;
