import { main } from './main.ts';

/** `npm run cli -- <command>`: the operator's and developer's tool. See `cli/commands.ts`. */
const code = await main(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  interactive: process.stderr.isTTY === true,
  env: process.env,
});
// Flush stdout before exiting: a piped `--json` must arrive whole.
process.stdout.write('', () => process.exit(code));
