import type { SignatureScheme } from './config.ts';
import type { WebhookCredentials } from './credentials.ts';
import { sha256Hex } from './crypto.ts';
import type { JobChange } from './job.ts';
import { canonicalJson, type JsonObject } from './json.ts';
import { idProblem } from './limits.ts';
import type { Issue } from './message.ts';

/** Longest event type kept: a label, listed and filtered on, never a key. */
export const maxEventTypeChars = 256;

/** The value when it is a string that can be an id (see `idProblem`), else `undefined`. */
export function idOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && idProblem(value) === undefined ? value : undefined;
}

/**
 * SHA-256 (hex) of the body's canonical form (`canonicalJson`), leaving out the fields that
 * change between deliveries of one event (Zenbooker's `retry_count`). Two deliveries under one
 * event key with the same fingerprint are the same event; with different ones, a conflict.
 */
export function fingerprint(body: JsonObject, deliveryFields: readonly string[] = []): string {
  const kept =
    deliveryFields.length === 0
      ? body
      : Object.fromEntries(Object.entries(body).filter(([key]) => !deliveryFields.includes(key)));
  return sha256Hex(canonicalJson(kept));
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
  | {
      ok: true;
      eventKey: string;
      eventType: string;
      accountId: string | undefined;
      /**
       * See {@link fingerprint}: kept with the dedupe marker to tell a redelivery from a conflict.
       * Only the consumer needs it, so a provider may compute it when read (a getter).
       */
      readonly fingerprint: string;
    }
  | { ok: false; detail: string };

export type Validation<E> = { ok: true; event: E } | { ok: false; issues: Issue[] };

/** What the consumer needs to know about a valid event. */
export interface EventFacts {
  accountId: string | undefined;
  /** Ids the event names (job, customer, invoice, …), for the event log. */
  entityIds: Record<string, string>;
  /**
   * The provider's own event time (ISO 8601 UTC, milliseconds), when it sends one (Zenbooker: the
   * job's own time for its stage, see `JobChange.stageTime`); otherwise the receive time stands in.
   * Only a time that passed `isEventTime`; checked against the clock by `admissionIssues`.
   */
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
