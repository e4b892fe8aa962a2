import { spawnSync } from 'node:child_process';
import type { Command } from '../context';
import { DbKitError, UsageError } from '../errors';
import { planTeam, scaffoldTeam } from '../scaffold/team';
import { parse, type Options } from './common';

const options = {
  'no-install': { type: 'boolean' },
} satisfies Options;

const command: Command = {
  usage:
    `Usage: db-kit new-team <name> [--no-install]

Scaffolds teams/<name>/src/database, a team's overlay package: an example table and a
1:1 side table of users, the typed client factory, drizzle config, a test on a template
test database, and an empty drizzle/ folder. Adds the root scripts
<alias>:db:generate|migrate|studio|promote|check|push|status|repair, adds the package to
pnpm-lock.yaml with the resolutions the lockfile already has (nothing else changes), then links
it with pnpm install --offline (no registry or metadata cache needed). ` +
    `The alias is the lower-cased name; tables start with <alias>_;
bookkeeping goes to drizzle.__<alias>_migrations.

Options:
      --no-install   skip pnpm install (run it yourself before using the package)

Exit: 0 created; 2 invalid or taken name, or pnpm install failed.`,

  async run(argv, ctx) {
    const { values, positionals } = parse(argv, options, { positionals: true });
    const [name, ...extra] = positionals;
    if (!name || extra.length)
      throw new UsageError('Give one team name: db-kit new-team <name>.', 'Example: pnpm db:new-team teamx');
    const ws = ctx.workspace;
    const plan = planTeam(ws, name);
    const files = scaffoldTeam(ws, plan);
    ctx.out.print(
      `Created ${ws.relative(plan.dir)} (${plan.packageName}, alias ${plan.alias}, tables ${plan.tablePrefix}*, ` +
        `bookkeeping drizzle.${plan.migrationsTable}):`,
    );
    for (const file of files) ctx.out.print(`  ${file}`);
    ctx.out.print(`Added root scripts: ${Object.keys(plan.scripts).join(', ')}.`);
    if (values['no-install']) {
      ctx.out.print('Skipped pnpm install: run `pnpm install --offline` (or `pnpm install`) to link the package.');
    } else {
      ctx.out.print('Linking the package: pnpm install --offline');
      const install = spawnSync('pnpm', ['install', '--offline'], { cwd: ws.root, stdio: 'inherit' });
      if (install.status !== 0) {
        throw new DbKitError(
          `${plan.packageName} is scaffolded, but pnpm install --offline ` +
            `failed${install.error ? ` (${install.error.message})` : ''}, so it is not linked yet.`,
          `Run \`pnpm install\` (online), then pnpm ${plan.alias}:db:generate --name init.`,
        );
      }
    }
    ctx.out.print(
      `Next: pnpm ${plan.alias}:db:generate --name init && pnpm ${plan.alias}:db:migrate && pnpm test ` +
        `${ws.relative(plan.dir)}`,
    );
    return 0;
  },
};

export default command;
