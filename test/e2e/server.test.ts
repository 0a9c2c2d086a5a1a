import { request } from 'node:http';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AccessLogEntry,
  fromApiGatewayResult,
  type LocalServer,
  startLocalServer,
  toApiGatewayEvent,
} from '../../local/server.ts';

const now = new Date('2026-06-17T14:38:55.904Z');

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
      routeKey: 'POST /webhooks/zenbooker/{token}',
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
        routeKey: 'POST /webhooks/zenbooker/{token}',
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
    const body = Buffer.from([0x7b, 0xff, 0x7d]);
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

  it('sends unmatched routes and methods to $default without a body when there is none', () => {
    const event = toApiGatewayEvent({
      method: 'GET',
      url: '/webhooks/cooledge',
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
