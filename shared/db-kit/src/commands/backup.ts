import type { Command } from '../cli';
import { backupDatabase } from '../backup/backup';
import { connect } from '../connection';
import { redact } from '../env';
import { Workspace } from '../workspace';
import { parse, requireDatabaseUrl, type Options } from './common';

const options = { json: { type: 'boolean' } } satisfies Options;

const command: Command = {
  usage: `Usage: db-kit backup [--json]

Dumps the database DATABASE_URL points at to backups/<database>-YYYYMMDD_HHMMSS.dump
(git-ignored; pg_dump custom format). Uses pg_dump inside the docker compose container when
that is the server, else the PostgreSQL client tools installed here (version >= the server's).
The password goes to pg_dump through PGPASSWORD, never on a command line.

Options:
      --json   print {"file", "bytes"}

Exit: 0 written; 2 no client tools, connection or dump error.`,

  async run(argv) {
    const { values } = parse(argv, options);
    const ws = Workspace.find();
    const url = requireDatabaseUrl(ws);
    const sql = await connect(url, 'db-kit backup');
    try {
      const result = await backupDatabase(sql, url, ws.root);
      if (values.json) console.log(JSON.stringify({ file: ws.relative(result.file), bytes: result.bytes }));
      else
        console.log(
          `Backed up ${redact(url)} to ${ws.relative(result.file)} (${(result.bytes / 1024).toFixed(0)} KiB, ${result.where}).`,
        );
      return 0;
    } finally {
      await sql.end({ timeout: 5 });
    }
  },
};

export default command;
