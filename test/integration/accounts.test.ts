import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { otherAccountReason } from '#core/rules';
import { replayMessage } from '../../cli/replay.ts';
import { cooledgeEvent, zenbookerEvent } from '../support/factories.ts';
import { sqsEvent } from '../support/sqs-event.ts';
import { World } from '../support/world.ts';

/**
 * A job never moves from one business to another: through the real pipeline, a valid delivery
 * naming another business for a known job is recorded `unprocessable`, counted, kept out of the
 * DLQ, and the job stays as it was.
 */
describe('a job stays with its account', () => {
  let world: World;
  beforeAll(async () => {
    world = await World.create();
  });
  afterAll(() => world.sqs.destroy());

  const ours = 'a7f3c9d1-2e84-4b6f-8c01-5d9e2a1f7b30';
  const theirs = '0b8e2f4c-91d3-4a57-b6e0-3c7d5a9f1e24';

  it('records a Cooledge delivery naming another business_id as unprocessable and leaves the job alone', async () => {
    const jobId = randomUUID();
    const first = cooledgeEvent('job.completed', { job_id: jobId, business_id: ours });
    const other = cooledgeEvent('job.completed', {
      job_id: jobId,
      business_id: theirs,
      status: 'reopened',
      occurred_at: new Date().toISOString(),
    });
    await world.postCooledge(first);
    await world.drain();
    const before = await world.job('cooledge', jobId);

    expect((await world.postCooledge(other)).statusCode).toBe(202);
    await world.postCooledge(other);
    await world.drain();

    expect(await world.job('cooledge', jobId)).toEqual(before);
    expect(await world.event('cooledge', other.event_id as string)).toMatchObject({
      outcome: 'unprocessable',
      accountId: theirs,
      reason: otherAccountReason,
      rawBody: JSON.stringify(other),
    });
    expect(world.consumerMetrics.get('Unprocessable')).toBe(1);
    // The second delivery of the same body: a duplicate, nothing written.
    expect(world.consumerOutcomes.get('duplicate')).toBe(1);
    expect(world.consumerMetrics.get('RecordFailed')).toBe(0);
    expect(await world.queueDepth(world.urls.deadLetterQueueUrl)).toBe(0);

    // A replay is refused again: the job's account has not changed.
    const replay = replayMessage((await world.event('cooledge', other.event_id as string)) ?? {});
    expect((await world.consumer(sqsEvent([JSON.stringify(replay)]))).batchItemFailures).toEqual([]);
    expect(await world.event('cooledge', other.event_id as string)).toMatchObject({
      outcome: 'unprocessable',
      reason: otherAccountReason,
      replayedAt: expect.any(String),
    });
    expect(await world.job('cooledge', jobId)).toEqual(before);
    expect(world.consumerMetrics.get('Unprocessable')).toBe(2);

    // The job's own business still moves it.
    const later = cooledgeEvent('job.completed', {
      job_id: jobId,
      business_id: ours,
      status: 'invoiced',
      occurred_at: new Date().toISOString(),
    });
    await world.postCooledge(later);
    await world.drain();
    expect(await world.job('cooledge', jobId)).toMatchObject({
      status: 'invoiced',
      accountId: ours,
      eventCount: 2,
    });
  });

  it('refuses a Zenbooker event of another account for a known job, even an earlier stage that would only fill gaps', async () => {
    const id = `1781604223917x${Date.now()}`;
    const completed = zenbookerEvent('job.completed', { data: { id } });
    const started = zenbookerEvent('job.started.v2025', {
      envelope: { account: '1604771203315x218845620193847200' },
      data: { id, job_notes: [{ text: 'another account' }] },
    });
    await world.postZenbooker(completed);
    await world.drain();
    const before = await world.job('zenbooker', id);
    const response = await world.postZenbooker(started);
    await world.drain();
    expect(await world.job('zenbooker', id)).toEqual(before);
    expect(await world.event('zenbooker', response.json.event_key as string)).toMatchObject({
      outcome: 'unprocessable',
      reason: otherAccountReason,
    });
  });
});
