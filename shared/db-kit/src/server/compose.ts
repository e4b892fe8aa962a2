import { spawnSync } from 'node:child_process';
import { DbKitError } from '../errors';

/** True when a Docker engine answers (not just the client being installed). */
export function dockerEngineRunning(): boolean {
  const result = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 8000 });
  return result.status === 0 && Boolean(result.stdout.trim());
}

function compose(root: string, args: string[], env: NodeJS.ProcessEnv): { status: number | null; output: string } {
  const result = spawnSync('docker', ['compose', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

/** `docker compose up -d --wait postgres` with the host port we picked. */
export function composeUp(root: string, port: number): void {
  const { status, output } = compose(root, ['up', '-d', '--wait', 'postgres'], { POSTGRES_PORT: String(port) });
  if (status !== 0) {
    throw new DbKitError(
      `docker compose could not start postgres: ${output.trim().split('\n').pop()}`,
      'Check `docker compose logs postgres`, or unset the Docker engine to use the embedded server.',
    );
  }
}

export function composeDown(root: string, port: number): boolean {
  return compose(root, ['stop', 'postgres'], { POSTGRES_PORT: String(port) }).status === 0;
}

export function composeRunning(root: string, port: number): boolean {
  const { status, output } = compose(root, ['ps', '--status', 'running', '--quiet', 'postgres'], {
    POSTGRES_PORT: String(port),
  });
  return status === 0 && output.trim().length > 0;
}
