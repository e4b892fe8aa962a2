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

/** Where the launcher leaves a probe it opened before the CLI loaded (preconnect.ts). */
const EARLY_PROBE = Symbol.for('db-kit.early-probe');

interface EarlyProbe {
  /** The host and port it went to, and whether it asked for no TLS. */
  key: string;
  socket: Promise<Socket | undefined>;
}

function probeKey(target: DatabaseTarget, plain: boolean): string {
  return `${describeHost(target)} ${plain ? 'plain' : 'tls'}`;
}

/**
 * Opens a probe to `target` now and leaves it for the first `connect()` of this process, which adopts it when it is
 * for the same target. A failure here says nothing: that connect probes again and reports it.
 */
export function leaveEarlyProbe(target: DatabaseTarget, plain: boolean): void {
  // Until adopted, nothing listens on the socket: an error (the server going away) must not crash the process.
  const socket = probePostgres(target, CONNECT_TIMEOUT_S * 1000, plain).then((s) => s?.on('error', ignore));
  (globalThis as { [EARLY_PROBE]?: EarlyProbe })[EARLY_PROBE] = { key: probeKey(target, plain), socket };
}

/** The probe the launcher opened for this target, if any: taken once; one for another target is closed. */
export function adoptEarlyProbe(target: DatabaseTarget, plain: boolean): Promise<Socket | undefined> | undefined {
  const holder = globalThis as { [EARLY_PROBE]?: EarlyProbe };
  const early = holder[EARLY_PROBE];
  if (!early) return undefined;
  delete holder[EARLY_PROBE];
  if (early.key !== probeKey(target, plain)) {
    early.socket.then(
      (socket) => socket?.destroy(),
      () => {},
    );
    return undefined;
  }
  // Its failure is reported by a probe of this bundle, with this bundle's errors; so is a socket that broke meanwhile.
  return early.socket.then(
    (socket) => {
      if (socket?.destroyed) return probePostgres(target, CONNECT_TIMEOUT_S * 1000, plain);
      return socket?.off('error', ignore);
    },
    () => probePostgres(target, CONNECT_TIMEOUT_S * 1000, plain),
  );
}
