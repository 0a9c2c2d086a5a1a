import { isUtf8 } from 'node:buffer';
import { request } from 'node:http';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { routePath } from '#core/routes';
import { sign } from '#providers/cooledge';
import { providers, registry } from '#providers/index';
import {
  type AccessLogEntry,
  fromApiGatewayResult,
  type LocalServer,
  noRoute,
  startLocalServer,
  toApiGatewayEvent,
} from '../../local/server.ts';
import { fakeIngest } from '../support/ingest-harness.ts';
import { testProvider } from '../support/test-provider.ts';

const now = new Date('2026-06-17T14:38:55.904Z');

/** The bytes the function recovers from an event body, as `functions/core/ingest.ts` decodes it. */
const bytesOf = (event: APIGatewayProxyEventV2) =>
  event.body === undefined
    ? Buffer.alloc(0)
    : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');

/** `{"a":"é"}` with the é in ISO-8859-1: one byte, 0xE9, which is not valid UTF-8. */
const latin1Json = Buffer.from('{"a":"\xe9"}', 'latin1');
const bom = Buffer.from([0xef, 0xbb, 0xbf]);

const postBody = (body: Buffer, contentType = 'application/json') =>
  toApiGatewayEvent({
    method: 'POST',
    url: '/webhooks/cooledge',
    headers: { 'content-type': contentType },
    body,
    sourceIp: '127.0.0.1',
  });

describe('local API Gateway: request → payload 2.0 event', () => {
  it('builds the event for the token route like an HTTP API', () => {
    const event = toApiGatewayEvent({
      method: 'post',
      url: '/webhooks/zenbooker/tok%5Fen?a=1&b=2&a=3',
      headers: {
        Host: 'localhost:3000',
        'Content-Type': 'application/json; charset=utf-8',
        'X-Repeated': ['one', 'two'],
        Cookie: 'a=1; b=2',
        'User-Agent': 'Zenbooker',
      },
      body: Buffer.from('{"x":1}'),
      sourceIp: '10.0.0.1',
      now,
      requestId: 'req-1',
    });
    expect(event).toEqual({
      version: '2.0',
      routeKey: 'ANY /webhooks/zenbooker/{token}',
      rawPath: '/webhooks/zenbooker/tok%5Fen',
      rawQueryString: 'a=1&b=2&a=3',
      cookies: ['a=1', 'b=2'],
      headers: {
        host: 'localhost:3000',
        'content-type': 'application/json; charset=utf-8',
        'x-repeated': 'one,two',
        'user-agent': 'Zenbooker',
      },
      queryStringParameters: { a: '1,3', b: '2' },
      requestContext: {
        accountId: '000000000000',
        apiId: 'local',
        domainName: 'localhost',
        domainPrefix: 'localhost',
        http: {
          method: 'POST',
          path: '/webhooks/zenbooker/tok%5Fen',
          protocol: 'HTTP/1.1',
          sourceIp: '10.0.0.1',
          userAgent: 'Zenbooker',
        },
        requestId: 'req-1',
        routeKey: 'ANY /webhooks/zenbooker/{token}',
        stage: '$default',
        time: '17/Jun/2026:14:38:55 +0000',
        timeEpoch: now.getTime(),
      },
      pathParameters: { token: 'tok_en' },
      body: '{"x":1}',
      isBase64Encoded: false,
    } satisfies APIGatewayProxyEventV2);
  });

  it.each([
    ['application/octet-stream', true],
    ['application/x-www-form-urlencoded', true],
    [undefined, true],
    ['text/plain', false],
    ['application/json', false],
    ['application/cloudevents+json; charset=utf-8', false],
  ])('base64-encodes a %s body: %s', (contentType, encoded) => {
    const body = Buffer.from('{"é":"✓"}');
    const event = toApiGatewayEvent({
      method: 'POST',
      url: '/webhooks/cooledge',
      headers: contentType ? { 'content-type': contentType } : {},
      body,
      sourceIp: '127.0.0.1',
    });
    expect(event.isBase64Encoded).toBe(encoded);
    expect(event.body).toBe(encoded ? body.toString('base64') : body.toString('utf8'));
  });

  it('base64-encodes a JSON body that is not valid UTF-8, so the function gets the bytes sent', () => {
    expect(isUtf8(latin1Json)).toBe(false);
    const event = postBody(latin1Json, 'application/json; charset=latin1');
    expect(event.isBase64Encoded).toBe(true);
    expect(bytesOf(event)).toEqual(latin1Json);
  });

  it('passes a valid UTF-8 JSON body as text', () => {
    const body = Buffer.from('{"a":"é ✓ 😀"}');
    const event = postBody(body);
    expect(event).toMatchObject({ body: '{"a":"é ✓ 😀"}', isBase64Encoded: false });
    expect(bytesOf(event)).toEqual(body);
  });

  it('keeps a leading UTF-8 BOM, as text when the rest is UTF-8 and in base64 when not', () => {
    const text = postBody(Buffer.concat([bom, Buffer.from('{"a":1}')]));
    expect(text).toMatchObject({ body: '\uFEFF{"a":1}', isBase64Encoded: false });
    expect(bytesOf(text)).toEqual(Buffer.concat([bom, Buffer.from('{"a":1}')]));
    const binary = postBody(Buffer.concat([bom, latin1Json]));
    expect(binary.isBase64Encoded).toBe(true);
    expect(bytesOf(binary)).toEqual(Buffer.concat([bom, latin1Json]));
  });

  it('gives the function back exactly the bytes sent, whatever they are (property)', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.string({ unit: 'binary', maxLength: 32 }).map((s) => new Uint8Array(Buffer.from(s))),
    );
    const contentType = fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'application/json; charset=latin1',
      'APPLICATION/JSON',
      'application/cloudevents+json',
    );
    fc.assert(
      fc.property(fc.boolean(), bytes, contentType, (withBom, raw, type) => {
        const sent = Buffer.concat([withBom ? bom : Buffer.alloc(0), raw]);
        const event = postBody(sent, type);
        expect(bytesOf(event)).toEqual(sent);
        // Valid UTF-8 still goes as text, as API Gateway sends a textual type.
        if (sent.length > 0) expect(event.isBase64Encoded).toBe(!isUtf8(sent));
      }),
      { numRuns: 300 },
    );
  });

  it('routes any method on a declared path, as the stack declares ANY routes', () => {
    const event = toApiGatewayEvent({
      method: 'GET',
      url: '/webhooks/cooledge',
      headers: {},
      body: undefined,
      sourceIp: '::1',
    });
    expect(event).toMatchObject({ routeKey: 'ANY /webhooks/cooledge' });
  });

  it('declares one ANY route per provider of the registry, matched as the ingest function matches', () => {
    for (const provider of providers.values()) {
      const parameter = provider.route.parameter;
      const event = toApiGatewayEvent({
        method: 'POST',
        url: `/webhooks/${provider.name}${parameter ? '/a%2Db' : ''}`,
        headers: {},
        body: undefined,
        sourceIp: '::1',
      });
      expect(event.routeKey, provider.name).toBe(`ANY ${routePath(provider)}`);
      expect(event.pathParameters, provider.name).toEqual(
        parameter ? { [parameter.name]: 'a-b' } : undefined,
      );
      // A route with a parameter needs it; one without takes none.
      const other = toApiGatewayEvent({
        method: 'POST',
        url: `/webhooks/${provider.name}${parameter ? '' : '/extra'}`,
        headers: {},
        body: undefined,
        sourceIp: '::1',
      });
      expect(other.routeKey, provider.name).toBe('$default');
    }
  });

  it('routes the providers it is given, not only the registry', () => {
    const request = { method: 'POST', url: '/webhooks/test', headers: {}, body: undefined, sourceIp: '::1' };
    expect(toApiGatewayEvent(request).routeKey).toBe('$default');
    expect(toApiGatewayEvent(request, registry([...providers.values(), testProvider])).routeKey).toBe(
      'ANY /webhooks/test',
    );
  });

  it('sends unmatched paths to $default without a body when there is none', () => {
    const event = toApiGatewayEvent({
      method: 'GET',
      url: '/webhooks/nowhere',
      headers: {},
      body: undefined,
      sourceIp: '::1',
    });
    expect(event).toMatchObject({ routeKey: '$default', isBase64Encoded: false });
    expect(event).not.toHaveProperty('body');
    expect(event).not.toHaveProperty('pathParameters');
    expect(event).not.toHaveProperty('cookies');
  });

  it('maps a structured result back, decoding base64 bodies', () => {
    expect(
      fromApiGatewayResult({
        statusCode: 202,
        headers: { 'Content-Type': 'application/json' },
        body: Buffer.from('{"ok":true}').toString('base64'),
        isBase64Encoded: true,
        cookies: ['a=1'],
      }),
    ).toEqual({
      statusCode: 202,
      headers: { 'content-type': 'application/json' },
      cookies: ['a=1'],
      body: Buffer.from('{"ok":true}'),
    });
    expect(fromApiGatewayResult('hello')).toMatchObject({ statusCode: 200, body: Buffer.from('hello') });
  });
});

describe('local API Gateway: the HTTP server', () => {
  let server: LocalServer | undefined;
  afterEach(async () => {
    await server?.close(0);
    server = undefined;
  });

  function call(
    port: number,
    path: string,
    body: Buffer | undefined,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers, agent: false }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  it('invokes the handler with the event and answers with its result; logs the route, not the token', async () => {
    const seen: APIGatewayProxyEventV2[] = [];
    const log: AccessLogEntry[] = [];
    server = await startLocalServer({
      port: 0,
      handler: async (event) => {
        seen.push(event);
        return {
          statusCode: 202,
          headers: { 'content-type': 'application/json' },
          body: '{"status":"accepted"}',
        };
      },
      onRequest: (entry) => log.push(entry),
    });
    const response = await call(
      server.port,
      '/webhooks/zenbooker/secret-token-value',
      Buffer.from('{"a":1}'),
      {
        'content-type': 'application/json',
      },
    );
    expect(response).toMatchObject({ status: 202, body: '{"status":"accepted"}' });
    expect(response.headers['apigw-requestid']).toBe(seen[0]?.requestContext.requestId);
    expect(seen[0]).toMatchObject({ body: '{"a":1}', pathParameters: { token: 'secret-token-value' } });
    expect(log).toEqual([
      { method: 'POST', route: '/webhooks/zenbooker/{token}', status: 202, ms: expect.any(Number) },
    ]);
    expect(JSON.stringify(log)).not.toContain('secret-token-value');
  });

  it("logs each provider's route template, never a path parameter, for a registry of its own", async () => {
    const log: AccessLogEntry[] = [];
    const served = registry([...providers.values(), testProvider]);
    server = await startLocalServer({
      port: 0,
      providers: served,
      handler: async () => ({ statusCode: 202, body: '{}' }),
      onRequest: (entry) => log.push(entry),
    });
    const value = 'path_parameter_value_0123456789';
    for (const provider of served.values()) {
      const path = `/webhooks/${provider.name}${provider.route.parameter ? `/${value}` : ''}`;
      expect((await call(server.port, path, Buffer.from('{}'))).status, path).toBe(202);
    }
    expect(log.map((entry) => entry.route)).toEqual([...served.values()].map(routePath));
    expect(JSON.stringify(log)).not.toContain(value);
  });

  it('logs a request to no route as a placeholder, never its path, which may hold a real token', async () => {
    const token = 'zbk_real_token_0123456789abcdefghij';
    const log: AccessLogEntry[] = [];
    server = await startLocalServer({
      port: 0,
      handler: async () => ({ statusCode: 404, body: '{"message":"Not Found"}' }),
      onRequest: (entry) => log.push(entry),
    });
    const json = { 'content-type': 'application/json' };
    for (const path of [
      `/webhooks/${token}`,
      `/${token}`,
      `/webhooks/zenbooker/${token}/extra`,
      `/webhooks/zenbooker/${token}/`,
      `/${token}?token=${token}`,
      `/webhooks%2Fzenbooker%2F${token}`,
    ]) {
      expect((await call(server.port, path, Buffer.from('{}'), json)).status, path).toBe(404);
    }
    expect(log.map((entry) => entry.route)).toEqual(Array(6).fill(noRoute));
    expect(noRoute).toBe('(no route)');
    expect(JSON.stringify(log)).not.toContain(token);
    expect(JSON.stringify(log)).not.toContain(token.slice(0, 12));
  });

  it('passes a body that is not valid UTF-8 to the handler byte for byte', async () => {
    const seen: APIGatewayProxyEventV2[] = [];
    server = await startLocalServer({
      port: 0,
      handler: async (event) => {
        seen.push(event);
        return { statusCode: 204 };
      },
    });
    const sent = Buffer.concat([bom, latin1Json, Buffer.from([0xff, 0xc0, 0x80, 0xed, 0xa0, 0x80])]);
    const response = await call(server.port, '/webhooks/cooledge', sent, {
      'content-type': 'application/json',
    });
    expect(response.status).toBe(204);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.isBase64Encoded).toBe(true);
    expect(bytesOf(seen[0] as APIGatewayProxyEventV2)).toEqual(sent);
  });

  it('lets the ingest handler decide on a body that is not UTF-8: it authenticates the bytes sent', async () => {
    const secret = 'whsec_local_server_latin1_0001';
    const { handler, queue } = fakeIngest({ secret, token: 'zbk_local_server_token_000000000', now });
    server = await startLocalServer({ port: 0, handler });
    const raw = Buffer.concat([
      Buffer.from('{"event_id":"evt-latin1","event_type":"job.completed","note":"'),
      Buffer.from('caf\xe9', 'latin1'),
      Buffer.from('"}'),
    ]);
    const signature = sign(raw, secret, 'timestamped', now);

    // Signed over the real bytes: authentic, then refused as not UTF-8 (not 401 over altered bytes).
    const plain = await call(server.port, '/webhooks/cooledge', raw, {
      'content-type': 'application/json',
      'x-cooledge-signature': signature,
    });
    expect(plain.status).toBe(400);
    expect(JSON.parse(plain.body)).toMatchObject({ status: 400, detail: 'body is not valid UTF-8' });

    const declared = await call(server.port, '/webhooks/cooledge', raw, {
      'content-type': 'application/json; charset=latin1',
      'x-cooledge-signature': signature,
    });
    expect(declared.status).toBe(415);
    expect(declared.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(declared.body)).toMatchObject({
      status: 415,
      detail: 'The body must be UTF-8: send charset=utf-8 or no charset.',
    });
    expect(queue.messages).toEqual([]);
  });

  it('answers 413 without calling the handler when the body is over the limit', async () => {
    let calls = 0;
    server = await startLocalServer({
      port: 0,
      maxBodyBytes: 1024,
      handler: async () => {
        calls += 1;
        return { statusCode: 200 };
      },
    });
    const declared = await call(server.port, '/webhooks/cooledge', Buffer.alloc(2048, 0x20), {
      'content-type': 'application/json',
    });
    expect(declared.status).toBe(413);
    const chunked = await call(server.port, '/webhooks/cooledge', Buffer.alloc(4096, 0x20), {
      'content-type': 'application/json',
      'transfer-encoding': 'chunked',
    });
    expect(chunked.status).toBe(413);
    expect(calls).toBe(0);
  });

  it('finishes a request in flight when closed, then refuses new ones', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const running = await startLocalServer({
      port: 0,
      handler: async () => {
        await gate;
        return { statusCode: 202, body: 'done' };
      },
    });
    const inflight = call(running.port, '/webhooks/cooledge', Buffer.from('{}'), {
      'content-type': 'application/json',
    });
    while (running.inFlight() === 0) await new Promise((r) => setTimeout(r, 10));
    const closed = running.close(5_000);
    release();
    expect((await inflight).body).toBe('done');
    await closed;
    await expect(call(running.port, '/webhooks/cooledge', Buffer.from('{}'))).rejects.toThrow(/ECONNREFUSED/);
  });
});
