import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { pickFreePort } from '../../src/server/ports';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { FixtureWorkspace } from '../../src/testing';
import type { RunOutput } from '../../src/testing/fixture';
import { fixtureWorkspace } from '../helpers';

const BIN = '/usr/lib/postgresql/15/bin';

/**
 * A PostgreSQL server of the test's own, from the system binaries, so a test may crash it
 * (`pg_ctl stop -m immediate`), restart it and terminate its backends without disturbing others.
 * fsync stays off (a process crash keeps what was written to the OS), but the WAL writer waits
 * 10 s: a commit that did not flush its WAL is lost by a crash, every time.
 */
export class FaultServer {
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async start(): Promise<FaultServer> {
    const dir = mkdtempSync(join(tmpdir(), 'db-kit-fault-'));
    const owner = postgresUser();
    if (owner.uid !== undefined) chownSync(dir, owner.uid, owner.gid!);
    // A copy of a cluster initdb made once for every fault file (cp -a: ~0.1 s, initdb ~1 s of CPU).
    // As postgres: from tmpdir(), not from a private (mode 700) checkout it cannot enter, and by absolute path,
    // not through a PATH whose folders it may not search (CI's hides pnpm in a private copy of /usr/bin).
    execFileSync('/bin/cp', ['-a', initialisedCluster(), join(dir, 'data')], {
      stdio: 'pipe',
      cwd: tmpdir(),
      ...owner,
    });
    const server = new FaultServer(dir, await pickFreePort(55100 + Math.floor(Math.random() * 800)));
    server.boot();
    return server;
  }

  url(database = 'postgres'): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async createDatabase(name: string): Promise<string> {
    await this.query(`create database "${name}"`);
    return this.url(name);
  }

  async query<T = Record<string, unknown>>(text: string, database = 'postgres'): Promise<T[]> {
    const sql = postgres(this.url(database), { max: 1, onnotice: () => {} });
    try {
      return (await sql.unsafe(text)) as unknown as T[];
    } finally {
      await sql.end({ timeout: 0 });
    }
  }

  /** Kills the server as a power cut would kill its processes: no checkpoint, no WAL flush. */
  crash(): void {
    run('pg_ctl', ['stop', '-D', join(this.dir, 'data'), '-m', 'immediate', '-w']);
  }

  /** Starts it again (crash recovery replays the WAL that reached the OS). */
  restart(): void {
    this.boot();
  }

  stop(): void {
    try {
      run('pg_ctl', ['stop', '-D', join(this.dir, 'data'), '-m', 'immediate', '-w']);
    } catch {
      // already stopped
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private boot(): void {
    const settings = [
      `-p ${this.port}`,
      '-c listen_addresses=127.0.0.1',
      `-c unix_socket_directories=${this.dir}`,
      '-c fsync=off',
      '-c full_page_writes=off',
      '-c wal_writer_delay=10000',
      '-c wal_writer_flush_after=0',
      '-c max_connections=100',
    ].join(' ');
    run('pg_ctl', [
      'start',
      '-D',
      join(this.dir, 'data'),
      '-l',
      join(this.dir, 'log'),
      '-w',
      '-t',
      '60',
      '-o',
      settings,
    ]);
  }
}

/**
 * A data directory fresh from initdb, made once per machine (and PostgreSQL binaries) and never started:
 * each fault server starts a copy. Built in a scratch folder and renamed into place, so a worker that
 * loses the race to build it uses the winner's and removes its own.
 */
function initialisedCluster(): string {
  const version = /\d+(\.\d+)+/.exec(execFileSync(join(BIN, 'initdb'), ['--version'], { encoding: 'utf8' }))?.[0];
  const ready = join(tmpdir(), `db-kit-fault-initdb-${version}-${process.getuid?.() ?? 'u'}`);
  if (existsSync(join(ready, 'PG_VERSION'))) return ready;
  const scratch = mkdtempSync(join(tmpdir(), 'db-kit-fault-initdb-'));
  const owner = postgresUser();
  if (owner.uid !== undefined) chownSync(scratch, owner.uid, owner.gid!);
  run('initdb', ['-D', join(scratch, 'data'), '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  try {
    renameSync(join(scratch, 'data'), ready);
  } catch (error) {
    if (!existsSync(join(ready, 'PG_VERSION'))) throw error; // else another worker made it first
  }
  rmSync(scratch, { recursive: true, force: true });
  return ready;
}

function postgresUser(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  return {
    uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()),
  };
}

function run(binary: string, args: string[]): void {
  execFileSync(join(BIN, binary), args, { stdio: 'pipe', cwd: tmpdir(), ...postgresUser() });
}

/** What a fault test works on; fresh for each test (the server is the file's). */
export interface FaultStage {
  readonly server: FaultServer;
  readonly ws: FixtureWorkspace;
  /** This test's database on the server: `<prefix>_<n>`. */
  readonly database: string;
  /** Its URL, for DATABASE_URL. */
  readonly url: string;
}

/**
 * The setup every fault file shares: a FaultServer of the file's own (started once, stopped and
 * removed at the end), and before each test a new fixture workspace and a new database on it;
 * `prepare` then sets the test's stage (migrations applied, files added).
 *
 * @example
 *   const stage = faultStage('locks', async ({ ws, url }) => { ws.dbKit(['migrate'], { DATABASE_URL: url }); });
 *   it('...', () => startDbKit(stage.ws, ['migrate'], { DATABASE_URL: stage.url }));
 */
export function faultStage(prefix: string, prepare?: (stage: FaultStage) => void | Promise<void>): FaultStage {
  let server: FaultServer | undefined;
  let ws: FixtureWorkspace | undefined;
  let database = '';
  let url = '';
  let n = 0;
  const missing = (what: string): never => {
    throw new Error(`faultStage: no ${what} outside a test`);
  };
  const stage: FaultStage = {
    get server() {
      return server ?? missing('server');
    },
    get ws() {
      return ws ?? missing('workspace');
    },
    get database() {
      return database || missing('database');
    },
    get url() {
      return url || missing('database');
    },
  };
  beforeAll(async () => {
    server = await FaultServer.start();
  });
  afterAll(() => {
    server?.stop();
    ws?.remove();
  });
  beforeEach(async () => {
    ws?.remove();
    ws = fixtureWorkspace();
    database = `${prefix}_${n++}`;
    url = await stage.server.createDatabase(database);
    await prepare?.(stage);
  });
  return stage;
}

export interface RunningCli {
  child: ChildProcess;
  /** Resolves when the output so far matches. */
  waitFor(pattern: RegExp): Promise<void>;
  done: Promise<RunOutput>;
}

/** Starts the CLI in a fixture workspace and hands back the process, for signals and timing. */
export function startDbKit(ws: FixtureWorkspace, args: string[], env: NodeJS.ProcessEnv): RunningCli {
  const child = spawn(process.execPath, [join(ws.root, 'shared/db-kit/bin/db-kit.cjs'), ...args], {
    cwd: ws.root,
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ pattern: RegExp; resolve: () => void }> = [];
  const check = () => {
    for (const w of [...waiters])
      if (w.pattern.test(stdout + stderr)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    check();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    check();
  });
  const done = new Promise<RunOutput>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal === 'SIGKILL' ? 137 : 1), stdout, stderr }));
  });
  return {
    child,
    done,
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        waiters.push({ pattern, resolve });
        check();
        done.then((out) =>
          reject(new Error(`exited (${out.code}) before printing ${pattern}:\n${out.stdout}${out.stderr}`)),
        );
      }),
  };
}

/** Polls until `probe` returns true (no timing is asserted: the test's own timeout bounds it). */
export async function until(probe: () => Promise<boolean>, everyMs = 50): Promise<void> {
  while (!(await probe())) await new Promise((r) => setTimeout(r, everyMs));
}
