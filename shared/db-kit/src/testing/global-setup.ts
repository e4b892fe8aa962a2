// Vitest global setup: one PostgreSQL for the whole run, shared by every worker.
import { Workspace } from '../workspace';
import { startTestServer, TEST_SERVER_ENV } from './server';

export default async function setup(): Promise<() => Promise<void>> {
  const server = await startTestServer(Workspace.find().root);
  process.env[TEST_SERVER_ENV] = server.url;
  if (!process.env.CI_QUIET) console.log(`[db-kit] test databases on ${server.source}`);
  return () => server.stop();
}
