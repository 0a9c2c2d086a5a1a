import * as v from 'valibot';
import { type Binding, boundList, commaList, matchedCredential } from '#core/credentials';
import { safeEqual } from '#core/crypto';
import {
  amount,
  exactDifference,
  isoTime,
  type JobChange,
  type JobFields,
  jobNumberText,
  present,
} from '#core/job';
import { JsonNumber, type JsonObject } from '#core/json';
import { type EventFacts, fingerprint, idOrUndefined, type Provider, readEventType } from '#core/provider';
import { dateTime, id, isEventTime, jobNumber, money, toIssues } from '#core/validation';

// ---------------------------------------------------------------------------------------------
// Schemas. The envelope is undocumented (observed by integrators), the job object has two
// shapes (pre and post 2025-09-01): every field but the job id is optional, objects are loose.
// Ids are Bubble strings longer than 2^53: text, never numbers.
// ---------------------------------------------------------------------------------------------

const text = v.nullish(v.string());
/** A number the mapping does not store: one a double would round is kept as it was sent. */
const num = v.nullish(v.union([v.number(), v.instance(JsonNumber)]));
const flag = v.nullish(v.boolean());
const time = v.nullish(dateTime);

const envelopeEntries = {
  account: id,
  event: v.pipe(v.string(), v.nonEmpty('an event name')),
  type: text,
  webhook_id: text,
  retry_count: num,
};

export const JobData = v.looseObject({
  id,
  job_number: jobNumber,
  status: text,
  canceled: flag,
  rescheduled: flag,
  timezone: text,
  start_date: time,
  end_date: time,
  started_at: time,
  completed_at: time,
  service_name: text,
  duration_seconds: num,
  estimated_duration_seconds: num,
  customer: v.nullish(v.looseObject({ id: text, name: text, email: text, phone: text })),
  /** Older shape. */
  location: v.nullish(v.looseObject({ address: text, unit: text })),
  /** 2025-09-01 shape. */
  service_address: v.nullish(v.looseObject({ formatted: text })),
  services: v.nullish(v.array(v.looseObject({ service_name: text }))),
  /** A string in the older shape, a list of `{text}` in the newer one. */
  job_notes: v.nullish(v.union([v.string(), v.array(v.looseObject({ text: text }))])),
  invoice: v.nullish(
    v.looseObject({
      id: text,
      status: text,
      total: money,
      total_price: money,
      subtotal: num,
      amount_paid: money,
      paid: flag,
    }),
  ),
});

export const JobEvent = v.looseObject({ ...envelopeEntries, data: JobData });

/** Invoice, customer, recurring booking and unknown events: the envelope and an object of data. */
export const OtherEvent = v.looseObject({ ...envelopeEntries, data: v.looseObject({ job_id: text }) });

export type ZenbookerJobEvent = v.InferOutput<typeof JobEvent>;
export type ZenbookerEvent = ZenbookerJobEvent | v.InferOutput<typeof OtherEvent>;

/** Every `job.*` event is a job change, whatever the spelling (`job.enroute`, `job.en_route`, …). */
export function isJobEvent(name: unknown): boolean {
  return typeof name === 'string' && name.startsWith('job.');
}

// ---------------------------------------------------------------------------------------------
// Event key
// ---------------------------------------------------------------------------------------------

/**
 * Zenbooker sends no event id and `webhook_id` may identify the subscription, so the key is the
 * SHA-256 of the canonical payload without `retry_count`: a retry of one delivery is a duplicate,
 * two real changes (which differ somewhere in the job) are not.
 */
export function eventKey(body: JsonObject): string {
  return fingerprint(body, deliveryFields);
}

/** Envelope fields that change between deliveries of one event. */
const deliveryFields = ['retry_count'] as const;

// ---------------------------------------------------------------------------------------------
// Mapping to the canonical job
// ---------------------------------------------------------------------------------------------

/** Spellings seen for one status, after lower-casing and joining words with `_` (docs/providers.md). */
const statusSpellings: Record<string, string> = {
  enroute: 'en_route',
  complete: 'completed',
  cancelled: 'canceled',
};

/**
 * Where a status puts a job in its lifecycle, higher is later. Zenbooker sends no event time, so a
 * late delivery (a retry after our 503, or deliveries arriving out of order) could otherwise move a
 * job back: a job never goes from a stage to a lower one. Completed and canceled are both final;
 * between them a completion that carries `completed_at` sorts after a cancellation, which carries
 * no time of its own (see `lifecycleOrder`). A job event whose status is missing or not listed is
 * at the first stage: nothing says the job got further.
 */
const lifecycleStages: Record<string, number> = {
  scheduled: 1,
  rescheduled: 1,
  en_route: 2,
  started: 3,
  in_progress: 3,
  completed: 4,
  canceled: 4,
};

/**
 * The job's own time for the stage an event reports (`completed_at` for a completed job,
 * `started_at` for a started one), when it passes `isEventTime`; within a stage it orders before
 * the receive time (see `lifecycleOrder`).
 */
function stageTime(status: string | undefined, data: v.InferOutput<typeof JobData>): string | undefined {
  const time =
    status === 'completed'
      ? data.completed_at
      : status === 'started' || status === 'in_progress'
        ? data.started_at
        : undefined;
  return typeof time === 'string' && isEventTime(time) ? isoTime(time) : undefined;
}

function normaliseStatus(
  status: string | null | undefined,
  canceled: boolean | null | undefined,
): string | undefined {
  if (canceled === true) return 'canceled';
  const words = status
    ?.trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
  if (!words) return undefined;
  return Object.hasOwn(statusSpellings, words) ? statusSpellings[words] : words;
}

export function jobFields(data: v.InferOutput<typeof JobData>): JobFields {
  const notes = Array.isArray(data.job_notes)
    ? data.job_notes
        .map((n) => n.text)
        .filter((t): t is string => typeof t === 'string' && t !== '')
        .join('\n')
    : data.job_notes;
  const address =
    data.service_address?.formatted ||
    (data.location?.address
      ? [data.location.unit, data.location.address].filter(Boolean).join(', ')
      : undefined);
  const total = data.invoice?.total ?? data.invoice?.total_price;
  const paid = data.invoice?.amount_paid;
  return present<JobFields>({
    status: normaliseStatus(data.status, data.canceled),
    canceled: data.canceled,
    jobNumber: jobNumberText(data.job_number),
    customerId: data.customer?.id,
    customerName: data.customer?.name,
    customerEmail: data.customer?.email,
    customerPhone: data.customer?.phone,
    description: notes || undefined,
    scheduledStart: isoTime(data.start_date),
    scheduledEnd: isoTime(data.end_date),
    startedAt: isoTime(data.started_at),
    completedAt: isoTime(data.completed_at),
    timezone: data.timezone,
    address,
    serviceName: data.service_name ?? data.services?.find((s) => s.service_name)?.service_name,
    total: amount(total),
    amountPaid: amount(paid),
    amountDue:
      typeof total === 'number' && typeof paid === 'number' ? exactDifference(total, paid) : undefined,
  });
}

/**
 * A `job.*` event changes its job. Other events (invoices, customers) are recorded, naming the job
 * they carry in the record's entity ids: they hold no job state, and as the job's latest event they
 * would only displace its payload.
 */
function jobChange(event: ZenbookerEvent): JobChange | undefined {
  if (!isJobEvent(event.event)) return undefined;
  const data = (event as ZenbookerJobEvent).data;
  const fields = jobFields(data);
  const status = fields.status;
  const stage =
    (status !== undefined && Object.hasOwn(lifecycleStages, status) && lifecycleStages[status]) || 1;
  const time = stageTime(status, data);
  return { jobId: data.id, fields, stage, ...(time === undefined ? {} : { stageTime: time }) };
}

// ---------------------------------------------------------------------------------------------
// The provider
// ---------------------------------------------------------------------------------------------

/**
 * Zenbooker's entry in the credentials: the URL tokens in force (several during a rotation), each a
 * string or `{"token": "…", "accounts": ["<account>", …]}` (bound to those Zenbooker accounts). Read
 * as `{tokens: string[], bindings?}` (see `boundList`).
 */
export const ZenbookerCredentials = boundList(
  'tokens',
  'token',
  v.pipe(
    v.string(),
    v.regex(/^[A-Za-z0-9_-]{24,}$/, 'a token of at least 24 URL-safe characters ([A-Za-z0-9_-])'),
  ),
  'at least one token',
);
export type ZenbookerCredentials = v.InferOutput<typeof ZenbookerCredentials>;

/** Zenbooker: unsigned JSON deliveries, authenticated by an unguessable token in the URL path. */
export const zenbooker: Provider<ZenbookerEvent, ZenbookerCredentials> = {
  name: 'zenbooker',
  title: 'Zenbooker',
  route: { parameter: { name: 'token', secret: true } },
  credentials: {
    schema: ZenbookerCredentials,
    env: {
      variable: 'ZENBOOKER_WEBHOOK_TOKENS',
      parse: (text) => ({ tokens: commaList(text) }),
      dev: 'zbk_local_dev_0123456789abcdefghij',
      flag: 'token',
    },
    legacy: { key: 'zenbookerTokens', entry: (tokens) => ({ tokens }) },
  },
  settings: {},
  keptHeaders: ['content-type', 'user-agent'],
  setup: 'Paste into Zenbooker with {token} replaced by one of the tokens in the credentials secret',

  authenticate(request, { credentials }) {
    const token = request.pathParameter;
    if (!token) return { ok: false, reason: 'token missing' };
    const matched: Binding[] = [];
    // Every configured token is compared, in constant time, so timing reveals neither which one
    // matched nor how much of a guess was right.
    for (const [index, candidate] of credentials.tokens.entries()) {
      if (safeEqual(token, candidate)) matched.push(credentials.bindings?.[index]);
    }
    return matchedCredential(matched, 'token mismatch');
  },

  envelope(body) {
    const read = readEventType(body.event, 'event');
    if (!read.ok) return read;
    // The account becomes part of an index key: a lone surrogate in it is refused whatever else
    // the body holds, as any id is (see `illFormedIdPath`).
    if (typeof body.account === 'string' && !body.account.isWellFormed()) {
      return { ok: false, detail: 'account must be well-formed Unicode (it holds a lone surrogate)' };
    }
    if (typeof body.data !== 'object' || body.data === null || Array.isArray(body.data)) {
      return { ok: false, detail: 'data must be a JSON object' };
    }
    const key = eventKey(body);
    // The key is the fingerprint: a different body is a different event, never a conflict.
    return {
      ok: true,
      eventKey: key,
      eventType: read.eventType,
      accountId: idOrUndefined(body.account),
      fingerprint: key,
    };
  },

  validate(body) {
    const result = v.safeParse(isJobEvent(body.event) ? JobEvent : OtherEvent, body);
    return result.success
      ? { ok: true, event: result.output }
      : { ok: false, issues: toIssues(result.issues) };
  },

  describe(event): EventFacts {
    const job = jobChange(event);
    const data = event.data as Record<string, unknown>;
    const entityIds: Record<string, string> = {};
    // Empty ids name nothing and are left out, as Cooledge's are.
    const jobId = job ? job.jobId : data.job_id;
    if (typeof jobId === 'string' && jobId !== '') entityIds.job_id = jobId;
    const customer = data.customer as { id?: unknown } | null | undefined;
    if (typeof customer?.id === 'string' && customer.id !== '') entityIds.customer_id = customer.id;
    if (!job && typeof data.id === 'string' && data.id !== '') entityIds.object_id = data.id;
    // No event time in the envelope: the job's own time for its stage, checked like any event
    // time (a completed_at far ahead of receipt quarantines the event), else the receive time.
    return { accountId: event.account, entityIds, occurredAt: job?.stageTime, job };
  },

  sender: async () => (await import('./zenbooker.sender.ts')).zenbookerSender,
};
