import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '#core/json';
import type { Queue } from '#core/message';
import { sign } from '#providers/cooledge';
import { eventKey } from '#providers/zenbooker';
import { cooledgeEvent, zenbookerEvent } from '../support/factories.ts';
import { apiEvent, cooledgeSecret, World, zenbookerToken } from '../support/world.ts';

/**
 * Hostile and broken requests through the real ingest handler, the real SQS queue and (for what is
 * accepted) the real consumer and tables. Each case states the status it must get; anything not
 * accepted must leave nothing on the queue and nothing in the tables.
 */

const json = 'application/json';
const signedAt = (raw: string | Buffer, at = new Date()) => sign(raw, cooledgeSecret, 'timestamped', at);
const secondsFromNow = (s: number) => new Date(Date.now() + s * 1000);
const hex = (raw: string | Buffer) => signedAt(raw).split('v1=')[1] as string;
const t = () => Math.floor(Date.now() / 1000);

interface Case {
  name: string;
  status: number;
  event: () => APIGatewayProxyEventV2;
}

const validBody = () => JSON.stringify(cooledgeEvent('job.completed', { job_id: randomUUID() }));

/** A Cooledge POST whose signature is right for the bytes sent, so it gets past authentication. */
function authentic(raw: string | Buffer, headers: Record<string, string> = {}): APIGatewayProxyEventV2 {
  const bytes = typeof raw === 'string' ? Buffer.from(raw) : raw;
  const binary = typeof raw !== 'string';
  return apiEvent(
    'POST',
    '/webhooks/cooledge',
    binary ? bytes.toString('base64') : raw,
    { 'content-type': json, 'x-cooledge-signature': signedAt(bytes), ...headers },
    binary,
  );
}

function cooledge(raw: string, headers: Record<string, string>): APIGatewayProxyEventV2 {
  return apiEvent('POST', '/webhooks/cooledge', raw, headers);
}

function zenbooker(
  path: string,
  raw = JSON.stringify(zenbookerEvent('job.completed')),
): APIGatewayProxyEventV2 {
  return apiEvent('POST', path, raw, { 'content-type': json });
}

function nested(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

const bodyCases: Case[] = [
  { name: 'malformed JSON', status: 400, event: () => authentic('{"event_id": "a", "event_type": }') },
  { name: 'truncated JSON', status: 400, event: () => authentic(validBody().slice(0, 200)) },
  { name: 'JSON with trailing garbage', status: 400, event: () => authentic(`${validBody()}xyz`) },
  { name: 'two JSON documents', status: 400, event: () => authentic(`${validBody()}${validBody()}`) },
  { name: 'a JSON array', status: 400, event: () => authentic(`[${validBody()}]`) },
  { name: 'a JSON string', status: 400, event: () => authentic('"job.completed"') },
  { name: 'JSON null', status: 400, event: () => authentic('null') },
  {
    name: 'invalid UTF-8 (a lone 0xff byte)',
    status: 400,
    event: () =>
      authentic(Buffer.concat([Buffer.from('{"event_id":"a'), Buffer.from([0xff]), Buffer.from('"}')])),
  },
  {
    name: 'invalid UTF-8 (an overlong encoding of "/")',
    status: 400,
    event: () =>
      authentic(Buffer.concat([Buffer.from('{"event_id":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')])),
  },
  {
    name: 'invalid UTF-8 (an encoded UTF-16 surrogate)',
    status: 400,
    event: () =>
      authentic(
        Buffer.concat([Buffer.from('{"event_id":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]),
      ),
  },
  { name: 'an empty body', status: 400, event: () => authentic('') },
  {
    name: 'no body at all',
    status: 400,
    event: () =>
      apiEvent('POST', '/webhooks/cooledge', undefined, {
        'content-type': json,
        'x-cooledge-signature': signedAt(''),
      }),
  },
  {
    name: 'nesting deeper than 64 levels inside a valid event',
    status: 400,
    event: () => authentic(JSON.stringify({ ...cooledgeEvent(), deep: JSON.parse(nested(70)) })),
  },
  {
    name: 'nesting 100,000 levels deep',
    status: 400,
    event: () => authentic(`${'['.repeat(100_000)}${']'.repeat(100_000)}`),
  },
  {
    name: 'no event_id',
    status: 400,
    event: () => authentic(JSON.stringify({ ...cooledgeEvent(), event_id: undefined })),
  },
  {
    name: 'a numeric event_id',
    status: 400,
    event: () => authentic(JSON.stringify(cooledgeEvent('job.completed', { event_id: 42 }))),
  },
  {
    name: 'a blank event_id',
    status: 400,
    event: () => authentic(JSON.stringify(cooledgeEvent('job.completed', { event_id: '  ' }))),
  },
  {
    name: 'no event_type',
    status: 400,
    event: () => authentic(JSON.stringify({ ...cooledgeEvent(), event_type: undefined })),
  },
  {
    name: 'an X-Cooledge-Event-Id header naming another event',
    status: 400,
    event: () => authentic(validBody(), { 'x-cooledge-event-id': randomUUID() }),
  },
  {
    name: 'a Zenbooker body without data',
    status: 400,
    event: () =>
      zenbooker(
        `/webhooks/zenbooker/${zenbookerToken}`,
        JSON.stringify({ ...zenbookerEvent(), data: undefined }),
      ),
  },
  {
    name: 'a Zenbooker body whose data is a list',
    status: 400,
    event: () =>
      zenbooker(`/webhooks/zenbooker/${zenbookerToken}`, JSON.stringify({ ...zenbookerEvent(), data: [] })),
  },
  {
    name: 'a Zenbooker body without event',
    status: 400,
    event: () =>
      zenbooker(
        `/webhooks/zenbooker/${zenbookerToken}`,
        JSON.stringify({ ...zenbookerEvent(), event: undefined }),
      ),
  },
];

const oversized = () => JSON.stringify({ ...cooledgeEvent(), padding: 'x'.repeat(256 * 1024) });
const sizeCases: Case[] = [
  {
    name: 'a body one byte over 256 KiB, signed',
    status: 413,
    event: () => authentic('{}'.padStart(256 * 1024 + 1)),
  },
  {
    name: 'an oversized body, unsigned',
    status: 413,
    event: () => cooledge(oversized(), { 'content-type': json }),
  },
  {
    name: 'an oversized body, base64-encoded',
    status: 413,
    event: () => authentic(Buffer.from(oversized())),
  },
  {
    name: 'an oversized Zenbooker body',
    status: 413,
    event: () => zenbooker(`/webhooks/zenbooker/${zenbookerToken}`, oversized()),
  },
];

const contentTypeCases: Case[] = [
  ...[
    undefined,
    '',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'text/json',
    'application/jsonp',
    'application/json-patch+json',
    'application/xml',
    'json',
  ].map(
    (type): Case => ({
      name: `content type ${JSON.stringify(type ?? '(missing)')}`,
      status: 415,
      event: () => {
        const raw = validBody();
        return cooledge(raw, {
          ...(type === undefined ? {} : { 'content-type': type }),
          'x-cooledge-signature': signedAt(raw),
        });
      },
    }),
  ),
];

const routeCases: Case[] = [
  {
    name: 'GET on the Cooledge route',
    status: 405,
    event: () => apiEvent('GET', '/webhooks/cooledge', undefined, {}),
  },
  {
    name: 'PUT on the Zenbooker route',
    status: 405,
    event: () =>
      apiEvent('PUT', `/webhooks/zenbooker/${zenbookerToken}`, validBody(), { 'content-type': json }),
  },
  {
    name: 'an unknown path',
    status: 404,
    event: () => apiEvent('POST', '/admin', validBody(), { 'content-type': json }),
  },
  {
    name: 'an unknown provider',
    status: 404,
    event: () => apiEvent('POST', '/webhooks/stripe', validBody(), { 'content-type': json }),
  },
  {
    name: 'a path segment after the Cooledge route',
    status: 404,
    event: () => {
      const raw = validBody();
      return apiEvent('POST', '/webhooks/cooledge/extra', raw, {
        'content-type': json,
        'x-cooledge-signature': signedAt(raw),
      });
    },
  },
  { name: 'the Zenbooker route without a token', status: 404, event: () => zenbooker('/webhooks/zenbooker') },
  {
    name: 'the Zenbooker token in the query string',
    status: 404,
    event: () => zenbooker(`/webhooks/zenbooker?token=${zenbookerToken}`),
  },
];

/** Cooledge deliveries of a valid body whose signature is wrong in one way each. */
function signatureCase(
  name: string,
  header: (raw: string) => string | undefined,
  extra: Record<string, string> = {},
): Case {
  return {
    name,
    status: 401,
    event: () => {
      const raw = validBody();
      const value = header(raw);
      return cooledge(raw, {
        'content-type': json,
        ...(value === undefined ? {} : { 'x-cooledge-signature': value }),
        ...extra,
      });
    },
  };
}

const signatureCases: Case[] = [
  signatureCase('no signature header', () => undefined),
  signatureCase('an empty signature header', () => ''),
  signatureCase('a signature made with another secret', (raw) =>
    sign(raw, 'whsec_someone_elses_secret_123456', 'timestamped'),
  ),
  signatureCase('a truncated signature', (raw) => signedAt(raw).slice(0, -2)),
  signatureCase('a signature missing its first hex digit', (raw) => `t=${t()},v1=${hex(raw).slice(1)}`),
  signatureCase('the signature in upper-case hex', (raw) => `t=${t()},v1=${hex(raw).toUpperCase()}`),
  signatureCase(
    'whitespace inside the hex',
    (raw) => `t=${t()},v1=${hex(raw).slice(0, 32)} ${hex(raw).slice(32)}`,
  ),
  signatureCase('the header sent twice (joined with a comma)', (raw) => `${signedAt(raw)},${signedAt(raw)}`),
  signatureCase(
    'the header sent twice under different casings, with two timestamps',
    (raw) => signedAt(raw),
    {
      'X-Cooledge-Signature': `t=${t() - 5},v1=${'0'.repeat(64)}`,
    },
  ),
  signatureCase(
    'several v1 signatures, none of them right',
    (raw) =>
      `t=${t()},v1=${hex(`${raw} `)},v1=${sign(raw, 'whsec_someone_elses_secret_123456', 'timestamped').split('v1=')[1]}`,
  ),
  signatureCase('a timestamp 301 s old', (raw) => signedAt(raw, secondsFromNow(-301))),
  signatureCase('a timestamp 301 s in the future', (raw) => signedAt(raw, secondsFromNow(301))),
  signatureCase('a timestamp in milliseconds', (raw) => `t=${Date.now()},v1=${hex(raw)}`),
  signatureCase(
    'a stale timestamp re-labelled as fresh',
    (raw) => `t=${t()},v1=${signedAt(raw, secondsFromNow(-600)).split('v1=')[1]}`,
  ),
  signatureCase('no timestamp', (raw) => `v1=${hex(raw)}`),
  signatureCase('a plain signature on a timestamped deployment', (raw) => sign(raw, cooledgeSecret, 'plain')),
  signatureCase('an unknown signature version only', (raw) => `t=${t()},v0=${hex(raw)}`),
  signatureCase('a signature over the same JSON serialised differently', (raw) =>
    signedAt(JSON.stringify(JSON.parse(raw), null, 2)),
  ),
  signatureCase('a signature over another body', () => signedAt(validBody())),
];

const tokenCases: Case[] = [
  ['a wrong token', 'zbk_completely_different_token_12345'],
  [
    'the token with its last character changed',
    `${zenbookerToken.slice(0, -1)}${zenbookerToken.endsWith('j') ? 'k' : 'j'}`,
  ],
  ['the token with its first character changed', `Z${zenbookerToken.slice(1)}`],
  ['the token one character short', zenbookerToken.slice(0, -1)],
  ['the token with one character extra', `${zenbookerToken}0`],
  ['the token in upper case', zenbookerToken.toUpperCase()],
  [
    'the token with a percent-encoded character',
    `${zenbookerToken.slice(0, -1)}%${zenbookerToken.charCodeAt(zenbookerToken.length - 1).toString(16)}`,
  ],
  ['the token followed by an encoded space', `${zenbookerToken}%20`],
  ['the Cooledge secret as a token', cooledgeSecret],
].map(([name, token]) => ({
  name: name as string,
  status: 401,
  event: () => zenbooker(`/webhooks/zenbooker/${token}`),
}));

const turnedAway = [
  ['a body that is not a usable JSON object', bodyCases],
  ['a body over the size limit', sizeCases],
  ['a wrong or missing content type', contentTypeCases],
  ['an unknown route or method', routeCases],
  ['a Cooledge signature defect', signatureCases],
  ['a wrong or near-miss Zenbooker token', tokenCases],
] as const;

describe('requests that must be turned away, with nothing queued or stored', () => {
  let world: World;
  let sends = 0;
  beforeAll(async () => {
    world = await World.create({
      wrapQueue: (queue): Queue => ({
        send: async (message) => {
          sends += 1;
          await queue.send(message);
        },
      }),
    });
  });
  afterAll(() => world.sqs.destroy());

  describe.each(turnedAway)('%s', (_group, cases) => {
    it.each(cases.map((c) => [c.name, c] as const))(
      'answers %s with the expected status',
      async (_name, c) => {
        const before = sends;
        const response = await world.ingest(c.event());
        expect(response.statusCode).toBe(c.status);
        expect(response.headers?.['content-type']).toBe('application/problem+json');
        const problem = JSON.parse(response.body ?? '{}') as {
          status: number;
          detail: string;
          type: string;
          title: string;
        };
        expect(problem).toMatchObject({
          status: c.status,
          type: expect.stringMatching(/^urn:/),
          title: expect.any(String),
        });
        expect(response.body).not.toContain(cooledgeSecret);
        expect(response.body).not.toContain(zenbookerToken.slice(8));
        expect(sends).toBe(before);
      },
    );
  });

  // Each of these two sends the requests it judges itself: run alone (`-t`), or after the cases
  // above, it checks the same thing.
  it('gives every authentication failure the same answer (no oracle)', async () => {
    const unauthorized = turnedAway.flatMap(([, cases]) => cases).filter((c) => c.status === 401);
    // Signature defects and near-miss tokens, from both providers: one answer would prove nothing.
    expect(unauthorized.length).toBeGreaterThan(10);
    const answers = new Set<string>();
    for (const c of unauthorized) {
      const response = await world.ingest(c.event());
      answers.add(`${response.statusCode} ${response.headers?.['content-type']} ${response.body}`);
    }
    expect([...answers]).toHaveLength(1);
  });

  it('queued and stored nothing for any of them', async () => {
    const before = sends;
    for (const [, cases] of turnedAway) for (const c of cases) await world.ingest(c.event());
    expect(sends).toBe(before);
    expect(await world.queueDepth(world.urls.queueUrl)).toBe(0);
    await world.drain();
    expect(await world.allEvents()).toEqual([]);
    expect(await world.allJobs()).toEqual([]);
    // The same checks see an accepted delivery: they could have seen a leak.
    expect((await world.postCooledge(cooledgeEvent('job.completed'))).statusCode).toBe(202);
    expect(sends).toBe(before + 1);
    await world.drain();
    expect(await world.allEvents()).toHaveLength(1);
  });
});

describe('requests that are authentic despite an odd shape', () => {
  let world: World;
  beforeAll(async () => {
    world = await World.create();
  });
  afterAll(() => world.sqs.destroy());

  it.each([['application/json; charset=utf-8'], ['Application/JSON'], ['application/json;charset=UTF-8']])(
    'accepts the content type %s',
    async (type) => {
      const raw = validBody();
      const response = await world.ingest(
        cooledge(raw, { 'content-type': type, 'x-cooledge-signature': signedAt(raw) }),
      );
      expect(response.statusCode).toBe(202);
    },
  );

  it('accepts several v1 signatures when one of them is right (secret rotation on their side)', async () => {
    const raw = validBody();
    const wrong = sign(raw, 'whsec_someone_elses_secret_123456', 'timestamped').split('v1=')[1];
    const response = await world.ingest(
      cooledge(raw, { 'content-type': json, 'x-cooledge-signature': `t=${t()},v1=${wrong},v1=${hex(raw)}` }),
    );
    expect(response.statusCode).toBe(202);
  });

  it('accepts a timestamp just inside the tolerance, in the past and in the future', async () => {
    for (const skew of [-290, 290]) {
      const raw = validBody();
      const response = await world.ingest(
        cooledge(raw, { 'content-type': json, 'x-cooledge-signature': signedAt(raw, secondsFromNow(skew)) }),
      );
      expect(response.statusCode).toBe(202);
    }
  });

  it('accepts a body exactly at the size limit', async () => {
    const base = JSON.stringify(cooledgeEvent());
    const padded = `${base.slice(0, -1)},"padding":"${'x'.repeat(256 * 1024 - base.length - 13)}"}`;
    expect(Buffer.byteLength(padded)).toBe(256 * 1024);
    expect((await world.ingest(authentic(padded))).statusCode).toBe(202);
  });
});

describe('numbers where strings belong: accepted, quarantined and stored, never dropped', () => {
  let world: World;
  beforeAll(async () => {
    world = await World.create();
  });
  afterAll(() => world.sqs.destroy());

  it.each([
    ['Cooledge customer_name', 'cooledge', { customer_name: 12345 }, 'customer_name'],
    ['Cooledge business_id', 'cooledge', { business_id: 987654321 }, 'business_id'],
    ['Cooledge status', 'cooledge', { status: 3 }, 'status'],
    ['Zenbooker data.id', 'zenbooker', { data: { id: 1571382643450 } }, 'data.id'],
    ['Zenbooker account', 'zenbooker', { envelope: { account: 1571029418512 } }, 'account'],
  ] as const)('quarantines a numeric %s', async (_name, provider, change, path) => {
    let body: JsonObject;
    let response: Awaited<ReturnType<World['postCooledge']>>;
    if (provider === 'cooledge') {
      body = cooledgeEvent('job.completed', { job_id: randomUUID(), ...(change as JsonObject) });
      response = await world.postCooledge(body);
    } else {
      const overrides = change as { data?: JsonObject; envelope?: JsonObject };
      body = zenbookerEvent('job.completed', {
        data: { ...overrides.data },
        envelope: { ...overrides.envelope },
      });
      response = await world.postZenbooker(body);
    }
    expect(response.statusCode).toBe(202);
    expect(response.json).toMatchObject({
      status: 'quarantined',
      issues: expect.arrayContaining([expect.objectContaining({ path })]),
    });
    await world.drain();
    const key = provider === 'cooledge' ? (body.event_id as string) : eventKey(body);
    const stored = await world.event(provider, key);
    expect(stored).toMatchObject({ outcome: 'quarantined', rawBody: JSON.stringify(body) });
    expect(await world.allJobs()).toEqual([]);
  });
});

describe('prototype pollution attempts', () => {
  let world: World;
  beforeAll(async () => {
    world = await World.create();
  });
  afterAll(() => world.sqs.destroy());

  const polluting = '"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}';

  it('stores a Cooledge event carrying __proto__ and constructor keys byte for byte and pollutes nothing', async () => {
    const jobId = randomUUID();
    const base = JSON.stringify(cooledgeEvent('job.completed', { job_id: jobId }));
    const raw = `{${polluting},"customer":{${polluting}},${base.slice(1)}`;
    const response = await world.postCooledge(raw);
    expect(response.statusCode).toBe(202);
    await world.drain();
    const event = await world.event('cooledge', JSON.parse(raw).event_id);
    expect(event).toMatchObject({ outcome: 'applied', rawBody: raw });
    expect((await world.job('cooledge', jobId))?.lastEventKey).toBe(JSON.parse(raw).event_id);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('keys and applies a Zenbooker event carrying __proto__ inside data, and pollutes nothing', async () => {
    const jobId = `1571382643450x${Date.now()}`;
    const base = JSON.stringify(zenbookerEvent('job.completed', { data: { id: jobId } }));
    const raw = `{${polluting},${base.slice(1).replace('"data":{', `"data":{${polluting},`)}`;
    const response = await world.postZenbooker(raw);
    expect(response.statusCode).toBe(202);
    expect(response.json.event_key).toBe(eventKey(JSON.parse(raw)));
    await world.drain();
    expect((await world.job('zenbooker', jobId))?.eventCount).toBe(1);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});
