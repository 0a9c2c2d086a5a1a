import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '#core/json';
import type { AuthContext, DeliveryRequest } from '#core/provider';
import {
  type StandardCredentials,
  type StandardSettings,
  standard,
  verifyStandardSignature,
} from '#providers/standard';

const secret = `whsec_${Buffer.from('unit-standard-webhooks-key-0123').toString('base64')}`;
const rotated = `whsec_${Buffer.from('unit-standard-webhooks-key-rotated').toString('base64')}`;
const now = new Date('2026-06-20T00:00:00.000Z');
const seconds = Math.floor(now.getTime() / 1000);

const context = (secrets: string[] = [secret]): AuthContext<StandardCredentials, StandardSettings> => ({
  credentials: { sources: { acme: { secrets } } },
  settings: { toleranceSeconds: 300 },
  now,
});

/** A delivery from source `acme` as the spec's senders make it, signed with `signWith` at `at`. */
function delivery(
  body: string,
  opts: { id?: string; at?: number; signWith?: string[]; source?: string; signature?: string } = {},
): DeliveryRequest {
  const id = opts.id ?? 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W';
  const at = opts.at ?? seconds;
  const signature =
    opts.signature ??
    (opts.signWith ?? [secret]).map((s) => new Webhook(s).sign(id, new Date(at * 1000), body)).join(' ');
  return {
    headers: { 'webhook-id': id, 'webhook-timestamp': String(at), 'webhook-signature': signature },
    pathParameter: opts.source ?? 'acme',
    rawBody: Buffer.from(body),
  };
}

const jobBody = {
  type: 'job.completed',
  timestamp: '2026-06-19T23:50:00.000Z',
  data: { job_id: 'J-1001', account_id: 'acme-hq', status: 'completed', customer_name: 'Priya Nair' },
};

describe('Standard Webhooks signature', () => {
  it('matches the HMAC-SHA256 of `id.timestamp.body` computed independently (the spec example values)', () => {
    // The spec's library tests' secret, id and payload; the expected value from node:crypto alone.
    const key = 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
    const payload = '{"test": 2432232314}';
    const at = 1614265330;
    const expected = createHmac('sha256', Buffer.from(key, 'base64'))
      .update(`${id}.${at}.${payload}`)
      .digest('base64');
    const result = verifyStandardSignature({
      headers: { 'webhook-id': id, 'webhook-timestamp': String(at), 'webhook-signature': `v1,${expected}` },
      rawBody: Buffer.from(payload),
      secrets: [`whsec_${key}`],
      toleranceSeconds: 300,
      now: new Date(at * 1000),
    });
    expect(result).toEqual({ ok: true });
    expect(expected).toBe('g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('accepts a delivery of a configured source signed with its secret', () => {
    expect(standard.authenticate(delivery(JSON.stringify(jobBody)), context())).toEqual({ ok: true });
  });

  it('says which accounts a bound source is bound to, for every one of its secrets', () => {
    const bound: AuthContext<StandardCredentials, StandardSettings> = {
      ...context(),
      credentials: {
        sources: {
          acme: { secrets: [secret, rotated], accounts: ['acme-hq'] },
          other: { secrets: [secret] },
        },
      },
    };
    const body = JSON.stringify(jobBody);
    for (const key of [secret, rotated]) {
      expect(standard.authenticate(delivery(body, { signWith: [key] }), bound)).toEqual({
        ok: true,
        accounts: ['acme-hq'],
      });
    }
    // Another source with the same secret is a route of its own, unbound.
    expect(standard.authenticate(delivery(body, { source: 'other' }), bound)).toEqual({ ok: true });
    // A failure is the failure, whatever the binding.
    expect(
      standard.authenticate(
        delivery(`${body} `, { signature: delivery(body).headers['webhook-signature'] }),
        bound,
      ),
    ).toEqual({
      ok: false,
      reason: 'signature mismatch',
    });
  });

  it('accepts any of several signatures, and any active secret (rotation both ways)', () => {
    const body = JSON.stringify(jobBody);
    expect(standard.authenticate(delivery(body, { signWith: [rotated, secret] }), context())).toEqual({
      ok: true,
    });
    expect(
      standard.authenticate(delivery(body, { signWith: [rotated] }), context([secret, rotated])),
    ).toEqual({
      ok: true,
    });
    expect(standard.authenticate(delivery(body, { signWith: [rotated] }), context()).ok).toBe(false);
  });

  it.each<[string, DeliveryRequest, string]>([
    ['an unknown source', delivery('{}', { source: 'other' }), 'unknown source'],
    ['no source', { ...delivery('{}'), pathParameter: undefined }, 'unknown source'],
    ['a source named like an object key', delivery('{}', { source: 'constructor' }), 'unknown source'],
    [
      'no signature',
      { ...delivery('{}'), headers: { 'webhook-id': 'm', 'webhook-timestamp': String(seconds) } },
      'signature missing',
    ],
    ['a signature that matches nothing', delivery('{}', { signature: 'v1,x' }), 'signature mismatch'],
    ['only an asymmetric (v1a) signature', delivery('{}', { signature: 'v1a,abc' }), 'signature malformed'],
    ['a timestamp 301 s old', delivery('{}', { at: seconds - 301 }), 'signature timestamp outside tolerance'],
    [
      'a timestamp 301 s ahead',
      delivery('{}', { at: seconds + 301 }),
      'signature timestamp outside tolerance',
    ],
    [
      'a body changed after signing',
      { ...delivery('{"a":1}'), rawBody: Buffer.from('{"a":2}') },
      'signature mismatch',
    ],
    [
      'another id than the one signed',
      { ...delivery('{}'), headers: { ...delivery('{}').headers, 'webhook-id': 'msg_other' } },
      'signature mismatch',
    ],
  ])('refuses %s', (_, request, reason) => {
    expect(standard.authenticate(request, context())).toEqual({ ok: false, reason });
  });

  it('refuses a timestamp header that is not whole seconds', () => {
    const request = delivery('{}');
    const headers = { ...request.headers, 'webhook-timestamp': `${seconds}.5` };
    expect(standard.authenticate({ ...request, headers }, context())).toEqual({
      ok: false,
      reason: 'signature malformed',
    });
  });

  it('accepts exactly what was signed with an active secret inside the tolerance (property)', () => {
    fc.assert(
      fc.property(
        fc.string({
          minLength: 1,
          maxLength: 40,
          unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789_'),
        }),
        fc.string({ maxLength: 200 }),
        fc.integer({ min: -300, max: 300 }),
        fc.nat(),
        (id, body, skew, flip) => {
          const request = delivery(body, { id: `msg_${id}`, at: seconds + skew });
          expect(standard.authenticate(request, context([rotated, secret]))).toEqual({ ok: true });
          // Any one byte changed (or one added) is refused.
          const bytes = Buffer.from(request.rawBody);
          const changed =
            bytes.length === 0
              ? Buffer.from('x')
              : Buffer.concat([
                  bytes.subarray(0, flip % bytes.length),
                  Buffer.from([(bytes[flip % bytes.length] as number) ^ 1]),
                  bytes.subarray((flip % bytes.length) + 1),
                ]);
          expect(standard.authenticate({ ...request, rawBody: changed }, context()).ok).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('Standard Webhooks events', () => {
  const ingestRequest = (id: string): DeliveryRequest => ({
    ...delivery('{}', { id }),
    pathParameter: 'acme',
  });

  it('keys an event by its source and webhook-id, so two sources never share a key', () => {
    const envelope = standard.envelope(jobBody, ingestRequest('msg_1'));
    expect(envelope).toMatchObject({
      ok: true,
      eventKey: 'acme:msg_1',
      eventType: 'job.completed',
      accountId: 'acme-hq',
    });
    const other = standard.envelope(jobBody, { ...ingestRequest('msg_1'), pathParameter: 'billing' });
    expect(other.ok && other.eventKey).toBe('billing:msg_1');
  });

  it('fingerprints the body: a redelivery under one webhook-id is the same event', () => {
    const a = standard.envelope(jobBody, ingestRequest('msg_1'));
    const b = standard.envelope(JSON.parse(JSON.stringify(jobBody)) as JsonObject, ingestRequest('msg_1'));
    const c = standard.envelope({ ...jobBody, type: 'job.updated' }, ingestRequest('msg_1'));
    expect(a.ok && b.ok && a.fingerprint === b.fingerprint).toBe(true);
    expect(a.ok && c.ok && a.fingerprint !== c.fingerprint).toBe(true);
  });

  it.each<[string, JsonObject]>([
    ['no type', { data: {} }],
    ['an empty type', { type: ' ' }],
    ['a type that is not text', { type: 7 }],
  ])('needs a type: %s is a 400', (_, body) => {
    expect(standard.envelope(body, ingestRequest('msg_1')).ok).toBe(false);
  });

  it('maps a job.* event to the job under its source, ordered by the payload timestamp', () => {
    const result = standard.validate(jobBody);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(standard.describe(result.event, { eventKey: 'acme:msg_1' })).toEqual({
      accountId: 'acme-hq',
      entityIds: { job_id: 'acme:J-1001' },
      occurredAt: '2026-06-19T23:50:00.000Z',
      occurredAtAsSent: '2026-06-19T23:50:00.000Z',
      job: { jobId: 'acme:J-1001', fields: { status: 'completed', customerName: 'Priya Nair' } },
    });
  });

  it('keeps two sources apart: the same job_id from another source is another job (property)', () => {
    const source = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/);
    fc.assert(
      fc.property(source, source, fc.string({ minLength: 1, maxLength: 30 }), (a, b, id) => {
        fc.pre(a !== b && id.trim() !== '');
        const result = standard.validate({ ...jobBody, data: { ...jobBody.data, job_id: id } });
        if (!result.ok) return;
        const jobA = standard.describe(result.event, { eventKey: `${a}:msg_1` }).job?.jobId;
        const jobB = standard.describe(result.event, { eventKey: `${b}:msg_1` }).job?.jobId;
        expect(jobA).toBe(`${a}:${id}`);
        expect(jobA).not.toBe(jobB);
      }),
    );
  });

  it('records any other event without a job, whatever form its timestamp has', () => {
    for (const body of [
      { type: 'contact.created', timestamp: '2022-11-03T20:26:10.344522Z', data: { id: '1f81eb52' } },
      { type: 'invoice.paid', timestamp: 1674087231, data: { account_id: 'acme-hq' } },
      { type: 'jobs.exported', data: { count: 3 } },
    ]) {
      const result = standard.validate(body);
      expect(result.ok, JSON.stringify(body)).toBe(true);
      if (result.ok) expect(standard.describe(result.event, { eventKey: 'acme:msg_1' }).job).toBeUndefined();
    }
  });

  it.each<[string, JsonObject, string]>([
    ['a numeric job_id', { ...jobBody, data: { ...jobBody.data, job_id: 3003 } }, 'data.job_id'],
    ['no job_id', { ...jobBody, data: { status: 'completed' } }, 'data.job_id'],
    ['a blank job_id', { ...jobBody, data: { ...jobBody.data, job_id: '   ' } }, 'data.job_id'],
    ['no data', { type: 'job.completed', timestamp: jobBody.timestamp }, 'data'],
    [
      'no timestamp (the receive time would order it)',
      { type: 'job.completed', data: jobBody.data },
      'timestamp',
    ],
    ['a timestamp in Unix seconds', { ...jobBody, timestamp: 1781700000 }, 'timestamp'],
  ])('quarantines a job.* event with %s: it names no job it could be ordered in', (_, body, path) => {
    const result = standard.validate(body);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues.map((i) => i.path)).toContain(path);
  });

  it('quarantines a job event whose fields are malformed, naming the path', () => {
    const result = standard.validate({ ...jobBody, data: { ...jobBody.data, total: 'lots' } });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues.map((i) => i.path)).toContain('data.total');
    const late = standard.validate({ ...jobBody, timestamp: 'yesterday' });
    expect(late.ok).toBe(false);
  });
});
