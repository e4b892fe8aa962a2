/** Thin entry: the engine's promote, for Team D. */
import { runCli } from '@large-event/db-kit';

process.exitCode = await runCli(['promote', '--package', '@teamd/database', ...process.argv.slice(2)]);
