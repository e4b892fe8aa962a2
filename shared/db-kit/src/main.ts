import { runCli } from './cli';

// Exit explicitly with the command's code: a library's open handle must not keep the CLI alive.
process.exit(await runCli(process.argv.slice(2)));
