import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '../context';
import { runDrizzleKit } from '../drizzle-kit';
import { DbKitError } from '../errors';
import { MIGRATIONS_SCHEMA } from '../workspace';
import { parse, type Options } from './common';

const options = {
  package: { type: 'string', short: 'p' },
  port: { type: 'string' },
  host: { type: 'string' },
} satisfies Options;

const command: Command = {
  usage: `Usage: db-kit studio --package <alias> [--port 4983] [--host 127.0.0.1]

Starts drizzle-kit studio over the package's tables and those of the packages it builds
on (Team D's studio shows shared and Team D tables together). drizzle-kit serves only an
API locally; its UI loads from https://local.drizzle.studio, so it needs a browser online.`,

  async run(argv, ctx) {
    const { values } = parse(argv, options);
    const ws = ctx.workspace;
    if (!values.package) throw new DbKitError('Say which package: --package <alias>.', undefined, 'usage');
    const pkg = ws.resolve(values.package);
    const { url } = ctx.database;
    // drizzle-kit says "up and running" whether or not the database answers: ask it first.
    await ctx.withConnection('db-kit studio', async () => {});
    const packages = ws.migrationOrder(pkg);
    // A throwaway config: drizzle-kit studio takes its schema list only from a config file.
    // The URL stays out of it (it holds the password); the config reads it from the environment.
    const dir = join(ws.root, 'node_modules', '.cache', 'db-kit');
    mkdirSync(dir, { recursive: true });
    const config = join(dir, `studio.${pkg.alias}.config.cjs`);
    writeFileSync(
      config,
      `module.exports = ${JSON.stringify({
        dialect: 'postgresql',
        schema: packages.map((p) => join(p.dir, p.schema)),
        migrations: { schema: MIGRATIONS_SCHEMA, table: pkg.migrationsTable },
      })};\nmodule.exports.dbCredentials = { url: process.env.DATABASE_URL };\n`,
    );
    const args = ['studio', '--config', config, '--port', values.port ?? '4983', '--host', values.host ?? '127.0.0.1'];
    const result = await runDrizzleKit(args, {
      cwd: pkg.dir,
      interactive: true,
      env: { ...process.env, DATABASE_URL: url },
    });
    return result.code === 0 ? 0 : 2;
  },
};

export default command;
