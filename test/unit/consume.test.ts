import { describe, expect, it } from 'vitest';
import type { JsonObject } from '#core/json';
import type { QueueMessage } from '#core/message';
import { providers } from '#providers/index';
import { eventKey } from '#providers/zenbooker';
import { type ConsumerHandlerDeps, createHandler } from '../../functions/consume/app.ts';
import { cooledgeEvent, queueMessage, zenbookerEvent } from '../support/factories.ts';
import {
  barrier,
  CountingMetrics,
  FakeStore,
  fixedClock,
  RecordingLogger,
  type StoreCall,
} from '../support/fakes.ts';
import { fixture } from '../support/fixtures.ts';
import { sqsEvent } from '../support/sqs-event.ts';

const now = '2026-06-21T08:00:00.000Z';
const receivedAt = '2026-06-20T00:00:00.000Z';

function setup(store = new FakeStore(), overrides: Partial<ConsumerHandlerDeps> = {}) {
  const logger = new RecordingLogger();
  const metrics = new CountingMetrics();
  const handler = createHandler({
    providers,
    store,
    clock: fixedClock(now),
    dedupeHorizonDays: 30,
    logger,
    metrics,
    ...overrides,
  });
  return {
    store,
    logger,
    metrics,
    /** Hands the consumer one batch of raw SQS message bodies. */
    run: (...bodies: Array<QueueMessage | string>) =>
      handler(sqsEvent(bodies.map((b) => (typeof b === 'string' ? b : JSON.stringify(b))))),
  };
}

/** The one call the store received, or a failure naming how many it got. */
function onlyCall(store: FakeStore): StoreCall {
  expect(store.calls).toHaveLength(1);
  return store.calls[0] as StoreCall;
}

describe('consumer: job events', () => {
  it('applies a Cooledge job event, ordered by its occurred_at', async () => {
    const body = cooledgeEvent('job.completed');
    const raw = JSON.stringify(body);
    const { store, run } = setup();
    const result = await run(queueMessage('cooledge', body, { headers: { 'user-agent': 'Cooledge/1' } }));

    expect(result).toEqual({ batchItemFailures: [] });
    const call = onlyCall(store);
    if (call.kind !== 'apply') throw new Error(`expected apply, got ${call.kind}`);
    expect(call.event).toEqual({
      provider: 'cooledge',
      eventKey: body.event_id,
      eventType: 'job.completed',
      accountId: 'a7f3c9d1-2e84-4b6f-8c01-5d9e2a1f7b30',
      entityIds: {
        job_id: '5c1a0e74-3d29-4b06-9f81-2e7a0c4d6b18',
        customer_id: '8c3e1a72-5d49-4b06-9f81-2e7a0c4d6b18',
      },
      occurredAt: '2026-06-17T14:38:55.904Z',
      receivedAt,
      processedAt: now,
      rawBody: raw,
      headers: { 'user-agent': 'Cooledge/1' },
      issues: undefined,
      expiresAt: Date.parse(receivedAt) / 1000 + 30 * 86_400,
      replay: false,
    });
    expect(call.job).toEqual({
      provider: 'cooledge',
      jobId: '5c1a0e74-3d29-4b06-9f81-2e7a0c4d6b18',
      accountId: 'a7f3c9d1-2e84-4b6f-8c01-5d9e2a1f7b30',
      fields: expect.objectContaining({ status: 'completed', jobNumber: '318' }),
      payload: raw,
      eventKey: body.event_id,
      eventType: 'job.completed',
      eventAt: '2026-06-17T14:38:55.904Z',
      now,
    });
  });

  it('applies a Zenbooker job event, ordered by the time it was received', async () => {
    const body = fixture('zenbooker', 'job.started.v2025');
    const { store, run } = setup();
    await run(queueMessage('zenbooker', body, { receivedAt: '2026-06-19T10:11:12.131Z' }));

    const call = onlyCall(store);
    if (call.kind !== 'apply') throw new Error(`expected apply, got ${call.kind}`);
    expect(call.job).toMatchObject({
      provider: 'zenbooker',
      jobId: '1781604223917x530184412857261400',
      accountId: '1571029418512x639482157734019100',
      eventKey: eventKey(body),
      eventType: 'job.started',
      eventAt: '2026-06-19T10:11:12.131Z',
      fields: expect.objectContaining({
        status: 'started',
        address: '88 Orchard St, New York, NY 10002, USA',
      }),
    });
    expect(call.event.occurredAt).toBeUndefined();
  });

  it('keeps the raw bytes exactly as they were received', async () => {
    const raw = `{ "event_id" : "evt-spaced",\n  ${JSON.stringify(cooledgeEvent())
      .slice(1)
      .replace(/"event_id":"[^"]+",/, '')}`;
    const message = queueMessage('cooledge', cooledgeEvent(), {
      eventKey: 'evt-spaced',
      bodyBase64: Buffer.from(raw).toString('base64'),
    });
    const { store, run } = setup();
    await run(message);
    const call = onlyCall(store);
    expect(call.event.rawBody).toBe(raw);
    expect(call.kind === 'apply' && call.job.payload).toBe(raw);
  });
});

describe('consumer: events that only go to the event log', () => {
  it.each<[string, () => ['cooledge' | 'zenbooker', JsonObject]]>([
    ['a Cooledge lead', () => ['cooledge', fixture('cooledge', 'lead.created')]],
    [
      'a Cooledge booking without a job',
      () => ['cooledge', cooledgeEvent('booking.created', { job_id: null })],
    ],
    [
      'an unknown Cooledge event type',
      () => ['cooledge', cooledgeEvent('lead.created', { event_type: 'estimate.viewed' })],
    ],
    [
      'a Zenbooker customer event',
      () => [
        'zenbooker',
        { account: 'acc-1', event: 'customer.created', retry_count: 0, data: { id: 'c-1' } },
      ],
    ],
  ])('records %s', async (_, build) => {
    const [provider, body] = build();
    const { store, metrics, run } = setup();
    const result = await run(queueMessage(provider, body));

    expect(result.batchItemFailures).toEqual([]);
    const call = onlyCall(store);
    expect(call).toMatchObject({ kind: 'record', outcome: 'recorded', event: { issues: undefined } });
    expect(metrics.get('Recorded')).toBe(1);
  });
});

describe('consumer: quarantined events', () => {
  it('records a message that arrived with issues as quarantined, with those issues', async () => {
    const body = cooledgeEvent('job.completed', { job_id: 12 });
    const issues = [{ path: 'job_id', message: 'expected string' }];
    const { store, metrics, run } = setup();
    await run(queueMessage('cooledge', body, { issues }));

    expect(onlyCall(store)).toMatchObject({
      kind: 'record',
      outcome: 'quarantined',
      event: { issues, accountId: body.business_id, eventKey: body.event_id },
    });
    expect(metrics.get('QuarantineRecorded')).toBe(1);
  });

  it('trusts the issues found at ingest, even if the body would pass today', async () => {
    const issues = [{ path: 'status', message: 'expected string' }];
    const { store, run } = setup();
    await run(queueMessage('cooledge', cooledgeEvent(), { issues }));
    expect(onlyCall(store)).toMatchObject({ kind: 'record', outcome: 'quarantined', event: { issues } });
  });

  it('quarantines a body that fails the schema it is consumed under', async () => {
    const { store, run } = setup();
    await run(queueMessage('zenbooker', zenbookerEvent('job.completed', { data: { id: 99 } })));
    expect(onlyCall(store)).toMatchObject({
      kind: 'record',
      outcome: 'quarantined',
      event: { issues: [{ path: 'data.id' }], accountId: '1571029418512x639482157734019100' },
    });
  });

  it('validates a replayed quarantined event again, so a schema fix lets it through', async () => {
    const { store, run } = setup();
    await run(
      queueMessage('cooledge', cooledgeEvent(), {
        issues: [{ path: 'status', message: 'expected string' }],
        replay: true,
      }),
    );
    expect(onlyCall(store)).toMatchObject({ kind: 'apply', event: { replay: true, issues: undefined } });
  });
});

describe('consumer: dedupe horizon', () => {
  it('expires the event log record the configured number of days after it was received', async () => {
    const { store, run } = setup(new FakeStore(), { dedupeHorizonDays: 7 });
    await run(queueMessage('cooledge', cooledgeEvent(), { receivedAt: '2026-06-20T12:34:56.789Z' }));
    expect(onlyCall(store).event.expiresAt).toBe(
      Math.floor(Date.parse('2026-06-20T12:34:56.789Z') / 1000) + 7 * 86_400,
    );
  });

  it('keeps the event log record forever when the horizon is 0', async () => {
    const { store, run } = setup(new FakeStore(), { dedupeHorizonDays: 0 });
    await run(queueMessage('cooledge', cooledgeEvent()));
    expect(onlyCall(store).event.expiresAt).toBeUndefined();
  });
});

describe('consumer: poison messages fail their own record', () => {
  it.each<[string, string | QueueMessage]>([
    ['is not JSON', 'not json at all'],
    ['is JSON but not a message', '{"hello":"world"}'],
    ['has an unknown version', { ...queueMessage('cooledge', cooledgeEvent()), v: 2 as 1 }],
    [
      'has no body',
      { ...queueMessage('cooledge', cooledgeEvent()), bodyBase64: undefined as unknown as string },
    ],
    ['has a bad receive time', queueMessage('cooledge', cooledgeEvent(), { receivedAt: 'yesterday' })],
    ['names an unknown provider', queueMessage('cooledge', cooledgeEvent(), { provider: 'jobber' })],
    [
      'carries a body that is not JSON',
      queueMessage('cooledge', cooledgeEvent(), { bodyBase64: Buffer.from('not json').toString('base64') }),
    ],
  ])('fails a message that %s, and only that one', async (_, poison) => {
    const { store, metrics, logger, run } = setup();
    const result = await run(
      queueMessage('cooledge', cooledgeEvent()),
      poison,
      queueMessage('cooledge', cooledgeEvent()),
    );

    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'msg-1' }] });
    expect(store.calls).toHaveLength(2);
    expect(metrics.get('RecordFailed')).toBe(1);
    expect(metrics.get('Applied')).toBe(2);
    expect(logger.entries).toContainEqual(
      expect.objectContaining({
        level: 'error',
        message: 'event failed',
        data: expect.objectContaining({ messageId: 'msg-1', error: 'PoisonMessageError' }),
      }),
    );
  });
});

describe('consumer: partial batch responses', () => {
  it('reports only the record whose store write failed', async () => {
    const failing = cooledgeEvent();
    const store = new FakeStore((call) => {
      if (call.event.eventKey === failing.event_id) throw new Error('TransactionCanceledException');
      return 'applied';
    });
    const { metrics, logger, run } = setup(store);
    const result = await run(
      queueMessage('cooledge', cooledgeEvent()),
      queueMessage('cooledge', failing),
      queueMessage('cooledge', cooledgeEvent()),
      queueMessage('cooledge', failing),
    );

    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'msg-1' }, { itemIdentifier: 'msg-3' }] });
    expect(store.calls).toHaveLength(4);
    expect(metrics.get('Applied')).toBe(2);
    expect(metrics.get('RecordFailed')).toBe(2);
    expect(logger.entries.filter((e) => e.level === 'error')).toHaveLength(2);
  });

  it('does not log the message of a store error, only its class', async () => {
    const error = new Error('ConditionalCheckFailed on item containing Priya Nair');
    error.name = 'ThrottlingException';
    const { logger, run } = setup(
      new FakeStore(() => {
        throw error;
      }),
    );
    const result = await run(queueMessage('cooledge', cooledgeEvent()));
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'msg-0' }]);
    expect(logger.text()).toContain('ThrottlingException');
    expect(logger.text()).not.toContain('Priya');
  });

  it('never logs the body of a record', async () => {
    const marker = 'CONSUMER-PRIVATE-MARKER';
    const { logger, run } = setup();
    await run(
      queueMessage('cooledge', cooledgeEvent('job.completed', { description: marker })),
      queueMessage('cooledge', cooledgeEvent('job.completed', { job_id: 1, description: marker }), {
        issues: [{ path: 'job_id', message: 'expected string' }],
      }),
      'garbage',
    );
    expect(logger.entries).toHaveLength(3);
    expect(logger.text()).not.toContain(marker);
  });

  it('processes the records of a batch concurrently', async () => {
    const size = 5;
    const everyoneIn = barrier(size, 250);
    const store = new FakeStore(async (call) => {
      await everyoneIn.arrive();
      return call.kind === 'apply' ? 'applied' : call.outcome;
    });
    const { run } = setup(store);
    const messages = Array.from({ length: size }, () => queueMessage('cooledge', cooledgeEvent()));

    const result = await run(...messages);
    expect(everyoneIn.arrived()).toBe(size);
    expect(result).toEqual({ batchItemFailures: [] });
  });

  it('counts one metric per outcome and flushes once per batch', async () => {
    const outcomes = ['applied', 'stale', 'duplicate', 'applied'] as const;
    const keys = outcomes.map(() => cooledgeEvent());
    const store = new FakeStore((call) =>
      call.kind === 'record'
        ? call.outcome
        : (outcomes[keys.findIndex((k) => k.event_id === call.event.eventKey)] ?? 'applied'),
    );
    const { metrics, run } = setup(store);
    await run(
      ...keys.map((body) => queueMessage('cooledge', body)),
      queueMessage('cooledge', fixture('cooledge', 'lead.created')),
      queueMessage('cooledge', cooledgeEvent(), { issues: [{ path: 'x', message: 'expected y' }] }),
      'poison',
    );
    expect(Object.fromEntries(metrics.counts)).toEqual({
      Applied: 2,
      Stale: 1,
      Duplicate: 1,
      Recorded: 1,
      QuarantineRecorded: 1,
      RecordFailed: 1,
    });
    expect(metrics.flushes).toBe(1);
  });

  it('answers an empty batch with no failures', async () => {
    const { store, run } = setup();
    expect(await run()).toEqual({ batchItemFailures: [] });
    expect(store.calls).toEqual([]);
  });
});
