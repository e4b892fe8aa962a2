import { connect as netConnect, type Socket } from 'node:net';
import { DbKitError, describeError } from './errors';
import { type DatabaseTarget, describeHost } from './target';

/** Seconds to wait for a server to connect and answer. */
export const CONNECT_TIMEOUT_S = 10;

export function cannotConnect(target: DatabaseTarget, reason: string, hint?: string): DbKitError {
  return new DbKitError(
    `Cannot connect to ${target.redacted} (${describeHost(target)}): ${reason}.`,
    hint ?? 'Start the database with ./scripts/db-workflow.sh start, or fix DATABASE_URL in .env.',
    'environment',
  );
}

/**
 * Sends PostgreSQL's SSLRequest and reads the first byte of the answer: `S` or `N` (or `E` from
 * a very old server) is PostgreSQL; anything else, or a peer that closes, is not. With `keep`, a
 * socket answered `N` (no TLS) is returned open, for the driver to start its session on; any other
 * answer closes it and returns undefined.
 */
export function probePostgres(
  target: DatabaseTarget,
  timeoutMs = CONNECT_TIMEOUT_S * 1000,
  keep = false,
): Promise<Socket | undefined> {
  return new Promise((resolve, reject) => {
    const socket = target.socket
      ? netConnect({ path: `${target.host}/.s.PGSQL.${target.port}` })
      : netConnect({ host: target.host, port: target.port });
    let settled = false;
    const finish = (error?: DbKitError, reusable = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (keep && reusable) {
        socket.removeAllListeners();
        resolve(socket);
        return;
      }
      socket.destroy();
      if (error) reject(error);
      else resolve(undefined);
    };
    const notPostgres = (what: string) =>
      cannotConnect(
        target,
        `${what}: that port is not a PostgreSQL server`,
        'Check the port in DATABASE_URL (PostgreSQL listens on 5432 unless told otherwise); ' +
          './scripts/db-workflow.sh status shows ours.',
      );
    const timer = setTimeout(
      () => finish(cannotConnect(target, `no answer within ${Math.round(timeoutMs / 1000)} s`)),
      timeoutMs,
    );
    socket.once('connect', () => socket.write(Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])));
    socket.once('data', (chunk: Buffer) => {
      const first = String.fromCharCode(chunk[0] ?? 0);
      if (first === 'N' && chunk.length === 1) finish(undefined, true);
      else if (first === 'S' || first === 'N' || first === 'E') finish();
      else finish(notPostgres(`it answered ${JSON.stringify(chunk.subarray(0, 12).toString('latin1'))}`));
    });
    socket.once('end', () => finish(notPostgres('it closed the connection')));
    socket.once('error', (error) => finish(cannotConnect(target, describeError(error))));
  });
}

function ignore(): void {}

/**
 * The StartupMessage postgres.js writes for these connection settings (user, database, client_encoding, then
 * `connection`: application_name and the URL's other parameters), byte for byte: the launcher sends it early,
 * and connect() takes the session over only when its own settings give the same bytes. A unit test holds it to
 * the driver's own.
 */
export function startupMessage(target: DatabaseTarget, applicationName: string): Buffer {
  const { sslmode: _, ...params } = target.params;
  const fields = Object.assign(
    { user: target.user, database: target.database, client_encoding: 'UTF8' },
    { application_name: applicationName, ...params },
  ) as Record<string, string>;
  const body = Buffer.from(
    `${Object.entries(fields)
      .filter(([, value]) => value)
      .map(([key, value]) => `${key}\0${value}`)
      .join('\0')}\0\0`,
  );
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + body.length, 0);
  head.writeInt32BE(196608, 4); // protocol 3.0
  return Buffer.concat([head, body]);
}

/** Where the launcher leaves a session it started before the CLI loaded (preconnect.ts). */
const EARLY_SESSION = Symbol.for('db-kit.early-session');

/** The socket, paused with the server's first answers in it; or why there is none. */
type EarlyAnswer = { socket: Socket } | { timedOut: true } | { failed: true };

interface EarlySession {
  /** The host and port it went to, and the StartupMessage it sent. */
  key: string;
  answer: Promise<EarlyAnswer>;
}

function sessionKey(target: DatabaseTarget, startup: Buffer): string {
  return `${describeHost(target)} ${startup.toString('hex')}`;
}

/**
 * Connects to `target` and sends `startup` at once, as the driver does on a plain connection (no SSLRequest first:
 * the server refuses data sent behind one before it answers). A PostgreSQL server answers with an authentication
 * request or an error; anything else is not one, and the socket is closed.
 */
function startSession(target: DatabaseTarget, startup: Buffer, timeoutMs: number): Promise<EarlyAnswer> {
  return new Promise((resolve) => {
    const socket = target.socket
      ? netConnect({ path: `${target.host}/.s.PGSQL.${target.port}` })
      : netConnect({ host: target.host, port: target.port });
    const finish = (answer: EarlyAnswer) => {
      clearTimeout(timer);
      socket.removeAllListeners();
      // Until taken over, nothing listens on the socket: an error (the server going away) must not crash the process.
      socket.on('error', ignore);
      if (!('socket' in answer)) socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => finish({ timedOut: true }), timeoutMs);
    socket.once('connect', () => socket.write(startup));
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      socket.unshift(chunk);
      finish(chunk[0] === 0x52 || chunk[0] === 0x45 ? { socket } : { failed: true }); // 'R' or 'E'
    });
    socket.once('end', () => finish({ failed: true }));
    socket.once('error', () => finish({ failed: true }));
  });
}

/**
 * Starts a session on `target` now, as a command connecting as `applicationName` would (a plain connection), and
 * leaves it for the first `connect()` of this process with the same settings. Failures say nothing here.
 */
export function leaveEarlySession(target: DatabaseTarget, applicationName: string): void {
  const startup = startupMessage(target, applicationName);
  const answer = startSession(target, startup, CONNECT_TIMEOUT_S * 1000);
  (globalThis as { [EARLY_SESSION]?: EarlySession })[EARLY_SESSION] = { key: sessionKey(target, startup), answer };
}

/**
 * The launcher's session, if it has one for this target and these settings: taken once, and one for anything
 * else is closed. On it the driver's own StartupMessage is not sent again (the server answered the launcher's;
 * that answer waits in the paused socket). Where it found no PostgreSQL, a probe of this bundle says so, with this
 * bundle's errors; a server that never answered is reported as such, without a second wait.
 */
export function adoptEarlySession(
  target: DatabaseTarget,
  plain: boolean,
  applicationName: string,
): Promise<Socket | undefined> | undefined {
  const holder = globalThis as { [EARLY_SESSION]?: EarlySession };
  const early = holder[EARLY_SESSION];
  if (!early) return undefined;
  delete holder[EARLY_SESSION];
  if (!plain || early.key !== sessionKey(target, startupMessage(target, applicationName))) {
    early.answer.then((answer) => ('socket' in answer ? answer.socket.destroy() : undefined), ignore);
    return undefined;
  }
  return early.answer.then((answer) => {
    if ('timedOut' in answer) throw cannotConnect(target, `no answer within ${CONNECT_TIMEOUT_S} s`);
    if ('failed' in answer || answer.socket.destroyed) return probePostgres(target, CONNECT_TIMEOUT_S * 1000, plain);
    answer.socket.off('error', ignore);
    skipStartup(answer.socket);
    return answer.socket;
  });
}

/** Drops the driver's StartupMessage, the first thing it writes, and lets the server's answer through. */
function skipStartup(socket: Socket): void {
  const write = socket.write;
  socket.write = function (this: Socket, ...args: Parameters<Socket['write']>) {
    socket.write = write;
    const [data, second, third] = args as [Buffer | string, unknown, unknown];
    const callback = [second, third].find((a): a is () => void => typeof a === 'function');
    const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data);
    const rest = bytes.length >= 8 && bytes.readInt32BE(4) === 196608 ? bytes.subarray(bytes.readInt32BE(0)) : bytes;
    socket.resume();
    if (rest.length) return (write as (chunk: Buffer, done?: () => void) => boolean).call(this, rest, callback);
    if (callback) setImmediate(callback);
    return true;
  } as Socket['write'];
}
