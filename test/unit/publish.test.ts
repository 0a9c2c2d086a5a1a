import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type JobStreamRecord, jobChangeAt, jobChangesOf } from '#adapters/job-stream-records';
import { LoggableError } from '#core/errors';
import type { JobChange, JobChangeDetail } from '#core/job-changes';
import type { Item } from '#core/records';
import { createHandler, defaultDeps } from '../../functions/publish/app.ts';
import {
  type EventBus,
  type JobEventEntry,
  maxEntriesPerPut,
  type PutEventsResult,
  publishJobChanges,
} from '../../functions/publish/publish.ts';
import { awsError, RecordingLogger } from '../support/fakes.ts';

/**
 * The publish function (functions/publish): a batch of the jobs table's stream records, as the
 * Lambda event source mapping delivers it, published to the job events bus with `PutEvents`
 * through a fake bus, and the partial batch response that tells the mapping where to retry from.
 */

const busName = 'field-webhooks-test-job-events';

// ---------------------------------------------------------------------------------------------
// Stream records as Lambda delivers them
// ---------------------------------------------------------------------------------------------

/** A job item after `eventCount` applied events, as the consumer writes it. */
function jobItem(jobId: string, eventCount: number, fields: Item = {}): Item {
  return {
    pk: `cooledge#${jobId}`,
    provider: 'cooledge',
    jobId,
    accountId: 'acct-1',
    status: 'scheduled',
    customerName: 'Priya Nair',
    lastEventKey: `evt-${jobId}-${eventCount}`,
    lastEventType: 'job.updated',
    lastEventAt: '2026-06-17T14:00:00.000Z',
    eventCount,
    createdAt: '2026-06-20T00:00:00.000Z',
    updatedAt: `2026-06-20T00:00:${String(eventCount % 60).padStart(2, '0')}.123Z`,
    ...fields,
  };
}

const image = (item: Item) => marshall(item, { removeUndefinedValues: true }) as never;

/** What a record is to the publisher: a change to publish, a write that publishes nothing, or unreadable. */
type Kind = 'change' | 'silent' | 'unreadable';

/**
 * The stream record of one write to `jobId`, its job's `eventCount` after it being `count`; `fields`
 * are the job's after it (a long `notes`, say).
 */
function streamRecord(
  kind: Kind,
  jobId: string,
  count: number,
  sequence: number,
  fields: Item = {},
): DynamoDBRecord {
  const after = jobItem(jobId, count, { status: count % 2 === 0 ? 'completed' : 'scheduled', ...fields });
  const dynamodb =
    kind === 'change'
      ? count === 1
        ? { NewImage: image(after) }
        : { OldImage: image(jobItem(jobId, count - 1)), NewImage: image(after) }
      : kind === 'silent'
        ? // A fill by a version that did not count fills: the job's revision does not move.
          { OldImage: image(jobItem(jobId, count)), NewImage: image(jobItem(jobId, count, { total: 5 })) }
        : // A MODIFY without its old image: not a NEW_AND_OLD_IMAGES stream's record.
          { NewImage: image(after) };
  return {
    eventID: `event-${sequence}`,
    eventName: kind === 'change' && count === 1 ? 'INSERT' : 'MODIFY',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    dynamodb: {
      ApproximateCreationDateTime: 1_781_000_000,
      Keys: image({ pk: `cooledge#${jobId}` }),
      ...dynamodb,
      SequenceNumber: sequenceNumber(sequence),
      SizeBytes: 512,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
    eventSourceARN:
      'arn:aws:dynamodb:us-east-1:123456789012:table/field-webhooks-test-jobs/stream/2026-01-01T00:00:00.000',
  };
}

/** Digits as DynamoDB Streams writes them: longer than a number holds exactly. */
const sequenceNumber = (n: number) => `4${String(n).padStart(20, '0')}`;
const streamEvent = (records: DynamoDBRecord[]): DynamoDBStreamEvent => ({ Records: records });
const asJobRecords = (records: DynamoDBRecord[]) => records as unknown as JobStreamRecord[];

/** `count` changes, each to its own job (so that calls fill up to 10 entries). */
const changesOfDistinctJobs = (count: number, from = 1) =>
  Array.from({ length: count }, (_, i) => streamRecord('change', `job-${from + i}`, 1, from + i));

// ---------------------------------------------------------------------------------------------
// A fake EventBridge
// ---------------------------------------------------------------------------------------------

type Answer = PutEventsResult | Error;

const acceptAll = (entries: readonly JobEventEntry[]): PutEventsResult => ({
  FailedEntryCount: 0,
  Entries: entries.map((_, i) => ({ EventId: `event-id-${i}` })),
});

/** Every entry accepted but the one at `position`, which EventBridge refuses with `code`. */
const refuseAt =
  (position: number, code = 'InternalFailure') =>
  (entries: readonly JobEventEntry[]): PutEventsResult => ({
    FailedEntryCount: 1,
    Entries: entries.map((_, i) =>
      i === position
        ? { ErrorCode: code, ErrorMessage: `Failed for "Priya Nair"` }
        : { EventId: `event-id-${i}` },
    ),
  });

/** Records every call; answers with `answer` (a result, or an error to reject with). */
class FakeBus implements EventBus {
  readonly calls: JobEventEntry[][] = [];
  private inFlight = 0;
  maxInFlight = 0;
  constructor(
    private readonly answer: (call: number, entries: readonly JobEventEntry[]) => Answer = (_, entries) =>
      acceptAll(entries),
  ) {}

  async putEvents(entries: readonly JobEventEntry[]): Promise<PutEventsResult> {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const call = this.calls.push([...entries]) - 1;
    await new Promise((resolve) => setTimeout(resolve, 0));
    this.inFlight -= 1;
    const answer = this.answer(call, entries);
    if (answer instanceof Error) throw answer;
    return answer;
  }

  /** Every entry sent, in the order sent, as its `detail`. */
  sent(): JobChangeDetail[] {
    return this.calls.flat().map((entry) => JSON.parse(entry.Detail) as JobChangeDetail);
  }
}

function publisher(bus: EventBus) {
  const logger = new RecordingLogger();
  return { logger, handler: createHandler({ logger, bus, busName }) };
}

const changeIds = (details: ReadonlyArray<{ changeId: string }>) => details.map((d) => d.changeId);

/**
 * An entry's size as EventBridge counts it (User Guide, "Calculating PutEvents event entry size"):
 * the UTF-8 bytes of Source, DetailType and Detail, 14 for Time, each of Resources' (none here).
 */
const bytes = (text: string) => Buffer.byteLength(text, 'utf8');
const entryBytes = (entry: JobEventEntry) =>
  bytes(entry.Source) + bytes(entry.DetailType) + bytes(entry.Detail) + (entry.Time ? 14 : 0);
const callBytes = (call: readonly JobEventEntry[]) => call.reduce((sum, entry) => sum + entryBytes(entry), 0);
/** EventBridge's limit on a `PutEvents` call's entries, together. */
const maxCallBytes = 262_144;
const expectedChanges = (records: DynamoDBRecord[]): JobChange[] => jobChangesOf(asJobRecords(records));

// ---------------------------------------------------------------------------------------------
// Examples
// ---------------------------------------------------------------------------------------------

describe('the publish function', () => {
  it('puts one entry per change on the bus, in stream order, and reports no failure', async () => {
    const records = [
      streamRecord('change', 'job-1', 1, 1),
      streamRecord('silent', 'job-1', 1, 2),
      streamRecord('change', 'job-2', 1, 3),
      streamRecord('change', 'job-1', 2, 4),
    ];
    const bus = new FakeBus();
    const { handler, logger } = publisher(bus);
    expect(await handler(streamEvent(records))).toEqual({ batchItemFailures: [] });
    const changes = expectedChanges(records);
    // A job's two changes never share a call: job-1's second waits for the first call's answer.
    expect(bus.calls.map((call) => call.length)).toEqual([2, 1]);
    expect(bus.calls.flat()).toEqual(
      changes.map((change) => ({
        Source: 'field-webhooks',
        DetailType: change.detailType,
        Time: new Date(change.time),
        Detail: JSON.stringify(change.detail),
        EventBusName: busName,
      })),
    );
    expect(changeIds(bus.sent())).toEqual(['cooledge#job-1#1', 'cooledge#job-2#1', 'cooledge#job-1#2']);
    expect(bus.calls.flat().map((entry) => entry.DetailType)).toEqual([
      'Job Created',
      'Job Created',
      'Job Status Changed',
    ]);
    expect(logger.entries).toEqual([
      { level: 'info', message: 'job changes', data: { records: 4, changes: 3, published: 3 } },
    ]);
    expect(logger.text()).not.toMatch(/Priya|scheduled|completed/);
  });

  it('sends at most 10 entries a call, one call after the other', async () => {
    const records = changesOfDistinctJobs(25);
    const bus = new FakeBus();
    const { handler } = publisher(bus);
    expect(await handler(streamEvent(records))).toEqual({ batchItemFailures: [] });
    expect(maxEntriesPerPut).toBe(10);
    expect(bus.calls.map((call) => call.length)).toEqual([10, 10, 5]);
    expect(bus.maxInFlight).toBe(1);
    expect(changeIds(bus.sent())).toEqual(changeIds(expectedChanges(records).map((c) => c.detail)));
  });

  it('ends a call before its entries pass 256 KB, counted in UTF-8 bytes', async () => {
    // About 100 KB an entry in 50,000 characters: two fit in a call, not three.
    const records = Array.from({ length: 5 }, (_, i) =>
      streamRecord('change', `job-${i + 1}`, 1, i + 1, { description: 'é'.repeat(50_000) }),
    );
    const bus = new FakeBus();
    const { handler } = publisher(bus);
    expect(await handler(streamEvent(records))).toEqual({ batchItemFailures: [] });
    expect(bus.calls.map((call) => call.length)).toEqual([2, 2, 1]);
    for (const call of bus.calls) expect(callBytes(call)).toBeLessThanOrEqual(maxCallBytes);
    expect(changeIds(bus.sent())).toEqual(changeIds(expectedChanges(records).map((c) => c.detail)));
  });

  it('logs and skips an entry larger than a call takes, by ids only, and publishes the others', async () => {
    const records = [
      streamRecord('change', 'job-1', 1, 1),
      streamRecord('change', 'job-2', 1, 2, { description: 'Priya '.repeat(50_000) }),
      streamRecord('change', 'job-3', 1, 3),
    ];
    const bus = new FakeBus((_, entries) =>
      callBytes(entries) > maxCallBytes
        ? awsError('ValidationException', 'Total size of the entries in the request is over the limit.', {
            $fault: 'client',
          })
        : acceptAll(entries),
    );
    const { handler, logger } = publisher(bus);
    expect(await handler(streamEvent(records))).toEqual({ batchItemFailures: [] });
    expect(changeIds(bus.sent())).toEqual(['cooledge#job-1#1', 'cooledge#job-3#1']);
    const [skip, summary] = logger.entries;
    expect(skip).toMatchObject({
      level: 'error',
      message: 'job change not published',
      data: {
        reason: 'entry too large',
        record: 2,
        sequenceNumber: sequenceNumber(2),
        changeId: 'cooledge#job-2#1',
      },
    });
    expect(skip?.data?.error).toMatch(/^its entry is \d+ bytes; a PutEvents call takes 262144$/);
    expect(summary).toEqual({
      level: 'info',
      message: 'job changes',
      data: { records: 3, changes: 3, published: 2, skipped: 1 },
    });
    expect(logger.text()).not.toMatch(/Priya/);
  });

  it('makes no call for an empty batch, nor for one whose records publish nothing', async () => {
    for (const records of [
      [],
      [streamRecord('silent', 'job-1', 3, 1), streamRecord('silent', 'job-2', 1, 2)],
    ]) {
      const bus = new FakeBus();
      const { handler, logger } = publisher(bus);
      expect(await handler(streamEvent(records))).toEqual({ batchItemFailures: [] });
      expect(bus.calls).toEqual([]);
      expect(logger.entries).toEqual([
        {
          level: 'info',
          message: 'job changes',
          data: { records: records.length, changes: 0, published: 0 },
        },
      ]);
    }
  });

  it('on an entry EventBridge refused, reports the record of that change and sends nothing after its call', async () => {
    const records = changesOfDistinctJobs(25);
    // The fourth entry of the second call: the 14th change.
    const bus = new FakeBus((call, entries) => (call === 1 ? refuseAt(3)(entries) : acceptAll(entries)));
    const { handler, logger } = publisher(bus);
    expect(await handler(streamEvent(records))).toEqual({
      batchItemFailures: [{ itemIdentifier: sequenceNumber(14) }],
    });
    expect(bus.calls.map((call) => call.length)).toEqual([10, 10]);
    expect(logger.entries).toEqual([
      {
        level: 'error',
        message: 'job changes failed',
        data: {
          records: 25,
          changes: 25,
          published: 13,
          reason: 'entry refused',
          failedRecord: 14,
          sequenceNumber: sequenceNumber(14),
          changeId: 'cooledge#job-14#1',
          error: 'InternalFailure: Failed for "…"',
        },
      },
    ]);
    expect(logger.text()).not.toMatch(/Priya/);
  });

  it('finds the refused entry by its missing event id when EventBridge only counts it', async () => {
    const records = changesOfDistinctJobs(5);
    const bus = new FakeBus((_, entries) => ({
      FailedEntryCount: 1,
      Entries: entries.map((_, i) => (i === 2 ? {} : { EventId: `event-id-${i}` })),
    }));
    const { handler } = publisher(bus);
    expect(await handler(streamEvent(records))).toEqual({
      batchItemFailures: [{ itemIdentifier: sequenceNumber(3) }],
    });
  });

  it('on a call that fails, reports the record of its first change and stops', async () => {
    const records = [streamRecord('silent', 'job-0', 2, 0), ...changesOfDistinctJobs(15)];
    const bus = new FakeBus((call, entries) =>
      call === 1
        ? awsError('ThrottlingException', 'Rate exceeded', { $fault: 'client' })
        : acceptAll(entries),
    );
    const { handler, logger } = publisher(bus);
    expect(await handler(streamEvent(records))).toEqual({
      batchItemFailures: [{ itemIdentifier: sequenceNumber(11) }],
    });
    expect(bus.calls.map((call) => call.length)).toEqual([10, 5]);
    expect(logger.entries[0]?.data).toMatchObject({
      published: 10,
      reason: 'PutEvents failed',
      failedRecord: 12,
      changeId: 'cooledge#job-11#1',
      error: 'ThrottlingException (HTTP 400): Rate exceeded',
    });
  });

  it('logs a record it cannot read and skips it, publishing the records after it', async () => {
    const records = [
      streamRecord('change', 'job-1', 1, 1),
      streamRecord('change', 'job-2', 1, 2),
      streamRecord('unreadable', 'job-1', 2, 3),
      streamRecord('change', 'job-3', 1, 4),
    ];
    const bus = new FakeBus();
    const { handler, logger } = publisher(bus);
    // It will never be readable: retrying it would only send it, and job-3's change, to the DLQ.
    expect(await handler(streamEvent(records))).toEqual({ batchItemFailures: [] });
    expect(changeIds(bus.sent())).toEqual(['cooledge#job-1#1', 'cooledge#job-2#1', 'cooledge#job-3#1']);
    expect(logger.entries).toEqual([
      {
        level: 'error',
        message: 'job change not published',
        data: {
          reason: 'unreadable record',
          record: 3,
          sequenceNumber: sequenceNumber(3),
          error: `LoggableError: stream record 3 of 4 (sequence number ${sequenceNumber(3)}): it has no \`OldImage\` (the stream's view type must be NEW_AND_OLD_IMAGES)`,
        },
      },
      { level: 'info', message: 'job changes', data: { records: 4, changes: 3, published: 3, skipped: 1 } },
    ]);
    expect(logger.text()).not.toMatch(/Priya|scheduled/);
  });

  it('skips an unreadable first record, and one without a sequence number, without failing the batch', async () => {
    const bus = new FakeBus();
    const { handler, logger } = publisher(bus);
    const unnumbered = streamRecord('unreadable', 'job-3', 2, 3);
    delete unnumbered.dynamodb?.SequenceNumber;
    const records = [
      streamRecord('unreadable', 'job-1', 2, 1),
      streamRecord('change', 'job-2', 1, 2),
      unnumbered,
    ];
    expect(await handler(streamEvent(records))).toEqual({ batchItemFailures: [] });
    expect(changeIds(bus.sent())).toEqual(['cooledge#job-2#1']);
    expect(logger.entries.map((entry) => [entry.level, entry.message, entry.data?.record])).toEqual([
      ['error', 'job change not published', 1],
      ['error', 'job change not published', 3],
      ['info', 'job changes', undefined],
    ]);
  });

  it('still reports a PutEvents failure after a record it skipped, and logs the skip once it is behind', async () => {
    const records = [
      streamRecord('unreadable', 'job-1', 2, 1),
      streamRecord('change', 'job-2', 1, 2),
      streamRecord('unreadable', 'job-3', 2, 3),
    ];
    const bus = new FakeBus(() => awsError('InternalException', 'try again', { $fault: 'server' }));
    const { handler, logger } = publisher(bus);
    expect(await handler(streamEvent(records))).toEqual({
      batchItemFailures: [{ itemIdentifier: sequenceNumber(2) }],
    });
    // Record 3 is read again with the retry from record 2: it is logged then.
    expect(
      logger.entries.map((entry) => [
        entry.level,
        entry.message,
        entry.data?.record ?? entry.data?.failedRecord,
      ]),
    ).toEqual([
      ['error', 'job change not published', 1],
      ['error', 'job changes failed', 2],
    ]);
  });

  it('fails the batch whole when the record to report has no sequence number, or the event is not a stream batch', async () => {
    const record = streamRecord('change', 'job-1', 1, 1);
    delete record.dynamodb?.SequenceNumber;
    const { handler, logger } = publisher(
      new FakeBus(() => awsError('InternalException', 'try again', { $fault: 'server' })),
    );
    await expect(handler(streamEvent([record]))).rejects.toThrow(
      'stream record 1 of 1 has no sequence number to report: the batch fails whole',
    );
    await expect(handler([] as unknown as DynamoDBStreamEvent)).rejects.toThrow(LoggableError);
    expect(logger.entries.map((entry) => [entry.level, entry.message])).toEqual([
      ['error', 'job changes failed'],
      ['error', 'job changes failed'],
    ]);
  });

  it('is built from JOB_EVENTS_BUS_NAME, and refuses to start without it', () => {
    expect(defaultDeps({ JOB_EVENTS_BUS_NAME: busName, AWS_REGION: 'us-east-1' }).busName).toBe(busName);
    expect(() => defaultDeps({ AWS_REGION: 'us-east-1' })).toThrow('JOB_EVENTS_BUS_NAME is not set');
    expect(() => defaultDeps({ JOB_EVENTS_BUS_NAME: ' ' })).toThrow('JOB_EVENTS_BUS_NAME is not set');
  });
});

// ---------------------------------------------------------------------------------------------
// Property
// ---------------------------------------------------------------------------------------------

/** A batch: writes to four jobs, each job's event count moving on with its changes. */
const batch = fc
  .array(
    fc.record({
      kind: fc.constantFrom<Kind>('change', 'change', 'change', 'silent', 'unreadable'),
      job: fc.constantFrom('job-1', 'job-2', 'job-3', 'job-4'),
    }),
    { maxLength: 30 },
  )
  .map((writes) => {
    const counts = new Map<string, number>();
    return writes.map(({ kind, job }, i) => {
      const count = (counts.get(job) ?? 0) + (kind === 'silent' ? 0 : 1);
      counts.set(job, count);
      return streamRecord(kind, job, Math.max(count, 1), i + 1);
    });
  });

/** Where the bus fails, counted in entries sent: an entry refused, or counted only, or the call rejected. */
const failure = fc.option(
  fc.record({ at: fc.nat({ max: 35 }), how: fc.constantFrom('refused', 'counted', 'rejected') }),
  { nil: undefined },
);

describe('the publish function, for any batch and any failing entry (property)', () => {
  it('reports the record of the first change not published; every change before it was sent once, in order, and nothing after its call; it skips the records it cannot read', async () => {
    await fc.assert(
      fc.asyncProperty(batch, failure, async (records, fails) => {
        let sentBefore = 0;
        const accepted: JobChangeDetail[] = [];
        const bus = new FakeBus((_, entries) => {
          const first = sentBefore;
          sentBefore += entries.length;
          const at = fails && fails.at >= first && fails.at < sentBefore ? fails.at - first : undefined;
          const answer: Answer =
            at === undefined
              ? acceptAll(entries)
              : fails?.how === 'rejected'
                ? awsError('InternalException', 'try again', { $fault: 'server' })
                : fails?.how === 'refused'
                  ? refuseAt(at)(entries)
                  : {
                      FailedEntryCount: 1,
                      Entries: entries.map((_, i) => (i === at ? {} : { EventId: `id-${i}` })),
                    };
          if (!(answer instanceof Error)) {
            entries.forEach((entry, i) => {
              if (answer.Entries?.[i]?.EventId) accepted.push(JSON.parse(entry.Detail));
            });
          }
          return answer;
        });
        const { handler, logger } = publisher(bus);
        const response = await handler(streamEvent(records));

        // What the records give; those that cannot be read give nothing, and hold nothing back.
        const readable: Array<{ index: number; change: JobChange }> = [];
        const unreadable: number[] = [];
        for (let index = 0; index < records.length; index++) {
          try {
            const change = jobChangeAt(asJobRecords(records), index);
            if (change) readable.push({ index, change });
          } catch {
            unreadable.push(index);
          }
        }
        const acceptedIds = new Set(changeIds(accepted));
        const firstUnpublished = readable.findIndex(({ change }) => !acceptedIds.has(change.detail.changeId));
        const reported = firstUnpublished !== -1 ? readable[firstUnpublished]?.index : undefined;
        expect(response.batchItemFailures).toEqual(
          reported === undefined ? [] : [{ itemIdentifier: sequenceNumber(reported + 1) }],
        );
        // Each unreadable record before the one reported is logged, once, by its position.
        expect(
          logger.entries
            .filter((entry) => entry.message === 'job change not published')
            .map((entry) => [entry.level, entry.data?.record, entry.data?.reason]),
        ).toEqual(
          unreadable
            .filter((index) => reported === undefined || index < reported)
            .map((index) => ['error', index + 1, 'unreadable record']),
        );

        // Sent: a prefix of the changes, each once, in order; it covers every change before the
        // first unpublished one, and ends with the call that failed.
        const sent = changeIds(bus.sent());
        const expected = changeIds(readable.map(({ change }) => change.detail));
        expect(sent).toEqual(expected.slice(0, sent.length));
        const done = firstUnpublished === -1 ? readable.length : firstUnpublished;
        expect(sent.length).toBeGreaterThanOrEqual(done);
        const lastCall = bus.calls.at(-1) ?? [];
        expect(sent.length - lastCall.length).toBeLessThanOrEqual(done);
        // Calls of at most 10 entries, none holding two changes of one job, one at a time.
        for (const call of bus.calls) {
          expect(call.length).toBeLessThanOrEqual(maxEntriesPerPut);
          const jobs = call.map((entry) => (JSON.parse(entry.Detail) as JobChangeDetail).jobId);
          expect(new Set(jobs).size).toBe(jobs.length);
        }
        expect(bus.maxInFlight).toBeLessThanOrEqual(1);
        // No job's later change was accepted while an earlier one was not.
        for (const job of new Set(accepted.map((detail) => detail.jobId))) {
          const own = readable.filter(({ change }) => change.detail.jobId === job);
          const acceptedOwn = accepted.filter((detail) => detail.jobId === job);
          expect(changeIds(acceptedOwn)).toEqual(
            changeIds(own.slice(0, acceptedOwn.length).map((c) => c.change.detail)),
          );
        }

        // The mapping retries from the reported record: with the bus well again, every readable
        // change has then been accepted, each job's first acceptances in order.
        if (reported !== undefined) {
          const retryBus = new FakeBus();
          await publisher(retryBus).handler(streamEvent(records.slice(reported)));
          const firstSeen = [...new Set([...changeIds(accepted), ...changeIds(retryBus.sent())])];
          expect(new Set(firstSeen)).toEqual(new Set(expected));
          for (const job of ['job-1', 'job-2', 'job-3', 'job-4']) {
            const own = (ids: string[]) => ids.filter((id) => id.startsWith(`cooledge#${job}#`));
            expect(own(firstSeen)).toEqual(own(expected));
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

/**
 * Writes to twenty jobs, each with a description of a random size in UTF-8 (up to 72 KB, as job
 * fields are capped), in characters of one to four bytes.
 */
const sizedBatch = fc
  .array(
    fc.record({
      job: fc.nat({ max: 19 }).map((n) => `job-${n + 1}`),
      size: fc.oneof(
        { arbitrary: fc.nat({ max: 2_000 }), weight: 1 },
        { arbitrary: fc.noBias(fc.integer({ min: 20_000, max: 72_000 })), weight: 3 },
      ),
      char: fc.constantFrom('a', 'é', '€', '😀'),
    }),
    { maxLength: 30 },
  )
  .map((writes) => {
    const counts = new Map<string, number>();
    return writes.map(({ job, size, char }, i) => {
      const count = (counts.get(job) ?? 0) + 1;
      counts.set(job, count);
      const description = char.repeat(Math.floor(size / Buffer.byteLength(char)));
      return streamRecord('change', job, count, i + 1, { description });
    });
  });

describe('the publish function, for any batch of any sizes (property)', () => {
  it('makes calls of at most 10 entries and 256 KB, in order, each change sent once and none dropped', async () => {
    await fc.assert(
      fc.asyncProperty(sizedBatch, async (records) => {
        const bus = new FakeBus();
        const { handler } = publisher(bus);
        expect(await handler(streamEvent(records))).toEqual({ batchItemFailures: [] });
        for (const call of bus.calls) {
          expect(call.length).toBeLessThanOrEqual(10);
          expect(callBytes(call)).toBeLessThanOrEqual(maxCallBytes);
          const jobs = call.map((entry) => (JSON.parse(entry.Detail) as JobChangeDetail).jobId);
          expect(new Set(jobs).size).toBe(jobs.length);
        }
        expect(changeIds(bus.sent())).toEqual(changeIds(expectedChanges(records).map((c) => c.detail)));
        expect(bus.sent()).toHaveLength(records.length);
      }),
      { numRuns: 150 },
    );
  });
});

it('publishJobChanges counts what it did', async () => {
  const records = asJobRecords(changesOfDistinctJobs(12));
  expect(await publishJobChanges(records, new FakeBus(), busName)).toEqual({
    changes: 12,
    published: 12,
    calls: 2,
  });
});
