import type { SignatureScheme } from './config.ts';
import type { WebhookCredentials } from './credentials.ts';
import type { JobChange } from './job.ts';
import type { JsonObject } from './json.ts';
import type { Issue } from './message.ts';

/**
 * Longest id, event key or event type kept: they become DynamoDB keys and index keys (2 KB at
 * most) and travel as SQS message attributes.
 */
export const maxIdChars = 256;

/** The value when it is a string short enough to be an id, else `undefined`. */
export function idOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && value.length <= maxIdChars ? value : undefined;
}

/** The parts of an HTTP request a provider needs to authenticate and identify a delivery. */
export interface DeliveryRequest {
  /** Lower-cased header names; duplicated headers arrive comma-joined, as API Gateway sends them. */
  headers: Readonly<Record<string, string | undefined>>;
  /** The path segment after `/webhooks/<provider>/`, for providers that authenticate by URL. */
  pathToken: string | undefined;
  /** The exact bytes received, after base64 decoding when API Gateway encoded them. */
  rawBody: Buffer;
}

export interface AuthSettings {
  credentials: WebhookCredentials;
  now: Date;
  signatureScheme: SignatureScheme;
  signatureToleranceSeconds: number;
}

/** `reason` is for logs and metrics only; every failure looks the same to the caller (no oracle). */
export type AuthResult = { ok: true } | { ok: false; reason: string };

/** What routing and dedupe need. Without it there is nothing to store under a key: a 400. */
export type Envelope =
  | { ok: true; eventKey: string; eventType: string; accountId: string | undefined }
  | { ok: false; detail: string };

export type Validation<E> = { ok: true; event: E } | { ok: false; issues: Issue[] };

/** What the consumer needs to know about a valid event. */
export interface EventFacts {
  accountId: string | undefined;
  /** Ids the event names (job, customer, invoice, …), for the event log. */
  entityIds: Record<string, string>;
  /** The provider's own event time, when it sends one; ordering falls back to receive time. */
  occurredAt: string | undefined;
  /** `undefined` for event types that do not touch a job: they are recorded only. */
  job: JobChange | undefined;
}

/**
 * Everything that differs between providers. Adding a provider means writing one module that
 * exports one of these and listing it in `providers/index.ts`.
 */
export interface Provider<E = unknown> {
  readonly name: string;
  /** `true` when the route carries a secret path segment (`/webhooks/<name>/{token}`). */
  readonly pathToken: boolean;
  /** Headers worth keeping with the event (never a signature or credential), lower-cased. */
  readonly keptHeaders: readonly string[];
  authenticate(request: DeliveryRequest, settings: AuthSettings): AuthResult;
  envelope(body: JsonObject, request: DeliveryRequest): Envelope;
  validate(body: JsonObject): Validation<E>;
  describe(event: E): EventFacts;
}
