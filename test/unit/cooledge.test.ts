import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readCredentials } from '#core/credentials';
import { canonicalJson, type JsonObject } from '#core/json';
import { admissionIssues, storableNumberExpectation } from '#core/limits';
import type { AuthContext, DeliveryRequest } from '#core/provider';
import { type CooledgeCredentials, type CooledgeSettings, cooledge, sign } from '#providers/cooledge';
import { providers } from '#providers/index';
import { cooledgeEvent, jsonWithNumbers, numberToken, parsedBody } from '../support/factories.ts';
import { fixture, fixtureNames } from '../support/fixtures.ts';

const secret = 'whsec_unit_cooledge_secret_01';
const now = new Date('2026-06-20T00:00:00.000Z');
const settings: AuthContext<CooledgeCredentials, CooledgeSettings> = {
  credentials: { secrets: [secret] },
  now,
  settings: { scheme: 'timestamped', toleranceSeconds: 300 },
};

function request(body: JsonObject, headers: Record<string, string> = {}): DeliveryRequest {
  return { headers, pathParameter: undefined, rawBody: Buffer.from(JSON.stringify(body)) };
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

const facts = (body: JsonObject) =>
  cooledge.describe(validEvent(body) as never, { eventKey: String(body.event_id) });

/** A Cooledge body sent as JSON text with `numbers` written as bare number tokens, as ingest parses it. */
const withNumbers = (name: string, numbers: Record<string, string>) =>
  parsedBody(
    jsonWithNumbers(
      cooledgeEvent(name, Object.fromEntries(Object.entries(numbers).map(([k, t]) => [k, numberToken(t)]))),
    ),
  );

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('Cooledge authentication', () => {
  it('accepts a delivery signed over its raw bytes with an active secret', () => {
    const r = request(cooledgeEvent());
    r.headers = { 'x-cooledge-signature': sign(r.rawBody, secret, 'timestamped', now) };
    expect(cooledge.authenticate(r, settings)).toEqual({ ok: true });
  });

  it('uses the configured signature form', () => {
    const r = request(cooledgeEvent());
    r.headers = { 'x-cooledge-signature': sign(r.rawBody, secret, 'plain') };
    expect(
      cooledge.authenticate(r, { ...settings, settings: { scheme: 'plain', toleranceSeconds: 300 } }),
    ).toEqual({ ok: true });
    expect(cooledge.authenticate(r, settings).ok).toBe(false);
  });

  it('uses the configured tolerance and clock', () => {
    const r = request(cooledgeEvent());
    r.headers = { 'x-cooledge-signature': sign(r.rawBody, secret, 'timestamped', now) };
    const later = new Date(now.getTime() + 120_000);
    expect(
      cooledge.authenticate(r, {
        ...settings,
        now: later,
        settings: { scheme: 'timestamped', toleranceSeconds: 60 },
      }).ok,
    ).toBe(false);
    expect(
      cooledge.authenticate(r, {
        ...settings,
        now: later,
        settings: { scheme: 'timestamped', toleranceSeconds: 180 },
      }).ok,
    ).toBe(true);
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
    expect(cooledge.authenticate({ ...r, pathParameter: 'anything' }, settings).ok).toBe(false);
  });
});

describe('Cooledge authentication: secrets bound to businesses', () => {
  const bound = 'whsec_unit_cooledge_bound_02';
  const credentials = (document: unknown) => {
    const read = readCredentials({ cooledge: document }, providers);
    if (!read.ok) throw new Error(read.problem.message);
    return read.value.cooledge as CooledgeCredentials;
  };
  const signedWith = (key: string) => {
    const r = request(cooledgeEvent());
    r.headers = { 'x-cooledge-signature': sign(r.rawBody, key, 'timestamped', now) };
    return r;
  };
  const withCredentials = (document: unknown) => ({ ...settings, credentials: credentials(document) });

  it('says which businesses the matching secret is bound to, and nothing for an unbound one', () => {
    const context = withCredentials({ secrets: [secret, { secret: bound, accounts: ['biz-a', 'biz-b'] }] });
    expect(cooledge.authenticate(signedWith(bound), context)).toEqual({
      ok: true,
      accounts: ['biz-a', 'biz-b'],
    });
    expect(cooledge.authenticate(signedWith(secret), context)).toEqual({ ok: true });
  });

  it('binds a secret listed in several objects to all their businesses, once each', () => {
    const context = withCredentials({
      secrets: [
        { secret: bound, accounts: ['biz-a', 'biz-b'] },
        { secret: bound, accounts: ['biz-b', 'biz-c'] },
      ],
    });
    expect(cooledge.authenticate(signedWith(bound), context)).toEqual({
      ok: true,
      accounts: ['biz-a', 'biz-b', 'biz-c'],
    });
  });

  it('refuses a signature by no configured secret, bound or not', () => {
    const context = withCredentials({ secrets: [{ secret: bound, accounts: ['biz-a'] }] });
    expect(cooledge.authenticate(signedWith(secret), context)).toEqual({
      ok: false,
      reason: 'signature mismatch',
    });
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
      fingerprint: sha256(canonicalJson(body)),
    });
  });

  it('fingerprints the body whatever the order of its keys, and tells another body by it', () => {
    const body = cooledgeEvent('invoice.paid');
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    const changed = { ...body, total: 463 };
    const fingerprintOf = (b: JsonObject) => {
      const envelope = cooledge.envelope(b, request(b));
      if (!envelope.ok) throw new Error(envelope.detail);
      return envelope.fingerprint;
    };
    expect(fingerprintOf(reordered)).toBe(fingerprintOf(body));
    expect(fingerprintOf(changed)).not.toBe(fingerprintOf(body));
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

  it.each([
    ['1025 ASCII characters', 'e'.repeat(1025)],
    ['513 two-byte characters (1026 bytes)', 'é'.repeat(513)],
    ['342 three-byte characters (1026 bytes)', '工'.repeat(342)],
    ['257 four-byte characters (1028 bytes)', '😀'.repeat(257)],
  ])('rejects an event_id over 1024 UTF-8 bytes: %s', (_, eventId) => {
    const body = cooledgeEvent('job.completed', { event_id: eventId });
    expect(cooledge.envelope(body, request(body))).toEqual({
      ok: false,
      detail: 'event_id must be at most 1024 UTF-8 bytes',
    });
  });

  it.each([
    ['1024 ASCII characters', 'e'.repeat(1024)],
    ['512 two-byte characters', 'é'.repeat(512)],
    ['341 three-byte characters (1023 bytes)', '工'.repeat(341)],
    ['256 four-byte characters', '😀'.repeat(256)],
  ])('accepts an event_id of at most 1024 UTF-8 bytes: %s', (_, eventId) => {
    const body = cooledgeEvent('job.completed', { event_id: eventId });
    expect(cooledge.envelope(body, request(body))).toMatchObject({ ok: true, eventKey: eventId });
  });

  it.each([
    ['a lone high surrogate at its end', 'evt-1\ud800'],
    ['a lone low surrogate', '\udc00evt-1'],
    ['a pair in the wrong order', 'evt-\udc00\ud800'],
  ])('rejects an event_id holding %s', (_, eventId) => {
    const body = parsedBody(JSON.stringify(cooledgeEvent('job.completed', { event_id: eventId })));
    expect(body.event_id).toBe(eventId);
    expect(cooledge.envelope(body, request(body))).toEqual({
      ok: false,
      detail: 'event_id must be well-formed Unicode (it holds a lone surrogate)',
    });
  });

  it.each([
    ['a lone surrogate', 'job.completed\ud800'],
    ['257 characters', `x.${'y'.repeat(255)}`],
  ])('rejects an event_type holding %s', (_, eventType) => {
    const body = cooledgeEvent('lead.created', { event_type: eventType });
    expect(cooledge.envelope(body, request(body))).toEqual({
      ok: false,
      detail: 'event_type must be well-formed Unicode of at most 256 characters',
    });
  });

  it('accepts an event_type of 256 characters', () => {
    const body = cooledgeEvent('lead.created', { event_type: `x.${'y'.repeat(254)}` });
    expect(cooledge.envelope(body, request(body)).ok).toBe(true);
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

  it.each([
    ['a bare number ("1", which Date.parse reads as 2001)', '1'],
    ['a six-digit year', '+010000-01-01T00:00:00Z'],
    ['a day the calendar does not have', '2026-02-30T00:00:00Z'],
    ['no zone', '2026-06-17T14:38:55'],
    ['no seconds', '2026-06-17T14:38Z'],
    ['a date alone', '2026-06-17'],
    ['an RFC 2822 date', 'Wed, 17 Jun 2026 14:38:55 GMT'],
  ])('reports an occurred_at that cannot order events: %s', (_, occurredAt) => {
    expect(issuesOf(cooledgeEvent('job.completed', { occurred_at: occurredAt }))).toEqual([
      {
        path: 'occurred_at',
        message: 'expected an ISO 8601 date-time with a four-digit year, seconds and a zone',
      },
    ]);
  });

  it.each([
    ['a zone offset', '2026-06-18T00:38:55+10:00', '2026-06-17T14:38:55.000Z'],
    ['no fraction', '2026-06-17T14:38:55Z', '2026-06-17T14:38:55.000Z'],
    ['29 February of a leap year', '2028-02-29T00:00:00Z', '2028-02-29T00:00:00.000Z'],
    ['the last second of year 9999', '9999-12-31T23:59:59Z', '9999-12-31T23:59:59.000Z'],
  ])('accepts an occurred_at with %s, normalised to UTC', (_, occurredAt, normalised) => {
    expect(facts(cooledgeEvent('job.completed', { occurred_at: occurredAt })).occurredAt).toBe(normalised);
  });

  it('reports an invoice.paid total of 1e16, which a double holds only by luck', () => {
    expect(issuesOf(withNumbers('invoice.paid', { total: '1e16' }))).toEqual([
      { path: 'total', message: `expected ${storableNumberExpectation}` },
    ]);
  });

  it('reports an invoice.paid total of 1e200', () => {
    expect(issuesOf(withNumbers('invoice.paid', { total: '1e200' }))).toEqual([
      { path: 'total', message: `expected ${storableNumberExpectation}` },
    ]);
  });

  it('reports an invoice.paid total of 1e-200, below what the store keeps', () => {
    expect(issuesOf(withNumbers('invoice.paid', { total: '1e-200' }))).toEqual([
      { path: 'total', message: `expected ${storableNumberExpectation}` },
    ]);
  });

  it.each([
    ['total', '1e309'],
    ['amount_due', '18446744073709551616'],
    ['payment_amount', '1.0000000000000001'],
    ['amount_paid_total', '-9007199254740993'],
  ])('reports an invoice.paid %s of %s at its path', (field, text) => {
    expect(issuesOf(withNumbers('invoice.paid', { [field]: text }))).toEqual([
      { path: field, message: `expected ${storableNumberExpectation}` },
    ]);
  });

  it('reports a quote total it cannot store exactly', () => {
    const body = withNumbers('lead.created', { total: '1e16' });
    Object.assign(body, { event_type: 'quote.sent', quote_id: 'q-1', job_id: 'job-1' });
    expect(issuesOf(body)).toEqual([{ path: 'total', message: `expected ${storableNumberExpectation}` }]);
  });

  it.each([
    ['2^53 − 1', '9007199254740991', 9007199254740991],
    ['1e-130', '1e-130', 1e-130],
    ['0.1', '0.1', 0.1],
    ['-462.05', '-462.05', -462.05],
    ['0', '0', 0],
  ])('accepts an invoice.paid total of %s', (_, text, total) => {
    expect(facts(withNumbers('invoice.paid', { total: text })).job?.fields.total).toBe(total);
  });

  it('never quotes a number it cannot store in its issues', () => {
    const serialised = JSON.stringify(
      issuesOf(withNumbers('invoice.paid', { total: '98765432109876543210' })),
    );
    expect(serialised).not.toContain('98765432109876543210');
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

  it('keeps a job_number of 90071992547409937 as the text it was sent as', () => {
    const body = withNumbers('job.completed', { job_number: '90071992547409937' });
    expect(facts(body).job?.fields.jobNumber).toBe('90071992547409937');
  });

  it('keeps a quote job_number a double would round as its text', () => {
    const body = withNumbers('lead.created', { job_number: '123456789012345678901' });
    Object.assign(body, { event_type: 'quote.accepted', quote_id: 'q-1', job_id: 'job-1' });
    expect(facts(body).job).toEqual({ jobId: 'job-1', fields: { jobNumber: '123456789012345678901' } });
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

  it.each<[string, unknown]>([
    ['text', '12.50'],
    ['a number the store would not keep exactly', 1e16],
  ])('refuses an invoice.sent amount_paid_total that is %s: the mapping stores it', (_, value) => {
    const body = cooledgeEvent('invoice.paid', { event_type: 'invoice.sent', amount_paid_total: value });
    expect(issuesOf(body)).toEqual([expect.objectContaining({ path: 'amount_paid_total' })]);
  });

  it('keeps the text of a lead.won job_number a double would round', () => {
    const won = withNumbers('lead.created', { job_number: '90071992547409937' });
    expect(facts({ ...won, event_type: 'lead.won', job_id: 'job-77' }).job?.fields.jobNumber).toBe(
      '90071992547409937',
    );
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

describe('Cooledge events admitted for storing', () => {
  const received = '2026-06-20T00:00:00.000Z';
  const admission = (body: JsonObject) =>
    admissionIssues(facts(body), { reference: received, eventTimeSkewSeconds: 300 });

  it('admits the fixtures received after they occurred', () => {
    for (const name of fixtureNames('cooledge')) {
      const body = fixture('cooledge', name);
      expect(
        admissionIssues(facts(body), { reference: String(body.occurred_at), eventTimeSkewSeconds: 0 }),
        name,
      ).toEqual([]);
    }
  });

  it('passes an occurred_at of 9999-12-31T23:59:59Z through the schema but not admission', () => {
    const body = cooledgeEvent('job.completed', { occurred_at: '9999-12-31T23:59:59Z' });
    expect(cooledge.validate(body).ok).toBe(true);
    expect(admission(body)).toEqual([
      { path: 'event time', message: 'expected an event time at most 300 s after the event was received' },
    ]);
  });

  it('quarantines a booking.created whose job_id is 700 × 工 (2100 UTF-8 bytes)', () => {
    const body = cooledgeEvent('booking.created', { job_id: '工'.repeat(700) });
    expect(cooledge.validate(body).ok).toBe(true);
    expect(admission(body)).toEqual(
      expect.arrayContaining([
        {
          path: 'job id',
          message: 'expected an id that is non-empty, well-formed Unicode and at most 1024 UTF-8 bytes',
        },
      ]),
    );
  });

  it('admits a job_id of exactly 1024 UTF-8 bytes', () => {
    expect(admission(cooledgeEvent('booking.created', { job_id: 'é'.repeat(512) }))).toEqual([]);
  });

  it('quarantines a customer_id over 1024 UTF-8 bytes, naming the field', () => {
    expect(admission(cooledgeEvent('job.completed', { customer_id: 'c'.repeat(1025) }))).toEqual([
      {
        path: 'customer_id',
        message: 'expected an id that is non-empty, well-formed Unicode and at most 1024 UTF-8 bytes',
      },
    ]);
  });
});
