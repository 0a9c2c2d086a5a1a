import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { JsonObject } from '#core/json';
import type { ProviderSender, SampleJob } from '#core/provider';
import type { StandardCredentials, StandardSettings } from './standard.ts';

/** Two made-up businesses a sender's jobs belong to. */
const accounts = ['acme-hq', 'acme-north'];

const minutes = (date: Date, n: number) => new Date(date.getTime() + n * 60_000).toISOString();

/** `job.*` events in the job shape this receiver knows, as a Standard Webhooks sender would send them. */
function sample(type: string, job: SampleJob, step: number): JsonObject {
  job.ids.job ??= `job_${randomUUID()}`;
  job.ids.customer ??= `cus_${randomUUID()}`;
  const status = { 'job.scheduled': 'scheduled', 'job.started': 'started', 'job.completed': 'completed' }[
    type
  ];
  if (status === undefined) throw new Error(`no Standard Webhooks sample for ${type}`);
  const data: JsonObject = {
    job_id: job.ids.job,
    account_id: accounts[job.index % accounts.length] as string,
    status,
    job_number: String(3000 + job.index),
    customer_id: job.ids.customer,
    customer_name: job.person.name,
    customer_email: job.person.email,
    customer_phone: job.person.phone,
    service_name: job.service,
    address: job.address,
    scheduled_start: minutes(job.start, 10),
    scheduled_end: minutes(job.start, 100),
  };
  if (step >= 1) data.started_at = minutes(job.start, 15);
  if (step >= 2) {
    data.completed_at = minutes(job.start, 95);
    data.description = job.work.title;
    data.work_details = job.work.details;
  }
  // Scheduled at +0, started at +15, completed at +95 minutes: all before the send began.
  return { type, timestamp: minutes(job.start, [0, 15, 95][step] ?? 0), data };
}

/** `cli send` for Standard Webhooks: the first configured source, signed with its first secret. */
export const standardSender: ProviderSender<StandardCredentials, StandardSettings> = {
  sampleTypes: ['job.scheduled', 'job.started', 'job.completed'],
  history: ['job.scheduled', 'job.started', 'job.completed'],
  sample,
  // A retry resends the same body under the same webhook-id, signed anew.
  redeliver: (body) => body,
  recognises: (body) => typeof body.type === 'string' && !('event_type' in body) && !('event' in body),
  request(body, { credentials, now, messageId }) {
    const [source, entry] = Object.entries(credentials.sources)[0] ?? [];
    const secret = entry?.secrets[0];
    if (source === undefined || secret === undefined)
      throw new Error('no Standard Webhooks source is configured');
    return {
      path: `/webhooks/standard/${source}`,
      headers: {
        'content-type': 'application/json',
        'webhook-id': messageId,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': new Webhook(secret).sign(messageId, now, body),
      },
    };
  },
};
