import type { DatabaseTarget } from '../target';

/** Where the development database comes from. */
export type Engine = 'url' | 'compose' | 'embedded';

/** What `server up` reports: the URL in use and where DATABASE_URL came from or went to. */
export interface ServerInfo {
  engine: Engine;
  url: string;
  note: string;
}

export interface ServerStatus {
  engine: Engine;
  url?: string;
  running: boolean;
  port?: number;
  logFile?: string;
}

/**
 * A database source: your DATABASE_URL, docker compose, or the embedded server. One file per
 * source in sources/; server/index.ts picks one. A new source (a team's VM, a cloud branch)
 * is one more file and one more case there.
 */
export interface DatabaseSource {
  readonly engine: Engine;
  /** For messages: `embedded PostgreSQL`. */
  readonly label: string;
  /** Makes sure the server runs and the database exists (starting it if it is ours). Safe to repeat. */
  start(log: (line: string) => void): Promise<ServerInfo>;
  /** Stops the server if it is ours and runs; returns what was stopped. */
  stop(): string | undefined;
  status(): ServerStatus;
  /** Shows the server's log; the exit code, or undefined when this source has no log to show. */
  logs(follow: boolean): number | undefined;
  /** pg_dump/pg_restore that fit this server when it is the target's; else undefined (use local ones). */
  clientTools(target: DatabaseTarget): PgTools | undefined;
}

export type PgTool = 'pg_dump' | 'pg_restore' | 'psql';

/** Where pg_dump and pg_restore come from: inside the compose container, or installed here. */
export interface PgTools {
  where: string;
  /**
   * Runs a tool against the target (through PG* variables) (or, `offline`, on files only: `pg_restore --list`);
   * stdout/stdin go to/from `file` when given. Returns stderr.
   */
  run(
    tool: PgTool,
    target: DatabaseTarget,
    args: string[],
    io: { stdoutTo?: string; stdinFrom?: string; offline?: boolean },
  ): { code: number; stderr: string };
}
