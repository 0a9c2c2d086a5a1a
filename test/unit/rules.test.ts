import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JobWrite } from '#core/consume';
import { MemoryEventStore } from '#core/memory-store';
import { conflictPk, eventPk, jobPk } from '#core/records';
import {
  compareText,
  decideApply,
  decideRecord,
  fillsSomething,
  guardsHold,
  movesForward,
  nothingStored,
  otherAccountReason,
  type StoredJob,
  type View,
} from '#core/rules';
import { eventRecord } from '../support/factories.ts';

/** The rules on their own: what each decision writes, and the guards each write carries. */

const event = eventRecord;

const jobWrite = (overrides: Partial<JobWrite> = {}): JobWrite => ({
  provider: 'cooledge',
  jobId: 'job-1',
  accountId: 'acct-1',
  fields: { status: 'completed', description: 'done', customerName: 'Priya Nair' },
  eventKey: 'evt-b',
  eventType: 'job.completed',
  fingerprint: 'fp-b',
  order: '2026-06-17T14:00:00.000Z',
  stage: undefined,
  eventAt: '2026-06-17T14:00:00.000Z',
  now: '2026-06-20T00:00:01.000Z',
  ...overrides,
});

const stored = (overrides: Partial<StoredJob> = {}): StoredJob => ({
  lastEventKey: 'evt-a',
  lastOrder: '2026-06-17T14:00:00.000Z',
  lastEventAt: '2026-06-17T14:00:00.000Z',
  lastFingerprint: 'fp-a',
  accountId: 'acct-1',
  fields: { status: 'scheduled' },
  ...overrides,
});

const view = (overrides: Partial<View> = {}): View => ({ ...nothingStored, ...overrides });

describe('rules: an event that names a job', () => {
  it('applies a new event to a new job: its record if no record is there, the job if it moves forward in the same account', () => {
    expect(decideApply(nothingStored, event(), jobWrite())).toEqual({
      result: 'applied',
      writes: [
        { to: 'event', op: 'put', outcome: 'applied', guards: ['notSeenBefore'] },
        { to: 'job', op: 'advance', guards: ['movesForward', 'sameAccount'] },
      ],
    });
  });

  it('answers a known key with the same body as a duplicate, writing nothing', () => {
    const decision = decideApply(
      view({ event: { outcome: 'stale', fingerprint: 'fp-b' }, job: stored({ lastOrder: '9' }) }),
      event(),
      jobWrite(),
    );
    expect(decision).toEqual({ result: 'duplicate', writes: [] });
  });

  it('keeps another body under a known key as a conflict, listed on the kept record', () => {
    expect(
      decideApply(view({ event: { outcome: 'applied', fingerprint: 'fp-x' } }), event(), jobWrite()),
    ).toEqual({
      result: 'conflict',
      writes: [
        { to: 'conflict', op: 'put', conflictsWith: 'fp-x', guards: ['notSeenBefore'] },
        { to: 'event', op: 'listConflict', guards: ['recorded'] },
      ],
    });
    // Kept once: the same second body again is a duplicate.
    const again = view({ event: { outcome: 'applied', fingerprint: 'fp-x' }, conflictRecorded: true });
    expect(decideApply(again, event(), jobWrite()).result).toBe('duplicate');
  });

  it('records an event behind the job as stale, filling only the fields the job lacks', () => {
    const job = stored({
      lastOrder: '2026-06-18T00:00:00.000Z',
      fields: { status: 'started', description: 'x' },
    });
    expect(decideApply(view({ job }), event(), jobWrite())).toEqual({
      result: 'stale',
      writes: [
        { to: 'event', op: 'put', outcome: 'stale', guards: ['notSeenBefore'] },
        {
          to: 'job',
          op: 'fill',
          fields: { customerName: 'Priya Nair' },
          guards: ['jobExists', 'sameAccount', 'fillsSomething'],
        },
      ],
    });
    const full = stored({
      lastOrder: '2026-06-18T00:00:00.000Z',
      fields: { status: 'started', description: 'x', customerName: 'Someone' },
    });
    expect(decideApply(view({ job: full }), event(), jobWrite()).writes).toEqual([
      { to: 'event', op: 'put', outcome: 'stale', guards: ['notSeenBefore'] },
    ]);
  });

  it('guards a fill on a field still being empty: a fill that would change nothing is never written', () => {
    const behind = { lastOrder: '2026-06-18T00:00:00.000Z' };
    const job = stored({ ...behind, fields: { status: 'started' } });
    const [, fill] = decideApply(view({ job }), event(), jobWrite()).writes;
    expect(fill).toMatchObject({ to: 'job', op: 'fill' });
    expect(guardsHold(fill as never, view({ job }), event(), jobWrite())).toBe(true);
    // A newer event set every one of its fields since the decision: the guard no longer holds.
    const since = stored({
      ...behind,
      fields: { status: 'completed', description: 'y', customerName: 'Someone' },
    });
    expect(fillsSomething(since, { description: 'done', customerName: 'Priya Nair' })).toBe(false);
    expect(guardsHold(fill as never, view({ job: since }), event(), jobWrite())).toBe(false);
    expect(fillsSomething(undefined, { description: 'done' })).toBe(false);
  });

  it('breaks a tie of order by event key, in UTF-8 byte order as DynamoDB compares', () => {
    expect(movesForward(stored({ lastEventKey: 'evt-a' }), jobWrite({ eventKey: 'evt-b' }))).toBe(true);
    expect(movesForward(stored({ lastEventKey: 'evt-c' }), jobWrite({ eventKey: 'evt-b' }))).toBe(false);
    // U+FF61 sorts before U+1F600 in UTF-8 (EF… < F0…), after it in UTF-16 (FF61 > D83D).
    expect('\uff61' < '😀').toBe(false);
    expect(compareText('\uff61', '😀')).toBeLessThan(0);
    expect(movesForward(stored({ lastEventKey: '\uff61' }), jobWrite({ eventKey: '😀' }))).toBe(true);
  });

  it('orders a job written before lastOrder existed by its event time alone', () => {
    const old = stored({
      lastOrder: undefined,
      lastEventAt: '2026-06-17T14:00:00.000Z',
      lastEventKey: 'evt-a',
    });
    expect(movesForward(old, jobWrite({ order: '0', eventAt: '2026-06-17T15:00:00.000Z' }))).toBe(true);
    expect(movesForward(old, jobWrite({ order: '9', eventAt: '2026-06-17T13:00:00.000Z' }))).toBe(false);
    expect(movesForward(old, jobWrite({ eventKey: 'evt-b' }))).toBe(true);
  });

  it('never applies the event the job already holds again, even when its order changed', () => {
    const job = stored({ lastEventKey: 'evt-b', lastFingerprint: 'fp-b', lastOrder: '1' });
    const decision = decideApply(view({ job }), event(), jobWrite({ order: '2' }));
    // Its record (expired, or replayed) is written again; the job is not touched.
    expect(decision).toEqual({
      result: 'applied',
      writes: [{ to: 'event', op: 'put', outcome: 'applied', guards: ['notSeenBefore'] }],
    });
  });

  it('keeps another body under the key the job holds as a conflict, even when the record is gone', () => {
    const job = stored({ lastEventKey: 'evt-b', lastFingerprint: 'fp-a' });
    expect(decideApply(view({ job }), event(), jobWrite())).toEqual({
      result: 'conflict',
      writes: [
        { to: 'conflict', op: 'put', conflictsWith: 'fp-a', guards: ['notSeenBefore'] },
        // No record to list it on: checked to be still absent.
        { to: 'event', op: 'check', guards: ['notSeenBefore'] },
      ],
    });
  });

  it('refuses an event naming another account, recording why and leaving the job alone', () => {
    const job = stored({ accountId: 'acct-2', lastOrder: '2000' });
    expect(decideApply(view({ job }), event(), jobWrite())).toEqual({
      result: 'unprocessable',
      writes: [
        {
          to: 'event',
          op: 'put',
          outcome: 'unprocessable',
          reason: otherAccountReason,
          guards: ['notSeenBefore'],
        },
      ],
    });
    // Behind the job too: refused, never filling.
    const ahead = stored({ accountId: 'acct-2', lastOrder: '9999' });
    expect(decideApply(view({ job: ahead }), event(), jobWrite()).result).toBe('unprocessable');
  });

  it('lets a job without an account take one, and an event without one through', () => {
    expect(decideApply(view({ job: stored({ accountId: undefined }) }), event(), jobWrite()).result).toBe(
      'applied',
    );
    expect(
      decideApply(view({ job: stored({ accountId: 'acct-2' }) }), event(), jobWrite({ accountId: undefined }))
        .result,
    ).toBe('applied');
  });

  it('replays: rewrites its own record, still in the job’s order, and never turns an applied record stale', () => {
    const replay = event({ replay: true });
    expect(
      decideApply(view({ event: { outcome: 'stale', fingerprint: 'fp-b' } }), replay, jobWrite()).writes,
    ).toEqual([
      { to: 'event', op: 'put', outcome: 'applied', guards: [] },
      { to: 'job', op: 'advance', guards: ['movesForward', 'sameAccount'] },
    ]);
    const ahead = stored({ lastOrder: '9999', fields: {} });
    expect(
      decideApply(
        view({ event: { outcome: 'applied', fingerprint: 'fp-b' }, job: ahead }),
        replay,
        jobWrite(),
      ),
    ).toEqual({ result: 'stale', writes: [] });
    expect(decideApply(view({ job: ahead }), replay, jobWrite()).writes[0]).toEqual({
      to: 'event',
      op: 'put',
      outcome: 'stale',
      guards: ['notAppliedBefore'],
    });
    expect(decideApply(view({ job: stored({ accountId: 'acct-2' }) }), replay, jobWrite()).writes).toEqual([
      { to: 'event', op: 'put', outcome: 'unprocessable', reason: otherAccountReason, guards: [] },
    ]);
  });
});

describe('rules: an event that only goes to the log', () => {
  it('records a new event once', () => {
    expect(decideRecord(nothingStored, event(), 'recorded')).toEqual({
      result: 'recorded',
      writes: [{ to: 'event', op: 'put', outcome: 'recorded', guards: ['notSeenBefore'] }],
    });
    expect(
      decideRecord(view({ event: { outcome: 'recorded', fingerprint: 'fp-b' } }), event(), 'recorded').result,
    ).toBe('duplicate');
  });

  it('rewrites an unprocessable record with a redelivery of its body, not with another body', () => {
    const unprocessable = view({ event: { outcome: 'unprocessable', fingerprint: 'fp-b' } });
    expect(decideRecord(unprocessable, event(), 'unprocessable').writes).toEqual([
      { to: 'event', op: 'put', outcome: 'unprocessable', guards: ['notSeenOrUnprocessable'] },
    ]);
    expect(decideRecord(unprocessable, event({ fingerprint: 'fp-c' }), 'unprocessable').result).toBe(
      'conflict',
    );
    expect(decideRecord(nothingStored, event(), 'unprocessable').writes[0]?.guards).toEqual([
      'notSeenOrUnprocessable',
    ]);
  });

  it('answers a record whose body could not be fingerprinted as the same body', () => {
    const unknown = view({ event: { outcome: 'recorded', fingerprint: undefined } });
    expect(decideRecord(unknown, event(), 'recorded').result).toBe('duplicate');
    expect(
      decideRecord(
        view({ event: { outcome: 'recorded', fingerprint: 'fp-a' } }),
        event({ fingerprint: undefined }),
        'recorded',
      ).result,
    ).toBe('duplicate');
  });

  it('lets a replay rewrite its own record, whatever it said', () => {
    const applied = view({ event: { outcome: 'applied', fingerprint: 'fp-b' } });
    expect(decideRecord(applied, event({ replay: true }), 'quarantined')).toEqual({
      result: 'quarantined',
      writes: [{ to: 'event', op: 'put', outcome: 'quarantined', guards: [] }],
    });
  });
});

describe('the reference store', () => {
  it('keeps the records as DynamoDB does: conflicts survive a replay of the kept record, a fill sets only gaps', async () => {
    const store = new MemoryEventStore();
    expect(
      await store.apply(
        event({ eventKey: 'evt-a', fingerprint: 'fp-a' }),
        jobWrite({
          eventKey: 'evt-a',
          fingerprint: 'fp-a',
          order: '2026-06-18T00:00:00.000Z',
          fields: { status: 'started' },
        }),
      ),
    ).toBe('applied');
    expect(await store.apply(event({ eventKey: 'evt-a', fingerprint: 'fp-x' }), jobWrite())).toBe('conflict');
    expect(
      await store.apply(
        event({ eventKey: 'evt-a', fingerprint: 'fp-a', replay: true }),
        jobWrite({ eventKey: 'evt-a', fingerprint: 'fp-a', order: '2026-06-18T00:00:00.000Z' }),
      ),
    ).toBe('applied');
    expect(await store.apply(event(), jobWrite())).toBe('stale');

    const { events, jobs } = store.snapshot();
    expect(events.get(eventPk('cooledge', 'evt-a'))).toMatchObject({
      outcome: 'applied',
      conflicts: new Set(['fp-x']),
      replayedAt: '2026-06-20T00:00:01.000Z',
    });
    expect(events.get(conflictPk('cooledge', 'evt-a', 'fp-x'))).toMatchObject({
      outcome: 'conflict',
      conflictsWith: 'fp-a',
    });
    expect(jobs.get(jobPk('cooledge', 'job-1'))).toMatchObject({
      status: 'started',
      description: 'done',
      customerName: 'Priya Nair',
      lastEventKey: 'evt-a',
      eventCount: 1,
      accountKey: 'cooledge#acct-1',
    });
    expect(events.get(eventPk('cooledge', 'evt-b'))?.outcome).toBe('stale');
  });

  it('forgets an expired record: the job still knows its latest event', async () => {
    const store = new MemoryEventStore();
    await store.apply(event(), jobWrite());
    store.expire(eventPk('cooledge', 'evt-b'));
    expect(
      await store.apply(
        event({ processedAt: '2026-06-21T00:00:00.000Z' }),
        jobWrite({ order: '2026-06-19T00:00:00.000Z' }),
      ),
    ).toBe('applied');
    expect(store.snapshot().jobs.get(jobPk('cooledge', 'job-1'))?.eventCount).toBe(1);
    expect(await store.apply(event({ eventKey: 'evt-b', fingerprint: 'fp-z' }), jobWrite())).toBe('conflict');
  });
});

describe('accounts: a job belongs to the first account an event names (property)', () => {
  /** One event of `job-1`: an account or none, a time, some fields. */
  const delivery = fc.record({
    account: fc.constantFrom(undefined, undefined, 'acct-a', 'acct-b'),
    minute: fc.integer({ min: 0, max: 9 }),
    fields: fc.record(
      {
        status: fc.constantFrom('scheduled', 'completed'),
        customerName: fc.constantFrom('Priya Nair', 'P. Nair'),
        total: fc.constantFrom(10, 20),
      },
      { requiredKeys: [] },
    ),
  });

  it('whatever the order: stale or applied, the first account named is the job’s, and every other is refused', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(delivery, { minLength: 1, maxLength: 6 }), async (deliveries) => {
        const store = new MemoryEventStore();
        const results: string[] = [];
        for (const [i, d] of deliveries.entries()) {
          const at = `2026-06-17T14:0${d.minute}:00.000Z`;
          const key = `evt-${i}`;
          results.push(
            await store.apply(
              event({ eventKey: key, fingerprint: `fp-${i}`, accountId: d.account }),
              jobWrite({
                eventKey: key,
                fingerprint: `fp-${i}`,
                accountId: d.account,
                order: at,
                eventAt: at,
                fields: d.fields,
              }),
            ),
          );
        }
        const first = deliveries.find((d) => d.account !== undefined)?.account;
        const job = store.snapshot().jobs.get(jobPk('cooledge', 'job-1'));
        expect(job?.accountId).toBe(first);
        deliveries.forEach((d, i) => {
          if (d.account !== undefined && d.account !== first)
            expect(results[i], `evt-${i}`).toBe('unprocessable');
          else expect(results[i], `evt-${i}`).not.toBe('unprocessable');
        });
      }),
      { numRuns: 500 },
    );
  });
});
