import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { IngestDeps } from '#core/ingest';
import { sign } from '#providers/cooledge';
import { apiEvent } from '../support/api-event.ts';
import { cooledgeEvent, zenbookerEvent } from '../support/factories.ts';
import { fakeIngest } from '../support/ingest-harness.ts';

/**
 * Property-based fuzzing of the ingest handler: whatever a client sends — body, headers, method,
 * path, content type, signature — the answer is never a 5xx while the queue is healthy, and nothing
 * that is not authenticated is ever accepted or queued. `FUZZ_RUNS` raises the number of runs
 * (`npm run chaos` does); the default keeps `npm test` fast.
 */

const runs = Number(process.env.FUZZ_RUNS ?? 400);
const secret = 'whsec_fuzz_secret_0123456789abcdef';
const token = 'zbk_fuzz_token_0123456789abcdefghij';
const now = new Date('2026-06-20T00:00:00.000Z');
const t = Math.floor(now.getTime() / 1000);

function setup(overrides: Partial<IngestDeps> = {}) {
  return fakeIngest({ secret, token, now, maxBodyBytes: 4 * 1024 }, overrides);
}

// ---------------------------------------------------------------------------------------------
// Arbitraries: what a careless or hostile client can put in each part of a request.
// ---------------------------------------------------------------------------------------------

const hexString = (length: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: length, maxLength: length });

const anyText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', ' ', '\u0000', '\uFEFF', '%00', '..', '\r\n'),
);

const method = fc.oneof(
  fc.constantFrom('POST', 'post', 'GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'CONNECT', 'TRACE'),
  anyText,
);

/** Paths near the real routes and far from them; never the real Zenbooker token. */
const path = fc.oneof(
  fc.constantFrom(
    '/webhooks/cooledge',
    '/webhooks/cooledge/',
    '/prod/webhooks/cooledge',
    '/webhooks/zenbooker',
  ),
  anyText.map((s) => `/webhooks/zenbooker/${s}`),
  fc
    .string({
      unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789_-'),
      minLength: 20,
      maxLength: 40,
    })
    .map((s) => `/webhooks/zenbooker/${s}`),
  fc.webPath(),
  anyText,
  anyText.map((s) => `/webhooks/${s}`),
);

const contentType = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'APPLICATION/JSON',
    'application/json;charset=latin1',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/jsonx',
    '',
  ),
  anyText,
);

/** Signature headers of every plausible and implausible shape, none made with the secret. */
const signature = fc.oneof(
  fc.tuple(fc.integer({ min: t - 1_000, max: t + 1_000 }), hexString(64)).map(([ts, h]) => `t=${ts},v1=${h}`),
  fc
    .tuple(fc.integer(), fc.array(hexString(64), { maxLength: 3 }))
    .map(([ts, hs]) => [`t=${ts}`, ...hs.map((h) => `v1=${h}`)].join(',')),
  hexString(64).map((h) => `sha256=${h}`),
  hexString(64),
  fc.tuple(fc.integer({ min: t - 10, max: t + 10 }), fc.string()).map(([ts, s]) => `t=${ts},v1=${s}`),
  anyText,
);

const headerName = fc.oneof(
  fc.constantFrom(
    'content-type',
    'Content-Type',
    'x-cooledge-signature',
    'X-Cooledge-Signature',
    'x-cooledge-event-id',
    'content-length',
    'transfer-encoding',
    '__proto__',
    'constructor',
  ),
  fc.string({ minLength: 1, maxLength: 20 }),
);

const headers = fc
  .tuple(
    fc.option(contentType, { nil: undefined }),
    fc.option(signature, { nil: undefined }),
    fc.dictionary(headerName, anyText, { maxKeys: 4 }),
  )
  .map(([type, sig, rest]) => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(rest)) out[k] = v;
    if (type !== undefined) out['content-type'] = type;
    if (sig !== undefined) out['x-cooledge-signature'] = sig;
    return out;
  });

/** Bodies: text, bytes, JSON of every shape, provider-like objects with hostile keys, and a lot. */
const jsonish = fc.oneof(
  fc.json({ maxDepth: 4 }),
  fc
    .dictionary(
      fc.oneof(
        fc.constantFrom(
          '__proto__',
          'constructor',
          'prototype',
          'event_id',
          'event_type',
          'data',
          'event',
          'job_id',
        ),
        fc.string({ maxLength: 10 }),
      ),
      fc.jsonValue({ maxDepth: 3 }),
      { maxKeys: 8 },
    )
    .map((o) => JSON.stringify(o)),
  fc.constant(JSON.stringify(cooledgeEvent())),
  fc.constant(JSON.stringify(zenbookerEvent())),
  fc.nat({ max: 200 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
);

/** A real event with fields overridden by arbitrary JSON: the valid, quarantined and 400 paths. */
const mutatedEvent = fc
  .tuple(
    fc.constantFrom('job.completed', 'booking.created', 'invoice.paid', 'lead.created'),
    fc.dictionary(
      fc.constantFrom(
        'event_id',
        'event_type',
        'job_id',
        'business_id',
        'occurred_at',
        'status',
        'customer_name',
        '__proto__',
        'x',
      ),
      fc.jsonValue({ maxDepth: 2 }),
      { maxKeys: 3 },
    ),
  )
  .map(([name, overrides]) => JSON.stringify({ ...cooledgeEvent(name), ...overrides }));

const body = fc.oneof(
  fc.constant(undefined),
  anyText.map((s) => ({ raw: s, base64: false })),
  jsonish.map((s) => ({ raw: s, base64: false })),
  jsonish.map((s) => ({ raw: s.slice(0, Math.floor(s.length / 2)), base64: false })),
  fc.uint8Array({ maxLength: 200 }).map((b) => ({ raw: Buffer.from(b).toString('base64'), base64: true })),
  fc.string({ maxLength: 40 }).map((s) => ({ raw: s, base64: true })),
  fc.nat({ max: 8 * 1024 }).map((n) => ({ raw: 'x'.repeat(n), base64: false })),
);

const request = fc.record({ method, path, headers, body });

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

describe('ingest handler under arbitrary client input', () => {
  it('never answers a 5xx and never accepts or queues anything unauthenticated', async () => {
    const { queue, handler, logger } = setup();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const response = await handler(
          apiEvent(r.method, r.path, r.body?.raw, r.headers, r.body?.base64 ?? false),
        );
        const status = response.statusCode ?? 0;
        expect(status).toBeGreaterThanOrEqual(400);
        expect(status).toBeLessThan(500);
        expect(queue.messages).toHaveLength(0);
        expect(response.headers?.['content-type']).toBe('application/problem+json');
        const problem = JSON.parse(response.body ?? '') as { status: number };
        expect(problem.status).toBe(status);
      }),
      { numRuns: runs },
    );
    expect(logger.text()).not.toContain(secret);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('never answers a 5xx to authentic Cooledge garbage, and answers 2xx only with the exact bytes queued', async () => {
    const { queue, handler } = setup();
    const statuses = new Set<number>();
    const authenticBody = fc.oneof(
      mutatedEvent.map((raw) => Buffer.from(raw)),
      jsonish.map((raw) => Buffer.from(raw)),
      anyText.map((raw) => Buffer.from(raw)),
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
    );
    await fc.assert(
      fc.asyncProperty(authenticBody, contentType, fc.boolean(), async (bytes, type, base64) => {
        const before = queue.messages.length;
        const header = sign(bytes, secret, 'timestamped', now);
        const raw = base64 ? bytes.toString('base64') : bytes.toString('utf8');
        const sent = base64 ? bytes : Buffer.from(raw, 'utf8');
        const response = await handler(
          apiEvent(
            'POST',
            '/webhooks/cooledge',
            raw,
            { 'content-type': type, 'x-cooledge-signature': header },
            base64,
          ),
        );
        const status = response.statusCode ?? 0;
        statuses.add(status);
        expect(status).toBeLessThan(500);
        const queued = queue.messages.length - before;
        if (status === 202) {
          expect(queued).toBe(1);
          // The signature only matches when what arrived is what was signed.
          expect(sent.equals(bytes)).toBe(true);
          expect(queue.messages.at(-1)?.bodyBase64).toBe(bytes.toString('base64'));
        } else {
          expect(queued).toBe(0);
          expect([400, 401, 413, 415]).toContain(status);
        }
      }),
      { numRuns: runs },
    );
    // The property held on every path, not only on the rejections.
    expect([...statuses]).toEqual(expect.arrayContaining([202, 400, 415]));
  });

  it('never answers a 5xx to Zenbooker garbage on the real token, and queues only what it accepts', async () => {
    const { queue, handler } = setup();
    await fc.assert(
      fc.asyncProperty(jsonish, contentType, async (raw, type) => {
        const before = queue.messages.length;
        const response = await handler(
          apiEvent('POST', `/webhooks/zenbooker/${token}`, raw, { 'content-type': type }),
        );
        const status = response.statusCode ?? 0;
        expect(status).toBeLessThan(500);
        expect(queue.messages.length - before).toBe(status === 202 ? 1 : 0);
        expect(response.body).not.toContain(token);
      }),
      { numRuns: runs },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('answers 503, never 2xx, for anything authentic while the queue is down', async () => {
    const { queue, handler } = setup();
    queue.failure = Object.assign(new Error('queue down'), { name: 'ServiceUnavailable' });
    await fc.assert(
      fc.asyncProperty(jsonish, async (raw) => {
        const response = await handler(
          apiEvent('POST', '/webhooks/cooledge', raw, {
            'content-type': 'application/json',
            'x-cooledge-signature': sign(raw, secret, 'timestamped', now),
          }),
        );
        expect(response.statusCode).not.toBe(202);
        expect([400, 503]).toContain(response.statusCode);
      }),
      { numRuns: runs },
    );
  });
});
