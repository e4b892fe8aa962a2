/** Thin entry: the engine's timestamped generate for the shared package. */
import { runCli } from '@large-event/db-kit';

process.exitCode = await runCli(['generate', '--package', '@large-event/database', ...process.argv.slice(2)]);
