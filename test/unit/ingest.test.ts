import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { SecretsManagerCredentials } from '#adapters/credentials';
import { readAllSettings } from '#core/config';
import { readCredentials } from '#core/credentials';
import { LoggableError } from '#core/errors';
import type { IngestDeps } from '#core/ingest';
import type { JsonObject } from '#core/json';
import { storableNumberExpectation } from '#core/limits';
import type { Provider } from '#core/provider';
import { cooledge, sign } from '#providers/cooledge';
import { providers } from '#providers/index';
import { eventKey } from '#providers/zenbooker';
import { apiEvent } from '../support/api-event.ts';
import { cooledgeEvent, jsonWithNumbers, numberToken, zenbookerEvent } from '../support/factories.ts';
import { awsError, FailingCredentials, FixedCredentials, RecordingQueue } from '../support/fakes.ts';
import { fixture, fixtureNames } from '../support/fixtures.ts';
import { fakeIngest } from '../support/ingest-harness.ts';
import { standardSecret, standardSource } from '../support/world.ts';

const secret = 'whsec_ingest_unit_secret_000001';
const otherSecret = 'whsec_ingest_unit_other_secret_02';
const token = 'zbk_ingest_unit_token_0123456789abcdef';
const now = new Date('2026-06-20T00:00:00.000Z');
const json = { 'content-type': 'application/json' };

type Response = APIGatewayProxyStructuredResultV2 & { headers: Record<string, string>; body: string };

/**
 * The ingest handler over fakes, and ways to post to it as each provider would. Its clock reads
 * `at` (default `now`), and Cooledge deliveries are signed at that instant.
 */
function setup(overrides: Partial<IngestDeps> = {}, at: Date = now) {
  const { queue, logger, metrics, handler } = fakeIngest({ secret, token, now: at }, overrides);

  async function post(
    path: string,
    body: string | undefined,
    headers: Record<string, string>,
    options: { method?: string; base64?: boolean } = {},
  ): Promise<Response> {
    const response = await handler(apiEvent(options.method ?? 'POST', path, body, headers, options.base64));
    return response as Response;
  }

  return {
    queue,
    logger,
    metrics,
    post,
    /** Signs the raw text (with `secret` at `now` unless told otherwise) and posts it. */
    cooledge(
      raw: string | JsonObject,
      opts: { signature?: string | null; headers?: Record<string, string>; path?: string } = {},
    ) {
      const text = typeof raw === 'string' ? raw : JSON.stringify(raw);
      const signature = opts.signature === undefined ? sign(text, secret, 'timestamped', at) : opts.signature;
      return post(opts.path ?? '/webhooks/cooledge', text, {
        ...json,
        ...(signature === null ? {} : { 'x-cooledge-signature': signature }),
        ...opts.headers,
      });
    },
    zenbooker(raw: string | JsonObject, opts: { token?: string; headers?: Record<string, string> } = {}) {
      const text = typeof raw === 'string' ? raw : JSON.stringify(raw);
      return post(`/webhooks/zenbooker/${opts.token ?? token}`, text, { ...json, ...opts.headers });
    },
  };
}

const bodyOf = (response: Response) => JSON.parse(response.body) as JsonObject;

/** An RFC 7807 problem with the given status, and nothing else. */
function expectProblem(response: Response, status: number) {
  expect(response.statusCode).toBe(status);
  expect(response.headers['content-type']).toBe('application/problem+json');
  const problem = bodyOf(response);
  expect(Object.keys(problem).sort()).toEqual(['detail', 'status', 'title', 'type']);
  expect(problem).toMatchObject({
    type: expect.stringMatching(/^urn:field-webhooks:problem:[a-z-]+$/),
    title: expect.any(String),
    status,
    detail: expect.any(String),
  });
  return problem;
}

/** `levels` objects nested inside one another, the outermost being the body itself. */
function nested(levels: number): JsonObject {
  let value: JsonObject = { leaf: true };
  for (let i = 1; i < levels; i++) value = { inner: value };
  return value;
}

describe('ingest: 202 accepted', () => {
  it('enqueues an authentic Cooledge event once, with what the consumer needs', async () => {
    const world = setup();
    const body = cooledgeEvent('job.completed');
    const raw = JSON.stringify(body);
    const signature = sign(raw, secret, 'timestamped', now);
    const response = await world.post('/webhooks/cooledge', raw, {
      'content-type': 'application/json',
      'x-cooledge-signature': signature,
      'x-cooledge-event-id': String(body.event_id),
      'user-agent': 'Cooledge-Webhooks/1.0',
    });

    expect(response.statusCode).toBe(202);
    expect(response.headers['content-type']).toBe('application/json');
    expect(bodyOf(response)).toEqual({ status: 'accepted', provider: 'cooledge', event_key: body.event_id });
    expect(world.queue.messages).toHaveLength(1);
    const [message] = world.queue.messages;
    expect(message).toEqual({
      v: 1,
      provider: 'cooledge',
      eventKey: body.event_id,
      eventType: 'job.completed',
      receivedAt: '2026-06-20T00:00:00.000Z',
      bodyBase64: Buffer.from(raw).toString('base64'),
      headers: {
        'content-type': 'application/json',
        'x-cooledge-event-id': String(body.event_id),
        'user-agent': 'Cooledge-Webhooks/1.0',
      },
    });
    expect(JSON.stringify(message)).not.toContain(signature);
    // Counted by its log line, as the dashboard counts it: every metric counts a failure.
    expect(world.logger.entries.filter((e) => e.message === 'event accepted')).toHaveLength(1);
    expect([...world.metrics.counts]).toEqual([]);
  });

  it('keeps a long header well-formed where it is cut at 512 characters', async () => {
    const world = setup();
    const raw = JSON.stringify(cooledgeEvent('job.completed'));
    const response = await world.post('/webhooks/cooledge', raw, {
      'content-type': 'application/json',
      'x-cooledge-signature': sign(raw, secret, 'timestamped', now),
      // 511 characters, then a pair the cut would split.
      'user-agent': `${'a'.repeat(511)}😀😀`,
    });
    expect(response.statusCode).toBe(202);
    const kept = world.queue.messages[0]?.headers['user-agent'];
    expect(kept).toHaveLength(512);
    expect(kept?.isWellFormed()).toBe(true);
  });

  it('enqueues an authentic Zenbooker event keyed by its payload hash, without the token', async () => {
    const world = setup();
    const body = fixture('zenbooker', 'job.completed');
    const raw = JSON.stringify(body);
    const response = await world.zenbooker(raw);

    expect(response.statusCode).toBe(202);
    expect(bodyOf(response)).toEqual({
      status: 'accepted',
      provider: 'zenbooker',
      event_key: eventKey(body),
    });
    expect(world.queue.messages).toEqual([
      {
        v: 1,
        provider: 'zenbooker',
        eventKey: eventKey(body),
        eventType: 'job.completed',
        receivedAt: '2026-06-20T00:00:00.000Z',
        bodyBase64: Buffer.from(raw).toString('base64'),
        headers: { 'content-type': 'application/json' },
      },
    ]);
    expect(JSON.stringify(world.queue.messages)).not.toContain(token);
  });

  it.each(fixtureNames('cooledge'))(
    'accepts the Cooledge %s fixture a minute after it occurred',
    async (name) => {
      const body = fixture('cooledge', name);
      const world = setup({}, new Date(Date.parse(String(body.occurred_at)) + 60_000));
      const response = await world.cooledge(body);
      expect(bodyOf(response).status).toBe('accepted');
      expect(world.queue.messages).toHaveLength(1);
    },
  );

  it.each(fixtureNames('zenbooker'))('accepts the Zenbooker %s fixture', async (name) => {
    const world = setup();
    const response = await world.zenbooker(fixture('zenbooker', name));
    expect(bodyOf(response).status).toBe('accepted');
    expect(world.queue.messages).toHaveLength(1);
  });

  it('accepts the plain signature form when it is configured', async () => {
    const world = setup({
      providerSettings: readAllSettings(providers, { COOLEDGE_SIGNATURE_SCHEME: 'plain' }),
    });
    const raw = JSON.stringify(cooledgeEvent());
    const response = await world.cooledge(raw, { signature: sign(raw, secret, 'plain') });
    expect(response.statusCode).toBe(202);
  });

  it('accepts a signature made with the second active secret (rotation)', async () => {
    const world = setup({
      credentials: new FixedCredentials({
        cooledge: { secrets: [otherSecret, secret] },
        zenbooker: { tokens: [token] },
      }),
    });
    expect((await world.cooledge(cooledgeEvent())).statusCode).toBe(202);
  });

  it('reads the header names in any case', async () => {
    const world = setup();
    const raw = JSON.stringify(cooledgeEvent());
    const response = await world.post('/webhooks/cooledge', raw, {
      'Content-Type': 'application/json',
      'X-Cooledge-Signature': sign(raw, secret, 'timestamped', now),
    });
    expect(response.statusCode).toBe(202);
  });

  it('authenticates a base64-encoded body on its decoded bytes and enqueues those bytes', async () => {
    const world = setup();
    const raw = JSON.stringify(cooledgeEvent('job.completed', { description: 'Réparé — ✓' }));
    const encoded = Buffer.from(raw).toString('base64');
    const response = await world.post(
      '/webhooks/cooledge',
      encoded,
      { ...json, 'x-cooledge-signature': sign(raw, secret, 'timestamped', now) },
      { base64: true },
    );
    expect(response.statusCode).toBe(202);
    expect(world.queue.messages[0]?.bodyBase64).toBe(encoded);
  });

  it('rejects a base64-encoded body signed over its encoded text', async () => {
    const world = setup();
    const encoded = Buffer.from(JSON.stringify(cooledgeEvent())).toString('base64');
    const response = await world.post(
      '/webhooks/cooledge',
      encoded,
      { ...json, 'x-cooledge-signature': sign(encoded, secret, 'timestamped', now) },
      { base64: true },
    );
    expectProblem(response, 401);
  });

  it.each([
    '/prod/webhooks/cooledge',
    '/anything/at/all/webhooks/cooledge',
    '/webhooks/cooledge/',
    '//webhooks/cooledge',
  ])('answers 404 for %s: only the exact route is one, as API Gateway routes it', async (path) => {
    const world = setup();
    expectProblem(await world.cooledge(cooledgeEvent(), { path }), 404);
    expect(world.queue.messages).toEqual([]);
  });

  it('reads the credentials on every request, so a rotation applies without a restart', async () => {
    const credentials = new FixedCredentials({
      cooledge: { secrets: [secret] },
      zenbooker: { tokens: [token] },
    });
    const world = setup({ credentials });
    await world.cooledge(cooledgeEvent());
    await world.zenbooker(zenbookerEvent());
    expect(credentials.reads).toBe(2);
  });
});

describe('ingest: 202 quarantined', () => {
  it('enqueues an authentic Cooledge event that fails the schema, with its issues', async () => {
    const world = setup();
    const body = cooledgeEvent('job.completed', { job_id: 5_123_456_789 });
    const response = await world.cooledge(body);

    expect(response.statusCode).toBe(202);
    const issues = [{ path: 'job_id', message: expect.any(String) }];
    expect(bodyOf(response)).toEqual({
      status: 'quarantined',
      provider: 'cooledge',
      event_key: body.event_id,
      issues,
    });
    expect(world.queue.messages).toHaveLength(1);
    expect(world.queue.messages[0]).toMatchObject({ eventKey: body.event_id, issues });
    expect(world.queue.messages[0]?.issues).toEqual(bodyOf(response).issues);
    expect(world.metrics.get('Quarantined')).toBe(1);
    expect(world.logger.entries.map((e) => e.message)).not.toContain('event accepted');
  });

  it('enqueues an authentic Zenbooker event that fails the schema, with its issues', async () => {
    const world = setup();
    const response = await world.zenbooker(zenbookerEvent('job.completed', { data: { id: 1571382643450 } }));
    expect(bodyOf(response)).toMatchObject({ status: 'quarantined', issues: [{ path: 'data.id' }] });
    expect(world.queue.messages[0]?.issues).toEqual([{ path: 'data.id', message: expect.any(String) }]);
  });

  it('does not echo the offending value in the issues it returns', async () => {
    const world = setup();
    const response = await world.cooledge(cooledgeEvent('job.completed', { customer_email: 8_675_309_123 }));
    expect(bodyOf(response).status).toBe('quarantined');
    expect(response.body).not.toContain('8675309123');
  });
});

describe('ingest: an event it accepts can be stored', () => {
  const lone = 'must be well-formed Unicode (it holds a lone surrogate)';

  it.each<[string, string, JsonObject, string]>([
    ['job_id', 'job.completed', { job_id: 'job-1\ud800' }, `job_id ${lone}`],
    ['customer_id', 'job.completed', { customer_id: 'cust-\udc00' }, `customer_id ${lone}`],
    ['business_id', 'job.completed', { business_id: '\ud83dbiz' }, `business_id ${lone}`],
    ['invoice_id', 'invoice.paid', { invoice_id: 'inv-\ud800' }, `invoice_id ${lone}`],
    ['booking job_id', 'booking.created', { job_id: 'job-\udfff' }, `job_id ${lone}`],
    // The schema would quarantine this one (no status): the id is still a 400.
    [
      'customer_id, status missing',
      'job.completed',
      { customer_id: 'c\ud800', status: undefined },
      `customer_id ${lone}`,
    ],
    [
      'a nested id',
      'job.completed',
      { extra: { items: [{ line_id: 'l\udc00' }] } },
      `extra.items.0.line_id ${lone}`,
    ],
  ])(
    'answers 400 for a Cooledge %s holding a lone surrogate, naming the field',
    async (_, name, overrides, detail) => {
      const world = setup();
      const response = await world.cooledge(cooledgeEvent(name, overrides));
      expect(expectProblem(response, 400).detail).toBe(detail);
      expect(world.queue.messages).toEqual([]);
      expect(world.metrics.get('RejectedBadRequest')).toBe(1);
    },
  );

  it.each<[string, { envelope?: JsonObject; data?: JsonObject }, string]>([
    ['job id', { data: { id: '1781604223917x\ud800' } }, `data.id ${lone}`],
    ['job id, status not a string', { data: { id: 'j\ud800', status: 5 } }, `data.id ${lone}`],
    ['account', { envelope: { account: '1571029418512x\udc00' } }, `account ${lone}`],
    // The schema would quarantine this one (start_date): the account is still a 400.
    [
      'account, bad start_date',
      { envelope: { account: 'a\ud800' }, data: { start_date: 'soon' } },
      `account ${lone}`,
    ],
    ['customer id', { data: { customer: { id: 'c-\ud800' } } }, `data.customer.id ${lone}`],
  ])(
    'answers 400 for a Zenbooker %s holding a lone surrogate, naming the field',
    async (_, overrides, detail) => {
      const world = setup();
      const response = await world.zenbooker(zenbookerEvent('job.started.v2025', overrides));
      expect(expectProblem(response, 400).detail).toBe(detail);
      expect(world.queue.messages).toEqual([]);
    },
  );

  it('quarantines a booking.created whose job_id is 700 × 工 (2100 UTF-8 bytes) at "job id"', async () => {
    const world = setup();
    const body = cooledgeEvent('booking.created', { job_id: '工'.repeat(700) });
    const response = await world.cooledge(body);
    expect(response.statusCode).toBe(202);
    const answer = bodyOf(response);
    expect(answer).toMatchObject({ status: 'quarantined', provider: 'cooledge', event_key: body.event_id });
    expect(answer.issues).toContainEqual({
      path: 'job id',
      message: 'expected an id that is non-empty, well-formed Unicode and at most 1024 UTF-8 bytes',
    });
    expect(world.queue.messages).toHaveLength(1);
    expect(world.queue.messages[0]?.issues).toEqual(answer.issues);
    expect(world.metrics.get('Quarantined')).toBe(1);
    expect(world.logger.entries.map((e) => e.message)).not.toContain('event accepted');
  });

  it('accepts a booking.created whose job_id is 341 × 工 (1023 UTF-8 bytes)', async () => {
    const world = setup();
    const response = await world.cooledge(cooledgeEvent('booking.created', { job_id: '工'.repeat(341) }));
    expect(bodyOf(response).status).toBe('accepted');
  });

  const ahead = (seconds: number) => new Date(now.getTime() + seconds * 1000).toISOString();
  const eventTimeIssue = {
    path: 'event time',
    message: 'expected an event time at most 300 s after the event was received',
  };

  it('quarantines an event whose occurred_at is 10 minutes ahead of its receipt', async () => {
    const world = setup();
    const response = await world.cooledge(cooledgeEvent('job.completed', { occurred_at: ahead(600) }));
    expect(response.statusCode).toBe(202);
    expect(bodyOf(response)).toMatchObject({ status: 'quarantined', issues: [eventTimeIssue] });
    expect(world.queue.messages[0]?.issues).toEqual([eventTimeIssue]);
  });

  it('accepts an event whose occurred_at is 4 minutes ahead of its receipt', async () => {
    const world = setup();
    const response = await world.cooledge(cooledgeEvent('job.completed', { occurred_at: ahead(240) }));
    expect(bodyOf(response).status).toBe('accepted');
    expect(world.queue.messages[0]?.issues).toBeUndefined();
  });

  it.each([
    [300, 'accepted'],
    [301, 'quarantined'],
    [-86_400 * 365, 'accepted'],
  ])('judges an occurred_at %i s after receipt %s (skew 300 s)', async (seconds, status) => {
    const world = setup();
    const response = await world.cooledge(cooledgeEvent('job.completed', { occurred_at: ahead(seconds) }));
    expect(bodyOf(response).status).toBe(status);
  });

  it('uses the configured skew', async () => {
    const world = setup({ eventTimeSkewSeconds: 0 });
    const response = await world.cooledge(cooledgeEvent('job.completed', { occurred_at: ahead(1) }));
    expect(bodyOf(response)).toMatchObject({
      status: 'quarantined',
      issues: [
        { path: 'event time', message: 'expected an event time at most 0 s after the event was received' },
      ],
    });
  });

  it('quarantines an occurred_at of 9999-12-31T23:59:59Z, which the schema accepts', async () => {
    const world = setup();
    const response = await world.cooledge(
      cooledgeEvent('job.completed', { occurred_at: '9999-12-31T23:59:59Z' }),
    );
    expect(bodyOf(response)).toMatchObject({ status: 'quarantined', issues: [eventTimeIssue] });
  });

  it('quarantines a Zenbooker completed job whose completed_at is an hour ahead of its receipt', async () => {
    const world = setup();
    const response = await world.zenbooker(
      zenbookerEvent('job.started.v2025', { data: { status: 'completed', completed_at: ahead(3600) } }),
    );
    expect(bodyOf(response)).toMatchObject({ status: 'quarantined', issues: [eventTimeIssue] });
  });

  it('quarantines an invoice.paid whose total is 1e16 at "total", keeping the bytes it was sent as', async () => {
    const world = setup();
    const raw = jsonWithNumbers(
      cooledgeEvent('invoice.paid', { total: numberToken('1e16'), occurred_at: ahead(0) }),
    );
    const response = await world.cooledge(raw);
    expect(bodyOf(response)).toMatchObject({
      status: 'quarantined',
      issues: [{ path: 'total', message: `expected ${storableNumberExpectation}` }],
    });
    expect(Buffer.from(world.queue.messages[0]?.bodyBase64 ?? '', 'base64').toString()).toBe(raw);
  });

  it('accepts an event whose provider mapping throws, logging why: the consumer keeps it as unprocessable', async () => {
    const failing: Provider = {
      ...(cooledge as Provider),
      describe() {
        throw new TypeError("Cannot read properties of undefined (reading 'job_id')");
      },
    };
    const world = setup({ providers: new Map([['cooledge', failing]]) });
    const response = await world.cooledge(cooledgeEvent());
    expect(bodyOf(response).status).toBe('accepted');
    expect(world.queue.messages).toHaveLength(1);
    expect(world.logger.entries).toContainEqual({
      level: 'error',
      message: 'describe failed',
      data: {
        provider: 'cooledge',
        error: "TypeError: Cannot read properties of undefined (reading 'job_id')",
      },
    });
  });
});

describe('ingest: 401 for every authentication failure, all alike', () => {
  const raw = JSON.stringify(cooledgeEvent('job.completed', { event_id: 'evt-401' }));
  const good = sign(raw, secret, 'timestamped', now);
  const hex = good.split('v1=')[1] ?? '';
  const t = Math.floor(now.getTime() / 1000);
  /** Signed with the right secret, `seconds` away from the handler's clock. */
  const signedAt = (seconds: number) =>
    sign(raw, secret, 'timestamped', new Date(now.getTime() + seconds * 1000));

  const failures: Array<[string, (world: ReturnType<typeof setup>) => Promise<Response>]> = [
    ['no signature header', (w) => w.cooledge(raw, { signature: null })],
    ['an empty signature', (w) => w.cooledge(raw, { signature: '' })],
    [
      'a signature made with another secret',
      (w) => w.cooledge(raw, { signature: sign(raw, otherSecret, 'timestamped', now) }),
    ],
    ['a truncated signature', (w) => w.cooledge(raw, { signature: good.slice(0, -2) })],
    ['an upper-case signature', (w) => w.cooledge(raw, { signature: `t=${t},v1=${hex.toUpperCase()}` })],
    ['a stale timestamp', (w) => w.cooledge(raw, { signature: signedAt(-301) })],
    ['a future timestamp', (w) => w.cooledge(raw, { signature: signedAt(301) })],
    ['a malformed timestamp', (w) => w.cooledge(raw, { signature: `t=soon,v1=${hex}` })],
    ['a header sent twice', (w) => w.cooledge(raw, { signature: `${good},${signedAt(1)}` })],
    [
      'the plain form when timestamped is configured',
      (w) => w.cooledge(raw, { signature: sign(raw, secret, 'plain') }),
    ],
    ['a signature over a different body', (w) => w.cooledge(`${raw} `, { signature: good })],
    [
      'a wrong Zenbooker token',
      (w) => w.zenbooker(zenbookerEvent(), { token: 'zbk_wrong_token_0000000000000000' }),
    ],
    [
      'a Zenbooker token one character short',
      (w) => w.zenbooker(zenbookerEvent(), { token: token.slice(0, -1) }),
    ],
    [
      'a Zenbooker token with one character extra',
      (w) => w.zenbooker(zenbookerEvent(), { token: `${token}0` }),
    ],
  ];

  it.each(failures)('rejects %s with 401, enqueuing nothing', async (_, send) => {
    const world = setup();
    const response = await send(world);
    expectProblem(response, 401);
    expect(world.queue.messages).toEqual([]);
    expect(world.metrics.get('RejectedUnauthorized')).toBe(1);
  });

  it('answers every failure with the same headers and body (no oracle)', async () => {
    const responses = await Promise.all(failures.map(([, send]) => send(setup())));
    const distinct = new Set(responses.map((r) => JSON.stringify([r.statusCode, r.headers, r.body])));
    expect(distinct.size).toBe(1);
  });

  it('checks the signature before parsing: a bad signature on a body that is not JSON is 401', async () => {
    const world = setup();
    expectProblem(
      await world.cooledge('this is not json', { signature: sign('other', secret, 'timestamped', now) }),
      401,
    );
  });

  it('checks the token before parsing: a wrong token on a body that is not JSON is 401', async () => {
    const world = setup();
    expectProblem(await world.zenbooker('{{{', { token: `${token}0` }), 401);
  });
});

describe('ingest: 400 for a body that cannot be routed or deduplicated', () => {
  it.each<[string, string | Buffer, RegExp]>([
    ['is not JSON', 'this is not json', /^body is not valid JSON/],
    ['is truncated JSON', '{"event_id": "e1", ', /^body is not valid JSON/],
    ['is empty', '', /^body is empty$/],
    ['is not valid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), /^body is not valid UTF-8$/],
    ['is a JSON array', '[{"event_id":"e1"}]', /^body must be a JSON object$/],
    ['is a JSON string', '"event"', /^body must be a JSON object$/],
    ['is JSON null', 'null', /^body must be a JSON object$/],
    ['is nested deeper than 64 levels', JSON.stringify(nested(65)), /^body is nested deeper than 64 levels$/],
    [
      'has no event_id',
      JSON.stringify({ ...cooledgeEvent(), event_id: undefined }),
      /^event_id must be a non-empty string$/,
    ],
    [
      'has a numeric event_id',
      JSON.stringify(cooledgeEvent('job.completed', { event_id: 42 })),
      /^event_id must be a non-empty string$/,
    ],
    [
      'has no event_type',
      JSON.stringify({ ...cooledgeEvent(), event_type: undefined }),
      /^event_type must be a non-empty string$/,
    ],
  ])('rejects a signed Cooledge body that %s', async (_, raw, detail) => {
    const world = setup();
    const bytes = typeof raw === 'string' ? Buffer.from(raw) : raw;
    const response = await world.post(
      '/webhooks/cooledge',
      bytes.toString('base64'),
      { ...json, 'x-cooledge-signature': sign(bytes, secret, 'timestamped', now) },
      { base64: true },
    );
    expect(expectProblem(response, 400).detail).toMatch(detail);
    expect(world.queue.messages).toEqual([]);
    expect(world.metrics.get('RejectedBadRequest')).toBe(1);
  });

  it('accepts a body nested exactly 64 levels deep', async () => {
    const world = setup();
    const response = await world.cooledge(cooledgeEvent('lead.created', { deep: nested(63) }));
    expect(response.statusCode).toBe(202);
  });

  it('rejects an X-Cooledge-Event-Id that differs from the body event_id', async () => {
    const world = setup();
    const response = await world.cooledge(cooledgeEvent(), {
      headers: { 'x-cooledge-event-id': 'evt-other' },
    });
    expect(expectProblem(response, 400).detail).toBe('X-Cooledge-Event-Id does not match the body event_id');
    expect(world.queue.messages).toEqual([]);
  });

  it.each<[string, JsonObject, string]>([
    ['no event', { event: undefined }, 'event must be a non-empty string'],
    ['no data', { data: undefined }, 'data must be a JSON object'],
    ['data that is a list', { data: [] }, 'data must be a JSON object'],
  ])('rejects a Zenbooker body with %s', async (_, overrides, detail) => {
    const world = setup();
    const response = await world.zenbooker({ ...fixture('zenbooker', 'job.completed'), ...overrides });
    expect(expectProblem(response, 400).detail).toBe(detail);
    expect(world.queue.messages).toEqual([]);
  });

  it('does not quote the body in the detail', async () => {
    const world = setup();
    const raw = '{"event_id": "UNIQUE-MARKER-31337", oops}';
    const response = await world.cooledge(raw);
    expectProblem(response, 400);
    expect(response.body).not.toContain('UNIQUE-MARKER-31337');
    expect(response.body).not.toContain('oops');
  });
});

describe('ingest: 415 for anything but JSON', () => {
  it.each<[string, Record<string, string>]>([
    ['no content type', {}],
    ['text/plain', { 'content-type': 'text/plain' }],
    ['application/x-www-form-urlencoded', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['application/json-patch+json', { 'content-type': 'application/json-patch+json' }],
    ['application/jsonx', { 'content-type': 'application/jsonx' }],
    ['an empty content type', { 'content-type': '' }],
  ])('rejects %s', async (_, headers) => {
    const world = setup();
    const raw = JSON.stringify(cooledgeEvent());
    const response = await world.post('/webhooks/cooledge', raw, {
      ...headers,
      'x-cooledge-signature': sign(raw, secret, 'timestamped', now),
    });
    expectProblem(response, 415);
    expect(world.queue.messages).toEqual([]);
    expect(world.metrics.get('RejectedUnsupportedMediaType')).toBe(1);
  });

  it.each([
    'application/json; charset=utf-8',
    'application/json;charset=UTF-8',
    'Application/JSON',
    'APPLICATION/JSON; CHARSET=utf-8',
    'application/json; charset="utf-8"',
    'application/json; charset=utf8',
  ])('accepts %s', async (contentType) => {
    const world = setup();
    const response = await world.cooledge(cooledgeEvent(), { headers: { 'content-type': contentType } });
    expect(response.statusCode).toBe(202);
  });

  it('checks the content type before the signature', async () => {
    const world = setup();
    const response = await world.cooledge(cooledgeEvent(), {
      signature: null,
      headers: { 'content-type': 'text/plain' },
    });
    expectProblem(response, 415);
  });

  const notUtf8 = 'The body must be UTF-8: send charset=utf-8 or no charset.';

  it.each([
    'application/json; charset=latin1',
    'application/json; charset=ISO-8859-1',
    'application/json; charset=utf-16',
    'application/json; charset="windows-1252"',
  ])('rejects %s: the body must be UTF-8', async (contentType) => {
    const world = setup();
    const response = await world.cooledge(cooledgeEvent(), { headers: { 'content-type': contentType } });
    expect(expectProblem(response, 415).detail).toBe(notUtf8);
    expect(world.queue.messages).toEqual([]);
    expect(world.metrics.get('RejectedUnsupportedMediaType')).toBe(1);
  });

  it('rejects every charset but UTF-8, quoted or not, in any case (property)', async () => {
    /** RFC 9110 §5.6.2 `tchar`: what an unquoted parameter value may hold. */
    const tchar = fc.constantFrom(
      ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
      ..."!#$%&'*+-.^_`|~",
    );
    const charset = fc
      .mixedCase(
        fc.oneof(
          fc.constantFrom(
            'utf-16',
            'utf-16le',
            'utf-32',
            'utf-7',
            'utf_8',
            'utf-8x',
            'xutf-8',
            'utf',
            'utf-',
          ),
          fc.constantFrom('latin1', 'iso-8859-1', 'windows-1252', 'us-ascii', 'shift_jis', 'gb18030'),
          fc.string({ unit: tchar, minLength: 1, maxLength: 20 }),
        ),
      )
      .filter((value) => !['utf-8', 'utf8'].includes(value.toLowerCase()));
    await fc.assert(
      fc.asyncProperty(
        charset,
        fc.boolean(),
        fc.mixedCase(fc.constant('charset')),
        async (value, quoted, name) => {
          const world = setup();
          const contentType = `application/json; ${name}=${quoted ? `"${value}"` : value}`;
          const response = await world.cooledge(cooledgeEvent(), {
            headers: { 'content-type': contentType },
          });
          expect(expectProblem(response, 415).detail).toBe(notUtf8);
          expect(world.queue.messages).toEqual([]);
          expect(world.metrics.get('RejectedUnsupportedMediaType')).toBe(1);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('ingest: 413 for bodies over the limit', () => {
  const limit = 1024;
  /** A signed Cooledge body of exactly `bytes` bytes. */
  const bodyOfSize = (bytes: number) => {
    const base = JSON.stringify(cooledgeEvent('lead.created', { padding: '' }));
    return base.replace('"padding":""', `"padding":"${'x'.repeat(bytes - Buffer.byteLength(base))}"`);
  };

  it('rejects a body one byte over the limit', async () => {
    const world = setup({ maxBodyBytes: limit });
    const raw = bodyOfSize(limit + 1);
    expect(Buffer.byteLength(raw)).toBe(limit + 1);
    const response = await world.cooledge(raw);
    expect(expectProblem(response, 413).detail).toBe('The body is larger than 1024 bytes.');
    expect(world.queue.messages).toEqual([]);
    expect(world.metrics.get('RejectedTooLarge')).toBe(1);
  });

  it('accepts a body exactly at the limit', async () => {
    const world = setup({ maxBodyBytes: limit });
    const raw = bodyOfSize(limit);
    expect(Buffer.byteLength(raw)).toBe(limit);
    expect((await world.cooledge(raw)).statusCode).toBe(202);
  });

  it('counts bytes, not characters', async () => {
    const world = setup({ maxBodyBytes: limit });
    const raw = JSON.stringify(cooledgeEvent('lead.created', { note: 'é'.repeat(400) }));
    expect(raw.length).toBeLessThan(limit);
    expectProblem(await world.cooledge(raw), 413);
  });

  it.each([
    [limit + 1, 413],
    [limit + 2, 413],
    [limit + 3, 413],
    [limit, 202],
    [limit - 1, 202],
    [limit - 2, 202],
  ])('measures a base64-encoded body of %i decoded bytes by its decoded size', async (size, status) => {
    const world = setup({ maxBodyBytes: limit });
    const raw = bodyOfSize(size);
    const response = await world.post(
      '/webhooks/cooledge',
      Buffer.from(raw).toString('base64'),
      { ...json, 'x-cooledge-signature': sign(raw, secret, 'timestamped', now) },
      { base64: true },
    );
    expect(response.statusCode).toBe(status);
  });

  it('rejects an oversized body before authenticating it', async () => {
    const world = setup({ maxBodyBytes: limit });
    const response = await world.cooledge('x'.repeat(limit + 1), {
      signature: null,
      headers: { 'content-type': 'text/plain' },
    });
    expectProblem(response, 413);
  });

  it('defaults to a 256 KiB limit in the handler it is given', async () => {
    const world = setup();
    expectProblem(await world.cooledge(bodyOfSize(256 * 1024 + 1)), 413);
  });
});

describe('ingest: 404 and 405', () => {
  it.each([
    '/',
    '/webhooks',
    '/webhooks/unknown',
    '/webhooks/unknown/token',
    '/webhooks/zenbooker',
    '/webhooks/zenbooker/',
    '/webhooks/zenbooker/a/b',
    '/webhooks/cooledge/extra',
    '/webhooks/Cooledge',
    '/hooks/cooledge',
  ])('answers 404 at %s', async (path) => {
    const world = setup();
    const response = await world.post(path, JSON.stringify(cooledgeEvent()), json);
    expectProblem(response, 404);
    expect(world.queue.messages).toEqual([]);
  });

  it.each(['GET', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'])(
    'answers 405 with Allow: POST to %s on a webhook route',
    async (method) => {
      const world = setup();
      for (const path of ['/webhooks/cooledge', `/webhooks/zenbooker/${token}`]) {
        const response = await world.post(path, undefined, json, { method });
        expectProblem(response, 405);
        expect(response.headers.allow).toBe('POST');
      }
      expect(world.queue.messages).toEqual([]);
    },
  );

  it('answers 404, not 405, for a wrong method on an unknown path', async () => {
    const world = setup();
    expectProblem(await world.post('/nowhere', undefined, {}, { method: 'GET' }), 404);
  });
});

describe('ingest: 503 when the event cannot be made durable', () => {
  it('answers 503 with Retry-After when the queue rejects, logging the error but never returning it', async () => {
    const queue = new RecordingQueue();
    queue.failure = awsError(
      'AccessDeniedException',
      'User: arn:aws:sts::123456789012:assumed-role/ingest/fn is not authorized to perform: sqs:sendmessage on resource: arn:aws:sqs:ap-southeast-2:123456789012:events-queue',
      { Code: 'AccessDenied' },
    );
    const world = setup({ queue });
    const response = await world.cooledge(cooledgeEvent('job.completed', { event_id: 'evt-enqueue-503' }));

    expectProblem(response, 503);
    expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
    expect(response.body).not.toContain('arn:aws');
    expect(response.body).not.toContain('AccessDenied');
    // Name, code, HTTP status and message: a permission to fix, not an outage to wait out.
    expect(world.logger.entries).toEqual([
      {
        level: 'error',
        message: 'enqueue failed',
        data: {
          provider: 'cooledge',
          eventKey: 'evt-enqueue-503',
          eventType: 'job.completed',
          error:
            'AccessDeniedException (AccessDenied, HTTP 400): User: arn:aws:sts::123456789012:assumed-role/ingest/fn is not authorized to perform: sqs:sendmessage on resource: arn:aws:sqs:ap-southeast-2:123456789012:events-queue',
        },
      },
    ]);
    expect(world.metrics.get('EnqueueFailed')).toBe(1);
    expect(world.logger.entries.map((e) => e.message)).not.toContain('event accepted');
  });

  it('logs an SQS outage with its HTTP status, and never the body, the signature or the secret', async () => {
    const marker = 'PRIVATE-BODY-MARKER-77a2';
    const queue = new RecordingQueue();
    queue.failure = awsError('ServiceUnavailable', 'Service is unavailable. Try again later.', {
      $fault: 'server',
      $metadata: { httpStatusCode: 503, attempts: 2 },
    });
    const world = setup({ queue });
    const raw = JSON.stringify(cooledgeEvent('job.completed', { description: marker }));
    const signature = sign(raw, secret, 'timestamped', now);
    expectProblem(await world.cooledge(raw, { signature }), 503);

    const [entry] = world.logger.entries;
    expect(entry?.data?.error).toBe(
      'ServiceUnavailable (HTTP 503): Service is unavailable. Try again later.',
    );
    const logged = world.logger.text();
    for (const value of [marker, secret, signature, signature.split('v1=')[1] ?? signature]) {
      expect(logged).not.toContain(value);
    }
  });

  it('answers 503, not 202 quarantined, when a quarantined event cannot be queued', async () => {
    const queue = new RecordingQueue();
    queue.failure = new Error('down');
    const world = setup({ queue });
    const response = await world.cooledge(cooledgeEvent('job.completed', { job_id: 1 }));
    expectProblem(response, 503);
  });

  it('answers 503 with Retry-After when the credentials cannot be read, logging Secrets Manager’s error', async () => {
    const failure = awsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    const world = setup({ credentials: new FailingCredentials(failure) });
    const response = await world.cooledge(cooledgeEvent());

    expectProblem(response, 503);
    expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
    expect(response.body).not.toContain('ResourceNotFound');
    expect(world.logger.entries).toEqual([
      {
        level: 'error',
        message: 'ingest failed',
        data: {
          error: "ResourceNotFoundException (HTTP 400): Secrets Manager can't find the specified secret.",
        },
      },
    ]);
    expect(world.queue.messages).toEqual([]);
  });

  it('logs why the credentials could not be read when the reason was written to be logged', async () => {
    const failure = new LoggableError('webhook secret is invalid at zenbookerTokens: expected Array');
    const world = setup({ credentials: new FailingCredentials(failure) });
    expectProblem(await world.cooledge(cooledgeEvent()), 503);
    expect(world.logger.entries).toEqual([
      {
        level: 'error',
        message: 'ingest failed',
        data: { error: 'LoggableError: webhook secret is invalid at zenbookerTokens: expected Array' },
      },
    ]);
  });

  it('never logs a value of a secret it cannot use, nor the body', async () => {
    const marker = 'PRIVATE-BODY-MARKER-3c9d';
    const values = ['whsec_short', 'zbk_value_with/a/slash_0123456789'];
    const client = {
      send: async () => ({
        SecretString: JSON.stringify({ cooledgeSecrets: [values[0]], zenbookerTokens: [values[1]] }),
      }),
    } as unknown as SecretsManagerClient;
    const world = setup({
      credentials: new SecretsManagerCredentials('field-webhooks/test/credentials', 300, providers, client),
    });
    expectProblem(await world.cooledge(cooledgeEvent('job.completed', { description: marker })), 503);
    expectProblem(await world.post('/webhooks/zenbooker/zbk_value_with', `{"note":"${marker}"}`, json), 503);

    expect(world.logger.entries).toHaveLength(2);
    for (const entry of world.logger.entries) {
      expect(entry).toEqual({
        level: 'error',
        message: 'ingest failed',
        data: {
          error: expect.stringMatching(/^LoggableError: webhook secret is invalid at cooledgeSecrets\.0: /),
        },
      });
    }
    const logged = world.logger.text();
    for (const value of [marker, ...values]) expect(logged).not.toContain(value);
  });

  it('flushes metrics once per request, even when it fails', async () => {
    const world = setup({ credentials: new FailingCredentials(new Error('down')) });
    await world.cooledge(cooledgeEvent());
    await world.zenbooker(zenbookerEvent(), { token: 'zbk_wrong_token_0000000000000000' });
    expect(world.metrics.flushes).toBe(2);
  });
});

describe('ingest: nothing leaks', () => {
  const marker = 'PRIVATE-MARKER-4f1c';

  /**
   * Every kind of response through one handler, each request carrying the marker in its body.
   * Returns the responses and every signature that was sent.
   */
  async function everyOutcome(world: ReturnType<typeof setup>) {
    const signatures: string[] = [];
    const signed = (
      body: JsonObject | string,
      options: { secret?: string; headers?: Record<string, string> } = {},
    ) => {
      const raw = typeof body === 'string' ? body : JSON.stringify(body);
      const signature = sign(raw, options.secret ?? secret, 'timestamped', now);
      signatures.push(signature);
      return world.cooledge(raw, { signature, headers: options.headers });
    };
    const body = (extra: JsonObject = {}) =>
      cooledgeEvent('job.completed', { description: marker, ...extra });
    const responses = [
      await signed(body()),
      await signed(body({ job_id: 123 })),
      await signed(body(), { secret: otherSecret }),
      await signed(`{"description":"${marker}"`),
      await signed(body(), { headers: { 'content-type': 'text/plain' } }),
      await signed(body(), { headers: { 'x-cooledge-event-id': marker } }),
      await signed(body({ padding: 'x'.repeat(300 * 1024) })),
      await world.zenbooker(zenbookerEvent('job.completed', { data: { job_notes: marker } })),
      await world.zenbooker(zenbookerEvent('job.completed', { data: { job_notes: marker } }), {
        token: `${token}x`,
      }),
      await world.post(`/webhooks/zenbooker/${token}`, undefined, json, { method: 'GET' }),
    ];
    expect(new Set(responses.map((r) => r.statusCode))).toEqual(new Set([202, 400, 401, 405, 413, 415]));
    const hexes = signatures.map((s) => s.split('v1=')[1] ?? s);
    return { responses, secrets: [marker, secret, otherSecret, token, ...hexes] };
  }

  it('never echoes the body, the signature, the token or the secret in a response', async () => {
    const { responses, secrets } = await everyOutcome(setup());
    for (const response of responses) {
      const text = JSON.stringify(response);
      for (const value of secrets) expect(text).not.toContain(value);
    }
  });

  it('never logs the body, the signature, the token or the secret', async () => {
    const world = setup();
    const { secrets } = await everyOutcome(world);
    const logged = world.logger.text();
    expect(world.logger.entries.length).toBeGreaterThan(5);
    for (const value of secrets) expect(logged).not.toContain(value);
  });

  it('enqueues nothing for any response other than 202', async () => {
    const world = setup();
    const { responses } = await everyOutcome(world);
    const accepted = responses.filter((r) => r.statusCode === 202).length;
    expect(accepted).toBe(3);
    expect(world.queue.messages).toHaveLength(accepted);
  });
});

describe('ingest: credentials bound to accounts', () => {
  const boundSecret = 'whsec_ingest_bound_secret_00003';
  const boundToken = 'zbk_ingest_bound_token_0123456789abcdef';
  /** A second Standard Webhooks source, bound, with its own secret. */
  const agency = 'agency';
  const agencySecret = `whsec_${Buffer.from('agency-source-signing-key-32byte').toString('base64')}`;

  /** The credentials a document stands for, as the receiver reads them; fails the test when invalid. */
  function credentialsOf(document: unknown) {
    const read = readCredentials(document, providers);
    if (!read.ok) throw new Error(`${read.problem.path}: ${read.problem.message}`);
    return new FixedCredentials(read.value);
  }

  /**
   * Every provider with one unbound credential (today's, as the harness has them) and one bound to
   * `accounts`: a second Cooledge secret and Zenbooker token (a rotation from the first to a bound
   * one), and a second Standard Webhooks source.
   */
  const document = (accounts: string[]) => ({
    cooledge: { secrets: [secret, { secret: boundSecret, accounts }] },
    zenbooker: { tokens: [token, { token: boundToken, accounts }] },
    standard: {
      sources: {
        [standardSource]: { secrets: [standardSecret] },
        [agency]: { secrets: [agencySecret], accounts },
      },
    },
  });
  const boundSetup = (accounts: string[], overrides: Partial<IngestDeps> = {}) =>
    setup({ credentials: credentialsOf(document(accounts)), ...overrides });

  type World = ReturnType<typeof setup>;
  /** What differs between providers: the body naming an account (or none), and how to send it. */
  interface Sender {
    body(account: string | undefined, extra?: JsonObject): JsonObject;
    send(world: World, body: JsonObject, bound: boolean): Promise<Response>;
  }
  const withAccount = (body: JsonObject, field: string, account: string | undefined) => {
    const copy: JsonObject = { ...body };
    if (account === undefined) delete copy[field];
    else copy[field] = account;
    return copy;
  };
  const senders: Record<'cooledge' | 'zenbooker' | 'standard', Sender> = {
    cooledge: {
      body: (account, extra = {}) =>
        withAccount(cooledgeEvent('job.completed', extra), 'business_id', account),
      send: (world, body, bound) => {
        const raw = JSON.stringify(body);
        return world.cooledge(raw, {
          signature: sign(raw, bound ? boundSecret : secret, 'timestamped', now),
        });
      },
    },
    zenbooker: {
      body: (account, extra = {}) =>
        withAccount(zenbookerEvent('job.completed', { data: extra }), 'account', account),
      send: (world, body, bound) => world.zenbooker(body, { token: bound ? boundToken : token }),
    },
    standard: {
      body: (account, extra = {}) => ({
        type: 'job.completed',
        timestamp: '2026-06-19T23:00:00Z',
        data: withAccount(
          { job_id: `J-${Math.random()}`, status: 'completed', ...extra },
          'account_id',
          account,
        ),
      }),
      send: (world, body, bound) => {
        const raw = JSON.stringify(body);
        const id = `msg_${Math.random().toString(36).slice(2)}`;
        return world.post(`/webhooks/standard/${bound ? agency : standardSource}`, raw, {
          ...json,
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': new Webhook(bound ? agencySecret : standardSecret).sign(id, now, raw),
        });
      },
    },
  };
  const each = Object.entries(senders);

  /** Refused as any authentication failure is, counted and logged as an unbound account, nothing queued. */
  function expectNotBound(world: World, response: Response, acceptedBefore = 0) {
    expect(expectProblem(response, 401).detail).toBe('The request could not be authenticated.');
    expect(world.queue.messages).toHaveLength(acceptedBefore);
    expect(world.metrics.get('RejectedUnboundAccount')).toBe(1);
    expect(world.metrics.get('RejectedUnauthorized')).toBe(1);
    const queued = ['event accepted', 'event quarantined'];
    expect(world.logger.entries.filter((e) => queued.includes(e.message))).toHaveLength(acceptedBefore);
    expect(world.logger.entries).toContainEqual({
      level: 'warn',
      message: 'authentication failed',
      data: { provider: expect.any(String), reason: 'account not bound' },
    });
  }

  it.each(each)('%s: accepts a bound credential’s event for an account it is bound to', async (_, p) => {
    const world = boundSetup(['biz-a', 'biz-b']);
    for (const account of ['biz-a', 'biz-b']) {
      const response = await p.send(world, p.body(account), true);
      expect(response.statusCode).toBe(202);
      expect(bodyOf(response).status).toBe('accepted');
    }
    expect(world.queue.messages).toHaveLength(2);
    expect(world.metrics.get('RejectedUnboundAccount')).toBe(0);
  });

  it.each(each)(
    '%s: refuses a bound credential’s event for another account with the 401 of any failure',
    async (_, p) => {
      const world = boundSetup(['biz-a']);
      expectNotBound(world, await p.send(world, p.body('biz-other'), true));
      // Reason only: not the account the event named, nor anything else from the body.
      expect(world.logger.text()).not.toContain('biz-other');
    },
  );

  it.each(each)('%s: refuses a bound credential’s event that names no account', async (_, p) => {
    const world = boundSetup(['biz-a']);
    expectNotBound(world, await p.send(world, p.body(undefined), true));
  });

  it.each(each)(
    '%s: refuses a bound credential’s event for another account even when it would be quarantined',
    async (_, p) => {
      const world = boundSetup(['biz-a']);
      // `status` a number: the schema refuses it, so unbound it would be stored as quarantined.
      expectNotBound(world, await p.send(world, p.body('biz-other', { status: 123 }), true));
      // For its own account it is quarantined, as it always was.
      const response = await p.send(world, p.body('biz-a', { status: 123 }), true);
      expect(bodyOf(response).status).toBe('quarantined');
    },
  );

  it.each(each)(
    '%s: keeps today’s behaviour for an unbound credential next to a bound one (rotation)',
    async (_, p) => {
      const world = boundSetup(['biz-a']);
      for (const account of ['biz-a', 'biz-other', undefined]) {
        expect((await p.send(world, p.body(account), false)).statusCode).toBe(202);
      }
      expect(world.queue.messages).toHaveLength(3);
      expect(world.metrics.get('RejectedUnboundAccount')).toBe(0);
      expect(world.metrics.get('RejectedUnauthorized')).toBe(0);
    },
  );

  it.each(each)(
    '%s: answers the same 401, headers and body, as a delivery with a wrong credential',
    async (_, p) => {
      const world = boundSetup(['biz-a']);
      const unbound = await p.send(world, p.body('biz-other'), true);
      const wrong = await p.send(
        setup({
          credentials: credentialsOf({
            ...document(['biz-a']),
            cooledge: { secrets: [otherSecret] },
            zenbooker: { tokens: [`${token}x`] },
            standard: { sources: { nobody: { secrets: [standardSecret] } } },
          }),
        }),
        p.body('biz-a'),
        false,
      );
      expect([unbound.statusCode, unbound.headers, unbound.body]).toEqual([
        wrong.statusCode,
        wrong.headers,
        wrong.body,
      ]);
    },
  );

  it.each(each)(
    '%s: reads the body of a bound credential’s delivery as any other: unreadable is 400',
    async (_, p) => {
      const world = boundSetup(['biz-a']);
      const body = p.body('biz-a');
      // The envelope's event type taken away: what routing needs is missing, before any account is read.
      delete body.event_type;
      delete body.event;
      delete body.type;
      expectProblem(await p.send(world, body, true), 400);
      expect(world.metrics.get('RejectedUnboundAccount')).toBe(0);
    },
  );

  it('takes a signature by the unbound secret as unbound, even beside one by the bound secret', async () => {
    // The bound secret listed first: which one is compared first makes no difference.
    const world = setup({
      credentials: credentialsOf({
        cooledge: { secrets: [{ secret: boundSecret, accounts: ['biz-a'] }, secret] },
      }),
    });
    const raw = JSON.stringify(senders.cooledge.body('biz-other'));
    const t = Math.floor(now.getTime() / 1000);
    const hex = (key: string) => sign(raw, key, 'timestamped', now).split('v1=')[1];
    const response = await world.cooledge(raw, {
      signature: `t=${t},v1=${hex(boundSecret)},v1=${hex(secret)}`,
    });
    expect(response.statusCode).toBe(202);
  });

  it('binds a value listed in several objects to all their accounts', async () => {
    const world = setup({
      credentials: credentialsOf({
        cooledge: {
          secrets: [
            { secret: boundSecret, accounts: ['biz-a'] },
            { secret: boundSecret, accounts: ['biz-b'] },
          ],
        },
      }),
    });
    const send = (account: string) => senders.cooledge.send(world, senders.cooledge.body(account), true);
    expect((await send('biz-a')).statusCode).toBe(202);
    expect((await send('biz-b')).statusCode).toBe(202);
    expectNotBound(world, await send('biz-c'), 2);
  });

  it('binds every secret of a bound Standard Webhooks source (its rotation)', async () => {
    const rotated = `whsec_${Buffer.from('agency-rotated-signing-key-32byt').toString('base64')}`;
    const world = setup({
      credentials: credentialsOf({
        standard: { sources: { [agency]: { secrets: [rotated, agencySecret], accounts: ['biz-a'] } } },
      }),
    });
    expect((await senders.standard.send(world, senders.standard.body('biz-a'), true)).statusCode).toBe(202);
    expectNotBound(world, await senders.standard.send(world, senders.standard.body('biz-b'), true), 1);
  });

  it('checks the account the provider’s mapping names too, should it differ from the envelope’s', async () => {
    const elsewhere: Provider = {
      ...(cooledge as Provider),
      describe: (event) => ({
        ...cooledge.describe(event as never, { eventKey: 'k' }),
        accountId: 'biz-other',
      }),
    };
    const world = boundSetup(['biz-a'], { providers: new Map([['cooledge', elsewhere]]) });
    expectNotBound(world, await senders.cooledge.send(world, senders.cooledge.body('biz-a'), true));
    // Unbound, the same event is accepted: the check is the binding's alone.
    expect((await senders.cooledge.send(world, senders.cooledge.body('biz-a'), false)).statusCode).toBe(202);
  });

  describe('accepts a delivery if and only if its credential is unbound or bound to its account (property)', () => {
    const pool = ['biz-a', 'biz-b', 'biz-c'];
    const binding = fc.option(fc.subarray(pool, { minLength: 1 }), { nil: undefined });
    const account = fc.constantFrom<string | undefined>(...pool, undefined);

    it.each([
      ['cooledge', [secret, boundSecret]],
      ['zenbooker', [token, boundToken]],
    ] as const)('%s: over random bindings of its values, duplicates included', async (name, values) => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ value: fc.constantFrom(0, 1), binding }), { minLength: 1, maxLength: 4 }),
          fc.constantFrom(0, 1),
          account,
          async (entries, signedWith, named) => {
            const field = name === 'cooledge' ? 'secret' : 'token';
            const list = entries.map(({ value, binding: accounts }) =>
              accounts === undefined ? values[value] : { [field]: values[value], accounts },
            );
            const read = readCredentials({ [name]: { [`${field}s`]: list } }, providers);
            const matching = entries.filter((e) => e.value === signedWith);
            const mixed = (v: 0 | 1) => {
              const of = entries.filter((e) => e.value === v);
              return of.some((e) => e.binding === undefined) && of.some((e) => e.binding !== undefined);
            };
            // The one document refused: a value both unbound and bound.
            expect(read.ok).toBe(!mixed(0) && !mixed(1));
            if (!read.ok) return;
            const world = setup({ credentials: new FixedCredentials(read.value) });
            const p = senders[name];
            // The value signed with is "bound" in the sender's terms when it is the second one.
            const response = await p.send(world, p.body(named), signedWith === 1);
            const accepted =
              matching.length > 0 &&
              (matching.some((e) => e.binding === undefined) ||
                (named !== undefined && matching.some((e) => e.binding?.includes(named))));
            expect(response.statusCode).toBe(accepted ? 202 : 401);
            expect(world.queue.messages).toHaveLength(accepted ? 1 : 0);
            expect(world.metrics.get('RejectedUnboundAccount')).toBe(
              !accepted && matching.length > 0 ? 1 : 0,
            );
          },
        ),
        { numRuns: 150 },
      );
    });

    it('standard: over random sources, each bound or not', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.record({ one: fc.option(binding, { nil: null }), two: fc.option(binding, { nil: null }) }),
          fc.constantFrom('one', 'two'),
          account,
          async (sources, sendTo, named) => {
            // null: the source is not configured; undefined: configured, unbound.
            const configured = Object.entries(sources).filter(([, b]) => b !== null);
            fc.pre(configured.length > 0);
            const doc = {
              standard: {
                sources: Object.fromEntries(
                  configured.map(([name, b]) => [
                    name,
                    { secrets: [agencySecret], ...(b === undefined ? {} : { accounts: b }) },
                  ]),
                ),
              },
            };
            const world = setup({ credentials: credentialsOf(doc) });
            const raw = JSON.stringify(senders.standard.body(named));
            const id = 'msg_property';
            const response = await world.post(`/webhooks/standard/${sendTo}`, raw, {
              ...json,
              'webhook-id': id,
              'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
              'webhook-signature': new Webhook(agencySecret).sign(id, now, raw),
            });
            const b = sources[sendTo];
            const accepted = b !== null && (b === undefined || (named !== undefined && b.includes(named)));
            expect(response.statusCode).toBe(accepted ? 202 : 401);
            expect(world.queue.messages).toHaveLength(accepted ? 1 : 0);
            expect(world.metrics.get('RejectedUnboundAccount')).toBe(!accepted && b !== null ? 1 : 0);
          },
        ),
        { numRuns: 150 },
      );
    });
  });
});
