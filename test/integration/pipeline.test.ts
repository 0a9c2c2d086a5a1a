import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, fixtureNames } from '../support/fixtures.ts';
import { World } from '../support/world.ts';

describe('pipeline: ingest → queue → consumer → tables', () => {
  let world: World;
  beforeAll(async () => {
    world = await World.create();
  });
  afterAll(() => world.sqs.destroy());

  it.each(fixtureNames('cooledge'))('stores Cooledge %s exactly once', async (name) => {
    const body = fixture('cooledge', name);
    const response = await world.postCooledge(body);
    expect(response.statusCode).toBe(202);
    expect(response.json).toMatchObject({
      status: 'accepted',
      provider: 'cooledge',
      event_key: body.event_id,
    });
    await world.drain();
    const event = await world.event('cooledge', body.event_id as string);
    expect(event).toMatchObject({ eventType: body.event_type, rawBody: JSON.stringify(body) });
    expect(['applied', 'recorded', 'stale']).toContain(event?.outcome);
    if (typeof body.job_id === 'string') {
      const job = await world.job('cooledge', body.job_id);
      expect(job).toMatchObject({ provider: 'cooledge', jobId: body.job_id, accountId: body.business_id });
    }
  });

  it.each(fixtureNames('zenbooker'))('stores Zenbooker %s', async (name) => {
    const body = fixture('zenbooker', name);
    const response = await world.postZenbooker(body);
    expect(response.statusCode).toBe(202);
    expect(response.json.status).toBe('accepted');
    await world.drain();
    const event = await world.event('zenbooker', response.json.event_key as string);
    expect(event?.eventType).toBe(body.event);
    const data = body.data as { id: string };
    const job = await world.job('zenbooker', data.id);
    expect(job).toMatchObject({ provider: 'zenbooker', jobId: data.id, accountId: body.account });
  });
});
