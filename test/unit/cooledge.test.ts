import { describe, expect, it } from 'vitest';
import type { JsonObject } from '#core/json';
import type { AuthSettings, DeliveryRequest } from '#core/provider';
import { cooledge, sign } from '#providers/cooledge';
import { cooledgeEvent } from '../support/factories.ts';
import { fixture, fixtureNames } from '../support/fixtures.ts';

const secret = 'whsec_unit_cooledge_secret_01';
const now = new Date('2026-06-20T00:00:00.000Z');
const settings: AuthSettings = {
  credentials: { cooledgeSecrets: [secret], zenbookerTokens: ['zbk_unused_token_0123456789abcdef'] },
  now,
  signatureScheme: 'timestamped',
  signatureToleranceSeconds: 300,
};

function request(body: JsonObject, headers: Record<string, string> = {}): DeliveryRequest {
  return { headers, pathToken: undefined, rawBody: Buffer.from(JSON.stringify(body)) };
}

function validEvent(body: JsonObject) {
  const result = cooledge.validate(body);
  if (!result.ok) throw new Error(`expected a valid event, got ${JSON.stringify(result.issues)}`);
  return result.event as JsonObject;
}

function issuesOf(body: JsonObject) {
  const result = cooledge.validate(body);
  if (result.ok) throw new Error('expected the schema to reject the event');
  return result.issues;
}

const facts = (body: JsonObject) => cooledge.describe(validEvent(body) as never);

describe('Cooledge authentication', () => {
  it('accepts a delivery signed over its raw bytes with an active secret', () => {
    const r = request(cooledgeEvent());
    r.headers = { 'x-cooledge-signature': sign(r.rawBody, secret, 'timestamped', now) };
    expect(cooledge.authenticate(r, settings)).toEqual({ ok: true });
  });

  it('uses the configured signature form', () => {
    const r = request(cooledgeEvent());
    r.headers = { 'x-cooledge-signature': sign(r.rawBody, secret, 'plain') };
    expect(cooledge.authenticate(r, { ...settings, signatureScheme: 'plain' })).toEqual({ ok: true });
    expect(cooledge.authenticate(r, settings).ok).toBe(false);
  });

  it('uses the configured tolerance and clock', () => {
    const r = request(cooledgeEvent());
    r.headers = { 'x-cooledge-signature': sign(r.rawBody, secret, 'timestamped', now) };
    const later = new Date(now.getTime() + 120_000);
    expect(cooledge.authenticate(r, { ...settings, now: later, signatureToleranceSeconds: 60 }).ok).toBe(
      false,
    );
    expect(cooledge.authenticate(r, { ...settings, now: later, signatureToleranceSeconds: 180 }).ok).toBe(
      true,
    );
  });

  it('rejects a delivery without the signature header', () => {
    expect(cooledge.authenticate(request(cooledgeEvent()), settings)).toEqual({
      ok: false,
      reason: 'signature missing',
    });
  });

  it('rejects a delivery that arrives with a path token', () => {
    const r = request(cooledgeEvent());
    r.headers = { 'x-cooledge-signature': sign(r.rawBody, secret, 'timestamped', now) };
    expect(cooledge.authenticate({ ...r, pathToken: 'anything' }, settings).ok).toBe(false);
  });
});

describe('Cooledge envelope (what routing and dedupe need)', () => {
  it('keys the event by its event_id and names its type and business', () => {
    const body = cooledgeEvent('invoice.paid');
    expect(cooledge.envelope(body, request(body))).toEqual({
      ok: true,
      eventKey: body.event_id,
      eventType: 'invoice.paid',
      accountId: body.business_id,
    });
  });

  it('gives a redelivery the same key', () => {
    const body = cooledgeEvent();
    const again = JSON.parse(JSON.stringify(body)) as JsonObject;
    const a = cooledge.envelope(body, request(body));
    const b = cooledge.envelope(again, request(again));
    expect(a.ok && b.ok && a.eventKey === b.eventKey).toBe(true);
  });

  it('accepts an X-Cooledge-Event-Id header that equals the body event_id', () => {
    const body = cooledgeEvent();
    const headers = { 'x-cooledge-event-id': String(body.event_id) };
    expect(cooledge.envelope(body, request(body, headers)).ok).toBe(true);
  });

  it('rejects an X-Cooledge-Event-Id header that differs from the body event_id', () => {
    const body = cooledgeEvent();
    const headers = { 'x-cooledge-event-id': 'a-different-event-id' };
    expect(cooledge.envelope(body, request(body, headers))).toEqual({
      ok: false,
      detail: 'X-Cooledge-Event-Id does not match the body event_id',
    });
  });

  it.each<[string, JsonObject]>([
    ['missing', { event_id: undefined }],
    ['empty', { event_id: '' }],
    ['blank', { event_id: '   ' }],
    ['a number', { event_id: 12345 }],
    ['null', { event_id: null }],
  ])('rejects an event_id that is %s', (_, overrides) => {
    const body = JSON.parse(JSON.stringify(cooledgeEvent('job.completed', overrides))) as JsonObject;
    expect(cooledge.envelope(body, request(body))).toEqual({
      ok: false,
      detail: 'event_id must be a non-empty string',
    });
  });

  it('rejects an event_id longer than 256 characters', () => {
    const body = cooledgeEvent('job.completed', { event_id: 'e'.repeat(257) });
    expect(cooledge.envelope(body, request(body))).toEqual({
      ok: false,
      detail: 'event_id must be at most 256 characters',
    });
  });

  it('rejects a missing event_type', () => {
    const { event_type: _, ...body } = cooledgeEvent();
    expect(cooledge.envelope(body, request(body))).toEqual({
      ok: false,
      detail: 'event_type must be a non-empty string',
    });
  });

  it('never puts the signature among the headers kept with the event', () => {
    expect(cooledge.keptHeaders).not.toContain('x-cooledge-signature');
    expect(cooledge.keptHeaders).toContain('x-cooledge-event-id');
  });
});

describe('Cooledge schemas', () => {
  it.each(fixtureNames('cooledge'))('accepts the %s fixture', (name) => {
    expect(cooledge.validate(fixture('cooledge', name)).ok).toBe(true);
  });

  it.each(fixtureNames('cooledge'))('keeps unknown fields of %s in the output', (name) => {
    const event = validEvent(cooledgeEvent(name, { brand_new_field: { nested: [1, 'two'] } }));
    expect(event.brand_new_field).toEqual({ nested: [1, 'two'] });
  });

  it('accepts every nullable job.completed field as null', () => {
    const nulls = Object.fromEntries(
      [
        'job_number',
        'job_category_id',
        'customer_id',
        'completed_at',
        'description',
        'work_details',
        'external_ghl_contact_id',
        'external_ghl_opportunity_id',
        'customer_name',
        'customer_email',
        'customer_phone',
      ].map((key) => [key, null]),
    );
    expect(validEvent(cooledgeEvent('job.completed', nulls))).toMatchObject(nulls);
  });

  it.each([318, 'J-318', null])('accepts job_number %j', (jobNumber) => {
    expect(validEvent(cooledgeEvent('job.completed', { job_number: jobNumber })).job_number).toBe(jobNumber);
  });

  it('accepts a quote.paid whose job_number is a number or null', () => {
    const quote = (job_number: number | null) =>
      cooledgeEvent('lead.created', {
        event_type: 'quote.paid',
        quote_id: 'q-1',
        job_id: null,
        job_number,
        total: 120.5,
      });
    expect(cooledge.validate(quote(77)).ok).toBe(true);
    expect(cooledge.validate(quote(null)).ok).toBe(true);
  });

  it('accepts the lead type under lead_type (lead.created) and under type (lead.updated)', () => {
    expect(validEvent(cooledgeEvent('lead.created')).lead_type).toBe('inbound');
    const { lead_type: _, ...updated } = cooledgeEvent('lead.created', { event_type: 'lead.updated' });
    expect(validEvent({ ...updated, type: 'referral' }).type).toBe('referral');
  });

  it('accepts an event type it has never seen, checking only the envelope', () => {
    const event = validEvent(
      cooledgeEvent('lead.created', { event_type: 'estimate.viewed', lead_id: 42, anything: [true] }),
    );
    expect(event).toMatchObject({ event_type: 'estimate.viewed', lead_id: 42, anything: [true] });
  });

  it('still requires the envelope of an unknown event type', () => {
    const { business_id: _, ...body } = cooledgeEvent('lead.created', { event_type: 'estimate.viewed' });
    expect(issuesOf(body).map((i) => i.path)).toContain('business_id');
  });

  it('accepts junk in email and phone fields', () => {
    const event = validEvent(
      cooledgeEvent('job.completed', {
        customer_email: '[email protected]',
        customer_phone: 'call reception',
      }),
    );
    expect(event.customer_email).toBe('[email protected]');
  });

  it('reports a job.completed without job_id', () => {
    const { job_id: _, ...body } = cooledgeEvent('job.completed');
    expect(issuesOf(body)).toEqual([expect.objectContaining({ path: 'job_id' })]);
  });

  it('reports a job.completed whose job_id is null', () => {
    expect(issuesOf(cooledgeEvent('job.completed', { job_id: null })).map((i) => i.path)).toEqual(['job_id']);
  });

  it.each(['job_id', 'customer_id', 'business_id'])('reports %s sent as a number', (key) => {
    expect(issuesOf(cooledgeEvent('job.completed', { [key]: 5_123_456_789 })).map((i) => i.path)).toEqual([
      key,
    ]);
  });

  it('reports an occurred_at that is not a date-time', () => {
    expect(
      issuesOf(cooledgeEvent('job.completed', { occurred_at: 'yesterday-ish' })).map((i) => i.path),
    ).toEqual(['occurred_at']);
  });

  it('reports a money field sent as text', () => {
    expect(issuesOf(cooledgeEvent('invoice.paid', { total: '462.00' })).map((i) => i.path)).toEqual([
      'total',
    ]);
  });

  it('never quotes the received values in its issues', () => {
    const issues = issuesOf(
      cooledgeEvent('job.completed', {
        job_id: 987_654_321_012,
        customer_email: 31_337_424_242,
        completed_at: 'LEAKY-DATE-VALUE',
        status: ['LEAKY-STATUS-VALUE'],
        job_number: { secret: 'LEAKY-NESTED-VALUE' },
      }),
    );
    expect(issues.map((i) => i.path).sort()).toEqual(
      ['completed_at', 'customer_email', 'job_id', 'job_number', 'status'].sort(),
    );
    const serialised = JSON.stringify(issues);
    for (const value of [
      '987654321012',
      '31337424242',
      'LEAKY-DATE-VALUE',
      'LEAKY-STATUS-VALUE',
      'LEAKY-NESTED',
    ]) {
      expect(serialised).not.toContain(value);
    }
  });
});

describe('Cooledge events mapped to jobs', () => {
  it('maps job.completed to a completed job with its number as text', () => {
    const body = fixture('cooledge', 'job.completed');
    expect(facts(body).job).toEqual({
      jobId: '5c1a0e74-3d29-4b06-9f81-2e7a0c4d6b18',
      fields: {
        status: 'completed',
        jobNumber: '318',
        customerId: '8c3e1a72-5d49-4b06-9f81-2e7a0c4d6b18',
        customerName: 'Priya Nair',
        customerEmail: 'priya.nair@example.com',
        customerPhone: '+61498765432',
        description: 'Annual service and refrigerant top-up on ducted system.',
        workDetails:
          'Cleaned filters and coils, checked gas pressures, replaced return air filter. System running within spec.',
        completedAt: '2026-06-17T14:38:55.904Z',
      },
    });
  });

  it('maps a sparse job.completed without inventing fields for its nulls', () => {
    expect(facts(fixture('cooledge', 'job.completed.sparse')).job).toEqual({
      jobId: '9e2f7a15-4b8c-4d31-a6e0-71c5d3b9f248',
      fields: { status: 'completed', jobNumber: 'J-2207' },
    });
  });

  it('leaves the job number out when it is null', () => {
    expect(facts(cooledgeEvent('job.completed', { job_number: null })).job?.fields).not.toHaveProperty(
      'jobNumber',
    );
  });

  it('normalises completed_at to UTC with milliseconds', () => {
    const fields = facts(cooledgeEvent('job.completed', { completed_at: '2026-06-18T10:00:00+10:00' })).job
      ?.fields;
    expect(fields?.completedAt).toBe('2026-06-18T00:00:00.000Z');
  });

  it('maps booking.created to the scheduled window', () => {
    expect(facts(fixture('cooledge', 'booking.created')).job).toEqual({
      jobId: '5c1a0e74-3d29-4b06-9f81-2e7a0c4d6b18',
      fields: {
        customerId: '8c3e1a72-5d49-4b06-9f81-2e7a0c4d6b18',
        customerName: 'Priya Nair',
        customerEmail: 'priya.nair@example.com',
        customerPhone: '+61498765432',
        scheduledStart: '2026-06-20T23:00:00.000Z',
        scheduledEnd: '2026-06-21T01:00:00.000Z',
      },
    });
  });

  it('maps invoice.paid to the job totals', () => {
    expect(facts(fixture('cooledge', 'invoice.paid')).job?.fields).toMatchObject({
      total: 462,
      amountPaid: 200,
      amountDue: 262,
    });
  });

  it.each(['booking.created', 'invoice.paid'])('does not touch a job when %s has a null job_id', (name) => {
    expect(facts(cooledgeEvent(name, { job_id: null })).job).toBeUndefined();
  });

  it('does not touch a job for a lead, a customer or an unknown event', () => {
    expect(facts(fixture('cooledge', 'lead.created')).job).toBeUndefined();
    expect(
      facts(cooledgeEvent('lead.created', { event_type: 'customer.created', customer_id: 'c-1' })).job,
    ).toBeUndefined();
    expect(facts(cooledgeEvent('job.completed', { event_type: 'job.rated' })).job).toBeUndefined();
  });

  it('maps a lead.won that names a job to that job', () => {
    const won = cooledgeEvent('lead.created', { event_type: 'lead.won', job_id: 'job-77' });
    expect(facts(won).job).toEqual({ jobId: 'job-77', fields: {} });
  });

  it('reports the business, the occurrence time and the ids the event names', () => {
    expect(facts(fixture('cooledge', 'invoice.paid'))).toMatchObject({
      accountId: 'a7f3c9d1-2e84-4b6f-8c01-5d9e2a1f7b30',
      occurredAt: '2026-06-22T03:41:07.381Z',
      entityIds: {
        job_id: '5c1a0e74-3d29-4b06-9f81-2e7a0c4d6b18',
        customer_id: '8c3e1a72-5d49-4b06-9f81-2e7a0c4d6b18',
        invoice_id: 'b2e7c914-6a3d-4f08-9c51-d8a4e2f7c036',
      },
    });
  });
});
