import { randomBytes, randomUUID } from 'node:crypto';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventPk } from '#adapters/dynamo-store';
import { type EventStore, PermanentStoreError } from '#core/consume';
import type { JsonObject } from '#core/json';
import { otherAccountReason } from '#core/rules';
import { eventKey } from '#providers/zenbooker';
import { replayMessage } from '../../cli/replay.ts';
import { bubbleId, cooledgeEvent, zenbookerEvent } from '../support/factories.ts';
import { World } from '../support/world.ts';

/**
 * Issue 8, "Every 202 lands": whatever an authenticated sender puts in a body, an event answered
 * 202 ends as exactly one event-log record and never in the DLQ; a job never moves backwards; a
 * second body under a known key is kept as a conflict. Real handlers, DynamoDB Local, the SQS
 * emulator. `LANDS_RUNS` sets the property runs (`npm run chaos` runs thousands).
 */
const runs = Number(process.env.LANDS_RUNS ?? 40);
/** Each run is a few round trips to the emulators: about 25 ms; the lifecycle runs post ten times. */
const timeout = Math.max(60_000, runs * 250);

/** A body with raw JSON number texts put where `"§name§"` placeholders were. */
function withNumbers(body: JsonObject, numbers: Record<string, string>): string {
  let raw = JSON.stringify(body);
  for (const [name, text] of Object.entries(numbers)) raw = raw.replace(`"§${name}§"`, text);
  return raw;
}

async function expectLanded(world: World, provider: string, key: string) {
  const record = await world.event(provider, key);
  expect(record, `no event-log record for ${provider} ${key}`).toBeDefined();
  return record as Record<string, unknown>;
}

describe('accepted means storable: numbers, key lengths and mapping failures', () => {
  let world: World;
  beforeAll(async () => {
    world = await World.create();
  });
  afterAll(() => world.sqs.destroy());

  it.each(['1e16', '1e200', '1e-200'])(
    'quarantines an invoice.paid whose total is %s, stores it once, and leaves nothing in the DLQ',
    async (total) => {
      const body = cooledgeEvent('invoice.paid', { job_id: randomUUID(), total: '§total§' });
      const response = await world.postCooledge(withNumbers(body, { total }));
      expect(response.statusCode).toBe(202);
      expect(response.json.status).toBe('quarantined');
      expect(response.json.issues).toEqual([expect.objectContaining({ path: 'total' })]);
      await world.drain();
      const record = await expectLanded(world, 'cooledge', body.event_id as string);
      expect(record.outcome).toBe('quarantined');
      expect(record.rawBody).toContain(`"total":${total}`);
      expect(await world.job('cooledge', body.job_id as string)).toBeUndefined();
      expect(await world.queueDepth(world.urls.deadLetterQueueUrl)).toBe(0);
    },
  );

  it('keeps a job_number beyond 2^53 exactly as it was sent', async () => {
    const body = cooledgeEvent('job.completed', { job_id: randomUUID(), job_number: '§n§' });
    const response = await world.postCooledge(withNumbers(body, { n: '90071992547409937' }));
    expect(response.json.status).toBe('accepted');
    await world.drain();
    expect((await world.job('cooledge', body.job_id as string))?.jobNumber).toBe('90071992547409937');
  });

  it('quarantines a booking.created whose job_id is 2,100 UTF-8 bytes, and stores it once', async () => {
    const body = cooledgeEvent('booking.created', { job_id: '工'.repeat(700) });
    const response = await world.postCooledge(body);
    expect(response.statusCode).toBe(202);
    expect(response.json.status).toBe('quarantined');
    await world.drain();
    expect((await expectLanded(world, 'cooledge', body.event_id as string)).outcome).toBe('quarantined');
    expect(await world.queueDepth(world.urls.deadLetterQueueUrl)).toBe(0);
  });
});

describe('a write DynamoDB refuses for good is recorded, not looped into the DLQ', () => {
  let world: World;
  /** Event keys whose job write is made one DynamoDB refuses (a 3,000-byte key) or cannot marshal. */
  const badKey = new Set<string>();
  const badNumber = new Set<string>();
  /** Event keys whose unprocessable record is made too large to store with its body (> 400 KB). */
  const hugeRecord = new Set<string>();
  beforeAll(async () => {
    world = await World.create({
      visibilityTimeoutSeconds: 1,
      wrapStore: (store): EventStore => ({
        record: (event, outcome) =>
          store.record(
            hugeRecord.has(event.eventKey) && event.rawBody !== undefined
              ? // Random text: Brotli cannot shrink it below DynamoDB's 400 KB item limit.
                { ...event, rawBody: randomBytes(450_000).toString('base64') }
              : event,
            outcome,
          ),
        apply: (event, job) => {
          if (badKey.has(event.eventKey)) return store.apply(event, { ...job, jobId: 'k'.repeat(3000) });
          if (badNumber.has(event.eventKey))
            return store.apply(event, { ...job, fields: { ...job.fields, total: 1e16 } });
          return store.apply(event, job);
        },
      }),
    });
  });
  afterAll(() => world.sqs.destroy());

  it('records a DynamoDB ValidationException as unprocessable, with its reason and the raw body', async () => {
    const body = cooledgeEvent('job.completed', { job_id: randomUUID() });
    badKey.add(body.event_id as string);
    expect((await world.postCooledge(body)).statusCode).toBe(202);
    await world.drain();
    const record = await expectLanded(world, 'cooledge', body.event_id as string);
    expect(record.outcome).toBe('unprocessable');
    expect(record.reason).toMatch(/ValidationError|ValidationException/);
    expect(record.rawBody).toBe(JSON.stringify(body));
    expect(world.consumerMetrics.get('Unprocessable')).toBeGreaterThanOrEqual(1);
    expect(world.consumerMetrics.get('RecordFailed')).toBe(0);
    expect(await world.queueDepth(world.urls.deadLetterQueueUrl)).toBe(0);
  });

  it('records a value the marshaller refuses as unprocessable, naming it', async () => {
    const body = cooledgeEvent('job.completed', { job_id: randomUUID() });
    badNumber.add(body.event_id as string);
    await world.postCooledge(body);
    await world.drain();
    const record = await expectLanded(world, 'cooledge', body.event_id as string);
    expect(record.outcome).toBe('unprocessable');
    expect(record.reason).toMatch(/MAX_SAFE_INTEGER/);
    expect(await world.queueDepth(world.urls.deadLetterQueueUrl)).toBe(0);
  });

  it('keeps the reason and a hash when even that record is refused, and sends the message to the DLQ', async () => {
    const body = cooledgeEvent('job.completed', { job_id: randomUUID() });
    badKey.add(body.event_id as string);
    hugeRecord.add(body.event_id as string);
    await world.postCooledge(body);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (await world.queueDepth(world.urls.deadLetterQueueUrl)) === 0) {
      const { received } = await world.poller.pollOnce();
      if (received === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(await world.queueDepth(world.urls.deadLetterQueueUrl)).toBe(1);
    const record = await expectLanded(world, 'cooledge', body.event_id as string);
    expect(record.outcome).toBe('unprocessable');
    expect(record.rawBody).toBeUndefined();
    expect(record.bodySha256).toMatch(/^[0-9a-f]{64}$/);
    expect(record.reason).toMatch(/ValidationError.*refused too: ValidationException: Item size/);
  });
});

describe('ids that are not well-formed Unicode', () => {
  let world: World;
  beforeAll(async () => {
    world = await World.create();
  });
  afterAll(() => world.sqs.destroy());

  it('answers 400 naming event_id for two event ids that differ only in a lone surrogate', async () => {
    for (const eventId of ['evt-1\ud800', 'evt-1\ud801']) {
      const response = await world.postCooledge(cooledgeEvent('job.completed', { event_id: eventId }));
      expect(response.statusCode).toBe(400);
      expect(response.json.detail).toMatch(/^event_id must be well-formed Unicode/);
    }
  });

  it('answers 400 naming the job id for two job ids that differ only in a lone surrogate', async () => {
    for (const jobId of ['job-1\ud800', 'job-1\ud801']) {
      const response = await world.postCooledge(cooledgeEvent('job.completed', { job_id: jobId }));
      expect(response.statusCode).toBe(400);
      expect(response.json.detail).toMatch(/^job_id must be well-formed Unicode/);
    }
    expect(await world.queueDepth(world.urls.queueUrl)).toBe(0);
  });
});

describe('event time', () => {
  let world: World;
  beforeAll(async () => {
    world = await World.create();
  });
  afterAll(() => world.sqs.destroy());

  it('quarantines an event dated 9999, so later real events still apply', async () => {
    const jobId = randomUUID();
    const future = cooledgeEvent('job.completed', {
      job_id: jobId,
      status: 'frozen',
      occurred_at: '9999-12-31T23:59:59Z',
    });
    const response = await world.postCooledge(future);
    expect(response.json.status).toBe('quarantined');
    const real = cooledgeEvent('job.completed', { job_id: jobId, occurred_at: new Date().toISOString() });
    await world.postCooledge(real);
    await world.drain();
    expect((await world.event('cooledge', future.event_id as string))?.outcome).toBe('quarantined');
    expect((await world.event('cooledge', real.event_id as string))?.outcome).toBe('applied');
    expect((await world.job('cooledge', jobId))?.status).toBe('completed');
  });

  it.each(['+010000-01-01T00:00:00Z', '1', '2026-06-17T14:38:55'])(
    'quarantines an occurred_at of %s: not a time that can order events',
    async (occurredAt) => {
      const body = cooledgeEvent('job.completed', { job_id: randomUUID(), occurred_at: occurredAt });
      const response = await world.postCooledge(body);
      expect(response.json.status).toBe('quarantined');
      expect(response.json.issues).toEqual([expect.objectContaining({ path: 'occurred_at' })]);
      await world.drain();
      expect(await world.job('cooledge', body.job_id as string)).toBeUndefined();
    },
  );
});

describe('Zenbooker ordering by lifecycle stage', () => {
  let world: World;
  beforeAll(async () => {
    world = await World.create();
  });
  afterAll(() => world.sqs.destroy());

  it('keeps a completed job completed when a retry of job.created arrives after it', async () => {
    const id = bubbleId();
    const completed = zenbookerEvent('job.completed', { data: { id } });
    const created = zenbookerEvent('job.completed', {
      envelope: { event: 'job.created', retry_count: 3 },
      data: { id, status: 'scheduled', completed_at: null },
    });
    await world.postZenbooker(completed);
    await world.drain();
    await world.postZenbooker(created);
    await world.drain();
    const job = await world.job('zenbooker', id);
    expect(job?.status).toBe('completed');
    expect(job?.lastEventType).toBe('job.completed');
    expect((await world.event('zenbooker', eventKey(created)))?.outcome).toBe('stale');
  });

  it.each(['In Progress', 'en route', 'Scheduled ', 'pending', null])(
    'keeps a completed job completed when a late job.started says its status is %j',
    async (status) => {
      const id = bubbleId();
      await world.postZenbooker(zenbookerEvent('job.completed', { data: { id } }));
      await world.drain();
      const late = zenbookerEvent('job.started.v2025', {
        envelope: { retry_count: 2 },
        data: { id, status, completed_at: null },
      });
      await world.postZenbooker(late);
      await world.drain();
      expect((await world.job('zenbooker', id))?.status).toBe('completed');
      expect((await world.event('zenbooker', eventKey(late)))?.outcome).toBe('stale');
    },
  );

  it('keeps a canceled job canceled when an event without a status says canceled: false', async () => {
    const id = bubbleId();
    await world.postZenbooker(zenbookerEvent('job.canceled', { data: { id } }));
    await world.drain();
    await world.postZenbooker(
      zenbookerEvent('job.canceled', {
        envelope: { event: 'job.updated' },
        data: { id, status: null, canceled: false },
      }),
    );
    await world.drain();
    expect(await world.job('zenbooker', id)).toMatchObject({ status: 'canceled', canceled: true });
  });

  it('applies a later edit of a completed job that carries the same completed_at', async () => {
    const id = bubbleId();
    const completedAt = new Date(Date.now() - 600_000).toISOString();
    const bodies = ['first notes', 'second notes'].map((notes) =>
      zenbookerEvent('job.started.v2025', {
        envelope: { event: 'job.completed' },
        data: { id, status: 'completed', completed_at: completedAt, job_notes: [{ text: notes }] },
      }),
    );
    for (const body of bodies) {
      await world.postZenbooker(body);
      await world.drain();
    }
    expect((await world.job('zenbooker', id))?.description).toBe('second notes');
    for (const body of bodies)
      expect((await world.event('zenbooker', eventKey(body)))?.outcome).toBe('applied');
  });

  it('records an invoice event that names a job without moving the job, so a later edit still applies', async () => {
    const id = bubbleId();
    const startedAt = new Date(Date.now() - 600_000).toISOString();
    const started = (notes: string) =>
      zenbookerEvent('job.started.v2025', {
        data: { id, started_at: startedAt, job_notes: [{ text: notes }] },
      });
    const invoice = { account: bubbleId(), event: 'invoice.created', data: { id: bubbleId(), job_id: id } };
    for (const body of [started('started'), invoice, started('edited')]) {
      await world.postZenbooker(body);
      await world.drain();
    }
    expect(await world.event('zenbooker', eventKey(invoice))).toMatchObject({
      outcome: 'recorded',
      entityIds: { job_id: id },
    });
    expect((await world.job('zenbooker', id))?.description).toBe('edited');
  });
});

describe('the same key with a different body', () => {
  let world: World;
  /** Event keys whose job write the store refuses for good. */
  const refused = new Set<string>();
  beforeAll(async () => {
    world = await World.create({
      wrapStore: (store): EventStore => ({
        record: (event, outcome) => store.record(event, outcome),
        apply: (event, job) =>
          refused.has(event.eventKey)
            ? Promise.reject(new PermanentStoreError('ValidationException: refused for the test'))
            : store.apply(event, job),
      }),
    });
  });
  afterAll(() => world.sqs.destroy());

  it('keeps the first applied and the second as a conflict with its raw body, counted once', async () => {
    const eventId = randomUUID();
    const first = cooledgeEvent('job.completed', { event_id: eventId, job_id: randomUUID() });
    const second = cooledgeEvent('job.completed', {
      event_id: eventId,
      job_id: randomUUID(),
      status: 'reopened',
      occurred_at: new Date().toISOString(),
    });
    await world.postCooledge(first);
    await world.drain();
    await world.postCooledge(second);
    await world.postCooledge(second);
    await world.drain();
    const records = (await world.allEvents()).filter((e) => e.eventKey === eventId);
    expect(records.map((r) => r.outcome).sort()).toEqual(['applied', 'conflict']);
    const conflict = records.find((r) => r.outcome === 'conflict');
    expect(conflict?.rawBody).toBe(JSON.stringify(second));
    // The kept record lists it, so `events show` finds it by key.
    expect(records.find((r) => r.outcome === 'applied')?.conflicts).toEqual(new Set([conflict?.fingerprint]));
    expect(world.consumerMetrics.get('Conflict')).toBe(1);
    expect(await world.job('cooledge', second.job_id as string)).toBeUndefined();
    expect((await world.job('cooledge', first.job_id as string))?.status).toBe('completed');
  });

  it('keeps an unprocessable body and records a different one under its key as a conflict', async () => {
    const eventId = randomUUID();
    const first = cooledgeEvent('job.completed', { event_id: eventId, job_id: randomUUID() });
    const second = { ...first, description: 'another body' };
    refused.add(eventId);
    await world.postCooledge(first);
    await world.drain();
    await world.postCooledge(second);
    await world.drain();
    const records = (await world.allEvents()).filter((e) => e.eventKey === eventId);
    expect(records.map((r) => r.outcome).sort()).toEqual(['conflict', 'unprocessable']);
    expect(records.find((r) => r.outcome === 'unprocessable')?.rawBody).toBe(JSON.stringify(first));
    expect(records.find((r) => r.outcome === 'conflict')?.rawBody).toBe(JSON.stringify(second));
  });

  it('keeps the list of conflicts on an unprocessable record when its own body is redelivered', async () => {
    const eventId = randomUUID();
    const first = cooledgeEvent('job.completed', { event_id: eventId, job_id: randomUUID() });
    refused.add(eventId);
    for (const body of [first, { ...first, description: 'another body' }, first]) {
      await world.postCooledge(body);
      await world.drain();
    }
    const kept = await world.event('cooledge', eventId);
    expect(kept?.outcome).toBe('unprocessable');
    expect(kept?.conflicts?.size).toBe(1);
  });

  it('records a different body under the key of an applied event whose record expired as a conflict', async () => {
    const eventId = randomUUID();
    const jobId = randomUUID();
    const first = cooledgeEvent('job.completed', { event_id: eventId, job_id: jobId, description: 'first' });
    await world.postCooledge(first);
    await world.drain();
    await world.doc.send(
      new DeleteCommand({ TableName: world.names.eventsTable, Key: { pk: eventPk('cooledge', eventId) } }),
    );
    // Another body, even a later one, under the key the job already holds.
    const later = { ...first, description: 'second', occurred_at: new Date().toISOString() };
    await world.postCooledge(later);
    await world.drain();
    expect(await world.job('cooledge', jobId)).toMatchObject({ description: 'first', eventCount: 1 });
    expect(await world.event('cooledge', eventId)).toBeUndefined();
    const conflicts = (await world.allEvents()).filter((e) => e.eventKey === eventId);
    expect(conflicts).toEqual([
      expect.objectContaining({ outcome: 'conflict', rawBody: JSON.stringify(later) }),
    ]);
  });

  it('does not apply a Zenbooker redelivery twice when its record expired', async () => {
    const id = bubbleId();
    const body = zenbookerEvent('job.completed', { data: { id } });
    await world.postZenbooker(body);
    await world.drain();
    await world.doc.send(
      new DeleteCommand({
        TableName: world.names.eventsTable,
        Key: { pk: eventPk('zenbooker', eventKey(body)) },
      }),
    );
    await world.postZenbooker({ ...body, retry_count: 1 });
    await world.drain();
    expect((await world.job('zenbooker', id))?.eventCount).toBe(1);
    expect((await world.event('zenbooker', eventKey(body)))?.outcome).toBe('applied');
  });

  it('keeps the list of conflicts on the kept record when that record is replayed', async () => {
    const eventId = randomUUID();
    const first = cooledgeEvent('job.completed', { event_id: eventId, job_id: randomUUID() });
    await world.postCooledge(first);
    await world.drain();
    await world.postCooledge({ ...first, description: 'another body' });
    await world.drain();
    const kept = await world.event('cooledge', eventId);
    expect(kept?.conflicts?.size).toBe(1);
    await world.sqs.send(
      new SendMessageCommand({
        QueueUrl: world.urls.queueUrl,
        MessageBody: JSON.stringify(replayMessage(kept as Record<string, unknown>)),
      }),
    );
    await world.drain();
    const replayed = await world.event('cooledge', eventId);
    expect(replayed?.replayedAt).toBeDefined();
    expect(replayed?.conflicts).toEqual(kept?.conflicts);
  });

  it('gives Zenbooker payloads that differ only in a number text their own keys, both stored', async () => {
    const id = bubbleId();
    const keys = new Set<string>();
    for (const n of ['18446744073709551616', '18446744073709551617', '1e309', 'null']) {
      const body = zenbookerEvent('job.completed', { data: { id, counter: '§n§' } });
      const response = await world.postZenbooker(withNumbers(body, { n }));
      expect(response.statusCode).toBe(202);
      keys.add(response.json.event_key as string);
    }
    expect(keys.size).toBe(4);
    await world.drain();
    for (const key of keys) await expectLanded(world, 'zenbooker', key);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

/** Number texts from the edges: beyond 2^53, beyond a double, below DynamoDB's range, long fractions. */
const numberText = fc.oneof(
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String),
  fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: -400, max: 400 })).map(([d, e]) => `${d}e${e}`),
  fc.stringMatching(/^-?[1-9]\d{0,3}\.\d{14,30}$/),
  fc.constantFrom('1e16', '1e200', '1e-200', '1e309', '-1e309', '90071992547409937', '5e-324', '0', '-0'),
);

/** Ids: ordinary, long, multi-byte, astral, with a lone surrogate, or empty. */
const idText = fc.oneof(
  { weight: 4, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 800 }).map((n) => '工'.repeat(n)) },
  { weight: 1, arbitrary: fc.integer({ min: 900, max: 1200 }).map((n) => 'k'.repeat(n)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom('id-\ud800', '\udfff', '😀'.repeat(300), '') },
);

/** Times: recent, slightly or far ahead, malformed, impossible, outside four-digit years. */
const timeText = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.integer({ min: -86_400, max: 0 }).map((s) => new Date(Date.now() + s * 1000).toISOString()),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 1, max: 86_400 * 365 })
      .map((s) => new Date(Date.now() + s * 1000).toISOString()),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '9999-12-31T23:59:59Z',
      '+010000-01-01T00:00:00Z',
      '1',
      '2026-02-30T00:00:00Z',
      '2026-06-17T14:38:55',
      '2026-06-17T14:38:55+05:30',
    ),
  },
);

/** Odd text: any code points, lone surrogates, controls, bidi overrides, very long. */
const oddText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.constantFrom('\ud800', 'a\udc00b', '\u202e\u0000\u001b[2J', 'x'.repeat(5000)),
);

const cooledgeBody = fc
  .record({
    type: fc.constantFrom(
      'job.completed',
      'booking.created',
      'invoice.paid',
      'invoice.sent',
      'quote.sent',
      'lead.won',
      'customer.created',
      'something.new',
    ),
    eventId: fc.oneof({ weight: 6, arbitrary: fc.uuid() }, { weight: 1, arbitrary: idText }),
    jobId: idText,
    businessId: idText,
    customerId: idText,
    occurredAt: timeText,
    total: numberText,
    amountDue: numberText,
    jobNumber: numberText,
    name: oddText,
    description: oddText,
    extra: fc.jsonValue({ maxDepth: 8 }),
  })
  .map((g) => {
    const fixture = ['job.completed', 'booking.created', 'invoice.paid'].includes(g.type)
      ? g.type
      : 'lead.created';
    const body = cooledgeEvent(fixture, {
      event_type: g.type,
      // Unique per run, so every 202 must produce a record of its own.
      event_id: `${g.eventId}${randomUUID()}`,
      job_id: g.jobId,
      business_id: g.businessId,
      customer_id: g.customerId,
      occurred_at: g.occurredAt,
      total: '§total§',
      amount_due: '§due§',
      job_number: '§number§',
      customer_name: g.name,
      description: g.description,
      extra: g.extra,
    });
    return withNumbers(body, { total: g.total, due: g.amountDue, number: g.jobNumber });
  });

const zenbookerBody = fc
  .record({
    event: fc.constantFrom(
      'job.created',
      'job.completed',
      'job.started',
      'invoice.payment_succeeded',
      'customer.created',
    ),
    id: idText,
    account: idText,
    status: fc.constantFrom('scheduled', 'en-route', 'started', 'complete', 'cancelled', 'weird', null),
    completedAt: timeText,
    total: numberText,
    paid: numberText,
    counter: numberText,
    name: oddText,
    extra: fc.jsonValue({ maxDepth: 8 }),
  })
  .map((g) => {
    const body = zenbookerEvent('job.completed', {
      envelope: { event: g.event, account: g.account, nonce: randomUUID() },
      data: {
        id: g.id,
        job_id: g.id,
        status: g.status,
        completed_at: g.completedAt,
        customer: { id: g.id, name: g.name },
        invoice: { total: '§total§', amount_paid: '§paid§' },
        counter: '§counter§',
        extra: g.extra,
      },
    });
    return withNumbers(body, { total: g.total, paid: g.paid, counter: g.counter });
  });

describe('property: every 202 lands exactly once, and nothing reaches the DLQ', () => {
  let world: World;
  beforeAll(async () => {
    world = await World.create({ visibilityTimeoutSeconds: 1 });
  });
  afterAll(() => world.sqs.destroy());

  it(
    `holds for generated Cooledge and Zenbooker bodies (${runs} runs each)`,
    async () => {
      let refusedForAccount = 0;
      for (const [provider, bodies] of [
        ['cooledge', cooledgeBody],
        ['zenbooker', zenbookerBody],
      ] as const) {
        await fc.assert(
          fc.asyncProperty(bodies, async (raw) => {
            const response =
              provider === 'cooledge' ? await world.postCooledge(raw) : await world.postZenbooker(raw);
            // Never a 5xx: what is wrong with a body is the sender's to fix (4xx) or ours to keep (202).
            expect([202, 400]).toContain(response.statusCode);
            if (response.statusCode !== 202) return;
            await world.drain();
            const record = await expectLanded(world, provider, response.json.event_key as string);
            // The one refusal a generated body can meet: a job id generated twice (`工…`, `kkk…`)
            // under another business, and a job never moves between accounts.
            if (record.outcome === 'unprocessable') {
              expect(record.reason).toBe(otherAccountReason);
              refusedForAccount += 1;
            } else expect(['applied', 'stale', 'recorded', 'quarantined']).toContain(record.outcome);
            expect(record.rawBody).toBe(raw);
            expect(await world.queueDepth(world.urls.deadLetterQueueUrl)).toBe(0);
          }),
          { numRuns: runs },
        );
      }
      expect(world.consumerMetrics.get('RecordFailed')).toBe(0);
      expect(world.consumerMetrics.get('Unprocessable')).toBe(refusedForAccount);
    },
    timeout,
  );
});

/** Lifecycle events of one Zenbooker job, in the order they happen, with the stage each reports. */
const lifecycle = [
  { event: 'job.created', status: 'scheduled', stage: 1 },
  { event: 'job.rescheduled', status: 'rescheduled', stage: 1 },
  { event: 'job.service_providers.assigned', status: 'scheduled', stage: 1 },
  { event: 'job.enroute', status: 'en-route', stage: 2 },
  { event: 'job.started', status: 'started', stage: 3 },
  { event: 'job.completed', status: 'complete', stage: 4 },
  { event: 'job.canceled', status: 'scheduled', canceled: true, stage: 4 },
] as const;
/** Deliveries beside the lifecycle: edits whose status says nothing of progress, and an invoice. */
const sideEvents = [
  { event: 'job.service_order.edited', status: 'pending', stage: 1 },
  { event: 'job.service_order.edited', status: null, stage: 1 },
  { event: 'invoice.created', status: null, stage: 0 },
] as const;
/** The stage of a stored job's status: unknown statuses are at the first stage, no job at none. */
const stageOf = (status: unknown) =>
  status === undefined
    ? 0
    : (({ en_route: 2, started: 3, completed: 4, canceled: 4 } as Record<string, number>)[status as string] ??
      1);

describe('property: a Zenbooker job never moves back to an earlier lifecycle stage', () => {
  let world: World;
  beforeAll(async () => {
    world = await World.create();
  });
  afterAll(() => world.sqs.destroy());

  it(
    `holds for every order of a job's events, with and without retries (${Math.ceil(runs / 4)} runs)`,
    async () => {
      const history = fc
        .record({
          // Which events happened: a prefix of the lifecycle, ending completed or canceled or earlier.
          length: fc.integer({ min: 2, max: 6 }),
          canceled: fc.boolean(),
          seed: fc.integer(),
        })
        .chain(({ length, canceled }) => {
          const happened = lifecycle
            .slice(0, length)
            .filter((e) => e.event !== 'job.completed' || !canceled)
            .concat(canceled && length >= 6 ? [lifecycle[6]] : []);
          return fc
            .tuple(
              fc.subarray([...sideEvents]),
              fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 5 }), fc.nat()), { maxLength: 4 }),
            )
            .chain(([sides, retries]) => {
              const deliveries = [...happened, ...sides].map((e, i) => ({ ...e, index: i, retry: 0 }));
              return fc
                .shuffledSubarray(deliveries, { minLength: deliveries.length, maxLength: deliveries.length })
                .map((order) => {
                  const out = [...order];
                  // Retries of any delivery, arriving at any point after it was first sent.
                  for (const [which, retry, at] of retries) {
                    const original = deliveries[which % deliveries.length];
                    if (!original) continue;
                    const after = out.indexOf(original);
                    out.splice(after + 1 + (at % (out.length - after)), 0, { ...original, retry });
                  }
                  return { happened, out };
                });
            });
        });

      await fc.assert(
        fc.asyncProperty(history, async ({ happened, out }) => {
          const id = bubbleId();
          const base = Date.now() - 3_600_000;
          const bodyOf = (d: (typeof out)[number]) =>
            d.event === 'invoice.created'
              ? {
                  account: 'acct-1',
                  event: d.event,
                  retry_count: d.retry,
                  data: { id: `inv-${id}`, job_id: id },
                }
              : zenbookerEvent('job.started.v2025', {
                  envelope: { event: d.event, retry_count: d.retry },
                  data: {
                    id,
                    status: d.status,
                    canceled: 'canceled' in d ? d.canceled : false,
                    started_at: d.stage >= 3 ? new Date(base + 4 * 60_000).toISOString() : null,
                    completed_at:
                      d.event === 'job.completed' ? new Date(base + 5 * 60_000).toISOString() : null,
                    note: `${d.event} #${d.index}`,
                  },
                });
          let highest = 0;
          for (const delivery of out) {
            expect((await world.postZenbooker(bodyOf(delivery))).statusCode).toBe(202);
            await world.drain();
            const job = await world.job('zenbooker', id);
            const stage = stageOf(job?.status);
            expect(stage, `moved back to ${String(job?.status)}`).toBeGreaterThanOrEqual(highest);
            highest = stage;
          }
          const job = await world.job('zenbooker', id);
          expect(stageOf(job?.status)).toBe(Math.max(...happened.map((e) => e.stage)));
          if (job?.status !== 'completed') expect(job?.completedAt).toBeUndefined();
          // Every distinct event is in the log, applied or stale: late ones are kept, not lost.
          for (const delivery of out.filter((d) => d.retry === 0)) {
            const record = await expectLanded(world, 'zenbooker', eventKey(bodyOf(delivery)));
            expect(['applied', 'stale', 'recorded']).toContain(record.outcome);
          }
        }),
        { numRuns: Math.ceil(runs / 4) },
      );
    },
    timeout,
  );
});

describe('property: a second body under a known key is a conflict, the same body a duplicate', () => {
  let world: World;
  beforeAll(async () => {
    world = await World.create();
  });
  afterAll(() => world.sqs.destroy());

  it(
    `holds for generated pairs (${Math.ceil(runs / 4)} runs)`,
    async () => {
      const pair = fc.record({
        status: fc.constantFrom('completed', 'in_progress', 'canceled'),
        change: fc.option(
          fc.record({
            field: fc.constantFrom('status', 'description', 'job_number', 'occurred_at'),
            value: fc.string({ minLength: 1, maxLength: 10 }),
          }),
          { nil: undefined },
        ),
        reorder: fc.boolean(),
      });
      await fc.assert(
        fc.asyncProperty(pair, async ({ status, change, reorder }) => {
          const first = cooledgeEvent('job.completed', { job_id: randomUUID(), status });
          const changed =
            change === undefined
              ? { ...first }
              : {
                  ...first,
                  [change.field]:
                    change.field === 'occurred_at'
                      ? new Date(Date.now() - 1000).toISOString()
                      : `${change.value}!`,
                };
          // The same data with keys in another order and other spacing is the same body.
          const second = reorder
            ? JSON.stringify(Object.fromEntries(Object.entries(changed).reverse()), null, 1)
            : JSON.stringify(changed);
          const conflicts = world.consumerMetrics.get('Conflict');
          await world.postCooledge(first);
          await world.drain();
          await world.postCooledge(second);
          await world.drain();
          const differs = change !== undefined && changed[change.field] !== first[change.field];
          // By key, as `events show` reads them: the kept record, then the conflicts it lists.
          const kept = await expectLanded(world, 'cooledge', first.event_id as string);
          expect(kept.outcome).toBe('applied');
          expect(kept.rawBody).toBe(JSON.stringify(first));
          const listed = [...((kept.conflicts as Set<string> | undefined) ?? [])];
          expect(listed).toHaveLength(differs ? 1 : 0);
          for (const fingerprint of listed) {
            const conflict = await world.event('cooledge', `${first.event_id}#conflict#${fingerprint}`);
            expect(conflict).toMatchObject({
              outcome: 'conflict',
              rawBody: second,
              conflictsWith: kept.fingerprint,
            });
          }
          expect(world.consumerMetrics.get('Conflict') - conflicts).toBe(differs ? 1 : 0);
        }),
        { numRuns: Math.ceil(runs / 4) },
      );
    },
    timeout,
  );
});
