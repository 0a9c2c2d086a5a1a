import type { JsonObject } from '#core/json';
import type { ProviderSender, SampleJob } from '#core/provider';
import type { ZenbookerCredentials } from './zenbooker.ts';

/** A Bubble-style id as Zenbooker sends them: opaque text, larger than 2^53. */
export function bubbleId(random: () => number): string {
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 10)).join('');
  return `1${digits(12)}x${digits(18)}`;
}

/** Two made-up Zenbooker accounts a sample job belongs to. */
const accounts = ['1571029418512x639482157734019100', '1604771203315x218845620193847200'];

const minutes = (date: Date, n: number) => new Date(date.getTime() + n * 60_000).toISOString();

/** The status each sample event reports (`complete` as Zenbooker sometimes spells it). */
const statuses: Record<string, string> = {
  'job.created': 'scheduled',
  'job.started': 'started',
  'job.completed': 'complete',
  'job.canceled': 'scheduled',
};

/** The job's Zenbooker ids, made on its first event and named by every later one. */
function idsOf(job: SampleJob) {
  job.ids.account ??= accounts[Math.floor(job.random() * accounts.length)] as string;
  job.ids.job ??= bubbleId(job.random);
  job.ids.customer ??= bubbleId(job.random);
  job.ids.invoice ??= bubbleId(job.random);
  job.ids.number ??= String(1000 + Math.floor(job.random() * 9000));
  return job.ids as { account: string; job: string; customer: string; invoice: string; number: string };
}

/**
 * A Zenbooker `job.*` body (the 2025-09-01 shape, docs/providers.md). Zenbooker sends the whole job
 * each time: scheduled from 10 to 100 minutes after the job's start, started at +15, completed at
 * +95, all before the send began. The step is not needed: the event type says how far it got.
 */
function sample(type: string, job: SampleJob): JsonObject {
  const status = statuses[type];
  if (status === undefined) throw new Error(`no Zenbooker sample for ${type}`);
  const ids = idsOf(job);
  const data: JsonObject = {
    id: ids.job,
    job_number: ids.number,
    status,
    canceled: type === 'job.canceled',
    rescheduled: false,
    timezone: 'America/New_York',
    start_date: minutes(job.start, 10),
    end_date: minutes(job.start, 100),
    estimated_duration_seconds: 7200,
    service_name: job.service,
    customer: { id: ids.customer, name: job.person.name, email: job.person.email, phone: job.person.phone },
    service_address: { formatted: job.address },
    job_notes: [{ text: 'Gate code 4421, dog in the backyard.' }],
    invoice: { id: ids.invoice, status: 'unpaid', total: 240, subtotal: 240, amount_paid: 0 },
  };
  if (type === 'job.started' || type === 'job.completed') data.started_at = minutes(job.start, 15);
  if (type === 'job.completed') data.completed_at = minutes(job.start, 95);
  return {
    account: ids.account,
    webhook_id: bubbleId(job.random),
    event: type,
    type: 'job',
    retry_count: 0,
    data,
  };
}

/** `cli send` for Zenbooker: unsigned, addressed to the first token's URL. */
export const zenbookerSender: ProviderSender<ZenbookerCredentials> = {
  sampleTypes: ['job.created', 'job.started', 'job.completed', 'job.canceled'],
  history: ['job.created', 'job.started', 'job.completed'],
  sample,
  // Zenbooker resends with retry_count + 1: the event key leaves retry_count out, so a duplicate.
  redeliver(body) {
    const parsed = JSON.parse(body) as JsonObject;
    return JSON.stringify({ ...parsed, retry_count: Number(parsed.retry_count ?? 0) + 1 });
  },
  recognises: (body) => typeof body.event === 'string' && typeof body.data === 'object',
  request(_body, { credentials }) {
    const token = credentials.tokens[0];
    if (token === undefined) throw new Error('no Zenbooker token is configured');
    return {
      path: `/webhooks/zenbooker/${encodeURIComponent(token)}`,
      headers: { 'content-type': 'application/json' },
    };
  },
};
