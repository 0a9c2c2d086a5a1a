import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { JobStreamRecord } from '#adapters/job-stream-records';
import type { JobChangeType } from '#core/job-changes';
import { providers } from '#providers/index';
import { httpUrlProblem } from '../local/args.ts';
import {
  type JobEvent,
  JobEventForwarder,
  type JobEventOrigin,
  jobEventJson,
  jobEventsOf,
  localOrigin,
  streamOrigin,
} from '../local/job-publisher.ts';
import { jobStreamArn, readJobStream } from '../local/job-stream.ts';
import { flag, list, str, UsageError, type Values } from './args.ts';
import type { CommandContext, Io } from './commands.ts';
import { quote, utcTime, visible } from './format.ts';
import { resolveTarget, type Target } from './target.ts';

/**
 * `cli watch`: job change events live, read from the jobs table's stream (locally DynamoDB Local's,
 * deployed the stage's) from the latest change, and turned into events as the publisher does
 * (`jobEventsOf`, local/job-publisher.ts). It reads the stream itself, so it shows the same events
 * whether or not `npm start` publishes them, and works against a deployed stage.
 */

/** The detail-types `--type` takes. */
export const detailTypes: readonly JobChangeType[] = ['Job Created', 'Job Status Changed', 'Job Updated'];

/** Which events `watch` shows: each list empty for any, else the event's value must be one of it. */
export interface WatchFilters {
  providers: string[];
  accounts: string[];
  /** The job's status after the change (`detail.status`). */
  statuses: string[];
  types: JobChangeType[];
}

/** Spelling aside: `job-status-changed` and `JobStatusChanged` are `Job Status Changed`. */
const typeKey = (text: string) => text.toLowerCase().replace(/[\s_-]/g, '');

/**
 * The filters of `--provider`, `--account`, `--status` and `--type`, each repeatable.
 *
 * @throws UsageError for a provider the registry does not have, or a detail-type that is not one.
 */
export function watchFilters(values: Values): WatchFilters {
  const names = [...providers.keys()];
  const given = list(values, 'provider');
  for (const name of given) {
    if (!names.includes(name))
      throw new UsageError(`--provider must be one of ${names.join(', ')} (got ${quote(name)})`);
  }
  const types = list(values, 'type').map((text) => {
    const type = detailTypes.find((t) => typeKey(t) === typeKey(text));
    if (!type) {
      throw new UsageError(
        `--type must be a detail-type: ${detailTypes.map((t) => `"${t}"`).join(', ')} (got ${quote(text)})`,
      );
    }
    return type;
  });
  return { providers: given, accounts: list(values, 'account'), statuses: list(values, 'status'), types };
}

/** True when `event` passes every filter (each by exact value, case included). */
export function matches(event: JobEvent, filters: WatchFilters): boolean {
  const { detail } = event;
  const passes = (allowed: readonly string[], value: string | null) =>
    allowed.length === 0 || (value !== null && allowed.includes(value));
  return (
    passes(filters.providers, detail.provider) &&
    passes(filters.accounts, detail.accountId) &&
    passes(filters.statuses, detail.status) &&
    passes(filters.types, event['detail-type'])
  );
}

/**
 * A value in a line: as it is when it is one plain word, else in double quotes (`quote`), so a
 * status or id holding spaces or an arrow cannot pass for another column. Either way escaped
 * (`visible`): nothing a provider sent acts on the terminal.
 */
function word(value: string): string {
  return value !== '' && /^[^\s"\\→]+$/u.test(value) && visible(value) === value ? value : quote(value);
}

/**
 * One line (with its newline) for an event:
 * `2026-06-17 14:38:57.120 UTC  cooledge  5c1a0e74-…  #2  Job Status Changed  scheduled → completed  changed: completedAt, status`.
 * The time is when the change was written (`detail.changedAt`); `(new)` stands before the status of
 * a created job, `(none)` for a status the job does not have. A change a stale event made (it filled
 * fields the job lacked) ends with `late: <event type>`.
 */
export function watchLine(event: JobEvent): string {
  const { detail } = event;
  const status = (value: string | null) => (value === null ? '(none)' : word(value));
  const before = event['detail-type'] === 'Job Created' ? '(new)' : status(detail.previousStatus);
  const changed = detail.changedFields.length === 0 ? '(none)' : detail.changedFields.map(word).join(', ');
  return `${[
    utcTime(detail.changedAt) ?? word(detail.changedAt),
    word(detail.provider),
    word(detail.jobId),
    `#${detail.sequence}`,
    visible(event['detail-type']),
    `${before} → ${status(detail.status)}`,
    `changed: ${changed}`,
    ...(detail.cause.outcome === 'stale' ? [`late: ${word(detail.cause.eventType)}`] : []),
  ].join('  ')}\n`;
}

export interface WatchStreamOptions {
  /** Batches of the jobs table's stream records, in stream order (`readJobStream`). */
  batches: AsyncIterable<readonly JobStreamRecord[]>;
  origin: JobEventOrigin;
  filters: WatchFilters;
  /** Each event as one line of exact JSON instead of a line for a person. */
  json: boolean;
  /** POSTs each event shown, in order. */
  forwarder?: JobEventForwarder;
  io: Io;
}

/**
 * Prints (and forwards) the matching events of each batch as it comes, until the batches end.
 * Resolves with how many were shown. A record that cannot be read is named on stderr and skipped.
 */
export async function watchStream(options: WatchStreamOptions): Promise<number> {
  const { io } = options;
  let shown = 0;
  for await (const records of options.batches) {
    const events = jobEventsOf(records, options.origin, (error) =>
      io.err(`warning: ${visible((error as Error).message)}: not shown\n`),
    );
    for (const event of events) {
      if (!matches(event, options.filters)) continue;
      io.out(options.json ? `${jobEventJson(event)}\n` : watchLine(event));
      options.forwarder?.push(event);
      shown += 1;
    }
  }
  return shown;
}

/**
 * A DynamoDB and a DynamoDB Streams client where `target`'s document client goes: its region,
 * credentials and endpoint when one was given (DynamoDB Local serves both APIs on one endpoint;
 * on AWS the streams client finds its own).
 */
function streamClients(target: Target): { dynamo: DynamoDBClient; streams: DynamoDBStreamsClient } {
  const config = target.doc.config;
  const common = {
    region: config.region,
    credentials: config.credentials,
    ...(config.isCustomEndpoint && config.endpoint ? { endpoint: config.endpoint } : {}),
  };
  return { dynamo: new DynamoDBClient(common), streams: new DynamoDBStreamsClient(common) };
}

/**
 * `npm run cli -- watch`: until Ctrl-C (or `control.signal`), then exit 0. A line on stderr says
 * when it is reading (the events from then on are shown) and, at the end, how many it showed.
 */
export async function watch(
  context: CommandContext,
  control: { signal?: AbortSignal } = {},
): Promise<number> {
  const { values, positionals, io } = context;
  if (positionals.length > 0) {
    throw new UsageError(`watch takes no arguments (got ${quote(positionals[0])})`);
  }
  const filters = watchFilters(values);
  const forwardUrl = str(values, 'forward');
  const problem = forwardUrl === undefined ? undefined : httpUrlProblem(forwardUrl);
  if (problem) throw new UsageError(`--forward ${problem}`);
  const target = resolveTarget(values, io.env);
  const tableName = target.jobsTable();

  const controller = new AbortController();
  const stop = () => controller.abort();
  control.signal?.addEventListener('abort', stop, { once: true });
  // Ctrl-C stops reading; a second one (the terminal's, relayed by tsx) changes nothing.
  const signals = control.signal ? [] : (['SIGINT', 'SIGTERM'] as const);
  for (const signal of signals) process.on(signal, stop);
  const { dynamo, streams } = streamClients(target);
  const forwarder =
    forwardUrl === undefined
      ? undefined
      : new JobEventForwarder(forwardUrl, (event, result) =>
          io.err(
            `warning: ${word(event.detail.changeId)} not forwarded (${visible(result.reason)}, ${result.attempts} ${result.attempts === 1 ? 'try' : 'tries'})\n`,
          ),
        );
  try {
    const streamArn = await jobStreamArn(dynamo, tableName);
    const origin = target.kind === 'local' ? localOrigin : (streamOrigin(streamArn) ?? localOrigin);
    const shown = await watchStream({
      batches: readJobStream({
        client: streams,
        streamArn,
        from: 'LATEST',
        signal: controller.signal,
        pollMs: target.kind === 'local' ? 250 : 1000,
        onReady: () =>
          io.err(
            `watching job changes of ${visible(tableName)} on ${visible(target.description)}, from now on (Ctrl-C stops)\n`,
          ),
      }),
      origin,
      filters,
      json: flag(values, 'json'),
      ...(forwarder ? { forwarder } : {}),
      io,
    });
    const left = (await forwarder?.stop(2_000)) ?? 0;
    const forwarded = forwarder
      ? `, ${forwarder.forwarded} forwarded${left > 0 ? ` (${left} still waiting were not)` : ''}`
      : '';
    io.err(`stopped: ${shown} job ${shown === 1 ? 'change' : 'changes'} shown${forwarded}\n`);
    return 0;
  } finally {
    // After a signal the handlers stay: the CLI exits next, and a Ctrl-C relayed by tsx after this
    // must not end it by the signal (exit 130) first.
    if (!controller.signal.aborted) for (const signal of signals) process.off(signal, stop);
    control.signal?.removeEventListener('abort', stop);
    controller.abort();
    await forwarder?.stop(0);
    dynamo.destroy();
    streams.destroy();
    target.close();
  }
}
