import { timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import * as v from 'valibot';
import { wholeNumberText } from '#core/config';
import { boundAccounts, commaList, onlyKeys } from '#core/credentials';
import { isoTime, type JobChange, type JobFields, jobNumberText, present } from '#core/job';
import { idProblem } from '#core/limits';
import {
  type AuthResult,
  type EventFacts,
  fingerprint,
  idOrUndefined,
  type Provider,
  readEventType,
} from '#core/provider';
import { dateTime, eventTime, id, isEventTime, jobNumber, money, toIssues } from '#core/validation';

/**
 * Standard Webhooks (https://www.standardwebhooks.com, spec 1.0.0): the public specification many
 * SaaS senders follow. Each sender is a *source* with its own route, `/webhooks/standard/{source}`,
 * and its own signing secrets. A delivery carries `webhook-id` (the idempotency key, the same on
 * every retry), `webhook-timestamp` (when this attempt was signed, in Unix seconds: it changes with
 * every retry) and `webhook-signature` (space-separated `v1,<base64 HMAC-SHA256>` over
 * `<id>.<timestamp>.<body>`, several during a secret rotation).
 *
 * Every authentic event is recorded in the event log under `<source>:<webhook-id>`. One shape also
 * changes a job: a `job.*` event whose `data` names a `job_id` (see `JobEvent`, docs/providers.md).
 */

// ---------------------------------------------------------------------------------------------
// Credentials and settings
// ---------------------------------------------------------------------------------------------

/** A source name: the route's last segment and the event keys' prefix. */
const sourceName = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * A symmetric signing secret as the spec serialises it: `whsec_` and the base64 of 24 to 64 random
 * bytes ("Signing secret: between 24 bytes and 64 bytes").
 */
const signingSecret = v.pipe(
  v.string(),
  v.check((text) => {
    const match = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(text);
    const bytes = match ? Buffer.from(match[1] as string, 'base64').length : 0;
    return bytes >= 24 && bytes <= 64;
  }, 'a signing secret: whsec_ and the base64 of 24 to 64 bytes'),
);

/**
 * One source: its signing secrets and, optionally, the accounts (`data.account_id`) its events may
 * name; without `accounts` the source is unbound (any account).
 */
const StandardSource = v.pipe(
  v.looseObject({
    secrets: v.pipe(v.array(signingSecret), v.minLength(1, 'at least one signing secret')),
    accounts: v.optional(boundAccounts),
  }),
  onlyKeys(['secrets', 'accounts']),
  v.transform(({ secrets, accounts }) => ({ secrets, ...(accounts === undefined ? {} : { accounts }) })),
);

/** Standard Webhooks' entry in the credentials: each source's signing secrets and binding. */
export const StandardCredentials = v.pipe(
  v.looseObject({
    sources: v.pipe(
      v.record(
        v.pipe(v.string(), v.regex(sourceName, 'a source name of lower case letters, digits and -')),
        StandardSource,
      ),
      v.check((sources) => Object.keys(sources).length > 0, 'at least one source'),
    ),
  }),
  onlyKeys(['sources']),
  v.transform(({ sources }) => ({ sources })),
);
export type StandardCredentials = v.InferOutput<typeof StandardCredentials>;

export interface StandardSettings {
  /** Seconds `webhook-timestamp` may lie from the clock, either way (the spec's replay defence). */
  toleranceSeconds: number;
}

/**
 * `STANDARD_WEBHOOK_SECRETS`: `<source>=<secret>` pairs, comma-separated; a source named twice has
 * both secrets (a rotation). Text that is not such a pair is kept so the schema names it.
 */
function sourcesFromText(text: string): unknown {
  const sources: Record<string, { secrets: string[] }> = {};
  for (const pair of commaList(text)) {
    const at = pair.indexOf('=');
    const name = at > 0 ? pair.slice(0, at).trim() : '';
    const secret = at > 0 ? pair.slice(at + 1).trim() : pair;
    const entry = Object.hasOwn(sources, name) ? (sources[name] as { secrets: string[] }) : { secrets: [] };
    entry.secrets.push(secret);
    sources[name] = entry;
  }
  return { sources };
}

// ---------------------------------------------------------------------------------------------
// Signature
// ---------------------------------------------------------------------------------------------

export interface StandardSignatureInput {
  headers: Readonly<Record<string, string | undefined>>;
  rawBody: Buffer;
  secrets: readonly string[];
  toleranceSeconds: number;
  now: Date;
}

/**
 * Verifies a delivery as the spec's "Verifying signatures" says: the three headers present,
 * `webhook-timestamp` within the tolerance of `now` either way, and one `v1` signature of the
 * header's list equal (in constant time) to one computed with an active secret. The signature
 * itself is computed by the `standardwebhooks` package (the spec's reference implementation); its
 * own `verify` is not used because it reads the clock itself (`Date.now()`, a fixed 5 minutes),
 * where this receiver judges every delivery against the one clock ingest runs on. Pure and total.
 */
export function verifyStandardSignature(input: StandardSignatureInput): AuthResult {
  const id = input.headers['webhook-id'];
  const timestamp = input.headers['webhook-timestamp'];
  const header = input.headers['webhook-signature'];
  if (!id || !timestamp || !header) return { ok: false, reason: 'signature missing' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'signature malformed' };
  const seconds = Number(timestamp);
  if (Math.abs(input.now.getTime() / 1000 - seconds) > input.toleranceSeconds) {
    return { ok: false, reason: 'signature timestamp outside tolerance' };
  }
  const candidates = header
    .split(' ')
    .filter((part) => part.startsWith('v1,'))
    .map((part) => Buffer.from(part.slice(3)));
  if (candidates.length === 0) return { ok: false, reason: 'signature malformed' };
  let matched = false;
  for (const secret of input.secrets) {
    const expected = Buffer.from(
      new Webhook(secret).sign(id, new Date(seconds * 1000), input.rawBody).slice(3),
    );
    for (const candidate of candidates) {
      // Every pair is compared (no early exit) so timing does not reveal which secret matched.
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) matched = true;
    }
  }
  return matched ? { ok: true } : { ok: false, reason: 'signature mismatch' };
}

// ---------------------------------------------------------------------------------------------
// Schemas. The spec recommends `{"type", "timestamp", "data"}`; only `type` is required of an
// event in general, so any sender's events are recorded. A `job.*` event changes a job, so it must
// be one: a job id and an event time (job events are ordered by it). Loose objects: senders add
// fields.
// ---------------------------------------------------------------------------------------------

const text = v.nullish(v.string());
const time = v.nullish(dateTime);

const envelopeEntries = {
  type: v.pipe(v.string(), v.nonEmpty('an event type')),
  /** The spec's event time ("when the event occurred, not necessarily when it was delivered"). */
  timestamp: v.optional(eventTime),
};

/**
 * The job shape this receiver knows: a `job.*` event whose `data` carries the canonical job
 * fields in snake case (docs/providers.md). `account_id` is the business the job belongs to.
 * `timestamp` is required: without it the receive time would order the job, and a late retry of an
 * older event would move the job back (the spec's `webhook-timestamp` changes on every retry).
 */
export const JobEvent = v.looseObject({
  type: v.pipe(v.string(), v.startsWith('job.', 'a job.* event type')),
  timestamp: eventTime,
  data: v.looseObject({
    job_id: id,
    account_id: v.optional(id),
    status: text,
    canceled: v.nullish(v.boolean()),
    job_number: jobNumber,
    customer_id: text,
    customer_name: text,
    customer_email: text,
    customer_phone: text,
    description: text,
    work_details: text,
    scheduled_start: time,
    scheduled_end: time,
    started_at: time,
    completed_at: time,
    timezone: text,
    address: text,
    service_name: text,
    total: money,
    amount_paid: money,
    amount_due: money,
  }),
});

/**
 * Any other event: the type is checked, the event is recorded. Its `timestamp` orders nothing, so
 * one in another form (Unix seconds, say) is kept as sent rather than quarantining the event.
 */
export const OtherEvent = v.looseObject({
  type: envelopeEntries.type,
  timestamp: v.optional(v.unknown()),
  data: v.optional(v.looseObject({ account_id: v.optional(id) })),
});

export type StandardEvent = v.InferOutput<typeof JobEvent> | v.InferOutput<typeof OtherEvent>;

/** A `job.*` type: validated as a job event (a job id and a time, or quarantined). */
function isJobEvent(event: { type?: unknown }): event is v.InferOutput<typeof JobEvent> {
  return typeof event.type === 'string' && event.type.startsWith('job.');
}

/**
 * The job's id: the sender's `job_id` under its source (`acme:1001`). Sources are separate senders
 * whose ids are unique only to themselves (often short or sequential), so one source must never
 * write, or claim for its account, another's job; the event key is qualified the same way.
 */
function jobId(event: v.InferOutput<typeof JobEvent>, eventKey: string): string {
  const at = eventKey.indexOf(':');
  return at > 0 ? `${eventKey.slice(0, at)}:${event.data.job_id}` : event.data.job_id;
}

function jobChange(event: v.InferOutput<typeof JobEvent>, eventKey: string): JobChange {
  const d = event.data;
  return {
    jobId: jobId(event, eventKey),
    fields: present<JobFields>({
      status: d.status,
      canceled: d.canceled,
      jobNumber: jobNumberText(d.job_number),
      customerId: d.customer_id,
      customerName: d.customer_name,
      customerEmail: d.customer_email,
      customerPhone: d.customer_phone,
      description: d.description,
      workDetails: d.work_details,
      scheduledStart: isoTime(d.scheduled_start),
      scheduledEnd: isoTime(d.scheduled_end),
      startedAt: isoTime(d.started_at),
      completedAt: isoTime(d.completed_at),
      timezone: d.timezone,
      address: d.address,
      serviceName: d.service_name,
      total: d.total,
      amountPaid: d.amount_paid,
      amountDue: d.amount_due,
    }),
  };
}

// ---------------------------------------------------------------------------------------------
// The provider
// ---------------------------------------------------------------------------------------------

/** Standard Webhooks senders, one route and set of secrets per source. */
export const standard: Provider<StandardEvent, StandardCredentials, StandardSettings> = {
  name: 'standard',
  title: 'Standard Webhooks',
  route: { parameter: { name: 'source', secret: false } },
  credentials: {
    schema: StandardCredentials,
    env: {
      variable: 'STANDARD_WEBHOOK_SECRETS',
      parse: sourcesFromText,
      dev: 'local=whsec_bG9jYWwtZGV2LXN0YW5kYXJkLXdlYmhvb2tzLWtleQ==',
      flag: 'source-secret',
      format: '<source>=<whsec_…> pairs',
    },
  },
  settings: {
    toleranceSeconds: {
      variable: 'STANDARD_WEBHOOK_TOLERANCE_SECONDS',
      context: 'standardWebhookToleranceSeconds',
      default: '300',
      schema: wholeNumberText(1, 86_400),
      description: 'seconds webhook-timestamp may lie from the clock, either way',
    },
  },
  keptHeaders: ['content-type', 'user-agent', 'webhook-id', 'webhook-timestamp'],
  setup:
    'Give each sender its own URL, {source} replaced by a name under "standard.sources" in the credentials secret, and that source\'s whsec_ signing secret',

  authenticate(request, { credentials, settings, now }) {
    const source = request.pathParameter;
    if (!source || !Object.hasOwn(credentials.sources, source))
      return { ok: false, reason: 'unknown source' };
    const entry = credentials.sources[source];
    const result = verifyStandardSignature({
      headers: request.headers,
      rawBody: request.rawBody,
      secrets: entry?.secrets ?? [],
      toleranceSeconds: settings.toleranceSeconds,
      now,
    });
    // The source is the unit of binding: its events may name only its accounts.
    return result.ok && entry?.accounts !== undefined ? { ok: true, accounts: entry.accounts } : result;
  },

  envelope(body, request) {
    // At ingest the route named the source and `webhook-id` is a header; the consumer reads the
    // envelope again from the body and kept headers for the account and fingerprint only.
    const webhookId = request.headers['webhook-id'] ?? '';
    const eventKey = `${request.pathParameter ?? ''}:${webhookId}`;
    const keyProblem = idProblem(eventKey);
    if (request.pathParameter !== undefined && keyProblem)
      return { ok: false, detail: `webhook-id ${keyProblem}` };
    const read = readEventType(body.type, 'type');
    if (!read.ok) return read;
    const data = body.data as { account_id?: unknown } | undefined;
    return {
      ok: true,
      eventKey,
      eventType: read.eventType,
      accountId: typeof data === 'object' && data !== null ? idOrUndefined(data.account_id) : undefined,
      // The spec resends the same body under one webhook-id: a different body is a conflict.
      get fingerprint() {
        return fingerprint(body);
      },
    };
  },

  validate(body) {
    const schema = isJobEvent(body) ? JobEvent : OtherEvent;
    const result = v.safeParse(schema, body);
    return result.success
      ? { ok: true, event: result.output as StandardEvent }
      : { ok: false, issues: toIssues(result.issues) };
  },

  describe(event, { eventKey }): EventFacts {
    const job = isJobEvent(event) ? jobChange(event, eventKey) : undefined;
    const time =
      typeof event.timestamp === 'string' && isEventTime(event.timestamp)
        ? isoTime(event.timestamp)
        : undefined;
    const data = (event as { data?: Record<string, unknown> }).data ?? {};
    const entityIds: Record<string, string> = {};
    if (job) entityIds.job_id = job.jobId;
    if (typeof data.id === 'string' && data.id !== '') entityIds.object_id = data.id;
    return {
      accountId: idOrUndefined(data.account_id),
      entityIds,
      occurredAt: time,
      ...(time === undefined ? {} : { occurredAtAsSent: event.timestamp as string }),
      job,
    };
  },

  sender: async () => (await import('./standard.sender.ts')).standardSender,
};
