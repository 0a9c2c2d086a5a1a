import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { otherStandardSecret, otherStandardSource, standardSource, World } from '../support/world.ts';

/**
 * Standard Webhooks through the real pipeline on DynamoDB Local and the SQS emulator: a job event
 * lands as a job, a retry under the same webhook-id is a duplicate, a different body under it is a
 * conflict, an older event (by the payload's timestamp) is stale, and other events are recorded.
 */
describe('Standard Webhooks: ingest → queue → consumer → tables', () => {
  let world: World;
  beforeAll(async () => {
    world = await World.create();
  });
  afterAll(() => world.sqs.destroy());

  const minutesAgo = (n: number) => new Date(Date.now() - n * 60_000).toISOString();
  const job = (jobId: string, status: string, at: string) => ({
    type: `job.${status}`,
    timestamp: at,
    data: { job_id: jobId, account_id: 'acme-hq', status, customer_name: 'Priya Nair' },
  });

  it('stores a job event as the job, keyed by source and webhook-id, exactly once', async () => {
    const body = job('J-std-1', 'completed', minutesAgo(5));
    const first = await world.postStandard(body, { id: 'msg_std_1' });
    expect(first.statusCode).toBe(202);
    expect(first.json).toEqual({
      status: 'accepted',
      provider: 'standard',
      event_key: `${standardSource}:msg_std_1`,
    });
    // The sender's retry: same id and body, a new timestamp and signature.
    expect((await world.postStandard(body, { id: 'msg_std_1' })).statusCode).toBe(202);
    await world.drain();

    expect(await world.event('standard', `${standardSource}:msg_std_1`)).toMatchObject({
      outcome: 'applied',
      eventType: 'job.completed',
      accountId: 'acme-hq',
      rawBody: JSON.stringify(body),
    });
    expect(await world.job('standard', `${standardSource}:J-std-1`)).toMatchObject({
      provider: 'standard',
      jobId: `${standardSource}:J-std-1`,
      accountId: 'acme-hq',
      status: 'completed',
      eventCount: 1,
    });
  });

  it('never moves a job backwards: an older event by its timestamp is stale', async () => {
    await world.postStandard(job('J-std-2', 'completed', minutesAgo(5)), { id: 'msg_std_2b' });
    await world.drain();
    await world.postStandard(job('J-std-2', 'scheduled', minutesAgo(50)), { id: 'msg_std_2a' });
    await world.drain();
    expect((await world.event('standard', `${standardSource}:msg_std_2a`))?.outcome).toBe('stale');
    expect((await world.job('standard', `${standardSource}:J-std-2`))?.status).toBe('completed');
  });

  it('records a different body under a known webhook-id as a conflict, and other events as recorded', async () => {
    await world.postStandard(job('J-std-3', 'started', minutesAgo(9)), { id: 'msg_std_3' });
    await world.postStandard({ type: 'contact.created', data: { id: 'c-1' } }, { id: 'msg_std_4' });
    await world.drain();
    await world.postStandard(job('J-std-3', 'canceled', minutesAgo(8)), { id: 'msg_std_3' });
    await world.drain();
    expect((await world.job('standard', `${standardSource}:J-std-3`))?.status).toBe('started');
    expect((await world.event('standard', `${standardSource}:msg_std_4`))?.outcome).toBe('recorded');
    const events = await world.allEvents();
    expect(
      events.filter((e) => e.outcome === 'conflict' && String(e.eventKey).includes('msg_std_3')),
    ).toHaveLength(1);
  });

  it('answers 401 for an unknown source or a wrong secret, and stores nothing', async () => {
    const before = (await world.allEvents()).length;
    const body = job('J-std-5', 'completed', minutesAgo(1));
    expect((await world.postStandard(body, { source: 'nobody' })).statusCode).toBe(401);
    const wrong = `whsec_${Buffer.from('another-key-of-24-bytes!').toString('base64')}`;
    expect((await world.postStandard(body, { secret: wrong })).statusCode).toBe(401);
    await world.drain();
    expect(await world.allEvents()).toHaveLength(before);
  });

  it('keeps two senders apart: the same job_id from another source is another job, each untouched by the other', async () => {
    await world.postStandard(job('1001', 'completed', minutesAgo(5)), { id: 'msg_a_1001' });
    await world.postStandard(
      {
        ...job('1001', 'scheduled', minutesAgo(1)),
        data: { job_id: '1001', account_id: 'beta-co', status: 'scheduled' },
      },
      { id: 'msg_b_1001', source: otherStandardSource, secret: otherStandardSecret },
    );
    await world.drain();
    expect(await world.job('standard', `${standardSource}:1001`)).toMatchObject({
      status: 'completed',
      accountId: 'acme-hq',
    });
    expect(await world.job('standard', `${otherStandardSource}:1001`)).toMatchObject({
      status: 'scheduled',
      accountId: 'beta-co',
    });
    expect((await world.event('standard', `${otherStandardSource}:msg_b_1001`))?.outcome).toBe('applied');
  });

  it('quarantines a job event without a timestamp rather than order the job by its receipt', async () => {
    const body = { type: 'job.completed', data: { job_id: 'J-std-6', status: 'completed' } };
    expect((await world.postStandard(body, { id: 'msg_std_6' })).json).toMatchObject({
      status: 'quarantined',
    });
    await world.drain();
    expect((await world.event('standard', `${standardSource}:msg_std_6`))?.outcome).toBe('quarantined');
    expect(await world.job('standard', `${standardSource}:J-std-6`)).toBeUndefined();
  });

  it('orders by the whole timestamp: an event a tenth of a millisecond older, sent later, is stale', async () => {
    const at = new Date(Date.now() - 60_000).toISOString().slice(0, 23);
    await world.postStandard({ ...job('J-std-7', 'completed', `${at}2Z`) }, { id: 'msg_std_7b' });
    await world.drain();
    await world.postStandard({ ...job('J-std-7', 'scheduled', `${at}1Z`) }, { id: 'msg_std_7z' });
    await world.drain();
    expect((await world.event('standard', `${standardSource}:msg_std_7z`))?.outcome).toBe('stale');
    expect((await world.job('standard', `${standardSource}:J-std-7`))?.status).toBe('completed');
  });
});
