import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import type { AnyProvider } from '#core/provider';
import { matchRoute, routePath } from '#core/routes';
import { providers as registry } from '#providers/index';

/**
 * A local stand-in for the API Gateway HTTP API in front of the ingest function: it turns each
 * request into the payload format 2.0 event API Gateway would send and maps the function's result
 * back to HTTP, so the handler runs here exactly as it runs in AWS.
 */

export type HttpApiHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2>;

/** API Gateway's own request limit: larger bodies never reach the function. */
export const apiGatewayMaxBodyBytes = 10 * 1024 * 1024;

/**
 * The route a request takes, as the stack declares them: one `ANY` route per provider of the
 * registry (`routePath`), matched by the ingest function's own `matchRoute`; anything else reaches
 * the function under `$default`.
 */
function routeFor(
  path: string,
  providers: ReadonlyMap<string, AnyProvider>,
): { template: string; parameters: Record<string, string> } | undefined {
  const matched = matchRoute(path, providers);
  if (!matched) return undefined;
  const parameter = matched.provider.route.parameter;
  return {
    template: routePath(matched.provider),
    parameters:
      parameter && matched.pathParameter !== undefined
        ? { [parameter.name]: safeDecode(matched.pathParameter) }
        : {},
  };
}

/**
 * HTTP APIs pass these bodies to the function as text; everything else (and a request without a
 * content type) arrives base64-encoded with `isBase64Encoded: true`. A textual body is only passed
 * as text when it is valid UTF-8 (see `eventBody`).
 */
const textualMediaType =
  /^(?:text\/[^;]+|application\/(?:json|[^;]+\+json|xml|[^;]+\+xml|javascript))\s*(?:;.*)?$/i;

export function isTextual(contentType: string | undefined): boolean {
  return contentType !== undefined && textualMediaType.test(contentType.trim());
}

export interface RequestFacts {
  method: string;
  /** Path and query string as received (`/a/b?x=1`). */
  url: string;
  /** Header names as received (any case), repeated headers as arrays. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer | undefined;
  sourceIp: string;
  /** Defaults to now. */
  now?: Date;
  requestId?: string;
}

/** Builds the API Gateway HTTP API (payload 2.0) event for one request. */
export function toApiGatewayEvent(
  request: RequestFacts,
  providers: ReadonlyMap<string, AnyProvider> = registry,
): APIGatewayProxyEventV2 {
  const now = request.now ?? new Date();
  const queryAt = request.url.indexOf('?');
  const rawPath = queryAt === -1 ? request.url : request.url.slice(0, queryAt);
  const rawQueryString = queryAt === -1 ? '' : request.url.slice(queryAt + 1);
  const method = request.method.toUpperCase();

  // Payload 2.0 lower-cases header names, joins repeated headers with commas and moves cookies out.
  const headers: Record<string, string> = {};
  let cookies: string[] = [];
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    const values = Array.isArray(value) ? value : [value];
    if (key === 'cookie') {
      cookies = cookies.concat(values.flatMap((v) => v.split(/;\s*/)).filter((c) => c !== ''));
      continue;
    }
    const joined = values.join(',');
    headers[key] = headers[key] === undefined ? joined : `${headers[key]},${joined}`;
  }

  // As the stack declares them: any method, so the function answers a GET with its own 405.
  const matched = routeFor(rawPath, providers);
  const routeKey = matched ? `ANY ${matched.template}` : '$default';
  const query = queryParameters(rawQueryString);
  const host = headers.host ?? 'localhost';
  const domainName = host.replace(/:\d+$/, '');
  const body = request.body && request.body.length > 0 ? request.body : undefined;
  const encoded = body === undefined ? undefined : eventBody(body, headers['content-type']);

  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(query ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName,
      domainPrefix: domainName.split('.')[0] ?? domainName,
      http: {
        method,
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: request.requestId ?? randomBytes(10).toString('base64url'),
      routeKey,
      stage: '$default',
      time: clfTime(now),
      timeEpoch: now.getTime(),
    },
    ...(matched && Object.keys(matched.parameters).length > 0 ? { pathParameters: matched.parameters } : {}),
    ...(encoded === undefined ? {} : { body: encoded.body }),
    isBase64Encoded: encoded?.isBase64Encoded ?? false,
  };
}

/**
 * The event's `body` for these bytes, which the function must be able to recover exactly: the
 * signature is over them, and whether they are acceptable (charset, UTF-8) is the handler's call,
 * not this stand-in's. A textual body that is not valid UTF-8 is therefore base64-encoded, as for a
 * binary type, because `toString('utf8')` would replace its bad bytes with U+FFFD. A valid one is
 * passed as text; `toString` keeps a leading BOM (a `TextDecoder` would drop it unless `ignoreBOM`).
 */
function eventBody(
  body: Buffer,
  contentType: string | undefined,
): { body: string; isBase64Encoded: boolean } {
  return isTextual(contentType) && isUtf8(body)
    ? { body: body.toString('utf8'), isBase64Encoded: false }
    : { body: body.toString('base64'), isBase64Encoded: true };
}

function queryParameters(raw: string): Record<string, string> | undefined {
  if (raw === '') return undefined;
  const out: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(raw)) {
    out[name] = out[name] === undefined ? value : `${out[name]},${value}`;
  }
  return out;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `17/Jun/2026:14:38:55 +0000`, the format of `requestContext.time`. */
function clfTime(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(
    date.getUTCHours(),
  )}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

export interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  cookies: string[];
  body: Buffer;
}

/**
 * Maps a function result to HTTP as API Gateway does for payload 2.0: a structured result is used
 * as is (base64 bodies decoded); anything else is taken as a 200 JSON body.
 */
export function fromApiGatewayResult(result: APIGatewayProxyResultV2): HttpResult {
  if (typeof result === 'object' && result !== null && 'statusCode' in result) {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(result.headers ?? {}))
      headers[name.toLowerCase()] = String(value);
    const raw = result.body ?? '';
    return {
      statusCode: result.statusCode ?? 200,
      headers,
      cookies: result.cookies ?? [],
      body: result.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8'),
    };
  }
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    cookies: [],
    body: Buffer.from(typeof result === 'string' ? result : JSON.stringify(result)),
  };
}

export interface AccessLogEntry {
  method: string;
  /** The route template for matched routes, `noRoute` for the rest: a path token never reaches a log. */
  route: string;
  status: number;
  ms: number;
}

export interface LocalServerOptions {
  handler: HttpApiHandler;
  port: number;
  host?: string;
  maxBodyBytes?: number;
  /** The providers whose routes the stack declares; the registry unless a test brings its own. */
  providers?: ReadonlyMap<string, AnyProvider>;
  onRequest?: (entry: AccessLogEntry) => void;
  onError?: (error: unknown) => void;
}

export interface LocalServer {
  readonly url: string;
  readonly port: number;
  /** Requests being handled right now. */
  inFlight(): number;
  /** Stops accepting, waits for the requests in flight (up to `graceMs`), then closes. */
  close(graceMs?: number): Promise<void>;
}

const tooLarge = JSON.stringify({ message: 'Request Entity Too Large' });

/** Starts the HTTP server; rejects with `EADDRINUSE` and friends when it cannot listen. */
export async function startLocalServer(options: LocalServerOptions): Promise<LocalServer> {
  const maxBodyBytes = options.maxBodyBytes ?? apiGatewayMaxBodyBytes;
  const providers = options.providers ?? registry;
  let active = 0;
  let idle: (() => void) | undefined;

  const server: Server = createServer((req, res) => {
    active += 1;
    const started = performance.now();
    res.once('close', () => {
      active -= 1;
      if (active === 0) idle?.();
    });
    handle(req, res)
      .catch((error: unknown) => {
        options.onError?.(error);
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ message: 'Internal Server Error' }));
        } else res.destroy();
      })
      .finally(() => {
        const event = routeOf(req, providers);
        options.onRequest?.({
          method: req.method ?? '',
          route: event,
          status: res.statusCode,
          ms: performance.now() - started,
        });
      });
  });
  server.keepAliveTimeout = 5_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBodyBytes) {
      req.resume();
      return send(res, 413, tooLarge, { connection: 'close' });
    }
    const body = await readBody(req, maxBodyBytes);
    if (body === 'too-large') return send(res, 413, tooLarge, { connection: 'close' });
    const event = toApiGatewayEvent(
      {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: req.headersDistinct,
        body,
        sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
      },
      providers,
    );
    const result = fromApiGatewayResult(await options.handler(event));
    const headers: Record<string, string | string[]> = { ...result.headers };
    if (result.cookies.length > 0) headers['set-cookie'] = result.cookies;
    headers['content-length'] = String(result.body.length);
    headers['apigw-requestid'] = event.requestContext.requestId;
    res.writeHead(result.statusCode, headers);
    res.end(result.body);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host ?? '127.0.0.1';
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;

  return {
    url: `http://${shownHost}:${port}`,
    port,
    inFlight: () => active,
    close: async (graceMs = 10_000) => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (active > 0) {
        await Promise.race([
          new Promise<void>((resolve) => {
            idle = resolve;
          }),
          new Promise((resolve) => setTimeout(resolve, graceMs).unref()),
        ]);
      }
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Reads the body, giving up (and draining the rest) once it exceeds the limit. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => {
      if (!over) resolve(Buffer.concat(chunks));
    });
    req.once('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

/** What the access log shows for a request that matched no route. */
export const noRoute = '(no route)';

/**
 * The route template a request matched (`/webhooks/zenbooker/{token}`), or `noRoute`: never the
 * path itself, which holds a route's secret parameter (a token) or may hold a real token sent to a
 * wrong path (`POST /webhooks/<token>`). The deployed API's access log omits the path too.
 */
function routeOf(req: IncomingMessage, providers: ReadonlyMap<string, AnyProvider>): string {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  return routeFor(path, providers)?.template ?? noRoute;
}
