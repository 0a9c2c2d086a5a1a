import { randomUUID } from 'node:crypto';
import {
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { QueueMessage } from '#core/message';
import { maxReceiveCount } from '#infra/definitions';
import { replayMessage } from '../../cli/replay.ts';
import { sqsRecord } from '../../local/poller.ts';
import { localCredentials, localRegion } from '../../local/stack.ts';
import { cooledgeEvent, zenbookerEvent } from '../support/factories.ts';
import { World } from '../support/world.ts';

/** Takes the queue's messages without deleting them, so a test can feed them to the consumer itself. */
async function takeMessages(world: World, count: number) {
  const { ReceiveMessageCommand } = await import('@aws-sdk/client-sqs');
  const messages = [];
  const deadline = Date.now() + 10_000;
  while (messages.length < count && Date.now() < deadline) {
    const out = await world.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: world.urls.queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 60,
      }),
    );
    messages.push(...(out.Messages ?? []));
  }
  return messages;
}

/** A record of `body` under a new message id, as the event source mapping would hand it over. */
const recordOf = (body: string) => sqsRecord({ messageId: randomUUID(), body });

describe('duplicates', () => {
  let world: World;
  beforeAll(async () => {
    world = await World.create();
  });

  it('applies a Cooledge event delivered three times in sequence once', async () => {
    const body = cooledgeEvent('job.completed', { job_id: randomUUID() });
    for (let i = 0; i < 3; i++) expect((await world.postCooledge(body)).statusCode).toBe(202);
    await world.drain();
    const job = await world.job('cooledge', body.job_id as string);
    expect(job?.eventCount).toBe(1);
    expect((await world.allEvents()).filter((e) => e.eventKey === body.event_id)).toHaveLength(1);
  });

  it('treats a Zenbooker retry (retry_count bumped) as the same delivery', async () => {
    const jobId = `1571382643450x${Date.now()}`;
    const first = zenbookerEvent('job.completed', { data: { id: jobId } });
    const retry = { ...first, retry_count: 1 };
    const a = await world.postZenbooker(first);
    const b = await world.postZenbooker(retry);
    expect(a.json.event_key).toBe(b.json.event_key);
    await world.drain();
    expect((await world.job('zenbooker', jobId))?.eventCount).toBe(1);
  });

  it('applies one event processed by ten consumers at the same moment once', async () => {
    const body = cooledgeEvent('job.completed', { job_id: randomUUID() });
    await world.postCooledge(body);
    const [message] = await takeMessages(world, 1);
    expect(message).toBeDefined();
    const records = Array.from({ length: 10 }, () => recordOf(message?.Body ?? ''));
    // Ten separate invocations racing, as ten Lambda instances would after a redelivery storm.
    const responses = await Promise.all(records.map((r) => world.consumer({ Records: [r] })));
    const failures = responses.flatMap((r) => r.batchItemFailures);
    // Losers either saw the marker (duplicate) or lost a transaction conflict and will be retried.
    const retried = await Promise.all(
      failures.map(async () => world.consumer({ Records: [recordOf(message?.Body ?? '')] })),
    );
    expect(retried.flatMap((r) => r.batchItemFailures)).toHaveLength(0);
    const job = await world.job('cooledge', body.job_id as string);
    expect(job?.eventCount).toBe(1);
    expect(world.consumerOutcomes.get('applied')).toBeGreaterThanOrEqual(1);
  });
});

describe('ordering', () => {
  let world: World;
  beforeAll(async () => {
    world = await World.create();
  });

  it('keeps the newest Cooledge state when an older event arrives last, and records it as stale', async () => {
    const jobId = randomUUID();
    const newer = cooledgeEvent('job.completed', {
      job_id: jobId,
      occurred_at: '2026-06-17T14:38:55.904Z',
      status: 'completed',
      description: 'newer',
    });
    const older = cooledgeEvent('booking.created', {
      job_id: jobId,
      occurred_at: '2026-06-10T09:00:00.000Z',
      customer_name: 'Old Name',
    });
    await world.postCooledge(newer);
    await world.drain();
    await world.postCooledge(older);
    await world.drain();
    const job = await world.job('cooledge', jobId);
    expect(job).toMatchObject({
      status: 'completed',
      description: 'newer',
      lastEventKey: newer.event_id,
      customerName: 'Priya Nair',
    });
    // The older event filled what the newer one lacked, and overwrote nothing.
    expect(job?.scheduledStart).toBe('2026-06-20T23:00:00.000Z');
    expect((await world.event('cooledge', older.event_id as string))?.outcome).toBe('stale');
    expect(world.consumerOutcomes.get('stale')).toBe(1);
  });

  it('converges on the newest state whatever order a job’s events arrive in', async () => {
    const jobId = randomUUID();
    const times = [
      '2026-06-01T00:00:00.000Z',
      '2026-06-02T00:00:00.000Z',
      '2026-06-03T00:00:00.000Z',
      '2026-06-04T00:00:00.000Z',
    ];
    const events = times.map((occurred_at, i) =>
      cooledgeEvent('job.completed', { job_id: jobId, occurred_at, status: `s${i}` }),
    );
    const shuffled = [events[2], events[0], events[3], events[1]];
    for (const e of shuffled) if (e) await world.postCooledge(e);
    await world.drain();
    const job = await world.job('cooledge', jobId);
    expect(job).toMatchObject({ status: 's3', lastEventAt: times[3] });
  });

  it('breaks a tie between events of the same millisecond by event key, whatever the arrival order', async () => {
    const jobId = randomUUID();
    const at = '2026-06-05T00:00:00.000Z';
    const low = cooledgeEvent('job.completed', {
      job_id: jobId,
      occurred_at: at,
      status: 'low',
      event_id: `00000000-${randomUUID().slice(9)}`,
    });
    const high = cooledgeEvent('job.completed', {
      job_id: jobId,
      occurred_at: at,
      status: 'high',
      event_id: `ffffffff-${randomUUID().slice(9)}`,
    });
    await world.postCooledge(high);
    await world.drain();
    await world.postCooledge(low);
    await world.drain();
    expect(await world.job('cooledge', jobId)).toMatchObject({ status: 'high', eventCount: 1 });
    expect((await world.event('cooledge', low.event_id as string))?.outcome).toBe('stale');
  });

  it('keeps the log of an overtaken event saying applied when it is replayed', async () => {
    const jobId = randomUUID();
    const first = cooledgeEvent('job.completed', {
      job_id: jobId,
      occurred_at: '2026-06-01T00:00:00.000Z',
      status: 'first',
    });
    const second = cooledgeEvent('job.completed', {
      job_id: jobId,
      occurred_at: '2026-06-02T00:00:00.000Z',
      status: 'second',
    });
    await world.postCooledge(first);
    await world.drain();
    await world.postCooledge(second);
    await world.drain();
    const stored = await world.event('cooledge', first.event_id as string);
    // The message `cli replay` sends for a stored event.
    const replay = replayMessage(stored ?? {});
    expect((await world.consumer({ Records: [recordOf(JSON.stringify(replay))] })).batchItemFailures).toEqual(
      [],
    );
    expect((await world.event('cooledge', first.event_id as string))?.outcome).toBe('applied');
    expect(await world.job('cooledge', jobId)).toMatchObject({ status: 'second', eventCount: 2 });
  });

  it('orders Zenbooker events, which carry no time, by when they were received', async () => {
    const jobId = `1781604223917x${Date.now()}`;
    const started = zenbookerEvent('job.started.v2025', { data: { id: jobId, status: 'started' } });
    const completed = zenbookerEvent('job.started.v2025', {
      envelope: { event: 'job.completed' },
      data: { id: jobId, status: 'complete' },
    });
    await world.postZenbooker(started);
    await new Promise((r) => setTimeout(r, 5));
    await world.postZenbooker(completed);
    await world.drain();
    expect((await world.job('zenbooker', jobId))?.status).toBe('completed');
  });
});

describe('atomicity under faults', () => {
  type Fault = 'before' | 'after' | undefined;
  let fault: Fault;
  let world: World;

  beforeAll(async () => {
    // The real DynamoDB Local client, wrapped: a transaction can fail before it reaches the table
    // (nothing written) or after it committed (as a timeout that lost the response would).
    const real = new DynamoDBClient({
      endpoint: inject('dynamoEndpoint'),
      region: localRegion,
      credentials: localCredentials,
    });
    real.middlewareStack.add(
      (next, context) => async (args) => {
        const isTransaction = context.commandName === 'TransactWriteItemsCommand';
        if (isTransaction && fault === 'before') {
          fault = undefined;
          throw Object.assign(new Error('injected'), { name: 'ProvisionedThroughputExceededException' });
        }
        const out = await next(args);
        if (isTransaction && fault === 'after') {
          fault = undefined;
          throw Object.assign(new Error('injected'), { name: 'TimeoutError' });
        }
        return out;
      },
      { step: 'initialize', name: 'injectTransactionFault' },
    );
    world = await World.create({ dynamo: real });
  });

  it('leaves nothing behind when the transaction fails, and applies once on redelivery', async () => {
    const body = cooledgeEvent('job.completed', { job_id: randomUUID() });
    await world.postCooledge(body);
    fault = 'before';
    const first = await world.poller.pollOnce();
    expect(first.failed).toBe(1);
    expect(await world.job('cooledge', body.job_id as string)).toBeUndefined();
    expect(await world.event('cooledge', body.event_id as string)).toBeUndefined();
    await world.drain();
    expect((await world.job('cooledge', body.job_id as string))?.eventCount).toBe(1);
    expect((await world.event('cooledge', body.event_id as string))?.outcome).toBe('applied');
  });

  it('applies once when the transaction committed but the consumer never heard back', async () => {
    const body = cooledgeEvent('job.completed', { job_id: randomUUID() });
    await world.postCooledge(body);
    fault = 'after';
    const first = await world.poller.pollOnce();
    expect(first.failed).toBe(1);
    await world.drain();
    expect((await world.job('cooledge', body.job_id as string))?.eventCount).toBe(1);
    expect(world.consumerOutcomes.get('duplicate')).toBeGreaterThanOrEqual(1);
  });
});

describe('transaction conflicts', () => {
  it('retries a transaction cancelled for a conflict instead of failing the record', async () => {
    let conflicts = 2;
    const real = new DynamoDBClient({
      endpoint: inject('dynamoEndpoint'),
      region: localRegion,
      credentials: localCredentials,
    });
    real.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'TransactWriteItemsCommand' && conflicts > 0) {
          conflicts -= 1;
          // What DynamoDB answers when another transaction holds the job item at that moment.
          throw new TransactionCanceledException({
            message: 'Transaction cancelled',
            $metadata: {},
            CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }],
          });
        }
        return next(args);
      },
      { step: 'initialize', name: 'injectConflict' },
    );
    const world = await World.create({ dynamo: real });
    const body = cooledgeEvent('job.completed', { job_id: randomUUID() });
    await world.postCooledge(body);
    const result = await world.poller.pollOnce();
    expect(result).toEqual({ received: 1, failed: 0 });
    expect(conflicts).toBe(0);
    expect((await world.job('cooledge', body.job_id as string))?.eventCount).toBe(1);
  });
});

describe('failures and the DLQ', () => {
  let world: World;
  beforeAll(async () => {
    world = await World.create({ visibilityTimeoutSeconds: 1 });
  });

  it(`moves a message that keeps failing to the DLQ after ${maxReceiveCount} receives`, async () => {
    await world.sqs.send(
      new SendMessageCommand({
        QueueUrl: world.urls.queueUrl,
        MessageBody: '{"v":1,"not":"a queue message"}',
      }),
    );
    const deadline = Date.now() + 30_000;
    let receives = 0;
    let dead: string[] = [];
    while (Date.now() < deadline && dead.length === 0) {
      const { received } = await world.poller.pollOnce();
      receives += received;
      if (received === 0) await new Promise((r) => setTimeout(r, 250));
      dead = await world.deadLetters();
    }
    expect(dead).toEqual(['{"v":1,"not":"a queue message"}']);
    expect(receives).toBe(maxReceiveCount);
    expect(world.consumerMetrics.get('RecordFailed')).toBe(maxReceiveCount);
  });

  it('fails only the bad record of a batch', async () => {
    const good = cooledgeEvent('job.completed', { job_id: randomUUID() });
    await world.postCooledge(good);
    const [message] = await takeMessages(world, 1);
    const poison = recordOf('not json');
    const response = await world.consumer({ Records: [recordOf(message?.Body ?? ''), poison] });
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: poison.messageId }]);
    expect((await world.job('cooledge', good.job_id as string))?.eventCount).toBe(1);
  });
});

describe('what is kept', () => {
  let world: World;
  beforeAll(async () => {
    world = await World.create();
  });
  afterAll(() => world.sqs.destroy());

  it('records an unknown Cooledge event type with its body', async () => {
    const body = cooledgeEvent('lead.created', { event_type: 'membership.renewed', membership_id: 'm-1' });
    const response = await world.postCooledge(body);
    expect(response.json.status).toBe('accepted');
    await world.drain();
    const event = await world.event('cooledge', body.event_id as string);
    expect(event).toMatchObject({
      outcome: 'recorded',
      eventType: 'membership.renewed',
      rawBody: JSON.stringify(body),
    });
  });

  it('records a quarantined event with its issues and leaves jobs alone', async () => {
    const body = cooledgeEvent('job.completed', { job_id: 12345 });
    const response = await world.postCooledge(body);
    expect(response.statusCode).toBe(202);
    expect(response.json).toMatchObject({ status: 'quarantined', issues: [{ path: 'job_id' }] });
    await world.drain();
    const event = await world.event('cooledge', body.event_id as string);
    expect(event).toMatchObject({
      outcome: 'quarantined',
      issues: [{ path: 'job_id', message: 'expected string' }],
    });
    expect(await world.allJobs()).toHaveLength(0);
  });

  it("keeps fields the schema does not know in the body of the job's latest event", async () => {
    const body = zenbookerEvent('job.started.v2025', {
      data: { id: `1781604223917x${Date.now()}`, brand_new_field: { nested: true } },
    });
    await world.postZenbooker(body);
    await world.drain();
    const job = await world.job('zenbooker', (body.data as { id: string }).id);
    const latest = await world.event('zenbooker', job?.lastEventKey as string);
    expect(JSON.parse(latest?.rawBody as string).data.brand_new_field).toEqual({ nested: true });
  });

  it('replays an applied event without counting it twice or moving the job', async () => {
    const body = cooledgeEvent('job.completed', { job_id: randomUUID() });
    await world.postCooledge(body);
    await world.drain();
    const stored = await world.event('cooledge', body.event_id as string);
    // The message `cli replay` sends for a stored event.
    const replay = replayMessage(stored ?? {});
    const response = await world.consumer({ Records: [recordOf(JSON.stringify(replay))] });
    expect(response.batchItemFailures).toEqual([]);
    const job = await world.job('cooledge', body.job_id as string);
    expect(job?.eventCount).toBe(1);
    const event = await world.event('cooledge', body.event_id as string);
    expect(event).toMatchObject({ outcome: 'applied' });
    expect(event?.replayedAt).toBeDefined();
  });

  it('stores an authentic body near the size limit whole, with the job fields capped', async () => {
    const description = 'd'.repeat(130_000);
    const workDetails = 'w'.repeat(120_000);
    const body = cooledgeEvent('job.completed', {
      job_id: randomUUID(),
      description,
      work_details: workDetails,
    });
    const raw = JSON.stringify(body);
    expect(Buffer.byteLength(raw)).toBeGreaterThan(250_000);
    expect((await world.postCooledge(raw)).statusCode).toBe(202);
    await world.drain();
    const job = await world.job('cooledge', body.job_id as string);
    expect(job?.description).toHaveLength(4096);
    expect(job?.workDetails).toHaveLength(4096);
    expect(job?.payload).toBeUndefined();
    expect((await world.event('cooledge', body.event_id as string))?.rawBody).toBe(raw);
  });

  it('quarantines and stores an event whose ids are too long to be keys', async () => {
    const body = cooledgeEvent('job.completed', {
      job_id: 'j'.repeat(5_000),
      business_id: 'b'.repeat(5_000),
    });
    const response = await world.postCooledge(body);
    expect(response.json).toMatchObject({ status: 'quarantined' });
    await world.drain();
    expect((await world.event('cooledge', body.event_id as string))?.outcome).toBe('quarantined');
  });

  it('expires event log records after the dedupe horizon: TTL on the attribute the records carry', async () => {
    // The table deletes by TTL on `expiresAt`…
    const { TimeToLiveDescription } = await world.dynamo.send(
      new DescribeTimeToLiveCommand({ TableName: world.names.eventsTable }),
    );
    expect(TimeToLiveDescription).toMatchObject({ AttributeName: 'expiresAt', TimeToLiveStatus: 'ENABLED' });
    // …and each record carries it, in epoch seconds, 30 days (the world's horizon) after receipt.
    const body = cooledgeEvent('lead.created');
    await world.postCooledge(body);
    await world.drain();
    const event = await world.event('cooledge', body.event_id as string);
    expect(typeof event?.expiresAt).toBe('number');
    expect((event?.expiresAt as number) * 1000 - Date.parse(event?.receivedAt as string)).toBeGreaterThan(
      30 * 86_400_000 - 1_000,
    );
    expect((event?.expiresAt as number) * 1000 - Date.parse(event?.receivedAt as string)).toBeLessThanOrEqual(
      30 * 86_400_000,
    );
  });

  it('sends the consumer what it needs and no signature', async () => {
    const body = cooledgeEvent('job.completed');
    await world.postCooledge(body, { headers: { 'x-cooledge-event-id': body.event_id as string } });
    const [message] = await takeMessages(world, 1);
    const parsed = JSON.parse(message?.Body ?? '{}') as QueueMessage;
    expect(parsed).toMatchObject({
      provider: 'cooledge',
      eventKey: body.event_id,
      eventType: 'job.completed',
    });
    expect(Buffer.from(parsed.bodyBase64, 'base64').toString()).toBe(JSON.stringify(body));
    expect(Object.keys(parsed.headers)).not.toContain('x-cooledge-signature');
    expect(parsed.headers['x-cooledge-event-id']).toBe(body.event_id);
  });
});
