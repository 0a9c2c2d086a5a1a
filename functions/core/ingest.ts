import { parse as parseContentType } from 'content-type';
import { type CredentialsSource, unboundAccount } from './credentials.ts';
import { errorDescription, errorLogLine } from './errors.ts';
import { type HttpResponse, json, problem } from './http.ts';
import { type JsonObject, parseJsonObject } from './json.ts';
import { admissionIssues, illFormedIdDetail, illFormedIdPath } from './limits.ts';
import type { Queue, QueueMessage } from './message.ts';
import type { Clock, Logger, Metrics } from './ports.ts';
import type {
  AnyProvider,
  AuthResult,
  DeliveryRequest,
  EventFacts,
  Provider,
  Validation,
} from './provider.ts';
import { matchRoute } from './routes.ts';

/** An HTTP request as the ingest function sees it, whatever built it (API Gateway or the local server). */
export interface IngestRequest {
  method: string;
  path: string;
  /** Header names in any case; values comma-joined when repeated. */
  headers: Readonly<Record<string, string | undefined>>;
  body: string | undefined;
  isBase64Encoded: boolean;
}

export interface IngestDeps {
  /** The registry (`providers/index.ts`), by provider name. */
  providers: ReadonlyMap<string, AnyProvider>;
  /** Each provider's settings (`readSettings`), by provider name; a provider without any may be absent. */
  providerSettings: ReadonlyMap<string, unknown>;
  queue: Queue;
  credentials: CredentialsSource;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  maxBodyBytes: number;
  /** Seconds an event's own time may lie after its receipt before it is quarantined. */
  eventTimeSkewSeconds: number;
}

/** Seconds a provider is asked to wait before retrying after a 503. */
export const retryAfterSeconds = 30;

const unauthorized = () => problem(401, 'The request could not be authenticated.');

/**
 * Why a `Content-Type` is not one this receiver reads, or `undefined` when it is `application/json`
 * in UTF-8 (no charset, or `charset=utf-8`: RFC 8259 §8.1 makes UTF-8 JSON's only interchange
 * encoding). Parsed with the `content-type` package (RFC 7231 §3.1.1.1 syntax), so quoting and case
 * are handled as HTTP defines them rather than by a pattern.
 */
export function unsupportedContentType(header: string | undefined): string | undefined {
  let parsed: ReturnType<typeof parseContentType>;
  try {
    parsed = parseContentType(header ?? '');
  } catch {
    return 'Content-Type must be application/json.';
  }
  if (parsed.type !== 'application/json') return 'Content-Type must be application/json.';
  const charset = parsed.parameters.charset?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    return 'The body must be UTF-8: send charset=utf-8 or no charset.';
  }
  return undefined;
}

/**
 * One webhook delivery, in the order docs/http.md documents: route → method → size → content type →
 * authenticate the raw bytes → parse → dedupe key → account binding → validate and admit → enqueue →
 * respond. Nothing is stored before authentication passes (including, for a bound credential, the
 * event's account), and nothing is acknowledged before the queue holds it.
 */
export async function ingest(request: IngestRequest, deps: IngestDeps): Promise<HttpResponse> {
  const { logger, metrics } = deps;
  const route = matchRoute(request.path, deps.providers);
  if (!route) {
    metrics.count('RejectedNotFound');
    return problem(404, 'No webhook route at this path.');
  }
  const { provider } = route;
  const log = { provider: provider.name };
  if (request.method.toUpperCase() !== 'POST') {
    return problem(405, 'Webhooks are delivered with POST.', { allow: 'POST' });
  }

  const headers = lowerCaseHeaders(request.headers);
  const size = bodySize(request);
  if (size > deps.maxBodyBytes) {
    metrics.count('RejectedTooLarge');
    logger.warn('body too large', { ...log, size });
    return problem(413, `The body is larger than ${deps.maxBodyBytes} bytes.`);
  }
  const unsupported = unsupportedContentType(headers['content-type']);
  if (unsupported) {
    metrics.count('RejectedUnsupportedMediaType');
    return problem(415, unsupported);
  }

  const rawBody = decodeBody(request);
  const delivery: DeliveryRequest = { headers, pathParameter: route.pathParameter, rawBody };
  const now = deps.clock();
  const credentials = (await deps.credentials.get())[provider.name];
  const auth: AuthResult =
    credentials === undefined
      ? { ok: false, reason: 'provider not configured' }
      : provider.authenticate(delivery, {
          credentials,
          settings: deps.providerSettings.get(provider.name) ?? {},
          now,
        });
  if (!auth.ok) {
    metrics.count('RejectedUnauthorized');
    logger.warn('authentication failed', { ...log, reason: auth.reason });
    return unauthorized();
  }
  /** The 401 for an authentic event its bound credential may not write: the same as any other. */
  const notBound = (reason: string) => {
    metrics.count('RejectedUnauthorized');
    metrics.count('RejectedUnboundAccount');
    // The reason only: like every log line here, nothing read from the body (not even the account).
    logger.warn('authentication failed', { ...log, reason });
    return unauthorized();
  };

  const parsed = parseJsonObject(rawBody);
  if (!parsed.ok) {
    metrics.count('RejectedBadRequest');
    logger.warn('bad request', { ...log, detail: parsed.detail });
    return problem(400, parsed.detail);
  }
  const envelope = provider.envelope(parsed.value, delivery);
  if (!envelope.ok) {
    metrics.count('RejectedBadRequest');
    logger.warn('bad request', { ...log, detail: envelope.detail });
    return problem(400, envelope.detail);
  }
  const envelopeBinding = unboundAccount(auth, envelope.accountId);
  if (envelopeBinding) return notBound(envelopeBinding);

  const illFormedPath = illFormedIdPath(parsed.value);
  if (illFormedPath !== undefined) {
    const detail = `${illFormedPath} must be well-formed Unicode (it holds a lone surrogate)`;
    metrics.count('RejectedBadRequest');
    logger.warn('bad request', { ...log, detail: 'an id is not well-formed Unicode' });
    return problem(400, detail);
  }
  const admission = admit(provider, parsed.value, envelope.eventKey, now, deps);
  if (admission.illFormedId) {
    metrics.count('RejectedBadRequest');
    logger.warn('bad request', { ...log, detail: admission.illFormedId });
    return problem(400, admission.illFormedId);
  }
  // The account the mapping names is the envelope's for every provider so far; should one ever
  // differ, a bound credential must cover it too, since the consumer stores the event under it.
  const mappedBinding =
    admission.accountId === undefined ? undefined : unboundAccount(auth, admission.accountId);
  if (mappedBinding) return notBound(mappedBinding);
  const validation = admission.validation;
  const message: QueueMessage = {
    v: 1,
    provider: provider.name,
    eventKey: envelope.eventKey,
    eventType: envelope.eventType,
    receivedAt: now.toISOString(),
    bodyBase64: rawBody.toString('base64'),
    headers: keptHeaders(headers, provider.keptHeaders),
    ...(validation.ok ? {} : { issues: validation.issues }),
  };
  const logged = { ...log, eventKey: envelope.eventKey, eventType: envelope.eventType };

  try {
    await deps.queue.send(message);
  } catch (error) {
    metrics.count('EnqueueFailed');
    // Name, code, HTTP status and SQS's message: enough to tell a missing permission or queue (ours
    // to fix) from throttling or an outage (the provider's retry will do). Never the message body.
    logger.error('enqueue failed', { ...logged, error: errorLogLine(error) });
    return problem(503, 'The event could not be queued; retry later.', {
      'retry-after': String(retryAfterSeconds),
    });
  }

  if (!validation.ok) {
    metrics.count('Quarantined');
    logger.warn('event quarantined', { ...logged, issues: validation.issues.length });
    return json(202, {
      status: 'quarantined',
      provider: provider.name,
      event_key: envelope.eventKey,
      issues: validation.issues,
    });
  }
  logger.info('event accepted', logged);
  return json(202, { status: 'accepted', provider: provider.name, event_key: envelope.eventKey });
}

/**
 * Validation, then what storing the event needs: the ids it names (well-formed: else a 400, since
 * no record could keep two such ids apart; short enough for a key), numbers the job record keeps
 * exactly, an event time not ahead of the clock (see `admissionIssues`). A problem of the second
 * kind quarantines the event: it is stored, not applied, and can be replayed.
 */
function admit(
  provider: Provider,
  body: JsonObject,
  eventKey: string,
  now: Date,
  deps: IngestDeps,
): {
  validation: Validation<unknown>;
  illFormedId?: string;
  /** The account the provider's mapping names, when the event was valid and mapped. */
  accountId?: string;
} {
  const validation = provider.validate(body);
  if (!validation.ok) return { validation };
  let facts: EventFacts;
  try {
    facts = provider.describe(validation.event, { eventKey });
  } catch (error) {
    // A mapping bug: the consumer meets it again and records the event as unprocessable, kept.
    deps.logger.error('describe failed', { provider: provider.name, error: errorDescription(error) });
    return { validation };
  }
  const illFormedId = illFormedIdDetail(facts);
  if (illFormedId) return { validation, illFormedId };
  const issues = admissionIssues(facts, {
    reference: now.toISOString(),
    eventTimeSkewSeconds: deps.eventTimeSkewSeconds,
  });
  return {
    validation: issues.length === 0 ? validation : { ok: false, issues },
    ...(facts.accountId === undefined ? {} : { accountId: facts.accountId }),
  };
}

/** Any failure the pipeline did not anticipate: the provider must retry, and nothing leaks. */
export function internalError(): HttpResponse {
  return problem(503, 'The event could not be processed; retry later.', {
    'retry-after': String(retryAfterSeconds),
  });
}

function lowerCaseHeaders(headers: IngestRequest['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    out[key] = out[key] === undefined ? value : `${out[key]},${value}`;
  }
  return out;
}

function keptHeaders(headers: Record<string, string>, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = headers[name];
    // Well-formed after the cut, which may split a pair: the value is stored with the event.
    if (value !== undefined) out[name] = value.slice(0, 512).toWellFormed();
  }
  return out;
}

/** The decoded size, computed without decoding so an oversized body costs nothing. */
function bodySize(request: IngestRequest): number {
  const body = request.body ?? '';
  if (!request.isBase64Encoded) return Buffer.byteLength(body, 'utf8');
  const padding = body.endsWith('==') ? 2 : body.endsWith('=') ? 1 : 0;
  return Math.floor((body.length * 3) / 4) - padding;
}

function decodeBody(request: IngestRequest): Buffer {
  const body = request.body ?? '';
  return request.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
}
