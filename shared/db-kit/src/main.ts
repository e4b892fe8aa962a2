import { runCli } from './cli';

// Exit explicitly with the command's code: a library's open handle must not keep the CLI alive.
runCli(process.argv.slice(2)).then((code) => process.exit(code));
