import type postgres from 'postgres';
import { DbKitError, isConnectionLost, markLost } from '../errors';
import type { SchemaPackage } from '../workspace';
import { Bookkeeping } from './bookkeeping';
import { commandsOfStatements, journalPath, type MigrationFile } from './files';
import { literal } from '../sql-text';
import {
  firstCodeLine,
  isCopyFromStdin,
  isTransactionControl,
  lineAndColumn,
  type TopLevelCommand,
  topLevelCommands,
} from './statements';

/**
 * How a run applies its pending migrations, and what it says when that goes wrong: the failing
 * statement located from the error itself (never by running the work again), a cancel that rolls
 * back the migration in flight, a lost connection in one line, and "applied" lines printed only
 * once they are durable.
 */

export interface Pending {
  file: MigrationFile;
  pkg: SchemaPackage;
  outOfOrder: boolean;
}

export interface Applied {
  file: MigrationFile;
  alias: string;
  ms: number;
  outOfOrder: boolean;
}

/** A transactional migration whose messages are on the wire, and the answer to come. */
interface Sent {
  migration: Pending;
  /** Resolves, never rejects, once every message has answered: with the first failure, if any. */
  answer: Promise<{ index: number; error: unknown } | undefined>;
  /** How many messages come before its first command. */
  head: number;
  /** Sent ahead: when the migration before it answered, so when the server started on this one. */
  answeredBefore?: number;
}

/** How a committed migration names itself in its session (`db_kit.committed`), for the guard of the next. */
function committedKey({ pkg, file }: Pending): string {
  return `${pkg.name} ${file.tag}`;
}

function appliedOf(sent: Sent, now: number): Applied {
  const { file, pkg, outOfOrder } = sent.migration;
  return { file, alias: pkg.alias, ms: now - (sent.answeredBefore ?? now), outOfOrder };
}

export interface RunSettings {
  singleTransaction?: boolean;
  statementLockTimeoutMs?: number;
  signal?: AbortSignal;
}

/** Default statement lock timeout and attempts; the runner's constants, passed in to keep one source. */
export interface RunLimits {
  defaultStatementLockTimeoutMs: number;
  lockTimeoutAttempts: number;
  reportEveryMs: number;
}

/**
 * A synchronous commit waits for the WAL up to its own commit record, and so for every commit
 * before it. It must write WAL to wait at all: a transactional logical message is the smallest write.
 * One statement (its own transaction, synchronous by set_config's local setting), so it also runs on the
 * pool's other session, where the driver refuses an explicit BEGIN.
 */
const FLUSH =
  `select pg_catalog.set_config('synchronous_commit', 'on', true), ` +
  `pg_logical_emit_message(true, 'db-kit', 'durable')`;

/** A run cancelled by a signal: what was rolled back, what stays. Exit 130 (SIGINT) or 143 (SIGTERM). */
export class MigrationCancelled extends DbKitError {
  constructor(message: string, hint: string, signal: string) {
    super(message, hint, signal === 'SIGTERM' ? 'terminated' : 'interrupted');
    this.name = 'MigrationCancelled';
  }
}

const commandCache = new WeakMap<MigrationFile, Array<{ text: string; offset: number }>>();
const topLevelCache = new WeakMap<MigrationFile, TopLevelCommand[][]>();

/** Each statement's top-level commands, worked out once per file (assertRunnable runs twice per migrate). */
function topLevelOf(file: MigrationFile): TopLevelCommand[][] {
  let commands = topLevelCache.get(file);
  if (!commands) {
    commands = file.statements.map((statement) => topLevelCommands(statement));
    topLevelCache.set(file, commands);
  }
  return commands;
}

/** The commands the runner sends, one message each, with their offsets in the file. */
export function commandsOf(file: MigrationFile): Array<{ text: string; offset: number }> {
  let commands = commandCache.get(file);
  if (!commands) {
    commands = commandsOfStatements(file.statements.map((text, i) => ({ text, offset: file.statementOffsets[i]! })));
    commandCache.set(file, commands);
  }
  return commands;
}

/** A journal that lists one migration twice (a bad merge) would run it twice. */
export function assertNoDuplicates(packages: SchemaPackage[], files: MigrationFile[][]): void {
  packages.forEach((pkg, i) => {
    const seen = new Map<string, number>();
    for (const file of files[i]!) {
      const first = seen.get(file.tag);
      if (first !== undefined) {
        throw new DbKitError(
          `Refusing to migrate: ${journalPath(pkg)} lists ${file.tag} twice (entries ${first} and ${file.idx}).`,
          `Remove the duplicate entry (a merge that kept both sides), then run migrate again; pnpm db:check finds ` +
            `these.`,
          'failure',
        );
      }
      seen.set(file.tag, file.idx);
    }
  });
}

/**
 * What the runner cannot run as written, refused before anything runs: transaction control in a
 * transactional migration (its COMMIT would keep half of it), COPY ... FROM stdin (no data to send),
 * a no-transaction header after the first statement (ignored), a no-transaction file in one run-wide
 * transaction.
 */
export function assertRunnable(pending: MigrationFile[], settings: RunSettings): void {
  const problems: string[] = [];
  for (const file of pending) {
    if (file.misplacedNoTransaction !== undefined) {
      problems.push(
        `${file.path}:${file.misplacedNoTransaction}:1: "-- db-kit: no-transaction" only counts before the first ` +
          `statement; move it to the top of ${file.tag}.sql`,
      );
    }
    topLevelOf(file).forEach((commands, i) => {
      for (const command of commands) {
        const at = () => {
          const { line, column } = lineAndColumn(file.text, file.statementOffsets[i]! + command.offset);
          return `${file.path}:${line}:${column}`;
        };
        if (file.transactional && isTransactionControl(command))
          problems.push(
            `${at()}: ${command.words.slice(0, 2).join(' ')} inside ${file.tag}, which runs in a transaction of ` +
              `its own; the runner commits it with its record`,
          );
        if (isCopyFromStdin(command))
          problems.push(`${at()}: ${file.tag} copies FROM STDIN, but a migration has no input to send`);
      }
    });
  }
  if (problems.length) {
    throw new DbKitError(
      `Refusing to migrate, nothing ran: ${problems.join('; ')}.`,
      'Remove transaction control (a migration needing it declares "-- db-kit: no-transaction" on its first line); ' +
        'load data with INSERT, or COPY FROM a server file.',
      'failure',
    );
  }
  const outside = settings.singleTransaction ? pending.find((f) => !f.transactional) : undefined;
  if (outside) {
    throw new DbKitError(
      `--single-transaction cannot include ${outside.tag}: it declares "-- db-kit: no-transaction".`,
      'Run migrate without --single-transaction.',
      'usage',
    );
  }
}

/** One run's session: applies migrations, cancels on a signal, reports durable results. */
export class Run {
  private pid = 0;
  /** The session is gone: nothing more may be sent on it (postgres.js would write to a dropped socket). */
  sessionLost = false;
  private sessionLockTimeout = '0';
  private inFlight: Pending | undefined;
  private cancelling: Promise<unknown> | undefined;
  private readonly applied: Applied[] = [];
  /** Applied, not yet flushed to disk, not yet reported. */
  private unreported: Applied[] = [];
  private lastReport = performance.now();
  /** Each transactional migration's commands and its COMMIT message, built once (a retry sends them again). */
  private readonly bodies = new WeakMap<Pending, string[]>();
  private readonly onAbort = () => {
    if (this.inFlight && this.pid) {
      this.cancelling = this.sql`select pg_cancel_backend(${this.pid})`.catch(() => {});
    }
  };

  constructor(
    private readonly conn: postgres.ReservedSql,
    /** The pool the run's connection came from: the cancel goes through another of its connections. */
    private readonly sql: postgres.Sql,
    private readonly settings: RunSettings,
    private readonly limits: RunLimits,
    private readonly log: (line: string) => void,
  ) {
    settings.signal?.addEventListener('abort', this.onAbort);
  }

  /** Reads the session's pid and own lock_timeout (a role's or database's setting, which we restore). */
  async start(): Promise<void> {
    const [row] = await this.conn.unsafe(
      `select pg_backend_pid() as pid, current_setting('lock_timeout') as lock_timeout`,
    );
    this.pid = row!.pid;
    this.sessionLockTimeout = row!.lock_timeout;
  }

  stop(): void {
    this.settings.signal?.removeEventListener('abort', this.onAbort);
  }

  /** The lock_timeout a statement gets: the flag, else the session's own, else the DDL default. */
  private statementLockTimeout(): string | undefined {
    const flag = this.settings.statementLockTimeoutMs;
    if (flag !== undefined) return `${Math.floor(flag)}ms`;
    if (this.sessionLockTimeout !== '0') return undefined;
    return `${this.limits.defaultStatementLockTimeoutMs}ms`;
  }

  async applyAll(pending: Pending[]): Promise<Applied[]> {
    if (this.settings.singleTransaction) return this.applyGrouped(pending);
    try {
      await this.applyEach(pending);
    } catch (error) {
      // What committed before the failure or the cancel is reported, once durable; a lost session cannot say.
      if (!isConnectionLost((error as { cause?: unknown }).cause ?? error) && !(error as { lost?: boolean }).lost)
        await this.report().catch(() => {});
      throw error;
    }
    return this.applied;
  }

  /**
   * Each migration in its own transaction. While one runs, the next one's messages are already on the wire
   * (`sendAhead`): the server goes from one commit to the next without waiting for this client to read an
   * answer and write again, a round trip and the driver's turnaround per migration.
   */
  private async applyEach(pending: Pending[]): Promise<void> {
    let ahead: Sent | undefined;
    try {
      for (const [i, migration] of pending.entries()) {
        const sent = ahead;
        ahead = undefined;
        if (!sent && this.settings.signal?.aborted) throw this.cancelled(undefined, pending.length - i);
        const started = sent?.answeredBefore ?? performance.now();
        this.inFlight = migration;
        const next = pending[i + 1];
        await this.withLockRetries(migration, async (attempt) => {
          if (!migration.file.transactional) return this.applyStandalone(migration);
          const current = (attempt === 1 ? sent : undefined) ?? this.send(migration);
          ahead = next ? this.sendAhead(next, migration) : undefined;
          const failure = await current.answer;
          if (ahead) ahead.answeredBefore = performance.now();
          if (!failure) return;
          // What was sent ahead fails too: BEGIN in an aborted transaction, or its guard after a failed COMMIT.
          const dropped = ahead;
          ahead = undefined;
          await dropped?.answer;
          throw await this.failure(current, failure);
        });
        this.inFlight = undefined;
        this.unreported.push({
          file: migration.file,
          alias: migration.pkg.alias,
          ms: performance.now() - started,
          outOfOrder: migration.outOfOrder,
        });
        const last = i === pending.length - 1;
        if (last || !migration.file.transactional || performance.now() - this.lastReport >= this.limits.reportEveryMs)
          await this.report(ahead !== undefined);
      }
    } catch (error) {
      // A failure outside a migration (the report's flush) with the next one on the wire: it may have committed.
      if (ahead && !(await ahead.answer)) this.unreported.push(appliedOf(ahead, performance.now()));
      throw error;
    }
  }

  /**
   * Waits for the disk to hold every commit so far, then says so. `busy`: the run's session already runs the next
   * migration, so the flush goes through another session of the pool: a synchronous commit anywhere waits for the
   * WAL up to its own commit record, which follows every commit this run has seen answered.
   */
  private async report(busy = false): Promise<void> {
    if (!this.unreported.length) return;
    await this.cancelling;
    if (busy) await this.sql.unsafe(FLUSH).simple();
    else
      await this.conn
        .unsafe(FLUSH)
        .simple()
        // A cancel aimed at the migration just finished can land here: flush again.
        .catch(() => this.conn.unsafe(FLUSH).simple());
    for (const a of this.unreported) this.printApplied(a);
    this.applied.push(...this.unreported);
    this.unreported = [];
    this.lastReport = performance.now();
  }

  private printApplied(a: Applied): void {
    const late = a.outOfOrder ? '  out of order: older than an applied migration' : '';
    this.log(`  applied  ${a.alias.padEnd(8)} ${a.file.tag}  (${a.ms.toFixed(0)} ms)${late}`);
  }

  /**
   * A transactional migration's messages, each a simple-protocol message, all sent at once (postgres.js
   * pipelines them): BEGIN with its lock_timeout, each command, then its record with COMMIT (one message: a
   * record that fails skips the COMMIT, and either failure reads "at commit"). The first to fail names the
   * failing statement and carries its position; those after it fail as "transaction aborted". The COMMIT
   * message ends by naming the migration in the session (`db_kit.committed`), for a migration sent ahead.
   */
  private bodyOf(migration: Pending): string[] {
    let body = this.bodies.get(migration);
    if (!body) {
      const { pkg, file, outOfOrder } = migration;
      body = [
        ...commandsOf(file).map((c) => c.text),
        `${Bookkeeping.recordStatement(pkg, file, outOfOrder)};\ncommit; ` +
          `select pg_catalog.set_config('db_kit.committed', ${literal(committedKey(migration))}, false)`,
      ];
      this.bodies.set(migration, body);
    }
    return body;
  }

  private send(migration: Pending, after?: Pending): Sent {
    const timeout = this.statementLockTimeout();
    // Sent ahead, it must not run unless `after` committed: its guard fails (division by zero) when the session
    // does not name `after` as committed, which leaves the transaction aborted, so every message of it fails.
    const guard = after
      ? `; select 1 / coalesce(pg_catalog.current_setting('db_kit.committed', true) = ` +
        `${literal(committedKey(after))}, false)::int`
      : '';
    const head = `begin${timeout ? `; set local lock_timeout = '${timeout}'` : ''}${guard}`;
    return { migration, answer: this.pipeline([head, ...this.bodyOf(migration)]), head: 1 };
  }

  /** Sends `next` while `current` runs, when it may go: it is transactional and nothing cancelled the run. */
  private sendAhead(next: Pending, current: Pending): Sent | undefined {
    if (!next.file.transactional || this.settings.signal?.aborted) return undefined;
    return this.send(next, current);
  }

  /** The error of a failed transactional migration, once its session is rolled back. */
  private async failure(sent: Sent, failure: { index: number; error: unknown }): Promise<DbKitError> {
    const { file } = sent.migration;
    if (isConnectionLost(failure.error)) return this.lost(file, failure.error);
    await this.conn.unsafe('rollback').catch(() => {});
    const index = failure.index - sent.head;
    const commands = this.bodyOf(sent.migration).length - 1;
    return this.failed(file, index >= 0 && index < commands ? index : undefined, failure.error);
  }

  /** Sends every part at once; resolves with the first failure, if any, once all have answered. */
  private async pipeline(parts: string[]): Promise<{ index: number; error: unknown } | undefined> {
    const queries = parts.map((part) => this.conn.unsafe(part).simple().execute());
    const settled = await Promise.allSettled(queries);
    const index = settled.findIndex((r) => r.status === 'rejected');
    return index === -1 ? undefined : { index, error: (settled[index] as PromiseRejectedResult).reason };
  }

  /**
   * A `-- db-kit: no-transaction` migration, statement by statement (CREATE INDEX CONCURRENTLY
   * refuses a transaction block). Its row is written only once every statement succeeded and no
   * index it builds was left INVALID; that commit is synchronous.
   */
  private async applyStandalone({ pkg, file, outOfOrder }: Pending): Promise<void> {
    const started = performance.now();
    const flag = this.settings.statementLockTimeoutMs;
    if (flag !== undefined) await this.conn.unsafe(`set lock_timeout = '${Math.floor(flag)}ms'`);
    try {
      const commands = commandsOf(file);
      for (let i = 0; i < commands.length; i++) {
        try {
          await this.conn.unsafe(commands[i]!.text).simple();
        } catch (error) {
          throw this.failed(file, i, error);
        }
      }
    } finally {
      if (flag !== undefined) await this.conn.unsafe(`set lock_timeout = '${this.sessionLockTimeout}'`).catch(() => {});
    }
    const invalid = await this.invalidIndexesOf(file);
    if (invalid.length) {
      throw new DbKitError(
        `${file.path}: migration ${file.tag} left ${invalid.map((n) => `index ${n}`).join(', ')} ` +
          `INVALID (a concurrent build failed or was skipped by IF NOT EXISTS); ` +
          `it is not recorded as applied.`,
        `Drop it (DROP INDEX CONCURRENTLY ${invalid[0]}), then run migrate again (pnpm db:migrate:all).`,
        'failure',
      );
    }
    const record = Bookkeeping.recordStatement(pkg, file, outOfOrder, performance.now() - started);
    await this.conn.unsafe(`begin; set local synchronous_commit = on; ${record}; commit`).simple();
  }

  /** Indexes the migration creates (by name) that Postgres holds as INVALID. */
  private async invalidIndexesOf(file: MigrationFile): Promise<string[]> {
    const names = file.statements.flatMap((s) =>
      [
        ...s.matchAll(
          /create\s+(?:unique\s+)?index\s+(?:concurrently\s+)?(?:if\s+not\s+exists\s+)?((?:"[^"]+"|[\w$]+)(?:\.(?:"[^"]+"|[\w$]+))?)/gi,
        ),
      ].map((m) => m[1]!),
    );
    if (!names.length) return [];
    // Literals, not an array parameter: the run's connection has no array types (see ConnectSettings).
    const rows = await this.conn.unsafe(
      `select x.indexrelid::regclass::text as name from pg_index x
        where not x.indisvalid and x.indexrelid = any(
          select to_regclass(n) from unnest(array[${names.map(literal).join(', ')}]::text[]) n
           where to_regclass(n) is not null)`,
    );
    return rows.map((r) => r.name as string);
  }

  /**
   * --single-transaction: one BEGIN, every migration's statements and row pipelined, one synchronous COMMIT. The
   * next migration is sent while one runs: a failure aborts the transaction, so what was sent after it fails too.
   */
  private async applyGrouped(pending: Pending[]): Promise<Applied[]> {
    const timeout = this.statementLockTimeout();
    await this.conn.unsafe(`begin${timeout ? `; set local lock_timeout = '${timeout}'` : ''}`).simple();
    const done: Applied[] = [];
    const send = (migration: Pending) => {
      const { pkg, file, outOfOrder } = migration;
      return this.pipeline([
        ...commandsOf(file).map((c) => c.text),
        Bookkeeping.recordStatement(pkg, file, outOfOrder),
      ]);
    };
    let ahead: ReturnType<typeof send> | undefined;
    try {
      for (const [i, migration] of pending.entries()) {
        const sent = ahead;
        ahead = undefined;
        if (!sent && this.settings.signal?.aborted) throw this.cancelled(undefined, pending.length - i, true);
        const { pkg, file, outOfOrder } = migration;
        const started = performance.now();
        this.inFlight = migration;
        const answer = sent ?? send(migration);
        const next = pending[i + 1];
        if (next && !this.settings.signal?.aborted) ahead = send(next);
        const failure = await answer;
        this.inFlight = undefined;
        if (failure) {
          await ahead;
          ahead = undefined;
          const commands = commandsOf(file).length;
          const located = this.failed(file, failure.index < commands ? failure.index : undefined, failure.error);
          if (located instanceof MigrationCancelled || isConnectionLost(failure.error)) throw located;
          throw new DbKitError(
            located.message,
            `Nothing of this run was kept (--single-transaction). ${hintFor(failure.error, file, true)}`,
            'failure',
          );
        }
        done.push({ file, alias: pkg.alias, ms: performance.now() - started, outOfOrder });
      }
      await this.conn.unsafe('set local synchronous_commit = on; commit').simple();
    } catch (error) {
      await ahead;
      if (!this.sessionLost) await this.conn.unsafe('rollback').catch(() => {});
      throw error;
    }
    // Reported only now: before the commit, none of them was applied.
    for (const a of done) this.printApplied(a);
    this.applied.push(...done);
    return this.applied;
  }

  /** Retries a transactional migration whose statement waited longer than its lock timeout. */
  private async withLockRetries(migration: Pending, apply: (attempt: number) => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await apply(attempt);
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause;
        const retry =
          migration.file.transactional &&
          cause?.code === '55P03' &&
          attempt < this.limits.lockTimeoutAttempts &&
          !this.settings.signal?.aborted;
        if (!retry) throw error;
        const pause = 1000 * 2 ** (attempt - 1);
        this.log(
          `  waiting  ${migration.file.tag}: a statement hit its lock timeout; retry ${attempt} of ` +
            `${this.limits.lockTimeoutAttempts - 1} in ${pause / 1000} s`,
        );
        await new Promise((r) => setTimeout(r, pause));
      }
    }
  }

  /** The error for a failed statement, located in the file from the error's own position. */
  private failed(file: MigrationFile, index: number | undefined, error: unknown): DbKitError {
    if (this.settings.signal?.aborted && (error as { code?: string }).code === '57014') return this.cancelled(file);
    if (isConnectionLost(error)) return this.lost(file, error);
    return withCause(migrationFailure(file, index, error), error);
  }

  /** What a cancelled run says: the migration in flight rolled back, what stays. */
  cancelled(file: MigrationFile | undefined, notRun = 0, grouped = false): MigrationCancelled {
    const signal = String(this.settings.signal?.reason ?? 'SIGINT');
    const kept = grouped
      ? 'Nothing of this run was kept (--single-transaction).'
      : this.applied.length + this.unreported.length
        ? `The ${plural(this.applied.length + this.unreported.length, 'migration')} applied before it stay applied.`
        : 'Nothing of this run was applied.';
    const what = file
      ? file.transactional
        ? `${file.tag} was rolled back, nothing of it was kept.`
        : `${file.tag} (no-transaction) stopped; its statements before the cancelled one stay applied.`
      : notRun
        ? `${plural(notRun, 'pending migration')} did not run.`
        : 'No migration had started.';
    return new MigrationCancelled(
      `Cancelled by ${signal}: ${what} ${kept}`,
      'Run migrate again to apply what is pending (pnpm db:migrate:all).',
      signal,
    );
  }

  /** A lost session: one line and exit 2, never the driver's stack. */
  private lost(file: MigrationFile | undefined, error: unknown): DbKitError {
    this.sessionLost = true;
    const e = error as { message?: string; code?: string };
    const what = file ? ` while applying ${file.tag}` : '';
    const unconfirmed = this.unreported.length
      ? ` ${plural(this.unreported.length, 'earlier migration')} of this run committed but ` +
        `${this.unreported.length === 1 ? 'was' : 'were'} not yet confirmed on disk.`
      : '';
    const kept =
      file?.transactional === false
        ? 'its statements before the failing one may stay'
        : 'nothing of it was kept (it commits with its record)';
    return markLost(
      new DbKitError(
        `Lost the connection to the database${what}: ${e.message ?? String(error)}` +
          `${e.code && !/^[A-Z_]+$/.test(e.code) ? ` [${e.code}]` : ''}.${unconfirmed}`,
        `${file ? `${kept[0]!.toUpperCase()}${kept.slice(1)}. ` : ''}` +
          `Check the server (./scripts/db-workflow.sh status), ` +
          `see what was kept with pnpm db:status, then run migrate again.`,
        'environment',
      ),
    );
  }

  /** The migrations this run has applied and reported so far, and the one in flight. */
  progress(): { applied: Applied[]; inFlight: MigrationFile | undefined } {
    return { applied: [...this.applied], inFlight: this.inFlight?.file };
  }

  /** Turns any error of the run into the one the user reads. */
  explain(error: unknown): unknown {
    if (error instanceof DbKitError) return error;
    if (isConnectionLost(error)) return this.lost(this.inFlight?.file, error);
    return error;
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function withCause(error: DbKitError, cause: unknown): DbKitError {
  Object.defineProperty(error, 'cause', { value: cause, enumerable: false });
  return error;
}

/** The next step for a failed statement, by SQLSTATE: a lock timeout or a missing privilege is not the SQL's fault. */
function hintFor(error: unknown, file: MigrationFile, grouped = false): string {
  const code = (error as { code?: string }).code ?? '';
  const kept = grouped
    ? ''
    : file.transactional
      ? 'Nothing of this migration was kept; earlier migrations stay applied. '
      : 'This migration runs without a transaction: statements before the failing one stay applied; make them ' +
        'idempotent (IF NOT EXISTS). ';
  if (code === '55P03')
    return (
      `${kept}Another session held a lock this statement needs for longer than its lock timeout: find it ` +
      `(pg_stat_activity), let it finish, and run migrate again, or raise --lock-timeout-statement <s>.`
    );
  if (code === '42501')
    return (
      `${kept}The database user lacks a privilege this statement needs: run migrate as the objects' owner, or ` +
      `GRANT it, then run migrate again.`
    );
  if (code === '57014')
    return (
      `${kept}The statement was cancelled (statement_timeout, or pg_cancel_backend from another session): ` +
      `raise statement_timeout for the migration's role, or run migrate again.`
    );
  if (code === '40P01' || code === '40001') return `${kept}It lost a race with another session: run migrate again.`;
  return `${kept}Fix the SQL and run migrate again.`;
}

/** `teamd/drizzle/x.sql:12:8: migration x failed at statement 2 of 3 (ALTER TABLE ...): column "y" does not exist` */
function migrationFailure(file: MigrationFile, index: number | undefined, error: unknown): DbKitError {
  const pg = error as { message?: string; position?: string; code?: string; detail?: string };
  let where = file.path;
  let which = '';
  if (index !== undefined) {
    const commands = commandsOf(file);
    const statement = commands[index]!;
    const text = file.text;
    // Each command is its own message, so Postgres counts its position (in characters, from 1) from the command's
    // start.
    const offset = statement.offset + (pg.position ? Number(pg.position) - 1 : leadingComments(statement.text));
    const { line, column } = lineAndColumn(text, offset);
    where = `${file.path}:${line}:${column}`;
    which = ` at statement ${index + 1} of ${commands.length} (${firstCodeLine(statement.text).slice(0, 100)})`;
  } else if ((error as { code?: string }).code) which = ' at commit';
  return new DbKitError(
    `${where}: migration ${file.tag} failed${which}: ${pg.message ?? String(error)}` +
      `${pg.code ? ` [${pg.code}]` : ''}${pg.detail ? ` ${pg.detail}` : ''}`,
    hintFor(error, file),
    'failure',
  );
}

/** Where a statement's first code starts, past the comments that open it. */
function leadingComments(statement: string): number {
  const first = topLevelCommands(statement)[0];
  return first?.offset ?? 0;
}
