import { Command, CommanderError } from 'commander';
import type { AnyProvider } from '#core/provider';

/**
 * Entry point of `npm start`. Kept free of static imports beyond commander: the SQS emulator's
 * persistence uses `node:sqlite`, whose "experimental" warning is filtered before it loads.
 */

/** The help text; the providers' variables come from the registry (`functions/providers/index.ts`). */
function usage(providers: ReadonlyMap<string, AnyProvider>): string {
  const list = [...providers.values()];
  const credentials = list.map((p) => p.credentials.env.variable);
  const settings = list.flatMap((p) =>
    Object.values(p.settings).map((setting) => `${setting.variable} (${setting.default})`),
  );
  return `Usage: npm start [-- --reset] [-- --data-dir <dir>]

Runs the whole pipeline on this machine: DynamoDB Local, the SQS emulator, the ingest handler
behind a local HTTP server and the consumer driven by an SQS poller.

Options:
  --reset            wipe the local data (DynamoDB tables and queues) before starting
  --data-dir <dir>   where the data lives (default: LOCAL_DATA_DIR or .local)
  -h, --help         show this help

Environment (all optional):
  PORT (3000), HOST (127.0.0.1), DYNAMODB_PORT (8000), SQS_PORT (4566)
${wrapped(credentials)}
      each provider's credentials, comma-separated; dev defaults are printed
${wrapped(settings)}
  MAX_BODY_BYTES (262144), DEDUPE_HORIZON_DAYS (30), EVENT_TIME_SKEW_SECONDS (300)
  QUEUE_VISIBILITY_TIMEOUT_SECONDS (180, at least 3): lower it to watch retries reach the DLQ quickly
`;
}

/** Comma-separated items as indented lines of at most 100 characters. */
function wrapped(items: readonly string[]): string {
  const lines: string[] = [];
  let line = '';
  for (const [i, item] of items.entries()) {
    const next = `${item}${i < items.length - 1 ? ',' : ''}`;
    if (line !== '' && 2 + line.length + 1 + next.length > 100) {
      lines.push(line);
      line = next;
    } else line = line === '' ? next : `${line} ${next}`;
  }
  if (line !== '') lines.push(line);
  return lines.map((l) => `  ${l}`).join('\n');
}

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
  const help = usage(providers);
  const program = new Command()
    .name('npm start --')
    .option('--reset')
    .option('--data-dir <dir>')
    .configureHelp({ formatHelp: () => help })
    .configureOutput({
      writeOut: (text) => process.stdout.write(text),
      writeErr: () => {},
      outputError: () => {},
    })
    .showSuggestionAfterError(true)
    .exitOverride();
  try {
    program.parse(process.argv.slice(2), { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    if (error.code === 'commander.helpDisplayed') return 0;
    // commander's words ("error: unknown option '--rest'\n(Did you mean --reset?)") on one line.
    process.stderr.write(`${error.message.replace(/\n/g, ' ')}\n\n${help}`);
    return 2;
  }
  const values = program.opts<{ reset?: boolean; dataDir?: string }>();

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
      `ready: serving ${stack.url} (started in ${((performance.now() - started) / 1000).toFixed(1)} s; Ctrl-C to stop)\n`,
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
