import { createServer } from 'node:net';

/** True when nothing listens on 127.0.0.1:`port`. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The first free port from `preferred` on; a taken port (say, another Postgres on 5432) is skipped, never shared. */
export async function pickFreePort(preferred: number, attempts = 50): Promise<number> {
  for (let port = preferred; port < preferred + attempts; port++) if (await portIsFree(port)) return port;
  throw new Error(`no free port between ${preferred} and ${preferred + attempts - 1}`);
}
