import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { redact } from '../env';
import { DbKitError } from '../errors';
import type { DatabaseSource, PgTools } from '../server/source';
import { type DatabaseTarget, libpqEnv } from '../target';

/**
 * The client tools for the target's server: `docker compose exec` when that server is the
 * compose container setup started (its tools always match), else pg_dump on PATH or in
 * /usr/lib/postgresql/<n>/bin, of a major version at least the server's. The embedded server
 * ships no client tools, so it uses the local ones.
 */
export function findPgTools(source: DatabaseSource, target: DatabaseTarget, serverMajor: number): PgTools {
  const own = source.clientTools(target);
  if (own) return own;
  const candidates = localCandidates();
  const usable = candidates.filter((c) => c.major >= serverMajor).sort((a, b) => a.major - b.major);
  if (usable[0]) return localTools(usable[0].dir, usable[0].major);
  const found = candidates.map((c) => `pg_dump ${c.major}`).join(', ');
  throw new DbKitError(
    found
      ? `The server runs PostgreSQL ${serverMajor}, but only ${found} is installed: it cannot dump a newer server.`
      : 'pg_dump and pg_restore are not installed.',
    `Install the PostgreSQL ${serverMajor} client tools (Debian/Ubuntu: apt-get install ` +
      `postgresql-client-${serverMajor}; macOS: brew install libpq), then run again.`,
  );
}

function localCandidates(): Array<{ dir: string; major: number }> {
  const dirs = new Set<string>([...(process.env.PATH ?? '').split(':').filter(Boolean)]);
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) for (const version of readdirSync(debian)) dirs.add(join(debian, version, 'bin'));
  const found: Array<{ dir: string; major: number }> = [];
  for (const dir of dirs) {
    if (!existsSync(join(dir, 'pg_dump')) || !existsSync(join(dir, 'pg_restore'))) continue;
    const version = spawnSync(join(dir, 'pg_dump'), ['--version'], { encoding: 'utf8' });
    const major = Number(/(\d+)(?:\.\d+)?/.exec(version.stdout ?? '')?.[1]);
    if (major && !found.some((f) => f.major === major)) found.push({ dir, major });
  }
  return found;
}

function runWithFiles(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  io: { stdoutTo?: string; stdinFrom?: string },
  cwd?: string,
) {
  const stdin = io.stdinFrom ? openSync(io.stdinFrom, 'r') : 'ignore';
  const stdout = io.stdoutTo ? openSync(io.stdoutTo, 'w', 0o600) : 'ignore';
  try {
    const result = spawnSync(command, args, {
      cwd,
      env,
      stdio: [stdin, stdout, 'pipe'],
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    if (result.error) throw new DbKitError(`Cannot run ${command}: ${result.error.message}.`);
    return { code: result.status ?? 2, stderr: redact(result.stderr ?? '') };
  } finally {
    if (typeof stdin === 'number') closeSync(stdin);
    if (typeof stdout === 'number') closeSync(stdout);
  }
}

function localTools(dir: string, major: number): PgTools {
  return {
    where: `local client tools ${major} (${dir})`,
    run(tool, target, args, io) {
      // pg_restore without --dbname prints a script instead of restoring: always name it.
      const dbname = io.offline ? [] : [`--dbname=${target.database}`];
      return runWithFiles(join(dir, tool), [...args, ...dbname], libpqEnv(target), io);
    },
  };
}

export function composeTools(root: string): PgTools {
  return {
    where: 'the docker compose postgres container',
    run(tool, target, args, io) {
      const env = libpqEnv(target);
      const { database, user } = target;
      // `-e PGPASSWORD` without a value hands our environment's value to the container.
      const exec = [
        'compose',
        'exec',
        '-T',
        '-e',
        'PGPASSWORD',
        'postgres',
        tool,
        ...args,
        ...(io.offline ? [] : ['--username', user, '--dbname', database]),
      ];
      return runWithFiles('docker', exec, env, io, root);
    },
  };
}
