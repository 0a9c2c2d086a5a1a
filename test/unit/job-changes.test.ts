import { marshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type JobStreamRecord, jobChangeAt, jobChangesOf } from '#adapters/job-stream-records';
import { LoggableError } from '#core/errors';
import type { JobFields } from '#core/job';
import { type JobChange, jobChange, jobEventSource } from '#core/job-changes';
import { type Item, jobFieldNames } from '#core/records';

// ---------------------------------------------------------------------------------------------
// Job items as the consumer writes them
// ---------------------------------------------------------------------------------------------

/** Few values per field, so equal and different values both come up often. */
function fieldValue(name: keyof JobFields): fc.Arbitrary<unknown> {
  if (name === 'canceled') return fc.boolean();
  if (name === 'total' || name === 'amountPaid' || name === 'amountDue')
    return fc.constantFrom(0, 10, 10.5, 250);
  if (name === 'status') return fc.constantFrom('scheduled', 'in_progress', 'completed');
  return fc.constantFrom('a', 'b', 'Priya Nair');
}

const fields: fc.Arbitrary<Partial<JobFields>> = fc.record(
  Object.fromEntries(jobFieldNames.map((name) => [name, fieldValue(name)])) as Record<
    keyof JobFields,
    fc.Arbitrary<unknown>
  >,
  { requiredKeys: [] },
) as fc.Arbitrary<Partial<JobFields>>;

/** A job item after `eventCount` applied events, as the document client reads it. */
function jobItem(fieldsNow: Partial<JobFields>, eventCount: number, overrides: Item = {}): Item {
  return {
    pk: 'cooledge#job-1',
    provider: 'cooledge',
    jobId: 'job-1',
    accountId: 'acct-1',
    accountKey: 'cooledge#acct-1',
    ...fieldsNow,
    lastEventKey: `evt-${eventCount}`,
    lastEventType: 'job.completed',
    lastEventAt: '2026-06-17T14:00:00.000Z',
    lastOrder: '2026-06-17T14:00:00.000Z',
    lastFingerprint: `fp-${eventCount}`,
    eventCount,
    createdAt: '2026-06-20T00:00:00.000Z',
    updatedAt: `2026-06-20T00:00:${String(eventCount % 60).padStart(2, '0')}.000Z`,
    ...overrides,
  };
}

/**
 * Where a stale event's fill leaves a job (functions/core/records.ts `fillAttributes`): the fields
 * it lacked filled, the fill counted and named.
 */
function filledItem(before: Item, carried: Partial<JobFields>, key = 'evt-late'): Item {
  return {
    ...carried,
    ...before,
    fillCount: Number(before.fillCount ?? 0) + 1,
    lastFillKey: key,
    lastFillType: 'job.completed',
    lastFillAt: '2026-06-17T13:00:00.000Z',
    updatedAt: '2026-06-21T00:00:00.000Z',
  };
}

/** Where the consumer's advance leaves a job: the event's fields over the stored ones. */
const advanced = (before: Partial<JobFields>, carried: Partial<JobFields>) => ({ ...before, ...carried });

const differing = (a: Partial<JobFields>, b: Partial<JobFields>) =>
  jobFieldNames.filter((name) => a[name] !== b[name]).sort();

// ---------------------------------------------------------------------------------------------
// jobChange
// ---------------------------------------------------------------------------------------------

describe('jobChange: a job created by its first applied event', () => {
  it('is `Job Created` with every present field changed and no previous status (property)', () => {
    fc.assert(
      fc.property(fields, (now) => {
        const after = jobItem(now, 1);
        const change = jobChange(undefined, after);
        expect(change?.detailType).toBe('Job Created');
        expect(change?.detail.previousStatus).toBeNull();
        expect(change?.detail.status).toBe(now.status ?? null);
        expect(change?.detail.changedFields).toEqual(Object.keys(now).sort());
        expect(change?.detail.job).toEqual(now);
        expect(change?.detail.sequence).toBe(1);
        expect(change?.detail.changeId).toBe('cooledge#job-1#1');
      }),
      { numRuns: 200 },
    );
  });

  it('carries the bookkeeping: cause, times, account, version', () => {
    const after = jobItem({ status: 'scheduled', customerName: 'Priya Nair' }, 1);
    expect(jobChange(undefined, after)).toEqual({
      detailType: 'Job Created',
      time: after.updatedAt,
      detail: {
        version: 1,
        changeId: 'cooledge#job-1#1',
        sequence: 1,
        provider: 'cooledge',
        accountId: 'acct-1',
        jobId: 'job-1',
        status: 'scheduled',
        previousStatus: null,
        changedFields: ['customerName', 'status'],
        job: { status: 'scheduled', customerName: 'Priya Nair' },
        cause: {
          eventKey: 'evt-1',
          eventType: 'job.completed',
          eventAt: '2026-06-17T14:00:00.000Z',
          outcome: 'applied',
        },
        changedAt: after.updatedAt,
        createdAt: '2026-06-20T00:00:00.000Z',
      },
    });
    expect(jobEventSource).toBe('field-webhooks');
  });

  it('is created, too, when the item before has no event count', () => {
    const change = jobChange({ pk: 'cooledge#job-1' }, jobItem({ status: 'scheduled' }, 1));
    expect(change?.detailType).toBe('Job Created');
    expect(change?.detail.previousStatus).toBeNull();
  });

  it('has a null account and status when the job has none', () => {
    const after = jobItem({}, 1, { accountId: undefined, accountKey: undefined });
    const change = jobChange(undefined, after);
    expect(change?.detail).toMatchObject({ accountId: null, status: null, changedFields: [], job: {} });
  });
});

describe('jobChange: a newer event applied to a job', () => {
  it('changes exactly the fields whose value differs, with the status before (property)', () => {
    fc.assert(
      fc.property(fields, fields, fc.integer({ min: 1, max: 1000 }), (stored, carried, count) => {
        const now = advanced(stored, carried);
        const change = jobChange(jobItem(stored, count), jobItem(now, count + 1));
        expect(change).toBeDefined();
        const statusChanged = (stored.status ?? null) !== (now.status ?? null);
        expect(change?.detailType).toBe(statusChanged ? 'Job Status Changed' : 'Job Updated');
        expect(change?.detail.previousStatus).toBe(stored.status ?? null);
        expect(change?.detail.status).toBe(now.status ?? null);
        expect(change?.detail.changedFields).toEqual(differing(stored, now));
        expect(change?.detail.job).toEqual(now);
        expect(change?.detail.sequence).toBe(count + 1);
        expect(change?.detail.changeId).toBe(`cooledge#job-1#${count + 1}`);
        expect(change?.time).toBe(change?.detail.changedAt);
      }),
      { numRuns: 300 },
    );
  });

  it('is published even when the event carried the values the job had', () => {
    const stored = { status: 'scheduled', total: 10 };
    const change = jobChange(jobItem(stored, 3), jobItem(stored, 4));
    expect(change?.detailType).toBe('Job Updated');
    expect(change?.detail.changedFields).toEqual([]);
    expect(change?.detail.cause.eventKey).toBe('evt-4');
  });

  it('compares values, not their form: an equal number, boolean or text is unchanged', () => {
    const stored = { total: 10.5, canceled: false, jobNumber: '318' };
    const change = jobChange(jobItem(stored, 1), jobItem({ ...stored, total: 21 / 2 }, 2));
    expect(change?.detail.changedFields).toEqual([]);
    const flipped = jobChange(jobItem(stored, 1), jobItem({ ...stored, canceled: true }, 2));
    expect(flipped?.detail.changedFields).toEqual(['canceled']);
  });

  it('names a status change, from and to', () => {
    const change = jobChange(jobItem({ status: 'scheduled' }, 1), jobItem({ status: 'completed' }, 2));
    expect(change).toMatchObject({
      detailType: 'Job Status Changed',
      detail: { status: 'completed', previousStatus: 'scheduled', changedFields: ['status'] },
    });
    const first = jobChange(jobItem({}, 1), jobItem({ status: 'scheduled' }, 2));
    expect(first).toMatchObject({
      detailType: 'Job Status Changed',
      detail: { status: 'scheduled', previousStatus: null },
    });
  });
});

describe('jobChange: a stale event that filled fields the job lacked', () => {
  it('is a change of its own: the next sequence, the fields it filled, the stale event as its cause (property)', () => {
    fc.assert(
      fc.property(
        fields,
        fields,
        fc.integer({ min: 1, max: 1000 }),
        fc.nat({ max: 5 }),
        (stored, carried, count, fills) => {
          const before = jobItem(stored, count, fills > 0 ? { fillCount: fills } : {});
          const after = filledItem(before, carried);
          const now = { ...carried, ...stored };
          const change = jobChange(before, after);
          expect(change).toBeDefined();
          const statusChanged = (stored.status ?? null) !== (now.status ?? null);
          expect(change?.detailType).toBe(statusChanged ? 'Job Status Changed' : 'Job Updated');
          expect(change?.detail).toMatchObject({
            sequence: count + fills + 1,
            changeId: `cooledge#job-1#${count + fills + 1}`,
            previousStatus: stored.status ?? null,
            status: now.status ?? null,
            changedFields: differing(stored, now),
            job: now,
            cause: {
              eventKey: 'evt-late',
              eventType: 'job.completed',
              eventAt: '2026-06-17T13:00:00.000Z',
              outcome: 'stale',
            },
            changedAt: '2026-06-21T00:00:00.000Z',
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('announces a status only a late event carried: Cooledge job.completed after the job\u2019s invoice', () => {
    const before = jobItem({ total: 462, amountPaid: 462 }, 1, { lastEventType: 'invoice.paid' });
    const change = jobChange(
      before,
      filledItem(before, { status: 'completed', completedAt: '2026-06-17T13:00:00.000Z' }),
    );
    expect(change).toMatchObject({
      detailType: 'Job Status Changed',
      detail: {
        sequence: 2,
        status: 'completed',
        previousStatus: null,
        changedFields: ['completedAt', 'status'],
        cause: { eventKey: 'evt-late', outcome: 'stale' },
      },
    });
  });

  it('lists accountId when it gave the job its account: a fill that set only the account is never empty', () => {
    const before = jobItem({ status: 'started' }, 1, { accountId: undefined, accountKey: undefined });
    const after = filledItem({ ...before }, {});
    const change = jobChange(before, { ...after, accountId: 'acct-x', accountKey: 'cooledge#acct-x' });
    expect(change?.detail).toMatchObject({ accountId: 'acct-x', changedFields: ['accountId'] });
    expect(change?.detailType).toBe('Job Updated');
    // An applied event that names the account first lists it too, beside the fields it changed.
    const advanced = jobChange(before, jobItem({ status: 'completed' }, 2));
    expect(advanced?.detail.changedFields).toEqual(['accountId', 'status']);
  });

  it('an advance after fills counts on from them', () => {
    const filled = filledItem(jobItem({ status: 'scheduled' }, 2), { total: 10 });
    const change = jobChange(filled, { ...jobItem({ status: 'completed', total: 10 }, 3), fillCount: 1 });
    expect(change?.detail).toMatchObject({
      sequence: 4,
      changedFields: ['status'],
      cause: { eventKey: 'evt-3', outcome: 'applied' },
    });
  });
});

describe('jobChange: writes that publish nothing', () => {
  it('a fill written before fills were counted (no `fillCount` change) publishes nothing (property)', () => {
    fc.assert(
      fc.property(fields, fields, fc.integer({ min: 1, max: 1000 }), (stored, carried, count) => {
        const filled = { ...carried, ...stored };
        expect(jobChange(jobItem(stored, count), jobItem(filled, count))).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });

  it('a removal publishes nothing', () => {
    expect(jobChange(jobItem({ status: 'scheduled' }, 2), undefined)).toBeUndefined();
    expect(jobChange(undefined, undefined)).toBeUndefined();
  });

  it('a job that did not move forward publishes nothing', () => {
    expect(jobChange(jobItem({}, 5), jobItem({ status: 'x' }, 4))).toBeUndefined();
  });
});

describe('jobChange: an item it cannot read', () => {
  it('throws, naming the attribute and no value', () => {
    for (const [name, value] of [
      ['eventCount', undefined],
      ['eventCount', '2'],
      ['eventCount', 0],
      ['provider', undefined],
      ['jobId', 42],
      ['lastEventKey', undefined],
      ['fillCount', '1'],
      ['fillCount', -1],
      ['updatedAt', undefined],
      ['createdAt', undefined],
    ] as const) {
      const after = jobItem({ customerName: 'Priya Nair' }, 1, { [name]: value });
      expect(() => jobChange(undefined, after), name).toThrow(LoggableError);
      expect(() => jobChange(undefined, after), name).toThrow(`\`${name}\``);
      expect(() => jobChange(undefined, after), name).not.toThrow(/Priya/);
    }
    // A fill must name the event that made it.
    const before = jobItem({ customerName: 'Priya Nair' }, 1);
    const fill = { ...filledItem(before, { status: 'completed' }), lastFillKey: undefined };
    expect(() => jobChange(before, fill)).toThrow('`lastFillKey`');
  });
});

// ---------------------------------------------------------------------------------------------
// Stream records: the adapter
// ---------------------------------------------------------------------------------------------

const image = (item: Item) =>
  marshall(item, { removeUndefinedValues: true }) as NonNullable<JobStreamRecord['dynamodb']['NewImage']>;

function streamRecord(before: Item | undefined, after: Item | undefined, sequence: number): JobStreamRecord {
  const keyOf = (after ?? before) as Item;
  return {
    eventName: before === undefined ? 'INSERT' : after === undefined ? 'REMOVE' : 'MODIFY',
    dynamodb: {
      Keys: image({ pk: keyOf.pk }),
      ...(after === undefined ? {} : { NewImage: image(after) }),
      ...(before === undefined ? {} : { OldImage: image(before) }),
      SequenceNumber: String(sequence).padStart(21, '0'),
    },
  };
}

/**
 * A write to a job as the stream carries it: a creation, an advance, a stale fill, a fill written
 * before fills were counted, or a removal.
 */
const write = fc.record({
  kind: fc.constantFrom('create', 'advance', 'fill', 'uncountedFill', 'remove'),
  stored: fields,
  carried: fields,
  count: fc.integer({ min: 1, max: 50 }),
  job: fc.constantFrom('job-1', 'job-2'),
});

type Write = typeof write extends fc.Arbitrary<infer W> ? W : never;

/** The job item before and after a write. */
function itemsOf(w: Write): [before: Item | undefined, after: Item | undefined] {
  const own = { pk: `cooledge#${w.job}`, jobId: w.job };
  const before = jobItem(w.stored, w.count, own);
  if (w.kind === 'create') return [undefined, jobItem(w.carried, 1, own)];
  if (w.kind === 'advance') return [before, jobItem(advanced(w.stored, w.carried), w.count + 1, own)];
  if (w.kind === 'fill') return [before, filledItem(before, w.carried)];
  if (w.kind === 'uncountedFill') return [before, jobItem({ ...w.carried, ...w.stored }, w.count, own)];
  return [before, undefined];
}

describe('jobChangesOf: a batch of stream records', () => {
  it('gives one change per record that publishes, in the records’ order, as jobChange does (property)', () => {
    fc.assert(
      fc.property(fc.array(write, { maxLength: 12 }), (writes) => {
        const records = writes.map((w, i) => streamRecord(...itemsOf(w), i + 1));
        // From the items themselves: reading their attribute values, the adapter must find the same.
        const expected = writes.flatMap((w) => jobChange(...itemsOf(w)) ?? []);
        const changes = jobChangesOf(records);
        expect(changes).toEqual(expected);
        expect(changes).toHaveLength(
          writes.filter((w) => w.kind === 'create' || w.kind === 'advance' || w.kind === 'fill').length,
        );
      }),
      { numRuns: 200 },
    );
  });

  it('reads numbers and booleans from their attribute values', () => {
    const [change] = jobChangesOf([
      streamRecord(
        jobItem({ total: 10, canceled: false }, 1),
        jobItem({ total: 10.25, canceled: true }, 2),
        7,
      ),
    ]);
    expect(change?.detail.job).toEqual({ total: 10.25, canceled: true });
    expect(change?.detail.changedFields).toEqual(['canceled', 'total']);
    expect(change?.detail.sequence).toBe(2);
  });

  it('throws on a record it cannot read, naming its position and sequence number, never its values', () => {
    const good = streamRecord(undefined, jobItem({ status: 'scheduled' }, 1), 1);
    const secret = { customerName: { S: 'Priya Nair' } };
    const bad: unknown[] = [
      { eventName: 'MODIFY', dynamodb: { Keys: {}, NewImage: image(jobItem({}, 2)), SequenceNumber: '9' } },
      { eventName: 'UPSERT', dynamodb: { Keys: {}, SequenceNumber: '9' } },
      { eventName: 'INSERT' },
      null,
      { eventName: 'INSERT', dynamodb: { Keys: {}, NewImage: { ...secret, pk: { X: 'Priya Nair' } } } },
      streamRecord(undefined, jobItem({ customerName: 'Priya Nair' }, 1, { eventCount: undefined }), 9),
    ];
    for (const record of bad) {
      const run = () => jobChangesOf([good, record as JobStreamRecord]);
      expect(run, JSON.stringify(record)).toThrow(LoggableError);
      expect(run, JSON.stringify(record)).toThrow(/^stream record 2 of 2/);
      expect(run, JSON.stringify(record)).not.toThrow(/Priya/);
    }
    expect(() => jobChangesOf([good, bad[0] as JobStreamRecord])).toThrow(
      'stream record 2 of 2 (sequence number 9): it has no `OldImage`',
    );
  });
});

describe('jobChangeAt: one record of a batch', () => {
  it('gives jobChangesOf’s changes record by record, and throws its error for the same record (property)', () => {
    fc.assert(
      fc.property(fc.array(write, { maxLength: 12 }), fc.nat({ max: 12 }), (writes, broken) => {
        const records = writes.map((w, i) => streamRecord(...itemsOf(w), i + 1));
        // Without its old image: a record neither can read.
        if (broken < records.length) delete records[broken]?.dynamodb.OldImage;
        const byRecord: JobChange[] = [];
        let error: unknown;
        try {
          records.forEach((_, index) => {
            const change = jobChangeAt(records, index);
            if (change) byRecord.push(change);
          });
        } catch (thrown) {
          error = thrown;
        }
        if (error === undefined) {
          expect(jobChangesOf(records)).toEqual(byRecord);
        } else {
          expect(error).toBeInstanceOf(LoggableError);
          expect(() => jobChangesOf(records)).toThrow((error as Error).message);
        }
      }),
      { numRuns: 200 },
    );
  });
});
