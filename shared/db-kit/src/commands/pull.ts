import type { Command } from '../context';
import { DbKitError } from '../errors';

// drizzle-kit pull writes schema files from a live database. Here the schema files are the
// source of truth and migrations come from them, so pull is not offered yet; this command
// exists so that `pnpm db:pull` says so instead of pnpm suggesting `db:push`.
const command: Command = {
  usage: `Usage: db-kit pull

Not there yet. The schema files are the source of truth here: edit
shared/database/src/schemas/*.ts (or a team's src/overlays/*.ts) and run pnpm db:generate
(pnpm <team>:db:generate). To see what a database has: pnpm db:status (tables, drift against the
schema files) or pnpm db:studio. Changes nothing; exit 2.`,

  async run() {
    throw new DbKitError(
      'db:pull is not there yet: the schema files are the source of truth, and nothing is read from the database ' +
        'into them.',
      'Edit shared/database/src/schemas/*.ts and run pnpm db:generate; to see the database, pnpm db:status or pnpm ' +
        'db:studio.',
      'usage',
    );
  },
};

export default command;
