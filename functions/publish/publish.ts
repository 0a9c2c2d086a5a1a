import { type JobStreamRecord, jobChangeAt } from '#adapters/job-stream-records';
import { errorLogLine } from '#core/errors';
import { type JobChange, jobEventSource } from '#core/job-changes';

/**
 * Publishing a batch of the jobs table's stream records to the job events bus, pure but for the
 * {@link EventBus} port: which events, in which calls, and which record to report when a call or
 * an entry fails. The handler (`app.ts`) wraps it; the AWS adapter is `#adapters/event-bus`.
 */

/** One job event as EventBridge `PutEvents` takes it (a `PutEventsRequestEntry`). */
export interface JobEventEntry {
  Source: string;
  DetailType: string;
  Time: Date;
  /** The event's `detail`, as JSON text. */
  Detail: string;
  EventBusName: string;
}

/** What `PutEvents` answers: one result per entry, in the entries' order. */
export interface PutEventsResult {
  FailedEntryCount?: number;
  Entries?: ReadonlyArray<{ EventId?: string; ErrorCode?: string; ErrorMessage?: string }>;
}

/**
 * The port to EventBridge: one `PutEvents` call with at most {@link maxEntriesPerPut} entries.
 * Rejects when the call fails as a whole; an entry EventBridge refused is in the result.
 */
export interface EventBus {
  putEvents(entries: readonly JobEventEntry[]): Promise<PutEventsResult>;
}

/** The most entries one `PutEvents` call takes (EventBridge's limit). */
export const maxEntriesPerPut = 10;

/** The `PutEvents` entry of a job event (`functions/core/job-changes.ts`) on the bus `busName`. */
export function jobEventEntry(change: JobChange, busName: string): JobEventEntry {
  return {
    Source: jobEventSource,
    DetailType: change.detailType,
    Time: new Date(change.time),
    Detail: JSON.stringify(change.detail),
    EventBusName: busName,
  };
}

/** The first record of a batch that was not done: the stream is read again from it. */
export interface PublishFailure {
  /** Its position in the batch, from 0. */
  index: number;
  /** Its `dynamodb.SequenceNumber`: the item identifier of a DynamoDB stream batch item failure. */
  sequenceNumber: string | undefined;
  /** Why it was not done. */
  reason: 'unreadable record' | 'PutEvents failed' | 'entry refused';
  /** The error, for the log: it names no job field (an unreadable record's position, an AWS error). */
  error: string;
  /** `detail.changeId` of its job event, when it has one that was not published. */
  changeId?: string;
}

/** What {@link publishJobChanges} did with a batch. */
export interface PublishResult {
  /** Job events the records gave, up to the first record that could not be read. */
  changes: number;
  /** Of those, the ones published, in order, before the first that was not. */
  published: number;
  /** `PutEvents` calls made. */
  calls: number;
  /** The first record not done; absent when the whole batch is. */
  failure?: PublishFailure;
}

/**
 * Publishes the job events of a batch of stream records (`jobChangeAt` on each, in order) to the
 * bus `busName`, one call after the other, so each job's events leave in the order of its writes:
 * at most {@link maxEntriesPerPut} entries a call, and never two of one job ({@link putsOf}).
 *
 * It stops at the first thing that fails and reports the first record not done, from which the
 * event source mapping reads the batch again (records before it are done):
 * - a call that fails, or an entry EventBridge refused (`FailedEntryCount` > 0, an entry with an
 *   `ErrorCode`): the record of the first event not published. Later entries of the same call may
 *   have been accepted; they are published again, as at-least-once delivery allows;
 * - a record it cannot read: that record, once every event before it is published. Nothing after
 *   it is read or published.
 * A batch that gives no event makes no call.
 */
export async function publishJobChanges(
  records: readonly JobStreamRecord[],
  bus: EventBus,
  busName: string,
): Promise<PublishResult> {
  const changes: Array<{ index: number; change: JobChange }> = [];
  let unreadable: PublishFailure | undefined;
  for (let index = 0; index < records.length; index++) {
    try {
      const change = jobChangeAt(records, index);
      if (change) changes.push({ index, change });
    } catch (error) {
      unreadable = failureOf(records, index, 'unreadable record', errorLogLine(error));
      break;
    }
  }

  let published = 0;
  let calls = 0;
  const stopped = (failure: PublishFailure): PublishResult => ({
    changes: changes.length,
    published,
    calls,
    failure,
  });
  for (const chunk of putsOf(changes)) {
    calls += 1;
    let result: PutEventsResult;
    try {
      result = await bus.putEvents(chunk.map(({ change }) => jobEventEntry(change, busName)));
    } catch (error) {
      return stopped(failureOfChange(records, chunk, 0, 'PutEvents failed', errorLogLine(error)));
    }
    const refused = firstRefused(result, chunk.length);
    if (refused !== undefined) {
      published += refused;
      return stopped(failureOfChange(records, chunk, refused, 'entry refused', refusal(result, refused)));
    }
    published += chunk.length;
  }
  return { changes: changes.length, published, calls, ...(unreadable ? { failure: unreadable } : {}) };
}

/**
 * The changes in calls, in order: at most {@link maxEntriesPerPut} a call, and a call ends before a
 * second change of the same job. `PutEvents` is not atomic: when it refuses an entry, it may accept
 * later ones of the same call. With one change per job a call, a job's later change is never
 * accepted while an earlier one is still to be retried; other jobs' events are only put again.
 */
export function putsOf<T extends { change: JobChange }>(changes: readonly T[]): T[][] {
  const puts: T[][] = [];
  let current: T[] = [];
  let jobs = new Set<string>();
  for (const item of changes) {
    const job = `${item.change.detail.provider}#${item.change.detail.jobId}`;
    if (current.length === maxEntriesPerPut || jobs.has(job)) {
      puts.push(current);
      current = [];
      jobs = new Set();
    }
    current.push(item);
    jobs.add(job);
  }
  if (current.length > 0) puts.push(current);
  return puts;
}

/**
 * The position of the first entry EventBridge refused, or `undefined` when it took them all: the
 * first with an `ErrorCode`; failing that, when `FailedEntryCount` says some failed, the first
 * without an `EventId` (or the first of all).
 */
function firstRefused(result: PutEventsResult, count: number): number | undefined {
  const entries = result.Entries ?? [];
  const coded = entries.findIndex((entry) => typeof entry?.ErrorCode === 'string' && entry.ErrorCode !== '');
  if (coded !== -1) return Math.min(coded, count - 1);
  if (!((result.FailedEntryCount ?? 0) > 0)) return undefined;
  for (let i = 0; i < count; i++) if (!entries[i]?.EventId) return i;
  return 0;
}

/** An entry's `ErrorCode: ErrorMessage`, quoted text left out as in every logged error. */
function refusal(result: PutEventsResult, position: number): string {
  const entry = result.Entries?.[position];
  if (!entry?.ErrorCode)
    return `FailedEntryCount ${result.FailedEntryCount ?? 0}, entry ${position + 1} unnamed`;
  const error = new Error(entry.ErrorMessage ?? '');
  error.name = entry.ErrorCode;
  return errorLogLine(error);
}

function failureOfChange(
  records: readonly JobStreamRecord[],
  chunk: ReadonlyArray<{ index: number; change: JobChange }>,
  position: number,
  reason: PublishFailure['reason'],
  error: string,
): PublishFailure {
  const { index, change } = chunk[position] as { index: number; change: JobChange };
  return { ...failureOf(records, index, reason, error), changeId: change.detail.changeId };
}

function failureOf(
  records: readonly JobStreamRecord[],
  index: number,
  reason: PublishFailure['reason'],
  error: string,
): PublishFailure {
  const sequence = (records[index] as Partial<JobStreamRecord> | null | undefined)?.dynamodb?.SequenceNumber;
  return {
    index,
    sequenceNumber: typeof sequence === 'string' && sequence !== '' ? sequence : undefined,
    reason,
    error,
  };
}
