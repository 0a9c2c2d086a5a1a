import { type JobStreamRecord, jobChangeAt } from '#adapters/job-stream-records';
import { errorLogLine } from '#core/errors';
import { type JobChange, jobEventSource } from '#core/job-changes';

/**
 * Publishing a batch of the jobs table's stream records to the job events bus, pure but for the
 * {@link EventBus} port: which events, in which calls, which records to skip as never publishable,
 * and which record to report when a call or an entry fails. The handler (`app.ts`) wraps it; the
 * AWS adapter is `#adapters/event-bus`.
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

/**
 * The most bytes the entries of one `PutEvents` call may total, by {@link entrySize} (EventBridge's
 * limit: 256 KB).
 */
export const maxBytesPerPut = 256 * 1024;

/**
 * An entry's size as EventBridge counts it against {@link maxBytesPerPut} (EventBridge User Guide,
 * "Calculating PutEvents event entry size"): the UTF-8 bytes of `Source`, `DetailType` and
 * `Detail`, 14 bytes for `Time`, and those of each of `Resources` (a job event has none).
 * `EventBusName` does not count.
 */
export function entrySize(entry: JobEventEntry): number {
  return (
    (entry.Time === undefined ? 0 : 14) +
    Buffer.byteLength(entry.Source, 'utf8') +
    Buffer.byteLength(entry.DetailType, 'utf8') +
    Buffer.byteLength(entry.Detail, 'utf8')
  );
}

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
  reason: 'PutEvents failed' | 'entry refused';
  /** The error, for the log: it names no job field (an AWS error). */
  error: string;
  /** `detail.changeId` of its job event, when it has one that was not published. */
  changeId?: string;
}

/**
 * A record of a batch that is never published, and skipped: it could never be, so retrying it
 * (and holding back the records after it) would only send it, and them, to the DLQ.
 */
export interface PublishSkip {
  /** Its position in the batch, from 0. */
  index: number;
  /** Its `dynamodb.SequenceNumber`, when it has one. */
  sequenceNumber: string | undefined;
  /**
   * Why: a record that cannot be read (not a stream record of the jobs table, or a job item that
   * `jobChange` refuses), or a job event larger than one `PutEvents` call takes.
   */
  reason: 'unreadable record' | 'entry too large';
  /** The error, for the log: it names no job field (the record's position, the entry's size). */
  error: string;
  /** `detail.changeId` of its job event, when it has one. */
  changeId?: string;
}

/** What {@link publishJobChanges} did with a batch. */
export interface PublishResult {
  /** Job events the records gave (the records skipped as unreadable give none). */
  changes: number;
  /** Of those, the ones published, in order, before the first that failed (none skipped). */
  published: number;
  /** `PutEvents` calls made. */
  calls: number;
  /** The first record not done; absent when the whole batch is. */
  failure?: PublishFailure;
  /** The records skipped, in order, up to where it stopped; absent when none was. */
  skipped?: PublishSkip[];
}

/**
 * Publishes the job events of a batch of stream records (`jobChangeAt` on each, in order) to the
 * bus `busName`, one call after the other, so each job's events leave in the order of its writes:
 * at most {@link maxEntriesPerPut} entries and {@link maxBytesPerPut} bytes a call, and never two
 * of one job ({@link putsOf}).
 *
 * A record that can never be published is skipped and reported in `skipped`, for the log: one it
 * cannot read, or one whose event alone is larger than a call takes. Either would fail the same
 * way on every retry, and hold back the records after it, other jobs' included, until the event
 * source mapping sent them all to the DLQ.
 *
 * It stops at the first call that fails, or the first entry EventBridge refused
 * (`FailedEntryCount` > 0, an entry with an `ErrorCode`), and reports the record of the first event
 * not published, from which the event source mapping reads the batch again (records before it are
 * done). Later entries of the same call may have been accepted; they are published again, as
 * at-least-once delivery allows. A batch that gives no event makes no call.
 */
export async function publishJobChanges(
  records: readonly JobStreamRecord[],
  bus: EventBus,
  busName: string,
): Promise<PublishResult> {
  const changes: PutItem[] = [];
  const skipped: PublishSkip[] = [];
  let readable = 0;
  for (let index = 0; index < records.length; index++) {
    let change: JobChange | undefined;
    try {
      change = jobChangeAt(records, index);
    } catch (error) {
      skipped.push(skipOf(records, index, 'unreadable record', errorLogLine(error)));
      continue;
    }
    if (!change) continue;
    readable += 1;
    const entry = jobEventEntry(change, busName);
    const size = entrySize(entry);
    if (size > maxBytesPerPut) {
      skipped.push({
        ...skipOf(
          records,
          index,
          'entry too large',
          `its entry is ${size} bytes; a PutEvents call takes ${maxBytesPerPut}`,
        ),
        changeId: change.detail.changeId,
      });
      continue;
    }
    changes.push({ index, change, entry, size });
  }

  let published = 0;
  let calls = 0;
  const done = (failure?: PublishFailure): PublishResult => ({
    changes: readable,
    published,
    calls,
    ...(failure ? { failure } : {}),
    // Those after the failure are read again, and reported again, with it.
    ...withSkipped(failure ? skipped.filter((skip) => skip.index < failure.index) : skipped),
  });
  for (const chunk of putsOf(changes)) {
    calls += 1;
    let result: PutEventsResult;
    try {
      result = await bus.putEvents(chunk.map(({ entry }) => entry));
    } catch (error) {
      return done(failureOfChange(records, chunk, 0, 'PutEvents failed', errorLogLine(error)));
    }
    const refused = firstRefused(result, chunk.length);
    if (refused !== undefined) {
      published += refused;
      return done(failureOfChange(records, chunk, refused, 'entry refused', refusal(result, refused)));
    }
    published += chunk.length;
  }
  return done();
}

/** A job event ready to put: the record it came from, and its entry with its {@link entrySize}. */
interface PutItem {
  index: number;
  change: JobChange;
  entry: JobEventEntry;
  size: number;
}

const withSkipped = (skipped: PublishSkip[]) => (skipped.length > 0 ? { skipped } : {});

/**
 * The changes in calls, in order: at most {@link maxEntriesPerPut} a call whose sizes total at most
 * {@link maxBytesPerPut}, and a call ends before a second change of the same job. `PutEvents` is
 * not atomic: when it refuses an entry, it may accept later ones of the same call. With one change
 * per job a call, a job's later change is never accepted while an earlier one is still to be
 * retried; other jobs' events are only put again. A change larger than a call takes gets a call of
 * its own (the caller skips those first: EventBridge would refuse the call).
 */
export function putsOf<T extends { change: JobChange; size: number }>(changes: readonly T[]): T[][] {
  const puts: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  let jobs = new Set<string>();
  for (const item of changes) {
    const job = `${item.change.detail.provider}#${item.change.detail.jobId}`;
    if (
      current.length > 0 &&
      (current.length === maxEntriesPerPut || jobs.has(job) || bytes + item.size > maxBytesPerPut)
    ) {
      puts.push(current);
      current = [];
      bytes = 0;
      jobs = new Set();
    }
    current.push(item);
    bytes += item.size;
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
  chunk: readonly PutItem[],
  position: number,
  reason: PublishFailure['reason'],
  error: string,
): PublishFailure {
  const { index, change } = chunk[position] as PutItem;
  return {
    index,
    sequenceNumber: sequenceOf(records, index),
    reason,
    error,
    changeId: change.detail.changeId,
  };
}

function skipOf(
  records: readonly JobStreamRecord[],
  index: number,
  reason: PublishSkip['reason'],
  error: string,
): PublishSkip {
  return { index, sequenceNumber: sequenceOf(records, index), reason, error };
}

function sequenceOf(records: readonly JobStreamRecord[], index: number): string | undefined {
  const sequence = (records[index] as Partial<JobStreamRecord> | null | undefined)?.dynamodb?.SequenceNumber;
  return typeof sequence === 'string' && sequence !== '' ? sequence : undefined;
}
