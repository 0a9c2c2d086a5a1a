import { visible } from '../cli/format.ts';
import { startArgs, startHelp } from './args.ts';

/**
 * Entry point of `npm start`. Kept free of static imports beyond commander and the argument checks
 * (local/args.ts, plain functions): the SQS emulator's persistence uses `node:sqlite`, whose
 * "experimental" warning is filtered before it loads.
 */

function quietSqliteWarning(): void {
  const printers = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (warning.name === 'ExperimentalWarning' && /SQLite/i.test(warning.message)) return;
    for (const print of printers) print(warning);
  });
}

async function main(): Promise<number> {
  const { providers } = await import('#providers/index');
  const help = startHelp(providers);
  const parsed = startArgs(process.argv.slice(2), help);
  if (parsed.kind === 'help') return 0;
  if (parsed.kind === 'usage') {
    // One line in the CLI's words, then where the usage is: never the whole help on stderr.
    process.stderr.write(`error: ${visible(parsed.message)}\nRun \`npm start -- --help\` for usage.\n`);
    return 2;
  }
  const values = parsed;

  quietSqliteWarning();
  const started = performance.now();
  const { startLocalStack } = await import('./runner.ts');
  const { banner } = await import('./banner.ts');
  const out = process.stdout;
  const colour = out.isTTY === true && !process.env.NO_COLOR;

  // Listening from the start: a Ctrl-C during startup must not kill us while DynamoDB Local (in its
  // own process group) is starting, or it would outlive us. We stop as soon as startup settles.
  let early: NodeJS.Signals | undefined;
  let onSignal = (signal: NodeJS.Signals) => {
    if (early) return;
    early = signal;
    out.write(`${signal}: stopping as soon as startup finishes…\n`);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => onSignal(signal));

  let stack: Awaited<ReturnType<typeof startLocalStack>>;
  try {
    out.write('starting the local stack (DynamoDB Local, SQS emulator, ingest, consumer)…\n');
    stack = await startLocalStack({
      env: process.env,
      ...(values.dataDir ? { dataDir: values.dataDir } : {}),
      ...(values.forwardJobEvents ? { forwardJobEvents: values.forwardJobEvents } : {}),
      reset: values.reset === true,
      out,
      colour,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const known = error instanceof Error && ['LocalStackError', 'ConfigError'].includes(error.name);
    process.stderr.write(`\nerror: ${message}\n`);
    if (!known && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    return 1;
  }

  // DynamoDB Local runs in its own process group (so Ctrl-C reaches only us and we can drain first):
  // make sure it never outlives this process.
  process.once('exit', () => {
    for (const pid of stack.childPids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  });

  if (!early) {
    out.write(await banner(stack, { colour, reset: values.reset === true }));
    out.write(
      `ready: serving ${stack.url} (started in ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
        `runner pid ${process.pid}: Ctrl-C here, or \`kill ${process.pid}\`, stops it)\n`,
    );
  }

  return new Promise<number>((resolve) => {
    let stoppingSince: number | undefined;
    const stop = (signal: NodeJS.Signals) => {
      if (stoppingSince !== undefined) {
        // A terminal's Ctrl-C reaches both tsx and us, and tsx may relay it once more: only a
        // later, deliberate second signal skips the drain.
        if (performance.now() - stoppingSince < 1_500) return;
        out.write(`${signal} again: exiting without draining\n`);
        resolve(130);
        return;
      }
      stoppingSince = performance.now();
      stack
        .stop()
        .then(() => {
          out.write(`stopped (${stack.summary()})\n`);
          resolve(0);
        })
        .catch((error: unknown) => {
          process.stderr.write(`error while stopping: ${(error as Error).message}\n`);
          resolve(1);
        });
    };
    onSignal = stop;
    if (early) stop(early);
  });
}

// Exit explicitly: SDK keep-alive sockets must not hold a stopped runner open.
main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`error: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
