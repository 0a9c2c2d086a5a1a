import type { AnyProvider, ProviderSetting } from '#core/provider';
import { hasTerminalActive, terminalActive } from '#core/text';
import { providers } from '#providers/index';
import type { OptionSpec, Parsed } from './args.ts';

/**
 * Every command's name, flags and help, without its implementation: `--help` and argument errors
 * answer without loading the AWS SDK, and `send` starts fast.
 */

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** True when stderr is a terminal (progress bars). */
  interactive: boolean;
  env: Record<string, string | undefined>;
}

export interface CommandContext extends Parsed {
  io: Io;
}

export interface CommandSpec {
  name: string;
  summary: string;
  help: string;
  options: OptionSpec;
  run(context: CommandContext): Promise<number>;
}

const help = { help: { type: 'boolean', short: 'h' } } as const satisfies OptionSpec;

const target = {
  'data-dir': { type: 'string' },
  aws: { type: 'boolean' },
  stage: { type: 'string' },
  region: { type: 'string' },
  'events-table': { type: 'string' },
  'jobs-table': { type: 'string' },
  'queue-url': { type: 'string' },
  'dlq-url': { type: 'string' },
  'dynamodb-endpoint': { type: 'string' },
  'sqs-endpoint': { type: 'string' },
} as const satisfies OptionSpec;

const targetHelp = `Where (default: the local stack started by \`npm start\`):
  --data-dir <dir>            the local stack's data directory (default LOCAL_DATA_DIR or .local);
                              a relative path is from the folder you run npm in
  --aws                       a deployed stack, through the usual AWS environment (AWS_PROFILE,
                              AWS_REGION, credentials)
  --stage <stage>             the deployed stage (implies --aws): table and queue names follow
                              from it, as \`cdk deploy\` names them; the stack-output variables
                              below are then ignored (they may be another stage's), the flags
                              below still override
  --region <region>           AWS region (default: from the environment)
  --events-table <name>       events table (without --stage: env EVENTS_TABLE_NAME, a stack output)
  --jobs-table <name>         jobs table (without --stage: env JOBS_TABLE_NAME, a stack output)
  --queue-url <url>           the events queue (without --stage: env QUEUE_URL, a stack output)
  --dlq-url <url>             its dead-letter queue (default: from the stage; without --stage env
                              DEAD_LETTER_QUEUE_URL, else the queue's redrive policy)
  --dynamodb-endpoint <url>   override the DynamoDB endpoint (also AWS_ENDPOINT_URL_DYNAMODB with --aws)
  --sqs-endpoint <url>        override the SQS endpoint (also AWS_ENDPOINT_URL_SQS with --aws)`;

const eventFilters = {
  provider: { type: 'string' },
  type: { type: 'string' },
  outcome: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  job: { type: 'string' },
  account: { type: 'string' },
} as const satisfies OptionSpec;

/**
 * The flags that chose the stack, as arguments to repeat in a suggested command (a hint that
 * dropped `--stage prod` would point at the local stack). Quoted for a POSIX shell where needed.
 */
export function targetArgs(values: Parsed['values']): string {
  const args: string[] = [];
  for (const name of Object.keys(target)) {
    const value = values[name];
    if (value === true) args.push(`--${name}`);
    else if (typeof value === 'string') args.push(`--${name}`, shellQuote(value));
  }
  return args.map((a) => ` ${a}`).join('');
}

export function shellQuote(arg: string): string {
  if (/^[\w@%+=:,./-]+$/.test(arg)) return arg;
  // A character a terminal acts on cannot be printed inside '…'; ANSI-C quoting ($'…', bash and zsh)
  // spells its UTF-8 bytes in printable ASCII (\xHH, which any locale reads back as those bytes,
  // where \uHHHH needs a UTF-8 one), and the pasted command gets the exact value back.
  if (hasTerminalActive(arg)) {
    const spelled = arg
      .replace(/[\\']/g, (c) => `\\${c}`)
      .replace(terminalActive, (c) =>
        [...Buffer.from(c, 'utf8')].map((byte) => `\\x${byte.toString(16).padStart(2, '0')}`).join(''),
      );
    return `$'${spelled}'`;
  }
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** `a, b or c`. */
function either(names: readonly string[]): string {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
}

const providerNames = [...providers.keys()];

/** The `--provider` line of the filters, from the registry. */
const providerFilterHelp = `--provider <name>     ${either(providerNames)} (default: all of them)`;

const eventFiltersHelp = `Filters:
  ${providerFilterHelp}
  --type <event type>   e.g. job.completed
  --outcome <outcome>   applied, stale, recorded, quarantined, conflict (a known event key
                        arrived again with a different body: stored beside the kept record,
                        not applied) or unprocessable (the store refused it for good; see its
                        reason)
  --since <time>        received at or after: ISO time (2026-06-17T14:00Z), date, or 30m/2h/7d ago
  --until <time>        received at or before (same forms)
  --job <id>            events naming this job id
  --account <id>        events of this business/account`;

/**
 * A `send` flag a provider declares: the text of its credentials (`credentials.env.flag`, e.g.
 * `--secret`), or a value of one of its settings (`ProviderSetting.flag`, e.g. `--scheme`).
 */
export type ProviderFlag =
  | { kind: 'credentials'; flag: string; provider: AnyProvider }
  | { kind: 'setting'; flag: string; provider: AnyProvider; setting: ProviderSetting };

/**
 * Every provider's `send` flags, in registry order.
 *
 * @throws Error when two declare one flag, or one is a flag `send` has already.
 */
export function providerFlags(list: ReadonlyMap<string, AnyProvider> = providers): ProviderFlag[] {
  const flags: ProviderFlag[] = [];
  for (const provider of list.values()) {
    const own = provider.credentials.env.flag;
    if (own !== undefined) flags.push({ kind: 'credentials', flag: own, provider });
    for (const setting of Object.values(provider.settings)) {
      if (setting.flag !== undefined) flags.push({ kind: 'setting', flag: setting.flag, provider, setting });
    }
  }
  const seen = new Set(Object.keys(sendOwnOptions));
  for (const { flag, provider } of flags) {
    if (seen.has(flag)) throw new Error(`send flag --${flag} (${provider.name}) is declared twice`);
    seen.add(flag);
  }
  return flags;
}

/** `send`'s flags that are not a provider's. */
const sendOwnOptions = {
  ...help,
  url: { type: 'string' },
  provider: { type: 'string' },
  type: { type: 'string' },
  count: { type: 'string' },
  concurrency: { type: 'string' },
  duplicates: { type: 'string' },
  'out-of-order': { type: 'boolean' },
  file: { type: 'string', multiple: true },
  'data-dir': { type: 'string' },
  json: { type: 'boolean' },
} as const satisfies OptionSpec;

const sendFlags = providerFlags();

/** `text`'s words in lines of at most `width` characters (a longer word has a line of its own). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  return [...lines, line];
}

/** A help entry: the flag in the first 26 columns, its text beside it, wrapped at 100. */
function helpEntry(left: string, text: string): string {
  const indent = ' '.repeat(26);
  const [first, ...rest] = wrap(text, 100 - indent.length);
  const head = `  ${left}`;
  const opening =
    head.length < indent.length ? `${head.padEnd(indent.length)}${first}` : `${head}\n${indent}${first}`;
  return [opening, ...rest.map((l) => `${indent}${l}`)].join('\n');
}

/** The help lines of the providers' flags, from their declarations. */
function providerFlagsHelp(): string {
  return sendFlags
    .map((f) => {
      if (f.kind === 'credentials') {
        const { variable } = f.provider.credentials.env;
        return helpEntry(
          `--${f.flag} <${f.flag.split('-').at(-1)}>`,
          `${f.provider.title} credentials, written as ${variable} holds them (default: ${variable}, else the local dev value)`,
        );
      }
      const name = Object.entries(f.provider.settings).find(([, s]) => s === f.setting)?.[0] ?? 'value';
      return helpEntry(
        `--${f.flag} <${name}>`,
        `${f.provider.title}: ${f.setting.description} (default: ${f.setting.variable}, else ${f.setting.default})`,
      );
    })
    .join('\n');
}

const titles = either([...providers.values()].map((p) => p.title));

export const commands: readonly CommandSpec[] = [
  {
    name: 'send',
    summary: 'sign and POST sample or given events to a webhook URL',
    options: {
      ...sendOwnOptions,
      ...Object.fromEntries(sendFlags.map((f) => [f.flag, { type: 'string' } as const])),
    },
    help: `Usage: npm run cli -- send [options]

${wrap(
  `Signs and POSTs webhook deliveries to the local stack or any URL, as ${titles} would. With ` +
    '--count 1 (the default) it sends one job.completed; larger counts send realistic job histories ' +
    "(each job's events in the order they happen, e.g. booked → completed → paid); with " +
    '--provider all the providers take turns event by event. Prints the ' +
    'response of a single delivery, or a progress bar and a summary of status codes and latencies ' +
    'for many. Exits 1 when any delivery did not get a 2xx.',
  96,
).join('\n')}

Options:
${helpEntry(
  '--url <url>',
  'base URL of the receiver (default: the local stack, http://127.0.0.1:3000), e.g. the deployed ' +
    "API's URL; or one of its webhook URLs as pasted (…/webhooks/zenbooker/<token>): its path then " +
    'names the provider, and its path parameter (a Zenbooker token, a Standard Webhooks source) ' +
    'is used instead of the one the credentials would give. --provider, if given, must be the same',
)}
${helpEntry(
  '--provider <name>',
  `${either([...providerNames, 'all'])} (default: ${providerNames[0]}). all: every provider, taking ` +
    'turns event by event (one event each without --count; a --count of at least the number of ' +
    'providers reaches every one, a smaller one only the first --count of them, in this order)',
)}
  --type <event type>     send only this event type (a type a provider has no sample of is refused,
                          naming the ones it has)
${helpEntry(
  '--count <n>',
  'distinct events to send, in all (default 1, or one per provider with --provider all; at most ' +
    '100000). A provider with one event to send sends a job.completed; with more, job histories',
)}
  --concurrency <n>       requests in flight at once (default 4, at most 256)
  --duplicates <rate>     share of events delivered a second time, 0–1 or a percentage (default 0),
                          each as its provider redelivers one event
${helpEntry(
  '--out-of-order',
  "send each job's events newest first. Each job still ends at its newest state, and an event " +
    'older than what the job has applied is recorded stale. In-order sends can end with stale ' +
    "events too: the consumer processes a batch's records in parallel, so how many there are is " +
    'not a sign of the order sent',
)}
${helpEntry(
  '--file <path>',
  "send this JSON file's exact bytes instead of generated events (repeatable, once each: --type, " +
    '--count, --duplicates and --out-of-order do not apply; a relative path is from the folder you ' +
    'run npm in); the provider is inferred from the body unless --provider is given',
)}
${providerFlagsHelp()}
${helpEntry(
  '--data-dir <dir>',
  "find the local stack's URL in this data directory (relative: from the folder you run npm in)",
)}
  --json                  print the summary as JSON
  -h, --help              show this help

Examples:
  npm run cli -- send
  npm run cli -- send --provider all --count 300 --concurrency 16 --duplicates 0.1 --out-of-order
  npm run cli -- send --file test/fixtures/zenbooker/job.started.v2025.json
  npm run cli -- send --url https://abc123.execute-api.eu-west-1.amazonaws.com --secret "$SECRET"
  npm run cli -- send --url "https://abc123.execute-api.eu-west-1.amazonaws.com/webhooks/zenbooker/$TOKEN"
`,
    run: async (context) => (await import('./send.ts')).send(context),
  },
  {
    name: 'jobs',
    summary: 'list stored jobs (per business/account) or show one by id',
    options: {
      ...help,
      ...target,
      provider: { type: 'string' },
      account: { type: 'string' },
      status: { type: 'string' },
      limit: { type: 'string' },
      payload: { type: 'boolean' },
      json: { type: 'boolean' },
    },
    help: `Usage: npm run cli -- jobs [list] [options]
       npm run cli -- jobs show <job id> [--provider <name>] [--payload] [--json]

Lists jobs, most recently updated first, or shows one job with every stored field. A job's id is
the one the JOB column prints: the provider's own, except a Standard Webhooks job, which is
<source>:<job_id> (two senders' ids never meet); \`events --job\` takes the same.

Options:
  --account <id>        only this business (Cooledge business_id, Zenbooker account, Standard
                        Webhooks data.account_id): reads the byAccount index; without it the
                        table is scanned (fine locally)
  ${providerFilterHelp}
  --status <status>     only jobs with this status
  --limit <n>           at most this many (default 20)
  --payload             include the body of the job's latest event, from the event log while
                        its record is kept (personal data: keep it on screen)
  --json                print JSON instead of a table
  -h, --help            show this help

${targetHelp}
`,
    run: async (context) => (await import('./jobs.ts')).jobs(context),
  },
  {
    name: 'events',
    summary: 'list the event log with filters, or show one event',
    options: {
      ...help,
      ...target,
      ...eventFilters,
      'replayed-since': { type: 'string' },
      limit: { type: 'string' },
      body: { type: 'boolean' },
      json: { type: 'boolean' },
    },
    help: `Usage: npm run cli -- events [list] [filters] [options]
       npm run cli -- events show <event key> [--provider <name>] [--body] [--json]
       npm run cli -- events show <first 8+ characters of an event key> [...]

Lists the event log, newest first: one record per (provider, event key) with its outcome, and
a conflict record for each different body that arrived under an already recorded key. With
--outcome quarantined, unprocessable or conflict it reads the byProvider index, which holds only
those records; any other listing scans the events table (every record in full: seconds for a
month of a small business, minutes for millions of events). \`events show\` prints the key's kept
record, then its conflicts.

\`events show\` takes a whole event key or, when no key is exactly that, the start of one (at least
8 characters; a trailing … as \`events\` prints a cut key is ignored), found by a scan. A start
that matches more than one key lists them all (at most 20) on stderr and exits 1, as an unknown
key does: give more of it, or --provider.

Text output escapes control characters, bidirectional marks and line separators in any stored value
as \\u{…} (in tables, details and messages alike); --json prints the exact values (the body
decompressed, as rawBody, and the provider read from the key).

${eventFiltersHelp}
  --replayed-since <time>
                        replayed at or after (same forms): a replay keeps the event's original
                        receive time, so --since does not find it; the OUTCOME column marks it
                        (replayed)
  --limit <n>           at most this many (default 50)

Options:
  --body                include the raw body (personal data: keep it on screen)
  --json                print JSON instead of a table
  -h, --help            show this help

${targetHelp}
`,
    run: async (context) => (await import('./events.ts')).events(context),
  },
  {
    name: 'replay',
    summary: 're-run stored events through the queue (e.g. quarantined ones after a schema fix)',
    options: {
      ...help,
      ...target,
      ...eventFilters,
      key: { type: 'string', multiple: true },
      all: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      json: { type: 'boolean' },
    },
    help: `Usage: npm run cli -- replay <filters> [--dry-run] [options]

Rebuilds queue messages from stored event records (the exact raw body, its headers and original
receive time) and sends them to the queue marked as replays: every matching event, oldest first
(there is no --limit; narrow with --since and --until). The consumer validates each body
again with the current schema and overwrites the event's own record (a replay bypasses dedupe),
while job ordering still holds: an event older than the job's state is recorded as stale.
Run with --dry-run first. A replayed record keeps its original receive time, so \`events --since\`
does not find it: the replay prints the command that does (\`events show <key>\`, or
\`events --replayed-since <time>\`).

Unprocessable records replay like any other (e.g. after fixing what the store refused); one whose
body could not be stored is skipped and named. Conflict records are never replayed: a replay
overwrites its key's record, so the conflicting body would replace the kept one (--outcome conflict
is refused; other filters skip them and say how many).

${eventFiltersHelp}
  --key <event key>     this event (repeatable; a whole key). A key that is not stored is an
                        error (exit 1, also with --dry-run) and nothing is sent
  --all                 every event (no filter)

Options:
  --dry-run             list what would be replayed, send nothing
  --json                print JSON
  -h, --help            show this help

Examples:
  npm run cli -- replay --outcome quarantined --since 7d --dry-run
  npm run cli -- replay --outcome unprocessable --dry-run

${targetHelp}
`,
    run: async (context) => (await import('./replay.ts')).replay(context),
  },
  {
    name: 'redrive',
    summary: 'move messages from the dead-letter queue back to the queue',
    options: {
      ...help,
      ...target,
      max: { type: 'string' },
      'dry-run': { type: 'boolean' },
      json: { type: 'boolean' },
    },
    help: `Usage: npm run cli -- redrive [--max <n>] [--dry-run] [options]

Moves messages from the dead-letter queue back to the events queue, unchanged (body and
attributes), so the consumer processes them again. Each message is deleted from the DLQ only after
the queue has accepted it.

Options:
  --max <n>             move at most this many (default: all)
  --dry-run             count and list the DLQ's messages without moving them; SQS has no peek,
                        so listing receives each message once and adds 1 to its receive count
                        (the RECEIVES column and ApproximateReceiveCount include dry runs)
  --json                print JSON
  -h, --help            show this help

${targetHelp}
`,
    run: async (context) => (await import('./redrive.ts')).redrive(context),
  },
  {
    name: 'watch',
    summary: 'print job change events live, as they are published (filters, --json, --forward)',
    options: {
      ...help,
      'data-dir': target['data-dir'],
      aws: target.aws,
      stage: target.stage,
      region: target.region,
      'jobs-table': target['jobs-table'],
      'dynamodb-endpoint': target['dynamodb-endpoint'],
      provider: { type: 'string', multiple: true },
      account: { type: 'string', multiple: true },
      status: { type: 'string', multiple: true },
      type: { type: 'string', multiple: true },
      json: { type: 'boolean' },
      forward: { type: 'string' },
    },
    help: `Usage: npm run cli -- watch [filters] [--json] [--forward <url>] [options]

Prints job change events live, one line per change the consumer makes to a job: the events the deployed
stack publishes to its event bus (docs/events.md), computed the same way from the jobs table's
DynamoDB stream, which it reads itself from the moment it starts. So it works locally whether or
not \`npm start\` publishes, and against a deployed stage (--stage: that stage's jobs table, its
stream found by DescribeTable's LatestStreamArn). It runs until Ctrl-C, then exits 0.

A line: when the change was written (UTC), provider, job id, #sequence, detail-type, the status
before → after ((new) for a created job, (none) for no status), the fields that changed, and for
a stale event's fill (it filled fields the job lacked, or its account) late: <its event type>.
Values the providers sent are escaped as in every command (\\u{…}), and quoted when they hold
spaces; --json prints each whole event as one line of JSON, the exact values, as a subscriber
receives it.

No history (there is no --since): it shows what changes after it starts. A stream keeps 24 hours
and the jobs table holds every job's state: \`jobs\` lists them. A deployed stream allows two
readers per shard at once, and the stack's job events publisher is one of them: run one watch per
stage at a time (a third reader is throttled, and may slow the publishing).

Filters (each repeatable: an event passes with any of the values given):
  ${providerFilterHelp}
  --account <id>        the job's business/account (detail.accountId)
  --status <status>     the job's status after the change, exactly (e.g. completed)
  --type <detail-type>  "Job Created", "Job Status Changed" or "Job Updated" (case, spaces and
                        dashes aside: job-status-changed)

Options:
  --json                each event as one line of JSON
  --forward <url>       also POST each event shown, as JSON, to this http(s) URL: one at a time,
                        in order; a failure is retried 3 times with backoff (250 ms, 500 ms, 1 s),
                        then named on stderr and dropped
  -h, --help            show this help

Where (default: the local stack started by \`npm start\`):
  --data-dir <dir>            the local stack's data directory (default LOCAL_DATA_DIR or .local);
                              a relative path is from the folder you run npm in
  --stage <stage>             the deployed stage (implies --aws): the jobs table follows from it
  --aws                       a deployed stack, through the usual AWS environment (AWS_PROFILE,
                              AWS_REGION, credentials); the jobs table from --jobs-table or
                              JOBS_TABLE_NAME (a stack output)
  --region <region>           AWS region (default: from the environment)
  --jobs-table <name>         the jobs table, whose stream is read
  --dynamodb-endpoint <url>   override the DynamoDB endpoint (its streams too)

Examples:
  npm run cli -- watch
  npm run cli -- watch --status completed --status canceled --json
  npm run cli -- watch --type "Job Status Changed" --forward http://127.0.0.1:8080/jobs
  npm run cli -- watch --stage prod --provider cooledge
`,
    run: async (context) => (await import('./watch.ts')).watch(context),
  },
];

export const mainHelp = `Usage: npm run cli -- <command> [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(9)} ${c.summary}`).join('\n')}

jobs, events, replay, redrive and watch work against the local stack (\`npm start\`) by default,
and against a deployed stack with --stage <stage> (or --aws with table and queue names). send
posts to the local stack by default, and to a deployed stack's API with --url <its URL>.
Run \`npm run cli -- <command> --help\` for a command's options.
`;
