import { randomUUID } from 'node:crypto';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventPk, jobPk } from '#adapters/dynamo-store';
import { indexedOutcomes, readBody } from '#core/records';
import { type DynamoProbe, probe } from '../../bench/lib/dynamo-probe.ts';
import { largeZenbooker } from '../../bench/lib/pipeline.ts';
import { replayMessage } from '../../cli/replay.ts';
import { sqsRecord } from '../../local/poller.ts';
import { dynamoClient } from '../../local/stack.ts';
import { cooledgeEvent } from '../support/factories.ts';
import { World } from '../support/world.ts';

/**
 * What a new event costs in DynamoDB write units, as DynamoDB Local reports them (a transaction
 * costs 2 units per KB of each item it writes, and 2 per index entry it writes), and where each
 * byte of a body is kept: once, compressed, in the event log record.
 */
describe('write units: each body stored once, compressed; the index only for records that need attention', () => {
  let world: World;
  let units: DynamoProbe;
  beforeAll(async () => {
    const client = dynamoClient(inject('dynamoEndpoint'));
    units = probe(client);
    world = await World.create({ dynamo: client });
  });
  afterAll(() => world.sqs.destroy());

  /** Write units by table and index of what `deliver` made the consumer write. */
  async function measure(deliver: () => Promise<unknown>): Promise<Record<string, number>> {
    await world.drain();
    units.reset();
    await deliver();
    await world.drain();
    return Object.fromEntries(units.writeUnitsByTarget);
  }

  it("a new Cooledge job's event costs 2 + 2 units and its byAccount entry, an update 2 + 2", async () => {
    const jobId = randomUUID();
    const first = await measure(() => world.postCooledge(cooledgeEvent('job.completed', { job_id: jobId })));
    expect(first).toEqual({ 'events table': 2, 'jobs table': 2, 'jobs GSI byAccount': 2 });
    const later = cooledgeEvent('job.completed', { job_id: jobId, occurred_at: new Date().toISOString() });
    const update = await measure(() => world.postCooledge(later));
    expect(update).toEqual({ 'events table': 2, 'jobs table': 2 });
  });

  it('a stale event that fills the job costs 2 + 2; a small job stays under 1 KB with the fill counted: its next update 2 + 2', async () => {
    const jobId = randomUUID();
    const at = (m: number) => new Date(Date.now() - 3_600_000 + m * 60_000).toISOString();
    await measure(() =>
      world.postCooledge(cooledgeEvent('invoice.paid', { job_id: jobId, occurred_at: at(5) })),
    );
    const late = cooledgeEvent('job.completed', { job_id: jobId, occurred_at: at(4), status: 'completed' });
    const fill = await measure(() => world.postCooledge(late));
    expect(fill).toEqual({ 'events table': 2, 'jobs table': 2 });
    expect(await world.job('cooledge', jobId)).toMatchObject({
      status: 'completed',
      fillCount: 1,
      lastFillKey: late.event_id,
    });
    const newer = cooledgeEvent('job.completed', { job_id: jobId, occurred_at: at(6), status: 'completed' });
    expect(await measure(() => world.postCooledge(newer))).toEqual({ 'events table': 2, 'jobs table': 2 });
  });

  it("the benchmark's 5 KB Zenbooker job costs 4 units for its record and 2 for the job", async () => {
    const body = largeZenbooker();
    const data = { ...(body.data as object), id: `1781604223917x${Date.now()}` };
    const written = await measure(() => world.postZenbooker({ ...body, data }));
    expect(written).toEqual({ 'events table': 4, 'jobs table': 2, 'jobs GSI byAccount': 2 });
  });

  it('keeps every body exactly and indexes exactly the records that need attention (property)', async () => {
    const kinds = ['newer', 'older', 'duplicate', 'quarantined', 'recorded', 'conflict'] as const;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...kinds), { minLength: 1, maxLength: 6 }), async (steps) => {
        const jobId = randomUUID();
        const sent = new Map<string, string>();
        let at = Date.parse('2026-06-17T14:00:00.000Z');
        let last: Record<string, unknown> | undefined;
        for (const kind of steps) {
          at += 60_000;
          const occurred = new Date(kind === 'older' ? at - 3_600_000 : at).toISOString();
          let body: Record<string, unknown>;
          if (kind === 'duplicate' && last) body = last;
          else if (kind === 'conflict' && last) body = { ...last, description: `another body ${at}` };
          else if (kind === 'quarantined')
            body = cooledgeEvent('job.completed', {
              job_id: jobId,
              customer_name: 42,
              occurred_at: occurred,
            });
          else if (kind === 'recorded') body = cooledgeEvent('lead.created');
          else
            body = cooledgeEvent('job.completed', {
              job_id: jobId,
              occurred_at: occurred,
              description: `work ${kind} ${at} ✓`,
            });
          last = body;
          const raw = JSON.stringify(body);
          expect((await world.postCooledge(raw)).statusCode).toBe(202);
          // One at a time: of two bodies under one key, the first the consumer takes is kept.
          await world.drain();
          if (kind !== 'conflict' && kind !== 'duplicate') sent.set(String(body.event_id), raw);
        }
        await world.drain();
        for (const [eventKey, raw] of sent) {
          const stored = await world.storedEvent('cooledge', eventKey);
          expect(stored?.bodyBrotli).toBeInstanceOf(Uint8Array);
          expect(stored?.rawBody).toBeUndefined();
          expect(readBody(stored ?? {})).toBe(raw);
        }
        const records = (await world.allEvents()).filter((item) =>
          [...sent.keys()].some((key) => String(item.pk).startsWith(eventPk('cooledge', key))),
        );
        const indexed = new Set<string>();
        for (const key of sent.keys()) {
          const out = await world.doc.send(
            new QueryCommand({
              TableName: world.names.eventsTable,
              IndexName: 'byProvider',
              KeyConditionExpression: 'provider = :p',
              FilterExpression: 'eventKey = :k',
              ExpressionAttributeValues: { ':p': 'cooledge', ':k': key },
            }),
          );
          for (const item of out.Items ?? []) indexed.add(String(item.pk));
        }
        const expected = records
          .filter((r) => indexedOutcomes.has(String(r.outcome)))
          .map((r) => String(r.pk));
        expect([...indexed].sort()).toEqual(expected.sort());
        const job = await world.job('cooledge', jobId);
        if (job) expect(job.payload).toBeUndefined();
      }),
      { numRuns: 12 },
    );
  });

  it('drops the payload of a first-version job when it moves forward, and the text body of a replayed record', async () => {
    const jobId = randomUUID();
    const old = cooledgeEvent('job.completed', { job_id: jobId, occurred_at: '2026-06-17T14:00:00.000Z' });
    const oldRaw = JSON.stringify(old);
    // A quarantined record of another job, as the first version wrote it, replayed after a fix.
    const fixedJob = randomUUID();
    const quarantined = cooledgeEvent('job.completed', {
      job_id: fixedJob,
      occurred_at: '2026-06-17T14:00:00.000Z',
    });
    const quarantinedRaw = JSON.stringify(quarantined);
    // As the first version wrote them: the body as text in both, `provider` on every record.
    await world.doc.send(
      new PutCommand({
        TableName: world.names.eventsTable,
        Item: {
          pk: eventPk('cooledge', String(old.event_id)),
          provider: 'cooledge',
          eventKey: String(old.event_id),
          eventType: 'job.completed',
          outcome: 'applied',
          receivedAt: '2026-06-17T14:00:01.000Z',
          processedAt: '2026-06-17T14:00:02.000Z',
          rawBody: oldRaw,
          fingerprint: 'first-version',
          headers: {},
          entityIds: { job_id: jobId },
        },
      }),
    );
    await world.doc.send(
      new PutCommand({
        TableName: world.names.jobsTable,
        Item: {
          pk: jobPk('cooledge', jobId),
          provider: 'cooledge',
          jobId,
          status: 'completed',
          payload: oldRaw,
          lastEventKey: String(old.event_id),
          lastEventAt: '2026-06-17T14:00:00.000Z',
          lastOrder: '2026-06-17T14:00:00.000Z',
          eventCount: 1,
          createdAt: '2026-06-17T14:00:02.000Z',
        },
      }),
    );
    await world.doc.send(
      new PutCommand({
        TableName: world.names.eventsTable,
        Item: {
          pk: eventPk('cooledge', String(quarantined.event_id)),
          provider: 'cooledge',
          eventKey: String(quarantined.event_id),
          eventType: 'job.completed',
          outcome: 'quarantined',
          receivedAt: '2026-06-17T14:00:01.000Z',
          processedAt: '2026-06-17T14:00:02.000Z',
          rawBody: quarantinedRaw,
          headers: {},
          entityIds: {},
          issues: [{ path: 'status', message: 'an old schema refused it' }],
        },
      }),
    );
    expect((await world.event('cooledge', String(old.event_id)))?.rawBody).toBe(oldRaw);

    await world.postCooledge(
      cooledgeEvent('job.completed', { job_id: jobId, occurred_at: new Date().toISOString() }),
    );
    await world.drain();
    const job = await world.job('cooledge', jobId);
    expect(job?.eventCount).toBe(2);
    expect(job).not.toHaveProperty('payload');

    // A replay rewrites the record: compressed body, no text body, out of the index (applied).
    const message = replayMessage((await world.event('cooledge', String(quarantined.event_id))) ?? {});
    await world.consumer({
      Records: [sqsRecord({ messageId: randomUUID(), body: JSON.stringify(message) })],
    });
    const rewritten = await world.storedEvent('cooledge', String(quarantined.event_id));
    expect(rewritten?.outcome).toBe('applied');
    expect(rewritten).not.toHaveProperty('rawBody');
    expect(rewritten).not.toHaveProperty('provider');
    expect(readBody(rewritten ?? {})).toBe(quarantinedRaw);
    expect((await world.job('cooledge', fixedJob))?.status).toBe('completed');
  });
});
