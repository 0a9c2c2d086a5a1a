import fc from 'fast-check';
import { isSafeNumber } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import { queueBody } from '#adapters/sqs-queue';
import { consume } from '#core/consume';
import type { IngestDeps } from '#core/ingest';
import { JsonNumber, parseJsonObject } from '#core/json';
import { storableNumber } from '#core/limits';
import { isEventTime } from '#core/validation';
import { sign } from '#providers/cooledge';
import { providers } from '#providers/index';
import { eventKey } from '#providers/zenbooker';
import { apiEvent } from '../support/api-event.ts';
import {
  cooledgeEvent,
  jsonWithNumbers,
  numberToken,
  parsedBody,
  zenbookerEvent,
} from '../support/factories.ts';
import { FakeStore } from '../support/fakes.ts';
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

// ---------------------------------------------------------------------------------------------
// Storable events: numbers a double does not hold, ids a key cannot hold, times ahead of the clock.
// ---------------------------------------------------------------------------------------------

const storableRuns = Number(process.env.FUZZ_RUNS ?? 150);
/** `npm run chaos` runs these 20,000 times and more: a few hundred µs a run, several per body pair. */
const storableTimeout = Math.max(5_000, storableRuns * 3);

const digitString = (minLength: number, maxLength: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789'), minLength, maxLength });

/** Numbers at the edges of what a double holds: its limits, 2^53 and 2^64, overflow, underflow. */
const edgeNumberText = fc.constantFrom(
  '0',
  '-0',
  '0.0',
  '0e0',
  '0.1',
  '462.0',
  '-462.05',
  '1e16',
  '1E16',
  '1e200',
  '1e-200',
  '1e-130',
  '9.99e-131',
  '1e309',
  '-1e309',
  '1e-400',
  '9007199254740991',
  '-9007199254740991',
  '9007199254740992',
  '9007199254740993',
  '9007199254740993.0',
  '18446744073709551616',
  '18446744073709551617',
  '90071992547409937',
  '1.0000000000000001',
  '0.30000000000000004',
  '5e-324',
  '2.4703282292062328e-324',
  '1.7976931348623157e308',
  '1.7976931348623159e308',
  '100e-2',
  '0.5e1',
);

/** Any JSON number text: sign, integer part (up to 41 digits), fraction (up to 30), exponent (up to 4). */
const anyNumberText = fc
  .tuple(
    fc.constantFrom('', '-'),
    fc.oneof(
      fc.constant('0'),
      fc.tuple(fc.constantFrom(...'123456789'), digitString(0, 40)).map(([first, rest]) => first + rest),
    ),
    fc.option(
      digitString(1, 30).map((d) => `.${d}`),
      { nil: '' },
    ),
    fc.option(
      fc
        .tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), digitString(1, 4))
        .map((parts) => parts.join('')),
      { nil: '' },
    ),
  )
  .map((parts) => parts.join(''));

const numberText = fc.oneof(edgeNumberText, anyNumberText);

/**
 * The exact decimal value a JSON number text names, as `<sign><digits>e<exponent>` with no leading
 * or trailing zeros in the digits (zero is `0`, whatever its sign): two texts name one value
 * exactly when these are equal. Independent of the code under test.
 */
function decimalValue(text: string): string {
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!match) throw new Error(`not a JSON number: ${text}`);
  const [, sign, whole = '', fraction = '', exponent = '0'] = match;
  const all = whole + fraction;
  const leading = all.length - all.replace(/^0+/, '').length;
  const digits = all.slice(leading).replace(/0+$/, '');
  if (digits === '') return '0';
  // The value is 0.<all> × 10^(whole.length + exponent); moving past the leading zeros shifts it.
  const scale = whole.length + Number(exponent) - leading;
  return `${sign}${digits}e${scale}`;
}

/** `true` when a JavaScript number holds the text exactly: finite, same decimal value, a safe integer if whole. */
function exactAsDouble(text: string): boolean {
  const n = Number(text);
  if (!Number.isFinite(n)) return false;
  if (Number.isInteger(n) && !Number.isSafeInteger(n)) return false;
  return decimalValue(String(n)) === decimalValue(text);
}

describe('storable events: numbers', () => {
  it('checks the decimal value oracle itself', () => {
    expect(decimalValue('100e-2')).toBe(decimalValue('1'));
    expect(decimalValue('0.5e1')).toBe(decimalValue('5.000'));
    expect(decimalValue('-0.0')).toBe(decimalValue('0'));
    expect(decimalValue('1e16')).toBe(decimalValue('10000000000000000'));
    expect(decimalValue('18446744073709551616')).not.toBe(decimalValue('18446744073709551617'));
    expect(decimalValue('0.1')).not.toBe(decimalValue('0.10000000000000001'));
    expect(exactAsDouble('0.1')).toBe(true);
    expect(exactAsDouble('1e16')).toBe(false);
    expect(exactAsDouble('1.0000000000000001')).toBe(false);
  });

  it(
    'parses any number text to the number a double holds exactly, or to a JsonNumber of that text',
    () => {
      const blank = fc.constantFrom('', ' ', '\n', '\t', '\r\n ');
      fc.assert(
        fc.property(numberText, blank, blank, (text, before, after) => {
          const raw = `{"a":${before}${text}${after},"b":[1,${before}${text}],"c":{"d":${text}},"s":"${text}"}`;
          const parsed = parseJsonObject(Buffer.from(raw));
          if (!parsed.ok) throw new Error(parsed.detail);
          const value = parsed.value as { a: unknown; b: unknown[]; c: { d: unknown }; s: unknown };
          expect(value.s).toBe(text);
          expect(value.b[0]).toBe(1);
          for (const found of [value.a, value.b[1], value.c.d]) {
            if (found instanceof JsonNumber) {
              expect(found.text).toBe(text);
              expect(exactAsDouble(text)).toBe(false);
            } else {
              expect(typeof found).toBe('number');
              expect(isSafeNumber(text)).toBe(true);
              expect(exactAsDouble(text)).toBe(true);
              expect(Object.is(found, Number(text))).toBe(true);
            }
          }
        }),
        { numRuns: storableRuns * 4 },
      );
    },
    storableTimeout,
  );

  /** A second number text near the first: one digit changed or added, the exponent or sign moved. */
  const nearby = (text: string) =>
    fc.oneof(
      fc.nat().map((i) => {
        const positions = [...text].flatMap((c, j) => (/\d/.test(c) ? [j] : []));
        const at = positions[i % positions.length] ?? 0;
        const digit = text[at] === '9' ? '8' : String(Number(text[at]) + 1);
        return text.slice(0, at) + digit + text.slice(at + 1);
      }),
      fc.constantFrom(`${text}1`, /[.eE]/.test(text) ? `${text}0` : `${text}.5`),
      fc.constant(/[eE]/.test(text) ? `${text}1` : `${text}e1`),
      fc.constant(text.startsWith('-') ? text.slice(1) : `-${text}`),
    );

  it(
    'gives Zenbooker bodies that differ only in a number of another value different event keys',
    () => {
      const pair = fc.oneof(
        fc.tuple(numberText, numberText),
        numberText.chain((a) => fc.tuple(fc.constant(a), nearby(a))),
      );
      fc.assert(
        fc.property(
          pair.filter(
            ([a, b]) =>
              /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(b) && decimalValue(a) !== decimalValue(b),
          ),
          fc.constantFrom('data.n', 'data.invoice.total', 'data.list'),
          ([a, b], where) => {
            const body = (text: string) => {
              const n = numberToken(text);
              const data =
                where === 'data.n'
                  ? { n }
                  : where === 'data.list'
                    ? { list: [1, n, 'x'] }
                    : { invoice: { total: n } };
              return parsedBody(jsonWithNumbers(zenbookerEvent('job.completed', { data })));
            };
            expect(eventKey(body(a))).not.toBe(eventKey(body(b)));
          },
        ),
        { numRuns: storableRuns * 2 },
      );
    },
    storableTimeout,
  );
});

describe('storable events: an accepted Cooledge invoice.paid is one the consumer stores', () => {
  const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
  /** Breaks a string with a lone surrogate somewhere (possibly in the middle of a pair). */
  const withLoneSurrogate = (s: string) =>
    fc
      .tuple(fc.nat({ max: s.length }), fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff'))
      .map(([at, half]) => s.slice(0, at) + half + s.slice(at));
  const plainId = fc.uuid();
  const longId = fc.oneof(
    fc.integer({ min: 1020, max: 1030 }).map((n) => 'i'.repeat(n)),
    fc.integer({ min: 508, max: 516 }).map((n) => 'é'.repeat(n)),
    fc.integer({ min: 338, max: 345 }).map((n) => '工'.repeat(n)),
    fc.integer({ min: 252, max: 260 }).map((n) => '😀'.repeat(n)),
    fc.integer({ min: 500, max: 800 }).map((n) => '工'.repeat(n)),
  );
  // Weighted so that about one delivery in five is storable on every count, and so is accepted.
  const id = fc.oneof(
    { weight: 20, arbitrary: plainId },
    { weight: 2, arbitrary: longId },
    { weight: 1, arbitrary: fc.oneof(plainId, longId).chain(withLoneSurrogate) },
  );
  const optionalId = fc.oneof(
    { weight: 4, arbitrary: id },
    { weight: 1, arbitrary: fc.constantFrom(null, '', undefined) },
  );
  const money = fc.oneof(
    {
      weight: 14,
      arbitrary: fc.integer({ min: -10_000_000, max: 10_000_000 }).map((c) => (c / 100).toFixed(2)),
    },
    { weight: 2, arbitrary: edgeNumberText },
    { weight: 2, arbitrary: anyNumberText },
    { weight: 1, arbitrary: fc.constantFrom(null, undefined, '"462.00"', '"1e16"') },
  );
  const now = new Date('2026-06-20T00:00:00.000Z');
  const occurredAt = fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .integer({ min: -86_400, max: 1_000 })
        .map((s) => new Date(now.getTime() + s * 1000).toISOString()),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '9999-12-31T23:59:59Z',
        '1',
        '+010000-01-01T00:00:00Z',
        '2026-02-30T00:00:00Z',
        '2026-06-19T23:00:00',
        '2026-06-20T10:04:00+10:00',
        '2026-06-20T10:06:00+10:00',
      ),
    },
  );
  const moneyFields = ['total', 'amount_due', 'payment_amount', 'amount_paid_total'] as const;
  const idFields = ['event_id', 'business_id', 'invoice_id', 'job_id', 'customer_id'] as const;

  const invoice = fc.record({
    event_id: id,
    business_id: id,
    invoice_id: id,
    job_id: optionalId,
    customer_id: optionalId,
    occurred_at: occurredAt,
    total: money,
    amount_due: money,
    payment_amount: money,
    amount_paid_total: money,
  });

  it(
    'accepts (202 accepted) only what every id, number and time allows storing, and the consumer applies it',
    async () => {
      const statuses = new Set<string>();
      await fc.assert(
        fc.asyncProperty(invoice, async (generated) => {
          const { queue, handler } = fakeIngest({ secret, token, now });
          const body: Record<string, unknown> = { ...cooledgeEvent('invoice.paid') };
          for (const field of idFields) body[field] = generated[field];
          body.occurred_at = generated.occurred_at;
          for (const field of moneyFields) {
            const text = generated[field];
            body[field] =
              typeof text === 'string' && !text.startsWith('"')
                ? numberToken(text)
                : text && JSON.parse(text);
          }
          const raw = jsonWithNumbers(body);
          const response = await handler(
            apiEvent('POST', '/webhooks/cooledge', raw, {
              'content-type': 'application/json',
              'x-cooledge-signature': sign(raw, secret, 'timestamped', now),
            }),
          );
          const answer = JSON.parse(response.body ?? '{}') as { status?: unknown };
          statuses.add(response.statusCode === 202 ? String(answer.status) : String(response.statusCode));
          expect([202, 400]).toContain(response.statusCode);
          if (response.statusCode !== 202) return;
          const [message] = queue.messages;
          if (!message) throw new Error('a 202 without a queued message');

          // Every 202 lands: the consumer records it, and never as unprocessable or by failing.
          const store = new FakeStore();
          const outcome = await consume(queueBody(message), {
            providers,
            store,
            clock: () => now,
            dedupeHorizonDays: 30,
            eventTimeSkewSeconds: 300,
          });
          expect(['applied', 'recorded', 'quarantined']).toContain(outcome);
          if (answer.status !== 'accepted') {
            expect(answer.status).toBe('quarantined');
            expect(outcome).toBe('quarantined');
            return;
          }
          expect(outcome).not.toBe('quarantined');

          for (const field of moneyFields) {
            const text = generated[field];
            if (typeof text !== 'string') continue;
            expect(text.startsWith('"'), `${field} sent as text`).toBe(false);
            expect(exactAsDouble(text), `${field} ${text}`).toBe(true);
            expect(storableNumber(Number(text)), `${field} ${text}`).toBe(true);
          }
          for (const field of idFields) {
            const value = generated[field];
            if (typeof value !== 'string' || value === '') continue;
            expect(value.isWellFormed(), `${field} well-formed`).toBe(true);
            expect(bytes(value), `${field} bytes`).toBeLessThanOrEqual(1024);
          }
          expect(isEventTime(generated.occurred_at)).toBe(true);
          expect(Date.parse(generated.occurred_at)).toBeLessThanOrEqual(now.getTime() + 300_000);

          const [call] = store.calls;
          if (call?.kind === 'apply') {
            expect(call.job.jobId.isWellFormed()).toBe(true);
            expect(bytes(call.job.jobId)).toBeLessThanOrEqual(1024);
            for (const value of Object.values(call.job.fields)) {
              if (typeof value === 'number') expect(storableNumber(value)).toBe(true);
              if (typeof value === 'string') expect(value.isWellFormed()).toBe(true);
            }
          }
        }),
        { numRuns: storableRuns },
      );
      // Every path was taken: some accepted, some quarantined, some refused.
      expect([...statuses]).toEqual(expect.arrayContaining(['accepted', 'quarantined', '400']));
    },
    storableTimeout,
  );
});
