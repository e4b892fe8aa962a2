/**
 * Applies the shared package's pending migrations to DATABASE_URL.
 * The engine does the work; this entry exists so the package can be migrated on its own
 * (`pnpm --filter @large-event/database exec tsx src/migrate.ts`). Root scripts call the engine directly.
 */
import { runCli } from '@large-event/db-kit';

process.exitCode = await runCli(['migrate', '--package', '@large-event/database', ...process.argv.slice(2)]);
