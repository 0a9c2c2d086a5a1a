import { createHash } from 'node:crypto';
import { appendFile, rename, stat } from 'node:fs/promises';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { type JobStreamRecord, jobChangeAt, jobChangesOf } from '#adapters/job-stream-records';
import { errorLogLine } from '#core/errors';
import { type JobChange, type JobChangeDetail, type JobChangeType, jobEventSource } from '#core/job-changes';
import type { Logger } from '#core/ports';
import { escapeTerminalActive } from '#core/text';
import { readJobStream } from './job-stream.ts';
import { localRegion } from './names.ts';
import { sleep } from './sleep.ts';

/**
 * Job change events without AWS: what `npm start` publishes and `cli watch` prints. Both read the
 * jobs table's stream (local/job-stream.ts) and turn each batch into changes with `jobChangesOf`,
 * as the deployed publish function does, then wrap each change in the envelope EventBridge gives
 * it on the bus ({@link jobEvent}). The runner's publisher writes each event to its log, to
 * `<data dir>/job-events.jsonl` and, when asked, POSTs it to a URL ({@link JobEventForwarder}).
 * Nothing here is called by ingest or the consumer: it reads what they committed.
 */

/** A job change event as a rule's target receives it from the bus (docs/events.md, "The event"). */
export interface JobEvent {
  version: '0';
  /** EventBridge's id of the event; locally {@link jobEventId} of the change. */
  id: string;
  'detail-type': JobChangeType;
  source: typeof jobEventSource;
  /** The AWS account of the bus; `000000000000` locally. */
  account: string;
  /** ISO 8601 UTC to the second, as EventBridge writes it: `detail.changedAt` without its fraction. */
  time: string;
  region: string;
  resources: [];
  detail: JobChangeDetail;
}

/** Where events say they come from: the account and region of the bus (`account`, `region`). */
export interface JobEventOrigin {
  account: string;
  region: string;
}

/** The local stack's: DynamoDB Local's account, the local region. */
export const localOrigin: JobEventOrigin = { account: '000000000000', region: localRegion };

/**
 * The account and region of a deployed table's stream, read from its ARN
 * (`arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>`), or `undefined` for another
 * form.
 */
export function streamOrigin(streamArn: string): JobEventOrigin | undefined {
  const [arn, , service, region, account] = streamArn.split(':');
  if (arn !== 'arn' || service !== 'dynamodb' || !region || !account) return undefined;
  return { account, region };
}

/**
 * A UUID named by the change (`detail.changeId`, SHA-1 as RFC 9562's version 5, in a namespace of
 * this product's): the same change gets the same id in the log, the file, a forward and `watch`,
 * which read the stream separately. EventBridge instead gives every event it receives an id of its
 * own; subscribers dedupe on `changeId` either way.
 */
export function jobEventId(changeId: string): string {
  const hash = createHash('sha1').update(namespace).update(changeId, 'utf8').digest();
  hash[6] = ((hash[6] as number) & 0x0f) | 0x50;
  hash[8] = ((hash[8] as number) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The namespace of {@link jobEventId}: a random UUID, this product's; never to change. */
const namespace = Buffer.from('4c75997f74ad4f7e86d35f45982bb717', 'hex');

/** The whole event for one change, as the bus delivers it. */
export function jobEvent(change: JobChange, origin: JobEventOrigin): JobEvent {
  const ms = Date.parse(change.time);
  return {
    version: '0',
    id: jobEventId(change.detail.changeId),
    'detail-type': change.detailType,
    source: jobEventSource,
    account: origin.account,
    time: Number.isNaN(ms) ? change.time : `${new Date(ms).toISOString().slice(0, 19)}Z`,
    region: origin.region,
    resources: [],
    detail: change.detail,
  };
}

/**
 * One line of JSON for an event (no newline): the exact values, with the characters a terminal
 * acts on that `JSON.stringify` leaves raw (DEL, C1, line and bidirectional marks) written as
 * `\uXXXX`, which parse back to the same characters. So `tail -f` on the file, or `watch --json`,
 * shows what a provider sent without acting on it.
 */
export function jobEventJson(event: JobEvent): string {
  return escapeTerminalActive(JSON.stringify(event));
}

/**
 * The job events of a batch of stream records (`jobChangesOf`), in stream order, each wrapped for
 * `origin`. A record that cannot be read is passed to `onUnreadable` (a `LoggableError` naming its
 * position and sequence number, never its values) and skipped, as the publish function does: it
 * will never be readable, and must not hold back the others.
 */
export function jobEventsOf(
  records: readonly JobStreamRecord[],
  origin: JobEventOrigin,
  onUnreadable: (error: unknown) => void,
): JobEvent[] {
  let changes: JobChange[];
  try {
    changes = jobChangesOf(records);
  } catch {
    changes = records.flatMap((_, index) => {
      try {
        const change = jobChangeAt(records, index);
        return change ? [change] : [];
      } catch (error) {
        onUnreadable(error);
        return [];
      }
    });
  }
  return changes.map((change) => jobEvent(change, origin));
}

// ---------------------------------------------------------------------------------------------
// Forwarding to a URL
// ---------------------------------------------------------------------------------------------

export interface ForwardOptions {
  /** Tries in all, the first included; 4 unless given. */
  attempts?: number;
  /** Milliseconds before the first retry, doubled before each next one; 250 unless given. */
  backoffMs?: number;
  /** Milliseconds one POST may take, answer included; 5000 unless given. */
  timeoutMs?: number;
  /** Stops waiting and retrying: the event then counts as not forwarded. */
  signal?: AbortSignal;
}

/**
 * How a forward ended: `reason` names an HTTP status or a network error code, never the URL (a
 * redirect's names the origin of its `Location`).
 */
export type ForwardResult =
  | { ok: true; attempts: number; status: number }
  | { ok: false; attempts: number; reason: string };

/**
 * POSTs one event as JSON (`content-type: application/json`, the body {@link jobEventJson}) to
 * `url`, retrying a network error, a timeout, 408, 429 and any 5xx with backoff (250 ms, 500 ms,
 * 1 s by default); another answer that is not 2xx is final, since sending it again would not change it.
 * A redirect (3xx) is not followed, since following a 301 or 302 turns the POST into a GET without
 * the event: it is final too, its reason naming the status and the origin of its `Location` only.
 */
export async function forwardJobEvent(
  url: string,
  event: JobEvent,
  options: ForwardOptions = {},
): Promise<ForwardResult> {
  const attempts = options.attempts ?? 4;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const body = jobEventJson(event);
  let backoff = options.backoffMs ?? 250;
  let reason = 'not sent';
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    if (options.signal?.aborted) return { ok: false, attempts: attempt - 1, reason: 'stopped' };
    try {
      const timeout = AbortSignal.timeout(timeoutMs);
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        redirect: 'manual',
        signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout,
      });
      await response.body?.cancel();
      if (response.ok) return { ok: true, attempts: attempt, status: response.status };
      if (response.status >= 300 && response.status < 400)
        return { ok: false, attempts: attempt, reason: redirectReason(response, url) };
      reason = `HTTP ${response.status}`;
      if (!retryable(response.status)) return { ok: false, attempts: attempt, reason };
    } catch (error) {
      if (options.signal?.aborted) return { ok: false, attempts: attempt, reason: 'stopped' };
      reason = networkReason(error, timeoutMs);
    }
    if (attempt < attempts) {
      await sleep(backoff, options.signal);
      backoff *= 2;
    }
  }
  return { ok: false, attempts, reason };
}

/**
 * `HTTP 302 redirect to https://example.com`: the origin the `Location` names (resolved against the
 * URL posted to), without its path or query, which may carry a token.
 */
function redirectReason(response: Response, url: string): string {
  const location = response.headers.get('location');
  if (location === null) return `HTTP ${response.status} redirect without a Location`;
  let origin: string;
  try {
    origin = new URL(location, url).origin;
  } catch {
    origin = 'null';
  }
  return `HTTP ${response.status} redirect ${origin === 'null' ? 'to an unreadable Location' : `to ${origin}`}`;
}

const retryable = (status: number) => status === 408 || status === 429 || status >= 500;

/** `ECONNREFUSED`, `timeout after 5000 ms`, …: fetch's cause, without its message (which may name the host). */
function networkReason(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && error.name === 'TimeoutError') return `timeout after ${timeoutMs} ms`;
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  return error instanceof Error ? error.name : typeof error;
}

/** What a forwarder reports about each event it gave up on. */
export type ForwardFailure = (event: JobEvent, result: Extract<ForwardResult, { ok: false }>) => void;

/**
 * POSTs events to one URL one at a time, in the order given ({@link forwardJobEvent} each, with
 * its retries), so a subscriber gets each job's events in `sequence` order. It runs beside its
 * caller: `push` returns at once, and a slow or failing URL holds back only the forwards. An event
 * that fails every try is reported to `onFailure` and dropped; so is one pushed while `maxPending`
 * (1000) wait.
 */
export class JobEventForwarder {
  private readonly pending: JobEvent[] = [];
  private readonly controller = new AbortController();
  private running: Promise<void> | undefined;
  /** Events POSTed and answered 2xx. */
  forwarded = 0;
  /** Events given up on (every failure, the queue full, or stopped before their turn). */
  dropped = 0;

  constructor(
    private readonly url: string,
    private readonly onFailure: ForwardFailure,
    private readonly options: ForwardOptions & { maxPending?: number } = {},
  ) {}

  /** Queues an event to be forwarded after those before it. */
  push(event: JobEvent): void {
    if (this.controller.signal.aborted) return;
    if (this.pending.length >= (this.options.maxPending ?? 1000)) {
      this.dropped += 1;
      this.onFailure(event, { ok: false, attempts: 0, reason: 'too many events waiting' });
      return;
    }
    this.pending.push(event);
    this.running ??= this.run();
  }

  /** Resolves once every event pushed so far has been forwarded or given up on. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /**
   * Waits up to `graceMs` for the events queued to be forwarded, then stops: a forward in flight is
   * cut short, and it and what still waits are dropped without a report each. Resolves with how
   * many were dropped this way.
   */
  async stop(graceMs: number): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    this.controller.abort();
    await this.idle();
    const left = this.pending.length;
    this.pending.length = 0;
    this.dropped += left;
    return left;
  }

  private async run(): Promise<void> {
    try {
      for (let event = this.pending.at(0); event !== undefined; event = this.pending.at(0)) {
        const result = await forwardJobEvent(this.url, event, {
          ...this.options,
          signal: this.controller.signal,
        });
        // Stopped: `stop` counts it with the others left.
        if (!result.ok && this.controller.signal.aborted) return;
        this.pending.shift();
        if (result.ok) this.forwarded += 1;
        else {
          this.dropped += 1;
          this.onFailure(event, result);
        }
      }
    } finally {
      // In the same step as the last check of `pending`: a `push` after it starts a new run.
      this.running = undefined;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The event file
// ---------------------------------------------------------------------------------------------

/** The event file's name in the data directory; the one before it is `job-events.jsonl.1`. */
export const jobEventsFileName = 'job-events.jsonl';

/**
 * `<data dir>/job-events.jsonl`: one event a line ({@link jobEventJson}), appended as published.
 * Capped: once it holds `maxBytes` (10 MiB unless given), it is renamed `job-events.jsonl.1`
 * (replacing the one before) and a new file started, so the two hold at most about twice that. The
 * file holds personal data (the `job` of each event): readable by its owner only.
 */
export class JobEventFile {
  private size: number | undefined;

  constructor(
    readonly path: string,
    private readonly maxBytes = 10 * 1024 * 1024,
  ) {}

  /** Appends the events, in order, in one write. */
  async append(events: readonly JobEvent[]): Promise<void> {
    if (events.length === 0) return;
    const text = events.map((event) => `${jobEventJson(event)}\n`).join('');
    const bytes = Buffer.byteLength(text);
    this.size ??= await stat(this.path).then(
      (s) => s.size,
      () => 0,
    );
    if (this.size > 0 && this.size + bytes > this.maxBytes) {
      // Gone already (deleted by hand while the runner ran): a new file starts all the same.
      await rename(this.path, `${this.path}.1`).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
      this.size = 0;
    }
    await appendFile(this.path, text, { mode: 0o600 });
    this.size += bytes;
  }
}

// ---------------------------------------------------------------------------------------------
// The runner's publisher
// ---------------------------------------------------------------------------------------------

export interface JobPublisherOptions {
  client: DynamoDBStreamsClient;
  /** The local jobs table's stream (`jobStreamArn`). */
  streamArn: string;
  file: JobEventFile;
  /** POST each event here too (`--forward-job-events`, `JOB_EVENTS_FORWARD_URL`). */
  forwardUrl?: string;
  forward?: ForwardOptions;
  /** One line per change, and what goes wrong; never a job's fields. */
  logger: Logger;
  /** Milliseconds between reads of the stream while it has nothing new; 250 unless given. */
  pollMs?: number;
}

export interface JobPublisher {
  /**
   * Resolves `true` once the reader holds its place in the stream (a change committed after that is
   * published), `false` if reading failed first (it is retried; the log says why).
   */
  ready: Promise<boolean>;
  /**
   * Publishes what the stream still holds (up to about 3 s: reading it, then forwarding it), then
   * stops reading and forwarding. Call it after the consumer has stopped and before DynamoDB Local.
   */
  stop(): Promise<void>;
  /**
   * `published=3 (one per change to a job) forwarded=3`: counts for the runner's
   * exit line (`not forwarded=…`, `unreadable=…` when any).
   */
  summary(): string;
}

/**
 * Starts publishing the local jobs table's changes, from the latest (a restart does not publish
 * the changes of before again, nor those made while it was stopped), on a loop of its own: it reads
 * what the consumer committed and never holds it up. Each change, in stream order: a `job change`
 * log line (provider, job id, sequence, detail-type, status), a line of the event file, then a
 * forward. A read that fails is logged and tried again after a second, from the latest change
 * (what was committed in between is not published, and the log says so).
 */
export function startJobPublisher(options: JobPublisherOptions): JobPublisher {
  const { logger, file } = options;
  const pollMs = options.pollMs ?? 250;
  const controller = new AbortController();
  const counts = { published: 0, unreadable: 0 };
  const forwarder =
    options.forwardUrl === undefined
      ? undefined
      : new JobEventForwarder(
          options.forwardUrl,
          (event, result) =>
            logger.warn('job event not forwarded', {
              ...identity(event),
              attempts: result.attempts,
              reason: result.reason,
            }),
          options.forward,
        );
  let lastActivity = Date.now();
  let settle: (ready: boolean) => void = () => {};
  const ready = new Promise<boolean>((resolve) => {
    settle = resolve;
  });

  const publish = async (records: readonly JobStreamRecord[]) => {
    const events = jobEventsOf(records, localOrigin, (error) => {
      counts.unreadable += 1;
      logger.error('job change not published', { error: errorLogLine(error) });
    });
    for (const event of events) {
      logger.info('job change', { ...identity(event), status: event.detail.status ?? undefined });
    }
    try {
      await file.append(events);
    } catch (error) {
      logger.error('job events not written to the file', {
        events: events.length,
        error: errorLogLine(error),
      });
    }
    for (const event of events) forwarder?.push(event);
    counts.published += events.length;
  };

  const loop = (async () => {
    let restarted = false;
    while (!controller.signal.aborted) {
      try {
        for await (const records of readJobStream({
          client: options.client,
          streamArn: options.streamArn,
          from: 'LATEST',
          signal: controller.signal,
          pollMs,
          onReady: () => {
            settle(true);
            if (restarted) logger.warn('reading the jobs stream again, from its latest change');
          },
        })) {
          lastActivity = Date.now();
          await publish(records);
        }
      } catch (error) {
        logger.error('reading the jobs stream failed: changes until it is read again are not published', {
          error: errorLogLine(error),
        });
        settle(false);
        restarted = true;
        await sleep(1_000, controller.signal);
      }
    }
    settle(false);
  })();

  return {
    ready,
    stop: async () => {
      const deadline = Date.now() + 3_000;
      // What the consumer committed while draining reaches the stream's reader within a poll or
      // two: read until the stream has been quiet that long.
      lastActivity = Math.max(lastActivity, Date.now());
      while (Date.now() < deadline && Date.now() - lastActivity < 2 * pollMs + 100) await sleep(50);
      controller.abort();
      await loop;
      const left = (await forwarder?.stop(Math.max(0, deadline - Date.now()))) ?? 0;
      if (left > 0) logger.warn('job events not forwarded: stopped before their turn', { events: left });
    },
    summary: () =>
      [
        // Not the consumer's `applied`: a stale event's fill is a change too, and a replay it
        // records as applied changes no job.
        `published=${counts.published} (one per change to a job)`,
        ...(forwarder ? [`forwarded=${forwarder.forwarded}`] : []),
        ...(forwarder?.dropped ? [`not forwarded=${forwarder.dropped}`] : []),
        ...(counts.unreadable ? [`unreadable=${counts.unreadable}`] : []),
      ].join(' '),
  };
}

/** What a log line says about an event: which change it is, nothing the provider sent about the job. */
function identity(event: JobEvent) {
  const { provider, jobId, sequence } = event.detail;
  return { provider, jobId, sequence, detailType: event['detail-type'] };
}
