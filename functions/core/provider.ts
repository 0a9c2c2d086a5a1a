import type * as v from 'valibot';
import { sha256Hex } from './crypto.ts';
import type { JobChange } from './job.ts';
import { canonicalJson, type JsonObject } from './json.ts';
import { idProblem } from './limits.ts';
import type { Issue } from './message.ts';

/** Longest event type kept: a label, listed and filtered on, never a key. */
export const maxEventTypeChars = 256;

/**
 * The event type in `value`, the body's field `field`, or the 400's detail when it cannot be one:
 * it must be non-empty text, well-formed Unicode, at most `maxEventTypeChars` characters.
 */
export function readEventType(
  value: unknown,
  field: string,
): { ok: true; eventType: string } | { ok: false; detail: string } {
  if (typeof value !== 'string' || value.trim() === '') {
    return { ok: false, detail: `${field} must be a non-empty string` };
  }
  if (value.length > maxEventTypeChars || !value.isWellFormed()) {
    return {
      ok: false,
      detail: `${field} must be well-formed Unicode of at most ${maxEventTypeChars} characters`,
    };
  }
  return { ok: true, eventType: value };
}

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
  /**
   * The path segment after `/webhooks/<provider>/`, for providers whose route has one (see
   * `ProviderRoute`): Zenbooker's token, a Standard Webhooks source name.
   */
  pathParameter: string | undefined;
  /** The exact bytes received, after base64 decoding when API Gateway encoded them. */
  rawBody: Buffer;
}

/** What `authenticate` is given besides the request: this provider's own entry and settings. */
export interface AuthContext<C, S> {
  /** The provider's entry of the credentials in force (see `ProviderCredentials`). */
  credentials: C;
  /** The provider's settings, read at cold start (see `ProviderSetting`). */
  settings: S;
  now: Date;
}

/**
 * `reason` is for logs and metrics only; every failure looks the same to the caller (no oracle).
 * `accounts`: the credential that matched is bound to these business or account ids, and ingest
 * stores the event only if it names one of them (see `Binding` in core/credentials.ts); absent, the
 * credential is unbound (any account).
 */
export type AuthResult = { ok: true; accounts?: readonly string[] } | { ok: false; reason: string };

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
  /**
   * The event time exactly as sent, when it may be finer than `occurredAt`'s milliseconds: the job
   * is ordered by all of it (`eventTimeOrder`).
   */
  occurredAtAsSent?: string;
  /** `undefined` for event types that do not touch a job: they are recorded only. */
  job: JobChange | undefined;
}

/**
 * Where a provider's deliveries arrive: `POST /webhooks/<name>`, or `POST /webhooks/<name>/{name of
 * the parameter}` when the route has a path parameter. A `secret` parameter is a credential (the
 * token of a URL-authenticated provider): it is never logged, printed or put in a stack output.
 */
export interface ProviderRoute {
  readonly parameter?: { readonly name: string; readonly secret: boolean };
}

/**
 * A provider's credentials: its entry in the credentials secret (`{"<provider name>": <entry>}`,
 * docs/http.md) and, for local runs, the environment variable that holds the same entry as text.
 */
export interface ProviderCredentials<C> {
  /** Validates the entry; its messages must never quote a value (they are logged). */
  readonly schema: v.GenericSchema<unknown, C>;
  /** The local environment variable (e.g. `COOLEDGE_WEBHOOK_SECRETS`) and how its text is read. */
  readonly env: {
    readonly variable: string;
    /** The entry the variable's text stands for (not validated yet: `schema` does that). */
    parse(text: string): unknown;
    /** What the local stack uses when the variable is unset: a public, made-up value. */
    readonly dev: string;
    /** The `cli send` flag that gives the same text (`--secret`), when the provider has one. */
    readonly flag?: string;
    /** The text's form, for help and errors (`<source>=<whsec_…> pairs`); default: values. */
    readonly format?: string;
  };
  /**
   * The top-level key of the secret's first shape (`cooledgeSecrets`, a list of values), still
   * read so a deployed secret keeps working; `entry` turns its value into this provider's entry,
   * as that entry's one field (`{"secrets": value}`), so a problem's path can name the old key.
   */
  readonly legacy?: { readonly key: string; entry(value: unknown): unknown };
}

/**
 * One setting of a provider, read from the ingest function's environment at cold start and set
 * by a CDK context key of the same meaning (e.g. Cooledge's signature scheme).
 */
export interface ProviderSetting {
  /** The environment variable, e.g. `COOLEDGE_SIGNATURE_SCHEME`. */
  readonly variable: string;
  /** The CDK context key that sets it on a deployed stack, e.g. `signatureScheme`. */
  readonly context: string;
  /** The value when neither is given, as text. */
  readonly default: string;
  /** Checks and converts the text; messages say what is expected, never quote the value. */
  readonly schema: v.GenericSchema<string, unknown>;
  /** One line for docs and errors. */
  readonly description: string;
  /** The `cli send` flag that overrides it (`--scheme`), when it has one. */
  readonly flag?: string;
}

/**
 * How `cli send` and the tests deliver as the provider would: sample bodies and the signed
 * request. Tooling only, loaded on demand (see `ProviderModule.sender`): never in a Lambda's way.
 */
export interface ProviderSender<C = unknown, S = unknown> {
  /** Event types `send --type` offers, in the order a job's history goes through them. */
  readonly sampleTypes: readonly string[];
  /** The event types of one job's history, oldest first (a subset of `sampleTypes`). */
  readonly history: readonly string[];
  /** A sample body of `type` for the job `job` at step `step` of its history (see `SampleJob`). */
  sample(type: string, job: SampleJob, step: number): JsonObject;
  /** The body of a second delivery of the same event, as the provider would redeliver it. */
  redeliver(body: string): string;
  /** True when a body has this provider's shape (`send --file` without `--provider`). */
  recognises(body: JsonObject): boolean;
  /**
   * The request for one body: the path after the base URL (e.g. `/webhooks/zenbooker/<token>`) and
   * the headers that authenticate it, made with the first value of `credentials` at `now`.
   * `messageId` is the same for every delivery of one event (Standard Webhooks' `webhook-id`);
   * providers that identify events by their body ignore it.
   *
   * @throws Error when `credentials` hold no value to sign or address the request with.
   */
  request(
    body: Buffer,
    context: { credentials: C; settings: S; now: Date; messageId: string },
  ): { path: string; headers: Record<string, string> };
}

/** One made-up job that sample bodies tell the story of: shared so every provider's read alike. */
export interface SampleJob {
  /** Its index in the run, from 0: which business it belongs to, its job number. */
  index: number;
  /** The job's scheduled start; completion follows it, all before the send began. */
  start: Date;
  /** A made-up customer: name, phone, email on example.com. */
  person: { name: string; phone: string; email: string };
  /** Work done, as a short title and a sentence. */
  work: { title: string; details: string };
  service: string;
  address: string;
  /** A source of numbers in [0, 1) for the provider's own ids. */
  random: () => number;
  /**
   * The provider's ids for this job, made on first use and kept so every event of the job names the
   * same ones (e.g. `ids.job ??= randomUUID()`).
   */
  ids: Record<string, string>;
}

/**
 * Everything that differs between providers, in the provider's own module. Adding a provider
 * means writing that module and listing it in `providers/index.ts`: the routes, the stack's outputs,
 * the local server, the credentials' shape, `cli send` and the test matrix follow from the list.
 */
export interface Provider<E = unknown, C = unknown, S = unknown> {
  /** Lower case letters, digits and `-`: the route's segment and the prefix of every key. */
  readonly name: string;
  /** As people write it, e.g. `Cooledge`. */
  readonly title: string;
  readonly route: ProviderRoute;
  readonly credentials: ProviderCredentials<C>;
  /** Settings by the name the provider reads them under (see `readSettings` in core/config.ts). */
  readonly settings: Readonly<Record<string, ProviderSetting>>;
  /** Headers worth keeping with the event (never a signature or credential), lower-cased. */
  readonly keptHeaders: readonly string[];
  /** The stack output's description: where to paste the URL, which credential goes with it. */
  readonly setup: string;
  authenticate(request: DeliveryRequest, context: AuthContext<C, S>): AuthResult;
  envelope(body: JsonObject, request: DeliveryRequest): Envelope;
  validate(body: JsonObject): Validation<E>;
  /**
   * What the consumer needs to know about a valid event. `delivery.eventKey` is the key the
   * envelope made at ingest (the queue message carries it): a provider whose ids are only unique
   * within a part of its key (a Standard Webhooks source) qualifies them with it.
   */
  describe(event: E, delivery: { eventKey: string }): EventFacts;
  /** The tooling side, loaded when asked for (an import the Lambda bundles never evaluate). */
  sender(): Promise<ProviderSender<C, S>>;
}

/** Any provider, as the registry holds them. */
// biome-ignore lint/suspicious/noExplicitAny: a registry of providers of different event, credential and setting types
export type AnyProvider = Provider<any, any, any>;
