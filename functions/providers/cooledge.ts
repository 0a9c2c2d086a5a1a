import { timingSafeEqual } from 'node:crypto';
import * as v from 'valibot';
import { type SignatureScheme, wholeNumberText } from '#core/config';
import { type Binding, boundList, commaList, matchedCredential } from '#core/credentials';
import { hmacSha256Hex } from '#core/crypto';
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
import { dateTime, eventTime, id, jobNumber, money, toIssues } from '#core/validation';

// ---------------------------------------------------------------------------------------------
// Schemas. Loose objects: Cooledge ships new fields and event types without a version bump.
// `nullish` where their docs say "or null" (and an absent key is treated the same way).
// ---------------------------------------------------------------------------------------------

const text = v.nullish(v.string());
const time = v.nullish(dateTime);

const envelopeEntries = {
  version: v.string(),
  event_type: v.pipe(v.string(), v.nonEmpty('an event type')),
  event_id: id,
  business_id: id,
  /** Orders the job's events, so it must be a strict RFC 3339 time (see `isEventTime`). */
  occurred_at: eventTime,
};

/** The correlation block several events carry. */
const customerEntries = {
  customer_id: text,
  customer_name: text,
  customer_email: text,
  customer_phone: text,
  external_ghl_contact_id: text,
  external_ghl_opportunity_id: text,
};

export const JobCompleted = v.looseObject({
  ...envelopeEntries,
  ...customerEntries,
  event_type: v.literal('job.completed'),
  job_id: id,
  job_number: jobNumber,
  job_category_id: text,
  status: v.string(),
  completed_at: time,
  description: text,
  work_details: text,
});

export const BookingCreated = v.looseObject({
  ...envelopeEntries,
  ...customerEntries,
  event_type: v.literal('booking.created'),
  booking_id: id,
  job_id: text,
  booking_type: text,
  status: text,
  starts_at: time,
  ends_at: time,
  staff_ids: v.nullish(v.array(v.string())),
});

const invoiceEntries = {
  ...envelopeEntries,
  ...customerEntries,
  invoice_id: id,
  job_id: text,
  total: money,
  amount_due: money,
  // Read by the mapping for both invoice events, so checked for both.
  amount_paid_total: money,
  status: text,
};

export const InvoicePaid = v.looseObject({
  ...invoiceEntries,
  event_type: v.literal('invoice.paid'),
  payment_amount: money,
  payment_method: text,
  paid_at: time,
});

export const InvoiceSent = v.looseObject({ ...invoiceEntries, event_type: v.literal('invoice.sent') });

const leadEntries = { ...envelopeEntries, lead_id: id, customer_id: text, job_id: text };

/** `lead.created` says `lead_type`, `lead.updated` says `type`: both are accepted. */
export const Lead = v.looseObject({
  ...leadEntries,
  event_type: v.picklist(['lead.created', 'lead.updated', 'lead.won']),
  lead_type: text,
  type: text,
  status: text,
});

export const Quote = v.looseObject({
  ...envelopeEntries,
  ...customerEntries,
  event_type: v.picklist(['quote.sent', 'quote.paid', 'quote.accepted']),
  quote_id: id,
  job_id: text,
  job_number: jobNumber,
  total: money,
});

export const Customer = v.looseObject({
  ...envelopeEntries,
  event_type: v.picklist(['customer.created', 'customer.updated']),
  customer_id: id,
});

/** Any other event type: only the envelope is checked, the event is kept and recorded. */
export const OtherEvent = v.looseObject(envelopeEntries);

const schemas = {
  'job.completed': JobCompleted,
  'booking.created': BookingCreated,
  'invoice.paid': InvoicePaid,
  'invoice.sent': InvoiceSent,
  'lead.created': Lead,
  'lead.updated': Lead,
  'lead.won': Lead,
  'quote.sent': Quote,
  'quote.paid': Quote,
  'quote.accepted': Quote,
  'customer.created': Customer,
  'customer.updated': Customer,
} as const;

export type CooledgeEvent =
  | v.InferOutput<typeof JobCompleted>
  | v.InferOutput<typeof BookingCreated>
  | v.InferOutput<typeof InvoicePaid>
  | v.InferOutput<typeof InvoiceSent>
  | v.InferOutput<typeof Lead>
  | v.InferOutput<typeof Quote>
  | v.InferOutput<typeof Customer>
  | v.InferOutput<typeof OtherEvent>;

// ---------------------------------------------------------------------------------------------
// Signature
// ---------------------------------------------------------------------------------------------

export interface SignatureInput {
  /** The `X-Cooledge-Signature` header as received (comma-joined if it was sent twice). */
  header: string | undefined;
  rawBody: Buffer;
  secrets: readonly string[];
  /** Each secret's binding, at its index (see `boundList`); absent when none is bound. */
  bindings?: readonly Binding[];
  scheme: SignatureScheme;
  toleranceSeconds: number;
  now: Date;
}

const hex64 = /^[0-9a-f]{64}$/;

/**
 * Verifies `X-Cooledge-Signature` over the raw bytes. Pure and total: a bad signature is a result,
 * never an exception. Every active secret is tried (rotation); hex must be lower case, as HMAC
 * libraries print it. On a match, says which accounts the matching secret is bound to, if any.
 *
 * - `timestamped`: `t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, `v1 = HMAC(secret, "<t>.<body>")`,
 *   rejected when `t` is further than the tolerance from `now` in either direction.
 * - `plain`: `<hex>` or `sha256=<hex>`, `HMAC(secret, <body>)`.
 */
export function verifySignature(input: SignatureInput): AuthResult {
  const header = input.header?.trim();
  if (!header) return { ok: false, reason: 'signature missing' };

  let candidates: string[];
  let signed: Buffer;
  if (input.scheme === 'timestamped') {
    const parts = header.split(',').map((part) => part.trim());
    const timestamps = parts.filter((p) => p.startsWith('t=')).map((p) => p.slice(2));
    candidates = parts.filter((p) => p.startsWith('v1=')).map((p) => p.slice(3));
    const [t] = timestamps;
    if (timestamps.length !== 1 || t === undefined || !/^\d{1,12}$/.test(t) || candidates.length === 0) {
      return { ok: false, reason: 'signature malformed' };
    }
    const skew = Math.abs(input.now.getTime() / 1000 - Number(t));
    if (skew > input.toleranceSeconds) return { ok: false, reason: 'signature timestamp outside tolerance' };
    signed = Buffer.concat([Buffer.from(`${t}.`), input.rawBody]);
  } else {
    candidates = [header.startsWith('sha256=') ? header.slice(7) : header];
    signed = input.rawBody;
  }

  candidates = candidates.filter((c) => hex64.test(c));
  if (candidates.length === 0) return { ok: false, reason: 'signature malformed' };

  const matched: Binding[] = [];
  for (const [index, secret] of input.secrets.entries()) {
    const expected = Buffer.from(hmacSha256Hex(secret, signed));
    let match = false;
    for (const candidate of candidates) {
      // Every pair is compared (no early exit) so timing does not reveal which secret matched.
      if (timingSafeEqual(expected, Buffer.from(candidate))) match = true;
    }
    if (match) matched.push(input.bindings?.[index]);
  }
  return matchedCredential(matched, 'signature mismatch');
}

/**
 * Produces an `X-Cooledge-Signature` value for a body, as Cooledge would. Used by the CLI's `send`
 * and by tests; the receiver never signs.
 */
export function sign(
  rawBody: Buffer | string,
  secret: string,
  scheme: SignatureScheme,
  now: Date = new Date(),
): string {
  const body = typeof rawBody === 'string' ? Buffer.from(rawBody) : rawBody;
  if (scheme === 'plain') return `sha256=${hmacSha256Hex(secret, body)}`;
  const t = Math.floor(now.getTime() / 1000);
  return `t=${t},v1=${hmacSha256Hex(secret, Buffer.concat([Buffer.from(`${t}.`), body]))}`;
}

// ---------------------------------------------------------------------------------------------
// Mapping to the canonical job
// ---------------------------------------------------------------------------------------------

function customerFields(e: {
  customer_id?: string | null;
  customer_name?: string | null;
  customer_email?: string | null;
  customer_phone?: string | null;
}): JobFields {
  return present<JobFields>({
    customerId: e.customer_id,
    customerName: e.customer_name,
    customerEmail: e.customer_email,
    customerPhone: e.customer_phone,
  });
}

function jobChange(event: CooledgeEvent): JobChange | undefined {
  const e = event as Record<string, unknown> & CooledgeEvent;
  switch (event.event_type) {
    case 'job.completed': {
      const j = event as v.InferOutput<typeof JobCompleted>;
      return {
        jobId: j.job_id,
        fields: {
          ...customerFields(j),
          ...present<JobFields>({
            status: j.status,
            jobNumber: jobNumberText(j.job_number),
            description: j.description,
            workDetails: j.work_details,
            completedAt: isoTime(j.completed_at),
          }),
        },
      };
    }
    case 'booking.created': {
      const b = event as v.InferOutput<typeof BookingCreated>;
      if (!b.job_id) return undefined;
      return {
        jobId: b.job_id,
        fields: {
          ...customerFields(b),
          ...present<JobFields>({ scheduledStart: isoTime(b.starts_at), scheduledEnd: isoTime(b.ends_at) }),
        },
      };
    }
    case 'invoice.paid':
    case 'invoice.sent': {
      const i = event as v.InferOutput<typeof InvoicePaid>;
      if (!i.job_id) return undefined;
      return {
        jobId: i.job_id,
        fields: {
          ...customerFields(i),
          ...present<JobFields>({ total: i.total, amountPaid: i.amount_paid_total, amountDue: i.amount_due }),
        },
      };
    }
    case 'quote.sent':
    case 'quote.paid':
    case 'quote.accepted':
    case 'lead.won': {
      const jobId = typeof e.job_id === 'string' && e.job_id !== '' ? e.job_id : undefined;
      if (!jobId) return undefined;
      const number = e.job_number;
      return {
        jobId,
        fields: present<JobFields>({
          jobNumber: jobNumberText(number),
        }),
      };
    }
    default:
      return undefined;
  }
}

const entityKeys = ['job_id', 'customer_id', 'booking_id', 'invoice_id', 'lead_id', 'quote_id'] as const;

function entityIds(event: CooledgeEvent): Record<string, string> {
  const record = event as Record<string, unknown>;
  const ids: Record<string, string> = {};
  for (const key of entityKeys) {
    const value = record[key];
    if (typeof value === 'string' && value !== '') ids[key] = value;
  }
  return ids;
}

// ---------------------------------------------------------------------------------------------
// The provider
// ---------------------------------------------------------------------------------------------

/**
 * Cooledge's entry in the credentials: its active signing secrets (several during a rotation), each
 * a string or `{"secret": "…", "accounts": ["<business_id>", …]}` (bound to those businesses). Read
 * as `{secrets: string[], bindings?}` (see `boundList`).
 */
export const CooledgeCredentials = boundList(
  'secrets',
  'secret',
  v.pipe(v.string(), v.minLength(16, 'a signing secret of at least 16 characters')),
  'at least one signing secret',
);
export type CooledgeCredentials = v.InferOutput<typeof CooledgeCredentials>;

/** How Cooledge signs (docs/http.md): read from the environment at cold start. */
export interface CooledgeSettings {
  scheme: SignatureScheme;
  /** Seconds the `t=` of a timestamped signature may lie from the clock, either way. */
  toleranceSeconds: number;
}

/** Cooledge: flat JSON envelope, HMAC-signed, at-least-once, `event_id` stable across redeliveries. */
export const cooledge: Provider<CooledgeEvent, CooledgeCredentials, CooledgeSettings> = {
  name: 'cooledge',
  title: 'Cooledge',
  route: {},
  credentials: {
    schema: CooledgeCredentials,
    env: {
      variable: 'COOLEDGE_WEBHOOK_SECRETS',
      parse: (text) => ({ secrets: commaList(text) }),
      dev: 'whsec_local_dev_0123456789abcdef',
      flag: 'secret',
    },
    legacy: { key: 'cooledgeSecrets', entry: (secrets) => ({ secrets }) },
  },
  settings: {
    scheme: {
      variable: 'COOLEDGE_SIGNATURE_SCHEME',
      context: 'signatureScheme',
      default: 'timestamped',
      schema: v.picklist(['timestamped', 'plain'], 'must be "timestamped" or "plain"'),
      description: 'how Cooledge signs: timestamped (t=…,v1=…) or plain (sha256=…)',
      flag: 'scheme',
    },
    toleranceSeconds: {
      variable: 'COOLEDGE_SIGNATURE_TOLERANCE_SECONDS',
      context: 'signatureToleranceSeconds',
      default: '300',
      schema: wholeNumberText(1, 86_400),
      description: 'seconds a timestamped signature may lie from the clock, either way',
    },
  },
  keptHeaders: [
    'content-type',
    'user-agent',
    'x-cooledge-event-id',
    'x-cooledge-event-type',
    'x-cooledge-delivery-id',
  ],
  setup: 'Paste into Cooledge as the webhook URL; put its signing secret in the credentials secret',

  authenticate(request, { credentials, settings, now }) {
    if (request.pathParameter !== undefined) return { ok: false, reason: 'unexpected path parameter' };
    return verifySignature({
      header: request.headers['x-cooledge-signature'],
      rawBody: request.rawBody,
      secrets: credentials.secrets,
      bindings: credentials.bindings,
      scheme: settings.scheme,
      toleranceSeconds: settings.toleranceSeconds,
      now,
    });
  },

  envelope(body, request) {
    const eventId = body.event_id;
    if (typeof eventId !== 'string' || eventId.trim() === '') {
      return { ok: false, detail: 'event_id must be a non-empty string' };
    }
    const eventIdProblem = idProblem(eventId);
    if (eventIdProblem) return { ok: false, detail: `event_id ${eventIdProblem}` };
    const read = readEventType(body.event_type, 'event_type');
    if (!read.ok) return read;
    const headerId = request.headers['x-cooledge-event-id'];
    if (headerId !== undefined && headerId !== eventId) {
      return { ok: false, detail: 'X-Cooledge-Event-Id does not match the body event_id' };
    }
    return {
      ok: true,
      eventKey: eventId,
      eventType: read.eventType,
      accountId: idOrUndefined(body.business_id),
      // Computed when read: only the consumer reads it, so ingest's hot path skips the canonical
      // serialisation and the hash.
      get fingerprint() {
        return fingerprint(body);
      },
    };
  },

  validate(body) {
    const type = body.event_type;
    const schema =
      typeof type === 'string' && Object.hasOwn(schemas, type)
        ? schemas[type as keyof typeof schemas]
        : OtherEvent;
    const result = v.safeParse(schema, body);
    return result.success
      ? { ok: true, event: result.output as CooledgeEvent }
      : { ok: false, issues: toIssues(result.issues) };
  },

  describe(event): EventFacts {
    return {
      accountId: event.business_id,
      entityIds: entityIds(event),
      occurredAt: isoTime(event.occurred_at),
      occurredAtAsSent: event.occurred_at,
      job: jobChange(event),
    };
  },

  sender: async () => (await import('./cooledge.sender.ts')).cooledgeSender,
};
