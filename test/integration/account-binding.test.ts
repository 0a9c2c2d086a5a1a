import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StaticCredentials } from '#adapters/credentials';
import { readCredentials } from '#core/credentials';
import { silentLogger } from '#core/ports';
import { providers } from '#providers/index';
import { eventKey } from '#providers/zenbooker';
import { cooledgeEvent, zenbookerEvent } from '../support/factories.ts';
import {
  cooledgeSecret,
  OutcomeTally,
  standardSecret,
  standardSource,
  TallyMetrics,
  World,
  zenbookerToken,
} from '../support/world.ts';

/**
 * Credentials bound to businesses, through the real pipeline on DynamoDB Local and the SQS emulator:
 * the world's own secret, token and source, each bound to one account. An authentic event for that
 * account lands as always; one for another account is answered 401 and nothing of it is stored,
 * not even when it names a job the bound account already has.
 */
describe('credentials bound to accounts: ingest → queue → consumer → tables', () => {
  const business = 'a7f3c9d1-2e84-4b6f-8c01-5d9e2a1f7b30';
  const zenbookerAccount = '1571029418512x639482157734019100';
  const standardAccount = 'acme-hq';
  const elsewhere = 'someone-else';
  let world: World;
  let metrics: TallyMetrics;
  let outcomes: OutcomeTally;

  beforeAll(async () => {
    world = await World.create();
    const read = readCredentials(
      {
        cooledge: { secrets: [{ secret: cooledgeSecret, accounts: [business] }] },
        zenbooker: { tokens: [{ token: zenbookerToken, accounts: [zenbookerAccount] }] },
        standard: {
          sources: { [standardSource]: { secrets: [standardSecret], accounts: [standardAccount] } },
        },
      },
      providers,
    );
    if (!read.ok) throw new Error(`${read.problem.path}: ${read.problem.message}`);
    metrics = new TallyMetrics();
    outcomes = new OutcomeTally(silentLogger);
    // The world's ingest function, with the same queue and the bound credentials.
    world.ingest = world.ingestWith({
      credentials: new StaticCredentials(read.value),
      metrics,
      logger: outcomes,
    });
  });
  afterAll(() => world.sqs.destroy());

  it('Cooledge: stores the bound business’s event, and nothing of another business’s, even for its job', async () => {
    const mine = cooledgeEvent('job.completed', { business_id: business, job_id: 'J-bound-1' });
    expect((await world.postCooledge(mine)).statusCode).toBe(202);
    await world.drain();
    const before = await world.allEvents();

    const theirs = cooledgeEvent('job.completed', { business_id: elsewhere, job_id: 'J-bound-2' });
    const sameJob = cooledgeEvent('job.completed', {
      business_id: elsewhere,
      job_id: 'J-bound-1',
      status: 'canceled',
    });
    for (const body of [theirs, sameJob]) {
      const response = await world.postCooledge(body);
      expect(response.statusCode).toBe(401);
      expect(response.json.detail).toBe('The request could not be authenticated.');
    }
    await world.drain();

    expect(await world.allEvents()).toHaveLength(before.length);
    expect(await world.event('cooledge', String(theirs.event_id))).toBeUndefined();
    expect(await world.event('cooledge', String(sameJob.event_id))).toBeUndefined();
    expect(await world.job('cooledge', 'J-bound-2')).toBeUndefined();
    expect(await world.job('cooledge', 'J-bound-1')).toMatchObject({
      accountId: business,
      status: 'completed',
      eventCount: 1,
    });
  });

  it('Zenbooker: stores the bound account’s event, and nothing of another account’s', async () => {
    const mine = zenbookerEvent('job.completed', { data: { id: 'Z-bound-1' } });
    const theirs = zenbookerEvent('job.completed', {
      envelope: { account: elsewhere },
      data: { id: 'Z-bound-2' },
    });
    expect((await world.postZenbooker(mine)).statusCode).toBe(202);
    expect((await world.postZenbooker(theirs)).statusCode).toBe(401);
    await world.drain();
    expect(await world.event('zenbooker', eventKey(mine))).toMatchObject({ accountId: zenbookerAccount });
    expect(await world.event('zenbooker', eventKey(theirs))).toBeUndefined();
    expect(await world.job('zenbooker', 'Z-bound-2')).toBeUndefined();
  });

  it('Standard Webhooks: stores the bound source’s events for its account only, and none without one', async () => {
    const job = (jobId: string, account?: string) => ({
      type: 'job.completed',
      timestamp: new Date(Date.now() - 60_000).toISOString(),
      data: { job_id: jobId, status: 'completed', ...(account === undefined ? {} : { account_id: account }) },
    });
    expect(
      (await world.postStandard(job('S-bound-1', standardAccount), { id: 'msg_bound_1' })).statusCode,
    ).toBe(202);
    expect((await world.postStandard(job('S-bound-2', elsewhere), { id: 'msg_bound_2' })).statusCode).toBe(
      401,
    );
    expect((await world.postStandard(job('S-bound-3'), { id: 'msg_bound_3' })).statusCode).toBe(401);
    await world.drain();
    expect(await world.event('standard', `${standardSource}:msg_bound_1`)).toMatchObject({
      accountId: standardAccount,
    });
    expect(await world.event('standard', `${standardSource}:msg_bound_2`)).toBeUndefined();
    expect(await world.event('standard', `${standardSource}:msg_bound_3`)).toBeUndefined();
  });

  it('counted every refusal as an unbound account, among the 401s, and sent nothing to the DLQ', async () => {
    expect(metrics.get('RejectedUnboundAccount')).toBe(5);
    expect(metrics.get('RejectedUnauthorized')).toBe(5);
    expect(outcomes.get('accepted')).toBe(3);
    expect(await world.deadLetters()).toEqual([]);
  });
});
