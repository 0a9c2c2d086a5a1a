import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { CreateTableCommand, DeleteTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type JobStreamRecord, jobChangesOf } from '#adapters/job-stream-records';
import { SqsQueue } from '#adapters/sqs-queue';
import type { JobFields } from '#core/job';
import type { JobChange } from '#core/job-changes';
import { type Item, jobFieldNames } from '#core/records';
import { otherAccountReason } from '#core/rules';
import { eventKey as zenbookerKey } from '#providers/zenbooker';
import { replayMessage } from '../../cli/replay.ts';
import { jobStreamArn, jobStreamSoFar, readJobStream } from '../../local/job-stream.ts';
import { createTables, localCredentials, localRegion, resourceNames } from '../../local/stack.ts';
import { cooledgeEvent } from '../support/factories.ts';
import { fixture } from '../support/fixtures.ts';
import { cooledgeTypedEvent, zenbookerStage, zenbookerStageEvent } from '../support/lifecycles.ts';
import { standardSource, World } from '../support/world.ts';

/**
 * Job events from the jobs table's stream, end to end: random deliveries go through the real
 * ingest handler, queue and consumer into DynamoDB Local; the table's stream is read from its start
 * with `readJobStream` and turned into job events with `jobChangesOf`, as the deployed publish function
 * and the local publisher do. The events must be exactly the changes to jobs: one per event-log
 * record `applied` that names the job, one per stale event that filled a field the job lacked, and
 * nothing for duplicates, other stale events, conflicts, quarantined or record-only events, replays
 * of applied events; in each job's order, each with the status before it and the fields it changed,
 * each job's last event holding its stored state. `JOB_EVENTS_RUNS` sets the runs.
 */
const runs = Number(process.env.JOB_EVENTS_RUNS ?? 15);
/** A run is a fresh world (tables and queues) and up to ~20 deliveries: about 0.3 to 1 s. */
const timeout = Math.max(60_000, runs * 4_000);

// ---------------------------------------------------------------------------------------------
// What a run delivers: two Cooledge jobs, a Zenbooker job, a quarantined body, a lead
// ---------------------------------------------------------------------------------------------

/** Few times, so ties and out-of-order arrivals are frequent; minutes before the run starts. */
const minute = fc.integer({ min: 0, max: 5 });

const cooledgeSpec = fc.record({
  /** Sometimes the key of an earlier spec: two bodies under one key, the second a conflict. */
  sameKeyAs: fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.nat(5) }),
  job: fc.constantFrom('C-1', 'C-1', 'C-1', 'C-2'),
  type: fc.constantFrom('job.completed', 'job.completed', 'booking.created', 'invoice.paid'),
  minute,
  status: fc.constantFrom('scheduled', 'in_progress', 'completed'),
  description: fc.constantFrom('first visit', 'done', null),
  name: fc.constantFrom('Priya Nair', 'P. Nair', null),
  /** Another business than the job's: recorded `unprocessable`. */
  business: fc.constantFrom(...Array<string>(7).fill('biz-a'), 'biz-b'),
});

const zenbookerSpec = fc.record({
  stage: zenbookerStage,
  stageTime: fc.boolean(),
  minute,
  note: fc.constantFrom('n1', 'n2'),
  account: fc.constantFrom(...Array<string>(7).fill('acct-1'), 'acct-2'),
});

const index = fc.nat({ max: 99 });
/**
 * `next` delivers the next entry not yet delivered (in the scenario's `order`); the others deliver
 * again (a duplicate, or a Zenbooker retry), send another body under a known key, replay a stored
 * record, or let the consumer catch up. Between drains the consumer takes the queued deliveries
 * together, concurrently. Whatever `next` left undelivered is delivered at the end.
 */
const step = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('next' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('again' as const), index, retry: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('variant' as const), index }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('replay' as const), index }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('drain' as const) }) },
);

const scenario = fc.record({
  cooledge: fc.array(cooledgeSpec, { minLength: 2, maxLength: 7 }),
  zenbooker: fc.array(zenbookerSpec, { maxLength: 3 }),
  extras: fc.subarray(['quarantined', 'lead'] as const),
  /** Sorts the entries into the order of their first deliveries. */
  order: fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
  steps: fc.array(step, { maxLength: 20 }),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

interface Entry {
  provider: 'cooledge' | 'zenbooker';
  eventKey: string;
  raw: string;
  /** Another body under the same key (a conflict), when the provider's key allows one. */
  variant: string | undefined;
  /** A Zenbooker body: a redelivery bumps `retry_count`, under the same key. */
  retryable: boolean;
}

function entries(spec: Scenario, base: number): Entry[] {
  const at = (m: number) => new Date(base - 3_600_000 + m * 300_000).toISOString();
  const out: Entry[] = [];
  spec.cooledge.forEach((c, i) => {
    const own = {
      event_id: `evt-${c.sameKeyAs === undefined || i === 0 ? i : c.sameKeyAs % i}`,
      job_id: c.job,
      business_id: c.business,
      occurred_at: at(c.minute),
      customer_name: c.name,
    };
    const body = cooledgeTypedEvent(c.type, own, c);
    out.push({
      provider: 'cooledge',
      eventKey: own.event_id,
      raw: JSON.stringify(body),
      variant: JSON.stringify({ ...body, description: 'another body' }),
      retryable: false,
    });
  });
  for (const z of spec.zenbooker) {
    const time = z.stageTime ? at(z.minute) : null;
    const body = zenbookerStageEvent(z, time);
    out.push({
      provider: 'zenbooker',
      eventKey: zenbookerKey(body),
      raw: JSON.stringify(body),
      variant: undefined,
      retryable: true,
    });
  }
  for (const extra of spec.extras) {
    // A number where Cooledge sends text: accepted, recorded `quarantined`, no job touched.
    const body =
      extra === 'quarantined'
        ? cooledgeEvent('job.completed', {
            event_id: 'q-1',
            job_id: 'C-1',
            business_id: 'biz-a',
            occurred_at: at(3),
            customer_name: 12,
          })
        : { ...fixture('cooledge', 'lead.created'), event_id: 'lead-1', occurred_at: at(0) };
    out.push({
      provider: 'cooledge',
      eventKey: String(body.event_id),
      raw: JSON.stringify(body),
      variant: undefined,
      retryable: false,
    });
  }
  return out;
}

/** Outcomes and situations the runs reached, so a generator that stopped reaching one is noticed. */
const seen = new Map<string, number>();
const saw = (what: string) => seen.set(what, (seen.get(what) ?? 0) + 1);

async function run(world: World, spec: Scenario) {
  const list = entries(spec, Date.now());
  const firsts = list
    .map((entry, i) => ({ entry, rank: spec.order[i] ?? 0 }))
    .sort((a, b) => a.rank - b.rank)
    .map(({ entry }) => entry);
  const queue = new SqsQueue(world.urls.queueUrl, world.sqs);
  const post = async (entry: Entry, raw: string) => {
    const response =
      entry.provider === 'cooledge' ? await world.postCooledge(raw) : await world.postZenbooker(raw);
    expect(response.statusCode, response.body).toBe(202);
  };
  for (const s of spec.steps) {
    if (s.kind === 'drain') {
      await world.drain();
      continue;
    }
    if (s.kind === 'next') {
      const entry = firsts.shift();
      if (entry) await post(entry, entry.raw);
      continue;
    }
    const entry = list[s.index % list.length] as Entry;
    if (s.kind === 'replay') {
      // What `cli replay` sends: the stored body, marked as a replay.
      await world.drain();
      const stored = await world.event(entry.provider, entry.eventKey);
      const message = stored && replayMessage(stored);
      if (message) {
        await queue.send(message);
        saw('replay');
      }
    } else if (s.kind === 'variant') {
      if (entry.variant !== undefined) await post(entry, entry.variant);
    } else {
      // A Zenbooker retry bumps `retry_count`: the same key, the same delivery.
      const raw =
        entry.retryable && s.retry > 0
          ? JSON.stringify({ ...JSON.parse(entry.raw), retry_count: s.retry })
          : entry.raw;
      await post(entry, raw);
    }
  }
  for (const entry of firsts) await post(entry, entry.raw);
  await world.drain();
}

// ---------------------------------------------------------------------------------------------
// The stream, read as the publisher reads it
// ---------------------------------------------------------------------------------------------

let streams: DynamoDBStreamsClient;
beforeAll(() => {
  streams = new DynamoDBStreamsClient({
    endpoint: inject('dynamoEndpoint'),
    region: localRegion,
    credentials: localCredentials,
  });
});
afterAll(() => streams.destroy());

/** Every record of the jobs table's stream, from its start (`jobStreamSoFar`). */
function streamRecords(world: World): Promise<JobStreamRecord[]> {
  return jobStreamSoFar({ dynamo: world.dynamo, streams, tableName: world.names.jobsTable });
}

const canonical = (item: Item): Partial<JobFields> =>
  Object.fromEntries(
    jobFieldNames.filter((name) => item[name] !== undefined).map((name) => [name, item[name]]),
  );

const differing = (a: Partial<JobFields>, b: Partial<JobFields>) =>
  jobFieldNames.filter((name) => !isDeepStrictEqual(a[name], b[name])).sort();

/** Each job's values, sorted: a multiset to compare. */
const byJob = (pairs: Array<[string, string]>) => {
  const map = new Map<string, string[]>();
  for (const [job, value] of pairs) map.set(job, [...(map.get(job) ?? []), value]);
  return Object.fromEntries(
    [...map].sort(([a], [b]) => (a < b ? -1 : 1)).map(([job, values]) => [job, values.sort()]),
  );
};

/** A job, as far as its published events tell. */
interface Tracked {
  job: Partial<JobFields>;
  accountId: string | null;
  sequence: number;
}

async function check(world: World) {
  const records = await streamRecords(world);
  const changes = jobChangesOf(records);
  // Every write to a job changed it, and each is published: one event per stream record, in order.
  expect(changes).toEqual(records.flatMap((record) => jobChangesOf([record])));
  expect(changes.length, 'one event per write to a job').toBe(records.length);

  // Their causes: every `applied` record of the event log once, and `stale` ones that filled.
  const events = await world.allEvents();
  for (const event of events) saw(String(event.outcome));
  // The record kept under each key (a conflict record has a `pk` of its own).
  const outcomes = new Map(events.map((event) => [event.pk, event.outcome]));
  const applied = events.filter((event) => event.outcome === 'applied');
  const jobOf = (event: Item) => `${event.provider}#${(event.entityIds as Record<string, string>).job_id}`;
  const caused = (outcome: string) =>
    changes
      .filter((c) => c.detail.cause.outcome === outcome)
      .map((c): [string, string] => [`${c.detail.provider}#${c.detail.jobId}`, c.detail.cause.eventKey]);
  expect(byJob(caused('applied')), 'the applied events each job published').toEqual(
    byJob(applied.map((event) => [jobOf(event), String(event.eventKey)])),
  );
  for (const change of changes.filter((c) => c.detail.cause.outcome === 'stale')) {
    const { provider, cause } = change.detail;
    expect(outcomes.get(`${provider}#${cause.eventKey}`), `${cause.eventKey}: a fill by a stale event`).toBe(
      'stale',
    );
  }

  // In each job's order, each with what it changed, as a subscriber tracking the events sees it.
  const tracked = new Map<string, Tracked>();
  for (const change of changes) {
    const { detail } = change;
    const pk = `${detail.provider}#${detail.jobId}`;
    const known = tracked.get(pk);
    expect(detail.sequence, `${pk}: sequence`).toBe((known?.sequence ?? 0) + 1);
    expect(detail.changeId).toBe(`${pk}#${detail.sequence}`);
    if (known === undefined) {
      expect(change.detailType).toBe('Job Created');
      expect(detail.cause.outcome).toBe('applied');
      expect(detail.previousStatus).toBeNull();
      expect(detail.changedFields).toEqual(Object.keys(detail.job).sort());
    } else {
      const previousStatus = known.job.status ?? null;
      expect(detail.previousStatus, `${pk}: previous status`).toBe(previousStatus);
      expect(change.detailType).toBe(
        (detail.status ?? null) === previousStatus ? 'Job Updated' : 'Job Status Changed',
      );
      const tookAccount = known.accountId === null && detail.accountId !== null;
      expect(detail.changedFields, `${pk}: changed fields`).toEqual(
        [...differing(known.job, detail.job), ...(tookAccount ? ['accountId'] : [])].sort(),
      );
      if (detail.cause.outcome === 'stale') {
        // A fill sets fields the job lacked (or the account it had none of), keeps every one it had,
        // and always sets one.
        expect(detail.job, `${pk}: a fill keeps every field it found`).toMatchObject(known.job);
        expect(detail.changedFields.length, `${pk}: a fill that filled nothing`).toBeGreaterThan(0);
        saw(`fill: ${change.detailType}`);
      }
    }
    saw(change.detailType);
    if (known?.accountId != null) expect(detail.accountId, `${pk}: its account`).toBe(known.accountId);
    tracked.set(pk, { job: detail.job, accountId: detail.accountId, sequence: detail.sequence });
  }

  // Each job's last event holds its stored state: a subscriber misses no field and no status.
  const jobs = (await world.allJobs()).filter((job) => !String(job.pk).startsWith('sentinel#'));
  expect(
    Object.fromEntries(
      jobs.map((job) => [job.pk, [canonical(job), Number(job.eventCount) + Number(job.fillCount ?? 0)]]),
    ),
  ).toEqual(Object.fromEntries([...tracked].map(([pk, t]) => [pk, [t.job, t.sequence]])));
  return changes;
}

// ---------------------------------------------------------------------------------------------

describe('job events: the jobs stream gives exactly the changes to jobs', () => {
  it(
    `for random deliveries, duplicates, late and conflicting bodies, replays, quarantined and record-only events (${runs} runs)`,
    async () => {
      await fc.assert(
        fc.asyncProperty(scenario, async (spec) => {
          const world = await World.create();
          try {
            await run(world, spec);
            await check(world);
          } finally {
            await Promise.all(
              [world.names.eventsTable, world.names.jobsTable].map((TableName) =>
                world.dynamo.send(new DeleteTableCommand({ TableName })),
              ),
            );
            world.sqs.destroy();
          }
        }),
        { numRuns: runs },
      );
      if (process.env.JOB_EVENTS_RUNS !== undefined)
        console.log(`job events: ${runs} runs reached ${JSON.stringify(Object.fromEntries(seen))}`);
      // A long run says what it covered, and must have reached every case (15 runs may miss one by
      // chance; the lifecycle test below reaches each, and a fill between two changes, every time).
      if (runs >= 50) {
        for (const what of [
          'applied',
          'stale',
          'conflict',
          'quarantined',
          'recorded',
          'unprocessable',
          'replay',
          'Job Created',
          'Job Updated',
          'Job Status Changed',
          'fill: Job Updated',
          'fill: Job Status Changed',
        ])
          expect(seen.get(what) ?? 0, `runs that reached ${what}`).toBeGreaterThan(0);
      }
    },
    timeout,
  );

  it('publishes a job lifecycle in order, a late fill included; nothing for duplicates, stale events that fill nothing, conflicting, quarantined or record-only events and replays', async () => {
    const world = await World.create();
    try {
      const at = (m: number) => new Date(Date.now() - 3_600_000 + m * 60_000).toISOString();
      const job = { job_id: 'J-1', business_id: 'biz-a' };
      // A booking carries the schedule and no status; a job event carries the status.
      const booked = cooledgeEvent('booking.created', { ...job, occurred_at: at(1) });
      const started = cooledgeEvent('job.completed', { ...job, occurred_at: at(2), status: 'in_progress' });
      const done = cooledgeEvent('job.completed', { ...job, occurred_at: at(4), status: 'completed' });
      const late = cooledgeEvent('invoice.paid', { ...job, occurred_at: at(3) });
      const noted = cooledgeEvent('job.completed', {
        ...job,
        occurred_at: at(5),
        status: 'completed',
        description: 'Left a note for the customer.',
      });
      const conflicting = { ...done, description: 'Another body under a known key.' };
      const quarantined = cooledgeEvent('job.completed', { ...job, occurred_at: at(6), customer_name: 12 });
      const lead = { ...fixture('cooledge', 'lead.created'), event_id: randomUUID(), occurred_at: at(6) };
      for (const body of [booked, booked, started, done, late, done, started, noted, conflicting]) {
        expect((await world.postCooledge(body)).statusCode).toBe(202);
        await world.drain();
      }
      for (const body of [quarantined, lead]) expect((await world.postCooledge(body)).statusCode).toBe(202);
      await world.drain();
      // Replays: of an event the job has moved past (stale, nothing written), and of its latest.
      const queue = new SqsQueue(world.urls.queueUrl, world.sqs);
      for (const key of [started.event_id, noted.event_id, quarantined.event_id]) {
        const message = replayMessage((await world.event('cooledge', String(key))) as Item);
        expect(message).toBeDefined();
        await queue.send(message as NonNullable<typeof message>);
      }
      await world.drain();
      const events = await world.allEvents();
      expect(events.filter((event) => event.outcome === 'conflict').map((event) => event.eventKey)).toEqual([
        done.event_id,
      ]);
      expect(
        Object.fromEntries(
          events.filter((e) => e.outcome !== 'conflict').map((event) => [event.eventKey, event.outcome]),
        ),
      ).toMatchObject({
        [String(booked.event_id)]: 'applied',
        [String(late.event_id)]: 'stale',
        [String(quarantined.event_id)]: 'quarantined',
        [String(lead.event_id)]: 'recorded',
      });
      const changes: JobChange[] = await check(world);
      expect(
        changes.map((c) => [
          c.detailType,
          c.detail.sequence,
          c.detail.previousStatus,
          c.detail.cause.outcome,
        ]),
      ).toEqual([
        ['Job Created', 1, null, 'applied'],
        ['Job Status Changed', 2, null, 'applied'],
        ['Job Status Changed', 3, 'in_progress', 'applied'],
        ['Job Updated', 4, 'completed', 'stale'],
        ['Job Updated', 5, 'completed', 'applied'],
      ]);
      expect(changes[0]?.detail.changedFields).toEqual(
        expect.arrayContaining(['scheduledStart', 'scheduledEnd']),
      );
      expect(changes[2]?.detail).toMatchObject({
        status: 'completed',
        changedFields: ['status'],
        cause: { eventKey: done.event_id, eventType: 'job.completed', outcome: 'applied' },
      });
      // The late invoice is older than the job's state: it fills the amounts the job lacked, and
      // that fill is a change of its own.
      expect(changes[2]?.detail.job.total).toBeUndefined();
      expect(changes[3]?.detail).toMatchObject({
        changedFields: ['amountDue', 'amountPaid', 'total'],
        job: { status: 'completed', total: 462, amountPaid: 200, amountDue: 262 },
        cause: {
          eventKey: late.event_id,
          eventType: 'invoice.paid',
          eventAt: late.occurred_at,
          outcome: 'stale',
        },
      });
      // The fill's own time: when the consumer wrote it, as the stale record says.
      expect(changes[3]?.detail.changedAt).toBe(
        (await world.event('cooledge', String(late.event_id)))?.processedAt,
      );
      expect(changes[3]?.detail.changedAt).not.toBe(changes[2]?.detail.changedAt);
      expect(changes[4]?.detail).toMatchObject({
        changedFields: ['description'],
        job: { total: 462, amountPaid: 200, amountDue: 262 },
        cause: { eventKey: noted.event_id },
      });
      expect(await world.job('cooledge', 'J-1')).toMatchObject({ total: 462, eventCount: 4, fillCount: 1 });
    } finally {
      world.sqs.destroy();
    }
  });
});

describe('job events: a status a stale event fills', () => {
  it("is published: a job.completed that arrives after the job's newer invoice announces the completion", async () => {
    const world = await World.create();
    try {
      const at = (m: number) => new Date(Date.now() - 3_600_000 + m * 60_000).toISOString();
      const job = { job_id: 'J-late', business_id: 'biz-a' };
      const invoiced = cooledgeEvent('invoice.paid', { ...job, occurred_at: at(5) });
      const completed = cooledgeEvent('job.completed', { ...job, occurred_at: at(4), status: 'completed' });
      for (const body of [invoiced, completed, completed]) {
        expect((await world.postCooledge(body)).statusCode).toBe(202);
        await world.drain();
      }
      expect((await world.event('cooledge', String(completed.event_id)))?.outcome).toBe('stale');
      const changes = await check(world);
      expect(changes.map((c) => [c.detailType, c.detail.status, c.detail.previousStatus])).toEqual([
        ['Job Created', null, null],
        ['Job Status Changed', 'completed', null],
      ]);
      expect(changes[1]?.detail).toMatchObject({
        sequence: 2,
        changeId: 'cooledge#J-late#2',
        changedFields: expect.arrayContaining(['status']),
        job: { status: 'completed', total: 462 },
        cause: {
          eventKey: completed.event_id,
          eventType: 'job.completed',
          eventAt: completed.occurred_at,
          outcome: 'stale',
        },
      });
    } finally {
      world.sqs.destroy();
    }
  });
});

describe('job events: a stale event that names the first account', () => {
  it('gives the job its account, publishes it, and refuses a later event of another account', async () => {
    const world = await World.create();
    try {
      const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();
      const job = (type: string, timestamp: string, data: Record<string, unknown>) => ({
        type,
        timestamp,
        data: { job_id: 'ACC-1', ...data },
      });
      const post = async (body: object, id: string) => {
        expect((await world.postStandard(body, { id })).statusCode).toBe(202);
        await world.drain();
      };
      await post(job('job.started', minutesAgo(20), { status: 'started' }), 'msg_acc_1');
      await post(
        job('job.scheduled', minutesAgo(30), { account_id: 'acme-hq', customer_name: 'Late Name' }),
        'msg_acc_2',
      );
      await post(
        job('job.completed', minutesAgo(10), { account_id: 'other-biz', status: 'completed' }),
        'msg_acc_3',
      );

      const key = (id: string) => `${standardSource}:${id}`;
      expect((await world.event('standard', key('msg_acc_2')))?.outcome).toBe('stale');
      expect(await world.event('standard', key('msg_acc_3'))).toMatchObject({
        outcome: 'unprocessable',
        reason: otherAccountReason,
      });
      expect(await world.job('standard', key('ACC-1'))).toMatchObject({
        accountId: 'acme-hq',
        accountKey: `standard#acme-hq`,
        customerName: 'Late Name',
        status: 'started',
      });
      const changes = await check(world);
      expect(changes.map((c) => [c.detail.sequence, c.detail.accountId, c.detail.cause.outcome])).toEqual([
        [1, null, 'applied'],
        [2, 'acme-hq', 'stale'],
      ]);
      expect(changes[1]?.detail.changedFields).toEqual(['accountId', 'customerName']);
    } finally {
      world.sqs.destroy();
    }
  });
});

describe('reading a table stream', () => {
  let world: World;
  beforeAll(async () => {
    world = await World.create();
  });
  afterAll(() => world.sqs.destroy());

  it('from LATEST yields only what is written after it starts, and stops when aborted', async () => {
    const body = cooledgeEvent('job.completed', { job_id: 'L-1', occurred_at: new Date().toISOString() });
    await world.postCooledge(body);
    await world.drain();
    const controller = new AbortController();
    const reader = readJobStream({
      client: streams,
      streamArn: await jobStreamArn(world.dynamo, world.names.jobsTable),
      from: 'LATEST',
      signal: controller.signal,
      pollMs: 20,
    });
    const next = reader.next();
    // The reader takes its position in the shard on its first round; give it that round.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await world.doc.send(new PutCommand({ TableName: world.names.jobsTable, Item: { pk: 'later' } }));
    const first = await next;
    expect(first.done).toBe(false);
    expect((first.value as JobStreamRecord[]).map((record) => record.dynamodb.Keys.pk?.S)).toEqual(['later']);
    const pending = reader.next();
    controller.abort();
    expect(await pending).toEqual({ done: true, value: undefined });
  });

  it('names the table that has no stream', async () => {
    await expect(jobStreamArn(world.dynamo, world.names.eventsTable)).rejects.toThrow(
      `table ${world.names.eventsTable} has no DynamoDB stream`,
    );
  });

  it('the local stack turns the stream on for a jobs table kept from before it had one', async () => {
    const names = resourceNames(`s${randomUUID().slice(0, 8)}`);
    await world.dynamo.send(
      new CreateTableCommand({
        TableName: names.jobsTable,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    );
    await createTables(world.dynamo, names);
    const { Table } = await world.dynamo.send(new DescribeTableCommand({ TableName: names.jobsTable }));
    expect(Table?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(await jobStreamArn(world.dynamo, names.jobsTable)).toBe(Table?.LatestStreamArn);
    // Again: left as it is.
    await createTables(world.dynamo, names);
    const again = await world.dynamo.send(new DescribeTableCommand({ TableName: names.jobsTable }));
    expect(again.Table?.LatestStreamArn).toBe(Table?.LatestStreamArn);
  });
});
