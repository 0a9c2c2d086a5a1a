import { describe, expect, it } from 'vitest';
import { readCredentials } from '#core/credentials';
import type { JsonObject } from '#core/json';
import { storableNumberExpectation } from '#core/limits';
import type { AuthContext, DeliveryRequest } from '#core/provider';
import { providers } from '#providers/index';
import { eventKey, type ZenbookerCredentials, zenbooker } from '#providers/zenbooker';
import { bubbleId, jsonWithNumbers, numberToken, parsedBody, zenbookerEvent } from '../support/factories.ts';
import { fixture, fixtureNames } from '../support/fixtures.ts';

const token = 'zbk_unit_token_0123456789abcdefghij';
const rotatedToken = 'zbk_unit_rotated_9876543210zyxwvuts';

function settings(tokens: string[] = [token]): AuthContext<ZenbookerCredentials, Record<string, never>> {
  return { credentials: { tokens }, now: new Date('2026-06-20T00:00:00.000Z'), settings: {} };
}

function delivery(pathParameter: string | undefined, body: JsonObject = zenbookerEvent()): DeliveryRequest {
  return { headers: {}, pathParameter, rawBody: Buffer.from(JSON.stringify(body)) };
}

function validEvent(body: JsonObject) {
  const result = zenbooker.validate(body);
  if (!result.ok) throw new Error(`expected a valid event, got ${JSON.stringify(result.issues)}`);
  return result.event as JsonObject & { data: JsonObject };
}

function issuesOf(body: JsonObject) {
  const result = zenbooker.validate(body);
  if (result.ok) throw new Error('expected the schema to reject the event');
  return result.issues;
}

const facts = (body: JsonObject) => zenbooker.describe(validEvent(body) as never, { eventKey: 'k' });
const fieldsOf = (body: JsonObject) => facts(body).job?.fields;
const reorder = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(reorder);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([k, v]) => [k, reorder(v)]),
  );
};

describe('Zenbooker path token', () => {
  it('accepts the configured token', () => {
    expect(zenbooker.authenticate(delivery(token), settings())).toEqual({ ok: true });
  });

  it('rejects a wrong token', () => {
    expect(zenbooker.authenticate(delivery('zbk_wrong_token_00000000000000000'), settings())).toEqual({
      ok: false,
      reason: 'token mismatch',
    });
  });

  it.each([
    ['one character off', `${token.slice(0, -1)}k`],
    ['a prefix', token.slice(0, -1)],
    ['an extra character', `${token}x`],
    ['different case', token.toUpperCase()],
    ['surrounding blanks', ` ${token} `],
  ])('rejects a near miss: %s', (_, nearMiss) => {
    expect(zenbooker.authenticate(delivery(nearMiss), settings())).toEqual({
      ok: false,
      reason: 'token mismatch',
    });
  });

  it.each([
    ['absent', undefined],
    ['empty', ''],
  ])('rejects a token that is %s', (_, missing) => {
    expect(zenbooker.authenticate(delivery(missing), settings())).toEqual({
      ok: false,
      reason: 'token missing',
    });
  });

  it('accepts any of several active tokens (rotation)', () => {
    expect(zenbooker.authenticate(delivery(token), settings([rotatedToken, token]))).toEqual({ ok: true });
    expect(zenbooker.authenticate(delivery(rotatedToken), settings([rotatedToken, token]))).toEqual({
      ok: true,
    });
  });

  it('rejects a token once it is no longer active', () => {
    expect(zenbooker.authenticate(delivery(token), settings([rotatedToken])).ok).toBe(false);
  });

  it('says which accounts the matching token is bound to, and nothing for an unbound one', () => {
    const read = readCredentials(
      { zenbooker: { tokens: [token, { token: rotatedToken, accounts: ['acct-a'] }] } },
      providers,
    );
    if (!read.ok) throw new Error(read.problem.message);
    const context = { ...settings(), credentials: read.value.zenbooker as ZenbookerCredentials };
    expect(zenbooker.authenticate(delivery(rotatedToken), context)).toEqual({
      ok: true,
      accounts: ['acct-a'],
    });
    expect(zenbooker.authenticate(delivery(token), context)).toEqual({ ok: true });
    expect(zenbooker.authenticate(delivery(`${rotatedToken}x`), context)).toEqual({
      ok: false,
      reason: 'token mismatch',
    });
  });

  it('keeps no header that could carry a credential', () => {
    expect(zenbooker.keptHeaders).toEqual(['content-type', 'user-agent']);
  });
});

describe('Zenbooker envelope (what routing and dedupe need)', () => {
  it('keys the event by a hash of the payload and names its event and account', () => {
    const body = fixture('zenbooker', 'job.completed');
    expect(zenbooker.envelope(body, delivery(token, body))).toEqual({
      ok: true,
      eventKey: eventKey(body),
      eventType: 'job.completed',
      accountId: '1571029418512x639482157734019100',
      fingerprint: eventKey(body),
    });
  });

  it('gives a retry the fingerprint of the original delivery (retry_count left out)', () => {
    const fingerprintOf = (body: JsonObject) => {
      const envelope = zenbooker.envelope(body, delivery(token, body));
      if (!envelope.ok) throw new Error(envelope.detail);
      return envelope.fingerprint;
    };
    const original = fixture('zenbooker', 'job.completed');
    expect(fingerprintOf(fixture('zenbooker', 'job.completed.retry'))).toBe(fingerprintOf(original));
    expect(fingerprintOf(zenbookerEvent('job.completed', { data: { status: 'started' } }))).not.toBe(
      fingerprintOf(original),
    );
  });

  it.each([
    ['a lone surrogate', 'job.completed\udfff'],
    ['257 characters', `job.${'x'.repeat(253)}`],
  ])('rejects an event name holding %s', (_, name) => {
    const body = zenbookerEvent('job.completed', { envelope: { event: name } });
    expect(zenbooker.envelope(body, delivery(token, body))).toEqual({
      ok: false,
      detail: 'event must be well-formed Unicode of at most 256 characters',
    });
  });

  it.each<[string, JsonObject, string]>([
    ['event is missing', { event: undefined }, 'event must be a non-empty string'],
    ['event is empty', { event: ' ' }, 'event must be a non-empty string'],
    ['event is not text', { event: 7 }, 'event must be a non-empty string'],
    ['data is missing', { data: undefined }, 'data must be a JSON object'],
    ['data is null', { data: null }, 'data must be a JSON object'],
    ['data is a list', { data: [] }, 'data must be a JSON object'],
    ['data is text', { data: 'job' }, 'data must be a JSON object'],
  ])('rejects a payload where %s', (_, overrides, detail) => {
    const body = JSON.parse(JSON.stringify({ ...fixture('zenbooker', 'job.completed'), ...overrides }));
    expect(zenbooker.envelope(body, delivery(token, body))).toEqual({ ok: false, detail });
  });
});

describe('Zenbooker event key', () => {
  it('is the SHA-256 of the canonical JSON without retry_count (known vector)', () => {
    // printf '%s' '{"account":"acc","data":{"a":2,"b":1,"id":"x"},"event":"job.created"}' | openssl dgst -sha256
    const body = { retry_count: 3, event: 'job.created', data: { id: 'x', b: 1, a: 2 }, account: 'acc' };
    expect(eventKey(body)).toBe('3f680c4a52a2c9d5bd4a16c7e30925486c6be1cbb82574f44cfe7d022fed93be');
  });

  it('gives a retry of a delivery the same key as the original', () => {
    const original = fixture('zenbooker', 'job.completed');
    const retry = fixture('zenbooker', 'job.completed.retry');
    expect(retry.retry_count).not.toBe(original.retry_count);
    expect(eventKey(retry)).toBe(eventKey(original));
  });

  it('does not depend on the order of object keys', () => {
    const body = fixture('zenbooker', 'job.started.v2025');
    const reordered = reorder(body) as JsonObject;
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(body));
    expect(eventKey(reordered)).toBe(eventKey(body));
  });

  it.each<[string, { envelope?: JsonObject; data?: JsonObject }]>([
    ['the status', { data: { status: 'started' } }],
    ['the start date', { data: { start_date: '2019-11-14T00:00:00.000Z' } }],
    ['the notes', { data: { job_notes: 'Call when on the way.' } }],
    ['a nested address', { data: { location: { address: '1 Other St', unit: 'B2' } } }],
    ['the invoice total', { data: { invoice: { total_price: 475.3 } } }],
    ['a field nobody knows yet', { data: { brand_new: true } }],
    ['the event name', { envelope: { event: 'job.rescheduled' } }],
    ['the account', { envelope: { account: bubbleId() } }],
  ])('changes when %s changes', (_, overrides) => {
    const original = fixture('zenbooker', 'job.completed');
    expect(eventKey(zenbookerEvent('job.completed', overrides))).not.toBe(eventKey(original));
  });

  /** The key of the job.completed fixture sent with `data.n` written as the bare number `text`. */
  const keyWithNumber = (text: string) =>
    eventKey(
      parsedBody(jsonWithNumbers(zenbookerEvent('job.completed', { data: { n: numberToken(text) } }))),
    );

  it('tells 18446744073709551616 from 18446744073709551617 (one double to JavaScript)', () => {
    expect(keyWithNumber('18446744073709551616')).not.toBe(keyWithNumber('18446744073709551617'));
  });

  it('tells 1e309 from null (both written "null" by JSON.stringify)', () => {
    const withNull = eventKey(
      parsedBody(JSON.stringify(zenbookerEvent('job.completed', { data: { n: null } }))),
    );
    expect(keyWithNumber('1e309')).not.toBe(withNull);
  });

  it('tells 9007199254740993 from 9007199254740992', () => {
    expect(keyWithNumber('9007199254740993')).not.toBe(keyWithNumber('9007199254740992'));
  });

  it('gives a body with a long number the same key on every delivery', () => {
    expect(keyWithNumber('18446744073709551617')).toBe(keyWithNumber('18446744073709551617'));
  });

  it('ignores retry_count only at the top level', () => {
    const original = zenbookerEvent('job.completed', { data: { retry_count: 0 } });
    const changed = zenbookerEvent('job.completed', { data: { retry_count: 1 } });
    expect(eventKey(changed)).not.toBe(eventKey(original));
  });
});

describe('Zenbooker schemas', () => {
  it.each(fixtureNames('zenbooker'))('accepts the %s fixture', (name) => {
    expect(zenbooker.validate(fixture('zenbooker', name)).ok).toBe(true);
  });

  it.each(fixtureNames('zenbooker'))('keeps unknown fields of %s in the output', (name) => {
    const event = validEvent(
      zenbookerEvent(name, { envelope: { delivered_by: 'v3' }, data: { crew_size: 3, tags: ['vip'] } }),
    );
    expect(event.delivered_by).toBe('v3');
    expect(event.data).toMatchObject({ crew_size: 3, tags: ['vip'] });
    expect(event.data.time_slot).toEqual((fixture('zenbooker', name).data as JsonObject).time_slot);
  });

  it('accepts nullable job fields as null', () => {
    const nulls = {
      job_number: null,
      status: null,
      canceled: null,
      timezone: null,
      start_date: null,
      completed_at: null,
      service_name: null,
      customer: null,
      location: null,
      job_notes: null,
      invoice: null,
    };
    expect(validEvent(zenbookerEvent('job.completed', { data: nulls })).data).toMatchObject(nulls);
  });

  it.each(['#002202-4', 2202, null])('accepts job_number %j', (jobNumber) => {
    expect(
      validEvent(zenbookerEvent('job.completed', { data: { job_number: jobNumber } })).data.job_number,
    ).toBe(jobNumber);
  });

  it('accepts the junk email the seed example carries', () => {
    const event = validEvent(fixture('zenbooker', 'job.completed'));
    expect((event.data.customer as JsonObject).email).toBe('[email protected]');
  });

  it.each([
    'recurring_booking.created',
    'invoice.payment_succeeded',
    'invoice_payment.recorded',
    'customer.edited',
    'something.new',
  ])('accepts the non-job event %s with any data object', (name) => {
    const event = validEvent({
      account: bubbleId(),
      event: name,
      type: name.split('.')[0] ?? null,
      webhook_id: bubbleId(),
      retry_count: 0,
      data: { id: bubbleId(), amount: 12.5, whatever: { nested: true } },
    });
    expect(event.data.whatever).toEqual({ nested: true });
  });

  it('accepts an unknown job event spelled any way', () => {
    expect(zenbooker.validate(zenbookerEvent('job.completed', { envelope: { event: 'job.rated' } })).ok).toBe(
      true,
    );
  });

  it('reports a job whose id is missing', () => {
    const body = zenbookerEvent('job.completed');
    delete (body.data as JsonObject).id;
    expect(issuesOf(body).map((i) => i.path)).toEqual(['data.id']);
  });

  it.each<[string, { envelope?: JsonObject; data?: JsonObject }, string]>([
    ['the job id', { data: { id: 1571382643450 } }, 'data.id'],
    ['the account', { envelope: { account: 1571029418512 } }, 'account'],
    ['the customer id', { data: { customer: { id: 1779120455031, name: 'A' } } }, 'data.customer.id'],
  ])('reports %s sent as a number', (_, overrides, path) => {
    expect(issuesOf(zenbookerEvent('job.started.v2025', overrides)).map((i) => i.path)).toEqual([path]);
  });

  it('reports a non-job event without an account', () => {
    const body = { event: 'customer.created', data: { id: bubbleId() } };
    expect(issuesOf(body).map((i) => i.path)).toEqual(['account']);
  });

  it('never quotes the received values in its issues', () => {
    const issues = issuesOf(
      zenbookerEvent('job.completed', {
        envelope: { account: 424_242_424_242, retry_count: 'LEAKY-RETRY' },
        data: {
          id: 913_913_913_913,
          start_date: 'LEAKY-DATE-VALUE',
          status: { text: 'LEAKY-NESTED' },
          customer: { name: 'Fiona', email: 777_666_555_444 },
        },
      }),
    );
    expect(issues.map((i) => i.path).sort()).toEqual(
      ['account', 'data.customer.email', 'data.id', 'data.start_date', 'data.status', 'retry_count'].sort(),
    );
    const serialised = JSON.stringify(issues);
    for (const value of [
      '424242424242',
      'LEAKY-RETRY',
      '913913913913',
      'LEAKY-DATE',
      'LEAKY-NESTED',
      '777666555444',
    ]) {
      expect(serialised).not.toContain(value);
    }
  });
});

describe('Zenbooker jobs, older shape', () => {
  it('maps job.completed to a completed job', () => {
    expect(facts(fixture('zenbooker', 'job.completed')).job).toEqual({
      jobId: '1571382643450x202948477110764130',
      fields: {
        status: 'completed',
        canceled: false,
        jobNumber: '#002202-4',
        customerName: 'Fiona Apple',
        customerEmail: '[email protected]',
        customerPhone: '+6134343434',
        description: 'Call when on the way. First time customer',
        scheduledStart: '2019-11-13T00:00:00.000Z',
        scheduledEnd: '2019-11-13T02:45:00.000Z',
        timezone: 'Australia/Melbourne',
        address: 'B2, 434 Lygon St, Brunswick East VIC 3057, Australia',
        serviceName: 'Handyman Service',
        total: 475.2,
      },
      stage: 4,
    });
  });

  it('maps a canceled job to the canceled status whatever its status string says', () => {
    const fields = fieldsOf(fixture('zenbooker', 'job.canceled'));
    expect(fields).toMatchObject({ status: 'canceled', canceled: true });
  });

  it('uses the address alone when there is no unit', () => {
    const fields = fieldsOf(
      zenbookerEvent('job.completed', { data: { location: { address: '1 Main St' } } }),
    );
    expect(fields?.address).toBe('1 Main St');
  });

  it('leaves the address out when the location has none', () => {
    const fields = fieldsOf(zenbookerEvent('job.completed', { data: { location: { unit: 'B2' } } }));
    expect(fields).not.toHaveProperty('address');
  });

  it('keeps the job number of a job whose number is numeric as text', () => {
    expect(fieldsOf(zenbookerEvent('job.completed', { data: { job_number: 2202 } }))?.jobNumber).toBe('2202');
  });
});

describe('Zenbooker jobs, 2025-09-01 shape', () => {
  it('maps job.started to a started job', () => {
    expect(facts(fixture('zenbooker', 'job.started.v2025')).job).toEqual({
      jobId: '1781604223917x530184412857261400',
      fields: {
        status: 'started',
        canceled: false,
        jobNumber: '1043',
        customerId: '1779120455031x118273645501928700',
        customerName: 'Jordan Blake',
        customerEmail: 'jordan.blake@example.com',
        customerPhone: '+12125550143',
        description: 'Dog in the backyard, use front door.',
        scheduledStart: '2026-06-17T13:00:00.000Z',
        scheduledEnd: '2026-06-17T15:00:00.000Z',
        startedAt: '2026-06-17T13:07:41.220Z',
        timezone: 'America/New_York',
        address: '88 Orchard St, New York, NY 10002, USA',
        serviceName: 'Deep Clean',
        total: 240,
        amountPaid: 0,
        amountDue: 240,
      },
      stage: 3,
      stageTime: '2026-06-17T13:07:41.220Z',
    });
  });

  it('joins the job notes, one per line, skipping empty ones', () => {
    const notes = [{ text: 'Gate code 4421.' }, { text: '' }, { text: null }, { text: 'Dog in the yard.' }];
    expect(fieldsOf(zenbookerEvent('job.started.v2025', { data: { job_notes: notes } }))?.description).toBe(
      'Gate code 4421.\nDog in the yard.',
    );
  });

  it('leaves the description out when every note is empty', () => {
    const fields = fieldsOf(zenbookerEvent('job.started.v2025', { data: { job_notes: [{ text: '' }] } }));
    expect(fields).not.toHaveProperty('description');
  });

  it('takes the service name from the services list when the job has none', () => {
    const fields = fieldsOf(
      zenbookerEvent('job.started.v2025', {
        data: { service_name: null, services: [{ service_name: null }, { service_name: 'Window Clean' }] },
      }),
    );
    expect(fields?.serviceName).toBe('Window Clean');
  });

  it('works out the amount due from the total and the amount paid', () => {
    const fields = fieldsOf(
      zenbookerEvent('job.started.v2025', { data: { invoice: { total: 240.1, amount_paid: 100.05 } } }),
    );
    expect(fields).toMatchObject({ total: 240.1, amountPaid: 100.05, amountDue: 140.05 });
  });

  it('maps completed_at', () => {
    const fields = fieldsOf(
      zenbookerEvent('job.started.v2025', {
        data: { status: 'completed', completed_at: '2026-06-17T15:02:00Z' },
      }),
    );
    expect(fields).toMatchObject({ status: 'completed', completedAt: '2026-06-17T15:02:00.000Z' });
  });
});

describe('Zenbooker status and event spellings', () => {
  it.each([
    ['en-route', 'en_route'],
    ['enroute', 'en_route'],
    ['en_route', 'en_route'],
    ['EN-ROUTE', 'en_route'],
    ['in-progress', 'in_progress'],
    ['complete', 'completed'],
    ['completed', 'completed'],
    ['rescheduled', 'rescheduled'],
    ['constructor', 'constructor'],
    ['__proto__', '__proto__'],
  ])('maps the status %j to %j', (sent, stored) => {
    expect(fieldsOf(zenbookerEvent('job.started.v2025', { data: { status: sent } }))?.status).toBe(stored);
  });

  it.each(['job.enroute', 'job.en_route', 'job.service_providers.assigned', 'job.rescheduled'])(
    'treats %s as a job change',
    (name) => {
      const job = facts(zenbookerEvent('job.started.v2025', { envelope: { event: name } })).job;
      expect(job?.jobId).toBe('1781604223917x530184412857261400');
    },
  );

  it('names the job an invoice event carries, without touching the job', () => {
    const body = {
      account: bubbleId(),
      event: 'invoice.payment_succeeded',
      retry_count: 0,
      data: { id: 'inv-1', job_id: 'job-1', amount: 50 },
    };
    expect(facts(body).job).toBeUndefined();
    expect(facts(body).entityIds).toMatchObject({ job_id: 'job-1' });
  });

  it('does not touch a job for an event that names none', () => {
    const body = { account: bubbleId(), event: 'customer.created', data: { id: 'cust-1' } };
    expect(facts(body)).toMatchObject({ job: undefined, entityIds: { object_id: 'cust-1' } });
  });

  it('reports the time a started job started as its event time', () => {
    const described = facts(fixture('zenbooker', 'job.started.v2025'));
    expect(described.occurredAt).toBe('2026-06-17T13:07:41.220Z');
    expect(described.accountId).toBe('1571029418512x639482157734019100');
    expect(described.entityIds).toEqual({
      job_id: '1781604223917x530184412857261400',
      customer_id: '1779120455031x118273645501928700',
    });
  });
});

describe('Zenbooker lifecycle stages', () => {
  it.each<[string, { status?: string | null; canceled?: boolean }, string | undefined, number | undefined]>([
    ['scheduled', { status: 'scheduled' }, 'scheduled', 1],
    ['rescheduled', { status: 'rescheduled' }, 'rescheduled', 1],
    ['en_route', { status: 'en_route' }, 'en_route', 2],
    ['en-route', { status: 'en-route' }, 'en_route', 2],
    ['enroute', { status: 'enroute' }, 'en_route', 2],
    ['started', { status: 'started' }, 'started', 3],
    ['in_progress', { status: 'in_progress' }, 'in_progress', 3],
    ['in-progress', { status: 'in-progress' }, 'in_progress', 3],
    ['completed', { status: 'completed' }, 'completed', 4],
    ['complete', { status: 'complete' }, 'completed', 4],
    ['COMPLETED', { status: 'COMPLETED' }, 'completed', 4],
    ['canceled', { status: 'canceled' }, 'canceled', 4],
    ['cancelled', { status: 'cancelled' }, 'canceled', 4],
    ['Cancelled', { status: 'Cancelled' }, 'canceled', 4],
    ['In Progress (words)', { status: 'In Progress' }, 'in_progress', 3],
    ['en route (words)', { status: 'en route' }, 'en_route', 2],
    ['scheduled with spaces around', { status: ' Scheduled ' }, 'scheduled', 1],
    ['scheduled, with canceled: true', { status: 'scheduled', canceled: true }, 'canceled', 4],
    // Nothing says the job got further than its first stage: a late one can never move it back.
    ['an unknown status', { status: 'on_hold' }, 'on_hold', 1],
    ['pending', { status: 'pending' }, 'pending', 1],
    ['no status', { status: null }, undefined, 1],
  ])('puts a job whose status is %s at its stage', (_, data, status, stage) => {
    const job = facts(zenbookerEvent('job.started.v2025', { data: { canceled: false, ...data } })).job;
    expect(job?.fields.status).toBe(status);
    expect(job?.stage).toBe(stage);
  });

  // Statuses are the sender's text: one named like a property every object inherits is an unknown
  // status like any other, at the first stage (a function or an object must never reach ordering).
  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'])(
    'puts a job whose status is %j at the first stage',
    (status) => {
      const job = facts(zenbookerEvent('job.started.v2025', { data: { status } })).job;
      expect(job?.fields.status).toBe(String(status).toLowerCase());
      expect(job?.stage).toBe(1);
    },
  );

  it('records an invoice event that names a job without touching the job', () => {
    const body = { account: bubbleId(), event: 'invoice.paid', data: { id: 'inv-1', job_id: 'job-1' } };
    expect(facts(body).job).toBeUndefined();
    expect(facts(body).entityIds).toEqual({ job_id: 'job-1', object_id: 'inv-1' });
  });

  it('leaves empty ids out of the entity ids instead of quarantining the event', () => {
    const body = zenbookerEvent('job.started.v2025', { data: { customer: { id: '', name: 'x' } } });
    expect(facts(body).entityIds).not.toHaveProperty('customer_id');
  });
});

describe("Zenbooker event time: the job's own time for its stage", () => {
  const occurredAt = (data: JsonObject) => facts(zenbookerEvent('job.started.v2025', { data })).occurredAt;

  it('takes completed_at for a completed job', () => {
    expect(occurredAt({ status: 'completed', completed_at: '2026-06-17T15:02:00Z' })).toBe(
      '2026-06-17T15:02:00.000Z',
    );
  });

  it('takes completed_at for a job whose status says complete', () => {
    expect(occurredAt({ status: 'complete', completed_at: '2026-06-18T01:02:00+10:00' })).toBe(
      '2026-06-17T15:02:00.000Z',
    );
  });

  it('takes started_at for a started job', () => {
    expect(occurredAt({ status: 'started', started_at: '2026-06-17T13:07:41.220Z' })).toBe(
      '2026-06-17T13:07:41.220Z',
    );
  });

  it('takes started_at for a job in progress', () => {
    expect(occurredAt({ status: 'in-progress', started_at: '2026-06-17T13:07:41Z' })).toBe(
      '2026-06-17T13:07:41.000Z',
    );
  });

  it.each<[string, JsonObject]>([
    ['a completed job without completed_at', { status: 'completed', completed_at: null, started_at: null }],
    ['a completed job with started_at only', { status: 'completed', completed_at: null }],
    [
      'a completed job whose completed_at has no zone',
      { status: 'completed', completed_at: '2026-06-17T15:02:00' },
    ],
    [
      'a completed job whose completed_at is not RFC 3339',
      { status: 'completed', completed_at: 'June 17, 2026' },
    ],
    [
      'a completed job whose completed_at is 30 February',
      { status: 'completed', completed_at: '2026-02-30T10:00:00Z' },
    ],
    ['a started job without started_at', { status: 'started', started_at: null }],
    ['an en route job, whatever times it carries', { status: 'en_route' }],
    [
      'a scheduled job, whatever times it carries',
      { status: 'scheduled', completed_at: '2026-06-17T15:02:00Z' },
    ],
    ['a canceled job', { status: 'canceled', completed_at: '2026-06-17T15:02:00Z' }],
  ])('reports none for %s: ordering falls back to the receive time', (_, data) => {
    expect(occurredAt(data)).toBeUndefined();
  });

  it('reports none for the older job.completed fixture, which has no completed_at', () => {
    expect(facts(fixture('zenbooker', 'job.completed')).occurredAt).toBeUndefined();
  });

  it('reports none for an event that is not a job event', () => {
    const body = {
      account: bubbleId(),
      event: 'invoice.paid',
      data: { id: 'inv-1', job_id: 'job-1', status: 'completed', completed_at: '2026-06-17T15:02:00Z' },
    };
    expect(facts(body).occurredAt).toBeUndefined();
  });
});

describe('Zenbooker numbers stored exactly', () => {
  const body = (data: JsonObject) =>
    parsedBody(jsonWithNumbers(zenbookerEvent('job.started.v2025', { data })));

  it.each([
    ['total', '1e16'],
    ['total_price', '1e200'],
    ['amount_paid', '1e-200'],
    ['total', '18446744073709551617'],
    ['total', '1e309'],
  ])('reports an invoice %s of %s at its path', (field, text) => {
    const invoice = { id: 'inv-1', [field]: numberToken(text) };
    expect(issuesOf(body({ invoice }))).toEqual([
      { path: `data.invoice.${field}`, message: `expected ${storableNumberExpectation}` },
    ]);
  });

  it('keeps a job_number a double would round as its text', () => {
    expect(fieldsOf(body({ job_number: numberToken('90071992547409937') }))?.jobNumber).toBe(
      '90071992547409937',
    );
  });

  it.each<[number, number, number | undefined]>([
    [0.3, 0.1, 0.2],
    [240.1, 100.05, 140.05],
    [0.001, 0, 0.001],
    [10.005, 0, 10.005],
    // The exact result (…990.5) is not a number a double holds: left out, never rounded.
    [9007199254740991, 0.5, undefined],
    [9007199254740991, -1, undefined],
    // Exact, but below what DynamoDB stores: left out, and the event is not quarantined for it.
    [2e-130, 1.5e-130, undefined],
  ])('derives amount due %s − %s exactly, or not at all', (total, amount_paid, due) => {
    const fields = fieldsOf(body({ invoice: { id: 'inv-1', total, amount_paid } }));
    expect(fields?.amountDue).toBe(due);
    if (due === undefined) expect(fields).not.toHaveProperty('amountDue');
  });

  it.each([
    ['retry_count', { envelope: { retry_count: numberToken('12345678901234567890') } }],
    ['duration', { data: { estimated_duration_seconds: numberToken('1e400') } }],
  ])('accepts a %s a double would round: nothing stores it', (_, overrides) => {
    const raw = jsonWithNumbers(zenbookerEvent('job.started.v2025', overrides));
    expect(zenbooker.validate(parsedBody(raw)).ok).toBe(true);
  });
});
