import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SqsQueue } from '#adapters/sqs-queue';
import type { EventStore } from '#core/consume';
import type { JsonObject } from '#core/json';
import { maxReceiveCount } from '#infra/definitions';
import { sign } from '#providers/cooledge';
import { main as cli } from '../../cli/main.ts';
import { SqsPoller } from '../../local/poller.ts';
import { localCredentials, localRegion } from '../../local/stack.ts';
import { allFaults, type Fault, injectFaults } from '../chaos/faults.ts';
import { cooledgeEvent, queueMessage, zenbookerEvent } from '../support/factories.ts';
import { sqsEvent } from '../support/sqs-event.ts';
import { apiEvent, cooledgeSecret, TallyMetrics, World, zenbookerToken } from '../support/world.ts';

/**
 * What happens when the parts around the pipeline fail: the queue at ingest, DynamoDB under the
 * consumer, the consumer itself (crash, timeout), a message that can never be processed, and many
 * deliveries of the same event at once. Every fault is injected into a real client or a real
 * handler; DynamoDB Local and the SQS emulator do the rest.
 */

function realDynamo(): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: inject('dynamoEndpoint'),
    region: localRegion,
    credentials: localCredentials,
    maxAttempts: 3,
  });
}

/** Every stored event is whole: its log record and the job change it made exist together or not at all. */
async function expectWhole(world: World, bodies: JsonObject[]) {
  for (const body of bodies) {
    const event = await world.event('cooledge', body.event_id as string);
    const job = await world.job('cooledge', body.job_id as string);
    if (event) expect(job?.lastEventKey).toBe(body.event_id);
    else expect(job).toBeUndefined();
  }
}

async function expectAppliedOnce(world: World, bodies: JsonObject[]) {
  for (const body of bodies) {
    expect((await world.job('cooledge', body.job_id as string))?.eventCount).toBe(1);
    expect((await world.event('cooledge', body.event_id as string))?.outcome).toBe('applied');
  }
}

describe('the queue refusing writes at ingest', () => {
  let world: World;
  beforeAll(async () => {
    world = await World.create();
  });
  afterAll(() => world.sqs.destroy());

  /** The real ingest handler over the real SQS adapter, on a client whose sends can be refused. */
  function ingestWith(sqs: SQSClient, metrics = new TallyMetrics()) {
    return {
      metrics,
      handler: world.ingestWith({ queue: new SqsQueue(world.urls.queueUrl, sqs), metrics }),
    };
  }

  it('answers 503 with Retry-After and enqueues nothing while SQS rejects sends, then accepts the retry', async () => {
    let refusing = true;
    const sqs = new SQSClient({
      endpoint: inject('sqsEndpoint'),
      region: localRegion,
      credentials: localCredentials,
      maxAttempts: 2,
    });
    sqs.middlewareStack.add(
      (next, context) => async (args) => {
        if (refusing && context.commandName === 'SendMessageCommand') {
          throw Object.assign(new Error('Service unavailable'), {
            name: 'ServiceUnavailable',
            $fault: 'server',
            $metadata: { httpStatusCode: 503 },
          });
        }
        return next(args);
      },
      { step: 'deserialize', priority: 'low', name: 'refuseSends' },
    );
    const { handler, metrics } = ingestWith(sqs);
    const body = cooledgeEvent('job.completed', { job_id: randomUUID() });
    const raw = JSON.stringify(body);
    const post = () =>
      handler(
        apiEvent('POST', '/webhooks/cooledge', raw, {
          'content-type': 'application/json',
          'x-cooledge-signature': signNow(raw),
        }),
      );

    const refused = await post();
    expect(refused.statusCode).toBe(503);
    expect(refused.headers?.['retry-after']).toBe('30');
    expect(refused.headers?.['content-type']).toBe('application/problem+json');
    expect(refused.body).not.toContain(body.event_id as string);
    expect([...metrics.counts.keys()]).toEqual(['EnqueueFailed']);
    expect(await world.queueDepth(world.urls.queueUrl)).toBe(0);

    refusing = false;
    expect((await post()).statusCode).toBe(202);
    await world.drain();
    expect((await world.job('cooledge', body.job_id as string))?.eventCount).toBe(1);
    sqs.destroy();
  });

  it('answers 503 when the queue cannot be reached at all', async () => {
    const unreachable = new SQSClient({
      endpoint: 'http://127.0.0.1:9',
      region: localRegion,
      credentials: localCredentials,
      maxAttempts: 2,
    });
    const { handler } = ingestWith(unreachable);
    const raw = JSON.stringify(zenbookerEvent('job.completed'));
    const response = await handler(
      apiEvent('POST', `/webhooks/zenbooker/${zenbookerToken}`, raw, { 'content-type': 'application/json' }),
    );
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['retry-after']).toBe('30');
    unreachable.destroy();
  });
});

function signNow(raw: string): string {
  return sign(raw, cooledgeSecret, 'timestamped', new Date());
}

describe('DynamoDB failing under the consumer', () => {
  let world: World;
  /** Faults still to inject, one per attempt, into the next writes. */
  const pending: Fault[] = [];
  let injector: ReturnType<typeof injectFaults>;
  beforeAll(async () => {
    const dynamo = realDynamo();
    injector = injectFaults(
      dynamo,
      (command) =>
        command === 'TransactWriteItemsCommand' || command === 'PutItemCommand' ? pending.shift() : undefined,
      { layer: 'sdk', hangMs: 50 },
    );
    world = await World.create({ dynamo });
  });
  afterAll(() => world.sqs.destroy());

  it.each(allFaults)('retries a transaction that met a %s and applies the event once', async (fault) => {
    const body = cooledgeEvent('job.completed', { job_id: randomUUID() });
    await world.postCooledge(body);
    const before = injector.total();
    pending.push(fault);
    const poll = await world.poller.pollOnce();
    // The SDK retried below the store: the record did not even fail.
    expect(poll).toEqual({ received: 1, failed: 0 });
    expect(injector.total()).toBe(before + 1);
    expect((await world.job('cooledge', body.job_id as string))?.eventCount).toBe(1);
    expect((await world.event('cooledge', body.event_id as string))?.outcome).toBe('applied');
  });

  it.each(allFaults)(
    'fails the record when every SDK attempt meets a %s, and applies it once on redelivery',
    async (fault) => {
      const body = cooledgeEvent('job.completed', { job_id: randomUUID() });
      await world.postCooledge(body);
      pending.push(fault, fault, fault);
      const failed = world.consumerMetrics.get('RecordFailed');
      const poll = await world.poller.pollOnce();
      expect(poll).toEqual({ received: 1, failed: 1 });
      expect(world.consumerMetrics.get('RecordFailed')).toBe(failed + 1);
      expect(pending).toHaveLength(0);
      await expectWhole(world, [body]);
      await world.drain();
      await expectAppliedOnce(world, [body]);
    },
  );

  it('retries a throttled put of an event that touches no job, and records it once', async () => {
    const body = cooledgeEvent('lead.created');
    await world.postCooledge(body);
    pending.push('throttle', 'server-error');
    expect(await world.poller.pollOnce()).toEqual({ received: 1, failed: 0 });
    expect((await world.event('cooledge', body.event_id as string))?.outcome).toBe('recorded');
    expect(await world.allEvents()).toEqual(
      expect.arrayContaining([expect.objectContaining({ eventKey: body.event_id })]),
    );
  });
});

describe('the consumer dying or timing out in the middle of a batch', () => {
  let world: World;
  /** When set, only this many more transactions leave the process; the rest die with it. */
  let budget: number | undefined;
  /** Transactions for these job ids are held this long (they still commit, after the handler gave up). */
  const slowJobs = new Set<string>();
  beforeAll(async () => {
    const dynamo = realDynamo();
    dynamo.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'TransactWriteItemsCommand') return next(args);
        if (budget !== undefined) {
          if (budget <= 0) throw Object.assign(new Error('Runtime exited'), { name: 'RuntimeExited' });
          budget -= 1;
        }
        if ([...slowJobs].some((id) => JSON.stringify(args.input).includes(id))) {
          await new Promise((r) => setTimeout(r, 3_000));
        }
        return next(args);
      },
      { step: 'initialize', priority: 'high', name: 'crashOrStall' },
    );
    world = await World.create({ dynamo });
  });
  afterAll(() => world.sqs.destroy());

  async function postBatch(count: number) {
    const bodies = Array.from({ length: count }, () =>
      cooledgeEvent('job.completed', { job_id: randomUUID() }),
    );
    for (const body of bodies) expect((await world.postCooledge(body)).statusCode).toBe(202);
    return bodies;
  }

  function poller(handler: (event: SQSEvent) => Promise<SQSBatchResponse>) {
    return new SqsPoller({
      client: world.sqs,
      queueUrl: world.urls.queueUrl,
      handler,
      batchingWindowSeconds: 1,
      waitTimeSeconds: 0,
    });
  }

  it('leaves every event whole when the process dies after some writes, and applies each once after redelivery', async () => {
    const bodies = await postBatch(10);
    budget = 4;
    const dying = poller(async (event) => {
      await world.consumer(event);
      // The runtime is gone: no response reaches the event source mapping.
      throw new Error('Runtime exited with error: signal: killed');
    });
    const first = await dying.pollOnce();
    budget = undefined;
    expect(first).toEqual({ received: 10, failed: 10 });
    const written = (
      await Promise.all(bodies.map((b) => world.event('cooledge', b.event_id as string)))
    ).filter(Boolean);
    expect(written).toHaveLength(4);
    await expectWhole(world, bodies);

    const duplicates = world.consumerOutcomes.get('duplicate');
    await world.drain();
    await expectAppliedOnce(world, bodies);
    expect(world.consumerOutcomes.get('duplicate') - duplicates).toBe(4);
  });

  it('leaves every event whole when the invocation times out with writes in flight, and applies each once after redelivery', async () => {
    const bodies = await postBatch(6);
    const slow = bodies.slice(0, 3);
    for (const body of slow) slowJobs.add(body.job_id as string);
    const timingOut = poller(async (event) => {
      const deadline = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('Task timed out after 1.50 seconds')), 1_500),
      );
      return Promise.race([world.consumer(event), deadline]);
    });
    expect(await timingOut.pollOnce()).toEqual({ received: 6, failed: 6 });
    // The runtime gave up; the slow transactions are still on their way and commit afterwards.
    for (const body of slow) expect(await world.event('cooledge', body.event_id as string)).toBeUndefined();
    await expectWhole(world, bodies);
    const deadline = Date.now() + 10_000;
    while (
      Date.now() < deadline &&
      (await world.event('cooledge', slow[2]?.event_id as string)) === undefined
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    slowJobs.clear();
    for (const body of slow) expect(await world.event('cooledge', body.event_id as string)).toBeDefined();
    await expectWhole(world, bodies);
    await world.drain();
    await expectAppliedOnce(world, bodies);
  });
});

describe('a transient store failure that outlasts the redeliveries', () => {
  let world: World;
  /**
   * Event keys whose writes keep failing with a 500, as a partition that stays unavailable would:
   * transient, so the record is redelivered until the DLQ (a refusal for good is recorded instead,
   * see every-202-lands.test.ts).
   */
  const rejected = new Set<string>();
  beforeAll(async () => {
    world = await World.create({
      visibilityTimeoutSeconds: 1,
      wrapStore: (store): EventStore => ({
        record: (event, outcome) => store.record(event, outcome),
        apply: async (event, job) => {
          if (rejected.has(event.eventKey)) {
            throw Object.assign(new Error('Internal server error'), {
              name: 'InternalServerError',
              $metadata: { httpStatusCode: 500, attempts: 3 },
            });
          }
          return store.apply(event, job);
        },
      }),
    });
  });
  afterAll(() => world.sqs.destroy());

  it(`moves to the DLQ after ${maxReceiveCount} receives, counting RecordFailed each time, and redrive restores it`, async () => {
    const body = cooledgeEvent('job.completed', { job_id: randomUUID() });
    rejected.add(body.event_id as string);
    expect((await world.postCooledge(body)).statusCode).toBe(202);

    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (await world.queueDepth(world.urls.deadLetterQueueUrl)) === 0) {
      const { received } = await world.poller.pollOnce();
      if (received === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(await world.queueDepth(world.urls.deadLetterQueueUrl)).toBe(1);
    expect(world.consumerMetrics.get('RecordFailed')).toBe(maxReceiveCount);
    expect(await world.event('cooledge', body.event_id as string)).toBeUndefined();
    expect(await world.queueDepth(world.urls.queueUrl)).toBe(0);

    // The cause is fixed; the operator puts the message back with the CLI.
    rejected.clear();
    const out: string[] = [];
    const code = await cli(
      [
        'redrive',
        '--queue-url',
        world.urls.queueUrl,
        '--dlq-url',
        world.urls.deadLetterQueueUrl,
        '--sqs-endpoint',
        inject('sqsEndpoint'),
        '--dynamodb-endpoint',
        inject('dynamoEndpoint'),
      ],
      { out: (t) => out.push(t), err: (t) => out.push(t), interactive: false, env: {} },
    );
    expect(code, out.join('')).toBe(0);
    expect(out.join('')).toMatch(/moved 1 /);
    expect(await world.queueDepth(world.urls.deadLetterQueueUrl)).toBe(0);
    await world.drain();
    await expectAppliedOnce(world, [body]);
  });
});

describe('many deliveries at once', () => {
  let world: World;
  beforeAll(async () => {
    world = await World.create({ visibilityTimeoutSeconds: 1 });
  });
  afterAll(() => world.sqs.destroy());

  /** Five pollers draining together, as the event source mapping scales out. */
  async function drainConcurrently() {
    const pollers = Array.from(
      { length: 5 },
      () =>
        new SqsPoller({
          client: world.sqs,
          queueUrl: world.urls.queueUrl,
          handler: world.consumer,
          batchingWindowSeconds: 0,
          waitTimeSeconds: 0,
        }),
    );
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const results = await Promise.all(pollers.map((p) => p.pollOnce()));
      const received = results.reduce((n, r) => n + r.received, 0);
      if (received === 0 && (await world.queueDepth(world.urls.queueUrl)) === 0) return;
      if (received === 0) await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('queue did not drain');
  }

  it('applies a Cooledge event delivered 50 times at once exactly once', async () => {
    const body = cooledgeEvent('job.completed', { job_id: randomUUID() });
    const applied = world.consumerOutcomes.get('applied');
    const responses = await Promise.all(Array.from({ length: 50 }, () => world.postCooledge(body)));
    expect(responses.map((r) => r.statusCode)).toEqual(Array(50).fill(202));
    expect(new Set(responses.map((r) => r.json.event_key))).toEqual(new Set([body.event_id]));
    await drainConcurrently();
    expect((await world.job('cooledge', body.job_id as string))?.eventCount).toBe(1);
    expect(world.consumerOutcomes.get('applied') - applied).toBe(1);
    expect((await world.allEvents()).filter((e) => e.eventKey === body.event_id)).toHaveLength(1);
    expect(await world.queueDepth(world.urls.deadLetterQueueUrl)).toBe(0);
  });

  it('applies a Zenbooker delivery retried 50 times at once (retry_count 0–49) exactly once', async () => {
    const jobId = `1781604223917x${Date.now()}`;
    const body = zenbookerEvent('job.completed', { data: { id: jobId } });
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => world.postZenbooker({ ...body, retry_count: i })),
    );
    expect(responses.map((r) => r.statusCode)).toEqual(Array(50).fill(202));
    expect(new Set(responses.map((r) => r.json.event_key)).size).toBe(1);
    await drainConcurrently();
    expect((await world.job('zenbooker', jobId))?.eventCount).toBe(1);
  });

  it('converges on the newest state whatever order a job’s four events arrive in (all 24 orders)', async () => {
    const times = [
      '2026-06-01T09:00:00.000Z',
      '2026-06-02T09:00:00.000Z',
      '2026-06-03T09:00:00.000Z',
      '2026-06-04T09:00:00.000Z',
    ];
    const orders = permutations([0, 1, 2, 3]);
    expect(orders).toHaveLength(24);
    await Promise.all(
      orders.map(async (order) => {
        const jobId = randomUUID();
        const events = [
          cooledgeEvent('booking.created', {
            job_id: jobId,
            occurred_at: times[0],
            customer_name: 'Old Name',
          }),
          cooledgeEvent('job.completed', {
            job_id: jobId,
            occurred_at: times[1],
            status: 'in_progress',
            description: 'first visit',
          }),
          cooledgeEvent('invoice.paid', { job_id: jobId, occurred_at: times[2], total: 450, amount_due: 0 }),
          cooledgeEvent('job.completed', {
            job_id: jobId,
            occurred_at: times[3],
            status: 'completed',
            description: 'done',
            customer_name: 'New Name',
          }),
        ];
        let newest = -1;
        const expected: string[] = [];
        for (const i of order) {
          const body = events[i] as JsonObject;
          expected[i] = i > newest ? 'applied' : 'stale';
          newest = Math.max(newest, i);
          // Received now: a receive time past the dedupe horizon would be swept by DynamoDB Local's TTL.
          const message = queueMessage('cooledge', body, { receivedAt: new Date().toISOString() });
          const response = await world.consumer(sqsEvent([JSON.stringify(message)]));
          expect(response.batchItemFailures).toEqual([]);
        }
        const job = await world.job('cooledge', jobId);
        expect(job, `order ${order.join('')}`).toMatchObject({
          status: 'completed',
          description: 'done',
          customerName: 'New Name',
          total: 450,
          scheduledStart: '2026-06-20T23:00:00.000Z',
          lastEventKey: events[3]?.event_id,
          lastEventAt: times[3],
          eventCount: expected.filter((o) => o === 'applied').length,
        });
        const outcomes = await Promise.all(events.map((e) => world.event('cooledge', e.event_id as string)));
        expect(
          outcomes.map((o) => o?.outcome),
          `order ${order.join('')}`,
        ).toEqual(expected);
      }),
    );
  });
});

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}
