import { Command, CommanderError } from 'commander';
import type { AnyProvider } from '#core/provider';
import { commanderUsage, emptyValue, type OptionSpec, swallowedFlag, UsageError } from '../cli/args.ts';
import { quote } from '../cli/format.ts';

/**
 * `npm start`'s arguments, checked as the CLI checks its own (cli/args.ts): the same one-line
 * messages for an unknown or mistyped flag, a value given to `--reset`, a value flag followed by
 * another flag (`--data-dir --reset` is not a folder named `--reset`) or an empty value.
 */

/** `npm start`'s flags, in the CLI's terms. */
export const startOptions = {
  reset: { type: 'boolean' },
  'data-dir': { type: 'string' },
  'forward-job-events': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpec;

export type StartArgs =
  | {
      kind: 'start';
      reset: boolean;
      dataDir: string | undefined;
      /** `--forward-job-events`: where to POST each job change event, checked by {@link httpUrlProblem}. */
      forwardJobEvents: string | undefined;
    }
  /** `-h`/`--help`: `help` was written to `writeOut`. */
  | { kind: 'help' }
  /** Wrong usage: one line, without `error: ` (exit 2). */
  | { kind: 'usage'; message: string };

/** Reads `npm start`'s arguments (what follows `npm start --`); `help` is the text `-h` prints. */
export function startArgs(
  argv: readonly string[],
  help: string,
  writeOut: (text: string) => void = (text) => process.stdout.write(text),
): StartArgs {
  const program = new Command()
    .name('npm start --')
    .option('--reset')
    .option('--data-dir <dir>')
    .option('--forward-job-events <url>')
    .allowExcessArguments(true)
    .configureHelp({ formatHelp: () => help })
    .configureOutput({ writeOut, writeErr: () => {}, outputError: () => {} })
    .showSuggestionAfterError(true)
    .exitOverride();
  try {
    swallowedFlag(argv, startOptions);
    program.parse([...argv], { from: 'user' });
    const values = program.opts<{ reset?: boolean; dataDir?: string; forwardJobEvents?: string }>();
    emptyValue('--data-dir', values.dataDir);
    emptyValue('--forward-job-events', values.forwardJobEvents);
    const problem =
      values.forwardJobEvents === undefined ? undefined : httpUrlProblem(values.forwardJobEvents);
    if (problem) throw new UsageError(`--forward-job-events ${problem}`);
    const [stray] = program.args;
    if (stray !== undefined) {
      // npm took the first `--`: one here is a second, after which every word is an argument.
      throw new UsageError(
        argv.includes('--')
          ? `npm start takes its options after a single -- (npm start -- --reset --data-dir <dir>); got ${quote(stray)} after a second one`
          : `npm start takes no arguments (got ${quote(stray)}); its options: --reset, --data-dir <dir>, --forward-job-events <url>`,
      );
    }
    return {
      kind: 'start',
      reset: values.reset === true,
      dataDir: values.dataDir,
      forwardJobEvents: values.forwardJobEvents,
    };
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed') return { kind: 'help' };
      return { kind: 'usage', message: commanderUsage(error, startOptions) };
    }
    if (error instanceof UsageError) return { kind: 'usage', message: error.message };
    throw error;
  }
}

/**
 * What is wrong with a URL to POST job change events to (`npm start -- --forward-job-events`,
 * `JOB_EVENTS_FORWARD_URL`, `cli watch --forward`), as the end of a sentence that starts with its
 * name; `undefined` when it is an absolute `http:` or `https:` URL without a user name or password
 * (which `fetch` refuses to send).
 */
export function httpUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return `must be an http:// or https:// URL (got ${quote(text)})`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return `must be an http:// or https:// URL (got ${quote(text)})`;
  if (url.username !== '' || url.password !== '')
    return 'must not hold a user name or password: fetch refuses to send them (put a key in the path or the query)';
  return undefined;
}

/** The help text; the providers' variables come from the registry (`functions/providers/index.ts`). */
export function startHelp(providers: ReadonlyMap<string, AnyProvider>): string {
  const list = [...providers.values()];
  const credentials = list.map((p) =>
    p.credentials.env.format
      ? `${p.credentials.env.variable} (${p.credentials.env.format})`
      : p.credentials.env.variable,
  );
  const settings = list.flatMap((p) =>
    Object.values(p.settings).map((setting) => `${setting.variable} (${setting.default})`),
  );
  return `Usage: npm start [-- [--reset] [--data-dir <dir>] [--forward-job-events <url>]]

Runs the whole pipeline on this machine: DynamoDB Local, the SQS emulator, the ingest handler
behind a local HTTP server and the consumer driven by an SQS poller. Stop it with Ctrl-C, or
\`kill <pid>\` with the runner's pid (the ready line prints it): a SIGTERM to npm itself does not
reach the runner.

Options:
  --reset            wipe the local data (DynamoDB tables, queues, job events file) before starting
  --data-dir <dir>   where the data lives (default: LOCAL_DATA_DIR or .local in the repository); a
                     relative path is from the folder you run npm in
  --forward-job-events <url>
                     also POST each job change event, as JSON, to this http(s) URL (default:
                     JOB_EVENTS_FORWARD_URL): one at a time in stream order, a failure retried 3
                     times with backoff, then logged and dropped. Every event is also logged and
                     appended to <data dir>/job-events.jsonl; publishing starts from the latest
                     change, so a restart does not publish earlier changes again
  -h, --help         show this help

Environment (all optional):
  PORT (3000), HOST (127.0.0.1), DYNAMODB_PORT (8000), SQS_PORT (4566)
${wrapped(credentials)}
      each provider's credentials: comma-separated unbound values (never JSON); unset or
      empty, the printed dev value
${wrapped(settings)}
  MAX_BODY_BYTES (262144), DEDUPE_HORIZON_DAYS (30), EVENT_TIME_SKEW_SECONDS (300)
  QUEUE_VISIBILITY_TIMEOUT_SECONDS (180, at least 3): lower it to watch retries reach the DLQ quickly
  JOB_EVENTS_FORWARD_URL: as --forward-job-events (the flag wins)
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
