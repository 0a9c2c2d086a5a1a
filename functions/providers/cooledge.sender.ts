import { randomUUID } from 'node:crypto';
import type { JsonObject } from '#core/json';
import type { ProviderSender, SampleJob } from '#core/provider';
import { type CooledgeCredentials, type CooledgeSettings, sign } from './cooledge.ts';

/** Two made-up businesses a sample job belongs to (Cooledge `business_id`s are UUIDs). */
const businesses = ['a7f3c9d1-2e84-4b6f-8c01-5d9e2a1f7b30', '3b8e5f12-7a49-4c6d-9e02-1f4a8c7d2b95'];

const minutes = (date: Date, n: number) => new Date(date.getTime() + n * 60_000).toISOString();

/** The job's Cooledge ids, made on its first event and named by every later one. */
function idsOf(job: SampleJob) {
  job.ids.business ??= businesses[Math.floor(job.random() * businesses.length)] as string;
  job.ids.job ??= randomUUID();
  job.ids.customer ??= randomUUID();
  job.ids.number ??= String(1000 + Math.floor(job.random() * 9000));
  return job.ids as { business: string; job: string; customer: string; number: string };
}

/**
 * A Cooledge body of `type` (docs/providers.md, test/fixtures/cooledge) for step `step` of the
 * job's history: an hour apart, booked at the start (its window 10 to 50 minutes later), completed
 * an hour in, paid an hour after that. The job starts hours before the send, so every time is past.
 */
function sample(type: string, job: SampleJob, step: number): JsonObject {
  const ids = idsOf(job);
  const { name, phone, email } = job.person;
  const customer = {
    customer_id: ids.customer,
    customer_name: name,
    customer_email: email,
    customer_phone: phone,
    external_ghl_contact_id: null,
    external_ghl_opportunity_id: null,
  };
  const occurredAt = minutes(job.start, step * 60);
  const envelope = {
    version: 'v1',
    event_type: type,
    event_id: randomUUID(),
    business_id: ids.business,
    occurred_at: occurredAt,
  };
  switch (type) {
    case 'booking.created':
      return {
        ...envelope,
        booking_id: randomUUID(),
        job_id: ids.job,
        booking_type: 'scheduled_job',
        status: 'confirmed',
        starts_at: minutes(job.start, 10),
        ends_at: minutes(job.start, 50),
        staff_ids: [randomUUID()],
        ...customer,
      };
    case 'job.completed':
      return {
        ...envelope,
        job_id: ids.job,
        job_number: Number(ids.number),
        job_category_id: randomUUID(),
        status: 'completed',
        completed_at: occurredAt,
        description: job.work.title,
        work_details: job.work.details,
        ...customer,
      };
    case 'invoice.paid':
      job.ids.invoice ??= randomUUID();
      return {
        ...envelope,
        invoice_id: job.ids.invoice,
        invoice_number: Number(ids.number),
        total: 462,
        payment_amount: 462,
        amount_paid_total: 462,
        amount_due: 0,
        status: 'paid',
        payment_method: 'card',
        job_id: ids.job,
        paid_at: occurredAt,
        ...customer,
      };
    case 'lead.created':
      return {
        ...envelope,
        lead_id: randomUUID(),
        customer_id: null,
        name,
        email,
        phone,
        lead_type: 'inbound',
        source: 'api',
        status: 'new',
      };
    default:
      throw new Error(`no Cooledge sample for ${type}`);
  }
}

/** `cli send` for Cooledge: signed with the first active secret, by the configured scheme. */
export const cooledgeSender: ProviderSender<CooledgeCredentials, CooledgeSettings> = {
  sampleTypes: ['booking.created', 'job.completed', 'invoice.paid', 'lead.created'],
  history: ['booking.created', 'job.completed', 'invoice.paid'],
  sample,
  // Cooledge redelivers the same bytes: the same event_id, so a duplicate.
  redeliver: (body) => body,
  recognises: (body) => typeof body.event_id === 'string' && typeof body.event_type === 'string',
  request(body, { credentials, settings, now }) {
    const secret = credentials.secrets[0];
    if (secret === undefined) throw new Error('no Cooledge signing secret is configured');
    return {
      path: '/webhooks/cooledge',
      headers: {
        'content-type': 'application/json',
        'x-cooledge-signature': sign(body, secret, settings.scheme, now),
      },
    };
  },
};
