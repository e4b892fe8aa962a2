// Vitest global setup: one PostgreSQL for the whole run, shared by every worker.
import { describeError } from '../errors';
import { Workspace } from '../workspace';
import { dropRunDatabases, startTestRun } from './index';
import { startTestServer, TEST_SERVER_ENV } from './server';

export default async function setup(): Promise<() => Promise<void>> {
  const run = startTestRun(); // before any worker starts: they inherit it
  const server = await startTestServer(Workspace.find().root);
  process.env[TEST_SERVER_ENV] = server.url;
  if (!process.env.CI_QUIET) console.log(`[db-kit] test databases on ${server.source}`);
  return async () => {
    // Templates stay for the next run; this run's own databases go.
    await dropRunDatabases(run).catch((error) =>
      console.error(`[db-kit] could not drop this run's test databases: ${describeError(error)}`),
    );
    await server.stop();
  };
}
