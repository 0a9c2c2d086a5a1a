import { createHash, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type EventStore, PermanentStoreError } from '#core/consume';
import { canonicalJson, type JsonObject } from '#core/json';
import { storableNumberExpectation } from '#core/limits';
import type { QueueMessage } from '#core/message';
import type { Provider } from '#core/provider';
import { readBody } from '#core/records';
import { otherAccountReason } from '#core/rules';
import { cooledge } from '#providers/cooledge';
import { providers } from '#providers/index';
import { eventKey } from '#providers/zenbooker';
import { type ConsumerHandlerDeps, createHandler } from '../../functions/consume/app.ts';
import { TallyMetrics } from '../../local/log.ts';
import {
  cooledgeEvent,
  jsonWithNumbers,
  numberToken,
  queueMessage,
  zenbookerEvent,
} from '../support/factories.ts';
import {
  barrier,
  FakeStore,
  fixedClock,
  RecordingLogger,
  RecordingStore,
  type StoreCall,
} from '../support/fakes.ts';
import { fixture } from '../support/fixtures.ts';
import { sqsEvent } from '../support/sqs-event.ts';
import { testProvider } from '../support/test-provider.ts';

const now = '2026-06-21T08:00:00.000Z';
const receivedAt = '2026-06-20T00:00:00.000Z';

/**
 * The consumer over a store: by default the reference store (the rules themselves) behind a record
 * of the calls; a `FakeStore` where a test injects what the reference never does (faults, delays).
 */
function setup<Store extends EventStore = RecordingStore>(
  store: Store = new RecordingStore() as unknown as Store,
  overrides: Partial<ConsumerHandlerDeps> = {},
) {
  const logger = new RecordingLogger();
  const metrics = new TallyMetrics();
  const handler = createHandler({
    providers,
    store,
    clock: fixedClock(now),
    dedupeHorizonDays: 30,
    eventTimeSkewSeconds: 300,
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

/** A Cooledge job event of a job of its own: applied, whatever else the batch holds. */
const ofNewJob = () => cooledgeEvent('job.completed', { job_id: randomUUID() });

/** Events the consumer logged as ending with `outcome`: per-event counts are log lines, not metrics. */
const processed = (logger: RecordingLogger, outcome: string) =>
  logger.entries.filter((e) => e.message === 'event processed' && e.data?.outcome === outcome).length;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The one call the store received, or a failure naming how many it got. */
function onlyCall(store: { calls: StoreCall[] }): StoreCall {
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
      fingerprint: sha256(canonicalJson(body)),
      headers: { 'user-agent': 'Cooledge/1' },
      issues: undefined,
      expiresAt: Date.parse(receivedAt) / 1000 + 30 * 86_400,
      replay: false,
    });
    expect(Object.keys(call.event)).not.toContain('reason');
    expect(call.job).toEqual({
      provider: 'cooledge',
      jobId: '5c1a0e74-3d29-4b06-9f81-2e7a0c4d6b18',
      accountId: 'a7f3c9d1-2e84-4b6f-8c01-5d9e2a1f7b30',
      fields: expect.objectContaining({ status: 'completed', jobNumber: '318' }),
      eventKey: body.event_id,
      eventType: 'job.completed',
      // The job keeps the fingerprint of the body that set it.
      fingerprint: call.event.fingerprint,
      // Ordered by its own time.
      order: '2026-06-17T14:38:55.904Z',
      stage: undefined,
      eventAt: '2026-06-17T14:38:55.904Z',
      now,
    });
    // Cooledge events carry their own time: no lifecycle stage.
    expect(call.job.stage).toBeUndefined();
  });

  it('applies a Zenbooker started job, ordered by its stage and the time it started', async () => {
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
      stage: 3,
      // Stage, then the time it started, then the receive time.
      order: '3.2026-06-17T13:07:41.220Z.2026-06-19T10:11:12.131Z',
      eventAt: '2026-06-17T13:07:41.220Z',
      fields: expect.objectContaining({
        status: 'started',
        address: '88 Orchard St, New York, NY 10002, USA',
      }),
    });
    expect(call.event.occurredAt).toBe('2026-06-17T13:07:41.220Z');
    // The Zenbooker key is the fingerprint.
    expect(call.event.fingerprint).toBe(eventKey(body));
  });

  it('applies a Zenbooker job without a time for its stage, ordered by the time it was received', async () => {
    const body = fixture('zenbooker', 'job.completed');
    const { store, run } = setup();
    await run(queueMessage('zenbooker', body, { receivedAt: '2026-06-19T10:11:12.131Z' }));

    const call = onlyCall(store);
    if (call.kind !== 'apply') throw new Error(`expected apply, got ${call.kind}`);
    expect(call.job).toMatchObject({
      stage: 4,
      order: '4.-.2026-06-19T10:11:12.131Z',
      eventAt: '2026-06-19T10:11:12.131Z',
    });
    expect(call.event.occurredAt).toBeUndefined();
  });

  it('writes text fields well-formed: a lone surrogate, or a pair cut in two by the clip, becomes U+FFFD', async () => {
    const body = cooledgeEvent('job.completed', {
      customer_name: 'Priya\ud800 Nair',
      customer_email: `${'x'.repeat(255)}😀`,
    });
    const { store, run } = setup();
    await run(queueMessage('cooledge', body));
    const call = onlyCall(store);
    if (call.kind !== 'apply') throw new Error(`expected apply, got ${call.kind}`);
    expect(call.job.fields.customerName).toBe('Priya\ufffd Nair');
    expect(call.job.fields.customerEmail).toBe(`${'x'.repeat(255)}\ufffd`);
    // The raw body keeps the text as it was sent.
    expect(call.event.rawBody).toBe(JSON.stringify(body));
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
    const { store, logger, run } = setup();
    const result = await run(queueMessage(provider, body));

    expect(result.batchItemFailures).toEqual([]);
    const call = onlyCall(store);
    expect(call).toMatchObject({ kind: 'record', outcome: 'recorded', event: { issues: undefined } });
    expect(processed(logger, 'recorded')).toBe(1);
  });
});

describe('consumer: quarantined events', () => {
  it('records a message that arrived with issues as quarantined, with those issues', async () => {
    const body = cooledgeEvent('job.completed', { job_id: 12 });
    const issues = [{ path: 'job_id', message: 'expected string' }];
    const { store, logger, run } = setup();
    await run(queueMessage('cooledge', body, { issues }));

    expect(onlyCall(store)).toMatchObject({
      kind: 'record',
      outcome: 'quarantined',
      event: { issues, accountId: body.business_id, eventKey: body.event_id },
    });
    expect(processed(logger, 'quarantined')).toBe(1);
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
    const { store, run } = setup(new RecordingStore(), { dedupeHorizonDays: 7 });
    await run(queueMessage('cooledge', cooledgeEvent(), { receivedAt: '2026-06-20T12:34:56.789Z' }));
    expect(onlyCall(store).event.expiresAt).toBe(
      Math.floor(Date.parse('2026-06-20T12:34:56.789Z') / 1000) + 7 * 86_400,
    );
  });

  it('keeps the event log record forever when the horizon is 0', async () => {
    const { store, run } = setup(new RecordingStore(), { dedupeHorizonDays: 0 });
    await run(queueMessage('cooledge', cooledgeEvent()));
    expect(onlyCall(store).event.expiresAt).toBeUndefined();
  });
});

describe('consumer: poison messages fail their own record', () => {
  it.each<[string, string | QueueMessage, string]>([
    ['is not JSON', 'not json at all', 'PoisonMessageError: message is not JSON'],
    [
      'is JSON but not a message',
      '{"hello":"world"}',
      'PoisonMessageError: message does not match the queue schema at v',
    ],
    [
      'has an unknown version',
      { ...queueMessage('cooledge', cooledgeEvent()), v: 2 as 1 },
      'PoisonMessageError: message does not match the queue schema at v',
    ],
    [
      'has no body',
      { ...queueMessage('cooledge', cooledgeEvent()), bodyBase64: undefined as unknown as string },
      'PoisonMessageError: message does not match the queue schema at bodyBase64',
    ],
    [
      'has a bad receive time',
      queueMessage('cooledge', cooledgeEvent(), { receivedAt: 'yesterday' }),
      'PoisonMessageError: message does not match the queue schema at receivedAt',
    ],
  ])('fails a message that %s, and only that one', async (_, poison, error) => {
    const { store, metrics, logger, run } = setup();
    const result = await run(
      queueMessage('cooledge', ofNewJob()),
      poison,
      queueMessage('cooledge', ofNewJob()),
    );

    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'msg-1' }] });
    expect(store.calls).toHaveLength(2);
    expect(metrics.get('RecordFailed')).toBe(1);
    expect(processed(logger, 'applied')).toBe(2);
    expect(logger.entries).toContainEqual({
      level: 'error',
      message: 'event failed',
      data: { messageId: 'msg-1', receiveCount: '1', error },
    });
  });
});

describe('consumer: a readable message whose event cannot be processed is kept as unprocessable', () => {
  it.each<[string, QueueMessage, string]>([
    [
      'names a provider that is not configured',
      queueMessage('cooledge', cooledgeEvent(), { provider: 'jobber' }),
      "Error: the message's provider is not configured in this deployment",
    ],
    [
      'carries a body that is not JSON',
      queueMessage('cooledge', cooledgeEvent(), { bodyBase64: Buffer.from('not json').toString('base64') }),
      'Error: message body unreadable: body is not valid JSON',
    ],
    [
      'carries a body that is not a JSON object',
      queueMessage('cooledge', cooledgeEvent(), { bodyBase64: Buffer.from('[1,2]').toString('base64') }),
      'Error: message body unreadable: body must be a JSON object',
    ],
  ])('records a message that %s, with its reason, and fails nothing', async (_, message, reason) => {
    const { store, metrics, logger, run } = setup();
    const result = await run(
      queueMessage('cooledge', ofNewJob()),
      message,
      queueMessage('cooledge', ofNewJob()),
    );

    expect(result).toEqual({ batchItemFailures: [] });
    const recorded = store.calls.filter((call) => call.kind === 'record');
    expect(recorded).toEqual([
      {
        kind: 'record',
        outcome: 'unprocessable',
        event: expect.objectContaining({
          provider: message.provider,
          eventKey: message.eventKey,
          eventType: message.eventType,
          receivedAt: message.receivedAt,
          rawBody: Buffer.from(message.bodyBase64, 'base64').toString('utf8'),
          reason,
        }),
      },
    ]);
    expect(metrics.get('Unprocessable')).toBe(1);
    expect(metrics.get('RecordFailed')).toBe(0);
    expect(processed(logger, 'applied')).toBe(2);
    expect(logger.entries).toContainEqual({
      level: 'error',
      message: 'event unprocessable',
      data: { provider: message.provider, eventKey: message.eventKey, eventType: message.eventType, reason },
    });
  });
});

describe('consumer: a store that refuses an event for good', () => {
  const refusal = () =>
    new PermanentStoreError(
      'ValidationException: One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of 2048 bytes',
    );
  // A store's refusal already describes what was refused (see DynamoEventStore): kept as it says it.
  const reason =
    'ValidationException: One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of 2048 bytes';

  it('records the event as unprocessable with the reason, counts it, and fails nothing', async () => {
    const body = cooledgeEvent('job.completed');
    const store = new FakeStore((call) => {
      if (call.kind === 'apply') throw refusal();
      return call.outcome;
    });
    const { metrics, logger, run } = setup(store);
    const result = await run(queueMessage('cooledge', body));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(store.calls.map((call) => call.kind)).toEqual(['apply', 'record']);
    const [applied, recorded] = store.calls as [StoreCall, StoreCall];
    expect(recorded).toEqual({
      kind: 'record',
      outcome: 'unprocessable',
      event: { ...applied.event, reason },
    });
    // Kept whole, so it can be replayed after a fix.
    expect(recorded.event.rawBody).toBe(JSON.stringify(body));
    expect(recorded.event.fingerprint).toBe(sha256(canonicalJson(body)));
    expect(metrics.get('Unprocessable')).toBe(1);
    expect(metrics.get('RecordFailed')).toBe(0);
    expect(logger.entries).toContainEqual({
      level: 'error',
      message: 'event unprocessable',
      data: { provider: 'cooledge', eventKey: body.event_id, eventType: 'job.completed', reason },
    });
    expect(logger.entries).toContainEqual(
      expect.objectContaining({ level: 'info', data: expect.objectContaining({ outcome: 'unprocessable' }) }),
    );
  });

  it('writes a record without the body, with its SHA-256, when the full record is refused too, and fails the message', async () => {
    const body = cooledgeEvent('job.completed');
    const raw = JSON.stringify(body);
    const store = new FakeStore((call) => {
      if (call.kind === 'apply') throw refusal();
      if (call.event.rawBody !== undefined) throw new PermanentStoreError('the item cannot be marshalled');
      return call.outcome;
    });
    const { metrics, logger, run } = setup(store);
    const result = await run(queueMessage('cooledge', body));

    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'msg-0' }] });
    expect(store.calls.map((call) => call.kind)).toEqual(['apply', 'record', 'record']);
    const minimal = store.calls[2] as StoreCall;
    const combined = `${reason}; the record with the body was refused too: the item cannot be marshalled`;
    expect(minimal).toMatchObject({
      kind: 'record',
      outcome: 'unprocessable',
      event: {
        provider: 'cooledge',
        eventKey: body.event_id,
        bodySha256: sha256(raw),
        entityIds: {},
        issues: undefined,
        reason: combined,
      },
    });
    expect(minimal.event.rawBody).toBeUndefined();
    expect(metrics.get('RecordFailed')).toBe(1);
    expect(metrics.get('Unprocessable')).toBe(0);
    expect(logger.entries).toContainEqual({
      level: 'error',
      message: 'event failed',
      data: { messageId: 'msg-0', receiveCount: '1', error: `UnstorableEventError: ${combined}` },
    });
    expect(logger.text()).not.toContain(raw);
  });

  it('fails the message when even the record without the body is refused', async () => {
    const store = new FakeStore((call) => {
      if (call.kind === 'apply') throw refusal();
      throw new PermanentStoreError('ValidationException: Item size has exceeded the maximum allowed size');
    });
    const { metrics, logger, run } = setup(store);
    const result = await run(queueMessage('cooledge', cooledgeEvent()));

    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'msg-0' }] });
    expect(store.calls.map((call) => call.kind)).toEqual(['apply', 'record', 'record']);
    expect(metrics.get('RecordFailed')).toBe(1);
    expect(logger.entries).toContainEqual(
      expect.objectContaining({
        message: 'event failed',
        data: expect.objectContaining({ error: expect.stringMatching(/^UnstorableEventError: /) }),
      }),
    );
  });

  it('fails the message, without recording it, on a transient store error', async () => {
    const throttled = Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
      name: 'ThrottlingException',
    });
    const store = new FakeStore(() => {
      throw throttled;
    });
    const { metrics, logger, run } = setup(store);
    const result = await run(queueMessage('cooledge', cooledgeEvent()));

    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'msg-0' }] });
    expect(store.calls.map((call) => call.kind)).toEqual(['apply']);
    expect(metrics.get('RecordFailed')).toBe(1);
    expect(metrics.get('Unprocessable')).toBe(0);
    expect(logger.entries).toContainEqual(
      expect.objectContaining({
        data: expect.objectContaining({
          error: 'ThrottlingException: Rate of requests exceeds the allowed throughput.',
        }),
      }),
    );
  });

  it('fails the message when recording it as unprocessable meets a transient error', async () => {
    const store = new FakeStore((call) => {
      if (call.kind === 'apply') throw refusal();
      throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    });
    const { logger, run } = setup(store);
    const result = await run(queueMessage('cooledge', cooledgeEvent()));

    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'msg-0' }] });
    expect(store.calls.map((call) => call.kind)).toEqual(['apply', 'record']);
    expect(logger.entries).toContainEqual(
      expect.objectContaining({
        message: 'event failed',
        data: expect.objectContaining({ error: 'Error (ECONNRESET): socket hang up' }),
      }),
    );
  });

  it('records a quarantined event the store refuses as unprocessable', async () => {
    const store = new FakeStore((call) => {
      if (call.kind === 'record' && call.outcome === 'quarantined') throw refusal();
      return call.kind === 'record' ? call.outcome : 'applied';
    });
    const { metrics, run } = setup(store);
    const issues = [{ path: 'job_id', message: 'expected string' }];
    await run(queueMessage('cooledge', cooledgeEvent('job.completed', { job_id: 7 }), { issues }));

    expect(store.calls.map((call) => call.kind === 'record' && call.outcome)).toEqual([
      'quarantined',
      'unprocessable',
    ]);
    expect(store.calls[1]?.event).toMatchObject({ issues, reason });
    expect(metrics.get('Unprocessable')).toBe(1);
  });
});

describe('consumer: a provider mapping that throws', () => {
  /** The real providers, but `name`'s `method` throws `error`: a mapping bug, as pure code meets it. */
  function breaking(method: 'describe' | 'validate', error: Error): ReadonlyMap<string, Provider> {
    const broken: Provider = {
      ...(cooledge as Provider),
      [method]: () => {
        throw error;
      },
    };
    return new Map([...providers, ['cooledge', broken]]);
  }

  it('records the event as unprocessable when describe throws, and fails nothing', async () => {
    const body = cooledgeEvent('job.completed');
    const error = new TypeError("Cannot read properties of undefined (reading 'job_id')");
    const { store, metrics, logger, run } = setup(new RecordingStore(), {
      providers: breaking('describe', error),
    });
    const result = await run(queueMessage('cooledge', body), queueMessage('zenbooker', zenbookerEvent()));

    expect(result).toEqual({ batchItemFailures: [] });
    const reason = "TypeError: Cannot read properties of undefined (reading 'job_id')";
    expect(store.calls).toContainEqual({
      kind: 'record',
      outcome: 'unprocessable',
      event: expect.objectContaining({
        provider: 'cooledge',
        eventKey: body.event_id,
        rawBody: JSON.stringify(body),
        reason,
      }),
    });
    expect(store.calls.filter((call) => call.kind === 'apply').map((call) => call.event.provider)).toEqual([
      'zenbooker',
    ]);
    expect(metrics.get('Unprocessable')).toBe(1);
    expect(processed(logger, 'applied')).toBe(1);
    expect(logger.entries).toContainEqual({
      level: 'error',
      message: 'event unprocessable',
      data: { provider: 'cooledge', eventKey: body.event_id, eventType: 'job.completed', reason },
    });
  });

  it('logs the code of the error a mapping throws', async () => {
    const error = Object.assign(new RangeError('Invalid time value'), { code: 'ERR_INVALID_DATE' });
    const { logger, run } = setup(new RecordingStore(), { providers: breaking('validate', error) });
    await run(queueMessage('cooledge', cooledgeEvent()));
    expect(logger.entries).toContainEqual(
      expect.objectContaining({
        message: 'event unprocessable',
        data: expect.objectContaining({ reason: 'RangeError (ERR_INVALID_DATE): Invalid time value' }),
      }),
    );
  });
});

describe('consumer: admission, as at ingest', () => {
  const eventTimeIssue = {
    path: 'event time',
    message: 'expected an event time at most 300 s after the event was received',
  };

  it('quarantines an event whose occurred_at is more than the skew after its receipt', async () => {
    const body = cooledgeEvent('job.completed', { occurred_at: '2026-06-20T00:05:01.000Z' });
    const { store, logger, run } = setup();
    await run(queueMessage('cooledge', body, { receivedAt: '2026-06-20T00:00:00.000Z' }));
    expect(onlyCall(store)).toMatchObject({
      kind: 'record',
      outcome: 'quarantined',
      event: { issues: [eventTimeIssue], fingerprint: sha256(canonicalJson(body)) },
    });
    expect(processed(logger, 'quarantined')).toBe(1);
  });

  it('applies an event whose occurred_at is within the skew after its receipt', async () => {
    const body = cooledgeEvent('job.completed', { occurred_at: '2026-06-20T00:05:00.000Z' });
    const { store, run } = setup();
    await run(queueMessage('cooledge', body, { receivedAt: '2026-06-20T00:00:00.000Z' }));
    expect(onlyCall(store)).toMatchObject({ kind: 'apply', job: { eventAt: '2026-06-20T00:05:00.000Z' } });
  });

  it('judges a replay against the time it runs: an event the clock has overtaken is applied', async () => {
    // Received a day before `now`, occurred an hour before `now`: ahead of its receipt, not of now.
    const body = cooledgeEvent('job.completed', { occurred_at: '2026-06-21T07:00:00.000Z' });
    const first = setup();
    await first.run(queueMessage('cooledge', body, { receivedAt }));
    expect(onlyCall(first.store)).toMatchObject({
      outcome: 'quarantined',
      event: { issues: [eventTimeIssue] },
    });

    const replayed = setup();
    await replayed.run(
      queueMessage('cooledge', body, { receivedAt, issues: [eventTimeIssue], replay: true }),
    );
    expect(onlyCall(replayed.store)).toMatchObject({
      kind: 'apply',
      event: { replay: true, issues: undefined },
      job: { eventAt: '2026-06-21T07:00:00.000Z' },
    });
  });

  it('quarantines a replay whose event time is still ahead of the time it runs', async () => {
    const body = cooledgeEvent('job.completed', { occurred_at: '2026-06-21T08:05:01.000Z' });
    const { store, run } = setup();
    await run(queueMessage('cooledge', body, { receivedAt, replay: true }));
    expect(onlyCall(store)).toMatchObject({ outcome: 'quarantined', event: { issues: [eventTimeIssue] } });
  });

  it('judges a replay against its receipt when that is later than the clock', async () => {
    const body = cooledgeEvent('job.completed', { occurred_at: '2026-06-22T00:04:00.000Z' });
    const { store, run } = setup();
    await run(queueMessage('cooledge', body, { receivedAt: '2026-06-22T00:00:00.000Z', replay: true }));
    expect(onlyCall(store)).toMatchObject({ kind: 'apply' });
  });

  it('quarantines a body whose money field a double does not hold exactly', async () => {
    const raw = jsonWithNumbers(
      cooledgeEvent('invoice.paid', { total: numberToken('1e16'), occurred_at: receivedAt }),
    );
    const { store, run } = setup();
    await run(
      queueMessage('cooledge', JSON.parse(raw) as JsonObject, {
        bodyBase64: Buffer.from(raw).toString('base64'),
      }),
    );
    const call = onlyCall(store);
    expect(call).toMatchObject({
      kind: 'record',
      outcome: 'quarantined',
      event: { issues: [{ path: 'total', message: `expected ${storableNumberExpectation}` }] },
    });
    expect(call.event.rawBody).toBe(raw);
  });

  it('quarantines a replayed booking whose job_id is over 1024 UTF-8 bytes again', async () => {
    const { store, run } = setup();
    await run(
      queueMessage('cooledge', cooledgeEvent('booking.created', { job_id: '工'.repeat(700) }), {
        replay: true,
      }),
    );
    expect(onlyCall(store)).toMatchObject({
      outcome: 'quarantined',
      event: {
        issues: expect.arrayContaining([
          {
            path: 'job id',
            message: 'expected an id that is non-empty, well-formed Unicode and at most 1024 UTF-8 bytes',
          },
        ]),
      },
    });
  });
});

describe('consumer: what the rules answer, through the reference store', () => {
  it('counts another body under a known key as a conflict, keeping it beside the first', async () => {
    const { store, metrics, logger, run } = setup();
    const first = cooledgeEvent('job.completed', { job_id: randomUUID() });
    const second = { ...first, description: 'another body' };
    await run(queueMessage('cooledge', first));
    expect(await run(queueMessage('cooledge', second))).toEqual({ batchItemFailures: [] });
    expect(metrics.get('Conflict')).toBe(1);
    const kept = store.event('cooledge', first.event_id as string);
    expect(kept).toMatchObject({ outcome: 'applied' });
    expect(kept && readBody(kept)).toBe(JSON.stringify(first));
    const [fingerprint] = [...((kept?.conflicts as Set<string> | undefined) ?? [])];
    expect(fingerprint).toBe(sha256(canonicalJson(second)));
    const conflict = store.event('cooledge', `${first.event_id}#conflict#${fingerprint}`);
    expect(conflict).toMatchObject({ outcome: 'conflict', conflictsWith: kept?.fingerprint });
    expect(conflict && readBody(conflict)).toBe(JSON.stringify(second));
    // The same second body again: already kept, a duplicate.
    await run(queueMessage('cooledge', second));
    expect(metrics.get('Conflict')).toBe(1);
    expect(processed(logger, 'duplicate')).toBe(1);
  });

  it('records an older event as stale, filling only the fields the job lacks', async () => {
    const { store, logger, run } = setup();
    const jobId = randomUUID();
    const newer = cooledgeEvent('job.completed', { job_id: jobId, customer_phone: null });
    const older = cooledgeEvent('booking.created', {
      job_id: jobId,
      occurred_at: '2026-06-10T09:00:00.000Z',
      customer_name: 'Old Name',
    });
    await run(queueMessage('cooledge', newer), queueMessage('cooledge', older));
    expect(processed(logger, 'stale')).toBe(1);
    expect(store.job('cooledge', jobId)).toMatchObject({
      status: 'completed',
      customerName: 'Priya Nair',
      customerPhone: '+61498765432',
      scheduledStart: '2026-06-20T23:00:00.000Z',
      lastEventKey: newer.event_id,
      eventCount: 1,
    });
    expect(store.event('cooledge', older.event_id as string)?.outcome).toBe('stale');
  });
});

describe('consumer: a job never moves from one account to another', () => {
  const jobId = '5c1a0e74-3d29-4b06-9f81-2e7a0c4d6b18';
  const ours = 'a7f3c9d1-2e84-4b6f-8c01-5d9e2a1f7b30';
  const theirs = '0b8e2f4c-91d3-4a57-b6e0-3c7d5a9f1e24';

  it('records an event naming another business as unprocessable, counted and logged, and leaves the job alone', async () => {
    const { store, metrics, logger, run } = setup();
    const first = cooledgeEvent('job.completed', { job_id: jobId, business_id: ours });
    const other = cooledgeEvent('job.completed', {
      job_id: jobId,
      business_id: theirs,
      status: 'reopened',
      occurred_at: '2026-06-19T00:00:00.000Z',
    });
    // Older than the job's state: refused all the same, never filling a field of another business's job.
    const otherOlder = cooledgeEvent('booking.created', {
      job_id: jobId,
      business_id: theirs,
      occurred_at: '2026-06-01T00:00:00.000Z',
    });
    await run(queueMessage('cooledge', first));
    const before = store.job('cooledge', jobId);
    const result = await run(queueMessage('cooledge', other), queueMessage('cooledge', otherOlder));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(metrics.get('Unprocessable')).toBe(2);
    expect(processed(logger, 'applied')).toBe(1);
    expect(store.job('cooledge', jobId)).toEqual(before);
    expect(store.event('cooledge', other.event_id as string)).toMatchObject({
      outcome: 'unprocessable',
      accountId: theirs,
      reason: otherAccountReason,
    });
    expect(readBody(store.event('cooledge', other.event_id as string) ?? {})).toBe(JSON.stringify(other));
    expect(store.event('cooledge', otherOlder.event_id as string)?.outcome).toBe('unprocessable');
    expect(logger.entries).toContainEqual({
      level: 'error',
      message: 'event unprocessable',
      data: {
        provider: 'cooledge',
        eventKey: other.event_id,
        eventType: 'job.completed',
        reason: otherAccountReason,
      },
    });
    expect(logger.text()).not.toContain(ours);
  });

  it('answers a redelivery as a duplicate, and refuses a replay again while the job is another account’s', async () => {
    const { store, metrics, logger, run } = setup();
    const other = cooledgeEvent('job.completed', { job_id: jobId, business_id: theirs });
    await run(queueMessage('cooledge', cooledgeEvent('job.completed', { job_id: jobId, business_id: ours })));
    const before = store.job('cooledge', jobId);
    await run(queueMessage('cooledge', other));
    await run(queueMessage('cooledge', other));
    expect(processed(logger, 'duplicate')).toBe(1);

    await run(queueMessage('cooledge', other, { replay: true }));
    expect(metrics.get('Unprocessable')).toBe(2);
    expect(store.event('cooledge', other.event_id as string)).toMatchObject({
      outcome: 'unprocessable',
      reason: otherAccountReason,
      replayedAt: now,
    });
    expect(store.job('cooledge', jobId)).toEqual(before);
  });

  it('lets a job without an account take the first one named, and an event naming none touch any job', async () => {
    const { store, metrics, logger, run } = setup(new RecordingStore(), {
      providers: new Map([...providers, ['test', testProvider]]),
    });
    const at = (minute: number) => `2026-06-19T10:0${minute}:00.000Z`;
    const event = (id: string, minute: number, status: string, account?: string) => {
      const body = {
        id,
        type: 'job.updated',
        at: at(minute),
        job: { id: 'T-1', status },
        ...(account ? { account } : {}),
      };
      return queueMessage('cooledge', body, { provider: 'test', eventKey: id, eventType: 'job.updated' });
    };
    await run(event('t-1', 1, 'scheduled'));
    expect(store.job('test', 'T-1')?.accountId).toBeUndefined();
    await run(event('t-2', 2, 'started', 'acct-x'));
    await run(event('t-3', 3, 'completed'));
    expect(store.job('test', 'T-1')).toMatchObject({
      accountId: 'acct-x',
      status: 'completed',
      eventCount: 3,
    });
    await run(event('t-4', 4, 'reopened', 'acct-y'));
    expect(processed(logger, 'applied')).toBe(3);
    expect(metrics.get('Unprocessable')).toBe(1);
    expect(store.job('test', 'T-1')).toMatchObject({ accountId: 'acct-x', status: 'completed' });
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
    expect(processed(logger, 'applied')).toBe(2);
    expect(metrics.get('RecordFailed')).toBe(2);
    expect(logger.entries.filter((e) => e.level === 'error')).toHaveLength(2);
  });

  it('logs the name, code and message of a store error on one line', async () => {
    const error = Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
      name: 'ThrottlingException',
      code: 'Throttling',
    });
    const { logger, run } = setup(
      new FakeStore(() => {
        throw error;
      }),
    );
    const result = await run(queueMessage('cooledge', cooledgeEvent()));
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'msg-0' }]);
    expect(logger.entries).toEqual([
      {
        level: 'error',
        message: 'event failed',
        data: {
          messageId: 'msg-0',
          receiveCount: '1',
          error: 'ThrottlingException (Throttling): Rate of requests exceeds the allowed throughput.',
        },
      },
    ]);
  });

  it('escapes control characters in a logged error, so one failure stays one line', async () => {
    const { logger, run } = setup(
      new FakeStore(() => {
        throw new Error('first line\nforged: entry\u202e');
      }),
    );
    await run(queueMessage('cooledge', cooledgeEvent()));
    expect(logger.entries[0]?.data?.error).toBe('Error: first line\\u000aforged: entry\\u202e');
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

  it('logs every outcome, counts a metric only for a failure, and flushes once per batch', async () => {
    const store = new RecordingStore();
    const jobId = randomUUID();
    const newer = cooledgeEvent('job.completed', { job_id: jobId });
    await setup(store).run(queueMessage('cooledge', newer));
    const { metrics, logger, run } = setup(store);
    await run(
      queueMessage('cooledge', ofNewJob()),
      queueMessage(
        'cooledge',
        cooledgeEvent('booking.created', { job_id: jobId, occurred_at: '2026-06-10T00:00:00.000Z' }),
      ),
      queueMessage('cooledge', newer),
      queueMessage('cooledge', ofNewJob()),
      queueMessage('cooledge', fixture('cooledge', 'lead.created')),
      queueMessage('cooledge', cooledgeEvent(), { issues: [{ path: 'x', message: 'expected y' }] }),
      'poison',
    );
    const outcomes = logger.entries
      .filter((e) => e.message === 'event processed')
      .map((e) => e.data?.outcome);
    expect(outcomes.sort()).toEqual(['applied', 'applied', 'duplicate', 'quarantined', 'recorded', 'stale']);
    expect(Object.fromEntries(metrics.counts)).toEqual({ RecordFailed: 1 });
    expect(metrics.flushes).toBe(1);
  });

  it('answers an empty batch with no failures', async () => {
    const { store, run } = setup();
    expect(await run()).toEqual({ batchItemFailures: [] });
    expect(store.calls).toEqual([]);
  });
});
